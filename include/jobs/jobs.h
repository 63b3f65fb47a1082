/*-------------------------------------------------------------------------
 *
 * jobs.h
 *		Background jobs: the shared state the launcher, the per-database
 *		dispatchers, the job workers and the SQL API share, and their entry
 *		points.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_MIGRATE_JOBS_H
#define PG_MIGRATE_JOBS_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "storage/lwlock.h"

/* Names of the job tables, in the extension's schema. */
#define PGM_JOB_TABLE		"migrate_job_state"
#define PGM_SLICE_TABLE		"migrate_job_slice"
#define PGM_SCRIPT_TABLE	"migrate_job_script"	/* since 1.1 */

/* Upper bound of parallel => n, whatever max_workers says. */
#define PGM_MAX_PARALLEL	32

/* Databases the launcher keeps track of at once. */
#define PGM_MAX_DATABASES	256

/* Settings (worker.c) */
extern int	pgm_max_workers;
extern int	pgm_max_workers_per_role;
extern int	pgm_batch_target;
extern int	pgm_batch_lock_timeout;
extern int	pgm_batch_max_retries;
extern int	pgm_max_replication_lag;
extern int	pgm_default_batch_size;
extern int	pgm_restart_delay;
extern int	pgm_worker_nice;
extern double pgm_batch_yield;

/* worker.c */
extern void pgm_jobs_define_settings(void);
extern void pgm_jobs_init(void);
extern void pgm_jobs_notify_database(Oid dbid);
extern void pgm_jobs_wake_job(Oid dbid, int64 job_id);

/* jobs.c */
extern char *pgm_job_table_name(const char *relname);
extern Oid	pgm_job_table_owner(void);
extern void pgm_jobs_notify_at_commit(void);

#endif							/* PG_MIGRATE_JOBS_H */
