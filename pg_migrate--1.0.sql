/* pg_migrate--1.0.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION pg_migrate" to load this file. \quit

/*
 * House rules for this script: no CREATE OR REPLACE (installation must fail
 * rather than adopt an object someone created ahead of us); every function
 * gets SET search_path = pg_catalog, pg_temp; every reference to one of our
 * own objects is qualified with @extschema@; operators and functions from
 * pg_catalog are qualified wherever the search_path is not pinned.
 */

-- Refuse to install unless the library is preloaded.
CREATE FUNCTION @extschema@.migrate_assert_preloaded()
RETURNS void
LANGUAGE C STRICT
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'migrate_assert_preloaded';

SELECT @extschema@.migrate_assert_preloaded();

------------------------------------------------------------------------
-- DDL history
------------------------------------------------------------------------

CREATE TABLE @extschema@.migrate_ddl_history (
    id                  bigserial PRIMARY KEY,
    occurred_at         timestamptz NOT NULL,
    transaction_id      xid8 NOT NULL,
    backend_pid         integer NOT NULL,
    session_role        name NOT NULL,
    effective_role      name NOT NULL,
    application_name    text,
    client_addr         inet,
    command_tag         text NOT NULL,
    statement           text,
    objects             jsonb NOT NULL DEFAULT '[]',
    rewrite             boolean NOT NULL DEFAULT false,
    lock_mode           text,
    duration            interval NOT NULL,
    migration_version   text,
    policy_overrides    jsonb,
    toplevel            boolean NOT NULL DEFAULT true
);

CREATE INDEX migrate_ddl_history_occurred_at_idx
    ON @extschema@.migrate_ddl_history (occurred_at);

COMMENT ON TABLE @extschema@.migrate_ddl_history IS
    'One row per committed DDL statement (append-only; see migrate_history_purge)';

-- Kept by pg_dump, sequence included, so a restore reproduces it exactly.
SELECT pg_catalog.pg_extension_config_dump('@extschema@.migrate_ddl_history', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.migrate_ddl_history_id_seq', '');

-- Rows are written by the server as the table's owner; nobody else writes.
REVOKE ALL ON @extschema@.migrate_ddl_history FROM PUBLIC;
REVOKE ALL ON SEQUENCE @extschema@.migrate_ddl_history_id_seq FROM PUBLIC;
GRANT SELECT ON @extschema@.migrate_ddl_history TO pg_read_all_stats;

/*
 * Append-only even for superusers other than the owner: changing or removing
 * rows goes through migrate_history_purge(), which runs as the owner.
 */
CREATE FUNCTION @extschema@.migrate_history_guard()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF current_user::regrole <> (SELECT c.relowner::regrole
                                   FROM pg_catalog.pg_class c
                                  WHERE c.oid = TG_RELID) THEN
        RAISE EXCEPTION 'migrate_ddl_history is append-only'
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = format('%s of history rows is not allowed.', TG_OP),
                  HINT = 'A superuser can remove old rows with migrate_history_purge().';
    END IF;
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END
$$;

CREATE TRIGGER migrate_ddl_history_append_only
    BEFORE UPDATE OR DELETE ON @extschema@.migrate_ddl_history
    FOR EACH ROW EXECUTE FUNCTION @extschema@.migrate_history_guard();
CREATE TRIGGER migrate_ddl_history_no_truncate
    BEFORE TRUNCATE ON @extschema@.migrate_ddl_history
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.migrate_history_guard();

CREATE FUNCTION @extschema@.migrate_history_purge(older_than interval)
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    removed bigint;
BEGIN
    IF older_than IS NULL OR older_than < interval '0' THEN
        RAISE EXCEPTION 'older_than must be a non-negative interval'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    DELETE FROM @extschema@.migrate_ddl_history
     WHERE occurred_at < pg_catalog.now() - older_than;
    GET DIAGNOSTICS removed = ROW_COUNT;
    RAISE LOG 'pg_migrate: % removed % DDL history rows older than %',
        session_user, removed, older_than;
    RETURN removed;
END
$$;

REVOKE ALL ON FUNCTION @extschema@.migrate_history_purge(interval) FROM PUBLIC;

COMMENT ON FUNCTION @extschema@.migrate_history_purge(interval) IS
    'Remove DDL history rows older than the given age (superuser only)';

-- Event triggers: they collect objects for the row the hook writes.
CREATE FUNCTION @extschema@.migrate_on_ddl_command_end()
RETURNS event_trigger
LANGUAGE C
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'migrate_on_ddl_command_end';

CREATE FUNCTION @extschema@.migrate_on_sql_drop()
RETURNS event_trigger
LANGUAGE C
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'migrate_on_sql_drop';

CREATE FUNCTION @extschema@.migrate_on_table_rewrite()
RETURNS event_trigger
LANGUAGE C
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'migrate_on_table_rewrite';

CREATE EVENT TRIGGER migrate_ddl_command_end ON ddl_command_end
    EXECUTE FUNCTION @extschema@.migrate_on_ddl_command_end();
CREATE EVENT TRIGGER migrate_sql_drop ON sql_drop
    EXECUTE FUNCTION @extschema@.migrate_on_sql_drop();
CREATE EVENT TRIGGER migrate_table_rewrite ON table_rewrite
    EXECUTE FUNCTION @extschema@.migrate_on_table_rewrite();

------------------------------------------------------------------------
-- Versioned migrations
------------------------------------------------------------------------

CREATE TABLE @extschema@.migrate_migrations (
    version         text PRIMARY KEY
                    CHECK (pg_catalog.length(version) OPERATOR(pg_catalog.<=) 200),
    description     text,
    up              text NOT NULL,
    down            text,
    irreversible    boolean NOT NULL DEFAULT false,
    checksum        text NOT NULL,
    state           text NOT NULL CHECK (state IN ('applied', 'rolled_back')),
    applied_at      timestamptz NOT NULL,
    applied_by      name NOT NULL,
    duration        interval NOT NULL,
    retries         integer NOT NULL DEFAULT 0,
    search_path     text NOT NULL,
    apply_seq       bigint NOT NULL,
    rolled_back_at  timestamptz,
    rolled_back_by  name,
    CHECK (irreversible OPERATOR(pg_catalog.=) (down IS NULL))
);

COMMENT ON TABLE @extschema@.migrate_migrations IS
    'Every migration applied with migrate_apply, with its scripts and checksum';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.migrate_migrations', '');
REVOKE ALL ON @extschema@.migrate_migrations FROM PUBLIC;
GRANT SELECT ON @extschema@.migrate_migrations TO pg_read_all_stats;

/*
 * migrate_apply, migrate_rollback and migrate_verify run the caller's
 * scripts, which must see the caller's search_path: they are the only
 * functions here without a SET search_path clause.  Their C code pins
 * search_path to pg_catalog, pg_temp around every query of its own.
 */
CREATE FUNCTION @extschema@.migrate_apply(
    version text,
    up text,
    down text,
    description text DEFAULT NULL,
    irreversible boolean DEFAULT false)
RETURNS text
LANGUAGE C CALLED ON NULL INPUT VOLATILE
AS 'MODULE_PATHNAME', 'migrate_apply';

CREATE FUNCTION @extschema@.migrate_rollback(
    version text DEFAULT NULL,
    force boolean DEFAULT false)
RETURNS text
LANGUAGE C CALLED ON NULL INPUT VOLATILE
AS 'MODULE_PATHNAME', 'migrate_rollback';

CREATE FUNCTION @extschema@.migrate_verify(up text, down text)
RETURNS TABLE (kind text, object text, difference text, before text, after text)
LANGUAGE C CALLED ON NULL INPUT VOLATILE
AS 'MODULE_PATHNAME', 'migrate_verify';

REVOKE ALL ON FUNCTION @extschema@.migrate_apply(text, text, text, text, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.migrate_rollback(text, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.migrate_verify(text, text) FROM PUBLIC;

CREATE FUNCTION @extschema@.migrate_status()
RETURNS TABLE (version text, description text, state text, checksum text,
               applied_at timestamptz, applied_by name, duration interval,
               retries integer, irreversible boolean,
               rolled_back_at timestamptz, rolled_back_by name)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT m.version, m.description, m.state, m.checksum, m.applied_at,
           m.applied_by, m.duration, m.retries, m.irreversible,
           m.rolled_back_at, m.rolled_back_by
      FROM @extschema@.migrate_migrations m
     ORDER BY m.apply_seq
$$;

CREATE FUNCTION @extschema@.migrate_drift()
RETURNS TABLE (id bigint, occurred_at timestamptz, effective_role name,
               command_tag text, statement text, objects jsonb)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT h.id, h.occurred_at, h.effective_role, h.command_tag, h.statement, h.objects
      FROM @extschema@.migrate_ddl_history h
     WHERE h.migration_version IS NULL
       AND h.occurred_at > COALESCE((SELECT max(COALESCE(m.rolled_back_at, m.applied_at))
                                       FROM @extschema@.migrate_migrations m), '-infinity')
     ORDER BY h.id
$$;

COMMENT ON FUNCTION @extschema@.migrate_drift() IS
    'DDL recorded since the last migration was applied or rolled back that no migration accounts for';

------------------------------------------------------------------------
-- Policy engine: rules, policy, overrides, violations, migrate_check
------------------------------------------------------------------------

-- The rule catalogue lives in the library; the view shows it.
CREATE FUNCTION @extschema@.migrate_rules_list(
    OUT rule text, OUT description text, OUT lock_mode text,
    OUT safe_alternative text, OUT default_action text)
RETURNS SETOF record
LANGUAGE C STRICT STABLE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'migrate_rules_list';

CREATE VIEW @extschema@.migrate_rules AS
    SELECT rule, description, lock_mode, safe_alternative, default_action
      FROM @extschema@.migrate_rules_list();

GRANT SELECT ON @extschema@.migrate_rules TO PUBLIC;

COMMENT ON VIEW @extschema@.migrate_rules IS
    'Every pg_migrate rule: what it fires on, the lock it concerns, the safe alternative';

CREATE FUNCTION @extschema@.migrate_is_rule(rule text)
RETURNS boolean
LANGUAGE C STRICT IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'migrate_is_rule';

/*
 * The policy the DBA edits.  Most specific applicable row wins (role 4,
 * table pattern 2, schema 1; then a DBA's row over a shipped one; then the
 * stricter action).  No applicable row means allow.  Shipped rows are not
 * dumped (CREATE EXTENSION recreates them); a shipped row that is updated
 * stops being shipped, so the DBA's version is dumped and, on restore, wins
 * over the recreated default of the same scope.  (No serial key: a restored
 * row must never collide with a recreated one.)
 */
CREATE TABLE @extschema@.migrate_policy (
    rule          text NOT NULL
                  CONSTRAINT migrate_policy_rule_check
                  CHECK (@extschema@.migrate_is_rule(rule)),
    action        text NOT NULL
                  CONSTRAINT migrate_policy_action_check
                  CHECK (action OPERATOR(pg_catalog.=) ANY (ARRAY['deny', 'warn', 'allow'])),
    role_name     regrole,
    schema_name   name
                  CONSTRAINT migrate_policy_schema_check
                  CHECK (schema_name OPERATOR(pg_catalog.<>) ''),
    table_pattern text
                  CONSTRAINT migrate_policy_table_pattern_check
                  CHECK (table_pattern OPERATOR(pg_catalog.<>) ''),
    override_by   regrole,
    note          text,
    shipped       boolean NOT NULL DEFAULT false
);

COMMENT ON TABLE @extschema@.migrate_policy IS
    'What pg_migrate does about each rule: deny, warn or allow, per role / schema / table pattern';

INSERT INTO @extschema@.migrate_policy (rule, action, note, shipped)
SELECT r.rule, r.default_action, 'shipped default', true
  FROM @extschema@.migrate_rules_list() r;

SELECT pg_catalog.pg_extension_config_dump('@extschema@.migrate_policy', 'WHERE NOT shipped');

REVOKE ALL ON @extschema@.migrate_policy FROM PUBLIC;
GRANT SELECT ON @extschema@.migrate_policy TO PUBLIC;

CREATE FUNCTION @extschema@.migrate_policy_unship()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    NEW.shipped := false;
    RETURN NEW;
END
$$;

CREATE TRIGGER migrate_policy_unship
    BEFORE UPDATE ON @extschema@.migrate_policy
    FOR EACH ROW EXECUTE FUNCTION @extschema@.migrate_policy_unship();

-- Every backend caches the policy; changes invalidate the caches.
CREATE FUNCTION @extschema@.migrate_policy_changed()
RETURNS trigger
LANGUAGE C
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'migrate_policy_changed';

CREATE TRIGGER migrate_policy_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.migrate_policy
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.migrate_policy_changed();

CREATE FUNCTION @extschema@.migrate_override(rule text, reason text)
RETURNS void
LANGUAGE C
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'migrate_override';

COMMENT ON FUNCTION @extschema@.migrate_override(text, text) IS
    'Lift refusals of one rule for the rest of the transaction, with a reason stored in the DDL history';

CREATE FUNCTION @extschema@.migrate_violations(
    OUT occurred_at timestamptz, OUT database text, OUT pid integer,
    OUT role_name text, OUT rule text, OUT action text,
    OUT relation text, OUT statement text)
RETURNS SETOF record
LANGUAGE C STRICT VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'migrate_violations';

-- Statements of other roles may be sensitive: same audience as the history.
REVOKE ALL ON FUNCTION @extschema@.migrate_violations() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.migrate_violations() TO pg_read_all_stats;

COMMENT ON FUNCTION @extschema@.migrate_violations() IS
    'Most recent statements refused, warned about or overridden by the policy (shared memory, newest first)';

/*
 * Without SET search_path, deliberately (as migrate_apply, migrate_rollback,
 * migrate_verify and migrate_plan): it runs the
 * caller's own statements (as the caller, SECURITY INVOKER), and they must
 * resolve names exactly as they would when applied.  The C code itself
 * resolves nothing through search_path.
 */
CREATE FUNCTION @extschema@.migrate_check(
    sql text,
    OUT statement_number integer, OUT statement text, OUT rule text,
    OUT action text, OUT relation text, OUT lock_mode text,
    OUT message text, OUT hint text)
RETURNS SETOF record
LANGUAGE C STRICT VOLATILE
AS 'MODULE_PATHNAME', 'migrate_check';

COMMENT ON FUNCTION @extschema@.migrate_check(text) IS
    'Judge a migration script without applying it: one row per finding, no rows = safe';

------------------------------------------------------------------------
-- Migration plans
------------------------------------------------------------------------

-- Like migrate_check, no SET search_path: the script is judged (and its
-- cheap statements run) as the caller would run it.

CREATE FUNCTION @extschema@.migrate_plan(sql text)
RETURNS TABLE (statement_no integer, statement text, relation text,
               lock_mode text, blocks text, rewrite boolean, table_size text,
               est_rows bigint, findings text, risk text)
LANGUAGE C STRICT VOLATILE
AS 'MODULE_PATHNAME', 'migrate_plan';

CREATE FUNCTION @extschema@.migrate_plan(sql text, format text, down text DEFAULT NULL)
RETURNS text
LANGUAGE C CALLED ON NULL INPUT VOLATILE
AS 'MODULE_PATHNAME', 'migrate_plan_report';

COMMENT ON FUNCTION @extschema@.migrate_plan(text) IS
    'What a migration would do, per statement and relation, with a risk level; changes nothing';
COMMENT ON FUNCTION @extschema@.migrate_plan(text, text, text) IS
    'A Markdown review report of a migration (format => ''markdown''); changes nothing';

------------------------------------------------------------------------
-- Background jobs (batched backfills)
--
-- One row per job in migrate_job_state, one row per key-range slice in
-- migrate_job_slice (a job with parallel => n has up to n slices, each run
-- by its own worker).  The worker commits a slice's progress in the same
-- transaction as the batch it describes, which is what makes a job
-- crash-safe.  Nobody but the extension's owner writes these tables: jobs
-- are submitted and controlled through the functions below, which check
-- that the caller owns the job.  See README.md, "Background jobs".
------------------------------------------------------------------------

CREATE TABLE @extschema@.migrate_job_state (
    id              bigserial PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('update', 'delete')),
    relation        regclass NOT NULL,
    owner           regrole NOT NULL,
    state           text NOT NULL DEFAULT 'queued'
                    CHECK (state IN ('queued', 'running', 'paused', 'done',
                                     'failed', 'cancelled')),
    set_clause      text,
    where_clause    text,
    key_mode        text NOT NULL CHECK (key_mode IN ('key', 'ctid', 'empty')),
    -- the key, by column names and types (names and regtype survive a
    -- dump and restore, where attribute numbers and type OIDs may not)
    key_columns     text[],
    key_types       regtype[],
    key_name        text,
    batch_size      integer NOT NULL,
    parallel        integer NOT NULL,
    pause           interval NOT NULL,
    estimated_rows  bigint,
    last_error      text,
    submitted_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
    started_at      timestamptz,
    finished_at     timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now()
);

CREATE TABLE @extschema@.migrate_job_slice (
    job_id          bigint NOT NULL
                    REFERENCES @extschema@.migrate_job_state ON DELETE CASCADE,
    slice           integer NOT NULL,
    -- key mode: (next_key, hi_key] remains to be done (next_key NULL: from
    -- the first key); send/recv binary forms of the key columns
    hi_key          bytea[],
    next_key        bytea[],
    -- ctid mode: blocks [next_block, hi_block) remain; skip_tids are row
    -- versions this job itself moved ahead of next_block
    next_block      bigint,
    hi_block        bigint,
    skip_tids       tid[],
    done            boolean NOT NULL DEFAULT false,
    rows_done       bigint NOT NULL DEFAULT 0,
    batches         bigint NOT NULL DEFAULT 0,
    batch_size      integer NOT NULL,
    last_batch_ms   double precision,
    retries         integer NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (job_id, slice)
);

SELECT pg_catalog.pg_extension_config_dump('@extschema@.migrate_job_state', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.migrate_job_state_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.migrate_job_slice', '');

REVOKE ALL ON @extschema@.migrate_job_state FROM PUBLIC;
REVOKE ALL ON @extschema@.migrate_job_slice FROM PUBLIC;
REVOKE ALL ON SEQUENCE @extschema@.migrate_job_state_id_seq FROM PUBLIC;

/*
 * Everyone sees the jobs of the roles whose privileges they have (their
 * own, for an ordinary user; all of them, for a superuser) and members of
 * pg_read_all_stats see every job.  The view reads the tables with its
 * owner's rights; security_barrier keeps the filter ahead of any function a
 * caller adds to the query.
 */
CREATE VIEW @extschema@.migrate_jobs WITH (security_barrier) AS
SELECT j.id,
       j.kind,
       j.relation,
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
 WHERE pg_catalog.pg_has_role(CURRENT_USER, j.owner, 'USAGE')
    OR pg_catalog.pg_has_role(CURRENT_USER, 'pg_read_all_stats', 'USAGE');

GRANT SELECT ON @extschema@.migrate_jobs TO PUBLIC;

COMMENT ON VIEW @extschema@.migrate_jobs IS
    'Background jobs with their progress, rate and ETA';

CREATE FUNCTION @extschema@.migrate_batch_update(
    relation regclass,
    set_clause text,
    where_clause text DEFAULT NULL,
    batch_size integer DEFAULT NULL,
    parallel integer DEFAULT 1,
    pause interval DEFAULT '0')
RETURNS bigint
LANGUAGE C
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'migrate_batch_update';

COMMENT ON FUNCTION @extschema@.migrate_batch_update(regclass, text, text, integer, integer, interval) IS
    'Submit a batched UPDATE run by background workers; returns the job id';

CREATE FUNCTION @extschema@.migrate_batch_delete(
    relation regclass,
    where_clause text,
    batch_size integer DEFAULT NULL,
    parallel integer DEFAULT 1,
    pause interval DEFAULT '0')
RETURNS bigint
LANGUAGE C
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'migrate_batch_delete';

COMMENT ON FUNCTION @extschema@.migrate_batch_delete(regclass, text, integer, integer, interval) IS
    'Submit a batched DELETE run by background workers; returns the job id';

CREATE FUNCTION @extschema@.migrate_job_pause(job_id bigint)
RETURNS text
LANGUAGE C STRICT
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'migrate_job_pause';

CREATE FUNCTION @extschema@.migrate_job_resume(job_id bigint)
RETURNS text
LANGUAGE C STRICT
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'migrate_job_resume';

CREATE FUNCTION @extschema@.migrate_job_cancel(job_id bigint)
RETURNS text
LANGUAGE C STRICT
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'migrate_job_cancel';

/*
 * A procedure, and the one object here without a SET clause: a procedure
 * with one runs in an atomic context and could not commit, and waiting
 * must commit between polls so that it holds no snapshot a CREATE INDEX
 * CONCURRENTLY run by the job would wait for.  The C code runs no SQL that
 * depends on search_path (it reads the job through a schema-qualified
 * name it builds from the catalog).
 */
CREATE PROCEDURE @extschema@.migrate_job_wait(
    job_id bigint,
    timeout interval DEFAULT NULL,
    INOUT state text DEFAULT NULL)
LANGUAGE C
AS 'MODULE_PATHNAME', 'migrate_job_wait';

COMMENT ON PROCEDURE @extschema@.migrate_job_wait(bigint, interval, text) IS
    'Wait until a job is done, failed, cancelled or paused, or the timeout passes; returns its state';
