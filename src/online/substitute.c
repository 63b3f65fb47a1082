/*-------------------------------------------------------------------------
 *
 * substitute.c
 *		The policy action `online`: a statement a rule would refuse runs its
 *		online form (the plan migrate_online would make of it) instead.
 *
 * The guard (ddl/guard.c) judges the statement; when every rule that
 * fires says `online` or less and the statement has an online form, it
 * hands the statement here instead of running it.  What happens depends
 * on where the statement was sent:
 *
 * Outside a transaction block (autocommit, at top level) the steps run
 * here and now, in this session, each in a transaction of its own, as
 * CREATE INDEX CONCURRENTLY does it: the statement is first marked as one
 * that cannot run in a transaction block (PreventInTransactionBlock, which
 * also makes the end of the statement commit at once); then each step runs
 * at top level through ProcessUtility, so the guard judges, bounds and
 * records it like any statement, and the CONCURRENTLY forms commit and
 * start transactions inside as they always do; after each step the active
 * snapshot is popped and the transaction committed, and a new one started
 * for the next.  The statement returns when the last step has committed:
 * the index is valid, the constraint validated.  A step that fails ends the
 * statement with its error; the steps before it stay committed (an INVALID
 * index, a NOT VALID constraint), as after a failed CREATE INDEX
 * CONCURRENTLY, and the error context says which step failed.
 * A column type change needs a backfill, which only a job does: the job is
 * submitted and committed, and the session waits for it, a transaction per
 * look, holding no lock, until it is done (its error is the statement's).
 *
 * Inside a transaction block (or a function, or a multi-statement query)
 * nothing may commit.  The job is recorded in the transaction, so it
 * starts only if the transaction commits (the dispatcher is woken at
 * commit); the leading steps that only take a short lock and scan nothing
 * (ADD CONSTRAINT ... NOT VALID) run at once, in the transaction, and are
 * marked done in the job; a NOTICE names the job and what it will do.  A
 * later statement of the transaction that names an index the job will
 * build is refused with the reason (guard.c).  A type change is queued
 * whole.
 *
 * The steps of an online form never run online again: while they run, an
 * `online` verdict on one of them is a refusal.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "nodes/plannodes.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "tcop/cmdtag.h"
#include "tcop/dest.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/varlena.h"
#include "utils/regproc.h"
#include "utils/snapmgr.h"
#include "utils/wait_event.h"

#include "core/catalog.h"
#include "core/compat.h"
#include "core/parse.h"
#include "core/subxact.h"
#include "ddl/guard.h"
#include "ddl/policy.h"
#include "ddl/redact.h"
#include "online/online.h"
#include "online/substitute.h"

/* How often a session waiting for its type change looks at the job. */
#define WAIT_POLL_MS	250

/* Steps of an online form are running in this backend. */
static int	substituting = 0;

/* ----------------------------------------------------------------
 * The plan
 * ----------------------------------------------------------------
 */

typedef struct PlanArg
{
	const char *text;
	MemoryContext cxt;
	RawStmt    *raw;
	PgmOnlinePlan plan;
	bool		renames;		/* a rename is a form too (not for a policy) */
} PlanArg;

/*
 * Whether the online form needs a job: a backfill runs only in a job, so
 * the session waits for it (or queues it whole in a transaction block).
 */
static bool
plan_needs_job(PgmOnlinePlan *plan)
{
	ListCell   *lc;

	if (strcmp(plan->operation, "alter_type") == 0)
		return true;
	foreach(lc, plan->steps)
	{
		if (((PgmOnlineStep *) lfirst(lc))->mode == PGM_STEP_BACKFILL)
			return true;
	}
	return false;
}

static void
build_plan_in_subxact(void *arg)
{
	PlanArg    *a = (PlanArg *) arg;
	List	   *raws;

	MemoryContextSwitchTo(a->cxt);
	raws = pgm_parse_raw(a->text);
	if (list_length(raws) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("the statement does not parse as one statement")));
	a->raw = linitial_node(RawStmt, raws);

	/*
	 * An online rename keeps the old name working until someone says the
	 * application has moved on; a policy cannot know when, and completing
	 * at once would break old code just as the plain statement does.
	 */
	if (IsA(a->raw->stmt, RenameStmt) && !a->renames)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("an online rename keeps the old name until migrate_online_complete() is called, once no code uses it; hand the statement to migrate_online() yourself, then complete the job")));
	memset(&a->plan, 0, sizeof(a->plan));
	/* Some plans read the catalog through SPI (a rename's column grants). */
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	MemoryContextSwitchTo(a->cxt);
	pgm_online_build_plan(&a->plan, a->raw->stmt, a->text, 0);
	SPI_finish();
}

/*
 * The online plan of a statement (its text alone), built in a
 * subtransaction so that a statement without an online form leaves
 * nothing behind; NULL with *why set when there is none.  Job 0 names what
 * a type change creates; the plan that runs is made again on submission.
 */
static PgmOnlinePlan *
plan_statement(const char *text, bool renames, char **why)
{
	PlanArg    *a = palloc0(sizeof(PlanArg));
	ErrorData  *edata;

	a->renames = renames;
	if (substituting > 0)
	{
		*why = pstrdup("it is itself a step of an online form.");
		return NULL;
	}
	a->text = text;
	a->cxt = CurrentMemoryContext;
	edata = pgm_subxact_run(build_plan_in_subxact, a, true);
	if (edata == NULL)
		return &a->plan;
	if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED ||
		edata->sqlerrcode == ERRCODE_ADMIN_SHUTDOWN)
		ReThrowError(edata);
	*why = edata->detail ? psprintf("%s: %s", edata->message, edata->detail)
		: psprintf("%s.", edata->message);
	return NULL;
}

/* What runs instead of the statement, for messages. */
static char *
describe_plan(PgmOnlinePlan *plan)
{
	StringInfoData buf;
	ListCell   *lc;

	if (strcmp(plan->operation, "alter_type") == 0)
		return pstrdup("an online change job: a shadow column kept in step by a trigger, "
					   "a batched backfill, copies of its indexes and constraints, and a cut-over "
					   "under a bounded lock wait");
	initStringInfo(&buf);
	foreach(lc, plan->steps)
	{
		PgmOnlineStep *step = lfirst(lc);

		if (step->complete_stage)
			continue;
		if (buf.len > 0)
			appendStringInfoString(&buf, "; then ");
		appendStringInfoString(&buf, step->sql);
	}
	return buf.data;
}

/* pgm_online_describe_hook */
static char *
describe(const char *text, char **why)
{
	PgmOnlinePlan *plan = plan_statement(text, false, why);

	return plan ? describe_plan(plan) : NULL;
}

/* pgm_online_accepts_hook: would migrate_online(text) take it? */
static bool
accepts(const char *text)
{
	char	   *why = NULL;

	return plan_statement(text, true, &why) != NULL;
}

/* ----------------------------------------------------------------
 * Running steps
 * ----------------------------------------------------------------
 */

/*
 * Run utility statements through ProcessUtility, so that the guard judges,
 * bounds and records each of them.
 */
static void
run_utility(const char *sql, ProcessUtilityContext context)
{
	ListCell   *lc;

	foreach(lc, pgm_parse_raw(sql))
	{
		RawStmt    *raw = lfirst_node(RawStmt, lc);
		PlannedStmt *ps = makeNode(PlannedStmt);
		QueryCompletion qc;

		ps->commandType = CMD_UTILITY;
		ps->canSetTag = false;
		ps->utilityStmt = raw->stmt;
		ps->stmt_location = raw->stmt_location;
		ps->stmt_len = raw->stmt_len;
		InitializeQueryCompletion(&qc);
		ProcessUtility(ps, sql, false, context, NULL, NULL, None_Receiver, &qc);
		CommandCounterIncrement();
	}
}

/* Which step was running when an error came, for its context line. */
typedef struct StepContext
{
	int			number;
	int			total;
	const char *sql;
	int64		job_id;
} StepContext;

static void
step_error_context(void *arg)
{
	StepContext *sc = (StepContext *) arg;

	if (sc->sql == NULL)
		errcontext("waiting for online change job " INT64_FORMAT, sc->job_id);
	else if (sc->number > 1)
		errcontext("online form, step %d of %d: %s (the steps before it are committed)",
				   sc->number, sc->total, sc->sql);
	else
		errcontext("online form, step %d of %d: %s", sc->number, sc->total, sc->sql);
}

/* Commit the transaction of a step and start the next one. */
static void
commit_and_restart(MemoryContext cxt)
{
	if (ActiveSnapshotSet())
		PopActiveSnapshot();
	CommitTransactionCommand();
	StartTransactionCommand();
	MemoryContextSwitchTo(cxt);
}

/*
 * Outside a transaction block: every step now, each in a transaction of
 * its own (see the file header).
 */
static void
run_steps_now(PgmOnlinePlan *plan)
{
	MemoryContext cxt = CurrentMemoryContext;	/* the portal's: survives */
	ErrorContextCallback errcb;
	StepContext sc = {0, 0, NULL, 0};
	ListCell   *lc;

	foreach(lc, plan->steps)
	{
		if (!((PgmOnlineStep *) lfirst(lc))->complete_stage)
			sc.total++;
	}
	errcb.callback = step_error_context;
	errcb.arg = &sc;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	foreach(lc, plan->steps)
	{
		PgmOnlineStep *step = lfirst(lc);

		if (step->complete_stage)
			continue;
		if (step->mode == PGM_STEP_BACKFILL)
			elog(ERROR, "an online form with a backfill cannot run in the session");
		sc.number++;
		sc.sql = step->sql;
		if (!ActiveSnapshotSet())
			PushActiveSnapshot(GetTransactionSnapshot());
		run_utility(step->sql, PROCESS_UTILITY_TOPLEVEL);
		commit_and_restart(cxt);
	}
	error_context_stack = errcb.previous;
}

/*
 * Outside a transaction block: wait for the job of a type change, a
 * transaction per look, holding no lock in between.  Returns when it is
 * done; its error, or its cancellation, is the statement's.
 */
static void
wait_for_job(int64 job_id)
{
	MemoryContext cxt = CurrentMemoryContext;
	ErrorContextCallback errcb;
	StepContext sc = {0, 0, NULL, job_id};

	errcb.callback = step_error_context;
	errcb.arg = &sc;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	for (;;)
	{
		Oid			types[1] = {INT8OID};
		Datum		values[1] = {Int64GetDatum(job_id)};
		char	   *state = NULL;
		char	   *last_error = NULL;

		PushActiveSnapshot(GetTransactionSnapshot());
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		pgm_online_execute("SELECT state, last_error FROM @job@ WHERE id OPERATOR(pg_catalog.=) $1",
						   1, types, values, NULL);
		if (SPI_processed == 1)
		{
			char	   *s = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
			char	   *e = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);

			state = MemoryContextStrdup(cxt, s ? s : "");
			last_error = e ? MemoryContextStrdup(cxt, e) : NULL;
		}
		SPI_finish();
		commit_and_restart(cxt);

		if (state == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("online change job " INT64_FORMAT " has disappeared", job_id)));
		if (strcmp(state, "done") == 0)
			break;
		if (strcmp(state, "failed") == 0 || strcmp(state, "cancelled") == 0)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("online change job " INT64_FORMAT " %s: %s", job_id,
							strcmp(state, "failed") == 0 ? "failed" : "was cancelled",
							last_error ? last_error : "no error recorded"),
					 errhint("See migrate_jobs; migrate_online_abort(" INT64_FORMAT ") puts the "
							 "table back as it was, migrate_job_resume(" INT64_FORMAT ") tries again.",
							 job_id, job_id)));

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 WAIT_POLL_MS, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	error_context_stack = errcb.previous;
}

/* Mark a step the transaction ran at once as done in its job. */
static void
mark_done(int64 job_id, int number)
{
	Oid			types[2] = {INT8OID, INT4OID};
	Datum		values[2] = {Int64GetDatum(job_id), Int32GetDatum(number)};

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	pgm_online_execute("UPDATE @step@ SET state = 'done', started_at = pg_catalog.now(),"
					   " finished_at = pg_catalog.now()"
					   " WHERE job_id OPERATOR(pg_catalog.=) $1 AND step OPERATOR(pg_catalog.=) $2",
					   2, types, values, NULL);
	SPI_finish();
}

/* The note on the history rows of the steps (see guard.c). */
static char *
history_note(const char *rules, const char *text, Node *stmt, int64 job_id)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"rule\": ");
	escape_json(&buf, rules);
	appendStringInfoString(&buf, ", \"action\": \"online\", \"statement\": ");
	escape_json(&buf, pgm_redact_statement(pstrdup(text), stmt));
	if (job_id > 0)
		appendStringInfo(&buf, ", \"job\": " INT64_FORMAT, job_id);
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/*
 * Inside a transaction block: submit the job, run its leading short-lock
 * steps at once, and say what is left (see the file header).
 */
static void
queue(Node *stmt, const char *text, const char *rules)
{
	PgmOnlinePlan plan;
	int64		job_id;
	StringInfoData now;
	StringInfoData later;
	ListCell   *lc;
	int			number = 0;
	bool		leading = true;
	char	   *prev_note;

	pgm_online_check_submitter();
	job_id = pgm_online_submit(stmt, text, true, &plan);

	initStringInfo(&now);
	initStringInfo(&later);
	prev_note = pgm_guard_set_online_note(history_note(rules, text, stmt, job_id));
	substituting++;
	PG_TRY();
	{
		foreach(lc, plan.steps)
		{
			PgmOnlineStep *step = lfirst(lc);

			number++;
			if (step->complete_stage)
				continue;
			if (leading && strcmp(plan.operation, "alter_type") != 0 &&
				step->mode == PGM_STEP_TRANSACTION && step->blocking)
			{
				run_utility(step->sql, PROCESS_UTILITY_QUERY);
				mark_done(job_id, number);
				appendStringInfo(&now, "%s%s", now.len > 0 ? "; " : "", step->sql);
				continue;
			}
			leading = false;
			if (step->target && step->mode == PGM_STEP_CONCURRENT &&
				strncmp(step->sql, "CREATE", 6) == 0)
			{
				List	   *names = PGM_stringToQualifiedNameList(step->target);

				if (list_length(names) == 2)
					pgm_guard_note_queued_index(strVal(linitial(names)),
												strVal(lsecond(names)), job_id);
			}
		}
	}
	PG_FINALLY();
	{
		substituting--;
		pgm_guard_set_online_note(prev_note);
	}
	PG_END_TRY();

	ereport(NOTICE,
			(errmsg("rule %s: this statement runs online as job " INT64_FORMAT
					", which starts when this transaction commits", rules, job_id),
			 now.len > 0 ? errdetail("Done now, in this transaction: %s. Left to the job: %s.",
									 now.data, describe_plan(&plan)) :
			 errdetail("Left to the job: %s.", describe_plan(&plan)),
			 errhint("Follow it in migrate_jobs, or wait with migrate_job_wait(" INT64_FORMAT ").",
					 job_id)));
}

/* pgm_online_substitute_hook: run the online form of a statement. */
static void
substitute(const char *text, ProcessUtilityContext context, const char *rules)
{
	List	   *raws = pgm_parse_raw(text);
	Node	   *stmt;
	char	   *why = NULL;
	PgmOnlinePlan *plan;
	char	   *prev_note;
	int64		job_id = 0;

	if (list_length(raws) != 1)
		elog(ERROR, "statement run online does not parse as one statement");
	stmt = linitial_node(RawStmt, raws)->stmt;

	if (context != PROCESS_UTILITY_TOPLEVEL || IsTransactionBlock() || IsSubTransaction())
	{
		queue(stmt, text, rules);
		return;
	}

	plan = plan_statement(text, false, &why);
	if (plan == NULL)
		elog(ERROR, "statement has no online form: %s", why ? why : "");

	/* From here on the statement commits as it goes. */
	PreventInTransactionBlock(true, GetCommandTagName(CreateCommandTag(stmt)));

	if (plan_needs_job(plan))
	{
		pgm_online_check_submitter();
		job_id = pgm_online_submit(stmt, text, true, NULL);
	}
	ereport(NOTICE,
			(errmsg("rule %s: this statement runs online", rules),
			 job_id > 0 ? errdetail("Job " INT64_FORMAT " runs %s; this session waits for it.",
									job_id, describe_plan(plan)) :
			 errdetail("It runs as: %s.", describe_plan(plan))));

	prev_note = pgm_guard_set_online_note(history_note(rules, text, stmt, job_id));
	substituting++;
	PG_TRY();
	{
		if (job_id > 0)
		{
			commit_and_restart(CurrentMemoryContext);
			wait_for_job(job_id);
		}
		else
			run_steps_now(plan);
	}
	PG_FINALLY();
	{
		substituting--;
		pgm_guard_set_online_note(prev_note);
	}
	PG_END_TRY();
}

void
pgm_online_substitute_init(void)
{
	pgm_online_describe_hook = describe;
	pgm_online_accepts_hook = accepts;
	pgm_online_substitute_hook = substitute;
}
