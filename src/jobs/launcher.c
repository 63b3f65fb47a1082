/*-------------------------------------------------------------------------
 *
 * launcher.c
 *		The launcher: a static background worker, registered at postmaster
 *		start and connected to no database, that starts a dispatcher for
 *		each database asking for attention.
 *
 * It keeps a list of databases that may have work in shared memory
 * (jobs/shmem.c) and starts a dispatcher for each one that is due, a few
 * at once over the server.  At its own start (server start, restart after
 * a crash) it knows nothing, so it asks every database once: shared
 * memory does not survive a crash, the job tables do.  Once a minute it
 * looks again at every database it knows, a safety net for a notification
 * that got lost.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "tcop/tcopprot.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "jobs/launcher.h"
#include "jobs/shmem.h"

PGDLLEXPORT void pgm_launcher_main(Datum main_arg);

/*
 * Dispatchers running at once: after a restart every database gets one,
 * and they must not take all the background worker slots the job workers
 * need.
 */
#define PGM_MAX_DISPATCHERS	2

/* ----------------------------------------------------------------
 * The launcher
 * ----------------------------------------------------------------
 */

/* Dispatchers the launcher started, by database entry. */
static BackgroundWorkerHandle *dispatcher_handles[PGM_MAX_DATABASES];

/* Last time every tracked database was looked at again. */
static TimestampTz last_sweep = 0;

static void
launcher_detach(int code, Datum arg)
{
	LWLockAcquire(pgm_jobs_shared->lock, LW_EXCLUSIVE);
	pgm_jobs_shared->launcher_latch = NULL;
	LWLockRelease(pgm_jobs_shared->lock);
}

/*
 * Mark every database that accepts connections: any of them may have jobs
 * that were running when the server stopped or crashed.  Templates are
 * skipped, so that the launcher never makes CREATE DATABASE wait.
 */
static void
want_all_databases(void)
{
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	List	   *dbids = NIL;
	ListCell   *lc;

	MemoryContext cxt = CurrentMemoryContext;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		Form_pg_database dbform = (Form_pg_database) GETSTRUCT(tup);

		if (dbform->datallowconn && !dbform->datistemplate)
		{
			/* the list must outlive the transaction */
			MemoryContext oldcxt = MemoryContextSwitchTo(cxt);

			dbids = lappend_oid(dbids, dbform->oid);
			MemoryContextSwitchTo(oldcxt);
		}
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	PopActiveSnapshot();
	CommitTransactionCommand();

	LWLockAcquire(pgm_jobs_shared->lock, LW_EXCLUSIVE);
	foreach(lc, dbids)
	{
		PgmDatabase *db = pgm_jobs_find_database(lfirst_oid(lc), true);

		if (db)
			db->wanted = true;
	}
	LWLockRelease(pgm_jobs_shared->lock);
	list_free(dbids);
}

/* Does the database still exist and accept connections (templates aside)? */
static bool
database_connectable(Oid dbid)
{
	HeapTuple	tup;
	bool		ok = false;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	tup = SearchSysCache1(DATABASEOID, ObjectIdGetDatum(dbid));
	if (HeapTupleIsValid(tup))
	{
		Form_pg_database dbform = (Form_pg_database) GETSTRUCT(tup);

		ok = dbform->datallowconn && !dbform->datistemplate;
		ReleaseSysCache(tup);
	}
	CommitTransactionCommand();
	return ok;
}

/* Start the dispatcher of one database. */
static bool
start_dispatcher(Oid dbid, BackgroundWorkerHandle **handle)
{
	BackgroundWorker worker;

	pgm_jobs_bgworker_init(&worker, "pgm_dispatcher_main", "pg_migrate dispatcher");
	snprintf(worker.bgw_name, BGW_MAXLEN, "pg_migrate dispatcher for database %u", dbid);
	worker.bgw_main_arg = ObjectIdGetDatum(dbid);
	worker.bgw_notify_pid = MyProcPid;
	return RegisterDynamicBackgroundWorker(&worker, handle);
}

/*
 * One pass over the database list: reap finished dispatchers, start the
 * ones that are due.  Returns how long the launcher may sleep.
 */
static long
launcher_pass(void)
{
	TimestampTz now = GetCurrentTimestamp();
	long		sleep_ms = 10000;
	int			i;

	int			running = 0;

	/*
	 * Once a minute, look again at every database known to have unfinished
	 * jobs: a safety net for a notification that got lost, or a worker that
	 * stopped without finishing its slice.
	 */
	if (TimestampDifferenceExceeds(last_sweep, now, 60 * 1000))
	{
		last_sweep = now;
		LWLockAcquire(pgm_jobs_shared->lock, LW_EXCLUSIVE);
		for (i = 0; i < PGM_MAX_DATABASES; i++)
			if (pgm_jobs_shared->dbs[i].dbid != InvalidOid)
				pgm_jobs_shared->dbs[i].wanted = true;
		LWLockRelease(pgm_jobs_shared->lock);
	}

	/* Reap the dispatchers that finished. */
	for (i = 0; i < PGM_MAX_DATABASES; i++)
	{
		pid_t		pid;

		if (dispatcher_handles[i] == NULL)
			continue;
		if (GetBackgroundWorkerPid(dispatcher_handles[i], &pid) == BGWH_STOPPED)
		{
			pfree(dispatcher_handles[i]);
			dispatcher_handles[i] = NULL;
		}
		else
			running++;
	}

	for (i = 0; i < PGM_MAX_DATABASES; i++)
	{
		Oid			dbid;
		bool		due;

		/* One dispatcher per database, a few at once over the server. */
		if (dispatcher_handles[i] != NULL)
			continue;
		if (running >= PGM_MAX_DISPATCHERS)
		{
			sleep_ms = Min(sleep_ms, 100);
			break;
		}

		LWLockAcquire(pgm_jobs_shared->lock, LW_SHARED);
		dbid = pgm_jobs_shared->dbs[i].dbid;
		due = dbid != InvalidOid && pgm_jobs_shared->dbs[i].wanted &&
			pgm_jobs_shared->dbs[i].suspended == 0;
		if (due && pgm_jobs_shared->dbs[i].not_before > now)
		{
			long		secs;
			int			usecs;

			TimestampDifference(now, pgm_jobs_shared->dbs[i].not_before, &secs, &usecs);
			sleep_ms = Min(sleep_ms, secs * 1000 + usecs / 1000 + 1);
			due = false;
		}
		LWLockRelease(pgm_jobs_shared->lock);
		if (!due)
			continue;

		if (!database_connectable(dbid))
		{
			LWLockAcquire(pgm_jobs_shared->lock, LW_EXCLUSIVE);
			if (pgm_jobs_shared->dbs[i].dbid == dbid && pgm_jobs_shared->dbs[i].suspended == 0)
				memset(&pgm_jobs_shared->dbs[i], 0, sizeof(PgmDatabase));
			LWLockRelease(pgm_jobs_shared->lock);
			continue;
		}

		if (start_dispatcher(dbid, &dispatcher_handles[i]))
		{
			running++;
			LWLockAcquire(pgm_jobs_shared->lock, LW_EXCLUSIVE);
			if (pgm_jobs_shared->dbs[i].dbid == dbid)
				pgm_jobs_shared->dbs[i].wanted = false;
			LWLockRelease(pgm_jobs_shared->lock);
		}
		else
		{
			/* No free background worker slot: try again shortly. */
			dispatcher_handles[i] = NULL;
			sleep_ms = Min(sleep_ms, 1000);
		}
	}
	return sleep_ms;
}

/*
 * Entry point of the launcher: ask every database once, then start the
 * dispatchers that are due, sleeping on its latch in between.
 */
void
pgm_launcher_main(Datum main_arg)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	/* No database: the launcher reads only pg_database. */
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);

	LWLockAcquire(pgm_jobs_shared->lock, LW_EXCLUSIVE);
	pgm_jobs_shared->launcher_latch = MyLatch;
	LWLockRelease(pgm_jobs_shared->lock);
	before_shmem_exit(launcher_detach, (Datum) 0);

	/* Everything the launcher keeps lives here, outside any transaction. */
	MemoryContextSwitchTo(AllocSetContextCreate(TopMemoryContext,
												"pg_migrate launcher",
												ALLOCSET_DEFAULT_SIZES));

	pgstat_report_activity(STATE_RUNNING, "looking for databases with jobs");
	want_all_databases();

	for (;;)
	{
		long		sleep_ms;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		sleep_ms = launcher_pass();
		pgstat_report_activity(STATE_IDLE, NULL);

		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 sleep_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/* Register the launcher (from _PG_init, in the postmaster). */
void
pgm_launcher_register(void)
{
	BackgroundWorker worker;

	/* Jobs write; there is nothing to do on a standby until it is promoted. */
	pgm_jobs_bgworker_init(&worker, "pgm_launcher_main", "pg_migrate launcher");
	/* The one worker that is always there: restarted if it dies. */
	worker.bgw_restart_time = 5;
	snprintf(worker.bgw_name, BGW_MAXLEN, "pg_migrate launcher");
	RegisterBackgroundWorker(&worker);
}
