/*-------------------------------------------------------------------------
 *
 * shmem.h
 *		The shared state of background jobs (jobs/shmem.c): worker slots,
 *		the databases that may have work, parked slices.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_MIGRATE_JOBS_SHMEM_H
#define PG_MIGRATE_JOBS_SHMEM_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "postmaster/bgworker.h"
#include "storage/latch.h"
#include "storage/lwlock.h"

/* Databases the launcher keeps track of at once. */
#define PGM_MAX_DATABASES	256

/* Slices waiting out a long pause without a worker, at most. */
#define PGM_MAX_PARKED	256

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
	int64		lent_to;		/* 0, or a job whose worker may run on this
								 * slot's share while this one waits for it */
	bool		borrowed;		/* runs on the share of a slot lent to its
								 * job: not counted against the limits */
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

extern PgmShared *pgm_jobs_shared;

/* What pgm_jobs_claim_slot() found. */
typedef enum PgmClaimResult
{
	CLAIM_OK,
	CLAIM_RUNNING,				/* a worker already runs this slice */
	CLAIM_ROLE_FULL,			/* max_workers_per_role reached for its owner */
	CLAIM_PARKED,				/* the slice's pause is not over yet */
	CLAIM_FULL					/* max_workers reached */
} PgmClaimResult;

extern void pgm_jobs_bgworker_init(BackgroundWorker *worker,
								   const char *function, const char *type);
extern void pgm_jobs_shmem_request(void);
extern void pgm_jobs_shmem_startup(void);
extern void pgm_jobs_set_waiting(bool waiting);
extern bool pgm_jobs_proc_waiting(int procno, int pid);
extern void pgm_jobs_wake_waiters(void);

extern PgmDatabase *pgm_jobs_find_database(Oid dbid, bool create);
extern void pgm_jobs_wake_launcher(void);
extern void pgm_jobs_notify_database(Oid dbid);
extern void pgm_jobs_suspend_database(Oid dbid);
extern void pgm_jobs_unsuspend_database(Oid dbid);
extern PgmClaimResult pgm_jobs_claim_slot(Oid dbid, int64 job_id, int32 slice,
										  Oid owner, int *slotno,
										  uint32 *generation, TimestampTz *due);
extern void pgm_jobs_release_slot(int slotno, uint32 generation,
								  bool only_if_unstarted, bool abnormal);
extern void pgm_jobs_lend_slot(int slotno, uint32 generation, int64 job_id);
extern void pgm_jobs_wake_job(Oid dbid, int64 job_id);
extern bool pgm_jobs_park_slice(Oid dbid, int64 job_id, int32 slice,
								TimestampTz due);
extern void pgm_jobs_forget_parked(Oid dbid, int64 job_id);

#endif							/* PG_MIGRATE_JOBS_SHMEM_H */
