--
-- migrate_plan's lock time: measured history when the same table had the
-- same kind of change recorded with its lock figures, a size-based guess
-- otherwise, and the text says which.
--
\set VERBOSITY terse
CREATE EXTENSION pg_migrate;
SET pg_migrate.small_table_size = 0;     -- any table with rows is "populated"

CREATE TABLE pm_known (id int PRIMARY KEY, v text);
INSERT INTO pm_known SELECT g, 'x' FROM generate_series(1, 1000) g;
CREATE TABLE pm_unknown (id int PRIMARY KEY, v text);
INSERT INTO pm_unknown SELECT g, 'x' FROM generate_series(1, 1000) g;
ANALYZE pm_known, pm_unknown;
-- The lines of the report's "Estimated lock time" section
CREATE FUNCTION pm_lock_time(script text) RETURNS SETOF text
LANGUAGE sql AS $$
  SELECT m[1]
    FROM regexp_matches(migrate_plan(script, format => 'markdown'),
                        '\n- (statement [0-9]+: [^\n]*(held|estimated)[^\n]*)', 'g') AS m
$$;

-- Nothing measured yet: a guess from the table size, for both tables
SELECT pm_lock_time('ALTER TABLE pm_known ADD COLUMN c0 int');

-- Three catalog-only changes of pm_known, each holding its
-- AccessExclusiveLock for a known time (0.1 s, 0.3 s, 0.5 s) until commit
BEGIN;
ALTER TABLE pm_known ADD COLUMN c1 int;
SELECT pg_sleep(0.1);
COMMIT;
BEGIN;
ALTER TABLE pm_known ADD COLUMN c2 int;
SELECT pg_sleep(0.3);
COMMIT;
BEGIN;
ALTER TABLE pm_known ADD COLUMN c3 int;
SELECT pg_sleep(0.5);
COMMIT;
SELECT statement, lock_relation, lock_mode, rewrite,
       lock_held >= interval '0.1 s' AND lock_held < interval '5 s' AS held_known_time
  FROM migrate_ddl_history
 WHERE lock_relation = 'public.pm_known'
 ORDER BY id;

-- The same kind of change to pm_known: the estimate says it is measured,
-- and its figures are the history's median and maximum
CREATE TEMP TABLE pm_plan AS
SELECT pm_lock_time('ALTER TABLE pm_known ADD COLUMN c4 int') AS lock_time;
SELECT regexp_replace(lock_time, '[0-9]+\.[0-9]+', 'N.NNN', 'g') AS lock_time
  FROM pm_plan;
WITH h AS (
  SELECT percentile_cont(0.5) WITHIN GROUP
           (ORDER BY extract(epoch FROM lock_held)::float8) AS median,
         max(extract(epoch FROM lock_held))::float8 AS longest
    FROM migrate_ddl_history
   WHERE lock_relation = 'public.pm_known'
     AND lock_mode = 'AccessExclusiveLock' AND NOT rewrite),
p AS (
  SELECT (regexp_match(lock_time, 'held ([0-9.]+) s at the median'))[1]::float8 AS median,
         (regexp_match(lock_time, '([0-9.]+) s at most'))[1]::float8 AS longest
    FROM pm_plan)
SELECT p.median = round(h.median::numeric, 3)::float8 AS median_from_history,
       p.longest = round(h.longest::numeric, 3)::float8 AS max_from_history,
       p.median >= 0.3 AND p.longest >= 0.5 AS figures_are_the_sleeps
  FROM h, p;

-- Another table with no history of its own: still a guess
SELECT pm_lock_time('ALTER TABLE pm_unknown ADD COLUMN c1 int');

-- The same table but another kind of change (another lock, or a
-- rewrite): no measurement of that kind, so a guess
SELECT pm_lock_time('CREATE INDEX pm_known_v ON pm_known (v)');
SELECT pm_lock_time('ALTER TABLE pm_known ALTER COLUMN v TYPE varchar(10)');

-- A role that may not read the history is not shown its figures
CREATE ROLE pm_reader;
GRANT ALL ON pm_known TO pm_reader;
GRANT EXECUTE ON FUNCTION pm_lock_time(text) TO pm_reader;
SET ROLE pm_reader;
SELECT pm_lock_time('ALTER TABLE pm_known ADD COLUMN c4 int');
RESET ROLE;

-- Statements recorded with measuring off have no lock figures and are not
-- counted: the count of earlier changes stays at three
SET pg_migrate.measure_lock_impact = off;
ALTER TABLE pm_known ADD COLUMN c5 int;
RESET pg_migrate.measure_lock_impact;
SELECT regexp_replace(pm_lock_time('ALTER TABLE pm_known ADD COLUMN c6 int'),
                      '[0-9]+\.[0-9]+', 'N.NNN', 'g') AS lock_time;

-- A table created earlier in the same transaction is seen by nobody else
-- until the commit: its locks block nobody, so no hold is recorded for
-- them and they are not counted as a measured change of that kind
BEGIN;
CREATE TABLE pm_scratch (id int);
ALTER TABLE pm_scratch ADD COLUMN v text;
SELECT pg_sleep(0.2);
DROP TABLE pm_scratch;
COMMIT;
SELECT statement, lock_relation, lock_mode, lock_held
  FROM migrate_ddl_history
 WHERE lock_relation = 'public.pm_scratch'
 ORDER BY id;

-- Two statements of one transaction on a table that existed before: both
-- rows get the hold that ended at the commit
BEGIN;
ALTER TABLE pm_unknown ADD COLUMN c2 int;
ALTER TABLE pm_unknown ADD COLUMN c3 int;
SELECT pg_sleep(0.2);
COMMIT;
SELECT statement, lock_held >= interval '0.2 s' AND lock_held < interval '5 s' AS held_to_commit
  FROM migrate_ddl_history
 WHERE lock_relation = 'public.pm_unknown' AND statement LIKE 'ALTER%'
 ORDER BY id;

DROP TABLE pm_plan;
REVOKE ALL ON pm_known FROM pm_reader;
REVOKE ALL ON FUNCTION pm_lock_time(text) FROM pm_reader;
DROP ROLE pm_reader;

SET pg_migrate.enforce = off;
DROP FUNCTION pm_lock_time(text);
DROP TABLE pm_known, pm_unknown;
DROP EXTENSION pg_migrate;
