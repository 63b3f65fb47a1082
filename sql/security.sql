--
-- Security: what an ordinary role must not be able to do to pg_migrate
--
\set VERBOSITY terse
-- The policies (which would refuse the drops of down scripts and clean-up)
-- are tested in policy_*.sql; this file tests something else.
SET pg_migrate.enforce = off;

-- Installation must fail rather than adopt objects created ahead of it
CREATE TABLE migrate_ddl_history (id int);
CREATE EXTENSION pg_migrate;
DROP TABLE migrate_ddl_history;
CREATE FUNCTION migrate_apply(text, text, text, text, boolean) RETURNS text
  LANGUAGE sql AS $$ SELECT 'hijacked' $$;
CREATE EXTENSION pg_migrate;
DROP FUNCTION migrate_apply(text, text, text, text, boolean);
CREATE TABLE migrate_migrations (version text);
CREATE EXTENSION pg_migrate;
DROP TABLE migrate_migrations;
-- the same, planted by an ordinary role with CREATE on the schema: a
-- sequence (a serial column would pick another name; registering it for
-- pg_dump then fails), a composite type and a view where a view goes, an
-- index name, a function; event triggers need a superuser
CREATE ROLE sec_early;
GRANT CREATE ON SCHEMA public TO sec_early;
SET ROLE sec_early;
CREATE SEQUENCE migrate_ddl_history_id_seq;
RESET ROLE;
CREATE EXTENSION pg_migrate;
SET ROLE sec_early;
DROP SEQUENCE migrate_ddl_history_id_seq;
CREATE SEQUENCE migrate_job_state_id_seq;
RESET ROLE;
CREATE EXTENSION pg_migrate;
SET ROLE sec_early;
DROP SEQUENCE migrate_job_state_id_seq;
CREATE TYPE migrate_jobs AS (id bigint);
RESET ROLE;
CREATE EXTENSION pg_migrate;
SET ROLE sec_early;
DROP TYPE migrate_jobs;
CREATE VIEW migrate_rules AS SELECT 'drop_table'::text AS rule;
RESET ROLE;
CREATE EXTENSION pg_migrate;
SET ROLE sec_early;
DROP VIEW migrate_rules;
CREATE TABLE sec_early_t (i int);
CREATE INDEX migrate_ddl_history_occurred_at_idx ON sec_early_t (i);
RESET ROLE;
CREATE EXTENSION pg_migrate;
SET ROLE sec_early;
DROP TABLE sec_early_t;
CREATE FUNCTION migrate_is_rule(rule text) RETURNS boolean LANGUAGE sql AS 'SELECT true';
RESET ROLE;
CREATE EXTENSION pg_migrate;
SET ROLE sec_early;
DROP FUNCTION migrate_is_rule(text);
CREATE FUNCTION sec_early_evt() RETURNS event_trigger LANGUAGE plpgsql AS 'BEGIN END';
CREATE EVENT TRIGGER migrate_sql_drop ON sql_drop EXECUTE FUNCTION sec_early_evt();
RESET ROLE;
CREATE EVENT TRIGGER migrate_sql_drop ON sql_drop EXECUTE FUNCTION sec_early_evt();
CREATE EXTENSION pg_migrate;
DROP EVENT TRIGGER migrate_sql_drop;
DROP FUNCTION sec_early_evt();
REVOKE CREATE ON SCHEMA public FROM sec_early;
DROP ROLE sec_early;
CREATE EXTENSION pg_migrate;

CREATE ROLE sec_attacker;
GRANT CREATE ON SCHEMA public TO sec_attacker;
SET ROLE sec_attacker;

-- The protection switches are superuser-only, however they are set
SET pg_migrate.record_ddl = off;
SELECT set_config('pg_migrate.record_ddl', 'off', false);
SET pg_migrate.record_temp_objects = on;
ALTER ROLE sec_attacker SET pg_migrate.record_ddl = off;
SHOW pg_migrate.record_ddl;
-- and unknown settings under the prefix are rejected, not silently created
SET pg_migrate.record_dll = off;

-- The event triggers cannot be disabled or dropped
ALTER EVENT TRIGGER migrate_ddl_command_end DISABLE;
DROP EVENT TRIGGER migrate_sql_drop;
ALTER EVENT TRIGGER migrate_table_rewrite OWNER TO sec_attacker;

-- Nor the tables written to, nor the functions replaced
INSERT INTO migrate_ddl_history (occurred_at, transaction_id, backend_pid,
  session_role, effective_role, command_tag, duration)
  VALUES (now(), '1', 1, 'x', 'x', 'FORGED', '0');
DELETE FROM migrate_migrations;
ALTER TABLE migrate_ddl_history DISABLE TRIGGER USER;
DROP TABLE migrate_ddl_history;
CREATE OR REPLACE FUNCTION migrate_history_purge(interval) RETURNS bigint
  LANGUAGE sql AS 'SELECT 0::bigint';
SELECT migrate_history_purge('0');

-- The attacker's own DDL is recorded under its name
CREATE TABLE sec_attacker_table (i int);
RESET ROLE;
SELECT effective_role, statement FROM migrate_ddl_history
 WHERE statement LIKE '%sec_attacker_table%';

-- Lookalike functions and operators on the caller's search_path never run
-- inside pg_migrate's functions, triggers or hook
CREATE SCHEMA sec_evil;
GRANT USAGE ON SCHEMA sec_evil TO PUBLIC;
CREATE FUNCTION sec_evil.hijacked(text, text) RETURNS boolean LANGUAGE plpgsql AS
  $$ BEGIN RAISE EXCEPTION 'hijacked: % %', $1, $2; END $$;
CREATE OPERATOR sec_evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = sec_evil.hijacked);
CREATE FUNCTION sec_evil.now() RETURNS timestamptz LANGUAGE plpgsql AS
  $$ BEGIN RAISE EXCEPTION 'hijacked now()'; END $$;
CREATE FUNCTION sec_evil.length(text) RETURNS int LANGUAGE plpgsql AS
  $$ BEGIN RAISE EXCEPTION 'hijacked length()'; END $$;
CREATE FUNCTION sec_evil.session_user() RETURNS name LANGUAGE plpgsql AS
  $$ BEGIN RAISE EXCEPTION 'hijacked session_user()'; END $$;
CREATE FUNCTION sec_evil.max(bigint) RETURNS bigint LANGUAGE plpgsql AS
  $$ BEGIN RAISE EXCEPTION 'hijacked max()'; END $$;
CREATE TABLE sec_evil.migrate_migrations (LIKE migrate_migrations);
CREATE TABLE sec_evil.migrate_ddl_history (LIKE migrate_ddl_history);
SET search_path = sec_evil, pg_catalog, public;
-- (the decoy operator does run for a query of the caller's own)
SELECT 'a'::text = 'a'::text;
CREATE TABLE public.sec_t (i int);
SELECT migrate_apply('sec1', 'CREATE TABLE public.sec_m (i int)', 'DROP TABLE public.sec_m');
SELECT migrate_apply('sec1', 'CREATE TABLE public.sec_m (i int)', 'DROP TABLE public.sec_m');
SELECT version, state FROM migrate_status();
SELECT count(*) AS drift FROM migrate_drift();
SELECT * FROM migrate_verify('CREATE TABLE public.sec_v (i int)', 'DROP TABLE public.sec_v');
SELECT migrate_rollback();
SELECT migrate_history_purge('1 year');
RESET search_path;
SELECT count(*) AS decoy_rows FROM sec_evil.migrate_migrations;
SELECT count(*) AS decoy_rows FROM sec_evil.migrate_ddl_history;
SELECT command_tag, statement, migration_version FROM migrate_ddl_history
 WHERE statement LIKE '%sec_%' ORDER BY id;

-- Hostile text in DDL is stored as it was sent, never interpreted
CREATE TABLE "sec ""quoted""; DROP TABLE x; --" (i int);
CREATE TABLE sec_backslash (v text DEFAULT E'\\''; DROP TABLE sec_t; --');
COMMENT ON TABLE sec_backslash IS $c$it's a /* comment */ with ; and \ and $$$c$;
SELECT statement FROM migrate_ddl_history
 WHERE statement LIKE '%sec ""quoted""%' OR statement LIKE '%sec_backslash%' ORDER BY id;
SELECT count(*) AS sec_t_still_there FROM pg_class WHERE relname = 'sec_t';
CREATE TABLE sec_long_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa (i int);
SELECT objects->0->>'identity' AS truncated_identity FROM migrate_ddl_history
 WHERE statement LIKE '%sec_long_%';

-- A down script runs only for roles whose privileges its author holds: a
-- superuser rolling back an ordinary role's migration would otherwise run
-- that role's code with a superuser's rights.
GRANT EXECUTE ON FUNCTION migrate_apply(text, text, text, text, boolean),
                          migrate_rollback(text, boolean) TO sec_attacker;
SET ROLE sec_attacker;
SELECT migrate_apply('sec_trojan', 'CREATE TABLE public.sec_trojan_up (i int)',
  'CREATE TABLE public.sec_trojan_down AS SELECT current_user AS who, pg_catalog.now() AS at; DROP TABLE public.sec_trojan_up');
RESET ROLE;
SELECT migrate_rollback('sec_trojan');
SELECT migrate_rollback();
SELECT migrate_rollback_async('sec_trojan');
SELECT count(*) AS down_script_ran FROM pg_class WHERE relname = 'sec_trojan_down';
-- as its author, it runs
SET ROLE sec_attacker;
SELECT migrate_rollback('sec_trojan');
RESET ROLE;
SELECT who FROM public.sec_trojan_down;
SELECT version, applied_by = session_user AS by_session_user, applied_as FROM migrate_migrations
 WHERE version = 'sec_trojan';
-- A role with fewer privileges than the author may run its down script:
-- with its own rights, which here are not enough
SELECT migrate_apply('sec_admin', 'CREATE TABLE public.sec_admin_up (i int)', 'DROP TABLE public.sec_admin_up');
SET ROLE sec_attacker;
SELECT migrate_rollback('sec_admin');
RESET ROLE;
DROP TABLE public.sec_trojan_down, public.sec_admin_up;
REVOKE EXECUTE ON FUNCTION migrate_apply(text, text, text, text, boolean),
                           migrate_rollback(text, boolean) FROM sec_attacker;

-- Clean up
DROP TABLE "sec ""quoted""; DROP TABLE x; --", sec_backslash, sec_t, sec_attacker_table,
  sec_long_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa;
DROP SCHEMA sec_evil CASCADE;
DROP EXTENSION pg_migrate;
REVOKE CREATE ON SCHEMA public FROM sec_attacker;
DROP ROLE sec_attacker;
