/*-------------------------------------------------------------------------
 *
 * facts.h
 *		What PostgreSQL will do, asked the way PostgreSQL asks it: proofs
 *		that spare a scan, indexes a type change rebuilds, the tables a
 *		domain or a partition bound reaches (facts.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGM_FACTS_H
#define PGM_FACTS_H

#include "postgres.h"

#include "nodes/parsenodes.h"
#include "nodes/pg_list.h"

/* NOT NULL */
extern bool pgm_column_not_null(Oid relid, AttrNumber attnum);
extern bool pgm_not_null_proven(Oid relid, AttrNumber attnum);

/* ALTER COLUMN ... TYPE */
typedef struct PgmTypeChange
{
	/* the change */
	Oid			relid;
	AttrNumber	attnum;
	Oid			newtype;
	int32		newtypmod;
	Oid			newcoll;
	bool		rewrite;		/* the table is rewritten */

	/* what PostgreSQL does besides */
	List	   *rebuilt;		/* OIDs of indexes built again */
	List	   *rechecked;		/* OIDs of CHECK constraints checked again */
	List	   *fk_locked;		/* OIDs of the tables on the other side of a
								 * foreign key, locked AccessExclusiveLock */
	List	   *fk_validated;	/* OIDs of foreign keys validated again */
	char	   *fails;			/* ALTER TABLE refuses the change: why */
} PgmTypeChange;

extern Node *pgm_using_expression(Oid relid, Node *raw_using);
extern bool pgm_change_rewrites(Node *expr, AttrNumber attnum, const char **why);
extern Oid	pgm_column_def_collation(ColumnDef *def, Oid typid);
extern void pgm_type_change_effects(PgmTypeChange *tc);

/* Partitions */
extern List *pgm_attach_scans(Oid parentid, Oid attachid, PartitionBoundSpec *bound,
							  bool *unknown);
extern List *pgm_default_partition_scans(Oid parentid, PartitionBoundSpec *bound,
										 bool *unknown);

/* Row estimates */
extern bool pgm_clause_estimable(Node *clause, Index varno, Oid relid, bool inh);

/* Domains */
extern List *pgm_domain_relations(Oid domainid);

#endif							/* PGM_FACTS_H */
