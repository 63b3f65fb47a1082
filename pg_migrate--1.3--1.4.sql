/* pg_migrate--1.3--1.4.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pg_migrate UPDATE TO '1.4'" to load this file. \quit

/*
 * Measured lock impact and metrics.  The house rules of pg_migrate--1.0.sql
 * apply: no CREATE OR REPLACE, every function pinned to search_path =
 * pg_catalog, pg_temp, every reference to our own objects qualified with
 * @extschema@.
 */

------------------------------------------------------------------------
-- What each recorded DDL statement's locks cost other sessions
-- (src/ddl/lockstats.c; README "Lock impact").  Rows written before this
-- version, and rows written with pg_migrate.measure_lock_impact off, have
-- them empty.
------------------------------------------------------------------------

ALTER TABLE @extschema@.migrate_ddl_history
    ADD COLUMN lock_relation text,
    ADD COLUMN lock_wait     interval,
    ADD COLUMN lock_retries  integer,
    ADD COLUMN lock_held     interval,
    ADD COLUMN peak_waiters  integer;

COMMENT ON COLUMN @extschema@.migrate_ddl_history.lock_relation IS
    'Relation the strongest lock (lock_mode) was taken on';
COMMENT ON COLUMN @extschema@.migrate_ddl_history.lock_wait IS
    'Time spent waiting in lock queues, every attempt included (sampled every 10 ms)';
COMMENT ON COLUMN @extschema@.migrate_ddl_history.lock_retries IS
    'Attempts that failed on lock_timeout before the one that committed';
COMMENT ON COLUMN @extschema@.migrate_ddl_history.lock_held IS
    'How long a lock blocking writes or more was held, until the transaction ended';
COMMENT ON COLUMN @extschema@.migrate_ddl_history.peak_waiters IS
    'Most sessions seen waiting behind that lock (sampled at statement end and at commit)';

/*
 * Per table: what its schema changes cost.  The view reads the history
 * through a PL/pgSQL function so that nothing depends on the table (the
 * repair procedure in README drops and re-creates it), and with the
 * caller's rights: those who may read the history may read this.
 */
CREATE FUNCTION @extschema@.migrate_lock_stats_rows(
    OUT relation text,
    OUT statements bigint,
    OUT blocking_statements bigint,
    OUT lock_retries bigint,
    OUT total_lock_wait interval,
    OUT max_lock_wait interval,
    OUT total_lock_held interval,
    OUT avg_lock_held interval,
    OUT max_lock_held interval,
    OUT max_waiters integer,
    OUT last_change timestamptz)
RETURNS SETOF record
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY
    SELECT h.lock_relation,
           count(*),
           count(h.lock_held),
           COALESCE(sum(h.lock_retries), 0)::bigint,
           sum(h.lock_wait),
           max(h.lock_wait),
           sum(h.lock_held),
           avg(h.lock_held),
           max(h.lock_held),
           max(h.peak_waiters),
           max(h.occurred_at)
      FROM @extschema@.migrate_ddl_history h
     WHERE h.lock_relation IS NOT NULL
     GROUP BY h.lock_relation;
END
$$;

REVOKE ALL ON FUNCTION @extschema@.migrate_lock_stats_rows() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.migrate_lock_stats_rows() TO pg_read_all_stats;

CREATE VIEW @extschema@.migrate_lock_stats AS
SELECT * FROM @extschema@.migrate_lock_stats_rows();

REVOKE ALL ON @extschema@.migrate_lock_stats FROM PUBLIC;
GRANT SELECT ON @extschema@.migrate_lock_stats TO pg_read_all_stats;

COMMENT ON VIEW @extschema@.migrate_lock_stats IS
    'Per table: lock waits, retries, lock holds and waiters of its recorded DDL';

------------------------------------------------------------------------
-- Background jobs: where their time went besides working.
------------------------------------------------------------------------

ALTER TABLE @extschema@.migrate_job_slice
    ADD COLUMN yield_ms        double precision NOT NULL DEFAULT 0,
    ADD COLUMN throttled_ms    double precision NOT NULL DEFAULT 0,
    ADD COLUMN batches_retried bigint NOT NULL DEFAULT 0;

-- The view gains them; a view cannot gain a column in the middle, so it is
-- built again from its 1.3 definition (privileges and comment included).
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
       pg_catalog.make_interval(secs => COALESCE(s.yield_ms, 0) OPERATOR(pg_catalog./) 1000) AS yield_time,
       pg_catalog.make_interval(secs => COALESCE(s.throttled_ms, 0) OPERATOR(pg_catalog./) 1000) AS throttled_time,
       COALESCE(s.batches_retried, 0) AS batches_retried,
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
               pg_catalog.sum(sl.yield_ms) AS yield_ms,
               pg_catalog.sum(sl.throttled_ms) AS throttled_ms,
               pg_catalog.sum(sl.batches_retried)::bigint AS batches_retried,
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

------------------------------------------------------------------------
-- Metrics
------------------------------------------------------------------------

CREATE FUNCTION @extschema@.migrate_violation_counts(
    OUT rule text,
    OUT action text,
    OUT count bigint)
RETURNS SETOF record
LANGUAGE C
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'migrate_violation_counts';

REVOKE ALL ON FUNCTION @extschema@.migrate_violation_counts() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.migrate_violation_counts() TO pg_read_all_stats;

COMMENT ON FUNCTION @extschema@.migrate_violation_counts() IS
    'Statements each rule refused, warned about or let through on an override since the server started';

/*
 * The Prometheus text exposition format (version 0.0.4) of everything
 * above, for postgres_exporter's custom queries or a textfile collector
 * (psql -Atc 'SELECT migrate_metrics()').  Counters taken from the history
 * count what it holds: migrate_history_purge() lowers them, which
 * Prometheus treats as a counter reset.
 */
CREATE FUNCTION @extschema@.migrate_metrics()
RETURNS text
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    buckets float8[] := ARRAY[0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
    lines text[] := ARRAY[]::text[];
    r record;
    m record;
    xs float8[];
BEGIN
    lines := lines
        || '# HELP pg_migrate_policy_violations_total Statements a rule refused (deny), warned about (warn) or let through on an override (override) since the server started.'::text
        || '# TYPE pg_migrate_policy_violations_total counter'::text;
    FOR r IN SELECT c.rule, c.action, c.count
               FROM @extschema@.migrate_violation_counts() c
              ORDER BY c.rule, c.action
    LOOP
        lines := lines || format('pg_migrate_policy_violations_total{rule="%s",action="%s"} %s',
                                 r.rule, r.action, r.count);
    END LOOP;

    lines := lines
        || '# HELP pg_migrate_ddl_statements_total DDL statements recorded in migrate_ddl_history, by command tag.'::text
        || '# TYPE pg_migrate_ddl_statements_total counter'::text;
    FOR r IN SELECT h.command_tag, count(*) AS n
               FROM @extschema@.migrate_ddl_history h
              GROUP BY h.command_tag ORDER BY h.command_tag
    LOOP
        lines := lines || format('pg_migrate_ddl_statements_total{command_tag="%s"} %s',
                                 replace(replace(r.command_tag, '\', '\\'), '"', '\"'), r.n);
    END LOOP;

    lines := lines
        || '# HELP pg_migrate_policy_overrides_recorded_total Recorded DDL statements that ran on a policy override.'::text
        || '# TYPE pg_migrate_policy_overrides_recorded_total counter'::text
        || format('pg_migrate_policy_overrides_recorded_total %s',
                  (SELECT count(*) FROM @extschema@.migrate_ddl_history h
                    WHERE h.policy_overrides IS NOT NULL));

    lines := lines
        || '# HELP pg_migrate_lock_retries_total Attempts of recorded DDL statements that failed on lock_timeout and were retried.'::text
        || '# TYPE pg_migrate_lock_retries_total counter'::text
        || format('pg_migrate_lock_retries_total %s',
                  (SELECT COALESCE(sum(h.lock_retries), 0) FROM @extschema@.migrate_ddl_history h));

    lines := lines
        || '# HELP pg_migrate_migration_retries_total Whole-script retries of migrate_apply after lock timeouts.'::text
        || '# TYPE pg_migrate_migration_retries_total counter'::text
        || format('pg_migrate_migration_retries_total %s',
                  (SELECT COALESCE(sum(mm.retries), 0) FROM @extschema@.migrate_migrations mm));

    FOR m IN SELECT * FROM (VALUES
        ('pg_migrate_lock_wait_seconds', 'Time recorded DDL statements spent waiting in lock queues.', 'wait'),
        ('pg_migrate_lock_held_seconds', 'How long recorded DDL statements held a lock that blocks writes or more, until their transaction ended.', 'held'))
        AS v(name, help, col)
    LOOP
        SELECT array_agg(x) INTO xs
          FROM (SELECT extract(epoch FROM CASE m.col WHEN 'wait' THEN h.lock_wait
                                                      ELSE h.lock_held END)::float8 AS x
                  FROM @extschema@.migrate_ddl_history h) s
         WHERE x IS NOT NULL;
        xs := COALESCE(xs, ARRAY[]::float8[]);
        lines := lines
            || format('# HELP %s %s', m.name, m.help)
            || format('# TYPE %s histogram', m.name);
        FOR r IN SELECT b.le, (SELECT count(*) FROM unnest(xs) x WHERE x <= b.le) AS n
                   FROM unnest(buckets) b(le) ORDER BY b.le
        LOOP
            lines := lines || format('%s_bucket{le="%s"} %s', m.name, r.le, r.n);
        END LOOP;
        lines := lines
            || format('%s_bucket{le="+Inf"} %s', m.name, cardinality(xs))
            || format('%s_sum %s', m.name, (SELECT COALESCE(sum(x), 0) FROM unnest(xs) x))
            || format('%s_count %s', m.name, cardinality(xs));
    END LOOP;

    lines := lines
        || '# HELP pg_migrate_jobs Background jobs by state.'::text
        || '# TYPE pg_migrate_jobs gauge'::text;
    FOR r IN SELECT s.state, count(j.id) AS n
               FROM unnest(ARRAY['cancelled', 'done', 'failed', 'paused', 'queued', 'running']) s(state)
               LEFT JOIN @extschema@.migrate_jobs j ON j.state = s.state
              GROUP BY s.state ORDER BY s.state
    LOOP
        lines := lines || format('pg_migrate_jobs{state="%s"} %s', r.state, r.n);
    END LOOP;

    lines := lines
        || '# HELP pg_migrate_rows_backfilled_total Rows updated or deleted by background jobs.'::text
        || '# TYPE pg_migrate_rows_backfilled_total counter'::text
        || format('pg_migrate_rows_backfilled_total %s',
                  (SELECT COALESCE(sum(j.rows_done), 0) FROM @extschema@.migrate_jobs j))
        || '# HELP pg_migrate_job_yield_seconds_total Time background jobs slept to give way to busy sessions.'::text
        || '# TYPE pg_migrate_job_yield_seconds_total counter'::text
        || format('pg_migrate_job_yield_seconds_total %s',
                  (SELECT COALESCE(sum(extract(epoch FROM j.yield_time)), 0) FROM @extschema@.migrate_jobs j))
        || '# HELP pg_migrate_job_throttled_seconds_total Time background jobs waited for standby replay lag to fall below pg_migrate.max_replication_lag.'::text
        || '# TYPE pg_migrate_job_throttled_seconds_total counter'::text
        || format('pg_migrate_job_throttled_seconds_total %s',
                  (SELECT COALESCE(sum(extract(epoch FROM j.throttled_time)), 0) FROM @extschema@.migrate_jobs j))
        || '# HELP pg_migrate_job_batches_retried_total Batches of background jobs rolled back and retried after a lock timeout or deadlock.'::text
        || '# TYPE pg_migrate_job_batches_retried_total counter'::text
        || format('pg_migrate_job_batches_retried_total %s',
                  (SELECT COALESCE(sum(j.batches_retried), 0) FROM @extschema@.migrate_jobs j));

    lines := lines
        || '# HELP pg_migrate_job_lag_seconds Seconds since a queued or running job last committed a batch (since it was submitted, before its first).'::text
        || '# TYPE pg_migrate_job_lag_seconds gauge'::text;
    FOR r IN SELECT j.id, extract(epoch FROM now() - j.updated_at)::float8 AS lag
               FROM @extschema@.migrate_jobs j
              WHERE j.state IN ('queued', 'running')
              ORDER BY j.id
    LOOP
        lines := lines || format('pg_migrate_job_lag_seconds{job="%s"} %s', r.id, r.lag);
    END LOOP;

    RETURN array_to_string(lines, E'\n') || E'\n';
END
$$;

REVOKE ALL ON FUNCTION @extschema@.migrate_metrics() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.migrate_metrics() TO pg_read_all_stats;

COMMENT ON FUNCTION @extschema@.migrate_metrics() IS
    'Policy, DDL, lock and job metrics in the Prometheus text exposition format';
