/*-------------------------------------------------------------------------
 *
 * guc.h
 *		Every pg_migrate.* setting (core/guc.c), and the limits their
 *		ranges are bounded by.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_MIGRATE_CORE_GUC_H
#define PG_MIGRATE_CORE_GUC_H

#include "postgres.h"

typedef enum PgmEnforce
{
	PGM_ENFORCE_OFF,
	PGM_ENFORCE_WARN,
	PGM_ENFORCE_ON
} PgmEnforce;

typedef enum PgmLockTimeoutMode
{
	PGM_LOCK_TIMEOUT_OFF,
	PGM_LOCK_TIMEOUT_INJECT,
	PGM_LOCK_TIMEOUT_REQUIRE
} PgmLockTimeoutMode;

/* Upper bound of parallel => n, whatever max_workers says. */
#define PGM_MAX_PARALLEL	32

/* Limits of the adaptive batch size of background jobs. */
#define PGM_MIN_BATCH	10
#define PGM_MAX_BATCH	1000000

/* History */
extern bool pgm_record_ddl;
extern bool pgm_record_temp_objects;
extern bool pgm_measure_lock_impact;
extern int	pgm_lock_hold_warning;	/* ms */

/* Policy, lock-queue protection, migrations */
extern int	pgm_enforce;			/* PgmEnforce */
extern int	pgm_small_table_size;	/* kB */
extern int	pgm_lock_timeout;
extern int	pgm_lock_timeout_mode;	/* PgmLockTimeoutMode */
extern int	pgm_lock_retry_budget;
extern int	pgm_lock_retries;
extern int	pgm_migration_lock_timeout;
extern int	pgm_max_migration_rows;
extern int	pgm_own_undo_window;	/* s */
extern bool pgm_own_new_tables;
extern bool pgm_online_by_default;

/* Background jobs */
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

/*
 * The settings a restore runs with (README, "Backups and restores"), named
 * in the hints of the errors a restore run without them meets.
 */
#define PGM_RESTORE_PGOPTIONS \
	"PGOPTIONS='-c pg_migrate.record_ddl=off -c pg_migrate.enforce=off'"

extern void pgm_guc_init(void);
extern bool pgm_session_is_restore(void);

#endif							/* PG_MIGRATE_CORE_GUC_H */
