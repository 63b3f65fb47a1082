/*-------------------------------------------------------------------------
 *
 * worker.h
 *		The job worker (jobs/worker.c): what the dispatcher hands it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_MIGRATE_JOBS_WORKER_H
#define PG_MIGRATE_JOBS_WORKER_H

#include "postgres.h"

/* What a job worker finds in bgw_extra. */
typedef struct JobWorkerExtra
{
	uint32		generation;
	Oid			login_role;
} JobWorkerExtra;

extern void pgm_job_worker_lend_slot(int64 job_id);

#endif							/* PG_MIGRATE_JOBS_WORKER_H */
