/*-------------------------------------------------------------------------
 *
 * redact.h
 *		Password redaction of statement text (ddl/redact.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_MIGRATE_DDL_REDACT_H
#define PG_MIGRATE_DDL_REDACT_H

#include "postgres.h"

#include "nodes/nodes.h"

extern char *pgm_redact_statement(const char *sql, Node *parsetree);

#endif							/* PG_MIGRATE_DDL_REDACT_H */
