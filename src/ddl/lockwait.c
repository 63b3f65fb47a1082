/*-------------------------------------------------------------------------
 *
 * lockwait.c
 *		Lock-queue protection shared by the hook (guard.c), migrate_apply
 *		and the migration jobs: the bounded lock_timeout of one attempt,
 *		the backoff between attempts, whether sleeping would stall other
 *		sessions, and the description of the sessions a wait was blocked by.
 *
 * A DDL statement waiting for AccessExclusiveLock behind one long
 * transaction makes every later query on the table queue behind it.
 * Callers run each attempt with pgm_attempt_lock_timeout(), roll the
 * attempt back after a timeout (which releases whatever it had locked) and
 * sleep pgm_backoff_next() before the next one, but only while
 * pgm_holds_blocking_locks() says the transaction holds nothing that would
 * stall others meanwhile.  The final error names the blockers
 * (pgm_describe_blockers).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "catalog/pg_authid.h"
#include "utils/acl.h"
#include "utils/backend_status.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "core/compat.h"
#include "core/guc.h"
#include "ddl/classify.h"
#include "ddl/lockwait.h"

/* Longest sleep between two attempts, ms. */
#define PGM_MAX_RETRY_DELAY		1000
/* First sleep after a lock timeout, ms. */
#define PGM_FIRST_RETRY_DELAY	50

/* The lock_timeout an attempt runs with: ours, or the session's if shorter. */
int
pgm_attempt_lock_timeout(void)
{
	if (LockTimeout > 0 && LockTimeout < pgm_lock_timeout)
		return LockTimeout;
	return pgm_lock_timeout;
}

/*
 * The next backoff after a lock timeout: exponential from
 * PGM_FIRST_RETRY_DELAY up to PGM_MAX_RETRY_DELAY, with equal jitter (half
 * the delay fixed, half random) so that sessions retrying against the same
 * blocker do not wake up together.  *delay is 0 before the first retry.
 */
int
pgm_backoff_next(int *delay)
{
	*delay = (*delay == 0) ? PGM_FIRST_RETRY_DELAY : Min(*delay * 2, PGM_MAX_RETRY_DELAY);
	return *delay / 2 + (int) (PGM_random_double() * (*delay / 2 + 1));
}

/*
 * Sleep the whole time asked, holding no lock of ours, and wake up for
 * interrupts.  The latch is set by more than interrupts: every SIGALRM sets
 * it, and a timeout that was disabled (the lock-wait sampler of
 * lockstats.c, every PGM_LOCK_SAMPLE_MS) leaves its alarm armed, so a
 * single wait would end at the next tick and the backoff would shrink to a
 * few milliseconds, putting the statement back in the lock queue in front
 * of the readers many times more often.
 */
void
pgm_sleep_ms(int ms)
{
	TimestampTz end = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), ms);

	for (;;)
	{
		long		left = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), end);

		if (left <= 0)
			break;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 left, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * Does this transaction hold a lock that blocks other sessions' reads or
 * writes (ShareLock or stronger) on a relation they can see?  Then sleeping
 * between attempts would stall them, and we fail fast instead.  Only asked
 * after a lock timeout, so the cost of reading the lock table is paid only
 * by DDL that was going to wait anyway.
 */
bool
pgm_holds_blocking_locks(void)
{
	LockData   *ld = GetLockStatusData();
	int			i;

	for (i = 0; i < ld->nelements; i++)
	{
		LockInstanceData *li = &ld->locks[i];
		LOCKMASK	strong = 0;
		LOCKMODE	m;

		if (li->pid != MyProcPid ||
			li->locktag.locktag_type != LOCKTAG_RELATION ||
			li->locktag.locktag_field1 != MyDatabaseId)
			continue;
		for (m = ShareLock; m <= MaxLockMode; m++)
			strong |= LOCKBIT_ON(m);
		if ((li->holdMask & strong) == 0)
			continue;
		if (pgm_relation_visible_to_others(li->locktag.locktag_field2))
			return true;
	}
	return false;
}

/* pg_stat_activity's words for a backend state. */
static const char *
backend_state_name(BackendState state)
{
	switch (state)
	{
		case STATE_IDLE:
			return "idle";
		case STATE_RUNNING:
			return "active";
		case STATE_IDLEINTRANSACTION:
			return "idle in transaction";
		case STATE_FASTPATH:
			return "fastpath function call";
		case STATE_IDLEINTRANSACTION_ABORTED:
			return "idle in transaction (aborted)";
		case STATE_DISABLED:
			return "disabled";
		default:
			return "unknown";
	}
}

/* One blocking backend, the way pg_stat_activity would show it. */
static void
describe_backend(StringInfo buf, int pid)
{
	int			n = pgstat_fetch_stat_numbackends();
	int			i;

	for (i = 1; i <= n; i++)
	{
		LocalPgBackendStatus *local = PGM_local_beentry_by_index(i);
		PgBackendStatus *be;
		long		secs;
		int			usecs;
		const char *query;

		if (local == NULL || local->backendStatus.st_procpid != pid)
			continue;
		be = &local->backendStatus;
		TimestampDifference(be->st_xact_start_timestamp ? be->st_xact_start_timestamp :
							be->st_state_start_timestamp,
							GetCurrentTimestamp(), &secs, &usecs);

		/* The same visibility rule as pg_stat_activity.query. */
		if (has_privs_of_role(GetUserId(), be->st_userid) ||
			has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS))
			query = pgstat_clip_activity(be->st_activity_raw);
		else
			query = "<insufficient privilege>";

		appendStringInfo(buf, "pid %d (application \"%s\", %s, transaction open for %ld.%03d s, query: %s)",
						 pid, be->st_appname, backend_state_name(be->st_state),
						 secs, usecs / 1000, query);
		return;
	}
	appendStringInfo(buf, "pid %d", pid);
}

/*
 * The sessions holding a lock that conflicts with one we need.  Our wait
 * is over when this runs, so pg_blocking_pids() no longer knows; the lock
 * table does.
 */
char *
pgm_describe_blockers(List *locks)
{
	LockData   *ld = GetLockStatusData();
	LOCKTAG		reltag;
	LockMethod	lm;
	List	   *pids = NIL;
	StringInfoData buf;
	ListCell   *lc;
	int			i;

	SET_LOCKTAG_RELATION(reltag, MyDatabaseId, InvalidOid);
	lm = GetLockTagsMethodTable(&reltag);
	pgstat_clear_backend_activity_snapshot();

	for (i = 0; i < ld->nelements; i++)
	{
		LockInstanceData *li = &ld->locks[i];

		if (li->pid == MyProcPid || li->pid == 0 ||
			li->locktag.locktag_type != LOCKTAG_RELATION ||
			li->locktag.locktag_field1 != MyDatabaseId)
			continue;
		foreach(lc, locks)
		{
			PgmLockRequest *req = lfirst(lc);

			if (req->relid == li->locktag.locktag_field2 &&
				(li->holdMask & lm->conflictTab[req->lockmode]) != 0)
			{
				pids = list_append_unique_int(pids, li->pid);
				break;
			}
		}
	}

	initStringInfo(&buf);
	if (pids == NIL)
		appendStringInfoString(&buf, "The sessions holding the conflicting locks have ended.");
	else
	{
		appendStringInfoString(&buf, "Blocked by ");
		foreach(lc, pids)
		{
			if (lc != list_head(pids))
				appendStringInfoString(&buf, "; ");
			describe_backend(&buf, lfirst_int(lc));
		}
		appendStringInfoChar(&buf, '.');
	}
	return buf.data;
}
