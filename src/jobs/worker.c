/*-------------------------------------------------------------------------
 *
 * worker.c
 *		The job worker: a dynamic background worker (bgw_type "pg_migrate
 *		job") started by a dispatcher, that runs one slice of one job to its
 *		end; for a backfill, batch by batch (the batch runner below), for a
 *		migration, statement by statement (jobs/script.c).
 *
 * Between two batches it sleeps the job's pause; a pause or cancel of the
 * job wakes it through the latch in its slot, and a pause of PGM_PARK_MS or
 * more is waited out without a worker: the slice is "parked" in shared
 * memory and dispatched again when it is due.  The job states and who moves
 * them are described in jobs/README.md.
 *
 * Every batch is one transaction that changes the user's rows and advances
 * the slice's progress row, so whatever kills a worker (kill -9, a crash,
 * an immediate shutdown, pg_terminate_backend), the job restarts exactly
 * where the last committed batch left it: no batch is lost or applied
 * twice.  The user's SQL runs with the identity of the role that submitted
 * the job (SetUserIdAndSecContext), as a security-restricted operation,
 * under a fixed search_path, with a short lock_timeout, inside a GUC nest
 * level that undoes whatever the user's code set.  The worker's own
 * bookkeeping runs as the bootstrap superuser it connected as, on
 * schema-qualified names, and never runs user code: it keeps keys as the
 * bytes of their send form and converts them only as the submitter, and
 * a batch that ran the submitter's code commits as the submitter.
 *
 * A worker holds no lock between batches, so DROP EXTENSION, DROP TABLE and
 * the like wait for one batch at most; the worker then notices that its
 * table or its job is gone and exits (DROP DATABASE: see dbguard.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_database.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "commands/trigger.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/parser.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/itemptr.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "storage/shmem.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "core/catalog.h"
#include "core/compat.h"
#include "core/guc.h"
#include "core/spi.h"
#include "ddl/history.h"
#include "jobs/batchend.h"
#include "jobs/batchscan.h"
#include "jobs/script.h"
#include "jobs/shmem.h"
#include "jobs/worker.h"

PGDLLEXPORT void pgm_job_worker_main(Datum main_arg);

/* tid Datums are pass-by-reference pointers to ItemPointerData. */
#define DatumGetItemPointer(X)	((ItemPointer) DatumGetPointer(X))
#define ItemPointerGetDatum(X)	PointerGetDatum(X)

/*
 * A worker that is to sleep this long between two batches leaves instead,
 * freeing its slot; the slice is dispatched again when the sleep is over.
 * Shorter sleeps are cheaper than starting a worker again.
 */
#define PGM_PARK_MS		10000

/* Shortest duration batches aim at while the application waits for them. */
#define PGM_MIN_TARGET_MS	10.0

static void apply_worker_nice(void);

/* ----------------------------------------------------------------
 * The job worker
 * ----------------------------------------------------------------
 */

static int	my_slotno = -1;
static uint32 my_generation = 0;

static void
job_worker_exit(int code, Datum arg)
{
	pgm_jobs_release_slot(my_slotno, my_generation, false, code != 0);
}

/*
 * While this worker waits for another job of its database (job_id; 0 when
 * it stops waiting), that job may run on this worker's share of
 * pg_migrate.max_workers and max_workers_per_role.  Without it, workers
 * waiting for jobs that wait for a slot could take every slot.
 */
void
pgm_job_worker_lend_slot(int64 job_id)
{
	pgm_jobs_lend_slot(my_slotno, my_generation, job_id);
}

/*
 * Statements a worker keeps prepared: the range query and the batch
 * statement with and without a lower bound, the latter for each pass.
 */
#define PGM_JOB_PLANS	8

/* Most ranges waiting for their second pass (run_batch). */
#define PGM_PASS2_RANGES	4

/* Which rows of a range a batch statement changes (two passes). */
typedef enum BatchPass
{
	PASS_ALL,					/* every row: one pass */
	PASS_ODD,					/* first pass: odd keys */
	PASS_EVEN					/* second pass: even keys */
} BatchPass;

/* Everything the worker needs to know about its job and slice. */
typedef struct JobRun
{
	int64		job_id;
	int32		slice;

	/* fixed at submit time */
	bool		is_delete;
	Oid			relid;
	Oid			owner;
	char	   *set_clause;
	char	   *where_clause;
	bool		ctid_mode;
	int			nkeys;
	char	  **key_names;
	Oid		   *key_types;
	int			pause_ms;
	int			retry_size;		/* >0: size to use after a failed attempt */
	double		target_ms;		/* duration batches aim at now (adapt_target) */
	double		last_batch_ms;	/* how long the last batch took */
	bool		ran_as_submitter;	/* this transaction ran the user's part */

	/*
	 * Time spent yielding and throttled, and batches retried, since the
	 * last progress written: added to the slice row with the next batch's
	 * progress (owed_written says the batch wrote them).
	 */
	double		owed_yield_ms;
	double		owed_throttled_ms;
	int64		owed_retried;
	bool		owed_written;

	/* read at each batch from the slice row */
	char		state[16];
	bool		done;
	int			batch_size;
	bool		have_next;		/* key mode: next_key is set */
	Datum		next_raw;		/* bytea[]: send forms, as stored */
	Datum		hi_raw;
	Datum	   *next_key;		/* decoded from them as the submitter */
	Datum	   *hi_key;
	int64		next_block;		/* ctid mode */
	int64		hi_block;
	int			nskip;
	ItemPointerData *skip;

	/*
	 * Two passes (see run_batch): the keys of (pass2_from, next_key] have
	 * had their first pass only.  pass2_from is null when that range starts
	 * at the slice's first key.
	 */
	bool		two_pass;		/* fixed: this job updates in two passes */
	bool		has_pass2;		/* the slice table has the pass2 columns */
	bool		pass2_open;
	Datum		pass2_raw;

	/*
	 * What this worker remembers of the pending keys, by integer key: the
	 * ranges its own first passes covered, each with the transaction that
	 * ran it.  Range i is (i == 0 ? p2_lo : p2_hi[i - 1], p2_hi[i]].  Kept
	 * only while it matches the slice row (check_pass2_ranges).
	 */
	int			p2_n;
	bool		p2_lo_first;	/* p2_lo is the slice's first key */
	int64		p2_lo;
	int64		p2_hi[PGM_PASS2_RANGES];
	TransactionId p2_xid[PGM_PASS2_RANGES];
	int			p2_rows[PGM_PASS2_RANGES];	/* rows in the range; 0: unknown */
	TransactionId recent_xid[3];	/* the last three batches', last first */
	bool		one_pass;		/* cleanup was held back at the last batch */

	/*
	 * What each pass last cost, in milliseconds per row of the ranges it
	 * ran on (two_pass_batch_size); 0 while not measured.
	 */
	double		p1_ms_row;
	double		p2_ms_row;

	/*
	 * Statements, by text: rebuilt when the relation or a column is renamed.
	 * dml_plan and range_plan point to the ones of the current batch.
	 */
	int			nplans;
	char	   *plan_sql[PGM_JOB_PLANS];
	SPIPlanPtr	plan[PGM_JOB_PLANS];
	SPIPlanPtr	range_plan;
	SPIPlanPtr	dml_plan;
} JobRun;

/* Errors worth retrying the batch for. */
static bool
retryable_error(int sqlerrcode)
{
	return sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE ||
		sqlerrcode == ERRCODE_T_R_DEADLOCK_DETECTED ||
		sqlerrcode == ERRCODE_T_R_SERIALIZATION_FAILURE ||
		sqlerrcode == ERRCODE_QUERY_CANCELED;
}

/* Decode one key column from its send form. */
static Datum
key_from_bytea(bytea *b, Oid typid)
{
	Oid			recv;
	Oid			ioparam;
	StringInfoData buf;
	Datum		result;

	getTypeBinaryInputInfo(typid, &recv, &ioparam);
	initStringInfo(&buf);
	appendBinaryStringInfo(&buf, VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b));
	result = OidReceiveFunctionCall(recv, &buf, ioparam, -1);
	pfree(buf.data);
	return result;
}

/*
 * Decode a key stored as an array of send forms, as the submitter (the
 * type's receive functions are the table's code).
 */
static Datum *
keys_from_array(Datum arr, JobRun *job)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int			i;
	Datum	   *keys;

	deconstruct_array(DatumGetArrayTypeP(arr), BYTEAOID, -1, false, TYPALIGN_INT,
					  &elems, &nulls, &n);
	if (n != job->nkeys)
		elog(ERROR, "job " INT64_FORMAT " has a malformed key", job->job_id);
	keys = palloc(sizeof(Datum) * n);
	for (i = 0; i < n; i++)
	{
		if (nulls[i])
			elog(ERROR, "job " INT64_FORMAT " has a malformed key", job->job_id);
		keys[i] = key_from_bytea(DatumGetByteaPP(elems[i]), job->key_types[i]);
	}
	return keys;
}

/* Encode a key as an array of send forms, as the submitter. */
static Datum
keys_to_array(Datum *keys, JobRun *job)
{
	Datum	   *elems = palloc(sizeof(Datum) * job->nkeys);
	int			i;

	for (i = 0; i < job->nkeys; i++)
	{
		Oid			send;
		bool		isvarlena;

		getTypeBinaryOutputInfo(job->key_types[i], &send, &isvarlena);
		elems[i] = PointerGetDatum(OidSendFunctionCall(send, keys[i]));
	}
	return PointerGetDatum(construct_array(elems, job->nkeys, BYTEAOID, -1,
										   false, TYPALIGN_INT));
}

/*
 * Does the SET clause (checked when the job was submitted) assign the
 * column?  A batch that changed a key could move a row from the keys of
 * one pass to those of the other, which would then change it again.
 */
static bool
set_clause_assigns(const char *clause, const char *column)
{
	List	   *raw;
	RawStmt    *stmt;
	ListCell   *lc;

	if (clause == NULL)
		return false;
	raw = raw_parser(psprintf("UPDATE pg_migrate_set_clause SET\n%s\n", clause),
					 RAW_PARSE_DEFAULT);
	if (list_length(raw) != 1)
		return true;
	stmt = linitial_node(RawStmt, raw);
	if (!IsA(stmt->stmt, UpdateStmt))
		return true;
	foreach(lc, ((UpdateStmt *) stmt->stmt)->targetList)
	{
		ResTarget  *target = lfirst_node(ResTarget, lc);

		if (target->name == NULL || strcmp(target->name, column) == 0)
			return true;
	}
	return false;
}

/*
 * Load what never changes about the job (first transaction of the
 * worker).  Returns false when the job is not runnable any more.
 */
static bool
load_job(JobRun *job)
{
	StringInfoData sql;
	Oid			argtypes[1] = {INT8OID};
	Datum		args[1];
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	Datum		d;
	char	   *mode;
	MemoryContext oldcxt;

	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "SELECT kind, relation::pg_catalog.oid, owner::pg_catalog.oid,"
					 " set_clause, where_clause, key_mode, key_columns, key_types,"
					 " (EXTRACT(epoch FROM pause) OPERATOR(pg_catalog.*) 1000)::integer, state"
					 " FROM %s WHERE id OPERATOR(pg_catalog.=) $1",
					 pgm_job_table_name(PGM_JOB_TABLE));
	args[0] = Int64GetDatum(job->job_id);
	if (SPI_execute_with_args(sql.data, 1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read job " INT64_FORMAT, job->job_id);
	if (SPI_processed == 0)
		return false;

	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	oldcxt = MemoryContextSwitchTo(TopMemoryContext);

	job->is_delete = strcmp(SPI_getvalue(tup, desc, 1), "delete") == 0;
	job->relid = DatumGetObjectId(SPI_getbinval(tup, desc, 2, &isnull));
	job->owner = DatumGetObjectId(SPI_getbinval(tup, desc, 3, &isnull));
	job->set_clause = SPI_getvalue(tup, desc, 4);
	job->where_clause = SPI_getvalue(tup, desc, 5);
	mode = SPI_getvalue(tup, desc, 6);
	job->ctid_mode = strcmp(mode, "ctid") == 0;
	if (!job->ctid_mode && strcmp(mode, "key") != 0)
	{
		MemoryContextSwitchTo(oldcxt);
		return false;			/* an empty job has nothing to run */
	}
	if (!job->ctid_mode)
	{
		Datum	   *elems;
		bool	   *nulls;
		int			n;
		int			i;

		d = SPI_getbinval(tup, desc, 7, &isnull);
		if (isnull)
			elog(ERROR, "job " INT64_FORMAT " has no key columns", job->job_id);
		deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT,
						  &elems, &nulls, &n);
		job->nkeys = n;
		job->key_names = palloc(sizeof(char *) * n);
		for (i = 0; i < n; i++)
		{
			if (nulls[i])
				elog(ERROR, "job " INT64_FORMAT " has a malformed key", job->job_id);
			job->key_names[i] = TextDatumGetCString(elems[i]);
		}
		d = SPI_getbinval(tup, desc, 8, &isnull);
		if (isnull)
			elog(ERROR, "job " INT64_FORMAT " has no key types", job->job_id);
		deconstruct_array(DatumGetArrayTypeP(d), REGTYPEOID, sizeof(Oid), true,
						  TYPALIGN_INT, &elems, &nulls, &n);
		if (n != job->nkeys)
			elog(ERROR, "job " INT64_FORMAT " has a malformed key", job->job_id);
		job->key_types = palloc(sizeof(Oid) * n);
		for (i = 0; i < n; i++)
			job->key_types[i] = DatumGetObjectId(elems[i]);
	}
	job->has_pass2 = get_attnum(pgm_relation(PGM_SLICE_TABLE), "pass2_open") != InvalidAttrNumber;
	job->two_pass = job->has_pass2 && !job->is_delete && !job->ctid_mode &&
		job->nkeys == 1 &&
		(job->key_types[0] == INT2OID || job->key_types[0] == INT4OID ||
		 job->key_types[0] == INT8OID) &&
		!set_clause_assigns(job->set_clause, job->key_names[0]);
	job->pause_ms = DatumGetInt32(SPI_getbinval(tup, desc, 9, &isnull));
	if (isnull)
		job->pause_ms = 0;
	{
		char	   *state = SPI_getvalue(tup, desc, 10);

		strlcpy(job->state, state ? state : "", sizeof(job->state));
	}
	MemoryContextSwitchTo(oldcxt);
	return true;
}

/*
 * Read the job's state and the slice's progress, locking the slice row:
 * should two workers ever run the same slice, the second would wait here
 * and then see the first one's progress, never redo its batch.
 */
static bool
read_progress(JobRun *job)
{
	StringInfoData sql;
	Oid			argtypes[2] = {INT8OID, INT4OID};
	Datum		args[2];
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	Datum		d;

	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "SELECT j.state, s.done, s.batch_size, s.next_key, s.hi_key,"
					 " s.next_block, s.hi_block, s.skip_tids, %s"
					 " FROM %s j JOIN %s s ON s.job_id OPERATOR(pg_catalog.=) j.id"
					 " WHERE j.id OPERATOR(pg_catalog.=) $1 AND s.slice OPERATOR(pg_catalog.=) $2"
					 " FOR NO KEY UPDATE OF s",
					 job->has_pass2 ? "s.pass2_open, s.pass2_from" : "false, NULL::pg_catalog.bytea[]",
					 pgm_job_table_name(PGM_JOB_TABLE),
					 pgm_job_table_name(PGM_SLICE_TABLE));
	args[0] = Int64GetDatum(job->job_id);
	args[1] = Int32GetDatum(job->slice);
	if (SPI_execute_with_args(sql.data, 2, argtypes, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read job " INT64_FORMAT, job->job_id);
	if (SPI_processed == 0)
		return false;

	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	strlcpy(job->state, SPI_getvalue(tup, desc, 1), sizeof(job->state));
	job->done = DatumGetBool(SPI_getbinval(tup, desc, 2, &isnull));
	job->batch_size = DatumGetInt32(SPI_getbinval(tup, desc, 3, &isnull));
	if (job->ctid_mode)
	{
		job->next_block = DatumGetInt64(SPI_getbinval(tup, desc, 6, &isnull));
		job->hi_block = DatumGetInt64(SPI_getbinval(tup, desc, 7, &isnull));
		d = SPI_getbinval(tup, desc, 8, &isnull);
		job->nskip = 0;
		job->skip = NULL;
		if (!isnull)
		{
			Datum	   *elems;
			bool	   *nulls;
			int			i;

			deconstruct_array(DatumGetArrayTypeP(d), TIDOID, sizeof(ItemPointerData),
							  false, TYPALIGN_SHORT, &elems, &nulls, &job->nskip);
			job->skip = palloc(sizeof(ItemPointerData) * Max(job->nskip, 1));
			for (i = 0; i < job->nskip; i++)
				job->skip[i] = *DatumGetItemPointer(elems[i]);
		}
	}
	else
	{
		/*
		 * Only the stored bytes here: decoding runs the key type's receive
		 * function (a domain's CHECK, a user type's code), which must run
		 * as the submitter, not as this worker (see run_batch).
		 */
		d = SPI_getbinval(tup, desc, 4, &isnull);
		job->have_next = !isnull;
		job->next_raw = isnull ? (Datum) 0 : datumCopy(d, false, -1);
		d = SPI_getbinval(tup, desc, 5, &isnull);
		if (isnull)
			elog(ERROR, "job " INT64_FORMAT " slice %d has no upper key",
				 job->job_id, job->slice);
		job->hi_raw = datumCopy(d, false, -1);

		job->pass2_open = DatumGetBool(SPI_getbinval(tup, desc, 9, &isnull));
		d = SPI_getbinval(tup, desc, 10, &isnull);
		job->pass2_raw = isnull ? (Datum) 0 : datumCopy(d, false, -1);
	}
	return true;
}

/* Mark the job failed; its own transaction. */
static void
fail_job(JobRun *job, const char *message)
{
	StringInfoData sql;
	Oid			argtypes[2] = {INT8OID, TEXTOID};
	Datum		args[2];

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();

	/*
	 * A batch that was under way while the submitter's role was revoked and
	 * dropped fails on whatever check it met first (a privilege, usually);
	 * the cause worth reporting is that the role is gone.
	 */
	if (!SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(job->owner)))
		message = "the role that submitted the job no longer exists";

	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (OidIsValid(pgm_relation(PGM_JOB_TABLE)))
	{
		initStringInfo(&sql);
		appendStringInfo(&sql,
						 "UPDATE %s SET state = 'failed', last_error = $2,"
						 " finished_at = pg_catalog.clock_timestamp(), updated_at = pg_catalog.now()"
						 " WHERE id OPERATOR(pg_catalog.=) $1"
						 " AND state OPERATOR(pg_catalog.=) ANY ('{queued,running}'::pg_catalog.text[])",
						 pgm_job_table_name(PGM_JOB_TABLE));
		args[0] = Int64GetDatum(job->job_id);
		args[1] = CStringGetTextDatum(message);
		SPI_execute_with_args(sql.data, 2, argtypes, args, NULL, false, 0);
	}
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgm_jobs_wake_waiters();
	ereport(LOG,
			(errmsg("background job " INT64_FORMAT " failed: %s", job->job_id, message)));
}

/*
 * "a", "b" of the key columns, or NULL when one of them is gone or changed
 * type.  Columns are found by name: a dump and restore renumbers columns
 * (dropped ones are not restored), so attribute numbers would not do.
 */
static char *
key_column_list(JobRun *job, const char *prefix)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	for (i = 0; i < job->nkeys; i++)
	{
		HeapTuple	tup;
		Form_pg_attribute att;

		tup = SearchSysCacheAttName(job->relid, job->key_names[i]);
		if (!HeapTupleIsValid(tup))
			return NULL;
		att = (Form_pg_attribute) GETSTRUCT(tup);
		if (att->attisdropped || att->atttypid != job->key_types[i])
		{
			ReleaseSysCache(tup);
			return NULL;
		}
		appendStringInfo(&buf, "%s%s%s", i > 0 ? ", " : "", prefix,
						 quote_identifier(NameStr(att->attname)));
		ReleaseSysCache(tup);
	}
	return buf.data;
}

/* "($1, $2)" for parameters first .. first + n - 1 */
static char *
param_list(int first, int n)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "ROW(");
	for (i = 0; i < n; i++)
		appendStringInfo(&buf, "%s$%d", i > 0 ? ", " : "", first + i);
	appendStringInfoChar(&buf, ')');
	return buf.data;
}

/*
 * The cached plan of a statement, prepared when none is.  Statements left
 * behind by a rename are dropped when the cache is full.
 */
static SPIPlanPtr
job_plan(JobRun *job, const char *sql, int nargs, Oid *argtypes)
{
	/* dml_plan is looked up first; range_plan, when wanted, second. */
	SPIPlanPtr	plan;
	int			i;

	for (i = 0; i < job->nplans; i++)
		if (strcmp(job->plan_sql[i], sql) == 0)
			return job->plan[i];

	/* Full: keep only the plan this call has already found (dml_plan). */
	if (job->nplans == PGM_JOB_PLANS)
	{
		int			kept = 0;

		for (i = 0; i < job->nplans; i++)
		{
			if (job->plan[i] == job->dml_plan)
			{
				job->plan_sql[kept] = job->plan_sql[i];
				job->plan[kept++] = job->plan[i];
				continue;
			}
			SPI_freeplan(job->plan[i]);
			pfree(job->plan_sql[i]);
		}
		job->nplans = kept;
	}

	plan = SPI_prepare_cursor(sql, nargs, argtypes, CURSOR_OPT_CUSTOM_PLAN);
	if (plan == NULL)
		elog(ERROR, "could not prepare the batch statement: %s",
			 SPI_result_code_string(SPI_result));
	SPI_keepplan(plan);
	job->plan_sql[job->nplans] = MemoryContextStrdup(TopMemoryContext, sql);
	job->plan[job->nplans] = plan;
	job->nplans++;
	return plan;
}

/*
 * Build the batch statements for the relation's current name and column
 * names, and find or prepare their plans (dml_plan, range_plan).  Called
 * as the submitter, under the batch's search_path.
 *
 * Key mode, with K the key columns and lower/upper the bounds:
 *	range:	SELECT K FROM rel WHERE ROW(K) > lower AND ROW(K) <= upper
 *			ORDER BY K OFFSET size - 1 LIMIT 1
 *	dml:	UPDATE rel SET ... WHERE ROW(K) > lower AND ROW(K) <= batch_upper
 *			[AND (K & 1) = 1 | 0] AND (where)
 * The first batch has no lower bound; the parity test is that of a pass
 * (run_batch).  Ctid mode:
 *	dml:	UPDATE ONLY rel SET ... WHERE ctid >= $1 AND ctid < $2
 *			AND ctid <> ALL ($3) AND (where) RETURNING ctid
 * Custom plans are forced: a generic plan for a range predicate on
 * parameters could choose a sequential scan, which would scan the whole
 * table in every batch.
 */
static bool
prepare_statements(JobRun *job, bool first, BatchPass pass)
{
	char	   *relname;
	char	   *keys;
	StringInfoData cond;
	StringInfoData range;
	StringInfoData dml;
	Oid		   *argtypes;
	int			nargs;
	int			i;
	int			k = job->nkeys;

	job->dml_plan = job->range_plan = NULL;
	{
		char	   *nspname = get_namespace_name(get_rel_namespace(job->relid));
		char	   *name = get_rel_name(job->relid);

		/* Dropped since the existence check: fail the job, not the server. */
		if (nspname == NULL || name == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("the table of job " INT64_FORMAT " was dropped", job->job_id)));
		relname = quote_qualified_identifier(nspname, name);
	}
	initStringInfo(&cond);
	initStringInfo(&range);
	initStringInfo(&dml);

	if (job->ctid_mode)
	{
		appendStringInfo(&dml, "%s ONLY %s",
						 job->is_delete ? "DELETE FROM" : "UPDATE", relname);
		if (!job->is_delete)
			appendStringInfo(&dml, " SET\n%s\n", job->set_clause);
		appendStringInfoString(&dml,
							   " WHERE ctid OPERATOR(pg_catalog.>=) $1"
							   " AND ctid OPERATOR(pg_catalog.<) $2"
							   " AND ctid OPERATOR(pg_catalog.<>) ALL ($3)");
		if (job->where_clause)
			appendStringInfo(&dml, " AND (\n%s\n)", job->where_clause);
		if (!job->is_delete)
			appendStringInfoString(&dml, " RETURNING ctid");
		nargs = 3;
		argtypes = palloc(sizeof(Oid) * nargs);
		argtypes[0] = TIDOID;
		argtypes[1] = TIDOID;
		argtypes[2] = TIDARRAYOID;
		job->dml_plan = job_plan(job, dml.data, nargs, argtypes);
		return true;
	}

	keys = key_column_list(job, "");
	if (keys == NULL)
		return false;
	/* parameters: lower bound $1..$k, upper bound $k+1..$2k, offset */
	if (!first)
		appendStringInfo(&cond, "ROW(%s) OPERATOR(pg_catalog.>) %s AND ",
						 keys, param_list(1, k));
	appendStringInfo(&cond, "ROW(%s) OPERATOR(pg_catalog.<=) %s",
					 keys, param_list(k + 1, k));

	appendStringInfo(&range,
					 "SELECT %s FROM %s WHERE %s ORDER BY %s OFFSET $%d LIMIT 1",
					 keys, relname, cond.data, keys, 2 * k + 1);

	appendStringInfo(&dml, "%s %s",
					 job->is_delete ? "DELETE FROM" : "UPDATE", relname);
	if (!job->is_delete)
		appendStringInfo(&dml, " SET\n%s\n", job->set_clause);
	appendStringInfo(&dml, " WHERE %s", cond.data);
	if (pass != PASS_ALL)
		appendStringInfo(&dml, " AND (%s OPERATOR(pg_catalog.&) 1) OPERATOR(pg_catalog.=) %d",
						 keys, pass == PASS_ODD ? 1 : 0);
	if (job->where_clause)
		appendStringInfo(&dml, " AND (\n%s\n)", job->where_clause);

	/* Both statements take the same parameters; the DML ignores the offset. */
	nargs = 2 * k + 1;
	argtypes = palloc(sizeof(Oid) * nargs);
	for (i = 0; i < k; i++)
	{
		argtypes[i] = job->key_types[i];
		argtypes[k + i] = job->key_types[i];
	}
	argtypes[2 * k] = INT8OID;
	job->dml_plan = job_plan(job, dml.data, nargs, argtypes);
	job->range_plan = job_plan(job, range.data, nargs, argtypes);
	return true;
}

/*
 * Pause while a standby's replay lag is above pg_migrate.max_replication_lag.
 * Returns the lag in ms when over the limit, else 0.
 */
static double
replication_lag_over_limit(void)
{
	double		lag;
	bool		isnull;

	if (pgm_max_replication_lag <= 0)
		return 0;
	if (SPI_execute("SELECT COALESCE(EXTRACT(epoch FROM pg_catalog.max(replay_lag)), 0)::pg_catalog.float8"
					" OPERATOR(pg_catalog.*) 1000 FROM pg_catalog.pg_stat_replication",
					true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		return 0;
	lag = DatumGetFloat8(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (isnull || lag <= pgm_max_replication_lag)
		return 0;
	return lag;
}

/*
 * Sessions waiting for this batch's transaction: the application's writes
 * to rows the batch has locked.  Counted on the transaction's own lock,
 * which the first waiter of every row queues on (the others queue behind it
 * on the row).
 */
static int
batch_waiters(void)
{
	TransactionId xid = GetTopTransactionIdIfAny();
	LOCKTAG		tag;

	if (!TransactionIdIsValid(xid))
		return 0;
	SET_LOCKTAG_TRANSACTION(tag, xid);
	/* LockWaiterCount counts every request, our own (granted) one too. */
	return Max(LockWaiterCount(&tag) - 1, 0);
}

/*
 * The duration batches aim at: pg_migrate.batch_target while nobody waits
 * for them, shorter while the application's writes queue behind their row
 * locks (each wait is then at most one short batch, and fewer writes meet
 * a locked row), and back up gradually once they stop.
 */
static void
adapt_target(JobRun *job)
{
	double		floor_ms = Min(PGM_MIN_TARGET_MS, (double) pgm_batch_target);

	if (job->target_ms <= 0 || job->target_ms > pgm_batch_target)
		job->target_ms = pgm_batch_target;
	if (batch_waiters() > 0)
		job->target_ms = Max(floor_ms, job->target_ms / 2);
	else
		job->target_ms = Min((double) pgm_batch_target, job->target_ms * 1.25);
}

/*
 * The next batch size: scaled toward the target duration, at most doubling
 * or halving per batch, within PGM_MIN_BATCH (1 block in ctid mode) and
 * PGM_MAX_BATCH.
 */
static int
next_batch_size(int size, double elapsed_ms, bool ctid_mode, double target)
{
	double		factor;
	int			result;

	if (elapsed_ms < 1)
		elapsed_ms = 1;
	/* Move toward the target, at most doubling or halving per batch. */
	factor = target / elapsed_ms;
	if (factor > 2.0)
		factor = 2.0;
	if (factor < 0.5)
		factor = 0.5;
	result = (int) Min((double) PGM_MAX_BATCH, rint(size * factor));
	return Max(result, ctid_mode ? 1 : PGM_MIN_BATCH);
}

/*
 * The next batch size while ranges are changed in two passes (run_batch).
 * A batch then runs the second pass of one range and the first pass of
 * the next, so its duration is the sum of two passes' costs, each over a
 * range of its own size.  Sizing from that duration reacts one range late:
 * when one pass has far less to do than the other (a WHERE clause that
 * selects even keys only, say), batch sizes swing with it, between half
 * and twice the target, for as long as the job runs.  So each pass's cost
 * per row of range is measured apart, and the size is the one whose two
 * passes add up to the target; a cost not measured yet is taken to be
 * the other's.  At most doubling or halving per batch, as next_batch_size,
 * and no growth before a second pass was measured: first passes that
 * change next to nothing would otherwise double the size batch after
 * batch, and the second passes they leave, run together when none is
 * ready, would be many times the target.  Returns 0 when neither cost is
 * known.
 */
static int
two_pass_batch_size(JobRun *job)
{
	double		c1 = job->p1_ms_row > 0 ? job->p1_ms_row : job->p2_ms_row;
	double		c2 = job->p2_ms_row > 0 ? job->p2_ms_row : job->p1_ms_row;
	double		size;

	if (c1 <= 0)
		return 0;
	size = job->target_ms / (c1 + c2);
	size = Min(size, (job->p2_ms_row > 0 ? 2.0 : 1.0) * job->batch_size);
	size = Max(size, 0.5 * job->batch_size);
	size = Min(size, (double) PGM_MAX_BATCH);
	return Max((int) rint(size), PGM_MIN_BATCH);
}

/* Milliseconds since start. */
static double
ms_since(instr_time start)
{
	instr_time	now;

	INSTR_TIME_SET_CURRENT(now);
	INSTR_TIME_SUBTRACT(now, start);
	return INSTR_TIME_GET_MILLISEC(now);
}

/*
 * Start a transaction of the batch runner: its own statement time, SPI and
 * a snapshot; nothing of the user's has run in it yet.
 */
static void
begin_job_transaction(JobRun *job)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	job->ran_as_submitter = false;
}

/*
 * Commit a transaction begun by begin_job_transaction.  Whatever the
 * user's part could still have left to run at commit (run_batch forbids
 * what it knows of) runs as the submitter, restricted, never as this
 * worker.  A failed commit is aborted, and the abort restores the worker's
 * identity.
 */
static void
commit_job_transaction(JobRun *job)
{
	PgmSavedUser saved;

	SPI_finish();
	PopActiveSnapshot();
	pgm_save_user(&saved);
	if (job->ran_as_submitter)
		pgm_act_as(job->owner, &saved);
	CommitTransactionCommand();
	pgm_restore_user(&saved);
}

/*
 * Switch to the submitter for the user's part of a transaction: the role,
 * restricted, under the batch's search_path and lock_timeout.  Returns the
 * GUC nest level that AtEOXact_GUC(false, level) undoes; pgm_restore_user
 * switches back.
 */
static int
act_as_submitter(JobRun *job, PgmSavedUser *saved)
{
	int			save_nestlevel;
	char		buf[32];

	pgm_save_user(saved);
	save_nestlevel = NewGUCNestLevel();
	pgm_act_as(job->owner, saved);
	job->ran_as_submitter = true;
	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	/* The clauses were checked at submission under this setting (jobs.c). */
	(void) set_config_option("standard_conforming_strings", "on",
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	snprintf(buf, sizeof(buf), "%d", pgm_batch_lock_timeout);
	(void) set_config_option("lock_timeout", buf,
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	return save_nestlevel;
}

typedef enum
{
	BATCH_DONE,					/* a batch committed, more to do */
	BATCH_SLICE_DONE,			/* the slice is complete */
	BATCH_THROTTLED,			/* replication lag: nothing done */
	BATCH_STOP					/* job not runnable: exit */
} BatchResult;

/*
 * The part of the slice's progress UPDATE that adds what the job owes to
 * its yield, throttle and retry figures (columns of version 1.4; a
 * database whose extension is older has none, and they wait).  Plain
 * numbers of our own, formatted into the statement.
 */
static const char *
owed_clause(JobRun *job)
{
	Oid			slice_relid = pgm_relation(PGM_SLICE_TABLE);

	job->owed_written = false;
	if (!OidIsValid(slice_relid) ||
		get_attnum(slice_relid, "batches_retried") == InvalidAttrNumber ||
		get_attnum(slice_relid, "throttled_ms") == InvalidAttrNumber ||
		get_attnum(slice_relid, "yield_ms") == InvalidAttrNumber)
		return "";
	job->owed_written = true;
	return psprintf(" yield_ms = yield_ms OPERATOR(pg_catalog.+) %.3f,"
					" throttled_ms = throttled_ms OPERATOR(pg_catalog.+) %.3f,"
					" batches_retried = batches_retried OPERATOR(pg_catalog.+) " INT64_FORMAT ",",
					job->owed_yield_ms, job->owed_throttled_ms, job->owed_retried);
}

/* After a commit that wrote them, the owed figures are paid. */
static void
owed_paid(JobRun *job)
{
	if (!job->owed_written)
		return;
	job->owed_written = false;
	job->owed_yield_ms = 0;
	job->owed_throttled_ms = 0;
	job->owed_retried = 0;
}

/*
 * Write the owed figures in a transaction of their own, before the slice
 * is parked (its JobRun is gone when it resumes).
 */
static void
pay_owed(JobRun *job)
{
	StringInfoData sql;
	Oid			argtypes[2] = {INT8OID, INT4OID};
	Datum		args[2];
	const char *clause;

	if (job->owed_yield_ms == 0 && job->owed_throttled_ms == 0 && job->owed_retried == 0)
		return;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	clause = owed_clause(job);
	if (clause[0] != '\0')
	{
		initStringInfo(&sql);
		appendStringInfo(&sql, "UPDATE %s SET%s updated_at = updated_at"
						 " WHERE job_id OPERATOR(pg_catalog.=) $1 AND slice OPERATOR(pg_catalog.=) $2",
						 pgm_job_table_name(PGM_SLICE_TABLE), clause);
		args[0] = Int64GetDatum(job->job_id);
		args[1] = Int32GetDatum(job->slice);
		(void) SPI_execute_with_args(sql.data, 2, argtypes, args, NULL, false, 0);
	}
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	owed_paid(job);
}

/*
 * A queued job is running from its first worker on.  Run_job does this in
 * a transaction of its own, before the first batch: a batch that waits for
 * the application's row locks would otherwise hold the job's row all that
 * time, and every other slice's first batch (and its end, which locks that
 * row too) would wait behind it.
 */
static void
mark_running(JobRun *job)
{
	StringInfoData sql;
	Oid			argtypes[1] = {INT8OID};
	Datum		args[1] = {Int64GetDatum(job->job_id)};

	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "UPDATE %s SET state = 'running',"
					 " started_at = COALESCE(started_at, pg_catalog.now()),"
					 " updated_at = pg_catalog.now()"
					 " WHERE id OPERATOR(pg_catalog.=) $1"
					 " AND state OPERATOR(pg_catalog.=) 'queued'",
					 pgm_job_table_name(PGM_JOB_TABLE));
	SPI_execute_with_args(sql.data, 1, argtypes, args, NULL, false, 0);
}

/*
 * A key of a job in two passes (one integer column) as an int64, and back
 * (int8 is passed by reference on some platforms: a Datum of it would not
 * outlive its batch).
 */
static int64
key_int(JobRun *job, Datum d)
{
	switch (job->key_types[0])
	{
		case INT2OID:
			return DatumGetInt16(d);
		case INT4OID:
			return DatumGetInt32(d);
		default:
			return DatumGetInt64(d);
	}
}

static Datum
key_datum(JobRun *job, int64 v)
{
	switch (job->key_types[0])
	{
		case INT2OID:
			return Int16GetDatum((int16) v);
		case INT4OID:
			return Int32GetDatum((int32) v);
		default:
			return Int64GetDatum(v);
	}
}

/*
 * Keep the ranges this worker remembers waiting for their second pass only
 * if they are exactly the slice row's (pass2_from, next_key]: after a
 * rolled-back batch, a restart or a slice another worker ran, the pending
 * keys are one range of unknown age, treated as ready.  Two passes are
 * used for one-column integer keys only, whose decoded values compare as
 * Datums.  Runs as the submitter (decodes keys).
 */
static void
check_pass2_ranges(JobRun *job)
{
	bool		lo_first = job->pass2_raw == (Datum) 0;
	int64		lo = lo_first ? 0 : key_int(job, keys_from_array(job->pass2_raw, job)[0]);
	int64		hi = key_int(job, job->next_key[0]);

	if (job->p2_n > 0 && job->p2_lo_first == lo_first &&
		(lo_first || job->p2_lo == lo) &&
		job->p2_hi[job->p2_n - 1] == hi)
		return;
	job->p2_n = 1;
	job->p2_lo_first = lo_first;
	job->p2_lo = lo;
	job->p2_hi[0] = hi;
	job->p2_xid[0] = InvalidTransactionId;
	job->p2_rows[0] = 0;
}

/*
 * Run the prepared batch statement (dml_plan) on a key range, reading the
 * range in the heap's order (batchscan.c).  Returns the rows changed.
 */
static uint64
execute_batch(JobRun *job, Datum *args)
{
	int			ret;

	pgm_batchscan_arm(job->relid);
	PG_TRY();
	{
		ret = SPI_execute_plan(job->dml_plan, args, NULL, false, 0);
	}
	PG_FINALLY();
	{
		pgm_batchscan_disarm();
	}
	PG_END_TRY();
	if (ret != SPI_OK_UPDATE && ret != SPI_OK_DELETE)
		elog(ERROR, "batch statement failed: %s", SPI_result_code_string(ret));
	return SPI_processed;
}

/*
 * A second pass over the first n pending ranges took ms: its cost per row,
 * when the rows of each of those ranges are known.
 */
static void
note_second_pass(JobRun *job, int n, double ms)
{
	int64		rows = 0;
	int			i;

	for (i = 0; i < n; i++)
	{
		if (job->p2_rows[i] <= 0)
			return;
		rows += job->p2_rows[i];
	}
	if (rows > 0)
		job->p2_ms_row = ms / rows;
}

/*
 * The second pass (see run_batch) over the keys after from (NULL: from the
 * slice's first key) up to and including upper.  Runs as the submitter.
 * Returns the rows changed.
 */
static uint64
run_second_pass(JobRun *job, Datum *from, Datum *upper)
{
	int			k = job->nkeys;
	Datum	   *args = palloc0(sizeof(Datum) * (2 * k + 1));
	int			i;

	if (!prepare_statements(job, from == NULL, PASS_EVEN))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("a key column of the job's table was dropped or changed type")));
	for (i = 0; i < k; i++)
	{
		args[i] = from ? from[i] : (Datum) 0;
		args[k + i] = upper[i];
	}
	args[2 * k] = Int64GetDatum(0);
	return execute_batch(job, args);
}

/*
 * Run one batch in the current transaction: as the submitter, change the
 * rows of the next range; as the worker, record the progress.
 */
static BatchResult
run_batch(JobRun *job, int64 batchno)
{
	StringInfoData sql;
	int			save_nestlevel;
	PgmSavedUser saved;
	char		buf[32];
	instr_time	start;
	instr_time	pass_start;
	double		second_ms = 0;	/* spent in second passes */
	bool		measure_first = false;
	instr_time	duration;
	double		elapsed_ms;
	uint64		nrows = 0;
	bool		slice_done = false;
	Datum		new_next = (Datum) 0;
	bool		run_first_pass = true;
	bool		use_two = false;	/* this batch's first pass is of two */
	TransactionId horizon = InvalidTransactionId;
	Datum		new_pass2 = (Datum) 0;	/* bytea[]; 0 for null */
	int64		new_next_block = 0;
	int			new_size;
	int			ret;
	double		lag;
	List	   *moved = NIL;

	if (!OidIsValid(pgm_relation(PGM_JOB_TABLE)) ||
		!OidIsValid(pgm_relation(PGM_SLICE_TABLE)))
	{
		ereport(LOG,
				(errmsg("background job " INT64_FORMAT " stops: extension \"pg_migrate\" was dropped",
						job->job_id)));
		return BATCH_STOP;
	}
	if (!read_progress(job))
		return BATCH_STOP;
	if (strcmp(job->state, "queued") != 0 && strcmp(job->state, "running") != 0)
		return BATCH_STOP;
	if (job->done)
		return BATCH_SLICE_DONE;

	/*
	 * A failed attempt rolled back its own record of the batch size, so the
	 * smaller size for the retry comes from memory.
	 */
	if (job->retry_size > 0)
		job->batch_size = Min(job->batch_size, job->retry_size);

	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(job->relid)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("the job's table was dropped")));
	if (!SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(job->owner)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("the role that submitted the job no longer exists")));

	if ((lag = replication_lag_over_limit()) > 0)
	{
		snprintf(buf, sizeof(buf), "%.0f", lag);
		pgstat_report_activity(STATE_RUNNING,
								psprintf("pg_migrate job " INT64_FORMAT ": throttled, standby replay lag %s ms",
										 job->job_id, buf));
		return BATCH_THROTTLED;
	}

	/*
	 * Done before the first batch (run_job); seen again when the job was
	 * paused and resumed between two batches of this worker.
	 */
	if (strcmp(job->state, "queued") == 0)
		mark_running(job);

	pgstat_report_activity(STATE_RUNNING,
						   psprintf("pg_migrate job " INT64_FORMAT " slice %d: batch " INT64_FORMAT " (%d %s)",
									job->job_id, job->slice, batchno, job->batch_size,
									job->ctid_mode ? "blocks" : "rows"));

	/*
	 * The user's part.  Everything it sets is undone by the GUC nest level;
	 * SECURITY_LOCAL_USERID_CHANGE forbids SET ROLE and SET SESSION
	 * AUTHORIZATION, so the code cannot climb back to the worker's identity.
	 * SECURITY_RESTRICTED_OPERATION also forbids what would leave code to
	 * run after the switch back: a cursor WITH HOLD (materialised at
	 * commit), a temporary table (ON COMMIT actions), and the like.
	 */
	save_nestlevel = act_as_submitter(job, &saved);

	/*
	 * Deferred triggers and constraints fire at the end of the batch's
	 * statement, as the submitter: a security-restricted operation refuses
	 * to leave them for commit (the batch is that one statement anyway).
	 */
	{
		ConstraintsSetStmt *immediate = makeNode(ConstraintsSetStmt);

		immediate->constraints = NIL;
		immediate->deferred = false;
		AfterTriggerSetState(immediate);
	}

	/*
	 * The stored keys are decoded here, as the submitter: a key's receive
	 * function is the type's code (a domain's CHECK expression, an enum's
	 * or a composite's input, a user type's C function).
	 */
	if (!job->ctid_mode)
	{
		if (job->have_next)
			job->next_key = keys_from_array(job->next_raw, job);
		job->hi_key = keys_from_array(job->hi_raw, job);
	}

	INSTR_TIME_SET_CURRENT(start);

	/*
	 * Two passes.  On a full page, a row's new version goes to another page
	 * and every index gets a new entry for it.  So each range is changed in
	 * two passes: its odd keys in the batch that reaches it, its even keys
	 * in the next one.  By then the old versions the first pass left are
	 * dead to everyone, the second pass's reading of the page prunes them,
	 * and the new versions of the rows it changes fit on the page they were
	 * on: HOT updates, with no new index entries, when no indexed column
	 * changes.  Each row is changed once: its key, which the SET clause may
	 * not assign, says which pass is its.
	 *
	 * Pruning needs the first pass's old versions dead to every snapshot.
	 * With another slice running, its transaction is often older than the
	 * first pass that just committed: a range waits then, and the batch
	 * runs the second pass of the ranges that are ready (check_pass2_ranges
	 * remembers when each was done) before the first pass of its own.  Two
	 * ranges of which neither is ready get their second pass regardless, in
	 * a batch of their own (two halves of a range are a batch's worth of
	 * rows); so does the slice's last range, one batch after its first
	 * pass.  The slice is done when its last second pass is.
	 *
	 * While something holds back cleanup (a long query, a transaction left
	 * open, a standby's feedback), no second pass can prune, and the extra
	 * reading of every range is lost time: when the batch three batches
	 * back is not yet dead to every snapshot (another slice's batches are
	 * not that long), the pending second passes run and the next ranges
	 * are changed in one pass, until it is.
	 */
	if (job->two_pass)
	{
		horizon = GetOldestNonRemovableTransactionId(NULL);
		use_two = !TransactionIdIsValid(job->recent_xid[2]) ||
			TransactionIdPrecedes(job->recent_xid[2], horizon);
		if (use_two != !job->one_pass)
			ereport(DEBUG1,
					(errmsg("background job " INT64_FORMAT " slice %d: %s",
							job->job_id, job->slice,
							use_two ? "cleanup is no longer held back: two passes per range again"
							: "a snapshot holds back cleanup: one pass per range")));
		job->one_pass = !use_two;
	}
	if (!job->ctid_mode && job->pass2_open)
	{
		int			ready = 0;
		bool		last;
		Datum		lo;			/* the pending keys' lower bound */

		if (!TransactionIdIsValid(horizon))
			horizon = GetOldestNonRemovableTransactionId(NULL);

		if (!job->have_next)
			elog(ERROR, "job " INT64_FORMAT " slice %d has a second pass to run but no position",
				 job->job_id, job->slice);
		check_pass2_ranges(job);
		lo = key_datum(job, job->p2_lo);
		while (ready < job->p2_n &&
			   (!TransactionIdIsValid(job->p2_xid[ready]) ||
				TransactionIdPrecedes(job->p2_xid[ready], horizon)))
			ready++;
		/* Every first pass of the slice is done: only this one is left. */
		last = job->two_pass &&
			key_int(job, job->next_key[0]) == key_int(job, job->hi_key[0]);

		if (ready == job->p2_n || (ready == 0 && (last || job->p2_n >= 2)) ||
			job->p2_n >= PGM_PASS2_RANGES - 1 || !use_two)
		{
			/* All of it. */
			if (ready < job->p2_n)
				ereport(DEBUG1,
						(errmsg("background job " INT64_FORMAT " slice %d: second pass of %d key ranges before every snapshot had its first",
								job->job_id, job->slice, job->p2_n - ready)));
			INSTR_TIME_SET_CURRENT(pass_start);
			nrows += run_second_pass(job, job->p2_lo_first ? NULL : &lo, job->next_key);
			second_ms = ms_since(pass_start);
			note_second_pass(job, job->p2_n, second_ms);
			/* Else two batches' worth of rows: this one ends here. */
			run_first_pass = ready == job->p2_n && !last;
			job->pass2_open = false;
			job->p2_n = 0;
			slice_done = last;
		}
		else if (ready > 0)
		{
			int			i;
			Datum		hi = key_datum(job, job->p2_hi[ready - 1]);

			INSTR_TIME_SET_CURRENT(pass_start);
			nrows += run_second_pass(job, job->p2_lo_first ? NULL : &lo, &hi);
			second_ms = ms_since(pass_start);
			note_second_pass(job, ready, second_ms);
			job->p2_lo_first = false;
			job->p2_lo = job->p2_hi[ready - 1];
			for (i = ready; i < job->p2_n; i++)
			{
				job->p2_hi[i - ready] = job->p2_hi[i];
				job->p2_xid[i - ready] = job->p2_xid[i];
				job->p2_rows[i - ready] = job->p2_rows[i];
			}
			job->p2_n -= ready;
			/* The rest of the last ones has a batch of its own. */
			run_first_pass = !last;
		}
	}

	if (!prepare_statements(job, job->ctid_mode ? false : !job->have_next,
							use_two ? PASS_ODD : PASS_ALL))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("a key column of the job's table was dropped or changed type")));

	if (job->ctid_mode)
	{
		ItemPointerData lo;
		ItemPointerData hi;
		Datum		args[3];
		Datum	   *skip;
		int64		end = Min(job->next_block + job->batch_size, job->hi_block);
		int			i;

		ItemPointerSet(&lo, (BlockNumber) job->next_block, 0);
		ItemPointerSet(&hi, (BlockNumber) end, 0);
		args[0] = ItemPointerGetDatum(&lo);
		args[1] = ItemPointerGetDatum(&hi);
		skip = palloc(sizeof(Datum) * Max(job->nskip, 1));
		for (i = 0; i < job->nskip; i++)
			skip[i] = ItemPointerGetDatum(&job->skip[i]);
		args[2] = PointerGetDatum(construct_array(skip, job->nskip, TIDOID,
												  sizeof(ItemPointerData), false,
												  TYPALIGN_SHORT));
		ret = SPI_execute_plan(job->dml_plan, args, NULL, false, 0);
		if (ret != SPI_OK_UPDATE && ret != SPI_OK_DELETE &&
			ret != SPI_OK_UPDATE_RETURNING)
			elog(ERROR, "batch statement failed: %s", SPI_result_code_string(ret));
		nrows = SPI_processed;

		/*
		 * An updated row whose new version landed in a block this slice has
		 * yet to visit must not be updated again: remember it.
		 */
		if (!job->is_delete)
		{
			uint64		r;

			for (r = 0; r < SPI_processed; r++)
			{
				bool		isnull;
				ItemPointer tid;

				tid = DatumGetItemPointer(SPI_getbinval(SPI_tuptable->vals[r],
														SPI_tuptable->tupdesc, 1,
														&isnull));
				if (!isnull &&
					ItemPointerGetBlockNumber(tid) >= end &&
					ItemPointerGetBlockNumber(tid) < job->hi_block)
				{
					ItemPointer copy = palloc(sizeof(ItemPointerData));

					*copy = *tid;
					moved = lappend(moved, copy);
				}
			}
		}
		new_next_block = end;
		slice_done = end >= job->hi_block;
	}
	else if (!run_first_pass)
	{
		/* A second pass was the whole batch (see above). */
		ereport(DEBUG1,
				(errmsg("background job " INT64_FORMAT " slice %d: batch " INT64_FORMAT " ran second passes only",
						job->job_id, job->slice, batchno)));
		new_next = job->next_raw;
	}
	else
	{
		int			k = job->nkeys;
		Datum	   *args = palloc0(sizeof(Datum) * (2 * k + 1));
		Datum	   *batch_hi = palloc(sizeof(Datum) * k);
		bool		found = false;
		uint64		first_rows;
		int			i;

		for (i = 0; i < k; i++)
		{
			args[i] = job->have_next ? job->next_key[i] : (Datum) 0;
			args[k + i] = job->hi_key[i];
		}
		args[2 * k] = Int64GetDatum((int64) job->batch_size - 1);

		/* A one-column key is found in its index when that is safe. */
		if (k > 1 ||
			!pgm_batch_end_by_index(job->relid, job->key_names[0], job->key_types[0],
									job->have_next, args[0], args[1],
									job->batch_size, &batch_hi[0], &found))
		{
			ret = SPI_execute_plan(job->range_plan, args, NULL, true, 1);
			if (ret != SPI_OK_SELECT)
				elog(ERROR, "batch range query failed: %s", SPI_result_code_string(ret));
			found = SPI_processed == 1;
			for (i = 0; found && i < k; i++)
			{
				bool		isnull;
				int16		typlen;
				bool		typbyval;

				get_typlenbyval(job->key_types[i], &typlen, &typbyval);
				batch_hi[i] = datumCopy(SPI_getbinval(SPI_tuptable->vals[0],
													  SPI_tuptable->tupdesc,
													  i + 1, &isnull),
										typbyval, typlen);
			}
		}
		if (!found)
		{
			/* Fewer rows than a batch remain: this is the slice's last. */
			memcpy(batch_hi, job->hi_key, sizeof(Datum) * k);
			slice_done = true;
		}
		for (i = 0; i < k; i++)
			args[k + i] = batch_hi[i];

		first_rows = execute_batch(job, args);
		nrows += first_rows;
		measure_first = use_two && found;

		/* Encoded as the submitter too: the send function is user code. */
		new_next = keys_to_array(batch_hi, job);

		if (use_two)
		{
			/* This range waits for its second pass too. */
			if (!job->pass2_open)
			{
				job->pass2_open = true;
				job->p2_n = 0;
				job->p2_lo_first = !job->have_next;
				job->p2_lo = job->have_next ? key_int(job, job->next_key[0]) : 0;
			}
			Assert(job->p2_n < PGM_PASS2_RANGES);
			job->p2_hi[job->p2_n] = key_int(job, batch_hi[0]);
			/* A first pass that changed nothing left nothing to prune. */
			job->p2_xid[job->p2_n] = first_rows > 0 ?
				GetTopTransactionIdIfAny() : InvalidTransactionId;
			job->p2_rows[job->p2_n] = found ? job->batch_size : 0;
			job->p2_n++;

			/*
			 * A slice is done when every row of it had both passes: the
			 * last range has its second pass in a batch of its own.
			 */
			slice_done = false;
		}
	}
	if (job->pass2_open && !job->p2_lo_first)
	{
		Datum		lo = key_datum(job, job->p2_lo);

		new_pass2 = keys_to_array(&lo, job);
	}

	INSTR_TIME_SET_CURRENT(duration);
	INSTR_TIME_SUBTRACT(duration, start);
	elapsed_ms = INSTR_TIME_GET_MILLISEC(duration);
	job->last_batch_ms = elapsed_ms;

	/*
	 * The first pass's cost is the rest of the batch, finding the range's
	 * end included.  A last range has fewer rows than the batch size: it
	 * is not measured.
	 */
	if (measure_first)
		job->p1_ms_row = Max(elapsed_ms - second_ms, 0.0) / job->batch_size;

	/*
	 * Nothing deferred can be left (see above), but should anything be, it
	 * fires now, still as the submitter, not later.
	 */
	AfterTriggerFireDeferred();

	AtEOXact_GUC(false, save_nestlevel);
	pgm_restore_user(&saved);

	adapt_target(job);
	new_size = use_two ? two_pass_batch_size(job) : 0;
	if (new_size == 0)
		new_size = next_batch_size(job->batch_size, elapsed_ms, job->ctid_mode,
								   job->target_ms);

	/* The progress, in the batch's own transaction. */
	initStringInfo(&sql);
	if (job->ctid_mode)
	{
		Oid			argtypes[7] = {INT8OID, INT4OID, INT8OID, INT8OID, INT4OID, FLOAT8OID, TIDARRAYOID};
		Datum		args[7];
		Datum	   *skip;
		int			nskip = 0;
		int			i;
		ListCell   *lc;

		skip = palloc(sizeof(Datum) * (job->nskip + list_length(moved) + 1));
		/* Entries behind the new position can never be met again. */
		for (i = 0; i < job->nskip; i++)
			if (ItemPointerGetBlockNumber(&job->skip[i]) >= new_next_block)
				skip[nskip++] = ItemPointerGetDatum(&job->skip[i]);
		foreach(lc, moved)
			skip[nskip++] = ItemPointerGetDatum((ItemPointer) lfirst(lc));

		appendStringInfo(&sql,
						 "UPDATE %s SET next_block = $3,"
						 " rows_done = rows_done OPERATOR(pg_catalog.+) $4,"
						 " batches = batches OPERATOR(pg_catalog.+) 1, batch_size = $5,"
						 " last_batch_ms = $6, skip_tids = $7, done = $3 OPERATOR(pg_catalog.>=) hi_block,"
						 "%s retries = 0, updated_at = pg_catalog.now()"
						 " WHERE job_id OPERATOR(pg_catalog.=) $1 AND slice OPERATOR(pg_catalog.=) $2",
						 pgm_job_table_name(PGM_SLICE_TABLE), owed_clause(job));
		args[0] = Int64GetDatum(job->job_id);
		args[1] = Int32GetDatum(job->slice);
		args[2] = Int64GetDatum(new_next_block);
		args[3] = Int64GetDatum((int64) nrows);
		args[4] = Int32GetDatum(new_size);
		args[5] = Float8GetDatum(elapsed_ms);
		args[6] = PointerGetDatum(construct_array(skip, nskip, TIDOID,
												  sizeof(ItemPointerData), false,
												  TYPALIGN_SHORT));
		ret = SPI_execute_with_args(sql.data, 7, argtypes, args, NULL, false, 0);
	}
	else
	{
		Oid			argtypes[9] = {INT8OID, INT4OID, BYTEAARRAYOID, INT8OID, INT4OID, FLOAT8OID, BOOLOID,
		BOOLOID, BYTEAARRAYOID};
		Datum		args[9];
		char		nulls[9];

		appendStringInfo(&sql,
						 "UPDATE %s SET next_key = $3,"
						 " rows_done = rows_done OPERATOR(pg_catalog.+) $4,"
						 " batches = batches OPERATOR(pg_catalog.+) 1, batch_size = $5,"
						 " last_batch_ms = $6, done = $7,%s"
						 "%s retries = 0, updated_at = pg_catalog.now()"
						 " WHERE job_id OPERATOR(pg_catalog.=) $1 AND slice OPERATOR(pg_catalog.=) $2",
						 pgm_job_table_name(PGM_SLICE_TABLE),
						 job->has_pass2 ? " pass2_open = $8, pass2_from = $9," : "",
						 owed_clause(job));
		args[0] = Int64GetDatum(job->job_id);
		args[1] = Int32GetDatum(job->slice);
		args[2] = new_next;
		args[3] = Int64GetDatum((int64) nrows);
		args[4] = Int32GetDatum(new_size);
		args[5] = Float8GetDatum(elapsed_ms);
		args[6] = BoolGetDatum(slice_done);
		memset(nulls, ' ', sizeof(nulls));
		args[7] = BoolGetDatum(job->pass2_open);
		args[8] = new_pass2;
		if (new_pass2 == (Datum) 0)
			nulls[8] = 'n';
		ret = SPI_execute_with_args(sql.data, job->has_pass2 ? 9 : 7, argtypes, args,
									nulls, false, 0);
	}
	if (ret != SPI_OK_UPDATE || SPI_processed != 1)
		elog(ERROR, "could not record the progress of job " INT64_FORMAT, job->job_id);

	job->recent_xid[2] = job->recent_xid[1];
	job->recent_xid[1] = job->recent_xid[0];
	job->recent_xid[0] = GetTopTransactionIdIfAny();
	return slice_done ? BATCH_SLICE_DONE : BATCH_DONE;
}

/*
 * The slice is complete: when it was the job's last, the job is done.  The
 * job row is locked first so that two slices finishing together cannot both
 * miss being last.
 */
static void
finish_slice(JobRun *job)
{
	StringInfoData sql;
	Oid			argtypes[2] = {INT8OID, INT4OID};
	Datum		args[2];

	args[0] = Int64GetDatum(job->job_id);
	args[1] = Int32GetDatum(job->slice);

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT 1 FROM %s WHERE id OPERATOR(pg_catalog.=) $1 FOR UPDATE",
					 pgm_job_table_name(PGM_JOB_TABLE));
	SPI_execute_with_args(sql.data, 1, argtypes, args, NULL, false, 0);

	resetStringInfo(&sql);
	appendStringInfo(&sql,
					 "UPDATE %s SET state = 'done', finished_at = pg_catalog.clock_timestamp(),"
					 " updated_at = pg_catalog.now()"
					 " WHERE id OPERATOR(pg_catalog.=) $1"
					 " AND state OPERATOR(pg_catalog.=) ANY ('{queued,running}'::pg_catalog.text[])"
					 " AND NOT EXISTS (SELECT FROM %s s WHERE s.job_id OPERATOR(pg_catalog.=) $1"
					 " AND NOT s.done AND s.slice OPERATOR(pg_catalog.<>) $2)",
					 pgm_job_table_name(PGM_JOB_TABLE),
					 pgm_job_table_name(PGM_SLICE_TABLE));
	SPI_execute_with_args(sql.data, 2, argtypes, args, NULL, false, 0);
}

/*
 * Most rows a take-over counts in the slice it splits: beyond this, it
 * splits at half this count (the other slice keeps that much, this one
 * takes the rest), and the two even out in later take-overs.  Bounds how
 * long the other slice waits for its row lock.
 */
#define PGM_TAKEOVER_COUNT_MAX	1000000

/*
 * Split the key range left to the least advanced other slice of the job
 * and give its upper half to this slice (whose own range is done).  Runs
 * in the caller's transaction; returns whether this slice has a range
 * again.  The other slice's row is locked first, which waits for the
 * batch it is running to commit: its progress is then read as it stands,
 * and its next batch (read_progress) waits for this transaction, so the
 * two ranges are cut from what really remains, with no row in both and
 * none in neither.  Parts smaller than one of the other slice's batches
 * are left to it.  The rows are counted and the split key is found as the
 * submitter, with the same key comparison as the batches.
 */
static bool
split_other_slice(JobRun *job)
{
	StringInfoData sql;
	Oid			argtypes[2] = {INT8OID, INT4OID};
	Datum		args[2];
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	int32		other;
	int			other_batch;
	Datum		other_next;
	Datum		other_hi;
	Datum	   *lo;
	Datum	   *hi;
	Datum	   *split;
	Datum		split_raw = (Datum) 0;
	int64		remaining;
	char	   *keys;
	char	   *relname;
	char	   *cond;
	Oid		   *qtypes;
	Datum	   *qargs;
	int			k = job->nkeys;
	int			save_nestlevel;
	PgmSavedUser saved;
	int			i;

	if (job->ctid_mode)
		return false;

	/*
	 * The other slice's batch is waited for, but not forever: a batch that
	 * is itself stuck on the application's locks is left to finish alone.
	 */
	{
		char		buf[32];

		snprintf(buf, sizeof(buf), "%d", Max(5 * pgm_batch_target, 1000));
		(void) set_config_option("lock_timeout", buf,
								 PGC_SUSET, PGC_S_SESSION,
								 GUC_ACTION_LOCAL, true, 0, false);
	}

	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "SELECT s.slice, s.next_key, s.hi_key, s.batch_size"
					 " FROM %s s JOIN %s j ON j.id OPERATOR(pg_catalog.=) s.job_id"
					 " WHERE s.job_id OPERATOR(pg_catalog.=) $1 AND s.slice OPERATOR(pg_catalog.<>) $2"
					 " AND NOT s.done AND s.next_key IS NOT NULL"
					 " AND j.state OPERATOR(pg_catalog.=) 'running'"
					 " ORDER BY s.rows_done, s.slice LIMIT 1 FOR NO KEY UPDATE OF s",
					 pgm_job_table_name(PGM_SLICE_TABLE),
					 pgm_job_table_name(PGM_JOB_TABLE));
	args[0] = Int64GetDatum(job->job_id);
	args[1] = Int32GetDatum(job->slice);
	if (SPI_execute_with_args(sql.data, 2, argtypes, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the slices of job " INT64_FORMAT, job->job_id);
	if (SPI_processed == 0)
		return false;
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	other = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
	other_next = SPI_getbinval(tup, desc, 2, &isnull);
	if (isnull)
		return false;
	other_hi = SPI_getbinval(tup, desc, 3, &isnull);
	if (isnull)
		return false;
	/* Used after later queries, whose results replace this one. */
	other_next = datumCopy(other_next, false, -1);
	other_hi = datumCopy(other_hi, false, -1);
	other_batch = Max(DatumGetInt32(SPI_getbinval(tup, desc, 4, &isnull)), PGM_MIN_BATCH);

	save_nestlevel = act_as_submitter(job, &saved);
	{
		char	   *nspname = get_namespace_name(get_rel_namespace(job->relid));
		char	   *name = get_rel_name(job->relid);

		keys = key_column_list(job, "");
		if (nspname == NULL || name == NULL || keys == NULL)
		{
			/* The next batch fails the job with the reason. */
			AtEOXact_GUC(false, save_nestlevel);
			pgm_restore_user(&saved);
			return false;
		}
		relname = quote_qualified_identifier(nspname, name);
	}
	lo = keys_from_array(other_next, job);
	hi = keys_from_array(other_hi, job);
	cond = psprintf("ROW(%s) OPERATOR(pg_catalog.>) %s AND ROW(%s) OPERATOR(pg_catalog.<=) %s",
					keys, param_list(1, k), keys, param_list(k + 1, k));
	qtypes = palloc(sizeof(Oid) * (2 * k + 1));
	qargs = palloc(sizeof(Datum) * (2 * k + 1));
	for (i = 0; i < k; i++)
	{
		qtypes[i] = qtypes[k + i] = job->key_types[i];
		qargs[i] = lo[i];
		qargs[k + i] = hi[i];
	}
	qtypes[2 * k] = INT8OID;

	resetStringInfo(&sql);
	appendStringInfo(&sql,
					 "SELECT pg_catalog.count(*) FROM (SELECT FROM %s WHERE %s LIMIT $%d) s",
					 relname, cond, 2 * k + 1);
	qargs[2 * k] = Int64GetDatum((int64) PGM_TAKEOVER_COUNT_MAX);
	if (SPI_execute_with_args(sql.data, 2 * k + 1, qtypes, qargs, NULL, true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not count the rows left to slice %d", other);
	remaining = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

	if (remaining > other_batch)
	{
		resetStringInfo(&sql);
		appendStringInfo(&sql,
						 "SELECT %s FROM %s WHERE %s ORDER BY %s OFFSET $%d LIMIT 1",
						 keys, relname, cond, keys, 2 * k + 1);
		qargs[2 * k] = Int64GetDatum(remaining / 2 - 1);
		if (SPI_execute_with_args(sql.data, 2 * k + 1, qtypes, qargs, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not find where to split slice %d", other);
		if (SPI_processed == 1)
		{
			split = palloc(sizeof(Datum) * k);
			for (i = 0; i < k; i++)
				split[i] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
										 i + 1, &isnull);
			/* Encoded as the submitter: the send function is user code. */
			split_raw = keys_to_array(split, job);
		}
	}
	AtEOXact_GUC(false, save_nestlevel);
	pgm_restore_user(&saved);
	if (split_raw == (Datum) 0)
		return false;

	/*
	 * The other slice ends at the split key; this one goes on from it, with
	 * the other's batch size: its rows may cost many times what this
	 * slice's own did, and a batch sized for those would hold its row locks
	 * that much longer than the target.
	 */
	{
		Oid			uptypes[5] = {INT8OID, INT4OID, BYTEAARRAYOID, BYTEAARRAYOID, INT4OID};
		Datum		upargs[5];

		resetStringInfo(&sql);
		appendStringInfo(&sql,
						 "UPDATE %s SET hi_key = $3, updated_at = pg_catalog.now()"
						 " WHERE job_id OPERATOR(pg_catalog.=) $1 AND slice OPERATOR(pg_catalog.=) $2",
						 pgm_job_table_name(PGM_SLICE_TABLE));
		upargs[0] = Int64GetDatum(job->job_id);
		upargs[1] = Int32GetDatum(other);
		upargs[2] = split_raw;
		upargs[3] = (Datum) 0;
		if (SPI_execute_with_args(sql.data, 3, uptypes, upargs, NULL, false, 0) != SPI_OK_UPDATE ||
			SPI_processed != 1)
			elog(ERROR, "could not shorten slice %d of job " INT64_FORMAT, other, job->job_id);

		resetStringInfo(&sql);
		appendStringInfo(&sql,
						 "UPDATE %s SET next_key = $3, hi_key = $4, batch_size = $5, done = false,"
						 " updated_at = pg_catalog.now()"
						 " WHERE job_id OPERATOR(pg_catalog.=) $1 AND slice OPERATOR(pg_catalog.=) $2",
						 pgm_job_table_name(PGM_SLICE_TABLE));
		upargs[1] = Int32GetDatum(job->slice);
		upargs[2] = split_raw;
		upargs[3] = other_hi;
		upargs[4] = Int32GetDatum(other_batch);
		if (SPI_execute_with_args(sql.data, 5, uptypes, upargs, NULL, false, 0) != SPI_OK_UPDATE ||
			SPI_processed != 1)
			elog(ERROR, "could not extend slice %d of job " INT64_FORMAT, job->slice, job->job_id);
	}
	ereport(DEBUG1,
			(errmsg("background job " INT64_FORMAT " slice %d: took over " INT64_FORMAT " of the rows left to slice %d",
					job->job_id, job->slice, remaining - remaining / 2, other)));
	return true;
}

/*
 * This slice's range is done: take over half of what another slice of the
 * job has left (split_other_slice), in a transaction of its own.  Any
 * error (a lock timeout, say) only means this worker stops here, as it
 * would have without trying.
 */
static bool
take_over(JobRun *job)
{
	volatile bool taken = false;
	MemoryContext oldcxt = CurrentMemoryContext;

	if (job->ctid_mode)
		return false;
	PG_TRY();
	{
		begin_job_transaction(job);
		taken = split_other_slice(job);
		commit_job_transaction(job);
		/* What the passes cost on this slice's rows says nothing of those. */
		if (taken)
			job->p1_ms_row = job->p2_ms_row = 0;
	}
	PG_CATCH();
	{
		ErrorData  *error;

		MemoryContextSwitchTo(oldcxt);
		error = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		ereport(LOG,
				(errmsg("background job " INT64_FORMAT " slice %d: could not take over rows of another slice: %s",
						job->job_id, job->slice, error->message)));
		FreeErrorData(error);
		taken = false;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(oldcxt);
	return taken;
}

/* Sleep on the latch, waking up for interrupts. */
static void
sleep_ms(long ms)
{
	if (ms <= 0)
		return;
	(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					 ms, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
}

/* Is the job still queued or running?  Its own short transaction. */
static bool
job_still_runnable(JobRun *job)
{
	StringInfoData sql;
	Oid			argtypes[1] = {INT8OID};
	Datum		args[1];
	bool		runnable = false;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (OidIsValid(pgm_relation(PGM_JOB_TABLE)))
	{
		initStringInfo(&sql);
		appendStringInfo(&sql,
						 "SELECT 1 FROM %s WHERE id OPERATOR(pg_catalog.=) $1"
						 " AND state OPERATOR(pg_catalog.=) ANY ('{queued,running}'::pg_catalog.text[])",
						 pgm_job_table_name(PGM_JOB_TABLE));
		args[0] = Int64GetDatum(job->job_id);
		if (SPI_execute_with_args(sql.data, 1, argtypes, args, NULL, true, 1) == SPI_OK_SELECT)
			runnable = SPI_processed == 1;
	}
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	return runnable;
}

/*
 * Read the configuration again when the server was told to reload it (a
 * changed pg_migrate.batch_yield or worker_nice applies from the next
 * decision on, not from the next worker).
 */
static void
reload_if_pending(void)
{
	if (ConfigReloadPending)
	{
		ConfigReloadPending = false;
		ProcessConfigFile(PGC_SIGHUP);
		apply_worker_nice();
	}
}

/*
 * Sleep between two batches (the job's pause, and the time left to busy
 * sessions).  A pause or a cancel wakes the worker through its latch
 * (pgm_jobs_wake_job): it then reads the job's state and, when the job is
 * stopped, returns false at once instead of keeping its slot for the rest
 * of the sleep.  Other wake-ups (a reload) go back to sleep until the
 * deadline.
 */
static bool
sleep_between_batches(JobRun *job, long ms)
{
	TimestampTz deadline;

	if (ms <= 0)
		return true;
	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), ms);
	for (;;)
	{
		long		left = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
		int			rc;

		if (left <= 0)
			return true;
		rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					   left, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		reload_if_pending();
		if ((rc & WL_LATCH_SET) && !job_still_runnable(job))
			return false;
	}
}

/*
 * Is anybody else busy on the server: a client backend running on the CPU,
 * or waiting for I/O, a buffer or a lock?  Background workers (the job's
 * own among them), autovacuum, processes connected to no database
 * (physical WAL senders) and sessions that are idle, sleeping or waiting
 * for a client are not busy, nor is a session inside migrate_job_wait: it
 * wakes every 100 ms to read its job's state, and a batch that ended in
 * such a moment would yield 4x its length to a poll (measured: about half
 * a second in one of two 6-second runs of bench/backfill.sh).
 *
 * The PGPROC array is read without locks (it is a hint, taken between
 * batches), but only live backends count: a slot keeps the pid and the
 * last wait_event_info (0, "on the CPU") of the backend that exited from
 * it, so every session that ever connected and left would otherwise look
 * busy for good, and an unattended job would yield after every batch.  A
 * slot that looks busy is confirmed against the ProcArray, which holds
 * live backends only (BackendPidGetProc walks it under ProcArrayLock; a
 * pid reused by a backend in another slot does not match this one).
 */
static bool
others_busy(void)
{
	int			i;

	for (i = 0; i < MaxBackends; i++)
	{
		PGPROC	   *proc = GetPGProcByNumber(i);
		int			pid = proc->pid;
		uint32		wait;
		uint32		wait_class;

		if (proc == MyProc || pid == 0 || PGM_ProcIsBackgroundWorker(proc) ||
			!OidIsValid(proc->databaseId) ||
			(proc->statusFlags & PROC_IS_AUTOVACUUM) ||
			pgm_jobs_proc_waiting(i, pid))
			continue;
		wait = proc->wait_event_info;
		wait_class = wait & 0xFF000000;
		if ((wait == 0 || wait_class == PG_WAIT_LWLOCK || wait_class == PG_WAIT_LOCK ||
			 wait_class == PGM_WAIT_BUFFER_PIN || wait_class == PG_WAIT_IO) &&
			BackendPidGetProc(pid) == proc)
			return true;
	}
	return false;
}

/*
 * The longest the server is left to the others after a batch: while they
 * are busy, pg_migrate.batch_yield times the batch's duration (cut short
 * when they stop being busy, yield_while_busy).  An idle server, and the
 * job's other workers, get no pause.
 */
static long
yield_ms(JobRun *job)
{
	reload_if_pending();
	if (pgm_batch_yield <= 0 || job->last_batch_ms <= 0 || !others_busy())
		return 0;
	return (long) Min(job->last_batch_ms * pgm_batch_yield, 60000.0);
}

/*
 * Give way to busy sessions for at most max_ms, and no longer than they stay
 * busy: the worker sleeps in steps of YIELD_STEP_MS and goes back to work
 * once nobody has been busy at YIELD_IDLE_CHECKS checks in a row.  A
 * session that is busy for a moment (a monitoring poll: a new connection
 * starting, one short query) then costs the job a few steps, not 4x a
 * batch; sessions busy for the whole time (an application under load) get
 * all of it.  Returns false when the job was paused or cancelled meanwhile.
 */
#define YIELD_STEP_MS		10
#define YIELD_IDLE_CHECKS	3

static bool
yield_while_busy(JobRun *job, long max_ms)
{
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), max_ms);
	int			idle = 0;

	for (;;)
	{
		long		left = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);

		if (left <= 0)
			return true;
		if (!sleep_between_batches(job, Min(left, YIELD_STEP_MS)))
			return false;
		/* batch_yield set to 0 meanwhile (a reload): stop yielding now */
		if (pgm_batch_yield <= 0)
			return true;
		if (others_busy())
			idle = 0;
		else if (++idle >= YIELD_IDLE_CHECKS)
			return true;
	}
}

/*
 * The batch runner: run a backfill slice to its end.  Each batch is one
 * transaction (run_batch) holding the user's changes and the slice's
 * progress; a lock timeout, deadlock or serialization failure rolls the
 * batch back and retries it, smaller, after a backoff; any other error fails
 * the job.  Between batches it sleeps the job's pause and yields to busy
 * sessions, parks the slice instead when the sleep is long, and stops as
 * soon as the job is paused or cancelled.
 */
static void
run_job(JobRun *job)
{
	MemoryContext batch_cxt;
	int64		batchno = 0;
	int			retries = 0;
	bool		runnable;

	batch_cxt = AllocSetContextCreate(TopMemoryContext, "pg_migrate batch",
									  ALLOCSET_DEFAULT_SIZES);

	begin_job_transaction(job);
	runnable = OidIsValid(pgm_relation(PGM_JOB_TABLE)) &&
		OidIsValid(pgm_relation(PGM_SLICE_TABLE)) &&
		load_job(job);
	commit_job_transaction(job);
	if (!runnable)
		return;
	if (strcmp(job->state, "queued") == 0)
	{
		begin_job_transaction(job);
		mark_running(job);
		commit_job_transaction(job);
	}

	for (;;)
	{
		volatile BatchResult result = BATCH_STOP;
		ErrorData  *volatile error = NULL;
		MemoryContext oldcxt;

		CHECK_FOR_INTERRUPTS();
		reload_if_pending();
		MemoryContextReset(batch_cxt);
		oldcxt = MemoryContextSwitchTo(batch_cxt);

		PG_TRY();
		{
			begin_job_transaction(job);
			result = run_batch(job, batchno + 1);
			if (result == BATCH_SLICE_DONE)
			{
				finish_slice(job);
				/* The end of a slice is reported: make it durable first. */
				(void) set_config_option("synchronous_commit", "on",
										 PGC_SUSET, PGC_S_SESSION,
										 GUC_ACTION_LOCAL, true, 0, false);
			}
			commit_job_transaction(job);
			owed_paid(job);
			/* The job may be done: its waiter need not wait for its poll. */
			if (result == BATCH_SLICE_DONE)
				pgm_jobs_wake_waiters();
		}
		PG_CATCH();
		{
			/*
			 * Only save the error here: the retry or the failure is handled
			 * after PG_END_TRY (a "continue" in here would merely leave the
			 * PG_TRY block, not start the next loop iteration).
			 */
			MemoryContextSwitchTo(batch_cxt);
			error = CopyErrorData();
			FlushErrorState();
			AbortCurrentTransaction();
			job->owed_written = false;
		}
		PG_END_TRY();
		MemoryContextSwitchTo(oldcxt);

		if (error != NULL)
		{
			/*
			 * The batch is rolled back, progress included, so retrying it is
			 * always safe.  Lock timeouts and deadlocks are retried with a
			 * backoff (and a smaller batch); anything else fails the job.
			 */
			if (retryable_error(error->sqlerrcode) && retries < pgm_batch_max_retries)
			{
				retries++;
				job->owed_retried++;
				ereport(LOG,
						(errmsg("background job " INT64_FORMAT " slice %d: batch retried (%d): %s",
								job->job_id, job->slice, retries, error->message)));
				job->retry_size = Max(job->batch_size / 2, 1);
				sleep_ms(Min(100L << Min(retries, 6), 5000L));
				continue;
			}
			fail_job(job, error->detail
					 ? psprintf("%s (%s)", error->message, error->detail)
					 : error->message);
			return;
		}

		switch (result)
		{
			case BATCH_DONE:
				batchno++;
				retries = 0;
				job->retry_size = 0;

				/*
				 * The batch's rows updated and dead, in the cumulative
				 * statistics now rather than when the worker exits: a
				 * background worker reports them only when it asks, and
				 * autovacuum must see a long backfill's dead rows while it
				 * runs.  At most once a second (PGSTAT_MIN_INTERVAL).
				 */
				(void) pgstat_report_stat(false);
				{
					long		yield;

					/*
					 * A long pause of the job's own is waited out without a
					 * worker: the slot goes to other jobs meanwhile.  A yield
					 * never parks the slice: it ends as soon as the others
					 * are idle, which a parked slice could not notice.
					 */
					if (job->pause_ms >= PGM_PARK_MS)
					{
						pay_owed(job);
						if (pgm_jobs_park_slice(MyDatabaseId, job->job_id, job->slice,
												TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
																			job->pause_ms)))
							return;
					}
					if (!sleep_between_batches(job, job->pause_ms))
						return;
					yield = yield_ms(job);
					if (yield > 0)
					{
						TimestampTz yield_from = GetCurrentTimestamp();
						bool		go_on;

						pgstat_report_activity(STATE_RUNNING,
											   psprintf("pg_migrate job " INT64_FORMAT " slice %d: yielding up to %ld ms to busy sessions",
														job->job_id, job->slice, yield));
						go_on = yield_while_busy(job, yield);
						job->owed_yield_ms +=
							(double) (GetCurrentTimestamp() - yield_from) / 1000.0;
						if (!go_on)
							return;
					}
				}
				break;
			case BATCH_THROTTLED:
				{
					TimestampTz throttled_from = GetCurrentTimestamp();

					sleep_ms(1000);
					job->owed_throttled_ms +=
						(double) (GetCurrentTimestamp() - throttled_from) / 1000.0;
				}
				break;
			case BATCH_SLICE_DONE:
				/* Help a slice that is behind, rather than stop early. */
				if (take_over(job))
				{
					retries = 0;
					job->retry_size = 0;
					break;
				}
				return;
			case BATCH_STOP:
				return;
		}
	}
}

/*
 * Make this worker at least pg_migrate.worker_nice nice.  Only ever
 * raises the nice value (lowering it needs privileges the server should
 * not have); a failure is logged and otherwise ignored.
 */
static void
apply_worker_nice(void)
{
	int			current;

	errno = 0;
	current = getpriority(PRIO_PROCESS, 0);
	if (errno != 0 || current >= pgm_worker_nice)
		return;
	if (setpriority(PRIO_PROCESS, 0, pgm_worker_nice) != 0)
		ereport(LOG,
				(errmsg("could not set the nice value of a pg_migrate job worker to %d: %m",
						pgm_worker_nice)));
}

/*
 * Entry point of a job worker: take over the slot the dispatcher claimed
 * (freed on exit whatever happens), connect to the database, and run the
 * slice: a migration job logged in as its submitter's role through the
 * script runner, a backfill connected as the bootstrap superuser through
 * the batch runner.
 */
void
pgm_job_worker_main(Datum main_arg)
{
	JobRun		job;
	Oid			dbid;
	JobWorkerExtra extra;

	my_slotno = DatumGetInt32(main_arg);
	memcpy(&extra, MyBgworkerEntry->bgw_extra, sizeof(extra));
	my_generation = extra.generation;

	/* Registered before anything can fail, so the slot is always freed. */
	before_shmem_exit(job_worker_exit, (Datum) 0);

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	apply_worker_nice();

	memset(&job, 0, sizeof(job));
	LWLockAcquire(pgm_jobs_shared->lock, LW_EXCLUSIVE);
	if (my_slotno < 0 || my_slotno >= pgm_jobs_shared->nslots ||
		!pgm_jobs_shared->slots[my_slotno].in_use ||
		pgm_jobs_shared->slots[my_slotno].generation != my_generation)
	{
		LWLockRelease(pgm_jobs_shared->lock);
		my_slotno = -1;
		proc_exit(0);
	}
	dbid = pgm_jobs_shared->slots[my_slotno].dbid;
	job.job_id = pgm_jobs_shared->slots[my_slotno].job_id;
	/* Every statement this worker runs is recorded under its job. */
	pgm_history_job_id = job.job_id;
	job.slice = pgm_jobs_shared->slots[my_slotno].slice;
	pgm_jobs_shared->slots[my_slotno].pid = MyProcPid;
	pgm_jobs_shared->slots[my_slotno].latch = MyLatch;
	LWLockRelease(pgm_jobs_shared->lock);

	/*
	 * A migration job logs in as the role of the session that submitted it
	 * (see async.c).  A backfill connects as the bootstrap superuser: the
	 * submitter may be a NOLOGIN role, which a background worker cannot
	 * connect as, and each batch switches to the submitter.
	 */
	BackgroundWorkerInitializeConnectionByOid(dbid, extra.login_role, 0);
	pgm_pin_session_search_path();
	SetConfigOption("application_name",
					psprintf("pg_migrate job " INT64_FORMAT, job.job_id),
					PGC_USERSET, PGC_S_SESSION);

	if (OidIsValid(extra.login_role))
		pgm_run_script_job(job.job_id);
	else
	{
		/*
		 * A batch commits without waiting for its WAL to reach the disk.
		 * A crash can then lose the last batches, but each one whole, its
		 * progress with its rows: the job redoes exactly those.  Nothing is
		 * lost or done twice, and the worker does not wait for a flush per
		 * batch (the WAL writer flushes in the background).
		 */
		SetConfigOption("synchronous_commit", "off", PGC_SUSET, PGC_S_SESSION);
		run_job(&job);
	}

	proc_exit(0);
}
