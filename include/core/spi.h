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

extern int	pgm_execute_as(Oid owner, const char *sql, int nargs, Oid *types,
						   Datum *values, const char *nulls);
extern int	pgm_pin_search_path(void);
extern void pgm_pin_session_search_path(void);

#endif							/* PG_MIGRATE_CORE_SPI_H */
