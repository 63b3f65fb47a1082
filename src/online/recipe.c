/*-------------------------------------------------------------------------
 *
 * recipe.c
 *		The plans of the statements that have a non-blocking form: CREATE
 *		INDEX, DROP INDEX, REINDEX, ADD FOREIGN KEY / CHECK / UNIQUE /
 *		PRIMARY KEY and SET NOT NULL.
 *
 * Each plan is a list of steps, each run by the job in a transaction of
 * its own (or, for the CONCURRENTLY forms, in the transactions PostgreSQL
 * opens for them), with the statement that undoes it.  A step that takes a
 * lock blocking reads or writes is marked "blocking": the worker runs it
 * under the bounded lock_timeout and retries it after a backoff, holding
 * nothing in between.  The long parts (index builds, validating scans)
 * take only locks that let reads and writes through.
 *
 * Names.  A plan names everything it creates, choosing the name
 * PostgreSQL itself would have chosen when the statement gave none, so
 * that a retry finds what an interrupted attempt left, and the final
 * schema is the one the plain statement would have made.  Tables are
 * written schema-qualified; the user's own text (index columns,
 * expressions, constraint bodies) is kept as written and runs under the
 * submitting session's search_path.
 *
 * Nothing here changes anything: this is called while migrate_online
 * records the job, and an error refuses the statement.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_index.h"
#include "catalog/pg_opclass.h"
#include "commands/defrem.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "parser/parse_node.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/ruleutils.h"
#include "utils/syscache.h"

#include "core/catalog.h"
#include "core/compat.h"
#include "core/guc.h"
#include "core/spi.h"
#include "online/online.h"

/* Add a step to the plan; the caller fills in what differs. */
PgmOnlineStep *
pgm_online_step(PgmOnlinePlan *plan, const char *phase, PgmStepMode mode,
				bool blocking, char *sql)
{
	PgmOnlineStep *step = palloc0(sizeof(PgmOnlineStep));

	step->phase = phase;
	step->mode = mode;
	step->blocking = blocking;
	step->sql = sql;
	plan->steps = lappend(plan->steps, step);
	return step;
}

void
pgm_online_set_undo(PgmOnlineStep *step, PgmStepMode mode, bool blocking,
					char *undo)
{
	step->undo = undo;
	step->undo_mode = mode;
	step->undo_blocking = blocking;
}

/* schema.name of a relation, quoted. */
char *
pgm_online_relname(Oid relid)
{
	char	   *nspname = get_namespace_name(get_rel_namespace(relid));
	char	   *relname = get_rel_name(relid);

	if (nspname == NULL || relname == NULL)
		elog(ERROR, "cache lookup failed for relation %u", relid);
	return quote_qualified_identifier(nspname, relname);
}

/*
 * The expand step of a change that adds a column kept in step by a
 * trigger (sql adds both): undone by dropping them; the column it adds is
 * dropped again by the undo, which the drop_column rule must let through.
 */
void
pgm_online_expand_step(PgmOnlinePlan *plan, char *sql, const char *relname,
					   const char *trigger, const char *column)
{
	PgmOnlineStep *step = pgm_online_step(plan, "expand", PGM_STEP_TRANSACTION, true, sql);

	step->exempt = list_make1("drop_column");
	pgm_online_set_undo(step, PGM_STEP_TRANSACTION, true,
						psprintf("DROP TRIGGER IF EXISTS %s ON %s;\n"
								 "ALTER TABLE %s DROP COLUMN IF EXISTS %s",
								 quote_identifier(trigger), relname,
								 relname, quote_identifier(column)));
}

/*
 * CREATE INDEX CONCURRENTLY of a copy of an index of rel, with column in
 * place of column attnum: same access method, key order, INCLUDE columns,
 * collations, operator classes, DESC / NULLS order and storage parameters.
 * same_type: the column has attnum's type (a rename's alias, the spare of
 * a key kept on the old column); otherwise it has another type and gets
 * that type's default operator class and its own collation.  A deferrable
 * unique index is copied without uniqueness: it is checked later.
 */
char *
pgm_online_index_copy_sql(Oid indexoid, const char *copyname, Relation rel,
						  AttrNumber attnum, const char *column, bool same_type)
{
	HeapTuple	itup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(indexoid));
	HeapTuple	ctup = SearchSysCache1(RELOID, ObjectIdGetDatum(indexoid));
	Form_pg_index idx;
	Form_pg_class irel;
	StringInfoData sql;
	Datum		d;
	bool		isnull;
	oidvector  *opclasses;
	oidvector  *collations;
	int2vector *options;
	char	   *amname;
	int			i;
	int			nestlevel;

	if (!HeapTupleIsValid(itup) || !HeapTupleIsValid(ctup))
		elog(ERROR, "cache lookup failed for index %u", indexoid);
	idx = (Form_pg_index) GETSTRUCT(itup);
	irel = (Form_pg_class) GETSTRUCT(ctup);
	opclasses = (oidvector *) DatumGetPointer(SysCacheGetAttr(INDEXRELID, itup,
															  Anum_pg_index_indclass, &isnull));
	collations = (oidvector *) DatumGetPointer(SysCacheGetAttr(INDEXRELID, itup,
															   Anum_pg_index_indcollation, &isnull));
	options = (int2vector *) DatumGetPointer(SysCacheGetAttr(INDEXRELID, itup,
															 Anum_pg_index_indoption, &isnull));
	amname = get_am_name(irel->relam);
	if (amname == NULL)
		elog(ERROR, "cache lookup failed for access method %u", irel->relam);

	/* Names of operator classes and collations written in full. */
	nestlevel = pgm_pin_search_path();
	initStringInfo(&sql);
	appendStringInfo(&sql, "CREATE %sINDEX CONCURRENTLY %s ON %s USING %s (",
					 idx->indisunique && idx->indimmediate ? "UNIQUE " : "",
					 quote_identifier(copyname), pgm_online_relname(RelationGetRelid(rel)),
					 quote_identifier(amname));
	for (i = 0; i < idx->indnatts; i++)
	{
		AttrNumber	col = idx->indkey.values[i];
		Form_pg_attribute att = TupleDescAttr(RelationGetDescr(rel), col - 1);
		bool		as_is = col != attnum || same_type;

		if (i == idx->indnkeyatts)
			appendStringInfoString(&sql, ") INCLUDE (");
		else if (i > 0)
			appendStringInfoString(&sql, ", ");
		appendStringInfoString(&sql, quote_identifier(col == attnum ? column : NameStr(att->attname)));
		if (i >= idx->indnkeyatts)
			continue;
		if (as_is && OidIsValid(collations->values[i]) &&
			collations->values[i] != att->attcollation)
			appendStringInfo(&sql, " COLLATE %s", generate_collation_name(collations->values[i]));
		if (as_is && opclasses->values[i] != GetDefaultOpClass(att->atttypid, irel->relam))
		{
			HeapTuple	otup = SearchSysCache1(CLAOID, ObjectIdGetDatum(opclasses->values[i]));

			if (HeapTupleIsValid(otup))
			{
				Form_pg_opclass opc = (Form_pg_opclass) GETSTRUCT(otup);

				appendStringInfo(&sql, " %s",
								 quote_qualified_identifier(get_namespace_name(opc->opcnamespace),
															NameStr(opc->opcname)));
				ReleaseSysCache(otup);
			}
		}
		if (options->values[i] & INDOPTION_DESC)
			appendStringInfoString(&sql, " DESC");
		if ((options->values[i] & INDOPTION_NULLS_FIRST) && !(options->values[i] & INDOPTION_DESC))
			appendStringInfoString(&sql, " NULLS FIRST");
		if (!(options->values[i] & INDOPTION_NULLS_FIRST) && (options->values[i] & INDOPTION_DESC))
			appendStringInfoString(&sql, " NULLS LAST");
	}
	appendStringInfoChar(&sql, ')');
	d = SysCacheGetAttr(RELOID, ctup, Anum_pg_class_reloptions, &isnull);
	if (!isnull)
	{
		Datum	   *elems;
		bool	   *nulls;
		int			n;
		int			k;
		bool		any = false;

		deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT,
						  &elems, &nulls, &n);
		for (k = 0; k < n; k++)
		{
			char	   *opt = TextDatumGetCString(elems[k]);
			char	   *eq = strchr(opt, '=');

			if (eq == NULL)
				continue;
			*eq = '\0';
			appendStringInfo(&sql, "%s%s = %s", any ? ", " : " WITH (",
							 quote_identifier(opt), quote_literal_cstr(eq + 1));
			any = true;
		}
		if (any)
			appendStringInfoChar(&sql, ')');
	}
	AtEOXact_GUC(false, nestlevel);
	ReleaseSysCache(itup);
	ReleaseSysCache(ctup);
	return sql.data;
}

/* Refuse the statement: nothing has been changed. */
void
pgm_online_refuse(const char *what, const char *why, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("migrate_online cannot run %s", what),
			 errdetail("%s", why),
			 hint ? errhint("%s", hint) : 0));
}

/*
 * The table a statement changes: an existing ordinary table the caller
 * owns, as running the statement directly would require.
 */
Oid
pgm_online_table(RangeVar *rv, const char *what)
{
	Oid			relid = RangeVarGetRelid(rv, AccessShareLock, false);
	char		relkind = get_rel_relkind(relid);

	if (relkind == RELKIND_PARTITIONED_TABLE)
		pgm_online_refuse(what,
						  psprintf("\"%s\" is a partitioned table; its changes are made partition by partition.",
								   rv->relname),
						  "Run migrate_online on each partition, then the statement on the parent.");
	if (relkind != RELKIND_RELATION)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table", rv->relname)));
	if (get_rel_persistence(relid) == RELPERSISTENCE_TEMP)
		pgm_online_refuse(what,
						  psprintf("\"%s\" is a temporary table, which a background job cannot see.",
								   rv->relname),
						  "Run the statement directly.");
	if (!PGM_relation_ownercheck(relid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_TABLE, rv->relname);
	return relid;
}

/* The statement text from byte offset loc to its end. */
static const char *
text_from(const char *text, int loc)
{
	if (loc < 0 || loc > (int) strlen(text))
		elog(ERROR, "statement has no usable position for its parts");
	return text + loc;
}

/* Column names joined by "_", as PostgreSQL names an index or key. */
static char *
name_addition(List *names)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, names)
	{
		const char *name = lfirst(lc);

		if (buf.len > 0)
			appendStringInfoChar(&buf, '_');
		appendStringInfoString(&buf, name);
		if (buf.len >= NAMEDATALEN)
			break;
	}
	return buf.data;
}

static char *
drop_index_sql(const char *qualified)
{
	return psprintf("DROP INDEX CONCURRENTLY IF EXISTS %s", qualified);
}

/* ----------------------------------------------------------------
 * CREATE INDEX
 * ----------------------------------------------------------------
 */

void
pgm_online_plan_index(PgmOnlinePlan *plan, IndexStmt *stmt, const char *text)
{
	Oid			relid = pgm_online_table(stmt->relation, "this CREATE INDEX");
	Oid			nsp = get_rel_namespace(relid);
	char	   *name = stmt->idxname;
	PgmOnlineStep *step;
	StringInfoData sql;

	plan->operation = "create_index";
	plan->relid = relid;

	if (name == NULL)
	{
		List	   *cols = NIL;
		ListCell   *lc;

		foreach(lc, stmt->indexParams)
		{
			IndexElem  *ie = lfirst_node(IndexElem, lc);

			cols = lappend(cols, ie->name ? ie->name : "expr");
		}
		name = ChooseRelationName(get_rel_name(relid), name_addition(cols),
								  "idx", nsp, false);
	}
	else if (OidIsValid(get_relname_relid(name, nsp)))
		pgm_online_refuse("this CREATE INDEX",
						  psprintf("Relation \"%s\" already exists.", name),
						  stmt->if_not_exists ? "There is nothing to do." : NULL);

	/*
	 * The statement as written from the table name on; what comes before
	 * it (CREATE [UNIQUE] INDEX [CONCURRENTLY] [IF NOT EXISTS] [name] ON
	 * [ONLY]) is written again with CONCURRENTLY and the name.
	 */
	initStringInfo(&sql);
	appendStringInfo(&sql, "CREATE %sINDEX CONCURRENTLY %s ON %s",
					 stmt->unique ? "UNIQUE " : "",
					 quote_identifier(name),
					 text_from(text, stmt->relation->location));
	step = pgm_online_step(plan, "build index", PGM_STEP_CONCURRENT, false, sql.data);
	step->target = quote_qualified_identifier(get_namespace_name(nsp), name);
	pgm_online_set_undo(step, PGM_STEP_CONCURRENT, false, drop_index_sql(step->target));
}

/* ----------------------------------------------------------------
 * DROP INDEX
 * ----------------------------------------------------------------
 */

void
pgm_online_plan_drop_index(PgmOnlinePlan *plan, DropStmt *stmt)
{
	RangeVar   *rv;
	Oid			indexoid;
	Oid			relid;
	PgmOnlineStep *step;
	char	   *qualified;

	if (list_length(stmt->objects) != 1)
		pgm_online_refuse("this DROP INDEX",
						  "It drops several indexes; DROP INDEX CONCURRENTLY drops one.",
						  "Submit one migrate_online per index.");
	if (stmt->behavior == DROP_CASCADE)
		pgm_online_refuse("DROP INDEX ... CASCADE",
						  "DROP INDEX CONCURRENTLY cannot drop what depends on the index.",
						  "Drop the dependent objects first.");
	rv = makeRangeVarFromNameList(linitial(stmt->objects));
	indexoid = RangeVarGetRelid(rv, AccessShareLock, stmt->missing_ok);
	if (!OidIsValid(indexoid))
		pgm_online_refuse("this DROP INDEX",
						  psprintf("Index \"%s\" does not exist.", rv->relname),
						  "There is nothing to do.");
	if (get_rel_relkind(indexoid) != RELKIND_INDEX)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not an index", rv->relname)));
	relid = IndexGetRelation(indexoid, false);
	(void) pgm_online_table(makeRangeVar(get_namespace_name(get_rel_namespace(relid)),
										 get_rel_name(relid), -1),
							"this DROP INDEX");
	if (OidIsValid(get_index_constraint(indexoid)))
		pgm_online_refuse("this DROP INDEX",
						  psprintf("Index \"%s\" belongs to a constraint.", rv->relname),
						  "Drop the constraint with ALTER TABLE ... DROP CONSTRAINT.");

	plan->operation = "drop_index";
	plan->relid = relid;
	qualified = pgm_online_relname(indexoid);
	step = pgm_online_step(plan, "drop index", PGM_STEP_CONCURRENT, false,
						   psprintf("DROP INDEX CONCURRENTLY %s", qualified));
	step->target = qualified;
}

/* ----------------------------------------------------------------
 * REINDEX
 * ----------------------------------------------------------------
 */

void
pgm_online_plan_reindex(PgmOnlinePlan *plan, ReindexStmt *stmt)
{
	ListCell   *lc;
	Oid			objid;
	Oid			relid;
	PgmOnlineStep *step;

	if (stmt->kind != REINDEX_OBJECT_INDEX && stmt->kind != REINDEX_OBJECT_TABLE)
		pgm_online_refuse("this REINDEX",
						  "Only REINDEX INDEX and REINDEX TABLE run online.",
						  "Reindex the tables one by one.");
	foreach(lc, stmt->params)
	{
		DefElem    *opt = lfirst_node(DefElem, lc);

		if (strcmp(opt->defname, "concurrently") != 0)
			pgm_online_refuse("this REINDEX",
							  psprintf("Option %s is not supported online.", opt->defname),
							  NULL);
	}
	objid = RangeVarGetRelid(stmt->relation, AccessShareLock, false);
	if (stmt->kind == REINDEX_OBJECT_INDEX)
	{
		if (get_rel_relkind(objid) != RELKIND_INDEX)
			ereport(ERROR,
					(errcode(ERRCODE_WRONG_OBJECT_TYPE),
					 errmsg("\"%s\" is not an index", stmt->relation->relname)));
		relid = IndexGetRelation(objid, false);
	}
	else
		relid = objid;
	(void) pgm_online_table(makeRangeVar(get_namespace_name(get_rel_namespace(relid)),
										 get_rel_name(relid), -1),
							"this REINDEX");

	plan->operation = stmt->kind == REINDEX_OBJECT_INDEX ? "reindex_index" : "reindex_table";
	plan->relid = relid;
	step = pgm_online_step(plan, "rebuild index", PGM_STEP_CONCURRENT, false,
						   psprintf("REINDEX %s CONCURRENTLY %s",
									stmt->kind == REINDEX_OBJECT_INDEX ? "INDEX" : "TABLE",
									pgm_online_relname(objid)));
	/* where an interrupted rebuild leaves its _ccnew / _ccold indexes */
	step->target = pgm_online_relname(relid);
}

/* ----------------------------------------------------------------
 * NOT NULL
 * ----------------------------------------------------------------
 */

/*
 * Make a column NOT NULL without a scan under a lock that blocks writes.
 * 18: a NOT NULL constraint added NOT VALID and validated.  Before: a
 * CHECK (col IS NOT NULL) added NOT VALID and validated, which lets SET
 * NOT NULL skip its scan; the CHECK is then dropped.  The constraint is
 * named as PostgreSQL names the NOT NULL constraint it would make.
 */
char *
pgm_online_prove_not_null(PgmOnlinePlan *plan, Oid relid, const char *colname,
						  const char *phase, bool complete_stage)
{
	char	   *rel = pgm_online_relname(relid);
	char	   *conname = ChooseConstraintName(get_rel_name(relid), colname, "not_null",
											   get_rel_namespace(relid), NIL);
	PgmOnlineStep *step;

#ifdef PGM_HAVE_NOT_NULL_NOT_VALID
	step = pgm_online_step(plan, phase, PGM_STEP_TRANSACTION, true,
						   psprintf("ALTER TABLE %s ADD CONSTRAINT %s NOT NULL %s NOT VALID",
									rel, quote_identifier(conname), quote_identifier(colname)));
	step->complete_stage = complete_stage;
	pgm_online_set_undo(step, PGM_STEP_TRANSACTION, true,
						psprintf("ALTER TABLE %s DROP CONSTRAINT IF EXISTS %s",
								 rel, quote_identifier(conname)));
	step = pgm_online_step(plan, phase, PGM_STEP_TRANSACTION, false,
						   psprintf("ALTER TABLE %s VALIDATE CONSTRAINT %s",
									rel, quote_identifier(conname)));
	step->complete_stage = complete_stage;
#else
	step = pgm_online_step(plan, phase, PGM_STEP_TRANSACTION, true,
						   psprintf("ALTER TABLE %s ADD CONSTRAINT %s CHECK (%s IS NOT NULL) NOT VALID",
									rel, quote_identifier(conname), quote_identifier(colname)));
	step->complete_stage = complete_stage;
	pgm_online_set_undo(step, PGM_STEP_TRANSACTION, true,
						psprintf("ALTER TABLE %s DROP CONSTRAINT IF EXISTS %s",
								 rel, quote_identifier(conname)));
	step = pgm_online_step(plan, phase, PGM_STEP_TRANSACTION, false,
						   psprintf("ALTER TABLE %s VALIDATE CONSTRAINT %s",
									rel, quote_identifier(conname)));
	step->complete_stage = complete_stage;
	step = pgm_online_step(plan, phase, PGM_STEP_TRANSACTION, true,
						   psprintf("ALTER TABLE %s ALTER COLUMN %s SET NOT NULL;\n"
									"ALTER TABLE %s DROP CONSTRAINT %s",
									rel, quote_identifier(colname),
									rel, quote_identifier(conname)));
	step->complete_stage = complete_stage;
	pgm_online_set_undo(step, PGM_STEP_TRANSACTION, true,
						psprintf("ALTER TABLE %s ALTER COLUMN %s DROP NOT NULL",
								 rel, quote_identifier(colname)));
#endif
	return conname;
}

/* The attribute of a column the statement names, which must exist. */
static Form_pg_attribute
column_of(Oid relid, const char *colname, HeapTuple *tup_out)
{
	HeapTuple	tup = SearchSysCacheAttName(relid, colname);

	if (!HeapTupleIsValid(tup))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist",
						colname, get_rel_name(relid))));
	*tup_out = tup;
	return (Form_pg_attribute) GETSTRUCT(tup);
}

void
pgm_online_plan_not_null(PgmOnlinePlan *plan, Oid relid, const char *colname)
{
	HeapTuple	tup;
	Form_pg_attribute att = column_of(relid, colname, &tup);
	bool		notnull = att->attnotnull;

	ReleaseSysCache(tup);
	if (notnull)
		pgm_online_refuse("this SET NOT NULL",
						  psprintf("Column \"%s\" is already NOT NULL.", colname),
						  "There is nothing to do.");
	plan->operation = "set_not_null";
	plan->relid = relid;
	(void) pgm_online_prove_not_null(plan, relid, colname, "not null", false);
}

/* ----------------------------------------------------------------
 * ADD CONSTRAINT
 * ----------------------------------------------------------------
 */

/* The first column a raw CHECK expression names, as PostgreSQL names it. */
static bool
first_column_walker(Node *node, char **name)
{
	if (node == NULL || *name != NULL)
		return false;
	if (IsA(node, ColumnRef))
	{
		ColumnRef  *cref = (ColumnRef *) node;
		Node	   *last = llast(cref->fields);

		if (IsA(last, String))
			*name = pstrdup(strVal(last));
		return false;
	}
	return raw_expression_tree_walker(node, first_column_walker, (void *) name);
}

static List *
string_names(List *strings)
{
	List	   *names = NIL;
	ListCell   *lc;

	foreach(lc, strings)
		names = lappend(names, strVal(lfirst(lc)));
	return names;
}

/* A UNIQUE or PRIMARY KEY: a concurrent unique index, then USING INDEX. */
static void
plan_key(PgmOnlinePlan *plan, Oid relid, Constraint *con)
{
	bool		primary = con->contype == CONSTR_PRIMARY;
	const char *kw = primary ? "PRIMARY KEY" : "UNIQUE";
	char	   *rel = pgm_online_relname(relid);
	char	   *name = con->conname;
	StringInfoData cols;
	ListCell   *lc;
	PgmOnlineStep *step;
	char	   *qualified_index;

	if (con->keys == NIL || con->exclusions != NIL || con->options != NIL ||
		con->indexspace != NULL || con->deferrable || con->nulls_not_distinct)
		pgm_online_refuse(psprintf("this ADD %s", kw),
						  "Only a plain column list (with INCLUDE) is supported online: no WITH, "
						  "USING INDEX TABLESPACE, DEFERRABLE or NULLS NOT DISTINCT.",
						  "Build the index with migrate_online('CREATE UNIQUE INDEX ...'), then add the "
						  "constraint with ADD CONSTRAINT ... USING INDEX.");
	if (primary)
	{
		Relation	r = relation_open(relid, AccessShareLock);
		bool		haspk = OidIsValid(PGM_RelationGetPrimaryKeyIndex(r));

		relation_close(r, AccessShareLock);
		if (haspk)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TABLE_DEFINITION),
					 errmsg("multiple primary keys for table \"%s\" are not allowed",
							get_rel_name(relid))));
	}

	if (name == NULL)
		name = ChooseRelationName(get_rel_name(relid),
								  primary ? NULL : name_addition(string_names(con->keys)),
								  primary ? "pkey" : "key",
								  get_rel_namespace(relid), true);
	else if (OidIsValid(get_relname_relid(name, get_rel_namespace(relid))))
		pgm_online_refuse(psprintf("this ADD %s", kw),
						  psprintf("Relation \"%s\" already exists.", name), NULL);

	initStringInfo(&cols);
	foreach(lc, con->keys)
	{
		char	   *col = strVal(lfirst(lc));
		HeapTuple	tup;
		Form_pg_attribute att = column_of(relid, col, &tup);
		bool		notnull = att->attnotnull;

		ReleaseSysCache(tup);
		if (cols.len > 0)
			appendStringInfoString(&cols, ", ");
		appendStringInfoString(&cols, quote_identifier(col));
		/* A primary key makes its columns NOT NULL: prove it first. */
		if (primary && !notnull)
			(void) pgm_online_prove_not_null(plan, relid, col, "not null", false);
	}
	if (con->including != NIL)
	{
		appendStringInfoString(&cols, ") INCLUDE (");
		foreach(lc, con->including)
		{
			if (lc != list_head(con->including))
				appendStringInfoString(&cols, ", ");
			appendStringInfoString(&cols, quote_identifier(strVal(lfirst(lc))));
		}
	}

	qualified_index = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)), name);
	step = pgm_online_step(plan, "build index", PGM_STEP_CONCURRENT, false,
						   psprintf("CREATE UNIQUE INDEX CONCURRENTLY %s ON %s (%s)",
									quote_identifier(name), rel, cols.data));
	step->target = qualified_index;
	pgm_online_set_undo(step, PGM_STEP_CONCURRENT, false, drop_index_sql(qualified_index));

	step = pgm_online_step(plan, "add constraint", PGM_STEP_TRANSACTION, true,
						   psprintf("ALTER TABLE %s ADD CONSTRAINT %s %s USING INDEX %s",
									rel, quote_identifier(name), kw, quote_identifier(name)));
	pgm_online_set_undo(step, PGM_STEP_TRANSACTION, true,
						psprintf("ALTER TABLE %s DROP CONSTRAINT IF EXISTS %s",
								 rel, quote_identifier(name)));
}

/* A FOREIGN KEY or CHECK: added NOT VALID, then validated. */
static void
plan_validated(PgmOnlinePlan *plan, Oid relid, Constraint *con, const char *text)
{
	bool		fk = con->contype == CONSTR_FOREIGN;
	char	   *rel = pgm_online_relname(relid);
	char	   *name = con->conname;
	StringInfoData sql;
	PgmOnlineStep *step;

	if (PGM_ConstraintNotEnforced(con))
		pgm_online_refuse("this ADD CONSTRAINT",
						  "A constraint that is not enforced neither scans nor blocks.",
						  "Run the statement directly.");
	if (con->is_no_inherit && fk)
		pgm_online_refuse("this ADD CONSTRAINT", "NO INHERIT is not supported online.", NULL);

	if (fk)
	{
		Oid			refrel = RangeVarGetRelid(con->pktable, AccessShareLock, false);
		AclResult	acl = pg_class_aclcheck(refrel, GetUserId(), ACL_REFERENCES);

		/* Column privileges are checked when the step runs, as the caller. */
		if (acl != ACLCHECK_OK &&
			pg_attribute_aclcheck_all(refrel, GetUserId(), ACL_REFERENCES, ACLMASK_ANY) != ACLCHECK_OK)
			aclcheck_error(acl, OBJECT_TABLE, con->pktable->relname);
	}

	if (name == NULL)
	{
		char	   *first = NULL;

		if (fk)
			first = name_addition(string_names(con->fk_attrs));
		else
			(void) first_column_walker(con->raw_expr, &first);
		name = ChooseConstraintName(get_rel_name(relid), first,
									fk ? "fkey" : "check",
									get_rel_namespace(relid), NIL);
	}

	/*
	 * The constraint as written (Constraint.location is where CONSTRAINT
	 * name, or the constraint itself, begins), named, and NOT VALID; a new
	 * line, so that a trailing comment cannot swallow it.
	 */
	initStringInfo(&sql);
	appendStringInfo(&sql, "ALTER TABLE %s ADD ", rel);
	if (con->conname == NULL)
		appendStringInfo(&sql, "CONSTRAINT %s ", quote_identifier(name));
	appendStringInfoString(&sql, text_from(text, con->location));
	if (!con->skip_validation)
		appendStringInfoString(&sql, "\nNOT VALID");

	step = pgm_online_step(plan, "add constraint", PGM_STEP_TRANSACTION, true, sql.data);
	pgm_online_set_undo(step, PGM_STEP_TRANSACTION, true,
						psprintf("ALTER TABLE %s DROP CONSTRAINT IF EXISTS %s",
								 rel, quote_identifier(name)));
	if (!con->skip_validation)
		(void) pgm_online_step(plan, "validate", PGM_STEP_TRANSACTION, false,
							   psprintf("ALTER TABLE %s VALIDATE CONSTRAINT %s",
										rel, quote_identifier(name)));
}

void
pgm_online_plan_constraint(PgmOnlinePlan *plan, Oid relid, Constraint *con,
						   const char *text)
{
	plan->relid = relid;
	switch (con->contype)
	{
		case CONSTR_FOREIGN:
			plan->operation = "add_foreign_key";
			plan_validated(plan, relid, con, text);
			break;
		case CONSTR_CHECK:
			plan->operation = "add_check";
			plan_validated(plan, relid, con, text);
			break;
		case CONSTR_PRIMARY:
		case CONSTR_UNIQUE:
			plan->operation = con->contype == CONSTR_PRIMARY ? "add_primary_key" : "add_unique";
			if (con->indexname != NULL)
				pgm_online_refuse("ADD CONSTRAINT ... USING INDEX",
								  "It builds nothing and only takes a short lock.",
								  "Run the statement directly (under a lock_timeout).");
			plan_key(plan, relid, con);
			break;
		default:
			pgm_online_refuse("this ADD CONSTRAINT",
							  "Only FOREIGN KEY, CHECK, UNIQUE and PRIMARY KEY constraints are added online.",
							  NULL);
	}
}
