/*-------------------------------------------------------------------------
 *
 * lockstats.c
 *		What a recorded DDL statement's locks cost other sessions: how long
 *		it waited for its locks, how often it retried after a lock timeout,
 *		how long it then held a lock that blocks reads or writes, and how
 *		many sessions queued behind that lock.  history.c writes the
 *		figures into the statement's history row.
 *
 * Lock wait.  PostgreSQL keeps no per-backend tally of time spent in the
 * lock queue, and its lock manager has no hook.  While a recorded statement
 * runs, a periodic timeout (every PGM_LOCK_SAMPLE_MS) looks at this
 * backend's own wait event; when it is of class Lock the backend is in a
 * lock queue and the period is added to a tally.  The handler runs in
 * signal context and reads one 32-bit word that only this backend writes.
 * A wait is thus known to one period; outside recorded statements the timer
 * is off, and sessions that run no DDL never start it.
 *
 * Waiters.  The sessions queued behind a lock this backend holds are
 * counted by walking the PGPROC array for processes whose awaited lock
 * (PGPROC.waitLock) is on the same relation, in a mode that conflicts with
 * ours.  It runs under the lock manager's partition lock of that relation,
 * shared, and nothing else: no snapshot of the whole lock table
 * (GetLockStatusData takes every partition lock).  A lock in another
 * partition that a process waits for is never ours, so reading its tag
 * without its partition lock can only fail to match.  The count is sampled
 * twice per statement: when the statement ends and when its transaction
 * commits; the row keeps the larger.  Sessions that queued and gave up
 * (their own lock_timeout) between the two samples are not seen.
 *
 * Lock hold.  A lock that blocks others is held until the transaction
 * ends.  A statement sent on its own (autocommit) commits right after it
 * returns: its figures are complete when its history row is written.  In
 * a transaction block they are not, and history.c keeps the statement's
 * row in memory and inserts it at pre-commit, with the hold time and the
 * peak known by then (pgm_lockstats_waiters sampled once more).  Nothing
 * is written twice, so measuring costs a transaction no more statements
 * than recording alone: no committed row is ever changed, and no
 * uncommitted one either.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "utils/memutils.h"
#include "utils/timeout.h"
#include "utils/wait_event.h"

#include "core/guc.h"
#include "ddl/lockstats.h"

/* Microseconds this backend was seen waiting in a lock queue, in total. */
static volatile int64 waited_us = 0;

/* The sampler's timeout, registered on first use; nesting depth. */
static TimeoutId sampler_id = MAX_TIMEOUTS;
static int	sampler_depth = 0;

/* What run_with_retries tells the frame of its next attempt. */
static bool attempt_set = false;
static bool attempt_alone = false;
static int	attempt_retries = 0;
static int64 attempt_wait_base = 0;

/*
 * Relations that recorded statements of this transaction created, in
 * TopTransactionContext.  One whose subtransaction rolled back stays in
 * the list: its OID names nothing any more in this transaction.
 */
static List *xact_created = NIL;

static void lockstats_xact_callback(XactEvent event, void *arg);

/* The transaction callback, from _PG_init. */
void
pgm_lockstats_init(void)
{
	RegisterXactCallback(lockstats_xact_callback, NULL);
}

/* ---------------------------------------------------------------------
 * The lock-wait sampler
 * ---------------------------------------------------------------------
 */

/*
 * The timeout handler, in signal context: is this backend in a lock queue?
 * my_wait_event_info points at our own PGPROC's word (or a local one
 * before there is a PGPROC), written only by this backend.
 */
static void
sample_lock_wait(void)
{
	uint32		info = *(volatile uint32 *) my_wait_event_info;

	if ((info & 0xFF000000) == PG_WAIT_LOCK)
		waited_us += PGM_LOCK_SAMPLE_MS * 1000;
}

/*
 * Start sampling for a statement about to run; calls nest, and only the
 * outermost starts the timer.
 */
void
pgm_lockstats_sampler_start(void)
{
	if (sampler_depth++ > 0)
		return;
	if (sampler_id == MAX_TIMEOUTS)
		sampler_id = RegisterTimeout(USER_TIMEOUT, sample_lock_wait);
	enable_timeout_every(sampler_id,
						 TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
													 PGM_LOCK_SAMPLE_MS),
						 PGM_LOCK_SAMPLE_MS);
}

/* Stop sampling (the outermost call stops the timer); never fails. */
void
pgm_lockstats_sampler_stop(void)
{
	if (sampler_depth <= 0)
		return;
	if (--sampler_depth > 0)
		return;
	if (sampler_id != MAX_TIMEOUTS)
		disable_timeout(sampler_id, false);
}

/* Total sampled lock wait of this backend so far, microseconds. */
int64
pgm_lockstats_waited_us(void)
{
	return waited_us;
}

/* ---------------------------------------------------------------------
 * Retries: guard.c's retry loop tells the history frame of an attempt how
 * many attempts came before it, where the wait tally stood at the first,
 * and whether the statement has a transaction of its own (which the
 * attempt's subtransaction hides from IsTransactionBlock()).
 * ---------------------------------------------------------------------
 */

void
pgm_lockstats_set_attempt(int retries, int64 wait_base_us, bool alone)
{
	attempt_set = true;
	attempt_alone = alone;
	attempt_retries = retries;
	attempt_wait_base = wait_base_us;
}

void
pgm_lockstats_clear_attempt(void)
{
	attempt_set = false;
}

/* Read the attempt's figures once: only the frame of the attempt gets them. */
bool
pgm_lockstats_take_attempt(int *retries, int64 *wait_base_us, bool *alone)
{
	if (!attempt_set)
		return false;
	attempt_set = false;
	*alone = attempt_alone;
	*retries = attempt_retries;
	*wait_base_us = attempt_wait_base;
	return true;
}

/* ---------------------------------------------------------------------
 * Waiters
 * ---------------------------------------------------------------------
 */

/*
 * How many sessions are waiting for a lock on the relation that conflicts
 * with the lock we hold on it (see the file header).
 */
int
pgm_lockstats_waiters(Oid relid, LOCKMODE held)
{
	LOCKTAG		tag;
	LockMethod	method;
	LWLock	   *partition;
	LOCKMASK	conflicts;
	int			count = 0;
	uint32		i;

	if (!OidIsValid(relid) || held == NoLock || ProcGlobal == NULL)
		return 0;

	SET_LOCKTAG_RELATION(tag, MyDatabaseId, relid);
	method = GetLockTagsMethodTable(&tag);
	conflicts = method->conflictTab[held];
	partition = LockHashPartitionLock(LockTagHashCode(&tag));

	LWLockAcquire(partition, LW_SHARED);
	for (i = 0; i < ProcGlobal->allProcCount; i++)
	{
		PGPROC	   *proc = &ProcGlobal->allProcs[i];
		LOCK	   *awaited = proc->waitLock;

		if (awaited == NULL || proc == MyProc)
			continue;
		if (memcmp(&awaited->tag, &tag, sizeof(LOCKTAG)) != 0)
			continue;
		if ((conflicts & LOCKBIT_ON(proc->waitLockMode)) != 0)
			count++;
	}
	LWLockRelease(partition);
	return count;
}

/* ---------------------------------------------------------------------
 * Relations created in this transaction: invisible to every other session
 * until it commits, so nobody can queue behind their locks.
 * ---------------------------------------------------------------------
 */

void
pgm_lockstats_created(Oid relid)
{
	MemoryContext oldcxt;

	if (!IsTransactionState())
		return;
	oldcxt = MemoryContextSwitchTo(TopTransactionContext);
	xact_created = lappend_oid(xact_created, relid);
	MemoryContextSwitchTo(oldcxt);
}

/* The list itself (callers copy what they keep). */
List *
pgm_lockstats_xact_created(void)
{
	return xact_created;
}

/* ---------------------------------------------------------------------
 * Figures known at the end of the transaction
 * ---------------------------------------------------------------------
 */

/*
 * Log a statement that held a blocking lock longer than
 * pg_migrate.lock_hold_warning, with its figures.
 */
void
pgm_lockstats_hold_report(const char *relname, LOCKMODE mode, int64 wait_us,
						  int retries, int64 held_us, int peak,
						  const char *statement, bool committed)
{
	if (pgm_lock_hold_warning <= 0 ||
		held_us <= (int64) pgm_lock_hold_warning * 1000)
		return;

	ereport(LOG,
			(errmsg("DDL statement held %s on %s for %.3f s%s",
					GetLockmodeName(DEFAULT_LOCKMETHOD, mode),
					relname ? relname : "?", held_us / 1000000.0,
					committed ? "" : " before it was rolled back"),
			 errdetail("Lock wait %.3f s, lock-timeout retries %d, lock held %.3f s, "
					   "peak sessions waiting behind it %d, pg_migrate.lock_hold_warning %d ms. "
					   "Statement: %s",
					   wait_us / 1000000.0, retries, held_us / 1000000.0, peak,
					   pgm_lock_hold_warning, statement ? statement : "?"),
			 errhidestmt(true)));
}

/*
 * Forget the transaction's new relations when it ends (not at pre-commit:
 * history rows written then still ask).
 */
static void
lockstats_xact_callback(XactEvent event, void *arg)
{
	if (event != XACT_EVENT_PRE_COMMIT && event != XACT_EVENT_PRE_PREPARE)
		xact_created = NIL;
}
