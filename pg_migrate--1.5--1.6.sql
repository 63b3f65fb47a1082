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
