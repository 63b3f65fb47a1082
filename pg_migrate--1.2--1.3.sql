/* pg_migrate--1.2--1.3.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pg_migrate UPDATE TO '1.3'" to load this file. \quit

/*
 * The house rules of pg_migrate--1.0.sql apply here too: no CREATE OR
 * REPLACE, every function pinned to search_path = pg_catalog, pg_temp, every
 * reference to our own objects qualified with @extschema@.
 *
 * Two scopes for migrate_policy, for the tools that run beside pg_migrate
 * and cannot call migrate_override() (README, "Living with other tools"):
 *
 *   extension_name  the relation lives in a schema that belongs to that
 *                   extension (or is itself one of its members): the
 *                   extension's private working objects, such as the
 *                   copies pg_repack builds in its schema "repack".
 *                   Membership of an extension is recorded by PostgreSQL
 *                   for objects its script creates; only the extension's
 *                   owner can add others, so no ordinary role can bring a
 *                   table of its own under such a row.
 *   partition_of    the relation is a partition (at any depth) of that
 *                   table: "pg_partman may drop the expired partitions of
 *                   events".
 *
 * Both weigh like the scopes they refine: extension_name like schema_name
 * (1), partition_of like table_pattern (2).
 */
ALTER TABLE @extschema@.migrate_policy
    ADD COLUMN extension_name name
        CONSTRAINT migrate_policy_extension_check
        CHECK (extension_name OPERATOR(pg_catalog.<>) ''),
    ADD COLUMN partition_of regclass;

/*
 * Shipped: pg_repack may build indexes without CONCURRENTLY on, and drop,
 * the tables in its own schema.  They are its copy of a user's table (built
 * while no one else can use it) and its log of changes; the user's own
 * table is only ever locked for the swap, under the bounded lock_timeout.
 */
INSERT INTO @extschema@.migrate_policy (rule, action, extension_name, note, shipped)
VALUES ('blocking_index_build', 'allow', 'pg_repack',
        'shipped: pg_repack builds the indexes of its private copy of a table', true),
       ('drop_table', 'allow', 'pg_repack',
        'shipped: pg_repack drops its private copy and log of a table', true);
