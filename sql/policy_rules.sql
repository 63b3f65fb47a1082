-- Policy rules: each rule fires on the real catalog, not on SQL text.
-- Every positive case has a negative twin that differs only in a catalog
-- fact: table size, created in this transaction, a proving constraint,
-- binary coercibility, volatility, the session TimeZone.
\set VERBOSITY terse
CREATE EXTENSION pg_migrate;
SET pg_migrate.enforce = on;
SET pg_migrate.small_table_size = 0;   -- any non-empty table is populated

CREATE TABLE pr_big (id int PRIMARY KEY, v varchar(10), n numeric(10,2),
                     ts timestamp, c int, note text);
INSERT INTO pr_big SELECT g, 'x', g, '2020-01-01', g, NULL FROM generate_series(1, 500) g;
CREATE TABLE pr_empty (id int, v varchar(10));
CREATE TABLE pr_ref (id int PRIMARY KEY);
INSERT INTO pr_ref VALUES (1);

-- table_rewrite: ALTER COLUMN TYPE, decided like ATColumnChangeRequiresRewrite
ALTER TABLE pr_big ALTER COLUMN id TYPE bigint;             -- refused: int4 -> int8 rewrites
ALTER TABLE pr_empty ALTER COLUMN id TYPE bigint;           -- allowed: empty table
ALTER TABLE pr_big ALTER COLUMN v TYPE varchar(20);         -- allowed: widening is binary coercible
ALTER TABLE pr_big ALTER COLUMN v TYPE varchar(5);          -- refused: narrowing checks every value
ALTER TABLE pr_big ALTER COLUMN v TYPE text;                -- allowed: varchar -> text
ALTER TABLE pr_big ALTER COLUMN n TYPE numeric(12,2);       -- allowed: precision increase
ALTER TABLE pr_big ALTER COLUMN n TYPE numeric(12,4);       -- refused: scale change
ALTER TABLE pr_big ALTER COLUMN c TYPE int USING c + 1;     -- refused: USING expression
SET TimeZone = 'UTC';
ALTER TABLE pr_big ALTER COLUMN ts TYPE timestamptz;        -- allowed under UTC
SET TimeZone = 'Europe/Paris';
ALTER TABLE pr_big ALTER COLUMN ts TYPE timestamp;          -- refused: not UTC
RESET TimeZone;
SELECT format_type(atttypid, atttypmod) FROM pg_attribute
 WHERE attrelid = 'pr_big'::regclass AND attname IN ('id', 'v', 'n', 'ts') ORDER BY attnum;

-- table_rewrite: ADD COLUMN, decided by the default's volatility
ALTER TABLE pr_big ADD COLUMN r float8 DEFAULT random();    -- refused: volatile default
ALTER TABLE pr_big ADD COLUMN made timestamptz DEFAULT now(); -- allowed: stable default
ALTER TABLE pr_big ADD COLUMN k int DEFAULT 42;             -- allowed: constant
ALTER TABLE pr_big ADD COLUMN s bigserial;                  -- refused: serial
ALTER TABLE pr_big ADD COLUMN i int GENERATED ALWAYS AS IDENTITY; -- refused: identity
ALTER TABLE pr_big ADD COLUMN g int GENERATED ALWAYS AS (c * 2) STORED; -- refused
CREATE DOMAIN pr_pos AS int CHECK (VALUE > 0);
ALTER TABLE pr_big ADD COLUMN d pr_pos DEFAULT 1;           -- refused: constrained domain
ALTER TABLE pr_empty ADD COLUMN r float8 DEFAULT random();  -- allowed: empty
-- created in this transaction: never populated, whatever its size
BEGIN;
CREATE TABLE pr_new AS SELECT g AS id FROM generate_series(1, 500) g;
ALTER TABLE pr_new ADD COLUMN r float8 DEFAULT random();    -- allowed: new table
ALTER TABLE pr_new ALTER COLUMN id TYPE bigint;             -- allowed: new table
COMMIT;
ALTER TABLE pr_new ALTER COLUMN id TYPE int;                -- refused now: it has committed
-- size threshold
SET pg_migrate.small_table_size = '10MB';
ALTER TABLE pr_big ADD COLUMN r float8 DEFAULT random();    -- allowed: below the threshold
ALTER TABLE pr_big DROP COLUMN r;                           -- refused: drop_column (any size)
SET pg_migrate.small_table_size = 0;

-- table_rewrite: storage changes
ALTER TABLE pr_big SET UNLOGGED;                            -- refused
ALTER TABLE pr_big SET LOGGED;                              -- allowed: already logged, no-op
ALTER TABLE pr_big SET ACCESS METHOD heap;                  -- allowed: same access method
ALTER TABLE pr_big SET TABLESPACE pg_default;               -- allowed: same tablespace
VACUUM FULL pr_big;                                         -- refused
VACUUM FULL pr_empty;                                       -- allowed: empty
VACUUM pr_big;                                              -- allowed: plain vacuum
CLUSTER pr_big USING pr_big_pkey;                           -- refused

-- blocking_index_build
CREATE INDEX pr_big_c ON pr_big (c);                        -- refused
CREATE INDEX CONCURRENTLY pr_big_c ON pr_big (c);           -- allowed
CREATE INDEX pr_empty_id ON pr_empty (id);                  -- allowed: empty
CREATE INDEX IF NOT EXISTS pr_big_c ON pr_big (c);          -- allowed: exists, does nothing
ALTER TABLE pr_big ADD CONSTRAINT pr_big_c_key UNIQUE (c);  -- refused
CREATE UNIQUE INDEX CONCURRENTLY pr_big_c_uq ON pr_big (c);
ALTER TABLE pr_big ADD CONSTRAINT pr_big_c_key UNIQUE USING INDEX pr_big_c_uq; -- allowed
REINDEX TABLE pr_big;                                       -- refused
REINDEX TABLE CONCURRENTLY pr_big;                          -- allowed

-- blocking_index_drop
DROP INDEX pr_big_c;                                        -- refused
DROP INDEX CONCURRENTLY pr_big_c;                           -- allowed
DROP INDEX pr_empty_id;                                     -- allowed: empty table

-- validating_scan
ALTER TABLE pr_big ADD CONSTRAINT pr_big_c_pos CHECK (c > 0);            -- refused
ALTER TABLE pr_big ADD CONSTRAINT pr_big_c_pos CHECK (c > 0) NOT VALID;  -- allowed
ALTER TABLE pr_big VALIDATE CONSTRAINT pr_big_c_pos;                     -- allowed: weak lock
BEGIN;
LOCK TABLE pr_big IN SHARE MODE;
ALTER TABLE pr_big VALIDATE CONSTRAINT pr_big_c_pos;        -- refused: writes blocked meanwhile
ROLLBACK;
ALTER TABLE pr_big ADD CONSTRAINT pr_big_fk FOREIGN KEY (c) REFERENCES pr_ref; -- refused
ALTER TABLE pr_empty ADD CONSTRAINT pr_empty_fk FOREIGN KEY (id) REFERENCES pr_ref; -- allowed
ALTER TABLE pr_big ADD CONSTRAINT pr_big_fk FOREIGN KEY (c) REFERENCES pr_ref NOT VALID; -- allowed

-- not_null_scan: a validated CHECK that implies col IS NOT NULL proves it
ALTER TABLE pr_big ALTER COLUMN n SET NOT NULL;             -- refused
ALTER TABLE pr_big ADD CONSTRAINT pr_big_n_nn CHECK (n IS NOT NULL) NOT VALID;
ALTER TABLE pr_big ALTER COLUMN n SET NOT NULL;             -- refused: not validated yet
ALTER TABLE pr_big VALIDATE CONSTRAINT pr_big_n_nn;
ALTER TABLE pr_big ALTER COLUMN n SET NOT NULL;             -- allowed: proven
ALTER TABLE pr_big ALTER COLUMN c SET NOT NULL;             -- refused: CHECK (c > 0) lets NULL through
ALTER TABLE pr_big ALTER COLUMN id SET NOT NULL;            -- allowed: already NOT NULL
ALTER TABLE pr_empty ALTER COLUMN v SET NOT NULL;           -- allowed: empty

-- add_required_column
ALTER TABLE pr_big ADD COLUMN req int NOT NULL;             -- refused
ALTER TABLE pr_big ADD COLUMN req int NOT NULL DEFAULT 0;   -- allowed
ALTER TABLE pr_empty ADD COLUMN req int NOT NULL;           -- allowed: empty

-- renames warn by default
ALTER TABLE pr_big RENAME COLUMN note TO remark;            -- warned
ALTER TABLE pr_big RENAME TO pr_large;                      -- warned
ALTER TABLE pr_large RENAME TO pr_big;

-- data loss: any size above 0 bytes, but not what this transaction created
CREATE TABLE pr_one (id int, v text);
INSERT INTO pr_one VALUES (1, 'x');
TRUNCATE pr_one;                                            -- refused: one row is data
ALTER TABLE pr_one DROP COLUMN v;                           -- refused
BEGIN;
TRUNCATE pr_empty;                                          -- allowed: 0 bytes, nothing to lose
ALTER TABLE pr_empty DROP COLUMN v;                         -- allowed: 0 bytes
DROP TABLE pr_empty;                                        -- allowed: 0 bytes
ROLLBACK;
BEGIN;
CREATE TABLE pr_scratch (id int);
INSERT INTO pr_scratch VALUES (1);
ALTER TABLE pr_scratch DROP COLUMN id;                      -- allowed: new table
TRUNCATE pr_scratch;                                        -- allowed: new table
DROP TABLE pr_scratch;                                      -- allowed: new table
COMMIT;
CREATE TEMP TABLE pr_temp AS SELECT 1 AS id;
DROP TABLE pr_temp;                                         -- allowed: temporary
CREATE SCHEMA pr_schema;
DROP SCHEMA pr_schema;                                      -- refused
BEGIN;
CREATE SCHEMA pr_schema2;
DROP SCHEMA pr_schema2;                                     -- allowed: new schema
COMMIT;
DROP TABLE pr_one;                                          -- refused

-- Statements that PostgreSQL itself rejects still fail with their own error.
ALTER TABLE pr_missing ADD COLUMN x int;
ALTER TABLE IF EXISTS pr_missing ADD COLUMN x int;
ALTER TABLE pr_big ALTER COLUMN nosuch TYPE int;
ALTER TABLE pr_big ADD COLUMN bad int DEFAULT nosuchfunc();

-- What was refused is in the ring (newest first), with the rule.
SELECT rule, action, relation, statement FROM migrate_violations()
 WHERE statement LIKE '%pr\_%' ORDER BY occurred_at DESC, rule LIMIT 5;

-- clean up (enforcement off: the drops are intended)
SET pg_migrate.enforce = off;
DROP EXTENSION pg_migrate;
DROP TABLE pr_big, pr_empty, pr_one, pr_ref, pr_new;
DROP SCHEMA pr_schema;
DROP DOMAIN pr_pos;
