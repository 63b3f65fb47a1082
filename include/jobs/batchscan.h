/*-------------------------------------------------------------------------
 *
 * batchscan.h
 *		How a backfill batch reads its key range (jobs/batchscan.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_MIGRATE_JOBS_BATCHSCAN_H
#define PG_MIGRATE_JOBS_BATCHSCAN_H

#include "postgres.h"

#include "optimizer/paths.h"

extern PGDLLIMPORT set_rel_pathlist_hook_type pgm_batchscan_prev_set_rel_pathlist;

extern void pgm_batchscan_set_rel_pathlist(PlannerInfo *root, RelOptInfo *rel,
										   Index rti, RangeTblEntry *rte);
extern void pgm_batchscan_arm(Oid relid);
extern void pgm_batchscan_disarm(void);

#endif							/* PG_MIGRATE_JOBS_BATCHSCAN_H */
