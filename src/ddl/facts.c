/*-------------------------------------------------------------------------
 *
 * facts.c
 *		What PostgreSQL will do to a table, decided the way PostgreSQL
 *		decides it, before the statement runs.
 *
 * ALTER TABLE and its relatives spare themselves work when the catalog
 * proves it unnecessary, and do work nobody named when the catalog
 * requires it.  The classifier (classify.c) must know which, or its
 * verdicts are guesses.  Each function here asks one of the questions
 * PostgreSQL asks, with the same tests, measured against the server by the
 * verdict harness (test/verdicts/):
 *
 *	- SET NOT NULL skips its scan when the validated CHECK constraints
 *	  imply "col IS NOT NULL" under weak implication (a CHECK that lets a
 *	  NULL through proves nothing: CHECK (col > 0) is true or NULL for a
 *	  NULL), as NotNullImpliedByRelConstraints asks the predicate prover;
 *	- ALTER COLUMN TYPE keeps the table when the conversion planned by
 *	  expression_planner() reduces to the column under relabellings
 *	  (ATColumnChangeRequiresRewrite), also when it is written as a USING
 *	  expression such as "USING col::text"; it then still builds again every
 *	  index on the column whose operator class or collation would change,
 *	  or that has expressions or a predicate (CheckIndexCompatible), checks
 *	  again every validated CHECK constraint on it, validates again a
 *	  foreign key whose equality operator or cast changes, and locks the
 *	  table at the other end of each foreign key AccessExclusiveLock (its
 *	  triggers are dropped and created again);
 *	- ATTACH PARTITION scans the table attached, and CREATE TABLE ...
 *	  PARTITION OF and ATTACH PARTITION scan the default partition, unless
 *	  their constraints imply the partition constraint (or that no row of
 *	  the new partition is there), per leaf partition
 *	  (PartConstraintImpliedByRelConstraint);
 *	- ALTER DOMAIN ... ADD CONSTRAINT, VALIDATE CONSTRAINT and SET NOT NULL
 *	  lock and scan every table with a column of the domain or of a domain
 *	  over it (get_rels_with_domain).
 *
 * Locking: like the classifier, nothing here takes or waits for a lock on
 * a user relation: relations are read through the relation cache without
 * a lock and catalogs through their indexes.  Version differences live in
 * compat.h.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/dependency.h"
#include "catalog/indexing.h"
#include "catalog/objectaddress.h"
#include "catalog/partition.h"
#include "catalog/pg_attrdef.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_depend.h"
#include "catalog/pg_index.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_opclass.h"
#include "catalog/pg_policy.h"
#include "catalog/pg_rewrite.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "commands/tablecmds.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parse_coerce.h"
#include "parser/parse_collate.h"
#include "parser/parse_expr.h"
#include "parser/parse_node.h"
#include "parser/parse_type.h"
#include "parser/parse_utilcmd.h"
#include "partitioning/partbounds.h"
#include "rewrite/rewriteManip.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/partcache.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

#include "core/compat.h"
#include "ddl/facts.h"

/* ---------------------------------------------------------------------
 * NOT NULL
 * ---------------------------------------------------------------------
 */

/*
 * Is the column already NOT NULL, with nothing left to check?  On 18 a
 * NOT NULL constraint may exist NOT VALID: SET NOT NULL then validates it,
 * scanning the table.
 */
bool
pgm_column_not_null(Oid relid, AttrNumber attnum)
{
	HeapTuple	tup = SearchSysCacheAttNum(relid, attnum);
	bool		notnull = false;

	if (HeapTupleIsValid(tup))
	{
		notnull = ((Form_pg_attribute) GETSTRUCT(tup))->attnotnull;
		ReleaseSysCache(tup);
	}
	return notnull && PGM_NotNullConstraintValid(relid, attnum);
}

/*
 * Do the table's validated CHECK constraints (and its other NOT NULL
 * columns) prove the column holds no NULL?  The question
 * NotNullImpliedByRelConstraints asks before SET NOT NULL decides to scan,
 * through the same exported prover ATTACH PARTITION uses, which assumes the
 * constraints merely not false (weak implication).
 */
bool
pgm_not_null_proven(Oid relid, AttrNumber attnum)
{
	HeapTuple	atttup;
	Form_pg_attribute att;
	NullTest   *nnt;
	Relation	rel;
	bool		proven;

	atttup = SearchSysCacheAttNum(relid, attnum);
	if (!HeapTupleIsValid(atttup))
		return false;
	att = (Form_pg_attribute) GETSTRUCT(atttup);
	nnt = makeNode(NullTest);
	nnt->arg = (Expr *) makeVar(1, attnum, att->atttypid, att->atttypmod,
								att->attcollation, 0);
	nnt->nulltesttype = IS_NOT_NULL;
	nnt->argisrow = false;
	nnt->location = -1;
	ReleaseSysCache(atttup);

	rel = RelationIdGetRelation(relid);
	if (rel == NULL)
		return false;
	proven = PartConstraintImpliedByRelConstraint(rel, list_make1(nnt));
	RelationClose(rel);
	return proven;
}

/* ---------------------------------------------------------------------
 * ALTER COLUMN ... TYPE
 * ---------------------------------------------------------------------
 */

/* A USING expression's column references, resolved against one table. */
typedef struct UsingRefs
{
	Oid			relid;
	const char *relname;
	const char *nspname;
	bool		ok;
} UsingRefs;

/* The column a ColumnRef names, or InvalidAttrNumber. */
static AttrNumber
using_ref_attnum(UsingRefs *refs, ColumnRef *cref)
{
	List	   *fields = cref->fields;
	Node	   *last = llast(fields);
	int			n = list_length(fields);

	if (!IsA(last, String) || n > 3)
		return InvalidAttrNumber;
	/* qualified by the table's name, and maybe its schema's */
	if (n >= 2 && (!IsA(list_nth(fields, n - 2), String) ||
				   strcmp(strVal(list_nth(fields, n - 2)), refs->relname) != 0))
		return InvalidAttrNumber;
	if (n == 3 && (!IsA(linitial(fields), String) ||
				   strcmp(strVal(linitial(fields)), refs->nspname) != 0))
		return InvalidAttrNumber;
	return get_attnum(refs->relid, strVal(last));
}

/*
 * Every column reference of the expression names a column of the table
 * (whole-row references, subqueries and the like are left to ALTER TABLE).
 */
static bool
using_refs_walker(Node *node, UsingRefs *refs)
{
	if (node == NULL)
		return false;
	if (IsA(node, ColumnRef))
	{
		AttrNumber	attnum = using_ref_attnum(refs, (ColumnRef *) node);

		if (attnum <= 0)
			refs->ok = false;
		return false;
	}
	if (IsA(node, SubLink))
	{
		refs->ok = false;
		return false;
	}
	return raw_expression_tree_walker(node, using_refs_walker, (void *) refs);
}

static Node *
using_columnref_hook(ParseState *pstate, ColumnRef *cref)
{
	UsingRefs  *refs = (UsingRefs *) pstate->p_ref_hook_state;
	AttrNumber	attnum = using_ref_attnum(refs, cref);
	HeapTuple	tup;
	Var		   *var;
	Form_pg_attribute att;

	if (attnum <= 0)
		return NULL;
	tup = SearchSysCacheAttNum(refs->relid, attnum);
	if (!HeapTupleIsValid(tup))
		return NULL;
	att = (Form_pg_attribute) GETSTRUCT(tup);
	var = makeVar(1, attnum, att->atttypid, att->atttypmod, att->attcollation, 0);
	var->location = cref->location;
	ReleaseSysCache(tup);
	return (Node *) var;
}

/*
 * The USING expression of ALTER COLUMN TYPE as ALTER TABLE transforms it
 * against the table's row, or NULL when it references anything but the
 * table's own columns.
 */
Node *
pgm_using_expression(Oid relid, Node *raw_using)
{
	UsingRefs	refs;
	ParseState *pstate;
	Node	   *expr;

	refs.relid = relid;
	refs.relname = get_rel_name(relid);
	refs.nspname = get_namespace_name(get_rel_namespace(relid));
	refs.ok = true;
	if (refs.relname == NULL || refs.nspname == NULL)
		return NULL;
	(void) using_refs_walker(raw_using, &refs);
	if (!refs.ok)
		return NULL;

	pstate = make_parsestate(NULL);
	pstate->p_pre_columnref_hook = using_columnref_hook;
	pstate->p_ref_hook_state = (void *) &refs;
	expr = transformExpr(pstate, copyObject(raw_using), EXPR_KIND_ALTER_COL_TRANSFORM);
	free_parsestate(pstate);
	return expr;
}

/*
 * Does the conversion (the old value, or the USING expression, coerced to
 * the new type and planned) rewrite the table?  ATColumnChangeRequiresRewrite:
 * only relabellings, coercions to domains without constraints and the
 * timestamp <-> timestamptz conversion under TimeZone UTC leave it alone.
 */
bool
pgm_change_rewrites(Node *expr, AttrNumber attnum, const char **why)
{
	*why = "a conversion that is not binary coercible";
	for (;;)
	{
		if (expr == NULL)
			return true;
		if (IsA(expr, Var) && ((Var *) expr)->varattno == attnum)
			return false;
		if (IsA(expr, RelabelType))
			expr = (Node *) ((RelabelType *) expr)->arg;
		else if (IsA(expr, CoerceToDomain))
		{
			if (DomainHasConstraints(((CoerceToDomain *) expr)->resulttype))
			{
				*why = "a domain type with constraints";
				return true;
			}
			expr = (Node *) ((CoerceToDomain *) expr)->arg;
		}
		else if (IsA(expr, FuncExpr) &&
				 (((FuncExpr *) expr)->funcid == F_TIMESTAMP_TIMESTAMPTZ ||
				  ((FuncExpr *) expr)->funcid == F_TIMESTAMPTZ_TIMESTAMP))
		{
			if (TimestampTimestampTzRequiresRewrite())
			{
				*why = "a timestamp/timestamptz conversion under a TimeZone other than UTC";
				return true;
			}
			expr = linitial(((FuncExpr *) expr)->args);
		}
		else
			return true;
	}
}

/* The collation of the column after the change: COLLATE, or the type's. */
Oid
pgm_column_def_collation(ColumnDef *def, Oid typid)
{
	return GetColumnDefCollation(NULL, def, typid);
}

/* The access method of an operator class. */
static Oid
opclass_method(Oid opclass)
{
	HeapTuple	tup = SearchSysCache1(CLAOID, ObjectIdGetDatum(opclass));
	Oid			am = InvalidOid;

	if (HeapTupleIsValid(tup))
	{
		am = ((Form_pg_opclass) GETSTRUCT(tup))->opcmethod;
		ReleaseSysCache(tup);
	}
	return am;
}

/*
 * The operator class an index key on the column gets when ALTER TABLE
 * builds the index again from its definition: pg_get_indexdef() names the
 * class only when it is not the default for the column's old type, so an
 * unnamed one becomes the default for the new type.
 */
static Oid
opclass_after_change(Oid opclass, Oid oldtype, Oid newtype)
{
	Oid			am = opclass_method(opclass);

	if (!OidIsValid(am) || GetDefaultOpClass(oldtype, am) != opclass)
		return opclass;
	return GetDefaultOpClass(newtype, am);
}

/*
 * Can ALTER TABLE keep the index's file (CheckIndexCompatible): no
 * expressions, no predicate, valid, and for every key on the column the
 * same operator class and collation after the change as before (and, for a
 * polymorphic class, the same type).
 */
static bool
index_reusable(Oid indexoid, PgmTypeChange *tc, Oid oldtype, Oid oldcoll)
{
	HeapTuple	tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(indexoid));
	Form_pg_index ind;
	oidvector  *indclass;
	oidvector  *indcoll;
	bool		isnull;
	bool		reusable = true;
	int			i;

	if (!HeapTupleIsValid(tup))
		return true;
	ind = (Form_pg_index) GETSTRUCT(tup);
	if (!heap_attisnull(tup, Anum_pg_index_indexprs, NULL) ||
		!heap_attisnull(tup, Anum_pg_index_indpred, NULL) || !ind->indisvalid)
	{
		ReleaseSysCache(tup);
		return false;
	}
	indclass = (oidvector *) DatumGetPointer(SysCacheGetAttr(INDEXRELID, tup,
															 Anum_pg_index_indclass, &isnull));
	if (isnull)
		reusable = false;
	indcoll = (oidvector *) DatumGetPointer(SysCacheGetAttr(INDEXRELID, tup,
															Anum_pg_index_indcollation, &isnull));
	if (isnull)
		reusable = false;
	for (i = 0; reusable && i < ind->indnkeyatts; i++)
	{
		Oid			newopc;
		Oid			newcoll;

		if (ind->indkey.values[i] != tc->attnum)
			continue;
		newopc = opclass_after_change(indclass->values[i], oldtype, tc->newtype);
		/* COLLATE is written out only when it differs from the column's */
		if (OidIsValid(indcoll->values[i]) && indcoll->values[i] != oldcoll)
			newcoll = indcoll->values[i];
		else
			newcoll = tc->newcoll;
		if (newopc != indclass->values[i] || newcoll != indcoll->values[i])
			reusable = false;
		else if (IsPolymorphicType(get_opclass_input_type(newopc)) && oldtype != tc->newtype)
			reusable = false;
	}
	ReleaseSysCache(tup);
	return reusable;
}

/* The type of a column, or InvalidOid. */
static Oid
column_type(Oid relid, AttrNumber attnum)
{
	HeapTuple	tup = SearchSysCacheAttNum(relid, attnum);
	Oid			typid = InvalidOid;

	if (HeapTupleIsValid(tup))
	{
		typid = ((Form_pg_attribute) GETSTRUCT(tup))->atttypid;
		ReleaseSysCache(tup);
	}
	return typid;
}

/* findFkeyCast: how a foreign key column reaches its operator's input. */
static CoercionPathType
fkey_cast(Oid target, Oid source, Oid *func)
{
	if (target == source)
	{
		*func = InvalidOid;
		return COERCION_PATH_RELABELTYPE;
	}
	return find_coercion_pathway(target, source, COERCION_IMPLICIT, func);
}

/*
 * Does ALTER TABLE keep a foreign key without validating it again after the
 * type change?  ATAddForeignKeyConstraint keeps it when every key column
 * gets the same equality operator as before and the cast from the
 * referencing column to that operator's input is of the same kind and
 * function (a binary coercion counting as none).
 */
static bool
foreign_key_kept(HeapTuple contup, PgmTypeChange *tc)
{
	Form_pg_constraint con = (Form_pg_constraint) GETSTRUCT(contup);
	int			numfks;
	AttrNumber	conkey[INDEX_MAX_KEYS];
	AttrNumber	confkey[INDEX_MAX_KEYS];
	Oid			pfeqop[INDEX_MAX_KEYS];
	Oid			ppeqop[INDEX_MAX_KEYS];
	Oid			ffeqop[INDEX_MAX_KEYS];
	HeapTuple	itup;
	Form_pg_index ind;
	oidvector  *indclass;
	bool		isnull;
	bool		kept = true;
	int			i,
				j;

	DeconstructFkConstraintRow(contup, &numfks, conkey, confkey, pfeqop, ppeqop, ffeqop,
							   NULL, NULL);
	itup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(con->conindid));
	if (!HeapTupleIsValid(itup))
		return false;
	ind = (Form_pg_index) GETSTRUCT(itup);
	indclass = (oidvector *) DatumGetPointer(SysCacheGetAttr(INDEXRELID, itup,
															 Anum_pg_index_indclass, &isnull));
	for (i = 0; kept && !isnull && i < numfks; i++)
	{
		bool		fk_changed = (con->conrelid == tc->relid && conkey[i] == tc->attnum);
		bool		pk_changed = (con->confrelid == tc->relid && confkey[i] == tc->attnum);
		Oid			old_fktype = column_type(con->conrelid, conkey[i]);
		Oid			new_fktype = fk_changed ? tc->newtype : old_fktype;
		Oid			pktype = pk_changed ? tc->newtype : column_type(con->confrelid, confkey[i]);
		Oid			opclass = InvalidOid;
		Oid			opfamily;
		Oid			opcintype;
		Oid			fktyped;
		Oid			eqop;
		Oid			feqop;
		Oid			right;
		Oid			old_func;
		Oid			new_func;
		CoercionPathType old_path;
		CoercionPathType new_path;

		if (!fk_changed && !pk_changed)
			continue;
		for (j = 0; j < ind->indnkeyatts; j++)
			if (ind->indkey.values[j] == confkey[i])
				opclass = indclass->values[j];
		if (!OidIsValid(opclass))
		{
			kept = false;
			break;
		}
		if (pk_changed)
			opclass = opclass_after_change(opclass, column_type(con->confrelid, confkey[i]),
										   tc->newtype);
		opfamily = get_opclass_family(opclass);
		opcintype = get_opclass_input_type(opclass);
		fktyped = getBaseType(new_fktype);
		eqop = get_opfamily_member(opfamily, opcintype, fktyped, BTEqualStrategyNumber);
		feqop = get_opfamily_member(opfamily, fktyped, fktyped, BTEqualStrategyNumber);
		right = fktyped;
		if (!OidIsValid(eqop) || !OidIsValid(feqop))
		{
			Oid			inputs[2] = {pktype, new_fktype};
			Oid			targets[2] = {opcintype, opcintype};

			eqop = InvalidOid;
			if (can_coerce_type(2, inputs, targets, COERCION_IMPLICIT))
			{
				eqop = get_opfamily_member(opfamily, opcintype, opcintype, BTEqualStrategyNumber);
				right = opcintype;
			}
		}
		if (!OidIsValid(eqop) || eqop != pfeqop[i])
		{
			kept = false;
			break;
		}
		old_path = fkey_cast(right, old_fktype, &old_func);
		new_path = fkey_cast(right, new_fktype, &new_func);
		kept = (old_path != COERCION_PATH_NONE && new_path == old_path &&
				new_func == old_func &&
				(!IsPolymorphicType(right) || new_fktype == old_fktype));
	}
	ReleaseSysCache(itup);
	return kept && !isnull;
}

/*
 * ALTER COLUMN TYPE refuses to change a column that a view or rule, a
 * trigger's WHEN or column list, a policy, or the expression of another
 * (generated) column uses (RememberAllDependentForRebuilding): why, in our
 * words, or NULL.
 */
static char *
type_change_refused(PgmTypeChange *tc, Form_pg_depend dep)
{
	ObjectAddress obj;
	char	   *colname = get_attname(tc->relid, tc->attnum, true);

	obj.classId = dep->classid;
	obj.objectId = dep->objid;
	obj.objectSubId = dep->objsubid;
	if (dep->classid == AttrDefaultRelationId)
	{
		ObjectAddress col = GetAttrDefaultColumnAddress(dep->objid);
		HeapTuple	tup;
		bool		generated = false;

		if (col.objectId != tc->relid || col.objectSubId == tc->attnum)
			return NULL;		/* the column's own default is converted */
		tup = SearchSysCacheAttNum(col.objectId, col.objectSubId);
		if (HeapTupleIsValid(tup))
		{
			generated = ((Form_pg_attribute) GETSTRUCT(tup))->attgenerated != '\0';
			ReleaseSysCache(tup);
		}
		if (!generated)
			return NULL;
		obj = col;
	}
	else if (dep->classid != RewriteRelationId && dep->classid != TriggerRelationId &&
			 dep->classid != PolicyRelationId)
		return NULL;
	return psprintf("the type of column %s cannot change while %s uses it",
					colname ? quote_identifier(colname) : "?",
					getObjectDescription(&obj, false));
}

/*
 * What else ALTER COLUMN TYPE does, from the objects that depend on the
 * column (RememberAllDependentForRebuilding and what follows it): fills
 * the result lists of tc.
 */
void
pgm_type_change_effects(PgmTypeChange *tc)
{
	Relation	deprel;
	ScanKeyData key[3];
	SysScanDesc scan;
	HeapTuple	tup;
	List	   *indexes = NIL;
	List	   *constraints = NIL;
	ListCell   *lc;
	HeapTuple	atttup;
	Oid			oldtype;
	Oid			oldcoll;

	atttup = SearchSysCacheAttNum(tc->relid, tc->attnum);
	if (!HeapTupleIsValid(atttup))
		return;
	oldtype = ((Form_pg_attribute) GETSTRUCT(atttup))->atttypid;
	oldcoll = ((Form_pg_attribute) GETSTRUCT(atttup))->attcollation;
	ReleaseSysCache(atttup);

	deprel = table_open(DependRelationId, AccessShareLock);
	ScanKeyInit(&key[0], Anum_pg_depend_refclassid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(RelationRelationId));
	ScanKeyInit(&key[1], Anum_pg_depend_refobjid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(tc->relid));
	ScanKeyInit(&key[2], Anum_pg_depend_refobjsubid, BTEqualStrategyNumber, F_INT4EQ,
				Int32GetDatum((int32) tc->attnum));
	scan = systable_beginscan(deprel, DependReferenceIndexId, true, NULL, 3, key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_depend dep = (Form_pg_depend) GETSTRUCT(tup);

		if (dep->classid == RelationRelationId &&
			get_rel_relkind(dep->objid) == RELKIND_INDEX)
		{
			Oid			conoid = get_index_constraint(dep->objid);

			if (OidIsValid(conoid))
				constraints = list_append_unique_oid(constraints, conoid);
			else
				indexes = list_append_unique_oid(indexes, dep->objid);
		}
		else if (dep->classid == ConstraintRelationId)
			constraints = list_append_unique_oid(constraints, dep->objid);
		else if (tc->fails == NULL)
			tc->fails = type_change_refused(tc, dep);
	}
	systable_endscan(scan);
	table_close(deprel, AccessShareLock);

	foreach(lc, constraints)
	{
		Oid			conoid = lfirst_oid(lc);
		HeapTuple	contup = SearchSysCache1(CONSTROID, ObjectIdGetDatum(conoid));
		Form_pg_constraint con;

		if (!HeapTupleIsValid(contup))
			continue;
		con = (Form_pg_constraint) GETSTRUCT(contup);
		switch (con->contype)
		{
			case CONSTRAINT_CHECK:
				/* added back as it was: a validated one is checked again */
				if (con->convalidated && PGM_ConstraintEnforced(con) && !tc->rewrite)
					tc->rechecked = lappend_oid(tc->rechecked, conoid);
				break;
			case CONSTRAINT_PRIMARY:
			case CONSTRAINT_UNIQUE:
			case CONSTRAINT_EXCLUSION:
				if (OidIsValid(con->conindid))
					indexes = list_append_unique_oid(indexes, con->conindid);
				break;
			case CONSTRAINT_FOREIGN:
				{
					Oid			other = con->conrelid == tc->relid ? con->confrelid : con->conrelid;

					if (other != tc->relid)
						tc->fk_locked = list_append_unique_oid(tc->fk_locked, other);
					if (con->convalidated && PGM_ConstraintEnforced(con) &&
						(tc->rewrite || !foreign_key_kept(contup, tc)))
						tc->fk_validated = lappend_oid(tc->fk_validated, conoid);
				}
				break;
			default:
				break;
		}
		ReleaseSysCache(contup);
	}

	/* A rewritten table gets every index built again anyway. */
	if (tc->rewrite)
		return;
	foreach(lc, indexes)
	{
		Oid			indexoid = lfirst_oid(lc);

		if (get_rel_relkind(indexoid) != RELKIND_INDEX)
			continue;			/* a partitioned index has no file */
		if (get_index_isvalid(indexoid) && index_reusable(indexoid, tc, oldtype, oldcoll))
			continue;
		tc->rebuilt = lappend_oid(tc->rebuilt, indexoid);
	}
}

/* ---------------------------------------------------------------------
 * Partitions
 * ---------------------------------------------------------------------
 */

/* Does a raw partition bound call a function (evaluated when cooked)? */
static bool
bound_calls_function_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, FuncCall) || IsA(node, SubLink))
		return true;
	return raw_expression_tree_walker(node, bound_calls_function_walker, context);
}

static bool
bound_is_constant(PartitionBoundSpec *spec)
{
	return !bound_calls_function_walker((Node *) spec->listdatums, NULL) &&
		!bound_calls_function_walker((Node *) spec->lowerdatums, NULL) &&
		!bound_calls_function_walker((Node *) spec->upperdatums, NULL);
}

/*
 * Add to *scans the leaf partitions of scanrel (itself, when it is one)
 * whose constraints do not imply "constraint" (in scanrel's attribute
 * numbers): QueuePartitionConstraintValidation and
 * check_default_partition_contents, which skip a partitioned table whose
 * own constraints imply it and otherwise look at each partition.
 */
static void
add_unproven(List **scans, Relation scanrel, List *constraint)
{
	List	   *children;
	ListCell   *lc;

	if (PartConstraintImpliedByRelConstraint(scanrel, constraint))
		return;
	if (scanrel->rd_rel->relkind == RELKIND_RELATION)
	{
		*scans = lappend_oid(*scans, RelationGetRelid(scanrel));
		return;
	}
	if (scanrel->rd_rel->relkind != RELKIND_PARTITIONED_TABLE)
		return;
	children = find_inheritance_children(RelationGetRelid(scanrel), NoLock);
	foreach(lc, children)
	{
		Relation	child = RelationIdGetRelation(lfirst_oid(lc));

		if (child == NULL)
			continue;
		add_unproven(scans, child,
					 map_partition_varattnos(constraint, 1, child, scanrel));
		RelationClose(child);
	}
}

/* The bound as ALTER TABLE / CREATE TABLE cooks it against the parent. */
static PartitionBoundSpec *
cooked_bound(Relation parent, PartitionBoundSpec *spec)
{
	ParseState *pstate = make_parsestate(NULL);
	PartitionBoundSpec *cooked;

	cooked = transformPartitionBound(pstate, parent, copyObject(spec));
	free_parsestate(pstate);
	return cooked;
}

/*
 * The default partition's leaves that a new partition with this (cooked)
 * bound makes PostgreSQL scan, to see that none of their rows belongs to
 * the new partition.
 */
static void
default_scans(List **scans, Relation parent, List *bound_constraint)
{
	Oid			defaultid = get_default_partition_oid(RelationGetRelid(parent));
	Relation	def;
	List	   *constraint;

	if (!OidIsValid(defaultid))
		return;
	def = RelationIdGetRelation(defaultid);
	if (def == NULL)
		return;
	constraint = get_proposed_default_constraint(bound_constraint);
	constraint = map_partition_varattnos(constraint, 1, def, parent);
	add_unproven(scans, def, constraint);
	RelationClose(def);
}

/*
 * ALTER TABLE parent ATTACH PARTITION attach FOR VALUES ...: the leaf
 * tables PostgreSQL will scan (ATExecAttachPartition): the table attached,
 * against its partition constraint, and the default partition.  *unknown
 * is set when the bound cannot be judged without evaluating functions.
 */
List *
pgm_attach_scans(Oid parentid, Oid attachid, PartitionBoundSpec *bound, bool *unknown)
{
	Relation	parent;
	Relation	attach;
	PartitionBoundSpec *spec;
	List	   *bound_constraint;
	List	   *constraint;
	List	   *scans = NIL;

	*unknown = false;
	if (bound == NULL || !bound_is_constant(bound))
	{
		*unknown = true;
		return NIL;
	}
	parent = RelationIdGetRelation(parentid);
	if (parent == NULL)
		return NIL;
	if (parent->rd_rel->relkind != RELKIND_PARTITIONED_TABLE)
	{
		RelationClose(parent);
		return NIL;
	}
	attach = RelationIdGetRelation(attachid);
	if (attach == NULL)
	{
		RelationClose(parent);
		return NIL;
	}
	spec = cooked_bound(parent, bound);
	bound_constraint = get_qual_from_partbound(parent, spec);
	constraint = list_concat(list_copy(bound_constraint), RelationGetPartitionQual(parent));
	if (constraint != NIL)
	{
		constraint = (List *) eval_const_expressions(NULL, (Node *) constraint);
		constraint = list_make1(make_ands_explicit(constraint));
		constraint = map_partition_varattnos(constraint, 1, attach, parent);
		add_unproven(&scans, attach, constraint);
	}
	if (!spec->is_default)
		default_scans(&scans, parent, bound_constraint);
	RelationClose(attach);
	RelationClose(parent);
	return scans;
}

/*
 * CREATE TABLE ... PARTITION OF parent FOR VALUES ...: the leaves of the
 * default partition PostgreSQL will scan (check_default_partition_contents).
 */
List *
pgm_default_partition_scans(Oid parentid, PartitionBoundSpec *bound, bool *unknown)
{
	Relation	parent;
	PartitionBoundSpec *spec;
	List	   *scans = NIL;

	*unknown = false;
	if (bound == NULL || bound->is_default)
		return NIL;
	if (!bound_is_constant(bound))
	{
		*unknown = true;
		return NIL;
	}
	parent = RelationIdGetRelation(parentid);
	if (parent == NULL)
		return NIL;
	if (parent->rd_rel->relkind == RELKIND_PARTITIONED_TABLE &&
		OidIsValid(get_default_partition_oid(parentid)))
	{
		spec = cooked_bound(parent, bound);
		default_scans(&scans, parent, get_qual_from_partbound(parent, spec));
	}
	RelationClose(parent);
	return scans;
}

/* ---------------------------------------------------------------------
 * Row estimates
 * ---------------------------------------------------------------------
 */

/*
 * Does the planner know the distribution of this operand: a column of the
 * relation, or an expression an index of it has statistics for, with a
 * pg_statistic row (ANALYZE ran)?
 */
static bool
operand_has_statistics(Node *node, Index varno, Oid relid, bool inh)
{
	Relation	rel;
	List	   *indexes;
	ListCell   *lc;
	bool		found = false;

	while (node && IsA(node, RelabelType))
		node = (Node *) ((RelabelType *) node)->arg;
	if (node == NULL)
		return false;
	if (IsA(node, Var))
	{
		Var		   *var = (Var *) node;

		return var->varno == varno && var->varlevelsup == 0 && var->varattno > 0 &&
			SearchSysCacheExists3(STATRELATTINH, ObjectIdGetDatum(relid),
								  Int16GetDatum(var->varattno), BoolGetDatum(inh));
	}
	if (varno != 1 || contain_volatile_functions(node))
		return false;

	/* an expression index: ANALYZE keeps statistics of its expressions */
	rel = RelationIdGetRelation(relid);
	if (rel == NULL)
		return false;
	indexes = RelationGetIndexList(rel);
	RelationClose(rel);
	foreach(lc, indexes)
	{
		Relation	irel = RelationIdGetRelation(lfirst_oid(lc));
		List	   *exprs;
		ListCell   *lc2;
		int			k;

		if (irel == NULL)
			continue;
		exprs = RelationGetIndexExpressions(irel);
		lc2 = list_head(exprs);
		/* the expressions fill the key positions whose attnum is 0 */
		for (k = 0; k < irel->rd_index->indnatts && lc2 != NULL && !found; k++)
		{
			if (irel->rd_index->indkey.values[k] != 0)
				continue;
			if (equal(lfirst(lc2), node) &&
				SearchSysCacheExists3(STATRELATTINH, ObjectIdGetDatum(lfirst_oid(lc)),
									  Int16GetDatum(k + 1), BoolGetDatum(false)))
				found = true;
			lc2 = lnext(exprs, lc2);
		}
		RelationClose(irel);
		if (found)
			break;
	}
	return found;
}

/* A value fixed for the whole statement: no column, nothing volatile. */
static bool
pseudo_constant(Node *node)
{
	return node != NULL && !contain_var_clause(node) &&
		!contain_volatile_functions(node) && !checkExprHasSubLink(node);
}

/*
 * Can the planner estimate how many rows of the relation (range table
 * entry varno) satisfy this clause from statistics, rather than with the
 * default selectivities it falls back on (0.5% for an equality with an
 * expression it knows nothing about, 33% for a boolean function)?  The
 * shapes clause_selectivity() reads statistics for: a comparison, IN, IS
 * NULL or boolean test of a column (or of an indexed expression) against
 * a value fixed for the statement, and AND/OR/NOT of those.
 */
bool
pgm_clause_estimable(Node *clause, Index varno, Oid relid, bool inh)
{
	if (clause == NULL)
		return true;
	switch (nodeTag(clause))
	{
		case T_BoolExpr:
			{
				ListCell   *lc;

				foreach(lc, ((BoolExpr *) clause)->args)
					if (!pgm_clause_estimable(lfirst(lc), varno, relid, inh))
						return false;
				return true;
			}
		case T_OpExpr:
		case T_DistinctExpr:
			{
				OpExpr	   *op = (OpExpr *) clause;
				Node	   *l,
						   *r;

				if (list_length(op->args) != 2 || !OidIsValid(get_oprrest(op->opno)))
					return false;
				l = linitial(op->args);
				r = lsecond(op->args);
				return (operand_has_statistics(l, varno, relid, inh) && pseudo_constant(r)) ||
					(pseudo_constant(l) && operand_has_statistics(r, varno, relid, inh));
			}
		case T_ScalarArrayOpExpr:
			{
				ScalarArrayOpExpr *op = (ScalarArrayOpExpr *) clause;

				return OidIsValid(get_oprrest(op->opno)) &&
					operand_has_statistics(linitial(op->args), varno, relid, inh) &&
					pseudo_constant(lsecond(op->args));
			}
		case T_NullTest:
			return operand_has_statistics((Node *) ((NullTest *) clause)->arg, varno, relid, inh);
		case T_BooleanTest:
			return operand_has_statistics((Node *) ((BooleanTest *) clause)->arg, varno, relid, inh);
		case T_Var:
			return operand_has_statistics(clause, varno, relid, inh);
		case T_Const:
			return true;
		default:
			return false;
	}
}

/* ---------------------------------------------------------------------
 * Domains
 * ---------------------------------------------------------------------
 */

/*
 * The tables and materialized views with a column of the domain or of a
 * domain over it: what ALTER DOMAIN locks ShareLock and scans when it adds
 * or validates a constraint or sets NOT NULL (get_rels_with_domain).
 */
List *
pgm_domain_relations(Oid domainid)
{
	Relation	deprel;
	ScanKeyData key[2];
	SysScanDesc scan;
	HeapTuple	tup;
	List	   *result = NIL;
	List	   *derived = NIL;
	ListCell   *lc;

	check_stack_depth();
	deprel = table_open(DependRelationId, AccessShareLock);
	ScanKeyInit(&key[0], Anum_pg_depend_refclassid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(TypeRelationId));
	ScanKeyInit(&key[1], Anum_pg_depend_refobjid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(domainid));
	scan = systable_beginscan(deprel, DependReferenceIndexId, true, NULL, 2, key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_depend dep = (Form_pg_depend) GETSTRUCT(tup);

		if (dep->classid == TypeRelationId)
		{
			if (get_typtype(dep->objid) == TYPTYPE_DOMAIN)
				derived = lappend_oid(derived, dep->objid);
			continue;
		}
		if (dep->classid != RelationRelationId || dep->objsubid <= 0)
			continue;
		switch (get_rel_relkind(dep->objid))
		{
			case RELKIND_RELATION:
			case RELKIND_MATVIEW:
				result = list_append_unique_oid(result, dep->objid);
				break;
			default:
				break;
		}
	}
	systable_endscan(scan);
	table_close(deprel, AccessShareLock);

	foreach(lc, derived)
		result = list_concat_unique_oid(result, pgm_domain_relations(lfirst_oid(lc)));
	return result;
}
