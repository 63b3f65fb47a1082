/*-------------------------------------------------------------------------
 *
 * batchend.h
 *		Where a backfill batch ends, found in the key's index
 *		(jobs/batchend.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_MIGRATE_JOBS_BATCHEND_H
#define PG_MIGRATE_JOBS_BATCHEND_H

#include "postgres.h"

extern bool pgm_batch_end_by_index(Oid relid, const char *keyname, Oid keytype,
								   bool have_lo, Datum lo, Datum hi, int64 n,
								   Datum *end, bool *found);

#endif							/* PG_MIGRATE_JOBS_BATCHEND_H */
