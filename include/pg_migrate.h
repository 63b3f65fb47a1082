/*-------------------------------------------------------------------------
 *
 * pg_migrate.h
 *		Declarations shared by every pg_migrate module: settings, the
 *		extension catalog lookups and the per-module entry points called from
 *		_PG_init.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_MIGRATE_H
#define PG_MIGRATE_H

#include "postgres.h"

#include "compat.h"

#define PGM_EXTENSION_NAME	"pg_migrate"

/* SQLSTATE of errors raised by pg_migrate itself (class PM = pg_migrate). */
#define ERRCODE_PGM_NOT_PRELOADED	MAKE_SQLSTATE('P','M','0','0','1')

/* Settings (pg_migrate.c) */
extern bool pgm_record_ddl;
extern bool pgm_record_temp_objects;

/* True when the library was loaded by shared_preload_libraries. */
extern bool pgm_preloaded;

/* pg_migrate.c */
extern void pgm_check_preloaded(void);
extern Oid	pgm_extension_schema(void);
extern Oid	pgm_relation(const char *relname);
extern Oid	pgm_relation_owner(Oid relid);

/* guard.c */
extern void pgm_guard_init(void);
extern bool pgm_in_own_code(void);

#endif							/* PG_MIGRATE_H */
