/*-------------------------------------------------------------------------
 *
 * migrate.c
 *		Versioned migrations: migrate_apply, migrate_rollback, migrate_verify
 *		and migrate_drift.
 *
 * A migration is a version, an "up" script and a "down" script.  Applying
 * one runs "up" statement by statement inside one subtransaction of the
 * caller's transaction and records the version in migrate_migrations with a
 * SHA-256 checksum of both scripts; the DDL history rows written meanwhile
 * carry the version.  Everything is atomic with the caller: a script that
 * fails half-way leaves no trace, and nor does a caller that rolls back.
 *
 * Locking.  Callers are serialised by the migration lock (ExclusiveLock on
 * the extension's pg_extension entry, which no SQL function can hold; see
 * migration_lock_tag), taken before anything else and held to the end of
 * the caller's transaction; the wait for it is bounded by
 * pg_migrate.migration_lock_timeout.  Each statement of a script waits at most
 * pg_migrate.lock_timeout for a lock; one that times out makes the whole
 * script roll back -- releasing every lock the script took, so nobody
 * queues behind us while we wait -- and the script is retried after the
 * hook's backoff, within pg_migrate.lock_retry_budget.  (The hook itself
 * does not retry single statements of a migration: it would wait while
 * holding the locks of the statements before.)
 *
 * The bookkeeping tables are owned by the extension owner and written as
 * that role; the scripts themselves run with the caller's privileges.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"


#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_extension.h"
#include "commands/extension.h"
#include "commands/defrem.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/parser.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "access/htup_details.h"
#include "catalog/pg_authid.h"

#include "core/catalog.h"
#include "core/compat.h"
#include "core/guc.h"
#include "core/parse.h"
#include "core/spi.h"
#include "core/subxact.h"
#include "ddl/classify.h"
#include "ddl/history.h"
#include "ddl/lockwait.h"
#include "ddl/policy.h"
#include "migrate/check.h"
#include "migrate/fingerprint.h"
#include "migrate/migrate.h"

#define MIGRATIONS_TABLE	"migrate_migrations"
#define MAX_VERSION_LEN		200

PG_FUNCTION_INFO_V1(migrate_apply);
PG_FUNCTION_INFO_V1(migrate_rollback);
PG_FUNCTION_INFO_V1(migrate_verify);

/* ---------------------------------------------------------------------
 * Script parsing
 * ---------------------------------------------------------------------
 */

/*
 * Split a script into statements, refusing what cannot run inside
 * migrate_apply.  Returns a List of PgmScriptStmt.
 */
List *
pgm_parse_script(const char *script, const char *what, bool allow_nontransactional)
{
	List	   *raw = pgm_parse_raw(script);
	List	   *result = NIL;
	ListCell   *lc;
	int			n = 0;

	foreach(lc, raw)
	{
		RawStmt    *rs = lfirst_node(RawStmt, lc);
		PgmScriptStmt *st = palloc0(sizeof(PgmScriptStmt));
		const char *name;

		n++;
		st->number = n;
		st->raw = rs;
		st->text = pgm_statement_text(script, rs);

		if (IsA(rs->stmt, TransactionStmt))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TRANSACTION_STATE),
					 errmsg("%s script contains a transaction control statement", what),
					 errdetail("Statement %d: %s", n, st->text),
					 errhint("A migration runs as one transaction; remove BEGIN, COMMIT, ROLLBACK and SAVEPOINT from the script.")));

		/*
		 * Scripts run through SPI, which has no client to copy from or to:
		 * refuse now rather than when the script (perhaps the down script,
		 * at rollback time) runs.
		 */
		if (IsA(rs->stmt, CopyStmt) && ((CopyStmt *) rs->stmt)->filename == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("COPY %s cannot run inside a migration",
							((CopyStmt *) rs->stmt)->is_from ? "FROM STDIN" : "TO STDOUT"),
					 errdetail("Statement %d of the %s script: %s", n, what, st->text),
					 ((CopyStmt *) rs->stmt)->is_from ?
					 errhint("Load the data with INSERT statements or COPY from a file on the server, or load it before or after the migration.") :
					 errhint("Export the data before or after the migration.")));

		name = pgm_needs_own_transaction(rs->stmt);
		if (name && !allow_nontransactional)
			ereport(ERROR,
					(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
					 errmsg("%s cannot run inside migrate_apply", name),
					 errdetail("Statement %d of the %s script: %s", n, what, st->text),
					 strcmp(what, "down") == 0 ?
					 errhint("Use migrate_rollback_async(), which runs each statement in its own transaction.") :
					 errhint("Use migrate_apply_async(), which runs each statement in its own transaction.")));
		st->own_transaction = (name != NULL);
		result = lappend(result, st);
	}

	if (result == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s script contains no statements", what)));
	return result;
}

/* SHA-256 over both scripts, each length-prefixed so that no two pairs of
 * scripts can produce the same input. */
char *
pgm_migration_checksum(const char *up, const char *down)
{
	StringInfoData buf;
	bytea	   *input;
	bytea	   *digest;
	char	   *hex;
	int			len;

	initStringInfo(&buf);
	appendStringInfo(&buf, "up:%zu:%s\ndown:", strlen(up), up);
	if (down)
		appendStringInfo(&buf, "%zu:%s", strlen(down), down);
	else
		appendStringInfoString(&buf, "none");

	input = (bytea *) palloc(VARHDRSZ + buf.len);
	SET_VARSIZE(input, VARHDRSZ + buf.len);
	memcpy(VARDATA(input), buf.data, buf.len);
	digest = DatumGetByteaPP(DirectFunctionCall1(sha256_bytea, PointerGetDatum(input)));
	len = VARSIZE_ANY_EXHDR(digest);
	hex = palloc(len * 2 + 1);
	hex_encode(VARDATA_ANY(digest), len, hex);
	hex[len * 2] = '\0';
	return hex;
}

/* ---------------------------------------------------------------------
 * Running a script
 * ---------------------------------------------------------------------
 */

/*
 * DDL is judged by the hook; an UPDATE or DELETE of a migration is judged
 * here, on the planner's estimate of the rows it touches (rule large_dml),
 * before it runs.
 */
void
pgm_judge_script_dml(PgmScriptStmt *st)
{
	PgmClassification *cls;
	List	   *verdicts;
	Oid			relid;
	double		rows;
	char	   *overrides = NULL;

	if (pgm_enforce == PGM_ENFORCE_OFF || !pgm_policy_active())
		return;
	cls = pgm_classify_dml(st->raw, st->text, &relid, &rows);
	if (cls == NULL || cls->ops == NIL)
		return;
	verdicts = pgm_policy_verdicts(cls);
	if (verdicts != NIL)
		pgm_policy_enforce(verdicts, st->text, &overrides);
}

/*
 * What the up script created that its own down script may drop: tables it
 * created and columns it added.  Names resolve as the scripts' own do.
 */
List *
pgm_created_by(List *up_stmts)
{
	List	   *result = NIL;
	ListCell   *lc;

	foreach(lc, up_stmts)
	{
		Node	   *stmt = ((PgmScriptStmt *) lfirst(lc))->raw->stmt;

		if (IsA(stmt, CreateStmt))
		{
			PgmExemption *ex = palloc0(sizeof(PgmExemption));

			ex->rule = PGM_RULE_DROP_TABLE;
			ex->relid = RangeVarGetRelid(((CreateStmt *) stmt)->relation, NoLock, true);
			result = lappend(result, ex);
		}
		else if (IsA(stmt, AlterTableStmt))
		{
			AlterTableStmt *at = (AlterTableStmt *) stmt;
			Oid			relid = RangeVarGetRelid(at->relation, NoLock, true);
			ListCell   *lc2;

			foreach(lc2, at->cmds)
			{
				AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc2);

				if (cmd->subtype == AT_AddColumn && IsA(cmd->def, ColumnDef))
				{
					PgmExemption *ex = palloc0(sizeof(PgmExemption));

					ex->rule = PGM_RULE_DROP_COLUMN;
					ex->relid = relid;
					ex->colname = pstrdup(((ColumnDef *) cmd->def)->colname);
					result = lappend(result, ex);
				}
			}
		}
	}
	return result;
}

/*
 * Run every statement of a parsed script, as the current user, in the
 * current (sub)transaction.  lock_timeout is set for the duration.
 */
static void
run_statements(List *stmts, const char *version, const char *what,
			   const char *search_path, List *undo_of)
{
	ListCell   *lc;
	int			save_nestlevel;
	char		timeout[32];

	save_nestlevel = NewGUCNestLevel();
	snprintf(timeout, sizeof(timeout), "%dms", pgm_attempt_lock_timeout());
	(void) set_config_option("lock_timeout", timeout,
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	if (search_path)
		(void) set_config_option("search_path", search_path,
								 PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);

	/*
	 * A down script may drop what its own up script created: that is what
	 * undoing a migration means.  The drops are still judged, and recorded
	 * as overrides with this reason.
	 */
	if (undo_of != NIL)
	{
		pgm_exemptions = pgm_created_by(undo_of);
		pgm_exemption_reason = version ?
			psprintf("rollback of migration \"%s\", which created it", version) :
			"down script of the migration being verified, which created it";
	}

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	foreach(lc, stmts)
	{
		PgmScriptStmt *st = lfirst(lc);
		int			rc;

		pgstat_report_activity(STATE_RUNNING, st->text);
		pgm_judge_script_dml(st);
		rc = SPI_execute(st->text, false, 0);
		if (rc < 0)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("statement %d of the %s script cannot run inside a migration: %s",
							st->number, what, SPI_result_code_string(rc)),
					 errdetail("Statement: %s", st->text)));
	}
	SPI_finish();

	pgm_exemptions = NIL;
	pgm_exemption_reason = NULL;
	AtEOXact_GUC(true, save_nestlevel);
}

/* The blocking locks the statements of a script will ask for. */
static List *
script_locks(List *stmts)
{
	List	   *locks = NIL;
	ListCell   *lc;

	foreach(lc, stmts)
	{
		PgmScriptStmt *st = lfirst(lc);

		if (pgm_classify_wanted(st->raw->stmt))
			locks = list_concat(locks, pgm_classify_statement(st->raw->stmt)->locks);
	}
	return locks;
}

/*
 * Run a script in a subtransaction of its own.  Returns NULL when it
 * succeeded (the subtransaction is committed into the caller's), or the
 * error, allocated in the caller's memory context, after rolling the
 * subtransaction back: every lock the script took is released again.
 */
typedef struct ScriptRun
{
	List	   *stmts;
	const char *version;
	const char *what;
	const char *search_path;
	List	   *undo_of;
} ScriptRun;

static void
run_statements_cb(void *arg)
{
	ScriptRun  *r = (ScriptRun *) arg;

	run_statements(r->stmts, r->version, r->what, r->search_path, r->undo_of);
}

static ErrorData *
run_in_subtransaction(List *stmts, const char *version, const char *what,
					  const char *search_path, List *undo_of)
{
	char	   *save_migration = pgm_current_migration;
	ScriptRun	run = {stmts, version, what, search_path, undo_of};
	ErrorData  *edata;

	if (version)
		pgm_current_migration = (char *) version;
	edata = pgm_subxact_run(run_statements_cb, &run, true);
	if (edata != NULL)
	{
		pgm_exemptions = NIL;
		pgm_exemption_reason = NULL;
	}
	pgm_current_migration = save_migration;
	return edata;
}

/*
 * Run a script atomically, retrying it whole when a statement times out
 * waiting for a lock, within pg_migrate.lock_retry_budget and
 * pg_migrate.lock_retries, with the hook's backoff.  Returns the number of
 * retries it took.  As in the hook, a caller whose transaction already
 * holds locks that block others is not made to sleep with them.
 */
static int
run_script_with_retries(List *stmts, const char *version, const char *what,
						const char *search_path, List *undo_of)
{
	TimestampTz started = GetCurrentTimestamp();
	int			attempt = 0;
	int			delay = 0;
	ErrorData  *edata;

	while ((edata = run_in_subtransaction(stmts, version, what, search_path, undo_of)) != NULL)
	{
		long		elapsed = (long) ((GetCurrentTimestamp() - started) / 1000);
		int			sleep_ms;

		if (edata->sqlerrcode != ERRCODE_LOCK_NOT_AVAILABLE)
			ReThrowError(edata);

		sleep_ms = pgm_backoff_next(&delay);
		if (pgm_holds_blocking_locks() || attempt >= pgm_lock_retries ||
			elapsed + sleep_ms + pgm_attempt_lock_timeout() > pgm_lock_retry_budget)
			ereport(ERROR,
					(errcode(ERRCODE_PGM_LOCK_TIMEOUT),
					 errmsg("migration \"%s\" could not obtain its locks", version),
					 errdetail("%s Tried %d times over %ld ms with lock_timeout %d ms%s.",
							   pgm_describe_blockers(script_locks(stmts)),
							   attempt + 1, elapsed, pgm_attempt_lock_timeout(),
							   pgm_holds_blocking_locks() ?
							   "; not retried because this transaction already holds locks that would block other sessions while it waited" : ""),
					 errhint("Retry when the blocking transactions have ended, or raise "
							 "pg_migrate.lock_retry_budget.")));
		attempt++;
		ereport(NOTICE,
				(errmsg("migration \"%s\": %s script timed out waiting for a lock, retry %d",
						version, what, attempt),
				 errdetail("Every lock the script took was released before waiting.")));
		pgm_sleep_ms(sleep_ms);
	}
	return attempt;
}

/* ---------------------------------------------------------------------
 * Bookkeeping (runs as the owner of migrate_migrations)
 * ---------------------------------------------------------------------
 */

/* migrate_migrations, or an error saying pg_migrate is not installed. */
static Oid
migrations_relid(void)
{
	Oid			relid = pgm_relation(MIGRATIONS_TABLE);

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("pg_migrate is not installed in this database"),
				 errhint("Run CREATE EXTENSION pg_migrate.")));
	return relid;
}

/* The quoted, schema-qualified name of one of our relations. */
static char *
qualified_name(Oid relid)
{
	char	   *nspname = get_namespace_name(get_rel_namespace(relid));
	char	   *relname = get_rel_name(relid);

	if (nspname == NULL || relname == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("pg_migrate was dropped while this statement ran")));
	return quote_qualified_identifier(nspname, relname);
}

/*
 * Run one parameterised statement on the bookkeeping table as its owner,
 * with a fresh snapshot (never read-only: it must see what a concurrent
 * migration committed while we waited for the migration lock).
 * "%1$s" (or "%s") in sql_fmt is replaced by the table's qualified name.
 */
int
pgm_migrations_execute(const char *sql_fmt, int nargs, Oid *types, Datum *values,
					   const char *nulls)
{
	Oid			relid = migrations_relid();

	return pgm_execute_as(pgm_relation_owner(relid),
						  psprintf(sql_fmt, qualified_name(relid)),
						  nargs, types, values, nulls);
}

/*
 * The migration lock is an ExclusiveLock on the extension's own
 * pg_extension entry, the lock LockDatabaseObject() takes.  No SQL function
 * can take a lock in that space and keep it: pg_advisory_lock() locks
 * another space, LOCK TABLE locks relations, and the commands that lock an
 * extension (COMMENT, ALTER EXTENSION ... ADD, DROP EXTENSION) check that
 * the caller owns it right after, and their error releases the lock.  The
 * one lock anyone may keep on it, the AccessShareLock of
 * pg_get_object_address(), does not conflict with ExclusiveLock.  So only
 * the extension's owner and callers of the migration functions can hold
 * migrations up.  pg_locks shows the lock as locktype "object" with
 * classid pg_extension and objid the extension's OID.
 */
static void
migration_lock_tag(LOCKTAG *tag)
{
	Oid			extoid = get_extension_oid(PGM_EXTENSION_NAME, true);

	if (!OidIsValid(extoid))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"%s\" is not installed in this database",
						PGM_EXTENSION_NAME)));
	SET_LOCKTAG_OBJECT(*tag, MyDatabaseId, ExtensionRelationId, extoid, 0);
}

/*
 * The sessions holding the migration lock, the way pg_stat_activity shows
 * them: pid, role, application, since when, and the query (only to those
 * who may read it there).
 */
static char *
describe_migration_lock_holders(const LOCKTAG *tag)
{
	LockData   *ld = GetLockStatusData();
	StringInfoData buf;
	int			nholders = 0;
	int			i;

	pgstat_clear_backend_activity_snapshot();
	initStringInfo(&buf);
	for (i = 0; i < ld->nelements; i++)
	{
		LockInstanceData *li = &ld->locks[i];
		int			n = pgstat_fetch_stat_numbackends();
		int			j;

		if (li->pid == MyProcPid || li->pid == 0 ||
			memcmp(&li->locktag, tag, sizeof(LOCKTAG)) != 0 ||
			(li->holdMask & LOCKBIT_ON(ExclusiveLock)) == 0)
			continue;

		appendStringInfo(&buf, "%spid %d", nholders++ > 0 ? "; " : "", li->pid);
		for (j = 1; j <= n; j++)
		{
			LocalPgBackendStatus *local = PGM_local_beentry_by_index(j);
			PgBackendStatus *be;
			const char *role;
			const char *query;
			TimestampTz since;

			if (local == NULL || local->backendStatus.st_procpid != li->pid)
				continue;
			be = &local->backendStatus;
			role = GetUserNameFromId(be->st_userid, true);
			since = be->st_xact_start_timestamp ? be->st_xact_start_timestamp :
				be->st_state_start_timestamp;
			/* The same visibility rule as pg_stat_activity.query. */
			if (has_privs_of_role(GetUserId(), be->st_userid) ||
				has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS))
				query = pgstat_clip_activity(be->st_activity_raw);
			else
				query = "<insufficient privilege>";
			appendStringInfo(&buf, " (role \"%s\", application \"%s\", transaction started %s, query: %s)",
							 role ? role : "?", be->st_appname,
							 since ? timestamptz_to_str(since) : "?", query);
			break;
		}
	}
	if (nholders == 0)
		return pstrdup("The session that held it has ended.");
	return psprintf("Held by %s.", buf.data);
}

/*
 * Take the migration lock, waiting for the migration that holds it to end.
 * What a concurrent migration committed while we waited must be visible
 * afterwards: at READ COMMITTED every query below takes a fresh snapshot,
 * but a transaction-level snapshot would still hide it, so under REPEATABLE
 * READ and SERIALIZABLE a wait is a serialization failure.
 *
 * With bounded, the wait lasts at most pg_migrate.migration_lock_timeout
 * (or the session's lock_timeout, if shorter): a migration left open in an
 * idle transaction must not make every later caller hang, and the error
 * says who holds the lock.  The wait runs in a subtransaction, so that the
 * timeout's error takes us out of the lock queue before the error we raise
 * instead; a granted lock passes to the caller's transaction.  The worker
 * that finishes an asynchronous migration waits without a bound of ours
 * (its session's lock_timeout still applies): its statements have run, and
 * only recording them is left.
 */
void
pgm_serialise_migrations(bool bounded)
{
	LOCKTAG		tag;
	int			timeout = 0;
	bool		timed_out = false;

	migration_lock_tag(&tag);
	if (LockAcquire(&tag, ExclusiveLock, false, true) != LOCKACQUIRE_NOT_AVAIL)
		return;

	if (bounded)
	{
		timeout = pgm_migration_lock_timeout;
		if (LockTimeout > 0 && (timeout == 0 || LockTimeout < timeout))
			timeout = LockTimeout;
	}

	if (timeout == 0)
		(void) LockAcquire(&tag, ExclusiveLock, false, false);
	else
	{
		MemoryContext oldcxt = CurrentMemoryContext;
		ResourceOwner oldowner = CurrentResourceOwner;
		int			save_lock_timeout = LockTimeout;

		BeginInternalSubTransaction(NULL);
		PG_TRY();
		{
			LockTimeout = timeout;
			(void) LockAcquire(&tag, ExclusiveLock, false, false);
			LockTimeout = save_lock_timeout;
			ReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(oldcxt);
			CurrentResourceOwner = oldowner;
		}
		PG_CATCH();
		{
			ErrorData  *edata;

			LockTimeout = save_lock_timeout;
			MemoryContextSwitchTo(oldcxt);
			edata = CopyErrorData();
			/* A cancel or a deadlock is the caller's to see as it is. */
			if (edata->sqlerrcode != ERRCODE_LOCK_NOT_AVAILABLE)
			{
				FreeErrorData(edata);
				PG_RE_THROW();
			}
			FlushErrorState();
			FreeErrorData(edata);
			RollbackAndReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(oldcxt);
			CurrentResourceOwner = oldowner;
			timed_out = true;
		}
		PG_END_TRY();
	}

	if (timed_out)
		ereport(ERROR,
				(errcode(ERRCODE_PGM_LOCK_TIMEOUT),
				 errmsg("could not obtain the migration lock within %d ms", timeout),
				 errdetail("Another migration is in progress in this database. %s",
						   describe_migration_lock_holders(&tag)),
				 errhint("Retry once that migration has committed or rolled back, or end the session "
						 "that keeps it open (pg_terminate_backend); pg_migrate.migration_lock_timeout "
						 "sets how long a migration waits.")));

	if (IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not serialize access due to a concurrent migration"),
				 errhint("Retry the transaction, or run migrations at READ COMMITTED.")));
}

char *
pgm_text_arg(FunctionCallInfo fcinfo, int n)
{
	if (PG_NARGS() <= n || PG_ARGISNULL(n))
		return NULL;
	return text_to_cstring(PG_GETARG_TEXT_PP(n));
}

/* Refuse a version that is NULL, blank, or longer than MAX_VERSION_LEN. */
void
pgm_check_version(const char *version)
{
	const char *p;

	if (version == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("migration version must not be NULL")));
	for (p = version; *p; p++)
		if (!isspace((unsigned char) *p))
			break;
	if (*p == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("migration version must not be empty")));
	if (strlen(version) > MAX_VERSION_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("migration version is too long"),
				 errdetail("A version has at most %d bytes; this one has %zu.",
						   MAX_VERSION_LEN, strlen(version))));
}

/*
 * A boolean flag argument (irreversible, force): it has a default, so a
 * NULL was passed on purpose or by mistake, and means neither true nor
 * false.
 */
bool
pgm_bool_arg(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_NARGS() <= argno)
		return false;
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", name),
				 errhint("Pass true or false, or leave it out for false.")));
	return PG_GETARG_BOOL(argno);
}

void
pgm_check_not_standby(void)
{
	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("migrations cannot be applied on a hot standby"),
				 errhint("Apply them on the primary; they reach the standby through replication.")));
}

/* ---------------------------------------------------------------------
 * Bookkeeping shared with the asynchronous forms (async.c)
 * ---------------------------------------------------------------------
 */

/*
 * Is this version applied with exactly these scripts?  false when it is not
 * applied; an error when it is applied with different scripts.  The caller
 * holds the migration lock and is connected to SPI.
 */
bool
pgm_migration_applied(const char *version, const char *checksum)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1];
	int			rc;

	values[0] = CStringGetTextDatum(version);
	rc = pgm_migrations_execute("SELECT checksum, state FROM %1$s WHERE version OPERATOR(pg_catalog.=) $1",
								1, types, values, NULL);
	if (rc == SPI_OK_SELECT && SPI_processed == 1)
	{
		char	   *old_checksum = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		char	   *state = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);

		if (strcmp(state, "applied") == 0)
		{
			if (strcmp(old_checksum, checksum) != 0)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("migration \"%s\" was applied with different scripts", version),
						 errdetail("Applied checksum %s, given checksum %s.", old_checksum, checksum),
						 errhint("An applied migration must not be edited: write a new migration, "
								 "or roll this one back first.")));
			return true;
		}
	}
	return false;
}

/*
 * Extension 1.1 records the role a migration was applied as (applied_as);
 * a database still at 1.0 has no such column.
 */
static bool
has_applied_as(void)
{
	return get_attnum(migrations_relid(), "applied_as") != InvalidAttrNumber;
}

/*
 * Record a migration as applied.  applied_by NULL means the session user.
 * The caller holds the migration lock and is connected to SPI.
 */
void
pgm_record_applied(const PgmAppliedMigration *m)
{
	Oid			types[11] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, BOOLOID, TEXTOID,
		INTERVALOID, INT4OID, TEXTOID, NAMEOID, REGROLEOID};
	Datum		values[11];
	char		nulls[11];
	bool		with_applied_as = has_applied_as();
	StringInfoData sql;

	memset(nulls, ' ', sizeof(nulls));
	values[10] = ObjectIdGetDatum(OidIsValid(m->applied_as) ? m->applied_as : GetUserId());
	values[0] = CStringGetTextDatum(m->version);
	if (m->description)
		values[1] = CStringGetTextDatum(m->description);
	else
		nulls[1] = 'n';
	values[2] = CStringGetTextDatum(m->up);
	if (m->down)
		values[3] = CStringGetTextDatum(m->down);
	else
		nulls[3] = 'n';
	values[4] = BoolGetDatum(m->irreversible);
	values[5] = CStringGetTextDatum(m->checksum);
	values[6] = IntervalPGetDatum(m->duration);
	values[7] = Int32GetDatum(m->retries);
	values[8] = CStringGetTextDatum(m->search_path);
	if (m->applied_by)
		values[9] = DirectFunctionCall1(namein, CStringGetDatum(m->applied_by));
	else
		nulls[9] = 'n';
	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "INSERT INTO %%1$s (version, description, up, down, irreversible,"
					 "  checksum, state, applied_at, applied_by, duration, retries,"
					 "  search_path, apply_seq%s)"
					 " VALUES ($1, $2, $3, $4, $5, $6, 'applied', pg_catalog.clock_timestamp(),"
					 "  COALESCE($10, pg_catalog.session_user()), $7, $8, $9,"
					 "  (SELECT COALESCE(pg_catalog.max(apply_seq), 0) OPERATOR(pg_catalog.+) 1"
					 "     FROM %%1$s)%s)"
					 " ON CONFLICT (version) DO UPDATE SET"
					 "  description = EXCLUDED.description, up = EXCLUDED.up,"
					 "  down = EXCLUDED.down, irreversible = EXCLUDED.irreversible,"
					 "  checksum = EXCLUDED.checksum, state = 'applied',"
					 "  applied_at = EXCLUDED.applied_at, applied_by = EXCLUDED.applied_by,"
					 "  duration = EXCLUDED.duration, retries = EXCLUDED.retries,"
					 "  apply_seq = EXCLUDED.apply_seq, search_path = EXCLUDED.search_path,"
					 "  rolled_back_at = NULL, rolled_back_by = NULL%s",
					 with_applied_as ? ", applied_as" : "",
					 with_applied_as ? ", $11" : "",
					 with_applied_as ? ", applied_as = EXCLUDED.applied_as" : "");
	pgm_migrations_execute(sql.data, with_applied_as ? 11 : 10, types, values, nulls);
}

/*
 * The migration migrate_rollback(version, force) would roll back, with
 * its scripts.  version NULL means the last one applied.  Errors when it
 * cannot be rolled back.  The caller holds the migration lock; the
 * strings are allocated in the caller's memory context.
 */
void
pgm_rollback_target(PgmRollbackTarget *t, const char *version, bool force)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1];
	char	   *state;
	bool		isnull;
	int64		seq;
	StringInfoData later;
	uint64		i;
	MemoryContext cxt = CurrentMemoryContext;
	char	   *s;
	Oid			author;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (version == NULL)
	{
		pgm_migrations_execute("SELECT version FROM %1$s WHERE state OPERATOR(pg_catalog.=) 'applied'"
							   " ORDER BY apply_seq DESC LIMIT 1",
							   0, NULL, NULL, NULL);
		if (SPI_processed == 0)
			ereport(ERROR,
					(errcode(ERRCODE_NO_DATA_FOUND),
					 errmsg("there is no applied migration to roll back")));
		version = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	}

	values[0] = CStringGetTextDatum(version);
	pgm_migrations_execute(has_applied_as() ?
						   "SELECT down, state, apply_seq, search_path, up,"
						   " applied_as::pg_catalog.oid, applied_by FROM %1$s"
						   " WHERE version OPERATOR(pg_catalog.=) $1" :
						   "SELECT down, state, apply_seq, search_path, up,"
						   " NULL::pg_catalog.oid, applied_by FROM %1$s"
						   " WHERE version OPERATOR(pg_catalog.=) $1",
						   1, types, values, NULL);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("migration \"%s\" does not exist", version)));
	t->version = MemoryContextStrdup(cxt, version);
	s = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	t->down = s ? MemoryContextStrdup(cxt, s) : NULL;
	state = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	seq = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	t->search_path = MemoryContextStrdup(cxt, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4));
	t->up = MemoryContextStrdup(cxt, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 5));
	author = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 6, &isnull));
	if (isnull)
	{
		/* applied before 1.1: the session's user is all that was kept */
		s = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 7);
		author = s ? get_role_oid(s, true) : InvalidOid;
	}

	/*
	 * The down script was written by the role that applied the migration
	 * and runs with the privileges of whoever rolls it back (here, or in
	 * the worker of migrate_rollback_async), under the search_path its
	 * author recorded.  Run by a role with privileges its author lacked (a
	 * superuser rolling back a deployer's migration), it would be the
	 * author's code running with rights it never had: only roles whose
	 * privileges the author holds may run it.
	 */
	if (!OidIsValid(author) || !has_privs_of_role(author, GetUserId()))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to roll back migration \"%s\"", t->version),
				 OidIsValid(author) ?
				 errdetail("It was applied by role %s; its down script would run with privileges of role %s that %s does not have.",
						   GetUserNameFromId(author, false),
						   GetUserNameFromId(GetUserId(), false),
						   GetUserNameFromId(author, false)) :
				 errdetail("The role that applied it no longer exists."),
				 OidIsValid(author) ?
				 errhint("Roll it back as that role: SET ROLE %s.",
						 quote_identifier(GetUserNameFromId(author, false))) :
				 errhint("Read its down script in migrate_migrations and run what is right by hand.")));

	if (strcmp(state, "applied") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("migration \"%s\" is not applied", t->version),
				 errdetail("Its state is \"%s\".", state)));
	if (t->down == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("migration \"%s\" is irreversible", t->version),
				 errdetail("It was applied without a down script.")));

	/* Later migrations may build on this one: roll them back first. */
	values[0] = Int64GetDatum(seq);
	{
		Oid			seqtype[1] = {INT8OID};

		pgm_migrations_execute("SELECT version FROM %1$s WHERE state OPERATOR(pg_catalog.=) 'applied'"
							   " AND apply_seq OPERATOR(pg_catalog.>) $1 ORDER BY apply_seq",
							   1, seqtype, values, NULL);
	}
	initStringInfo(&later);
	for (i = 0; i < SPI_processed; i++)
		appendStringInfo(&later, "%s%s", i ? ", " : "",
						 quote_literal_cstr(SPI_getvalue(SPI_tuptable->vals[i],
														 SPI_tuptable->tupdesc, 1)));
	if (SPI_processed > 0 && !force)
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg("migration \"%s\" has later applied migrations", t->version),
				 errdetail("Applied after it: %s.", later.data),
				 errhint("Roll those back first, or pass force => true to roll this one back anyway.")));
	SPI_finish();
}

/* Record a migration as rolled back; by NULL means the session user. */
void
pgm_record_rolled_back(const char *version, const char *by)
{
	Oid			types[2] = {TEXTOID, NAMEOID};
	Datum		values[2];
	char		nulls[2] = {' ', ' '};

	values[0] = CStringGetTextDatum(version);
	if (by)
		values[1] = DirectFunctionCall1(namein, CStringGetDatum(by));
	else
		nulls[1] = 'n';
	pgm_migrations_execute("UPDATE %1$s SET state = 'rolled_back',"
						   " rolled_back_at = pg_catalog.clock_timestamp(),"
						   " rolled_back_by = COALESCE($2, pg_catalog.session_user())"
						   " WHERE version OPERATOR(pg_catalog.=) $1",
						   2, types, values, nulls);
}

/*
 * Refuse to start a migration while a background worker is applying or
 * rolling back one (or failed half-way through one): the scripts are
 * applied in order, and a half-applied migration must be finished or
 * cancelled first.  The caller holds the migration lock.
 */
void
pgm_refuse_unfinished_async(void)
{
	StringInfoData sql;
	int64		job_id = 0;
	char	   *state = NULL;

	if (!OidIsValid(pgm_relation(PGM_JOB_TABLE)))
		return;
	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "SELECT id, state FROM %s WHERE kind OPERATOR(pg_catalog.=) 'migration'"
					 " AND state OPERATOR(pg_catalog.<>) ALL ('{done,cancelled}'::pg_catalog.text[])"
					 " ORDER BY id LIMIT 1",
					 pgm_job_table_name(PGM_JOB_TABLE));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	pgm_execute_as(pgm_job_table_owner(), sql.data, 0, NULL, NULL, NULL);
	if (SPI_processed == 1)
	{
		bool		isnull;

		job_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
											 SPI_tuptable->tupdesc, 1, &isnull));
		state = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	}
	if (state != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("background job " INT64_FORMAT " has not finished its migration", job_id),
				 errdetail("The job is %s.", state),
				 errhint("Wait for it with CALL migrate_job_wait(" INT64_FORMAT "), resume it with "
						 "migrate_job_resume(" INT64_FORMAT "), or cancel it with migrate_job_cancel("
						 INT64_FORMAT ") after repairing what it left half-done.",
						 job_id, job_id, job_id)));
	SPI_finish();
}

/* ---------------------------------------------------------------------
 * migrate_apply(version, up, down, description, irreversible)
 * ---------------------------------------------------------------------
 */
Datum
migrate_apply(PG_FUNCTION_ARGS)
{
	char	   *version = pgm_text_arg(fcinfo, 0);
	char	   *up = pgm_text_arg(fcinfo, 1);
	char	   *down = pgm_text_arg(fcinfo, 2);
	char	   *description = pgm_text_arg(fcinfo, 3);
	bool		irreversible = pgm_bool_arg(fcinfo, 4, "irreversible");
	char	   *checksum;
	List	   *stmts;
	TimestampTz started;
	PgmAppliedMigration m;

	pgm_check_preloaded();
	pgm_check_not_standby();
	pgm_check_migration_args(version, up, down, irreversible);

	stmts = pgm_parse_script(up, "up", false);
	if (down)
		(void) pgm_parse_script(down, "down", false);
	checksum = pgm_migration_checksum(up, down);

	pgm_serialise_migrations(true);

	/* Already applied? */
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (pgm_migration_applied(version, checksum))
	{
		SPI_finish();
		ereport(NOTICE,
				(errmsg("migration \"%s\" is already applied, nothing to do", version)));
		PG_RETURN_TEXT_P(cstring_to_text("already applied"));
	}
	SPI_finish();
	pgm_refuse_unfinished_async();

	memset(&m, 0, sizeof(m));
	started = GetCurrentTimestamp();
	m.retries = run_script_with_retries(stmts, version, "up", NULL, NIL);
	m.duration = palloc0(sizeof(Interval));
	m.duration->time = GetCurrentTimestamp() - started;
	m.version = version;
	m.description = description;
	m.up = up;
	m.down = down;
	m.irreversible = irreversible;
	m.checksum = checksum;
	m.search_path = GetConfigOption("search_path", false, false);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	pgm_record_applied(&m);
	SPI_finish();

	PG_RETURN_TEXT_P(cstring_to_text("applied"));
}

/* The argument checks migrate_apply and migrate_apply_async share. */
void
pgm_check_migration_args(const char *version, const char *up, const char *down,
						 bool irreversible)
{
	pgm_check_version(version);
	if (up == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the up script of migration \"%s\" must not be NULL", version)));
	if (down != NULL && irreversible)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("migration \"%s\" has a down script but is declared irreversible", version),
				 errhint("Pass either a down script or irreversible => true, not both.")));
	if (down == NULL && !irreversible)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("migration \"%s\" has no down script", version),
				 errhint("Give the statements that undo it, or declare it irreversible with irreversible => true.")));
}

/* ---------------------------------------------------------------------
 * migrate_rollback(version DEFAULT NULL, force DEFAULT false)
 * ---------------------------------------------------------------------
 */
Datum
migrate_rollback(PG_FUNCTION_ARGS)
{
	char	   *version = pgm_text_arg(fcinfo, 0);
	bool		force = pgm_bool_arg(fcinfo, 1, "force");
	PgmRollbackTarget t;
	List	   *stmts;

	pgm_check_preloaded();
	pgm_check_not_standby();
	if (version != NULL)
		pgm_check_version(version);

	pgm_serialise_migrations(true);
	pgm_refuse_unfinished_async();

	pgm_rollback_target(&t, version, force);

	stmts = pgm_parse_script(t.down, "down", false);
	/* The down script sees the search_path the up script saw. */
	(void) run_script_with_retries(stmts, t.version, "down", t.search_path,
								   pgm_parse_script(t.up, "up", true));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	pgm_record_rolled_back(t.version, NULL);
	SPI_finish();

	PG_RETURN_TEXT_P(cstring_to_text(t.version));
}

/* ---------------------------------------------------------------------
 * migrate_verify(up, down)
 * ---------------------------------------------------------------------
 */

typedef struct VerifyState
{
	Tuplestorestate *store;
	TupleDesc	desc;
} VerifyState;

/* migrate_verify's callback: one result row per difference. */
static void
verify_row(void *arg, const char *kind, const char *object,
		   const char *difference, const char *before, const char *after)
{
	VerifyState *vs = (VerifyState *) arg;
	Datum		values[5];
	bool		nulls[5] = {false, false, false, false, false};

	values[0] = CStringGetTextDatum(kind);
	values[1] = CStringGetTextDatum(object);
	values[2] = CStringGetTextDatum(difference);
	if (before)
		values[3] = CStringGetTextDatum(before);
	else
		nulls[3] = true;
	if (after)
		values[4] = CStringGetTextDatum(after);
	else
		nulls[4] = true;
	tuplestore_putvalues(vs->store, vs->desc, values, nulls);
}

/* Run a script; on failure return its error message, leaving no trace. */
static char *
try_script(List *stmts, const char *what, List *undo_of)
{
	ErrorData  *edata = run_in_subtransaction(stmts, NULL, what, NULL, undo_of);

	if (edata == NULL)
		return NULL;
	return edata->message ? edata->message : pstrdup("unknown error");
}

/*
 * The heart of migrate_verify: up, down and up again inside one
 * subtransaction that is always rolled back, reporting each difference
 * between the catalog before up and after down to the callback.  An up
 * script that fails the first time is an error.  Changes nothing.
 */
typedef struct VerifyRun
{
	MemoryContext cxt;
	List	   *up_stmts;
	List	   *down_stmts;
	PgmDiffCallback callback;
	void	   *arg;
} VerifyRun;

/* up, down, up again: the body of pgm_verify_scripts' subtransaction. */
static void
verify_in_subtransaction(void *varg)
{
	VerifyRun  *v = (VerifyRun *) varg;
	PgmFingerprint *before = pgm_fingerprint(v->cxt);
	char	   *failure;

	failure = try_script(v->up_stmts, "up", NIL);
	if (failure)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the up script fails: %s", failure)));

	failure = try_script(v->down_stmts, "down", v->up_stmts);
	if (failure)
		v->callback(v->arg, "script", "down", "fails after up", NULL, failure);
	else
	{
		pgm_fingerprint_diff(before, pgm_fingerprint(v->cxt), v->callback, v->arg);

		failure = try_script(v->up_stmts, "up", NIL);
		if (failure)
			v->callback(v->arg, "script", "up", "fails when run again after down",
						NULL, failure);
	}
}

void
pgm_verify_scripts(const char *up, const char *down,
				   PgmDiffCallback callback, void *arg)
{
	VerifyRun	v;
	ErrorData  *edata;

	v.cxt = CurrentMemoryContext;
	v.up_stmts = pgm_parse_script(up, "up", false);
	v.down_stmts = pgm_parse_script(down, "down", false);
	v.callback = callback;
	v.arg = arg;
	edata = pgm_subxact_run(verify_in_subtransaction, &v, false);
	if (edata != NULL)
		ReThrowError(edata);
}

/*
 * migrate_verify(up, down): the differences pgm_verify_scripts finds, as
 * rows; none means the down script undoes the up script.
 */
Datum
migrate_verify(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *up = pgm_text_arg(fcinfo, 0);
	char	   *down = pgm_text_arg(fcinfo, 1);
	VerifyState vs;

	pgm_check_preloaded();
	if (up == NULL || down == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("migrate_verify needs both an up and a down script")));

	PGM_InitMaterializedSRF(fcinfo);
	vs.store = rsinfo->setResult;
	vs.desc = rsinfo->setDesc;
	pgm_verify_scripts(up, down, verify_row, &vs);
	return (Datum) 0;
}
