/*-------------------------------------------------------------------------
 *
 * pg_migrate.c
 *		Library entry point: _PG_init, and nothing else.
 *
 * _PG_init defines the settings, asks for shared memory, installs every
 * hook in one block and registers the launcher.  It only calls down into
 * the modules; no module calls into this file.
 *
 * The hooks, and what each is for:
 *
 *	shmem_request_hook, shmem_startup_hook
 *		the ring of recent policy violations (ddl/policy.c), the registry
 *		of tables a session created (ddl/session_tables.c) and the shared
 *		state of background jobs (jobs/shmem.c)
 *	ProcessUtility_hook (installed twice, so two links of the chain)
 *		ddl/guard.c: classify, judge, bound the lock wait, run, record;
 *		jobs/dbguard.c, called first: terminate the job workers of a
 *		database that DROP DATABASE and the like need without connections
 *	needs_fmgr_hook, fmgr_hook, ExecutorStart_hook
 *		migrate/check.c: the dry run of migrate_check and migrate_plan runs
 *		no user code and no unexpected query
 *	ExecutorStart_hook (a second link)
 *		ddl/session_tables.c: which tables each plan uses, so that a table
 *		a session created is known once another session has used it
 *	set_rel_pathlist_hook
 *		jobs/batchscan.c: a backfill batch reads its key range with a
 *		bitmap scan, in the heap's order (armed only by the batch runner)
 *
 * pg_migrate only works when loaded through shared_preload_libraries (see
 * core/catalog.c): loaded any other way, _PG_init installs nothing.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/executor.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "tcop/utility.h"

#include "core/catalog.h"
#include "core/compat.h"
#include "core/guc.h"
#include "ddl/guard.h"
#include "ddl/history.h"
#include "ddl/lockstats.h"
#include "ddl/policy.h"
#include "ddl/session_tables.h"
#include "jobs/batchscan.h"
#include "jobs/dbguard.h"
#include "jobs/launcher.h"
#include "jobs/shmem.h"
#include "migrate/check.h"
#include "online/online.h"
#include "online/substitute.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

#ifdef PGM_HAVE_SHMEM_REQUEST_HOOK
static shmem_request_hook_type prev_shmem_request_hook = NULL;
#endif
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void pgm_shmem_request(void);
static void pgm_shmem_startup(void);

void
_PG_init(void)
{
	/*
	 * Loaded by LOAD or by calling one of our functions: install nothing.
	 * Hooks installed this late would see only part of the work, which would
	 * be worse than not seeing it at all.
	 */
	if (!process_shared_preload_libraries_in_progress)
		return;

	/*
	 * pg_upgrade restores the schema with event triggers and hooks of its own
	 * choosing; recording or judging that restore would be wrong.
	 */
	if (IsBinaryUpgrade)
		return;

	/* Settings (and MarkGUCPrefixReserved). */
	pgm_guc_init();

	/* Per-backend state that needs no hook. */
	pgm_policy_init();

	/*
	 * History rows written at commit, with their lock figures, and the
	 * transaction's new relations (transaction callbacks).
	 */
	pgm_lockstats_init();
	pgm_history_init();

	/*
	 * Every hook, each saving the one it chains to.  The order is the order
	 * of the chain: a hook installed later runs first.
	 */
#ifdef PGM_HAVE_SHMEM_REQUEST_HOOK
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = pgm_shmem_request;
#else
	pgm_shmem_request();
#endif
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = pgm_shmem_startup;

	pgm_guard_prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = pgm_guard_ProcessUtility;

	pgm_dry_run_prev_needs_fmgr_hook = needs_fmgr_hook;
	needs_fmgr_hook = pgm_dry_run_needs_fmgr_hook;
	pgm_dry_run_prev_fmgr_hook = fmgr_hook;
	fmgr_hook = pgm_dry_run_fmgr_hook;
	pgm_dry_run_prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = pgm_dry_run_ExecutorStart;

	pgm_session_tables_prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = pgm_session_tables_ExecutorStart;

	pgm_dbguard_prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = pgm_dbguard_ProcessUtility;

	pgm_batchscan_prev_set_rel_pathlist = set_rel_pathlist_hook;
	set_rel_pathlist_hook = pgm_batchscan_set_rel_pathlist;

	/* Background jobs, and the online changes they run. */
	pgm_launcher_register();
	pgm_online_init();
	pgm_online_substitute_init();

	pgm_preloaded = true;
}

/* Shared memory of every module, asked for in the postmaster. */
static void
pgm_shmem_request(void)
{
#ifdef PGM_HAVE_SHMEM_REQUEST_HOOK
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
#endif
	pgm_violations_shmem_request();
	pgm_session_tables_shmem_request();
	pgm_jobs_shmem_request();
}

/* Shared memory of every module, attached to (or created) at startup. */
static void
pgm_shmem_startup(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	pgm_violations_shmem_startup();
	pgm_session_tables_shmem_startup();
	pgm_jobs_shmem_startup();
}
