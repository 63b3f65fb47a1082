-- Rules that know PostgreSQL 18's own features.  On earlier majors the
-- syntax does not exist and every statement fails in the parser
-- (rules_pg18_1.out).
\set VERBOSITY terse
CREATE EXTENSION pg_migrate;
SET pg_migrate.enforce = on;
SET pg_migrate.small_table_size = 0;   -- any non-empty table is populated

CREATE TABLE r18 (id int PRIMARY KEY, a int, b int);
INSERT INTO r18 SELECT g, g, g FROM generate_series(1, 500) g;

-- NOT NULL ... NOT VALID takes no scan; VALIDATE CONSTRAINT scans later,
-- in its own transaction.
ALTER TABLE r18 ALTER COLUMN a SET NOT NULL;                          -- refused: scan under AccessExclusiveLock
ALTER TABLE r18 ADD CONSTRAINT r18_b_nn NOT NULL b;                   -- refused: the same scan
ALTER TABLE r18 ADD CONSTRAINT r18_a_nn NOT NULL a NOT VALID;         -- allowed: no scan
ALTER TABLE r18 VALIDATE CONSTRAINT r18_a_nn;                         -- allowed
-- NOT ENFORCED constraints are never checked against the rows.
ALTER TABLE r18 ADD CONSTRAINT r18_b_pos CHECK (b > 0) NOT ENFORCED;  -- allowed: no scan
ALTER TABLE r18 ADD CONSTRAINT r18_b_pos2 CHECK (b > 0);              -- refused: validating scan
-- Virtual generated columns are computed when read: no rewrite.
ALTER TABLE r18 ADD COLUMN v int GENERATED ALWAYS AS (a * 2) VIRTUAL; -- allowed
ALTER TABLE r18 ADD COLUMN s int GENERATED ALWAYS AS (a * 2) STORED;  -- refused: rewrite
SELECT safe_alternative FROM migrate_rules WHERE rule = 'not_null_scan';
SET pg_migrate.enforce = off;
DROP TABLE r18;
DROP EXTENSION pg_migrate;
