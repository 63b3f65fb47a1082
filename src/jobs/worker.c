/*-------------------------------------------------------------------------
 *
 * worker.c
 *		Background workers that run batched backfill jobs: the launcher, the
 *		per-database dispatcher and the job worker.
 *
 * Three kinds of process cooperate:
 *
 *	- The launcher, a static background worker registered at postmaster
 *	  start, connected to no database.  It keeps a list of databases that
 *	  may have work in shared memory and starts a dispatcher for each one
 *	  that asks for attention.  At its own start (server start, restart
 *	  after a crash) it knows nothing, so it asks every database once:
 *	  shared memory does not survive a crash, the job tables do.
 *
 *	- The dispatcher, a short-lived dynamic worker connected to one
 *	  database.  It reads the job tables, claims a worker slot for every
 *	  runnable job slice (up to pg_migrate.max_workers over the whole
 *	  server, and pg_migrate.max_workers_per_role for the jobs of one
 *	  submitter; the rest queue) and starts a job worker for each.  Slices
 *	  are taken round robin over the submitters, so that one role's long
 *	  queue does not hold back another role's job.
 *
 *	- The job worker, a dynamic worker (bgw_type "pg_migrate job") that runs
 *	  one slice of one job to its end, batch by batch.  Between two batches
 *	  it sleeps the job's pause; a pause or cancel of the job wakes it
 *	  through the latch in its slot, and a pause of PGM_PARK_MS or more is
 *	  waited out without a worker: the slice is "parked" in shared memory
 *	  and dispatched again when it is due.
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
 * table or its job is gone and exits.  DROP DATABASE would wait for the
 * workers connected to the database and fail after five seconds, so a
 * ProcessUtility hook terminates them first and keeps the launcher away
 * from the database until the statement is over.
 *
 * Shared state: PgmShared, protected by one LWLock.  Nothing in it needs to
 * survive a restart: worker slots die with their workers and the database
 * list is rebuilt by asking every database.
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

#include "jobs/jobs.h"
#include "migrate/migrate.h"
#include "pg_migrate.h"

PGDLLEXPORT void pgm_launcher_main(Datum main_arg);
PGDLLEXPORT void pgm_dispatcher_main(Datum main_arg);
PGDLLEXPORT void pgm_job_worker_main(Datum main_arg);

/* Settings */
int			pgm_max_workers = 2;
int			pgm_max_workers_per_role = 0;
int			pgm_batch_target = 200;
int			pgm_batch_lock_timeout = 500;
int			pgm_batch_max_retries = 20;
int			pgm_max_replication_lag = 0;
int			pgm_default_batch_size = 1000;
int			pgm_restart_delay = 5000;
int			pgm_worker_nice = 10;
double		pgm_batch_yield = 4.0;

/* tid Datums are pass-by-reference pointers to ItemPointerData. */
#define DatumGetItemPointer(X)	((ItemPointer) DatumGetPointer(X))
#define ItemPointerGetDatum(X)	PointerGetDatum(X)

/*
 * Dispatchers running at once: after a restart every database gets one,
 * and they must not take all the background worker slots the job workers
 * need.
 */
#define PGM_MAX_DISPATCHERS	2

/*
 * A worker that is to sleep this long between two batches leaves instead,
 * freeing its slot; the slice is dispatched again when the sleep is over.
 * Shorter sleeps are cheaper than starting a worker again.
 */
#define PGM_PARK_MS		10000

/* Slices waiting out a long pause without a worker, at most. */
#define PGM_MAX_PARKED	256

/* Shortest duration batches aim at while the application waits for them. */
#define PGM_MIN_TARGET_MS	10.0

/* Limits of the adaptive batch size. */
#define PGM_MIN_BATCH	10
#define PGM_MAX_BATCH	1000000

/* One running (or starting) job worker. */
typedef struct PgmWorkerSlot
{
	bool		in_use;
	uint32		generation;		/* bumped at each claim */
	Oid			dbid;
	int64		job_id;
	int32		slice;
	Oid			owner;			/* the job's submitter */
	pid_t		pid;			/* 0 until the worker has started */
	Latch	   *latch;			/* the worker's, once it has started */
} PgmWorkerSlot;

/* A database that may have jobs. */
typedef struct PgmDatabase
{
	Oid			dbid;			/* InvalidOid: free entry */
	bool		wanted;			/* start a dispatcher for it */
	bool		waiting;		/* has runnable work that found no slot */
	int			suspended;		/* >0 while DROP DATABASE & co. need it */
	TimestampTz not_before;		/* earliest time of the next dispatcher */
} PgmDatabase;

/* A slice between two batches, waiting out its pause without a worker. */
typedef struct PgmParked
{
	Oid			dbid;			/* InvalidOid: free entry */
	int64		job_id;
	int32		slice;
	TimestampTz due;			/* when its next batch may run */
} PgmParked;

typedef struct PgmShared
{
	LWLock	   *lock;
	Latch	   *launcher_latch;
	int			nslots;
	PgmDatabase dbs[PGM_MAX_DATABASES];
	PgmParked	parked[PGM_MAX_PARKED];
	PgmWorkerSlot slots[FLEXIBLE_ARRAY_MEMBER];
} PgmShared;

static PgmShared *pgm_shared = NULL;

#if PG_VERSION_NUM >= 150000
static shmem_request_hook_type prev_shmem_request_hook = NULL;
#endif
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
static ProcessUtility_hook_type prev_ProcessUtility = NULL;

static void apply_worker_nice(void);
static void pgm_jobs_shmem_request(void);
static void pgm_jobs_shmem_startup(void);
static Size pgm_jobs_shmem_size(void);
static void pgm_jobs_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
									bool readOnlyTree,
									ProcessUtilityContext context,
									ParamListInfo params,
									QueryEnvironment *queryEnv,
									DestReceiver *dest, QueryCompletion *qc);

/* ----------------------------------------------------------------
 * Initialisation (postmaster)
 * ----------------------------------------------------------------
 */

void
pgm_jobs_define_settings(void)
{
	DefineCustomIntVariable("pg_migrate.max_workers",
							"Maximum number of job workers running at once, over all databases.",
							"Slices of jobs beyond it wait in the queue.",
							&pgm_max_workers,
							2, 0, PGM_MAX_PARALLEL * 4,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_migrate.max_workers_per_role",
							"Maximum number of job workers running at once for the jobs of one role.",
							"Keeps one role's jobs from taking every worker while other roles' jobs wait. "
							"0: no limit other than pg_migrate.max_workers.",
							&pgm_max_workers_per_role,
							0, 0, PGM_MAX_PARALLEL * 4,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_migrate.batch_target",
							"Duration a batch of a background job aims at.",
							"The batch size adapts after each batch so that batches take about this long.",
							&pgm_batch_target,
							200, 10, 60000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_migrate.batch_lock_timeout",
							"lock_timeout of each batch of a background job.",
							"A batch that waits longer for a lock is rolled back and retried, smaller.",
							&pgm_batch_lock_timeout,
							500, 1, 600000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_migrate.batch_max_retries",
							"Consecutive failed attempts of a batch (lock timeout, deadlock, serialization failure) before the job fails.",
							NULL,
							&pgm_batch_max_retries,
							20, 0, 10000,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_migrate.max_replication_lag",
							"Background jobs pause while a standby's replay lag exceeds this.",
							"0 turns the throttle off.",
							&pgm_max_replication_lag,
							0, 0, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_migrate.default_batch_size",
							"Initial batch size (rows) of jobs submitted without batch_size.",
							NULL,
							&pgm_default_batch_size,
							1000, 1, PGM_MAX_BATCH,
							PGC_USERSET, 0,
							NULL, NULL, NULL);

	DefineCustomRealVariable("pg_migrate.batch_yield",
							 "How much of the server a backfill leaves to busy sessions.",
							 "While other sessions are busy (on the CPU, or waiting for I/O or a lock), a job "
							 "worker sleeps this many times the duration of its last batch before the next "
							 "one. 0 turns this off.",
							 &pgm_batch_yield,
							 4.0, 0.0, 100.0,
							 PGC_SIGHUP, 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("pg_migrate.worker_nice",
							"Scheduling priority (nice value) of job workers.",
							"Workers run at least this nice, so that the application's backends get the CPU first when "
							"they compete for it; an idle server gives the workers all the CPU they can use.",
							&pgm_worker_nice,
							10, 0, 19,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_migrate.restart_delay",
							"Delay before a job whose worker was terminated is resumed.",
							NULL,
							&pgm_restart_delay,
							5000, 0, 3600000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);
}

/* Shared memory, the DROP DATABASE hook and the launcher. */
void
pgm_jobs_init(void)
{
	BackgroundWorker worker;

#if PG_VERSION_NUM >= 150000
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = pgm_jobs_shmem_request;
#else
	pgm_jobs_shmem_request();
#endif
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = pgm_jobs_shmem_startup;

	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = pgm_jobs_ProcessUtility;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	/* Jobs write; there is nothing to do on a standby until it is promoted. */
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 5;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "pg_migrate");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "pgm_launcher_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "pg_migrate launcher");
	snprintf(worker.bgw_type, BGW_MAXLEN, "pg_migrate launcher");
	RegisterBackgroundWorker(&worker);
}

static Size
pgm_jobs_shmem_size(void)
{
	/* There can never be more job workers than worker processes. */
	return add_size(offsetof(PgmShared, slots),
					mul_size(max_worker_processes, sizeof(PgmWorkerSlot)));
}

static void
pgm_jobs_shmem_request(void)
{
#if PG_VERSION_NUM >= 150000
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
#endif
	RequestAddinShmemSpace(pgm_jobs_shmem_size());
	RequestNamedLWLockTranche("pg_migrate jobs", 1);
}

static void
pgm_jobs_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	pgm_shared = ShmemInitStruct("pg_migrate jobs", pgm_jobs_shmem_size(), &found);
	if (!found)
	{
		memset(pgm_shared, 0, pgm_jobs_shmem_size());
		pgm_shared->lock = &(GetNamedLWLockTranche("pg_migrate jobs"))->lock;
		pgm_shared->nslots = max_worker_processes;
	}
	LWLockRelease(AddinShmemInitLock);
}

/* ----------------------------------------------------------------
 * Shared state helpers
 * ----------------------------------------------------------------
 */

/* Entry of a database, created when create is true; caller holds the lock. */
static PgmDatabase *
find_database(Oid dbid, bool create)
{
	PgmDatabase *free_entry = NULL;
	int			i;

	for (i = 0; i < PGM_MAX_DATABASES; i++)
	{
		PgmDatabase *db = &pgm_shared->dbs[i];

		if (db->dbid == dbid)
			return db;
		if (db->dbid == InvalidOid && free_entry == NULL)
			free_entry = db;
	}
	if (!create)
		return NULL;
	if (free_entry == NULL)
	{
		ereport(LOG,
				(errmsg("too many databases with background jobs, database %u is not tracked", dbid)));
		return NULL;
	}
	memset(free_entry, 0, sizeof(PgmDatabase));
	free_entry->dbid = dbid;
	return free_entry;
}

static void
wake_launcher(void)
{
	Latch	   *latch;

	LWLockAcquire(pgm_shared->lock, LW_SHARED);
	latch = pgm_shared->launcher_latch;
	LWLockRelease(pgm_shared->lock);
	if (latch)
		SetLatch(latch);
}

/*
 * Ask the launcher to look at a database: called after a job was submitted
 * or resumed there, once that transaction has committed.
 */
void
pgm_jobs_notify_database(Oid dbid)
{
	PgmDatabase *db;

	if (pgm_shared == NULL)
		return;
	LWLockAcquire(pgm_shared->lock, LW_EXCLUSIVE);
	db = find_database(dbid, true);
	if (db)
	{
		db->wanted = true;
		db->not_before = 0;
	}
	LWLockRelease(pgm_shared->lock);
	wake_launcher();
}

/*
 * Before a statement that needs a database free of connections (DROP
 * DATABASE, ALTER DATABASE RENAME/SET TABLESPACE, CREATE DATABASE from it
 * as a template): keep the launcher away from it and terminate the job
 * workers connected to it.  Their jobs are resumed by the next dispatcher
 * if the database survives the statement.
 */
static void
suspend_database(Oid dbid)
{
	PgmDatabase *db;
	int			i;

	LWLockAcquire(pgm_shared->lock, LW_EXCLUSIVE);
	db = find_database(dbid, true);
	if (db)
		db->suspended++;
	for (i = 0; i < pgm_shared->nslots; i++)
	{
		PgmWorkerSlot *slot = &pgm_shared->slots[i];

		if (slot->in_use && slot->dbid == dbid && slot->pid != 0)
			kill(slot->pid, SIGTERM);
	}
	LWLockRelease(pgm_shared->lock);
}

static void
unsuspend_database(Oid dbid)
{
	PgmDatabase *db;

	LWLockAcquire(pgm_shared->lock, LW_EXCLUSIVE);
	db = find_database(dbid, false);
	if (db)
	{
		if (db->suspended > 0)
			db->suspended--;
		/* The database may be gone; the launcher checks before it starts. */
		db->wanted = true;
		db->not_before = 0;
	}
	LWLockRelease(pgm_shared->lock);
	wake_launcher();
}

static void
unsuspend_database_callback(int code, Datum arg)
{
	unsuspend_database(DatumGetObjectId(arg));
}

typedef enum
{
	CLAIM_OK,
	CLAIM_RUNNING,				/* a worker already runs this slice */
	CLAIM_ROLE_FULL,			/* max_workers_per_role reached for its owner */
	CLAIM_PARKED,				/* the slice's pause is not over yet */
	CLAIM_FULL					/* max_workers reached */
} ClaimResult;

/*
 * The parked entry of a slice, or NULL; with now != 0, an entry whose
 * pause is over is freed and NULL returned.  Caller holds the lock.
 */
static PgmParked *
find_parked(Oid dbid, int64 job_id, int32 slice, TimestampTz now)
{
	int			i;

	for (i = 0; i < PGM_MAX_PARKED; i++)
	{
		PgmParked  *p = &pgm_shared->parked[i];

		if (p->dbid != dbid || p->job_id != job_id || p->slice != slice)
			continue;
		if (now != 0 && p->due <= now)
		{
			p->dbid = InvalidOid;
			return NULL;
		}
		return p;
	}
	return NULL;
}

static ClaimResult
claim_slot(Oid dbid, int64 job_id, int32 slice, Oid owner, int *slotno,
		   uint32 *generation, TimestampTz *due)
{
	int			i;
	int			used = 0;
	int			used_by_owner = 0;
	int			free_slot = -1;
	ClaimResult result;
	PgmParked  *parked;

	LWLockAcquire(pgm_shared->lock, LW_EXCLUSIVE);
	parked = find_parked(dbid, job_id, slice, GetCurrentTimestamp());
	if (parked != NULL)
	{
		*due = parked->due;
		LWLockRelease(pgm_shared->lock);
		return CLAIM_PARKED;
	}
	for (i = 0; i < pgm_shared->nslots; i++)
	{
		PgmWorkerSlot *slot = &pgm_shared->slots[i];

		if (!slot->in_use)
		{
			if (free_slot < 0)
				free_slot = i;
			continue;
		}
		used++;
		if (slot->dbid == dbid && slot->job_id == job_id && slot->slice == slice)
		{
			LWLockRelease(pgm_shared->lock);
			return CLAIM_RUNNING;
		}
		/* Roles are shared by every database: so is their quota. */
		if (slot->owner == owner)
			used_by_owner++;
	}
	if (used >= pgm_max_workers || free_slot < 0)
		result = CLAIM_FULL;
	else if (pgm_max_workers_per_role > 0 && used_by_owner >= pgm_max_workers_per_role)
		result = CLAIM_ROLE_FULL;
	else
	{
		PgmWorkerSlot *slot = &pgm_shared->slots[free_slot];

		slot->in_use = true;
		slot->generation++;
		slot->dbid = dbid;
		slot->job_id = job_id;
		slot->slice = slice;
		slot->owner = owner;
		slot->pid = 0;
		slot->latch = NULL;
		*slotno = free_slot;
		*generation = slot->generation;
		result = CLAIM_OK;
	}
	LWLockRelease(pgm_shared->lock);
	return result;
}

/*
 * Free a slot.  When a worker stops, the databases that were waiting for a
 * slot get a dispatcher again; a worker that did not end normally (it was
 * terminated, or failed to start) has its own database looked at again
 * after pg_migrate.restart_delay, which resumes its job.
 */
static void
release_slot(int slotno, uint32 generation, bool only_if_unstarted, bool abnormal)
{
	PgmWorkerSlot *slot;
	int			i;
	bool		released = false;

	if (pgm_shared == NULL || slotno < 0 || slotno >= pgm_shared->nslots)
		return;

	LWLockAcquire(pgm_shared->lock, LW_EXCLUSIVE);
	slot = &pgm_shared->slots[slotno];
	if (slot->in_use && slot->generation == generation &&
		!(only_if_unstarted && slot->pid != 0))
	{
		Oid			dbid = slot->dbid;

		slot->in_use = false;
		slot->pid = 0;
		slot->latch = NULL;
		released = true;

		if (abnormal)
		{
			PgmDatabase *db = find_database(dbid, true);

			if (db && !db->wanted)
			{
				db->wanted = true;
				db->not_before = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
															 pgm_restart_delay);
			}
		}
		for (i = 0; i < PGM_MAX_DATABASES; i++)
		{
			PgmDatabase *db = &pgm_shared->dbs[i];

			if (db->dbid != InvalidOid && db->waiting)
			{
				db->waiting = false;
				db->wanted = true;
			}
		}
	}
	LWLockRelease(pgm_shared->lock);
	if (released)
		wake_launcher();
}

/*
 * Wake the workers running a job: called once a transaction that paused or
 * cancelled it has committed.  A worker sleeping between batches (a job's
 * pause can be an hour long) then looks at the job's state at once, stops,
 * and frees its slot for the jobs waiting in the queue.
 */
void
pgm_jobs_wake_job(Oid dbid, int64 job_id)
{
	int			i;

	if (pgm_shared == NULL)
		return;
	LWLockAcquire(pgm_shared->lock, LW_SHARED);
	for (i = 0; i < pgm_shared->nslots; i++)
	{
		PgmWorkerSlot *slot = &pgm_shared->slots[i];

		if (slot->in_use && slot->dbid == dbid && slot->job_id == job_id &&
			slot->latch != NULL)
			SetLatch(slot->latch);
	}
	LWLockRelease(pgm_shared->lock);
}

/*
 * Before a long sleep between batches: record when the slice's next batch
 * is due and ask the launcher to look at the database then, so that the
 * worker can leave and free its slot meanwhile.  False when there is no
 * room to remember it: the worker then sleeps in its slot.  The entry
 * lives in shared memory only; after a restart the slice runs its next
 * batch without waiting out the rest of its pause.
 */
static bool
park_slice(Oid dbid, int64 job_id, int32 slice, TimestampTz due)
{
	TimestampTz now = GetCurrentTimestamp();
	PgmParked  *entry;
	PgmDatabase *db;
	int			i;

	LWLockAcquire(pgm_shared->lock, LW_EXCLUSIVE);
	entry = find_parked(dbid, job_id, slice, 0);
	for (i = 0; entry == NULL && i < PGM_MAX_PARKED; i++)
	{
		PgmParked  *p = &pgm_shared->parked[i];

		/* A free entry, or one whose pause is over (its job was stopped). */
		if (p->dbid == InvalidOid || p->due <= now)
			entry = p;
	}
	db = entry ? find_database(dbid, true) : NULL;
	if (db == NULL)
	{
		LWLockRelease(pgm_shared->lock);
		return false;
	}
	entry->dbid = dbid;
	entry->job_id = job_id;
	entry->slice = slice;
	entry->due = due;
	if (!db->wanted)
	{
		db->wanted = true;
		db->not_before = due;
	}
	else
		db->not_before = Min(db->not_before, due);
	LWLockRelease(pgm_shared->lock);
	wake_launcher();
	return true;
}

/* ----------------------------------------------------------------
 * The ProcessUtility hook: keep workers out of the way of statements that
 * need a database without connections.
 * ----------------------------------------------------------------
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

static void
pgm_jobs_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
						bool readOnlyTree, ProcessUtilityContext context,
						ParamListInfo params, QueryEnvironment *queryEnv,
						DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;
	Oid			dbid = InvalidOid;

	if (parsetree != NULL && pgm_shared != NULL)
		dbid = database_needing_exclusive_use(parsetree);

	/*
	 * Only for a role that may run the statement: anyone else would merely
	 * interrupt other people's jobs, and fail anyway.
	 */
	if (OidIsValid(dbid) && !PGM_DatabaseOwnercheck(dbid, GetUserId()))
		dbid = InvalidOid;

	if (!OidIsValid(dbid) || dbid == MyDatabaseId)
	{
		if (prev_ProcessUtility)
			prev_ProcessUtility(pstmt, queryString, readOnlyTree, context,
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
		if (parsetree != NULL && pgm_shared != NULL &&
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
	suspend_database(dbid);
	PG_ENSURE_ERROR_CLEANUP(unsuspend_database_callback, ObjectIdGetDatum(dbid));
	{
		if (prev_ProcessUtility)
			prev_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
									params, queryEnv, dest, qc);
	}
	PG_END_ENSURE_ERROR_CLEANUP(unsuspend_database_callback, ObjectIdGetDatum(dbid));
	unsuspend_database(dbid);
}

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
	LWLockAcquire(pgm_shared->lock, LW_EXCLUSIVE);
	pgm_shared->launcher_latch = NULL;
	LWLockRelease(pgm_shared->lock);
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

	LWLockAcquire(pgm_shared->lock, LW_EXCLUSIVE);
	foreach(lc, dbids)
	{
		PgmDatabase *db = find_database(lfirst_oid(lc), true);

		if (db)
			db->wanted = true;
	}
	LWLockRelease(pgm_shared->lock);
	list_free(dbids);
}

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

static bool
start_dispatcher(Oid dbid, BackgroundWorkerHandle **handle)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "pg_migrate");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "pgm_dispatcher_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "pg_migrate dispatcher for database %u", dbid);
	snprintf(worker.bgw_type, BGW_MAXLEN, "pg_migrate dispatcher");
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
		LWLockAcquire(pgm_shared->lock, LW_EXCLUSIVE);
		for (i = 0; i < PGM_MAX_DATABASES; i++)
			if (pgm_shared->dbs[i].dbid != InvalidOid)
				pgm_shared->dbs[i].wanted = true;
		LWLockRelease(pgm_shared->lock);
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

		LWLockAcquire(pgm_shared->lock, LW_SHARED);
		dbid = pgm_shared->dbs[i].dbid;
		due = dbid != InvalidOid && pgm_shared->dbs[i].wanted &&
			pgm_shared->dbs[i].suspended == 0;
		if (due && pgm_shared->dbs[i].not_before > now)
		{
			long		secs;
			int			usecs;

			TimestampDifference(now, pgm_shared->dbs[i].not_before, &secs, &usecs);
			sleep_ms = Min(sleep_ms, secs * 1000 + usecs / 1000 + 1);
			due = false;
		}
		LWLockRelease(pgm_shared->lock);
		if (!due)
			continue;

		if (!database_connectable(dbid))
		{
			LWLockAcquire(pgm_shared->lock, LW_EXCLUSIVE);
			if (pgm_shared->dbs[i].dbid == dbid && pgm_shared->dbs[i].suspended == 0)
				memset(&pgm_shared->dbs[i], 0, sizeof(PgmDatabase));
			LWLockRelease(pgm_shared->lock);
			continue;
		}

		if (start_dispatcher(dbid, &dispatcher_handles[i]))
		{
			running++;
			LWLockAcquire(pgm_shared->lock, LW_EXCLUSIVE);
			if (pgm_shared->dbs[i].dbid == dbid)
				pgm_shared->dbs[i].wanted = false;
			LWLockRelease(pgm_shared->lock);
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
 * Pin the session's search_path of a dispatcher or job worker, which runs
 * its bookkeeping as the bootstrap superuser.  Connecting applied the
 * settings of ALTER DATABASE ... SET, which the database's owner chooses,
 * and a job's own batches run code of the submitter in this session, which
 * may leave temporary types and tables behind (pg_temp is searched first
 * for those unless the path lists it).  Every query here is schema-qualified
 * as well; this makes an unqualified name that slips in later harmless.
 */
static void
pin_session_search_path(void)
{
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_SESSION);
}

void
pgm_launcher_main(Datum main_arg)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	/* No database: the launcher reads only pg_database. */
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);

	LWLockAcquire(pgm_shared->lock, LW_EXCLUSIVE);
	pgm_shared->launcher_latch = MyLatch;
	LWLockRelease(pgm_shared->lock);
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

/* What a job worker finds in bgw_extra. */
typedef struct JobWorkerExtra
{
	uint32		generation;
	Oid			login_role;
} JobWorkerExtra;

static bool
start_job_worker(Oid dbid, int slotno, uint32 generation, int64 job_id,
				 int32 slice, Oid login_role, BackgroundWorkerHandle **handle)
{
	JobWorkerExtra extra;

	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "pg_migrate");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "pgm_job_worker_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "pg_migrate job " INT64_FORMAT " slice %d",
			 job_id, slice);
	snprintf(worker.bgw_type, BGW_MAXLEN, "pg_migrate job");
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
	pin_session_search_path();

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
		switch (claim_slot(dbid, runnable[i].job_id, runnable[i].slice,
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
				waiting = true;
				break;
			case CLAIM_OK:
				if (!start_job_worker(dbid, slotno, generation,
									  runnable[i].job_id, runnable[i].slice,
									  runnable[i].login_role, &handle))
				{
					/* No background worker slot free: come back shortly. */
					release_slot(slotno, generation, false, false);
					no_bgworker = true;
					break;
				}
				/* A worker that never started must not keep its slot. */
				if (WaitForBackgroundWorkerStartup(handle, &pid) != BGWH_STARTED)
					release_slot(slotno, generation, true, false);
				continue;
		}
		break;
	}

	LWLockAcquire(pgm_shared->lock, LW_EXCLUSIVE);
	{
		PgmDatabase *db = find_database(dbid, waiting || no_bgworker || next_due != 0);

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
	LWLockRelease(pgm_shared->lock);

	proc_exit(0);
}

/* ----------------------------------------------------------------
 * The job worker
 * ----------------------------------------------------------------
 */

static int	my_slotno = -1;
static uint32 my_generation = 0;

static void
job_worker_exit(int code, Datum arg)
{
	release_slot(my_slotno, my_generation, false, code != 0);
}

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

	/* statements, rebuilt when the relation or a column is renamed */
	char	   *range_sql;		/* key mode: the batch's upper key */
	char	   *dml_sql;
	bool		plan_first;		/* plans were made for the first batch */
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
	job->pause_ms = DatumGetInt32(SPI_getbinval(tup, desc, 9, &isnull));
	if (isnull)
		job->pause_ms = 0;
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
					 " s.next_block, s.hi_block, s.skip_tids"
					 " FROM %s j JOIN %s s ON s.job_id OPERATOR(pg_catalog.=) j.id"
					 " WHERE j.id OPERATOR(pg_catalog.=) $1 AND s.slice OPERATOR(pg_catalog.=) $2"
					 " FOR NO KEY UPDATE OF s",
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
						 " finished_at = pg_catalog.now(), updated_at = pg_catalog.now()"
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
 * Build the batch statements for the relation's current name and column
 * names, and (re)prepare them when they differ from the cached ones.
 * Called as the submitter, under the batch's search_path.
 *
 * Key mode, with K the key columns and lower/upper the bounds:
 *	range:	SELECT K FROM rel WHERE ROW(K) > lower AND ROW(K) <= upper
 *			ORDER BY K OFFSET size - 1 LIMIT 1
 *	dml:	UPDATE rel SET ... WHERE ROW(K) > lower AND ROW(K) <= batch_upper
 *			AND (where)
 * The first batch has no lower bound.  Ctid mode:
 *	dml:	UPDATE ONLY rel SET ... WHERE ctid >= $1 AND ctid < $2
 *			AND ctid <> ALL ($3) AND (where) RETURNING ctid
 * Custom plans are forced: a generic plan for a range predicate on
 * parameters could choose a sequential scan, which would scan the whole
 * table in every batch.
 */
static bool
prepare_statements(JobRun *job, bool first)
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
	}
	else
	{
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
		if (job->where_clause)
			appendStringInfo(&dml, " AND (\n%s\n)", job->where_clause);

		nargs = 2 * k + 1;
		argtypes = palloc(sizeof(Oid) * nargs);
		for (i = 0; i < k; i++)
		{
			argtypes[i] = job->key_types[i];
			argtypes[k + i] = job->key_types[i];
		}
		argtypes[2 * k] = INT8OID;
	}

	if (job->dml_plan != NULL && job->plan_first == first &&
		strcmp(job->dml_sql, dml.data) == 0 &&
		(job->ctid_mode || strcmp(job->range_sql, range.data) == 0))
		return true;

	if (job->dml_plan)
		SPI_freeplan(job->dml_plan);
	if (job->range_plan)
		SPI_freeplan(job->range_plan);
	job->dml_plan = job->range_plan = NULL;
	/* Cleared first: an error below must not leave them dangling. */
	if (job->dml_sql)
		pfree(job->dml_sql);
	if (job->range_sql)
		pfree(job->range_sql);
	job->dml_sql = job->range_sql = NULL;
	job->dml_sql = MemoryContextStrdup(TopMemoryContext, dml.data);
	job->range_sql = MemoryContextStrdup(TopMemoryContext, range.data);
	job->plan_first = first;

	/* Both statements take the same parameters; the DML ignores the offset. */
	job->dml_plan = SPI_prepare_cursor(job->dml_sql, nargs, argtypes,
									   CURSOR_OPT_CUSTOM_PLAN);
	if (job->dml_plan == NULL)
		elog(ERROR, "could not prepare the batch statement: %s",
			 SPI_result_code_string(SPI_result));
	SPI_keepplan(job->dml_plan);
	if (!job->ctid_mode)
	{
		job->range_plan = SPI_prepare_cursor(job->range_sql, nargs, argtypes,
											 CURSOR_OPT_CUSTOM_PLAN);
		if (job->range_plan == NULL)
			elog(ERROR, "could not prepare the batch range query: %s",
				 SPI_result_code_string(SPI_result));
		SPI_keepplan(job->range_plan);
	}
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

typedef enum
{
	BATCH_DONE,					/* a batch committed, more to do */
	BATCH_SLICE_DONE,			/* the slice is complete */
	BATCH_THROTTLED,			/* replication lag: nothing done */
	BATCH_STOP					/* job not runnable: exit */
} BatchResult;

/*
 * Run one batch in the current transaction: as the submitter, change the
 * rows of the next range; as the worker, record the progress.
 */
static BatchResult
run_batch(JobRun *job, int64 batchno)
{
	StringInfoData sql;
	int			save_nestlevel;
	Oid			save_userid;
	int			save_sec_context;
	char		buf[32];
	instr_time	start;
	instr_time	duration;
	double		elapsed_ms;
	uint64		nrows = 0;
	bool		slice_done = false;
	Datum		new_next = (Datum) 0;
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

	if (strcmp(job->state, "queued") == 0)
	{
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
	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	save_nestlevel = NewGUCNestLevel();
	SetUserIdAndSecContext(job->owner, save_sec_context |
						   SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
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
	if (!prepare_statements(job, job->ctid_mode ? false : !job->have_next))
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
	else
	{
		int			k = job->nkeys;
		Datum	   *args = palloc0(sizeof(Datum) * (2 * k + 1));
		Datum	   *batch_hi = palloc(sizeof(Datum) * k);
		int			i;

		for (i = 0; i < k; i++)
		{
			args[i] = job->have_next ? job->next_key[i] : (Datum) 0;
			args[k + i] = job->hi_key[i];
		}
		args[2 * k] = Int64GetDatum((int64) job->batch_size - 1);

		ret = SPI_execute_plan(job->range_plan, args, NULL, true, 1);
		if (ret != SPI_OK_SELECT)
			elog(ERROR, "batch range query failed: %s", SPI_result_code_string(ret));
		if (SPI_processed == 1)
		{
			for (i = 0; i < k; i++)
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
		else
		{
			/* Fewer rows than a batch remain: this is the slice's last. */
			memcpy(batch_hi, job->hi_key, sizeof(Datum) * k);
			slice_done = true;
		}
		for (i = 0; i < k; i++)
			args[k + i] = batch_hi[i];

		ret = SPI_execute_plan(job->dml_plan, args, NULL, false, 0);
		if (ret != SPI_OK_UPDATE && ret != SPI_OK_DELETE)
			elog(ERROR, "batch statement failed: %s", SPI_result_code_string(ret));
		nrows = SPI_processed;
		/* Encoded as the submitter too: the send function is user code. */
		new_next = keys_to_array(batch_hi, job);
	}

	INSTR_TIME_SET_CURRENT(duration);
	INSTR_TIME_SUBTRACT(duration, start);
	elapsed_ms = INSTR_TIME_GET_MILLISEC(duration);
	job->last_batch_ms = elapsed_ms;

	/*
	 * Nothing deferred can be left (see above), but should anything be, it
	 * fires now, still as the submitter, not later.
	 */
	AfterTriggerFireDeferred();

	AtEOXact_GUC(false, save_nestlevel);
	SetUserIdAndSecContext(save_userid, save_sec_context);

	adapt_target(job);
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
						 " retries = 0, updated_at = pg_catalog.now()"
						 " WHERE job_id OPERATOR(pg_catalog.=) $1 AND slice OPERATOR(pg_catalog.=) $2",
						 pgm_job_table_name(PGM_SLICE_TABLE));
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
		Oid			argtypes[7] = {INT8OID, INT4OID, BYTEAARRAYOID, INT8OID, INT4OID, FLOAT8OID, BOOLOID};
		Datum		args[7];

		appendStringInfo(&sql,
						 "UPDATE %s SET next_key = $3,"
						 " rows_done = rows_done OPERATOR(pg_catalog.+) $4,"
						 " batches = batches OPERATOR(pg_catalog.+) 1, batch_size = $5,"
						 " last_batch_ms = $6, done = $7,"
						 " retries = 0, updated_at = pg_catalog.now()"
						 " WHERE job_id OPERATOR(pg_catalog.=) $1 AND slice OPERATOR(pg_catalog.=) $2",
						 pgm_job_table_name(PGM_SLICE_TABLE));
		args[0] = Int64GetDatum(job->job_id);
		args[1] = Int32GetDatum(job->slice);
		args[2] = new_next;
		args[3] = Int64GetDatum((int64) nrows);
		args[4] = Int32GetDatum(new_size);
		args[5] = Float8GetDatum(elapsed_ms);
		args[6] = BoolGetDatum(slice_done);
		ret = SPI_execute_with_args(sql.data, 7, argtypes, args, NULL, false, 0);
	}
	if (ret != SPI_OK_UPDATE || SPI_processed != 1)
		elog(ERROR, "could not record the progress of job " INT64_FORMAT, job->job_id);

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
					 "UPDATE %s SET state = 'done', finished_at = pg_catalog.now(),"
					 " updated_at = pg_catalog.now()"
					 " WHERE id OPERATOR(pg_catalog.=) $1"
					 " AND state OPERATOR(pg_catalog.=) ANY ('{queued,running}'::pg_catalog.text[])"
					 " AND NOT EXISTS (SELECT FROM %s s WHERE s.job_id OPERATOR(pg_catalog.=) $1"
					 " AND NOT s.done AND s.slice OPERATOR(pg_catalog.<>) $2)",
					 pgm_job_table_name(PGM_JOB_TABLE),
					 pgm_job_table_name(PGM_SLICE_TABLE));
	SPI_execute_with_args(sql.data, 2, argtypes, args, NULL, false, 0);
}

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
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			apply_worker_nice();
		}
		if ((rc & WL_LATCH_SET) && !job_still_runnable(job))
			return false;
	}
}

/*
 * Is anybody else busy on the server: a client backend running on the CPU,
 * or waiting for I/O, a buffer or a lock?  Background workers (the job's
 * own among them), autovacuum, processes connected to no database
 * (physical WAL senders) and sessions that are idle, sleeping or waiting
 * for a client are not busy.
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
			(proc->statusFlags & PROC_IS_AUTOVACUUM))
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
 * How long to leave the server to the others after a batch: while they
 * are busy, pg_migrate.batch_yield times the batch's duration.  An idle
 * server, and the job's other workers, get no pause.
 */
static long
yield_ms(JobRun *job)
{
	if (pgm_batch_yield <= 0 || job->last_batch_ms <= 0 || !others_busy())
		return 0;
	return (long) Min(job->last_batch_ms * pgm_batch_yield, 60000.0);
}

static void
run_job(JobRun *job)
{
	MemoryContext batch_cxt;
	int64		batchno = 0;
	int			retries = 0;
	bool		runnable;

	batch_cxt = AllocSetContextCreate(TopMemoryContext, "pg_migrate batch",
									  ALLOCSET_DEFAULT_SIZES);

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	runnable = OidIsValid(pgm_relation(PGM_JOB_TABLE)) &&
		OidIsValid(pgm_relation(PGM_SLICE_TABLE)) &&
		load_job(job);
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	if (!runnable)
		return;

	for (;;)
	{
		volatile BatchResult result = BATCH_STOP;
		ErrorData  *volatile error = NULL;
		MemoryContext oldcxt;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			apply_worker_nice();
		}
		MemoryContextReset(batch_cxt);
		oldcxt = MemoryContextSwitchTo(batch_cxt);

		PG_TRY();
		{
			Oid			save_userid;
			int			save_sec_context;

			SetCurrentStatementStartTimestamp();
			StartTransactionCommand();
			SPI_connect();
			PushActiveSnapshot(GetTransactionSnapshot());
			job->ran_as_submitter = false;
			result = run_batch(job, batchno + 1);
			if (result == BATCH_SLICE_DONE)
			{
				finish_slice(job);
				/* The end of a slice is reported: make it durable first. */
				(void) set_config_option("synchronous_commit", "on",
										 PGC_SUSET, PGC_S_SESSION,
										 GUC_ACTION_LOCAL, true, 0, false);
			}
			SPI_finish();
			PopActiveSnapshot();

			/*
			 * Whatever the user's part could still have left to run at
			 * commit (run_batch forbids what it knows of) runs as the
			 * submitter, restricted, never as this worker.  A failed commit
			 * is aborted, and the abort restores the worker's identity.
			 */
			GetUserIdAndSecContext(&save_userid, &save_sec_context);
			if (job->ran_as_submitter)
				SetUserIdAndSecContext(job->owner, save_sec_context |
									   SECURITY_LOCAL_USERID_CHANGE |
									   SECURITY_RESTRICTED_OPERATION);
			CommitTransactionCommand();
			SetUserIdAndSecContext(save_userid, save_sec_context);
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
				{
					long		yield = yield_ms(job);
					long		pause = job->pause_ms + yield;

					if (yield > 0)
						pgstat_report_activity(STATE_RUNNING,
											   psprintf("pg_migrate job " INT64_FORMAT " slice %d: yielding %ld ms to busy sessions",
														job->job_id, job->slice, yield));

					/*
					 * A long sleep is waited out without a worker: the slot
					 * goes to other jobs meanwhile.
					 */
					if (pause >= PGM_PARK_MS &&
						park_slice(MyDatabaseId, job->job_id, job->slice,
								   TimestampTzPlusMilliseconds(GetCurrentTimestamp(), pause)))
						return;
					if (!sleep_between_batches(job, pause))
						return;
				}
				break;
			case BATCH_THROTTLED:
				sleep_ms(1000);
				break;
			case BATCH_SLICE_DONE:
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
	LWLockAcquire(pgm_shared->lock, LW_EXCLUSIVE);
	if (my_slotno < 0 || my_slotno >= pgm_shared->nslots ||
		!pgm_shared->slots[my_slotno].in_use ||
		pgm_shared->slots[my_slotno].generation != my_generation)
	{
		LWLockRelease(pgm_shared->lock);
		my_slotno = -1;
		proc_exit(0);
	}
	dbid = pgm_shared->slots[my_slotno].dbid;
	job.job_id = pgm_shared->slots[my_slotno].job_id;
	job.slice = pgm_shared->slots[my_slotno].slice;
	pgm_shared->slots[my_slotno].pid = MyProcPid;
	pgm_shared->slots[my_slotno].latch = MyLatch;
	LWLockRelease(pgm_shared->lock);

	/*
	 * A migration job logs in as the role of the session that submitted it
	 * (see async.c).  A backfill connects as the bootstrap superuser: the
	 * submitter may be a NOLOGIN role, which a background worker cannot
	 * connect as, and each batch switches to the submitter.
	 */
	BackgroundWorkerInitializeConnectionByOid(dbid, extra.login_role, 0);
	pin_session_search_path();
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
