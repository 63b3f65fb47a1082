/*-------------------------------------------------------------------------
 *
 * fingerprint.h
 *		The catalog fingerprint that proves a migration reversible
 *		(migrate/fingerprint.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_MIGRATE_MIGRATE_FINGERPRINT_H
#define PG_MIGRATE_MIGRATE_FINGERPRINT_H

#include "postgres.h"

typedef struct PgmFingerprint PgmFingerprint;
typedef void (*PgmDiffCallback) (void *arg, const char *kind,
								 const char *object, const char *difference,
								 const char *before, const char *after);

extern PgmFingerprint *pgm_fingerprint(MemoryContext cxt);
extern void pgm_fingerprint_diff(PgmFingerprint *before, PgmFingerprint *after,
								 PgmDiffCallback callback, void *arg);

#endif							/* PG_MIGRATE_MIGRATE_FINGERPRINT_H */
