/* pg_migrate--1.6--1.7.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pg_migrate UPDATE TO '1.7'" to load this file. \quit

-- ---------------------------------------------------------------------------
-- history job column
-- ---------------------------------------------------------------------------

/*
 * The job whose worker ran the statement: every step of an online change,
 * every statement of a migration run by migrate_apply_async or
 * migrate_rollback_async.  NULL for statements sent by a session.  The
 * worker knows its job from the slot it was started for, never from
 * anything a client can set.
 */
ALTER TABLE @extschema@.migrate_ddl_history ADD COLUMN job_id bigint;

COMMENT ON COLUMN @extschema@.migrate_ddl_history.job_id IS
    'The background job whose worker ran the statement (migrate_jobs.id), or NULL';

/*
 * The migration an online change was submitted from (migrate_online
 * called by a script of migrate_apply, or the policy action online inside
 * one): its steps are recorded under that version too.
 */
ALTER TABLE @extschema@.migrate_online ADD COLUMN migration_version text;
