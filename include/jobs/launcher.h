/*-------------------------------------------------------------------------
 *
 * launcher.h
 *		The launcher of background jobs (jobs/launcher.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_MIGRATE_JOBS_LAUNCHER_H
#define PG_MIGRATE_JOBS_LAUNCHER_H

extern void pgm_launcher_register(void);

#endif							/* PG_MIGRATE_JOBS_LAUNCHER_H */
