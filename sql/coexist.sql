-- Living with other tools: empty tables, a role's undo of its own recent
-- change, policy scopes for tools (extension_name, partition_of), and the
-- refusals tools that cannot call migrate_override() can follow.
-- (test/interop runs the tools themselves; test/specs/own_new_tables.spec
-- covers a session's own new tables.)
\set VERBOSITY terse
CREATE EXTENSION pg_migrate;
SET pg_migrate.small_table_size = 0;

-- Data that does not exist cannot be lost: a 0-byte table.
CREATE TABLE co_empty (id int, v text);
TRUNCATE co_empty;
ALTER TABLE co_empty DROP COLUMN v;
DROP TABLE co_empty;
-- A partitioned table counts its whole tree.
CREATE TABLE co_ptree (id int) PARTITION BY RANGE (id);
CREATE TABLE co_ptree_1 PARTITION OF co_ptree FOR VALUES FROM (0) TO (10);
TRUNCATE co_ptree;
INSERT INTO co_ptree VALUES (1);
TRUNCATE co_ptree;                                 -- refused: a partition holds a row
-- Rows deleted but not vacuumed away still occupy blocks: judged as usual.
CREATE TABLE co_full (id int, v text);
INSERT INTO co_full SELECT g, 'x' FROM generate_series(1, 100) g;
DELETE FROM co_full;
TRUNCATE co_full;                                  -- refused
DROP TABLE co_full;                                -- refused
-- The refusal says in its message that a policy row can allow it, and the
-- hint gives the row (the LIKE pattern escapes the name).
\set VERBOSITY default
CREATE TABLE co_full_2 (id int);
INSERT INTO co_full_2 VALUES (1);
TRUNCATE co_full_2;
\set VERBOSITY terse
INSERT INTO migrate_policy (rule, action, schema_name, table_pattern)
VALUES ('truncate', 'allow', 'public', 'co\_full\_2');
TRUNCATE co_full_2;                                -- allowed by the row
TRUNCATE co_full;                                  -- still refused: the pattern is exact

-- A role's undo of its own recent change.
SET pg_migrate.own_undo_window = '1h';
CREATE TABLE co_undo (id int, keep int);
INSERT INTO co_undo SELECT g, g FROM generate_series(1, 100) g;
ALTER TABLE co_undo ADD COLUMN c int, ADD COLUMN d int;
-- the history names the added columns, by table OID and column number
SELECT o->>'type' AS type, o->>'identity' AS identity, (o->>'attnum')::int AS attnum,
       (o->>'oid')::oid = 'co_undo'::regclass AS oid_matches
  FROM migrate_ddl_history h, jsonb_array_elements(h.objects) o
 WHERE h.statement LIKE 'ALTER TABLE co_undo ADD COLUMN c%' ORDER BY 3;
ALTER TABLE co_undo DROP COLUMN c;                 -- allowed: added a moment ago by this role
SELECT policy_overrides->0->>'rule' AS rule,
       policy_overrides->0->>'reason' ~ '^undoes ADD COLUMN c made by the same role at .* \(DDL history id [0-9]+\)$' AS reason_ok
  FROM migrate_ddl_history WHERE statement = 'ALTER TABLE co_undo DROP COLUMN c';
ALTER TABLE co_undo DROP COLUMN keep;              -- allowed: the table is recent too
-- Another role is not undoing its own work.
CREATE ROLE co_other;
ALTER TABLE co_undo OWNER TO co_other;
SET ROLE co_other;
ALTER TABLE co_undo DROP COLUMN d;                 -- refused
DROP TABLE co_undo;                                -- refused
RESET ROLE;
ALTER TABLE co_undo OWNER TO CURRENT_USER;
-- Past the window it is data loss again.
UPDATE migrate_ddl_history SET occurred_at = occurred_at - interval '2 hours'
 WHERE statement LIKE '%co_undo%';
ALTER TABLE co_undo DROP COLUMN d;                 -- refused
DROP TABLE co_undo;                                -- refused
SET pg_migrate.own_undo_window = '3h';
DROP TABLE co_undo;                                -- allowed again
-- A name that was reused is not the table the history speaks of.
CREATE TABLE co_reused (id int);
ALTER TABLE co_reused RENAME TO co_reused_old;
INSERT INTO co_reused_old VALUES (1);
SET pg_migrate.own_undo_window = 0;
CREATE TABLE co_reused (id int);
INSERT INTO co_reused VALUES (1);
SET pg_migrate.own_undo_window = '1h';
DROP TABLE co_reused_old;                          -- refused: renamed since it was made
-- A cascade is never an undo.
CREATE TYPE co_t AS (a int);
CREATE TABLE co_typed (id int, t co_t);
INSERT INTO co_typed VALUES (1, ROW(1));
DROP TYPE co_t CASCADE;                            -- refused
SET pg_migrate.own_undo_window = 0;
-- Only superusers may change the window.
SET ROLE co_other;
SET pg_migrate.own_undo_window = '1d';
RESET ROLE;

-- partition_of: the partitions of one parent, at any depth.
CREATE TABLE co_events (id int, at date) PARTITION BY RANGE (at);
CREATE TABLE co_events_2020 PARTITION OF co_events FOR VALUES FROM ('2020-01-01') TO ('2021-01-01')
  PARTITION BY RANGE (id);
CREATE TABLE co_events_2020_a PARTITION OF co_events_2020 FOR VALUES FROM (0) TO (100);
CREATE TABLE co_events_2021 PARTITION OF co_events FOR VALUES FROM ('2021-01-01') TO ('2022-01-01');
CREATE TABLE co_events_2022 PARTITION OF co_events FOR VALUES FROM ('2022-01-01') TO ('2023-01-01');
INSERT INTO co_events VALUES (1, '2020-06-01'), (2, '2021-06-01'), (3, '2022-06-01');
CREATE TABLE co_other_parent (id int) PARTITION BY RANGE (id);
CREATE TABLE co_other_parent_1 PARTITION OF co_other_parent FOR VALUES FROM (0) TO (10);
INSERT INTO co_other_parent VALUES (1);
\set VERBOSITY default
DROP TABLE co_events_2020_a;                       -- refused; the hint gives a partition_of row
\set VERBOSITY terse
INSERT INTO migrate_policy (rule, action, partition_of, note)
VALUES ('drop_table', 'allow', 'co_events', 'retention');
DROP TABLE co_events_2020_a;                       -- allowed (a partition of a partition)
DROP TABLE co_events_2021;                         -- allowed
DROP TABLE co_other_parent_1;                      -- refused: another parent
DROP TABLE co_events;                              -- refused: the parent itself (2022 holds a row)
SELECT rule, action, partition_of FROM migrate_policy WHERE partition_of IS NOT NULL;

-- extension_name: the extension's own objects, as pg_depend records them.
CREATE SCHEMA co_ext;
CREATE TABLE co_ext.work (id int);
INSERT INTO co_ext.work VALUES (1);
INSERT INTO migrate_policy (rule, action, extension_name)
VALUES ('drop_table', 'allow', 'pg_migrate');
DROP TABLE co_ext.work;                            -- refused: not a member
ALTER EXTENSION pg_migrate ADD SCHEMA co_ext;
DROP TABLE co_ext.work;                            -- allowed: in a schema of the extension
ALTER EXTENSION pg_migrate DROP SCHEMA co_ext;
-- Only the extension's owner can add members, and a role granted CREATE
-- on a member schema cannot shelter a table of its own there.
GRANT CREATE, USAGE ON SCHEMA co_ext TO co_other;
SET ROLE co_other;
CREATE TABLE co_ext.mine (id int);
INSERT INTO co_ext.mine VALUES (1);
ALTER EXTENSION pg_migrate ADD TABLE co_ext.mine;  -- PostgreSQL refuses
RESET ROLE;
ALTER EXTENSION pg_migrate ADD SCHEMA co_ext;
SET ROLE co_other;
DROP TABLE co_ext.mine;                            -- refused: not a superuser's table
RESET ROLE;
ALTER EXTENSION pg_migrate DROP SCHEMA co_ext;
DELETE FROM migrate_policy WHERE extension_name = 'pg_migrate';
-- The shipped rows for pg_repack.
SELECT rule, action, extension_name, shipped FROM migrate_policy
 WHERE extension_name IS NOT NULL ORDER BY rule;

-- clean up (enforcement off: the drops are intended)
SET pg_migrate.enforce = off;
DROP EXTENSION pg_migrate;
DROP TABLE co_ptree, co_full, co_full_2, co_reused, co_reused_old, co_typed, co_events,
  co_other_parent, co_ext.mine;
DROP SCHEMA co_ext;
DROP ROLE co_other;
