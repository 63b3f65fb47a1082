-- The history records every statement a job's worker runs under the job
-- (job_id), and the steps of an online change submitted from a migration
-- under that migration's version too.  Statements of a transaction block
-- that hold a blocking lock are written at commit, with their lock figures.
\set VERBOSITY terse
CREATE EXTENSION pg_migrate;
SET pg_migrate.small_table_size = 0;
CREATE TABLE parent (id int PRIMARY KEY);
INSERT INTO parent SELECT g FROM generate_series(1, 100) g;
CREATE TABLE t (id int PRIMARY KEY, v int, p int);
INSERT INTO t SELECT g, g % 10, g % 100 + 1 FROM generate_series(1, 3000) g;

-- A session's own statements have no job, whatever it calls itself.
SET application_name = 'pg_migrate job 1';
ALTER TABLE t ALTER COLUMN v SET DEFAULT 0;
RESET application_name;
SELECT command_tag, job_id FROM migrate_ddl_history
 WHERE statement LIKE 'ALTER TABLE t ALTER COLUMN v SET DEFAULT%';

-- Every step of an online change is listed under its job, one row per
-- step, in the order of the steps.
SELECT migrate_online('ALTER TABLE t ADD FOREIGN KEY (p) REFERENCES parent (id)') AS job \gset
CALL migrate_job_wait(:job, '60s');
SELECT state, last_error FROM migrate_jobs WHERE id = :job;
SELECT h.command_tag, h.statement = s.sql AS is_the_step, s.step, h.migration_version
  FROM migrate_ddl_history h
  LEFT JOIN migrate_online_steps s ON s.job_id = h.job_id AND s.sql = h.statement
 WHERE h.job_id = :job ORDER BY h.id;
SELECT count(*) AS steps_without_row FROM migrate_online_steps s
 WHERE s.job_id = :job AND s.state = 'done'
   AND NOT EXISTS (SELECT FROM migrate_ddl_history h
                    WHERE h.job_id = s.job_id AND h.statement = s.sql);

-- An online change submitted by a migration: its steps carry the job and
-- the migration's version; the migration's own statements carry the
-- version and no job.
SELECT migrate_apply('20260101_index',
       $$CREATE TABLE m_log (id int);
         SELECT migrate_online('CREATE INDEX t_v ON t (v)');$$,
       'DROP TABLE m_log; DROP INDEX IF EXISTS t_v;');
SELECT max(id) AS job FROM migrate_jobs WHERE kind = 'online' \gset
CALL migrate_job_wait(:job, '60s');
SELECT state, last_error FROM migrate_jobs WHERE id = :job;
SELECT command_tag, statement, job_id = :job AS under_job, migration_version
  FROM migrate_ddl_history
 WHERE migration_version = '20260101_index' ORDER BY id;

-- The policy action online in a migration: what waits for the commit
-- runs as a job, recorded under the job and the migration's version.
SET pg_migrate.online_by_default = on;
SET client_min_messages = warning;
SELECT migrate_apply('20260103_check',
       'ALTER TABLE t ADD CONSTRAINT v_small CHECK (v < 100);',
       'ALTER TABLE t DROP CONSTRAINT v_small;');
RESET client_min_messages;
RESET pg_migrate.online_by_default;
SELECT max(id) AS job FROM migrate_jobs WHERE kind = 'online' \gset
CALL migrate_job_wait(:job, '60s');
SELECT state, last_error FROM migrate_jobs WHERE id = :job;
SELECT command_tag, statement, job_id = :job AS under_job, migration_version
  FROM migrate_ddl_history
 WHERE migration_version = '20260103_check' ORDER BY id;

-- A migration run by a worker (migrate_apply_async): each statement under
-- the job and the version.
SELECT migrate_apply_async('20260102_async',
       'CREATE INDEX CONCURRENTLY t_p ON t (p); ALTER TABLE t ALTER COLUMN p SET DEFAULT 1;',
       'DROP INDEX t_p; ALTER TABLE t ALTER COLUMN p DROP DEFAULT;') AS job \gset
CALL migrate_job_wait(:job, '60s');
SELECT state, last_error FROM migrate_jobs WHERE id = :job;
SELECT command_tag, statement, job_id = :job AS under_job, migration_version
  FROM migrate_ddl_history
 WHERE migration_version = '20260102_async' ORDER BY id;

-- Written at commit: a statement that holds a lock blocking others on a
-- table older than its transaction.  Its row appears when the transaction
-- commits, with the hold, and ids keep the order of the statements.
BEGIN;
CREATE TABLE t_new (id int);
ALTER TABLE t ALTER COLUMN v SET DEFAULT 5;
SELECT count(*) AS rows_before_commit FROM migrate_ddl_history
 WHERE statement = 'ALTER TABLE t ALTER COLUMN v SET DEFAULT 5';
SAVEPOINT s;
ALTER TABLE t ALTER COLUMN v SET DEFAULT 6;
ROLLBACK TO SAVEPOINT s;
ALTER TABLE t_new ADD COLUMN c int;
ALTER TABLE t ALTER COLUMN v SET DEFAULT 7;
COMMIT;
SELECT statement, lock_mode, lock_held IS NOT NULL AS held_known,
       peak_waiters, job_id
  FROM migrate_ddl_history
 WHERE statement IN ('CREATE TABLE t_new (id int)', 'ALTER TABLE t_new ADD COLUMN c int')
    OR statement LIKE 'ALTER TABLE t ALTER COLUMN v SET DEFAULT _'
 ORDER BY id;

-- A transaction that rolls back writes nothing.
BEGIN;
ALTER TABLE t ALTER COLUMN v SET DEFAULT 8;
ROLLBACK;
SELECT count(*) FROM migrate_ddl_history
 WHERE statement = 'ALTER TABLE t ALTER COLUMN v SET DEFAULT 8';

SET pg_migrate.enforce = off;
DROP EXTENSION pg_migrate;
DROP TABLE t, t_new, m_log, parent;
