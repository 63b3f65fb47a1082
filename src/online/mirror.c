/*-------------------------------------------------------------------------
 *
 * mirror.c
 *		migrate_online_mirror(): the trigger that keeps two columns of the
 *		same type equal, whichever of the two a statement writes.
 *
 * An online RENAME COLUMN keeps the column under its new name and adds a
 * second column under the old one, so that code of either generation can
 * read and write the table.  BEFORE INSERT OR UPDATE FOR EACH ROW, with
 * two arguments, the old name (first) and the new name (second):
 *
 *	INSERT	the first column, when not NULL, is copied to the second;
 *			otherwise the second is copied to the first.  Only one of the
 *			two carries the column's default (the real column, under the
 *			new name), so a row written by old code has the value in the
 *			first and the default in the second: the first must win.
 *	UPDATE	when the second column changed and the first did not, the
 *			second is copied to the first; otherwise the first is copied to
 *			the second.
 *
 * So when one statement sets both to different values, the old name wins.
 * "Changed" compares the stored images (datum_image_eq), so writing the
 * same value again is no change.  The same rules serve before the
 * cut-over, with (real column, shadow): the backfill, which sets the
 * shadow to the real column, changes nothing but the shadow.
 *
 * The cost per row is one or two column fetches, a comparison and, when
 * the columns differ, one heap_modify_tuple_by_cols; the column numbers
 * are cached per trigger and checked against the names on every call.
 *
 * Safety.  It copies a value between two columns of the same type of the
 * row being written; it evaluates nothing and looks up no function, so
 * search_path cannot steer it and it needs no SET clause.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "utils/datum.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

PG_FUNCTION_INFO_V1(migrate_online_mirror);

typedef struct MirrorEntry
{
	Oid			tgoid;			/* hash key */
	Oid			relid;
	AttrNumber	first;			/* the old name */
	AttrNumber	second;			/* the new name */
} MirrorEntry;

static HTAB *mirror_cache = NULL;

/* Does the cached column number still name that column, of that type? */
static bool
column_is(TupleDesc desc, AttrNumber attnum, const char *name)
{
	Form_pg_attribute att;

	if (attnum <= 0 || attnum > desc->natts)
		return false;
	att = TupleDescAttr(desc, attnum - 1);
	return !att->attisdropped && strcmp(NameStr(att->attname), name) == 0;
}

static AttrNumber
column_number(Relation rel, const char *name)
{
	AttrNumber	attnum = get_attnum(RelationGetRelid(rel), name);

	if (attnum <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist",
						name, RelationGetRelationName(rel))));
	return attnum;
}

static MirrorEntry *
lookup_entry(Relation rel, Trigger *trig)
{
	TupleDesc	desc = RelationGetDescr(rel);
	MirrorEntry *e;
	bool		found;

	if (mirror_cache == NULL)
	{
		HASHCTL		ctl;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(MirrorEntry);
		ctl.hcxt = TopMemoryContext;
		mirror_cache = hash_create("pg_migrate mirror triggers", 16, &ctl,
								   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	e = hash_search(mirror_cache, &trig->tgoid, HASH_ENTER, &found);
	if (!found || e->relid != RelationGetRelid(rel) ||
		!column_is(desc, e->first, trig->tgargs[0]) ||
		!column_is(desc, e->second, trig->tgargs[1]))
	{
		e->relid = InvalidOid;
		e->first = column_number(rel, trig->tgargs[0]);
		e->second = column_number(rel, trig->tgargs[1]);
		if (e->first == e->second ||
			TupleDescAttr(desc, e->first - 1)->atttypid != TupleDescAttr(desc, e->second - 1)->atttypid ||
			TupleDescAttr(desc, e->first - 1)->atttypmod != TupleDescAttr(desc, e->second - 1)->atttypmod)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("migrate_online_mirror needs two different columns of the same type")));
		e->relid = RelationGetRelid(rel);
	}
	return e;
}

/* Are two values of a column the same stored image (NULLs included)? */
static bool
same_value(Form_pg_attribute att, Datum a, bool anull, Datum b, bool bnull)
{
	if (anull || bnull)
		return anull && bnull;
	return datum_image_eq(a, b, att->attbyval, att->attlen);
}

Datum
migrate_online_mirror(PG_FUNCTION_ARGS)
{
	TriggerData *td;
	TupleDesc	desc;
	MirrorEntry *e;
	Form_pg_attribute att;
	HeapTuple	tuple;
	Datum		first,
				second;
	bool		first_null,
				second_null;
	int			target;
	Datum		value;
	bool		isnull;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("migrate_online_mirror: not called by trigger manager")));
	td = (TriggerData *) fcinfo->context;
	if (!TRIGGER_FIRED_BEFORE(td->tg_event) || !TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
		!(TRIGGER_FIRED_BY_INSERT(td->tg_event) || TRIGGER_FIRED_BY_UPDATE(td->tg_event)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("migrate_online_mirror must be fired BEFORE INSERT OR UPDATE FOR EACH ROW")));
	if (td->tg_trigger->tgnargs != 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("migrate_online_mirror needs two arguments: the old and the new name of a column")));

	tuple = TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? td->tg_newtuple : td->tg_trigtuple;
	if (tuple == NULL)
		elog(ERROR, "migrate_online_mirror: no row to work on");
	desc = RelationGetDescr(td->tg_relation);
	e = lookup_entry(td->tg_relation, td->tg_trigger);
	att = TupleDescAttr(desc, e->first - 1);

	first = heap_getattr(tuple, e->first, desc, &first_null);
	second = heap_getattr(tuple, e->second, desc, &second_null);
	if (same_value(att, first, first_null, second, second_null))
		return PointerGetDatum(tuple);

	if (TRIGGER_FIRED_BY_INSERT(td->tg_event))
	{
		/* The old name, when given, wins: the new one may hold a default. */
		if (!first_null)
			target = e->second;
		else
			target = e->first;
	}
	else
	{
		HeapTuple	oldtuple = td->tg_trigtuple;
		Datum		old_first,
					old_second;
		bool		old_first_null,
					old_second_null;

		if (oldtuple == NULL)
			elog(ERROR, "migrate_online_mirror: no old row to compare with");
		old_first = heap_getattr(oldtuple, e->first, desc, &old_first_null);
		old_second = heap_getattr(oldtuple, e->second, desc, &old_second_null);
		if (!same_value(att, second, second_null, old_second, old_second_null) &&
			same_value(att, first, first_null, old_first, old_first_null))
			target = e->first;	/* only the new name was written */
		else
			target = e->second;
	}

	if (target == e->second)
	{
		value = first;
		isnull = first_null;
	}
	else
	{
		value = second;
		isnull = second_null;
	}
	return PointerGetDatum(heap_modify_tuple_by_cols(tuple, desc, 1, &target, &value, &isnull));
}
