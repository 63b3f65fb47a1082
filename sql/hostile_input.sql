--
-- Hostile input: every SQL function of the extension, given NULLs, empty
-- and huge arguments, invalid encodings, unterminated quotes, transaction
-- control and text that tries to close the surrounding statement, answers
-- with a clear error and a proper SQLSTATE (never XX000, the internal
-- error), and changes nothing.
--
-- A NULL argument is an error (22004) unless the function documents what
-- it means: migrate_rollback's version (the latest), migrate_batch_update's
-- where_clause (every row), batch_size (the default), migrate_job_wait's
-- timeout (none), a migration's down script and description.
-- migrate_is_rule() is a predicate and answers NULL for NULL, as SQL's own
-- do.
--
\set VERBOSITY terse
CREATE EXTENSION pg_migrate;
SET pg_migrate.enforce = off;
SET pg_migrate.small_table_size = 0;
CREATE TABLE ht (id int PRIMARY KEY, n int);
INSERT INTO ht SELECT g, g FROM generate_series(1, 100) g;

-- State for the functions to look at: an applied migration, a finished job.
SELECT migrate_apply('h1', 'CREATE TABLE ht2 (a int)', 'DROP TABLE ht2');
SELECT migrate_batch_update('ht', 'n = 0') AS job \gset
CALL migrate_job_wait(:job, '60s');

-- Runs one call and answers its SQLSTATE and message (or "ok").
CREATE FUNCTION hostile_try(call text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE call;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || left(SQLERRM, 100);
END $$;

-- What no call may change.
CREATE FUNCTION hostile_state() RETURNS text LANGUAGE sql AS $$
  SELECT md5(concat_ws('|',
    (SELECT string_agg(concat_ws(',', version, state, checksum), ';' ORDER BY version) FROM migrate_migrations),
    (SELECT string_agg(concat_ws(',', id, state, rows_done), ';' ORDER BY id) FROM migrate_jobs),
    (SELECT string_agg(concat_ws(',', rule, action, role_name, schema_name, table_pattern), ';'
                       ORDER BY rule, action, role_name, schema_name, table_pattern) FROM migrate_policy),
    (SELECT count(*) FROM migrate_ddl_history),
    (SELECT string_agg(concat_ws(',', id, n), ';' ORDER BY id) FROM ht),
    (SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class
      WHERE relnamespace = 'public'::regnamespace)))
$$;
CREATE TABLE hostile_calls (n serial, call text);
SELECT hostile_state() AS before \gset

INSERT INTO hostile_calls (call) VALUES
-- migrate_check / migrate_plan: NULL, empty, unterminated, smuggled, huge
 ($$SELECT * FROM migrate_check(NULL)$$),
 ($$SELECT * FROM migrate_check('')$$),
 ($$SELECT * FROM migrate_check(' ;; -- nothing')$$),
 ($$SELECT * FROM migrate_check('SELECT ''unterminated')$$),
 ($$SELECT * FROM migrate_check('SELECT $x$ unterminated')$$),
 ($$SELECT * FROM migrate_check('SELECT "unterminated')$$),
 ($$SELECT * FROM migrate_check('/* unterminated')$$),
 ($$SELECT * FROM migrate_check('SELECT 1''); DROP TABLE ht; --')$$),
 ($$SELECT * FROM migrate_check('SELECT 1); DROP TABLE ht; --')$$),
 ($$SELECT * FROM migrate_check(repeat('(', 100000) || '1' || repeat(')', 100000))$$),
 ($$SELECT * FROM migrate_check('SELECT ' || repeat('x', 1000000) || ' FROM')$$),
 ($$SELECT * FROM migrate_check(convert_from('\xc3'::bytea, 'UTF8'))$$),
 ($$SELECT * FROM migrate_check('SELECT 1' || chr(0))$$),
 ($$SELECT * FROM migrate_plan(NULL)$$),
 ($$SELECT * FROM migrate_plan('')$$),
 ($$SELECT * FROM migrate_plan('ALTER TABLE ht ADD COLUMN ''x int')$$),
 ($$SELECT migrate_plan(NULL, 'markdown')$$),
 ($$SELECT migrate_plan('SELECT 1', NULL)$$),
 ($$SELECT migrate_plan('SELECT 1', '')$$),
 ($$SELECT migrate_plan('SELECT 1', 'markdown''; DROP TABLE ht; --')$$),
 ($$SELECT migrate_plan('', 'markdown')$$),
-- migrate_apply / migrate_rollback / migrate_verify
 ($$SELECT migrate_apply(NULL, 'SELECT 1', 'SELECT 1')$$),
 ($$SELECT migrate_apply('h2', NULL, 'SELECT 1')$$),
 ($$SELECT migrate_apply('h2', 'SELECT 1', 'SELECT 1', irreversible => NULL)$$),
 ($$SELECT migrate_apply('', 'SELECT 1', 'SELECT 1')$$),
 ($$SELECT migrate_apply('h2', '', 'SELECT 1')$$),
 ($$SELECT migrate_apply('h2', 'SELECT ''unterminated', 'SELECT 1')$$),
 ($$SELECT migrate_apply('h2', 'COMMIT', 'SELECT 1')$$),
 ($$SELECT migrate_apply('h2', 'SELECT 1; ROLLBACK; DROP TABLE ht', 'SELECT 1')$$),
 ($$SELECT migrate_apply('h2', 'SAVEPOINT s', 'SELECT 1')$$),
 ($$SELECT migrate_apply('h2', 'SELECT 1', 'SELECT 1''); DROP TABLE ht; --')$$),
 ($$SELECT migrate_apply(repeat('v', 100000), 'SELECT 1', 'SELECT 1')$$),
 ($$SELECT migrate_apply('h1', 'SELECT 1', 'SELECT 1')$$),
 ($$SELECT migrate_rollback('h1', NULL)$$),
 ($$SELECT migrate_rollback('')$$),
 ($$SELECT migrate_rollback('nope''; DROP TABLE ht; --')$$),
 ($$SELECT * FROM migrate_verify(NULL, 'SELECT 1')$$),
 ($$SELECT * FROM migrate_verify('SELECT 1', NULL)$$),
 ($$SELECT * FROM migrate_verify('', '')$$),
 ($$SELECT * FROM migrate_verify('COMMIT', 'COMMIT')$$),
 ($$SELECT * FROM migrate_verify('CREATE TABLE hv (a int', 'DROP TABLE hv')$$),
-- migrate_apply_async / migrate_rollback_async
 ($$SELECT migrate_apply_async(NULL, 'SELECT 1', 'SELECT 1')$$),
 ($$SELECT migrate_apply_async('h3', NULL, 'SELECT 1')$$),
 ($$SELECT migrate_apply_async('h3', 'SELECT 1', 'SELECT 1', irreversible => NULL)$$),
 ($$SELECT migrate_apply_async('h3', '', 'SELECT 1')$$),
 ($$SELECT migrate_apply_async('h3', 'BEGIN', 'SELECT 1')$$),
 ($$SELECT migrate_apply_async('h3', '/* unterminated', 'SELECT 1')$$),
 ($$SELECT migrate_rollback_async('h1', NULL)$$),
 ($$SELECT migrate_rollback_async('nope')$$),
-- policy
 ($$SELECT migrate_override(NULL, 'why')$$),
 ($$SELECT migrate_override('drop_table', NULL)$$),
 ($$SELECT migrate_override('', 'why')$$),
 ($$SELECT migrate_override('drop_table', '   ')$$),
 ($$SELECT migrate_override('drop_table''; DROP TABLE ht; --', 'why')$$),
 ($$SELECT migrate_override('drop_table', repeat('r', 1000001))$$),
-- history
 ($$SELECT migrate_history_purge(NULL)$$),
 ($$SELECT migrate_history_purge('-1 day')$$),
 ($$SELECT migrate_history_purge('1 day''; DROP TABLE ht; --')$$),
-- jobs
 ($$SELECT migrate_batch_update(NULL, 'n = 1')$$),
 ($$SELECT migrate_batch_update('ht', NULL)$$),
 ($$SELECT migrate_batch_update('ht', '')$$),
 ($$SELECT migrate_batch_update('ht', 'n = 1', '')$$),
 ($$SELECT migrate_batch_update('ht', 'n = 1', parallel => NULL)$$),
 ($$SELECT migrate_batch_update('ht', 'n = 1', pause => NULL)$$),
 ($$SELECT migrate_batch_update('ht', 'n = ''unterminated')$$),
 ($$SELECT migrate_batch_update('ht', 'n = 1; DROP TABLE ht; --')$$),
 ($$SELECT migrate_batch_update('ht', 'n = 1''; DROP TABLE ht; --')$$),
 ($$SELECT migrate_batch_update('ht', 'n = 1', 'true); DROP TABLE ht; --')$$),
 ($$SELECT migrate_batch_update('ht', 'n = 1', 'true; COMMIT')$$),
 ($$SELECT migrate_batch_update('ht', 'n = 1', repeat('(', 100000) || 'true' || repeat(')', 100000))$$),
 ($$SELECT migrate_batch_update('ht', repeat('n = n + 1, ', 100000) || 'n = 1')$$),
 ($$SELECT migrate_batch_update('ht', 'n = 1', batch_size => 2147483647)$$),
 ($$SELECT migrate_batch_update('ht', 'n = 1', pause => '1000000 years')$$),
 ($$SELECT migrate_batch_update('no_such_table', 'n = 1')$$),
 ($$SELECT migrate_batch_delete(NULL, 'true')$$),
 ($$SELECT migrate_batch_delete('ht', NULL)$$),
 ($$SELECT migrate_batch_delete('ht', ' ')$$),
 ($$SELECT migrate_batch_delete('ht', 'id > 0) OR (true')$$),
 ($$SELECT migrate_batch_delete('ht', 'true', pause => NULL)$$),
 ($$SELECT migrate_job_pause(NULL)$$),
 ($$SELECT migrate_job_resume(NULL)$$),
 ($$SELECT migrate_job_cancel(NULL)$$),
 ($$SELECT migrate_job_cancel(-1)$$),
 ($$SELECT migrate_job_pause(9223372036854775807)$$),
 ($$CALL migrate_job_wait(NULL)$$),
 ($$CALL migrate_job_wait(-1, '1s')$$),
 ($$CALL migrate_job_wait(1, '-1 s')$$),
-- what runs only as a trigger or an event trigger
 ($$SELECT migrate_history_guard()$$),
 ($$SELECT migrate_policy_unship()$$),
 ($$SELECT migrate_policy_changed()$$),
 ($$SELECT migrate_on_ddl_command_end()$$),
 ($$SELECT migrate_on_sql_drop()$$),
 ($$SELECT migrate_on_table_rewrite()$$);

SELECT n, left(call, 72) AS call, hostile_try(call) AS answer
  INTO TEMP hostile_answers FROM hostile_calls ORDER BY n;
SELECT n, call, answer FROM hostile_answers ORDER BY n;

-- Never an internal error, never a success.
SELECT count(*) FILTER (WHERE answer LIKE 'XX%') AS internal_errors,
       count(*) FILTER (WHERE answer = 'ok') AS accepted
  FROM hostile_answers;
-- Nothing changed.
SELECT hostile_state() = :'before' AS unchanged;

-- An override outside a transaction block would end with the statement.
SELECT migrate_override('drop_table', 'why');

-- Predicates and functions without arguments answer as SQL would.
SELECT migrate_is_rule(NULL) IS NULL AS null_in_null_out, migrate_is_rule('') AS empty_is_no_rule,
       migrate_is_rule('drop_table''; --') AS smuggled_is_no_rule;
SELECT count(*) > 0 AS rules FROM migrate_rules_list();
SELECT count(*) >= 0 AS violations FROM migrate_violations();
SELECT migrate_assert_preloaded();

-- Huge but valid scripts are judged, not refused.
SELECT count(*) AS findings FROM migrate_check(repeat('SELECT 1;', 5000));
SELECT count(*) AS findings FROM migrate_check('/*' || repeat('x', 1000000) || '*/ SELECT 1');

SELECT migrate_rollback('h1') IS NOT NULL AS rolled_back;
DROP FUNCTION hostile_try(text), hostile_state();
DROP TABLE hostile_calls, ht;
DROP EXTENSION pg_migrate;
