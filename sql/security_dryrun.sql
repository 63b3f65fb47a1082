--
-- Dry runs: migrate_check and migrate_plan judge a script without running
-- anything whose effects would outlive their rolled-back subtransaction,
-- and reveal nothing a role could not read; migrate_apply refuses scripts
-- that could never run.
--
\set VERBOSITY terse
CREATE EXTENSION pg_migrate;
SET pg_migrate.enforce = off;

-- Observable side effects: a sequence (nextval/setval are not transactional),
-- a function that announces itself, a file written by COPY TO PROGRAM.
CREATE SEQUENCE dry_seq;
SELECT nextval('dry_seq');
CREATE FUNCTION dry_touch() RETURNS int LANGUAGE plpgsql AS $$
BEGIN
  RAISE NOTICE 'dry_touch ran';
  PERFORM setval('dry_seq', 1000);
  RETURN 1;
END $$;
-- the same, mislabelled IMMUTABLE, so that the planner would fold it
CREATE FUNCTION dry_touch_imm(int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  RAISE NOTICE 'dry_touch_imm ran';
  PERFORM setval('dry_seq', 2000);
  RETURN $1;
END $$;
CREATE PROCEDURE dry_proc() LANGUAGE plpgsql AS $$
BEGIN
  RAISE NOTICE 'dry_proc ran';
  PERFORM setval('dry_seq', 3000);
END $$;
CREATE TABLE dry_small (id int PRIMARY KEY, v int);
INSERT INTO dry_small SELECT g, g FROM generate_series(1, 10) g;
CREATE TABLE dry_empty (id int);

-- Statements a dry run does not execute: each is a finding with action
-- "unchecked" saying why, and nothing happens.
SELECT statement_number, action, message
  FROM migrate_check($$
    COPY (SELECT 1) TO PROGRAM 'touch /tmp/pgm_dry_run_copy';
    DO $d$ BEGIN PERFORM setval('dry_seq', 4000); END $d$;
    CALL dry_proc();
    EXPLAIN ANALYZE SELECT setval('dry_seq', 5000);
    CREATE TABLE dry_ctas AS SELECT setval('dry_seq', 6000) AS s;
    SELECT setval('dry_seq', 6500) INTO dry_into;
    PREPARE dry_prep AS SELECT 1;
    LISTEN dry_channel;
    CREATE EXTENSION IF NOT EXISTS plpgsql;
  $$) ORDER BY 1;
SELECT pg_stat_file('/tmp/pgm_dry_run_copy', missing_ok => true) IS NULL AS no_file;
SELECT count(*) AS prepared FROM pg_prepared_statements WHERE name = 'dry_prep';
SELECT count(*) AS listening FROM pg_listening_channels();
SELECT to_regclass('dry_ctas') IS NULL AS no_ctas;

-- Queries and DML are never run, only planned; a user function the planner
-- would fold is not run either (the statement is reported as unchecked).
SELECT statement_number, action, message
  FROM migrate_check($$
    SELECT setval('dry_seq', 7000);
    SELECT pg_catalog.nextval('dry_seq');
    UPDATE dry_small SET v = 0 WHERE id = dry_touch_imm(3);
    INSERT INTO dry_small VALUES (dry_touch(), 0);
  $$) ORDER BY 1;

-- DDL that would evaluate user code is not run: defaults, checks, USING,
-- index expressions, partition bounds.  User functions are reported as
-- unchecked; built-in ones evaluated on the rows of a table that has rows
-- (or in a partition bound) keep the statement from running, and it is
-- judged from the catalog alone (no finding: the table is small).
CREATE TABLE dry_part (k bigint) PARTITION BY LIST (k);
SELECT statement_number, action, message
  FROM migrate_check($$
    ALTER TABLE dry_small ADD COLUMN a int DEFAULT dry_touch_imm(1);
    ALTER TABLE dry_small ADD COLUMN b int DEFAULT dry_touch();
    ALTER TABLE dry_small ADD COLUMN c int DEFAULT setval('dry_seq', 8000);
    ALTER TABLE dry_small ADD CONSTRAINT dry_chk CHECK (setval('dry_seq', 8100) > 0);
    ALTER TABLE dry_small ALTER COLUMN v TYPE bigint USING setval('dry_seq', 8200);
    CREATE INDEX dry_idx ON dry_small (dry_touch_imm(id));
    CREATE TABLE dry_p1 PARTITION OF dry_part FOR VALUES IN (setval('dry_seq', 8300));
    CREATE TABLE dry_p2 PARTITION OF dry_part FOR VALUES IN (dry_touch_imm(2));
  $$) ORDER BY 1;
SELECT last_value FROM dry_seq;

-- Cheap catalog DDL still runs (rolled back), so later statements are
-- judged on its effects: a column added with a stable default on a table
-- with rows, then indexed; volatile defaults on an empty table are fine.
SELECT statement_number, action, message
  FROM migrate_check($$
    ALTER TABLE dry_small ADD COLUMN created timestamptz DEFAULT now();
    CREATE INDEX dry_small_created ON dry_small (created);
    ALTER TABLE dry_empty ADD COLUMN s bigint DEFAULT nextval('dry_seq');
    CREATE TABLE dry_new (id int CHECK (dry_touch() > 0) DEFAULT dry_touch());
    ALTER TABLE dry_new ADD COLUMN n int;
    SET search_path = public, pg_temp;
  $$) ORDER BY 1;
SELECT last_value FROM dry_seq;
SELECT current_setting('search_path') AS search_path_unchanged;

-- Built-in functions that run queries (table_to_xml of a view calling
-- setval) are stopped when the query starts; the check of a new foreign
-- key is the one query catalog DDL may run.
CREATE VIEW dry_view AS SELECT setval('dry_seq', 8400) AS s;
SELECT statement_number, action, message
  FROM migrate_check($$
    ALTER TABLE dry_empty ADD COLUMN x text DEFAULT table_to_xml('dry_view', true, false, '')::text;
    UPDATE dry_small SET v = 0 WHERE v::text = table_to_xml('dry_view', true, false, '')::text;
    ALTER TABLE dry_small ADD CONSTRAINT dry_fk FOREIGN KEY (v) REFERENCES dry_small (id);
    ALTER TABLE dry_small RENAME CONSTRAINT dry_fk TO dry_fk2;
  $$) ORDER BY 1;
SELECT last_value FROM dry_seq;
SELECT to_regclass('dry_new') IS NULL AS no_table;

-- An event trigger written in PL/pgSQL would run on every DDL statement
-- the walk executes: the statement is reported instead.
CREATE FUNCTION dry_evt() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM setval('dry_seq', 8500);
END $$;
CREATE EVENT TRIGGER dry_evt ON ddl_command_end EXECUTE FUNCTION dry_evt();
SELECT statement_number, action, message
  FROM migrate_check('CREATE TABLE dry_evt_t (id int)');
DROP EVENT TRIGGER dry_evt;
DROP FUNCTION dry_evt();
SELECT last_value FROM dry_seq;

-- migrate_plan walks the same way: nothing runs, and the opaque
-- statements show up as HIGH risk with the reason.
SELECT statement_no, findings, risk
  FROM migrate_plan($$
    COPY (SELECT 1) TO PROGRAM 'touch /tmp/pgm_dry_run_copy';
    DO $d$ BEGIN PERFORM setval('dry_seq', 9000); END $d$;
    ALTER TABLE dry_small ADD COLUMN d int DEFAULT setval('dry_seq', 9100);
    UPDATE dry_small SET v = dry_touch_imm(v) WHERE id = dry_touch_imm(1);
  $$) ORDER BY 1;
SELECT pg_stat_file('/tmp/pgm_dry_run_copy', missing_ok => true) IS NULL AS no_file;
SELECT last_value FROM dry_seq;

-- The Markdown report does not verify (run) scripts a plan cannot dry-run.
SELECT line FROM regexp_split_to_table(migrate_plan(
    'ALTER TABLE dry_small ADD COLUMN e int',
    format => 'markdown',
    down => $$DO $d$ BEGIN PERFORM setval('dry_seq', 9200); END $d$; ALTER TABLE dry_small DROP COLUMN e$$),
  E'\n') AS line WHERE line ~ 'verif|Verif';
SELECT line FROM regexp_split_to_table(migrate_plan(
    $q$DO $d$ BEGIN PERFORM setval('dry_seq', 9300); END $d$$q$,
    format => 'markdown', down => 'SELECT 1'),
  E'\n') AS line WHERE line ~ 'verif|Verif|not judged';
-- a script a dry run can run whole is still verified
SELECT line FROM regexp_split_to_table(migrate_plan(
    'ALTER TABLE dry_small ADD COLUMN e int',
    format => 'markdown', down => 'ALTER TABLE dry_small DROP COLUMN e'),
  E'\n') AS line WHERE line ~ 'verif|Verif';
SELECT last_value FROM dry_seq;

-- Estimates are given only to roles that may read what is planned.
CREATE TABLE dry_secret (id int, ssn text);
INSERT INTO dry_secret SELECT g, CASE WHEN g <= 500 THEN '123-45-6789' ELSE 'x' || g END
  FROM generate_series(1, 1000) g;
ANALYZE dry_secret;
CREATE ROLE dry_user;
GRANT UPDATE ON dry_secret TO dry_user;
SET ROLE dry_user;
SELECT statement_no, est_rows, findings
  FROM migrate_plan($$UPDATE dry_secret SET id = 0 WHERE ssn = '123-45-6789'$$);
SELECT statement_number, action, message
  FROM migrate_check($$DELETE FROM dry_secret WHERE ssn = '123-45-6789'$$);
RESET ROLE;
GRANT SELECT ON dry_secret TO dry_user;
SET ROLE dry_user;
SELECT statement_no, est_rows, findings
  FROM migrate_plan($$UPDATE dry_secret SET id = 0 WHERE ssn = '123-45-6789'$$);
RESET ROLE;

-- The report's findings outlive the walk's memory.
SELECT count(*) AS renames_reported FROM regexp_split_to_table(migrate_plan(
    (SELECT string_agg('ALTER TABLE dry_small RENAME COLUMN v TO w; ALTER TABLE dry_small RENAME COLUMN w TO v', '; ')
       FROM generate_series(1, 100)),
    format => 'markdown'), E'\n') AS line
 WHERE line ~ '^- \*\*warning\*\* statement \d+, `rename_column` \(public\.dry_small\): RENAME COLUMN';

-- migrate_apply refuses scripts that can never run, with a proper SQLSTATE.
\set VERBOSITY default
\set SHOW_CONTEXT never
SELECT migrate_apply('d1', 'CREATE TABLE d1 (id int)', 'COPY d1 FROM STDIN');
SELECT migrate_apply('d2', 'COPY dry_small TO STDOUT', 'SELECT 1');
SELECT migrate_apply('d3', 'CREATE TABLE d3 (id int)', 'DISCARD ALL');
SELECT migrate_apply('d4', 'CREATE TABLE d4 (id int)', 'DROP TABLE d4; CREATE INDEX CONCURRENTLY ON dry_small (v)');
SELECT migrate_apply('d5', 'CREATE TABLE d5 (id int); COMMIT', 'DROP TABLE d5');
SELECT migrate_apply('d6', 'CREATE TABLE d6 (id int', 'DROP TABLE d6');
SELECT migrate_apply('d7', $q$CREATE TABLE d7 (id int DEFAULT 'x)$q$, 'DROP TABLE d7');
SELECT * FROM migrate_check($$SELECT 'unterminated$$);
SELECT * FROM migrate_check('ROLLBACK; DROP TABLE dry_small');
SELECT * FROM migrate_check(NULL);
SELECT * FROM migrate_plan(NULL);
SELECT count(*) FROM migrate_check('');
\set VERBOSITY terse
SELECT version FROM migrate_status();

DROP OWNED BY dry_user;
DROP ROLE dry_user;
DROP VIEW dry_view;
DROP TABLE dry_small, dry_empty, dry_part, dry_secret;
DROP FUNCTION dry_touch(), dry_touch_imm(int);
DROP PROCEDURE dry_proc();
DROP SEQUENCE dry_seq;
DROP EXTENSION pg_migrate;
