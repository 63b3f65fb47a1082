/*-------------------------------------------------------------------------
 *
 * substitute.h
 *		The policy action `online`: a statement runs its online form
 *		instead (online/substitute.c).  The guard reaches it through the
 *		hooks of ddl/policy.h, which pgm_online_substitute_init installs.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_MIGRATE_ONLINE_SUBSTITUTE_H
#define PG_MIGRATE_ONLINE_SUBSTITUTE_H

extern void pgm_online_substitute_init(void);

#endif							/* PG_MIGRATE_ONLINE_SUBSTITUTE_H */
