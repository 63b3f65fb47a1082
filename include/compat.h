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

/* pg_database_ownercheck() became object_ownercheck() in 16. */
#if PG_VERSION_NUM >= 160000
#define PGM_DatabaseOwnercheck(dbid, roleid) \
	object_ownercheck(DatabaseRelationId, (dbid), (roleid))
#else
#define PGM_DatabaseOwnercheck(dbid, roleid) \
	pg_database_ownercheck((dbid), (roleid))
#endif

#endif							/* PG_MIGRATE_COMPAT_H */
