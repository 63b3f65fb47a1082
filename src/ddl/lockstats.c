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
 * a transaction block they are not, and the statement is remembered here
 * (pgm_lockstats_pending); at pre-commit the transaction updates its own
 * history row with the hold time and the peak.  That row was inserted by
 * the same transaction and has never been visible to anybody else, so the
 * history stays append-only for everything that committed: no committed
 * row is ever changed.  A subtransaction that rolls back takes its rows
 * with it, and its pending entries are dropped here at the same time.
 * The update runs as the history's owner, which the append-only trigger
 * lets through.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timeout.h"
#include "utils/wait_event.h"

#include "core/catalog.h"
#include "core/guc.h"
#include "core/own_sql.h"
#include "core/spi.h"
#include "ddl/lockstats.h"

#define HISTORY_TABLE	"migrate_ddl_history"

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

/* A statement of this transaction whose figures are known at commit. */
typedef struct PendingRow
{
	int64		history_id;
	Oid			relid;
	char	   *relname;
	LOCKMODE	mode;
	TimestampTz granted;
	int64		wait_us;
	int			retries;
	int			peak;
	char	   *statement;
	SubTransactionId subid;
} PendingRow;

/* Of PendingRow *, in TopTransactionContext. */
static List *pending = NIL;

/*
 * Relations that recorded statements of this transaction created, in
 * TopTransactionContext.  One whose subtransaction rolled back stays in
 * the list: its OID names nothing any more in this transaction.
 */
static List *xact_created = NIL;

static void lockstats_xact_callback(XactEvent event, void *arg);
static void lockstats_subxact_callback(SubXactEvent event,
									   SubTransactionId mySubid,
									   SubTransactionId parentSubid,
									   void *arg);

/* Transaction callbacks, from _PG_init. */
void
pgm_lockstats_init(void)
{
	RegisterXactCallback(lockstats_xact_callback, NULL);
	RegisterSubXactCallback(lockstats_subxact_callback, NULL);
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
 * Remember a statement of a transaction block whose hold time is known only
 * when the transaction ends.
 */
void
pgm_lockstats_pending(int64 history_id, Oid relid, const char *relname,
					  LOCKMODE mode, TimestampTz granted, int64 wait_us,
					  int retries, int peak, const char *statement)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(TopTransactionContext);
	PendingRow *p = palloc0(sizeof(PendingRow));

	p->history_id = history_id;
	p->relid = relid;
	p->relname = relname ? pstrdup(relname) : NULL;
	p->mode = mode;
	p->granted = granted;
	p->wait_us = wait_us;
	p->retries = retries;
	p->peak = peak;
	p->statement = statement ? pstrdup(statement) : NULL;
	p->subid = GetCurrentSubTransactionId();
	pending = lappend(pending, p);
	MemoryContextSwitchTo(oldcxt);
}

/*
 * At pre-commit: the hold time and the peak of every pending statement,
 * written into its history row by this transaction, as the history's
 * owner, in one UPDATE for all of them (statements of a migration commit
 * together).  A history table that is gone since the rows were inserted
 * (dropped by a later statement of the transaction) leaves nothing to
 * update.
 */
static SPIPlanPtr update_plan = NULL;	/* kept for the backend's life */
static Oid	update_plan_relid = InvalidOid;	/* the history it was made for */

static void
complete_pending(void)
{
	Oid			relid = pgm_relation(HISTORY_TABLE);
	TimestampTz now = GetCurrentTimestamp();
	bool		writable = false;
	int			n = list_length(pending);
	Datum	   *ids = palloc(sizeof(Datum) * n);
	Datum	   *helds = palloc(sizeof(Datum) * n);
	Datum	   *peaks = palloc(sizeof(Datum) * n);
	int			i = 0;
	ListCell   *lc;

	if (OidIsValid(relid) &&
		get_attnum(relid, "lock_held") != InvalidAttrNumber &&
		get_attnum(relid, "peak_waiters") != InvalidAttrNumber)
	{
		char	   *nspname = get_namespace_name(get_rel_namespace(relid));
		char	   *relname = get_rel_name(relid);

		writable = (nspname != NULL && relname != NULL);
		if (writable && (update_plan == NULL || update_plan_relid != relid))
		{
			Oid			argtypes[3] = {INT8ARRAYOID, INTERVALARRAYOID, INT4ARRAYOID};
			SPIPlanPtr	plan;

			/*
			 * Kept, as the history's INSERT is, and generic: a custom plan
			 * for the arrays' sizes would be made again at every commit.
			 */
			if (SPI_connect() != SPI_OK_CONNECT)
				elog(ERROR, "SPI_connect failed");
			plan = SPI_prepare_cursor(psprintf("UPDATE %s AS h SET lock_held = v.held, peak_waiters = v.peak"
										" FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2),"
										" pg_catalog.unnest($3)) AS v(id, held, peak)"
										" WHERE h.id OPERATOR(pg_catalog.=) v.id",
										quote_qualified_identifier(nspname, relname)),
									  3, argtypes, CURSOR_OPT_GENERIC_PLAN);
			if (plan == NULL)
				elog(ERROR, "could not prepare the history update: %s",
					 SPI_result_code_string(SPI_result));
			SPI_keepplan(plan);
			SPI_finish();
			if (update_plan)
				SPI_freeplan(update_plan);
			update_plan = plan;
			update_plan_relid = relid;
		}
	}

	foreach(lc, pending)
	{
		PendingRow *p = lfirst(lc);
		int64		held_us = Max(now - p->granted, 0);
		int			peak = Max(p->peak, pgm_lockstats_waiters(p->relid, p->mode));
		Interval   *held = palloc0(sizeof(Interval));

		held->time = held_us;
		ids[i] = Int64GetDatum(p->history_id);
		helds[i] = IntervalPGetDatum(held);
		peaks[i] = Int32GetDatum(peak);
		i++;
		pgm_lockstats_hold_report(p->relname, p->mode, p->wait_us, p->retries,
								  held_us, peak, p->statement, true);
	}

	if (writable)
	{
		Datum		values[3];
		PgmSavedUser saved;
		PgmSavedHooks hooks;

		values[0] = PointerGetDatum(construct_array(ids, n, INT8OID, sizeof(int64),
													FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		values[1] = PointerGetDatum(construct_array(helds, n, INTERVALOID, sizeof(Interval),
													false, TYPALIGN_DOUBLE));
		values[2] = PointerGetDatum(construct_array(peaks, n, INT4OID, sizeof(int32),
													true, TYPALIGN_INT));
		/* Portals are closed by now: the update brings its own snapshot. */
		PushActiveSnapshot(GetTransactionSnapshot());
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		/* As the owner, and unseen by other extensions' hooks, as the INSERT. */
		pgm_become_owner(pgm_relation_owner(relid), &saved);
		pgm_hide_from_hooks(&hooks);
		PG_TRY();
		{
			if (SPI_execute_plan(update_plan, values, NULL, false, 0) != SPI_OK_UPDATE)
				elog(ERROR, "could not complete the DDL history's lock figures");
		}
		PG_FINALLY();
		{
			pgm_restore_hooks(&hooks);
			pgm_restore_user(&saved);
		}
		PG_END_TRY();
		SPI_finish();
		PopActiveSnapshot();
	}
}

/*
 * Complete the pending statements before the commit (or PREPARE
 * TRANSACTION: the row is written before the locks are handed to the
 * prepared transaction, and the hold time ends there); forget them when
 * the transaction ends.  An aborted transaction's rows are gone; a hold
 * above the warning threshold is still logged.
 */
static void
lockstats_xact_callback(XactEvent event, void *arg)
{
	if (event != XACT_EVENT_PRE_COMMIT && event != XACT_EVENT_PRE_PREPARE)
		xact_created = NIL;
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			/* A failure aborts the transaction: the abort below logs. */
			if (pending != NIL)
				complete_pending();
			pending = NIL;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			{
				TimestampTz now = GetCurrentTimestamp();
				ListCell   *lc;

				foreach(lc, pending)
				{
					PendingRow *p = lfirst(lc);

					pgm_lockstats_hold_report(p->relname, p->mode, p->wait_us,
											  p->retries, Max(now - p->granted, 0),
											  p->peak, p->statement, false);
				}
				pending = NIL;
				break;
			}
		default:
			pending = NIL;
			break;
	}
}

/*
 * A subtransaction that rolls back takes its history rows with it: drop
 * their entries.  One that commits hands its entries to its parent.
 */
static void
lockstats_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						   SubTransactionId parentSubid, void *arg)
{
	ListCell   *lc;

	if (pending == NIL)
		return;

	if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		foreach(lc, pending)
		{
			PendingRow *p = lfirst(lc);

			if (p->subid == mySubid)
				pending = foreach_delete_current(pending, lc);
		}
	}
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
	{
		foreach(lc, pending)
		{
			PendingRow *p = lfirst(lc);

			if (p->subid == mySubid)
				p->subid = parentSubid;
		}
	}
}
