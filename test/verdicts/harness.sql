--
-- The verdict harness: measures on this server what each statement of a
-- corpus case really does, and compares it with what migrate_check and
-- migrate_plan said about the same script before it ran.
--
-- A case is a setup (run and committed first, then ANALYZEd) and a script
-- (an array of statements, BEGIN/COMMIT/ROLLBACK included).  Everything
-- lives in schema vc, dropped and created again for every case.  The
-- script is run by a procedure, statement by statement: a script without
-- transaction control in one transaction (as migrate_apply runs it), one
-- with BEGIN/COMMIT with the boundaries it gives (outside a block each
-- statement commits on its own, as psql runs it).  Around each statement
-- the procedure reads, in the statement's transaction:
--
--   locks       pg_locks of this backend: the modes it holds on every
--               relation of vc; a mode held after the statement and not
--               before is a lock the statement took
--   files       pg_relation_filenode() of every relation (tables by OID,
--               an index by OID, else by name: a type change builds it
--               anew under its old name): a table or materialized view
--               with a new non-empty file was rewritten (or copied, SET
--               TABLESPACE), one whose new file is empty was emptied
--               (TRUNCATE); an index with a new file, or a new index, was
--               built (or copied)
--   scans       pg_stat_xact_user_tables: heap scans started (seq_scan) and
--               the rows they read (seq_tup_read); a scan beyond the one a
--               rewrite makes and the one each index build makes, reading
--               rows beyond theirs, checked the rows (a constraint, NOT
--               NULL, a partition bound, a domain)
--   data        pg_class / pg_attribute: tables, indexes and columns gone
--               or renamed; after an ALTER TABLE, a fingerprint of every
--               column's values (each cast back to its old type); rows
--               updated or deleted per table
--
-- Parallel workers are switched off: their scans would be counted in their
-- own backends.
--
-- What the check must say follows from the measurement, for relations that
-- existed before the script ("pre-existing") and had data ("populated"):
--
--   measured                                    finding expected
--   table rewritten or copied                   table_rewrite
--   index built or copied, table not rewritten  blocking_index_build
--   rows checked by a scan while this backend   validating_scan, not_null_scan
--     holds ShareLock or stronger on the table    or add_required_column
--     (not for DML, not for materialized views)   (the referenced table of a
--                                                  validated foreign key is
--                                                  covered by the finding on
--                                                  the referencing table)
--   table emptied                               truncate
--   table gone (any size)                       drop_table
--   index gone, its table populated and kept    blocking_index_drop
--   column gone or its values replaced;         drop_column / rename_column /
--     column renamed; table renamed              rename_table
--   DML updated or deleted more rows of a       large_dml
--     table than pg_migrate.max_migration_rows
--   the statement failed                        action "error", or
--                                                add_required_column
--
-- A finding on a partitioned table covers what happens to its partitions.
-- A finding with no measurement behind it is wrong too.  Locks: for every
-- pre-existing table, partitioned table, materialized view (and index the
-- plan names) the strongest mode the statement took must be the lock_mode
-- migrate_plan gives it (a mode asked for while already held is accepted
-- when it is no stronger than what is held).  migrate_check itself must
-- not scan, rewrite or build anything of a populated table.
--

SET client_min_messages = warning;
DROP SCHEMA IF EXISTS verdicts CASCADE;
CREATE SCHEMA verdicts;
RESET client_min_messages;

CREATE TABLE verdicts.cases (
    name    text PRIMARY KEY,
    class   text NOT NULL,            -- what the case is about (the issue's class)
    setup   text NOT NULL,
    script  text[] NOT NULL,
    min_version integer NOT NULL DEFAULT 0
);

-- Relations of vc before the script: the pre-existing ones.
CREATE TABLE verdicts.pre (
    name text, oid oid, relname text, relkind "char", populated boolean,
    parent text,                      -- the table of an index
    ancestors text[]                  -- tables it inherits from (partitions)
);

-- One snapshot of vc around one statement.
CREATE TABLE verdicts.snap (
    name text, stmt integer, phase text,       -- 'before' / 'after'
    relname text, oid oid, relkind "char", filenode oid, size bigint,
    parent text,                      -- the table of an index
    scans bigint,                     -- heap scans started (seq_scan)
    tup_read bigint,                  -- rows they read (seq_tup_read)
    changed bigint,                   -- rows updated or deleted
    nrows bigint,                     -- rows of a table (count(*), before only)
    attrs text[],
    refs text[]                       -- tables its foreign keys reference
);
CREATE TABLE verdicts.locks (
    name text, stmt integer, phase text, oid oid, mode integer
);
-- Fingerprints of the values of every column of the populated tables.
CREATE TABLE verdicts.fp (
    name text, stmt integer, phase text, oid oid, attnum integer, fp numeric
);

-- What happened, per statement.
CREATE TABLE verdicts.ran (
    name text, stmt integer, text text, in_block boolean,
    error text, sqlstate text, rows bigint, is_dml boolean
);

-- What the check and the plan said.
CREATE TABLE verdicts.found (
    name text, stmt integer, rule text, action text, relation text, message text
);
CREATE TABLE verdicts.planned (
    name text, stmt integer, relation text, lock_mode text
);

CREATE FUNCTION verdicts.mode_rank(m text) RETURNS integer
LANGUAGE sql IMMUTABLE AS $$
    SELECT array_position(ARRAY['AccessShareLock', 'RowShareLock', 'RowExclusiveLock',
        'ShareUpdateExclusiveLock', 'ShareLock', 'ShareRowExclusiveLock',
        'ExclusiveLock', 'AccessExclusiveLock'], m)
$$;
CREATE FUNCTION verdicts.mode_name(r integer) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT (ARRAY['AccessShareLock', 'RowShareLock', 'RowExclusiveLock',
        'ShareUpdateExclusiveLock', 'ShareLock', 'ShareRowExclusiveLock',
        'ExclusiveLock', 'AccessExclusiveLock'])[r]
$$;

-- The name every report uses for a relation: the one migrate_plan prints.
CREATE FUNCTION verdicts.qname(r oid) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT format('%I.%I', n.nspname, c.relname)
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.oid = r
$$;

-- The rows of each table before a statement (take_snapshot's scratch).
CREATE TEMP TABLE verdicts_nrows (oid oid, n bigint);

CREATE PROCEDURE verdicts.take_snapshot(p_name text, p_stmt integer, p_phase text)
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    n bigint;
BEGIN
    -- Rows first: counting them scans, and the counters are read after.
    TRUNCATE verdicts_nrows;
    IF p_phase = 'before' THEN
        FOR r IN SELECT c.oid FROM pg_class c
                  WHERE c.relnamespace = 'vc'::regnamespace AND c.relkind = 'r' LOOP
            EXECUTE format('SELECT count(*) FROM %s', r.oid::regclass) INTO n;
            INSERT INTO verdicts_nrows VALUES (r.oid, n);
        END LOOP;
    END IF;
    INSERT INTO verdicts.snap
    SELECT p_name, p_stmt, p_phase, verdicts.qname(c.oid), c.oid, c.relkind,
           pg_relation_filenode(c.oid),
           CASE WHEN c.relkind IN ('r', 'm', 'i', 't') THEN pg_relation_size(c.oid) END,
           CASE WHEN c.relkind IN ('i', 'I') THEN verdicts.qname(x.indrelid) END,
           COALESCE(pg_stat_get_xact_numscans(c.oid), 0),
           COALESCE(pg_stat_get_xact_tuples_returned(c.oid), 0),
           COALESCE(pg_stat_get_xact_tuples_updated(c.oid), 0)
             + COALESCE(pg_stat_get_xact_tuples_deleted(c.oid), 0),
           (SELECT k.n FROM verdicts_nrows k WHERE k.oid = c.oid),
           ARRAY(SELECT a.attnum || ':' || a.attname FROM pg_attribute a
                  WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                  ORDER BY a.attnum),
           ARRAY(SELECT DISTINCT verdicts.qname(k.confrelid) FROM pg_constraint k
                  WHERE k.conrelid = c.oid AND k.contype = 'f')
      FROM pg_class c
      LEFT JOIN pg_index x ON x.indexrelid = c.oid
     WHERE c.relnamespace = 'vc'::regnamespace
       AND c.relkind IN ('r', 'p', 'm', 'i', 'I', 'f');
    INSERT INTO verdicts.locks
    SELECT p_name, p_stmt, p_phase, l.relation, max(verdicts.mode_rank(l.mode))
      FROM pg_locks l
     WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND l.granted
       AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
     GROUP BY l.relation;
END
$$;

-- The values of every column of the pre-existing populated tables, as a
-- sum of hashes of their text forms; after the statement each value is
-- first cast back to the column's type before it (a type change that keeps
-- every value keeps the fingerprint).
CREATE PROCEDURE verdicts.take_fingerprints(p_name text, p_stmt integer, p_phase text)
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    a record;
    v numeric;
BEGIN
    FOR r IN SELECT p.oid FROM verdicts.pre p
              WHERE p.name = p_name AND p.relkind = 'r' AND p.populated
                AND EXISTS (SELECT FROM pg_class c WHERE c.oid = p.oid) LOOP
        FOR a IN SELECT att.attnum, att.attname,
                        (SELECT format_type(x.atttypid, x.atttypmod)
                           FROM verdicts.fp_types x
                          WHERE x.name = p_name AND x.oid = r.oid AND x.attnum = att.attnum) AS oldtype
                   FROM pg_attribute att
                  WHERE att.attrelid = r.oid AND att.attnum > 0 AND NOT att.attisdropped LOOP
            BEGIN
                EXECUTE format('SELECT sum(hashtext(%s::text)) FROM %s',
                               CASE WHEN p_phase = 'after' AND a.oldtype IS NOT NULL
                                    THEN format('(%I)::%s', a.attname, a.oldtype)
                                    ELSE quote_ident(a.attname) END,
                               r.oid::regclass) INTO v;
            EXCEPTION WHEN OTHERS THEN
                v := NULL;
            END;
            INSERT INTO verdicts.fp VALUES (p_name, p_stmt, p_phase, r.oid, a.attnum, v);
        END LOOP;
        IF p_phase = 'before' THEN
            DELETE FROM verdicts.fp_types WHERE name = p_name AND oid = r.oid;
            INSERT INTO verdicts.fp_types
            SELECT p_name, r.oid, att.attnum, att.atttypid, att.atttypmod
              FROM pg_attribute att
             WHERE att.attrelid = r.oid AND att.attnum > 0 AND NOT att.attisdropped;
        END IF;
    END LOOP;
END
$$;
CREATE TABLE verdicts.fp_types (name text, oid oid, attnum integer, atttypid oid, atttypmod integer);

CREATE PROCEDURE verdicts.run_case(p_name text)
LANGUAGE plpgsql AS $$
DECLARE
    c verdicts.cases;
    i integer;
    s text;
    in_block boolean := false;
    err text;
    state text;
    nrows bigint;
    is_dml boolean;
    fingerprint boolean;
    one_transaction boolean;
    script text;
    r record;
BEGIN
    SELECT * INTO c FROM verdicts.cases WHERE name = p_name;
    PERFORM set_config('pg_migrate.enforce', 'off', false);
    PERFORM set_config('client_min_messages', 'warning', false);
    DROP SCHEMA IF EXISTS vc CASCADE;
    CREATE SCHEMA vc;
    PERFORM set_config('client_min_messages', 'notice', false);
    PERFORM set_config('search_path', 'vc, public', false);
    EXECUTE c.setup;
    FOR r IN SELECT oid FROM pg_class WHERE relnamespace = 'vc'::regnamespace
                AND relkind IN ('r', 'm') LOOP
        EXECUTE format('ANALYZE %s', r.oid::regclass);
    END LOOP;
    COMMIT;

    INSERT INTO verdicts.pre
    SELECT p_name, c2.oid, verdicts.qname(c2.oid), c2.relkind,
           CASE c2.relkind
               WHEN 'p' THEN EXISTS (SELECT FROM pg_partition_tree(c2.oid) t
                                      WHERE t.isleaf AND pg_relation_size(t.relid) > 0)
               WHEN 'I' THEN false
               ELSE pg_relation_size(c2.oid) > 0 END,
           CASE WHEN c2.relkind IN ('i', 'I') THEN verdicts.qname(x.indrelid) END,
           ARRAY(WITH RECURSIVE up(relid) AS (
                     SELECT inhparent FROM pg_inherits WHERE inhrelid = c2.oid
                     UNION SELECT i.inhparent FROM pg_inherits i JOIN up ON i.inhrelid = up.relid)
                 SELECT verdicts.qname(relid) FROM up)
      FROM pg_class c2 LEFT JOIN pg_index x ON x.indexrelid = c2.oid
     WHERE c2.relnamespace = 'vc'::regnamespace
       AND c2.relkind IN ('r', 'p', 'm', 'i', 'I', 'f');

    -- The verdicts, on the catalog as the setup left it.
    script := array_to_string(c.script, E';\n');
    PERFORM set_config('pg_migrate.enforce', 'on', false);
    CALL verdicts.take_snapshot(p_name, 0, 'before');
    INSERT INTO verdicts.found
    SELECT p_name, statement_number, f.rule, f.action, f.relation, f.message
      FROM migrate_check(script) f;
    INSERT INTO verdicts.planned
    SELECT p_name, statement_no, p.relation, p.lock_mode
      FROM migrate_plan(script) p WHERE p.relation IS NOT NULL;
    CALL verdicts.take_snapshot(p_name, 0, 'after');
    PERFORM set_config('pg_migrate.enforce', 'off', false);
    COMMIT;

    -- A script without transaction control runs in one transaction, as
    -- migrate_apply runs it; with BEGIN/COMMIT in it, statements outside a
    -- block commit one by one, as psql runs them.
    one_transaction := NOT EXISTS (
        SELECT FROM unnest(c.script) x
         WHERE x ~* '^\s*(begin|start\s+transaction|commit|end|rollback|abort)\M');
    in_block := one_transaction;
    FOR i IN 1 .. array_length(c.script, 1) LOOP
        s := c.script[i];
        IF s ~* '^\s*(begin|start\s+transaction)\M' THEN
            in_block := true;
            CONTINUE;
        ELSIF s ~* '^\s*(commit|end)\M' THEN
            COMMIT;
            in_block := false;
            CONTINUE;
        ELSIF s ~* '^\s*(rollback|abort)\M' THEN
            ROLLBACK;
            in_block := false;
            CONTINUE;
        END IF;
        is_dml := s ~* '^\s*(update|delete|insert|merge|with|select)\M';
        -- values change only through ALTER TABLE (a type change, USING)
        fingerprint := s ~* '^\s*alter\s+table\M';
        IF fingerprint THEN
            CALL verdicts.take_fingerprints(p_name, i, 'before');
        END IF;
        CALL verdicts.take_snapshot(p_name, i, 'before');
        PERFORM set_config('client_min_messages', 'warning', false);
        err := NULL;
        state := NULL;
        nrows := NULL;
        BEGIN
            EXECUTE s;
            GET DIAGNOSTICS nrows = ROW_COUNT;
        EXCEPTION WHEN OTHERS THEN
            err := SQLERRM;
            state := SQLSTATE;
        END;
        PERFORM set_config('client_min_messages', 'notice', false);
        CALL verdicts.take_snapshot(p_name, i, 'after');
        IF fingerprint AND err IS NULL THEN
            CALL verdicts.take_fingerprints(p_name, i, 'after');
        END IF;
        INSERT INTO verdicts.ran VALUES (p_name, i, s, in_block, err, state, nrows, is_dml);
        IF NOT in_block THEN
            COMMIT;
        END IF;
    END LOOP;
    IF in_block THEN
        COMMIT;
    END IF;
    PERFORM set_config('client_min_messages', 'warning', false);
    DROP SCHEMA vc CASCADE;
    PERFORM set_config('client_min_messages', 'notice', false);
    PERFORM set_config('search_path', 'public', false);
    COMMIT;
END
$$;

-- Each pre-existing relation as each statement found it and left it.
-- Tables keep their OID; an index rebuilt by a type change is a new index
-- of the same name, one taken over by ADD CONSTRAINT ... USING INDEX keeps
-- its OID under a new name: an index is followed by OID, else by name.
CREATE VIEW verdicts.pairs AS
SELECT p.name, r.stmt, p.relname AS pre_relname, p.relkind, p.populated,
       p.parent AS pre_parent, p.ancestors, r.is_dml, r.error IS NOT NULL AS failed,
       b.oid AS b_oid, b.relname AS b_relname, b.filenode AS b_filenode, b.size AS b_size,
       b.scans AS b_scans, b.tup_read AS b_tup_read, b.changed AS b_changed,
       b.nrows AS b_nrows, b.attrs AS b_attrs, b.parent AS b_parent,
       a.oid AS a_oid, a.relname AS a_relname, a.filenode AS a_filenode, a.size AS a_size,
       a.scans AS a_scans, a.tup_read AS a_tup_read, a.changed AS a_changed,
       a.attrs AS a_attrs, a.refs AS a_refs
  FROM verdicts.pre p
  JOIN verdicts.ran r ON r.name = p.name
  CROSS JOIN LATERAL (
        SELECT * FROM verdicts.snap b
         WHERE b.name = p.name AND b.stmt = r.stmt AND b.phase = 'before'
           AND (b.oid = p.oid
                OR (p.relkind = 'i' AND b.relname = p.relname AND b.relkind = 'i'
                    AND NOT EXISTS (SELECT FROM verdicts.snap b2
                                     WHERE b2.name = p.name AND b2.stmt = r.stmt
                                       AND b2.phase = 'before' AND b2.oid = p.oid)))
         LIMIT 1) b
  LEFT JOIN LATERAL (
        SELECT * FROM verdicts.snap a
         WHERE a.name = p.name AND a.stmt = r.stmt AND a.phase = 'after'
           AND (a.oid = b.oid
                OR (p.relkind = 'i' AND a.relname = b.relname AND a.relkind = 'i'
                    AND NOT EXISTS (SELECT FROM verdicts.snap a2
                                     WHERE a2.name = p.name AND a2.stmt = r.stmt
                                       AND a2.phase = 'after' AND a2.oid = b.oid)))
         LIMIT 1) a ON true
 WHERE r.stmt > 0;

-- What was measured, per case, statement and pre-existing relation.
CREATE VIEW verdicts.effects AS
WITH idx AS (
        -- indexes of each table that have a new file after the statement
        -- (rebuilt, copied or new)
        SELECT a.name, a.stmt, a.parent AS relname, count(*) AS changed
          FROM verdicts.snap a
         WHERE a.phase = 'after' AND a.stmt > 0 AND a.relkind = 'i' AND a.size IS NOT NULL
           AND NOT EXISTS (
                SELECT FROM verdicts.snap b
                 WHERE b.name = a.name AND b.stmt = a.stmt AND b.phase = 'before'
                   AND b.relkind = 'i' AND b.filenode = a.filenode)
         GROUP BY 1, 2, 3),
     lk AS (
        SELECT x.name, x.stmt, x.b_oid,
               max(l2.mode) AS held_after,
               max(l2.mode) FILTER (WHERE l2.mode > COALESCE(
                   (SELECT l1.mode FROM verdicts.locks l1
                     WHERE l1.name = x.name AND l1.stmt = x.stmt AND l1.phase = 'before'
                       AND l1.oid = x.b_oid), 0)) AS took
          FROM verdicts.pairs x
          JOIN verdicts.locks l2 ON l2.name = x.name AND l2.stmt = x.stmt
                                AND l2.phase = 'after' AND l2.oid = x.b_oid
         GROUP BY 1, 2, 3),
     vals AS (
        -- columns still there whose values are not what they were
        SELECT fb.name, fb.stmt, fb.oid, count(*) AS replaced
          FROM verdicts.fp fb
          JOIN verdicts.fp fa ON fa.name = fb.name AND fa.stmt = fb.stmt AND fa.oid = fb.oid
                             AND fa.attnum = fb.attnum AND fa.phase = 'after'
         WHERE fb.phase = 'before' AND fa.fp IS DISTINCT FROM fb.fp
         GROUP BY 1, 2, 3)
SELECT x.name, x.stmt, x.pre_relname AS relname, x.relkind, x.populated,
       x.pre_parent AS parent, x.ancestors, x.a_refs AS refs, x.is_dml, x.failed,
       lk.took, lk.held_after,
       -- a table or materialized view with a new non-empty file: rewritten or copied
       (x.relkind IN ('r', 'm') AND x.a_oid IS NOT NULL AND x.a_filenode <> x.b_filenode
        AND x.a_size > 0) AS rewritten,
       (x.relkind IN ('r', 'm') AND x.a_oid IS NOT NULL AND x.a_filenode <> x.b_filenode
        AND x.a_size = 0 AND x.b_size > 0) AS emptied,
       CASE WHEN x.relkind = 'r' THEN COALESCE(idx.changed, 0) END AS indexes_changed,
       CASE WHEN x.relkind IN ('r', 'm') THEN x.a_scans - x.b_scans END AS scans,
       CASE WHEN x.relkind IN ('r', 'm') THEN x.a_tup_read - x.b_tup_read END AS rows_read,
       x.b_nrows AS nrows,
       CASE WHEN x.relkind = 'r' THEN x.a_changed - x.b_changed END AS rows_changed,
       (x.a_oid IS NULL) AS gone,
       (x.a_oid IS NOT NULL AND x.a_relname <> x.b_relname) AS renamed,
       ARRAY(SELECT c FROM unnest(x.b_attrs) c
              WHERE split_part(c, ':', 1) NOT IN
                    (SELECT split_part(d, ':', 1) FROM unnest(x.a_attrs) d)) AS cols_gone,
       ARRAY(SELECT c FROM unnest(x.b_attrs) c
              WHERE split_part(c, ':', 1) IN (SELECT split_part(d, ':', 1) FROM unnest(x.a_attrs) d)
                AND c NOT IN (SELECT d FROM unnest(x.a_attrs) d)) AS cols_renamed,
       COALESCE(vals.replaced, 0) AS cols_replaced
  FROM verdicts.pairs x
  LEFT JOIN idx ON idx.name = x.name AND idx.stmt = x.stmt AND idx.relname = x.a_relname
  LEFT JOIN lk ON lk.name = x.name AND lk.stmt = x.stmt AND lk.b_oid = x.b_oid
  LEFT JOIN vals ON vals.name = x.name AND vals.stmt = x.stmt AND vals.oid = x.b_oid;

-- What the check must have said, from what was measured (see the header).
CREATE VIEW verdicts.expected AS
SELECT e.name, e.stmt, k.kind, e.relname
  FROM verdicts.effects e
  CROSS JOIN LATERAL (VALUES
    ('rewrite', e.populated AND e.rewritten),
    ('build', e.populated AND NOT e.rewritten AND NOT e.emptied AND e.indexes_changed > 0),
    -- rows read beyond what a rewrite and the index builds read, by a
    -- scan of its own, under a lock that blocks writes
    ('scan', e.populated AND e.relkind = 'r' AND NOT e.is_dml
             AND e.scans - e.rewritten::int - e.indexes_changed > 0
             AND e.rows_read - e.nrows * (e.rewritten::int + e.indexes_changed) > 0
             AND e.held_after >= 5),
    ('truncate', e.emptied AND e.relkind = 'r'),
    ('drop_table', e.gone AND e.relkind IN ('r', 'p')),
    ('index_drop', e.gone AND e.relkind = 'i'
                   AND (SELECT p2.populated FROM verdicts.pre p2
                         WHERE p2.name = e.name AND p2.relname = e.parent)
                   AND EXISTS (SELECT FROM verdicts.snap t
                                WHERE t.name = e.name AND t.stmt = e.stmt AND t.phase = 'after'
                                  AND t.relname = e.parent)),
    ('drop_column', NOT e.gone AND NOT e.emptied AND e.relkind IN ('r', 'p')
                    AND (cardinality(e.cols_gone) > 0 OR (NOT e.is_dml AND e.cols_replaced > 0))),
    ('rename_column', NOT e.gone AND e.relkind IN ('r', 'p', 'm', 'f') AND cardinality(e.cols_renamed) > 0),
    ('rename_table', e.renamed AND e.relkind IN ('r', 'p', 'm', 'f'))
  ) AS k(kind, holds)
 WHERE k.holds AND NOT e.failed
UNION ALL
SELECT e.name, e.stmt, 'large_dml', e.relname FROM verdicts.effects e
 WHERE e.is_dml AND NOT e.failed AND e.relkind = 'r'
   AND e.rows_changed > current_setting('pg_migrate.max_migration_rows')::bigint
UNION ALL
SELECT r.name, r.stmt, 'error', NULL FROM verdicts.ran r WHERE r.error IS NOT NULL;

-- What the check said, in the same terms.
CREATE VIEW verdicts.said AS
SELECT f.name, f.stmt,
       CASE WHEN f.rule IS NULL THEN f.action
            WHEN f.rule = 'table_rewrite' THEN 'rewrite'
            WHEN f.rule = 'blocking_index_build' THEN 'build'
            WHEN f.rule IN ('validating_scan', 'not_null_scan', 'add_required_column') THEN 'scan'
            WHEN f.rule = 'blocking_index_drop' THEN 'index_drop'
            ELSE f.rule END AS kind,
       f.rule, f.relation AS relname
  FROM verdicts.found f;

-- Measured facts without the finding they call for.
CREATE VIEW verdicts.missed AS
SELECT x.* FROM verdicts.expected x
 WHERE NOT EXISTS (
    SELECT FROM verdicts.said s
     WHERE s.name = x.name AND s.stmt = x.stmt
       AND (s.kind = x.kind
            -- a statement that fails: the check said it fails, or that it
            -- adds a required column to a populated table
            OR (x.kind = 'error' AND s.rule = 'add_required_column'))
       AND (x.relname IS NULL OR s.relname = x.relname
            OR s.relname = ANY (COALESCE((SELECT p.ancestors FROM verdicts.pre p
                                  WHERE p.name = x.name AND p.relname = x.relname), '{}'))
            -- an index dropped: the finding names its table
            OR s.relname = (SELECT p.parent FROM verdicts.pre p
                             WHERE p.name = x.name AND p.relname = x.relname)
            -- the referenced table read by a foreign key's validation
            OR (x.kind = 'scan' AND s.rule = 'validating_scan' AND x.relname = ANY (COALESCE(
                  (SELECT t.refs FROM verdicts.snap t
                    WHERE t.name = x.name AND t.stmt = x.stmt AND t.phase = 'after'
                      AND t.relname = s.relname), '{}')))));

-- Findings without a measurement behind them.
CREATE VIEW verdicts.wrong AS
SELECT s.* FROM verdicts.said s
 WHERE s.kind NOT IN ('unchecked')
   AND NOT EXISTS (
    SELECT FROM verdicts.expected x
     WHERE x.name = s.name AND x.stmt = s.stmt
       AND (x.kind = s.kind OR (x.kind = 'error' AND s.rule = 'add_required_column'))
       AND (x.relname IS NULL OR s.relname IS NULL OR s.relname = x.relname
            OR s.relname = ANY (COALESCE((SELECT p.ancestors FROM verdicts.pre p
                                  WHERE p.name = x.name AND p.relname = x.relname), '{}'))
            OR s.relname = (SELECT p.parent FROM verdicts.pre p
                             WHERE p.name = x.name AND p.relname = x.relname)))
   -- a scan finding on a table that is rewritten: the rewrite checks the
   -- rows as it copies them
   AND NOT (s.kind = 'scan' AND EXISTS (
    SELECT FROM verdicts.expected x
     WHERE x.name = s.name AND x.stmt = s.stmt AND x.kind = 'rewrite'
       AND (x.relname = s.relname OR s.relname = ANY (COALESCE((SELECT p.ancestors FROM verdicts.pre p
                                  WHERE p.name = x.name AND p.relname = x.relname), '{}')))));

-- Locks: the strongest mode a statement took on each pre-existing relation
-- against the lock_mode of its migrate_plan row (modes weaker than
-- ShareUpdateExclusiveLock block no reader or writer and are compared only
-- when the plan names a stronger one).
CREATE VIEW verdicts.lock_mismatch AS
SELECT e.name, e.stmt, e.relname,
       verdicts.mode_name(e.took) AS took,
       verdicts.mode_name(e.held_after) AS held,
       pl.lock_mode AS planned
  FROM verdicts.effects e
  LEFT JOIN verdicts.planned pl ON pl.name = e.name AND pl.stmt = e.stmt AND pl.relation = e.relname
 WHERE NOT e.failed
   AND (e.relkind IN ('r', 'p', 'm', 'f') OR (e.relkind = 'i' AND pl.relation IS NOT NULL))
   AND CASE
         WHEN e.took IS NOT NULL AND e.took >= 4 THEN
              pl.lock_mode IS DISTINCT FROM verdicts.mode_name(e.took)
         WHEN pl.lock_mode IS NOT NULL AND verdicts.mode_rank(pl.lock_mode) >= 4 THEN
              verdicts.mode_rank(pl.lock_mode) > COALESCE(e.held_after, 0)
              OR (e.took IS NOT NULL AND verdicts.mode_rank(pl.lock_mode) <> e.took)
         ELSE false
       END;

-- migrate_check and migrate_plan read the rows of, rewrote or built
-- something of a populated table to reach their verdicts.
CREATE VIEW verdicts.check_cost_seen AS
SELECT p.name, p.relname,
       a.tup_read - b.tup_read AS rows_read,
       a.filenode IS DISTINCT FROM b.filenode AS file_changed
  FROM verdicts.pre p
  JOIN verdicts.snap b ON b.name = p.name AND b.stmt = 0 AND b.phase = 'before' AND b.oid = p.oid
  JOIN verdicts.snap a ON a.name = p.name AND a.stmt = 0 AND a.phase = 'after' AND a.oid = p.oid
 WHERE (p.populated OR (p.relkind = 'i' AND (SELECT q.populated FROM verdicts.pre q
                                               WHERE q.name = p.name AND q.relname = p.parent)))
   AND ((p.relkind IN ('r', 'm') AND a.tup_read > b.tup_read)
        OR a.filenode IS DISTINCT FROM b.filenode);

-- One line per case: what was measured, what the check said, and every
-- disagreement.
CREATE VIEW verdicts.report AS
SELECT c.name, c.class,
       NOT EXISTS (SELECT FROM verdicts.missed m WHERE m.name = c.name)
       AND NOT EXISTS (SELECT FROM verdicts.wrong w WHERE w.name = c.name)
       AND NOT EXISTS (SELECT FROM verdicts.lock_mismatch l WHERE l.name = c.name)
       AND NOT EXISTS (SELECT FROM verdicts.check_cost_seen k WHERE k.name = c.name) AS agree,
       (SELECT string_agg(t, '; ' ORDER BY t) FROM (
          SELECT DISTINCT x.stmt || ' ' || x.kind || COALESCE(' ' || x.relname, '') AS t
            FROM verdicts.expected x WHERE x.name = c.name
          UNION
          SELECT DISTINCT e.stmt || ' lock ' || e.relname || ' ' || verdicts.mode_name(e.took)
            FROM verdicts.effects e
           WHERE e.name = c.name AND e.took >= 4 AND NOT e.failed
             AND e.relkind IN ('r', 'p', 'm', 'f', 'i')) m) AS measured,
       (SELECT string_agg(t, '; ' ORDER BY t) FROM (
          SELECT DISTINCT s.stmt || ' ' || COALESCE(s.rule, s.kind) || COALESCE(' ' || s.relname, '') AS t
            FROM verdicts.said s WHERE s.name = c.name) f) AS said,
       (SELECT string_agg(t, '; ' ORDER BY t) FROM (
          SELECT 'missed: ' || m.stmt || ' ' || m.kind || COALESCE(' ' || m.relname, '') AS t
            FROM verdicts.missed m WHERE m.name = c.name
          UNION ALL
          SELECT 'wrong: ' || w.stmt || ' ' || COALESCE(w.rule, w.kind) || COALESCE(' ' || w.relname, '')
            FROM verdicts.wrong w WHERE w.name = c.name
          UNION ALL
          SELECT 'lock: ' || l.stmt || ' ' || l.relname || ' took ' || COALESCE(l.took, 'none')
                 || ', plan says ' || COALESCE(l.planned, 'none')
            FROM verdicts.lock_mismatch l WHERE l.name = c.name
          UNION ALL
          SELECT 'check itself: ' || k.relname || CASE WHEN k.file_changed THEN ' rewritten' ELSE '' END
                 || CASE WHEN k.rows_read > 0 THEN ' read' ELSE '' END
            FROM verdicts.check_cost_seen k WHERE k.name = c.name) d) AS disagreements
  FROM verdicts.cases c
 WHERE EXISTS (SELECT FROM verdicts.ran r WHERE r.name = c.name);

CREATE PROCEDURE verdicts.run_all()
LANGUAGE plpgsql AS $$
DECLARE
    n text;
BEGIN
    FOR n IN SELECT name FROM verdicts.cases
              WHERE min_version <= current_setting('server_version_num')::int
              ORDER BY name LOOP
        CALL verdicts.run_case(n);
    END LOOP;
END
$$;
