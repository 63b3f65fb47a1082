/* pg_migrate--1.0--1.1.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pg_migrate UPDATE TO '1.1'" to load this file. \quit

/*
 * The house rules of pg_migrate--1.0.sql apply here too: no CREATE OR
 * REPLACE, every function pinned to search_path = pg_catalog, pg_temp, every
 * reference to our own objects qualified with @extschema@.  A fresh
 * installation of 1.1 runs pg_migrate--1.0.sql and then this script, so an
 * upgraded database and a fresh one are built by the same statements.
 */

------------------------------------------------------------------------
-- Migrations run by a background worker: migrate_apply_async and
-- migrate_rollback_async.  A job of kind 'migration' has no relation; its
-- script and its progress (the next statement to run) are kept in
-- migrate_job_script, and its one slice row carries the counts shown by
-- migrate_jobs (statements done as rows_done, the number of statements as
-- estimated_total).
------------------------------------------------------------------------

ALTER TABLE @extschema@.migrate_job_state
    DROP CONSTRAINT migrate_job_state_kind_check,
    ADD CONSTRAINT migrate_job_state_kind_check
        CHECK (kind IN ('update', 'delete', 'migration')),
    DROP CONSTRAINT migrate_job_state_key_mode_check,
    ADD CONSTRAINT migrate_job_state_key_mode_check
        CHECK (key_mode IN ('key', 'ctid', 'empty', 'script')),
    ALTER COLUMN relation DROP NOT NULL,
    ADD CONSTRAINT migrate_job_state_relation_check
        CHECK ((kind OPERATOR(pg_catalog.=) 'migration') OPERATOR(pg_catalog.=) (relation IS NULL));

CREATE TABLE @extschema@.migrate_job_script (
    job_id          bigint PRIMARY KEY
                    REFERENCES @extschema@.migrate_job_state ON DELETE CASCADE,
    direction       text NOT NULL CHECK (direction IN ('up', 'down')),
    version         text NOT NULL
                    CHECK (pg_catalog.length(version) OPERATOR(pg_catalog.<=) 200),
    description     text,
    up              text NOT NULL,
    down            text,
    irreversible    boolean NOT NULL,
    checksum        text NOT NULL,
    -- what the submitting session had: its login role (the worker logs in
    -- as it and then sets the job's owner as its role), its search_path
    -- and the pg_migrate settings it had changed (name => value)
    session_role    regrole NOT NULL,
    search_path     text NOT NULL,
    settings        jsonb NOT NULL DEFAULT '{}',
    statements      integer NOT NULL CHECK (statements OPERATOR(pg_catalog.>) 0),
    -- 1-based number of the next statement to run; statements + 1 when done
    next_statement  integer NOT NULL DEFAULT 1,
    -- next_statement, which commits on its own, was started and may have
    -- left something behind (an INVALID index) for a retry to clean up
    attempted       boolean NOT NULL DEFAULT false,
    current_text    text,
    retries         integer NOT NULL DEFAULT 0
);

SELECT pg_catalog.pg_extension_config_dump('@extschema@.migrate_job_script', '');
REVOKE ALL ON @extschema@.migrate_job_script FROM PUBLIC;

COMMENT ON TABLE @extschema@.migrate_job_script IS
    'Script and progress of each migration run by a background worker';

-- The view gains the migration a job runs; a view cannot gain a column in
-- the middle, so it is built again (privileges and comment included).
DROP VIEW @extschema@.migrate_jobs;

CREATE VIEW @extschema@.migrate_jobs WITH (security_barrier) AS
SELECT j.id,
       j.kind,
       j.relation,
       m.migration,
       j.owner,
       j.state,
       COALESCE(s.rows_done, 0) AS rows_done,
       j.estimated_rows AS estimated_total,
       CASE WHEN j.started_at IS NOT NULL
             AND COALESCE(j.finished_at, pg_catalog.now()) OPERATOR(pg_catalog.>) j.started_at
            THEN pg_catalog.round((COALESCE(s.rows_done, 0)::numeric OPERATOR(pg_catalog./)
                 EXTRACT(epoch FROM COALESCE(j.finished_at, pg_catalog.now()) OPERATOR(pg_catalog.-) j.started_at)), 1)
       END AS rate,
       CASE WHEN j.state OPERATOR(pg_catalog.=) ANY (ARRAY['queued', 'running'])
             AND j.started_at IS NOT NULL AND s.rows_done OPERATOR(pg_catalog.>) 0
             AND j.estimated_rows OPERATOR(pg_catalog.>) s.rows_done
            THEN pg_catalog.make_interval(secs => ((j.estimated_rows OPERATOR(pg_catalog.-) s.rows_done)::double precision
                 OPERATOR(pg_catalog.*) EXTRACT(epoch FROM pg_catalog.now() OPERATOR(pg_catalog.-) j.started_at)::double precision
                 OPERATOR(pg_catalog./) s.rows_done::double precision))
       END AS eta,
       s.batch_size,
       COALESCE(s.batches, 0) AS batches,
       j.parallel,
       j.key_mode,
       j.key_name,
       j.last_error,
       j.submitted_at,
       j.started_at,
       j.finished_at,
       j.updated_at
  FROM @extschema@.migrate_job_state j
  LEFT JOIN LATERAL (
        SELECT pg_catalog.sum(sl.rows_done)::bigint AS rows_done,
               pg_catalog.sum(sl.batches)::bigint AS batches,
               pg_catalog.sum(sl.batch_size) FILTER (WHERE NOT sl.done)::integer AS batch_size
          FROM @extschema@.migrate_job_slice sl
         WHERE sl.job_id OPERATOR(pg_catalog.=) j.id) s ON true
  LEFT JOIN LATERAL (
        SELECT pg_catalog.format('%s (%s)', sc.version, sc.direction) AS migration
          FROM @extschema@.migrate_job_script sc
         WHERE sc.job_id OPERATOR(pg_catalog.=) j.id) m ON true
 WHERE pg_catalog.pg_has_role(CURRENT_USER, j.owner, 'USAGE')
    OR pg_catalog.pg_has_role(CURRENT_USER, 'pg_read_all_stats', 'USAGE');

GRANT SELECT ON @extschema@.migrate_jobs TO PUBLIC;

COMMENT ON VIEW @extschema@.migrate_jobs IS
    'Background jobs with their progress, rate and ETA';

/*
 * Like migrate_apply and migrate_rollback, these two have no SET clause:
 * the submitter's search_path is recorded with the job and is the one the
 * worker runs the script with.  Their C code pins search_path for every
 * query of its own.
 */
CREATE FUNCTION @extschema@.migrate_apply_async(
    version text,
    up text,
    down text DEFAULT NULL,
    description text DEFAULT NULL,
    irreversible boolean DEFAULT false)
RETURNS bigint
LANGUAGE C
AS 'MODULE_PATHNAME', 'migrate_apply_async';

COMMENT ON FUNCTION @extschema@.migrate_apply_async(text, text, text, text, boolean) IS
    'Apply a migration statement by statement in a background worker (CREATE INDEX CONCURRENTLY and the like); returns the job id';

CREATE FUNCTION @extschema@.migrate_rollback_async(
    version text DEFAULT NULL,
    force boolean DEFAULT false)
RETURNS bigint
LANGUAGE C
AS 'MODULE_PATHNAME', 'migrate_rollback_async';

COMMENT ON FUNCTION @extschema@.migrate_rollback_async(text, boolean) IS
    'Roll a migration back statement by statement in a background worker; returns the job id';

REVOKE ALL ON FUNCTION @extschema@.migrate_apply_async(text, text, text, text, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.migrate_rollback_async(text, boolean) FROM PUBLIC;

/*
 * The role a migration was applied as (current_user; applied_by keeps the
 * session's user).  migrate_rollback runs a down script only for roles
 * whose privileges this role holds: a down script must never run with
 * rights its author did not have.
 */
ALTER TABLE @extschema@.migrate_migrations ADD COLUMN applied_as regrole;
