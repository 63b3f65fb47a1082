/*-------------------------------------------------------------------------
 *
 * retype.c
 *		The plan of ALTER TABLE ... ALTER COLUMN ... TYPE that would rewrite
 *		the table: expand, backfill, copy, cut over, keep the old column
 *		until complete.
 *
 *	expand		ADD COLUMN <shadow> of the new type (no default, so no
 *				rewrite) and the sync trigger (sync.c) that sets it on every
 *				INSERT and UPDATE from the old column
 *	backfill	a batched UPDATE job (the ordinary batch runner, crash-safe,
 *				key range fixed when it is submitted) setting the shadow to
 *				itself: the trigger computes it
 *	not null	when the old column is NOT NULL: proved on the shadow
 *				without a scan under a lock that blocks writes
 *	index copy	every index on the column, built again concurrently on the
 *				shadow
 *	cut-over	one short transaction under the bounded lock_timeout:
 *				the columns and indexes swap names, the default moves, the
 *				trigger turns round and keeps the old column in step with
 *				the new one
 *	complete	(migrate_online_complete, or complete => true) the old
 *				indexes are dropped concurrently, then the trigger and the
 *				old column
 *
 * Every step has its exact undo, so migrate_online_abort before complete
 * puts the original column, its indexes, default and data back.  The new
 * column is the table's last: SELECT * lists it last after the change.
 *
 * What is not carried over yet is refused with the list of dependents:
 * views, rules, policies, constraints other than NOT NULL (CHECK, UNIQUE,
 * PRIMARY KEY, FOREIGN KEY), identity columns, sequences owned by the
 * column, generated columns, indexes with expressions or predicates,
 * statistics objects, triggers, inheritance and partitioning.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/dependency.h"
#include "catalog/indexing.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_attrdef.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_depend.h"
#include "catalog/pg_index.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_opclass.h"
#include "catalog/pg_trigger.h"
#include "commands/comment.h"
#include "commands/defrem.h"
#include "commands/trigger.h"
#include "lib/stringinfo.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parse_coerce.h"
#include "parser/parse_collate.h"
#include "parser/parse_expr.h"
#include "parser/parse_node.h"
#include "parser/parse_relation.h"
#include "parser/parse_type.h"
#include "rewrite/rewriteHandler.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/ruleutils.h"
#include "utils/syscache.h"

#include "core/catalog.h"
#include "core/compat.h"
#include "core/guc.h"
#include "core/spi.h"
#include "ddl/classify.h"
#include "online/online.h"

/* An index on the column, to copy onto the shadow. */
typedef struct IndexCopy
{
	char	   *name;			/* the original's name */
	char	   *copy;			/* the copy's name until the cut-over */
	char	   *old;			/* the original's name after it */
	char	   *create;			/* CREATE INDEX CONCURRENTLY of the copy */
} IndexCopy;

static const char *what = "this ALTER COLUMN ... TYPE";

/*
 * An expression as SQL text every name of which is schema-qualified: it is
 * deparsed while search_path holds only pg_catalog.
 */
static char *
deparse_qualified(Node *expr, Oid relid)
{
	int			nestlevel = pgm_pin_search_path();
	char	   *text = deparse_expression(expr,
										  deparse_context_for(get_rel_name(relid), relid),
										  false, false);

	AtEOXact_GUC(false, nestlevel);
	return text;
}

/* The transformed expression computing the new type from a row. */
static Node *
transform_using(Relation rel, AttrNumber attnum, Node *raw_using,
				Oid typid, int32 typmod, Oid collid)
{
	Form_pg_attribute att = TupleDescAttr(RelationGetDescr(rel), attnum - 1);
	ParseState *pstate = make_parsestate(NULL);
	ParseNamespaceItem *nsitem;
	Node	   *expr;

	nsitem = addRangeTableEntryForRelation(pstate, rel, AccessShareLock, NULL, false, true);
	addNSItemToQuery(pstate, nsitem, false, true, true);
	if (raw_using)
		expr = transformExpr(pstate, raw_using, EXPR_KIND_ALTER_COL_TRANSFORM);
	else
		expr = (Node *) makeVar(1, attnum, att->atttypid, att->atttypmod,
								att->attcollation, 0);
	expr = coerce_to_target_type(pstate, expr, exprType(expr), typid, typmod,
								 COERCION_ASSIGNMENT, COERCE_IMPLICIT_CAST, -1);
	if (expr == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" cannot be cast automatically to type %s",
						NameStr(att->attname), format_type_be(typid)),
				 errhint("You might need to specify \"USING %s::%s\".",
						 quote_identifier(NameStr(att->attname)),
						 format_type_with_typemod(typid, typmod))));
	assign_expr_collations(pstate, expr);
	if (contain_volatile_functions(expr))
		pgm_online_refuse(what,
						  "The USING expression is volatile; the sync trigger and the backfill "
						  "must compute the same value from the same row.",
						  NULL);
	(void) collid;
	free_parsestate(pstate);
	return expr;
}

/*
 * What depends on the column and cannot be carried over: refused, with
 * the list.  Indexes that are plain column lists are collected for copy.
 */
static List *
check_dependents(Relation rel, AttrNumber attnum, const char *colname)
{
	Relation	depRel = table_open(DependRelationId, AccessShareLock);
	ScanKeyData key[3];
	SysScanDesc scan;
	HeapTuple	tup;
	StringInfoData refused;
	List	   *indexes = NIL;
	Oid			relid = RelationGetRelid(rel);

	initStringInfo(&refused);
	ScanKeyInit(&key[0], Anum_pg_depend_refclassid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(RelationRelationId));
	ScanKeyInit(&key[1], Anum_pg_depend_refobjid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	ScanKeyInit(&key[2], Anum_pg_depend_refobjsubid, BTEqualStrategyNumber, F_INT4EQ,
				Int32GetDatum((int32) attnum));
	scan = systable_beginscan(depRel, DependReferenceIndexId, true, NULL, 3, key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_depend dep = (Form_pg_depend) GETSTRUCT(tup);
		ObjectAddress obj;
		bool		ok = false;

		obj.classId = dep->classid;
		obj.objectId = dep->objid;
		obj.objectSubId = dep->objsubid;

		if (dep->classid == AttrDefaultRelationId)
			ok = true;			/* the column's default: moved at the cut-over */
		else if (dep->classid == ConstraintRelationId)
		{
			/* 18: the column's NOT NULL constraint, proved on the new column */
			HeapTuple	ctup = SearchSysCache1(CONSTROID, ObjectIdGetDatum(dep->objid));

			if (HeapTupleIsValid(ctup))
			{
				ok = PGM_CONTYPE_IS_NOT_NULL(((Form_pg_constraint) GETSTRUCT(ctup))->contype);
				ReleaseSysCache(ctup);
			}
		}
		else if (dep->classid == RelationRelationId &&
				 get_rel_relkind(dep->objid) == RELKIND_INDEX &&
				 !OidIsValid(get_index_constraint(dep->objid)))
		{
			HeapTuple	itup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(dep->objid));

			if (HeapTupleIsValid(itup))
			{
				bool		exprs = !heap_attisnull(itup, Anum_pg_index_indexprs, NULL);
				bool		pred = !heap_attisnull(itup, Anum_pg_index_indpred, NULL);

				ReleaseSysCache(itup);
				if (!exprs && !pred)
				{
					indexes = list_append_unique_oid(indexes, dep->objid);
					ok = true;
				}
			}
		}
		if (!ok)
		{
			char	   *desc = getObjectDescription(&obj, true);

			appendStringInfo(&refused, "%s%s", refused.len > 0 ? ", " : "",
							 desc ? desc : "an object that no longer exists");
		}
	}
	systable_endscan(scan);
	table_close(depRel, AccessShareLock);

	if (refused.len > 0)
		pgm_online_refuse(what,
						  psprintf("Column \"%s\" has dependents that cannot be carried over to the new column yet: %s.",
								   colname, refused.data),
						  "Drop them and create them again after the change, or change the column with a migration.");
	return indexes;
}

/* CREATE INDEX CONCURRENTLY of a copy of an index, with the shadow for the column. */
static char *
index_copy_sql(Oid indexoid, const char *copyname, Relation rel,
			   AttrNumber attnum, const char *shadow)
{
	HeapTuple	itup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(indexoid));
	HeapTuple	ctup = SearchSysCache1(RELOID, ObjectIdGetDatum(indexoid));
	Form_pg_index idx;
	Form_pg_class irel;
	StringInfoData sql;
	Datum		d;
	bool		isnull;
	oidvector  *opclasses;
	int2vector *options;
	int			i;
	char	   *amname;
	char	   *reloptions;

	if (!HeapTupleIsValid(itup) || !HeapTupleIsValid(ctup))
		elog(ERROR, "cache lookup failed for index %u", indexoid);
	idx = (Form_pg_index) GETSTRUCT(itup);
	irel = (Form_pg_class) GETSTRUCT(ctup);
	d = SysCacheGetAttr(INDEXRELID, itup, Anum_pg_index_indclass, &isnull);
	opclasses = (oidvector *) DatumGetPointer(d);
	d = SysCacheGetAttr(INDEXRELID, itup, Anum_pg_index_indoption, &isnull);
	options = (int2vector *) DatumGetPointer(d);
	amname = get_am_name(irel->relam);
	reloptions = NULL;
	d = SysCacheGetAttr(RELOID, ctup, Anum_pg_class_reloptions, &isnull);
	if (!isnull)
	{
		Datum	   *elems;
		bool	   *nulls;
		int			n;
		int			k;
		StringInfoData buf;

		initStringInfo(&buf);
		deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT,
						  &elems, &nulls, &n);
		for (k = 0; k < n; k++)
		{
			char	   *opt = TextDatumGetCString(elems[k]);
			char	   *eq = strchr(opt, '=');

			if (eq == NULL)
				continue;
			*eq = '\0';
			appendStringInfo(&buf, "%s%s = %s", buf.len > 0 ? ", " : "",
							 quote_identifier(opt), quote_literal_cstr(eq + 1));
		}
		reloptions = buf.len > 0 ? buf.data : NULL;
	}

	initStringInfo(&sql);
	appendStringInfo(&sql, "CREATE %sINDEX CONCURRENTLY %s ON %s USING %s (",
					 idx->indisunique ? "UNIQUE " : "", quote_identifier(copyname),
					 pgm_online_relname(RelationGetRelid(rel)), quote_identifier(amname));
	for (i = 0; i < idx->indnatts; i++)
	{
		AttrNumber	col = idx->indkey.values[i];
		Form_pg_attribute att = TupleDescAttr(RelationGetDescr(rel), col - 1);

		if (i == idx->indnkeyatts)
			appendStringInfoString(&sql, ") INCLUDE (");
		else if (i > 0)
			appendStringInfoString(&sql, ", ");
		appendStringInfoString(&sql, quote_identifier(col == attnum ? shadow : NameStr(att->attname)));
		if (i >= idx->indnkeyatts)
			continue;
		/* The changed column gets its new type's default operator class. */
		if (col != attnum &&
			opclasses->values[i] != GetDefaultOpClass(att->atttypid, irel->relam))
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
	if (reloptions)
		appendStringInfo(&sql, " WITH (%s)", reloptions);
	ReleaseSysCache(itup);
	ReleaseSysCache(ctup);
	return sql.data;
}

/* The name of the column's NOT NULL constraint, where it has one (18). */
static char *
not_null_constraint(Oid relid, AttrNumber attnum)
{
	Relation	conrel = table_open(ConstraintRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	char	   *name = NULL;

	ScanKeyInit(&key, Anum_pg_constraint_conrelid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	scan = systable_beginscan(conrel, ConstraintRelidTypidNameIndexId, true, NULL, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_constraint con = (Form_pg_constraint) GETSTRUCT(tup);
		bool		isnull;
		Datum		d;
		ArrayType  *arr;

		if (!PGM_CONTYPE_IS_NOT_NULL(con->contype))
			continue;
		d = heap_getattr(tup, Anum_pg_constraint_conkey, RelationGetDescr(conrel), &isnull);
		if (isnull)
			continue;
		arr = DatumGetArrayTypeP(d);
		if (ARR_NDIM(arr) == 1 && ARR_DIMS(arr)[0] == 1 &&
			((int16 *) ARR_DATA_PTR(arr))[0] == attnum)
			name = pstrdup(NameStr(con->conname));
	}
	systable_endscan(scan);
	table_close(conrel, AccessShareLock);
	return name;
}

/* A short name of ours: pgm<job>_<what>, within NAMEDATALEN. */
static char *
our_name(int64 job_id, const char *what_, const char *base)
{
	char	   *name = psprintf("pgm%lld_%s_%s", (long long) job_id, what_, base);

	if (strlen(name) >= NAMEDATALEN)
		name[NAMEDATALEN - 1] = '\0';
	return name;
}

void
pgm_online_plan_retype(PgmOnlinePlan *plan, Oid relid, AlterTableCmd *cmd, int64 job_id)
{
	ColumnDef  *def = castNode(ColumnDef, cmd->def);
	const char *colname = cmd->name;
	Relation	rel;
	AttrNumber	attnum;
	Form_pg_attribute att;
	Oid			typid;
	int32		typmod;
	Oid			collid;
	Node	   *forward;
	Node	   *backward;
	char	   *relname = pgm_online_relname(relid);
	char	   *shadow;
	char	   *oldname;
	char	   *trigger;
	char	   *backtrigger;
	char	   *fn;
	char	   *typename;
	char	   *default_new = NULL;
	char	   *default_old = NULL;
	char	   *comment;
	bool		notnull;
	int			stattarget;
	List	   *indexes;
	List	   *copies = NIL;
	ListCell   *lc;
	PgmOnlineStep *step;
	StringInfoData sql;
	StringInfoData undo;
	bool		rewrites = false;
	char	   *new_notnull = NULL;
	char	   *old_notnull = NULL;

	plan->operation = "alter_type";
	plan->relid = relid;

	rel = table_open(relid, AccessShareLock);
	attnum = get_attnum(relid, colname);
	if (attnum <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist",
						colname, RelationGetRelationName(rel))));
	att = TupleDescAttr(RelationGetDescr(rel), attnum - 1);

	/* Only what would rewrite needs this: the classifier's own test. */
	{
		const char *why;
		char	   *typname;

		rewrites = pgm_type_change_needs_rewrite(relid, cmd, &why, &typname);
	}
	if (!rewrites)
		pgm_online_refuse(what,
						  "PostgreSQL makes this change without rewriting the table.",
						  "Run the statement directly (under a lock_timeout).");

	if (att->attidentity || att->attgenerated)
		pgm_online_refuse(what,
						  psprintf("Column \"%s\" is an identity or generated column, which is not carried over yet.",
								   colname),
						  NULL);
	if (RelationGetForm(rel)->relispartition || RelationGetForm(rel)->relhassubclass ||
		has_superclass(relid))
		pgm_online_refuse(what, "The table has inheritance children or parents, or is a partition.", NULL);
	if (rel->trigdesc)
	{
		int			i;

		for (i = 0; i < rel->trigdesc->numtriggers; i++)
		{
			Trigger    *trig = &rel->trigdesc->triggers[i];

			if (!trig->tgisinternal && TRIGGER_FOR_BEFORE(trig->tgtype) &&
				TRIGGER_FOR_ROW(trig->tgtype))
				pgm_online_refuse(what,
								  psprintf("The table has BEFORE ROW trigger \"%s\"; the sync trigger must see the row as it is written.",
										   trig->tgname),
								  "Drop it for the time of the change, or change the column with a migration.");
		}
	}

	typenameTypeIdAndMod(NULL, def->typeName, &typid, &typmod);
	collid = GetColumnDefCollation(NULL, def, typid);
	if (def->collClause == NULL && type_is_collatable(typid) && att->attcollation != InvalidOid &&
		type_is_collatable(att->atttypid))
		collid = att->attcollation;

	indexes = check_dependents(rel, attnum, colname);
	old_notnull = not_null_constraint(relid, attnum);

	forward = transform_using(rel, attnum, def->raw_default, typid, typmod, collid);
	{
		/* The cast back that keeps the old column in step after the cut-over. */
		ParseState *pstate = make_parsestate(NULL);
		Var		   *v = makeVar(1, attnum, typid, typmod, collid, 0);

		backward = coerce_to_target_type(pstate, (Node *) v, typid, att->atttypid, att->atttypmod,
										 COERCION_ASSIGNMENT, COERCE_IMPLICIT_CAST, -1);
		free_parsestate(pstate);
		if (backward == NULL)
			pgm_online_refuse(what,
							  psprintf("There is no cast from %s back to %s, which keeps the old column up to date "
									   "after the cut-over so that the change can still be undone.",
									   format_type_be(typid), format_type_be(att->atttypid)),
							  NULL);
	}

	shadow = our_name(job_id, "new", colname);
	oldname = our_name(job_id, "old", colname);
	trigger = psprintf("pgm%lld_sync", (long long) job_id);
	backtrigger = psprintf("pgm%lld_sync_back", (long long) job_id);
	fn = psprintf("%s.migrate_online_sync",
				  quote_identifier(get_namespace_name(pgm_extension_schema())));
	{
		int			nestlevel = pgm_pin_search_path();

		typename = format_type_with_typemod(typid, typmod);
		AtEOXact_GUC(false, nestlevel);
	}
	notnull = att->attnotnull;
	comment = GetComment(relid, RelationRelationId, attnum);
	{
		HeapTuple	atup = SearchSysCache2(ATTNUM, ObjectIdGetDatum(relid), Int16GetDatum(attnum));
		bool		isnull;
		Datum		d;

		stattarget = -1;
		if (HeapTupleIsValid(atup))
		{
			d = SysCacheGetAttr(ATTNUM, atup, Anum_pg_attribute_attstattarget, &isnull);
			if (!isnull)
				stattarget = DatumGetInt16(d);
			ReleaseSysCache(atup);
		}
	}

	/* The default, converted to the new type, and the old one to restore. */
	if (att->atthasdef)
	{
		Node	   *olddef = build_column_default(rel, attnum);

		if (olddef)
		{
			ParseState *pstate = make_parsestate(NULL);
			Node	   *newdef = coerce_to_target_type(pstate, copyObject(olddef), exprType(olddef),
													   typid, typmod, COERCION_ASSIGNMENT,
													   COERCE_IMPLICIT_CAST, -1);

			free_parsestate(pstate);
			if (newdef == NULL)
				pgm_online_refuse(what,
								  psprintf("The default of column \"%s\" cannot be converted to %s.",
										   colname, format_type_be(typid)),
								  "Change or drop the default first.");
			default_new = deparse_qualified(newdef, relid);
			default_old = deparse_qualified(olddef, relid);
			if (contain_volatile_functions(olddef) && strstr(default_old, "nextval") != NULL)
				pgm_online_refuse(what,
								  psprintf("Column \"%s\" takes its values from a sequence; sequences are not carried over yet.",
										   colname),
								  NULL);
		}
	}

	foreach(lc, indexes)
	{
		Oid			indexoid = lfirst_oid(lc);
		IndexCopy  *ic = palloc0(sizeof(IndexCopy));
		char		base[16];

		snprintf(base, sizeof(base), "%d", list_cell_number(indexes, lc) + 1);
		ic->name = get_rel_name(indexoid);
		ic->copy = our_name(job_id, "idx", base);
		ic->old = our_name(job_id, "oldidx", base);
		ic->create = index_copy_sql(indexoid, ic->copy, rel, attnum, shadow);
		copies = lappend(copies, ic);
	}
	table_close(rel, AccessShareLock);

	/* expand */
	initStringInfo(&sql);
	appendStringInfo(&sql, "ALTER TABLE %s ADD COLUMN %s %s", relname, quote_identifier(shadow), typename);
	if (OidIsValid(collid) && type_is_collatable(typid))
		appendStringInfo(&sql, " COLLATE %s", generate_collation_name(collid));
	appendStringInfo(&sql, ";\nCREATE TRIGGER %s BEFORE INSERT OR UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION %s(%s, %s)",
					 quote_identifier(trigger), relname, fn,
					 quote_literal_cstr(shadow),
					 quote_literal_cstr(deparse_qualified(forward, relid)));
	if (stattarget >= 0)
		appendStringInfo(&sql, ";\nALTER TABLE %s ALTER COLUMN %s SET STATISTICS %d",
						 relname, quote_identifier(shadow), stattarget);
	if (comment)
		appendStringInfo(&sql, ";\nCOMMENT ON COLUMN %s.%s IS %s",
						 relname, quote_identifier(shadow), quote_literal_cstr(comment));
	step = pgm_online_step(plan, "expand", PGM_STEP_TRANSACTION, true, sql.data);
	step->exempt = list_make1("drop_column");
	pgm_online_set_undo(step, PGM_STEP_TRANSACTION, true,
						psprintf("DROP TRIGGER IF EXISTS %s ON %s;\n"
								 "ALTER TABLE %s DROP COLUMN IF EXISTS %s",
								 quote_identifier(trigger), relname,
								 relname, quote_identifier(shadow)));

	/* backfill: the trigger computes the shadow of every row updated */
	(void) pgm_online_step(plan, "backfill", PGM_STEP_BACKFILL, false,
						   psprintf("%s = %s", quote_identifier(shadow), quote_identifier(shadow)));

	if (notnull)
		new_notnull = pgm_online_prove_not_null(plan, relid, shadow, "not null", false);

	foreach(lc, copies)
	{
		IndexCopy  *ic = lfirst(lc);
		char	   *qualified = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
														   ic->copy);

		step = pgm_online_step(plan, "index copy", PGM_STEP_CONCURRENT, false, ic->create);
		step->target = qualified;
		pgm_online_set_undo(step, PGM_STEP_CONCURRENT, false,
							psprintf("DROP INDEX CONCURRENTLY IF EXISTS %s", qualified));
	}

	/* cut-over, and its exact reverse */
	initStringInfo(&sql);		/* the expand step keeps the old buffer */
	initStringInfo(&undo);
	appendStringInfo(&sql, "ALTER TABLE %s RENAME COLUMN %s TO %s;\n",
					 relname, quote_identifier(colname), quote_identifier(oldname));
	appendStringInfo(&sql, "ALTER TABLE %s RENAME COLUMN %s TO %s;\n",
					 relname, quote_identifier(shadow), quote_identifier(colname));
	appendStringInfo(&undo, "DROP TRIGGER IF EXISTS %s ON %s;\n",
					 quote_identifier(backtrigger), relname);
	appendStringInfo(&undo, "ALTER TABLE %s RENAME COLUMN %s TO %s;\n",
					 relname, quote_identifier(colname), quote_identifier(shadow));
	appendStringInfo(&undo, "ALTER TABLE %s RENAME COLUMN %s TO %s;\n",
					 relname, quote_identifier(oldname), quote_identifier(colname));
	if (default_new)
	{
		appendStringInfo(&sql, "ALTER TABLE %s ALTER COLUMN %s DROP DEFAULT;\n",
						 relname, quote_identifier(oldname));
		appendStringInfo(&sql, "ALTER TABLE %s ALTER COLUMN %s SET DEFAULT %s;\n",
						 relname, quote_identifier(colname), default_new);
		appendStringInfo(&undo, "ALTER TABLE %s ALTER COLUMN %s DROP DEFAULT;\n",
						 relname, quote_identifier(shadow));
		appendStringInfo(&undo, "ALTER TABLE %s ALTER COLUMN %s SET DEFAULT %s;\n",
						 relname, quote_identifier(colname), default_old);
	}
	/* Where NOT NULL is a named constraint (18), the names swap too. */
	if (old_notnull && new_notnull)
	{
		char	   *parked = our_name(job_id, "nn", colname);

		appendStringInfo(&sql, "ALTER TABLE %s RENAME CONSTRAINT %s TO %s;\n",
						 relname, quote_identifier(old_notnull), quote_identifier(parked));
		appendStringInfo(&sql, "ALTER TABLE %s RENAME CONSTRAINT %s TO %s;\n",
						 relname, quote_identifier(new_notnull), quote_identifier(old_notnull));
		appendStringInfo(&undo, "ALTER TABLE %s RENAME CONSTRAINT %s TO %s;\n",
						 relname, quote_identifier(old_notnull), quote_identifier(new_notnull));
		appendStringInfo(&undo, "ALTER TABLE %s RENAME CONSTRAINT %s TO %s;\n",
						 relname, quote_identifier(parked), quote_identifier(old_notnull));
	}
	foreach(lc, copies)
	{
		IndexCopy  *ic = lfirst(lc);
		char	   *nsp = get_namespace_name(get_rel_namespace(relid));

		appendStringInfo(&sql, "ALTER INDEX %s RENAME TO %s;\n",
						 quote_qualified_identifier(nsp, ic->name), quote_identifier(ic->old));
		appendStringInfo(&sql, "ALTER INDEX %s RENAME TO %s;\n",
						 quote_qualified_identifier(nsp, ic->copy), quote_identifier(ic->name));
		appendStringInfo(&undo, "ALTER INDEX %s RENAME TO %s;\n",
						 quote_qualified_identifier(nsp, ic->name), quote_identifier(ic->copy));
		appendStringInfo(&undo, "ALTER INDEX %s RENAME TO %s;\n",
						 quote_qualified_identifier(nsp, ic->old), quote_identifier(ic->name));
	}
	appendStringInfo(&sql, "DROP TRIGGER %s ON %s;\n", quote_identifier(trigger), relname);
	appendStringInfo(&sql, "CREATE TRIGGER %s BEFORE INSERT OR UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION %s(%s, %s)",
					 quote_identifier(backtrigger), relname, fn, quote_literal_cstr(oldname),
					 quote_literal_cstr(deparse_qualified(backward, relid)));
	appendStringInfo(&undo, "CREATE TRIGGER %s BEFORE INSERT OR UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION %s(%s, %s)",
					 quote_identifier(trigger), relname, fn, quote_literal_cstr(shadow),
					 quote_literal_cstr(deparse_qualified(forward, relid)));
	step = pgm_online_step(plan, "cut-over", PGM_STEP_TRANSACTION, true, sql.data);
	step->exempt = list_make1("rename_column");
	pgm_online_set_undo(step, PGM_STEP_TRANSACTION, true, undo.data);

	/* complete: the old indexes, then the trigger and the old column */
	foreach(lc, copies)
	{
		IndexCopy  *ic = lfirst(lc);
		char	   *qualified = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
														   ic->old);

		step = pgm_online_step(plan, "complete", PGM_STEP_CONCURRENT, false,
							   psprintf("DROP INDEX CONCURRENTLY %s", qualified));
		step->target = qualified;
		step->complete_stage = true;
	}
	step = pgm_online_step(plan, "complete", PGM_STEP_TRANSACTION, true,
						   psprintf("DROP TRIGGER %s ON %s;\nALTER TABLE %s DROP COLUMN %s",
									quote_identifier(backtrigger), relname,
									relname, quote_identifier(oldname)));
	step->complete_stage = true;
	step->exempt = list_make1("drop_column");
}
