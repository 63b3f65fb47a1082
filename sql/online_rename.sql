-- Online RENAME COLUMN and RENAME TO as expand/contract: both names work
-- for readers and writers until migrate_online_complete removes the old.
\set VERBOSITY terse
CREATE EXTENSION pg_migrate;
SET pg_migrate.small_table_size = 0;
CREATE TABLE acct (id int PRIMARY KEY, score int NOT NULL DEFAULT 7 CHECK (score >= 0),
                   label text COLLATE "C");
CREATE INDEX acct_score ON acct (score DESC);
CREATE UNIQUE INDEX acct_id_score ON acct (id, score) INCLUDE (label);
CREATE INDEX acct_score_expr ON acct ((score + 1));
INSERT INTO acct SELECT g, g * 10, 'l' || g FROM generate_series(1, 3000) g;
CREATE VIEW acct_view AS SELECT id, score FROM acct WHERE score > 100;
COMMENT ON COLUMN acct.score IS 'the score';
CREATE ROLE rn_writer;
GRANT SELECT (id, score), UPDATE (score) ON acct TO rn_writer;

-- The plain statement breaks running code (rolled back here).
BEGIN;
ALTER TABLE acct RENAME COLUMN score TO points;
ROLLBACK;

CREATE TEMP TABLE shape_before AS
SELECT a.attnum, a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid) AS def, col_description(a.attrelid, a.attnum) AS comment
  FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE a.attrelid = 'acct'::regclass AND a.attnum > 0 AND NOT a.attisdropped;
CREATE TEMP TABLE catalog_before AS
SELECT 'index' AS kind, pg_get_indexdef(indexrelid) AS def FROM pg_index WHERE indrelid = 'acct'::regclass
UNION ALL SELECT 'constraint', conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'acct'::regclass
UNION ALL SELECT 'view', pg_get_viewdef('acct_view'::regclass)
UNION ALL SELECT 'trigger', tgname FROM pg_trigger WHERE tgrelid = 'acct'::regclass
UNION ALL SELECT 'grant', attname || ' ' || attacl::text FROM pg_attribute WHERE attrelid = 'acct'::regclass AND attacl IS NOT NULL AND NOT attisdropped;
CREATE TEMP TABLE data_before AS
SELECT md5(string_agg(format('%s/%s/%s', id, score, label), ',' ORDER BY id)) AS sum FROM acct;

SELECT migrate_online('ALTER TABLE acct RENAME COLUMN score TO points') AS job \gset
CALL migrate_job_wait(:job, '120s');
SELECT state, phase, last_error FROM migrate_jobs WHERE id = :job;
SELECT step, phase, stage, mode, state FROM migrate_online_steps WHERE job_id = :job ORDER BY step;
-- The real column kept its number under the new name; the old name is a copy.
SELECT attnum, attname, attnotnull, atthasdef FROM pg_attribute
 WHERE attrelid = 'acct'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum;
SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = 'acct'::regclass ORDER BY 1;
SELECT pg_get_viewdef('acct_view'::regclass) ~ 'points AS score' AS view_follows;
SELECT count(*) AS out_of_step FROM acct WHERE score IS DISTINCT FROM points;

-- Old code and new code, side by side.
INSERT INTO acct (id, score, label) VALUES (5001, 11, 'old');
INSERT INTO acct (id, points, label) VALUES (5002, 22, 'new');
INSERT INTO acct (id, label) VALUES (5003, 'default');
INSERT INTO acct (id, score, label) VALUES (5004, 33, 'old') RETURNING score, points;
SELECT id, score, points FROM acct WHERE id > 5000 ORDER BY id;
UPDATE acct SET score = score + 1 WHERE id = 5001;
UPDATE acct SET points = points + 1 WHERE id = 5002;
-- One statement setting both to different values: the old name wins.
UPDATE acct SET score = 100, points = 200 WHERE id = 5003;
INSERT INTO acct (id, score, points, label) VALUES (5005, 1, 2, 'both');
SELECT id, score, points FROM acct WHERE id > 5000 ORDER BY id;
-- Constraints of the real column hold whichever name is written.
INSERT INTO acct (id, score) VALUES (5006, -1);
UPDATE acct SET score = NULL WHERE id = 5001;
INSERT INTO acct (id, points) VALUES (5007, NULL);
-- ON CONFLICT finds its arbiter under either name.
INSERT INTO acct (id, score, label) VALUES (5001, 12, 'dup')
    ON CONFLICT (id, score) DO UPDATE SET label = 'upsert-old';
INSERT INTO acct (id, points, label) VALUES (5002, 23, 'dup')
    ON CONFLICT (id, points) DO UPDATE SET label = 'upsert-new';
SELECT id, score, points, label FROM acct WHERE id IN (5001, 5002) ORDER BY id;
-- Readers of the old name use the copied index.
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM acct WHERE score = 50;
EXPLAIN (COSTS OFF) SELECT id FROM acct WHERE points = 50;
RESET enable_seqscan;
SELECT count(*) AS out_of_step FROM acct WHERE score IS DISTINCT FROM points;
-- Column privileges hold under either name.
SET ROLE rn_writer;
UPDATE acct SET score = score + 1 WHERE id = 5004 RETURNING score;
UPDATE acct SET points = points + 1 WHERE id = 5004 RETURNING points;
SELECT label FROM acct WHERE id = 5004;
RESET ROLE;
DELETE FROM acct WHERE id > 5000;

-- Abort after the cut-over: the original catalog and data come back.
SELECT migrate_online_abort(:job);
CALL migrate_job_wait(:job, '120s');
SELECT state, phase, last_error FROM migrate_jobs WHERE id = :job;
SELECT a.attnum, a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid) AS def, col_description(a.attrelid, a.attnum) AS comment
  FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE a.attrelid = 'acct'::regclass AND a.attnum > 0 AND NOT a.attisdropped
EXCEPT SELECT * FROM shape_before;
(SELECT 'index' AS kind, pg_get_indexdef(indexrelid) AS def FROM pg_index WHERE indrelid = 'acct'::regclass
 UNION ALL SELECT 'constraint', conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'acct'::regclass
 UNION ALL SELECT 'view', pg_get_viewdef('acct_view'::regclass)
 UNION ALL SELECT 'trigger', tgname FROM pg_trigger WHERE tgrelid = 'acct'::regclass
 UNION ALL SELECT 'grant', attname || ' ' || attacl::text FROM pg_attribute WHERE attrelid = 'acct'::regclass AND attacl IS NOT NULL AND NOT attisdropped)
EXCEPT ALL SELECT * FROM catalog_before;
SELECT * FROM catalog_before EXCEPT ALL
(SELECT 'index' AS kind, pg_get_indexdef(indexrelid) AS def FROM pg_index WHERE indrelid = 'acct'::regclass
 UNION ALL SELECT 'constraint', conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'acct'::regclass
 UNION ALL SELECT 'view', pg_get_viewdef('acct_view'::regclass)
 UNION ALL SELECT 'trigger', tgname FROM pg_trigger WHERE tgrelid = 'acct'::regclass
 UNION ALL SELECT 'grant', attname || ' ' || attacl::text FROM pg_attribute WHERE attrelid = 'acct'::regclass AND attacl IS NOT NULL AND NOT attisdropped);
SELECT md5(string_agg(format('%s/%s/%s', id, score, label), ',' ORDER BY id)) = (SELECT sum FROM data_before) AS same_data FROM acct;

-- Again, completed right after the cut-over.
SELECT migrate_online('ALTER TABLE acct RENAME COLUMN score TO points', complete => true) AS job \gset
CALL migrate_job_wait(:job, '120s');
SELECT state, phase, last_error FROM migrate_jobs WHERE id = :job;
SELECT attnum, attname, attnotnull, pg_get_expr(d.adbin, d.adrelid) AS def, col_description(a.attrelid, a.attnum)
  FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE a.attrelid = 'acct'::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY attnum;
SELECT pg_get_indexdef(indexrelid), indisvalid FROM pg_index WHERE indrelid = 'acct'::regclass ORDER BY 1;
SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'acct'::regclass AND contype <> 'n' ORDER BY 1;
SELECT pg_get_viewdef('acct_view'::regclass) ~ 'points AS score' AS view_follows;
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'acct'::regclass AND NOT tgisinternal;
SELECT md5(string_agg(format('%s/%s/%s', id, points, label), ',' ORDER BY id)) = (SELECT sum FROM data_before) AS same_data FROM acct;
SELECT migrate_online_abort(:job);
SELECT command_tag, policy_overrides->0->>'rule' AS rule
  FROM migrate_ddl_history WHERE policy_overrides IS NOT NULL ORDER BY id;

-- Completed by hand, on a column with no index and no default.
SELECT migrate_online('ALTER TABLE acct RENAME COLUMN label TO name') AS job \gset
CALL migrate_job_wait(:job, '120s');
SELECT state, phase FROM migrate_jobs WHERE id = :job;
SELECT count(*) FROM acct WHERE label IS DISTINCT FROM name;
SELECT migrate_online_complete(:job);
CALL migrate_job_wait(:job, '120s');
SELECT state, phase FROM migrate_jobs WHERE id = :job;
SELECT attname, attcollation::regcollation FROM pg_attribute
 WHERE attrelid = 'acct'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum;

-- Refused, with nothing changed.
\set VERBOSITY default
SELECT migrate_online('ALTER TABLE acct RENAME COLUMN nope TO other');
SELECT migrate_online('ALTER TABLE acct RENAME COLUMN name TO id');
SELECT migrate_online('ALTER TABLE IF EXISTS acct RENAME COLUMN name TO other');
SELECT migrate_online('ALTER VIEW acct_view RENAME COLUMN id TO other');
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
CREATE TABLE trg (a int, b int);
CREATE TRIGGER trg_touch BEFORE INSERT ON trg FOR EACH ROW EXECUTE FUNCTION touch();
CREATE TRIGGER trg_after AFTER UPDATE OF a ON trg FOR EACH ROW EXECUTE FUNCTION touch();
SELECT migrate_online('ALTER TABLE trg RENAME COLUMN a TO c');
CREATE TABLE gen (a int, b int GENERATED ALWAYS AS (a * 2) STORED);
SELECT migrate_online('ALTER TABLE gen RENAME COLUMN b TO c');
CREATE TABLE kid () INHERITS (gen);
SELECT migrate_online('ALTER TABLE gen RENAME COLUMN a TO c');
\set VERBOSITY terse
SELECT count(*) AS jobs FROM migrate_jobs;

-- The trigger refuses to be used wrongly.
CREATE TABLE mis (a int, b bigint, c int);
CREATE TRIGGER bad BEFORE INSERT ON mis FOR EACH ROW EXECUTE FUNCTION migrate_online_mirror('a');
INSERT INTO mis VALUES (1);
DROP TRIGGER bad ON mis;
CREATE TRIGGER bad BEFORE INSERT ON mis FOR EACH ROW EXECUTE FUNCTION migrate_online_mirror('a', 'b');
INSERT INTO mis VALUES (1);
DROP TRIGGER bad ON mis;
CREATE TRIGGER bad BEFORE INSERT ON mis FOR EACH ROW EXECUTE FUNCTION migrate_online_mirror('a', 'nope');
INSERT INTO mis VALUES (1);
DROP TRIGGER bad ON mis;
CREATE TRIGGER bad AFTER INSERT ON mis FOR EACH ROW EXECUTE FUNCTION migrate_online_mirror('a', 'c');
INSERT INTO mis VALUES (1);
DROP TRIGGER bad ON mis;
CREATE TRIGGER good BEFORE INSERT ON mis FOR EACH ROW EXECUTE FUNCTION migrate_online_mirror('a', 'c');
INSERT INTO mis VALUES (1, 0, 2), (NULL, 0, 3);
SELECT a, c FROM mis ORDER BY c;

-- RENAME TO: the table takes the new name, a view the old, until complete.
CREATE ROLE rn_reader;
CREATE TABLE orders (id int PRIMARY KEY, amount int NOT NULL DEFAULT 1, note text);
INSERT INTO orders SELECT g, g, 'n' || g FROM generate_series(1, 1000) g;
GRANT SELECT ON orders TO rn_reader;
GRANT UPDATE (note) ON orders TO rn_reader;
BEGIN;
ALTER TABLE orders RENAME TO purchases;
ROLLBACK;
SELECT migrate_online('ALTER TABLE orders RENAME TO purchases') AS job \gset
CALL migrate_job_wait(:job, '120s');
SELECT state, phase, last_error FROM migrate_jobs WHERE id = :job;
SELECT relname, relkind, reloptions FROM pg_class WHERE relname IN ('orders', 'purchases') ORDER BY 1;
SELECT a.grantee::regrole, a.privilege_type FROM pg_class c, aclexplode(c.relacl) a
 WHERE c.relname = 'orders' AND a.grantee <> c.relowner;
SELECT t.attname, a.grantee::regrole, a.privilege_type FROM pg_attribute t, aclexplode(t.attacl) a
 WHERE t.attrelid = 'orders'::regclass;
INSERT INTO orders (id, note) VALUES (2001, 'through the view') RETURNING id, amount, note;
INSERT INTO orders (id, note) VALUES (2001, 'again') ON CONFLICT (id) DO UPDATE SET note = excluded.note;
UPDATE orders SET amount = 5 WHERE id = 2001;
SELECT id, amount, note FROM purchases WHERE id = 2001;
DELETE FROM orders WHERE id = 2001;
COPY orders FROM stdin;
3001	1	copied
\.
COPY orders TO stdout;
SET ROLE rn_reader;
SELECT count(*) FROM orders;
UPDATE orders SET note = 'reader' WHERE id = 1;
UPDATE orders SET amount = 0 WHERE id = 1;
RESET ROLE;
SELECT migrate_online_abort(:job);
CALL migrate_job_wait(:job, '120s');
SELECT state, phase, last_error FROM migrate_jobs WHERE id = :job;
SELECT relname, relkind FROM pg_class WHERE relname IN ('orders', 'purchases') ORDER BY 1;
SELECT a.grantee::regrole, a.privilege_type FROM pg_class c, aclexplode(c.relacl) a
 WHERE c.relname = 'orders' AND a.grantee <> c.relowner;
SELECT migrate_online('ALTER TABLE orders RENAME TO purchases', complete => true) AS job \gset
CALL migrate_job_wait(:job, '120s');
SELECT state, phase, last_error FROM migrate_jobs WHERE id = :job;
SELECT relname, relkind FROM pg_class WHERE relname IN ('orders', 'purchases') ORDER BY 1;
SELECT count(*), sum(amount) FROM purchases;
SELECT migrate_online('ALTER TABLE purchases RENAME TO acct');

SET pg_migrate.enforce = off;  -- the extension's history goes with it (drop_table)
DROP TABLE acct, trg, gen, kid, mis, purchases CASCADE;
DROP FUNCTION touch();
DROP ROLE rn_reader;
DROP ROLE rn_writer;
DROP EXTENSION pg_migrate;
