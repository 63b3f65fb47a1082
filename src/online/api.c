/*-------------------------------------------------------------------------
 *
 * api.c
 *		migrate_online(sql, complete), migrate_online_abort(job) and
 *		migrate_online_complete(job): the SQL side of online changes.
 *
 * migrate_online takes one ordinary DDL statement, exactly as the user
 * would have run it, and records a job of kind 'online' whose steps do the
 * same thing without holding a lock that blocks reads or writes for longer
 * than one bounded lock wait.  It refuses, with nothing changed, several
 * statements, anything it has no recipe for, and what the caller could not
 * run directly (the same ownership and privilege checks; each step runs
 * as the caller again, so PostgreSQL checks them once more).
 *
 * The job is run by a background worker logged in as the caller's session
 * role with the caller's current role, search_path and pg_migrate
 * settings, exactly like migrate_apply_async: the migrate_job_script row
 * carries them.  The plan itself lives in migrate_online and
 * migrate_online_step, written here in the caller's transaction, so a
 * refused or rolled-back call leaves no job.
 *
 * Abort and complete do not act themselves: they record the request and
 * queue the job again; the worker undoes the steps done, in reverse order,
 * or runs the complete steps.  All bookkeeping runs as the owner of the job
 * tables under a pinned search_path; only the job's owner (or a member)
 * may send a request.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "tcop/cmdtag.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "core/catalog.h"
#include "core/draw_id.h"
#include "core/guc.h"
#include "core/parse.h"
#include "core/spi.h"
#include "ddl/history.h"
#include "jobs/jobs.h"
#include "jobs/script.h"
#include "jobs/shmem.h"
#include "migrate/migrate.h"
#include "online/online.h"

PG_FUNCTION_INFO_V1(migrate_online);
PG_FUNCTION_INFO_V1(migrate_online_abort);
PG_FUNCTION_INFO_V1(migrate_online_complete);

#define PGM_ONLINE_TABLE	"migrate_online"
#define PGM_STEP_TABLE		"migrate_online_step"

static const char *const mode_names[] = {"transaction", "concurrent", "backfill"};

/*
 * Run one statement on the job tables as their owner: @job@, @slice@,
 * @script@, @online@ and @step@ stand for their qualified names.
 */
static int
online_execute(const char *sql_fmt, int nargs, Oid *types, Datum *values,
			   const char *nulls)
{
	StringInfoData buf;
	const char *p = sql_fmt;
	static const struct
	{
		const char *tag;
		const char *table;
	}			tables[] = {
		{"@job@", PGM_JOB_TABLE},
		{"@slice@", PGM_SLICE_TABLE},
		{"@script@", PGM_SCRIPT_TABLE},
		{"@online@", PGM_ONLINE_TABLE},
		{"@step@", PGM_STEP_TABLE},
	};

	initStringInfo(&buf);
	while (*p)
	{
		int			i;
		bool		found = false;

		for (i = 0; i < lengthof(tables); i++)
		{
			size_t		len = strlen(tables[i].tag);

			if (strncmp(p, tables[i].tag, len) == 0)
			{
				appendStringInfoString(&buf, pgm_job_table_name(tables[i].table));
				p += len;
				found = true;
				break;
			}
		}
		if (!found)
			appendStringInfoChar(&buf, *p++);
	}
	return pgm_execute_as(pgm_job_table_owner(), buf.data, nargs, types, values, nulls);
}

/*
 * In the job's worker, in a transaction, SPI connected: the migration the
 * change was submitted from, kept for the history rows of its steps.
 */
void
pgm_online_load_migration(int64 job_id)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1];
	bool		isnull;
	Datum		d;

	pgm_history_job_migration = NULL;
	if (get_attnum(pgm_relation(PGM_ONLINE_TABLE), "migration_version") == InvalidAttrNumber)
		return;
	values[0] = Int64GetDatum(job_id);
	if (online_execute("SELECT migration_version FROM @online@ WHERE job_id OPERATOR(pg_catalog.=) $1",
					   1, types, values, NULL) != SPI_OK_SELECT || SPI_processed != 1)
		return;
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (!isnull)
		pgm_history_job_migration = MemoryContextStrdup(TopMemoryContext,
														TextDatumGetCString(d));
}

/* For runner.c, which does its bookkeeping the same way. */
int
pgm_online_execute(const char *sql_fmt, int nargs, Oid *types, Datum *values,
				   const char *nulls)
{
	return online_execute(sql_fmt, nargs, types, values, nulls);
}

static void
check_installed(void)
{
	if (!OidIsValid(pgm_relation(PGM_ONLINE_TABLE)) ||
		!OidIsValid(pgm_relation(PGM_SCRIPT_TABLE)))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the installed version of pg_migrate cannot run online changes"),
				 errhint("Run ALTER EXTENSION pg_migrate UPDATE.")));
}

/*
 * What submitting an online change takes, checked before the job is
 * recorded: a primary, the 1.3 objects, a session role the worker can log
 * in as.
 */
void
pgm_online_check_submitter(void)
{
	pgm_check_not_standby();
	check_installed();
	pgm_check_script_submitter();
}

/* ----------------------------------------------------------------
 * Parsing: which recipe, if any
 * ----------------------------------------------------------------
 */

static const char *
statement_name(Node *stmt)
{
	return GetCommandTagName(CreateCommandTag(stmt));
}

static void
plan_alter_table(PgmOnlinePlan *plan, AlterTableStmt *stmt, const char *text,
				 int64 job_id)
{
	AlterTableCmd *cmd;
	Oid			relid;

	if (stmt->objtype != OBJECT_TABLE)
		pgm_online_refuse(statement_name((Node *) stmt),
						  "Only ALTER TABLE runs online.", NULL);
	if (list_length(stmt->cmds) != 1)
		pgm_online_refuse("an ALTER TABLE with several subcommands",
						  "Each subcommand has a recipe of its own.",
						  "Submit one migrate_online per subcommand.");
	cmd = linitial_node(AlterTableCmd, stmt->cmds);
	if (stmt->missing_ok)
		pgm_online_refuse("ALTER TABLE IF EXISTS",
						  "The job needs the table to exist when it is submitted.",
						  "Drop IF EXISTS.");

	switch (cmd->subtype)
	{
		case AT_AddConstraint:
			relid = pgm_online_table(stmt->relation, "this ALTER TABLE");
			pgm_online_plan_constraint(plan, relid, castNode(Constraint, cmd->def), text);
			break;
		case AT_SetNotNull:
			relid = pgm_online_table(stmt->relation, "this ALTER TABLE");
			pgm_online_plan_not_null(plan, relid, cmd->name);
			break;
		case AT_AlterColumnType:
			relid = pgm_online_table(stmt->relation, "this ALTER TABLE");
			pgm_online_plan_retype(plan, relid, cmd, job_id);
			break;
		case AT_AddColumn:
			relid = pgm_online_table(stmt->relation, "this ALTER TABLE");
			pgm_online_plan_add_column(plan, relid, cmd, job_id);
			break;
		default:
			pgm_online_refuse("this ALTER TABLE",
							  "migrate_online runs ADD CONSTRAINT (FOREIGN KEY, CHECK, UNIQUE, PRIMARY KEY), "
							  "ADD COLUMN, ALTER COLUMN ... SET NOT NULL and ALTER COLUMN ... TYPE.",
							  "Run the statement directly, or with migrate_apply.");
	}
}

void
pgm_online_build_plan(PgmOnlinePlan *plan, Node *stmt, const char *text, int64 job_id)
{
	switch (nodeTag(stmt))
	{
		case T_IndexStmt:
			pgm_online_plan_index(plan, (IndexStmt *) stmt, text);
			break;
		case T_DropStmt:
			if (((DropStmt *) stmt)->removeType != OBJECT_INDEX)
				pgm_online_refuse(statement_name(stmt),
								  "Of the DROP statements, only DROP INDEX runs online.",
								  NULL);
			pgm_online_plan_drop_index(plan, (DropStmt *) stmt);
			break;
		case T_ReindexStmt:
			pgm_online_plan_reindex(plan, (ReindexStmt *) stmt);
			break;
		case T_AlterTableStmt:
			plan_alter_table(plan, (AlterTableStmt *) stmt, text, job_id);
			break;
		case T_RenameStmt:
			pgm_online_plan_rename(plan, (RenameStmt *) stmt, job_id);
			break;
		default:
			pgm_online_refuse(statement_name(stmt),
							  "migrate_online runs CREATE INDEX, DROP INDEX, REINDEX and ALTER TABLE "
							  "(ADD CONSTRAINT, ADD COLUMN, SET NOT NULL, ALTER COLUMN TYPE, RENAME).",
							  "Run the statement directly, or with migrate_apply.");
	}
	if (plan->steps == NIL)
		elog(ERROR, "online plan has no steps");
}

/* ----------------------------------------------------------------
 * Recording the job
 * ----------------------------------------------------------------
 */

static void
insert_steps(int64 job_id, PgmOnlinePlan *plan)
{
	Oid			types[11] = {INT8OID, INT4OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
		TEXTOID, BOOLOID, TEXTARRAYOID, TEXTOID, TEXTOID};
	Datum		values[12];
	char		nulls[12];
	ListCell   *lc;
	int			n = 0;

	foreach(lc, plan->steps)
	{
		PgmOnlineStep *step = lfirst(lc);
		Datum	   *exempt;
		int			nexempt = list_length(step->exempt);
		ListCell   *lc2;
		int			i = 0;

		exempt = palloc(sizeof(Datum) * Max(nexempt, 1));
		foreach(lc2, step->exempt)
			exempt[i++] = CStringGetTextDatum((const char *) lfirst(lc2));

		memset(nulls, ' ', sizeof(nulls));
		values[0] = Int64GetDatum(job_id);
		values[1] = Int32GetDatum(++n);
		values[2] = CStringGetTextDatum(step->phase);
		values[3] = CStringGetTextDatum(step->complete_stage ? "complete" : "change");
		values[4] = CStringGetTextDatum(mode_names[step->mode]);
		values[5] = CStringGetTextDatum(step->sql);
		if (step->target)
			values[6] = CStringGetTextDatum(step->target);
		else
			nulls[6] = 'n';
		values[7] = BoolGetDatum(step->blocking);
		values[8] = PointerGetDatum(construct_array(exempt, nexempt, TEXTOID, -1, false,
													TYPALIGN_INT));
		if (step->undo)
		{
			values[9] = CStringGetTextDatum(step->undo);
			values[10] = CStringGetTextDatum(mode_names[step->undo_mode]);
		}
		else
		{
			nulls[9] = 'n';
			nulls[10] = 'n';
		}
		values[11] = BoolGetDatum(step->undo_blocking);
		{
			Oid			alltypes[12];

			memcpy(alltypes, types, sizeof(types));
			alltypes[11] = BOOLOID;
			if (online_execute("INSERT INTO @step@ (job_id, step, phase, stage, mode, sql, target,"
							   " blocking, exempt, undo, undo_mode, undo_blocking)"
							   " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
							   12, alltypes, values, nulls) != SPI_OK_INSERT)
				elog(ERROR, "could not record the steps of the job");
		}
	}
}

/*
 * migrate_online(sql text, complete boolean DEFAULT false) returns bigint
 */
Datum
migrate_online(PG_FUNCTION_ARGS)
{
	char	   *sql;
	bool		complete = PG_ARGISNULL(1) ? false : PG_GETARG_BOOL(1);
	List	   *raws;
	RawStmt    *raw;
	char	   *stmt_text;

	pgm_check_preloaded();
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the statement must not be NULL")));
	sql = text_to_cstring(PG_GETARG_TEXT_PP(0));
	pgm_check_not_standby();
	check_installed();
	pgm_check_script_submitter();

	raws = pgm_parse_raw(sql);
	if (list_length(raws) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("migrate_online takes exactly one statement, not %d", list_length(raws)),
				 errhint("Submit one migrate_online per statement; each becomes a job of its own.")));
	/* Parsed again alone, so that positions in the tree point into stmt_text. */
	stmt_text = pgm_statement_text(sql, linitial_node(RawStmt, raws));
	raw = linitial_node(RawStmt, pgm_parse_raw(stmt_text));

	PG_RETURN_INT64(pgm_online_submit(raw->stmt, stmt_text, complete, NULL));
}

/*
 * Record the job of an online change of one statement (stmt, parsed from
 * stmt_text alone) in the current transaction; the workers are woken when
 * it commits.  The caller has checked that it may submit.  When plan_out
 * is given, it receives the plan (the policy action `online` runs some
 * steps at once, see substitute.c).
 */
int64
pgm_online_submit(Node *stmt, const char *stmt_text, bool complete,
				  PgmOnlinePlan *plan_out)
{
	PgmOnlinePlan plan;
	int64		job_id;
	Oid			types[6];
	Datum		values[6];
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext spicxt;
	const char *migration;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/*
	 * The job row first: a type change names its objects after the job.
	 * Not nextval(): the session's lastval() stays the application's.
	 */
	job_id = pgm_draw_id(pgm_relation(PGM_JOB_TABLE));
	pgm_jobs_forget_parked(MyDatabaseId, job_id);
	types[0] = OIDOID;
	values[0] = ObjectIdGetDatum(GetUserId());
	types[1] = INT8OID;
	values[1] = Int64GetDatum(job_id);
	if (online_execute("INSERT INTO @job@ (id, kind, relation, owner, key_mode, key_name,"
					   " batch_size, parallel, pause, estimated_rows)"
					   " VALUES ($2, 'online', 0, $1, 'script', 'online change', 1, 1, '0', 0)",
					   2, types, values, NULL) != SPI_OK_INSERT)
		elog(ERROR, "could not record the job");

	/* The plan in the caller's memory: plan_out outlives SPI_finish. */
	memset(&plan, 0, sizeof(plan));
	spicxt = MemoryContextSwitchTo(caller);
	pgm_online_build_plan(&plan, stmt, stmt_text, job_id);
	MemoryContextSwitchTo(spicxt);

	/*
	 * PostgreSQL cannot give a column another place without a rewrite: a
	 * type change leaves the new column last.  Said once the change is
	 * accepted, to whoever submits it.
	 */
	if (plan.moved_past > 0)
		ereport(NOTICE,
				(errmsg("column \"%s\" will be the last column of %s after the cut-over",
						plan.moved_column, pgm_online_relname(plan.relid)),
				 errdetail_plural("PostgreSQL cannot give the new column the old one's place: %d column now after it will come before it. "
								  "SELECT * lists it last, and INSERT ... VALUES without a column list must give its value last "
								  "(until complete, the old column also keeps its place as \"%s\").",
								  "PostgreSQL cannot give the new column the old one's place: %d columns now after it will come before it. "
								  "SELECT * lists it last, and INSERT ... VALUES without a column list must give its value last "
								  "(until complete, the old column also keeps its place as \"%s\").",
								  plan.moved_past, plan.moved_past, plan.moved_old_name),
				 errhint("Name the columns in INSERT and COPY statements, and in queries whose readers depend on the order.")));

	types[0] = INT8OID;
	values[0] = Int64GetDatum(job_id);
	types[1] = OIDOID;
	values[1] = ObjectIdGetDatum(plan.relid);
	types[2] = INT8OID;
	values[2] = Int64GetDatum(list_length(plan.steps));
	types[3] = TEXTOID;
	values[3] = CStringGetTextDatum(plan.operation);
	online_execute("UPDATE @job@ SET relation = $2::pg_catalog.regclass, estimated_rows = $3,"
				   " key_name = $4 WHERE id OPERATOR(pg_catalog.=) $1",
				   4, types, values, NULL);

	types[1] = TEXTOID;
	values[1] = CStringGetTextDatum(psprintf("online " INT64_FORMAT, job_id));
	types[2] = TEXTOID;
	values[2] = CStringGetTextDatum(stmt_text);
	types[3] = OIDOID;
	values[3] = ObjectIdGetDatum(GetSessionUserId());
	types[4] = TEXTOID;
	values[4] = CStringGetTextDatum(GetConfigOption("search_path", false, false));
	types[5] = TEXTOID;
	values[5] = CStringGetTextDatum(pgm_migration_checksum(stmt_text, NULL));
	if (online_execute("INSERT INTO @script@ (job_id, direction, version, up, irreversible,"
					   " session_role, search_path, checksum, statements, settings)"
					   " VALUES ($1, 'up', $2, $3, false, $4, $5, $6, 1,"
					   " (SELECT COALESCE(pg_catalog.jsonb_object_agg(name, setting), '{}')"
					   "    FROM pg_catalog.pg_settings"
					   "   WHERE pg_catalog.starts_with(name, 'pg_migrate.')"
					   "     AND source OPERATOR(pg_catalog.=) ANY ('{client,session}'::pg_catalog.text[])))",
					   6, types, values, NULL) != SPI_OK_INSERT)
		elog(ERROR, "could not record the job");

	if (online_execute("INSERT INTO @slice@ (job_id, slice, batch_size) VALUES ($1, 0, 1)",
					   1, types, values, NULL) != SPI_OK_INSERT)
		elog(ERROR, "could not record the job");

	types[1] = TEXTOID;
	values[1] = CStringGetTextDatum(stmt_text);
	types[2] = TEXTOID;
	values[2] = CStringGetTextDatum(plan.operation);
	types[3] = BOOLOID;
	values[3] = BoolGetDatum(complete);
	if (online_execute("INSERT INTO @online@ (job_id, statement, operation, auto_complete)"
					   " VALUES ($1, $2, $3, $4)",
					   4, types, values, NULL) != SPI_OK_INSERT)
		elog(ERROR, "could not record the job");

	/*
	 * Submitted by a migration (migrate_apply, or a job running one): the
	 * change's steps are recorded under its version.  The backend's own
	 * state, set only while it applies the migration.
	 */
	migration = pgm_current_migration ? pgm_current_migration : pgm_history_job_migration;
	if (migration != NULL &&
		get_attnum(pgm_relation(PGM_ONLINE_TABLE), "migration_version") != InvalidAttrNumber)
	{
		types[1] = TEXTOID;
		values[1] = CStringGetTextDatum(migration);
		online_execute("UPDATE @online@ SET migration_version = $2"
					   " WHERE job_id OPERATOR(pg_catalog.=) $1",
					   2, types, values, NULL);
	}
	insert_steps(job_id, &plan);
	SPI_finish();

	pgm_jobs_notify_at_commit();
	if (plan_out)
		*plan_out = plan;
	return job_id;
}

/* ----------------------------------------------------------------
 * Requests: abort and complete
 * ----------------------------------------------------------------
 */

static text *
request(int64 job_id, bool abort)
{
	Oid			types[2] = {INT8OID, TEXTOID};
	Datum		values[2];
	bool		isnull;
	Oid			owner;
	char	   *state;
	char	   *outcome;
	char	   *current;
	const char *what = abort ? "abort" : "complete";
	char	   *result_state;
	text	   *result;

	pgm_check_preloaded();
	pgm_check_not_standby();
	check_installed();

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	values[0] = Int64GetDatum(job_id);
	online_execute("SELECT j.owner::pg_catalog.oid, j.state, o.outcome, o.request"
				   " FROM @job@ j JOIN @online@ o ON o.job_id OPERATOR(pg_catalog.=) j.id"
				   " WHERE j.id OPERATOR(pg_catalog.=) $1 FOR UPDATE",
				   1, types, values, NULL);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("job " INT64_FORMAT " is not an online change", job_id)));
	owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	state = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	outcome = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);
	current = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4);

	if (!has_privs_of_role(GetUserId(), owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to %s job " INT64_FORMAT, what, job_id),
				 errdetail("Only the role that submitted the job, its members and superusers control it.")));
	if (outcome && (strcmp(outcome, "completed") == 0 || strcmp(outcome, "aborted") == 0))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("online change " INT64_FORMAT " is %s and cannot be %s",
						job_id, outcome, abort ? "aborted" : "completed")));
	if (abort)
	{
		online_execute("SELECT FROM @step@ WHERE job_id OPERATOR(pg_catalog.=) $1"
					   " AND stage OPERATOR(pg_catalog.=) 'complete'"
					   " AND state OPERATOR(pg_catalog.<>) 'pending'",
					   1, types, values, NULL);
		if (SPI_processed > 0)
			current = "complete";
	}
	if (abort && strcmp(current, "complete") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("online change " INT64_FORMAT " is being completed and cannot be aborted",
						job_id),
				 errdetail("Completing drops what an abort would need.")));
	if (!abort && strcmp(current, "abort") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("online change " INT64_FORMAT " is being aborted and cannot be completed",
						job_id),
				 errhint("Wait for the abort to finish; call migrate_online_abort again if it failed.")));

	if (abort)
	{
		online_execute("UPDATE @online@ SET request = 'abort', outcome = NULL"
					   " WHERE job_id OPERATOR(pg_catalog.=) $1",
					   1, types, values, NULL);
		result_state = "queued";
	}
	else if (outcome == NULL)
	{
		/* Not at its cut-over yet: complete right after it. */
		online_execute("UPDATE @online@ SET auto_complete = true"
					   " WHERE job_id OPERATOR(pg_catalog.=) $1",
					   1, types, values, NULL);
		result_state = (strcmp(state, "failed") == 0 || strcmp(state, "paused") == 0 ||
						strcmp(state, "cancelled") == 0) ? state : "queued";
	}
	else
	{
		online_execute("UPDATE @online@ SET request = 'complete', outcome = NULL"
					   " WHERE job_id OPERATOR(pg_catalog.=) $1",
					   1, types, values, NULL);
		result_state = "queued";
	}

	/* Queue the job again unless it is only told to complete later. */
	if (strcmp(result_state, "queued") == 0)
	{
		online_execute("UPDATE @job@ SET state = 'queued', finished_at = NULL, last_error = NULL,"
					   " updated_at = pg_catalog.now()"
					   " WHERE id OPERATOR(pg_catalog.=) $1"
					   " AND state OPERATOR(pg_catalog.<>) 'running'",
					   1, types, values, NULL);
		online_execute("UPDATE @slice@ SET done = false WHERE job_id OPERATOR(pg_catalog.=) $1",
					   1, types, values, NULL);
		if (strcmp(state, "running") == 0)
			result_state = "running";
		pgm_jobs_notify_at_commit();
	}

	result = cstring_to_text(result_state);
	SPI_finish();
	return result;
}

Datum
migrate_online_abort(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(request(PG_GETARG_INT64(0), true));
}

Datum
migrate_online_complete(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(request(PG_GETARG_INT64(0), false));
}
