/*-------------------------------------------------------------------------
 *
 * guard.c
 *		The ProcessUtility hook: every utility statement of every backend
 *		passes through here.
 *
 * For a statement pg_migrate cares about the hook, in order,
 *		1. classifies it against the catalog (classify.c),
 *		2. judges the operations found against migrate_policy and
 *		   pg_migrate.enforce, raising a refusal before anything has run
 *		   (policy.c); when a rule's action is `online` and nothing is
 *		   refused, hands the statement to its online form instead, which
 *		   runs its own steps back through this hook (online/substitute.c,
 *		   reached through a pointer it installs),
 *		3. when it will wait for a lock that blocks reads or writes on an
 *		   existing table, bounds that wait with lock_timeout and, unless
 *		   the lock can be had at once, retries it inside a subtransaction,
 *		   sleeping without such locks between attempts,
 *		4. opens a history frame (statement text, start time),
 *		5. runs the statement through the previous hook or
 *		   standard_ProcessUtility,
 *		6. writes the history row, in the statement's own (sub)transaction, so
 *		   that a statement that is rolled back leaves no row.
 *
 * Lock-queue protection.  A DDL statement waiting for AccessExclusiveLock
 * behind one long transaction makes every later query on the table queue
 * behind it.  Each attempt runs with lock_timeout <= pg_migrate.lock_timeout,
 * so others never queue longer than that; after a timeout the attempt's
 * subtransaction is rolled back, which releases whatever it had locked, and
 * we sleep (exponential backoff with jitter) and try again within
 * pg_migrate.lock_retry_budget.  Sleeping is only harmless if the
 * transaction holds nothing that blocks others: when earlier statements of
 * the same transaction hold such locks, the first timeout is final.  The
 * final error names the sessions holding the conflicting locks.  When every
 * such lock could be granted at once, the statement runs without a
 * subtransaction (locks_free_now), with the same bounded lock_timeout but
 * no retry.
 *
 * Statements that cannot run in a transaction block (VACUUM, CLUSTER of
 * several tables, REINDEX SCHEMA/DATABASE, the CONCURRENTLY forms) cannot
 * run in a subtransaction either.  The CONCURRENTLY forms take only
 * ShareUpdateExclusiveLock, which nobody's reads or writes queue behind.
 * The others get the bounded lock_timeout but no retry: they commit
 * internally, so there is no subtransaction to roll back to.
 *
 * Everything else (transaction control, SET, SHOW, DML sent as utility
 * statements, ...) goes straight to the next hook with no work beyond a
 * switch on the node tag, so sessions that run no DDL pay nothing.
 *
 * Statements generated internally by CREATE/ALTER TABLE reach the hook a
 * second time with context PROCESS_UTILITY_SUBCOMMAND; they belong to the
 * statement that generated them and are passed through untouched.
 *
 * The hook never calls itself, but for the steps of an online form, which
 * are judged and recorded as statements of their own (and never run
 * online again): SQL that pg_migrate runs on its own account (history
 * inserts) is DML, and pgm_own_code guards against any utility statement
 * reaching us while our own code is running (migrate_check runs the
 * statements of the script it judges that way).
 *
 * Classification happens before the statement's own permission checks and
 * takes no locks (see classify.c); a refusal is raised before anything has
 * been done, so it leaves nothing to undo.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/backend_status.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "core/catalog.h"
#include "core/compat.h"
#include "core/guc.h"
#include "core/subxact.h"
#include "ddl/classify.h"
#include "ddl/guard.h"
#include "ddl/history.h"
#include "ddl/lockstats.h"
#include "ddl/lockwait.h"
#include "ddl/policy.h"
#include "ddl/redact.h"
#include "ddl/session_tables.h"

/* The hook this one chains to; _PG_init installs it. */
ProcessUtility_hook_type pgm_guard_prev_ProcessUtility = NULL;

/* Depth of pg_migrate's own code on the stack; the hook stands aside. */
static int	pgm_own_code = 0;

/*
 * While the steps of a statement's online form run (online/substitute.c),
 * a JSON object naming the rules and the statement as sent: the history
 * row of each step carries it among its policy overrides, so that the
 * history keeps both what was sent and what ran.  Owned by the caller of
 * pgm_guard_set_online_note, in memory that lasts as long as the steps.
 */
static char *online_note = NULL;

/*
 * Indexes the online forms of this transaction's statements queued for a
 * job that starts only when the transaction commits: a later statement of
 * the same transaction that names one is refused with the reason, rather
 * than PostgreSQL's "does not exist".  In TopTransactionContext.
 */
typedef struct QueuedIndex
{
	char	   *schema;
	char	   *name;
	int64		job_id;
} QueuedIndex;

static List *queued_indexes = NIL;
static LocalTransactionId queued_lxid = InvalidLocalTransactionId;

/* The table a CREATE TABLE (AS) of this session made, or InvalidOid. */
static Oid
created_table(Node *parsetree)
{
	RangeVar   *rv = NULL;
	Oid			relid;

	if (IsA(parsetree, CreateStmt))
		rv = ((CreateStmt *) parsetree)->relation;
	else if (IsA(parsetree, CreateTableAsStmt) &&
			 ((CreateTableAsStmt *) parsetree)->objtype == OBJECT_TABLE &&
			 ((CreateTableAsStmt *) parsetree)->into != NULL)
		rv = ((CreateTableAsStmt *) parsetree)->into->rel;
	if (rv == NULL || rv->relpersistence == RELPERSISTENCE_TEMP)
		return InvalidOid;
	relid = RangeVarGetRelid(rv, NoLock, true);
	if (!OidIsValid(relid) || get_rel_persistence(relid) == RELPERSISTENCE_TEMP)
		return InvalidOid;
	return relid;
}

bool
pgm_in_own_code(void)
{
	return pgm_own_code > 0;
}

/*
 * Make the hook stand aside while pg_migrate runs statements on its own
 * account (migrate_check).  Returns the depth to give back to
 * pgm_own_code_restore(), which callers must also do on error.
 */
int
pgm_own_code_enter(void)
{
	return pgm_own_code++;
}

void
pgm_own_code_restore(int depth)
{
	pgm_own_code = depth;
}

/*
 * Set the note of the online form now running (NULL: none); returns the
 * previous one, which the caller puts back when its steps end, also on
 * error.
 */
char *
pgm_guard_set_online_note(char *note)
{
	char	   *prev = online_note;

	online_note = note;
	return prev;
}

/* The overrides of a history row, with the online note added. */
static const char *
with_online_note(const char *overrides_json)
{
	if (online_note == NULL)
		return overrides_json;
	if (overrides_json == NULL || strlen(overrides_json) < 2)
		return psprintf("[%s]", online_note);
	/* both are ours: a JSON array "[...]" and one object */
	return psprintf("%.*s, %s]", (int) strlen(overrides_json) - 1, overrides_json,
					online_note);
}

/* Remember an index the job of an online form will build (see above). */
void
pgm_guard_note_queued_index(const char *schema, const char *name, int64 job_id)
{
	MemoryContext oldcxt;
	QueuedIndex *q;

	if (queued_lxid != PGM_MyLocalXid())
	{
		queued_indexes = NIL;
		queued_lxid = PGM_MyLocalXid();
	}
	oldcxt = MemoryContextSwitchTo(TopTransactionContext);
	q = palloc(sizeof(QueuedIndex));
	q->schema = pstrdup(schema);
	q->name = pstrdup(name);
	q->job_id = job_id;
	queued_indexes = lappend(queued_indexes, q);
	MemoryContextSwitchTo(oldcxt);
}

/* An index queued in this transaction by that name, or NULL. */
static QueuedIndex *
queued_index(const char *schema, const char *name)
{
	ListCell   *lc;

	if (queued_lxid != PGM_MyLocalXid() || name == NULL)
		return NULL;
	foreach(lc, queued_indexes)
	{
		QueuedIndex *q = lfirst(lc);

		if (strcmp(q->name, name) == 0 &&
			(schema == NULL || strcmp(q->schema, schema) == 0))
			return q;
	}
	return NULL;
}

/*
 * Refuse a statement that needs an index this transaction queued: it does
 * not exist before the transaction commits and its job has built it.
 */
static void
refuse_queued_index_use(Node *parsetree)
{
	QueuedIndex *q = NULL;
	ListCell   *lc;

	if (queued_lxid != PGM_MyLocalXid() || queued_indexes == NIL)
		return;
	if (IsA(parsetree, AlterTableStmt))
	{
		AlterTableStmt *stmt = (AlterTableStmt *) parsetree;

		if (stmt->objtype == OBJECT_INDEX && stmt->relation)
			q = queued_index(stmt->relation->schemaname, stmt->relation->relname);
		foreach(lc, stmt->cmds)
		{
			AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);
			Constraint *con;

			if (q != NULL)
				break;
			if (cmd->def == NULL || !IsA(cmd->def, Constraint))
				continue;
			con = (Constraint *) cmd->def;
			if (con->indexname)
				q = queued_index(stmt->relation ? stmt->relation->schemaname : NULL,
								 con->indexname);
		}
	}
	else if (IsA(parsetree, ReindexStmt) &&
			 ((ReindexStmt *) parsetree)->kind == REINDEX_OBJECT_INDEX &&
			 ((ReindexStmt *) parsetree)->relation)
		q = queued_index(((ReindexStmt *) parsetree)->relation->schemaname,
						 ((ReindexStmt *) parsetree)->relation->relname);
	else if (IsA(parsetree, DropStmt) &&
			 ((DropStmt *) parsetree)->removeType == OBJECT_INDEX)
	{
		foreach(lc, ((DropStmt *) parsetree)->objects)
		{
			RangeVar   *rv = makeRangeVarFromNameList(lfirst(lc));

			if ((q = queued_index(rv->schemaname, rv->relname)) != NULL)
				break;
		}
	}
	if (q == NULL)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("index %s is not built yet", quote_qualified_identifier(q->schema, q->name)),
			 errdetail("An earlier statement of this transaction ran online: its index is built by "
					   "job " INT64_FORMAT ", which starts when this transaction commits.", q->job_id),
			 errhint("Commit first, wait for the job (migrate_job_wait(" INT64_FORMAT ")), then run "
					 "this statement in a transaction of its own.", q->job_id)));
}

/* Run the statement through the next hook, or the standard function. */
static inline void
call_next(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
		  ProcessUtilityContext context, ParamListInfo params,
		  QueryEnvironment *queryEnv, DestReceiver *dest,
		  QueryCompletion *qc)
{
	if (pgm_guard_prev_ProcessUtility)
		pgm_guard_prev_ProcessUtility(pstmt, queryString, readOnlyTree, context,
									  params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
}

/*
 * Does pg_migrate stand aside for this statement altogether?
 *
 * session_replication_role = replica is how pg_restore --disable-triggers
 * and logical replication apply changes that were already judged and
 * recorded where they originated; like event triggers, pg_migrate does not
 * act on them.  Only superusers can set it.
 */
static bool
stand_aside(ProcessUtilityContext context)
{
	if (context == PROCESS_UTILITY_SUBCOMMAND)
		return true;
	if (pgm_own_code > 0)
		return true;
	if (SessionReplicationRole == SESSION_REPLICATION_ROLE_REPLICA)
		return true;
	/* The statements of an extension script are not recorded one by one. */
	if (creating_extension)
		return true;
	return false;
}


/*
 * Run the statement and record it in the history (when wanted), exactly as
 * the hook always did: one frame per execution.
 */
static void
run_and_record(PlannedStmt *pstmt, const char *queryString,
			   bool readOnlyTree, ProcessUtilityContext context,
			   ParamListInfo params, QueryEnvironment *queryEnv,
			   DestReceiver *dest, QueryCompletion *qc,
			   bool record, const char *overrides_json)
{
	HistoryFrame *frame;
	int			save_own_code = pgm_own_code;

	if (!record)
	{
		call_next(pstmt, queryString, readOnlyTree, context, params,
				  queryEnv, dest, qc);
		return;
	}

	frame = pgm_history_begin(pstmt, queryString, context);
	overrides_json = with_online_note(overrides_json);
	if (overrides_json)
		frame->policy_overrides = MemoryContextStrdup(frame->cxt, overrides_json);

	PG_TRY();
	{
		call_next(pstmt, queryString, readOnlyTree, context, params,
				  queryEnv, dest, qc);

		pgm_own_code++;
		pgm_history_finish(frame, pstmt->utilityStmt);
		pgm_own_code--;
	}
	PG_FINALLY();
	{
		pgm_own_code = save_own_code;
		pgm_history_discard(frame);
	}
	PG_END_TRY();
}

/* "<lock> on <table>": the first lock a statement waits for, for messages. */
static char *
lock_target(List *locks)
{
	PgmLockRequest *req = linitial(locks);
	char	   *relname = get_rel_name(req->relid);
	char	   *nspname = get_namespace_name(get_rel_namespace(req->relid));

	return psprintf("%s on %s", pgm_lockmode_name(req->lockmode),
					relname && nspname ? quote_qualified_identifier(nspname, relname) : "?");
}

/* One attempt of run_with_retries(), run in a subtransaction. */
typedef struct Attempt
{
	PlannedStmt *pstmt;
	const char *queryString;
	ProcessUtilityContext context;
	ParamListInfo params;
	QueryEnvironment *queryEnv;
	DestReceiver *dest;
	QueryCompletion *qc;
	bool		record;
	const char *overrides_json;
	const char *timeout;
	MemoryContext cxt;			/* the attempt's own memory (see below) */
} Attempt;

static void
run_attempt(void *arg)
{
	Attempt    *a = (Attempt *) arg;

	/* pgm_subxact_run() gives the caller's context back, also on error. */
	MemoryContextSwitchTo(a->cxt);

	/* Saved at the subtransaction's GUC level: undone when it ends. */
	(void) set_config_option("lock_timeout", a->timeout,
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);

	/*
	 * A failed attempt may have scribbled on the parse tree; readOnlyTree
	 * makes standard_ProcessUtility work on a copy.
	 */
	run_and_record(a->pstmt, a->queryString, true, a->context, a->params,
				   a->queryEnv, a->dest, a->qc, a->record, a->overrides_json);
}

/*
 * Run a transactional statement that will wait for blocking locks: each
 * attempt in a subtransaction with a bounded lock_timeout, retried after
 * lock timeouts as described in the file header.
 */
static void
run_with_retries(PgmClassification *cls,
				 PlannedStmt *pstmt, const char *queryString,
				 ProcessUtilityContext context,
				 ParamListInfo params, QueryEnvironment *queryEnv,
				 DestReceiver *dest, QueryCompletion *qc,
				 bool record, const char *overrides_json)
{
	TimestampTz started = GetCurrentTimestamp();
	int64		wait_base = pgm_lockstats_waited_us();
	bool		alone = context == PROCESS_UTILITY_TOPLEVEL && !IsTransactionBlock();
	int			attempts = 0;
	int			delay = 0;
	char		timeout[32];
	Attempt		attempt = {pstmt, queryString, context, params, queryEnv,
		dest, qc, record, overrides_json, timeout, NULL};
	uint64		queryId = pstmt->queryId;

	snprintf(timeout, sizeof(timeout), "%d", pgm_attempt_lock_timeout());

	for (;;)
	{
		ErrorData  *edata;
		long		elapsed;
		int			sleep_ms;

		/* The history row of the attempt that succeeds counts them all. */
		pgm_lockstats_set_attempt(attempts, wait_base, alone);
		attempts++;

		/*
		 * Each attempt must look to the hooks after ours like a statement
		 * that runs once.  What they allocate lives in a memory context of
		 * the attempt's own, deleted when the attempt fails: pgaudit keeps
		 * its stack of audited statements in such memory, popped by a reset
		 * callback, and refuses the next top-level statement while an entry
		 * is left.  pg_stat_statements clears the statement's queryId while
		 * it runs it (so that nested executor runs are not counted twice)
		 * and does not put it back; a retry with a zero queryId would not be
		 * counted at all.
		 */
		attempt.cxt = AllocSetContextCreate(CurrentMemoryContext, "pg_migrate attempt",
											ALLOCSET_DEFAULT_SIZES);
		pstmt->queryId = queryId;
		edata = pgm_subxact_run(run_attempt, &attempt, true);
		pgm_lockstats_clear_attempt();
		if (edata != NULL)
			MemoryContextDelete(attempt.cxt);
		if (edata == NULL)
			return;
		if (edata->sqlerrcode != ERRCODE_LOCK_NOT_AVAILABLE)
			ReThrowError(edata);

		elapsed = (long) ((GetCurrentTimestamp() - started) / 1000);

		if (pgm_holds_blocking_locks())
			ereport(ERROR,
					(errcode(ERRCODE_PGM_LOCK_TIMEOUT),
					 errmsg("could not obtain %s within lock_timeout", lock_target(cls->locks)),
					 errdetail("%s Not retried: this transaction already holds locks that "
							   "would block other sessions while it waited.",
							   pgm_describe_blockers(cls->locks)),
					 errhint("Run this statement in its own transaction, or first in it, "
							 "so that it can be retried.")));

		sleep_ms = pgm_backoff_next(&delay);
		if (attempts > pgm_lock_retries ||
			elapsed + sleep_ms + pgm_attempt_lock_timeout() > pgm_lock_retry_budget)
			ereport(ERROR,
					(errcode(ERRCODE_PGM_LOCK_TIMEOUT),
					 errmsg("could not obtain %s within the lock retry budget",
							lock_target(cls->locks)),
					 errdetail("%s Tried %d times over %ld ms with lock_timeout %s ms.",
							   pgm_describe_blockers(cls->locks), attempts, elapsed, timeout),
					 errhint("Retry when the blocking transactions have ended, or raise "
							 "pg_migrate.lock_retry_budget.")));

		pgm_sleep_ms(sleep_ms);
	}
}

/*
 * Statements that commit internally cannot be retried; they run with the
 * bounded lock timeout only.  The GUC machinery cannot carry the setting
 * across their internal commits (a saved value is restored at the first
 * one), so the variable behind lock_timeout is set for the duration of the
 * call and restored, whatever happens.
 */
static void
run_with_timeout(PlannedStmt *pstmt, const char *queryString,
				 bool readOnlyTree, ProcessUtilityContext context,
				 ParamListInfo params, QueryEnvironment *queryEnv,
				 DestReceiver *dest, QueryCompletion *qc,
				 bool record, const char *overrides_json)
{
	int			save_lock_timeout = LockTimeout;

	LockTimeout = pgm_attempt_lock_timeout();
	PG_TRY();
	{
		run_and_record(pstmt, queryString, readOnlyTree, context, params,
					   queryEnv, dest, qc, record, overrides_json);
	}
	PG_FINALLY();
	{
		LockTimeout = save_lock_timeout;
	}
	PG_END_TRY();
}

/*
 * Could every lock the statement is predicted to wait for be granted at
 * once (nobody holds a conflicting lock or waits for one)?  Each is taken
 * conditionally and released at once: the prediction may be stronger than
 * what the statement takes (REINDEX is predicted AccessExclusiveLock on
 * its table for the index locks every query needs), and must not be held
 * longer than the probe.  When all were free, the statement runs without a
 * subtransaction, with the bounded lock_timeout: there is nothing to retry
 * but a lock taken meanwhile, which is rare, and fails as a statement
 * that commits internally does.  That spares a subtransaction id for most
 * DDL (a migration of more than 64 statements would otherwise overflow
 * their cache in every snapshot), and keeps PostgreSQL's transactional
 * statistics as they would be without pg_migrate (a table dropped in a
 * subtransaction keeps the counters of the transaction level above).
 *
 * Only relations the role owns are probed: the statement itself checks its
 * privileges before it locks, and a role must not lock, even for an
 * instant, what its statement would be refused.
 */
static bool
locks_free_now(List *locks)
{
	ListCell   *lc;

	foreach(lc, locks)
	{
		PgmLockRequest *req = lfirst(lc);

		if (!PGM_relation_ownercheck(req->relid, GetUserId()) ||
			!ConditionalLockRelationOid(req->relid, req->lockmode))
			return false;
		UnlockRelationOid(req->relid, req->lockmode);
	}
	return true;
}

/* The text of this statement alone, as sent. */
static char *
statement_alone(PlannedStmt *pstmt, const char *queryString)
{
	int			loc = pstmt->stmt_location;
	int			len = pstmt->stmt_len;

	if (queryString == NULL)
		return NULL;
	if (loc < 0 || loc > (int) strlen(queryString))
		loc = 0;
	if (len <= 0 || len > (int) strlen(queryString + loc))
		len = strlen(queryString + loc);
	return pnstrdup(queryString + loc, len);
}

/* The text of this statement alone, redacted, for violation reports. */
static char *
statement_for_report(PlannedStmt *pstmt, const char *queryString)
{
	char	   *text = statement_alone(pstmt, queryString);

	if (text == NULL)
		return NULL;
	return pgm_redact_statement(text, pstmt->utilityStmt);
}

/*
 * COPY into the history while recording is on is how a restore run without
 * the documented settings fails: its own CREATE EXTENSION and CREATE TABLEs
 * were recorded first and took the ids the dump brings back.  PostgreSQL's
 * duplicate-key error does not say why; the hint does.
 */
static bool
is_copy_into_history(Node *parsetree)
{
	CopyStmt   *copy;

	if (!IsA(parsetree, CopyStmt) || !pgm_record_ddl)
		return false;
	copy = (CopyStmt *) parsetree;
	return copy->is_from && copy->relation != NULL &&
		strcmp(copy->relation->relname, "migrate_ddl_history") == 0;
}

/*
 * Run COPY into the history table, adding to a duplicate-key error the hint
 * that a restore should run with recording off.
 */
static void
run_copy_into_history(PlannedStmt *pstmt, const char *queryString,
					  bool readOnlyTree, ProcessUtilityContext context,
					  ParamListInfo params, QueryEnvironment *queryEnv,
					  DestReceiver *dest, QueryCompletion *qc)
{
	MemoryContext oldcxt = CurrentMemoryContext;

	PG_TRY();
	{
		call_next(pstmt, queryString, readOnlyTree, context, params,
				  queryEnv, dest, qc);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		if (edata->sqlerrcode != ERRCODE_UNIQUE_VIOLATION || edata->hint != NULL)
			PG_RE_THROW();
		FlushErrorState();
		edata->hint = psprintf("When restoring a dump, run pg_restore as a superuser with %s, "
							   "so that the restore does not record its own statements.",
							   PGM_RESTORE_PGOPTIONS);
		ReThrowError(edata);
	}
	PG_END_TRY();
}

/*
 * The ProcessUtility hook (see the file header): statements pg_migrate
 * neither judges nor records go straight to the next hook; the others are
 * classified, judged and enforced before they run, run with a bounded lock
 * wait (retried when they can be), and recorded in the history.
 */
void
pgm_guard_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
						 bool readOnlyTree, ProcessUtilityContext context,
						 ParamListInfo params, QueryEnvironment *queryEnv,
						 DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;
	PgmClassification *cls = NULL;
	char	   *overrides_json = NULL;
	bool		record;
	bool		judge;

	if (parsetree != NULL)
		pgm_session_tables_note_utility(parsetree);

	if (parsetree == NULL || stand_aside(context))
	{
		call_next(pstmt, queryString, readOnlyTree, context, params,
				  queryEnv, dest, qc);
		return;
	}

	if (is_copy_into_history(parsetree))
	{
		(void) pgm_history_start_restore(RangeVarGetRelid(((CopyStmt *) parsetree)->relation,
														  NoLock, true));
		run_copy_into_history(pstmt, queryString, readOnlyTree, context,
							  params, queryEnv, dest, qc);
		return;
	}

	refuse_queued_index_use(parsetree);

	judge = pgm_classify_wanted(parsetree) &&
		(pgm_enforce != PGM_ENFORCE_OFF ||
		 pgm_lock_timeout_mode == PGM_LOCK_TIMEOUT_INJECT);
	record = pgm_record_ddl && pgm_history_wanted(parsetree) &&
		!pgm_history_restoring();

	if (!judge && !record)
	{
		call_next(pstmt, queryString, readOnlyTree, context, params,
				  queryEnv, dest, qc);
		return;
	}

	if (judge)
	{
		cls = pgm_classify_statement(parsetree);
		if ((cls->ops == NIL && cls->locks == NIL) || !pgm_policy_active())
			cls = NULL;			/* nothing to judge, or not installed here */
	}

	if (cls && pgm_enforce != PGM_ENFORCE_OFF)
	{
		List	   *verdicts = pgm_policy_verdicts(cls);
		char	   *text = NULL;

		/* Rules whose action is online: is there an online form? */
		if (pgm_policy_runs_online(verdicts))
		{
			text = statement_alone(pstmt, queryString);
			(void) pgm_policy_describe_online(verdicts, text);
		}
		if (verdicts != NIL)
		{
			/* A refusal or warning names the migrate_online() call, if any. */
			if (text == NULL)
				text = statement_alone(pstmt, queryString);
			pgm_policy_find_online_call(verdicts, text);
			pgm_policy_enforce(verdicts, statement_for_report(pstmt, queryString),
							   &overrides_json);
		}

		/*
		 * Nothing was refused: the online form runs instead of the
		 * statement, and records its own steps in the history.
		 */
		if (pgm_enforce == PGM_ENFORCE_ON && pgm_policy_runs_online(verdicts) &&
			pgm_online_substitute_hook != NULL)
		{
			pgm_online_substitute_hook(text, context,
									   pgm_policy_online_rules(verdicts));
			return;
		}
	}

	/*
	 * migrate_apply() runs its scripts with its own lock_timeout and retries
	 * the whole script, which releases every lock the script took; a retry
	 * of one statement here would wait while holding the earlier ones.
	 */
	if (cls == NULL || cls->locks == NIL ||
		pgm_lock_timeout_mode != PGM_LOCK_TIMEOUT_INJECT ||
		pgm_current_migration != NULL)
		run_and_record(pstmt, queryString, readOnlyTree, context, params,
					   queryEnv, dest, qc, record, overrides_json);
	else if (!cls->transactional || locks_free_now(cls->locks))
		run_with_timeout(pstmt, queryString, readOnlyTree, context, params,
						 queryEnv, dest, qc, record, overrides_json);
	else
		run_with_retries(cls, pstmt, queryString, context, params,
						 queryEnv, dest, qc, record, overrides_json);

	if (IsA(parsetree, CreateStmt) || IsA(parsetree, CreateTableAsStmt))
		pgm_session_table_created(created_table(parsetree));
	else if (IsA(parsetree, CreateExtensionStmt) &&
			 strcmp(((CreateExtensionStmt *) parsetree)->extname, PGM_EXTENSION_NAME) == 0)
		pgm_history_extension_created();
}
