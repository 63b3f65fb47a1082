/*-------------------------------------------------------------------------
 *
 * script.h
 *		Migration jobs (jobs/script.c): the script runner a job worker runs
 *		for a job of kind 'migration', and the session set-up it shares
 *		with jobs of kind 'online'.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_MIGRATE_JOBS_SCRIPT_H
#define PG_MIGRATE_JOBS_SCRIPT_H

#include "postgres.h"

#include "utils/palloc.h"

extern void pgm_run_script_job(int64 job_id);
extern void pgm_check_script_submitter(void);

/*
 * A job of kind 'online' has a script row (the submitting session) and is
 * started like a migration; once the session is set up, the module that
 * registered here runs it (src/online, which builds on this one: the
 * pointer keeps the dependency pointing down).
 */
typedef void (*PgmOnlineRunner) (int64 job_id);
extern PgmOnlineRunner pgm_online_runner;

#endif							/* PG_MIGRATE_JOBS_SCRIPT_H */
