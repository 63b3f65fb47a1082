/*-------------------------------------------------------------------------
 *
 * lockwait.h
 *		Lock-queue protection shared by the hook, migrate_apply and the
 *		migration jobs (ddl/lockwait.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_MIGRATE_DDL_LOCKWAIT_H
#define PG_MIGRATE_DDL_LOCKWAIT_H

#include "postgres.h"

#include "nodes/pg_list.h"

/*
 * Lock-queue failures use PostgreSQL's own lock_not_available (55P03), the
 * SQLSTATE of a lock timeout: clients and migrate_apply() that retry on lock
 * timeouts must recognise them.
 */
#define ERRCODE_PGM_LOCK_TIMEOUT		ERRCODE_LOCK_NOT_AVAILABLE

extern int	pgm_attempt_lock_timeout(void);
extern int	pgm_backoff_next(int *delay);
extern void pgm_sleep_ms(int ms);
extern bool pgm_holds_blocking_locks(void);
extern char *pgm_describe_blockers(List *locks);

#endif							/* PG_MIGRATE_DDL_LOCKWAIT_H */
