/*-------------------------------------------------------------------------
 *
 * compat.h
 *		Version-specific shims.  Everything that differs between the
 *		PostgreSQL major versions pg_migrate builds against (13 to 18; tested
 *		on 15, 17 and 18) lives here, so the rest of the code is written
 *		against one API.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_MIGRATE_COMPAT_H
#define PG_MIGRATE_COMPAT_H

#if PG_VERSION_NUM < 130000
#error "pg_migrate requires PostgreSQL 13 or later"
#endif

/* LockHeldByMe() grew an "orstronger" argument in 17. */
#if PG_VERSION_NUM >= 170000
#define PGM_LockHeldByMe(tag, mode) LockHeldByMe((tag), (mode), false)
#else
#define PGM_LockHeldByMe(tag, mode) LockHeldByMe((tag), (mode))
#endif

/* MarkGUCPrefixReserved() replaced EmitWarningsOnPlaceholders() in 15. */
#if PG_VERSION_NUM < 150000
#define MarkGUCPrefixReserved(prefix) EmitWarningsOnPlaceholders(prefix)
#endif

/* shmem_request_hook exists from 15 on; before it, request in _PG_init. */
#if PG_VERSION_NUM >= 150000
#define PGM_HAVE_SHMEM_REQUEST_HOOK 1
#endif

/* The local transaction id moved into PGPROC.vxid in 17. */
#if PG_VERSION_NUM >= 170000
#define PGM_MyLocalXid() (MyProc->vxid.lxid)
#else
#define PGM_MyLocalXid() (MyProc->lxid)
#endif

/* InitMaterializedSRF() was SetSingleFuncCall() in 15 and absent before. */
#if PG_VERSION_NUM >= 160000
#define PGM_InitMaterializedSRF(fcinfo) InitMaterializedSRF((fcinfo), 0)
#else
#define PGM_InitMaterializedSRF(fcinfo) SetSingleFuncCall((fcinfo), 0)
#endif

/* parse_analyze() became parse_analyze_fixedparams() in 15. */
#if PG_VERSION_NUM < 150000
#define parse_analyze_fixedparams(rs, text, types, n, env) \
	parse_analyze((rs), (text), (types), (n), (env))
#endif

/* raw_parser() grew a mode argument in 14. */
#if PG_VERSION_NUM < 140000
#define PGM_raw_parser(sql) raw_parser(sql)
#else
#define PGM_raw_parser(sql) raw_parser((sql), RAW_PARSE_DEFAULT)
#endif

/* A uniformly distributed double in [0, 1): pg_prng arrived in 15. */
#if PG_VERSION_NUM >= 150000
#include "common/pg_prng.h"
#define PGM_random_double() pg_prng_double(&pg_global_prng_state)
#else
#define PGM_random_double() ((double) random() / ((double) MAX_RANDOM_VALUE + 1))
#endif

/* MERGE exists from 15 on. */
#if PG_VERSION_NUM >= 150000
#define PGM_HAVE_MERGE 1
#endif

/* ALTER TABLE ... SET ACCESS METHOD exists from 15 on. */
#if PG_VERSION_NUM >= 150000
#define PGM_HAVE_SET_ACCESS_METHOD 1
#endif

/* pg_class_ownercheck() became object_ownercheck() in 16. */
#if PG_VERSION_NUM >= 160000
#define PGM_relation_ownercheck(relid, roleid) \
	object_ownercheck(RelationRelationId, (relid), (roleid))
#else
#define PGM_relation_ownercheck(relid, roleid) pg_class_ownercheck((relid), (roleid))
#endif

/* pg_namespace_aclcheck() became object_aclcheck() in 16. */
#if PG_VERSION_NUM >= 160000
#define PGM_namespace_aclcheck(nspid, roleid, mode) \
	object_aclcheck(NamespaceRelationId, (nspid), (roleid), (mode))
#else
#define PGM_namespace_aclcheck(nspid, roleid, mode) \
	pg_namespace_aclcheck((nspid), (roleid), (mode))
#endif

/* pg_database_ownercheck() became object_ownercheck() in 16. */
#if PG_VERSION_NUM >= 160000
#define PGM_DatabaseOwnercheck(dbid, roleid) \
	object_ownercheck(DatabaseRelationId, (dbid), (roleid))
#else
#define PGM_DatabaseOwnercheck(dbid, roleid) \
	pg_database_ownercheck((dbid), (roleid))
#endif

/* The permission check ExecutorStart makes (EXPLAIN included) on a plan. */
#if PG_VERSION_NUM >= 160000
#define PGM_ExecCheckPlanPerms(plan) \
	ExecCheckPermissions((plan)->rtable, (plan)->permInfos, true)
#else
#define PGM_ExecCheckPlanPerms(plan) ExecCheckRTPerms((plan)->rtable, true)
#endif

/*
 * The local backend-status array is read by position (1 to
 * pgstat_fetch_stat_numbackends()); the function doing so was renamed in 17.
 */
#if PG_VERSION_NUM >= 170000
#define PGM_local_beentry_by_index(i) pgstat_get_local_beentry_by_index(i)
#else
#define PGM_local_beentry_by_index(i) pgstat_fetch_stat_local_beentry(i)
#endif

/* The buffer-pin wait event class was renamed in 17. */
#if PG_VERSION_NUM >= 170000
#define PGM_WAIT_BUFFER_PIN PG_WAIT_BUFFERPIN
#else
#define PGM_WAIT_BUFFER_PIN PG_WAIT_BUFFER_PIN
#endif

/* PortalRun() lost its run_once argument in 18 (it was always true here). */
#if PG_VERSION_NUM >= 180000
#define PGM_PortalRun(portal, count, toplevel, dest, altdest, qc) \
	PortalRun((portal), (count), (toplevel), (dest), (altdest), (qc))
#else
#define PGM_PortalRun(portal, count, toplevel, dest, altdest, qc) \
	PortalRun((portal), (count), (toplevel), true, (dest), (altdest), (qc))
#endif

/*
 * The primary key index of a relation.  18 added deferrable_ok; before it,
 * a deferrable primary key was never returned, which is what false keeps.
 */
#if PG_VERSION_NUM >= 180000
#define PGM_RelationGetPrimaryKeyIndex(rel) RelationGetPrimaryKeyIndex((rel), false)
#else
#define PGM_RelationGetPrimaryKeyIndex(rel) RelationGetPrimaryKeyIndex(rel)
#endif

/* A raw UpdateStmt's RETURNING list became a ReturningClause in 18. */
#if PG_VERSION_NUM >= 180000
#define PGM_UpdateStmtHasReturning(upd) ((upd)->returningClause != NULL)
#else
#define PGM_UpdateStmtHasReturning(upd) ((upd)->returningList != NIL)
#endif

/*
 * Whether a PGPROC belongs to a background worker.  18 replaced
 * isBackgroundWorker by isRegularBackend, which is also false for the other
 * non-client processes (WAL senders among them); those are not background
 * workers but do no work a batch should yield to either.
 */
#if PG_VERSION_NUM >= 180000
#define PGM_ProcIsBackgroundWorker(proc) (!(proc)->isRegularBackend)
#else
#define PGM_ProcIsBackgroundWorker(proc) ((proc)->isBackgroundWorker)
#endif

/*
 * This backend's index in the PGPROC array: a PGPROC field up to 16,
 * MyProcNumber from 17 on.
 */
#if PG_VERSION_NUM >= 170000
#define PGM_MyProcNumber() ((int) MyProcNumber)
#else
#define PGM_MyProcNumber() ((MyProc) != NULL ? (MyProc)->pgprocno : -1)
#endif

/* Virtual generated columns arrived in 18; before, every one was stored. */
#if PG_VERSION_NUM >= 180000
#define PGM_ConstraintIsVirtualGenerated(con) \
	((con)->generated_kind == ATTRIBUTE_GENERATED_VIRTUAL)
#else
#define PGM_ConstraintIsVirtualGenerated(con) false
#endif

/*
 * The safe way to make a populated column NOT NULL: 18 has NOT NULL
 * constraints that can be added NOT VALID and validated later; before it,
 * a validated CHECK lets SET NOT NULL skip its scan.
 */
#if PG_VERSION_NUM >= 180000
#define PGM_NOT_NULL_RECIPE \
	"ADD CONSTRAINT name NOT NULL col NOT VALID, then ALTER TABLE ... VALIDATE CONSTRAINT name " \
	"in its own transaction."
#else
#define PGM_NOT_NULL_RECIPE \
	"ADD CONSTRAINT ... CHECK (col IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT, then SET NOT NULL " \
	"(which then needs no scan) and drop the CHECK."
#endif

/*
 * Online changes (src/online): 18 can add a NOT NULL constraint NOT VALID
 * and validate it later, and has constraints that are not enforced.
 */
#if PG_VERSION_NUM >= 180000
#define PGM_HAVE_NOT_NULL_NOT_VALID 1
#define PGM_ConstraintNotEnforced(con) (!(con)->is_enforced)
#define PGM_CONTYPE_IS_NOT_NULL(contype) ((contype) == CONSTRAINT_NOTNULL)
#else
#define PGM_ConstraintNotEnforced(con) false
#define PGM_CONTYPE_IS_NOT_NULL(contype) false
#endif

/* 16 gave stringToQualifiedNameList a soft-error context. */
#if PG_VERSION_NUM >= 160000
#define PGM_stringToQualifiedNameList(s) stringToQualifiedNameList((s), NULL)
#else
#define PGM_stringToQualifiedNameList(s) stringToQualifiedNameList(s)
#endif

/*
 * Whether the NOT NULL of a column that has attnotnull is proven for every
 * row.  18 catalogs NOT NULL constraints, which may be NOT VALID (attnotnull
 * is then set too); before it, attnotnull was always checked.
 */
#if PG_VERSION_NUM >= 180000
#include "access/htup_details.h"
#include "catalog/pg_constraint.h"
static inline bool
PGM_NotNullConstraintValid(Oid relid, AttrNumber attnum)
{
	HeapTuple	tup = findNotNullConstraintAttnum(relid, attnum);
	bool		valid = true;

	if (HeapTupleIsValid(tup))
	{
		valid = ((Form_pg_constraint) GETSTRUCT(tup))->convalidated;
		heap_freetuple(tup);
	}
	return valid;
}
#else
#define PGM_NotNullConstraintValid(relid, attnum) true
#endif

/*
 * ALTER TABLE ... ADD CONSTRAINT on a plain inheritance parent (not ONLY):
 * 18 locks every child with the statement's lock whatever the constraint;
 * 15 only for those the children inherit (CHECK, the NOT NULL of a
 * PRIMARY KEY).  Measured by the verdict case inherit_add_unique.
 */
#if PG_VERSION_NUM >= 180000
#define PGM_ADD_CONSTRAINT_LOCKS_CHILDREN true
#else
#define PGM_ADD_CONSTRAINT_LOCKS_CHILDREN false
#endif

/* NOT ENFORCED constraints (18) are never checked against the rows. */
#if PG_VERSION_NUM >= 180000
#define PGM_ConstraintEnforced(conform) ((conform)->conenforced)
#else
#define PGM_ConstraintEnforced(conform) true
#endif

/*
 * ALTER CONSTRAINT ... ENFORCED (18) makes a NOT ENFORCED foreign key
 * enforced, validating it; before 18 ALTER CONSTRAINT changes deferrability
 * only.
 */
#if PG_VERSION_NUM >= 180000
#define PGM_AlterConstraintEnforces(def) \
	((def) != NULL && IsA((def), ATAlterConstraint) && \
	 ((ATAlterConstraint *) (def))->alterEnforceability && \
	 ((ATAlterConstraint *) (def))->is_enforced)
#define PGM_AlterConstraintName(def) (((ATAlterConstraint *) (def))->conname)
#else
#define PGM_AlterConstraintEnforces(def) false
#define PGM_AlterConstraintName(def) ((char *) NULL)
#endif

/* index_beginscan() grew an instrumentation argument in 18. */
#if PG_VERSION_NUM >= 180000
#define PGM_index_beginscan(heap, index, snapshot, nkeys, norderbys) \
	index_beginscan((heap), (index), (snapshot), NULL, (nkeys), (norderbys))
#else
#define PGM_index_beginscan(heap, index, snapshot, nkeys, norderbys) \
	index_beginscan((heap), (index), (snapshot), (nkeys), (norderbys))
#endif

#endif							/* PG_MIGRATE_COMPAT_H */
