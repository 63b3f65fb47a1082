\set VERBOSITY default
\echo
\echo '=== pg_migrate demo ==='
\echo
CREATE EXTENSION pg_migrate;

\echo
\echo '--- 1. Every schema change is recorded: who, when, what, which objects, which lock'
\echo
CREATE TABLE accounts (id bigint PRIMARY KEY, email text, balance numeric);
INSERT INTO accounts SELECT g, 'user' || g || '@example.com', 0 FROM generate_series(1, 10000) g;
CREATE INDEX accounts_email ON accounts (email);
ALTER TABLE accounts ALTER COLUMN balance TYPE numeric(12,2);
-- several statements in one string are recorded one by one
CREATE TABLE audit_a (i int) \; CREATE TABLE audit_b (i int);
-- DDL from a function is recorded with its own text
DO $$ BEGIN EXECUTE 'ALTER TABLE audit_a ADD COLUMN note text'; END $$;
-- statements event triggers never see are recorded too
TRUNCATE audit_b;
VACUUM FULL audit_b;
-- secrets are redacted
CREATE ROLE app_user LOGIN PASSWORD 'correct horse battery staple';
-- what rolls back is not recorded
BEGIN; DROP TABLE accounts; ROLLBACK;

SELECT id, occurred_at::time(0) AS at, effective_role AS role, command_tag,
       statement, lock_mode, rewrite, toplevel
  FROM migrate_ddl_history ORDER BY id;

SELECT command_tag, jsonb_pretty(objects) AS objects
  FROM migrate_ddl_history WHERE command_tag = 'CREATE TABLE' ORDER BY id LIMIT 1;

\echo
\echo '--- 2. The history is append-only'
\echo
SET ROLE app_user;
DELETE FROM migrate_ddl_history;
RESET ROLE;

\echo
\echo '--- 3. Versioned migrations: applied atomically, checksummed, reversible'
\echo
SELECT migrate_apply('2026_11_01_add_status',
  $up$
    ALTER TABLE accounts ADD COLUMN status text;
    CREATE INDEX accounts_status ON accounts (status);
  $up$,
  $down$
    DROP INDEX accounts_status;
    ALTER TABLE accounts DROP COLUMN status;
  $down$,
  'account status');
-- the same migration again is a no-op; an edited one is refused
SELECT migrate_apply('2026_11_01_add_status',
  $up$
    ALTER TABLE accounts ADD COLUMN status text;
    CREATE INDEX accounts_status ON accounts (status);
  $up$,
  $down$
    DROP INDEX accounts_status;
    ALTER TABLE accounts DROP COLUMN status;
  $down$,
  'account status');
SELECT migrate_apply('2026_11_01_add_status', 'ALTER TABLE accounts ADD COLUMN status varchar(20)',
                     'ALTER TABLE accounts DROP COLUMN status');
SELECT version, state, left(checksum, 12) AS checksum, applied_by, retries FROM migrate_status();
SELECT command_tag, statement, migration_version FROM migrate_ddl_history
 WHERE migration_version IS NOT NULL ORDER BY id;

\echo
\echo '--- 4. Proving a down script really undoes its up script (nothing is changed)'
\echo
SELECT * FROM migrate_verify(
  'ALTER TABLE accounts ADD COLUMN city text; CREATE INDEX accounts_city ON accounts (city)',
  'ALTER TABLE accounts DROP COLUMN city');
-- this down script forgets an index and leaves a default behind
SELECT kind, object, difference, after FROM migrate_verify(
  $$ALTER TABLE accounts ALTER COLUMN email SET DEFAULT 'unknown';
    CREATE INDEX accounts_lower_email ON accounts (lower(email))$$,
  $$ALTER TABLE accounts ALTER COLUMN email SET DEFAULT ''$$);

\echo
\echo '--- 5. Rolling back, and DDL that no migration accounts for'
\echo
SELECT migrate_rollback();
SELECT version, state FROM migrate_status();
CREATE INDEX accounts_balance ON accounts (balance);
SELECT command_tag, statement FROM migrate_drift();
