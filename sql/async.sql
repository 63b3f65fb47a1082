-- Migrations run by a background worker: migrate_apply_async and
-- migrate_rollback_async.  Every check of an outcome waits for the job
-- with migrate_job_wait first.
\set VERBOSITY terse
CREATE EXTENSION pg_migrate;
SET pg_migrate.small_table_size = 0;
CREATE TABLE at (id int NOT NULL, v int NOT NULL);
INSERT INTO at SELECT g, g % 10 FROM generate_series(1, 5000) g;

-- Statements that commit on their own run, each at top level.
SELECT migrate_apply_async('a1',
    'CREATE INDEX CONCURRENTLY at_v ON at (v);
     VACUUM (ANALYZE) at;
     ALTER TABLE at ADD COLUMN w int',
    'DROP INDEX CONCURRENTLY at_v;
     ALTER TABLE at DROP COLUMN w',
    description => 'index and column') AS job \gset
CALL migrate_job_wait(:job, '60s');
SELECT kind, relation, migration, state, rows_done, estimated_total, batches, key_mode, last_error
  FROM migrate_jobs WHERE id = :job;
SELECT indexrelid::regclass, indisvalid FROM pg_index WHERE indrelid = 'at'::regclass;
SELECT attname FROM pg_attribute WHERE attrelid = 'at'::regclass AND attnum > 0 ORDER BY attnum;
SELECT version, description, state, applied_by = session_user AS by_me, retries, irreversible
  FROM migrate_migrations WHERE version = 'a1';
SELECT command_tag, statement, migration_version FROM migrate_ddl_history
 WHERE migration_version = 'a1' ORDER BY id;

-- Applying it again: nothing to do; with other scripts: refused.
SELECT migrate_apply_async('a1',
    'CREATE INDEX CONCURRENTLY at_v ON at (v);
     VACUUM (ANALYZE) at;
     ALTER TABLE at ADD COLUMN w int',
    'DROP INDEX CONCURRENTLY at_v;
     ALTER TABLE at DROP COLUMN w',
    description => 'index and column') IS NULL AS nothing_to_do;
SELECT migrate_apply_async('a1', 'VACUUM at', irreversible => true);

-- The synchronous rollback cannot run its down script; the asynchronous
-- one can, and may drop the column its own up script added.
SELECT migrate_rollback('a1');
SELECT migrate_rollback_async('a1') AS job \gset
CALL migrate_job_wait(:job, '60s');
SELECT migration, state, rows_done, last_error FROM migrate_jobs WHERE id = :job;
SELECT count(*) AS indexes FROM pg_index WHERE indrelid = 'at'::regclass;
SELECT state, rolled_back_by = session_user AS by_me FROM migrate_migrations WHERE version = 'a1';
SELECT statement, policy_overrides->0->>'rule' AS exempted FROM migrate_ddl_history
 WHERE migration_version = 'a1' AND command_tag IN ('DROP INDEX', 'ALTER TABLE')
 ORDER BY id DESC LIMIT 2;

-- REINDEX CONCURRENTLY and DETACH PARTITION CONCURRENTLY too.
CREATE TABLE atp (id int NOT NULL, v int) PARTITION BY RANGE (id);
CREATE TABLE atp1 PARTITION OF atp FOR VALUES FROM (0) TO (1000);
CREATE TABLE atp2 PARTITION OF atp FOR VALUES FROM (1000) TO (2000);
CREATE INDEX atp1_v ON atp1 (v);
INSERT INTO atp SELECT g, g FROM generate_series(0, 1999) g;
SELECT migrate_apply_async('a1b',
    'REINDEX (CONCURRENTLY) INDEX atp1_v;
     ALTER TABLE atp DETACH PARTITION atp2 CONCURRENTLY',
    'ALTER TABLE atp ATTACH PARTITION atp2 FOR VALUES FROM (1000) TO (2000)') AS job \gset
CALL migrate_job_wait(:job, '60s');
SELECT state, rows_done, last_error FROM migrate_jobs WHERE id = :job;
SELECT indexrelid::regclass, indisvalid FROM pg_index WHERE indrelid = 'atp1'::regclass;
SELECT inhrelid::regclass FROM pg_inherits WHERE inhparent = 'atp'::regclass;
SELECT command_tag, statement FROM migrate_ddl_history WHERE migration_version = 'a1b' ORDER BY id;

-- A concurrent build that fails leaves an INVALID index; the job fails,
-- saying which statement, and blocks every other migration until it is
-- resumed or cancelled.
INSERT INTO at VALUES (1, 1);
SELECT migrate_apply_async('a2',
    'CREATE UNIQUE INDEX CONCURRENTLY at_id ON at (id);
     CREATE TABLE at_more (i int)',
    'DROP TABLE at_more;
     DROP INDEX CONCURRENTLY at_id') AS job \gset
CALL migrate_job_wait(:job, '60s');
SELECT state, rows_done, last_error FROM migrate_jobs WHERE id = :job;
SELECT indexrelid::regclass, indisvalid FROM pg_index WHERE indrelid = 'at'::regclass;
SELECT migrate_apply('a3', 'CREATE TABLE at_other ()', 'DROP TABLE at_other');
SELECT migrate_apply_async('a3', 'CREATE TABLE at_other ()', 'DROP TABLE at_other');
SELECT migrate_rollback('a1');

-- Repaired and resumed, the job drops the INVALID index, builds it again
-- and goes on.
DELETE FROM at WHERE ctid = (SELECT max(ctid) FROM at WHERE id = 1);
SELECT migrate_job_resume(:job);
CALL migrate_job_wait(:job, '60s');
SELECT state, rows_done, last_error FROM migrate_jobs WHERE id = :job;
SELECT indexrelid::regclass, indisvalid FROM pg_index WHERE indrelid = 'at'::regclass;
SELECT to_regclass('at_more') IS NOT NULL AS created;
SELECT statement FROM migrate_ddl_history WHERE migration_version = 'a2' ORDER BY id;

-- Policies judge every statement in the worker, with the submitting
-- session's pg_migrate.enforce: a blocking index build is refused...
SELECT migrate_apply_async('a3', 'CREATE INDEX at_blocking ON at (v)', 'DROP INDEX at_blocking') AS job \gset
CALL migrate_job_wait(:job, '60s');
SELECT state, last_error FROM migrate_jobs WHERE id = :job;
SELECT migrate_job_cancel(:job);
-- ...unless the submitter (a superuser) turned enforcement off.
SET pg_migrate.enforce = off;
SELECT migrate_apply_async('a3', 'CREATE INDEX at_blocking ON at (v)', 'DROP INDEX at_blocking') AS job \gset
RESET pg_migrate.enforce;
CALL migrate_job_wait(:job, '60s');
SELECT state, last_error FROM migrate_jobs WHERE id = :job;

-- Scripts: what is refused before anything is queued.
SELECT migrate_apply_async('a4', 'CREATE INDEX CONCURRENTLY ON at (v)', 'SELECT 1');
SELECT migrate_apply_async('a4', 'BEGIN; CREATE TABLE x (); COMMIT', 'SELECT 1');
SELECT migrate_apply_async('a4', '  ', 'SELECT 1');
SELECT migrate_apply_async('a4', 'VACUUM at');
SELECT migrate_apply_async('a4', 'VACUUM at', 'SELECT 1', irreversible => true);
-- a worker has no client to COPY from or to, in either script
SELECT migrate_apply_async('a4', 'COPY at (id, v) FROM STDIN', 'SELECT 1');
SELECT migrate_apply_async('a4', 'SELECT 1', 'COPY (SELECT 1) TO STDOUT');
SELECT migrate_apply_async('a4', 'copy at from stdin with (format csv)', 'SELECT 1');
SELECT migrate_apply_async(NULL, 'VACUUM at', 'SELECT 1');
SELECT migrate_apply_async('', 'VACUUM at', 'SELECT 1');
SELECT migrate_apply_async('a4', NULL, 'SELECT 1');
SELECT migrate_rollback_async('no such version');
SELECT count(*) AS jobs FROM migrate_jobs WHERE migration LIKE 'a4%';

-- The statements run as the submitter: the worker logs in as the
-- session's role and sets the role the submitter had.  Nothing in the
-- script can get more than that back.
SELECT rolname AS superuser FROM pg_roles WHERE oid = 10 \gset
CREATE ROLE async_owner NOLOGIN;
CREATE ROLE async_deployer LOGIN IN ROLE async_owner;
CREATE ROLE async_nologin NOLOGIN;
GRANT CREATE ON SCHEMA public TO async_owner;
GRANT EXECUTE ON FUNCTION migrate_apply_async(text, text, text, text, boolean) TO async_owner, async_nologin;
GRANT SELECT ON at TO async_owner;
SET SESSION AUTHORIZATION async_deployer;
SET ROLE async_owner;
SELECT migrate_apply_async('a5',
    'CREATE TABLE at_owned (who name, sess name);
     INSERT INTO at_owned VALUES (current_user, session_user)',
    'DROP TABLE at_owned') AS job \gset
CALL migrate_job_wait(:job, '60s');
SELECT state, last_error FROM migrate_jobs WHERE id = :job;
SELECT * FROM at_owned;
SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'at_owned';
-- Not the superuser's rights: the table of someone else...
SELECT migrate_apply_async('a6', 'CREATE INDEX CONCURRENTLY at_w ON at (v)', 'DROP INDEX CONCURRENTLY at_w') AS job \gset
CALL migrate_job_wait(:job, '60s');
SELECT state, last_error FROM migrate_jobs WHERE id = :job;
SELECT migrate_job_cancel(:job);
-- ...nor the superuser back: the worker's own login is the submitter's, so
-- SET SESSION AUTHORIZATION and SET ROLE give no more than it has.
SELECT migrate_apply_async('a6',
    'SET SESSION AUTHORIZATION DEFAULT;
     CREATE TABLE at_who AS SELECT current_user AS who, session_user AS sess,
                                   current_setting(''is_superuser'') AS su',
    'DROP TABLE at_who') AS job \gset
CALL migrate_job_wait(:job, '60s');
SELECT state, last_error FROM migrate_jobs WHERE id = :job;
RESET ROLE;
SELECT * FROM at_who;
SET ROLE async_owner;
SELECT migrate_apply_async('a7', 'SET SESSION AUTHORIZATION ' || quote_ident(:'superuser') || '; CREATE TABLE at_escape ()',
                           'DROP TABLE at_escape') AS job \gset
CALL migrate_job_wait(:job, '60s');
SELECT state, last_error LIKE '%permission denied to set session authorization%' AS refused
  FROM migrate_jobs WHERE id = :job;
SELECT migrate_job_cancel(:job);
SELECT migrate_apply_async('a7', 'SET ROLE ' || quote_ident(:'superuser') || '; CREATE TABLE at_escape ()',
                           'DROP TABLE at_escape') AS job \gset
CALL migrate_job_wait(:job, '60s');
SELECT state, last_error LIKE '%permission denied to set role%' AS refused
  FROM migrate_jobs WHERE id = :job;
SELECT migrate_job_cancel(:job);
SELECT to_regclass('at_escape') AS escaped;
RESET ROLE;
RESET SESSION AUTHORIZATION;
-- A session whose role cannot log in cannot submit (the worker could not
-- log in as it).
SET SESSION AUTHORIZATION async_nologin;
SELECT migrate_apply_async('a8', 'VACUUM at', irreversible => true);
RESET SESSION AUTHORIZATION;
-- Nor can a security-definer function.
CREATE FUNCTION at_definer() RETURNS bigint SECURITY DEFINER LANGUAGE sql
    AS $$ SELECT public.migrate_apply_async('a8', 'VACUUM public.at', irreversible => true) $$;
GRANT EXECUTE ON FUNCTION at_definer() TO async_deployer;
SET SESSION AUTHORIZATION async_deployer;
SELECT at_definer();
RESET SESSION AUTHORIZATION;

-- A job whose submitter's login role loses LOGIN before it runs fails,
-- saying why, instead of starting workers that cannot log in.
SET SESSION AUTHORIZATION async_deployer;
BEGIN;
SET LOCAL ROLE async_owner;
SELECT migrate_apply_async('a10', 'CREATE TABLE at_never ()', 'DROP TABLE at_never') AS job \gset
RESET ROLE;
RESET SESSION AUTHORIZATION;
ALTER ROLE async_deployer NOLOGIN;
COMMIT;
CALL migrate_job_wait(:job, '60s');
SELECT state, last_error FROM migrate_jobs WHERE id = :job;
ALTER ROLE async_deployer LOGIN;
SELECT migrate_job_cancel(:job);
SELECT to_regclass('at_never') AS never;

-- Nor one whose submitter is no longer a member of the role it ran as.
SET SESSION AUTHORIZATION async_deployer;
BEGIN;
SET LOCAL ROLE async_owner;
SELECT migrate_apply_async('a11', 'CREATE TABLE at_never ()', 'DROP TABLE at_never') AS job \gset
RESET ROLE;
RESET SESSION AUTHORIZATION;
REVOKE async_owner FROM async_deployer;
COMMIT;
CALL migrate_job_wait(:job, '60s');
SELECT state, last_error FROM migrate_jobs WHERE id = :job;
GRANT async_owner TO async_deployer;
SELECT migrate_job_cancel(:job);
SELECT to_regclass('at_never') AS never;

-- A job that is cancelled half-way leaves what it did, and the migration
-- unrecorded.
SELECT migrate_apply_async('a9', 'CREATE TABLE at_half (); CREATE INDEX CONCURRENTLY at_half_v ON no_such_table (v)',
                           'DROP TABLE at_half') AS job \gset
CALL migrate_job_wait(:job, '60s');
SELECT state, rows_done, last_error FROM migrate_jobs WHERE id = :job;
SELECT migrate_job_cancel(:job);
SELECT to_regclass('at_half') IS NOT NULL AS left_in_place,
       (SELECT count(*) FROM migrate_migrations WHERE version = 'a9') AS recorded;

-- A DO block that commits, which migrate_apply refuses, runs here at top
-- level as a statement of its own: both its transactions commit.
SELECT migrate_apply_async('a10', $s$CREATE TABLE at_do (i int);
  DO $$ BEGIN INSERT INTO at_do VALUES (1); COMMIT; INSERT INTO at_do VALUES (2); END $$$s$,
  'DROP TABLE at_do') AS job \gset
CALL migrate_job_wait(:job, '60s');
SELECT state, last_error FROM migrate_jobs WHERE id = :job;
SELECT count(*) AS rows_committed FROM at_do;

SELECT version, state FROM migrate_status() ORDER BY version;

SET pg_migrate.enforce = off;  -- the extension's history goes with it (drop_table)
DROP EXTENSION pg_migrate;
DROP TABLE at, at_more, at_owned, at_who, at_half, at_do, atp, atp2 CASCADE;
DROP FUNCTION at_definer();
REVOKE CREATE ON SCHEMA public FROM async_owner;
DROP ROLE async_owner, async_deployer, async_nologin;
