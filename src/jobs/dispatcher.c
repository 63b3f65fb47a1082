/*-------------------------------------------------------------------------
 *
 * dispatcher.c
 *		The dispatcher: a short-lived dynamic worker connected to one
 *		database, started by the launcher, that starts a job worker for each
 *		runnable job slice.
 *
 * It reads the job tables, claims a worker slot for every runnable slice
 * (up to pg_migrate.max_workers over the whole server, and
 * pg_migrate.max_workers_per_role for the jobs of one submitter; the rest
 * queue) and starts a job worker for each.  Slices are taken round robin
 * over the submitters, so that one role's long queue does not hold back
 * another role's job.  It then tells the launcher when to come back (a
 * slot frees up, a parked slice is due) and exits.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "tcop/tcopprot.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "core/catalog.h"
#include "core/spi.h"
#include "jobs/shmem.h"
#include "jobs/worker.h"

PGDLLEXPORT void pgm_dispatcher_main(Datum main_arg);

/* ----------------------------------------------------------------
 * The dispatcher
 * ----------------------------------------------------------------
 */

typedef struct RunnableSlice
{
	int64		job_id;
	int32		slice;
	Oid			owner;			/* the submitter */
	Oid			login_role;		/* migration jobs: the role to log in as */
} RunnableSlice;

/*
 * Start the job worker of a claimed slot; it finds its slot number in
 * bgw_main_arg and the rest in bgw_extra.
 */
static bool
start_job_worker(Oid dbid, int slotno, uint32 generation, int64 job_id,
				 int32 slice, Oid login_role, BackgroundWorkerHandle **handle)
{
	JobWorkerExtra extra;

	BackgroundWorker worker;

	pgm_jobs_bgworker_init(&worker, "pgm_job_worker_main", "pg_migrate job");
	snprintf(worker.bgw_name, BGW_MAXLEN, "pg_migrate job " INT64_FORMAT " slice %d",
			 job_id, slice);
	worker.bgw_main_arg = Int32GetDatum(slotno);
	StaticAssertStmt(sizeof(JobWorkerExtra) <= BGW_EXTRALEN, "bgw_extra too small");
	extra.generation = generation;
	extra.login_role = login_role;
	memcpy(worker.bgw_extra, &extra, sizeof(extra));
	worker.bgw_notify_pid = MyProcPid;
	return RegisterDynamicBackgroundWorker(&worker, handle);
}

/*
 * A migration job's worker logs in as the role of the session that
 * submitted it; if that role is gone or may not log in any more, the job
 * cannot run: fail it, saying why, rather than start workers that die at
 * connection.
 */
static void
fail_unrunnable_migrations(void)
{
	StringInfoData sql;

	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "UPDATE %s j SET state = 'failed', updated_at = pg_catalog.now(),"
					 " last_error = 'the role of the session that submitted the migration cannot log in to this database any more'"
					 " FROM %s sc WHERE sc.job_id OPERATOR(pg_catalog.=) j.id"
					 " AND j.state OPERATOR(pg_catalog.=) ANY ('{queued,running}'::pg_catalog.text[])"
					 " AND NOT EXISTS (SELECT FROM pg_catalog.pg_authid r"
					 "  WHERE r.oid OPERATOR(pg_catalog.=) sc.session_role::pg_catalog.oid AND r.rolcanlogin"
					 "  AND pg_catalog.has_database_privilege(r.oid, %u::pg_catalog.oid, 'CONNECT'))",
					 pgm_job_table_name(PGM_JOB_TABLE),
					 pgm_job_table_name(PGM_SCRIPT_TABLE),
					 MyDatabaseId);
	if (SPI_execute(sql.data, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not update the job table");
}

/*
 * Entry point of a dispatcher (one database): list the runnable slices,
 * round robin over their submitters, claim a worker slot and start a job
 * worker for each until the slots run out, then tell the launcher when to
 * look at the database again (a slot frees up, a parked slice is due, no
 * background worker was free) and exit.
 */
void
pgm_dispatcher_main(Datum main_arg)
{
	Oid			dbid = DatumGetObjectId(main_arg);
	RunnableSlice *runnable = NULL;
	int			nrunnable = 0;
	bool		waiting = false;
	bool		no_bgworker = false;
	TimestampTz next_due = 0;	/* earliest end of a parked slice's pause */
	int			i;

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(dbid, InvalidOid, 0);
	pgm_pin_session_search_path();

	pgstat_report_activity(STATE_RUNNING, "looking for runnable jobs");

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (OidIsValid(pgm_relation(PGM_JOB_TABLE)) &&
		OidIsValid(pgm_relation(PGM_SLICE_TABLE)))
	{
		StringInfoData sql;
		bool		scripts = OidIsValid(pgm_relation(PGM_SCRIPT_TABLE));

		if (scripts)
			fail_unrunnable_migrations();
		initStringInfo(&sql);
		appendStringInfo(&sql,
						 "SELECT s.job_id, s.slice, %s, j.owner::pg_catalog.oid FROM %s j JOIN %s s"
						 " ON s.job_id OPERATOR(pg_catalog.=) j.id",
						 scripts ? "sc.session_role::pg_catalog.oid" : "NULL::pg_catalog.oid",
						 pgm_job_table_name(PGM_JOB_TABLE),
						 pgm_job_table_name(PGM_SLICE_TABLE));
		if (scripts)
			appendStringInfo(&sql, " LEFT JOIN %s sc ON sc.job_id OPERATOR(pg_catalog.=) j.id",
							 pgm_job_table_name(PGM_SCRIPT_TABLE));
		/*
		 * Round robin over the submitters: each role's first slice, then
		 * each role's second, and so on, oldest job first within a rank.
		 * One role's thousand queued jobs then delay another role's job by
		 * one slice at most, not by the thousand.  A role's running slices
		 * are normally its oldest, so they hold its first ranks.
		 */
		appendStringInfoString(&sql,
							   " WHERE j.state OPERATOR(pg_catalog.=) ANY ('{queued,running}'::pg_catalog.text[])"
							   " AND NOT s.done"
							   " ORDER BY pg_catalog.row_number() OVER (PARTITION BY j.owner ORDER BY j.id, s.slice),"
							   " j.id, s.slice");
		if (SPI_execute(sql.data, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read the job table");
		nrunnable = (int) SPI_processed;
		runnable = MemoryContextAlloc(TopMemoryContext,
									  sizeof(RunnableSlice) * Max(nrunnable, 1));
		for (i = 0; i < nrunnable; i++)
		{
			bool		isnull;
			HeapTuple	tup = SPI_tuptable->vals[i];

			runnable[i].job_id = DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull));
			runnable[i].slice = DatumGetInt32(SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull));
			runnable[i].login_role = DatumGetObjectId(SPI_getbinval(tup, SPI_tuptable->tupdesc, 3, &isnull));
			if (isnull)
				runnable[i].login_role = InvalidOid;
			runnable[i].owner = DatumGetObjectId(SPI_getbinval(tup, SPI_tuptable->tupdesc, 4, &isnull));
		}
	}
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();

	for (i = 0; i < nrunnable; i++)
	{
		int			slotno;
		uint32		generation;
		BackgroundWorkerHandle *handle;
		pid_t		pid;
		TimestampTz due = 0;

		CHECK_FOR_INTERRUPTS();
		switch (pgm_jobs_claim_slot(dbid, runnable[i].job_id, runnable[i].slice,
						   runnable[i].owner, &slotno, &generation, &due))
		{
			case CLAIM_RUNNING:
				continue;
			case CLAIM_PARKED:
				if (next_due == 0 || due < next_due)
					next_due = due;
				continue;
			case CLAIM_ROLE_FULL:
				/* Other roles' slices may still run; this one waits. */
				waiting = true;
				continue;
			case CLAIM_FULL:
				/* A later slice may run on the share a waiter lends it. */
				waiting = true;
				continue;
			case CLAIM_OK:
				if (!start_job_worker(dbid, slotno, generation,
									  runnable[i].job_id, runnable[i].slice,
									  runnable[i].login_role, &handle))
				{
					/* No background worker slot free: come back shortly. */
					pgm_jobs_release_slot(slotno, generation, false, false);
					no_bgworker = true;
					break;
				}
				/* A worker that never started must not keep its slot. */
				if (WaitForBackgroundWorkerStartup(handle, &pid) != BGWH_STARTED)
					pgm_jobs_release_slot(slotno, generation, true, false);
				continue;
		}
		break;
	}

	LWLockAcquire(pgm_jobs_shared->lock, LW_EXCLUSIVE);
	{
		PgmDatabase *db = pgm_jobs_find_database(dbid, waiting || no_bgworker || next_due != 0);

		/* Nothing left to run here: forget the database until a submission. */
		if (db && nrunnable == 0 && !db->wanted && db->suspended == 0)
			memset(db, 0, sizeof(PgmDatabase));
		else if (db)
		{
			db->waiting = waiting;
			if (no_bgworker)
			{
				db->wanted = true;
				db->not_before = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), 1000);
			}
			/* Come back when the first parked slice's pause is over. */
			if (next_due != 0)
			{
				if (!db->wanted)
				{
					db->wanted = true;
					db->not_before = next_due;
				}
				else
					db->not_before = Min(db->not_before, next_due);
			}
		}
	}
	LWLockRelease(pgm_jobs_shared->lock);

	proc_exit(0);
}
