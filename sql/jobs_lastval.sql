--
-- Submitting a job leaves lastval() and currval() as the session's own
-- statements left them: the job's id is not drawn with nextval().
--
\set VERBOSITY terse
CREATE EXTENSION pg_migrate;
SET pg_migrate.enforce = off;
CREATE TABLE jl (id int PRIMARY KEY, n int NOT NULL DEFAULT 0);
INSERT INTO jl SELECT g, 0 FROM generate_series(1, 100) g;
CREATE SEQUENCE jl_seq START 41;

SELECT nextval('jl_seq');
SELECT migrate_batch_update('jl', 'n = n + 1') AS j1 \gset
SELECT lastval(), currval('jl_seq');
SELECT migrate_batch_delete('jl', 'id > 90') AS j2 \gset
SELECT lastval(), currval('jl_seq');
SELECT migrate_apply_async('jl1', 'ALTER TABLE jl ADD COLUMN w int',
                           'ALTER TABLE jl DROP COLUMN w') AS j3 \gset
SELECT lastval(), currval('jl_seq');
CALL migrate_job_wait(:j3, '60s');
SELECT migrate_rollback_async('jl1') AS j4 \gset
SELECT lastval(), currval('jl_seq');
CALL migrate_job_wait(:j4, '60s');

-- An empty table's job is done at once; its id is drawn the same way.
CREATE TABLE jl_empty (id int PRIMARY KEY);
SELECT migrate_batch_delete('jl_empty', 'true') AS j5 \gset
SELECT lastval();

-- An online change's job too (and the backfill job it submits).
CREATE TABLE jl_on (id int PRIMARY KEY, v int);
INSERT INTO jl_on SELECT g, g FROM generate_series(1, 100) g;
SELECT nextval('jl_seq');
SELECT migrate_online('ALTER TABLE jl_on ALTER COLUMN v TYPE bigint') AS j5b \gset
SELECT lastval(), currval('jl_seq');
CALL migrate_job_wait(:j5b, '60s');
SELECT lastval(), currval('jl_seq');

-- Distinct increasing ids, and the sequence where the last one left it
-- (a job submitted in a transaction that rolls back uses its id up, as
-- nextval() would).
BEGIN;
SELECT migrate_batch_update('jl', 'n = n + 1') AS j6 \gset
ROLLBACK;
SELECT migrate_batch_update('jl', 'n = n + 1') AS j7 \gset
SELECT :j1 < :j2 AND :j2 < :j3 AND :j3 < :j4 AND :j4 < :j5 AND :j5 < :j6
       AND :j6 < :j7 AS increasing;
SELECT last_value = :j7 AS seq_at_last, is_called FROM migrate_job_state_id_seq;
SELECT count(*) FROM migrate_jobs WHERE id = :j6;
CALL migrate_job_wait(:j1, '60s');
CALL migrate_job_wait(:j2, '60s');
CALL migrate_job_wait(:j7, '60s');
SELECT id, kind, state FROM migrate_jobs ORDER BY id;

-- A session that has drawn no value still has none, and a role that may
-- not read the job sequence gets its own lastval(), not a permission
-- error.
CREATE ROLE regress_jl_role LOGIN;
GRANT CREATE ON SCHEMA public TO regress_jl_role;
\c
SET ROLE regress_jl_role;
CREATE TABLE jl_role (id int PRIMARY KEY, n int);
INSERT INTO jl_role SELECT g, 0 FROM generate_series(1, 10) g;
SELECT migrate_batch_update('jl_role', 'n = 1') AS j8 \gset
SELECT lastval();
CALL migrate_job_wait(:j8, '60s');
CREATE SEQUENCE jl_role_seq START 7;
SELECT nextval('jl_role_seq');
SELECT migrate_batch_update('jl_role', 'n = 2') AS j9 \gset
SELECT lastval(), currval('jl_role_seq');
CALL migrate_job_wait(:j9, '60s');
RESET ROLE;
SET pg_migrate.enforce = off;
SELECT n, count(*) FROM jl_role GROUP BY n;

DROP TABLE jl_role;
DROP SEQUENCE jl_role_seq;
REVOKE CREATE ON SCHEMA public FROM regress_jl_role;
DROP TABLE jl, jl_empty, jl_on;
DROP SEQUENCE jl_seq;
DROP EXTENSION pg_migrate;
DROP ROLE regress_jl_role;
