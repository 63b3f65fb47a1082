-- Background jobs: the SQL API.  Workers run asynchronously, so every check
-- of a job's outcome waits for it with migrate_job_wait first.
\set VERBOSITY terse
CREATE EXTENSION pg_migrate;
CREATE TABLE jt (id int PRIMARY KEY, n int NOT NULL DEFAULT 0, s text);
INSERT INTO jt SELECT g, 0, 'x' || g FROM generate_series(1, 1000) g;

-- A job runs to its end, in several batches, on the primary key.
SELECT migrate_batch_update('jt', 'n = n + 1', 'id <= 500', batch_size => 100) AS job \gset
CALL migrate_job_wait(:job, '60s');
SELECT kind, relation, owner = current_user::regrole AS mine, state, rows_done,
       key_mode, key_name, parallel, batches > 1 AS several_batches, last_error
  FROM migrate_jobs WHERE id = :job;
SELECT n, count(*) FROM jt GROUP BY n ORDER BY n;

SELECT migrate_batch_delete('jt', 'id > 900') AS job \gset
CALL migrate_job_wait(:job, '60s');
SELECT kind, state, rows_done FROM migrate_jobs WHERE id = :job;
SELECT count(*), max(id) FROM jt;

-- An empty table: nothing to do, the job is done at once.
CREATE TABLE jempty (id int PRIMARY KEY);
SELECT migrate_batch_delete('jempty', 'true') AS job \gset
SELECT state, key_mode, rows_done, estimated_total FROM migrate_jobs WHERE id = :job;

-- Arguments
SELECT migrate_batch_update(NULL, 'n = 1');
SELECT migrate_batch_update('jt', NULL);
SELECT migrate_batch_update('jt', '   ');
SELECT migrate_batch_update('jt', 'n = 1', '');
SELECT migrate_batch_delete('jt', NULL);
SELECT migrate_batch_update('jt', 'n = 1', batch_size => 0);
SELECT migrate_batch_update('jt', 'n = 1', parallel => 0);
SELECT migrate_batch_update('jt', 'n = 1', parallel => 33);
SELECT migrate_batch_update('jt', 'n = 1', pause => '-1 s');
SELECT migrate_batch_update('no_such_table', 'n = 1');
CREATE VIEW jv AS SELECT * FROM jt;
SELECT migrate_batch_update('jv', 'n = 1');
CREATE TEMP TABLE jtemp (id int PRIMARY KEY, n int);
SELECT migrate_batch_update('jtemp', 'n = 1');
SELECT migrate_batch_update('pg_class', 'relname = relname');
SELECT migrate_batch_update('migrate_job_state', 'state = ''done''');

-- Clauses: syntax errors, smuggled statements or clauses, unknown names
SELECT migrate_batch_update('jt', 'n = = 1');
SELECT migrate_batch_update('jt', 'n = 1; DROP TABLE jt');
SELECT migrate_batch_update('jt', 'n = 1 WHERE true');
SELECT migrate_batch_update('jt', 'n = 1 RETURNING *');
SELECT migrate_batch_update('jt', 'n = 1 FROM jempty');
SELECT migrate_batch_update('jt', 'n = 1', 'true) OR (true');
SELECT migrate_batch_update('jt', 'n = 1', 'id > 1 ORDER BY 1');
SELECT migrate_batch_update('jt', 'n = 1', 'true; DELETE FROM jt');
SELECT migrate_batch_update('jt', 'nosuchcol = 1');
SELECT migrate_batch_update('jt', 'n = 1', 'nosuchcol > 0');
SELECT migrate_batch_update('jt', 'n = ''text''');
SELECT migrate_batch_delete('jt', 'id');

-- The clauses run under search_path = pg_catalog, pg_temp: the caller's
-- search_path does not apply, qualified names work.
CREATE SCHEMA js;
CREATE FUNCTION js.plus_ten(int) RETURNS int LANGUAGE sql AS 'SELECT $1 + 10';
SET search_path = js, public;
SELECT public.migrate_batch_update('public.jt', 'n = plus_ten(n)');
SELECT public.migrate_batch_update('public.jt', 'n = js.plus_ten(n)', 'id = 1') AS job \gset
RESET search_path;
CALL migrate_job_wait(:job, '60s');
SELECT n FROM jt WHERE id = 1;

-- Privileges: UPDATE (or DELETE) and SELECT on the table, and whatever the
-- clauses use, checked at submission.
CREATE ROLE jobs_r1;
CREATE ROLE jobs_r2;
GRANT SELECT ON jt TO jobs_r1;
CREATE TABLE jsecret (id int);
SET ROLE jobs_r1;
SELECT migrate_batch_update('jt', 'n = 1');
SELECT migrate_batch_delete('jt', 'true');
RESET ROLE;
GRANT UPDATE ON jt TO jobs_r1;
SET ROLE jobs_r1;
SELECT migrate_batch_update('jt', 'n = (SELECT count(*) FROM public.jsecret)');
SELECT migrate_batch_update('jt', 'n = n + 1', 'id <= 10') AS job \gset
-- Nobody writes or reads the job tables directly.
SELECT count(*) FROM migrate_job_state;
UPDATE migrate_job_slice SET done = true;
RESET ROLE;

-- Only the submitter (or a superuser) sees and controls a job.
SET ROLE jobs_r2;
SELECT count(*) FROM migrate_jobs;
SELECT migrate_job_pause(:job);
SELECT migrate_job_cancel(:job);
CALL migrate_job_wait(:job, '1s');
RESET ROLE;
SET ROLE jobs_r1;
CALL migrate_job_wait(:job, '60s');
SELECT owner, state, rows_done FROM migrate_jobs;
RESET ROLE;
SELECT n, count(*) FROM jt WHERE id <= 10 GROUP BY n ORDER BY n;

-- Control of a finished job, of a job that does not exist
SELECT migrate_job_pause(:job);
SELECT migrate_job_resume(:job);
SELECT migrate_job_cancel(:job);
SELECT migrate_job_pause(999999);
CALL migrate_job_wait(999999);
CALL migrate_job_wait(NULL);

-- Paused in the submitting transaction: no worker ever touches it.
BEGIN;
SELECT migrate_batch_update('jt', 'n = n + 100') AS job \gset
SELECT migrate_job_pause(:job);
COMMIT;
CALL migrate_job_wait(:job, '1s');
SELECT state, rows_done FROM migrate_jobs WHERE id = :job;
SELECT migrate_job_pause(:job);
SELECT migrate_job_cancel(:job);
SELECT migrate_job_resume(:job);
SELECT state, finished_at IS NOT NULL AS finished FROM migrate_jobs WHERE id = :job;
SELECT count(*) FROM jt WHERE n >= 100;

-- Odd identifiers, a composite key, a small batch
CREATE SCHEMA "Odd Schema";
CREATE TABLE "Odd Schema"."we""ird tab" (
    "Key Col" int, "k,2" text, "Val" int NOT NULL DEFAULT 0,
    PRIMARY KEY ("Key Col", "k,2"));
INSERT INTO "Odd Schema"."we""ird tab"
    SELECT g % 10, g::text, 0 FROM generate_series(1, 100) g;
SELECT migrate_batch_update('"Odd Schema"."we""ird tab"', '"Val" = "Val" + 1',
                            '"Key Col" % 2 = 0', batch_size => 7) AS job \gset
CALL migrate_job_wait(:job, '60s');
SELECT relation, state, rows_done, key_name FROM migrate_jobs WHERE id = :job;
SELECT "Val", count(*) FROM "Odd Schema"."we""ird tab" GROUP BY 1 ORDER BY 1;

-- A table without a primary key but a unique NOT NULL column uses it; one
-- with neither goes by ctid ranges.
CREATE TABLE juniq (u text NOT NULL UNIQUE, n int NOT NULL DEFAULT 0);
INSERT INTO juniq SELECT md5(g::text), 0 FROM generate_series(1, 300) g;
SELECT migrate_batch_update('juniq', 'n = n + 1', batch_size => 50) AS job \gset
CALL migrate_job_wait(:job, '60s');
SELECT state, rows_done, key_mode, key_name FROM migrate_jobs WHERE id = :job;
CREATE TABLE jheap (a int, n int NOT NULL DEFAULT 0);
INSERT INTO jheap SELECT g, 0 FROM generate_series(1, 300) g;
SELECT migrate_batch_delete('jheap', 'a % 3 = 0', batch_size => 50) AS job \gset
CALL migrate_job_wait(:job, '60s');
SELECT state, rows_done, key_mode FROM migrate_jobs WHERE id = :job;
SELECT count(*) FROM jheap;

-- Triggers of the submitter's table run as the submitter, deferred ones too
-- (they fire before the worker's own identity comes back at commit).
CREATE ROLE jobs_trig;
CREATE TABLE jtrig (id int PRIMARY KEY, n int NOT NULL DEFAULT 0);
INSERT INTO jtrig SELECT g FROM generate_series(1, 50) g;
CREATE TABLE jtrig_log (kind text, who name);
CREATE FUNCTION jtrig_note() RETURNS trigger LANGUAGE plpgsql AS
  $$ BEGIN INSERT INTO public.jtrig_log VALUES (TG_ARGV[0], current_user); RETURN NULL; END $$;
CREATE TRIGGER jtrig_now AFTER UPDATE ON jtrig FOR EACH ROW EXECUTE FUNCTION jtrig_note('immediate');
CREATE CONSTRAINT TRIGGER jtrig_later AFTER UPDATE ON jtrig DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION jtrig_note('deferred');
ALTER TABLE jtrig OWNER TO jobs_trig;
ALTER TABLE jtrig_log OWNER TO jobs_trig;
SET ROLE jobs_trig;
SELECT migrate_batch_update('jtrig', 'n = n + 1') AS job \gset
RESET ROLE;
CALL migrate_job_wait(:job, '60s');
SELECT state, last_error FROM migrate_jobs WHERE id = :job;
SELECT kind, who, count(*) FROM jtrig_log GROUP BY kind, who ORDER BY kind;

-- Clauses are read by the worker with standard_conforming_strings on
SET standard_conforming_strings = off;
SELECT migrate_batch_update('jt', $$v = 'a\\b'$$);
RESET standard_conforming_strings;

-- Waiting inside a transaction that keeps one snapshot would never end
BEGIN ISOLATION LEVEL REPEATABLE READ;
CALL migrate_job_wait(:job, '1s');
ROLLBACK;

-- Job tables are kept by pg_dump.
SELECT c.relname
  FROM pg_extension e, unnest(e.extconfig) AS x(oid)
  JOIN pg_class c ON c.oid = x.oid
 WHERE e.extname = 'pg_migrate' AND c.relname LIKE 'migrate_job%'
 ORDER BY 1;

SET pg_migrate.enforce = off;  -- the extension's history goes with it (drop_table)
DROP EXTENSION pg_migrate;
DROP TABLE jt, jempty, jsecret, juniq, jheap, jtrig, jtrig_log CASCADE;
DROP FUNCTION jtrig_note();
DROP SCHEMA js, "Odd Schema" CASCADE;
DROP ROLE jobs_r1, jobs_r2, jobs_trig;
