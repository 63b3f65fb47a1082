--
-- A damaged DDL history never blocks a superuser from fixing things: the
-- superuser's statements run with a WARNING saying the history could not
-- record them.  Other roles' statements are refused (fail closed) until the
-- history is repaired, so the audit trail never silently loses theirs.
--
\set VERBOSITY default
-- This file drops pg_migrate's own tables on purpose; the policies are
-- tested in policy_*.sql.
SET pg_migrate.enforce = off;
CREATE EXTENSION pg_migrate;
CREATE ROLE hd_user;
GRANT CREATE ON SCHEMA public TO hd_user;
CREATE ROLE hd_owner;

CREATE VIEW hd_recorded AS
  SELECT command_tag, statement FROM migrate_ddl_history
   WHERE statement LIKE '%hd\_t%' ORDER BY id;

-- 1. A trigger on the history that fails.  The CREATE TRIGGER itself is
-- the first statement the history cannot take.
CREATE FUNCTION hd_fail() RETURNS trigger LANGUAGE plpgsql
  AS $$ BEGIN RAISE EXCEPTION 'history is out of order'; END $$;
CREATE TRIGGER hd_fail BEFORE INSERT ON migrate_ddl_history
  FOR EACH ROW EXECUTE FUNCTION hd_fail();
CREATE TABLE hd_t1 (i int);
SET SESSION AUTHORIZATION hd_user;
CREATE TABLE hd_t2 (i int);
RESET SESSION AUTHORIZATION;
-- the superuser's table exists, the ordinary role's does not
SELECT to_regclass('hd_t1') IS NOT NULL AS t1, to_regclass('hd_t2') IS NOT NULL AS t2;
-- Repaired: recording resumes for everyone.
DROP TRIGGER hd_fail ON migrate_ddl_history;
SET SESSION AUTHORIZATION hd_user;
CREATE TABLE hd_t2 (i int);
RESET SESSION AUTHORIZATION;
SELECT * FROM hd_recorded;

-- 2. The history renamed away.
ALTER TABLE migrate_ddl_history RENAME TO hd_renamed;
CREATE TABLE hd_t3 (i int);
SET SESSION AUTHORIZATION hd_user;
CREATE TABLE hd_t4 (i int);
RESET SESSION AUTHORIZATION;
SELECT to_regclass('hd_t3') IS NOT NULL AS t3, to_regclass('hd_t4') IS NOT NULL AS t4;
ALTER TABLE hd_renamed RENAME TO migrate_ddl_history;
SET SESSION AUTHORIZATION hd_user;
CREATE TABLE hd_t4 (i int);
RESET SESSION AUTHORIZATION;

-- 3. The owner, the role the history is written as, loses its rights.
ALTER TABLE migrate_ddl_history OWNER TO hd_owner;
REVOKE INSERT ON migrate_ddl_history FROM hd_owner;
CREATE TABLE hd_t5 (i int);
SET SESSION AUTHORIZATION hd_user;
CREATE TABLE hd_t6 (i int);
RESET SESSION AUTHORIZATION;
SELECT to_regclass('hd_t5') IS NOT NULL AS t5, to_regclass('hd_t6') IS NOT NULL AS t6;
GRANT INSERT ON migrate_ddl_history TO hd_owner;
ALTER TABLE migrate_ddl_history OWNER TO CURRENT_USER;
SET SESSION AUTHORIZATION hd_user;
CREATE TABLE hd_t6 (i int);
RESET SESSION AUTHORIZATION;
-- every statement that was not refused is there, the statements the
-- history could not take (they ran as superuser) are not
SELECT * FROM hd_recorded;

-- The session's role counts, not the current one: a superuser's SECURITY
-- DEFINER function does not let an ordinary session's DDL past it, and a
-- superuser who SET ROLE to another role goes ahead.
CREATE FUNCTION hd_make() RETURNS void LANGUAGE plpgsql SECURITY DEFINER
  AS $$ BEGIN CREATE TABLE hd_t10 (i int); END $$;
GRANT EXECUTE ON FUNCTION hd_make() TO hd_user;
ALTER TABLE migrate_ddl_history RENAME TO hd_renamed;
SET SESSION AUTHORIZATION hd_user;
SELECT hd_make();
RESET SESSION AUTHORIZATION;
SELECT to_regclass('hd_t10') IS NOT NULL AS t10;
SET ROLE hd_user;
CREATE TABLE hd_t10 (i int);
RESET ROLE;
ALTER TABLE hd_renamed RENAME TO migrate_ddl_history;

-- Statements that touch only temporary objects are not recorded, so a
-- damaged history does not refuse them.
ALTER TABLE migrate_ddl_history RENAME TO hd_renamed;
SET SESSION AUTHORIZATION hd_user;
CREATE TEMP TABLE hd_temp (i int);
RESET SESSION AUTHORIZATION;
ALTER TABLE hd_renamed RENAME TO migrate_ddl_history;

-- Errors that say nothing about the table's state (here a lock timeout,
-- raised by a trigger) stay errors, for superusers too: a statement
-- retried after a lock timeout must see it.  (The ALTER TABLE below finds
-- its lock free, so it runs without a subtransaction and is not retried:
-- the lock timeout is its error as it is.)
CREATE FUNCTION hd_busy() RETURNS trigger LANGUAGE plpgsql
  AS $$ BEGIN RAISE EXCEPTION 'history busy' USING ERRCODE = 'lock_not_available'; END $$;
SET pg_migrate.record_ddl = off;
CREATE TRIGGER hd_busy BEFORE INSERT ON migrate_ddl_history
  FOR EACH ROW EXECUTE FUNCTION hd_busy();
SET pg_migrate.record_ddl = on;
\set VERBOSITY terse
CREATE TABLE hd_t9 (i int);
SELECT to_regclass('hd_t9') IS NOT NULL AS t9;
SET pg_migrate.lock_retries = 1;
ALTER TABLE hd_t1 ADD COLUMN j int;
\set VERBOSITY default
RESET pg_migrate.lock_retries;
SELECT count(*) AS j_columns FROM pg_attribute
 WHERE attrelid = 'hd_t1'::regclass AND attname = 'j';
SET pg_migrate.record_ddl = off;
DROP TRIGGER hd_busy ON migrate_ddl_history;
SET pg_migrate.record_ddl = on;

-- 4. The history detached from the extension and dropped; then the
-- documented repair: drop and re-create the extension.
ALTER EXTENSION pg_migrate DROP TABLE migrate_ddl_history;
ALTER EXTENSION pg_migrate DROP SEQUENCE migrate_ddl_history_id_seq;
DROP VIEW hd_recorded;
DROP TABLE migrate_ddl_history;
CREATE TABLE hd_t7 (i int);
SET SESSION AUTHORIZATION hd_user;
CREATE TABLE hd_t8 (i int);
RESET SESSION AUTHORIZATION;
SELECT to_regclass('hd_t7') IS NOT NULL AS t7, to_regclass('hd_t8') IS NOT NULL AS t8;
DROP EXTENSION pg_migrate;
CREATE EXTENSION pg_migrate;
SET SESSION AUTHORIZATION hd_user;
CREATE TABLE hd_t8 (i int);
RESET SESSION AUTHORIZATION;
SELECT command_tag, statement FROM migrate_ddl_history ORDER BY id;

-- 5. DROP EXTENSION works whatever state the history is in.
CREATE TRIGGER hd_fail BEFORE INSERT ON migrate_ddl_history
  FOR EACH ROW EXECUTE FUNCTION hd_fail();
DROP EXTENSION pg_migrate;
CREATE EXTENSION pg_migrate;
SELECT command_tag, statement FROM migrate_ddl_history ORDER BY id;

-- Clean up
DROP TABLE hd_t1, hd_t2, hd_t3, hd_t4, hd_t5, hd_t6, hd_t7, hd_t8, hd_t10, hd_temp;
DROP FUNCTION hd_fail(), hd_busy(), hd_make();
DROP EXTENSION pg_migrate;
REVOKE CREATE ON SCHEMA public FROM hd_user;
DROP ROLE hd_user, hd_owner;
