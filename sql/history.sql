-- DDL history: one row per committed DDL statement
\set VERBOSITY terse
CREATE EXTENSION pg_migrate;
CREATE TABLE hist_a (id int PRIMARY KEY, v text);
SELECT command_tag, statement, objects, lock_mode, rewrite, toplevel
  FROM migrate_ddl_history ORDER BY id;
DROP EXTENSION pg_migrate;
DROP TABLE hist_a;
