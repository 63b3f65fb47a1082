/*-------------------------------------------------------------------------
 *
 * plan.c
 *		migrate_plan(sql): what a migration will do to the database, per
 *		statement and relation, with a risk level; and the same as a Markdown
 *		review report fit for a pull-request comment.
 *
 * The script is walked exactly as migrate_check() walks it (check.c, a dry
 * run): each statement is classified and judged against the catalog as the
 * statements before it left it, cheap catalog DDL is executed inside a
 * subtransaction that is rolled back at the end, no user code runs, and
 * nothing that rewrites, scans or builds an index on a populated table is
 * ever executed.  The plan adds what the check leaves out: the operations
 * that break no rule, what each lock blocks, sizes, row estimates, and a
 * risk level.  The report verifies reversibility (which runs both scripts)
 * only when a dry run would have run every statement of both.
 *
 * Risk levels (documented in README.md):
 *	CRITICAL  a refused operation that loses data (drop_table, drop_schema,
 *			  drop_column, truncate), or a rewrite of a populated table
 *	HIGH	  any other refused operation, or a scan or index build of a
 *			  populated table under a lock that blocks writes
 *	MEDIUM	  a warning, or a lock that blocks reads or writes of an existing
 *			  populated table (brief: catalog-only, bounded by lock_timeout)
 *	LOW		  everything else
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "commands/dbcommands.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "executor/spi.h"
#include "storage/lock.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "core/catalog.h"
#include "core/compat.h"
#include "core/guc.h"
#include "ddl/classify.h"
#include "ddl/policy.h"
#include "migrate/check.h"
#include "migrate/migrate.h"

PG_FUNCTION_INFO_V1(migrate_plan);
PG_FUNCTION_INFO_V1(migrate_plan_report);

typedef enum PlanRisk
{
	RISK_LOW,
	RISK_MEDIUM,
	RISK_HIGH,
	RISK_CRITICAL
} PlanRisk;

static const char *const risk_names[] = {"LOW", "MEDIUM", "HIGH", "CRITICAL"};

/* One row of the plan: a statement and one relation it touches. */
typedef struct PlanRow
{
	int			stmtno;
	char	   *statement;
	Oid			relid;
	char	   *relation;		/* qualified name, or NULL */
	LOCKMODE	lockmode;
	bool		rewrite;
	bool		scan;
	bool		build;
	bool		populated;
	BlockNumber blocks;
	double		rows;			/* reltuples, or the DML estimate; -1 unknown */
	StringInfoData findings;	/* "rule (action)", comma separated */
	List	   *verdicts;		/* of PgmVerdict *, for the report */
	PlanRisk	risk;
	char	   *error;			/* the statement failed in the check */
	char	   *not_run;		/* not dry-run, so not judged: why */
	bool		dml;
} PlanRow;

typedef struct PgmPlan
{
	MemoryContext cxt;			/* survives the check's subtransactions */
	List	   *rows;			/* of PlanRow * */
	int			nstatements;
	int			first_not_run;	/* first statement the walk did not
								 * execute, or 0 */
} PgmPlan;

static char *size_estimate(PlanRow *row);

/* What a lock mode blocks, in the words of the plan. */
static const char *
blocks_what(LOCKMODE mode)
{
	if (mode >= AccessExclusiveLock)
		return "reads and writes";
	if (mode >= ShareLock)
		return "writes";
	if (mode == ShareUpdateExclusiveLock)
		return "other schema changes";
	return "nothing";
}

static bool
data_loss_rule(PgmRule rule)
{
	return rule == PGM_RULE_DROP_TABLE || rule == PGM_RULE_DROP_SCHEMA ||
		rule == PGM_RULE_DROP_COLUMN || rule == PGM_RULE_TRUNCATE;
}

/* The risk of one plan row, from its lock, its rewrite and its findings. */
static PlanRisk
row_risk(PlanRow *row)
{
	PlanRisk	risk = RISK_LOW;
	ListCell   *lc;

	if (row->error || row->not_run)
		return RISK_HIGH;
	foreach(lc, row->verdicts)
	{
		PgmVerdict *v = lfirst(lc);
		PlanRisk	r = RISK_LOW;

		if (v->action == PGM_ACTION_DENY && !v->overridden)
			r = (data_loss_rule(v->op->rule) ||
				 (v->op->rewrite && v->op->populated)) ? RISK_CRITICAL : RISK_HIGH;
		else if (v->action == PGM_ACTION_WARN || v->action == PGM_ACTION_ONLINE ||
				 (v->action == PGM_ACTION_DENY && v->overridden))
			r = RISK_MEDIUM;
		risk = Max(risk, r);
	}
	if (row->populated && (row->rewrite || row->scan || row->build) &&
		row->lockmode >= ShareLock)
		risk = Max(risk, row->rewrite ? RISK_CRITICAL : RISK_HIGH);
	if (row->populated && row->lockmode >= ShareLock)
		risk = Max(risk, RISK_MEDIUM);
	return risk;
}

/*
 * The plan row of a statement and relation, created on first use, so that
 * several findings on one table make one row.
 */
static PlanRow *
find_or_add_row(PgmPlan *ps, int stmtno, const char *text, Oid relid,
				const char *schemaname, const char *relname)
{
	ListCell   *lc;
	PlanRow    *row;

	foreach(lc, ps->rows)
	{
		row = lfirst(lc);
		if (row->stmtno == stmtno && row->relid == relid)
			return row;
	}
	row = palloc0(sizeof(PlanRow));
	row->stmtno = stmtno;
	row->statement = pstrdup(text);
	row->relid = relid;
	row->rows = -1;
	if (relname && schemaname)
		row->relation = quote_qualified_identifier(schemaname, relname);
	else if (schemaname)
		row->relation = pstrdup(quote_identifier(schemaname));
	if (OidIsValid(relid))
	{
		HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));

		row->populated = pgm_relation_populated(relid, &row->blocks, NULL);
		if (HeapTupleIsValid(tup))
		{
			float4		reltuples = ((Form_pg_class) GETSTRUCT(tup))->reltuples;

			/* -1: never vacuumed or analyzed; 0 pages means empty */
			if (reltuples >= 0)
				row->rows = reltuples;
			else if (row->blocks == 0)
				row->rows = 0;
			ReleaseSysCache(tup);
		}
	}
	initStringInfo(&row->findings);
	ps->rows = lappend(ps->rows, row);
	return row;
}

/*
 * A verdict, copied into the plan's memory: the walker's lives in memory
 * that is gone when the walk returns.
 */
static PgmVerdict *
copy_verdict(PgmVerdict *v)
{
	PgmVerdict *c = palloc(sizeof(PgmVerdict));
	PgmOperation *op = palloc(sizeof(PgmOperation));

	*c = *v;
	*op = *v->op;
	op->schemaname = v->op->schemaname ? pstrdup(v->op->schemaname) : NULL;
	op->relname = v->op->relname ? pstrdup(v->op->relname) : NULL;
	op->colname = v->op->colname ? pstrdup(v->op->colname) : NULL;
	op->what = v->op->what ? pstrdup(v->op->what) : NULL;
	c->op = op;
	c->override_reason = v->override_reason ? pstrdup(v->override_reason) : NULL;
	c->message = v->message ? pstrdup(v->message) : NULL;
	c->detail = v->detail ? pstrdup(v->detail) : NULL;
	c->online_as = v->online_as ? pstrdup(v->online_as) : NULL;
	c->online_call = v->online_call ? pstrdup(v->online_call) : NULL;
	return c;
}

/* The walker's callback: fold one judged statement into plan rows. */
static void
plan_statement(void *arg, PgmJudgedStatement *js)
{
	PgmPlan  *ps = (PgmPlan *) arg;
	MemoryContext oldcxt = MemoryContextSwitchTo(ps->cxt);
	bool		any = false;
	ListCell   *lc;

	ps->nstatements = Max(ps->nstatements, js->stmtno);
	if ((!js->runs || js->error || js->not_run) &&
		(ps->first_not_run == 0 || js->stmtno < ps->first_not_run))
		ps->first_not_run = js->stmtno;

	if (js->cls)
	{
		foreach(lc, js->cls->ops)
		{
			PgmOperation *op = lfirst(lc);
			PlanRow    *row = find_or_add_row(ps, js->stmtno, js->text, op->relid,
											  op->schemaname, op->relname);

			row->lockmode = Max(row->lockmode, op->lockmode);
			row->rewrite |= op->rewrite;
			row->scan |= op->scan;
			row->build |= op->build;
			any = true;
		}
		foreach(lc, js->cls->requested)
		{
			PgmLockRequest *lr = lfirst(lc);
			PlanRow    *row = find_or_add_row(ps, js->stmtno, js->text, lr->relid,
											  get_namespace_name(get_rel_namespace(lr->relid)),
											  get_rel_name(lr->relid));

			row->lockmode = Max(row->lockmode, lr->lockmode);
			any = true;
		}
	}
	if (OidIsValid(js->dml_relid))
	{
		PlanRow    *row = find_or_add_row(ps, js->stmtno, js->text, js->dml_relid,
										  get_namespace_name(get_rel_namespace(js->dml_relid)),
										  get_rel_name(js->dml_relid));

		row->lockmode = Max(row->lockmode, RowExclusiveLock);
		row->rows = js->dml_rows;
		row->dml = true;
		any = true;
	}
	foreach(lc, js->verdicts)
	{
		PgmVerdict *v = lfirst(lc);
		PlanRow    *row = find_or_add_row(ps, js->stmtno, js->text, v->op->relid,
										  v->op->schemaname, v->op->relname);

		if (row->findings.len > 0)
			appendStringInfoString(&row->findings, ", ");
		if (v->online_as)
			appendStringInfo(&row->findings, "%s (online; runs online as: %s)",
							 pgm_rules[v->op->rule].name, v->online_as);
		else
			appendStringInfo(&row->findings, "%s (%s)", pgm_rules[v->op->rule].name,
							 pgm_action_name(v->action));
		row->verdicts = lappend(row->verdicts, copy_verdict(v));
		any = true;
	}
	if (js->error)
	{
		PlanRow    *row = find_or_add_row(ps, js->stmtno, js->text, InvalidOid, NULL, NULL);

		row->error = pstrdup(js->error);
		any = true;
	}
	if (js->not_run)
	{
		PlanRow    *row = find_or_add_row(ps, js->stmtno, js->text, InvalidOid, NULL, NULL);

		row->not_run = pstrdup(js->not_run);
		any = true;
	}
	if (!any)
		(void) find_or_add_row(ps, js->stmtno, js->text, InvalidOid, NULL, NULL);

	MemoryContextSwitchTo(oldcxt);
}

/* Dry-run a script and collect its plan rows. */
static PgmPlan *
build_plan(const char *sql)
{
	PgmPlan  *ps = palloc0(sizeof(PgmPlan));
	ListCell   *lc;

	ps->cxt = CurrentMemoryContext;
	pgm_walk_script(sql, plan_statement, ps);
	foreach(lc, ps->rows)
	{
		PlanRow    *row = lfirst(lc);

		row->risk = row_risk(row);
	}
	return ps;
}

/*
 * The lock hold measured for earlier changes of the same kind to the same
 * table (ddl/lockstats.c): recorded statements on this relation with the
 * same lock mode and the same rewrite flag.  NULL when there are none, when
 * the history has no lock figures (extension not updated to 1.4), or when
 * the caller may not read the history: the plan shows nobody figures they
 * could not query themselves.
 */
static char *
measured_lock_time(PlanRow *row)
{
	Oid			relid = pgm_relation("migrate_ddl_history");
	Oid			argtypes[3] = {TEXTOID, TEXTOID, BOOLOID};
	Datum		args[3];
	char	   *nspname;
	char	   *relname;
	char	   *result = NULL;

	if (!OidIsValid(relid) || row->relation == NULL ||
		get_attnum(relid, "lock_held") == InvalidAttrNumber ||
		get_attnum(relid, "lock_relation") == InvalidAttrNumber ||
		pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		return NULL;
	nspname = get_namespace_name(get_rel_namespace(relid));
	relname = get_rel_name(relid);
	if (nspname == NULL || relname == NULL)
		return NULL;

	args[0] = CStringGetTextDatum(row->relation);
	args[1] = CStringGetTextDatum(GetLockmodeName(DEFAULT_LOCKMETHOD, row->lockmode));
	args[2] = BoolGetDatum(row->rewrite);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args(psprintf("SELECT pg_catalog.count(*),"
									   " pg_catalog.percentile_cont(0.5) WITHIN GROUP"
									   "   (ORDER BY EXTRACT(epoch FROM lock_held)::pg_catalog.float8),"
									   " pg_catalog.max(EXTRACT(epoch FROM lock_held))::pg_catalog.float8"
									   " FROM %s WHERE lock_relation OPERATOR(pg_catalog.=) $1"
									   " AND lock_mode OPERATOR(pg_catalog.=) $2"
									   " AND rewrite OPERATOR(pg_catalog.=) $3"
									   " AND lock_held IS NOT NULL",
									   quote_qualified_identifier(nspname, relname)),
							  3, argtypes, args, NULL, true, 1) == SPI_OK_SELECT &&
		SPI_processed == 1)
	{
		bool		isnull;
		int64		n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
													SPI_tuptable->tupdesc, 1, &isnull));

		if (n > 0)
		{
			double		median = DatumGetFloat8(SPI_getbinval(SPI_tuptable->vals[0],
															  SPI_tuptable->tupdesc, 2, &isnull));
			double		longest = DatumGetFloat8(SPI_getbinval(SPI_tuptable->vals[0],
															   SPI_tuptable->tupdesc, 3, &isnull));

			result = psprintf("measured: held %.3f s at the median, %.3f s at most, in "
							  INT64_FORMAT " earlier change%s of this table with this lock%s "
							  "(migrate_ddl_history)",
							  median, longest, n, n == 1 ? "" : "s",
							  row->rewrite ? " and a rewrite" : "");
		}
	}
	SPI_finish();
	return result;
}

/*
 * The time the lock will be held: measured on earlier changes of the same
 * kind when the history has some, else a rough figure from the table size.
 * Either way the text says which.
 */
static char *
lock_time_estimate(PlanRow *row)
{
	char	   *measured = NULL;

	if (row->lockmode != NoLock)
		measured = measured_lock_time(row);
	if (measured)
		return measured;
	return psprintf("%s (estimated from the table size: no measured change of this kind)",
					size_estimate(row));
}

/* A rough time for the work done under the lock, from the table size. */
static char *
size_estimate(PlanRow *row)
{
	double		mb = (double) row->blocks * BLCKSZ / (1024.0 * 1024.0);
	double		secs;

	if (!row->populated || row->lockmode == NoLock)
		return pstrdup("instant");
	if (row->rewrite)
		secs = mb / 100.0;		/* rewrite: read, write, WAL, index rebuilds */
	else if (row->build)
		secs = mb / 150.0;
	else if (row->scan)
		secs = mb / 400.0;
	else
		return psprintf("catalog change only: instant once granted, waits at most %d ms",
						pgm_lock_timeout);
	if (secs < 1)
		return pstrdup("under a second");
	return psprintf("about %.0f s for %s", ceil(secs), pgm_size_pretty(row->blocks));
}

/*
 * migrate_plan(sql): one row per statement and relation of the dry run:
 * the lock and what it blocks, whether the table is rewritten, its size,
 * the findings, and the risk.
 */
Datum
migrate_plan(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PgmPlan  *ps;
	ListCell   *lc;

	pgm_check_preloaded();
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the script to plan must not be NULL")));

	PGM_InitMaterializedSRF(fcinfo);
	ps = build_plan(text_to_cstring(PG_GETARG_TEXT_PP(0)));

	foreach(lc, ps->rows)
	{
		PlanRow    *row = lfirst(lc);
		Datum		values[10];
		bool		nulls[10] = {0};

		values[0] = Int32GetDatum(row->stmtno);
		values[1] = CStringGetTextDatum(row->statement);
		if (row->relation)
			values[2] = CStringGetTextDatum(row->relation);
		else
			nulls[2] = true;
		if (row->lockmode != NoLock)
			values[3] = CStringGetTextDatum(pgm_lockmode_name(row->lockmode));
		else
			nulls[3] = true;
		values[4] = CStringGetTextDatum(blocks_what(row->lockmode));
		values[5] = BoolGetDatum(row->rewrite);
		if (OidIsValid(row->relid))
			values[6] = CStringGetTextDatum(pgm_size_pretty(row->blocks));
		else
			nulls[6] = true;
		if (row->rows >= 0)
			values[7] = Int64GetDatum((int64) row->rows);
		else
			nulls[7] = true;
		if (row->error)
			values[8] = CStringGetTextDatum(psprintf("fails: %s", row->error));
		else if (row->not_run)
			values[8] = CStringGetTextDatum(psprintf("not dry-run: %s", row->not_run));
		else if (row->findings.len > 0)
			values[8] = CStringGetTextDatum(row->findings.data);
		else
			nulls[8] = true;
		values[9] = CStringGetTextDatum(risk_names[row->risk]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* migrate_verify's findings, as report lines. */
static void
collect_difference(void *arg, const char *kind, const char *object,
				   const char *difference, const char *before, const char *after)
{
	List	  **diffs = (List **) arg;

	*diffs = lappend(*diffs, psprintf("%s `%s`: %s%s%s", kind, object, difference,
									  after ? ": " : "", after ? after : ""));
}

/* Escape a cell of a Markdown table. */
static void
md_cell(StringInfo buf, const char *s)
{
	appendStringInfoString(buf, " ");
	for (; s && *s; s++)
	{
		if (*s == '|')
			appendStringInfoString(buf, "\\|");
		else if (*s == '\n' || *s == '\r')
			appendStringInfoChar(buf, ' ');
		else
			appendStringInfoChar(buf, *s);
	}
	appendStringInfoString(buf, " |");
}

static void
md_code_block(StringInfo buf, const char *sql)
{
	appendStringInfoString(buf, "```sql\n");
	appendStringInfoString(buf, sql);
	if (sql[0] && sql[strlen(sql) - 1] != '\n')
		appendStringInfoChar(buf, '\n');
	appendStringInfoString(buf, "```\n");
}

/*
 * migrate_plan(sql, format => 'markdown'): the review report of a
 * migration, fit for a pull-request comment: the changes statement by
 * statement, the overall risk, how long the blocking locks are estimated to
 * last, whether the down script undoes the up script (migrate_verify's proof,
 * run only when the script can be dry-run), and the rollback plan.
 */
Datum
migrate_plan_report(PG_FUNCTION_ARGS)
{
	char	   *sql;
	char	   *format;
	char	   *down = NULL;
	PgmPlan  *ps;
	PlanRisk	overall = RISK_LOW;
	StringInfoData buf;
	ListCell   *lc;
	bool		any;
	bool		expensive = false;
	const char *why_not = NULL;

	pgm_check_preloaded();
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the script to plan must not be NULL")));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the format of the plan must not be NULL"),
				 errhint("The format is 'markdown', or call migrate_plan(sql) for rows.")));
	sql = text_to_cstring(PG_GETARG_TEXT_PP(0));
	format = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (pg_strcasecmp(format, "markdown") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown plan format \"%s\"", format),
				 errhint("The formats are 'markdown', or call migrate_plan(sql) for rows.")));
	if (PG_NARGS() > 2 && !PG_ARGISNULL(2))
		down = text_to_cstring(PG_GETARG_TEXT_PP(2));

	ps = build_plan(sql);
	foreach(lc, ps->rows)
	{
		PlanRow    *row = lfirst(lc);

		overall = Max(overall, row->risk);
		if (row->populated && (row->rewrite || row->scan || row->build))
			expensive = true;
	}

	initStringInfo(&buf);
	appendStringInfo(&buf, "## Migration review: risk **%s**\n\n", risk_names[overall]);
	appendStringInfo(&buf, "%d statement%s, judged against the catalog of database `%s`.\n\n",
					 ps->nstatements, ps->nstatements == 1 ? "" : "s",
					 get_database_name(MyDatabaseId));

	/* Changes */
	appendStringInfoString(&buf, "### Changes\n\n");
	appendStringInfoString(&buf, "| # | Statement | Relation | Lock | Blocks | Rewrite | Size | Rows | Risk |\n");
	appendStringInfoString(&buf, "|---|---|---|---|---|---|---|---|---|\n");
	foreach(lc, ps->rows)
	{
		PlanRow    *row = lfirst(lc);

		appendStringInfo(&buf, "| %d |", row->stmtno);
		md_cell(&buf, row->statement);
		md_cell(&buf, row->relation ? row->relation : "");
		md_cell(&buf, row->lockmode != NoLock ? pgm_lockmode_name(row->lockmode) : "");
		md_cell(&buf, blocks_what(row->lockmode));
		md_cell(&buf, row->rewrite ? "yes" : "no");
		md_cell(&buf, OidIsValid(row->relid) ? pgm_size_pretty(row->blocks) : "");
		md_cell(&buf, row->rows >= 0 ? psprintf("%.0f", row->rows) : "");
		md_cell(&buf, risk_names[row->risk]);
		appendStringInfoChar(&buf, '\n');
	}

	/* Risk assessment */
	appendStringInfoString(&buf, "\n### Risk assessment\n\n");
	any = false;
	foreach(lc, ps->rows)
	{
		PlanRow    *row = lfirst(lc);
		ListCell   *vc;

		if (row->error)
		{
			appendStringInfo(&buf, "- **HIGH** statement %d fails: %s\n", row->stmtno, row->error);
			any = true;
		}
		if (row->not_run)
		{
			appendStringInfo(&buf, "- **HIGH** statement %d was not judged: a plan does not run it (%s). Review it by hand.\n",
							 row->stmtno, row->not_run);
			any = true;
		}
		foreach(vc, row->verdicts)
		{
			PgmVerdict *v = lfirst(vc);

			if (v->online_as)
				appendStringInfo(&buf, "- **online** statement %d, `%s` (%s): %s.\n  Runs online as: %s\n",
								 row->stmtno, pgm_rules[v->op->rule].name,
								 row->relation ? row->relation : "database",
								 v->op->what, v->online_as);
			else
				appendStringInfo(&buf, "- **%s** statement %d, `%s` (%s): %s.\n  Safe alternative: %s\n",
								 v->action == PGM_ACTION_DENY ? "refused" : "warning",
								 row->stmtno, pgm_rules[v->op->rule].name,
								 row->relation ? row->relation : "database",
								 v->op->what, pgm_policy_hint(v));
			any = true;
		}
	}
	if (!any)
		appendStringInfoString(&buf, "No policy findings: nothing is refused or warned about.\n");
	appendStringInfoString(&buf,
						   "\nRisk levels: CRITICAL = data loss or a rewrite of a populated table; "
						   "HIGH = another refused operation, or a scan or index build of a populated table "
						   "under a lock that blocks writes; MEDIUM = a warning, or a brief lock that "
						   "blocks reads or writes of a populated table; LOW = everything else.\n");

	/* Estimated lock time */
	appendStringInfoString(&buf, "\n### Estimated lock time\n\n");
	any = false;
	foreach(lc, ps->rows)
	{
		PlanRow    *row = lfirst(lc);

		if (row->lockmode < ShareLock || !OidIsValid(row->relid) || row->dml)
			continue;
		appendStringInfo(&buf, "- statement %d: %s on %s blocks %s: %s.\n",
						 row->stmtno, pgm_lockmode_name(row->lockmode),
						 row->relation ? row->relation : "?",
						 blocks_what(row->lockmode), lock_time_estimate(row));
		any = true;
	}
	if (!any)
		appendStringInfoString(&buf, "No lock that blocks reads or writes of an existing table.\n");
	appendStringInfo(&buf,
					 "\nEvery statement waits at most pg_migrate.lock_timeout (%d ms) for its lock, "
					 "so no session queues behind it for longer.\n", pgm_lock_timeout);

	/* Data migration */
	appendStringInfoString(&buf, "\n### Data migration\n\n");
	any = false;
	foreach(lc, ps->rows)
	{
		PlanRow    *row = lfirst(lc);

		if (!row->dml)
			continue;
		appendStringInfo(&buf, "- statement %d changes about %.0f rows of %s in one transaction%s\n",
						 row->stmtno, Max(row->rows, 0), row->relation ? row->relation : "?",
						 row->rows > pgm_max_migration_rows ?
						 ": above pg_migrate.max_migration_rows, use migrate_batch_update()." : ".");
		any = true;
	}
	if (!any)
		appendStringInfoString(&buf, "None: the migration changes no rows.\n");

	/* Reversibility and rollback plan */
	appendStringInfoString(&buf, "\n### Reversibility\n\n");
	if (down == NULL)
		appendStringInfoString(&buf,
							   "No down script was given: the migration is irreversible as planned. "
							   "Pass `down => '...'` to have it checked.\n");
	else if (expensive)
		appendStringInfoString(&buf,
							   "Not verified here: the migration rewrites, scans or indexes a populated "
							   "table, and a plan never does that work. Run `migrate_verify(up, down)` on "
							   "a copy of the database.\n");
	else if (ps->first_not_run != 0 ||
			 (why_not = pgm_script_not_dry_runnable(down)) != NULL)
	{
		/*
		 * Verifying runs both scripts for real (rolled back): only when
		 * the walk ran every statement of up, and down holds nothing a
		 * dry run would not run either.
		 */
		appendStringInfo(&buf,
						 "Not verified here: %s %s, and a plan runs only what a dry run may. "
						 "Run `migrate_verify(up, down)` where executing both scripts is acceptable.\n",
						 ps->first_not_run ? "the up script's" : "the down script's",
						 ps->first_not_run ?
						 psprintf("statement %d is not run by a dry run", ps->first_not_run) :
						 why_not);
	}
	else
	{
		List	   *diffs = NIL;
		int			depth = pgm_dry_run_enter();

		PG_TRY();
		{
			pgm_verify_scripts(sql, down, collect_difference, &diffs);
		}
		PG_FINALLY();
		{
			pgm_dry_run_restore(depth);
		}
		PG_END_TRY();

		if (diffs == NIL)
			appendStringInfoString(&buf,
								   "Verified: after up then down the catalog is as before, and up can be "
								   "applied again (`migrate_verify` found no difference).\n");
		else
		{
			appendStringInfoString(&buf, "**Not reversible as written** (`migrate_verify`):\n\n");
			foreach(lc, diffs)
				appendStringInfo(&buf, "- %s\n", (char *) lfirst(lc));
		}
	}

	appendStringInfoString(&buf, "\n### Rollback plan\n\n");
	if (down == NULL)
		appendStringInfoString(&buf,
							   "None. Restore from backup, or write a down script and apply the "
							   "migration with it.\n");
	else
	{
		appendStringInfoString(&buf,
							   "`SELECT migrate_rollback('<version>')` runs the down script atomically, "
							   "with the same lock-timeout retries:\n\n");
		md_code_block(&buf, down);
	}

	PG_RETURN_TEXT_P(cstring_to_text(buf.data));
}
