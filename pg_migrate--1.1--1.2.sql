/* pg_migrate--1.1--1.2.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pg_migrate UPDATE TO '1.2'" to load this file. \quit

/*
 * The house rules of pg_migrate--1.0.sql apply here too: no CREATE OR
 * REPLACE, every function pinned to search_path = pg_catalog, pg_temp, every
 * reference to our own objects qualified with @extschema@.  A fresh
 * installation of 1.2 runs pg_migrate--1.0.sql, pg_migrate--1.0--1.1.sql
 * and then this script, so an upgraded database and a fresh one are built
 * by the same statements.
 *
 * Both changes make the functions what PostgreSQL's own catalog checks
 * (its opr_sanity regression test) expect of every function in a database.
 */

-- An immutable function must be parallel safe: migrate_is_rule only looks
-- the name up in the library's constant rule catalogue.
ALTER FUNCTION @extschema@.migrate_is_rule(text) PARALLEL SAFE;

-- migrate_history_purge was SECURITY DEFINER so that the history's
-- append-only trigger would let its DELETE through; the library now runs
-- that DELETE alone as the history's owner, and the function is an
-- ordinary one.
DROP FUNCTION @extschema@.migrate_history_purge(interval);

CREATE FUNCTION @extschema@.migrate_history_purge(older_than interval)
RETURNS bigint
LANGUAGE C
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'migrate_history_purge';

REVOKE ALL ON FUNCTION @extschema@.migrate_history_purge(interval) FROM PUBLIC;

COMMENT ON FUNCTION @extschema@.migrate_history_purge(interval) IS
    'Remove DDL history rows older than the given age (superuser only)';
