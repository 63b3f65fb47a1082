/*-------------------------------------------------------------------------
 *
 * catalog.h
 *		Finding the extension's own objects through the catalog, and the
 *		preload check (core/catalog.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_MIGRATE_CORE_CATALOG_H
#define PG_MIGRATE_CORE_CATALOG_H

#include "postgres.h"

#include "core/compat.h"

#define PGM_EXTENSION_NAME	"pg_migrate"

/* Names of the job tables, in the extension's schema. */
#define PGM_JOB_TABLE		"migrate_job_state"
#define PGM_SLICE_TABLE		"migrate_job_slice"
#define PGM_SCRIPT_TABLE	"migrate_job_script"	/* since 1.1 */

/* SQLSTATE of errors raised by pg_migrate itself (class PM = pg_migrate). */
#define ERRCODE_PGM_NOT_PRELOADED	MAKE_SQLSTATE('P','M','0','0','1')

/* True when the library was loaded by shared_preload_libraries. */
extern bool pgm_preloaded;

extern void pgm_check_preloaded(void);
extern Oid	pgm_extension_schema(void);
extern Oid	pgm_relation(const char *relname);
extern Oid	pgm_relation_owner(Oid relid);
extern char *pgm_job_table_name(const char *relname);
extern Oid	pgm_job_table_owner(void);

#endif							/* PG_MIGRATE_CORE_CATALOG_H */
