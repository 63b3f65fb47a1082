--
-- Verdicts measured on the server: every case of test/verdicts/corpus.sql
-- is checked with migrate_check and migrate_plan, then run, and what
-- PostgreSQL really did (locks taken, files rewritten, indexes built, rows
-- scanned, data lost) is compared with what the check said.  See
-- test/verdicts/harness.sql for what is measured and how.  PostgreSQL 18
-- locks the children of a plain inheritance parent for any ADD CONSTRAINT,
-- 15 only for an inherited one (verdicts_1.out: case inherit_add_unique).
--
CREATE EXTENSION pg_migrate;
SET pg_migrate.record_ddl = off;
SET pg_migrate.small_table_size = 0;         -- every table with rows is populated
SET pg_migrate.max_migration_rows = 1000;
SET max_parallel_workers_per_gather = 0;     -- scans of parallel workers are counted
SET max_parallel_maintenance_workers = 0;    -- in their own backends
SET allow_in_place_tablespaces = on;
SET pg_migrate.enforce = off;
CREATE TABLESPACE verdicts_ts LOCATION '';
\set ECHO none
\i test/verdicts/harness.sql
\i test/verdicts/corpus.sql
\set ECHO all
CALL verdicts.run_all();

-- One line per case: what PostgreSQL did and what the check said.
\pset format unaligned
\pset fieldsep ' | '
SELECT name, agree, measured, said FROM verdicts.report ORDER BY class, name;
-- Every disagreement.
SELECT name, disagreements FROM verdicts.report WHERE NOT agree ORDER BY class, name;
\pset format aligned
SELECT class, count(*) FILTER (WHERE agree) AS right, count(*) AS cases
  FROM verdicts.report GROUP BY ROLLUP (class) ORDER BY class NULLS LAST;

SET client_min_messages = warning;
DROP SCHEMA verdicts CASCADE;
RESET client_min_messages;
DROP TABLESPACE verdicts_ts;
DROP EXTENSION pg_migrate;
