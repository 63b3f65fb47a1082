/*-------------------------------------------------------------------------
 *
 * guard.h
 *		The ProcessUtility hook (ddl/guard.c), and the way pg_migrate's own
 *		code makes it stand aside.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_MIGRATE_DDL_GUARD_H
#define PG_MIGRATE_DDL_GUARD_H

#include "postgres.h"

#include "tcop/utility.h"

extern ProcessUtility_hook_type pgm_guard_prev_ProcessUtility;

extern void pgm_guard_ProcessUtility(PlannedStmt *pstmt,
									 const char *queryString,
									 bool readOnlyTree,
									 ProcessUtilityContext context,
									 ParamListInfo params,
									 QueryEnvironment *queryEnv,
									 DestReceiver *dest,
									 QueryCompletion *qc);

extern bool pgm_in_own_code(void);
extern char *pgm_guard_set_online_note(char *note);
extern void pgm_guard_note_queued_index(const char *schema, const char *name,
										int64 job_id);
extern int	pgm_own_code_enter(void);
extern void pgm_own_code_restore(int depth);

#endif							/* PG_MIGRATE_DDL_GUARD_H */
