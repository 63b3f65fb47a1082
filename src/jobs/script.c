/*-------------------------------------------------------------------------
 *
 * script.c
 *		Migrations run by a background worker: migrate_apply_async and
 *		migrate_rollback_async, and the worker's side of such a job.
 *
 * Some statements cannot run inside migrate_apply's transaction: CREATE
 * INDEX CONCURRENTLY, DROP INDEX CONCURRENTLY, REINDEX CONCURRENTLY, VACUUM
 * and the like commit on their own.  migrate_apply_async submits the
 * migration as a background job of kind 'migration'; a job worker runs the
 * script statement by statement, each at top level in a transaction of its
 * own, the way psql sending the statements one by one would.
 *
 * Who runs the statements.  The worker logs in as the submitting session's
 * login role and sets the role the submitter had as its current user (SET
 * ROLE), so the script has exactly the rights it would have had in the
 * submitter's session, and no way back to more (a worker logged in as a
 * superuser and switched to the submitter would let SET SESSION
 * AUTHORIZATION in the script get the superuser back).  The search_path of
 * the submitting session and the pg_migrate settings it had changed (SET
 * or PGOPTIONS) go with the job.  The
 * worker's bookkeeping switches to the owner of the job tables, as the SQL
 * functions do.
 *
 * Progress.  migrate_job_script.next_statement is the next statement to
 * run.  A statement that runs in a transaction advances it in that same
 * transaction: it is done exactly once, whatever kills the worker.  One
 * that commits on its own cannot share a transaction with anything, so
 * before it starts the worker commits "attempted"; when a worker finds a
 * statement attempted, an earlier attempt failed or was killed half-way,
 * and what it left behind is cleaned up first: a concurrent index build
 * leaves an INVALID index, which is dropped (concurrently) and built
 * again, or found valid, in which case the build had finished and only its
 * bookkeeping was lost.  For that an index built concurrently must be
 * named in the script.
 *
 * Lock waits.  A statement that needs a lock blocking reads or writes
 * (classify.c decides, as for the hook) runs with the bounded lock_timeout
 * and is retried after a backoff, holding nothing in between; the
 * CONCURRENTLY forms and plain VACUUM block nobody's reads and writes and
 * may wait as long as they need to.
 *
 * Order.  Migrations are applied one at a time: while a migration job has
 * not finished (queued, running, paused or failed), migrate_apply,
 * migrate_rollback and their asynchronous forms refuse to start another.
 * When the last statement is done, the worker records the migration in
 * migrate_migrations (or marks it rolled back) and the job done.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/analyze.h"
#include "pgstat.h"
#include "postmaster/interrupt.h"
#include "storage/latch.h"
#include "tcop/pquery.h"
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/portal.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "core/catalog.h"
#include "core/draw_id.h"
#include "core/compat.h"
#include "core/guc.h"
#include "core/parse.h"
#include "core/spi.h"
#include "ddl/classify.h"
#include "ddl/history.h"
#include "ddl/lockwait.h"
#include "ddl/policy.h"
#include "jobs/jobs.h"
#include "jobs/script.h"
#include "jobs/shmem.h"
#include "jobs/toplevel.h"
#include "migrate/migrate.h"

PG_FUNCTION_INFO_V1(migrate_apply_async);
PG_FUNCTION_INFO_V1(migrate_rollback_async);

/* ----------------------------------------------------------------
 * Bookkeeping, as the owner of the job tables
 * ----------------------------------------------------------------
 */

/*
 * The statement with @job@, @slice@ and @script@ replaced by the qualified
 * names of migrate_job_state, migrate_job_slice and migrate_job_script.
 */
static char *
job_sql(const char *sql_fmt)
{
	StringInfoData buf;
	const char *p = sql_fmt;

	initStringInfo(&buf);
	while (*p)
	{
		if (strncmp(p, "@job@", 5) == 0)
		{
			appendStringInfoString(&buf, pgm_job_table_name(PGM_JOB_TABLE));
			p += 5;
		}
		else if (strncmp(p, "@slice@", 7) == 0)
		{
			appendStringInfoString(&buf, pgm_job_table_name(PGM_SLICE_TABLE));
			p += 7;
		}
		else if (strncmp(p, "@script@", 8) == 0)
		{
			appendStringInfoString(&buf, pgm_job_table_name(PGM_SCRIPT_TABLE));
			p += 8;
		}
		else
			appendStringInfoChar(&buf, *p++);
	}
	return buf.data;
}

/*
 * Run one statement on the job tables (named as in job_sql) as their
 * owner, under a pinned search_path.  The caller is connected to SPI.
 */
static int
job_execute(const char *sql_fmt, int nargs, Oid *types, Datum *values,
			const char *nulls)
{
	return pgm_execute_as(pgm_job_table_owner(), job_sql(sql_fmt),
						  nargs, types, values, nulls);
}

/* ----------------------------------------------------------------
 * Submission
 * ----------------------------------------------------------------
 */

/*
 * What a retry needs to find a concurrent index build's leftovers: the
 * index's name.  PostgreSQL would otherwise make one up.  (COPY to or from
 * the client, which a job does not have, pgm_parse_script has refused
 * already, as for migrate_apply.)
 */
static void
check_async_script(List *stmts, const char *version, const char *what)
{
	ListCell   *lc;

	foreach(lc, stmts)
	{
		PgmScriptStmt *st = lfirst(lc);
		Node	   *stmt = st->raw->stmt;

		if (IsA(stmt, IndexStmt) && ((IndexStmt *) stmt)->concurrent &&
			((IndexStmt *) stmt)->idxname == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("CREATE INDEX CONCURRENTLY in migration \"%s\" must name its index", version),
					 errdetail("Statement %d of the %s script: %s", st->number, what, st->text),
					 errhint("A failed concurrent build leaves an INVALID index behind; the job "
							 "finds it by name to drop and build it again.")));

	}
}

/*
 * The worker logs in as the session's login role and sets the current
 * role; that must be possible for it, as it was for the submitter.
 */
/* The runner of jobs of kind 'online', set by src/online at load time. */
PgmOnlineRunner pgm_online_runner = NULL;

void
pgm_check_script_submitter(void)
{
	Oid			session = GetSessionUserId();
	HeapTuple	tup;
	bool		canlogin;

	if (InSecurityRestrictedOperation() || InLocalUserIdChange())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("a migration cannot be submitted from a security-definer or security-restricted context")));
	tup = SearchSysCache1(AUTHOID, ObjectIdGetDatum(session));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for role %u", session);
	canlogin = ((Form_pg_authid) GETSTRUCT(tup))->rolcanlogin;
	ReleaseSysCache(tup);
	if (!canlogin)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("session role \"%s\" cannot log in", GetUserNameFromId(session, false)),
				 errdetail("The background worker logs in as the session's role to run the migration."),
				 errhint("Submit the migration from a session whose role has LOGIN, using SET ROLE for the role it should run as.")));
	if (session != GetUserId() && !is_member_of_role(session, GetUserId()))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("session role \"%s\" cannot SET ROLE to \"%s\"",
						GetUserNameFromId(session, false),
						GetUserNameFromId(GetUserId(), false))));
}

/* A migration job to submit: the migration, which way, how long. */
typedef struct ScriptJob
{
	const char *direction;
	PgmAppliedMigration m;		/* duration, retries, applied_by unused */
	int			nstatements;
} ScriptJob;

/*
 * Record a migration job (its scripts, the submitting session's role,
 * search_path and pg_migrate settings) as the owner of the job tables, and
 * have the launcher woken when the transaction commits.  Returns the job's
 * id.
 */
static int64
submit_script_job(const ScriptJob *sj)
{
	Oid			types[11] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, BOOLOID,
		TEXTOID, OIDOID, TEXTOID, TEXTOID, INT4OID};
	Datum		values[11];
	char		nulls[11];
	Oid			jtypes[4] = {OIDOID, INT4OID, TEXTOID, INT8OID};
	Datum		jvalues[4];
	int64		job_id;

	if (!OidIsValid(pgm_relation(PGM_SCRIPT_TABLE)))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the installed version of pg_migrate cannot run migrations in the background"),
				 errhint("Run ALTER EXTENSION pg_migrate UPDATE.")));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/* Not nextval(): the session's lastval() stays the application's. */
	job_id = pgm_draw_id(pgm_relation(PGM_JOB_TABLE));
	pgm_jobs_forget_parked(MyDatabaseId, job_id);
	jvalues[0] = ObjectIdGetDatum(GetUserId());
	jvalues[1] = Int32GetDatum(sj->nstatements);
	jvalues[2] = CStringGetTextDatum(psprintf("migration %s", sj->direction));
	jvalues[3] = Int64GetDatum(job_id);
	if (job_execute("INSERT INTO @job@ (id, kind, relation, owner, key_mode, key_name,"
					" batch_size, parallel, pause, estimated_rows)"
					" VALUES ($4, 'migration', NULL, $1, 'script', $3, 1, 1, '0', $2)",
					4, jtypes, jvalues, NULL) != SPI_OK_INSERT)
		elog(ERROR, "could not record the job");

	memset(nulls, ' ', sizeof(nulls));
	values[0] = Int64GetDatum(job_id);
	types[0] = INT8OID;
	values[1] = CStringGetTextDatum(sj->direction);
	values[2] = CStringGetTextDatum(sj->m.version);
	if (sj->m.description)
		values[3] = CStringGetTextDatum(sj->m.description);
	else
		nulls[3] = 'n';
	values[4] = CStringGetTextDatum(sj->m.up);
	if (sj->m.down)
		values[5] = CStringGetTextDatum(sj->m.down);
	else
		nulls[5] = 'n';
	types[5] = TEXTOID;
	values[6] = BoolGetDatum(sj->m.irreversible);
	types[6] = BOOLOID;
	values[7] = ObjectIdGetDatum(GetSessionUserId());
	values[8] = CStringGetTextDatum(sj->m.search_path);
	values[9] = CStringGetTextDatum(sj->m.checksum);
	values[10] = Int32GetDatum(sj->nstatements);
	if (job_execute("INSERT INTO @script@ (job_id, direction, version, description, up, down,"
					" irreversible, session_role, search_path, checksum, statements, settings)"
					" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,"
					" (SELECT COALESCE(pg_catalog.jsonb_object_agg(name, setting), '{}')"
					"    FROM pg_catalog.pg_settings"
					"   WHERE pg_catalog.starts_with(name, 'pg_migrate.')"
					"     AND source OPERATOR(pg_catalog.=) ANY ('{client,session}'::pg_catalog.text[])))",
					11, types, values, nulls) != SPI_OK_INSERT)
		elog(ERROR, "could not record the job");

	jvalues[0] = Int64GetDatum(job_id);
	jtypes[0] = INT8OID;
	if (job_execute("INSERT INTO @slice@ (job_id, slice, batch_size) VALUES ($1, 0, 1)",
					1, jtypes, jvalues, NULL) != SPI_OK_INSERT)
		elog(ERROR, "could not record the job");
	SPI_finish();

	pgm_jobs_notify_at_commit();
	return job_id;
}


/*
 * migrate_apply_async(version, up, down, description, irreversible)
 *		returns the job id, or NULL when the migration is already applied
 */
Datum
migrate_apply_async(PG_FUNCTION_ARGS)
{
	ScriptJob	sj;
	List	   *stmts;

	pgm_check_preloaded();
	pgm_check_not_standby();
	memset(&sj, 0, sizeof(sj));
	sj.direction = "up";
	sj.m.version = pgm_text_arg(fcinfo, 0);
	sj.m.up = pgm_text_arg(fcinfo, 1);
	sj.m.down = pgm_text_arg(fcinfo, 2);
	sj.m.description = pgm_text_arg(fcinfo, 3);
	sj.m.irreversible = pgm_bool_arg(fcinfo, 4, "irreversible");
	pgm_check_migration_args(sj.m.version, sj.m.up, sj.m.down, sj.m.irreversible);
	pgm_check_script_submitter();

	stmts = pgm_parse_script(sj.m.up, "up", true);
	check_async_script(stmts, sj.m.version, "up");
	if (sj.m.down)
		check_async_script(pgm_parse_script(sj.m.down, "down", true), sj.m.version, "down");
	sj.nstatements = list_length(stmts);
	sj.m.checksum = pgm_migration_checksum(sj.m.up, sj.m.down);
	sj.m.search_path = GetConfigOption("search_path", false, false);

	pgm_serialise_migrations(true);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (pgm_migration_applied(sj.m.version, sj.m.checksum))
	{
		SPI_finish();
		ereport(NOTICE,
				(errmsg("migration \"%s\" is already applied, nothing to do", sj.m.version)));
		PG_RETURN_NULL();
	}
	SPI_finish();
	pgm_refuse_unfinished_async();

	PG_RETURN_INT64(submit_script_job(&sj));
}

/*
 * migrate_rollback_async(version DEFAULT NULL, force DEFAULT false)
 *		returns the job id
 */
Datum
migrate_rollback_async(PG_FUNCTION_ARGS)
{
	char	   *version = pgm_text_arg(fcinfo, 0);
	bool		force = pgm_bool_arg(fcinfo, 1, "force");
	PgmRollbackTarget t;
	ScriptJob	sj;
	List	   *stmts;

	pgm_check_preloaded();
	pgm_check_not_standby();
	if (version != NULL)
		pgm_check_version(version);
	pgm_check_script_submitter();

	pgm_serialise_migrations(true);
	pgm_refuse_unfinished_async();
	pgm_rollback_target(&t, version, force);

	stmts = pgm_parse_script(t.down, "down", true);
	check_async_script(stmts, t.version, "down");

	memset(&sj, 0, sizeof(sj));
	sj.direction = "down";
	sj.m.version = t.version;
	sj.m.up = t.up;
	sj.m.down = t.down;
	sj.m.checksum = pgm_migration_checksum(t.up, t.down);
	sj.m.search_path = t.search_path;
	sj.nstatements = list_length(stmts);
	PG_RETURN_INT64(submit_script_job(&sj));
}

/* ----------------------------------------------------------------
 * The worker
 * ----------------------------------------------------------------
 */

typedef struct ScriptRun
{
	int64		job_id;
	bool		down;
	char	   *version;
	char	   *description;
	char	   *up;
	char	   *down_script;
	bool		irreversible;
	char	   *checksum;
	char	   *search_path;
	bool		online;			/* a job of kind 'online' (src/online) */
	Oid			owner;			/* the role the statements run as */
	List	   *stmts;			/* PgmScriptStmt of the script to run */
	List	   *up_stmts;		/* rolling back: what the up script created */
	MemoryContext cxt;			/* lives as long as the worker */
	MemoryContext stmt_cxt;		/* reset after each statement */
} ScriptRun;

static void
begin_step(void)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());
}

static void
end_step(void)
{
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
}

static void
set_session_option(const char *name, const char *value, GucContext context)
{
	(void) set_config_option(name, value, context, PGC_S_SESSION,
							 GUC_ACTION_SET, true, 0, false);
}

/*
 * Load the job (first transaction of the worker) and take on the
 * submitter's session settings.  Returns false when there is nothing to
 * run.
 */
static bool
load_script_job(ScriptRun *run)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1];
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	MemoryContext oldcxt;
	char	   *state;

	if (!OidIsValid(pgm_relation(PGM_SCRIPT_TABLE)))
		return false;
	values[0] = Int64GetDatum(run->job_id);
	job_execute("SELECT j.state, j.owner::pg_catalog.oid, s.direction, s.version, s.description,"
				" s.up, s.down, s.irreversible, s.checksum, s.search_path, j.kind"
				" FROM @job@ j JOIN @script@ s ON s.job_id OPERATOR(pg_catalog.=) j.id"
				" WHERE j.id OPERATOR(pg_catalog.=) $1",
				1, types, values, NULL);
	if (SPI_processed == 0)
		return false;
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	state = SPI_getvalue(tup, desc, 1);
	if (strcmp(state, "queued") != 0 && strcmp(state, "running") != 0)
		return false;

	oldcxt = MemoryContextSwitchTo(run->cxt);
	run->owner = DatumGetObjectId(SPI_getbinval(tup, desc, 2, &isnull));
	run->down = strcmp(SPI_getvalue(tup, desc, 3), "down") == 0;
	run->version = SPI_getvalue(tup, desc, 4);
	run->description = SPI_getvalue(tup, desc, 5);
	run->up = SPI_getvalue(tup, desc, 6);
	run->down_script = SPI_getvalue(tup, desc, 7);
	run->irreversible = DatumGetBool(SPI_getbinval(tup, desc, 8, &isnull));
	run->checksum = SPI_getvalue(tup, desc, 9);
	run->search_path = SPI_getvalue(tup, desc, 10);
	run->online = strcmp(SPI_getvalue(tup, desc, 11), "online") == 0;
	if (run->down)
	{
		if (run->down_script == NULL)
			elog(ERROR, "job " INT64_FORMAT " has no down script", run->job_id);
		run->stmts = pgm_parse_script(run->down_script, "down", true);
		run->up_stmts = pgm_parse_script(run->up, "up", true);
	}
	else
		run->stmts = pgm_parse_script(run->up, "up", true);
	MemoryContextSwitchTo(oldcxt);

	job_execute("UPDATE @job@ SET state = 'running', updated_at = pg_catalog.now(),"
				" started_at = COALESCE(started_at, pg_catalog.now())"
				" WHERE id OPERATOR(pg_catalog.=) $1",
				1, types, values, NULL);

	/* The submitting session's settings; the script may change them. */
	if (run->owner != GetSessionUserId())
		set_session_option("role", GetUserNameFromId(run->owner, false), PGC_USERSET);
	set_session_option("search_path", run->search_path, PGC_USERSET);
	job_execute("SELECT key, value FROM @script@, pg_catalog.jsonb_each_text(settings)"
				" WHERE job_id OPERATOR(pg_catalog.=) $1",
				1, types, values, NULL);
	{
		SPITupleTable *tt = SPI_tuptable;
		uint64		i;

		/* Values the submitting session could set; so may the job. */
		for (i = 0; i < SPI_processed; i++)
			set_session_option(SPI_getvalue(tt->vals[i], tt->tupdesc, 1),
							   SPI_getvalue(tt->vals[i], tt->tupdesc, 2),
							   PGC_SUSET);
	}
	pgm_current_migration = run->version;
	return true;
}

/* The job's state and next statement; false if it is not to run now. */
static bool
read_script_progress(ScriptRun *run, int *next, bool *attempted)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1];
	bool		isnull;
	char	   *state;

	values[0] = Int64GetDatum(run->job_id);
	job_execute("SELECT j.state, s.next_statement, s.attempted"
				" FROM @job@ j JOIN @script@ s ON s.job_id OPERATOR(pg_catalog.=) j.id"
				" WHERE j.id OPERATOR(pg_catalog.=) $1 FOR NO KEY UPDATE OF s",
				1, types, values, NULL);
	if (SPI_processed == 0)
		return false;
	state = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	*next = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	*attempted = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	return strcmp(state, "queued") == 0 || strcmp(state, "running") == 0;
}

/* Statement number done: advance the progress. */
static void
advance(ScriptRun *run, int number)
{
	Oid			types[2] = {INT8OID, INT4OID};
	Datum		values[2];

	values[0] = Int64GetDatum(run->job_id);
	values[1] = Int32GetDatum(number);
	job_execute("UPDATE @script@ SET next_statement = $2 OPERATOR(pg_catalog.+) 1,"
				" attempted = false, current_text = NULL"
				" WHERE job_id OPERATOR(pg_catalog.=) $1",
				2, types, values, NULL);
	job_execute("UPDATE @slice@ SET rows_done = $2, batches = $2, updated_at = pg_catalog.now()"
				" WHERE job_id OPERATOR(pg_catalog.=) $1",
				2, types, values, NULL);
	job_execute("UPDATE @job@ SET updated_at = pg_catalog.now() WHERE id OPERATOR(pg_catalog.=) $1",
				1, types, values, NULL);
}

/*
 * Commit that a statement that commits on its own is being attempted (or
 * that it is not any more), so that a later worker knows to clean up.
 */
static void
mark_attempted(ScriptRun *run, PgmScriptStmt *st, bool attempted)
{
	Oid			types[3] = {INT8OID, BOOLOID, TEXTOID};
	Datum		values[3];

	values[0] = Int64GetDatum(run->job_id);
	values[1] = BoolGetDatum(attempted);
	values[2] = CStringGetTextDatum(st->text);
	job_execute("UPDATE @script@ SET attempted = $2, current_text = $3"
				" WHERE job_id OPERATOR(pg_catalog.=) $1",
				3, types, values, NULL);
}

static void
run_toplevel(ScriptRun *run, const char *sql)
{
	pgm_run_toplevel(sql, run->stmt_cxt);
}

/*
 * lock_timeout for a statement: bounded when it asks for a lock that
 * blocks others' reads or writes, none (it waits as long as it must, and
 * nobody waits for it) otherwise.
 */
static void
set_statement_lock_timeout(PgmScriptStmt *st)
{
	char		buf[32];
	bool		blocking = false;

	if (pgm_classify_wanted(st->raw->stmt))
		blocking = pgm_classify_statement(st->raw->stmt)->locks != NIL;
	snprintf(buf, sizeof(buf), "%dms", blocking ? pgm_attempt_lock_timeout() : 0);
	set_session_option("lock_timeout", buf, PGC_USERSET);
}

/* The index named by a concurrent build or drop, if it exists. */
static Oid
target_index(Node *stmt)
{
	if (IsA(stmt, IndexStmt))
	{
		IndexStmt  *is = (IndexStmt *) stmt;
		Oid			relid = RangeVarGetRelid(is->relation, NoLock, true);

		if (!OidIsValid(relid) || is->idxname == NULL)
			return InvalidOid;
		return get_relname_relid(is->idxname, get_rel_namespace(relid));
	}
	if (IsA(stmt, DropStmt) && ((DropStmt *) stmt)->removeType == OBJECT_INDEX &&
		list_length(((DropStmt *) stmt)->objects) == 1)
	{
		RangeVar   *rv = makeRangeVarFromNameList(linitial(((DropStmt *) stmt)->objects));

		return RangeVarGetRelid(rv, NoLock, true);
	}
	return InvalidOid;
}

/*
 * Before a statement that commits on its own is attempted: is there
 * something a failed attempt would leave behind?  Only then is the attempt
 * recorded, so that an index that existed before the job is never taken
 * for its own leftover.
 */
static bool
worth_recording_attempt(Node *stmt)
{
	if (IsA(stmt, IndexStmt))
		return !OidIsValid(target_index(stmt));
	if (IsA(stmt, DropStmt))
		return OidIsValid(target_index(stmt));
	return false;
}

/* Finish the job: record the migration, mark the job done. */
static void
finish_script_job(ScriptRun *run)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1];
	bool		isnull;
	int			retries;
	Interval   *duration;

	values[0] = Int64GetDatum(run->job_id);
	job_execute("SELECT s.retries, pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) j.started_at"
				" FROM @job@ j JOIN @script@ s ON s.job_id OPERATOR(pg_catalog.=) j.id"
				" WHERE j.id OPERATOR(pg_catalog.=) $1",
				1, types, values, NULL);
	if (SPI_processed == 0)
		return;
	retries = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	duration = DatumGetIntervalP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	if (isnull)
	{
		duration = palloc0(sizeof(Interval));
	}

	pgm_serialise_migrations(false);
	if (run->down)
		pgm_record_rolled_back(run->version, NULL);
	else
	{
		PgmAppliedMigration m;

		memset(&m, 0, sizeof(m));
		m.version = run->version;
		m.description = run->description;
		m.up = run->up;
		m.down = run->down_script;
		m.irreversible = run->irreversible;
		m.checksum = run->checksum;
		m.duration = duration;
		m.retries = retries;
		m.search_path = run->search_path;
		m.applied_as = run->owner;
		pgm_record_applied(&m);
	}
	job_execute("UPDATE @slice@ SET done = true, updated_at = pg_catalog.now()"
				" WHERE job_id OPERATOR(pg_catalog.=) $1",
				1, types, values, NULL);
	job_execute("UPDATE @job@ SET state = 'done', finished_at = pg_catalog.clock_timestamp(),"
				" updated_at = pg_catalog.now(), last_error = NULL"
				" WHERE id OPERATOR(pg_catalog.=) $1",
				1, types, values, NULL);
}

/* Mark the job failed with the error, as the owner of the job tables. */
static void
fail_script_job(ScriptRun *run, const char *message)
{
	Oid			types[2] = {INT8OID, TEXTOID};
	Datum		values[2];

	begin_step();
	values[0] = Int64GetDatum(run->job_id);
	values[1] = CStringGetTextDatum(message);
	job_execute("UPDATE @job@ SET state = 'failed', last_error = $2,"
				" updated_at = pg_catalog.now()"
				" WHERE id OPERATOR(pg_catalog.=) $1"
				" AND state OPERATOR(pg_catalog.=) ANY ('{queued,running}'::pg_catalog.text[])",
				2, types, values, NULL);
	end_step();
	ereport(LOG,
			(errmsg("background job " INT64_FORMAT " (migration \"%s\") failed: %s",
					run->job_id, run->version, message)));
}

/* Count a retry of the script's current statement. */
static void
count_retry(ScriptRun *run)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1];

	begin_step();
	values[0] = Int64GetDatum(run->job_id);
	job_execute("UPDATE @script@ SET retries = retries OPERATOR(pg_catalog.+) 1"
				" WHERE job_id OPERATOR(pg_catalog.=) $1",
				1, types, values, NULL);
	end_step();
}

/*
 * A down script may drop what its own up script created; those drops are
 * still judged, and recorded as overrides with this reason (as in
 * migrate_rollback).
 */
static void
set_exemptions(ScriptRun *run)
{
	if (!run->down)
		return;
	pgm_exemptions = pgm_created_by(run->up_stmts);
	pgm_exemption_reason = psprintf("rollback of migration \"%s\", which created it",
									run->version);
}

/*
 * Run one statement (1-based number) with its bookkeeping.  Errors
 * propagate; the caller rolls back and decides.
 */
static void
run_one(ScriptRun *run, PgmScriptStmt *st, bool attempted)
{
	List	   *drops = NIL;
	ListCell   *lc;

	if (!st->own_transaction)
	{
		int			next;
		bool		attempted_now;
		bool		go;

		/*
		 * One transaction: the statement and its progress, the progress row
		 * locked first, so that the statement runs only if it is still the
		 * next one to run.
		 */
		begin_step();
		go = read_script_progress(run, &next, &attempted_now) && next == st->number;
		SPI_finish();
		if (!go)
		{
			PopActiveSnapshot();
			CommitTransactionCommand();
			return;
		}
		set_statement_lock_timeout(st);
		set_exemptions(run);
		pgm_judge_script_dml(st);
		PopActiveSnapshot();
		run_toplevel(run, st->text);
		pgm_exemptions = NIL;
		pgm_exemption_reason = NULL;
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		PushActiveSnapshot(GetTransactionSnapshot());
		advance(run, st->number);
		end_step();
		return;
	}

	/* A statement that commits on its own. */
	begin_step();
	if (attempted)
	{
		switch (pgm_find_leftover(st->raw->stmt, target_index(st->raw->stmt),
								  run->stmt_cxt, &drops))
		{
			case PGM_LEFTOVER_DONE:
				ereport(LOG,
						(errmsg("background job " INT64_FORMAT " (migration \"%s\"): statement %d was finished by an earlier attempt",
								run->job_id, run->version, st->number)));
				advance(run, st->number);
				end_step();
				return;
			case PGM_LEFTOVER_DROP:
			case PGM_LEFTOVER_NONE:
				break;
		}
	}
	else if (worth_recording_attempt(st->raw->stmt))
		mark_attempted(run, st, true);
	end_step();

	if (drops != NIL)
	{
		MemoryContext oldcxt = MemoryContextSwitchTo(run->stmt_cxt);
		char	   *who = psprintf("background job " INT64_FORMAT " (migration \"%s\")",
						   run->job_id, run->version);

		MemoryContextSwitchTo(oldcxt);
		foreach(lc, drops)
			pgm_drop_leftover(who, (const char *) lfirst(lc), run->stmt_cxt);
	}

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	set_statement_lock_timeout(st);
	set_exemptions(run);
	run_toplevel(run, st->text);
	pgm_exemptions = NIL;
	pgm_exemption_reason = NULL;
	CommitTransactionCommand();

	begin_step();
	advance(run, st->number);
	end_step();
}

/*
 * The job worker's main loop for a migration job.  The worker is connected
 * as the submitting session's login role.
 */
void
pgm_run_script_job(int64 job_id)
{
	ScriptRun	run;
	int			retries = 0;
	int			delay = 0;
	bool		runnable;

	memset(&run, 0, sizeof(run));
	run.job_id = job_id;
	run.cxt = AllocSetContextCreate(TopMemoryContext, "pg_migrate migration job",
									ALLOCSET_DEFAULT_SIZES);
	run.stmt_cxt = AllocSetContextCreate(TopMemoryContext, "pg_migrate migration statement",
										 ALLOCSET_DEFAULT_SIZES);

	/*
	 * What fails here (the submitter may not SET ROLE to the job's owner any
	 * more, a setting is refused) fails the job: a worker that exited with
	 * the error would only be started again.
	 */
	PG_TRY();
	{
		begin_step();
		runnable = load_script_job(&run);
		end_step();
	}
	PG_CATCH();
	{
		ErrorData  *error;

		MemoryContextSwitchTo(run.cxt);
		error = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		if (run.version == NULL)
			run.version = "?";
		fail_script_job(&run, psprintf("the job could not start: %s", error->message));
		return;
	}
	PG_END_TRY();
	if (!runnable)
		return;

	/*
	 * An online change has the submitting session's setup (role,
	 * search_path, settings) like a migration, and steps of its own.
	 */
	if (run.online)
	{
		pgm_current_migration = NULL;
		if (pgm_online_runner == NULL)
		{
			fail_script_job(&run, "online changes are not available in this server");
			return;
		}
		pgm_online_runner(job_id);
		return;
	}

	for (;;)
	{
		int			next;
		bool		attempted;
		PgmScriptStmt *st;
		ErrorData  *volatile error = NULL;
		bool		more;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		begin_step();
		more = read_script_progress(&run, &next, &attempted);
		if (more && next > list_length(run.stmts))
		{
			finish_script_job(&run);
			more = false;
		}
		end_step();
		if (!more)
			break;

		st = list_nth(run.stmts, next - 1);
		PG_TRY();
		{
			run_one(&run, st, attempted);
		}
		PG_CATCH();
		{
			error = pgm_toplevel_catch(run.cxt);
		}
		PG_END_TRY();
		MemoryContextReset(run.stmt_cxt);
		pgstat_report_activity(STATE_IDLE, NULL);

		if (error == NULL)
		{
			retries = 0;
			delay = 0;
			continue;
		}

		if (pgm_toplevel_retryable(error->sqlerrcode) && retries < pgm_batch_max_retries)
		{
			int			ms = pgm_backoff_next(&delay);

			retries++;
			ereport(LOG,
					(errmsg("background job " INT64_FORMAT " (migration \"%s\"): statement %d retried (%d) in %d ms: %s",
							run.job_id, run.version, st->number, retries, ms, error->message)));
			FreeErrorData(error);
			count_retry(&run);
			pgm_sleep_ms(ms);
			continue;
		}
		fail_script_job(&run, psprintf("statement %d of the %s script failed: %s",
									   st->number, run.down ? "down" : "up",
									   pgm_toplevel_error_text(error)));
		FreeErrorData(error);
		break;
	}
	pgm_current_migration = NULL;
}
