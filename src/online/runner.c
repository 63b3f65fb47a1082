/*-------------------------------------------------------------------------
 *
 * runner.c
 *		The job worker's side of an online change: runs its steps in order,
 *		undoes them in reverse order when asked to abort, and runs the
 *		complete steps when asked to complete.
 *
 * The worker is the one that runs migrations in the background (async.c):
 * logged in as the submitting session's login role, with the submitter's
 * role, search_path and pg_migrate settings.  The steps run as that role;
 * the bookkeeping as the owner of the job tables.
 *
 * Progress and crashes.  A step of mode 'transaction' commits together
 * with its "done" mark, so it is done exactly once whatever kills the
 * worker.  A step of mode 'concurrent' commits on its own; it is marked
 * "attempted" first, and a worker that finds a step attempted looks at
 * what the attempt left before running it again: an index that is valid
 * (the build had finished), INVALID (dropped concurrently and built
 * again), gone (a drop had finished), the _ccnew / _ccold indexes of an
 * interrupted REINDEX CONCURRENTLY (dropped).  A step of mode 'backfill'
 * submits a batched UPDATE job, records its id in the same transaction and
 * waits for it; the batch runner makes that job crash-safe by itself.
 * While it waits, the worker lends its share of pg_migrate.max_workers and
 * max_workers_per_role to that job (jobs/shmem.c), so that any number of
 * online changes started together all reach the end.
 *
 * Locks.  A blocking step runs under the bounded lock_timeout and is
 * retried after a backoff (pg_migrate.batch_max_retries times) holding
 * nothing in between; the others wait as long as they must, blocking
 * nobody's reads and writes.  The worker holds no lock between steps.
 *
 * Requests.  migrate_online_abort and migrate_online_complete set
 * migrate_online.request and queue the job; the worker reads the request
 * before every step, with the job's row locked, so a request takes effect
 * at the next step.  Pause and cancel stop the worker before the next step
 * (pausing a backfill pauses its batch job too).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "pgstat.h"
#include "postmaster/interrupt.h"
#include "parser/parse_type.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/varlena.h"
#include "utils/wait_event.h"

#include "core/catalog.h"
#include "core/guc.h"
#include "core/parse.h"
#include "core/spi.h"
#include "ddl/classify.h"
#include "ddl/lockwait.h"
#include "ddl/policy.h"
#include "jobs/jobs.h"
#include "jobs/toplevel.h"
#include "jobs/script.h"
#include "jobs/worker.h"
#include "migrate/migrate.h"
#include "online/online.h"

/* How often a worker waiting for its backfill looks at it. */
#define BACKFILL_POLL_MS	500

typedef struct OnlineRun
{
	int64		job_id;
	Oid			relid;
	MemoryContext cxt;			/* lives as long as the worker */
	MemoryContext stmt_cxt;		/* reset after each step */
	int			cur_step;		/* for the error that fails the job */
	char		cur_phase[NAMEDATALEN];
} OnlineRun;

typedef struct Step
{
	int			number;
	char	   *phase;
	char	   *mode;
	char	   *sql;
	char	   *target;
	bool		blocking;
	List	   *exempt;			/* rule names */
	char	   *undo;
	char	   *undo_mode;
	bool		undo_blocking;
	char	   *state;
	int64		backfill_job;	/* 0: none yet */
} Step;

static void
begin_tx(void)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());
}

static void
end_tx(void)
{
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
}

static int
book(const char *sql, int64 job_id, int step, const char *text)
{
	Oid			types[3] = {INT8OID, INT4OID, TEXTOID};
	Datum		values[3];
	char		nulls[3] = {' ', ' ', ' '};

	values[0] = Int64GetDatum(job_id);
	values[1] = Int32GetDatum(step);
	if (text)
		values[2] = CStringGetTextDatum(text);
	else
		nulls[2] = 'n';
	return pgm_online_execute(sql, 3, types, values, nulls);
}

static char *
getstr(int col)
{
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col);
}

/* The first row of the last query as a Step, in the worker's memory. */
static void
read_step(OnlineRun *run, Step *st)
{
	HeapTuple	tup = SPI_tuptable->vals[0];
	TupleDesc	desc = SPI_tuptable->tupdesc;
	bool		isnull;
	Datum		d;
	MemoryContext oldcxt = MemoryContextSwitchTo(run->stmt_cxt);

	memset(st, 0, sizeof(*st));
	st->number = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
	st->phase = SPI_getvalue(tup, desc, 2);
	st->mode = SPI_getvalue(tup, desc, 3);
	st->sql = SPI_getvalue(tup, desc, 4);
	st->target = SPI_getvalue(tup, desc, 5);
	st->blocking = DatumGetBool(SPI_getbinval(tup, desc, 6, &isnull));
	d = SPI_getbinval(tup, desc, 7, &isnull);
	if (!isnull)
	{
		Datum	   *elems;
		bool	   *nulls;
		int			n;
		int			i;

		deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT,
						  &elems, &nulls, &n);
		for (i = 0; i < n; i++)
			if (!nulls[i])
				st->exempt = lappend(st->exempt, TextDatumGetCString(elems[i]));
	}
	st->undo = SPI_getvalue(tup, desc, 8);
	st->undo_mode = SPI_getvalue(tup, desc, 9);
	st->undo_blocking = DatumGetBool(SPI_getbinval(tup, desc, 10, &isnull));
	st->state = SPI_getvalue(tup, desc, 11);
	d = SPI_getbinval(tup, desc, 12, &isnull);
	st->backfill_job = isnull ? 0 : DatumGetInt64(d);
	MemoryContextSwitchTo(oldcxt);
}

#define STEP_COLUMNS "step, phase, mode, sql, target, blocking, exempt, undo, undo_mode," \
	" undo_blocking, state, backfill_job"

/* lock_timeout for the next statement: bounded, or none. */
static void
set_lock_timeout(bool blocking)
{
	char		buf[32];

	snprintf(buf, sizeof(buf), "%dms", blocking ? pgm_attempt_lock_timeout() : 0);
	(void) set_config_option("lock_timeout", buf, PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SET, true, 0, false);
}

/*
 * The rules the step may break on the job's table (renaming and dropping
 * the columns the change itself made or swapped): still judged, and
 * recorded in the history as overrides with the job as the reason.
 */
static void
set_exemptions(OnlineRun *run, Step *st)
{
	ListCell   *lc;

	pgm_exemptions = NIL;
	foreach(lc, st->exempt)
	{
		const char *name = lfirst(lc);
		int			r;

		for (r = 0; r < PGM_NUM_RULES; r++)
		{
			if (strcmp(pgm_rules[r].name, name) == 0)
			{
				PgmExemption *ex = palloc0(sizeof(PgmExemption));

				ex->rule = (PgmRule) r;
				ex->relid = run->relid;
				pgm_exemptions = lappend(pgm_exemptions, ex);
			}
		}
	}
	pgm_exemption_reason = psprintf("online change " INT64_FORMAT, run->job_id);
}

static void
clear_exemptions(void)
{
	pgm_exemptions = NIL;
	pgm_exemption_reason = NULL;
}

/* Statements in one transaction, as the submitter, through SPI. */
static void
run_in_transaction(OnlineRun *run, Step *st, const char *sql, bool blocking)
{
	int			rc;

	set_lock_timeout(blocking);
	set_exemptions(run, st);
	pgstat_report_activity(STATE_RUNNING, sql);
	rc = SPI_execute(sql, false, 0);
	if (rc < 0)
		elog(ERROR, "step %d failed: %s", st->number, SPI_result_code_string(rc));
	clear_exemptions();
}

/* One statement at top level, in transactions of its own. */
static void
run_alone(OnlineRun *run, Step *st, const char *sql, bool blocking)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	set_lock_timeout(blocking);
	set_exemptions(run, st);
	pgm_run_toplevel(sql, run->stmt_cxt);
	clear_exemptions();
	CommitTransactionCommand();
}

static void
mark_step(OnlineRun *run, Step *st, const char *state)
{
	book("UPDATE @step@ SET state = $3, finished_at = CASE WHEN $3 OPERATOR(pg_catalog.=) 'attempted'"
		 " THEN NULL ELSE pg_catalog.now() END,"
		 " started_at = COALESCE(started_at, pg_catalog.now())"
		 " WHERE job_id OPERATOR(pg_catalog.=) $1 AND step OPERATOR(pg_catalog.=) $2",
		 run->job_id, st->number, state);
	book("UPDATE @slice@ SET rows_done = (SELECT pg_catalog.count(*) FROM @step@"
		 "  WHERE job_id OPERATOR(pg_catalog.=) $1 AND state OPERATOR(pg_catalog.=) 'done'),"
		 " batches = batches OPERATOR(pg_catalog.+) 1, updated_at = pg_catalog.now()"
		 " WHERE job_id OPERATOR(pg_catalog.=) $1",
		 run->job_id, 0, NULL);
	book("UPDATE @job@ SET updated_at = pg_catalog.now() WHERE id OPERATOR(pg_catalog.=) $1",
		 run->job_id, 0, NULL);
}

static void
set_phase(OnlineRun *run, const char *phase)
{
	book("UPDATE @online@ SET phase = $3 WHERE job_id OPERATOR(pg_catalog.=) $1",
		 run->job_id, 0, phase);
}

/* ----------------------------------------------------------------
 * What an interrupted concurrent step left
 * ----------------------------------------------------------------
 */

/* ----------------------------------------------------------------
 * The backfill
 * ----------------------------------------------------------------
 */

/* Call one of our job functions as the submitter; returns its text result. */
static char *
call_job_function(const char *fn, int64 arg)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1];
	char	   *sql = psprintf("SELECT %s.%s($1)::pg_catalog.text",
							   quote_identifier(get_namespace_name(pgm_extension_schema())), fn);
	int			nestlevel = pgm_pin_search_path();
	char	   *result;

	values[0] = Int64GetDatum(arg);
	if (SPI_execute_with_args(sql, 1, types, values, NULL, false, 0) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not call %s", fn);
	result = getstr(1);
	AtEOXact_GUC(false, nestlevel);
	return result;
}

/* Submit the batched UPDATE, as the submitter; the id is recorded with it. */
static void
submit_backfill(OnlineRun *run, Step *st)
{
	Oid			types[2] = {OIDOID, TEXTOID};
	Datum		values[2];
	bool		isnull;
	int64		child;
	int			nestlevel = pgm_pin_search_path();
	char	   *sql = psprintf("SELECT %s.migrate_batch_update($1::pg_catalog.regclass, $2)",
							   quote_identifier(get_namespace_name(pgm_extension_schema())));

	values[0] = ObjectIdGetDatum(run->relid);
	values[1] = CStringGetTextDatum(st->sql);
	if (SPI_execute_with_args(sql, 2, types, values, NULL, false, 0) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not submit the backfill");
	child = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	AtEOXact_GUC(false, nestlevel);
	book(psprintf("UPDATE @step@ SET backfill_job = " INT64_FORMAT ", state = 'attempted',"
				  " started_at = pg_catalog.now()"
				  " WHERE job_id OPERATOR(pg_catalog.=) $1 AND step OPERATOR(pg_catalog.=) $2", child),
		 run->job_id, st->number, NULL);
	st->backfill_job = child;
}

/*
 * Wait for the backfill job.  Returns when it is done (the step is then
 * marked done) or when this job is not to run on (paused, cancelled, an
 * abort requested): the main loop then sees why.
 */
static void
wait_backfill(OnlineRun *run, Step *st)
{
	for (;;)
	{
		char	   *state;
		char	   *child_state;
		char	   *request;
		char	   *last_error;
		char	   *rows;
		bool		stop;

		CHECK_FOR_INTERRUPTS();
		begin_tx();
		book("SELECT j.state, o.request FROM @job@ j JOIN @online@ o ON o.job_id OPERATOR(pg_catalog.=) j.id"
			 " WHERE j.id OPERATOR(pg_catalog.=) $1", run->job_id, 0, NULL);
		if (SPI_processed == 0)
		{
			end_tx();
			return;
		}
		state = getstr(1);
		request = getstr(2);
		book(psprintf("SELECT j.state, j.last_error,"
					  " pg_catalog.format('%%s of %%s rows', COALESCE(sum(s.rows_done), 0), j.estimated_rows)"
					  " FROM @job@ j LEFT JOIN @slice@ s ON s.job_id OPERATOR(pg_catalog.=) j.id"
					  " WHERE j.id OPERATOR(pg_catalog.=) " INT64_FORMAT
					  " GROUP BY j.state, j.last_error, j.estimated_rows", st->backfill_job),
			 run->job_id, 0, NULL);
		if (SPI_processed == 0)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("backfill job " INT64_FORMAT " has disappeared", st->backfill_job)));
		child_state = getstr(1);
		last_error = getstr(2);
		rows = getstr(3);

		stop = strcmp(request, "abort") == 0 ||
			(strcmp(state, "queued") != 0 && strcmp(state, "running") != 0);
		if (stop)
		{
			/* Paused or stopped: the batch job follows. */
			if (strcmp(child_state, "queued") == 0 || strcmp(child_state, "running") == 0)
				(void) call_job_function(strcmp(state, "paused") == 0 && strcmp(request, "abort") != 0 ?
										 "migrate_job_pause" : "migrate_job_cancel",
										 st->backfill_job);
			end_tx();
			return;
		}
		if (strcmp(child_state, "done") == 0)
		{
			mark_step(run, st, "done");
			end_tx();
			return;
		}
		if (strcmp(child_state, "failed") == 0 || strcmp(child_state, "cancelled") == 0)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("backfill job " INT64_FORMAT " %s%s%s", st->backfill_job,
							strcmp(child_state, "failed") == 0 ? "failed" : "was cancelled",
							last_error ? ": " : "", last_error ? last_error : "")));
		if (strcmp(child_state, "paused") == 0)
			(void) call_job_function("migrate_job_resume", st->backfill_job);
		set_phase(run, psprintf("backfill: %s (job " INT64_FORMAT ")", rows, st->backfill_job));
		end_tx();

		/*
		 * While this worker only waits, the backfill may run on its share
		 * of the worker limits: otherwise online changes started together
		 * could take every slot and wait for backfills that get none.
		 * The main loop takes the share back after this step.
		 */
		pgm_job_worker_lend_slot(st->backfill_job);

		pgstat_report_activity(STATE_IDLE, NULL);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 BACKFILL_POLL_MS, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/* ----------------------------------------------------------------
 * Steps forward and back
 * ----------------------------------------------------------------
 */

/* Run a step; called in a transaction with the job's row locked. */
static void
do_step(OnlineRun *run, Step *st)
{
	run->cur_step = st->number;
	strlcpy(run->cur_phase, st->phase, sizeof(run->cur_phase));

	if (strcmp(st->mode, "transaction") == 0)
	{
		run_in_transaction(run, st, st->sql, st->blocking);
		mark_step(run, st, "done");
		end_tx();
		return;
	}

	if (strcmp(st->mode, "backfill") == 0)
	{
		if (st->backfill_job == 0)
			submit_backfill(run, st);
		end_tx();
		wait_backfill(run, st);
		return;
	}

	/* concurrent */
	{
		List	   *drops = NIL;
		ListCell   *lc;

		if (strcmp(st->state, "attempted") == 0)
		{
			List	   *raws = pgm_parse_raw(st->sql);

			switch (pgm_find_leftover(linitial_node(RawStmt, raws)->stmt,
									  pgm_lookup_qualified(st->target),
									  run->stmt_cxt, &drops))
			{
				case PGM_LEFTOVER_DONE:
					ereport(LOG,
							(errmsg("online change " INT64_FORMAT ": step %d was finished by an earlier attempt",
									run->job_id, st->number)));
					mark_step(run, st, "done");
					end_tx();
					return;
				case PGM_LEFTOVER_DROP:
				case PGM_LEFTOVER_NONE:
					break;
			}
		}
		else
			mark_step(run, st, "attempted");
		end_tx();

		if (drops != NIL)
		{
			MemoryContext oldcxt = MemoryContextSwitchTo(run->stmt_cxt);
			char	   *who = psprintf("online change " INT64_FORMAT, run->job_id);

			MemoryContextSwitchTo(oldcxt);
			foreach(lc, drops)
				pgm_drop_leftover(who, (const char *) lfirst(lc), run->stmt_cxt);
		}
		run_alone(run, st, st->sql, st->blocking);

		begin_tx();
		mark_step(run, st, "done");
		end_tx();
	}
}

/* Undo a step that was done or attempted; in a transaction as do_step. */
static void
undo_step(OnlineRun *run, Step *st)
{
	run->cur_step = st->number;
	strlcpy(run->cur_phase, "abort", sizeof(run->cur_phase));

	if (strcmp(st->mode, "backfill") == 0)
	{
		/* The batch job stops; the rows it wrote go with the column. */
		if (st->backfill_job != 0)
		{
			book(psprintf("SELECT state FROM @job@ WHERE id OPERATOR(pg_catalog.=) " INT64_FORMAT,
						  st->backfill_job), run->job_id, 0, NULL);
			if (SPI_processed == 1 &&
				(strcmp(getstr(1), "done") != 0 && strcmp(getstr(1), "failed") != 0 &&
				 strcmp(getstr(1), "cancelled") != 0))
				(void) call_job_function("migrate_job_cancel", st->backfill_job);
		}
		mark_step(run, st, "undone");
		end_tx();
		return;
	}

	if (st->undo == NULL)
	{
		mark_step(run, st, "undone");
		end_tx();
		return;
	}

	if (strcmp(st->undo_mode, "transaction") == 0)
	{
		run_in_transaction(run, st, st->undo, st->undo_blocking);
		mark_step(run, st, "undone");
		end_tx();
		return;
	}

	end_tx();
	run_alone(run, st, st->undo, st->undo_blocking);
	begin_tx();
	mark_step(run, st, "undone");
	end_tx();
}

/*
 * The phase a step shows is committed before the step runs, so that a step
 * that waits, retries or fails is seen in migrate_jobs.  Returns true (and
 * ends the transaction) when it had to be changed: the caller's next turn
 * reads the job again and runs the step.
 */
static bool
show_phase(OnlineRun *run, const char *current, const char *wanted)
{
	if (current != NULL && strcmp(current, wanted) == 0)
		return false;
	set_phase(run, wanted);
	end_tx();
	return true;
}

/*
 * One turn of the loop: read the job, run or undo the next step, or finish.
 * Returns false when the worker has nothing more to do.
 */
static bool
run_next(OnlineRun *run)
{
	char	   *state;
	char	   *request;
	bool		auto_complete;
	bool		isnull;
	char	   *phase;
	Step		st;

	begin_tx();
	book("SELECT j.state, o.request, o.auto_complete, j.relation::pg_catalog.oid, o.phase"
		 " FROM @job@ j JOIN @online@ o ON o.job_id OPERATOR(pg_catalog.=) j.id"
		 " WHERE j.id OPERATOR(pg_catalog.=) $1 FOR NO KEY UPDATE OF o",
		 run->job_id, 0, NULL);
	if (SPI_processed == 0)
	{
		end_tx();
		return false;
	}
	state = getstr(1);
	request = getstr(2);
	auto_complete = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	run->relid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4, &isnull));
	phase = getstr(5);
	if (strcmp(state, "queued") != 0 && strcmp(state, "running") != 0)
	{
		end_tx();
		return false;
	}

	if (strcmp(request, "abort") == 0)
	{
		book("SELECT " STEP_COLUMNS " FROM @step@ WHERE job_id OPERATOR(pg_catalog.=) $1"
			 " AND state OPERATOR(pg_catalog.=) ANY ('{done,attempted}'::pg_catalog.text[])"
			 " ORDER BY step DESC LIMIT 1", run->job_id, 0, NULL);
		if (SPI_processed == 0)
		{
			book("UPDATE @online@ SET phase = 'aborted', outcome = 'aborted'"
				 " WHERE job_id OPERATOR(pg_catalog.=) $1", run->job_id, 0, NULL);
			book("UPDATE @slice@ SET done = true, updated_at = pg_catalog.now()"
				 " WHERE job_id OPERATOR(pg_catalog.=) $1", run->job_id, 0, NULL);
			book("UPDATE @job@ SET state = 'cancelled', finished_at = pg_catalog.now(),"
				 " updated_at = pg_catalog.now(), last_error = NULL"
				 " WHERE id OPERATOR(pg_catalog.=) $1", run->job_id, 0, NULL);
			end_tx();
			ereport(LOG, (errmsg("online change " INT64_FORMAT " aborted", run->job_id)));
			return false;
		}
		read_step(run, &st);
		if (show_phase(run, phase, psprintf("abort: undoing step %d (%s)", st.number, st.phase)))
			return true;
		undo_step(run, &st);
		return true;
	}

	book(psprintf("SELECT " STEP_COLUMNS " FROM @step@ WHERE job_id OPERATOR(pg_catalog.=) $1"
				  " AND state OPERATOR(pg_catalog.=) ANY ('{pending,attempted}'::pg_catalog.text[])"
				  " AND (stage OPERATOR(pg_catalog.=) 'change' OR %s)"
				  " ORDER BY step LIMIT 1",
				  (auto_complete || strcmp(request, "complete") == 0) ? "true" : "false"),
		 run->job_id, 0, NULL);
	if (SPI_processed == 0)
	{
		const char *outcome;

		book("SELECT FROM @step@ WHERE job_id OPERATOR(pg_catalog.=) $1"
			 " AND state OPERATOR(pg_catalog.=) 'pending'", run->job_id, 0, NULL);
		outcome = SPI_processed > 0 ? "awaiting complete" : "completed";
		book("UPDATE @online@ SET phase = $3, outcome = $3"
			 " WHERE job_id OPERATOR(pg_catalog.=) $1", run->job_id, 0, outcome);
		book("UPDATE @slice@ SET done = true, updated_at = pg_catalog.now()"
			 " WHERE job_id OPERATOR(pg_catalog.=) $1", run->job_id, 0, NULL);
		book("UPDATE @job@ SET state = 'done', finished_at = pg_catalog.now(),"
			 " updated_at = pg_catalog.now(), last_error = NULL"
			 " WHERE id OPERATOR(pg_catalog.=) $1", run->job_id, 0, NULL);
		end_tx();
		return false;
	}
	read_step(run, &st);
	if (show_phase(run, phase, st.phase))
		return true;
	do_step(run, &st);
	return true;
}

static void
fail_job(OnlineRun *run, const char *message)
{
	begin_tx();
	book("UPDATE @job@ SET state = 'failed', last_error = $3, updated_at = pg_catalog.now()"
		 " WHERE id OPERATOR(pg_catalog.=) $1"
		 " AND state OPERATOR(pg_catalog.=) ANY ('{queued,running}'::pg_catalog.text[])",
		 run->job_id, 0, message);
	end_tx();
	ereport(LOG,
			(errmsg("online change " INT64_FORMAT " failed: %s", run->job_id, message)));
}

/*
 * The worker's main loop for an online change, entered from the
 * background-migration runner once the submitter's session is set up.
 */
void
pgm_online_run(int64 job_id)
{
	OnlineRun	run;
	int			retries = 0;
	int			delay = 0;

	memset(&run, 0, sizeof(run));
	run.job_id = job_id;
	run.cxt = AllocSetContextCreate(TopMemoryContext, "pg_migrate online change",
									ALLOCSET_DEFAULT_SIZES);
	run.stmt_cxt = AllocSetContextCreate(TopMemoryContext, "pg_migrate online step",
										 ALLOCSET_DEFAULT_SIZES);

	/* The history records the steps under the migration that submitted it. */
	begin_tx();
	pgm_online_load_migration(job_id);
	end_tx();

	for (;;)
	{
		ErrorData  *volatile error = NULL;
		volatile bool more = false;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		run.cur_step = 0;
		strlcpy(run.cur_phase, "bookkeeping", sizeof(run.cur_phase));
		PG_TRY();
		{
			more = run_next(&run);
		}
		PG_CATCH();
		{
			error = pgm_toplevel_catch(run.cxt);
		}
		PG_END_TRY();
		pgm_job_worker_lend_slot(0);
		MemoryContextReset(run.stmt_cxt);
		pgstat_report_activity(STATE_IDLE, NULL);

		if (error == NULL)
		{
			if (!more)
				break;
			retries = 0;
			delay = 0;
			continue;
		}

		if (pgm_toplevel_retryable(error->sqlerrcode) && retries < pgm_batch_max_retries)
		{
			int			ms = pgm_backoff_next(&delay);

			retries++;
			ereport(LOG,
					(errmsg("online change " INT64_FORMAT ": step retried (%d) in %d ms: %s",
							run.job_id, retries, ms, error->message)));
			FreeErrorData(error);
			begin_tx();
			book("UPDATE @script@ SET retries = retries OPERATOR(pg_catalog.+) 1"
				 " WHERE job_id OPERATOR(pg_catalog.=) $1", run.job_id, 0, NULL);
			end_tx();
			pgm_sleep_ms(ms);
			continue;
		}
		fail_job(&run, psprintf("step %d (%s) failed: %s",
								run.cur_step, run.cur_phase,
								pgm_toplevel_error_text(error)));
		FreeErrorData(error);
		break;
	}
	MemoryContextDelete(run.stmt_cxt);
	MemoryContextDelete(run.cxt);
}

/* At library load: the background-migration runner hands online jobs here. */
void
pgm_online_init(void)
{
	pgm_online_runner = pgm_online_run;
}
