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

#include "executor/executor.h"
#include "fmgr.h"
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
	bool		runs_empty;		/* CREATE TABLE AS: created by the walk
								 * WITH NO DATA, its query not run */
} PgmJudgedStatement;

typedef void (*PgmJudgeCallback) (void *arg, PgmJudgedStatement *js);

extern PgmClassification *pgm_classify_dml(RawStmt *rs, const char *text,
										   Oid *relid, double *rows);
extern void pgm_walk_script(const char *sql, PgmJudgeCallback callback,
							void *arg);
/* The dry-run hooks and the hooks they chain to (installed by _PG_init). */
extern needs_fmgr_hook_type pgm_dry_run_prev_needs_fmgr_hook;
extern fmgr_hook_type pgm_dry_run_prev_fmgr_hook;
extern ExecutorStart_hook_type pgm_dry_run_prev_ExecutorStart;
extern bool pgm_dry_run_needs_fmgr_hook(Oid fn_oid);
extern void pgm_dry_run_fmgr_hook(FmgrHookEventType event, FmgrInfo *flinfo,
								  Datum *private);
extern void pgm_dry_run_ExecutorStart(QueryDesc *queryDesc, int eflags);

extern int	pgm_dry_run_enter(void);
extern void pgm_dry_run_restore(int depth);
extern const char *pgm_script_not_dry_runnable(const char *sql);

#endif							/* PG_MIGRATE_CHECK_H */
