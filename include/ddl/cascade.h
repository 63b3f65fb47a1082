/*-------------------------------------------------------------------------
 *
 * cascade.h
 *		What a DROP takes with it: the tables and columns that PostgreSQL's
 *		dependency machinery would delete along with the objects named,
 *		computed from pg_depend / pg_shdepend before the statement runs.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_MIGRATE_CASCADE_H
#define PG_MIGRATE_CASCADE_H

#include "postgres.h"

#include "catalog/objectaddress.h"
#include "nodes/parsenodes.h"

/* One table, or one column of a table, that a statement would destroy. */
typedef struct PgmCascadeLoss
{
	Oid			relid;
	AttrNumber	attnum;			/* 0: the whole table */
	bool		config;			/* a table its extension declares as data
								 * (pg_extension_config_dump) */
	bool		named;			/* one of the objects the walk started from */
	char	   *via;			/* description of the object named in the
								 * statement whose drop reaches it */
} PgmCascadeLoss;

extern List *pgm_cascade_losses(List *targets, DropBehavior behavior,
								bool report_named);
extern List *pgm_type_users(Oid typid);
extern bool pgm_object_owned_by_me(const ObjectAddress *addr);
extern List *pgm_owned_objects(Oid roleid);

#endif							/* PG_MIGRATE_CASCADE_H */
