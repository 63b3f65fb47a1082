/* pg_migrate--1.5--1.6.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pg_migrate UPDATE TO '1.6'" to load this file. \quit

/*
 * ---- Policy action `online` ----
 *
 * A fourth action next to deny, warn and allow: the statement runs its
 * online form (what migrate_online would do with it) instead of being
 * refused; without an online form it is refused as with deny.
 */
ALTER TABLE @extschema@.migrate_policy
    DROP CONSTRAINT migrate_policy_action_check;
ALTER TABLE @extschema@.migrate_policy
    ADD CONSTRAINT migrate_policy_action_check
    CHECK (action OPERATOR(pg_catalog.=) ANY (ARRAY['deny', 'warn', 'allow', 'online']));

COMMENT ON TABLE @extschema@.migrate_policy IS
    'What pg_migrate does about each rule: deny, warn, allow or run online, per role / schema / table pattern';

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
