--
-- What PostgreSQL's own regression suite expects of every database stays
-- true with pg_migrate installed (the whole suite runs in
-- `bash test/run.sh pgcore`; these are the cases it once found).
--
\set VERBOSITY terse
CREATE EXTENSION pg_migrate;
SET pg_migrate.enforce = off;

-- opr_sanity: no SECURITY DEFINER function, and every immutable function
-- parallel safe.
SELECT p.proname, p.prosecdef, p.provolatile, p.proparallel
  FROM pg_proc p
  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
   AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'pg_migrate'
 WHERE p.prosecdef OR (p.provolatile = 'i' AND p.proparallel = 'u');

-- stats: a table dropped in the transaction that wrote to it shows no
-- transactional counters any more, as without pg_migrate: DDL whose lock
-- is free runs without the lock-timeout subtransaction.
CREATE TABLE ci_t (i int);
SELECT 'ci_t'::regclass::oid AS ci_oid \gset
BEGIN;
INSERT INTO ci_t VALUES (1);
SELECT pg_stat_get_xact_tuples_inserted(:ci_oid) AS inserted_before_drop;
DROP TABLE ci_t;
SELECT pg_stat_get_xact_tuples_inserted(:ci_oid) AS inserted_after_drop;
COMMIT;

-- sequence: lastval() is the session's own (see history_lastval.sql).
CREATE SEQUENCE ci_seq;
SELECT nextval('ci_seq');
CREATE TABLE ci_v (i int);
SELECT lastval();
DROP TABLE ci_v;
DROP SEQUENCE ci_seq;

DROP EXTENSION pg_migrate;
