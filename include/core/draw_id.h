/*-------------------------------------------------------------------------
 *
 * draw_id.h
 *		The next value of a bookkeeping table's id sequence, drawn without
 *		touching the session's lastval() (draw_id.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGM_DRAW_ID_H
#define PGM_DRAW_ID_H

#include "postgres.h"

extern int64 pgm_draw_id(Oid tableid);

#endif							/* PGM_DRAW_ID_H */
