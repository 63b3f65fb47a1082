/*-------------------------------------------------------------------------
 *
 * toplevel.h
 *		Statements run at top level by a job worker, and what an
 *		interrupted one left behind (jobs/toplevel.c): shared by the
 *		migration script runner and the online-change runner.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_MIGRATE_JOBS_TOPLEVEL_H
#define PG_MIGRATE_JOBS_TOPLEVEL_H

#include "postgres.h"

#include "nodes/parsenodes.h"
#include "nodes/pg_list.h"
#include "utils/palloc.h"

typedef enum PgmLeftover
{
	PGM_LEFTOVER_NONE,			/* run the statement */
	PGM_LEFTOVER_DONE,			/* an earlier attempt finished it */
	PGM_LEFTOVER_DROP			/* drop these INVALID indexes, then run it */
} PgmLeftover;

extern void pgm_run_toplevel(const char *sql, MemoryContext cxt);
extern Oid	pgm_lookup_qualified(const char *qualified);
extern bool pgm_index_is_valid(Oid indexoid);
extern PgmLeftover pgm_find_leftover(Node *stmt, Oid target, MemoryContext cxt,
									 List **drops);
extern void pgm_drop_leftover(const char *who, const char *qualified,
							  MemoryContext cxt);
extern bool pgm_toplevel_retryable(int sqlerrcode);
extern ErrorData *pgm_toplevel_catch(MemoryContext cxt);
extern char *pgm_toplevel_error_text(ErrorData *error);

#endif							/* PG_MIGRATE_JOBS_TOPLEVEL_H */
