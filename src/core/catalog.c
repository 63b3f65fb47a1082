/*-------------------------------------------------------------------------
 *
 * catalog.c
 *		Finding the extension's own objects, and the preload check every
 *		SQL-callable entry point makes first.
 *
 * The extension's tables are found through pg_extension and the schema it
 * was installed in, never through search_path, so that objects a user puts
 * on their search_path can never stand in for them.
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
 * This file is part of the ground floor (src/core): it calls nothing of
 * pg_migrate outside src/core.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/pg_class.h"
#include "catalog/pg_extension.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "core/catalog.h"

/* Set by _PG_init when the library is loaded by shared_preload_libraries. */
bool		pgm_preloaded = false;

PG_FUNCTION_INFO_V1(migrate_assert_preloaded);

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

/* Schema-qualified, quoted name of one of the extension's tables. */
char *
pgm_job_table_name(const char *relname)
{
	Oid			nspid = pgm_extension_schema();
	char	   *nspname;

	if (!OidIsValid(nspid) || (nspname = get_namespace_name(nspid)) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"%s\" is not installed in this database",
						PGM_EXTENSION_NAME)));
	return quote_qualified_identifier(nspname, relname);
}

/* Owner of the job tables: the role the bookkeeping runs as. */
Oid
pgm_job_table_owner(void)
{
	Oid			relid = pgm_relation(PGM_JOB_TABLE);

	if (!OidIsValid(relid) || !OidIsValid(pgm_relation(PGM_SLICE_TABLE)))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"%s\" is not installed in this database",
						PGM_EXTENSION_NAME)));
	return pgm_relation_owner(relid);
}
