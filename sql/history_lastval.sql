--
-- Recording DDL leaves lastval() and currval() as the session's own
-- statements left them (PHP's PDO::lastInsertId() calls lastval()).
--
\set VERBOSITY terse
CREATE EXTENSION pg_migrate;
-- The clean-up drops tables; the policies are tested elsewhere.
SET pg_migrate.enforce = off;

CREATE SEQUENCE lv_seq START 41;
SELECT nextval('lv_seq');
CREATE TABLE lv_t (id int GENERATED ALWAYS AS IDENTITY, v text);
SELECT lastval(), currval('lv_seq');
ALTER TABLE lv_t ADD COLUMN w int;
COMMENT ON TABLE lv_t IS 'recorded too';
SELECT lastval(), currval('lv_seq');

-- An identity column is a sequence too: its value stays lastval().
INSERT INTO lv_t (v) VALUES ('a'), ('b');
CREATE INDEX lv_t_v ON lv_t (v);
SELECT lastval();

-- Several statements in one transaction.
BEGIN;
SELECT nextval('lv_seq');
CREATE TABLE lv_u (a int);
DROP TABLE lv_u;
SELECT lastval();
COMMIT;
SELECT lastval();

-- The history recorded every statement, with distinct increasing ids, and
-- its sequence is where the last id left it.
SELECT command_tag, statement FROM migrate_ddl_history ORDER BY id;
SELECT count(DISTINCT id) = count(*) AS distinct_ids,
       bool_and(id > 0) AS positive
  FROM migrate_ddl_history;
SELECT last_value = (SELECT max(id) FROM migrate_ddl_history) AS seq_at_max, is_called
  FROM migrate_ddl_history_id_seq;

-- A role that may not read the history's sequence gets its own lastval(),
-- not a permission error.
CREATE ROLE regress_lastval_role;
GRANT CREATE ON SCHEMA public TO regress_lastval_role;
SET ROLE regress_lastval_role;
CREATE SEQUENCE lv_role_seq START 7;
SELECT nextval('lv_role_seq');
CREATE TABLE lv_role_t (a int);
SELECT lastval(), currval('lv_role_seq');
RESET ROLE;

-- A new session that has drawn no value: lastval() is not defined, after
-- DDL as before.
\c
SET pg_migrate.enforce = off;
SET ROLE regress_lastval_role;
CREATE TABLE lv_role_u (a int);
SELECT lastval();
RESET ROLE;

DROP TABLE lv_role_t, lv_role_u;
DROP SEQUENCE lv_role_seq;
REVOKE CREATE ON SCHEMA public FROM regress_lastval_role;
DROP ROLE regress_lastval_role;
DROP TABLE lv_t;
DROP SEQUENCE lv_seq;
DROP EXTENSION pg_migrate;
