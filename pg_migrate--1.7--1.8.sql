/* pg_migrate--1.7--1.8.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pg_migrate UPDATE TO '1.8'" to load this file. \quit

-- ---------------------------------------------------------------------------
-- Backfills in two passes
-- ---------------------------------------------------------------------------

/*
 * A job that updates by a one-column integer key changes each range in two
 * passes: the odd keys in the batch that reaches the range, the even keys
 * in a later one, when the first pass's old row versions can be pruned and
 * the new versions fit on their page (README.md, "Background jobs").  The
 * keys of (pass2_from, next_key] have had their first pass only; the
 * second pass is recorded in the same transaction as the rows it changes,
 * so that a crash never runs it twice nor skips it.
 */
ALTER TABLE @extschema@.migrate_job_slice
    ADD COLUMN pass2_open boolean NOT NULL DEFAULT false,
    ADD COLUMN pass2_from bytea[];

COMMENT ON COLUMN @extschema@.migrate_job_slice.pass2_open IS
    'Keys in (pass2_from, next_key] have had the first of their two passes only';
COMMENT ON COLUMN @extschema@.migrate_job_slice.pass2_from IS
    'Lower bound (exclusive) of the keys waiting for their second pass; NULL: the slice''s first key';
