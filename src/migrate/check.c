/*-------------------------------------------------------------------------
 *
 * check.c
 *		migrate_check(sql): judge a migration script without applying it.
 *
 * The script is split with the raw parser and judged one statement at a
 * time, in order, each one against the catalog as the statements before it
 * left it: everything runs inside one subtransaction that is rolled back at
 * the end, and each statement that is cheap to run is executed in it after
 * being judged, so that a table created by statement 1 is new (never
 * populated) for statement 2.
 *
 * What is executed (the dry run proper) is an allow-list of catalog DDL
 * whose effects end with the subtransaction: CREATE/ALTER/DROP of tables,
 * indexes, views, sequences, types, functions, triggers, policies, grants,
 * comments, SET.  Nothing else ever runs: a dry run must have no effect
 * that outlives its rollback (a sequence value, a file written by COPY, a
 * prepared statement, a notification, a remote call) and must not run a
 * reviewed script's code.  So:
 *	- user code never runs: while the walk is on, the fmgr hook refuses to
 *	  call any function that is not built in or written in C (C functions
 *	  are installed by superusers and trusted to honour their volatility);
 *	  a statement that would call one (a default or CHECK calling a
 *	  PL/pgSQL function, an event trigger, a function the planner would
 *	  fold) is reported as not dry-run;
 *	- an allowed statement is still not executed when it would evaluate a
 *	  volatile default, a CHECK or USING expression that calls a function,
 *	  or VALIDATE CONSTRAINT, on the rows of a table that has any, nor when
 *	  a partition bound is an expression (all of which could call built-in
 *	  functions with lasting effects, such as setval()); it is judged from
 *	  the parse tree and the catalog;
 *	- anything the classifier predicts to rewrite, scan or build an index on
 *	  a populated table (the verdict must not cost what the migration costs);
 *	- statements that cannot run in a transaction block (VACUUM, the
 *	  CONCURRENTLY forms, REINDEX SCHEMA/DATABASE);
 *	- DML and queries: an UPDATE or DELETE is judged on the planner's row
 *	  estimate (rule large_dml), given only to a role that may read what it
 *	  reads, as EXPLAIN does; data never changes whether a later statement
 *	  is safe except through table size, which only grows;
 *	- transaction control (BEGIN/COMMIT/SAVEPOINT in the script);
 *	- every other statement (DO, CALL, COPY, CREATE TABLE AS, EXPLAIN
 *	  ANALYZE, PREPARE, LISTEN, CREATE EXTENSION, ...): its effects cannot
 *	  be judged without running it, so it is reported as a finding with
 *	  action "unchecked" saying why.
 *
 * Locks taken by the statements that are executed are held until the check
 * ends, which is short since only cheap statements run; each lock wait is
 * bounded by pg_migrate.lock_timeout.  A statement that fails is reported
 * as a finding with action "error" and the check carries on without its
 * effects.
 *
 * The hook stands aside while the check executes statements (they are not
 * judged twice, not recorded, and not retried).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/transam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_language.h"
#include "catalog/pg_proc.h"
#include "commands/defrem.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "nodes/plannodes.h"
#include "parser/analyze.h"
#include "parser/parser.h"
#include "parser/parse_type.h"
#include "parser/parsetree.h"
#include "parser/scansup.h"
#include "storage/proc.h"
#include "tcop/cmdtag.h"
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/formatting.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/resowner.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "core/catalog.h"
#include "core/compat.h"
#include "core/guc.h"
#include "core/parse.h"
#include "core/subxact.h"
#include "ddl/classify.h"
#include "ddl/facts.h"
#include "ddl/guard.h"
#include "ddl/policy.h"
#include "migrate/check.h"

PG_FUNCTION_INFO_V1(migrate_check);

#define CHECK_COLS 8

/* ---------------------------------------------------------------------
 * No user code in a dry run
 *
 * needs_fmgr_hook is asked, whenever a function is looked up for a call,
 * whether fmgr_hook must see its calls; while a dry run is on we say yes
 * for user code, and fmgr_hook refuses the call before it starts.  Built-in
 * functions never reach the hooks; the walk keeps those with lasting
 * effects from running by not executing what would evaluate them.
 * ---------------------------------------------------------------------
 */

/* The hooks these chain to; _PG_init installs them. */
needs_fmgr_hook_type pgm_dry_run_prev_needs_fmgr_hook = NULL;
fmgr_hook_type pgm_dry_run_prev_fmgr_hook = NULL;
ExecutorStart_hook_type pgm_dry_run_prev_ExecutorStart = NULL;

/* > 0 while a dry run is on */
static int	dry_run_depth = 0;

/*
 * True while the walk executes a catalog statement or plans a DML one.
 * Neither starts the executor, except for the check that the rows of a
 * table satisfy a new foreign key, which reads two plain tables; any other
 * query that starts then was started by a built-in function such as
 * table_to_xml(), and reading a view or a table with row-level security
 * could call anything.
 */
static bool dry_run_no_queries = false;

/* set when fmgr_hook refused a call, so the walk can tell why it failed */
static bool dry_run_refused = false;

/*
 * User code: a function created after initdb in a language other than C
 * (SQL, PL/pgSQL, ...): anyone may write those.  C functions can only be
 * created by superusers, and extensions' C functions are trusted like the
 * built-in ones.
 */
static bool
is_user_code(Oid fn_oid)
{
	HeapTuple	tup;
	Oid			lang;

	if (fn_oid < FirstNormalObjectId)
		return false;
	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn_oid));
	if (!HeapTupleIsValid(tup))
		return false;			/* fmgr reports it */
	lang = ((Form_pg_proc) GETSTRUCT(tup))->prolang;
	ReleaseSysCache(tup);
	return lang != INTERNALlanguageId && lang != ClanguageId;
}

/*
 * needs_fmgr_hook: while a dry run is on, user code must meet fmgr_hook.
 */
bool
pgm_dry_run_needs_fmgr_hook(Oid fn_oid)
{
	if (dry_run_depth > 0 && is_user_code(fn_oid))
		return true;
	return pgm_dry_run_prev_needs_fmgr_hook ?
		pgm_dry_run_prev_needs_fmgr_hook(fn_oid) : false;
}

/* fmgr_hook: refuse to start user code while a dry run is on. */
void
pgm_dry_run_fmgr_hook(FmgrHookEventType event, FmgrInfo *flinfo, Datum *private)
{
	if (event == FHET_START && dry_run_depth > 0 && is_user_code(flinfo->fn_oid))
	{
		dry_run_refused = true;
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("it would run function %s, and a dry run runs no user code",
						format_procedure_qualified(flinfo->fn_oid))));
	}
	if (pgm_dry_run_prev_fmgr_hook)
		pgm_dry_run_prev_fmgr_hook(event, flinfo, private);
}

/*
 * A SELECT whose range table holds only plain tables without row-level
 * security, and their joins: what it evaluates is in its own text (built-in
 * operators; user ones meet the fmgr hook).
 */
static bool
reads_plain_tables_only(PlannedStmt *pstmt)
{
	ListCell   *lc;

	if (pstmt->commandType != CMD_SELECT || pstmt->hasModifyingCTE)
		return false;
	foreach(lc, pstmt->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		if (rte->rtekind == RTE_JOIN)
			continue;
		if (rte->rtekind != RTE_RELATION ||
			(rte->relkind != RELKIND_RELATION &&
			 rte->relkind != RELKIND_PARTITIONED_TABLE) ||
			check_enable_rls(rte->relid, InvalidOid, true) == RLS_ENABLED)
			return false;
	}
	return true;
}

/*
 * ExecutorStart_hook: refuse queries the walk did not expect while it runs
 * a catalog statement or plans a DML one.
 */
void
pgm_dry_run_ExecutorStart(QueryDesc *queryDesc, int eflags)
{
	if (dry_run_no_queries && !(eflags & EXEC_FLAG_EXPLAIN_ONLY) &&
		!reads_plain_tables_only(queryDesc->plannedstmt))
	{
		dry_run_refused = true;
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("it would run a query of its own, and a dry run runs no query that reads more than plain tables")));
	}
	if (pgm_dry_run_prev_ExecutorStart)
		pgm_dry_run_prev_ExecutorStart(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
}

/*
 * Start refusing user code; returns what pgm_dry_run_restore() takes, which
 * callers must also call on error.
 */
int
pgm_dry_run_enter(void)
{
	dry_run_refused = false;
	return dry_run_depth++;
}

void
pgm_dry_run_restore(int depth)
{
	dry_run_depth = depth;
	dry_run_no_queries = false;
}

/* ---------------------------------------------------------------------
 * What a dry run executes
 * ---------------------------------------------------------------------
 */

static bool is_dml(Node *node);

/* Does a raw expression call a function (or hold a subquery)? */
static bool
calls_function_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, FuncCall) || IsA(node, SubLink))
		return true;
	return raw_expression_tree_walker(node, calls_function_walker, context);
}

static bool
calls_function(Node *node)
{
	return calls_function_walker(node, NULL);
}

/* Does a raw statement read a relation or call a function? */
static bool
touches_data_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, FuncCall) || IsA(node, RangeVar))
		return true;
	return raw_expression_tree_walker(node, touches_data_walker, context);
}

static bool
touches_data(Node *node)
{
	return touches_data_walker(node, NULL);
}

/* A type whose values are checked by domain constraints, evaluated per value. */
static bool
is_constrained_domain(TypeName *tn)
{
	Oid			typid;

	if (tn == NULL)
		return false;
	typid = LookupTypeNameOid(NULL, tn, true);
	return OidIsValid(typid) && DomainHasConstraints(typid);
}

static bool
bound_calls_function(PartitionBoundSpec *spec)
{
	return spec != NULL &&
		(calls_function((Node *) spec->listdatums) ||
		 calls_function((Node *) spec->lowerdatums) ||
		 calls_function((Node *) spec->upperdatums));
}

/*
 * Why an ALTER TABLE must not be executed by a dry run, or NULL: it would
 * evaluate, on every existing row, an expression that may call a function
 * with lasting effects (a volatile default such as nextval(), a CHECK,
 * USING or domain check calling setval(), ...).  Partition bounds are
 * evaluated even on an empty table.  With assume_rows (a script judged
 * without walking it) the table is taken to have rows and any function
 * call in a default counts.
 */
static const char *
alter_table_not_runnable(AlterTableStmt *stmt, bool assume_rows)
{
	ListCell   *lc;

	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

		if (cmd->subtype == AT_AttachPartition && cmd->def &&
			IsA(cmd->def, PartitionCmd) &&
			bound_calls_function(((PartitionCmd *) cmd->def)->bound))
			return "its partition bound calls a function, which ATTACH PARTITION evaluates";
	}

	if (!assume_rows)
	{
		Oid			relid = RangeVarGetRelid(stmt->relation, NoLock, true);
		BlockNumber blocks = 0;

		if (!OidIsValid(relid))
			return NULL;
		(void) pgm_relation_populated(relid, &blocks, NULL);
		if (blocks == 0)
			return NULL;		/* no rows: nothing is evaluated per row */
	}

	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

		switch (cmd->subtype)
		{
			case AT_AddColumn:
				{
					ColumnDef  *col = castNode(ColumnDef, cmd->def);
					Node	   *raw_default = col->raw_default;
					const char *why = NULL;
					ListCell   *lc2;

					foreach(lc2, col->constraints)
					{
						Constraint *con = lfirst_node(Constraint, lc2);

						if (con->contype == CONSTR_DEFAULT)
							raw_default = con->raw_expr;
						else if (con->contype == CONSTR_CHECK &&
								 !con->skip_validation && calls_function(con->raw_expr))
							return "the CHECK expression of the new column calls a function, evaluated for every row";
					}
					if (is_constrained_domain(col->typeName))
						return "the new column's domain constraints are checked for every row";
					if (raw_default == NULL)
						break;
					if (assume_rows ? calls_function(raw_default) :
						pgm_default_needs_rewrite(col, raw_default, &why))
						return "the default of the new column is volatile, evaluated for every row";
				}
				break;
			case AT_AlterColumnType:
				{
					ColumnDef  *def = castNode(ColumnDef, cmd->def);

					if (def->raw_default && calls_function(def->raw_default))
						return "its USING expression calls a function, evaluated for every row";
					if (is_constrained_domain(def->typeName))
						return "the new type's domain constraints are checked for every row";
				}
				break;
			case AT_AddConstraint:
				if (cmd->def && IsA(cmd->def, Constraint))
				{
					Constraint *con = (Constraint *) cmd->def;

					if (con->contype == CONSTR_CHECK && !con->skip_validation &&
						calls_function(con->raw_expr))
						return "the CHECK expression calls a function, evaluated for every row";
				}
				break;
			case AT_ValidateConstraint:
				return "VALIDATE CONSTRAINT evaluates the constraint for every row";
			default:
				break;
		}
	}
	return NULL;
}

/* The language of CREATE FUNCTION, lower case; "sql" when not given. */
static const char *
function_language(CreateFunctionStmt *stmt)
{
	ListCell   *lc;

	foreach(lc, stmt->options)
	{
		DefElem    *d = lfirst_node(DefElem, lc);

		if (strcmp(d->defname, "language") == 0)
			return str_tolower(strVal(d->arg), strlen(strVal(d->arg)), InvalidOid);
	}
	return "sql";
}

/*
 * Do the validators of this function's language only parse its body?
 * SQL and PL/pgSQL do; others may run code while compiling it (Perl BEGIN
 * blocks) or load a library (C), so their bodies are not checked.
 */
static bool
body_check_is_safe(CreateFunctionStmt *stmt)
{
	const char *lang = function_language(stmt);

	return strcmp(lang, "sql") == 0 || strcmp(lang, "plpgsql") == 0;
}

/*
 * The statements a dry run may execute: catalog changes whose effects all
 * end with the rolled-back subtransaction and that run no code of their
 * own beyond functions (which the fmgr hook screens) and expressions
 * (which dry_run_not_runnable screens).
 */
static bool
dry_run_allowed(Node *node)
{
	switch (nodeTag(node))
	{
		case T_CreateStmt:
		case T_AlterTableStmt:
		case T_IndexStmt:
		case T_DropStmt:
		case T_RenameStmt:
		case T_ViewStmt:
		case T_CreateSeqStmt:
		case T_AlterSeqStmt:
		case T_CreateSchemaStmt:
		case T_CommentStmt:
		case T_GrantStmt:
		case T_GrantRoleStmt:
		case T_AlterDefaultPrivilegesStmt:
		case T_CreateTrigStmt:
		case T_CreateFunctionStmt:
		case T_AlterFunctionStmt:
		case T_CreateDomainStmt:
		case T_AlterDomainStmt:
		case T_CompositeTypeStmt:
		case T_CreateEnumStmt:
		case T_AlterEnumStmt:
		case T_CreateRangeStmt:
		case T_AlterTypeStmt:
		case T_DefineStmt:
		case T_AlterOwnerStmt:
		case T_AlterObjectSchemaStmt:
		case T_AlterObjectDependsStmt:
		case T_AlterOperatorStmt:
		case T_CreatePolicyStmt:
		case T_AlterPolicyStmt:
		case T_RuleStmt:
		case T_CreateStatsStmt:
		case T_AlterStatsStmt:
		case T_CreateCastStmt:
		case T_CreateConversionStmt:
		case T_CreateOpClassStmt:
		case T_CreateOpFamilyStmt:
		case T_AlterOpFamilyStmt:
		case T_AlterCollationStmt:
		case T_AlterTSDictionaryStmt:
		case T_AlterTSConfigurationStmt:
		case T_CreateForeignTableStmt:
		case T_CreateRoleStmt:
		case T_AlterRoleStmt:
		case T_DropRoleStmt:
		case T_DropOwnedStmt:
		case T_ReassignOwnedStmt:
		case T_ReindexStmt:
		case T_ClusterStmt:
		case T_LockStmt:
		case T_TruncateStmt:
		case T_VariableSetStmt:
			return true;
		case T_CreateTableAsStmt:
			/* CREATE MATERIALIZED VIEW ... WITH NO DATA runs no query */
			return ((CreateTableAsStmt *) node)->into->skipData;
		default:
			return false;
	}
}

/*
 * Why an allowed statement must still not be executed, from its parse
 * tree and the catalog; NULL when it may be.
 */
static const char *
dry_run_not_runnable(Node *node, bool assume_rows)
{
	switch (nodeTag(node))
	{
		case T_AlterTableStmt:
			return alter_table_not_runnable((AlterTableStmt *) node, assume_rows);
		case T_CreateStmt:
			if (bound_calls_function(((CreateStmt *) node)->partbound))
				return "its partition bound calls a function, evaluated when the partition is created";
			return NULL;
		case T_AlterDomainStmt:
			{
				AlterDomainStmt *stmt = (AlterDomainStmt *) node;
				Constraint *con = (Constraint *) stmt->def;

				if (stmt->subtype == 'V' ||
					(stmt->subtype == 'C' && con && IsA(con, Constraint) && !con->skip_validation))
					return "it checks every stored value of the domain with the constraint";
				return NULL;
			}
		case T_CreateFunctionStmt:
			if (assume_rows && !body_check_is_safe((CreateFunctionStmt *) node))
				return "the validator of its language may run code while compiling it";
			return NULL;
		default:
			return NULL;
	}
}

/*
 * Why a statement that is neither executed nor judged by analysis is left
 * alone: its effects cannot be known without running it.
 */
static const char *
unchecked_reason(Node *node)
{
	switch (nodeTag(node))
	{
		case T_DoStmt:
			return "DO runs procedural code";
		case T_CallStmt:
			return "CALL runs a procedure";
		case T_CopyStmt:
			return "COPY reads or writes data outside the database (a file, a program or the client)";
		case T_ExplainStmt:
			return "EXPLAIN ANALYZE executes the statement";
		case T_CreateTableAsStmt:
			return psprintf("%s runs its query",
							((CreateTableAsStmt *) node)->objtype == OBJECT_MATVIEW ?
							"CREATE MATERIALIZED VIEW" : "CREATE TABLE AS");
		case T_SelectStmt:
			return "SELECT INTO runs its query";
		case T_RefreshMatViewStmt:
			return "REFRESH MATERIALIZED VIEW runs the view's query";
		case T_PrepareStmt:
		case T_ExecuteStmt:
		case T_DeallocateStmt:
			return "prepared statements are session state that a rollback does not undo";
		case T_ListenStmt:
		case T_UnlistenStmt:
		case T_NotifyStmt:
			return "notifications reach other sessions";
		case T_CreateExtensionStmt:
		case T_AlterExtensionStmt:
			return "it runs the extension's script";
		case T_ImportForeignSchemaStmt:
			return "it asks the foreign server";
		default:
			return psprintf("a dry run does not execute %s", GetCommandTagName(CreateCommandTag(node)));
	}
}

/* EXPLAIN with ANALYZE executes its statement; a plain EXPLAIN is a query. */
static bool
is_explain_analyze(Node *node)
{
	return IsA(node, ExplainStmt) &&
		pgm_option_true(((ExplainStmt *) node)->options, "analyze");
}

/*
 * Could the statements of this script all be executed by a dry run,
 * judged from their parse trees alone (the catalog they would meet is not
 * known: every table is taken to have rows)?  Returns why not, or NULL.
 * Used before running a script that a walk has not judged.
 */
const char *
pgm_script_not_dry_runnable(const char *sql)
{
	List	   *raw = pgm_parse_raw(sql);
	ListCell   *lc;
	int			n = 0;

	foreach(lc, raw)
	{
		Node	   *node = lfirst_node(RawStmt, lc)->stmt;
		const char *why;

		n++;
		if (is_dml(node))
			why = touches_data(node) ?
				"a query or DML statement that reads a table or calls a function" : NULL;
		else if (!dry_run_allowed(node))
			why = unchecked_reason(node);
		else
			why = dry_run_not_runnable(node, true);
		if (why)
			return psprintf("statement %d is not run by a dry run: %s", n, why);
	}
	return NULL;
}

/* Is a raw statement a query or DML rather than a utility statement? */
static bool
is_dml(Node *node)
{
	switch (nodeTag(node))
	{
		case T_InsertStmt:
		case T_UpdateStmt:
		case T_DeleteStmt:
#ifdef PGM_HAVE_MERGE
		case T_MergeStmt:
#endif
			return true;
		case T_SelectStmt:
			/* SELECT INTO creates a table */
			return ((SelectStmt *) node)->intoClause == NULL;
		default:
			return false;
	}
}

/*
 * The planner's estimate for the statement with the conjuncts of its WHERE
 * clause that it cannot estimate from statistics left out (see
 * pgm_clause_estimable); -1 when every conjunct can be estimated, or when
 * the statement reads other tables (a join's estimate is left as it is).
 */
static double
dml_upper_bound(Query *query, const char *text)
{
	RangeTblEntry *rte = rt_fetch(query->resultRelation, query->rtable);
	List	   *conjuncts;
	List	   *kept = NIL;
	bool		dropped = false;
	ListCell   *lc;
	PlannedStmt *plan;
	int			relations = 0;

	foreach(lc, query->rtable)
		if (lfirst_node(RangeTblEntry, lc)->rtekind == RTE_RELATION)
			relations++;
	if (relations != 1 || query->jointree == NULL || query->jointree->quals == NULL ||
		query->hasSubLinks || query->cteList != NIL)
		return -1;
	conjuncts = make_ands_implicit((Expr *) query->jointree->quals);
	foreach(lc, conjuncts)
	{
		if (pgm_clause_estimable(lfirst(lc), query->resultRelation, rte->relid,
								 rte->relkind == RELKIND_PARTITIONED_TABLE))
			kept = lappend(kept, lfirst(lc));
		else
			dropped = true;
	}
	if (!dropped)
		return -1;
	query->jointree->quals = (Node *) make_ands_explicit(kept);
	if (kept == NIL)
		query->jointree->quals = NULL;
	plan = pg_plan_query(query, text, 0, NULL);
	if (plan->planTree == NULL || outerPlan(plan->planTree) == NULL)
		return -1;
	return outerPlan(plan->planTree)->plan_rows;
}

/*
 * UPDATE/DELETE: the planner's estimate of the rows touched, never a scan.
 * Returns the classification (with a large_dml operation when the estimate
 * is above pg_migrate.max_migration_rows) and sets *relid and *rows; for any
 * other statement returns NULL.
 */
PgmClassification *
pgm_classify_dml(RawStmt *rs, const char *text, Oid *relid, double *rows)
{
	Query	   *query;
	Query	   *unplanned;
	PlannedStmt *plan;
	PgmClassification *cls;
	PgmOperation *op;
	double		bound = -1;

	*relid = InvalidOid;
	*rows = -1;
	if (!is_dml(rs->stmt))
		return NULL;
	query = parse_analyze_fixedparams(copyObject(rs), text, NULL, 0, NULL);
	if (query->commandType != CMD_UPDATE && query->commandType != CMD_DELETE)
		return NULL;
	unplanned = copyObject(query);	/* the planner scribbles on its input */
	plan = pg_plan_query(query, text, 0, NULL);

	/*
	 * The estimate tells how many rows match the WHERE clause, which is
	 * what EXPLAIN tells: only to roles allowed to run the statement,
	 * reading what it reads.  This is the check ExecutorStart makes.
	 */
	PGM_ExecCheckPlanPerms(plan);

	if (plan->planTree == NULL || outerPlan(plan->planTree) == NULL)
		return NULL;

	/* ModifyTable estimates 0 rows without RETURNING; its input knows. */
	*rows = outerPlan(plan->planTree)->plan_rows;
	*relid = rt_fetch(query->resultRelation, query->rtable)->relid;

	cls = palloc0(sizeof(PgmClassification));
	cls->transactional = true;

	/*
	 * A table created in this transaction, or a temporary one, is nobody
	 * else's: filling or emptying it holds up no one.
	 */
	if (!pgm_relation_visible_to_others(*relid))
		return cls;

	/*
	 * Where the planner cannot estimate part of the WHERE clause from
	 * statistics it guesses, and a guess can be 100 times too low (an
	 * expression of a column compared with a value matches 0.5% of the
	 * rows, whatever it really matches).  Judged conservatively: the rows
	 * the rest of the clause lets through, as if what cannot be estimated
	 * matched every row.
	 */
	if (*rows <= pgm_max_migration_rows)
	{
		bound = dml_upper_bound(unplanned, text);
		if (bound <= pgm_max_migration_rows)
			return cls;
	}

	op = palloc0(sizeof(PgmOperation));
	op->rule = PGM_RULE_LARGE_DML;
	op->relid = *relid;
	op->relname = get_rel_name(*relid);
	op->schemaname = get_namespace_name(get_rel_namespace(*relid));
	op->lockmode = RowExclusiveLock;
	op->populated = pgm_relation_populated(*relid, &op->blocks, NULL);
	if (bound < 0)
		op->what = psprintf("%s of about %.0f rows of \"%s\" in one transaction (pg_migrate.max_migration_rows is %d)",
							query->commandType == CMD_UPDATE ? "UPDATE" : "DELETE",
							*rows, op->relname ? op->relname : "?", pgm_max_migration_rows);
	else
		op->what = psprintf("%s of up to %.0f rows of \"%s\" in one transaction: the planner estimates %.0f, "
							"but cannot estimate part of the WHERE clause from statistics "
							"(pg_migrate.max_migration_rows is %d)",
							query->commandType == CMD_UPDATE ? "UPDATE" : "DELETE",
							bound, op->relname ? op->relname : "?", *rows, pgm_max_migration_rows);
	cls->ops = list_make1(op);
	return cls;
}

/*
 * CREATE TABLE / MATERIALIZED VIEW ... AS, executed WITH NO DATA: the
 * relation is defined from the query's result columns without planning or
 * running the query (ExecCreateTableAs), so no user code runs.
 */
static void
create_empty(RawStmt *rs, const char *text)
{
	Query	   *query = parse_analyze_fixedparams(copyObject(rs), text, NULL, 0, NULL);
	CreateTableAsStmt *ctas;
	PlannedStmt *pstmt;

	if (query->commandType != CMD_UTILITY || !IsA(query->utilityStmt, CreateTableAsStmt))
		return;
	ctas = (CreateTableAsStmt *) query->utilityStmt;
	ctas->into->skipData = true;
	pstmt = makeNode(PlannedStmt);
	pstmt->commandType = CMD_UTILITY;
	pstmt->canSetTag = true;
	pstmt->utilityStmt = (Node *) ctas;
	pstmt->stmt_location = rs->stmt_location;
	pstmt->stmt_len = rs->stmt_len;
	/* an error aborts the walk's subtransaction, which pops it */
	PushActiveSnapshot(GetTransactionSnapshot());
	ProcessUtility(pstmt, text, false, PROCESS_UTILITY_QUERY, NULL, NULL,
				   None_Receiver, NULL);
	PopActiveSnapshot();
}

/*
 * Judge one statement, then execute it when that is cheap and possible and
 * can have no effect beyond the walk's subtransaction (see the file header).
 * Runs inside its own subtransaction (see walk_statement).
 */
static void
judge_and_run(PgmJudgedStatement *js, RawStmt *rs, bool bound_wait,
			  PgmJudgeCallback callback, void *arg)
{
	Node	   *node = rs->stmt;

	/* Verdicts first: require mode looks at the session's own setting. */
	if (!is_dml(node))
	{
		js->cls = pgm_classify_statement(node);
		js->verdicts = pgm_policy_verdicts(js->cls);
		/* `online`: what would run instead, or a refusal without a form */
		if (pgm_policy_runs_online(js->verdicts))
			(void) pgm_policy_describe_online(js->verdicts, js->text);
		pgm_policy_find_online_call(js->verdicts, js->text);
	}

	if (bound_wait && (LockTimeout == 0 || LockTimeout > pgm_lock_timeout))
		LockTimeout = pgm_lock_timeout;

	/* PostgreSQL will refuse it: reported as failing, not run, no findings */
	if (js->cls && js->cls->fails)
	{
		js->error = js->cls->fails;
		js->verdicts = NIL;
		js->cls = NULL;
		callback(arg, js);
		return;
	}

	if (is_dml(node))
	{
		/* the planner may evaluate stable functions to estimate */
		dry_run_no_queries = true;
		js->cls = pgm_classify_dml(rs, js->text, &js->dml_relid, &js->dml_rows);
		dry_run_no_queries = false;
		if (js->cls)
			js->verdicts = pgm_policy_verdicts(js->cls);
	}
	else if (!js->cls->transactional || js->cls->expensive ||
			 pgm_needs_own_transaction(node) != NULL)
		 /* judged by analysis alone */ ;
	else if (dry_run_allowed(node))
		js->runs = (dry_run_not_runnable(node, false) == NULL);
	else if (IsA(node, CreateTableAsStmt))
	{
		/*
		 * The table (or materialized view) is created empty, so that later
		 * statements are judged against it: new in the transaction, it is
		 * nobody's concern what they do to it.  Its query is not run; when
		 * it calls a function, what that would do is not known.
		 */
		js->runs_empty = true;
		if (calls_function(((CreateTableAsStmt *) node)->query))
			js->not_run = psprintf("its query calls functions, which a dry run does not run; "
								   "later statements were judged against the %s created empty",
								   ((CreateTableAsStmt *) node)->objtype == OBJECT_MATVIEW ?
								   "materialized view" : "table");
	}
	else if (!IsA(node, VacuumStmt) &&
			 (!IsA(node, ExplainStmt) || is_explain_analyze(node)))
		js->not_run = unchecked_reason(node);

	/* Reported before it runs: the callback sees the catalog it was judged on. */
	callback(arg, js);

	if (js->runs_empty)
	{
		create_empty(rs, js->text);
		CommandCounterIncrement();
	}

	if (js->runs)
	{
		int			save_nestlevel = NewGUCNestLevel();
		int			rc;

		if (IsA(node, CreateFunctionStmt) &&
			!body_check_is_safe((CreateFunctionStmt *) node))
			(void) set_config_option("check_function_bodies", "off",
									 PGC_USERSET, PGC_S_SESSION,
									 GUC_ACTION_SAVE, true, 0, false);
		dry_run_no_queries = true;
		rc = SPI_execute(js->text, false, 0);
		dry_run_no_queries = false;
		if (rc < 0)
			elog(ERROR, "could not execute statement: %s", SPI_result_code_string(rc));
		AtEOXact_GUC(true, save_nestlevel);
		/* Later statements are parsed and judged seeing its effects. */
		CommandCounterIncrement();
	}
}

/*
 * One statement in its own subtransaction of the walk's subtransaction, so
 * that a statement that fails (or that cannot even be analysed) is reported
 * as such and leaves no trace, and the walk goes on.  Lock waits are
 * bounded: the variable behind lock_timeout is set, not the setting, so that
 * the session's own lock_timeout (which a SET in the script may change, and
 * require mode looks at) is what the next statements see.
 */
static void
walk_statement(PgmJudgedStatement *js, RawStmt *rs, PgmJudgeCallback callback,
			   void *arg)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	bool		bound_wait = !IsA(rs->stmt, VariableSetStmt);
	int			save_lock_timeout = LockTimeout;
	int			depth;
	int			dry_depth;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	depth = pgm_own_code_enter();
	dry_depth = pgm_dry_run_enter();
	PG_TRY();
	{
		judge_and_run(js, rs, bound_wait, callback, arg);
		if (bound_wait)
			LockTimeout = save_lock_timeout;
		pgm_dry_run_restore(dry_depth);
		pgm_own_code_restore(depth);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		if (bound_wait)
			LockTimeout = save_lock_timeout;
		pgm_dry_run_restore(dry_depth);
		pgm_own_code_restore(depth);
		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;

		/* Cancels and the like end the walk; anything else is reported. */
		if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED ||
			edata->sqlerrcode == ERRCODE_ADMIN_SHUTDOWN)
			ReThrowError(edata);

		/* Reported a second time, with the failure alone. */
		js->cls = NULL;
		js->verdicts = NIL;
		js->dml_relid = InvalidOid;
		js->runs = false;
		if (dry_run_refused)
		{
			/* not a failure of the statement: the dry run stopped it */
			js->not_run = edata->message;
			dry_run_refused = false;
		}
		else
		{
			js->error = edata->message ? edata->message : "unknown error";
			js->error_hint = edata->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE ?
				"A lock was not available within pg_migrate.lock_timeout; later statements were judged without this one's effects." :
				edata->hint;
		}
		callback(arg, js);
	}
	PG_END_TRY();
}

/* A script being walked. */
typedef struct ScriptWalk
{
	const char *sql;
	List	   *raw;
	PgmJudgeCallback callback;
	void	   *arg;
	bool		txn_control;	/* the script has BEGIN/COMMIT of its own */
	List	   *script_locks;	/* of PgmLockRequest *: what the script's
								 * current transaction holds */
} ScriptWalk;

/*
 * Every statement of the script: the body of the walk's subtransaction.
 * With transaction control of the script's own, the classifier is told
 * which locks the script's current transaction holds (see
 * pgm_walk_script).
 */
static void
walk_statements(void *warg)
{
	ScriptWalk *w = (ScriptWalk *) warg;
	ListCell   *lc;
	int			stmtno = 0;
	bool		in_block = false;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	foreach(lc, w->raw)
	{
		RawStmt    *rs = lfirst_node(RawStmt, lc);
		PgmJudgedStatement js;

		CHECK_FOR_INTERRUPTS();
		memset(&js, 0, sizeof(js));
		js.stmtno = ++stmtno;
		js.text = pgm_statement_text(w->sql, rs);
		js.stmt = rs->stmt;
		js.dml_rows = -1;

		/*
		 * BEGIN/COMMIT/SAVEPOINT of the script are not run (the walk is one
		 * transaction); a COMMIT or ROLLBACK ends what the script's
		 * transaction holds.
		 */
		if (IsA(rs->stmt, TransactionStmt))
		{
			switch (((TransactionStmt *) rs->stmt)->kind)
			{
				case TRANS_STMT_BEGIN:
				case TRANS_STMT_START:
					in_block = true;
					break;
				case TRANS_STMT_COMMIT:
				case TRANS_STMT_ROLLBACK:
				case TRANS_STMT_PREPARE:
				case TRANS_STMT_COMMIT_PREPARED:
				case TRANS_STMT_ROLLBACK_PREPARED:
					in_block = false;
					w->script_locks = NIL;
					break;
				default:
					break;
			}
			continue;
		}

		walk_statement(&js, rs, w->callback, w->arg);

		/* what it locks stays locked for the rest of its block */
		if (w->txn_control && in_block && js.cls != NULL)
		{
			ListCell   *lc2;

			foreach(lc2, js.cls->requested)
			{
				PgmLockRequest *req = palloc(sizeof(PgmLockRequest));

				*req = *(PgmLockRequest *) lfirst(lc2);
				w->script_locks = lappend(w->script_locks, req);
			}
		}
	}
	SPI_finish();
}

/*
 * Walk a script as the file header describes, handing each judged
 * statement to the callback before it is executed (so that the callback
 * sees the catalog it was judged on), and once more, with only the error
 * set, if judging or executing it fails.  Everything the script did is
 * rolled back before returning.
 */
void
pgm_walk_script(const char *sql, PgmJudgeCallback callback, void *arg)
{
	ScriptWalk	w;
	ErrorData  *edata;
	ListCell   *lc;

	if (!pgm_policy_active())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"%s\" is not installed in this database", PGM_EXTENSION_NAME)));

	memset(&w, 0, sizeof(w));
	w.sql = sql;
	w.raw = pgm_parse_raw(sql);
	w.callback = callback;
	w.arg = arg;

	/* "No findings" must never mean "nothing was given" */
	if (w.raw == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the script contains no statements")));

	/*
	 * A script with BEGIN/COMMIT of its own is meant to run as psql runs
	 * it: each statement outside a block in a transaction of its own, each
	 * block in one.  Everything is still walked in one transaction (so that
	 * what a statement created is there, and new, for the next), but the
	 * locks a statement would find already held are those its own
	 * transaction took.  A script without transaction control runs in one
	 * transaction, as migrate_apply() runs it.
	 */
	foreach(lc, w.raw)
	{
		if (IsA(lfirst_node(RawStmt, lc)->stmt, TransactionStmt))
			w.txn_control = true;
	}

	/* Everything the script does happens in here, and is rolled back. */
	if (w.txn_control)
		pgm_classify_set_script_locks(&w.script_locks);
	edata = pgm_subxact_run(walk_statements, &w, false);
	pgm_classify_set_script_locks(NULL);
	if (edata != NULL)
		ReThrowError(edata);
}

/* ---------------------------------------------------------------------
 * migrate_check(sql)
 * ---------------------------------------------------------------------
 */

/* Add one row to migrate_check's result. */
static void
emit(ReturnSetInfo *rsinfo, PgmJudgedStatement *js, const char *rule,
	 const char *action, const char *relation, const char *lock,
	 const char *message, const char *hint)
{
	Datum		values[CHECK_COLS];
	bool		nulls[CHECK_COLS] = {0};
	const char *cols[CHECK_COLS - 2] = {rule, action, relation, lock, message, hint};
	int			i;

	values[0] = Int32GetDatum(js->stmtno);
	values[1] = CStringGetTextDatum(js->text);
	for (i = 0; i < CHECK_COLS - 2; i++)
	{
		if (cols[i])
			values[i + 2] = CStringGetTextDatum(cols[i]);
		else
			nulls[i + 2] = true;
	}
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/*
 * migrate_check's callback: one result row per finding, failure or
 * unchecked statement.
 */
static void
check_callback(void *arg, PgmJudgedStatement *js)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) arg;
	ListCell   *lc;

	foreach(lc, js->verdicts)
	{
		PgmVerdict *v = lfirst(lc);

		emit(rsinfo, js, pgm_rules[v->op->rule].name, pgm_action_name(v->action),
			 pgm_op_relation(v->op), pgm_lockmode_name(v->op->lockmode),
			 v->online_as ? psprintf("%s; runs online as: %s", v->op->what, v->online_as) :
			 v->op->what,
			 pgm_policy_hint(v));
	}
	if (js->error)
		emit(rsinfo, js, NULL, "error", NULL, NULL,
			 psprintf("statement fails: %s", js->error), js->error_hint);
	if (js->not_run)
		emit(rsinfo, js, NULL, "unchecked", NULL, NULL,
			 psprintf("not dry-run: %s", js->not_run),
			 "Its effects were neither judged nor applied, and later statements were judged without them: review it by hand.");
}

/*
 * migrate_check(sql): the findings of a dry run of the script; no rows
 * means safe.
 */
Datum
migrate_check(PG_FUNCTION_ARGS)
{
	char	   *sql;

	pgm_check_preloaded();
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the script to check must not be NULL")));
	sql = text_to_cstring(PG_GETARG_TEXT_PP(0));

	PGM_InitMaterializedSRF(fcinfo);
	pgm_walk_script(sql, check_callback, fcinfo->resultinfo);
	return (Datum) 0;
}
