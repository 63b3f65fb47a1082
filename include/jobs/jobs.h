/*-------------------------------------------------------------------------
 *
 * jobs.h
 *		The SQL API of background jobs (jobs/jobs.c): submitting a batched
 *		UPDATE/DELETE, controlling and waiting for jobs, and the names of
 *		the job tables.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_MIGRATE_JOBS_JOBS_H
#define PG_MIGRATE_JOBS_JOBS_H

#include "postgres.h"

/* Names of the job tables, in the extension's schema. */
#define PGM_JOB_TABLE		"migrate_job_state"
#define PGM_SLICE_TABLE		"migrate_job_slice"
#define PGM_SCRIPT_TABLE	"migrate_job_script"	/* since 1.1 */

extern char *pgm_job_table_name(const char *relname);
extern Oid	pgm_job_table_owner(void);
extern void pgm_jobs_notify_at_commit(void);

#endif							/* PG_MIGRATE_JOBS_JOBS_H */
