/*-------------------------------------------------------------------------
 *
 * toplevel.c
 *		Statements a job runs at top level, as a client would send them:
 *		those that commit on their own (CREATE INDEX CONCURRENTLY, DROP
 *		INDEX CONCURRENTLY, REINDEX CONCURRENTLY, ...), and what an
 *		interrupted one left behind.
 *
 * Such a statement commits in several transactions of its own, so a crash
 * or a cancel can stop it half way: a build leaves an INVALID index, a
 * REINDEX its <index>_ccnew[N] / _ccold[N] copies, a drop may have
 * finished after all.  A job runner that finds a statement marked
 * "attempted" asks here what to do before running it again; both runners
 * (migration scripts, online changes) use this one answer.
 *
 * pgm_find_leftover runs in a transaction with SPI connected.  The names it
 * returns live in the caller's memory context, because they are used after
 * that transaction has ended: pgm_drop_leftover runs the drop at top level,
 * in transactions of its own, with no lock_timeout (a concurrent drop
 * blocks nobody's reads and writes, so it may wait).
 *
 * Both runners also end a failed step the same way: pgm_toplevel_catch
 * keeps the error and aborts, pgm_toplevel_retryable says whether a
 * backoff and another try may help (lock timeout, deadlock, serialization
 * failure), pgm_toplevel_error_text writes it for last_error.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "parser/analyze.h"
#include "pgstat.h"
#include "tcop/pquery.h"
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/portal.h"
#include "utils/snapmgr.h"
#include "utils/regproc.h"
#include "utils/syscache.h"
#include "utils/varlena.h"

#include "core/compat.h"
#include "core/parse.h"
#include "ddl/policy.h"
#include "jobs/toplevel.h"

/*
 * Run one statement the way a client's simple query would: parsed,
 * planned and run through a portal at top level, so that statements that
 * refuse to run inside a transaction block work.  Such a statement may
 * commit and start transactions of its own while it runs, so everything
 * the portal uses lives in cxt, not in a transaction's memory.
 */
void
pgm_run_toplevel(const char *sql, MemoryContext cxt)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(cxt);
	List	   *raws = pgm_parse_raw(sql);
	RawStmt    *raw;
	bool		snapshot_set = false;
	List	   *querytrees;
	List	   *plans;
	Portal		portal;
	DestReceiver *receiver;
	QueryCompletion qc;

	if (list_length(raws) != 1)
		elog(ERROR, "statement of a background job does not parse as one statement");
	raw = linitial_node(RawStmt, raws);

	debug_query_string = sql;
	pgstat_report_activity(STATE_RUNNING, sql);

	if (analyze_requires_snapshot(raw))
	{
		PushActiveSnapshot(GetTransactionSnapshot());
		snapshot_set = true;
	}
	querytrees = pg_analyze_and_rewrite_fixedparams(raw, sql, NULL, 0, NULL);
	plans = pg_plan_queries(querytrees, sql, CURSOR_OPT_PARALLEL_OK, NULL);
	if (snapshot_set)
		PopActiveSnapshot();

	portal = CreatePortal("", true, true);
	portal->visible = false;
	PortalDefineQuery(portal, NULL, sql, CreateCommandTag(raw->stmt), plans, NULL);
	PortalStart(portal, NULL, 0, InvalidSnapshot);
	receiver = CreateDestReceiver(DestNone);
	MemoryContextSwitchTo(cxt);
	(void) PGM_PortalRun(portal, FETCH_ALL, true, receiver, receiver, &qc);
	receiver->rDestroy(receiver);
	PortalDrop(portal, false);

	debug_query_string = NULL;
	MemoryContextSwitchTo(oldcxt);
}

/* A relation named "schema"."name" (or just "name"), if it exists. */
Oid
pgm_lookup_qualified(const char *qualified)
{
	List	   *names;

	if (qualified == NULL)
		return InvalidOid;
	names = PGM_stringToQualifiedNameList(qualified);
	return RangeVarGetRelid(makeRangeVarFromNameList(names), NoLock, true);
}

/* Is the index valid (a concurrent build finished)?  False if it is gone. */
bool
pgm_index_is_valid(Oid indexoid)
{
	HeapTuple	tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(indexoid));
	bool		valid;

	if (!HeapTupleIsValid(tup))
		return false;
	valid = ((Form_pg_index) GETSTRUCT(tup))->indisvalid;
	ReleaseSysCache(tup);
	return valid;
}

/* "schema"."name" of a relation in cxt; NULL if it has just gone. */
static char *
qualified_name(Oid relid, MemoryContext cxt)
{
	char	   *nspname = get_namespace_name(get_rel_namespace(relid));
	char	   *relname = get_rel_name(relid);

	if (nspname == NULL || relname == NULL)
		return NULL;
	return MemoryContextStrdup(cxt, quote_qualified_identifier(nspname, relname));
}

/*
 * After an attempt that did not finish: what did it leave?  target is the
 * index a build or a drop names, or the table a REINDEX works on
 * (InvalidOid when it does not exist).  *drops gets the qualified names of
 * the INVALID indexes to drop first, allocated in cxt.
 */
PgmLeftover
pgm_find_leftover(Node *stmt, Oid target, MemoryContext cxt, List **drops)
{
	MemoryContext oldcxt;

	*drops = NIL;
	if (stmt == NULL)
		return PGM_LEFTOVER_NONE;
	if (IsA(stmt, IndexStmt))
	{
		char	   *name;

		if (!OidIsValid(target))
			return PGM_LEFTOVER_NONE;
		if (pgm_index_is_valid(target))
			return PGM_LEFTOVER_DONE;
		name = qualified_name(target, cxt);
		if (name == NULL)
			return PGM_LEFTOVER_NONE;
		oldcxt = MemoryContextSwitchTo(cxt);
		*drops = lappend(*drops, name);
		MemoryContextSwitchTo(oldcxt);
		return PGM_LEFTOVER_DROP;
	}
	if (IsA(stmt, DropStmt))
		return OidIsValid(target) ? PGM_LEFTOVER_NONE : PGM_LEFTOVER_DONE;
	if (IsA(stmt, ReindexStmt) && OidIsValid(target))
	{
		Oid			types[1] = {OIDOID};
		Datum		values[1];
		uint64		i;

		/* The copies REINDEX CONCURRENTLY makes are named <index>_ccnew[N] / _ccold[N]. */
		values[0] = ObjectIdGetDatum(target);
		if (SPI_execute_with_args("SELECT pg_catalog.format('%I.%I', n.nspname, c.relname)"
								  " FROM pg_catalog.pg_index i"
								  " JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) i.indexrelid"
								  " JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace"
								  " WHERE i.indrelid OPERATOR(pg_catalog.=) $1 AND NOT i.indisvalid"
								  " AND c.relname OPERATOR(pg_catalog.~) '_cc(new|old)[0-9]*$'",
								  1, types, values, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not look for leftover indexes");
		for (i = 0; i < SPI_processed; i++)
		{
			char	   *name = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);

			if (name == NULL)
				continue;
			oldcxt = MemoryContextSwitchTo(cxt);
			*drops = lappend(*drops, pstrdup(name));
			MemoryContextSwitchTo(oldcxt);
		}
		return *drops != NIL ? PGM_LEFTOVER_DROP : PGM_LEFTOVER_NONE;
	}
	return PGM_LEFTOVER_NONE;
}

/*
 * Drop an INVALID index an earlier attempt left, concurrently, at top
 * level, outside any transaction (who names the job in the log).
 */
void
pgm_drop_leftover(const char *who, const char *qualified, MemoryContext cxt)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(cxt);
	char	   *sql = psprintf("DROP INDEX CONCURRENTLY IF EXISTS %s", qualified);

	MemoryContextSwitchTo(oldcxt);

	ereport(LOG,
			(errmsg("%s: dropping INVALID index %s left by an earlier attempt", who, qualified)));
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	(void) set_config_option("lock_timeout", "0", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SET, true, 0, false);
	pgm_run_toplevel(sql, cxt);
	CommitTransactionCommand();
}

/*
 * Errors after which a step (a migration statement, a step of an online
 * change) is tried again after a backoff rather than the job failed.
 */
bool
pgm_toplevel_retryable(int sqlerrcode)
{
	return sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE ||
		sqlerrcode == ERRCODE_T_R_DEADLOCK_DETECTED ||
		sqlerrcode == ERRCODE_T_R_SERIALIZATION_FAILURE;
}

/*
 * In the PG_CATCH of a step: keep the error (in cxt), abort the step's
 * transaction and forget the rules the step was allowed to break.
 */
ErrorData *
pgm_toplevel_catch(MemoryContext cxt)
{
	ErrorData  *error;

	MemoryContextSwitchTo(cxt);
	error = CopyErrorData();
	FlushErrorState();
	AbortCurrentTransaction();
	debug_query_string = NULL;
	pgm_exemptions = NIL;
	pgm_exemption_reason = NULL;
	return error;
}

/* The error's message, and its detail in parentheses, for last_error. */
char *
pgm_toplevel_error_text(ErrorData *error)
{
	if (error->detail)
		return psprintf("%s (%s)", error->message, error->detail);
	return pstrdup(error->message);
}
