/*-------------------------------------------------------------------------
 *
 * own_sql.c
 *		Running pg_migrate's own SQL out of sight of other extensions'
 *		parser, planner and executor hooks.
 *
 * Recording a DDL statement runs SQL of pg_migrate's own: the event
 * triggers read pg_event_trigger_ddl_commands() and friends, and the
 * history writer draws an id and inserts the row.  Through the ordinary
 * hooks those queries would look like the user's: pg_stat_statements
 * counted the history INSERT as a top-level statement of its own (it runs
 * after the DDL statement returned), auto_explain with
 * log_nested_statements logged their plans for every DDL, pgaudit's
 * session log could list them.  They are part of the statement being
 * recorded, not statements of the user.
 *
 * So while that SQL is parsed, planned and executed, the hook variables
 * of the parser, planner and executor are set aside and PostgreSQL's
 * standard functions run alone; they are put back afterwards, also on
 * error (callers use PG_FINALLY).  The swap is per backend and only spans
 * our own queries, so every statement of the user, before and after, and
 * every other backend, sees the hooks as installed.  The queries still
 * run through the executor with its permission checks (as the history's
 * owner: see history.c), and any trigger a DBA put on the history still
 * fires.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "core/own_sql.h"

void
pgm_hide_from_hooks(PgmSavedHooks *saved)
{
	saved->post_parse_analyze = post_parse_analyze_hook;
	saved->planner = planner_hook;
	saved->executor_start = ExecutorStart_hook;
	saved->executor_run = ExecutorRun_hook;
	saved->executor_finish = ExecutorFinish_hook;
	saved->executor_end = ExecutorEnd_hook;
	saved->check_perms = ExecutorCheckPerms_hook;

	post_parse_analyze_hook = NULL;
	planner_hook = NULL;
	ExecutorStart_hook = NULL;
	ExecutorRun_hook = NULL;
	ExecutorFinish_hook = NULL;
	ExecutorEnd_hook = NULL;
	ExecutorCheckPerms_hook = NULL;
}

void
pgm_restore_hooks(const PgmSavedHooks *saved)
{
	post_parse_analyze_hook = saved->post_parse_analyze;
	planner_hook = saved->planner;
	ExecutorStart_hook = saved->executor_start;
	ExecutorRun_hook = saved->executor_run;
	ExecutorFinish_hook = saved->executor_finish;
	ExecutorEnd_hook = saved->executor_end;
	ExecutorCheckPerms_hook = saved->check_perms;
}
