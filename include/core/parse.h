/*-------------------------------------------------------------------------
 *
 * parse.h
 *		The script parser, and facts read off raw parse trees (core/parse.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_MIGRATE_CORE_PARSE_H
#define PG_MIGRATE_CORE_PARSE_H

#include "postgres.h"

#include "nodes/parsenodes.h"
#include "nodes/pg_list.h"

extern List *pgm_parse_raw(const char *sql);
extern char *pgm_statement_text(const char *sql, RawStmt *rs);
extern const char *pgm_needs_own_transaction(Node *stmt);
extern bool pgm_option_true(List *options, const char *name);
extern Oid	pgm_serial_type(const TypeName *tn);

#endif							/* PG_MIGRATE_CORE_PARSE_H */
