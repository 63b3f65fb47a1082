/*-------------------------------------------------------------------------
 *
 * session_tables.c
 *		Tables a session created and no other session has used since.
 *
 * A blocking operation hurts the sessions that queue behind it.  On a table
 * this session created and nobody else has touched (pgbench -i adding its
 * primary keys after loading its tables, pg_restore or psql < dump building
 * indexes and foreign keys on the tables it just created and filled), no
 * one is using the table, and no one's code knows it yet: such a table is
 * judged like one created in the current transaction, never "populated",
 * whatever its size.  The data-loss rules are not relaxed by this alone:
 * a TRUNCATE of such a table is let through only when the DDL history also
 * shows the role created it within pg_migrate.own_undo_window (policy.c,
 * own_recent_undo).
 *
 * The facts come from the server, not from anything a client says:
 *	- "created by this session": the ProcessUtility hook registers the
 *	  table after this backend's CREATE TABLE (AS) has run;
 *	- "used by no other session": every backend with the library loaded
 *	  reports the tables of every plan it starts (ExecutorStart, which
 *	  covers queries, DML, functions and triggers, and prepared
 *	  statements) and of the utility statements that name tables (COPY,
 *	  LOCK, ALTER TABLE, CREATE INDEX, ...); a table reported by a process
 *	  other than its creator (or the creator's parallel workers) is marked
 *	  used for good;
 *	- at the moment of judging, no other session holds or waits for a lock
 *	  on it (which also covers the paths that never reach those hooks: a
 *	  logical replication apply worker, an extension's C code).
 *
 * The registry is a fixed array in shared memory under a spinlock; when it
 * is full, new tables are simply not registered and are judged as usual.
 * A backend's entries are removed when it exits.  An entry whose table was
 * dropped (or whose creating transaction rolled back) is harmless: its OID
 * names nothing, and its creator reuses the slot.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "catalog/namespace.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "ddl/session_tables.h"

/* Tables registered at once, cluster-wide. */
#define PGM_SESSION_TABLES 1024

typedef struct SessionTable
{
	Oid			dbid;			/* InvalidOid: free slot */
	Oid			relid;
	int			pid;			/* the creating backend */
	bool		used_by_others;
} SessionTable;

typedef struct SessionTableRegistry
{
	slock_t		mutex;
	pg_atomic_uint32 live;		/* slots in use: 0 lets every hook return
								 * at once */
	SessionTable entries[PGM_SESSION_TABLES];
} SessionTableRegistry;

static SessionTableRegistry *registry = NULL;
static bool cleanup_registered = false;

/* The hook this one chains to; _PG_init installs it. */
ExecutorStart_hook_type pgm_session_tables_prev_ExecutorStart = NULL;

/* Ask for the registry's memory (shmem_request_hook, via _PG_init). */
void
pgm_session_tables_shmem_request(void)
{
	RequestAddinShmemSpace(MAXALIGN(sizeof(SessionTableRegistry)));
}

/* Attach to the registry, creating it the first time (shmem_startup_hook). */
void
pgm_session_tables_shmem_startup(void)
{
	bool		found;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	registry = ShmemInitStruct("pg_migrate session tables",
							   sizeof(SessionTableRegistry), &found);
	if (!found)
	{
		memset(registry, 0, sizeof(SessionTableRegistry));
		SpinLockInit(&registry->mutex);
		pg_atomic_init_u32(&registry->live, 0);
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * ExecutorStart_hook: every plan started reports the tables it uses, so
 * that a table another session created is known as used by others.  One
 * atomic read when no table is registered.
 */
void
pgm_session_tables_ExecutorStart(QueryDesc *queryDesc, int eflags)
{
	if (queryDesc != NULL && queryDesc->plannedstmt != NULL)
		pgm_session_tables_note_use(queryDesc->plannedstmt->relationOids);
	if (pgm_session_tables_prev_ExecutorStart)
		pgm_session_tables_prev_ExecutorStart(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
}

/*
 * The process a table's use is charged to: a parallel worker works for its
 * leader.
 */
static int
acting_pid(void)
{
	if (MyProc != NULL && MyProc->lockGroupLeader != NULL)
		return MyProc->lockGroupLeader->pid;
	return MyProcPid;
}

/* At backend exit: this backend's tables are nobody's any more. */
static void
forget_own_tables(int code, Datum arg)
{
	int			i;
	uint32		freed = 0;

	if (registry == NULL)
		return;
	SpinLockAcquire(&registry->mutex);
	for (i = 0; i < PGM_SESSION_TABLES; i++)
	{
		SessionTable *e = &registry->entries[i];

		if (OidIsValid(e->dbid) && e->pid == MyProcPid)
		{
			e->dbid = InvalidOid;
			freed++;
		}
	}
	SpinLockRelease(&registry->mutex);
	if (freed > 0)
		pg_atomic_sub_fetch_u32(&registry->live, freed);
}

/*
 * This session has just created table "relid".  Registered if there is
 * room; a slot of ours whose table no longer exists is reused first.
 */
void
pgm_session_table_created(Oid relid)
{
	SessionTable *slot = NULL;
	List	   *stale = NIL;
	int			i;
	bool		fresh = false;

	if (registry == NULL || !OidIsValid(relid) || IsParallelWorker())
		return;
	if (!cleanup_registered)
	{
		before_shmem_exit(forget_own_tables, (Datum) 0);
		cleanup_registered = true;
	}

	/* Our own slots whose tables are gone (looked up outside the lock). */
	SpinLockAcquire(&registry->mutex);
	for (i = 0; i < PGM_SESSION_TABLES; i++)
	{
		SessionTable *e = &registry->entries[i];

		if (e->dbid == MyDatabaseId && e->pid == MyProcPid)
			stale = lappend_int(stale, i);
	}
	SpinLockRelease(&registry->mutex);
	{
		ListCell   *lc;
		List	   *gone = NIL;

		foreach(lc, stale)
		{
			SessionTable *e = &registry->entries[lfirst_int(lc)];

			/* Only we write our slots, so reading relid unlocked is safe. */
			if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(e->relid)))
				gone = lappend_int(gone, lfirst_int(lc));
		}
		stale = gone;
	}

	SpinLockAcquire(&registry->mutex);
	for (i = 0; i < PGM_SESSION_TABLES && slot == NULL; i++)
	{
		SessionTable *e = &registry->entries[i];

		if (!OidIsValid(e->dbid))
		{
			slot = e;
			fresh = true;
		}
		else if (list_member_int(stale, i) && e->pid == MyProcPid)
			slot = e;
	}
	if (slot)
	{
		slot->dbid = MyDatabaseId;
		slot->relid = relid;
		slot->pid = MyProcPid;
		slot->used_by_others = false;
	}
	SpinLockRelease(&registry->mutex);
	if (slot && fresh)
		pg_atomic_add_fetch_u32(&registry->live, 1);
}

/*
 * The current process is about to use these tables (OIDs): any of them
 * registered by another session is marked used.  Costs one atomic read
 * when nothing is registered.
 */
void
pgm_session_tables_note_use(List *relids)
{
	int			me;
	int			i;
	ListCell   *lc;

	if (registry == NULL || relids == NIL ||
		pg_atomic_read_u32(&registry->live) == 0)
		return;
	me = acting_pid();
	SpinLockAcquire(&registry->mutex);
	for (i = 0; i < PGM_SESSION_TABLES; i++)
	{
		SessionTable *e = &registry->entries[i];

		if (e->dbid != MyDatabaseId || e->pid == me || e->used_by_others)
			continue;
		foreach(lc, relids)
		{
			if (lfirst_oid(lc) == e->relid)
			{
				e->used_by_others = true;
				break;
			}
		}
	}
	SpinLockRelease(&registry->mutex);
}

void
pgm_session_table_note_use(Oid relid)
{
	if (registry == NULL || !OidIsValid(relid) ||
		pg_atomic_read_u32(&registry->live) == 0)
		return;
	pgm_session_tables_note_use(list_make1_oid(relid));
}

/* Does another process (not one of our parallel workers) lock it now? */
static bool
locked_by_others(Oid relid)
{
	LockData   *ld = GetLockStatusData();
	int			me = acting_pid();
	int			i;

	for (i = 0; i < ld->nelements; i++)
	{
		LockInstanceData *li = &ld->locks[i];

		if (li->locktag.locktag_type != LOCKTAG_RELATION ||
			li->locktag.locktag_field1 != MyDatabaseId ||
			li->locktag.locktag_field2 != relid)
			continue;
		if (li->pid == MyProcPid || li->leaderPid == me)
			continue;
		if (li->holdMask != 0 || li->waitLockMode != NoLock)
			return true;
	}
	return false;
}

/*
 * Did this session create the table, and has no other session used it (nor
 * holds or waits for a lock on it now)?
 */
bool
pgm_session_table_private(Oid relid)
{
	bool		mine = false;
	int			i;

	if (registry == NULL || !OidIsValid(relid) ||
		pg_atomic_read_u32(&registry->live) == 0)
		return false;
	SpinLockAcquire(&registry->mutex);
	for (i = 0; i < PGM_SESSION_TABLES; i++)
	{
		SessionTable *e = &registry->entries[i];

		if (e->dbid == MyDatabaseId && e->relid == relid &&
			e->pid == acting_pid())
		{
			mine = !e->used_by_others;
			break;
		}
	}
	SpinLockRelease(&registry->mutex);
	return mine && !locked_by_others(relid);
}

/*
 * The tables a utility statement of this process names, as far as they can
 * be used by it: COPY, LOCK, ALTER TABLE, CREATE INDEX, CREATE TRIGGER,
 * TRUNCATE, VACUUM/ANALYZE, CLUSTER, REINDEX.  Names are resolved without
 * locks, only when some table is registered at all.
 */
void
pgm_session_tables_note_utility(Node *parsetree)
{
	List	   *rvs = NIL;
	List	   *relids = NIL;
	ListCell   *lc;

	if (registry == NULL || parsetree == NULL ||
		pg_atomic_read_u32(&registry->live) == 0)
		return;
	switch (nodeTag(parsetree))
	{
		case T_CopyStmt:
			rvs = list_make1(((CopyStmt *) parsetree)->relation);
			break;
		case T_LockStmt:
			rvs = ((LockStmt *) parsetree)->relations;
			break;
		case T_AlterTableStmt:
			rvs = list_make1(((AlterTableStmt *) parsetree)->relation);
			break;
		case T_IndexStmt:
			rvs = list_make1(((IndexStmt *) parsetree)->relation);
			break;
		case T_CreateTrigStmt:
			rvs = list_make1(((CreateTrigStmt *) parsetree)->relation);
			break;
		case T_TruncateStmt:
			rvs = ((TruncateStmt *) parsetree)->relations;
			break;
		case T_ClusterStmt:
			rvs = list_make1(((ClusterStmt *) parsetree)->relation);
			break;
		case T_ReindexStmt:
			rvs = list_make1(((ReindexStmt *) parsetree)->relation);
			break;
		case T_VacuumStmt:
			foreach(lc, ((VacuumStmt *) parsetree)->rels)
			{
				VacuumRelation *vrel = lfirst_node(VacuumRelation, lc);

				if (OidIsValid(vrel->oid))
					relids = lappend_oid(relids, vrel->oid);
				else
					rvs = lappend(rvs, vrel->relation);
			}
			break;
		default:
			return;
	}
	foreach(lc, rvs)
	{
		RangeVar   *rv = (RangeVar *) lfirst(lc);

		if (rv != NULL && IsA(rv, RangeVar))
			relids = lappend_oid(relids, RangeVarGetRelid(rv, NoLock, true));
	}
	pgm_session_tables_note_use(relids);
}
