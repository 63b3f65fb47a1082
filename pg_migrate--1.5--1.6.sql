/* pg_migrate--1.5--1.6.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pg_migrate UPDATE TO '1.6'" to load this file. \quit

/* ---- Online RENAME COLUMN: the mirror trigger ---- */

/*
 * The trigger that keeps a column and the second column carrying its old
 * name equal during an online RENAME COLUMN, whichever name a statement
 * writes.  It runs as whoever writes the row and only copies a value
 * between two columns of the same type of that row: it evaluates nothing
 * and looks no name up, so it needs no SET clause (which would cost a GUC
 * save and restore on every row written).
 */
CREATE FUNCTION @extschema@.migrate_online_mirror()
RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'migrate_online_mirror';

COMMENT ON FUNCTION @extschema@.migrate_online_mirror() IS
    'Trigger of online column renames: keeps a column and its old name equal';
