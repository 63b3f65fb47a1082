/*-------------------------------------------------------------------------
 *
 * migrate.h
 *		Versioned migrations (migrate/migrate.c): parsing and running
 *		scripts, and the bookkeeping of migrate_migrations shared with the
 *		migration jobs.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_MIGRATE_MIGRATE_MIGRATE_H
#define PG_MIGRATE_MIGRATE_MIGRATE_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "fmgr.h"
#include "nodes/parsenodes.h"

#include "migrate/fingerprint.h"

/* One statement of a migration script. */
typedef struct PgmScriptStmt
{
	int			number;			/* 1-based position in the script */
	RawStmt    *raw;
	char	   *text;			/* the statement alone */
	bool		own_transaction;	/* cannot run inside a transaction block */
} PgmScriptStmt;

/* A migration as migrate_migrations records it. */
typedef struct PgmAppliedMigration
{
	const char *version;
	const char *description;
	const char *up;
	const char *down;
	bool		irreversible;
	const char *checksum;
	Interval   *duration;
	int			retries;
	const char *search_path;
	const char *applied_by;		/* NULL: the session user */
	Oid			applied_as;		/* InvalidOid: the current user */
} PgmAppliedMigration;

/* The migration a rollback would undo, with its scripts. */
typedef struct PgmRollbackTarget
{
	char	   *version;
	char	   *up;
	char	   *down;
	char	   *search_path;
} PgmRollbackTarget;

extern List *pgm_parse_script(const char *script, const char *what,
							  bool allow_nontransactional);
extern char *pgm_migration_checksum(const char *up, const char *down);
extern char *pgm_text_arg(FunctionCallInfo fcinfo, int n);
extern void pgm_check_version(const char *version);
extern void pgm_check_migration_args(const char *version, const char *up,
									 const char *down, bool irreversible);
extern void pgm_check_not_standby(void);
extern bool pgm_bool_arg(FunctionCallInfo fcinfo, int argno, const char *name);
extern void pgm_serialise_migrations(bool bounded);
extern int	pgm_migrations_execute(const char *sql_fmt, int nargs, Oid *types,
								   Datum *values, const char *nulls);
extern bool pgm_migration_applied(const char *version, const char *checksum);
extern void pgm_record_applied(const PgmAppliedMigration *m);
extern void pgm_rollback_target(PgmRollbackTarget *t, const char *version, bool force);
extern void pgm_record_rolled_back(const char *version, const char *by);
extern void pgm_refuse_unfinished_async(void);
extern void pgm_judge_script_dml(PgmScriptStmt *st);
extern List *pgm_created_by(List *up_stmts);

extern void pgm_verify_scripts(const char *up, const char *down,
							   PgmDiffCallback callback, void *arg);

#endif							/* PG_MIGRATE_MIGRATE_MIGRATE_H */
