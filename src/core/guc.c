/*-------------------------------------------------------------------------
 *
 * guc.c
 *		Every pg_migrate.* setting, defined in one place.
 *
 * A module reads the settings it needs from here (core/guc.h) rather than
 * from the module that uses them most, so that reading a value never pulls
 * in an unrelated part of the extension.  Settings that weaken protection
 * (recording, enforcement, the lock-queue bounds) are PGC_SUSET; the
 * settings of the background workers are PGC_SIGHUP, since the workers
 * serve every role of the server.
 *
 * Part of the ground floor (src/core): it calls nothing of pg_migrate
 * outside src/core.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "utils/guc.h"

#include "core/compat.h"
#include "core/guc.h"

/* History (ddl/history.c) */
bool		pgm_record_ddl = true;
bool		pgm_record_temp_objects = false;
bool		pgm_measure_lock_impact = true;
int			pgm_lock_hold_warning = 1000;	/* ms; 0: off */

/* Policy and lock-queue protection (ddl/) and migrations (migrate/) */
int			pgm_enforce = PGM_ENFORCE_ON;
int			pgm_small_table_size = 10 * 1024;	/* kB */
int			pgm_lock_timeout = 200;				/* ms */
int			pgm_lock_timeout_mode = PGM_LOCK_TIMEOUT_INJECT;
int			pgm_lock_retry_budget = 60 * 1000;	/* ms */
int			pgm_lock_retries = 1000;
int			pgm_migration_lock_timeout = 60 * 1000;	/* ms */
int			pgm_max_migration_rows = 100000;
int			pgm_own_undo_window = 60 * 60;	/* s */
bool		pgm_own_new_tables = true;
bool		pgm_online_by_default = false;

/* Background jobs (jobs/) */
int			pgm_max_workers = 2;
int			pgm_max_workers_per_role = 0;
int			pgm_batch_target = 200;
int			pgm_batch_lock_timeout = 500;
int			pgm_batch_max_retries = 20;
int			pgm_max_replication_lag = 0;
int			pgm_default_batch_size = 1000;
int			pgm_restart_delay = 5000;
int			pgm_worker_nice = 10;
double		pgm_batch_yield = 4.0;

static const struct config_enum_entry enforce_options[] = {
	{"off", PGM_ENFORCE_OFF, false},
	{"warn", PGM_ENFORCE_WARN, false},
	{"on", PGM_ENFORCE_ON, false},
	{"false", PGM_ENFORCE_OFF, true},
	{"true", PGM_ENFORCE_ON, true},
	{NULL, 0, false}
};

static const struct config_enum_entry lock_timeout_mode_options[] = {
	{"off", PGM_LOCK_TIMEOUT_OFF, false},
	{"inject", PGM_LOCK_TIMEOUT_INJECT, false},
	{"require", PGM_LOCK_TIMEOUT_REQUIRE, false},
	{NULL, 0, false}
};

/*
 * Define every setting and reserve the prefix (from _PG_init, in the
 * postmaster).  Placeholders a session or postgresql.conf set before the
 * library was loaded take their values here.
 */
void
pgm_guc_init(void)
{
	DefineCustomBoolVariable("pg_migrate.record_ddl",
							 "Records every DDL statement in migrate_ddl_history.",
							 "Turning it off stops the audit trail, so only superusers may.",
							 &pgm_record_ddl,
							 true,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("pg_migrate.record_temp_objects",
							 "Records DDL that touches only temporary objects.",
							 NULL,
							 &pgm_record_temp_objects,
							 false,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("pg_migrate.measure_lock_impact",
							 "Measures the lock wait, retries, lock hold and waiters of every recorded DDL statement.",
							 "The figures fill the lock columns of migrate_ddl_history; turning it off "
							 "leaves them empty, so only superusers may.",
							 &pgm_measure_lock_impact,
							 true,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("pg_migrate.lock_hold_warning",
							"Logs a DDL statement that held a lock blocking reads or writes longer than this.",
							"The log line gives the statement's lock figures. 0 turns it off.",
							&pgm_lock_hold_warning,
							1000,
							0, INT_MAX,
							PGC_SUSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomEnumVariable("pg_migrate.enforce",
							 "What happens to statements the policy denies: off, warn or on.",
							 "on refuses them, warn only warns, off judges nothing. "
							 "Only superusers may change it.",
							 &pgm_enforce,
							 PGM_ENFORCE_ON,
							 enforce_options,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("pg_migrate.small_table_size",
							"Tables up to this size are never \"populated\": blocking operations on them are allowed.",
							NULL,
							&pgm_small_table_size,
							10 * 1024,
							0, INT_MAX,
							PGC_SUSET,
							GUC_UNIT_KB,
							NULL, NULL, NULL);

	DefineCustomEnumVariable("pg_migrate.lock_timeout_mode",
							 "How DDL that takes a blocking lock on an existing table is kept out of a long lock queue.",
							 "inject runs it with lock_timeout <= pg_migrate.lock_timeout and retries; "
							 "require refuses it when the session has no lock_timeout; off does nothing.",
							 &pgm_lock_timeout_mode,
							 PGM_LOCK_TIMEOUT_INJECT,
							 lock_timeout_mode_options,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("pg_migrate.lock_timeout",
							"Longest wait for a blocking lock in one attempt of a DDL statement.",
							"Also the longest time other sessions queue behind that DDL.",
							&pgm_lock_timeout,
							200,
							1, INT_MAX,
							PGC_SUSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_migrate.lock_retry_budget",
							"Total time a DDL statement may spend retrying after lock timeouts.",
							"0 disables retries.",
							&pgm_lock_retry_budget,
							60 * 1000,
							0, INT_MAX,
							PGC_SUSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_migrate.lock_retries",
							"Largest number of retries of a DDL statement after lock timeouts.",
							"0 disables retries.",
							&pgm_lock_retries,
							1000,
							0, INT_MAX,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_migrate.migration_lock_timeout",
							"Longest wait of a migration for another migration to finish.",
							"migrate_apply and migrate_rollback wait this long for the migration lock, "
							"then fail naming the session that holds it. 0 waits without limit.",
							&pgm_migration_lock_timeout,
							60 * 1000,
							0, INT_MAX,
							PGC_SUSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_migrate.max_migration_rows",
							"UPDATE/DELETE in a migration estimated to touch more rows than this fire rule large_dml.",
							NULL,
							&pgm_max_migration_rows,
							100000,
							0, INT_MAX,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_migrate.own_undo_window",
							"How recent a role's own table or column must be for its drop to count as an undo.",
							"A DROP TABLE or DROP COLUMN of what the same role created less than this long "
							"ago, as the DDL history shows, is not refused as data loss. 0 turns this off. "
							"Only superusers may change it.",
							&pgm_own_undo_window,
							60 * 60,
							0, INT_MAX,
							PGC_SUSET,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("pg_migrate.online_by_default",
							 "Statements the shipped policy refuses run their online form instead, where they have one.",
							 "Applies to the shipped rows of blocking_index_build, blocking_index_drop, "
							 "validating_scan, not_null_scan and table_rewrite; rows the DBA wrote keep their "
							 "action. It decides what every client's DDL does, so only superusers may change it.",
							 &pgm_online_by_default,
							 false,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("pg_migrate.own_new_tables",
							 "Tables this session created that no other session has used are never \"populated\".",
							 "Blocking operations on them (pgbench -i adding its keys, a restore building its "
							 "indexes) block nobody. Only superusers may change it.",
							 &pgm_own_new_tables,
							 true,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("pg_migrate.max_workers",
							"Maximum number of job workers running at once, over all databases.",
							"Slices of jobs beyond it wait in the queue.",
							&pgm_max_workers,
							2, 0, PGM_MAX_PARALLEL * 4,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_migrate.max_workers_per_role",
							"Maximum number of job workers running at once for the jobs of one role.",
							"Keeps one role's jobs from taking every worker while other roles' jobs wait. "
							"0: no limit other than pg_migrate.max_workers.",
							&pgm_max_workers_per_role,
							0, 0, PGM_MAX_PARALLEL * 4,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_migrate.batch_target",
							"Duration a batch of a background job aims at.",
							"The batch size adapts after each batch so that batches take about this long.",
							&pgm_batch_target,
							200, 10, 60000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_migrate.batch_lock_timeout",
							"lock_timeout of each batch of a background job.",
							"A batch that waits longer for a lock is rolled back and retried, smaller.",
							&pgm_batch_lock_timeout,
							500, 1, 600000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_migrate.batch_max_retries",
							"Consecutive failed attempts of a batch (lock timeout, deadlock, serialization failure) before the job fails.",
							NULL,
							&pgm_batch_max_retries,
							20, 0, 10000,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_migrate.max_replication_lag",
							"Background jobs pause while a standby's replay lag exceeds this.",
							"0 turns the throttle off.",
							&pgm_max_replication_lag,
							0, 0, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_migrate.default_batch_size",
							"Initial batch size (rows) of jobs submitted without batch_size.",
							NULL,
							&pgm_default_batch_size,
							1000, 1, PGM_MAX_BATCH,
							PGC_USERSET, 0,
							NULL, NULL, NULL);

	DefineCustomRealVariable("pg_migrate.batch_yield",
							 "How much of the server a backfill leaves to busy sessions.",
							 "While other sessions are busy (on the CPU, or waiting for I/O or a lock), a job "
							 "worker gives way for up to this many times the duration of its last batch, and "
							 "no longer than they stay busy. 0 turns this off.",
							 &pgm_batch_yield,
							 4.0, 0.0, 100.0,
							 PGC_SIGHUP, 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("pg_migrate.worker_nice",
							"Scheduling priority (nice value) of job workers.",
							"Workers run at least this nice, so that the application's backends get the CPU first when "
							"they compete for it; an idle server gives the workers all the CPU they can use.",
							&pgm_worker_nice,
							10, 0, 19,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_migrate.restart_delay",
							"Delay before a job whose worker was terminated is resumed.",
							NULL,
							&pgm_restart_delay,
							5000, 0, 3600000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);

	MarkGUCPrefixReserved("pg_migrate");
}

/*
 * Does this session look like pg_restore (its default application_name)?
 * Only ever used to word a hint: a client can call itself anything, so
 * nothing may be allowed or skipped on this basis.
 */
bool
pgm_session_is_restore(void)
{
	return application_name != NULL && strcmp(application_name, "pg_restore") == 0;
}
