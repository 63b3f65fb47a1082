-- Online changes: migrate_online runs one DDL statement the non-blocking
-- way in a background job.  Every check of an outcome waits for the job
-- with migrate_job_wait first.
\set VERBOSITY terse
CREATE EXTENSION pg_migrate;
SET pg_migrate.small_table_size = 0;
CREATE TABLE parent (id int PRIMARY KEY);
INSERT INTO parent SELECT g FROM generate_series(1, 100) g;
CREATE TABLE t (id int NOT NULL, v int, p int, note text);
INSERT INTO t SELECT g, g % 10, g % 100 + 1, 'n' || g FROM generate_series(1, 5000) g;

-- The plain statements are refused on a populated table ...
CREATE INDEX t_v ON t (v);

-- ... and run online instead.  CREATE INDEX becomes CONCURRENTLY.
SELECT migrate_online('CREATE INDEX t_v ON t (v)') AS job \gset
CALL migrate_job_wait(:job, '60s');
SELECT kind, relation, migration, state, phase, rows_done, estimated_total, key_name, last_error
  FROM migrate_jobs WHERE id = :job;
SELECT step, phase, mode, sql, undo, state FROM migrate_online_steps WHERE job_id = :job ORDER BY step;
SELECT indexrelid::regclass, indisvalid FROM pg_index WHERE indrelid = 't'::regclass ORDER BY 1;
SELECT command_tag, statement, application_name LIKE 'pg_migrate job %' AS by_job
  FROM migrate_ddl_history WHERE statement LIKE '%t_v%' ORDER BY id;

-- An unnamed index gets the name PostgreSQL would give it.
SELECT migrate_online('create unique index on t (id) -- trailing comment') AS job \gset
CALL migrate_job_wait(:job, '60s');
SELECT state, phase, last_error FROM migrate_jobs WHERE id = :job;
SELECT indexrelid::regclass, indisvalid, indisunique FROM pg_index WHERE indrelid = 't'::regclass ORDER BY 1;

-- REINDEX and DROP INDEX become CONCURRENTLY.
SELECT migrate_online('REINDEX INDEX t_v') AS job \gset
CALL migrate_job_wait(:job, '60s');
SELECT state, phase, last_error FROM migrate_jobs WHERE id = :job;
SELECT sql FROM migrate_online_steps WHERE job_id = :job;
SELECT migrate_online('DROP INDEX t_id_idx') AS job \gset
CALL migrate_job_wait(:job, '60s');
SELECT state, phase, last_error FROM migrate_jobs WHERE id = :job;
SELECT indexrelid::regclass FROM pg_index WHERE indrelid = 't'::regclass ORDER BY 1;

-- FOREIGN KEY and CHECK: NOT VALID, then VALIDATE in its own transaction.
SELECT migrate_online('ALTER TABLE t ADD FOREIGN KEY (p) REFERENCES parent (id)') AS job \gset
CALL migrate_job_wait(:job, '60s');
SELECT state, phase, last_error FROM migrate_jobs WHERE id = :job;
SELECT step, phase, sql FROM migrate_online_steps WHERE job_id = :job ORDER BY step;
SELECT migrate_online('ALTER TABLE t ADD CONSTRAINT v_small CHECK (v < 10)') AS job \gset
CALL migrate_job_wait(:job, '60s');
SELECT state, phase, last_error FROM migrate_jobs WHERE id = :job;
SELECT conname, pg_get_constraintdef(oid), convalidated FROM pg_constraint
 WHERE conrelid = 't'::regclass AND contype <> 'n' ORDER BY conname;

-- A CHECK that existing rows break: the job fails at VALIDATE, and an
-- abort drops the NOT VALID constraint again.
SELECT migrate_online('ALTER TABLE t ADD CONSTRAINT v_tiny CHECK (v < 5)') AS job \gset
CALL migrate_job_wait(:job, '60s');
SELECT state, phase, last_error FROM migrate_jobs WHERE id = :job;
SELECT migrate_online_abort(:job);
CALL migrate_job_wait(:job, '60s');
SELECT state, phase, last_error FROM migrate_jobs WHERE id = :job;
SELECT step, state FROM migrate_online_steps WHERE job_id = :job ORDER BY step;
SELECT count(*) AS v_tiny FROM pg_constraint WHERE conname = 'v_tiny';
SELECT migrate_online_abort(:job);

-- SET NOT NULL: proved by a validated constraint, never by a scan under
-- a lock that blocks writes.
SELECT migrate_online('ALTER TABLE t ALTER COLUMN v SET NOT NULL') AS job \gset
CALL migrate_job_wait(:job, '60s');
SELECT state, phase, last_error FROM migrate_jobs WHERE id = :job;
SELECT attnotnull FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = 'v';
SELECT count(*) AS checks_left FROM pg_constraint WHERE conrelid = 't'::regclass AND contype = 'c' AND conname LIKE '%not_null%';

-- PRIMARY KEY on a nullable column: NOT NULL proved first, then a
-- concurrent unique index, then ADD CONSTRAINT ... USING INDEX.
CREATE TABLE k (a int, b text);
INSERT INTO k SELECT g, 'b' FROM generate_series(1, 1000) g;
SELECT migrate_online('ALTER TABLE k ADD PRIMARY KEY (a)') AS job \gset
CALL migrate_job_wait(:job, '60s');
SELECT state, phase, last_error FROM migrate_jobs WHERE id = :job;
SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint
 WHERE conrelid = 'k'::regclass AND contype = 'p';
SELECT attnotnull FROM pg_attribute WHERE attrelid = 'k'::regclass AND attname = 'a';
SELECT migrate_online('ALTER TABLE k ADD CONSTRAINT k_b_a UNIQUE (b, a)') AS job \gset
CALL migrate_job_wait(:job, '60s');
SELECT state, phase, last_error FROM migrate_jobs WHERE id = :job;
SELECT conname, contype FROM pg_constraint WHERE conrelid = 'k'::regclass AND contype <> 'n' ORDER BY conname;

-- A change that is done cannot be aborted any more.
SELECT migrate_online_abort(:job);

-- Refused, with nothing changed.
\set VERBOSITY default
SELECT migrate_online('CREATE INDEX a ON t (v); CREATE INDEX b ON t (p)');
SELECT migrate_online('');
SELECT migrate_online('DROP TABLE t');
SELECT migrate_online('ALTER TABLE t ADD COLUMN x int, ADD COLUMN y int');
SELECT migrate_online('ALTER TABLE t RENAME CONSTRAINT v_small TO v_smaller');
SELECT migrate_online('ALTER TABLE t DROP COLUMN note');
SELECT migrate_online('DROP INDEX t_v CASCADE');
SELECT migrate_online('DROP INDEX IF EXISTS nothing_here');
SELECT migrate_online('DROP INDEX parent_pkey');
SELECT migrate_online('REINDEX SCHEMA public');
SELECT migrate_online('ALTER TABLE t ALTER COLUMN v SET NOT NULL');
SELECT migrate_online('CREATE INDEX t_v ON t (v)');
SELECT migrate_online('ALTER TABLE k ADD PRIMARY KEY (b)');
SELECT migrate_online('ALTER TABLE t ADD CONSTRAINT ex EXCLUDE USING btree (v WITH =)');
SELECT migrate_online('ALTER TABLE t ADD UNIQUE (v) DEFERRABLE');
SELECT migrate_online('ALTER TABLE nothing ADD CHECK (a > 0)');
CREATE TEMP TABLE tmp (a int);
SELECT migrate_online('CREATE INDEX ON tmp (a)');
CREATE TABLE pt (a int) PARTITION BY RANGE (a);
SELECT migrate_online('CREATE INDEX ON pt (a)');

\set VERBOSITY terse
-- Same privilege checks as running the statement: only the owner.
CREATE ROLE online_user LOGIN;
GRANT USAGE ON SCHEMA public TO online_user;
GRANT SELECT ON t TO online_user;
SET SESSION AUTHORIZATION online_user;
SELECT migrate_online('CREATE INDEX t_p ON t (p)');
SELECT migrate_online('ALTER TABLE t ADD CHECK (p > 0)');
-- Others' jobs cannot be aborted or completed.
SELECT migrate_online_abort(:job);
SELECT migrate_online_complete(:job);
RESET SESSION AUTHORIZATION;
SELECT migrate_online_abort(99999);
SELECT count(*) AS online_jobs FROM migrate_jobs WHERE kind = 'online';

SET pg_migrate.enforce = off;  -- the extension's history goes with it (drop_table)
DROP EXTENSION pg_migrate;
DROP TABLE t, parent, k, pt CASCADE;
REVOKE USAGE ON SCHEMA public FROM online_user;
DROP ROLE online_user;
