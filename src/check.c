/*-------------------------------------------------------------------------
 *
 * check.c
 *		migrate_check(sql): judge a migration script without applying it.
 *
 * The script is split with the raw parser and judged one statement at a
 * time, in order, each one against the catalog as the statements before it
 * left it: everything runs inside one subtransaction that is rolled back at
 * the end, and each statement that is cheap to run is executed in it after
 * being judged, so that a table created by statement 1 is new (never
 * populated) for statement 2.
 *
 * What is never executed, only judged from the parse tree and the catalog:
 *	- anything the classifier predicts to rewrite, scan or build an index on
 *	  a populated table (the verdict must not cost what the migration costs);
 *	- statements that cannot run in a transaction block (VACUUM, the
 *	  CONCURRENTLY forms, REINDEX SCHEMA/DATABASE);
 *	- DML and queries: an UPDATE or DELETE is judged on the planner's row
 *	  estimate (rule large_dml), and data never changes whether a later
 *	  statement is safe except through table size, which only grows;
 *	- transaction control (BEGIN/COMMIT/SAVEPOINT in the script).
 *
 * Locks taken by the statements that are executed are held until the check
 * ends, which is short since only cheap statements run; each lock wait is
 * bounded by pg_migrate.lock_timeout.  A statement that fails is reported
 * as a finding with action "error" and the check carries on without its
 * effects.
 *
 * The hook stands aside while the check executes statements (they are not
 * judged twice, not recorded, and not retried).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/plannodes.h"
#include "parser/analyze.h"
#include "parser/parser.h"
#include "parser/parsetree.h"
#include "parser/scansup.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"

#include "check.h"
#include "classify.h"
#include "pg_migrate.h"
#include "policy.h"

PG_FUNCTION_INFO_V1(migrate_check);

#define CHECK_COLS 8

/*
 * Report syntax errors at their position in the script, not in the query
 * that called us (as SQL functions do for their bodies).
 */
static void
script_error_callback(void *arg)
{
	const char *sql = (const char *) arg;
	int			pos = geterrposition();

	if (pos > 0)
	{
		errposition(0);
		internalerrposition(pos);
		internalerrquery(sql);
	}
}

/* Split a script with the raw parser; syntax errors point into the script. */
List *
pgm_parse_raw(const char *sql)
{
	ErrorContextCallback errcb;
	List	   *raw;

	errcb.callback = script_error_callback;
	errcb.arg = (void *) sql;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	raw = PGM_raw_parser(sql);
	error_context_stack = errcb.previous;
	return raw;
}

/* The text of one statement of a script, without blanks and semicolon. */
char *
pgm_statement_text(const char *sql, RawStmt *rs)
{
	int			loc = Max(rs->stmt_location, 0);
	int			len = rs->stmt_len > 0 ? rs->stmt_len : (int) strlen(sql + loc);

	while (len > 0 && scanner_isspace(sql[loc]))
	{
		loc++;
		len--;
	}
	while (len > 0 && (scanner_isspace(sql[loc + len - 1]) || sql[loc + len - 1] == ';'))
		len--;
	return pnstrdup(sql + loc, len);
}

static bool
is_dml(Node *node)
{
	switch (nodeTag(node))
	{
		case T_InsertStmt:
		case T_UpdateStmt:
		case T_DeleteStmt:
#ifdef PGM_HAVE_MERGE
		case T_MergeStmt:
#endif
		case T_SelectStmt:
			return true;
		default:
			return false;
	}
}

/*
 * UPDATE/DELETE: the planner's estimate of the rows touched, never a scan.
 * Returns the classification (with a large_dml operation when the estimate
 * is above pg_migrate.max_migration_rows) and sets *relid and *rows; for any
 * other statement returns NULL.
 */
PgmClassification *
pgm_classify_dml(RawStmt *rs, const char *text, Oid *relid, double *rows)
{
	Query	   *query;
	PlannedStmt *plan;
	PgmClassification *cls;
	PgmOperation *op;

	*relid = InvalidOid;
	*rows = -1;
	if (!is_dml(rs->stmt))
		return NULL;
	query = parse_analyze_fixedparams(copyObject(rs), text, NULL, 0, NULL);
	if (query->commandType != CMD_UPDATE && query->commandType != CMD_DELETE)
		return NULL;
	plan = pg_plan_query(query, text, 0, NULL);
	if (plan->planTree == NULL || outerPlan(plan->planTree) == NULL)
		return NULL;

	/* ModifyTable estimates 0 rows without RETURNING; its input knows. */
	*rows = outerPlan(plan->planTree)->plan_rows;
	*relid = rt_fetch(query->resultRelation, query->rtable)->relid;

	cls = palloc0(sizeof(PgmClassification));
	cls->transactional = true;
	if (*rows <= pgm_max_migration_rows)
		return cls;

	op = palloc0(sizeof(PgmOperation));
	op->rule = PGM_RULE_LARGE_DML;
	op->relid = *relid;
	op->relname = get_rel_name(*relid);
	op->schemaname = get_namespace_name(get_rel_namespace(*relid));
	op->lockmode = RowExclusiveLock;
	op->populated = pgm_relation_populated(*relid, &op->blocks, NULL);
	op->what = psprintf("%s of about %.0f rows of \"%s\" in one transaction (pg_migrate.max_migration_rows is %d)",
						query->commandType == CMD_UPDATE ? "UPDATE" : "DELETE",
						*rows, op->relname ? op->relname : "?", pgm_max_migration_rows);
	cls->ops = list_make1(op);
	return cls;
}

/*
 * Judge one statement, then execute it when that is cheap and possible.
 * Runs inside its own subtransaction (see walk_statement).
 */
static void
judge_and_run(PgmJudgedStatement *js, RawStmt *rs, bool bound_wait,
			  PgmJudgeCallback callback, void *arg)
{
	Node	   *node = rs->stmt;

	/* Verdicts first: require mode looks at the session's own setting. */
	if (!is_dml(node))
	{
		js->cls = pgm_classify_statement(node);
		js->verdicts = pgm_policy_verdicts(js->cls);
	}

	if (bound_wait && (LockTimeout == 0 || LockTimeout > pgm_lock_timeout))
		LockTimeout = pgm_lock_timeout;

	if (is_dml(node))
	{
		js->cls = pgm_classify_dml(rs, js->text, &js->dml_relid, &js->dml_rows);
		if (js->cls)
			js->verdicts = pgm_policy_verdicts(js->cls);
	}

	/* Reported before it runs: the callback sees the catalog it was judged on. */
	callback(arg, js);

	if (!is_dml(node) && js->cls->transactional && !js->cls->expensive)
	{
		int			rc = SPI_execute(js->text, false, 0);

		if (rc < 0)
			elog(ERROR, "could not execute statement: %s", SPI_result_code_string(rc));
		/* Later statements are parsed and judged seeing its effects. */
		CommandCounterIncrement();
	}
}

/*
 * One statement in its own subtransaction of the walk's subtransaction, so
 * that a statement that fails (or that cannot even be analysed) is reported
 * as such and leaves no trace, and the walk goes on.  Lock waits are
 * bounded: the variable behind lock_timeout is set, not the setting, so that
 * the session's own lock_timeout (which a SET in the script may change, and
 * require mode looks at) is what the next statements see.
 */
static void
walk_statement(PgmJudgedStatement *js, RawStmt *rs, PgmJudgeCallback callback,
			   void *arg)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	bool		bound_wait = !IsA(rs->stmt, VariableSetStmt);
	int			save_lock_timeout = LockTimeout;
	int			depth;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	depth = pgm_own_code_enter();
	PG_TRY();
	{
		judge_and_run(js, rs, bound_wait, callback, arg);
		if (bound_wait)
			LockTimeout = save_lock_timeout;
		pgm_own_code_restore(depth);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		if (bound_wait)
			LockTimeout = save_lock_timeout;
		pgm_own_code_restore(depth);
		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;

		/* Cancels and the like end the walk; anything else is reported. */
		if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED ||
			edata->sqlerrcode == ERRCODE_ADMIN_SHUTDOWN)
			ReThrowError(edata);

		/* Reported a second time, with the failure alone. */
		js->cls = NULL;
		js->verdicts = NIL;
		js->dml_relid = InvalidOid;
		js->error = edata->message ? edata->message : "unknown error";
		js->error_hint = edata->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE ?
			"A lock was not available within pg_migrate.lock_timeout; later statements were judged without this one's effects." :
			edata->hint;
		callback(arg, js);
	}
	PG_END_TRY();
}

/*
 * Walk a script as the file header describes, handing each judged
 * statement to the callback before it is executed (so that the callback
 * sees the catalog it was judged on), and once more, with only the error
 * set, if judging or executing it fails.  Everything the script did is rolled back
 * before returning.
 */
void
pgm_walk_script(const char *sql, PgmJudgeCallback callback, void *arg)
{
	List	   *raw;
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	int			stmtno = 0;

	if (!pgm_policy_active())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"%s\" is not installed in this database", PGM_EXTENSION_NAME)));

	raw = pgm_parse_raw(sql);

	/* Everything the script does happens in here, and is rolled back. */
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		ListCell   *lc;

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		foreach(lc, raw)
		{
			RawStmt    *rs = lfirst_node(RawStmt, lc);
			PgmJudgedStatement js;

			CHECK_FOR_INTERRUPTS();
			memset(&js, 0, sizeof(js));
			js.stmtno = ++stmtno;
			js.text = pgm_statement_text(sql, rs);
			js.stmt = rs->stmt;
			js.dml_rows = -1;

			/* BEGIN/COMMIT/SAVEPOINT of the script: the walk is one transaction. */
			if (IsA(rs->stmt, TransactionStmt))
				continue;

			walk_statement(&js, rs, callback, arg);
		}
		SPI_finish();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		ReThrowError(edata);
	}
	PG_END_TRY();

	RollbackAndReleaseCurrentSubTransaction();
	MemoryContextSwitchTo(oldcxt);
	CurrentResourceOwner = oldowner;
}

/* ---------------------------------------------------------------------
 * migrate_check(sql)
 * ---------------------------------------------------------------------
 */

static void
emit(ReturnSetInfo *rsinfo, PgmJudgedStatement *js, const char *rule,
	 const char *action, const char *relation, const char *lock,
	 const char *message, const char *hint)
{
	Datum		values[CHECK_COLS];
	bool		nulls[CHECK_COLS] = {0};
	const char *cols[CHECK_COLS - 2] = {rule, action, relation, lock, message, hint};
	int			i;

	values[0] = Int32GetDatum(js->stmtno);
	values[1] = CStringGetTextDatum(js->text);
	for (i = 0; i < CHECK_COLS - 2; i++)
	{
		if (cols[i])
			values[i + 2] = CStringGetTextDatum(cols[i]);
		else
			nulls[i + 2] = true;
	}
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/* The relation an operation is about, quoted, or NULL. */
char *
pgm_op_relation(PgmOperation *op)
{
	if (op->relname && op->schemaname)
		return quote_qualified_identifier(op->schemaname, op->relname);
	if (op->schemaname)
		return pstrdup(quote_identifier(op->schemaname));
	return NULL;
}

static void
check_callback(void *arg, PgmJudgedStatement *js)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) arg;
	ListCell   *lc;

	foreach(lc, js->verdicts)
	{
		PgmVerdict *v = lfirst(lc);

		emit(rsinfo, js, pgm_rules[v->op->rule].name, pgm_action_name(v->action),
			 pgm_op_relation(v->op), pgm_lockmode_name(v->op->lockmode),
			 v->op->what, pgm_rules[v->op->rule].alternative);
	}
	if (js->error)
		emit(rsinfo, js, NULL, "error", NULL, NULL,
			 psprintf("statement fails: %s", js->error), js->error_hint);
}

Datum
migrate_check(PG_FUNCTION_ARGS)
{
	char	   *sql;

	pgm_check_preloaded();
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the script to check must not be NULL")));
	sql = text_to_cstring(PG_GETARG_TEXT_PP(0));

	PGM_InitMaterializedSRF(fcinfo);
	pgm_walk_script(sql, check_callback, fcinfo->resultinfo);
	return (Datum) 0;
}
