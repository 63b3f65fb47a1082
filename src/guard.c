/*-------------------------------------------------------------------------
 *
 * guard.c
 *		The ProcessUtility hook: every utility statement of every backend
 *		passes through here.
 *
 * For a statement pg_migrate cares about the hook, in order,
 *		1. opens a history frame (statement text, start time),
 *		2. runs the statement through the previous hook or
 *		   standard_ProcessUtility,
 *		3. writes the history row, in the statement's own (sub)transaction, so
 *		   that a statement that is rolled back leaves no row.
 *
 * Everything else (transaction control, SET, SHOW, DML sent as utility
 * statements, ...) goes straight to the next hook with no work beyond a
 * switch on the node tag, so sessions that run no DDL pay nothing.
 *
 * Statements generated internally by CREATE/ALTER TABLE reach the hook a
 * second time with context PROCESS_UTILITY_SUBCOMMAND; they belong to the
 * statement that generated them and are passed through untouched.
 *
 * The hook never calls itself: SQL that pg_migrate runs on its own account
 * (history inserts) is DML, and pgm_own_code guards against any utility
 * statement reaching us while our own code is running.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/extension.h"
#include "commands/trigger.h"
#include "miscadmin.h"
#include "tcop/utility.h"
#include "utils/guc.h"

#include "history.h"
#include "pg_migrate.h"

static ProcessUtility_hook_type prev_ProcessUtility = NULL;

/* Depth of pg_migrate's own code on the stack; the hook stands aside. */
static int	pgm_own_code = 0;

static void pgm_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
							   bool readOnlyTree,
							   ProcessUtilityContext context,
							   ParamListInfo params,
							   QueryEnvironment *queryEnv,
							   DestReceiver *dest, QueryCompletion *qc);

void
pgm_guard_init(void)
{
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = pgm_ProcessUtility;
}

bool
pgm_in_own_code(void)
{
	return pgm_own_code > 0;
}

static inline void
call_next(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
		  ProcessUtilityContext context, ParamListInfo params,
		  QueryEnvironment *queryEnv, DestReceiver *dest,
		  QueryCompletion *qc)
{
	if (prev_ProcessUtility)
		prev_ProcessUtility(pstmt, queryString, readOnlyTree, context,
							params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
}

/*
 * Does pg_migrate stand aside for this statement altogether?
 *
 * session_replication_role = replica is how pg_restore --disable-triggers
 * and logical replication apply changes that were already judged and
 * recorded where they originated; like event triggers, pg_migrate does not
 * act on them.  Only superusers can set it.
 */
static bool
stand_aside(ProcessUtilityContext context)
{
	if (context == PROCESS_UTILITY_SUBCOMMAND)
		return true;
	if (pgm_own_code > 0)
		return true;
	if (SessionReplicationRole == SESSION_REPLICATION_ROLE_REPLICA)
		return true;
	/* The statements of an extension script are not recorded one by one. */
	if (creating_extension)
		return true;
	return false;
}

static void
pgm_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
				   bool readOnlyTree, ProcessUtilityContext context,
				   ParamListInfo params, QueryEnvironment *queryEnv,
				   DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;
	HistoryFrame *frame = NULL;
	int			save_own_code = pgm_own_code;

	if (parsetree == NULL || stand_aside(context) ||
		!pgm_record_ddl || !pgm_history_wanted(parsetree))
	{
		call_next(pstmt, queryString, readOnlyTree, context, params,
				  queryEnv, dest, qc);
		return;
	}

	frame = pgm_history_begin(pstmt, queryString, context);

	PG_TRY();
	{
		call_next(pstmt, queryString, readOnlyTree, context, params,
				  queryEnv, dest, qc);

		pgm_own_code++;
		pgm_history_finish(frame, parsetree);
		pgm_own_code--;
	}
	PG_FINALLY();
	{
		pgm_own_code = save_own_code;
		pgm_history_discard(frame);
	}
	PG_END_TRY();
}
