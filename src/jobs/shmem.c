/*-------------------------------------------------------------------------
 *
 * shmem.c
 *		The shared state of background jobs: one worker slot per running
 *		job worker, the databases that may have work, and the slices
 *		parked between two batches.
 *
 * The launcher, the dispatchers, the job workers and the SQL API of every
 * backend meet here.  Everything is protected by one LWLock, held only
 * for a few loads and stores, never across a wait.  Nothing in it needs to
 * survive a restart: worker slots die with their workers and the database
 * list is rebuilt by asking every database (see jobs/README.md).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "utils/timestamp.h"

#include "core/compat.h"
#include "core/guc.h"
#include "jobs/shmem.h"

PgmShared  *pgm_jobs_shared = NULL;

/*
 * By PGPROC number, the pid of a backend inside migrate_job_wait, else 0:
 * such a session only polls for its job, and the job's batches need not
 * yield to it (worker.c, others_busy).  A pid rather than a flag, so that a
 * backend that died without clearing its entry does not hide the next
 * session in the same slot.
 */
static volatile int *job_waiters = NULL;

static Size
waiters_size(void)
{
	return mul_size(MaxBackends, sizeof(int));
}

static Size
jobs_shmem_size(void)
{
	/* There can never be more job workers than worker processes. */
	return add_size(offsetof(PgmShared, slots),
					mul_size(max_worker_processes, sizeof(PgmWorkerSlot)));
}

/* Ask for the shared state and its lock (shmem_request_hook, via _PG_init). */
void
pgm_jobs_shmem_request(void)
{
	RequestAddinShmemSpace(add_size(jobs_shmem_size(), waiters_size()));
	RequestNamedLWLockTranche("pg_migrate jobs", 1);
}

/* Attach to the shared state, creating it the first time (shmem_startup_hook). */
void
pgm_jobs_shmem_startup(void)
{
	bool		found;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	pgm_jobs_shared = ShmemInitStruct("pg_migrate jobs", jobs_shmem_size(), &found);
	if (!found)
	{
		memset(pgm_jobs_shared, 0, jobs_shmem_size());
		pgm_jobs_shared->lock = &(GetNamedLWLockTranche("pg_migrate jobs"))->lock;
		pgm_jobs_shared->nslots = max_worker_processes;
	}
	job_waiters = ShmemInitStruct("pg_migrate job waiters", waiters_size(), &found);
	if (!found)
		memset((void *) job_waiters, 0, waiters_size());
	LWLockRelease(AddinShmemInitLock);
}

/*
 * This backend enters (waiting true) or leaves migrate_job_wait.  The
 * entry is a hint read without a lock, like the PGPROC fields beside it.
 */
void
pgm_jobs_set_waiting(bool waiting)
{
	int			n = PGM_MyProcNumber();

	if (job_waiters != NULL && n >= 0 && n < MaxBackends)
		job_waiters[n] = waiting ? MyProcPid : 0;
}

/* Is the backend with this PGPROC number and pid inside migrate_job_wait? */
bool
pgm_jobs_proc_waiting(int procno, int pid)
{
	return job_waiters != NULL && pid != 0 && procno >= 0 &&
		procno < MaxBackends && job_waiters[procno] == pid;
}

/*
 * Wake every session inside migrate_job_wait: a job has just ended, and
 * its waiter would otherwise notice only at its next poll (up to 100 ms
 * later).  Waiters of other jobs read their job's state and sleep again.
 * The entries are hints read without a lock; a slot whose backend left
 * (its pid no longer the one recorded) is not woken.
 */
void
pgm_jobs_wake_waiters(void)
{
	int			i;

	if (job_waiters == NULL)
		return;
	for (i = 0; i < MaxBackends; i++)
	{
		int			pid = job_waiters[i];
		PGPROC	   *proc;

		if (pid == 0)
			continue;
		proc = GetPGProcByNumber(i);
		if (proc != NULL && proc->pid == pid)
			SetLatch(&proc->procLatch);
	}
}

/* ----------------------------------------------------------------
 * Shared state helpers
 * ----------------------------------------------------------------
 */

/* Entry of a database, created when create is true; caller holds the lock. */
PgmDatabase *
pgm_jobs_find_database(Oid dbid, bool create)
{
	PgmDatabase *free_entry = NULL;
	int			i;

	for (i = 0; i < PGM_MAX_DATABASES; i++)
	{
		PgmDatabase *db = &pgm_jobs_shared->dbs[i];

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

/* Set the launcher's latch, if it is running. */
void
pgm_jobs_wake_launcher(void)
{
	Latch	   *latch;

	LWLockAcquire(pgm_jobs_shared->lock, LW_SHARED);
	latch = pgm_jobs_shared->launcher_latch;
	LWLockRelease(pgm_jobs_shared->lock);
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

	if (pgm_jobs_shared == NULL)
		return;
	LWLockAcquire(pgm_jobs_shared->lock, LW_EXCLUSIVE);
	db = pgm_jobs_find_database(dbid, true);
	if (db)
	{
		db->wanted = true;
		db->not_before = 0;
	}
	LWLockRelease(pgm_jobs_shared->lock);
	pgm_jobs_wake_launcher();
}

/*
 * Before a statement that needs a database free of connections (DROP
 * DATABASE, ALTER DATABASE RENAME/SET TABLESPACE, CREATE DATABASE from it
 * as a template): keep the launcher away from it and terminate the job
 * workers connected to it.  Their jobs are resumed by the next dispatcher
 * if the database survives the statement.
 */
void
pgm_jobs_suspend_database(Oid dbid)
{
	PgmDatabase *db;
	int			i;

	LWLockAcquire(pgm_jobs_shared->lock, LW_EXCLUSIVE);
	db = pgm_jobs_find_database(dbid, true);
	if (db)
		db->suspended++;
	for (i = 0; i < pgm_jobs_shared->nslots; i++)
	{
		PgmWorkerSlot *slot = &pgm_jobs_shared->slots[i];

		if (slot->in_use && slot->dbid == dbid && slot->pid != 0)
			kill(slot->pid, SIGTERM);
	}
	LWLockRelease(pgm_jobs_shared->lock);
}

/*
 * Undo pgm_jobs_suspend_database once the statement is over, and have the
 * launcher look at the database again: its jobs resume if it survived.
 */
void
pgm_jobs_unsuspend_database(Oid dbid)
{
	PgmDatabase *db;

	LWLockAcquire(pgm_jobs_shared->lock, LW_EXCLUSIVE);
	db = pgm_jobs_find_database(dbid, false);
	if (db)
	{
		if (db->suspended > 0)
			db->suspended--;
		/* The database may be gone; the launcher checks before it starts. */
		db->wanted = true;
		db->not_before = 0;
	}
	LWLockRelease(pgm_jobs_shared->lock);
	pgm_jobs_wake_launcher();
}

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
		PgmParked  *p = &pgm_jobs_shared->parked[i];

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

/*
 * Forget the parked slices of a job id about to be given to a new job: a
 * job of a dropped and created again extension, or of a database restored
 * from a dump, may have had the id, and the new job must not wait out the
 * pause of the old one.
 */
void
pgm_jobs_forget_parked(Oid dbid, int64 job_id)
{
	int			i;

	if (pgm_jobs_shared == NULL)
		return;					/* not preloaded: no job ever parked */
	LWLockAcquire(pgm_jobs_shared->lock, LW_EXCLUSIVE);
	for (i = 0; i < PGM_MAX_PARKED; i++)
	{
		PgmParked  *p = &pgm_jobs_shared->parked[i];

		if (p->dbid == dbid && p->job_id == job_id)
			p->dbid = InvalidOid;
	}
	LWLockRelease(pgm_jobs_shared->lock);
}

/*
 * Claim a worker slot for a slice, within pg_migrate.max_workers and
 * pg_migrate.max_workers_per_role; says why not otherwise (a worker runs it
 * already, it is parked, the server or the role is full).
 *
 * A worker that waits for another job (an online change waiting for its
 * backfill) lends its share of the limits to that job: one worker of the
 * job may then start whatever the limits say, and is not counted, so the
 * waiter and the job it waits for never compete for the last slot.
 */
PgmClaimResult
pgm_jobs_claim_slot(Oid dbid, int64 job_id, int32 slice, Oid owner, int *slotno,
					uint32 *generation, TimestampTz *due)
{
	int			i;
	int			used = 0;
	int			used_by_owner = 0;
	int			free_slot = -1;
	bool		lender = false;		/* a waiter lends its share to this job */
	bool		borrowing = false;	/* a worker of the job uses that share */
	PgmClaimResult result;
	PgmParked  *parked;

	LWLockAcquire(pgm_jobs_shared->lock, LW_EXCLUSIVE);
	parked = find_parked(dbid, job_id, slice, GetCurrentTimestamp());
	if (parked != NULL)
	{
		*due = parked->due;
		LWLockRelease(pgm_jobs_shared->lock);
		return CLAIM_PARKED;
	}
	for (i = 0; i < pgm_jobs_shared->nslots; i++)
	{
		PgmWorkerSlot *slot = &pgm_jobs_shared->slots[i];

		if (!slot->in_use)
		{
			if (free_slot < 0)
				free_slot = i;
			continue;
		}
		if (slot->dbid == dbid && slot->job_id == job_id && slot->slice == slice)
		{
			LWLockRelease(pgm_jobs_shared->lock);
			return CLAIM_RUNNING;
		}
		if (slot->dbid == dbid && slot->lent_to == job_id)
			lender = true;
		if (slot->borrowed)
		{
			if (slot->dbid == dbid && slot->job_id == job_id)
				borrowing = true;
			continue;
		}
		used++;
		/* Roles are shared by every database: so is their quota. */
		if (slot->owner == owner)
			used_by_owner++;
	}
	if (free_slot >= 0 && lender && !borrowing)
		result = CLAIM_OK;
	else if (used >= pgm_max_workers || free_slot < 0)
		result = CLAIM_FULL;
	else if (pgm_max_workers_per_role > 0 && used_by_owner >= pgm_max_workers_per_role)
		result = CLAIM_ROLE_FULL;
	else
		result = CLAIM_OK;
	if (result == CLAIM_OK)
	{
		PgmWorkerSlot *slot = &pgm_jobs_shared->slots[free_slot];

		slot->in_use = true;
		slot->generation++;
		slot->dbid = dbid;
		slot->job_id = job_id;
		slot->slice = slice;
		slot->owner = owner;
		slot->pid = 0;
		slot->latch = NULL;
		slot->lent_to = 0;
		slot->borrowed = lender && !borrowing;
		*slotno = free_slot;
		*generation = slot->generation;
	}
	LWLockRelease(pgm_jobs_shared->lock);
	return result;
}

/*
 * A worker starts (job_id) or stops (0) waiting for another job of its
 * database, lending it its share of the limits meanwhile.  When it starts,
 * the database gets a dispatcher, which can now start that job.
 */
void
pgm_jobs_lend_slot(int slotno, uint32 generation, int64 job_id)
{
	PgmWorkerSlot *slot;
	bool		wake = false;

	if (pgm_jobs_shared == NULL || slotno < 0 || slotno >= pgm_jobs_shared->nslots)
		return;

	LWLockAcquire(pgm_jobs_shared->lock, LW_EXCLUSIVE);
	slot = &pgm_jobs_shared->slots[slotno];
	if (slot->in_use && slot->generation == generation && slot->lent_to != job_id)
	{
		slot->lent_to = job_id;
		if (job_id != 0)
		{
			PgmDatabase *db = pgm_jobs_find_database(slot->dbid, true);

			if (db && !db->wanted)
			{
				db->wanted = true;
				db->not_before = 0;
			}
			wake = true;
		}
	}
	LWLockRelease(pgm_jobs_shared->lock);
	if (wake)
		pgm_jobs_wake_launcher();
}

/*
 * Free a slot.  When a worker stops, the databases that were waiting for a
 * slot get a dispatcher again; a worker that did not end normally (it was
 * terminated, or failed to start) has its own database looked at again
 * after pg_migrate.restart_delay, which resumes its job.
 */
void
pgm_jobs_release_slot(int slotno, uint32 generation, bool only_if_unstarted,
					  bool abnormal)
{
	PgmWorkerSlot *slot;
	int			i;
	bool		released = false;

	if (pgm_jobs_shared == NULL || slotno < 0 || slotno >= pgm_jobs_shared->nslots)
		return;

	LWLockAcquire(pgm_jobs_shared->lock, LW_EXCLUSIVE);
	slot = &pgm_jobs_shared->slots[slotno];
	if (slot->in_use && slot->generation == generation &&
		!(only_if_unstarted && slot->pid != 0))
	{
		Oid			dbid = slot->dbid;

		slot->in_use = false;
		slot->pid = 0;
		slot->latch = NULL;
		slot->lent_to = 0;
		slot->borrowed = false;
		released = true;

		if (abnormal)
		{
			PgmDatabase *db = pgm_jobs_find_database(dbid, true);

			if (db && !db->wanted)
			{
				db->wanted = true;
				db->not_before = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
															 pgm_restart_delay);
			}
		}
		for (i = 0; i < PGM_MAX_DATABASES; i++)
		{
			PgmDatabase *db = &pgm_jobs_shared->dbs[i];

			if (db->dbid != InvalidOid && db->waiting)
			{
				db->waiting = false;
				db->wanted = true;
			}
		}
	}
	LWLockRelease(pgm_jobs_shared->lock);
	if (released)
		pgm_jobs_wake_launcher();
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

	if (pgm_jobs_shared == NULL)
		return;
	LWLockAcquire(pgm_jobs_shared->lock, LW_SHARED);
	for (i = 0; i < pgm_jobs_shared->nslots; i++)
	{
		PgmWorkerSlot *slot = &pgm_jobs_shared->slots[i];

		if (slot->in_use && slot->dbid == dbid && slot->job_id == job_id &&
			slot->latch != NULL)
			SetLatch(slot->latch);
	}
	LWLockRelease(pgm_jobs_shared->lock);
}

/*
 * Before a long sleep between batches: record when the slice's next batch
 * is due and ask the launcher to look at the database then, so that the
 * worker can leave and free its slot meanwhile.  False when there is no
 * room to remember it: the worker then sleeps in its slot.  The entry
 * lives in shared memory only; after a restart the slice runs its next
 * batch without waiting out the rest of its pause.
 */
bool
pgm_jobs_park_slice(Oid dbid, int64 job_id, int32 slice, TimestampTz due)
{
	TimestampTz now = GetCurrentTimestamp();
	PgmParked  *entry;
	PgmDatabase *db;
	int			i;

	LWLockAcquire(pgm_jobs_shared->lock, LW_EXCLUSIVE);
	entry = find_parked(dbid, job_id, slice, 0);
	for (i = 0; entry == NULL && i < PGM_MAX_PARKED; i++)
	{
		PgmParked  *p = &pgm_jobs_shared->parked[i];

		/* A free entry, or one whose pause is over (its job was stopped). */
		if (p->dbid == InvalidOid || p->due <= now)
			entry = p;
	}
	db = entry ? pgm_jobs_find_database(dbid, true) : NULL;
	if (db == NULL)
	{
		LWLockRelease(pgm_jobs_shared->lock);
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
	LWLockRelease(pgm_jobs_shared->lock);
	pgm_jobs_wake_launcher();
	return true;
}

/*
 * Fill in what every pg_migrate background process has in common: it
 * attaches to shared memory, connects to a database, waits for recovery to
 * end (jobs write) and is not restarted by the postmaster; the caller sets
 * bgw_name, the argument, the restart policy if it differs and the
 * process to notify.
 */
void
pgm_jobs_bgworker_init(BackgroundWorker *worker, const char *function,
					   const char *type)
{
	memset(worker, 0, sizeof(*worker));
	worker->bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker->bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker->bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker->bgw_library_name, BGW_MAXLEN, "pg_migrate");
	snprintf(worker->bgw_function_name, BGW_MAXLEN, "%s", function);
	snprintf(worker->bgw_type, BGW_MAXLEN, "%s", type);
}
