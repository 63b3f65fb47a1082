/*-------------------------------------------------------------------------
 *
 * script.h
 *		Migration jobs (jobs/script.c): the script runner a job worker runs
 *		for a job of kind 'migration'.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_MIGRATE_JOBS_SCRIPT_H
#define PG_MIGRATE_JOBS_SCRIPT_H

#include "postgres.h"

extern void pgm_run_script_job(int64 job_id);

#endif							/* PG_MIGRATE_JOBS_SCRIPT_H */
