/*-------------------------------------------------------------------------
 *
 * lockstats.h
 *		What a DDL statement's locks cost other sessions (ddl/lockstats.c):
 *		the wait sampler, the count of sessions queued behind a lock, and
 *		the figures only known when the transaction ends.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_MIGRATE_DDL_LOCKSTATS_H
#define PG_MIGRATE_DDL_LOCKSTATS_H

#include "postgres.h"

#include "nodes/pg_list.h"
#include "storage/lockdefs.h"
#include "utils/timestamp.h"

/* Period of the lock-wait sampler, ms: the precision of a lock wait. */
#define PGM_LOCK_SAMPLE_MS	10

/* The weakest lock that blocks other sessions' writes (or more). */
#define PGM_BLOCKING_LOCK	ShareLock

extern void pgm_lockstats_init(void);

extern void pgm_lockstats_sampler_start(void);
extern void pgm_lockstats_sampler_stop(void);
extern int64 pgm_lockstats_waited_us(void);

extern void pgm_lockstats_set_attempt(int retries, int64 wait_base_us,
									  bool alone);
extern void pgm_lockstats_clear_attempt(void);
extern bool pgm_lockstats_take_attempt(int *retries, int64 *wait_base_us,
									   bool *alone);

extern int	pgm_lockstats_waiters(Oid relid, LOCKMODE held);

extern void pgm_lockstats_created(Oid relid);
extern List *pgm_lockstats_xact_created(void);

extern void pgm_lockstats_hold_report(const char *relname, LOCKMODE mode,
									  int64 wait_us, int retries,
									  int64 held_us, int peak,
									  const char *statement, bool committed);

#endif							/* PG_MIGRATE_DDL_LOCKSTATS_H */
