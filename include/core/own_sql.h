/*-------------------------------------------------------------------------
 *
 * own_sql.h
 *		Running pg_migrate's own SQL out of sight of other extensions'
 *		parser, planner and executor hooks.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_MIGRATE_OWN_SQL_H
#define PG_MIGRATE_OWN_SQL_H

#include "postgres.h"

#include "executor/executor.h"
#include "optimizer/planner.h"
#include "parser/analyze.h"

typedef struct PgmSavedHooks
{
	post_parse_analyze_hook_type post_parse_analyze;
	planner_hook_type planner;
	ExecutorStart_hook_type executor_start;
	ExecutorRun_hook_type executor_run;
	ExecutorFinish_hook_type executor_finish;
	ExecutorEnd_hook_type executor_end;
	ExecutorCheckPerms_hook_type check_perms;
} PgmSavedHooks;

extern void pgm_hide_from_hooks(PgmSavedHooks *saved);
extern void pgm_restore_hooks(const PgmSavedHooks *saved);

#endif							/* PG_MIGRATE_OWN_SQL_H */
