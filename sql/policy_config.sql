-- Policy configuration: enforce modes, per-role and per-table exceptions,
-- audited overrides, privileges, bad input.
\set VERBOSITY terse
CREATE EXTENSION pg_migrate;
SET pg_migrate.small_table_size = 0;

-- The shipped policy: one unscoped row per rule, matching the catalogue.
SELECT r.rule, r.default_action, p.action
  FROM migrate_rules r
  LEFT JOIN migrate_policy p ON p.rule = r.rule AND p.shipped AND p.extension_name IS NULL
 WHERE p.action IS DISTINCT FROM r.default_action;
SELECT count(*) AS rules, count(*) FILTER (WHERE description <> '' AND safe_alternative <> '') AS documented
  FROM migrate_rules;
SHOW pg_migrate.enforce;
SHOW pg_migrate.lock_timeout_mode;

CREATE TABLE pc_t (id int, v text);
INSERT INTO pc_t SELECT g, 'x' FROM generate_series(1, 100) g;
CREATE TABLE pc_keep (id int);
INSERT INTO pc_keep VALUES (1);

-- enforce = on refuses, warn warns and runs, off judges nothing
SET pg_migrate.enforce = on;
ALTER TABLE pc_t ADD COLUMN r float8 DEFAULT random();
SET pg_migrate.enforce = warn;
ALTER TABLE pc_t ADD COLUMN r float8 DEFAULT random();
SET pg_migrate.enforce = off;
ALTER TABLE pc_t ADD COLUMN r2 float8 DEFAULT random();
SELECT count(*) FROM pg_attribute WHERE attrelid = 'pc_t'::regclass AND attname IN ('r', 'r2');
SET pg_migrate.enforce = on;

-- Per-table exception: the most specific row wins
SET pg_migrate.enforce = off;
ALTER TABLE pc_t ADD COLUMN a1 int, ADD COLUMN a2 int, ADD COLUMN a3 int, ADD COLUMN a4 int;
SET pg_migrate.enforce = on;
INSERT INTO migrate_policy (rule, action, table_pattern)
VALUES ('drop_column', 'allow', 'pc\_%');
ALTER TABLE pc_t DROP COLUMN a1;                  -- allowed by the table row
INSERT INTO migrate_policy (rule, action, schema_name, table_pattern)
VALUES ('drop_column', 'deny', 'public', 'pc\_t');
ALTER TABLE pc_t DROP COLUMN a2;                  -- schema+pattern (3) beats pattern (2)
UPDATE migrate_policy SET action = 'warn' WHERE rule = 'drop_column' AND schema_name = 'public';
ALTER TABLE pc_t DROP COLUMN a2;                  -- the cache saw the change: warned
DELETE FROM migrate_policy WHERE rule = 'drop_column' AND NOT shipped;
ALTER TABLE pc_t DROP COLUMN a3;                  -- refused again: the shipped row
INSERT INTO migrate_policy (rule, action, schema_name) VALUES ('rename_table', 'allow', 'public');
ALTER TABLE pc_t RENAME TO pc_t2;                 -- no warning
ALTER TABLE pc_t2 RENAME TO pc_t;
-- a policy change rolled back leaves the cache right
BEGIN;
UPDATE migrate_policy SET action = 'allow' WHERE rule = 'truncate';
TRUNCATE pc_keep;                                 -- allowed inside the transaction
ROLLBACK;
TRUNCATE pc_keep;                                 -- refused again

-- Per-role exception; superuser status does not count as membership
CREATE ROLE pc_dev;
CREATE ROLE pc_dba;
GRANT CREATE ON SCHEMA public TO pc_dev, pc_dba;
ALTER TABLE pc_t OWNER TO pc_dev;
GRANT pc_dev TO pc_dba;
INSERT INTO migrate_policy (rule, action, role_name) VALUES ('table_rewrite', 'allow', 'pc_dba');
SET ROLE pc_dev;
ALTER TABLE pc_t ALTER COLUMN id TYPE bigint;     -- refused: pc_dev is not pc_dba
SET ROLE pc_dba;
ALTER TABLE pc_t ALTER COLUMN id TYPE bigint;     -- allowed for pc_dba
RESET ROLE;
ALTER TABLE pc_t ALTER COLUMN id TYPE int;        -- refused: the superuser is not a member

-- Overrides: audited, per transaction, only for roles the policy allows
SELECT migrate_override('drop_column', 'outside a transaction');
BEGIN;
SELECT migrate_override('no_such_rule', 'x');
ROLLBACK;
BEGIN;
SELECT migrate_override('drop_column', '   ');
ROLLBACK;
BEGIN;
SELECT migrate_override('drop_column', 'column v replaced by w in release 42');
ALTER TABLE pc_t DROP COLUMN v;                   -- allowed: superuser override
COMMIT;
ALTER TABLE pc_t DROP COLUMN a3;                  -- refused: the override ended with the transaction
SELECT command_tag, statement, policy_overrides #- '{0,role}' AS overrides,
       policy_overrides->0->>'role' = current_user AS by_me
  FROM migrate_ddl_history WHERE policy_overrides IS NOT NULL;
UPDATE migrate_policy SET override_by = 'pc_dba' WHERE rule = 'drop_column';
SET ROLE pc_dev;
BEGIN;
SELECT migrate_override('drop_column', 'I want to');
ALTER TABLE pc_t DROP COLUMN a3;                  -- refused: pc_dev may not override
ROLLBACK;
SET ROLE pc_dba;
BEGIN;
SELECT migrate_override('drop_column', 'approved in ticket 7');
ALTER TABLE pc_t DROP COLUMN a3;                  -- allowed
COMMIT;
RESET ROLE;
SELECT CASE WHEN effective_role = current_user THEN 'the superuser'
            ELSE effective_role::text END AS effective_role, statement, policy_overrides->0->>'reason' AS reason,
       policy_overrides->0->>'rule' AS rule,
       policy_overrides->0->>'role' = effective_role AS role_recorded
  FROM migrate_ddl_history WHERE policy_overrides IS NOT NULL ORDER BY id;
SELECT rule, action, relation FROM migrate_violations()
 WHERE relation = 'public.pc_t' AND action = 'override' ORDER BY occurred_at;

-- Privileges: ordinary roles cannot turn protection off or edit the policy
SET ROLE pc_dev;
SET pg_migrate.enforce = off;
SET pg_migrate.small_table_size = '1GB';
SET pg_migrate.lock_timeout_mode = off;
SET pg_migrate.lock_timeout = '1h';
INSERT INTO migrate_policy (rule, action) VALUES ('drop_table', 'allow');
UPDATE migrate_policy SET action = 'allow';
DELETE FROM migrate_policy;
-- statements PostgreSQL refuses for lack of privileges get PostgreSQL's error
TRUNCATE pc_keep;
DROP TABLE pc_keep;
CREATE INDEX ON pc_keep (id);
SELECT count(*) > 0 AS can_read FROM migrate_policy;
SELECT count(*) AS rules_visible FROM migrate_rules;
SELECT count(*) AS findings FROM migrate_check('ALTER TABLE pc_t ALTER COLUMN id TYPE text');
SELECT count(*) FROM migrate_violations();
RESET ROLE;
SELECT count(*) AS recorded FROM migrate_violations()
 WHERE role_name = 'pc_dev' AND relation = 'public.pc_keep';

-- Bad input is rejected by constraint, not ignored
INSERT INTO migrate_policy (rule, action) VALUES ('drop_tables', 'deny');
INSERT INTO migrate_policy (rule, action) VALUES ('drop_table', 'refuse');
INSERT INTO migrate_policy (rule, action) VALUES (NULL, 'deny');
INSERT INTO migrate_policy (rule, action, role_name) VALUES ('drop_table', 'deny', 'pc_nobody');
INSERT INTO migrate_policy (rule, action, table_pattern) VALUES ('drop_table', 'deny', '');
SET pg_migrate.enforce = maybe;
SET pg_migrate.lock_timeout_mode = sometimes;
-- (newer majors word the range error with units: the SQLSTATE only)
\set VERBOSITY sqlstate
SET pg_migrate.lock_timeout = 0;
\set VERBOSITY terse

-- require mode: strong-lock DDL on an existing table needs a lock_timeout
SET pg_migrate.lock_timeout_mode = require;
SET pg_migrate.small_table_size = '1MB';         -- pc_keep is small: only the lock matters
CREATE INDEX pc_keep_id ON pc_keep (id);         -- refused: no lock_timeout
SET lock_timeout = '1s';
CREATE INDEX pc_keep_id ON pc_keep (id);         -- allowed
RESET lock_timeout;
CREATE TABLE pc_other (id int);                  -- allowed: no lock on an existing table
SET pg_migrate.enforce = warn;
ALTER TABLE pc_keep ADD COLUMN x int;            -- warned: require mode follows enforce
RESET pg_migrate.lock_timeout_mode;

-- clean up
SET pg_migrate.enforce = off;
DROP EXTENSION pg_migrate;
DROP TABLE pc_t, pc_keep, pc_other;
REVOKE CREATE ON SCHEMA public FROM pc_dev, pc_dba;
DROP ROLE pc_dev, pc_dba;
