-- Backfills by a one-column integer key change each range in two passes:
-- the odd keys in the batch that reaches the range, the even keys in a
-- later batch, once the first pass's old row versions can be pruned (see
-- README.md, "Two passes").  Each row is changed once.
\set VERBOSITY terse
CREATE EXTENSION pg_migrate;

-- Waits until the job has committed at least n batches.
CREATE FUNCTION wait_batches(job bigint, n int) RETURNS bigint
LANGUAGE plpgsql SET search_path = public, pg_catalog AS $$
BEGIN
    FOR i IN 1 .. 1200 LOOP
        IF (SELECT batches FROM migrate_jobs WHERE id = job) >= n THEN
            RETURN (SELECT batches FROM migrate_jobs WHERE id = job);
        END IF;
        PERFORM pg_sleep(0.05);
    END LOOP;
    RETURN -1;
END $$;

-- After the first batch (the pause outlasts the test), the odd keys of the
-- first range are done and its even keys wait for their pass.
CREATE TABLE tp (id int PRIMARY KEY, n int NOT NULL DEFAULT 0, pad text);
INSERT INTO tp SELECT g, 0, repeat('x', 60) FROM generate_series(1, 1000) g;
SELECT migrate_batch_update('tp', 'n = n + 1', batch_size => 100, pause => '1h') AS job \gset
SELECT wait_batches(:job, 1);
SELECT count(*) AS changed, min(id), max(id), bool_and(id % 2 = 1) AS all_odd
  FROM tp WHERE n = 1;
SELECT pass2_open, pass2_from IS NULL AS from_first_key, rows_done, done
  FROM migrate_job_slice WHERE job_id = :job;
-- Cancelled there, the range stays half done: nothing runs twice.
SELECT migrate_job_cancel(:job);
SELECT count(*) FILTER (WHERE n = 1) AS changed, count(*) FILTER (WHERE n > 1) AS twice FROM tp;

-- To its end: every row once, in both passes, with nothing left pending.
UPDATE tp SET n = 0;
SELECT migrate_batch_update('tp', 'n = n + 1', batch_size => 100) AS job \gset
CALL migrate_job_wait(:job, '60s');
SELECT n, count(*) FROM tp GROUP BY n ORDER BY n;
SELECT rows_done, bool_and(NOT pass2_open) AS none_pending, bool_and(done) AS done
  FROM migrate_job_slice WHERE job_id = :job GROUP BY rows_done;

-- With a where_clause, bigint and smallint keys, negative keys, two slices.
CREATE TABLE tb (id bigint PRIMARY KEY, n int);
INSERT INTO tb SELECT g, NULL FROM generate_series(-2000, 2000) g;
SELECT migrate_batch_update('tb', 'n = 1', 'n IS NULL AND id <> 7', batch_size => 50, parallel => 2) AS job \gset
CALL migrate_job_wait(:job, '60s');
SELECT n, count(*) FROM tb GROUP BY n ORDER BY n;
SELECT state, rows_done FROM migrate_jobs WHERE id = :job;
CREATE TABLE ts (id smallint PRIMARY KEY, n int NOT NULL DEFAULT 0);
INSERT INTO ts SELECT g, 0 FROM generate_series(-300, 300) g;
SELECT migrate_batch_update('ts', 'n = n + 1', batch_size => 40) AS job \gset
CALL migrate_job_wait(:job, '60s');
SELECT n, count(*) FROM ts GROUP BY n ORDER BY n;

-- One pass where a second could change a row twice or gain nothing: a SET
-- that assigns the key, a key that is not one integer column, a DELETE.
-- Their first batch changes every row of its range.
UPDATE tp SET n = 0;
SELECT migrate_batch_update('tp', 'id = id, n = n + 1', batch_size => 100, pause => '1h') AS job \gset
SELECT wait_batches(:job, 1);
SELECT count(*) AS changed, min(id), max(id) FROM tp WHERE n = 1;
SELECT migrate_job_cancel(:job);
CREATE TABLE tt (id text PRIMARY KEY, n int NOT NULL DEFAULT 0);
INSERT INTO tt SELECT lpad(g::text, 4, '0'), 0 FROM generate_series(1, 1000) g;
SELECT migrate_batch_update('tt', 'n = n + 1', batch_size => 100, pause => '1h') AS job \gset
SELECT wait_batches(:job, 1);
SELECT count(*) AS changed FROM tt WHERE n = 1;
SELECT migrate_job_cancel(:job);
SELECT migrate_batch_delete('tp', 'true', batch_size => 100, pause => '1h') AS job \gset
SELECT wait_batches(:job, 1);
SELECT count(*) AS left_rows, min(id) FROM tp;
SELECT migrate_job_cancel(:job);

-- What the two passes are for: on full pages, the second pass's rows get
-- HOT updates on the page they were on, so the table grows far less than
-- with one UPDATE (which moves every row: about twice the size).
CREATE TABLE tg (id int PRIMARY KEY, a int NOT NULL, b text NOT NULL, c int);
INSERT INTO tg SELECT g, g % 1000, md5(g::text) FROM generate_series(1, 20000) g;
VACUUM tg;
SELECT pg_relation_size('tg') AS before \gset
SELECT migrate_batch_update('tg', 'c = a + 1', batch_size => 1000) AS job \gset
CALL migrate_job_wait(:job, '60s');
SELECT count(*) FILTER (WHERE c = a + 1) AS changed FROM tg;
SELECT pg_relation_size('tg')::float8 / :before < 1.75 AS grew_less;

SET pg_migrate.enforce = off;
DROP TABLE tp, tb, ts, tt, tg;
DROP FUNCTION wait_batches(bigint, int);
DROP EXTENSION pg_migrate;

-- Created again, the extension gives its jobs the ids of the dropped
-- ones: the first job above was cancelled while its slice waited out its
-- hour-long pause without a worker, and the new job with its id must not
-- wait for that pause.
CREATE EXTENSION pg_migrate;
CREATE TABLE tn (id int PRIMARY KEY, n int NOT NULL DEFAULT 0);
INSERT INTO tn SELECT g, 0 FROM generate_series(1, 100) g;
SELECT migrate_batch_update('tn', 'n = n + 1') AS job \gset
SELECT :job AS job_id;
CALL migrate_job_wait(:job, '60s');
SELECT n, count(*) FROM tn GROUP BY n;
SET pg_migrate.enforce = off;
DROP TABLE tn;
DROP EXTENSION pg_migrate;
