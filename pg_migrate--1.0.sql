/* pg_migrate--1.0.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION pg_migrate" to load this file. \quit

/*
 * House rules for this script: no CREATE OR REPLACE (installation must fail
 * rather than adopt an object someone created ahead of us); every function
 * gets SET search_path = pg_catalog, pg_temp; every reference to one of our
 * own objects is qualified with @extschema@; operators and functions from
 * pg_catalog are qualified wherever the search_path is not pinned.
 */

-- Refuse to install unless the library is preloaded.
CREATE FUNCTION @extschema@.migrate_assert_preloaded()
RETURNS void
LANGUAGE C STRICT
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'migrate_assert_preloaded';

SELECT @extschema@.migrate_assert_preloaded();

------------------------------------------------------------------------
-- DDL history
------------------------------------------------------------------------

CREATE TABLE @extschema@.migrate_ddl_history (
    id                  bigserial PRIMARY KEY,
    occurred_at         timestamptz NOT NULL,
    transaction_id      xid8 NOT NULL,
    backend_pid         integer NOT NULL,
    session_role        name NOT NULL,
    effective_role      name NOT NULL,
    application_name    text,
    client_addr         inet,
    command_tag         text NOT NULL,
    statement           text,
    objects             jsonb NOT NULL DEFAULT '[]',
    rewrite             boolean NOT NULL DEFAULT false,
    lock_mode           text,
    duration            interval NOT NULL,
    migration_version   text,
    policy_overrides    jsonb,
    toplevel            boolean NOT NULL DEFAULT true
);

CREATE INDEX migrate_ddl_history_occurred_at_idx
    ON @extschema@.migrate_ddl_history (occurred_at);

COMMENT ON TABLE @extschema@.migrate_ddl_history IS
    'One row per committed DDL statement (append-only; see migrate_history_purge)';

-- Kept by pg_dump, sequence included, so a restore reproduces it exactly.
SELECT pg_catalog.pg_extension_config_dump('@extschema@.migrate_ddl_history', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.migrate_ddl_history_id_seq', '');

-- Rows are written by the server as the table's owner; nobody else writes.
REVOKE ALL ON @extschema@.migrate_ddl_history FROM PUBLIC;
REVOKE ALL ON SEQUENCE @extschema@.migrate_ddl_history_id_seq FROM PUBLIC;
GRANT SELECT ON @extschema@.migrate_ddl_history TO pg_read_all_stats;

/*
 * Append-only even for superusers other than the owner: changing or removing
 * rows goes through migrate_history_purge(), which runs as the owner.
 */
CREATE FUNCTION @extschema@.migrate_history_guard()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF current_user::regrole <> (SELECT c.relowner::regrole
                                   FROM pg_catalog.pg_class c
                                  WHERE c.oid = TG_RELID) THEN
        RAISE EXCEPTION 'migrate_ddl_history is append-only'
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = format('%s of history rows is not allowed.', TG_OP),
                  HINT = 'A superuser can remove old rows with migrate_history_purge().';
    END IF;
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END
$$;

CREATE TRIGGER migrate_ddl_history_append_only
    BEFORE UPDATE OR DELETE ON @extschema@.migrate_ddl_history
    FOR EACH ROW EXECUTE FUNCTION @extschema@.migrate_history_guard();
CREATE TRIGGER migrate_ddl_history_no_truncate
    BEFORE TRUNCATE ON @extschema@.migrate_ddl_history
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.migrate_history_guard();

CREATE FUNCTION @extschema@.migrate_history_purge(older_than interval)
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    removed bigint;
BEGIN
    IF older_than IS NULL OR older_than < interval '0' THEN
        RAISE EXCEPTION 'older_than must be a non-negative interval'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    DELETE FROM @extschema@.migrate_ddl_history
     WHERE occurred_at < pg_catalog.now() - older_than;
    GET DIAGNOSTICS removed = ROW_COUNT;
    RAISE LOG 'pg_migrate: % removed % DDL history rows older than %',
        session_user, removed, older_than;
    RETURN removed;
END
$$;

REVOKE ALL ON FUNCTION @extschema@.migrate_history_purge(interval) FROM PUBLIC;

COMMENT ON FUNCTION @extschema@.migrate_history_purge(interval) IS
    'Remove DDL history rows older than the given age (superuser only)';

-- Event triggers: they collect objects for the row the hook writes.
CREATE FUNCTION @extschema@.migrate_on_ddl_command_end()
RETURNS event_trigger
LANGUAGE C
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'migrate_on_ddl_command_end';

CREATE FUNCTION @extschema@.migrate_on_sql_drop()
RETURNS event_trigger
LANGUAGE C
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'migrate_on_sql_drop';

CREATE FUNCTION @extschema@.migrate_on_table_rewrite()
RETURNS event_trigger
LANGUAGE C
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'migrate_on_table_rewrite';

CREATE EVENT TRIGGER migrate_ddl_command_end ON ddl_command_end
    EXECUTE FUNCTION @extschema@.migrate_on_ddl_command_end();
CREATE EVENT TRIGGER migrate_sql_drop ON sql_drop
    EXECUTE FUNCTION @extschema@.migrate_on_sql_drop();
CREATE EVENT TRIGGER migrate_table_rewrite ON table_rewrite
    EXECUTE FUNCTION @extschema@.migrate_on_table_rewrite();

------------------------------------------------------------------------
-- Versioned migrations
------------------------------------------------------------------------

CREATE TABLE @extschema@.migrate_migrations (
    version         text PRIMARY KEY
                    CHECK (pg_catalog.length(version) OPERATOR(pg_catalog.<=) 200),
    description     text,
    up              text NOT NULL,
    down            text,
    irreversible    boolean NOT NULL DEFAULT false,
    checksum        text NOT NULL,
    state           text NOT NULL CHECK (state IN ('applied', 'rolled_back')),
    applied_at      timestamptz NOT NULL,
    applied_by      name NOT NULL,
    duration        interval NOT NULL,
    retries         integer NOT NULL DEFAULT 0,
    search_path     text NOT NULL,
    apply_seq       bigint NOT NULL,
    rolled_back_at  timestamptz,
    rolled_back_by  name,
    CHECK (irreversible OPERATOR(pg_catalog.=) (down IS NULL))
);

COMMENT ON TABLE @extschema@.migrate_migrations IS
    'Every migration applied with migrate_apply, with its scripts and checksum';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.migrate_migrations', '');
REVOKE ALL ON @extschema@.migrate_migrations FROM PUBLIC;
GRANT SELECT ON @extschema@.migrate_migrations TO pg_read_all_stats;

/*
 * migrate_apply, migrate_rollback and migrate_verify run the caller's
 * scripts, which must see the caller's search_path: they are the only
 * functions here without a SET search_path clause.  Their C code pins
 * search_path to pg_catalog, pg_temp around every query of its own.
 */
CREATE FUNCTION @extschema@.migrate_apply(
    version text,
    up text,
    down text,
    description text DEFAULT NULL,
    irreversible boolean DEFAULT false)
RETURNS text
LANGUAGE C CALLED ON NULL INPUT VOLATILE
AS 'MODULE_PATHNAME', 'migrate_apply';

CREATE FUNCTION @extschema@.migrate_rollback(
    version text DEFAULT NULL,
    force boolean DEFAULT false)
RETURNS text
LANGUAGE C CALLED ON NULL INPUT VOLATILE
AS 'MODULE_PATHNAME', 'migrate_rollback';

CREATE FUNCTION @extschema@.migrate_verify(up text, down text)
RETURNS TABLE (kind text, object text, difference text, before text, after text)
LANGUAGE C CALLED ON NULL INPUT VOLATILE
AS 'MODULE_PATHNAME', 'migrate_verify';

REVOKE ALL ON FUNCTION @extschema@.migrate_apply(text, text, text, text, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.migrate_rollback(text, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.migrate_verify(text, text) FROM PUBLIC;

CREATE FUNCTION @extschema@.migrate_status()
RETURNS TABLE (version text, description text, state text, checksum text,
               applied_at timestamptz, applied_by name, duration interval,
               retries integer, irreversible boolean,
               rolled_back_at timestamptz, rolled_back_by name)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT m.version, m.description, m.state, m.checksum, m.applied_at,
           m.applied_by, m.duration, m.retries, m.irreversible,
           m.rolled_back_at, m.rolled_back_by
      FROM @extschema@.migrate_migrations m
     ORDER BY m.apply_seq
$$;

CREATE FUNCTION @extschema@.migrate_drift()
RETURNS TABLE (id bigint, occurred_at timestamptz, effective_role name,
               command_tag text, statement text, objects jsonb)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT h.id, h.occurred_at, h.effective_role, h.command_tag, h.statement, h.objects
      FROM @extschema@.migrate_ddl_history h
     WHERE h.migration_version IS NULL
       AND h.occurred_at > COALESCE((SELECT max(COALESCE(m.rolled_back_at, m.applied_at))
                                       FROM @extschema@.migrate_migrations m), '-infinity')
     ORDER BY h.id
$$;

COMMENT ON FUNCTION @extschema@.migrate_drift() IS
    'DDL recorded since the last migration was applied or rolled back that no migration accounts for';
