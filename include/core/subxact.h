/*-------------------------------------------------------------------------
 *
 * subxact.h
 *		Work in an internal subtransaction, its error caught
 *		(core/subxact.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_MIGRATE_CORE_SUBXACT_H
#define PG_MIGRATE_CORE_SUBXACT_H

#include "postgres.h"

typedef void (*PgmSubxactFn) (void *arg);

extern ErrorData *pgm_subxact_run(PgmSubxactFn fn, void *arg, bool keep);

#endif							/* PG_MIGRATE_CORE_SUBXACT_H */
