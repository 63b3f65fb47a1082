/*-------------------------------------------------------------------------
 *
 * migrate.h
 *		Versioned migrations (migrate.c) and the catalog fingerprint used to
 *		prove them reversible (fingerprint.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_MIGRATE_MIGRATE_H
#define PG_MIGRATE_MIGRATE_H

#include "postgres.h"

#include "nodes/parsenodes.h"

/* One statement of a migration script. */
typedef struct PgmScriptStmt
{
	int			number;			/* 1-based position in the script */
	RawStmt    *raw;
	char	   *text;			/* the statement alone */
	bool		own_transaction;	/* cannot run inside a transaction block */
} PgmScriptStmt;

extern int	pgm_apply_retries;
extern int	pgm_apply_retry_delay;
extern int	pgm_migration_lock_timeout;

extern void pgm_migrate_init(void);
extern const char *pgm_needs_own_transaction(Node *stmt);
extern List *pgm_parse_script(const char *script, const char *what,
							  bool allow_nontransactional);
extern int	pgm_pin_search_path(void);

/* fingerprint.c */
typedef struct PgmFingerprint PgmFingerprint;
typedef void (*PgmDiffCallback) (void *arg, const char *kind,
								 const char *object, const char *difference,
								 const char *before, const char *after);

extern PgmFingerprint *pgm_fingerprint(MemoryContext cxt);
extern void pgm_fingerprint_diff(PgmFingerprint *before, PgmFingerprint *after,
								 PgmDiffCallback callback, void *arg);

#endif							/* PG_MIGRATE_MIGRATE_H */
