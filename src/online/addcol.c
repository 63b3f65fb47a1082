/*-------------------------------------------------------------------------
 *
 * addcol.c
 *		The plan of ALTER TABLE ... ADD COLUMN that would rewrite the
 *		table: a volatile default, serial, identity, NOT NULL or not.
 *
 * PostgreSQL adds a column with a non-volatile default by recording the
 * default as the value of every existing row (no rewrite); a volatile
 * default (clock_timestamp(), gen_random_uuid(), nextval()), a serial or
 * an identity column must be computed for each row, so the plain
 * statement rewrites the table under ACCESS EXCLUSIVE.  Online:
 *
 *	expand		ADD COLUMN without default and nullable (no rewrite), and
 *				at once SET DEFAULT, so that every row written from now on
 *				gets its value; serial and identity columns take theirs
 *				from a sequence created here, owned by the column
 *	backfill	a batched UPDATE job setting the column to
 *				COALESCE(column, default) on the rows that existed: the
 *				default is evaluated once per row, as the plain statement
 *				does; rows written since keep what they were given
 *	not null	for NOT NULL, serial and identity: proved without a scan
 *				under a lock that blocks writes (recipe.c)
 *	identity	one short transaction turns the column into an identity
 *				column whose sequence goes on where the first one stopped,
 *				and drops the first one
 *
 * There is nothing to remove afterwards: the job is complete after its
 * last step.  Abort drops the column (with its sequence).
 *
 * A stored generated column is refused: PostgreSQL computes it for every
 * row when it is added and cannot turn an existing column into one, so
 * there is no way without a rewrite.  A row that new code inserts with
 * an explicit NULL while the backfill runs gets the default too: the
 * backfill cannot tell it from an old row.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "lib/stringinfo.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parse_coerce.h"
#include "parser/parse_collate.h"
#include "parser/parse_expr.h"
#include "parser/parse_node.h"
#include "parser/parse_type.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/ruleutils.h"
#include "utils/typcache.h"

#include "core/compat.h"
#include "core/parse.h"
#include "core/spi.h"
#include "ddl/classify.h"
#include "online/online.h"

static const char *what = "this ADD COLUMN";

/* The default as SQL text every name of which is schema-qualified. */
static char *
cooked_default(Node *raw, Oid typid, int32 typmod, const char *colname)
{
	ParseState *pstate = make_parsestate(NULL);
	Node	   *expr;
	char	   *text;
	int			nestlevel;

	expr = transformExpr(pstate, copyObject(raw), EXPR_KIND_COLUMN_DEFAULT);
	expr = coerce_to_target_type(pstate, expr, exprType(expr), typid, typmod,
								 COERCION_ASSIGNMENT, COERCE_IMPLICIT_CAST, -1);
	if (expr == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" is of type %s but default expression is of another type",
						colname, format_type_be(typid))));
	assign_expr_collations(pstate, expr);
	free_parsestate(pstate);
	nestlevel = pgm_pin_search_path();
	text = deparse_expression(expr, NIL, false, false);
	AtEOXact_GUC(false, nestlevel);
	return text;
}

void
pgm_online_plan_add_column(PgmOnlinePlan *plan, Oid relid, AlterTableCmd *cmd,
						   int64 job_id)
{
	ColumnDef  *def = castNode(ColumnDef, cmd->def);
	const char *colname = def->colname;
	char	   *relname = pgm_online_relname(relid);
	Oid			nspid = get_rel_namespace(relid);
	char	   *nsp = get_namespace_name(nspid);
	Node	   *raw_default = def->raw_default;
	bool		notnull = def->is_not_null;
	Constraint *identity = NULL;
	Oid			serial = pgm_serial_type(def->typeName);
	Oid			typid;
	int32		typmod;
	Oid			collid;
	char	   *typename;
	char	   *default_sql;
	char	   *seq = NULL;
	ListCell   *lc;
	StringInfoData sql;
	PgmOnlineStep *step;
	const char *why = NULL;

	plan->operation = "add_column";
	plan->relid = relid;

	if (colname == NULL || nsp == NULL)
		elog(ERROR, "ADD COLUMN without a column name");
	if (get_attnum(relid, colname) != InvalidAttrNumber)
	{
		if (cmd->missing_ok)
			pgm_online_refuse(what, psprintf("Column \"%s\" already exists.", colname),
							  "There is nothing to do.");
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" already exists",
						colname, get_rel_name(relid))));
	}
	if (def->inhcount > 0 || def->is_from_type || def->fdwoptions != NIL ||
		def->storage != 0 || def->compression != NULL)
		pgm_online_refuse(what, "Only a plain column definition runs online.", NULL);

	foreach(lc, def->constraints)
	{
		Constraint *con = lfirst_node(Constraint, lc);

		switch (con->contype)
		{
			case CONSTR_NULL:
				break;
			case CONSTR_NOTNULL:
				notnull = true;
				break;
			case CONSTR_DEFAULT:
				raw_default = con->raw_expr;
				break;
			case CONSTR_IDENTITY:
				if (con->options != NIL)
					pgm_online_refuse(what,
									  "Sequence options of an identity column are not supported online.",
									  "Add the identity column without options, then change its sequence "
									  "with ALTER TABLE ... ALTER COLUMN ... SET.");
				identity = con;
				break;
			case CONSTR_GENERATED:
				pgm_online_refuse(what,
								  "PostgreSQL computes a stored generated column for every row when it is "
								  "added, and cannot turn an existing column into one: there is no way "
								  "without a rewrite.",
								  "On PostgreSQL 18 a VIRTUAL generated column is added without a rewrite; "
								  "otherwise add a plain column with migrate_online and keep it up to date "
								  "with a trigger.");
				break;
			default:
				pgm_online_refuse(what,
								  "Only DEFAULT, NOT NULL, NULL and GENERATED ... AS IDENTITY come with the "
								  "column online.",
								  "Add the column first, then each constraint with its own migrate_online.");
		}
	}
	if (def->identity)
		pgm_online_refuse(what, "Only a plain column definition runs online.", NULL);
	if (identity && raw_default)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("both default and identity specified for column \"%s\"", colname)));
	if (serial && (raw_default || identity))
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("multiple default values specified for column \"%s\"", colname)));

	if (serial)
	{
		typid = serial;
		typmod = -1;
	}
	else
		typenameTypeIdAndMod(NULL, def->typeName, &typid, &typmod);
	if (identity && typid != INT2OID && typid != INT4OID && typid != INT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("identity column type must be smallint, integer, or bigint")));
	if (DomainHasConstraints(typid))
		pgm_online_refuse(what,
						  "The column's type is a domain with constraints, which PostgreSQL checks "
						  "on every row when the column is added, even without a default.",
						  NULL);

	/* What needs no online recipe is refused, as PostgreSQL does it at once. */
	if (!serial && !identity)
	{
		if (raw_default == NULL)
		{
			if (notnull)
				pgm_online_refuse(what,
								  "A NOT NULL column without a default cannot be added to a table that has rows.",
								  "Give the column a default.");
			pgm_online_refuse(what, "PostgreSQL adds this column without rewriting the table.",
							  "Run the statement directly (under a lock_timeout).");
		}
		if (!pgm_default_needs_rewrite(def, raw_default, &why))
			pgm_online_refuse(what,
							  "PostgreSQL adds this column without rewriting the table: its default "
							  "is stored once, as the value of every existing row.",
							  "Run the statement directly (under a lock_timeout).");
	}

	collid = GetColumnDefCollation(NULL, def, typid);
	{
		int			nestlevel = pgm_pin_search_path();

		typename = format_type_with_typemod(typid, typmod);
		AtEOXact_GUC(false, nestlevel);
	}

	if (serial || identity)
	{
		/* serial: the name PostgreSQL would give; identity: ours until the end */
		char	   *seqname = serial
			? ChooseRelationName(get_rel_name(relid), colname, "seq", nspid, false)
			: psprintf("pgm%lld_seq", (long long) job_id);

		seq = quote_qualified_identifier(nsp, seqname);
		default_sql = psprintf("pg_catalog.nextval(%s::pg_catalog.regclass)",
							   quote_literal_cstr(seq));
		notnull = true;
	}
	else
		default_sql = cooked_default(raw_default, typid, typmod, colname);

	/* expand */
	initStringInfo(&sql);
	appendStringInfo(&sql, "ALTER TABLE %s ADD COLUMN %s %s", relname, quote_identifier(colname), typename);
	if (OidIsValid(collid) && type_is_collatable(typid) && collid != get_typcollation(typid))
	{
		int			nestlevel = pgm_pin_search_path();

		appendStringInfo(&sql, " COLLATE %s", generate_collation_name(collid));
		AtEOXact_GUC(false, nestlevel);
	}
	if (seq)
		appendStringInfo(&sql, ";\nCREATE SEQUENCE %s AS %s OWNED BY %s.%s",
						 seq, typename, relname, quote_identifier(colname));
	appendStringInfo(&sql, ";\nALTER TABLE %s ALTER COLUMN %s SET DEFAULT %s",
					 relname, quote_identifier(colname), default_sql);
	step = pgm_online_step(plan, "expand", PGM_STEP_TRANSACTION, true, sql.data);
	step->exempt = list_make1("drop_column");
	pgm_online_set_undo(step, PGM_STEP_TRANSACTION, true,
						psprintf("ALTER TABLE %s DROP COLUMN IF EXISTS %s",
								 relname, quote_identifier(colname)));

	/* backfill: the rows that existed get the default, evaluated per row */
	(void) pgm_online_step(plan, "backfill", PGM_STEP_BACKFILL, false,
						   psprintf("%s = COALESCE(%s, %s)", quote_identifier(colname),
									quote_identifier(colname), default_sql));

	if (notnull)
		(void) pgm_online_prove_not_null(plan, relid, colname, "not null", false);

	if (identity)
	{
		/*
		 * The identity sequence takes the place of ours where it stopped,
		 * in one transaction under the table's lock, so that no row takes
		 * a value from either in between.
		 */
		char	   *identity_seq = quote_qualified_identifier(nsp,
															  ChooseRelationName(get_rel_name(relid), colname,
																				 "seq", nspid, false));

		step = pgm_online_step(plan, "identity", PGM_STEP_TRANSACTION, true,
							   psprintf("ALTER TABLE %s ALTER COLUMN %s DROP DEFAULT;\n"
										"ALTER TABLE %s ALTER COLUMN %s ADD GENERATED %s AS IDENTITY (SEQUENCE NAME %s);\n"
										"SELECT pg_catalog.setval(%s::pg_catalog.regclass, s.last_value, s.is_called)"
										" FROM %s s;\n"
										"DROP SEQUENCE %s",
										relname, quote_identifier(colname),
										relname, quote_identifier(colname),
										identity->generated_when == ATTRIBUTE_IDENTITY_ALWAYS ?
										"ALWAYS" : "BY DEFAULT", identity_seq,
										quote_literal_cstr(identity_seq), seq, seq));
		pgm_online_set_undo(step, PGM_STEP_TRANSACTION, true,
							psprintf("ALTER TABLE %s ALTER COLUMN %s DROP IDENTITY IF EXISTS",
									 relname, quote_identifier(colname)));
	}
	(void) why;
}
