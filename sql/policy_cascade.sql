-- Data lost without being named: DROP ... CASCADE of types, domains,
-- collations, functions, schemas and extensions, DROP OWNED BY, ALTER TYPE
-- ... DROP ATTRIBUTE and ALTER COLUMN ... TYPE ... USING an expression that
-- ignores the column.  Each is judged like the DROP TABLE / DROP COLUMN it
-- amounts to, on populated tables only; each refusal is followed by proof
-- that PostgreSQL really destroys what the finding names.
\set VERBOSITY terse
CREATE EXTENSION pg_migrate;
SET pg_migrate.enforce = on;
SET pg_migrate.small_table_size = 0;   -- any non-empty table is populated

-- DROP DOMAIN ... CASCADE drops the columns of the domain
CREATE DOMAIN pk_dom AS int;
CREATE TABLE pk_full (id int, d pk_dom);
INSERT INTO pk_full SELECT g, g FROM generate_series(1, 100) g;
CREATE TABLE pk_empty (id int, d pk_dom);
DROP DOMAIN pk_dom;                                  -- PostgreSQL's own error, no finding
\set VERBOSITY default
DROP DOMAIN pk_dom CASCADE;                          -- refused: drop_column on pk_full
\set VERBOSITY terse
BEGIN;
SELECT migrate_override('drop_column', 'proof');
DROP DOMAIN pk_dom CASCADE;
SELECT attrelid::regclass, count(*) FILTER (WHERE NOT attisdropped AND attnum > 0) AS columns
  FROM pg_attribute WHERE attrelid IN ('pk_full'::regclass, 'pk_empty'::regclass)
 GROUP BY 1 ORDER BY 1;
ROLLBACK;
CREATE DOMAIN pk_dom2 AS text;
ALTER TABLE pk_empty ADD COLUMN d2 pk_dom2;
DROP DOMAIN pk_dom2 CASCADE;                         -- allowed: pk_empty is empty
BEGIN;
CREATE DOMAIN pk_dom3 AS int;
CREATE TABLE pk_new AS SELECT g::pk_dom3 AS d FROM generate_series(1, 100) g;
DROP DOMAIN pk_dom3 CASCADE;                         -- allowed: pk_new is new
ROLLBACK;
-- the populated table belongs to another role: still found
CREATE ROLE pk_typeowner;
CREATE DOMAIN pk_dom4 AS int;
ALTER DOMAIN pk_dom4 OWNER TO pk_typeowner;
ALTER TABLE pk_full ADD COLUMN d4 pk_dom4;
SET ROLE pk_typeowner;
DROP DOMAIN pk_dom4 CASCADE;                         -- refused: pk_full.d4
RESET ROLE;
CREATE ROLE pk_stranger;
SET ROLE pk_stranger;
DROP DOMAIN pk_dom4 CASCADE;                         -- PostgreSQL's error: not the owner
RESET ROLE;

-- DROP TYPE ... CASCADE: an enum column, and a typed table (the whole table)
CREATE TYPE pk_mood AS ENUM ('sad', 'ok');
CREATE TYPE pk_pair AS (a int, b text);
CREATE TABLE pk_typed OF pk_pair;
INSERT INTO pk_typed VALUES (1, 'x');
ALTER TABLE pk_full ADD COLUMN m pk_mood;
DROP TYPE pk_mood CASCADE;                           -- refused: drop_column
DROP TYPE pk_pair CASCADE;                           -- refused: drop_table
BEGIN;
SELECT migrate_override('drop_table', 'proof');
DROP TYPE pk_pair CASCADE;
SELECT to_regclass('pk_typed') AS typed_table_left;
ROLLBACK;

-- ALTER TYPE ... DROP ATTRIBUTE: typed tables lose the column (CASCADE),
-- columns of the type lose the field in every row (even without CASCADE)
CREATE TABLE pk_uses (id int, p pk_pair, ps pk_pair[]);
INSERT INTO pk_uses VALUES (1, ROW(1, 'kept?'), ARRAY[ROW(2, 'kept?')::pk_pair]);
ALTER TYPE pk_pair DROP ATTRIBUTE b;                 -- PostgreSQL's error: typed table
BEGIN;
SELECT migrate_override('drop_table', 'the test drops it');
DROP TABLE pk_typed;
COMMIT;
ALTER TYPE pk_pair DROP ATTRIBUTE b;                 -- refused: pk_uses.p loses field b
BEGIN;
SELECT migrate_override('drop_column', 'proof');
ALTER TYPE pk_pair DROP ATTRIBUTE b;
SELECT p, ps FROM pk_uses;
ROLLBACK;
CREATE TABLE pk_typed OF pk_pair;
INSERT INTO pk_typed VALUES (1, 'x');
SELECT rule, relation, message FROM migrate_check('ALTER TYPE pk_pair DROP ATTRIBUTE b CASCADE')
 ORDER BY relation;
DELETE FROM pk_uses;
VACUUM pk_uses;
TRUNCATE pk_typed;
BEGIN;
SELECT migrate_override('truncate', 'the test empties it');
TRUNCATE pk_typed;
COMMIT;
ALTER TYPE pk_pair DROP ATTRIBUTE b CASCADE;         -- allowed: both tables empty

-- DROP COLLATION ... CASCADE
CREATE COLLATION pk_coll (provider = libc, locale = 'C');
ALTER TABLE pk_full ADD COLUMN t text COLLATE pk_coll;
DROP COLLATION pk_coll CASCADE;                      -- refused: drop_column

-- DROP FUNCTION ... CASCADE: a generated column goes, a default only loses it
CREATE FUNCTION pk_twice(int) RETURNS int IMMUTABLE LANGUAGE sql AS 'SELECT $1 * 2';
CREATE FUNCTION pk_one() RETURNS int IMMUTABLE LANGUAGE sql AS 'SELECT 1';
ALTER TABLE pk_empty ADD COLUMN g int GENERATED ALWAYS AS (pk_twice(id)) STORED;
ALTER TABLE pk_empty ADD COLUMN o int DEFAULT pk_one();
CREATE TABLE pk_gen (id int, g int GENERATED ALWAYS AS (pk_twice(id)) STORED,
                     o int DEFAULT pk_one());
INSERT INTO pk_gen (id) VALUES (1);
DROP FUNCTION pk_twice(int) CASCADE;                 -- refused: pk_gen.g
DROP FUNCTION pk_one() CASCADE;                      -- allowed: only a default goes
SELECT attname FROM pg_attribute WHERE attrelid = 'pk_gen'::regclass AND attnum > 0 ORDER BY attnum;

-- DROP SCHEMA ... CASCADE: what it drops outside the schema counts too
CREATE SCHEMA pk_s;
CREATE TYPE pk_s.kind AS ENUM ('a', 'b');
CREATE TABLE pk_s.inside (id int);
INSERT INTO pk_s.inside VALUES (1);
ALTER TABLE pk_full ADD COLUMN k pk_s.kind;
SELECT rule, relation, message FROM migrate_check('DROP SCHEMA pk_s CASCADE') ORDER BY rule, relation;
SELECT rule, relation FROM migrate_check('DROP SCHEMA pk_s');  -- RESTRICT fails: drop_schema only
BEGIN;
SELECT migrate_override('drop_schema', 'proof');
SELECT migrate_override('drop_table', 'proof');
SELECT migrate_override('drop_column', 'proof');
DROP SCHEMA pk_s CASCADE;
SELECT count(*) AS k_left FROM pg_attribute WHERE attrelid = 'pk_full'::regclass AND attname = 'k';
ROLLBACK;

-- DROP TABLE ... CASCADE: a column elsewhere of the table's row type goes too
CREATE TABLE pk_row (a int);
INSERT INTO pk_row VALUES (1);
CREATE TABLE pk_holder (id int, r pk_row);
INSERT INTO pk_holder VALUES (1, ROW(1));
SELECT rule, relation, message FROM migrate_check('DROP TABLE pk_row CASCADE') ORDER BY rule;
SELECT rule, relation FROM migrate_check('DROP TABLE pk_row') ORDER BY rule;  -- fails: no cascade finding

-- DROP OWNED BY drops the role's tables
CREATE ROLE pk_owner;
CREATE TABLE pk_owned (id int);
INSERT INTO pk_owned VALUES (1);
CREATE TABLE pk_owned_empty (id int);
ALTER TABLE pk_owned OWNER TO pk_owner;
ALTER TABLE pk_owned_empty OWNER TO pk_owner;
DROP OWNED BY pk_owner;                              -- refused: drop_table pk_owned
BEGIN;
SELECT migrate_override('drop_table', 'proof');
DROP OWNED BY pk_owner;
SELECT to_regclass('pk_owned') AS owned_left;
ROLLBACK;
BEGIN;
SELECT migrate_override('drop_table', 'the test drops it');
DROP TABLE pk_owned;
COMMIT;
DROP OWNED BY pk_owner;                              -- allowed: only an empty table left

-- ALTER COLUMN ... TYPE ... USING an expression that does not read the column
CREATE TABLE pk_conv (id int, n int, s text);
INSERT INTO pk_conv SELECT g, g, g::text FROM generate_series(1, 100) g;
SELECT rule FROM migrate_check('ALTER TABLE pk_conv ALTER COLUMN n TYPE bigint USING NULL') ORDER BY 1;
SELECT rule FROM migrate_check('ALTER TABLE pk_conv ALTER COLUMN n TYPE bigint USING 0') ORDER BY 1;
SELECT rule FROM migrate_check('ALTER TABLE pk_conv ALTER COLUMN n TYPE bigint USING id') ORDER BY 1;
SELECT rule FROM migrate_check('ALTER TABLE pk_conv ALTER COLUMN n TYPE bigint USING n + 1') ORDER BY 1;
SELECT rule FROM migrate_check('ALTER TABLE pk_conv ALTER COLUMN n TYPE bigint USING pk_conv.n') ORDER BY 1;
SELECT rule FROM migrate_check('ALTER TABLE pk_conv ALTER COLUMN s TYPE int USING length(s)') ORDER BY 1;
SET pg_migrate.small_table_size = '10MB';
ALTER TABLE pk_conv ALTER COLUMN n TYPE bigint USING NULL;   -- allowed: below the threshold
SELECT count(n) AS values_left FROM pk_conv;
SET pg_migrate.small_table_size = 0;

-- migrate_violations(): one role's flood does not push out the others'
CREATE ROLE pk_flood;
CREATE ROLE pk_quiet;
CREATE TABLE pk_flood_t (id int);
INSERT INTO pk_flood_t VALUES (1);
ALTER TABLE pk_flood_t OWNER TO pk_flood;
CREATE TABLE pk_quiet_t (id int);
INSERT INTO pk_quiet_t VALUES (1);
ALTER TABLE pk_quiet_t OWNER TO pk_quiet;
SET ROLE pk_quiet;
TRUNCATE pk_quiet_t;                                 -- refused, recorded
SET ROLE pk_flood;
DO $$
BEGIN
  FOR i IN 1 .. 200 LOOP
    BEGIN
      EXECUTE 'DROP TABLE pk_flood_t';
    EXCEPTION WHEN sqlstate 'PM100' THEN NULL;
    END;
  END LOOP;
END $$;
RESET ROLE;
SELECT role_name, rule, relation FROM migrate_violations() WHERE role_name = 'pk_quiet';
SELECT count(*) AS flood_entries FROM migrate_violations() WHERE role_name = 'pk_flood';
SELECT count(*) <= 128 AS bounded FROM migrate_violations();

-- DROP EXTENSION pg_migrate drops the DDL history: data loss, refused
-- (the superuser included) unless overridden, at the default threshold too:
-- tables an extension dumps in full count as soon as they are not empty
RESET pg_migrate.small_table_size;
SELECT rule, action, relation FROM migrate_check('DROP EXTENSION pg_migrate CASCADE') ORDER BY relation;
DROP EXTENSION pg_migrate;                           -- refused
BEGIN;
SET LOCAL pg_migrate.enforce = off;
DROP TABLE pk_full, pk_empty, pk_gen, pk_uses, pk_typed, pk_conv, pk_flood_t, pk_quiet_t,
  pk_holder, pk_row;
DROP TYPE pk_mood, pk_pair;
DROP DOMAIN pk_dom, pk_dom4;
DROP COLLATION pk_coll;
DROP FUNCTION pk_twice(int);
DROP SCHEMA pk_s CASCADE;
COMMIT;
BEGIN;
SELECT migrate_override('drop_table', 'the test is over');
DROP EXTENSION pg_migrate;
COMMIT;
DROP ROLE pk_typeowner, pk_stranger, pk_owner, pk_flood, pk_quiet;
