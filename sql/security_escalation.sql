--
-- Security: the code of a background job runs only as its submitter.
--
-- A role that owns a table controls code the job machinery runs: the
-- clauses' functions, the key type's I/O functions and domain checks,
-- triggers, and whatever that code leaves to run at commit.  Each trap
-- below makes its role a superuser when it runs as one; after each job,
-- rolsuper must still be false.
--
\set VERBOSITY terse
CREATE EXTENSION pg_migrate;
SET pg_migrate.enforce = off;
CREATE ROLE esc_a;
CREATE ROLE esc_b;
CREATE ROLE esc_c;
CREATE SCHEMA esc_a AUTHORIZATION esc_a;
CREATE SCHEMA esc_b AUTHORIZATION esc_b;
CREATE SCHEMA esc_c AUTHORIZATION esc_c;

-- The escalation: harmless as the submitter, fatal as a superuser.
CREATE FUNCTION public.esc_pwn(who name) RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
  IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
    EXECUTE pg_catalog.format('ALTER ROLE %I SUPERUSER', who);
  END IF;
  RETURN true;
END $$;

--
-- A cursor WITH HOLD declared in the batch: its query runs at commit.
-- The batch is a security-restricted operation, which refuses the cursor.
--
SET ROLE esc_a;
CREATE TABLE esc_a.t (id int PRIMARY KEY, v int);
INSERT INTO esc_a.t SELECT g, 0 FROM generate_series(1, 5) g;
CREATE FUNCTION esc_a.hold() RETURNS int LANGUAGE sql AS $$
  DECLARE esc_cur CURSOR WITH HOLD FOR SELECT public.esc_pwn('esc_a');
  SELECT 1;
$$;
SELECT migrate_batch_update('esc_a.t', 'v = esc_a.hold()', 'id = 1') AS job \gset
CALL migrate_job_wait(:job, '60s');
RESET ROLE;
SELECT state, last_error FROM migrate_jobs WHERE id = :job;
SELECT rolsuper FROM pg_roles WHERE rolname = 'esc_a';
SELECT v FROM esc_a.t WHERE id = 1;

--
-- A domain CHECK on the key's type: the worker decodes the stored keys
-- with the domain's receive function, which evaluates the check.
--
SET ROLE esc_b;
CREATE FUNCTION esc_b.chk(int) RETURNS boolean LANGUAGE sql
  AS $$ SELECT public.esc_pwn('esc_b') $$;
CREATE DOMAIN esc_b.d AS int CHECK (esc_b.chk(VALUE));
CREATE TABLE esc_b.t (id esc_b.d PRIMARY KEY, v int);
INSERT INTO esc_b.t SELECT g, 0 FROM generate_series(1, 30) g;
SELECT migrate_batch_update('esc_b.t', 'v = 1', batch_size => 7, parallel => 2) AS job \gset
CALL migrate_job_wait(:job, '60s');
RESET ROLE;
SELECT state, last_error, rows_done FROM migrate_jobs WHERE id = :job;
SELECT rolsuper FROM pg_roles WHERE rolname = 'esc_b';
SELECT count(*) FILTER (WHERE v = 1) AS updated, count(*) AS total FROM esc_b.t;

-- A domain CHECK on a field of a composite key: the composite's receive
-- function decodes each field with the field's own.
SET ROLE esc_c;
CREATE FUNCTION esc_c.chk(int) RETURNS boolean LANGUAGE sql
  AS $$ SELECT public.esc_pwn('esc_c') $$;
CREATE DOMAIN esc_c.d AS int CHECK (esc_c.chk(VALUE));
CREATE TYPE esc_c.pair AS (a esc_c.d, b int);
CREATE TABLE esc_c.t (id esc_c.pair PRIMARY KEY, v int);
INSERT INTO esc_c.t SELECT ROW(g, g)::esc_c.pair, 0 FROM generate_series(1, 20) g;
SELECT migrate_batch_update('esc_c.t', 'v = 1', batch_size => 6) AS job \gset
CALL migrate_job_wait(:job, '60s');
RESET ROLE;
SELECT state, last_error, rows_done FROM migrate_jobs WHERE id = :job;
SELECT rolsuper FROM pg_roles WHERE rolname = 'esc_c';

-- A domain whose check leaves a cursor WITH HOLD: refused at submission
-- too, where the largest key is decoded to check the statement.
SET ROLE esc_b;
CREATE FUNCTION esc_b.chk2(int) RETURNS boolean LANGUAGE sql AS $$
  DECLARE esc_cur2 CURSOR WITH HOLD FOR SELECT public.esc_pwn('esc_b');
  SELECT true;
$$;
CREATE DOMAIN esc_b.d2 AS int CHECK (esc_b.chk2(VALUE));
CREATE TABLE esc_b.t2 (id esc_b.d2 PRIMARY KEY, v int);
INSERT INTO esc_b.t2 VALUES (1, 0);
SELECT migrate_batch_update('esc_b.t2', 'v = 2');
RESET ROLE;
SELECT rolsuper FROM pg_roles WHERE rolname = 'esc_b';

--
-- Parameter references would read the job's own key bounds: refused.
--
SELECT migrate_batch_update('esc_a.t', 'v = $1');
SELECT migrate_batch_update('esc_a.t', 'v = 1', 'id > $1');
SELECT migrate_batch_update('esc_a.t', 'v = (SELECT $2::int)');
SELECT migrate_batch_delete('esc_a.t', 'id = $1');
-- in a literal or a function body it is only text
SELECT migrate_batch_update('esc_a.t', 'v = length(''$1'')', 'id = 2') AS job \gset
CALL migrate_job_wait(:job, '60s');
SELECT state, rows_done FROM migrate_jobs WHERE id = :job;
SELECT v FROM esc_a.t WHERE id = 2;

--
-- A relation OID that does not exist: undefined_table, not an internal error.
--
\set VERBOSITY sqlstate
SELECT migrate_batch_update(0::regclass, 'v = 1');
SELECT migrate_batch_delete(0::regclass, 'true');
SELECT migrate_batch_update(NULL, 'v = 1');
\set VERBOSITY terse
SELECT migrate_batch_update(0::regclass, 'v = 1');

DROP SCHEMA esc_a CASCADE;
DROP SCHEMA esc_b CASCADE;
DROP SCHEMA esc_c CASCADE;
DROP FUNCTION public.esc_pwn(name);
DROP ROLE esc_a;
DROP ROLE esc_b;
DROP ROLE esc_c;
DROP EXTENSION pg_migrate;
