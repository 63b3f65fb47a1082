/*-------------------------------------------------------------------------
 *
 * check.h
 *		Walking a migration script without applying it (check.c): shared by
 *		migrate_check() and migrate_plan().
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_MIGRATE_CHECK_H
#define PG_MIGRATE_CHECK_H

#include "postgres.h"

#include "nodes/parsenodes.h"

#include "ddl/classify.h"

/* One statement of a script, as the walk judged it. */
typedef struct PgmJudgedStatement
{
	int			stmtno;			/* 1-based position in the script */
	char	   *text;			/* the statement alone */
	Node	   *stmt;			/* its raw parse tree */
	PgmClassification *cls;		/* NULL when not classified */
	List	   *verdicts;		/* of PgmVerdict *: findings */
	Oid			dml_relid;		/* UPDATE/DELETE: the target */
	double		dml_rows;		/* and the planner's row estimate, or -1 */
	const char *error;			/* the statement fails: why */
	const char *error_hint;
	const char *not_run;		/* not dry-run and not judged: why */
	bool		runs;			/* executed by the walk after judging */
} PgmJudgedStatement;

typedef void (*PgmJudgeCallback) (void *arg, PgmJudgedStatement *js);

extern List *pgm_parse_raw(const char *sql);
extern char *pgm_statement_text(const char *sql, RawStmt *rs);
extern PgmClassification *pgm_classify_dml(RawStmt *rs, const char *text,
										   Oid *relid, double *rows);
extern void pgm_walk_script(const char *sql, PgmJudgeCallback callback,
							void *arg);
extern char *pgm_op_relation(PgmOperation *op);
extern void pgm_check_init(void);
extern int	pgm_dry_run_enter(void);
extern void pgm_dry_run_restore(int depth);
extern const char *pgm_script_not_dry_runnable(const char *sql);

#endif							/* PG_MIGRATE_CHECK_H */
