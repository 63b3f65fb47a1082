--
-- Security: background jobs and hostile text.
--
-- What sql/jobs.sql already covers is not repeated here (a role without
-- UPDATE or DELETE, a subquery on a table it may not read, smuggled second
-- statements, WHERE/FROM/RETURNING in set_clause, views, temporary tables,
-- catalogs, pg_migrate's own tables, control of a job by another role).
-- This file adds: privileges granted on columns only, row-level security,
-- a data-modifying WITH hidden in a clause, identifiers and clauses full
-- of quotes, semicolons, comments, backslashes, dollar quotes, control
-- characters, UTF-8 and names of 63 bytes and more; and the same text in
-- migrate_apply, migrate_override, migrate_policy and DDL, where it must be
-- stored verbatim and never interpreted.
--
\set VERBOSITY terse
CREATE EXTENSION pg_migrate;
SET pg_migrate.enforce = off;
CREATE ROLE sec_j;
CREATE ROLE sec_other;
CREATE TABLE public.sec_victim (id int PRIMARY KEY);
INSERT INTO public.sec_victim SELECT generate_series(1, 10);
GRANT SELECT, UPDATE, DELETE ON public.sec_victim TO sec_j;

--
-- Privileges
--
CREATE TABLE public.sec_cols (id int PRIMARY KEY, n int NOT NULL DEFAULT 0, secret text);
INSERT INTO public.sec_cols SELECT g, 0, 'secret ' || g FROM generate_series(1, 20) g;
-- UPDATE (or DELETE) without SELECT: refused, the job reads the table
GRANT UPDATE, DELETE ON public.sec_cols TO sec_j;
SET ROLE sec_j;
SELECT migrate_batch_update('public.sec_cols', 'n = 1');
SELECT migrate_batch_delete('public.sec_cols', 'true');
RESET ROLE;
REVOKE ALL ON public.sec_cols FROM sec_j;
-- privileges on some columns only: a job needs the table-level ones, even
-- for clauses that would touch only the granted columns
GRANT SELECT (id, n), UPDATE (n) ON public.sec_cols TO sec_j;
SET ROLE sec_j;
SELECT migrate_batch_update('public.sec_cols', 'n = n + 1');
SELECT migrate_batch_delete('public.sec_cols', 'true');
RESET ROLE;
-- table-level UPDATE, SELECT on some columns: still refused, whatever the
-- clauses read
REVOKE ALL ON public.sec_cols FROM sec_j;
GRANT SELECT (id, n), UPDATE ON public.sec_cols TO sec_j;
SET ROLE sec_j;
SELECT migrate_batch_update('public.sec_cols', 'n = length(secret)');
SELECT migrate_batch_update('public.sec_cols', 'n = 1', 'secret LIKE ''secret 1%''');
SELECT migrate_batch_update('public.sec_cols', 'n = (SELECT count(*) FROM public.sec_cols c WHERE c.secret IS NULL)');
RESET ROLE;

-- Row-level security applies to the batches: a role updates only the rows
-- its policy lets it see, in the worker too.
CREATE TABLE public.sec_rls (id int PRIMARY KEY, who name NOT NULL, n int NOT NULL DEFAULT 0);
INSERT INTO public.sec_rls SELECT g, CASE WHEN g % 2 = 0 THEN 'sec_j' ELSE 'sec_other' END
  FROM generate_series(1, 40) g;
ALTER TABLE public.sec_rls ENABLE ROW LEVEL SECURITY;
CREATE POLICY sec_rls_own ON public.sec_rls USING (who = current_user);
GRANT SELECT, UPDATE, DELETE ON public.sec_rls TO sec_j;
SET ROLE sec_j;
SELECT migrate_batch_update('public.sec_rls', 'n = n + 1', batch_size => 3) AS job \gset
CALL migrate_job_wait(:job, '60s');
SELECT migrate_batch_delete('public.sec_rls', 'id > 30', batch_size => 3) AS job \gset
CALL migrate_job_wait(:job, '60s');
RESET ROLE;
SELECT who, n, count(*) FROM public.sec_rls GROUP BY 1, 2 ORDER BY 1, 2;

-- Another role's job: resume and wait are refused like pause and cancel
SET ROLE sec_j;
BEGIN;
SELECT migrate_batch_update('public.sec_victim', 'id = id') AS job \gset
SELECT migrate_job_pause(:job);
COMMIT;
RESET ROLE;
SET ROLE sec_other;
SELECT migrate_job_resume(:job);
CALL migrate_job_wait(:job, '0');
SELECT count(*) FROM migrate_jobs WHERE id = :job;
RESET ROLE;

--
-- Clauses that try to escape their place
--
SET ROLE sec_j;
SELECT migrate_batch_update('public.sec_victim', 'id = 1; DROP TABLE public.sec_victim; --');
SELECT migrate_batch_update('public.sec_victim', 'id = id', '1) OR (true');
SELECT migrate_batch_update('public.sec_victim', 'id = id', E'true\n) OR (true');
SELECT migrate_batch_update('public.sec_victim', 'id = id', 'true) --');
SELECT migrate_batch_update('public.sec_victim', 'id = id /*');
SELECT migrate_batch_update('public.sec_victim', 'id = id', 'true /* /* */');
SELECT migrate_batch_update('public.sec_victim', 'id = id', 'true $$');
SELECT migrate_batch_update('public.sec_victim', 'id = id', 'true UNION SELECT 1');
SELECT migrate_batch_update('public.sec_victim', 'id = id', 'true LIMIT 1');
SELECT migrate_batch_update('public.sec_victim', 'id = id', 'true FOR UPDATE');
SELECT migrate_batch_update('public.sec_victim', 'id = id',
  '(WITH d AS (DELETE FROM public.sec_victim RETURNING 1) SELECT true)');
SELECT migrate_batch_update('public.sec_victim',
  'id = (WITH d AS (DELETE FROM public.sec_victim RETURNING id) SELECT min(id) FROM d)');
SELECT migrate_batch_delete('public.sec_victim', 'true; TRUNCATE public.sec_victim');
SELECT migrate_batch_delete('public.sec_victim', E'true\r) OR (true');
RESET ROLE;
SELECT count(*) AS jobs_submitted FROM migrate_jobs WHERE relation = 'public.sec_victim'::regclass;

--
-- Hostile identifiers: the job must find, quote and update the right table
--
CREATE SCHEMA "sec ""s""; --";
CREATE FUNCTION public.sec_junk_names() RETURNS SETOF text LANGUAGE sql AS $n$
    VALUES ('q"uote'), ('semi;colon'), ('dash -- dash'), ('c /* comment */'),
           (E'back\\slash'), ('dollar $$ $q$'), ('Ünïcødé ☺'),
           (E'ctl \x01\x02\x1f\x7f'), (repeat('x', 63)), (repeat('é', 31) || 'x'),
           ('lower'), ('SELECT'), (' '), ('victim"; DROP TABLE public.sec_victim; --')
$n$;
-- one table per name, whose key and value columns carry the same name
-- (with a suffix), in a schema with an awkward name too
DO $$
DECLARE
    nm text;
BEGIN
    FOR nm IN SELECT * FROM public.sec_junk_names() LOOP
        EXECUTE format('CREATE TABLE "sec ""s""; --".%I (%I int PRIMARY KEY, %I int NOT NULL DEFAULT 0)',
                       nm, left(nm, 20) || '_k', left(nm, 20) || '_v');
        EXECUTE format('INSERT INTO "sec ""s""; --".%I SELECT g FROM generate_series(1, 25) g', nm);
        EXECUTE format('GRANT SELECT, UPDATE, DELETE ON "sec ""s""; --".%I TO sec_j', nm);
    END LOOP;
END $$;
GRANT USAGE ON SCHEMA "sec ""s""; --" TO sec_j;
-- a name longer than 63 bytes is truncated, as PostgreSQL always does
CREATE TABLE "sec ""s""; --".yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy (k int PRIMARY KEY);
SELECT length(relname) FROM pg_class WHERE relname LIKE 'yyyyyyyyyy%' AND relkind = 'r';
DROP TABLE "sec ""s""; --".yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy;

CREATE TABLE public.sec_junk_jobs (name text, job bigint);
GRANT INSERT ON public.sec_junk_jobs TO sec_j;
SET ROLE sec_j;
INSERT INTO public.sec_junk_jobs
SELECT nm, migrate_batch_update(
         format('"sec ""s""; --".%I', nm)::regclass,
         format('%I = %I + 1', left(nm, 20) || '_v', left(nm, 20) || '_v'),
         format('%I %% 5 <> 0 /* %s */ -- %s', left(nm, 20) || '_k',
                replace(replace(nm, '*/', ''), '/*', ''), nm) || E'\n',
         batch_size => 4)
  FROM public.sec_junk_names() AS nm;
RESET ROLE;
-- wait for all of them
DO $$
BEGIN
    FOR i IN 1 .. 600 LOOP
        EXIT WHEN NOT EXISTS (SELECT FROM migrate_jobs WHERE state IN ('queued', 'running'));
        PERFORM pg_sleep(0.1);
    END LOOP;
END $$;
CREATE FUNCTION public.sec_junk_sum(nm text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    r text;
BEGIN
    EXECUTE format('SELECT string_agg(v || '':'' || c, '','' ORDER BY v)'
                   ' FROM (SELECT %I AS v, count(*) AS c FROM "sec ""s""; --".%I GROUP BY 1) x',
                   left(nm, 20) || '_v', nm) INTO r;
    RETURN r;
END $$;
-- every job done, 20 rows updated once, 5 left alone, in the right table;
-- relation shown quoted
SELECT j.relation = format('"sec ""s""; --".%I', s.name)::regclass AS right_table,
       j.state, j.rows_done, public.sec_junk_sum(s.name) AS values, j.last_error
  FROM public.sec_junk_jobs s JOIN migrate_jobs j ON j.id = s.job
 ORDER BY s.name COLLATE "C";
SELECT relation FROM migrate_jobs j JOIN public.sec_junk_jobs s ON j.id = s.job
 ORDER BY s.name COLLATE "C";
SELECT count(*) AS victim_still_there FROM pg_class WHERE oid = 'public.sec_victim'::regclass;

-- a delete job on one of them
SELECT migrate_batch_delete('"sec ""s""; --"."victim""; DROP TABLE public.sec_victim; --"',
                            $w$"victim""; DROP TABLE _k" > 20 -- ; DROP$w$) AS job \gset
CALL migrate_job_wait(:job, '60s');
SELECT state, rows_done FROM migrate_jobs WHERE id = :job;

-- The values a clause writes are values: quotes, backslashes and dollar
-- quotes end up in the rows as they were written
CREATE TABLE public.sec_vals (id int PRIMARY KEY, s text);
INSERT INTO public.sec_vals VALUES (1, NULL), (2, NULL), (3, NULL);
SELECT migrate_batch_update('public.sec_vals', $c$s = CASE id WHEN 1 THEN 'a''b; DROP TABLE public.sec_victim; --'
  WHEN 2 THEN E'\\'' /* \x01 ☺' ELSE $q$ $$ ' " \ ; -- $q$ END$c$) AS job \gset
CALL migrate_job_wait(:job, '60s');
SELECT id, s, encode(convert_to(s, 'UTF8'), 'hex') FROM public.sec_vals ORDER BY id;
-- with standard_conforming_strings off the worker would read them differently
SET standard_conforming_strings = off;
SELECT migrate_batch_update('public.sec_vals', 's = ''x''');
RESET standard_conforming_strings;

--
-- Hostile text in migrations, overrides, the policy and DDL
--
CREATE FUNCTION public.sec_junk() RETURNS text LANGUAGE sql IMMUTABLE AS
  $f$ SELECT E'v"1''; DROP TABLE public.sec_victim; -- /* $$ $q$ \\ \x01\x1f ☺ é' $f$;
SELECT migrate_apply(public.sec_junk(), 'CREATE TABLE public.sec_mj (i int)',
                     'DROP TABLE public.sec_mj', public.sec_junk()) AS applied;
SELECT migrate_apply(public.sec_junk(), 'CREATE TABLE public.sec_mj (i int)',
                     'DROP TABLE public.sec_mj', public.sec_junk()) AS applied_again;
SELECT version = public.sec_junk() AS version_verbatim, description = public.sec_junk() AS description_verbatim,
       state FROM migrate_status();
SELECT count(*) AS history_rows_of_it FROM migrate_ddl_history WHERE migration_version = public.sec_junk();
SELECT migrate_rollback(public.sec_junk()) = public.sec_junk() AS rolled_back;
SELECT migrate_apply(repeat('v', 201), 'SELECT 1', 'SELECT 1');
SELECT migrate_apply(repeat('é', 101), 'SELECT 1', 'SELECT 1');
SELECT migrate_apply(E' \t\n ', 'SELECT 1', 'SELECT 1');

-- override: an unknown rule full of junk is refused; a reason full of junk
-- is stored as it was written, as one JSON string
BEGIN;
SELECT migrate_override(public.sec_junk(), 'reason');
ROLLBACK;
SET pg_migrate.enforce = on;
CREATE TABLE public.sec_drop_me (i int);
INSERT INTO public.sec_drop_me VALUES (1);
BEGIN;
SELECT migrate_override('drop_table', public.sec_junk() || '", "rule": "forged');
DROP TABLE public.sec_drop_me;
COMMIT;
SELECT jsonb_array_length(policy_overrides) AS overrides,
       policy_overrides->0->>'rule' AS rule,
       policy_overrides->0->>'reason' = public.sec_junk() || '", "rule": "forged' AS reason_verbatim
  FROM migrate_ddl_history WHERE statement = 'DROP TABLE public.sec_drop_me';

-- policy rows with junk values are data: a table pattern made of junk
-- matches only the table with that name (LIKE escapes aside)
CREATE TABLE public."sec_d'rop;--me" (i int);
CREATE TABLE public."sec_dXrop;--me" (i int);
INSERT INTO public."sec_d'rop;--me" VALUES (1);
INSERT INTO public."sec_dXrop;--me" VALUES (1);
INSERT INTO migrate_policy (rule, action, table_pattern, schema_name, note)
VALUES ('drop_table', 'allow', 'sec\_d''rop;--me', 'public', public.sec_junk()),
       ('drop_table', 'allow', E'x''; DROP TABLE public.sec_victim; --', NULL, NULL);
SELECT count(*) AS junk_policies FROM migrate_policy WHERE note = public.sec_junk();
DROP TABLE public."sec_dXrop;--me";
DROP TABLE public."sec_d'rop;--me";
DELETE FROM migrate_policy WHERE NOT shipped;
-- a refusal on a table whose quoted, qualified name is longer than
-- migrate_violations() keeps: clipped on a character boundary, still UTF-8
SELECT repeat('"', 9) || repeat('☺', 17) AS long_name \gset
SELECT format('CREATE SCHEMA %I', :'long_name') \gexec
SELECT format('CREATE TABLE %I.%I (i int)', :'long_name', :'long_name') \gexec
SELECT format('INSERT INTO %I.%I VALUES (1)', :'long_name', :'long_name') \gexec
SELECT format('DROP TABLE %I.%I', :'long_name', :'long_name') \gexec
SELECT octet_length(relation) AS clipped_to,
       convert_from(convert_to(relation, 'UTF8'), 'UTF8') = relation AS valid_utf8,
       starts_with(format('%I.%I', :'long_name', :'long_name'), relation) AS a_prefix
  FROM migrate_violations() WHERE rule = 'drop_table' LIMIT 1;
SET pg_migrate.enforce = off;
SELECT format('DROP SCHEMA %I CASCADE', :'long_name') \gexec
DROP TABLE public."sec_dXrop;--me";

-- DDL with such text is recorded verbatim, its objects by their names
CREATE TABLE "sec ""s""; --"."t ☺ $$ /* \ ' ;" (c text DEFAULT E'\x01 '' $q$ ; -- ');
SELECT statement, objects->0->>'identity' AS identity
  FROM migrate_ddl_history WHERE command_tag = 'CREATE TABLE' ORDER BY id DESC LIMIT 1;
COMMENT ON COLUMN "sec ""s""; --"."t ☺ $$ /* \ ' ;".c IS $x$ '; DROP TABLE public.sec_victim; -- $x$;
SELECT statement FROM migrate_ddl_history ORDER BY id DESC LIMIT 1;
SELECT count(*) AS victim_still_there FROM pg_class WHERE oid = 'public.sec_victim'::regclass;

DROP EXTENSION pg_migrate;
DROP SCHEMA "sec ""s""; --" CASCADE;
DROP TABLE public.sec_victim, public.sec_cols, public.sec_rls, public.sec_junk_jobs, public.sec_vals;
DROP FUNCTION public.sec_junk_names(), public.sec_junk_sum(text), public.sec_junk();
DROP ROLE sec_j, sec_other;
