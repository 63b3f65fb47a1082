/*-------------------------------------------------------------------------
 *
 * parse.c
 *		The script parser: splitting SQL text into statements with the raw
 *		parser, the text of each statement, and the facts about a raw
 *		statement that do not need the catalog (whether it may run inside
 *		a transaction block, whether a boolean option is set).
 *
 * Part of the ground floor (src/core): it calls nothing of pg_migrate
 * outside src/core.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/defrem.h"
#include "nodes/parsenodes.h"
#include "parser/parser.h"
#include "parser/scansup.h"

#include "core/compat.h"
#include "core/parse.h"

/*
 * Report syntax errors at their position in the script, not in the query
 * that called us (as SQL functions do for their bodies).
 */
static void
script_error_callback(void *arg)
{
	const char *sql = (const char *) arg;
	int			pos = geterrposition();

	if (pos > 0)
	{
		errposition(0);
		internalerrposition(pos);
		internalerrquery(sql);
	}
}

/* Split a script with the raw parser; syntax errors point into the script. */
List *
pgm_parse_raw(const char *sql)
{
	ErrorContextCallback errcb;
	List	   *raw;

	errcb.callback = script_error_callback;
	errcb.arg = (void *) sql;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	raw = PGM_raw_parser(sql);
	error_context_stack = errcb.previous;
	return raw;
}

/* The text of one statement of a script, without blanks and semicolon. */
char *
pgm_statement_text(const char *sql, RawStmt *rs)
{
	int			loc = Max(rs->stmt_location, 0);
	int			len = rs->stmt_len > 0 ? rs->stmt_len : (int) strlen(sql + loc);

	while (len > 0 && scanner_isspace(sql[loc]))
	{
		loc++;
		len--;
	}
	while (len > 0 && (scanner_isspace(sql[loc + len - 1]) || sql[loc + len - 1] == ';'))
		len--;
	return pnstrdup(sql + loc, len);
}

/*
 * Name of a statement that cannot run inside a transaction block, or NULL.
 * These are the statements for which utility.c and the commands it calls
 * use PreventInTransactionBlock().
 */
const char *
pgm_needs_own_transaction(Node *stmt)
{
	switch (nodeTag(stmt))
	{
		case T_IndexStmt:
			return ((IndexStmt *) stmt)->concurrent ? "CREATE INDEX CONCURRENTLY" : NULL;
		case T_DropStmt:
			return ((DropStmt *) stmt)->concurrent ? "DROP INDEX CONCURRENTLY" : NULL;
		case T_ReindexStmt:
			{
				ReindexStmt *ri = (ReindexStmt *) stmt;

				if (pgm_option_true(ri->params, "concurrently"))
					return "REINDEX CONCURRENTLY";
				if (ri->kind == REINDEX_OBJECT_SCHEMA ||
					ri->kind == REINDEX_OBJECT_SYSTEM ||
					ri->kind == REINDEX_OBJECT_DATABASE)
					return "REINDEX SCHEMA/SYSTEM/DATABASE";
				return NULL;
			}
		case T_VacuumStmt:
			return ((VacuumStmt *) stmt)->is_vacuumcmd ? "VACUUM" : NULL;
		case T_ClusterStmt:
			return ((ClusterStmt *) stmt)->relation == NULL ? "CLUSTER without a table" : NULL;
		case T_DiscardStmt:
			return ((DiscardStmt *) stmt)->target == DISCARD_ALL ? "DISCARD ALL" : NULL;
		case T_CreatedbStmt:
			return "CREATE DATABASE";
		case T_DropdbStmt:
			return "DROP DATABASE";
		case T_AlterSystemStmt:
			return "ALTER SYSTEM";
		case T_CreateTableSpaceStmt:
			return "CREATE TABLESPACE";
		case T_DropTableSpaceStmt:
			return "DROP TABLESPACE";
		case T_CreateSubscriptionStmt:
		case T_AlterSubscriptionStmt:
		case T_DropSubscriptionStmt:
			return "CREATE/ALTER/DROP SUBSCRIPTION";
		case T_AlterTableStmt:
			{
				ListCell   *lc;

				foreach(lc, ((AlterTableStmt *) stmt)->cmds)
				{
					AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

					if (cmd->subtype == AT_DetachPartition &&
						((PartitionCmd *) cmd->def)->concurrent)
						return "DETACH PARTITION CONCURRENTLY";
				}
				return NULL;
			}
		default:
			return NULL;
	}
}

/*
 * Is a boolean option of a utility statement (VACUUM (FULL), REINDEX
 * (CONCURRENTLY), ...) given and true?  A bare option name means true.
 */
bool
pgm_option_true(List *options, const char *name)
{
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *def = lfirst_node(DefElem, lc);

		if (strcmp(def->defname, name) == 0)
			return def->arg == NULL || defGetBoolean(def);
	}
	return false;
}
