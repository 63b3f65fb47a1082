/*-------------------------------------------------------------------------
 *
 * jobs.h
 *		The SQL API of background jobs (jobs/jobs.c): submitting a batched
 *		UPDATE/DELETE, controlling and waiting for jobs.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_MIGRATE_JOBS_JOBS_H
#define PG_MIGRATE_JOBS_JOBS_H

#include "postgres.h"

extern void pgm_jobs_notify_at_commit(void);

#endif							/* PG_MIGRATE_JOBS_JOBS_H */
