/*-------------------------------------------------------------------------
 *
 * redact.c
 *		Keep secrets out of the DDL history.
 *
 * Statements that can carry a password (CREATE/ALTER ROLE ... PASSWORD,
 * user mappings and servers with a "password" option, subscriptions with a
 * password in their connection string) are re-read with PostgreSQL's own
 * lexer, and every string literal holding a secret is replaced by
 * '********' before the text goes anywhere.  Working on tokens rather than
 * text patterns means comments, odd spacing, quoting styles and dollar
 * quotes cannot smuggle a password past the redaction.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "nodes/parsenodes.h"
#include "parser/scanner.h"
#include "parser/scansup.h"

#include "ddl/redact.h"

#define REDACTED	"'********'"

typedef struct Redaction
{
	int			start;			/* byte offset of the literal */
	int			end;			/* offset of whatever follows it */
} Redaction;

/*
 * The lexer's codes for the tokens the redaction looks at.  They are
 * defined in parser/gram.h, which PostgreSQL does not install from 16 on,
 * so each is learnt, once per backend, by lexing a sample of it.
 */
static bool tokens_known = false;
static int	tok_ident;
static int	tok_sconst;
static int	tok_usconst;
static int	tok_password;
static int	tok_connection;

static int
token_of(const char *sample)
{
	core_yyscan_t yyscanner;
	core_yy_extra_type yyextra;
	core_YYSTYPE yylval;
	YYLTYPE		yylloc;
	int			tok;

	yyscanner = scanner_init(sample, &yyextra, &ScanKeywords, ScanKeywordTokens);
	tok = core_yylex(&yylval, &yylloc, yyscanner);
	scanner_finish(yyscanner);
	return tok;
}

/*
 * Learn the token codes of the keywords redaction looks for, from the
 * lexer itself, once per backend.
 */
static void
learn_tokens(void)
{
	if (tokens_known)
		return;
	tok_ident = token_of("x");
	tok_sconst = token_of("'x'");
	tok_usconst = token_of("U&'x'");
	tok_password = token_of("password");
	tok_connection = token_of("connection");
	tokens_known = true;
}

/* Can the statement contain a password or a connection string at all? */
static bool
may_hold_secret(Node *parsetree)
{
	switch (nodeTag(parsetree))
	{
		case T_CreateRoleStmt:
		case T_AlterRoleStmt:
		case T_CreateUserMappingStmt:
		case T_AlterUserMappingStmt:
		case T_CreateForeignServerStmt:
		case T_AlterForeignServerStmt:
		case T_CreateFdwStmt:
		case T_AlterFdwStmt:
		case T_CreateForeignTableStmt:
		case T_ImportForeignSchemaStmt:
		case T_CreateSubscriptionStmt:
		case T_AlterSubscriptionStmt:
			return true;
		default:
			return false;
	}
}

/*
 * Option names are compared without regard to case: a foreign-data wrapper
 * may treat "PassWord" as a different option, but a redaction that misses a
 * secret is worse than one that hides a harmless value.
 */

/*
 * Rewrite "password=value" inside a libpq connection string, keeping the
 * rest of it (host, port, dbname are worth having in an audit trail).
 */
static char *
redact_conninfo(const char *conninfo)
{
	StringInfoData buf;
	const char *p = conninfo;

	initStringInfo(&buf);
	while (*p)
	{
		const char *key = p;

		if (pg_strncasecmp(p, "password", 8) == 0 &&
			(p == conninfo || isspace((unsigned char) p[-1])))
		{
			const char *q = p + 8;

			while (isspace((unsigned char) *q))
				q++;
			if (*q == '=')
			{
				q++;
				while (isspace((unsigned char) *q))
					q++;
				if (*q == '\'')
				{
					q++;
					while (*q && *q != '\'')
					{
						if (*q == '\\' && q[1])
							q++;
						q++;
					}
					if (*q == '\'')
						q++;
				}
				else
				{
					while (*q && !isspace((unsigned char) *q))
						q++;
				}
				appendStringInfoString(&buf, "password=********");
				p = q;
				continue;
			}
		}
		appendStringInfoChar(&buf, *key);
		p++;
	}
	return buf.data;
}

/*
 * The statement text with passwords and connection strings replaced, for
 * the history and the violation reports: statements that may hold a secret
 * (roles, user mappings, servers and wrappers, foreign tables,
 * subscriptions; see may_hold_secret) are scanned with PostgreSQL's own
 * lexer, so that quoting and comments cannot hide one.  Other statements
 * are returned as they are.
 */
char *
pgm_redact_statement(const char *sql, Node *parsetree)
{
	core_yyscan_t yyscanner;
	core_yy_extra_type yyextra;
	core_YYSTYPE yylval;
	YYLTYPE		yylloc;
	List	   *ranges = NIL;
	List	   *conninfos = NIL;
	int			prev_tok = 0;
	char	   *prev_ident = NULL;
	Redaction  *pending = NULL;
	bool		pending_conninfo = false;
	char	   *pending_str = NULL;
	StringInfoData out;
	ListCell   *lc;
	ListCell   *lc2;
	int			pos;

	if (parsetree == NULL || !may_hold_secret(parsetree))
		return (char *) sql;

	learn_tokens();
	yyscanner = scanner_init(sql, &yyextra, &ScanKeywords, ScanKeywordTokens);
	yyextra.escape_string_warning = false;

	for (;;)
	{
		int			tok = core_yylex(&yylval, &yylloc, yyscanner);

		/* A literal ends where the next token (or the text) begins. */
		if (pending)
		{
			pending->end = (tok == 0) ? (int) strlen(sql) : yylloc;
			ranges = lappend(ranges, pending);
			conninfos = lappend(conninfos, pending_conninfo ? pending_str : NULL);
			pending = NULL;
		}
		if (tok == 0)
			break;

		if (tok == tok_sconst || tok == tok_usconst)
		{
			bool		secret = (prev_tok == tok_password) ||
				(prev_tok == tok_ident && prev_ident &&
				 pg_strcasecmp(prev_ident, "password") == 0);
			bool		conninfo = (prev_tok == tok_connection);

			if (secret || conninfo)
			{
				pending = palloc0(sizeof(Redaction));
				pending->start = yylloc;
				pending_conninfo = conninfo;
				pending_str = conninfo ? pstrdup(yylval.str) : NULL;
			}
		}

		prev_tok = tok;
		prev_ident = (tok == tok_ident) ? pstrdup(yylval.str) : NULL;
	}
	scanner_finish(yyscanner);

	if (ranges == NIL)
		return (char *) sql;

	initStringInfo(&out);
	pos = 0;
	forboth(lc, ranges, lc2, conninfos)
	{
		Redaction  *r = lfirst(lc);
		char	   *conninfo = lfirst(lc2);
		bool		trailing_space;

		appendBinaryStringInfo(&out, sql + pos, r->start - pos);
		if (conninfo)
		{
			char	   *clean = redact_conninfo(conninfo);
			const char *c;

			/* Re-quote as a standard string literal. */
			appendStringInfoChar(&out, '\'');
			for (c = clean; *c; c++)
			{
				if (*c == '\'')
					appendStringInfoChar(&out, '\'');
				appendStringInfoChar(&out, *c);
			}
			appendStringInfoChar(&out, '\'');
		}
		else
			appendStringInfoString(&out, REDACTED);

		/* Keep the separation from the next token, if there was one. */
		trailing_space = r->end > r->start &&
			scanner_isspace(sql[r->end - 1]);
		if (trailing_space && r->end < (int) strlen(sql))
			appendStringInfoChar(&out, ' ');
		pos = r->end;
	}
	appendStringInfoString(&out, sql + pos);
	return out.data;
}
