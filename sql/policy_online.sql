-- The policy action `online`: a statement a rule would refuse runs its
-- online form instead.  pg_regress sends each statement at top level in
-- autocommit, so a statement alone runs its steps in this session and
-- returns when they are done; inside BEGIN ... COMMIT the rest is queued
-- as a job that starts only if the transaction commits.
\set VERBOSITY terse
CREATE EXTENSION pg_migrate;
SET pg_migrate.small_table_size = 0;
CREATE TABLE parent (id int PRIMARY KEY);
INSERT INTO parent SELECT g FROM generate_series(1, 100) g;
CREATE TABLE t (id int NOT NULL, v int, p int, w int, note text);
INSERT INTO t SELECT g, g % 10, g % 100 + 1, g, 'n' || g FROM generate_series(1, 5000) g;

-- The action is accepted by migrate_policy, and only the known ones.
INSERT INTO migrate_policy (rule, action) VALUES ('blocking_index_build', 'online');
INSERT INTO migrate_policy (rule, action) VALUES ('blocking_index_build', 'later');

-- Outside a transaction block: CREATE INDEX builds concurrently and
-- returns when the index is valid.
\set VERBOSITY default
CREATE INDEX t_v ON t (v);
\set VERBOSITY terse
SELECT indexrelid::regclass, indisvalid, indisready FROM pg_index WHERE indrelid = 't'::regclass ORDER BY 1;
-- The history keeps what ran, and the statement as sent with it.
SELECT command_tag, statement, policy_overrides->0->>'action' AS action,
       policy_overrides->0->>'rule' AS rule, policy_overrides->0->>'statement' AS sent
  FROM migrate_ddl_history WHERE statement LIKE '%t_v%' ORDER BY id;

-- UNIQUE through a concurrent unique index and USING INDEX.
ALTER TABLE t ADD CONSTRAINT t_id_key UNIQUE (id);
SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint
 WHERE conrelid = 't'::regclass AND contype = 'u';

-- A rule's scope: online for one table pattern only.
INSERT INTO migrate_policy (rule, action, table_pattern) VALUES ('validating_scan', 'online', 't');
INSERT INTO migrate_policy (rule, action) VALUES ('not_null_scan', 'online');
ALTER TABLE t ADD CONSTRAINT t_p_fkey FOREIGN KEY (p) REFERENCES parent (id);
ALTER TABLE t ADD CONSTRAINT t_v_check CHECK (v < 10);
SELECT conname, convalidated FROM pg_constraint
 WHERE conrelid = 't'::regclass AND contype IN ('f', 'c') ORDER BY conname;
-- Other tables keep the shipped deny.
CREATE TABLE other (id int, p int);
INSERT INTO other SELECT g, 1 FROM generate_series(1, 100) g;
ALTER TABLE other ADD FOREIGN KEY (p) REFERENCES parent (id);

-- SET NOT NULL through the proving constraint.
ALTER TABLE t ALTER COLUMN w SET NOT NULL;
SELECT attnotnull FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = 'w';
SELECT count(*) AS proving_checks_left FROM pg_constraint
 WHERE conrelid = 't'::regclass AND contype = 'c' AND conname LIKE '%not_null%';

-- A step that fails ends the statement with its error; what ran before it
-- stays, as after a failed CREATE INDEX CONCURRENTLY.
\set VERBOSITY default
ALTER TABLE t ADD CONSTRAINT t_v_tiny CHECK (v < 5);
\set VERBOSITY terse
SELECT conname, convalidated FROM pg_constraint WHERE conname = 't_v_tiny';
ALTER TABLE t DROP CONSTRAINT t_v_tiny;

-- No online form: the rule behaves as deny, and says why.
INSERT INTO migrate_policy (rule, action) VALUES ('table_rewrite', 'online');
\set VERBOSITY default
ALTER TABLE t SET UNLOGGED;
\set VERBOSITY terse

-- A type change that rewrites needs a backfill: the session submits the
-- online change job and waits for it, holding no lock meanwhile.
CREATE INDEX t_w_idx ON t (w);
ALTER TABLE t ALTER COLUMN w TYPE bigint;
SELECT format_type(atttypid, atttypmod), attnotnull FROM pg_attribute
 WHERE attrelid = 't'::regclass AND attname = 'w';
SELECT kind, state, phase, last_error FROM migrate_jobs WHERE kind = 'online' ORDER BY id DESC LIMIT 1;
SELECT indexrelid::regclass, indisvalid FROM pg_index WHERE indexrelid = 't_w_idx'::regclass;
SELECT count(*) AS rows_kept, sum(w) AS sum_w FROM t;
-- A column the online change cannot carry over (a view depends on it
-- here) has no online form: refused.
CREATE VIEW t_v_view AS SELECT v FROM t;
\set VERBOSITY default
ALTER TABLE t ALTER COLUMN v TYPE bigint;
\set VERBOSITY terse
DROP VIEW t_v_view;

-- Inside a transaction block: what is safe in the transaction runs at
-- once, the rest is queued for a job that starts at commit.
BEGIN;
ALTER TABLE t ADD CONSTRAINT t_p_check CHECK (p > 0);
SELECT conname, convalidated FROM pg_constraint WHERE conname = 't_p_check';
SELECT kind, state FROM migrate_jobs ORDER BY id DESC LIMIT 1;
COMMIT;
SELECT max(id) AS job FROM migrate_jobs WHERE kind = 'online' \gset
CALL migrate_job_wait(:job, '60s');
SELECT state, last_error FROM migrate_jobs WHERE id = :job;
SELECT step, phase, state FROM migrate_online_steps WHERE job_id = :job ORDER BY step;
SELECT conname, convalidated FROM pg_constraint WHERE conname = 't_p_check';

-- A type change inside a transaction block is queued whole.
ALTER TABLE t ADD COLUMN x int;
UPDATE t SET x = id;
BEGIN;
\set VERBOSITY default
ALTER TABLE t ALTER COLUMN x TYPE bigint;
\set VERBOSITY terse
SELECT format_type(atttypid, atttypmod) FROM pg_attribute
 WHERE attrelid = 't'::regclass AND attname = 'x';
COMMIT;
SELECT max(id) AS job FROM migrate_jobs WHERE kind = 'online' \gset
CALL migrate_job_wait(:job, '60s');
SELECT state, last_error FROM migrate_jobs WHERE id = :job;
SELECT format_type(atttypid, atttypmod), sum(x) AS sum_x FROM pg_attribute, t
 WHERE attrelid = 't'::regclass AND attname = 'x' GROUP BY 1;

-- Rolled back: no job, nothing changed.
SELECT count(*) AS jobs_before FROM migrate_jobs \gset
BEGIN;
CREATE INDEX t_note ON t (note);
ROLLBACK;
SELECT count(*) - :jobs_before AS new_jobs FROM migrate_jobs;
SELECT count(*) AS t_note FROM pg_class WHERE relname = 't_note';

-- A later statement of the transaction that needs the queued index is
-- refused with the reason.
BEGIN;
CREATE UNIQUE INDEX t_id_u ON t (id);
ALTER TABLE t ADD CONSTRAINT t_id_u UNIQUE USING INDEX t_id_u;
ROLLBACK;
BEGIN;
CREATE UNIQUE INDEX t_id_u ON t (id);
COMMIT;
SELECT max(id) AS job FROM migrate_jobs WHERE kind = 'online' \gset
CALL migrate_job_wait(:job, '60s');
SELECT state, last_error FROM migrate_jobs WHERE id = :job;
SELECT indisvalid FROM pg_index WHERE indexrelid = 't_id_u'::regclass;

-- An override lifts the online verdict like a refusal: the statement runs
-- as written.
BEGIN;
SELECT migrate_override('blocking_index_build', 'small maintenance window');
CREATE INDEX t_p ON t (p);
COMMIT;
SELECT statement, policy_overrides->0->>'reason' AS reason
  FROM migrate_ddl_history WHERE statement LIKE '%t_p ON%' ORDER BY id;

-- migrate_check and migrate_plan say what runs instead.
SELECT rule, action, message FROM migrate_check('CREATE INDEX t_w ON t (w)');
SELECT findings FROM migrate_plan('CREATE UNIQUE INDEX t_w ON t (w)');
SELECT rule, action, message LIKE '%; runs online as: ALTER TABLE public.t ADD CONSTRAINT t_note_not_null %' AS runs_online
  FROM migrate_check('ALTER TABLE t ALTER COLUMN note SET NOT NULL');
SELECT rule, action, message FROM migrate_check('ALTER TABLE t SET UNLOGGED');

-- ADD COLUMN with a volatile default rewrites; its online form adds the
-- column empty, sets the default for new rows and backfills the old ones
-- in a job this session waits for.
ALTER TABLE t ADD COLUMN added_at timestamptz NOT NULL DEFAULT clock_timestamp();
SELECT count(*) AS rows_kept, count(added_at) AS filled FROM t;
SELECT attnotnull FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = 'added_at';
-- In a transaction block the column is added at once, empty, with its
-- default for new rows; the backfill waits for the commit.
BEGIN;
ALTER TABLE t ADD COLUMN tag uuid DEFAULT gen_random_uuid();
SELECT count(tag) AS filled_in_transaction FROM t;
COMMIT;
SELECT max(id) AS job FROM migrate_jobs WHERE kind = 'online' \gset
CALL migrate_job_wait(:job, '60s');
SELECT state FROM migrate_jobs WHERE id = :job;
SELECT count(*) AS rows_kept, count(tag) AS filled, count(DISTINCT tag) AS distinct_tags FROM t;
-- A rename has an online form only for migrate_online itself: the old
-- name stays until someone completes it, which a policy cannot know.
INSERT INTO migrate_policy (rule, action) VALUES ('rename_column', 'online');
DO $$
DECLARE
    d text;
BEGIN
    ALTER TABLE t RENAME COLUMN note TO remark;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
    RAISE NOTICE 'refused: %', substring(d FROM 'has no online form: (.*)$');
END
$$;
SELECT count(*) AS renamed FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = 'remark';

-- Warn mode: the statement runs as written, with a warning.
SET pg_migrate.enforce = warn;
CREATE INDEX t_note2 ON t (note);
RESET pg_migrate.enforce;

-- Only superusers may make online the default of the shipped refusals.
CREATE ROLE po_user;
SET ROLE po_user;
SET pg_migrate.online_by_default = on;
RESET ROLE;
DELETE FROM migrate_policy WHERE NOT shipped;
SET pg_migrate.online_by_default = on;
CREATE INDEX t_w ON t (w, v);
SELECT indisvalid FROM pg_index WHERE indexrelid = 't_w'::regclass;
-- A data-loss rule keeps its deny.
CREATE TABLE doomed (id int);
INSERT INTO doomed VALUES (1);
DROP TABLE doomed;
RESET pg_migrate.online_by_default;
DROP ROLE po_user;

SET pg_migrate.enforce = off;  -- the extension's history goes with it (drop_table)
DROP EXTENSION pg_migrate;
DROP TABLE t, parent, other CASCADE;
