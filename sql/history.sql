--
-- DDL history: one row per committed DDL statement
--
\set VERBOSITY terse
CREATE EXTENSION pg_migrate;
-- This file tests the history; the policies (which would refuse its drops
-- and truncations) are tested in policy_*.sql.
SET pg_migrate.enforce = off;

-- The extension's own install script is not recorded: only the statement
-- that created it.
SELECT command_tag, statement, objects FROM migrate_ddl_history ORDER BY id;

-- Relations and their columns carry their OID in "oid" (what tells a
-- role's own recent table from an old one of the same name); OIDs differ
-- from run to run, so the tests show "oid": true where there is one.
CREATE FUNCTION hist_objects(objects jsonb) RETURNS jsonb LANGUAGE sql AS $$
  SELECT coalesce(jsonb_agg(CASE WHEN o ? 'oid' THEN jsonb_set(o, '{oid}', 'true') ELSE o END
                            ORDER BY n), '[]')
    FROM jsonb_array_elements(objects) WITH ORDINALITY AS e(o, n)
$$;

CREATE VIEW h AS
  SELECT command_tag, statement, hist_objects(objects) AS objects, rewrite, lock_mode, toplevel
    FROM migrate_ddl_history
   WHERE id > coalesce(current_setting('test.mark', true)::bigint, 0)
   ORDER BY id;
CREATE PROCEDURE mark() LANGUAGE sql AS
  $$ SELECT set_config('test.mark', (SELECT max(id)::text FROM migrate_ddl_history), false) $$;
CALL mark();

-- Objects, locks and rewrites
CREATE TABLE hist_a (id int PRIMARY KEY, v text);
CREATE INDEX hist_a_v ON hist_a (v);
ALTER TABLE hist_a ADD COLUMN w int;
ALTER TABLE hist_a ALTER COLUMN w TYPE bigint;
COMMENT ON TABLE hist_a IS 'a table';
SELECT * FROM h;
CALL mark();

-- A multi-statement string gives one row per statement, each with its own text
CREATE TABLE hist_m1 (i int) \; CREATE TABLE hist_m2 (i int) \; SELECT 1 AS one;
SELECT command_tag, statement FROM h;
CALL mark();

-- DDL run from functions is recorded with its own text, not the caller's
DO $$
BEGIN
  EXECUTE 'CREATE TABLE hist_dyn (i int)';
  EXECUTE format('ALTER TABLE %I ADD COLUMN j int', 'hist_dyn');
END
$$;
CREATE FUNCTION make_table() RETURNS void LANGUAGE plpgsql AS
  $$ BEGIN CREATE TABLE hist_fn (i int); END $$;
SELECT make_table();
SELECT command_tag, statement, toplevel FROM h WHERE command_tag <> 'CREATE PROCEDURE' AND command_tag <> 'CREATE FUNCTION';
CALL mark();

-- What rolls back leaves no row
BEGIN;
CREATE TABLE hist_gone (i int);
ROLLBACK;
BEGIN;
CREATE TABLE hist_kept (i int);
SAVEPOINT s;
CREATE TABLE hist_gone2 (i int);
ROLLBACK TO SAVEPOINT s;
COMMIT;
CREATE TABLE hist_a (i int);   -- fails: already exists
SELECT command_tag, statement FROM h;
CALL mark();

-- Statements event triggers never see
INSERT INTO hist_a VALUES (1, 'x');
TRUNCATE hist_a;
VACUUM FULL hist_a;
VACUUM hist_a;        -- plain VACUUM and ANALYZE are maintenance, not recorded
ANALYZE hist_a;
CLUSTER hist_a USING hist_a_pkey;
REINDEX TABLE hist_a;
REINDEX INDEX hist_a_v;
SELECT * FROM h;
CALL mark();

-- Commands without a parse tree or without an object address
GRANT SELECT ON hist_a, hist_m1 TO PUBLIC;
REVOKE SELECT ON hist_m1 FROM PUBLIC;
GRANT SELECT (v) ON hist_a TO PUBLIC;
ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO PUBLIC;
ALTER DEFAULT PRIVILEGES REVOKE SELECT ON TABLES FROM PUBLIC;
CREATE FUNCTION hist_f(int) RETURNS int LANGUAGE sql AS 'SELECT $1';
CREATE FOREIGN DATA WRAPPER hist_fdw;
CREATE SERVER hist_srv FOREIGN DATA WRAPPER hist_fdw;
-- (default privileges are named after the role running the test)
SELECT command_tag, statement,
       CASE WHEN command_tag = 'ALTER DEFAULT PRIVILEGES'
            THEN jsonb_path_query_array(objects, '$[*].type') ELSE objects END
  FROM h;
CALL mark();

-- Secrets never land in the table
CREATE ROLE hist_secret_role PASSWORD 'sekret-1' LOGIN;
ALTER ROLE hist_secret_role WITH ENCRYPTED PASSWORD 'sekret-2' VALID UNTIL 'infinity';
CREATE USER MAPPING FOR hist_secret_role SERVER hist_srv
  OPTIONS (user 'remote', password 'sekret-3');
ALTER USER MAPPING FOR hist_secret_role SERVER hist_srv
  OPTIONS (SET password $x$sekret-4$x$);
ALTER USER MAPPING FOR hist_secret_role SERVER hist_srv
  OPTIONS (DROP "password", ADD "PassWord" E'sekret\'5');
SELECT command_tag, statement FROM h;
SELECT count(*) AS leaked FROM migrate_ddl_history WHERE statement ~* 'sekret';
CALL mark();

-- Dropped objects are flagged
DROP TABLE hist_m1, hist_m2;
SELECT command_tag, objects, lock_mode FROM h;
CALL mark();

-- Temporary objects are skipped unless pg_migrate.record_temp_objects asks
CREATE TEMP TABLE hist_tmp (i int);
ALTER TABLE hist_tmp ADD COLUMN j int;
DROP TABLE hist_tmp;
SELECT count(*) AS temp_rows FROM h;
SET pg_migrate.record_temp_objects = on;
CREATE TEMP TABLE hist_tmp2 (i int);
RESET pg_migrate.record_temp_objects;
SELECT command_tag, objects FROM h;
CALL mark();

-- Roles: the session role and the role the statement ran as
CREATE ROLE hist_owner;
GRANT CREATE ON SCHEMA public TO hist_owner;
SET ROLE hist_owner;
CREATE TABLE hist_owned (i int);
RESET ROLE;
SELECT command_tag, effective_role, session_role = current_user AS session_is_me
  FROM migrate_ddl_history WHERE statement LIKE '%hist_owned%';
CALL mark();

-- The writer never uses the caller's search_path
CREATE SCHEMA hist_evil;
CREATE TABLE hist_evil.migrate_ddl_history (LIKE migrate_ddl_history);
CREATE FUNCTION hist_evil.pg_current_xact_id() RETURNS xid8 LANGUAGE sql AS 'SELECT NULL::xid8';
SET search_path = hist_evil, public;
CREATE TABLE public.hist_sp (i int);
RESET search_path;
SELECT count(*) AS in_decoy FROM hist_evil.migrate_ddl_history;
SELECT command_tag, statement FROM h WHERE statement LIKE '%hist_sp%';
CALL mark();

-- Append-only for everyone but the owner
CREATE ROLE hist_user;
GRANT pg_read_all_stats TO hist_user;
SET ROLE hist_user;
SELECT count(*) > 0 AS can_read FROM migrate_ddl_history;
INSERT INTO migrate_ddl_history (occurred_at, transaction_id, backend_pid,
  session_role, effective_role, command_tag, duration)
  VALUES (now(), '1', 1, 'x', 'x', 'FORGED', '0');
UPDATE migrate_ddl_history SET statement = 'x';
DELETE FROM migrate_ddl_history;
TRUNCATE migrate_ddl_history;
SELECT migrate_history_purge('0');
SET pg_migrate.record_ddl = off;
RESET ROLE;
CREATE ROLE hist_super SUPERUSER;
SET ROLE hist_super;
UPDATE migrate_ddl_history SET statement = 'x';
DELETE FROM migrate_ddl_history;
TRUNCATE migrate_ddl_history;
RESET ROLE;
SELECT migrate_history_purge(NULL);
SELECT migrate_history_purge('-1 day');
SELECT migrate_history_purge('1 day') AS purged_recent;

-- pg_migrate.record_ddl = off (superuser only) stops recording
CALL mark();
SET pg_migrate.record_ddl = off;
CREATE TABLE hist_unrecorded (i int);
RESET pg_migrate.record_ddl;
CREATE TABLE hist_recorded (i int);
SELECT command_tag, statement FROM h;

-- session_replication_role = replica (restores, replication) stands aside
CALL mark();
SET session_replication_role = replica;
CREATE TABLE hist_replica (i int);
RESET session_replication_role;
SELECT count(*) AS replica_rows FROM h;

-- Purge removes old rows and says how many
UPDATE migrate_ddl_history SET occurred_at = occurred_at - interval '10 days'
 WHERE statement LIKE '%hist_a%';
SELECT migrate_history_purge('5 days') > 0 AS purged_old;
SELECT count(*) AS old_left FROM migrate_ddl_history
 WHERE occurred_at < now() - interval '5 days';

-- Clean up
DROP USER MAPPING FOR hist_secret_role SERVER hist_srv;
DROP SERVER hist_srv;
DROP FOREIGN DATA WRAPPER hist_fdw;
DROP SCHEMA hist_evil CASCADE;
DROP TABLE hist_a, hist_dyn, hist_fn, hist_kept, hist_owned, hist_sp,
  hist_unrecorded, hist_recorded, hist_replica;
DROP VIEW h;
DROP PROCEDURE mark();
DROP FUNCTION make_table(), hist_f(int);
DROP EXTENSION pg_migrate;
REVOKE CREATE ON SCHEMA public FROM hist_owner;
DROP ROLE hist_secret_role, hist_owner, hist_user, hist_super;
