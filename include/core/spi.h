/*-------------------------------------------------------------------------
 *
 * spi.h
 *		Running SQL on the extension's own account (core/spi.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_MIGRATE_CORE_SPI_H
#define PG_MIGRATE_CORE_SPI_H

#include "postgres.h"

/* An identity to come back to after acting as another role. */
typedef struct PgmSavedUser
{
	Oid			userid;
	int			sec_context;
} PgmSavedUser;

extern void pgm_save_user(PgmSavedUser *saved);
extern void pgm_act_as(Oid role, const PgmSavedUser *saved);
extern void pgm_become_owner(Oid owner, PgmSavedUser *saved);
extern void pgm_restore_user(const PgmSavedUser *saved);

extern int	pgm_execute_as(Oid owner, const char *sql, int nargs, Oid *types,
						   Datum *values, const char *nulls);
extern int	pgm_pin_search_path(void);
extern void pgm_pin_session_search_path(void);

#endif							/* PG_MIGRATE_CORE_SPI_H */
