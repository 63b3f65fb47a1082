--
-- migrate_plan: per statement and relation, with risk; and the Markdown report
--
\set VERBOSITY terse
CREATE EXTENSION pg_migrate;
SET pg_migrate.small_table_size = 0;     -- any table with rows is "populated"

CREATE TABLE plan_full (id bigint PRIMARY KEY, email text, balance int);
INSERT INTO plan_full SELECT g, 'u' || g, g FROM generate_series(1, 2000) g;
ANALYZE plan_full;
CREATE TABLE plan_empty (id bigint PRIMARY KEY, email text, balance int);

-- The same script: risky on a populated table, harmless on an empty one
SELECT statement_no, relation, lock_mode, blocks, rewrite, table_size, est_rows, findings, risk
  FROM migrate_plan($$
    ALTER TABLE plan_full ADD COLUMN status text;
    CREATE INDEX plan_full_status ON plan_full (status);
    ALTER TABLE plan_full ALTER COLUMN balance TYPE bigint;
    CREATE INDEX CONCURRENTLY plan_full_email ON plan_full (email);
    ALTER TABLE plan_full ALTER COLUMN email TYPE varchar(100);
    DROP TABLE plan_full
  $$);
SELECT statement_no, relation, lock_mode, blocks, rewrite, table_size, est_rows, findings, risk
  FROM migrate_plan($$
    ALTER TABLE plan_empty ADD COLUMN status text;
    CREATE INDEX plan_empty_status ON plan_empty (status);
    ALTER TABLE plan_empty ALTER COLUMN balance TYPE bigint;
    DROP TABLE plan_empty
  $$);

-- Statements see the ones before them: a table created by the script is new
SELECT statement_no, statement, relation, findings, risk
  FROM migrate_plan($$
    CREATE TABLE plan_new (id int);
    CREATE INDEX ON plan_new (id);
    ALTER TABLE plan_new ALTER COLUMN id TYPE bigint
  $$);

-- Data migrations: the planner's estimate, never a scan
SET pg_migrate.max_migration_rows = 1000;
SELECT statement_no, relation, lock_mode, est_rows, findings, risk
  FROM migrate_plan($$
    UPDATE plan_full SET balance = 0 WHERE id <= 10;
    UPDATE plan_full SET balance = 0
  $$);

-- large_dml applies inside migrate_apply too: warned by default, refused
-- when the policy says so
SELECT migrate_apply('plan_big_update', 'UPDATE plan_full SET balance = 0', 'SELECT 1');
INSERT INTO migrate_policy (rule, action, table_pattern) VALUES ('large_dml', 'deny', 'plan_full');
\set VERBOSITY default
SELECT migrate_apply('plan_big_update2', 'UPDATE plan_full SET balance = 1', 'SELECT 1');
\set VERBOSITY terse
SELECT count(*) AS refused_versions FROM migrate_migrations WHERE version = 'plan_big_update2';
SELECT migrate_apply('plan_small_update', 'UPDATE plan_full SET balance = 0 WHERE id <= 10',
                     'SELECT 1');
RESET pg_migrate.max_migration_rows;

-- A statement that fails is reported, and the plan goes on
SELECT statement_no, findings, risk FROM migrate_plan($$
    ALTER TABLE plan_nonexistent ADD COLUMN x int;
    CREATE TABLE plan_after (i int)
  $$);

-- The plan changes nothing
SELECT count(*) AS leftovers FROM pg_class
 WHERE relname IN ('plan_new', 'plan_after', 'plan_full_status', 'plan_empty_status');
SELECT count(*) AS status_columns FROM pg_attribute WHERE attname = 'status';
SELECT count(*) AS plan_rows_in_history FROM migrate_ddl_history WHERE statement LIKE '%plan_new%';

-- The Markdown report
\pset format unaligned
\pset tuples_only on
SELECT migrate_plan($$
    ALTER TABLE plan_full ADD COLUMN status text;
    CREATE INDEX plan_full_status ON plan_full (status);
    UPDATE plan_full SET status = 'new'
  $$, format => 'markdown',
  down => 'DROP INDEX plan_full_status; ALTER TABLE plan_full DROP COLUMN status');
SELECT migrate_plan($$
    ALTER TABLE plan_empty ADD COLUMN note text;
    CREATE INDEX plan_empty_note ON plan_empty (note)
  $$, format => 'markdown', down => 'ALTER TABLE plan_empty DROP COLUMN note');
SELECT migrate_plan('ALTER TABLE plan_empty ADD COLUMN note2 text', format => 'markdown',
                    down => 'SELECT 1');
SELECT migrate_plan('ALTER TABLE plan_empty ADD COLUMN note3 text', format => 'markdown');

\pset format aligned
\pset tuples_only off

-- Bad input
SELECT migrate_plan('SELECT 1', format => 'html');
SELECT * FROM migrate_plan('ALTER TABLE plan_full ADD COLUMN');
SELECT migrate_plan(NULL, format => 'markdown');

SET pg_migrate.enforce = off;
DROP TABLE plan_full, plan_empty;
DROP EXTENSION pg_migrate;
