-- migrate_check(sql): judge a script without applying it.
\set VERBOSITY terse
CREATE EXTENSION pg_migrate;
SET pg_migrate.small_table_size = 0;
CREATE TABLE ck_big (id int PRIMARY KEY, v text);
INSERT INTO ck_big SELECT g, 'x' FROM generate_series(1, 1000) g;
ANALYZE ck_big;

-- A safe script: no rows.
SELECT * FROM migrate_check($$
  ALTER TABLE ck_big ADD COLUMN note text;
  CREATE INDEX CONCURRENTLY ck_big_v ON ck_big (v);
$$);

-- A table created at statement 1 is new at statement 2: never populated.
SELECT * FROM migrate_check($$
  CREATE TABLE ck_new (id int);
  INSERT INTO ck_new SELECT generate_series(1, 1000);
  CREATE INDEX ON ck_new (id);
  ALTER TABLE ck_new ADD COLUMN r float8 DEFAULT random();
$$);

-- Findings, in order; later statements see earlier ones.
SELECT statement_number AS n, rule, action, relation, lock_mode, message
  FROM migrate_check($$
  ALTER TABLE ck_big ADD COLUMN r float8 DEFAULT random();
  ALTER TABLE ck_big RENAME COLUMN v TO w;
  ALTER TABLE ck_big ALTER COLUMN w TYPE varchar(10);
  CREATE INDEX ck_big_w ON ck_big (w);
  VACUUM FULL ck_big;
  DROP TABLE ck_big;
  ALTER TABLE ck_big ADD COLUMN z int;
$$);

-- Nothing was applied: no column r, no rename, table still there.
SELECT attname FROM pg_attribute WHERE attrelid = 'ck_big'::regclass AND attnum > 0 ORDER BY attnum;
SELECT to_regclass('ck_new') IS NULL AS ck_new_gone;

-- The statement text of each finding is that statement alone.
SELECT statement_number, statement FROM migrate_check('SELECT 1; TRUNCATE ck_big;');

-- Injected lock_timeout makes the lock safe: not a finding.  In require
-- mode it is one, unless the script sets a lock_timeout first.
SELECT rule FROM migrate_check('CREATE TRIGGER ck_trg BEFORE INSERT ON ck_big FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()');
SET pg_migrate.lock_timeout_mode = require;
SELECT rule, action FROM migrate_check('CREATE TRIGGER ck_trg BEFORE INSERT ON ck_big FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()');
SELECT rule, action FROM migrate_check($$SET lock_timeout = '2s';
  CREATE TRIGGER ck_trg BEFORE INSERT ON ck_big FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()$$);
SHOW lock_timeout;
RESET pg_migrate.lock_timeout_mode;

-- large_dml: judged on the planner's estimate, never executed
SET pg_migrate.max_migration_rows = 100;
SELECT rule, action, relation FROM migrate_check('UPDATE ck_big SET v = upper(v)');
SELECT rule FROM migrate_check('UPDATE ck_big SET v = upper(v) WHERE id = 1');
SELECT count(*) FROM ck_big WHERE v = 'X';
RESET pg_migrate.max_migration_rows;

-- The verdict follows the policy, not pg_migrate.enforce.
INSERT INTO migrate_policy (rule, action, table_pattern) VALUES ('truncate', 'warn', 'ck\_%');
SELECT rule, action FROM migrate_check('TRUNCATE ck_big');

-- A statement that fails is an "error" finding; the check goes on.
SELECT statement_number AS n, rule, action, message
  FROM migrate_check('ALTER TABLE ck_nosuch ADD COLUMN x int; DROP TABLE ck_big;');
SELECT statement_number AS n, rule, action, message
  FROM migrate_check($$UPDATE ck_nosuch SET v = 1;
    ALTER TABLE ck_big ADD COLUMN b int DEFAULT nosuchfunc();
    ALTER TABLE ck_big RENAME TO ck_renamed$$);

-- Bad input: syntax errors point into the script.
SELECT * FROM migrate_check('ALTER TABLE ck_big ADD COLUMN;');
SELECT * FROM migrate_check('');

-- clean up
SET pg_migrate.enforce = off;
DROP EXTENSION pg_migrate;
DROP TABLE ck_big;
