/*-------------------------------------------------------------------------
 *
 * parse.c
 *		The script parser: splitting SQL text into statements with the raw
 *		parser, the text of each statement, and the facts about a raw
 *		statement that do not need the catalog (whether it may run inside
 *		a transaction block, whether a boolean option is set, which
 *		integer type a serial pseudo-type stands for).
 *
 * Part of the ground floor (src/core): it calls nothing of pg_migrate
 * outside src/core.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "nodes/parsenodes.h"
#include "parser/parser.h"
#include "parser/scanner.h"
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
 * The word (identifier or keyword, lower-cased) a token starts with, or ""
 * when the token is not a bare word or is longer than any word asked for.
 */
static void
word_at(const char *p, char *word, int size)
{
	int			n = 0;

	word[0] = '\0';
	if (!(IS_HIGHBIT_SET(*p) || isalpha((unsigned char) *p) || *p == '_'))
		return;
	while (IS_HIGHBIT_SET(p[n]) || isalnum((unsigned char) p[n]) || p[n] == '_' || p[n] == '$')
	{
		if (n >= size - 1)
		{
			word[0] = '\0';
			return;
		}
		word[n] = pg_tolower((unsigned char) p[n]);
		n++;
	}
	word[n] = '\0';
}

/*
 * Does this PL/pgSQL body hold a COMMIT or ROLLBACK statement?  PL/pgSQL
 * reads its body with the core SQL scanner, and so does this, so string
 * literals, quoted identifiers and comments are skipped as PL/pgSQL skips
 * them.  A statement starts the body or follows ";", BEGIN, THEN, ELSE,
 * LOOP or a label's ">>"; PL/pgSQL's COMMIT and ROLLBACK are followed by
 * ";" or AND [NO] CHAIN.  A column or variable named commit is not a
 * statement of its own, so it is not taken for one.  Whether the statement
 * runs is not known (it may sit in a branch never taken): this says only
 * that the block is written to end transactions.  A body the scanner
 * rejects (an unterminated literal) is left to fail where it runs.
 */
static bool
plpgsql_ends_transaction(const char *body)
{
	MemoryContext cxt = CurrentMemoryContext;
	volatile bool found = false;

	PG_TRY();
	{
		core_yy_extra_type extra;
		core_yyscan_t scanner;
		core_YYSTYPE lval;
		YYLTYPE		loc;
		int			tok;
		bool		at_start = true;
		bool		candidate = false;
		char		word[16];

		scanner = scanner_init(body, &extra, &ScanKeywords, ScanKeywordTokens);
		while ((tok = core_yylex(&lval, &loc, scanner)) != 0)
		{
			word_at(body + loc, word, sizeof(word));
			if (candidate && (tok == ';' || strcmp(word, "and") == 0))
			{
				found = true;
				break;
			}
			candidate = at_start &&
				(strcmp(word, "commit") == 0 || strcmp(word, "rollback") == 0);
			at_start = tok == ';' || strcmp(word, "begin") == 0 ||
				strcmp(word, "then") == 0 || strcmp(word, "else") == 0 ||
				strcmp(word, "loop") == 0 || strncmp(body + loc, ">>", 2) == 0;
		}
		scanner_finish(scanner);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		/*
		 * Only the scanner's own complaints are caught: it has touched
		 * nothing but memory in this context.  Anything else goes on.
		 */
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		if (edata->sqlerrcode != ERRCODE_SYNTAX_ERROR)
			PG_RE_THROW();
		FlushErrorState();
		FreeErrorData(edata);
		found = false;
	}
	PG_END_TRY();
	return found;
}

/*
 * A DO block that commits or rolls back can do so only when it is run as a
 * statement of its own, outside any transaction block and not from SPI.
 * Only PL/pgSQL bodies are read; what a block in another language, or a
 * procedure called with CALL, does is not known before it runs.
 */
static bool
do_ends_transaction(DoStmt *stmt)
{
	const char *body = NULL;
	const char *language = "plpgsql";
	ListCell   *lc;

	foreach(lc, stmt->args)
	{
		DefElem    *d = lfirst_node(DefElem, lc);

		if (d->arg == NULL || !IsA(d->arg, String))
			continue;
		if (strcmp(d->defname, "as") == 0)
			body = strVal(d->arg);
		else if (strcmp(d->defname, "language") == 0)
			language = strVal(d->arg);
	}
	return body != NULL && pg_strcasecmp(language, "plpgsql") == 0 &&
		plpgsql_ends_transaction(body);
}

/*
 * Name of a statement that cannot run inside a transaction block, or NULL.
 * These are the statements for which utility.c and the commands it calls
 * use PreventInTransactionBlock(), and DO blocks that end transactions
 * (which fail in a transaction block or under SPI with 2D000).
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
		case T_DoStmt:
			return do_ends_transaction((DoStmt *) stmt) ?
				"a DO block that commits or rolls back" : NULL;
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

/*
 * The integer type a serial pseudo-type stands for (smallserial, serial,
 * bigserial and their serialN spellings), or InvalidOid.  A raw parse tree
 * still holds the type name as written: the expansion into a sequence and
 * a nextval() default happens when the statement is transformed.  As in
 * transformColumnDefinition, only an unqualified, non-%TYPE, non-array
 * name counts.
 */
Oid
pgm_serial_type(const TypeName *tn)
{
	const char *name;

	if (tn == NULL || tn->pct_type || list_length(tn->names) != 1 || tn->arrayBounds)
		return InvalidOid;
	name = strVal(linitial(tn->names));
	if (strcmp(name, "smallserial") == 0 || strcmp(name, "serial2") == 0)
		return INT2OID;
	if (strcmp(name, "serial") == 0 || strcmp(name, "serial4") == 0)
		return INT4OID;
	if (strcmp(name, "bigserial") == 0 || strcmp(name, "serial8") == 0)
		return INT8OID;
	return InvalidOid;
}
