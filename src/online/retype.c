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
 *				shadow; a PRIMARY KEY or UNIQUE constraint's index too, and
 *				a spare copy on the old column, which an abort after the
 *				cut-over makes the key again
 *	constraint copy
 *				every CHECK naming the column, for the shadow, NOT VALID
 *				then validated (its text parsed again for the new type)
 *	foreign key copy
 *				every foreign key of another table referencing the column,
 *				referencing the shadow, NOT VALID then validated
 *	cut-over	one short transaction under the bounded lock_timeout, the
 *				table and the referencing tables locked first: the old
 *				foreign keys and keys dropped, the columns and indexes swap
 *				names, the keys made again USING INDEX on the shadow's
 *				unique indexes, the copies take the original names, the
 *				default and the sequence (serial: OWNED BY and AS; identity:
 *				made again with the same name, options and next value) move,
 *				the trigger turns round and keeps the old column in step
 *				with the new one
 *	complete	(migrate_online_complete, or complete => true) the old
 *				indexes and the spares are dropped concurrently, then the
 *				trigger and the old column (its CHECKs go with it)
 *
 * Every step has its exact undo, so migrate_online_abort before complete
 * puts the original column, its indexes, keys, constraints, foreign keys,
 * sequence, default and data back, under their names.  The foreign keys an
 * abort after the cut-over makes again are NOT VALID; the undo of their
 * copies' validation (which runs after, in reverse order) validates them.
 * The new column is the table's last: SELECT * lists it last after the
 * change.
 *
 * What is not carried over is refused with the list of dependents: views,
 * rules, policies, exclusion constraints, deferrable keys, foreign keys of
 * the table itself on the column, generated columns, indexes with
 * expressions or predicates, statistics objects, triggers, inheritance and
 * partitioning.
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
#include "catalog/pg_sequence.h"
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

/* A PRIMARY KEY or UNIQUE constraint on the column. */
typedef struct KeyCopy
{
	char	   *conname;
	bool		primary;
	char	   *copy;			/* unique index on the new column */
	char	   *spare;			/* unique index on the old column, for an abort */
	char	   *create_copy;
	char	   *create_spare;
} KeyCopy;

/* A foreign key of another table referencing one of those keys. */
typedef struct FkCopy
{
	Oid			childoid;		/* the referencing table */
	char	   *child;			/* the same, qualified */
	char	   *conname;
	char	   *copy;			/* the copy referencing the new column */
	char	   *add_copy;		/* ADD CONSTRAINT copy ... NOT VALID */
	char	   *add_orig;		/* ADD CONSTRAINT conname ... NOT VALID */
	bool		validated;
} FkCopy;

/* A CHECK constraint of the table that names the column. */
typedef struct CheckCopy
{
	char	   *conname;
	char	   *copy;			/* on the new column until the cut-over */
	char	   *parked;			/* the original's name after it */
	char	   *add_copy;
	bool		validated;
} CheckCopy;

/* A sequence the column takes its values from: serial or identity. */
typedef struct SeqMove
{
	Oid			seqoid;
	char	   *name;			/* qualified */
	char	   *bare;			/* its name without the schema */
	char		identity;		/* 'a', 'd', or '\0' for a serial */
	char	   *old_options;	/* identity: the options to make it again */
	char	   *new_options;
	char	   *old_type;		/* serial: AS of the sequence before and after */
	char	   *new_type;
} SeqMove;

/* What the column's dependents need, collected by check_dependents. */
typedef struct Dependents
{
	List	   *indexes;		/* OIDs of plain indexes */
	List	   *keys;			/* constraint OIDs, PRIMARY KEY / UNIQUE */
	List	   *fks;			/* constraint OIDs, foreign keys referencing them */
	List	   *checks;			/* constraint OIDs, CHECK */
	List	   *seqs;			/* sequence OIDs */
} Dependents;

static int	live_columns_after(TupleDesc desc, AttrNumber attnum);

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

/* Is the column (attnum) among the int2 array's elements? */
static bool
array_has_attnum(HeapTuple tup, AttrNumber anum, AttrNumber attnum)
{
	bool		isnull;
	Datum		d = SysCacheGetAttr(CONSTROID, tup, anum, &isnull);
	ArrayType  *arr;
	int16	   *keys;
	int			n;
	int			i;

	if (isnull)
		return false;
	arr = DatumGetArrayTypeP(d);
	if (ARR_NDIM(arr) != 1 || ARR_HASNULL(arr) || ARR_ELEMTYPE(arr) != INT2OID)
		return false;
	n = ARR_DIMS(arr)[0];
	keys = (int16 *) ARR_DATA_PTR(arr);
	for (i = 0; i < n; i++)
		if (keys[i] == attnum)
			return true;
	return false;
}

/*
 * A constraint that depends on the column: can it be carried over?  NOT
 * NULL (18) is proved on the new column; PRIMARY KEY and UNIQUE (not
 * deferrable, on a plain index) get a unique index on the new column;
 * CHECK a copy; a foreign key of another plain table referencing the
 * column a copy referencing the new one.  A foreign key of the table
 * itself on the column, one of a partitioned table (its partitions' clones
 * cannot be dropped one by one), an exclusion constraint and a deferrable
 * key are not.
 */
static bool
collect_constraint(Oid conoid, Oid relid, AttrNumber attnum, Dependents *deps)
{
	HeapTuple	ctup = SearchSysCache1(CONSTROID, ObjectIdGetDatum(conoid));
	Form_pg_constraint con;
	bool		ok = false;

	if (!HeapTupleIsValid(ctup))
		return false;
	con = (Form_pg_constraint) GETSTRUCT(ctup);
	if (PGM_CONTYPE_IS_NOT_NULL(con->contype))
		ok = true;
	else if ((con->contype == CONSTRAINT_PRIMARY || con->contype == CONSTRAINT_UNIQUE) &&
			 con->conrelid == relid && !con->condeferrable && OidIsValid(con->conindid))
	{
		HeapTuple	itup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(con->conindid));

		if (HeapTupleIsValid(itup))
		{
			ok = heap_attisnull(itup, Anum_pg_index_indexprs, NULL) &&
				heap_attisnull(itup, Anum_pg_index_indpred, NULL) &&
				!((Form_pg_index) GETSTRUCT(itup))->indnullsnotdistinct;
			ReleaseSysCache(itup);
		}
		if (ok)
			deps->keys = list_append_unique_oid(deps->keys, conoid);
	}
	else if (con->contype == CONSTRAINT_CHECK && con->conrelid == relid)
	{
		deps->checks = list_append_unique_oid(deps->checks, conoid);
		ok = true;
	}
	else if (con->contype == CONSTRAINT_FOREIGN && con->confrelid == relid &&
			 con->conrelid != relid && !OidIsValid(con->conparentid) &&
			 get_rel_relkind(con->conrelid) == RELKIND_RELATION &&
			 array_has_attnum(ctup, Anum_pg_constraint_confkey, attnum))
	{
		bool		isnull;
		Datum		d = SysCacheGetAttr(CONSTROID, ctup, Anum_pg_constraint_confdelsetcols, &isnull);
		ArrayType  *arr = isnull ? NULL : DatumGetArrayTypeP(d);

		/* ON DELETE SET NULL (columns) is not copied */
		if (arr == NULL || ARR_NDIM(arr) == 0 || ARR_DIMS(arr)[0] == 0)
		{
			deps->fks = list_append_unique_oid(deps->fks, conoid);
			ok = true;
		}
	}
	ReleaseSysCache(ctup);
	return ok;
}

/*
 * What depends on the column and cannot be carried over: refused, with
 * the list.  Indexes that are plain column lists, PRIMARY KEY, UNIQUE and
 * CHECK constraints, foreign keys of other tables referencing the column
 * and its sequence are collected for copy.
 */
static void
check_dependents(Relation rel, AttrNumber attnum, const char *colname, Dependents *deps)
{
	Relation	depRel = table_open(DependRelationId, AccessShareLock);
	ScanKeyData key[3];
	SysScanDesc scan;
	HeapTuple	tup;
	StringInfoData refused;
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
			ok = collect_constraint(dep->objid, relid, attnum, deps);
		else if (dep->classid == RelationRelationId &&
				 get_rel_relkind(dep->objid) == RELKIND_SEQUENCE &&
				 (dep->deptype == DEPENDENCY_AUTO || dep->deptype == DEPENDENCY_INTERNAL))
		{
			/* serial (OWNED BY) or identity: moved at the cut-over */
			deps->seqs = list_append_unique_oid(deps->seqs, dep->objid);
			ok = true;
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
					deps->indexes = list_append_unique_oid(deps->indexes, dep->objid);
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

/* ----------------------------------------------------------------
 * Keys, foreign keys, CHECK constraints and sequences
 * ----------------------------------------------------------------
 */

/* The column names of a constraint's int2 array, one replaced. */
static char *
column_list(HeapTuple ctup, AttrNumber anum, Oid relid, AttrNumber attnum,
			const char *replacement)
{
	bool		isnull;
	Datum		d = SysCacheGetAttr(CONSTROID, ctup, anum, &isnull);
	ArrayType  *arr;
	int16	   *keys;
	int			n;
	int			i;
	StringInfoData buf;

	if (isnull)
		elog(ERROR, "null column list in constraint");
	arr = DatumGetArrayTypeP(d);
	n = ARR_NDIM(arr) == 1 ? ARR_DIMS(arr)[0] : 0;
	keys = (int16 *) ARR_DATA_PTR(arr);
	initStringInfo(&buf);
	for (i = 0; i < n; i++)
	{
		const char *name = (keys[i] == attnum && replacement) ? replacement :
		get_attname(relid, keys[i], false);

		appendStringInfo(&buf, "%s%s", i > 0 ? ", " : "", quote_identifier(name));
	}
	return buf.data;
}

static const char *
fk_action(char action)
{
	switch (action)
	{
		case FKCONSTR_ACTION_RESTRICT:
			return "RESTRICT";
		case FKCONSTR_ACTION_CASCADE:
			return "CASCADE";
		case FKCONSTR_ACTION_SETNULL:
			return "SET NULL";
		case FKCONSTR_ACTION_SETDEFAULT:
			return "SET DEFAULT";
		default:
			return "NO ACTION";
	}
}

/*
 * ADD CONSTRAINT name FOREIGN KEY ... NOT VALID of a foreign key
 * referencing the table, with refcol for the changed column (the new
 * column for the copy, the original for the one an abort makes again).
 */
static char *
fk_add_sql(HeapTuple ctup, Oid relid, AttrNumber attnum, const char *name,
		   const char *refcol)
{
	Form_pg_constraint con = (Form_pg_constraint) GETSTRUCT(ctup);
	StringInfoData sql;

	initStringInfo(&sql);
	appendStringInfo(&sql, "ALTER TABLE %s ADD CONSTRAINT %s FOREIGN KEY (%s) REFERENCES %s (%s)",
					 pgm_online_relname(con->conrelid), quote_identifier(name),
					 column_list(ctup, Anum_pg_constraint_conkey, con->conrelid, 0, NULL),
					 pgm_online_relname(relid),
					 column_list(ctup, Anum_pg_constraint_confkey, relid, attnum, refcol));
	if (con->confmatchtype == FKCONSTR_MATCH_FULL)
		appendStringInfoString(&sql, " MATCH FULL");
	appendStringInfo(&sql, " ON UPDATE %s ON DELETE %s",
					 fk_action(con->confupdtype), fk_action(con->confdeltype));
	if (con->condeferrable)
		appendStringInfo(&sql, " DEFERRABLE INITIALLY %s", con->condeferred ? "DEFERRED" : "IMMEDIATE");
	appendStringInfoString(&sql, " NOT VALID");
	return sql.data;
}

/* The column as the first parameter: what a CHECK copy names instead. */
static Node *
column_to_param(Node *node, void *context)
{
	AttrNumber	attnum = *(AttrNumber *) context;

	if (node == NULL)
		return NULL;
	if (IsA(node, Var) && ((Var *) node)->varattno == attnum &&
		((Var *) node)->varlevelsup == 0)
	{
		Var		   *v = (Var *) node;
		Param	   *p = makeNode(Param);

		p->paramkind = PARAM_EXTERN;
		p->paramid = 1;
		p->paramtype = v->vartype;
		p->paramtypmod = v->vartypmod;
		p->paramcollid = v->varcollid;
		p->location = -1;
		return (Node *) p;
	}
	return expression_tree_mutator(node, column_to_param, context);
}

/*
 * A CHECK constraint's expression with the new column for the changed
 * one, as SQL text parsed again against the new type when the copy is
 * added (so that `id > 0` compares a bigint).  The column is deparsed as
 * $1 and replaced by the new column's name; an expression whose own text
 * holds $1 (in a literal) is refused.
 */
static char *
check_expr_for(HeapTuple ctup, Oid relid, AttrNumber attnum, const char *shadow,
			   const char *colname)
{
	bool		isnull;
	Datum		d = SysCacheGetAttr(CONSTROID, ctup, Anum_pg_constraint_conbin, &isnull);
	Node	   *expr;
	char	   *orig;
	char	   *body;
	StringInfoData out;
	const char *c;

	if (isnull)
		elog(ERROR, "null conbin for constraint");
	expr = stringToNode(TextDatumGetCString(d));
	orig = deparse_qualified(expr, relid);
	if (strstr(orig, "$1") != NULL)
		pgm_online_refuse(what,
						  psprintf("CHECK constraint \"%s\" on column \"%s\" cannot be copied: its text holds \"$1\".",
								   NameStr(((Form_pg_constraint) GETSTRUCT(ctup))->conname), colname),
						  "Drop it and create it again after the change.");
	body = deparse_qualified(column_to_param(expr, &attnum), relid);
	initStringInfo(&out);
	for (c = body; *c; c++)
	{
		if (c[0] == '$' && c[1] == '1')
		{
			appendStringInfoString(&out, quote_identifier(shadow));
			c++;
		}
		else
			appendStringInfoChar(&out, *c);
	}
	return out.data;
}

/* The bounds of an integer type, for a sequence's defaults. */
static void
int_type_bounds(Oid typid, int64 *min, int64 *max)
{
	if (typid == INT2OID)
	{
		*min = PG_INT16_MIN;
		*max = PG_INT16_MAX;
	}
	else if (typid == INT4OID)
	{
		*min = PG_INT32_MIN;
		*max = PG_INT32_MAX;
	}
	else
	{
		*min = PG_INT64_MIN;
		*max = PG_INT64_MAX;
	}
}

/*
 * The sequence of a serial or identity column.  An identity is made again
 * on the other column at the cut-over (and back at an abort) with the
 * same options, its bounds widened where they were the old type's own.
 * A serial's sequence changes owner and its AS type.
 */
static SeqMove *
seq_move(Oid seqoid, Form_pg_attribute att, Oid typid)
{
	SeqMove    *sm = palloc0(sizeof(SeqMove));
	HeapTuple	tup = SearchSysCache1(SEQRELID, ObjectIdGetDatum(seqoid));
	Form_pg_sequence seq;
	int64		omin,
				omax,
				nmin,
				nmax;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for sequence %u", seqoid);
	seq = (Form_pg_sequence) GETSTRUCT(tup);
	sm->seqoid = seqoid;
	sm->bare = get_rel_name(seqoid);
	sm->name = pgm_online_relname(seqoid);
	/* the identity's own sequence (an internal dependency), not one merely OWNED BY it */
	{
		Oid			tableid;
		int32		colid;

		sm->identity = sequenceIsOwned(seqoid, DEPENDENCY_INTERNAL, &tableid, &colid) ?
			att->attidentity : '\0';
	}
	int_type_bounds(seq->seqtypid, &omin, &omax);
	int_type_bounds(typid, &nmin, &nmax);
	if (sm->identity)
	{
		const char *fmt = "SEQUENCE NAME %s INCREMENT BY " INT64_FORMAT " %s %s START WITH " INT64_FORMAT
			" CACHE " INT64_FORMAT " %s";

		sm->old_options = psprintf(fmt, sm->name, seq->seqincrement,
								   psprintf("MINVALUE " INT64_FORMAT, seq->seqmin),
								   psprintf("MAXVALUE " INT64_FORMAT, seq->seqmax),
								   seq->seqstart, seq->seqcache,
								   seq->seqcycle ? "CYCLE" : "NO CYCLE");
		sm->new_options = psprintf(fmt, sm->name, seq->seqincrement,
								   seq->seqmin == omin && seq->seqincrement < 0 ? "NO MINVALUE" :
								   psprintf("MINVALUE " INT64_FORMAT, seq->seqmin),
								   seq->seqmax == omax && seq->seqincrement > 0 ? "NO MAXVALUE" :
								   psprintf("MAXVALUE " INT64_FORMAT, seq->seqmax),
								   seq->seqstart, seq->seqcache,
								   seq->seqcycle ? "CYCLE" : "NO CYCLE");
	}
	else if ((seq->seqtypid == INT2OID || seq->seqtypid == INT4OID) &&
			 (typid == INT4OID || typid == INT8OID) && nmax > omax)
	{
		sm->old_type = format_type_be_qualified(seq->seqtypid);
		sm->new_type = format_type_be_qualified(typid);
	}
	ReleaseSysCache(tup);
	return sm;
}

/* A concurrent index build of the plan, dropped concurrently by its undo. */
static void
concurrent_index_step(PgmOnlinePlan *plan, const char *phase, char *create, char *qualified)
{
	PgmOnlineStep *step = pgm_online_step(plan, phase, PGM_STEP_CONCURRENT, false, create);

	step->target = qualified;
	pgm_online_set_undo(step, PGM_STEP_CONCURRENT, false,
						psprintf("DROP INDEX CONCURRENTLY IF EXISTS %s", qualified));
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

/* ALTER TABLE rel RENAME CONSTRAINT from TO to, appended to a step. */
static void
append_rename_constraint(StringInfo buf, const char *rel, const char *from, const char *to)
{
	appendStringInfo(buf, "ALTER TABLE %s RENAME CONSTRAINT %s TO %s;\n",
					 rel, quote_identifier(from), quote_identifier(to));
}

/* our_name with a number: the n-th copy of its kind. */
static char *
numbered_name(int64 job_id, const char *what_, int n)
{
	char		base[16];

	snprintf(base, sizeof(base), "%d", n);
	return our_name(job_id, what_, base);
}

/* A constraint's tuple (released by the caller), which must exist. */
static HeapTuple
constraint_tuple(Oid conoid)
{
	HeapTuple	ctup = SearchSysCache1(CONSTROID, ObjectIdGetDatum(conoid));

	if (!HeapTupleIsValid(ctup))
		elog(ERROR, "cache lookup failed for constraint %u", conoid);
	return ctup;
}

/* The copy of a PRIMARY KEY or UNIQUE constraint, the n-th of the plan. */
static KeyCopy *
key_copy(Oid conoid, int n, Relation rel, AttrNumber attnum, const char *shadow,
		 const char *colname, int64 job_id)
{
	HeapTuple	ctup = constraint_tuple(conoid);
	Form_pg_constraint con = (Form_pg_constraint) GETSTRUCT(ctup);
	KeyCopy    *kc = palloc0(sizeof(KeyCopy));

	kc->conname = pstrdup(NameStr(con->conname));
	kc->primary = con->contype == CONSTRAINT_PRIMARY;
	kc->copy = numbered_name(job_id, "key", n);
	kc->spare = numbered_name(job_id, "oldkey", n);
	kc->create_copy = pgm_online_index_copy_sql(con->conindid, kc->copy, rel, attnum, shadow, false);
	kc->create_spare = pgm_online_index_copy_sql(con->conindid, kc->spare, rel, attnum, colname, false);
	ReleaseSysCache(ctup);
	return kc;
}

/* The copy of a foreign key referencing the column, the n-th of the plan. */
static FkCopy *
fk_copy(Oid conoid, int n, Oid relid, AttrNumber attnum, const char *shadow,
		const char *colname, int64 job_id)
{
	HeapTuple	ctup = constraint_tuple(conoid);
	Form_pg_constraint con = (Form_pg_constraint) GETSTRUCT(ctup);
	FkCopy	   *fc = palloc0(sizeof(FkCopy));

	fc->childoid = con->conrelid;
	fc->child = pgm_online_relname(con->conrelid);
	fc->conname = pstrdup(NameStr(con->conname));
	fc->copy = numbered_name(job_id, "fk", n);
	fc->validated = con->convalidated;
	fc->add_copy = fk_add_sql(ctup, relid, attnum, fc->copy, shadow);
	fc->add_orig = fk_add_sql(ctup, relid, attnum, fc->conname, colname);
	ReleaseSysCache(ctup);
	return fc;
}

/* The copy of a CHECK constraint naming the column, the n-th of the plan. */
static CheckCopy *
check_copy(Oid conoid, int n, Oid relid, AttrNumber attnum, const char *shadow,
		   const char *colname, int64 job_id)
{
	HeapTuple	ctup = constraint_tuple(conoid);
	Form_pg_constraint con = (Form_pg_constraint) GETSTRUCT(ctup);
	CheckCopy  *cc = palloc0(sizeof(CheckCopy));

	cc->conname = pstrdup(NameStr(con->conname));
	cc->copy = numbered_name(job_id, "check", n);
	cc->parked = numbered_name(job_id, "oldcheck", n);
	cc->validated = con->convalidated;
	cc->add_copy = psprintf("ALTER TABLE %s ADD CONSTRAINT %s CHECK (%s)%s NOT VALID",
							pgm_online_relname(relid), quote_identifier(cc->copy),
							check_expr_for(ctup, relid, attnum, shadow, colname),
							con->connoinherit ? " NO INHERIT" : "");
	ReleaseSysCache(ctup);
	return cc;
}

/*
 * Move a sequence from column "from" to column "to" (forward: the new
 * column; undo: back to the original).  An identity is made again on "to"
 * under the same sequence name (the old sequence renamed aside first), with
 * the options for that column's type and the same next value, then dropped
 * from "from" with its old sequence.  A serial's sequence changes owner and
 * AS type.
 */
static void
append_seq_move(StringInfo buf, SeqMove *sm, const char *relname, const char *to,
				const char *from, int64 job_id, bool forward)
{
	char	   *parked = our_name(job_id, "seq", to);
	const char *astype = forward ? sm->new_type : sm->old_type;

	if (sm->identity)
	{
		appendStringInfo(buf, "ALTER SEQUENCE %s RENAME TO %s;\n",
						 sm->name, quote_identifier(parked));
		appendStringInfo(buf, "ALTER TABLE %s ALTER COLUMN %s ADD GENERATED %s AS IDENTITY (%s);\n",
						 relname, quote_identifier(to),
						 sm->identity == ATTRIBUTE_IDENTITY_ALWAYS ? "ALWAYS" : "BY DEFAULT",
						 forward ? sm->new_options : sm->old_options);
		appendStringInfo(buf, "SELECT pg_catalog.setval(%s, s.last_value, s.is_called) FROM %s s;\n",
						 quote_literal_cstr(sm->name),
						 quote_qualified_identifier(get_namespace_name(get_rel_namespace(sm->seqoid)),
													parked));
		appendStringInfo(buf, "ALTER TABLE %s ALTER COLUMN %s DROP IDENTITY;\n",
						 relname, quote_identifier(from));
		return;
	}
	appendStringInfo(buf, "ALTER SEQUENCE %s OWNED BY %s.%s;\n",
					 sm->name, relname, quote_identifier(to));
	if (astype)
		appendStringInfo(buf, "ALTER SEQUENCE %s AS %s;\n", sm->name, astype);
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
	Dependents	deps;
	List	   *copies = NIL;
	List	   *keys = NIL;
	List	   *fks = NIL;
	List	   *checks = NIL;
	List	   *seqs = NIL;
	List	   *children = NIL;
	ListCell   *lc;
	PgmOnlineStep *step;
	StringInfoData sql;
	StringInfoData undo;
	bool		rewrites = false;
	char	   *new_notnull = NULL;
	char	   *old_notnull = NULL;
	char	   *nsp;
	int			later;

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
	later = live_columns_after(RelationGetDescr(rel), attnum);

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

	if (att->attgenerated)
		pgm_online_refuse(what,
						  psprintf("Column \"%s\" is a generated column, which is not carried over.",
								   colname),
						  "Drop the expression first (ALTER COLUMN ... DROP EXPRESSION), or change the column with a migration.");
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

	memset(&deps, 0, sizeof(deps));
	check_dependents(rel, attnum, colname, &deps);
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
			/* nextval() of a serial is bigint: no cast to the old type on the way */
			Node	   *bare = strip_implicit_coercions(olddef);

			ParseState *pstate = make_parsestate(NULL);
			Node	   *newdef = coerce_to_target_type(pstate, copyObject(bare), exprType(bare),
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
		}
	}

	foreach(lc, deps.indexes)
	{
		Oid			indexoid = lfirst_oid(lc);
		IndexCopy  *ic = palloc0(sizeof(IndexCopy));
		char		base[16];

		snprintf(base, sizeof(base), "%d", list_cell_number(deps.indexes, lc) + 1);
		ic->name = get_rel_name(indexoid);
		ic->copy = our_name(job_id, "idx", base);
		ic->old = our_name(job_id, "oldidx", base);
		ic->create = pgm_online_index_copy_sql(indexoid, ic->copy, rel, attnum, shadow, false);
		copies = lappend(copies, ic);
	}
	foreach(lc, deps.keys)
		keys = lappend(keys, key_copy(lfirst_oid(lc), list_cell_number(deps.keys, lc) + 1,
									  rel, attnum, shadow, colname, job_id));
	foreach(lc, deps.fks)
	{
		FkCopy	   *fc = fk_copy(lfirst_oid(lc), list_cell_number(deps.fks, lc) + 1,
								 relid, attnum, shadow, colname, job_id);

		fks = lappend(fks, fc);
		children = list_append_unique_oid(children, fc->childoid);
	}
	foreach(lc, deps.checks)
		checks = lappend(checks, check_copy(lfirst_oid(lc), list_cell_number(deps.checks, lc) + 1,
											relid, attnum, shadow, colname, job_id));
	foreach(lc, deps.seqs)
		seqs = lappend(seqs, seq_move(lfirst_oid(lc), att, typid));
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
	pgm_online_expand_step(plan, sql.data, relname, trigger, shadow);

	/* backfill: the trigger computes the shadow of every row updated */
	(void) pgm_online_step(plan, "backfill", PGM_STEP_BACKFILL, false,
						   psprintf("%s = %s", quote_identifier(shadow), quote_identifier(shadow)));

	if (notnull)
		new_notnull = pgm_online_prove_not_null(plan, relid, shadow, "not null", false);

	nsp = get_namespace_name(get_rel_namespace(relid));
	foreach(lc, copies)
	{
		IndexCopy  *ic = lfirst(lc);

		concurrent_index_step(plan, "index copy", ic->create, quote_qualified_identifier(nsp, ic->copy));
	}
	foreach(lc, keys)
	{
		KeyCopy    *kc = lfirst(lc);

		concurrent_index_step(plan, "index copy", kc->create_copy, quote_qualified_identifier(nsp, kc->copy));
		concurrent_index_step(plan, "index copy", kc->create_spare, quote_qualified_identifier(nsp, kc->spare));
	}

	/* CHECK copies: added NOT VALID (short lock), validated without blocking writes */
	foreach(lc, checks)
	{
		CheckCopy  *cc = lfirst(lc);

		step = pgm_online_step(plan, "constraint copy", PGM_STEP_TRANSACTION, true, cc->add_copy);
		pgm_online_set_undo(step, PGM_STEP_TRANSACTION, true,
							psprintf("ALTER TABLE %s DROP CONSTRAINT IF EXISTS %s",
									 relname, quote_identifier(cc->copy)));
		if (cc->validated)
			(void) pgm_online_step(plan, "constraint copy", PGM_STEP_TRANSACTION, false,
								   psprintf("ALTER TABLE %s VALIDATE CONSTRAINT %s",
											relname, quote_identifier(cc->copy)));
	}

	/*
	 * Foreign keys of other tables: a copy referencing the new column's
	 * unique index, NOT VALID, then validated.  The validation's undo
	 * validates the original, which an abort after the cut-over makes
	 * again NOT VALID (an abort before finds it valid: nothing to do).
	 */
	foreach(lc, fks)
	{
		FkCopy	   *fc = lfirst(lc);

		step = pgm_online_step(plan, "foreign key copy", PGM_STEP_TRANSACTION, true, fc->add_copy);
		pgm_online_set_undo(step, PGM_STEP_TRANSACTION, true,
							psprintf("ALTER TABLE %s DROP CONSTRAINT IF EXISTS %s",
									 fc->child, quote_identifier(fc->copy)));
		if (fc->validated)
		{
			step = pgm_online_step(plan, "foreign key copy", PGM_STEP_TRANSACTION, false,
								   psprintf("ALTER TABLE %s VALIDATE CONSTRAINT %s",
											fc->child, quote_identifier(fc->copy)));
			pgm_online_set_undo(step, PGM_STEP_TRANSACTION, false,
								psprintf("ALTER TABLE %s VALIDATE CONSTRAINT %s",
										 fc->child, quote_identifier(fc->conname)));
		}
	}

	/* cut-over, and its exact reverse */
	initStringInfo(&sql);		/* the expand step keeps the old buffer */
	initStringInfo(&undo);

	/* every table it changes, locked first, in one order */
	appendStringInfo(&sql, "LOCK TABLE %s", relname);
	foreach(lc, children)
		appendStringInfo(&sql, ", %s", pgm_online_relname(lfirst_oid(lc)));
	appendStringInfoString(&sql, " IN ACCESS EXCLUSIVE MODE;\n");
	appendStringInfoString(&undo, sql.data);
	appendStringInfo(&undo, "DROP TRIGGER IF EXISTS %s ON %s;\n",
					 quote_identifier(backtrigger), relname);

	/* the originals that reference or are the old keys go; the copies take their names */
	foreach(lc, fks)
	{
		FkCopy	   *fc = lfirst(lc);

		appendStringInfo(&sql, "ALTER TABLE %s DROP CONSTRAINT %s;\n",
						 fc->child, quote_identifier(fc->conname));
		appendStringInfo(&undo, "ALTER TABLE %s DROP CONSTRAINT %s;\n",
						 fc->child, quote_identifier(fc->conname));
	}
	foreach(lc, keys)
	{
		KeyCopy    *kc = lfirst(lc);

		appendStringInfo(&sql, "ALTER TABLE %s DROP CONSTRAINT %s;\n",
						 relname, quote_identifier(kc->conname));
		appendStringInfo(&undo, "ALTER TABLE %s DROP CONSTRAINT %s;\n",
						 relname, quote_identifier(kc->conname));
	}
	foreach(lc, checks)
	{
		CheckCopy  *cc = lfirst(lc);

		append_rename_constraint(&sql, relname, cc->conname, cc->parked);
		append_rename_constraint(&undo, relname, cc->conname, cc->copy);
	}
	/* undo: the sequences go back while the columns still have the new names */
	foreach(lc, seqs)
		append_seq_move(&undo, lfirst(lc), relname, oldname, colname, job_id, false);

	appendStringInfo(&sql, "ALTER TABLE %s RENAME COLUMN %s TO %s;\n",
					 relname, quote_identifier(colname), quote_identifier(oldname));
	appendStringInfo(&sql, "ALTER TABLE %s RENAME COLUMN %s TO %s;\n",
					 relname, quote_identifier(shadow), quote_identifier(colname));
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

		append_rename_constraint(&sql, relname, old_notnull, parked);
		append_rename_constraint(&sql, relname, new_notnull, old_notnull);
		append_rename_constraint(&undo, relname, old_notnull, new_notnull);
		append_rename_constraint(&undo, relname, parked, old_notnull);
	}
	/* forward: the sequences move to the new column, which now has the name */
	foreach(lc, seqs)
		append_seq_move(&sql, lfirst(lc), relname, colname, oldname, job_id, true);
	/* the keys on the new column's unique indexes (no scan: it is NOT NULL) */
	foreach(lc, keys)
	{
		KeyCopy    *kc = lfirst(lc);

		appendStringInfo(&sql, "ALTER TABLE %s ADD CONSTRAINT %s %s USING INDEX %s;\n",
						 relname, quote_identifier(kc->conname),
						 kc->primary ? "PRIMARY KEY" : "UNIQUE", quote_identifier(kc->copy));
		appendStringInfo(&undo, "ALTER TABLE %s ADD CONSTRAINT %s %s USING INDEX %s;\n",
						 relname, quote_identifier(kc->conname),
						 kc->primary ? "PRIMARY KEY" : "UNIQUE", quote_identifier(kc->spare));
	}
	foreach(lc, checks)
	{
		CheckCopy  *cc = lfirst(lc);

		append_rename_constraint(&sql, relname, cc->copy, cc->conname);
		append_rename_constraint(&undo, relname, cc->parked, cc->conname);
	}
	foreach(lc, fks)
	{
		FkCopy	   *fc = lfirst(lc);

		append_rename_constraint(&sql, fc->child, fc->copy, fc->conname);
		/* validated again by the undo of its copy's validation */
		appendStringInfo(&undo, "%s;\n", fc->add_orig);
	}
	foreach(lc, copies)
	{
		IndexCopy  *ic = lfirst(lc);

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
		char	   *qualified = quote_qualified_identifier(nsp, ic->old);

		step = pgm_online_step(plan, "complete", PGM_STEP_CONCURRENT, false,
							   psprintf("DROP INDEX CONCURRENTLY %s", qualified));
		step->target = qualified;
		step->complete_stage = true;
	}
	foreach(lc, keys)
	{
		KeyCopy    *kc = lfirst(lc);
		char	   *qualified = quote_qualified_identifier(nsp, kc->spare);

		step = pgm_online_step(plan, "complete", PGM_STEP_CONCURRENT, false,
							   psprintf("DROP INDEX CONCURRENTLY %s", qualified));
		step->target = qualified;
		step->complete_stage = true;
	}
	/* the old column's CHECK constraints go with it */
	step = pgm_online_step(plan, "complete", PGM_STEP_TRANSACTION, true,
						   psprintf("DROP TRIGGER %s ON %s;\nALTER TABLE %s DROP COLUMN %s",
									quote_identifier(backtrigger), relname,
									relname, quote_identifier(oldname)));
	step->complete_stage = true;
	step->exempt = list_make1("drop_column");

	/* said at submission (api.c): the change moves the column last */
	plan->moved_column = colname;
	plan->moved_old_name = oldname;
	plan->moved_past = later;
}

/* How many columns, not dropped, come after attnum. */
static int
live_columns_after(TupleDesc desc, AttrNumber attnum)
{
	int			n = 0;
	int			i;

	for (i = attnum; i < desc->natts; i++)
		if (!TupleDescAttr(desc, i)->attisdropped)
			n++;
	return n;
}
