/*-------------------------------------------------------------------------
 *
 * cascade.c
 *		What a DROP takes with it, computed before it runs.
 *
 * DROP TYPE / DOMAIN / COLLATION / FUNCTION / SCHEMA / EXTENSION ...
 * CASCADE, DROP OWNED BY and ALTER TYPE ... DROP ATTRIBUTE never name a
 * table, yet they delete columns and whole tables: a column whose type is a
 * dropped domain, a table typed by a dropped composite type, the tables of
 * a dropped extension (pg_migrate's own history among them).  Judging only
 * the statement's own target would let data loss through a side door, so
 * the classifier asks this module what PostgreSQL would delete.
 *
 * PostgreSQL decides that in findDependentObjects() (catalog/dependency.c),
 * which has no dry-run entry point on PG15.  We follow the same records the
 * same way, reading only:
 *	- every object whose pg_depend row references an object being deleted
 *	  is deleted too; a normal dependency needs CASCADE, an automatic,
 *	  internal, partition or extension one does not;
 *	- an object that is an internal part of another object, or a member of
 *	  an extension, cannot go alone: reaching it deletes its owner (which
 *	  is how DROP TYPE ... CASCADE can delete a whole extension), while
 *	  naming it directly makes the statement fail;
 *	- under RESTRICT the statement fails as soon as one object would be
 *	  deleted only through normal dependencies; then nothing is lost and
 *	  nothing is reported (PostgreSQL's own error is the right answer).
 * DROP OWNED BY starts from the objects pg_shdepend records as owned by the
 * role in this database.
 *
 * Locking: none beyond AccessShareLock on the catalogs read, so this never
 * waits behind the sessions the statement is about to queue behind.  The
 * answer is therefore a prediction made on the catalog as it is now; the
 * statement recomputes the truth under its own locks a moment later.  A
 * walk that meets more than CASCADE_MAX_OBJECTS objects stops there and
 * reports what it found so far.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/catalog.h"
#include "catalog/dependency.h"
#include "catalog/partition.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_class.h"
#include "catalog/pg_depend.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_shdepend.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "ddl/cascade.h"

#define CASCADE_MAX_OBJECTS		100000

/* How an object was reached (the DEPFLAG_* of dependency.c, simplified). */
#define REACHED_ORIGINAL		0x01	/* named in the statement */
#define REACHED_NORMAL			0x02	/* through a normal dependency */
#define REACHED_AUTO			0x04	/* automatic, internal, partition or
										 * extension: deleted under RESTRICT
										 * too */

typedef struct Reached
{
	ObjectAddress addr;			/* hash key */
	int			flags;
	const ObjectAddress *root;	/* the named object it was reached from */
} Reached;

typedef struct Walk
{
	HTAB	   *seen;			/* ObjectAddress -> Reached */
	List	   *all;			/* of Reached *, in the order reached */
	Relation	depRel;
	bool		fails;			/* PostgreSQL would refuse the statement */
} Walk;

static Reached *
lookup(Walk *w, Oid classId, Oid objectId, int32 subId)
{
	ObjectAddress key;

	memset(&key, 0, sizeof(key));
	key.classId = classId;
	key.objectId = objectId;
	key.objectSubId = subId;
	return hash_search(w->seen, &key, HASH_FIND, NULL);
}

/*
 * Note that an object is deleted.  A column of a table that is deleted
 * whole is not an object of its own any more (object_address_present_add_flags
 * makes the same simplification).
 */
static void
reach(Walk *w, const ObjectAddress *addr, int flags, const ObjectAddress *root)
{
	Reached    *r;
	ObjectAddress key;
	bool		found;

	if (addr->objectSubId != 0 &&
		lookup(w, addr->classId, addr->objectId, 0) != NULL)
		return;
	if (hash_get_num_entries(w->seen) >= CASCADE_MAX_OBJECTS)
		return;

	memset(&key, 0, sizeof(key));
	key.classId = addr->classId;
	key.objectId = addr->objectId;
	key.objectSubId = addr->objectSubId;
	r = hash_search(w->seen, &key, HASH_ENTER, &found);
	if (found)
	{
		r->flags |= flags;
		return;
	}
	r->flags = flags;
	r->root = root;
	w->all = lappend(w->all, r);
}

/*
 * Follow the dependencies of one deleted object: its owner when it cannot
 * go alone, and everything that depends on it.
 */
static void
expand(Walk *w, Reached *r)
{
	ScanKeyData key[3];
	int			nkeys;
	SysScanDesc scan;
	HeapTuple	tup;

	/* What this object depends on: is it part of something bigger? */
	ScanKeyInit(&key[0], Anum_pg_depend_classid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(r->addr.classId));
	ScanKeyInit(&key[1], Anum_pg_depend_objid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(r->addr.objectId));
	nkeys = 2;
	if (r->addr.objectSubId != 0)
	{
		ScanKeyInit(&key[2], Anum_pg_depend_objsubid, BTEqualStrategyNumber,
					F_INT4EQ, Int32GetDatum(r->addr.objectSubId));
		nkeys = 3;
	}
	scan = systable_beginscan(w->depRel, DependDependerIndexId, true,
							  NULL, nkeys, key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_depend dep = (Form_pg_depend) GETSTRUCT(tup);
		ObjectAddress owner;
		Reached    *o;

		if (dep->deptype != DEPENDENCY_INTERNAL &&
			dep->deptype != DEPENDENCY_EXTENSION)
			continue;
		owner.classId = dep->refclassid;
		owner.objectId = dep->refobjid;
		owner.objectSubId = dep->refobjsubid;
		o = lookup(w, owner.classId, owner.objectId, owner.objectSubId);
		if (o == NULL && owner.objectSubId != 0)
			o = lookup(w, owner.classId, owner.objectId, 0);

		if (r->flags & REACHED_ORIGINAL)
		{
			/* "cannot drop X because Y requires it", unless Y goes too */
			if (o == NULL || !(o->flags & REACHED_ORIGINAL))
				w->fails = true;
			continue;
		}
		/* Reaching a part deletes the whole. */
		if (o == NULL)
			reach(w, &owner, r->flags, r->root);
	}
	systable_endscan(scan);

	/* What depends on this object goes with it. */
	ScanKeyInit(&key[0], Anum_pg_depend_refclassid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(r->addr.classId));
	ScanKeyInit(&key[1], Anum_pg_depend_refobjid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(r->addr.objectId));
	nkeys = 2;
	if (r->addr.objectSubId != 0)
	{
		ScanKeyInit(&key[2], Anum_pg_depend_refobjsubid, BTEqualStrategyNumber,
					F_INT4EQ, Int32GetDatum(r->addr.objectSubId));
		nkeys = 3;
	}
	scan = systable_beginscan(w->depRel, DependReferenceIndexId, true,
							  NULL, nkeys, key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_depend dep = (Form_pg_depend) GETSTRUCT(tup);
		ObjectAddress other;

		other.classId = dep->classid;
		other.objectId = dep->objid;
		other.objectSubId = dep->objsubid;
		reach(w, &other,
			  dep->deptype == DEPENDENCY_NORMAL ? REACHED_NORMAL : REACHED_AUTO,
			  r->root);
	}
	systable_endscan(scan);
}

/*
 * The tables an extension declares as holding data (extconfig) in full:
 * a table dumped with a filter (pg_migrate's policy: WHERE NOT shipped)
 * also holds rows the extension script recreates, so its size says nothing
 * about the data at stake, and it is judged like any other table.
 */
static List *
extension_config_tables(Oid extoid)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	List	   *result = NIL;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_oid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(extoid));
	scan = systable_beginscan(rel, ExtensionOidIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, Anum_pg_extension_extconfig,
									 RelationGetDescr(rel), &isnull);

		if (!isnull)
		{
			Datum	   *elems;
			Datum	   *conds = NULL;
			bool	   *condnulls = NULL;
			int			n,
						ncond = 0,
						i;

			deconstruct_array(DatumGetArrayTypeP(d), OIDOID, sizeof(Oid), true,
							  TYPALIGN_INT, &elems, NULL, &n);
			d = heap_getattr(tup, Anum_pg_extension_extcondition,
							 RelationGetDescr(rel), &isnull);
			if (!isnull)
				deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false,
								  TYPALIGN_INT, &conds, &condnulls, &ncond);
			for (i = 0; i < n; i++)
			{
				if (i < ncond && !condnulls[i] &&
					VARSIZE_ANY_EXHDR(DatumGetTextPP(conds[i])) > 0)
					continue;
				result = lappend_oid(result, DatumGetObjectId(elems[i]));
			}
		}
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return result;
}

/*
 * A partition goes with its partitioned table, whose size counts the whole
 * tree: reporting both would say the same thing twice.
 */
static bool
parent_reported(Walk *w, Oid relid, AttrNumber attnum)
{
	Oid			parent;

	if (!get_rel_relispartition(relid))
		return false;
	parent = get_partition_parent(relid, true);
	if (lookup(w, RelationRelationId, parent, 0) != NULL)
		return true;
	if (attnum > 0)
	{
		char	   *attname = get_attname(relid, attnum, true);
		AttrNumber	pattnum = attname ? get_attnum(parent, attname) : InvalidAttrNumber;

		if (pattnum != InvalidAttrNumber &&
			lookup(w, RelationRelationId, parent, pattnum) != NULL)
			return true;
	}
	return false;
}

/*
 * The tables and columns that dropping "targets" (a list of ObjectAddress *)
 * with the given behaviour would delete: tables and partitioned tables
 * whole, or one of their columns.  Relations among the targets themselves
 * are left out unless report_named (DROP TABLE names them and its caller
 * judges them; DROP OWNED does not).
 * NIL when PostgreSQL would refuse the statement.
 */
List *
pgm_cascade_losses(List *targets, DropBehavior behavior, bool report_named)
{
	HASHCTL		ctl;
	Walk		w;
	ListCell   *lc;
	List	   *configs = NIL;
	List	   *result = NIL;
	int			i;

	if (targets == NIL)
		return NIL;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(ObjectAddress);
	ctl.entrysize = sizeof(Reached);
	ctl.hcxt = CurrentMemoryContext;
	memset(&w, 0, sizeof(w));
	w.seen = hash_create("pg_migrate cascade", 256, &ctl,
						 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	foreach(lc, targets)
	{
		ObjectAddress *t = lfirst(lc);

		reach(&w, t, REACHED_ORIGINAL, t);
	}

	w.depRel = table_open(DependRelationId, AccessShareLock);
	/* w.all grows while we walk it: a breadth-first walk. */
	for (i = 0; i < list_length(w.all) && !w.fails; i++)
	{
		CHECK_FOR_INTERRUPTS();
		expand(&w, list_nth(w.all, i));
	}
	table_close(w.depRel, AccessShareLock);

	if (w.fails)
		return NIL;

	foreach(lc, w.all)
	{
		Reached    *r = lfirst(lc);

		if (behavior == DROP_RESTRICT &&
			!(r->flags & (REACHED_ORIGINAL | REACHED_AUTO)))
			return NIL;			/* "cannot drop ... other objects depend on it" */
		if (r->addr.classId == ExtensionRelationId)
			configs = list_concat(configs, extension_config_tables(r->addr.objectId));
	}

	foreach(lc, w.all)
	{
		Reached    *r = lfirst(lc);
		PgmCascadeLoss *loss;
		char		relkind;

		if (r->addr.classId != RelationRelationId ||
			((r->flags & REACHED_ORIGINAL) && !report_named))
			continue;
		relkind = get_rel_relkind(r->addr.objectId);
		if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE)
			continue;			/* views, indexes, sequences hold no data of their own */
		if (r->addr.objectSubId != 0 &&
			lookup(&w, RelationRelationId, r->addr.objectId, 0) != NULL)
			continue;			/* the whole table goes */
		if (parent_reported(&w, r->addr.objectId, r->addr.objectSubId))
			continue;

		loss = palloc0(sizeof(PgmCascadeLoss));
		loss->relid = r->addr.objectId;
		loss->attnum = r->addr.objectSubId;
		loss->config = r->addr.objectSubId == 0 &&
			list_member_oid(configs, r->addr.objectId);
		loss->named = (r->flags & REACHED_ORIGINAL) != 0;
		loss->via = getObjectDescription(r->root, true);
		if (loss->via == NULL)	/* dropped concurrently since we looked */
			loss->via = pstrdup("an object dropped meanwhile");
		result = lappend(result, loss);
	}
	hash_destroy(w.seen);
	return result;
}

/*
 * ALTER TYPE ... DROP ATTRIBUTE: the columns whose values carry the
 * attribute (columns of the type, of an array of it, of a domain over it)
 * lose it in every row, and typed tables lose the column itself (with
 * CASCADE; without it, the statement fails when there are any).  Returns
 * PgmCascadeLoss entries: attnum > 0 for a column using the type, attnum 0
 * for a table typed by it.
 */
List *
pgm_type_users(Oid typid)
{
	Relation	depRel;
	List	   *types = list_make1_oid(typid);
	List	   *result = NIL;
	int			i;

	depRel = table_open(DependRelationId, AccessShareLock);
	for (i = 0; i < list_length(types) && i < CASCADE_MAX_OBJECTS; i++)
	{
		Oid			t = list_nth_oid(types, i);
		ScanKeyData key[2];
		SysScanDesc scan;
		HeapTuple	tup;

		ScanKeyInit(&key[0], Anum_pg_depend_refclassid, BTEqualStrategyNumber,
					F_OIDEQ, ObjectIdGetDatum(TypeRelationId));
		ScanKeyInit(&key[1], Anum_pg_depend_refobjid, BTEqualStrategyNumber,
					F_OIDEQ, ObjectIdGetDatum(t));
		scan = systable_beginscan(depRel, DependReferenceIndexId, true,
								  NULL, 2, key);
		while (HeapTupleIsValid(tup = systable_getnext(scan)))
		{
			Form_pg_depend dep = (Form_pg_depend) GETSTRUCT(tup);
			PgmCascadeLoss *loss;
			char		relkind;

			if (dep->classid == TypeRelationId)
			{
				/* its array type, a domain over it */
				types = list_append_unique_oid(types, dep->objid);
				continue;
			}
			if (dep->classid != RelationRelationId)
				continue;
			relkind = get_rel_relkind(dep->objid);
			if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE)
				continue;
			/* A partition's columns are its parent's, which is reported. */
			if (get_rel_relispartition(dep->objid))
				continue;
			if (dep->objsubid == 0)
			{
				HeapTuple	ctup = SearchSysCache1(RELOID, ObjectIdGetDatum(dep->objid));
				bool		typed = false;

				if (HeapTupleIsValid(ctup))
				{
					typed = ((Form_pg_class) GETSTRUCT(ctup))->reloftype == typid;
					ReleaseSysCache(ctup);
				}
				if (!typed)
					continue;
			}
			loss = palloc0(sizeof(PgmCascadeLoss));
			loss->relid = dep->objid;
			loss->attnum = dep->objsubid;
			result = lappend(result, loss);
		}
		systable_endscan(scan);
	}
	table_close(depRel, AccessShareLock);
	return result;
}

/*
 * May the current user drop this object (is it a member of the owner's
 * role)?  Only then are the statement's cascades judged: a statement that
 * fails for lack of privileges loses nothing, and judging it would tell
 * the role about tables it cannot touch.
 */
bool
pgm_object_owned_by_me(const ObjectAddress *addr)
{
	AttrNumber	ownercol;
	Relation	rel;
	HeapTuple	tup;
	bool		owned = false;

	if (superuser())
		return true;
	ownercol = get_object_attnum_owner(addr->classId);
	if (ownercol == InvalidAttrNumber)
		return false;
	rel = table_open(addr->classId, AccessShareLock);
	tup = get_catalog_object_by_oid(rel, get_object_attnum_oid(addr->classId),
									addr->objectId);
	if (HeapTupleIsValid(tup))
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, ownercol, RelationGetDescr(rel), &isnull);

		owned = !isnull && has_privs_of_role(GetUserId(), DatumGetObjectId(d));
	}
	table_close(rel, AccessShareLock);
	return owned;
}

/*
 * DROP OWNED BY: the objects of this database the role owns, which the
 * statement deletes (privileges granted to it are only revoked).
 */
List *
pgm_owned_objects(Oid roleid)
{
	Relation	rel;
	ScanKeyData key[2];
	SysScanDesc scan;
	HeapTuple	tup;
	List	   *result = NIL;

	/* DROP OWNED refuses the roles the system needs. */
	if (IsPinnedObject(AuthIdRelationId, roleid))
		return NIL;

	rel = table_open(SharedDependRelationId, AccessShareLock);
	ScanKeyInit(&key[0], Anum_pg_shdepend_refclassid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(AuthIdRelationId));
	ScanKeyInit(&key[1], Anum_pg_shdepend_refobjid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(roleid));
	scan = systable_beginscan(rel, SharedDependReferenceIndexId, true,
							  NULL, 2, key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_shdepend sd = (Form_pg_shdepend) GETSTRUCT(tup);
		ObjectAddress *obj;

		if (sd->deptype != SHARED_DEPENDENCY_OWNER || sd->dbid != MyDatabaseId)
			continue;
		obj = palloc(sizeof(ObjectAddress));
		obj->classId = sd->classid;
		obj->objectId = sd->objid;
		obj->objectSubId = sd->objsubid;
		result = lappend(result, obj);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return result;
}
