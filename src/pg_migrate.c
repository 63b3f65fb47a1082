/*-------------------------------------------------------------------------
 *
 * pg_migrate.c
 *		Library entry point: settings, hook installation and the catalog
 *		lookups every module uses to find the extension's own objects.
 *
 * pg_migrate only works when loaded through shared_preload_libraries: the
 * ProcessUtility hook must see every statement of every backend, and the
 * background-job launcher must be registered at postmaster start.  When the
 * library is loaded any other way (LOAD, or a call to one of its functions)
 * _PG_init installs nothing, and every SQL-callable entry point refuses to
 * run with a hint saying how to fix the configuration.  The event trigger
 * functions are the exception: they only warn, so that a server whose
 * configuration lost the preload line can still run DDL, including
 * DROP EXTENSION.
 *
 * The extension's tables are found through pg_extension and the schema it
 * was installed in, never through search_path, so that objects a user puts
 * on their search_path can never stand in for them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/pg_extension.h"
#include "utils/fmgroids.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "commands/defrem.h"
#include "nodes/pg_list.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"

#include "migrate/check.h"
#include "jobs/jobs.h"
#include "migrate/migrate.h"
#include "pg_migrate.h"
#include "ddl/policy.h"

PG_MODULE_MAGIC;

bool		pgm_record_ddl = true;
bool		pgm_record_temp_objects = false;
bool		pgm_preloaded = false;

void		_PG_init(void);

#ifdef PGM_HAVE_SHMEM_REQUEST_HOOK
static shmem_request_hook_type prev_shmem_request_hook = NULL;
#endif
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void pgm_shmem_request(void);
static void pgm_shmem_startup(void);

PG_FUNCTION_INFO_V1(migrate_assert_preloaded);

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

	pgm_policy_define_gucs();
	pgm_jobs_define_settings();

	MarkGUCPrefixReserved("pg_migrate");

	/* Shared memory: the ring of recent policy violations. */
#ifdef PGM_HAVE_SHMEM_REQUEST_HOOK
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = pgm_shmem_request;
#else
	pgm_shmem_request();
#endif
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = pgm_shmem_startup;

	pgm_policy_init();
	pgm_guard_init();
	pgm_check_init();
	pgm_jobs_init();

	pgm_preloaded = true;
}

static void
pgm_shmem_request(void)
{
#ifdef PGM_HAVE_SHMEM_REQUEST_HOOK
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
#endif
	RequestAddinShmemSpace(pgm_violations_shmem_size());
	RequestNamedLWLockTranche("pg_migrate", 1);
}

static void
pgm_shmem_startup(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	pgm_violations_shmem_init();
}

/*
 * Raise an error unless the library was preloaded.  Every SQL-callable
 * function calls this first; so does the install script, which makes
 * CREATE EXTENSION fail on a misconfigured server.
 */
void
pgm_check_preloaded(void)
{
	if (!pgm_preloaded)
		ereport(ERROR,
				(errcode(ERRCODE_PGM_NOT_PRELOADED),
				 errmsg("pg_migrate must be loaded via shared_preload_libraries"),
				 errhint("Add pg_migrate to shared_preload_libraries in postgresql.conf "
						 "(shared_preload_libraries = 'pg_migrate') and restart the server.")));
}

Datum
migrate_assert_preloaded(PG_FUNCTION_ARGS)
{
	pgm_check_preloaded();
	PG_RETURN_VOID();
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

/*
 * Schema the extension is installed in, or InvalidOid when the extension is
 * not installed in the current database.
 */
Oid
pgm_extension_schema(void)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	Oid			nspid = InvalidOid;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key,
				Anum_pg_extension_extname,
				BTEqualStrategyNumber, F_NAMEEQ,
				CStringGetDatum(PGM_EXTENSION_NAME));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true,
							  NULL, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
		nspid = ((Form_pg_extension) GETSTRUCT(tup))->extnamespace;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);

	return nspid;
}

/*
 * OID of one of the extension's relations, or InvalidOid when the extension
 * is not installed (or the relation was dropped).
 */
Oid
pgm_relation(const char *relname)
{
	Oid			nspid = pgm_extension_schema();

	if (!OidIsValid(nspid))
		return InvalidOid;
	return get_relname_relid(relname, nspid);
}

/* Owner of a relation; errors out if it is gone. */
Oid
pgm_relation_owner(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

/*
 * Is a boolean option of a utility statement (VACUUM (FULL), REINDEX
 * (CONCURRENTLY), ...) given and true?  A bare option name means true.
 */
bool
pgm_option_true(List *options, const char *name)
{
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *def = lfirst_node(DefElem, lc);

		if (strcmp(def->defname, name) == 0)
			return def->arg == NULL || defGetBoolean(def);
	}
	return false;
}
