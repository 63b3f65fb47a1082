--
-- Security: objects an ordinary role plants on its own search_path must
-- never run, or be read or written, inside pg_migrate.
--
-- sec_deployer is an ordinary role allowed to run migrations and
-- backfills.  It puts, in a schema ahead of pg_catalog and among its
-- temporary objects (pg_temp comes first for relations and types unless
-- the search_path lists it), functions, aggregates and operators named
-- like the built-ins pg_migrate's queries use, and views named like
-- pg_migrate's tables and like the system catalogs.  Each one calls
-- sec_trap.trap(), which counts on a sequence (not undone by a rollback),
-- logs a row and raises a NOTICE.  Then it uses every entry point of
-- pg_migrate: DDL through the hook, the event triggers and the history
-- writer, a refusal and an override of the policy engine, migrate_check,
-- migrate_plan, migrate_apply, migrate_verify, migrate_rollback,
-- migrate_status, migrate_drift, and the background jobs.
--
-- A trap may fire only where the role's own text calls it: in a migration
-- script (which resolves names as the caller would), or in a job clause
-- that names it with its schema (job clauses see pg_catalog only).
--
\set VERBOSITY terse
CREATE EXTENSION pg_migrate;
CREATE ROLE sec_deployer;
GRANT CREATE ON SCHEMA public TO sec_deployer;
GRANT EXECUTE ON FUNCTION migrate_apply(text, text, text, text, boolean),
                          migrate_rollback(text, boolean),
                          migrate_verify(text, text),
                          migrate_apply_async(text, text, text, text, boolean),
                          migrate_rollback_async(text, boolean) TO sec_deployer;
CREATE SEQUENCE public.sec_trap_hits;
CREATE TABLE public.sec_trap_log (what text, who name);
GRANT USAGE ON SEQUENCE public.sec_trap_hits TO PUBLIC;
GRANT INSERT ON public.sec_trap_log TO PUBLIC;
CREATE TABLE public.sec_existing (id int PRIMARY KEY, s text);
INSERT INTO public.sec_existing VALUES (1, 'data');
ALTER TABLE public.sec_existing OWNER TO sec_deployer;
UPDATE migrate_policy SET override_by = 'sec_deployer' WHERE rule = 'drop_table';
-- (so that it may read migrate_status() and migrate_drift())
GRANT pg_read_all_stats TO sec_deployer;
CREATE SCHEMA sec_trap AUTHORIZATION sec_deployer;

SET ROLE sec_deployer;
CREATE FUNCTION sec_trap.trap(what text) RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM nextval('public.sec_trap_hits');
    INSERT INTO public.sec_trap_log VALUES (what, current_user);
    RAISE NOTICE 'trap fired: %', what;
    RETURN true;
END $$;

-- Functions named like built-ins, with the exact argument types a call
-- would have (an exact match wins over pg_catalog's variadic or "any"
-- versions wherever the schema is on the path).
DO $$
DECLARE
    f text[];
BEGIN
    FOREACH f SLICE 1 IN ARRAY ARRAY[
        -- name, arguments, result (a trap returns NULL, if it ever returns)
        ['now', '', 'timestamptz', 'pg_catalog.now()'],
        ['clock_timestamp', '', 'timestamptz', 'pg_catalog.now()'],
        ['lower', 'a text', 'text', 'a'],
        ['upper', 'a text', 'text', 'a'],
        ['length', 'a text', 'integer', '1'],
        ['format', 'a text', 'text', 'a'],
        ['format', 'a text, b text', 'text', 'a'],
        ['format', 'a text, b text, c text', 'text', 'a'],
        ['quote_ident', 'a text', 'text', 'a'],
        ['quote_literal', 'a text', 'text', 'a'],
        ['quote_nullable', 'a text', 'text', 'a'],
        ['jsonb_build_object', 'a text, b text', 'jsonb', '''{}'''],
        ['jsonb_build_object', 'a text, b text, c text, d text', 'jsonb', '''{}'''],
        ['to_jsonb', 'a text', 'jsonb', '''{}'''],
        ['jsonb_agg', 'a text', 'jsonb', '''[]'''],
        ['concat', 'a text, b text', 'text', 'a'],
        ['current_setting', 'a text', 'text', '''x'''],
        ['set_config', 'a text, b text, c boolean', 'text', 'b'],
        ['pg_has_role', 'a name, b oid, c text', 'boolean', 'true'],
        ['pg_has_role', 'a oid, b oid, c text', 'boolean', 'true'],
        ['pg_backend_pid', '', 'integer', '1'],
        ['pg_current_xact_id', '', 'xid8', '''1'''],
        ['inet_client_addr', '', 'inet', 'NULL'],
        ['txid_current', '', 'bigint', '1'],
        ['make_interval', 'secs double precision', 'interval', '''1 s'''],
        ['round', 'a numeric, b integer', 'numeric', 'a'],
        ['sha256', 'a bytea', 'bytea', 'a'],
        ['convert_to', 'a text, b text', 'bytea', '''\x'''],
        ['pg_advisory_xact_lock', 'a integer, b integer', 'void', 'NULL'],
        ['pg_advisory_xact_lock', 'a bigint', 'void', 'NULL'],
        ['pg_try_advisory_xact_lock', 'a bigint', 'boolean', 'true'],
        ['pg_extension_config_dump', 'a regclass, b text', 'void', 'NULL'],
        ['pg_size_pretty', 'a bigint', 'text', '''x'''],
        ['pg_relation_size', 'a regclass', 'bigint', '0'],
        ['pg_total_relation_size', 'a regclass', 'bigint', '0'],
        ['pg_get_userbyid', 'a oid', 'name', '''x'''],
        ['pg_event_trigger_table_rewrite_oid', '', 'oid', 'NULL'],
        ['pg_event_trigger_table_rewrite_reason', '', 'integer', 'NULL'],
        ['array_to_string', 'a anyarray, b text', 'text', '''x'''],
        ['string_agg', 'a text, b text', 'text', 'a'],
        ['regexp_replace', 'a text, b text, c text', 'text', 'a'],
        ['replace', 'a text, b text, c text', 'text', 'a'],
        ['substr', 'a text, b integer', 'text', 'a'],
        ['btrim', 'a text', 'text', 'a'],
        ['md5', 'a text', 'text', 'a'],
        ['encode', 'a bytea, b text', 'text', '''x'''],
        ['nextval', 'a regclass', 'bigint', '1'],
        ['setval', 'a regclass, b bigint', 'bigint', '1'],
        ['currval', 'a regclass', 'bigint', '1']]
    LOOP
        -- aggregates are made separately below
        CONTINUE WHEN f[1] IN ('jsonb_agg', 'string_agg');
        EXECUTE format('CREATE FUNCTION sec_trap.%I(%s) RETURNS %s LANGUAGE sql'
                       ' SET search_path = pg_catalog, pg_temp AS %L',
                       f[1], f[2], f[3],
                       format('SELECT CAST(NULL AS %s) WHERE sec_trap.trap(%L)', f[3], f[1] || '(' || f[2] || ')'));
    END LOOP;
END $$;

-- Aggregates
CREATE FUNCTION sec_trap.agg_step(state bigint, v anyelement) RETURNS bigint
LANGUAGE sql AS $$ SELECT state WHERE sec_trap.trap('aggregate') $$;
CREATE FUNCTION sec_trap.agg_step0(state bigint) RETURNS bigint
LANGUAGE sql AS $$ SELECT state WHERE sec_trap.trap('count(*)') $$;
CREATE AGGREGATE sec_trap.count(*) (SFUNC = sec_trap.agg_step0, STYPE = bigint, INITCOND = '0');
CREATE AGGREGATE sec_trap.count(anyelement) (SFUNC = sec_trap.agg_step, STYPE = bigint, INITCOND = '0');
CREATE AGGREGATE sec_trap.max(bigint) (SFUNC = sec_trap.agg_step, STYPE = bigint, INITCOND = '0');
CREATE AGGREGATE sec_trap.max(integer) (SFUNC = sec_trap.agg_step, STYPE = bigint, INITCOND = '0');
CREATE AGGREGATE sec_trap.sum(bigint) (SFUNC = sec_trap.agg_step, STYPE = bigint, INITCOND = '0');
CREATE AGGREGATE sec_trap.sum(integer) (SFUNC = sec_trap.agg_step, STYPE = bigint, INITCOND = '0');
CREATE FUNCTION sec_trap.agg_step2(state bigint, v text, d text) RETURNS bigint
LANGUAGE sql AS $$ SELECT state WHERE sec_trap.trap('string_agg') $$;
CREATE AGGREGATE sec_trap.string_agg(text, text) (SFUNC = sec_trap.agg_step2, STYPE = bigint, INITCOND = '0');
CREATE AGGREGATE sec_trap.jsonb_agg(anyelement) (SFUNC = sec_trap.agg_step, STYPE = bigint, INITCOND = '0');

-- Operators on the types pg_migrate compares
DO $$
DECLARE
    t text;
    op text;
BEGIN
    FOREACH t IN ARRAY ARRAY['text', 'name', 'bigint', 'integer', 'oid', 'boolean',
                             'regclass', 'regrole', 'timestamptz', 'interval', 'jsonb']
    LOOP
        FOREACH op IN ARRAY ARRAY['=', '<>', '<', '<=', '>', '>=']
        LOOP
            EXECUTE format('CREATE FUNCTION sec_trap.%I(a %s, b %s) RETURNS boolean LANGUAGE sql AS %L',
                           'op_' || md5(op || t), t, t,
                           format('SELECT sec_trap.trap(%L) AND a OPERATOR(pg_catalog.%s) b',
                                  op || ' on ' || t, op));
            EXECUTE format('CREATE OPERATOR sec_trap.%s (LEFTARG = %s, RIGHTARG = %s, FUNCTION = sec_trap.%I)',
                           op, t, t, 'op_' || md5(op || t));
        END LOOP;
    END LOOP;
    FOREACH t IN ARRAY ARRAY['bigint', 'integer', 'double precision', 'numeric', 'interval']
    LOOP
        FOREACH op IN ARRAY ARRAY['+', '-', '*', '/']
        LOOP
            EXECUTE format('CREATE FUNCTION sec_trap.%I(a %s, b %s) RETURNS %s LANGUAGE sql AS %L',
                           'op_' || md5(op || t), t, t, CASE WHEN t = 'interval' AND op IN ('*', '/') THEN 'interval' ELSE t END,
                           format('SELECT a WHERE sec_trap.trap(%L)', op || ' on ' || t));
            CONTINUE WHEN t = 'interval' AND op IN ('*', '/');
            EXECUTE format('CREATE OPERATOR sec_trap.%s (LEFTARG = %s, RIGHTARG = %s, FUNCTION = sec_trap.%I)',
                           op, t, t, 'op_' || md5(op || t));
        END LOOP;
    END LOOP;
    EXECUTE 'CREATE FUNCTION sec_trap.like_text(a text, b text) RETURNS boolean LANGUAGE sql AS '
            '$f$ SELECT sec_trap.trap(''~~ on text'') AND a OPERATOR(pg_catalog.~~) b $f$';
    EXECUTE 'CREATE OPERATOR sec_trap.~~ (LEFTARG = text, RIGHTARG = text, FUNCTION = sec_trap.like_text)';
END $$;

-- Views named like pg_migrate's relations and like system catalogs, in the
-- schema and among the temporary objects; writing to them fires the trap
-- too.
CREATE FUNCTION sec_trap.write_trap() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM sec_trap.trap(TG_OP || ' on ' || TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME);
    RETURN NULL;
END $$;
DO $$
DECLARE
    r text;
    nsp text;
BEGIN
    FOREACH nsp IN ARRAY ARRAY['sec_trap', 'pg_temp']
    LOOP
        FOREACH r IN ARRAY ARRAY['migrate_ddl_history', 'migrate_policy', 'migrate_migrations',
                                 'migrate_job_state', 'migrate_job_slice', 'migrate_jobs',
                                 'migrate_rules', 'migrate_ddl_history_id_seq',
                                 'migrate_job_state_id_seq']
        LOOP
            EXECUTE format('CREATE VIEW %I.%I AS SELECT * FROM public.sec_trap_log WHERE sec_trap.trap(%L)',
                           nsp, r, 'read ' || nsp || '.' || r);
            -- (a trigger on a temporary view must call a temporary or a
            -- qualified function: this one is qualified)
            EXECUTE format('CREATE TRIGGER write_trap INSTEAD OF INSERT OR UPDATE OR DELETE ON %I.%I'
                           ' FOR EACH ROW EXECUTE FUNCTION sec_trap.write_trap()', nsp, r);
        END LOOP;
        FOREACH r IN ARRAY ARRAY['pg_class', 'pg_namespace', 'pg_extension', 'pg_index',
                                 'pg_attribute', 'pg_depend', 'pg_roles', 'pg_authid',
                                 'pg_proc', 'pg_type', 'pg_constraint', 'pg_trigger',
                                 'pg_event_trigger', 'pg_settings', 'pg_locks',
                                 'pg_stat_activity', 'pg_stat_replication', 'pg_inherits',
                                 'pg_sequence', 'pg_database']
        LOOP
            CONTINUE WHEN r = 'pg_authid';		-- not readable by this role
            -- (pg_attribute's attmissingval cannot be a view's column)
            EXECUTE format('CREATE VIEW %I.%I AS SELECT %s FROM pg_catalog.%I c WHERE sec_trap.trap(%L)',
                           nsp, r,
                           CASE r WHEN 'pg_attribute' THEN 'attrelid, attname, atttypid, attnum, attnotnull, attisdropped'
                                  ELSE 'c.*' END,
                           r, 'read ' || nsp || '.' || r);
        END LOOP;
    END LOOP;
END $$;
-- and temporary domains named like the types pg_migrate casts to
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['jsonb', 'json', 'float8', 'float4', 'numeric', 'int8', 'int4',
                             'int2', 'oid', 'regclass', 'regrole', 'regtype', 'regproc',
                             'interval', 'timestamptz', 'bytea', 'tid', 'xid8', 'inet', 'bool']
    LOOP
        EXECUTE format('CREATE DOMAIN pg_temp.%I AS pg_catalog.%I CHECK (sec_trap.trap(%L))',
                       t, t, 'domain pg_temp.' || t);
    END LOOP;
END $$;

SET search_path = sec_trap, pg_catalog, public;
-- (the traps work: a query of the role's own meets them)
SELECT 'a'::text = 'a'::text AS own_query;
RESET ROLE;
SELECT pg_catalog.setval('public.sec_trap_hits', 1, false);
DELETE FROM public.sec_trap_log;
SET ROLE sec_deployer;

-- DDL through the hook, the event triggers, the policy and the history
-- (the role's own statements name pg_catalog's types: its temporary
-- domains would stand in for them)
CREATE TABLE public.sec_l1 (id int PRIMARY KEY, s text, t pg_catalog.timestamptz);
ALTER TABLE public.sec_l1 ADD COLUMN j pg_catalog.jsonb;
CREATE INDEX sec_l1_s ON public.sec_l1 (s);
COMMENT ON TABLE public.sec_l1 IS 'lookalikes';
ALTER TABLE public.sec_l1 RENAME COLUMN j TO j2;
GRANT SELECT ON public.sec_l1 TO PUBLIC;
DROP INDEX public.sec_l1_s;
DROP TABLE public.sec_existing;
TRUNCATE public.sec_existing;
BEGIN;
SELECT public.migrate_override('drop_table', 'lookalikes: an override with a reason');
DROP TABLE public.sec_existing;
COMMIT;
DO $$ BEGIN EXECUTE 'CREATE TABLE public.sec_l2 (i int)'; INSERT INTO public.sec_l2 VALUES (1); END $$;
DROP TABLE public.sec_l2;

-- Migrations
SELECT * FROM public.migrate_check('CREATE TABLE public.sec_m1 (i int); ALTER TABLE public.sec_l1 ADD COLUMN x int DEFAULT 1');
SELECT statement_no, relation, lock_mode, risk FROM public.migrate_plan('ALTER TABLE public.sec_l1 ADD COLUMN x int; CREATE INDEX ON public.sec_l1 (x)');
SELECT pg_catalog.length(public.migrate_plan('ALTER TABLE public.sec_l1 ADD COLUMN x int', 'markdown',
                                             'ALTER TABLE public.sec_l1 DROP COLUMN x')) OPERATOR(pg_catalog.>) 0 AS report;
SELECT public.migrate_apply('sec_l_1', 'CREATE TABLE public.sec_m1 (i int); INSERT INTO public.sec_m1 VALUES (1)', 'DROP TABLE public.sec_m1', 'lookalikes');
SELECT public.migrate_apply('sec_l_1', 'CREATE TABLE public.sec_m1 (i int); INSERT INTO public.sec_m1 VALUES (1)', 'DROP TABLE public.sec_m1', 'lookalikes');
SELECT public.migrate_apply('sec_l_1', 'CREATE TABLE public.sec_m1 (i bigint); INSERT INTO public.sec_m1 VALUES (1)', 'DROP TABLE public.sec_m1', 'lookalikes');
SELECT public.migrate_apply('sec_l_2', 'CREATE TABLE public.sec_m2 (i int)', NULL);
SELECT version, state, applied_by FROM public.migrate_status();
SELECT command_tag FROM public.migrate_drift();
SELECT * FROM public.migrate_verify('CREATE TABLE public.sec_v (i int)', 'DROP TABLE public.sec_v');
SELECT public.migrate_rollback();
-- asynchronous: the job worker takes on the role's search_path for its
-- script, not for its own queries
SELECT public.migrate_apply_async('sec_l_4', 'CREATE TABLE public.sec_a (i int); INSERT INTO public.sec_a VALUES (1)',
                                  'DROP TABLE public.sec_a') AS job \gset
CALL public.migrate_job_wait(:job, '60s');
SELECT public.migrate_rollback_async('sec_l_4') AS job \gset
CALL public.migrate_job_wait(:job, '60s');
SELECT version, state FROM public.migrate_status() WHERE version OPERATOR(pg_catalog.=) 'sec_l_4';
SELECT * FROM public.migrate_rules LIMIT 0;
SELECT * FROM public.migrate_policy LIMIT 0;
-- a script that calls now() unqualified resolves it as the caller does:
-- this is the one place the trap fires
SELECT public.migrate_apply('sec_l_3', 'INSERT INTO public.sec_l1 (id, t) SELECT 1, now()',
                            'DELETE FROM public.sec_l1');

-- Background jobs: the clause calls lower() unqualified, which in a job
-- means pg_catalog.lower(); the qualified call to the trap does run, in
-- the worker, as the submitter.
INSERT INTO public.sec_l1 (id, s) SELECT g, 'X' FROM pg_catalog.generate_series(2, 50) g;
SELECT public.migrate_batch_update('public.sec_l1', 's = lower(s)', 'id OPERATOR(pg_catalog.>) 1',
                                   batch_size => 10) AS job \gset
CALL public.migrate_job_wait(:job, '60s');
SELECT public.migrate_batch_delete('public.sec_l1', 'sec_trap.trap(''qualified in a job clause'') AND id OPERATOR(pg_catalog.=) 50') AS job \gset
CALL public.migrate_job_wait(:job, '60s');
SELECT state, rows_done FROM public.migrate_jobs ORDER BY id;
BEGIN;
SELECT public.migrate_batch_update('public.sec_l1', 's = upper(s)') AS job \gset
SELECT public.migrate_job_pause(:job);
SELECT public.migrate_job_resume(:job);
SELECT public.migrate_job_cancel(:job);
COMMIT;
CALL public.migrate_job_wait(:job);

RESET search_path;
RESET ROLE;
-- Only the two deliberate calls ran a trap: the migration's now(), and the
-- job's qualified call (as the submitter, for the one row the cheaper
-- condition lets through).
SELECT what, who, pg_catalog.count(*) FROM public.sec_trap_log GROUP BY 1, 2 ORDER BY 1;
SELECT last_value AS trap_calls FROM public.sec_trap_hits;
SELECT pg_catalog.count(*) AS lowered FROM public.sec_l1 WHERE s OPERATOR(pg_catalog.=) 'x';
SELECT command_tag, statement, migration_version, policy_overrides IS NOT NULL AS overridden
  FROM public.migrate_ddl_history
 WHERE effective_role OPERATOR(pg_catalog.=) 'sec_deployer' AND statement NOT LIKE '%sec_trap%'
 ORDER BY id;

SET pg_migrate.enforce = off;
DROP SCHEMA sec_trap CASCADE;
DROP EXTENSION pg_migrate;
DROP TABLE public.sec_l1, public.sec_l2, public.sec_trap_log;
DROP SEQUENCE public.sec_trap_hits;
DROP OWNED BY sec_deployer;
DROP ROLE sec_deployer;
