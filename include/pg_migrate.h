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

#include "core/compat.h"
#include "nodes/pg_list.h"

#define PGM_EXTENSION_NAME	"pg_migrate"

/* SQLSTATE of errors raised by pg_migrate itself (class PM = pg_migrate). */
#define ERRCODE_PGM_NOT_PRELOADED	MAKE_SQLSTATE('P','M','0','0','1')

/* Settings (pg_migrate.c) */
extern bool pgm_record_ddl;
extern bool pgm_record_temp_objects;
extern int	pgm_small_table_size;	/* kB; policy.c */

/* True when the library was loaded by shared_preload_libraries. */
extern bool pgm_preloaded;

/*
 * The settings a restore runs with (README, "Backups and restores"), named
 * in the hints of the errors a restore run without them meets.
 */
#define PGM_RESTORE_PGOPTIONS \
	"PGOPTIONS='-c pg_migrate.record_ddl=off -c pg_migrate.enforce=off'"

/* pg_migrate.c */
extern void pgm_check_preloaded(void);
extern bool pgm_session_is_restore(void);
extern Oid	pgm_extension_schema(void);
extern Oid	pgm_relation(const char *relname);
extern Oid	pgm_relation_owner(Oid relid);
extern bool pgm_option_true(List *options, const char *name);

/* guard.c */
extern void pgm_guard_init(void);
extern bool pgm_in_own_code(void);
extern int	pgm_own_code_enter(void);
extern void pgm_own_code_restore(int depth);

#endif							/* PG_MIGRATE_H */
