/*-------------------------------------------------------------------------
 *
 * dbguard.h
 *		The database guard hook (jobs/dbguard.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_MIGRATE_JOBS_DBGUARD_H
#define PG_MIGRATE_JOBS_DBGUARD_H

#include "postgres.h"

#include "tcop/utility.h"

extern ProcessUtility_hook_type pgm_dbguard_prev_ProcessUtility;

extern void pgm_dbguard_ProcessUtility(PlannedStmt *pstmt,
									   const char *queryString,
									   bool readOnlyTree,
									   ProcessUtilityContext context,
									   ParamListInfo params,
									   QueryEnvironment *queryEnv,
									   DestReceiver *dest,
									   QueryCompletion *qc);

#endif							/* PG_MIGRATE_JOBS_DBGUARD_H */
