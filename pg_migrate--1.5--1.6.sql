/* pg_migrate--1.5--1.6.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pg_migrate UPDATE TO '1.6'" to load this file. \quit

-- ---------------------------------------------------------------------------
-- migrate_fingerprint: the catalog fingerprint migrate_verify compares
-- ---------------------------------------------------------------------------

/*
 * The entries migrate_verify compares inside one transaction, returned to
 * SQL so that two moments further apart can be compared: the schema
 * before an online change and after its abort, before a dump and after
 * its restore.  It reads only what the catalogs show every role; like
 * the other reports it is for pg_read_all_stats and superusers.
 */
CREATE FUNCTION @extschema@.migrate_fingerprint(
    OUT kind text, OUT object text, OUT definition text)
RETURNS SETOF record
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'migrate_fingerprint';

REVOKE ALL ON FUNCTION @extschema@.migrate_fingerprint() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.migrate_fingerprint() TO pg_read_all_stats;
