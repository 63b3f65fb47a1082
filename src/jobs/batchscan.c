/*-------------------------------------------------------------------------
 *
 * batchscan.c
 *		Read a backfill batch's key range in the heap's order.
 *
 * A batch of migrate_batch_update / migrate_batch_delete updates the rows
 * of one key range: UPDATE t SET ... WHERE ROW(key) > lo AND ROW(key) <= hi.
 * For a range of a few percent of the table the planner takes a plain
 * index scan of the key's index, the more so as the key follows the heap's
 * order (a serial or identity key, the usual case).  A plain index scan
 * visits the heap row by row in key order; a bitmap scan of the same index
 * collects the range's rows first and visits each heap page once, in the
 * heap's order.  Measured on 1M rows (42,000-row batches, a bigint key in
 * heap order, bench/backfill.sh's table), the 24 batches of the table take
 * 3.2 s by bitmap scans and 3.5 to 3.85 s by index scans, against 3.4 to
 * 3.5 s for one plain UPDATE of the whole table.
 *
 * So while the batch runner (jobs/worker.c) plans its batch statement, it
 * arms this hook with the job's table: for that table as the statement's
 * target, at the top query level, each plain index path with index
 * conditions becomes a bitmap heap path over the same index and
 * conditions, and the plain index paths are dropped.  The planner then
 * chooses between those and a sequential scan by cost as always.  Nothing
 * else is touched: subqueries of the SET clause, other tables, any plan
 * made while the hook is not armed, and a table with no index that can
 * make a bitmap (the hook then leaves the paths as they are, so a batch
 * never falls back to scanning the whole table for want of an index path).
 * The one other plan it reaches is that of a statement a trigger runs
 * during the batch with the same table as its own target: it reads the
 * same rows, through a bitmap of the same index.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "nodes/pathnodes.h"
#include "optimizer/pathnode.h"
#include "optimizer/paths.h"

#include "jobs/batchscan.h"

set_rel_pathlist_hook_type pgm_batchscan_prev_set_rel_pathlist = NULL;

/* The table whose batch statement is being planned, or InvalidOid. */
static Oid	armed_relid = InvalidOid;

/*
 * Arm the hook for one batch statement's planning and execution; the
 * caller disarms it in all cases (PG_FINALLY).
 */
void
pgm_batchscan_arm(Oid relid)
{
	armed_relid = relid;
}

void
pgm_batchscan_disarm(void)
{
	armed_relid = InvalidOid;
}

/*
 * Can this path be read as a bitmap instead: a plain, unparameterized index
 * scan with conditions on an index that makes bitmaps, and no ordering
 * operators (a bitmap has no order).
 */
static bool
bitmap_candidate(Path *path)
{
	IndexPath  *ipath;

	if (!IsA(path, IndexPath) || path->param_info != NULL)
		return false;
	ipath = (IndexPath *) path;
	return ipath->indexclauses != NIL && ipath->indexorderbys == NIL &&
		ipath->indexinfo->amhasgetbitmap;
}

/*
 * set_rel_pathlist_hook: while armed, turn the target table's plain index
 * paths into bitmap heap paths.
 */
void
pgm_batchscan_set_rel_pathlist(PlannerInfo *root, RelOptInfo *rel,
							   Index rti, RangeTblEntry *rte)
{
	List	   *kept = NIL;
	List	   *bitmaps = NIL;
	ListCell   *lc;

	if (pgm_batchscan_prev_set_rel_pathlist)
		pgm_batchscan_prev_set_rel_pathlist(root, rel, rti, rte);

	if (!OidIsValid(armed_relid) || rte->rtekind != RTE_RELATION ||
		rte->relid != armed_relid || root->query_level != 1 ||
		root->parse->resultRelation != (int) rti ||
		rel->reloptkind != RELOPT_BASEREL)
		return;

	foreach(lc, rel->pathlist)
	{
		Path	   *path = (Path *) lfirst(lc);

		if (bitmap_candidate(path))
			bitmaps = lappend(bitmaps,
							  create_bitmap_heap_path(root, rel, path,
													  rel->lateral_relids,
													  1.0, 0));
		else if (!IsA(path, IndexPath) || path->param_info != NULL)
			kept = lappend(kept, path);
	}
	if (bitmaps == NIL)
		return;

	/*
	 * The index paths stay alive (the bitmap paths point at them); only the
	 * list loses them.  add_path then keeps the bitmap paths worth keeping.
	 */
	rel->pathlist = kept;
	foreach(lc, bitmaps)
		add_path(rel, (Path *) lfirst(lc));
}
