-- Online type change of keys: a primary key referenced by foreign keys,
-- UNIQUE and CHECK constraints on the column, serial and identity
-- columns.  Every abort must give back the catalog and the data exactly.
\set VERBOSITY terse
CREATE EXTENSION pg_migrate;
SET pg_migrate.small_table_size = 0;

CREATE TABLE parent (id int PRIMARY KEY CHECK (id > 0), code int NOT NULL UNIQUE,
                     qty int CHECK (qty >= 0), label text);
CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent ON DELETE CASCADE);
CREATE TABLE ser (id serial PRIMARY KEY, a int);
CREATE TABLE idt (id int GENERATED ALWAYS AS IDENTITY (START WITH 10 INCREMENT BY 2) PRIMARY KEY, a int);
INSERT INTO parent SELECT g, g + 100000, g % 50, 'p' || g FROM generate_series(1, 3000) g;
INSERT INTO child SELECT g, g % 3000 + 1 FROM generate_series(1, 2000) g;
INSERT INTO ser (a) SELECT g FROM generate_series(1, 1500) g;
INSERT INTO idt (a) SELECT g FROM generate_series(1, 1500) g;
-- What an abort must give back: columns, constraints, indexes, triggers,
-- sequences of the tables under test (names, definitions, validity).
CREATE FUNCTION shape() RETURNS TABLE (kind text, object text, detail text) LANGUAGE sql AS $$
  SELECT 'column', format('%s.%s', a.attrelid::regclass, a.attname),
         concat_ws(' ', format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity, a.attnum,
                   pg_get_expr(d.adbin, d.adrelid))
    FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
   WHERE a.attrelid IN ('parent'::regclass, 'child'::regclass, 'ser'::regclass, 'idt'::regclass)
     AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT 'constraint', format('%s.%s', conrelid::regclass, conname),
         concat_ws(' ', pg_get_constraintdef(oid), convalidated, conindid::regclass)
    FROM pg_constraint WHERE conrelid IN ('parent'::regclass, 'child'::regclass, 'ser'::regclass, 'idt'::regclass)
  UNION ALL
  SELECT 'index', indexrelid::regclass::text, concat_ws(' ', pg_get_indexdef(indexrelid), indisvalid, indisprimary)
    FROM pg_index WHERE indrelid IN ('parent'::regclass, 'child'::regclass, 'ser'::regclass, 'idt'::regclass)
  UNION ALL
  SELECT 'trigger', tgname, tgrelid::regclass::text FROM pg_trigger
   WHERE tgrelid IN ('parent'::regclass, 'child'::regclass, 'ser'::regclass, 'idt'::regclass) AND NOT tgisinternal
  UNION ALL
  SELECT 'sequence', s.seqrelid::regclass::text,
         concat_ws(' ', format_type(s.seqtypid, NULL), s.seqmin, s.seqmax, s.seqincrement, s.seqcache,
                   (SELECT format('%s.%s %s', d.refobjid::regclass, a.attname, d.deptype) FROM pg_depend d
                      JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                     WHERE d.classid = 'pg_class'::regclass AND d.objid = s.seqrelid AND d.refobjsubid > 0))
    FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid WHERE c.relnamespace = 'public'::regnamespace
$$;
CREATE FUNCTION data_sum() RETURNS text LANGUAGE sql AS $$
  SELECT md5(concat((SELECT string_agg(format('%s/%s/%s/%s', id, code, qty, label), ',' ORDER BY id) FROM parent),
                    (SELECT string_agg(format('%s/%s', id, parent_id), ',' ORDER BY id) FROM child),
                    (SELECT string_agg(format('%s/%s', id, a), ',' ORDER BY id) FROM ser),
                    (SELECT string_agg(format('%s/%s', id, a), ',' ORDER BY id) FROM idt)))
$$;
CREATE TABLE shape_before AS SELECT * FROM shape();
CREATE TABLE data_before AS SELECT data_sum() AS sum;
-- differences against the saved shape, both ways
CREATE FUNCTION shape_diff() RETURNS TABLE (side text, kind text, object text, detail text) LANGUAGE sql AS $$
  (SELECT 'now', * FROM shape() EXCEPT SELECT 'now', * FROM shape_before)
  UNION ALL
  (SELECT 'before', * FROM shape_before EXCEPT SELECT 'before', * FROM shape())
  ORDER BY 1, 2, 3
$$;


-- Primary key referenced by a foreign key, with a CHECK: to the cut-over,
-- then aborted.
SELECT migrate_online('ALTER TABLE parent ALTER COLUMN id TYPE bigint') AS job \gset
CALL migrate_job_wait(:job, '120s');
SELECT state, phase, last_error FROM migrate_jobs WHERE id = :job;
SELECT phase, mode, blocking, count(*) FROM migrate_online_steps
 WHERE job_id = :job GROUP BY phase, mode, blocking ORDER BY min(step);
SELECT * FROM shape_diff();
SELECT sql, undo FROM migrate_online_steps WHERE job_id = :job AND phase = 'cut-over';
-- The foreign key holds against the new column; writes reach both columns
-- (the new column is the table's last: an INSERT names its columns).
INSERT INTO child VALUES (5000, 99999);
INSERT INTO parent (id, code, qty, label) VALUES (5000, 5000, 1, 'new');
INSERT INTO child VALUES (5000, 5000);
SELECT count(*) AS out_of_step FROM parent WHERE id IS DISTINCT FROM pgm1_old_id;
DELETE FROM parent WHERE id = 5000;
SELECT count(*) AS cascaded FROM child WHERE id = 5000;
SELECT migrate_online_abort(:job);
CALL migrate_job_wait(:job, '120s');
SELECT state, phase, last_error FROM migrate_jobs WHERE id = :job;
SELECT * FROM shape_diff();
SELECT data_sum() = (SELECT sum FROM data_before) AS same_data;

-- Aborted before its cut-over (while the backfill waits for a lock).
BEGIN;
LOCK TABLE parent IN SHARE MODE;
SELECT migrate_online('ALTER TABLE parent ALTER COLUMN code TYPE bigint') AS job \gset
COMMIT;
SELECT migrate_online_abort(:job);
CALL migrate_job_wait(:job, '120s');
SELECT state, phase FROM migrate_jobs WHERE id = :job;
SELECT * FROM shape_diff();

-- Serial and identity: to the cut-over, aborted; the sequences come back.
-- (one at a time: each online job and its backfill take a worker)
SELECT migrate_online('ALTER TABLE ser ALTER COLUMN id TYPE bigint') AS job_ser \gset
CALL migrate_job_wait(:job_ser, '120s');
SELECT migrate_online('ALTER TABLE idt ALTER COLUMN id TYPE bigint') AS job_idt \gset
CALL migrate_job_wait(:job_idt, '120s');
SELECT id, state, phase, last_error FROM migrate_jobs WHERE id IN (:job_ser, :job_idt) ORDER BY id;
SELECT * FROM shape_diff();
INSERT INTO ser (a) VALUES (-1) RETURNING id, pgm4_old_id;
INSERT INTO idt (a) VALUES (-1) RETURNING id, pgm6_old_id;
DELETE FROM ser WHERE a = -1;
DELETE FROM idt WHERE a = -1;
SELECT migrate_online_abort(:job_ser), migrate_online_abort(:job_idt);
SELECT sql, undo FROM migrate_online_steps WHERE job_id IN (:job_ser, :job_idt) AND phase = 'cut-over';
CALL migrate_job_wait(:job_ser, '120s');
CALL migrate_job_wait(:job_idt, '120s');
SELECT id, state, phase, last_error FROM migrate_jobs WHERE id IN (:job_ser, :job_idt) ORDER BY id;
SELECT * FROM shape_diff();
SELECT data_sum() = (SELECT sum FROM data_before) AS same_data;
-- the sequences went on from where they were
INSERT INTO ser (a) VALUES (-2) RETURNING id;
INSERT INTO idt (a) VALUES (-2) RETURNING id;
DELETE FROM ser WHERE a = -2;
DELETE FROM idt WHERE a = -2;

-- Now to the end, each: the new column has every key, constraint and sequence.
SELECT pg_relation_filenode('parent') AS parent_node, pg_relation_filenode('child') AS child_node \gset
SELECT migrate_online('ALTER TABLE parent ALTER COLUMN id TYPE bigint', complete => true) AS job \gset
CALL migrate_job_wait(:job, '120s');
SELECT state, phase, last_error FROM migrate_jobs WHERE id = :job;
-- What each statement of the job locked (the history): a lock that blocks
-- writers only in short catalog steps (ADD ... NOT VALID, the cut-over,
-- DROP COLUMN); the scans (VALIDATE, concurrent index builds) under locks
-- that let writes through; nothing rewritten.
SELECT left(regexp_replace(statement, '\s+', ' ', 'g'), 72) AS statement, lock_mode,
       lock_held IS NOT NULL AS blocks_writers, rewrite
  FROM migrate_ddl_history WHERE application_name = 'pg_migrate job ' || :job ORDER BY id;
SELECT pg_relation_filenode('parent') = :parent_node AS parent_not_rewritten,
       pg_relation_filenode('child') = :child_node AS child_not_rewritten;
SELECT migrate_online('ALTER TABLE parent ALTER COLUMN code TYPE bigint', complete => true) AS job \gset
CALL migrate_job_wait(:job, '120s');
SELECT state, phase, last_error FROM migrate_jobs WHERE id = :job;
SELECT migrate_online('ALTER TABLE ser ALTER COLUMN id TYPE bigint', complete => true) AS job \gset
CALL migrate_job_wait(:job, '120s');
SELECT state, phase, last_error FROM migrate_jobs WHERE id = :job;
SELECT migrate_online('ALTER TABLE idt ALTER COLUMN id TYPE bigint', complete => true) AS job \gset
CALL migrate_job_wait(:job, '120s');
SELECT state, phase, last_error FROM migrate_jobs WHERE id = :job;
SELECT * FROM shape_diff();
SELECT data_sum() = (SELECT sum FROM data_before) AS same_data;
INSERT INTO parent (id, code, qty, label) VALUES (3000000000, 3000000001, 0, 'big');
INSERT INTO child VALUES (6000, 2000);
INSERT INTO child VALUES (6001, 3000000001);
SELECT conname, convalidated, pg_get_constraintdef(oid) FROM pg_constraint
 WHERE conrelid IN ('parent'::regclass, 'child'::regclass) ORDER BY 1;
SELECT indexrelid::regclass, indisvalid, indisprimary FROM pg_index WHERE indrelid = 'parent'::regclass ORDER BY 1;
INSERT INTO parent (id, code, qty, label) VALUES (-1, 1, 0, 'neg');
INSERT INTO ser (a) VALUES (-3) RETURNING id;
INSERT INTO idt (a) VALUES (-3) RETURNING id;
INSERT INTO idt (id, a) VALUES (1, 1);
SELECT setval('ser_id_seq', 3000000000);
INSERT INTO ser (a) VALUES (-4) RETURNING id;

-- Refused, nothing changed: what cannot be carried over is listed.
\set VERBOSITY default
CREATE TABLE own_fk (id int PRIMARY KEY, other int REFERENCES own_fk (id));
INSERT INTO own_fk SELECT g, NULL FROM generate_series(1, 10) g;
SELECT migrate_online('ALTER TABLE own_fk ALTER COLUMN other TYPE bigint');
SELECT migrate_online('ALTER TABLE own_fk ALTER COLUMN id TYPE bigint');
CREATE TABLE gen (a int, b int GENERATED ALWAYS AS (a * 2) STORED);
CREATE INDEX gen_expr ON gen ((a + 1));
SELECT migrate_online('ALTER TABLE gen ALTER COLUMN a TYPE bigint');
SELECT migrate_online('ALTER TABLE gen ALTER COLUMN b TYPE bigint');
CREATE TABLE dfr (id int PRIMARY KEY DEFERRABLE);
SELECT migrate_online('ALTER TABLE dfr ALTER COLUMN id TYPE bigint');
CREATE TABLE pref (id int PRIMARY KEY);
CREATE TABLE pfk (k int, pref_id int REFERENCES pref) PARTITION BY RANGE (k);
CREATE TABLE pfk_1 PARTITION OF pfk FOR VALUES FROM (0) TO (10);
SELECT migrate_online('ALTER TABLE pref ALTER COLUMN id TYPE bigint');
\set VERBOSITY terse

SET pg_migrate.enforce = off;
DROP TABLE parent, child, ser, idt, own_fk, gen, dfr, pfk, pref, shape_before, data_before CASCADE;
DROP FUNCTION shape_diff(), shape(), data_sum();
DROP EXTENSION pg_migrate;
