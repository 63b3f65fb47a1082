/* pg_migrate--1.4--1.5.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pg_migrate UPDATE TO '1.5'" to load this file. \quit

/*
 * A NULL argument that has no meaning is an error, not an empty answer:
 * migrate_check(NULL) used to return no rows, which reads as "safe", and
 * the job controls returned NULL without doing anything.  Arguments whose
 * NULL has a documented meaning (a migration version that means "the
 * latest", a WHERE clause that means "every row") keep it; the C functions
 * refuse the others with SQLSTATE 22004.  migrate_is_rule() stays STRICT:
 * a predicate used in constraints answers NULL for NULL, as SQL's own do.
 */
ALTER FUNCTION @extschema@.migrate_check(text) CALLED ON NULL INPUT;
ALTER FUNCTION @extschema@.migrate_plan(text) CALLED ON NULL INPUT;
ALTER FUNCTION @extschema@.migrate_job_pause(bigint) CALLED ON NULL INPUT;
ALTER FUNCTION @extschema@.migrate_job_resume(bigint) CALLED ON NULL INPUT;
ALTER FUNCTION @extschema@.migrate_job_cancel(bigint) CALLED ON NULL INPUT;
