\set VERBOSITY default
\echo
\echo '=== pg_migrate demo ==='
\echo
CREATE EXTENSION pg_migrate;

\echo
\echo '--- 1. Every schema change is recorded: who, when, what, which objects, which lock'
\echo
CREATE TABLE accounts (id bigint PRIMARY KEY, email text, balance numeric);
INSERT INTO accounts SELECT g, 'user' || g || '@example.com', 0 FROM generate_series(1, 10000) g;
CREATE INDEX accounts_email ON accounts (email);
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
