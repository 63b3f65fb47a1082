--
-- Versioned migrations: migrate_apply, migrate_rollback, migrate_status,
-- migrate_verify, migrate_drift
--
\set VERBOSITY terse
CREATE EXTENSION pg_migrate;
-- The policies (which would refuse the drops of down scripts and clean-up)
-- are tested in policy_*.sql; this file tests something else.
SET pg_migrate.enforce = off;

-- Apply, and the DDL history rows carry the version
SELECT migrate_apply('001', $$
    CREATE TABLE mig_accounts (id bigint PRIMARY KEY, email text);
    CREATE INDEX mig_accounts_email ON mig_accounts (email)
$$, 'DROP TABLE mig_accounts', 'accounts table');
SELECT command_tag, statement, migration_version, toplevel
  FROM migrate_ddl_history WHERE migration_version IS NOT NULL ORDER BY id;

-- Same version, same scripts: a no-op that says so
SELECT migrate_apply('001', $$
    CREATE TABLE mig_accounts (id bigint PRIMARY KEY, email text);
    CREATE INDEX mig_accounts_email ON mig_accounts (email)
$$, 'DROP TABLE mig_accounts', 'accounts table');

-- Same version, different scripts: drift, refused, naming both checksums
\set VERBOSITY default
SELECT migrate_apply('001', 'CREATE TABLE mig_accounts (id int)', 'DROP TABLE mig_accounts');
\set VERBOSITY terse

-- The checksum is SHA-256 over both scripts
SELECT version, left(checksum, 16) AS checksum, length(checksum) AS hex_digits
  FROM migrate_migrations;

-- No down script: refused unless declared irreversible
SELECT migrate_apply('002', 'ALTER TABLE mig_accounts ADD COLUMN name text', NULL);
SELECT migrate_apply('002', 'ALTER TABLE mig_accounts ADD COLUMN name text', NULL,
                     irreversible => true);
SELECT migrate_apply('002b', 'SELECT 1', 'SELECT 1', irreversible => true);
SELECT migrate_apply('003', $$ALTER TABLE mig_accounts ADD COLUMN age int$$,
                     $$ALTER TABLE mig_accounts DROP COLUMN age$$);

SELECT version, description, state, retries, irreversible, applied_by = current_user AS by_me
  FROM migrate_status();

-- Bad input: each a clear error, and no trace left behind
SELECT migrate_apply(NULL, 'SELECT 1', 'SELECT 1');
SELECT migrate_apply('', 'SELECT 1', 'SELECT 1');
SELECT migrate_apply('   ', 'SELECT 1', 'SELECT 1');
SELECT migrate_apply(repeat('v', 201), 'SELECT 1', 'SELECT 1');
SELECT migrate_apply('004', NULL, 'SELECT 1');
SELECT migrate_apply('004', '', 'SELECT 1');
SELECT migrate_apply('004', '-- only a comment', 'SELECT 1');
SELECT migrate_apply('004', 'BEGIN; CREATE TABLE mig_x (i int); COMMIT', 'DROP TABLE mig_x');
SELECT migrate_apply('004', 'CREATE TABLE mig_x (i int)', 'ROLLBACK');
SELECT migrate_apply('004', 'SAVEPOINT a', 'SELECT 1');
SELECT migrate_apply('004', 'CREATE INDEX CONCURRENTLY mig_i ON mig_accounts (name)', 'DROP INDEX mig_i');
SELECT migrate_apply('004', 'VACUUM mig_accounts', 'SELECT 1');
-- A PL/pgSQL DO block that commits or rolls back fails under migrate_apply
-- and migrate_rollback (2D000): refused up front, in either script, as
-- for the statements that need a transaction of their own
SELECT migrate_apply('004', 'DO $$ BEGIN COMMIT; END $$', 'SELECT 1');
SELECT migrate_apply('004', 'CREATE TABLE mig_x (i int)',
                     $s$DO $$ BEGIN DELETE FROM mig_x; IF true THEN ROLLBACK AND NO CHAIN; END IF; END $$$s$);
SELECT migrate_apply('004', 'CREATE TABLE mig_x (i int)',
                     $s$DO LANGUAGE plpgsql 'BEGIN <<l>> LOOP COMMIT; EXIT; END LOOP; END'$s$);
-- ... and not a block that only mentions them: in a string, a comment, a
-- quoted identifier or a column named commit
BEGIN;
SELECT migrate_apply('004b', 'CREATE TABLE mig_x (i int, commit int)',
                     $s$DO $$
                        DECLARE r int;
                        BEGIN
                          RAISE NOTICE 'COMMIT;'; -- COMMIT;
                          /* ROLLBACK; */
                          SELECT "commit" INTO r FROM mig_x;
                          SELECT commit INTO r FROM mig_x;
                          DROP TABLE mig_x;
                        END $$$s$);
ROLLBACK;
SELECT migrate_apply('004', 'CREATE TABLE mig_x (i int); CREAT TABLE mig_y (i int)', 'DROP TABLE mig_x');
-- fails half-way: the first statement is undone too
SELECT migrate_apply('004', 'CREATE TABLE mig_x (i int); ALTER TABLE mig_nonexistent ADD COLUMN j int',
                     'DROP TABLE mig_x');
SELECT count(*) AS mig_x_exists FROM pg_class WHERE relname = 'mig_x';
SELECT count(*) AS version_004_rows FROM migrate_migrations WHERE version = '004';
SELECT count(*) AS history_004_rows FROM migrate_ddl_history WHERE migration_version = '004';

-- A caller that rolls back takes the migration with it
BEGIN;
SELECT migrate_apply('005', 'CREATE TABLE mig_y (i int)', 'DROP TABLE mig_y');
ROLLBACK;
SELECT count(*) AS version_005_rows FROM migrate_migrations WHERE version = '005';

-- Rollback: latest by default; earlier ones only after later ones, or forced
SELECT migrate_rollback('001');
SELECT migrate_rollback('002');
SELECT migrate_rollback('nonexistent');
SELECT migrate_rollback();             -- 003, the latest
SELECT count(*) AS age_column FROM pg_attribute
 WHERE attrelid = 'mig_accounts'::regclass AND attname = 'age';
SELECT migrate_rollback('003');        -- not applied any more
SELECT migrate_rollback('001', force => true);
SELECT count(*) AS accounts_table FROM pg_class WHERE relname = 'mig_accounts';
SELECT version, state, rolled_back_by = current_user AS by_me FROM migrate_status();
SELECT command_tag, statement, migration_version
  FROM migrate_ddl_history WHERE migration_version IN ('001', '003') ORDER BY id;

-- A rolled-back migration can be applied again
SELECT migrate_apply('003', $$ALTER TABLE mig_accounts ADD COLUMN age int$$,
                     $$ALTER TABLE mig_accounts DROP COLUMN age$$);
SELECT migrate_apply('001', $$
    CREATE TABLE mig_accounts (id bigint PRIMARY KEY, email text);
    CREATE INDEX mig_accounts_email ON mig_accounts (email)
$$, 'DROP TABLE mig_accounts', 'accounts table');
SELECT migrate_apply('003', $$ALTER TABLE mig_accounts ADD COLUMN age int$$,
                     $$ALTER TABLE mig_accounts DROP COLUMN age$$);
SELECT version, state FROM migrate_status();

-- Drift: DDL since the last applied migration that no migration accounts for
SELECT command_tag, statement FROM migrate_drift();
CREATE INDEX mig_accounts_age ON mig_accounts (age);
COMMENT ON TABLE mig_accounts IS 'changed by hand';
SELECT command_tag, statement FROM migrate_drift();

-- Verify: a true inverse gives no rows
SELECT * FROM migrate_verify(
  'CREATE TABLE mig_v (id int PRIMARY KEY, v text DEFAULT $$x$$); CREATE INDEX mig_v_v ON mig_v (v)',
  'DROP TABLE mig_v');
-- a forgotten index drop
SELECT kind, object, difference FROM migrate_verify(
  'ALTER TABLE mig_accounts ADD COLUMN city text; CREATE INDEX mig_city ON mig_accounts (email)',
  'ALTER TABLE mig_accounts DROP COLUMN city');
-- a missing column drop (and an up that cannot run twice)
SELECT * FROM migrate_verify(
  'ALTER TABLE mig_accounts ADD COLUMN zip text',
  'SELECT 1');
-- a changed default
SELECT * FROM migrate_verify(
  $$ALTER TABLE mig_accounts ALTER COLUMN email SET DEFAULT 'none'$$,
  $$ALTER TABLE mig_accounts ALTER COLUMN email SET DEFAULT ''$$);
-- a forgotten grant
CREATE ROLE mig_reader;
SELECT kind, object, difference FROM migrate_verify(
  'GRANT SELECT ON mig_accounts TO mig_reader',
  'SELECT 1');
-- a down that fails
SELECT * FROM migrate_verify('CREATE TABLE mig_w (i int)', 'DROP TABLE mig_nonexistent');
-- an up that fails is an error
SELECT * FROM migrate_verify('ALTER TABLE mig_nonexistent ADD COLUMN i int', 'SELECT 1');
SELECT * FROM migrate_verify('SELECT 1', NULL);
-- and verification changes nothing
SELECT count(*) AS leftovers FROM pg_class WHERE relname IN ('mig_v', 'mig_w', 'mig_city');
SELECT count(*) AS verify_history FROM migrate_ddl_history WHERE statement LIKE '%mig_v %';

-- Privileges: only roles granted EXECUTE may apply or roll back
CREATE ROLE mig_plain;
SET ROLE mig_plain;
SELECT migrate_apply('900', 'SELECT 1', 'SELECT 1');
SELECT migrate_rollback();
SELECT * FROM migrate_verify('SELECT 1', 'SELECT 1');
SELECT count(*) FROM migrate_migrations;
INSERT INTO migrate_migrations (version, up, checksum, state, applied_at, applied_by,
  duration, apply_seq, irreversible, search_path)
  VALUES ('x', 'x', 'x', 'applied', now(), 'x', '0', 1, true, '');
RESET ROLE;

-- The scripts run with the caller's search_path; pg_migrate's own queries do not
CREATE SCHEMA mig_app;
SET search_path = mig_app, public;
SELECT migrate_apply('010', 'CREATE TABLE in_app (i int)', 'DROP TABLE in_app');
RESET search_path;
SELECT count(*) AS in_app_schema FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'mig_app' AND c.relname = 'in_app';

-- and the down script runs with the search_path the up script had
SELECT migrate_rollback('010');
SELECT count(*) AS in_app_schema FROM pg_class WHERE relname = 'in_app';

-- With policies enforced: a down script may drop what its own up created
-- (recorded as an override with the reason), but nothing else
SET pg_migrate.enforce = on;
CREATE TABLE mig_pre (id int, old_col text);
INSERT INTO mig_pre VALUES (1, 'data');             -- (a 0-byte table loses nothing)
SELECT migrate_apply('020', $$
    CREATE TABLE mig_made (i int);
    INSERT INTO mig_made VALUES (1);
    ALTER TABLE mig_pre ADD COLUMN new_col text
  $$, $$
    ALTER TABLE mig_pre DROP COLUMN new_col;
    DROP TABLE mig_made
  $$);
SELECT migrate_rollback('020');
SELECT command_tag, statement, policy_overrides->0->>'rule' AS rule,
       policy_overrides->0->>'reason' AS reason
  FROM migrate_ddl_history WHERE migration_version = '020' ORDER BY id;
SELECT migrate_apply('021', 'ALTER TABLE mig_pre ADD COLUMN other text',
                     'ALTER TABLE mig_pre DROP COLUMN old_col');
SELECT migrate_rollback('021');
SELECT version, state FROM migrate_status() WHERE version IN ('020', '021');
-- and verification judges the down script the same way
SELECT * FROM migrate_verify('CREATE TABLE mig_v2 (i int)', 'DROP TABLE mig_v2');
SELECT kind, object, difference FROM migrate_verify('ALTER TABLE mig_pre ADD COLUMN c2 int',
                                                    'ALTER TABLE mig_pre DROP COLUMN old_col');
SET pg_migrate.enforce = off;
SELECT migrate_rollback('021');
DROP TABLE mig_pre;

-- Clean up
DROP SCHEMA mig_app;
DROP TABLE mig_accounts;
DROP EXTENSION pg_migrate;
DROP ROLE mig_reader, mig_plain;
