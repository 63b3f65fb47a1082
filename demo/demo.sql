\set VERBOSITY default
\echo
\echo '=== pg_migrate demo ==='
\echo
CREATE EXTENSION pg_migrate;

\echo
\echo '--- 1. Every schema change is recorded: who, when, what, which objects, which lock'
\echo
-- (policies are switched off until part 3, so that everything here runs)
SET pg_migrate.enforce = off;
CREATE TABLE accounts (id bigint PRIMARY KEY, email text, balance numeric, legacy_flag boolean);
INSERT INTO accounts SELECT g, 'user' || g || '@example.com', 0 FROM generate_series(1, 10000) g;
CREATE INDEX accounts_email ON accounts (email);
ANALYZE accounts;
ALTER TABLE accounts ALTER COLUMN balance TYPE numeric(12,2);
-- several statements in one string are recorded one by one
CREATE TABLE audit_a (i int) \; CREATE TABLE audit_b (i int);
-- DDL from a function is recorded with its own text
DO $$ BEGIN EXECUTE 'ALTER TABLE audit_a ADD COLUMN note text'; END $$;
-- statements event triggers never see are recorded too
TRUNCATE audit_b;
VACUUM FULL audit_b;
-- secrets are redacted
CREATE ROLE app_user LOGIN PASSWORD 'correct horse battery staple';
-- what rolls back is not recorded
BEGIN; DROP TABLE accounts; ROLLBACK;

SELECT id, occurred_at::time(0) AS at, effective_role AS role, command_tag,
       statement, lock_mode, rewrite, toplevel
  FROM migrate_ddl_history ORDER BY id;

SELECT command_tag, jsonb_pretty(objects) AS objects
  FROM migrate_ddl_history WHERE command_tag = 'CREATE TABLE' ORDER BY id LIMIT 1;

\echo
\echo '--- 2. The history is append-only'
\echo
SET ROLE app_user;
DELETE FROM migrate_ddl_history;
RESET ROLE;

\echo
\echo '--- 3. Dangerous changes are refused before they run, judged on the real catalog'
\echo
RESET pg_migrate.enforce;            -- on, the default
-- the demo's tables are small; count anything above 64 kB as populated
SET pg_migrate.small_table_size = '64kB';
SELECT pg_size_pretty(pg_relation_size('accounts')) AS accounts_size;
-- a blocking index build on a populated table
CREATE INDEX accounts_balance_blocking ON accounts (balance);
-- a type change that rewrites the table under an exclusive lock
ALTER TABLE accounts ALTER COLUMN id TYPE integer;
-- data loss
ALTER TABLE accounts DROP COLUMN legacy_flag;
-- ... while the same changes on a new or empty table are fine
CREATE TABLE fresh (id integer PRIMARY KEY, email text);
CREATE INDEX fresh_email ON fresh (email);
ALTER TABLE fresh ALTER COLUMN id TYPE bigint;
-- and varchar widening is never a rewrite
ALTER TABLE audit_a ADD COLUMN code varchar(10);
ALTER TABLE audit_a ALTER COLUMN code TYPE varchar(50);
SELECT occurred_at::time(0) AS at, role_name, rule, action, left(statement, 60) AS statement
  FROM migrate_violations();
-- a DBA can record a deliberate exception, which the history keeps
BEGIN;
SELECT migrate_override('drop_column', 'legacy_flag unused since release 7 (ticket 42)');
ALTER TABLE accounts DROP COLUMN legacy_flag;
COMMIT;
SELECT command_tag, statement, policy_overrides->0->>'reason' AS override_reason
  FROM migrate_ddl_history WHERE policy_overrides IS NOT NULL;
-- migrate_check reviews a whole script without applying it
SELECT statement_number, rule, action, relation, message
  FROM migrate_check($$
    ALTER TABLE accounts ADD COLUMN created_at timestamptz DEFAULT now();
    ALTER TABLE accounts ADD COLUMN seq bigserial;
    CREATE INDEX CONCURRENTLY accounts_created ON accounts (created_at);
    ALTER TABLE accounts ADD CONSTRAINT balance_positive CHECK (balance >= 0);
  $$);
RESET pg_migrate.small_table_size;   -- back to 10MB: the demo's tables are small again

\echo
\echo '--- 4. Versioned migrations: applied atomically, checksummed, reversible'
\echo
SELECT migrate_apply('2026_11_01_add_status',
  $up$
    ALTER TABLE accounts ADD COLUMN status text;
    CREATE INDEX accounts_status ON accounts (status);
  $up$,
  $down$
    DROP INDEX accounts_status;
    ALTER TABLE accounts DROP COLUMN status;
  $down$,
  'account status');
-- the same migration again is a no-op; an edited one is refused
SELECT migrate_apply('2026_11_01_add_status',
  $up$
    ALTER TABLE accounts ADD COLUMN status text;
    CREATE INDEX accounts_status ON accounts (status);
  $up$,
  $down$
    DROP INDEX accounts_status;
    ALTER TABLE accounts DROP COLUMN status;
  $down$,
  'account status');
SELECT migrate_apply('2026_11_01_add_status', 'ALTER TABLE accounts ADD COLUMN status varchar(20)',
                     'ALTER TABLE accounts DROP COLUMN status');
SELECT version, state, left(checksum, 12) AS checksum, applied_by, retries FROM migrate_status();
SELECT command_tag, statement, migration_version FROM migrate_ddl_history
 WHERE migration_version IS NOT NULL ORDER BY id;

\echo
\echo '--- 5. Proving a down script really undoes its up script (nothing is changed)'
\echo
SELECT * FROM migrate_verify(
  'ALTER TABLE accounts ADD COLUMN city text; CREATE INDEX accounts_city ON accounts (city)',
  'ALTER TABLE accounts DROP COLUMN city');
-- this down script forgets an index and leaves a default behind
SELECT kind, object, difference, after FROM migrate_verify(
  $$ALTER TABLE accounts ALTER COLUMN email SET DEFAULT 'unknown';
    CREATE INDEX accounts_lower_email ON accounts (lower(email))$$,
  $$ALTER TABLE accounts ALTER COLUMN email SET DEFAULT ''$$);

\echo
\echo '--- 6. Rolling back, and DDL that no migration accounts for'
\echo
SELECT migrate_rollback();
SELECT version, state FROM migrate_status();
CREATE INDEX accounts_balance ON accounts (balance);
SELECT command_tag, statement FROM migrate_drift();

\echo
\echo '--- 7. A review report for a pull request'
\echo
SET pg_migrate.small_table_size = '64kB';   -- the demo's accounts table counts as big
\pset format unaligned
\pset tuples_only on
SELECT migrate_plan($$
    ALTER TABLE accounts ADD COLUMN region text;
    CREATE INDEX accounts_region ON accounts (region);
    UPDATE accounts SET region = 'eu' WHERE id < 100;
  $$, format => 'markdown',
  down => 'ALTER TABLE accounts DROP COLUMN region');
\pset format aligned
\pset tuples_only off

\echo
\echo '--- 8. A backfill in background workers: one batch per transaction, with progress'
\echo
CREATE TABLE events (id bigint PRIMARY KEY, payload text, kind text);
INSERT INTO events SELECT g, md5(g::text), NULL FROM generate_series(1, 300000) g;
ANALYZE events;
-- one UPDATE of every row would lock them all until it commits; instead:
SELECT migrate_batch_update('events', $$kind = CASE WHEN id % 2 = 0 THEN 'even' ELSE 'odd' END$$,
                            'kind IS NULL', batch_size => 2000) AS job \gset
SELECT pg_sleep(0.3);
SELECT id, state, rows_done, estimated_total, batches, batch_size, rate, eta, key_name
  FROM migrate_jobs WHERE id = :job;
SELECT backend_type, left(query, 60) AS what FROM pg_stat_activity
 WHERE backend_type = 'pg_migrate job';
CALL migrate_job_wait(:job, '120s');
SELECT id, state, rows_done, batches, finished_at - started_at AS took FROM migrate_jobs WHERE id = :job;
SELECT kind, count(*) FROM events GROUP BY kind ORDER BY kind;

\echo
\echo '--- 9. A migration that cannot run in a transaction: a background worker runs it'
\echo '---    statement by statement (CREATE INDEX CONCURRENTLY blocks no writer)'
\echo
-- migrate_apply refuses it (the hint says what to use instead):
SELECT migrate_apply('2026_11_03_events_kind_idx',
  'CREATE INDEX CONCURRENTLY events_kind ON events (kind)',
  'DROP INDEX CONCURRENTLY events_kind');
SELECT migrate_apply_async('2026_11_03_events_kind_idx',
  'CREATE INDEX CONCURRENTLY events_kind ON events (kind); VACUUM (ANALYZE) events',
  'DROP INDEX CONCURRENTLY events_kind') AS job \gset
CALL migrate_job_wait(:job, '120s');
SELECT id, kind, migration, state, rows_done AS statements_done, estimated_total AS statements
  FROM migrate_jobs WHERE id = :job;
SELECT version, state, applied_by FROM migrate_status() WHERE version = '2026_11_03_events_kind_idx';
SELECT indexrelid::regclass AS index, indisvalid AS valid FROM pg_index WHERE indrelid = 'events'::regclass;

\echo
\echo '--- 10. int -> bigint of a primary key that a foreign key references, online, while'
\echo '---     two pgbench clients insert and update (the plain ALTER would rewrite the'
\echo '---     table under ACCESS EXCLUSIVE and make every writer wait for it)'
\echo
CREATE TABLE customers (id int GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY CHECK (id > 0), name text);
CREATE TABLE orders (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                     customer_id int NOT NULL REFERENCES customers);
INSERT INTO customers (name) SELECT md5(g::text) FROM generate_series(1, 200000) g;
INSERT INTO orders (customer_id) SELECT g % 200000 + 1 FROM generate_series(1, 100000) g;
ANALYZE customers, orders;
\! printf '\\set c random(1, 200000)\nUPDATE customers SET name = name WHERE id = :c;\nINSERT INTO orders (customer_id) VALUES (:c);\n' > "$PGM_WORK/writers.sql"
\! pgbench -n -c 2 -T 20 -f "$PGM_WORK/writers.sql" postgres > "$PGM_WORK/writers.out" 2>&1 &
SELECT migrate_online('ALTER TABLE customers ALTER COLUMN id TYPE bigint', complete => true) AS job \gset
CALL migrate_job_wait(:job, '300s');
SELECT phase, count(*) AS steps, bool_or(blocking) AS short_lock, string_agg(DISTINCT state, ',') AS state
  FROM migrate_online_steps WHERE job_id = :job GROUP BY phase ORDER BY min(step);
SELECT state, phase, finished_at - started_at AS took FROM migrate_jobs WHERE id = :job;
-- the longest time any statement of the job held a lock that blocks writers
SELECT max(lock_held) AS longest_blocking_hold, count(*) FILTER (WHERE rewrite) AS rewrites
  FROM migrate_ddl_history WHERE application_name = 'pg_migrate job ' || :job;
SELECT format_type(atttypid, atttypmod) AS id_type FROM pg_attribute
 WHERE attrelid = 'customers'::regclass AND attname = 'id';
SELECT conrelid::regclass AS "table", conname, convalidated, pg_get_constraintdef(oid) AS def
  FROM pg_constraint WHERE conrelid IN ('customers'::regclass, 'orders'::regclass) ORDER BY 1, 2;
-- the writers' own figures, once their 20 seconds are over
\! i=0; until grep -q '^tps' "$PGM_WORK/writers.out" 2>/dev/null || [ $i -ge 90 ]; do sleep 1; i=$((i + 1)); done; grep -E '^(number of (transactions actually processed|failed)|latency average|tps)' "$PGM_WORK/writers.out"
