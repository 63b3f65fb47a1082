/*-------------------------------------------------------------------------
 *
 * dbguard.c
 *		The database guard: a ProcessUtility hook that keeps job workers out
 *		of the way of statements that need a database without connections.
 *
 * A job worker holds no lock between batches, so DROP EXTENSION, DROP
 * TABLE and the like wait for one batch at most; the worker then notices
 * that its table or its job is gone and exits.  DROP DATABASE (and ALTER
 * DATABASE RENAME / SET TABLESPACE, and CREATE DATABASE from a template)
 * would instead wait for the workers connected to the database and fail
 * after five seconds, so this hook terminates them first and keeps the
 * launcher away from the database until the statement is over.
 *
 * The hook is also where a job submitted in a prepared transaction is
 * noticed: COMMIT PREPARED may run in another session than the one that
 * submitted it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_database.h"
#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "storage/ipc.h"
#include "tcop/utility.h"
#include "utils/acl.h"

#include "core/catalog.h"
#include "core/compat.h"
#include "jobs/dbguard.h"
#include "jobs/shmem.h"

/* The hook this one chains to; _PG_init installs it. */
ProcessUtility_hook_type pgm_dbguard_prev_ProcessUtility = NULL;

static void
unsuspend_database_callback(int code, Datum arg)
{
	pgm_jobs_unsuspend_database(DatumGetObjectId(arg));
}

/* ----------------------------------------------------------------
 * The ProcessUtility hook: keep workers out of the way of statements that
 * need a database without connections.
 * ----------------------------------------------------------------
 */

/*
 * The database a statement needs without connections (DROP DATABASE, ALTER
 * DATABASE RENAME / SET TABLESPACE, CREATE DATABASE from it as a template),
 * or InvalidOid.
 */
static Oid
database_needing_exclusive_use(Node *parsetree)
{
	ListCell   *lc;

	switch (nodeTag(parsetree))
	{
		case T_DropdbStmt:
			return get_database_oid(((DropdbStmt *) parsetree)->dbname, true);
		case T_RenameStmt:
			{
				RenameStmt *stmt = (RenameStmt *) parsetree;

				if (stmt->renameType == OBJECT_DATABASE && stmt->subname)
					return get_database_oid(stmt->subname, true);
				break;
			}
		case T_AlterDatabaseStmt:
			{
				AlterDatabaseStmt *stmt = (AlterDatabaseStmt *) parsetree;

				foreach(lc, stmt->options)
				{
					DefElem    *def = lfirst_node(DefElem, lc);

					if (strcmp(def->defname, "tablespace") == 0)
						return get_database_oid(stmt->dbname, true);
				}
				break;
			}
		case T_CreatedbStmt:
			{
				CreatedbStmt *stmt = (CreatedbStmt *) parsetree;

				foreach(lc, stmt->options)
				{
					DefElem    *def = lfirst_node(DefElem, lc);

					if (strcmp(def->defname, "template") == 0 && def->arg)
						return get_database_oid(defGetString(def), true);
				}
				break;
			}
		default:
			break;
	}
	return InvalidOid;
}

/*
 * ProcessUtility hook of the database guard: before a statement that needs
 * a database without connections, terminate its job workers and keep the
 * launcher away until the statement ends; after COMMIT PREPARED, have the
 * launcher look at this database.  Everything else passes straight on.
 */
void
pgm_dbguard_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
						   bool readOnlyTree, ProcessUtilityContext context,
						   ParamListInfo params, QueryEnvironment *queryEnv,
						   DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;
	Oid			dbid = InvalidOid;

	if (parsetree != NULL && pgm_jobs_shared != NULL)
		dbid = database_needing_exclusive_use(parsetree);

	/*
	 * Only for a role that may run the statement: anyone else would merely
	 * interrupt other people's jobs, and fail anyway.
	 */
	if (OidIsValid(dbid) && !PGM_DatabaseOwnercheck(dbid, GetUserId()))
		dbid = InvalidOid;

	if (!OidIsValid(dbid) || dbid == MyDatabaseId)
	{
		if (pgm_dbguard_prev_ProcessUtility)
			pgm_dbguard_prev_ProcessUtility(pstmt, queryString, readOnlyTree, context,
											params, queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
									params, queryEnv, dest, qc);

		/*
		 * A job submitted in a prepared transaction becomes visible here,
		 * possibly in another session than the one that submitted it (and
		 * whose commit-time notification never came): ask the launcher to
		 * look at the database, where pg_migrate is installed.
		 */
		if (parsetree != NULL && pgm_jobs_shared != NULL &&
			IsA(parsetree, TransactionStmt) &&
			((TransactionStmt *) parsetree)->kind == TRANS_STMT_COMMIT_PREPARED &&
			OidIsValid(get_extension_oid(PGM_EXTENSION_NAME, true)))
			pgm_jobs_notify_database(MyDatabaseId);
		return;
	}

	/*
	 * The database is released however the statement ends: an error, or
	 * the backend terminated while it waits (FATAL runs no PG_FINALLY).
	 */
	pgm_jobs_suspend_database(dbid);
	PG_ENSURE_ERROR_CLEANUP(unsuspend_database_callback, ObjectIdGetDatum(dbid));
	{
		if (pgm_dbguard_prev_ProcessUtility)
			pgm_dbguard_prev_ProcessUtility(pstmt, queryString, readOnlyTree, context,
											params, queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
									params, queryEnv, dest, qc);
	}
	PG_END_ENSURE_ERROR_CLEANUP(unsuspend_database_callback, ObjectIdGetDatum(dbid));
	pgm_jobs_unsuspend_database(dbid);
}
