/*-------------------------------------------------------------------------
 *
 * batchend.c
 *		Find where a backfill batch ends by walking the key's index.
 *
 * A batch of migrate_batch_update / migrate_batch_delete covers the rows
 * whose key is above the slice's next key, up to the key of the
 * batch_size'th row.  Found by SQL (SELECT key ... ORDER BY key OFFSET n
 * LIMIT 1), that key costs an index-only scan of the whole batch through
 * the executor, one tuple at a time, and a heap visit per row whose page
 * is not all-visible.  Measured on 1M rows (45,000-row batches of
 * bench/backfill.sh's table, all-visible): 5 to 8 ms a batch, about 4% of a
 * single worker's time, and three times that on pages not yet vacuumed.
 *
 * When the job has one key column and that column has a plain btree index
 * that orders it as the batch statement's comparison does, this walks that
 * index's entries instead and counts the rows the batch's snapshot sees
 * the way an index-only scan does: an entry on a page the visibility map
 * marks all-visible without reading the table, any other by reading its
 * row.  The key of the batch_size'th such row ends the batch, as the
 * query's would.
 *
 * Only when nothing can make the two orders differ: a non-collatable type,
 * an index column in ascending order with the type's default btree
 * operator class, whose > and <= are the operators the batch statement
 * names (pg_catalog's), a valid index with no predicate and no
 * expressions, and a table without row-level security (whose policies the
 * SQL query applies and an index walk would not).  Anything else returns
 * false and the caller uses the SQL query.  It runs as the submitter, like
 * that query: the comparison functions are the key type's code.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/nbtree.h"
#include "access/relscan.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/visibilitymap.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_am.h"
#include "catalog/pg_index.h"
#include "commands/defrem.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/pg_list.h"
#include "nodes/value.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "core/compat.h"
#include "jobs/batchend.h"

/* The operator pg_catalog.NAME (type, type), or InvalidOid. */
static Oid
catalog_operator(const char *name, Oid type)
{
	return OpernameGetOprid(list_make2(makeString("pg_catalog"), makeString(pstrdup(name))),
							type, type);
}

/*
 * A valid, plain index of rel whose first column is attnum in ascending
 * order with operator class opclass (a btree class: the index is a btree),
 * or InvalidOid.
 */
static Oid
key_index(Relation rel, AttrNumber attnum, Oid opclass)
{
	List	   *indexes = RelationGetIndexList(rel);
	ListCell   *lc;
	Oid			found = InvalidOid;

	foreach(lc, indexes)
	{
		Oid			indexoid = lfirst_oid(lc);
		HeapTuple	tup;
		Form_pg_index index;
		bool		isnull;
		Datum		d;
		oidvector  *indclass;
		int2vector *indoption;
		bool		ok;

		tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(indexoid));
		if (!HeapTupleIsValid(tup))
			continue;
		index = (Form_pg_index) GETSTRUCT(tup);
		ok = index->indisvalid && index->indisready && index->indislive &&
			index->indnkeyatts >= 1 && index->indkey.values[0] == attnum &&
			heap_attisnull(tup, Anum_pg_index_indpred, NULL) &&
			heap_attisnull(tup, Anum_pg_index_indexprs, NULL);
		if (ok)
		{
			d = SysCacheGetAttr(INDEXRELID, tup, Anum_pg_index_indclass, &isnull);
			indclass = isnull ? NULL : (oidvector *) DatumGetPointer(d);
			d = SysCacheGetAttr(INDEXRELID, tup, Anum_pg_index_indoption, &isnull);
			indoption = isnull ? NULL : (int2vector *) DatumGetPointer(d);
			ok = indclass != NULL && indoption != NULL &&
				indclass->values[0] == opclass &&
				(indoption->values[0] & INDOPTION_DESC) == 0;
		}
		ReleaseSysCache(tup);
		if (ok)
		{
			found = indexoid;
			break;
		}
	}
	list_free(indexes);
	return found;
}

/*
 * The key ending the batch of the rows of relid whose key column keyname
 * (of type keytype) is above lo (anything, without have_lo) and at most
 * hi: the key of the n'th row in that range the active snapshot sees.  Returns false when the
 * walk does not apply (see above); otherwise true, with *found false when
 * the range ends first (the batch is the slice's last) and else *end set,
 * allocated in the current memory context.
 */
bool
pgm_batch_end_by_index(Oid relid, const char *keyname, Oid keytype,
					   bool have_lo, Datum lo, Datum hi, int64 n,
					   Datum *end, bool *found)
{
	Relation	rel;
	Relation	indexrel;
	AttrNumber	attnum;
	Oid			opclass;
	Oid			opfamily;
	Oid			gt;
	Oid			le;
	Oid			indexoid;
	ScanKeyData keys[2];
	int			nkeys = 0;
	IndexScanDesc scan;
	TupleTableSlot *slot;
	ItemPointer tid;
	int64		count = 0;
	int64		entries = 0;
	Buffer		vmbuffer = InvalidBuffer;
	int16		typlen;
	bool		typbyval;

	*found = false;
	if (n < 1 || type_is_collatable(keytype))
		return false;
	opclass = GetDefaultOpClass(keytype, BTREE_AM_OID);
	if (!OidIsValid(opclass))
		return false;
	opfamily = get_opclass_family(opclass);
	gt = catalog_operator(">", keytype);
	le = catalog_operator("<=", keytype);
	if (!OidIsValid(gt) || !OidIsValid(le) ||
		get_opfamily_member(opfamily, keytype, keytype, BTGreaterStrategyNumber) != gt ||
		get_opfamily_member(opfamily, keytype, keytype, BTLessEqualStrategyNumber) != le)
		return false;

	/* The lock the SQL query would take; kept to the end of the batch. */
	rel = table_open(relid, AccessShareLock);
	attnum = get_attnum(relid, keyname);
	if (rel->rd_rel->relrowsecurity || attnum <= 0 ||
		get_atttype(relid, attnum) != keytype ||
		!OidIsValid(indexoid = key_index(rel, attnum, opclass)))
	{
		table_close(rel, NoLock);
		return false;
	}
	indexrel = index_open(indexoid, AccessShareLock);

	if (have_lo)
		ScanKeyEntryInitialize(&keys[nkeys++], 0, 1, BTGreaterStrategyNumber,
							   keytype, InvalidOid, get_opcode(gt), lo);
	ScanKeyEntryInitialize(&keys[nkeys++], 0, 1, BTLessEqualStrategyNumber,
						   keytype, InvalidOid, get_opcode(le), hi);

	scan = PGM_index_beginscan(rel, indexrel, GetActiveSnapshot(), nkeys, 0);
	index_rescan(scan, keys, nkeys, NULL, 0);
	slot = table_slot_create(rel, NULL);
	get_typlenbyval(keytype, &typlen, &typbyval);

	while ((tid = index_getnext_tid(scan, ForwardScanDirection)) != NULL)
	{
		bool		fetched = false;

		if ((++entries & 4095) == 0)
			CHECK_FOR_INTERRUPTS();

		/*
		 * Count the rows the snapshot sees, as an index-only scan does: an
		 * entry on an all-visible page without reading the table, any other
		 * by reading its row.
		 */
		if (!VM_ALL_VISIBLE(rel, ItemPointerGetBlockNumber(tid), &vmbuffer))
		{
			if (!index_fetch_heap(scan, slot))
				continue;
			fetched = true;
		}
		if (++count < n)
			continue;

		/* The n'th row: its key ends the batch. */
		if (fetched || index_fetch_heap(scan, slot))
		{
			bool		isnull;
			Datum		key = slot_getattr(slot, attnum, &isnull);

			if (!isnull)
			{
				*end = datumCopy(key, typbyval, typlen);
				*found = true;
				break;
			}
		}
		count--;
	}
	if (BufferIsValid(vmbuffer))
		ReleaseBuffer(vmbuffer);

	elog(DEBUG1, "batch end found by a walk of index %u: " INT64_FORMAT " entries, " INT64_FORMAT " rows%s",
		 indexoid, entries, count, *found ? "" : ", the range's end");
	ExecDropSingleTupleTableSlot(slot);
	index_endscan(scan);
	index_close(indexrel, NoLock);
	table_close(rel, NoLock);
	return true;
}
