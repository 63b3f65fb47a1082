--
-- Verdicts measured on the server for PostgreSQL 18's own features (see
-- verdicts.sql and test/verdicts/corpus_pg18.sql).  Earlier majors skip
-- them (verdicts_pg18_1.out).
--
SELECT current_setting('server_version_num')::int >= 180000 AS pg18 \gset
\if :pg18
CREATE EXTENSION pg_migrate;
SET pg_migrate.record_ddl = off;
SET pg_migrate.small_table_size = 0;
SET pg_migrate.max_migration_rows = 1000;
SET max_parallel_workers_per_gather = 0;
SET max_parallel_maintenance_workers = 0;
SET pg_migrate.enforce = off;
\set ECHO none
\i test/verdicts/harness.sql
\i test/verdicts/corpus_pg18.sql
\set ECHO all
CALL verdicts.run_all();
\pset format unaligned
\pset fieldsep ' | '
SELECT name, agree, measured, said FROM verdicts.report ORDER BY class, name;
SELECT name, disagreements FROM verdicts.report WHERE NOT agree ORDER BY class, name;
\pset format aligned
SELECT count(*) FILTER (WHERE agree) AS right, count(*) AS cases FROM verdicts.report;
SET client_min_messages = warning;
DROP SCHEMA verdicts CASCADE;
RESET client_min_messages;
DROP EXTENSION pg_migrate;
\else
\echo PostgreSQL 18 or later only
\endif
