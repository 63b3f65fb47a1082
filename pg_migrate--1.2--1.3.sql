/* pg_migrate--1.2--1.3.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pg_migrate UPDATE TO '1.3'" to load this file. \quit

/*
 * The house rules of pg_migrate--1.0.sql apply here too: no CREATE OR
 * REPLACE, every function pinned to search_path = pg_catalog, pg_temp, every
 * reference to our own objects qualified with @extschema@.
 *
 * migrate_online is excepted from the search_path pinning, like
 * migrate_apply_async: the statement it is given names objects as the
 * caller's session would.
 *
 * Two scopes for migrate_policy, for the tools that run beside pg_migrate
 * and cannot call migrate_override() (README, "Living with other tools"):
 *
 *   extension_name  the relation lives in a schema that belongs to that
 *                   extension (or is itself one of its members): the
 *                   extension's private working objects, such as the
 *                   copies pg_repack builds in its schema "repack".
 *                   Membership of an extension is recorded by PostgreSQL
 *                   for objects its script creates; only the extension's
 *                   owner can add others, so no ordinary role can bring a
 *                   table of its own under such a row.
 *   partition_of    the relation is a partition (at any depth) of that
 *                   table: "pg_partman may drop the expired partitions of
 *                   events".
 *
 * Both weigh like the scopes they refine: extension_name like schema_name
 * (1), partition_of like table_pattern (2).
 */
ALTER TABLE @extschema@.migrate_policy
    ADD COLUMN extension_name name
        CONSTRAINT migrate_policy_extension_check
        CHECK (extension_name OPERATOR(pg_catalog.<>) ''),
    ADD COLUMN partition_of regclass;

/*
 * Shipped: pg_repack may build indexes without CONCURRENTLY on, and drop,
 * the tables in its own schema.  They are its copy of a user's table (built
 * while no one else can use it) and its log of changes; the user's own
 * table is only ever locked for the swap, under the bounded lock_timeout.
 */
INSERT INTO @extschema@.migrate_policy (rule, action, extension_name, note, shipped)
VALUES ('blocking_index_build', 'allow', 'pg_repack',
        'shipped: pg_repack builds the indexes of its private copy of a table', true),
       ('drop_table', 'allow', 'pg_repack',
        'shipped: pg_repack drops its private copy and log of a table', true);

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pg_migrate UPDATE TO '1.3'" to load this file. \quit

/*
 * The house rules of pg_migrate--1.0.sql apply here too: no CREATE OR
 * REPLACE, every function pinned to search_path = pg_catalog, pg_temp
 * (migrate_online excepted, like migrate_apply_async: the statement it is
 * given names objects as the caller's session would), every reference to
 * our own objects qualified with @extschema@.  A fresh installation of 1.3
 * runs 1.0, 1.0--1.1, 1.1--1.2 and then this script.
 */

------------------------------------------------------------------------
-- Online changes: migrate_online(sql) turns one DDL statement into a job
-- of kind 'online' that runs the non-blocking recipe step by step.
--
-- The job has the usual rows in migrate_job_state and migrate_job_slice
-- (its one slice counts the steps done), and a row in migrate_job_script
-- that carries the submitting session (login role, search_path, settings)
-- exactly as for a migration run in the background.  What the change is,
-- and each of its steps with the statement that undoes it, live in the two
-- tables below.  See README.md, "Online changes".
------------------------------------------------------------------------

ALTER TABLE @extschema@.migrate_job_state
    DROP CONSTRAINT migrate_job_state_kind_check,
    ADD CONSTRAINT migrate_job_state_kind_check
        CHECK (kind IN ('update', 'delete', 'migration', 'online'));

CREATE TABLE @extschema@.migrate_online (
    job_id          bigint PRIMARY KEY
                    REFERENCES @extschema@.migrate_job_state ON DELETE CASCADE,
    statement       text NOT NULL,
    operation       text NOT NULL,
    -- what the worker is asked to do next: carry the change out, undo it
    -- (migrate_online_abort), or drop what the change kept for an undo
    -- (migrate_online_complete)
    request         text NOT NULL DEFAULT 'run'
                    CHECK (request IN ('run', 'abort', 'complete')),
    -- run the complete steps right after the change (complete => true)
    auto_complete   boolean NOT NULL,
    phase           text NOT NULL DEFAULT 'queued',
    outcome         text CHECK (outcome IN ('completed', 'aborted', 'awaiting complete'))
);

CREATE TABLE @extschema@.migrate_online_step (
    job_id          bigint NOT NULL
                    REFERENCES @extschema@.migrate_online ON DELETE CASCADE,
    step            integer NOT NULL,
    phase           text NOT NULL,
    -- 'change' steps carry the change out; 'complete' steps drop what it
    -- kept so that it could be undone
    stage           text NOT NULL CHECK (stage IN ('change', 'complete')),
    -- 'transaction': one transaction, the step and its progress together;
    -- 'concurrent': a statement that commits on its own;
    -- 'backfill': a batched UPDATE job the step submits and waits for
    mode            text NOT NULL CHECK (mode IN ('transaction', 'concurrent', 'backfill')),
    sql             text NOT NULL,
    -- the index a concurrent step builds, drops or rebuilds (qualified)
    target          text,
    -- runs under the bounded lock_timeout, retried when it expires
    blocking        boolean NOT NULL,
    -- rules of the policy this step may break on the job's table
    exempt          text[] NOT NULL DEFAULT '{}',
    undo            text,
    undo_mode       text CHECK (undo_mode IN ('transaction', 'concurrent')),
    undo_blocking   boolean NOT NULL DEFAULT false,
    state           text NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'attempted', 'done', 'undone')),
    backfill_job    bigint,
    started_at      timestamptz,
    finished_at     timestamptz,
    PRIMARY KEY (job_id, step)
);

SELECT pg_catalog.pg_extension_config_dump('@extschema@.migrate_online', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.migrate_online_step', '');
REVOKE ALL ON @extschema@.migrate_online FROM PUBLIC;
REVOKE ALL ON @extschema@.migrate_online_step FROM PUBLIC;

COMMENT ON TABLE @extschema@.migrate_online IS
    'Online changes submitted with migrate_online: the statement, the request and the phase';
COMMENT ON TABLE @extschema@.migrate_online_step IS
    'The steps of each online change, with the statement that undoes each one';

/*
 * Everyone sees the steps of the jobs they see in migrate_jobs.
 */
CREATE VIEW @extschema@.migrate_online_steps WITH (security_barrier) AS
SELECT st.job_id, st.step, st.phase, st.stage, st.mode, st.sql, st.blocking,
       st.undo, st.state, st.backfill_job, st.started_at, st.finished_at
  FROM @extschema@.migrate_online_step st
  JOIN @extschema@.migrate_job_state j ON j.id OPERATOR(pg_catalog.=) st.job_id
 WHERE pg_catalog.pg_has_role(CURRENT_USER, j.owner, 'USAGE')
    OR pg_catalog.pg_has_role(CURRENT_USER, 'pg_read_all_stats', 'USAGE');

GRANT SELECT ON @extschema@.migrate_online_steps TO PUBLIC;

COMMENT ON VIEW @extschema@.migrate_online_steps IS
    'The steps of the online changes, in order, with their state';

-- The view gains the phase of an online change; a migration is shown only
-- for jobs that run one.
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
       j.updated_at,
       o.phase
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
         WHERE sc.job_id OPERATOR(pg_catalog.=) j.id
           AND j.kind OPERATOR(pg_catalog.=) 'migration') m ON true
  LEFT JOIN @extschema@.migrate_online o ON o.job_id OPERATOR(pg_catalog.=) j.id
 WHERE pg_catalog.pg_has_role(CURRENT_USER, j.owner, 'USAGE')
    OR pg_catalog.pg_has_role(CURRENT_USER, 'pg_read_all_stats', 'USAGE');

GRANT SELECT ON @extschema@.migrate_jobs TO PUBLIC;

COMMENT ON VIEW @extschema@.migrate_jobs IS
    'Background jobs with their progress, rate and ETA';

/*
 * No SET clause, like migrate_apply_async: the statement names its objects
 * as the caller's session would, and that session's search_path goes with
 * the job.  The C code pins search_path for every query of its own and
 * writes the steps with schema-qualified names.
 */
CREATE FUNCTION @extschema@.migrate_online(sql text, complete boolean DEFAULT false)
RETURNS bigint
LANGUAGE C
AS 'MODULE_PATHNAME', 'migrate_online';

COMMENT ON FUNCTION @extschema@.migrate_online(text, boolean) IS
    'Run one DDL statement the non-blocking way in a background job; returns the job id';

CREATE FUNCTION @extschema@.migrate_online_abort(job_id bigint)
RETURNS text
LANGUAGE C STRICT
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'migrate_online_abort';

COMMENT ON FUNCTION @extschema@.migrate_online_abort(bigint) IS
    'Undo an online change that is not completed yet; returns the job''s state';

CREATE FUNCTION @extschema@.migrate_online_complete(job_id bigint)
RETURNS text
LANGUAGE C STRICT
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'migrate_online_complete';

COMMENT ON FUNCTION @extschema@.migrate_online_complete(bigint) IS
    'Drop what an online change kept so that it could be undone; returns the job''s state';

/*
 * The trigger that keeps the new column of an online type change in step
 * with the old one (and the old one with the new after the cut-over).  It
 * runs as whoever writes the row and does nothing but compute one column
 * from the row being written, with an expression resolved to OIDs when the
 * change was submitted: it looks no name up, so search_path cannot steer
 * it.  It has no SET clause because a SET clause costs a GUC save and
 * restore on every row written, which is most of what the trigger costs.
 */
CREATE FUNCTION @extschema@.migrate_online_sync()
RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'migrate_online_sync';

COMMENT ON FUNCTION @extschema@.migrate_online_sync() IS
    'Trigger of online type changes: computes one column of the row from another';
