/*-------------------------------------------------------------------------
 *
 * compat.h
 *		Version-specific shims.  Everything that differs between the
 *		PostgreSQL major versions pg_migrate supports (13 to 17) lives here,
 *		so the rest of the code is written against one API.
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

/* pg_class_ownercheck() became object_ownercheck() in 16. */
#if PG_VERSION_NUM >= 160000
#define PGM_relation_ownercheck(relid, roleid) \
	object_ownercheck(RelationRelationId, (relid), (roleid))
#else
#define PGM_relation_ownercheck(relid, roleid) pg_class_ownercheck((relid), (roleid))
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

#endif							/* PG_MIGRATE_COMPAT_H */
