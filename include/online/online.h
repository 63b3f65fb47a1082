/*-------------------------------------------------------------------------
 *
 * online.h
 *		Online changes: one DDL statement turned into a job of steps that
 *		each block nobody for long (migrate_online).
 *
 * api.c	  the SQL functions: parse and judge the statement, build the
 *			  plan, record the job; abort and complete
 * recipe.c   the plans of the statements that have a non-blocking form
 *			  (indexes, constraints, NOT NULL)
 * retype.c   the plan of a column type change: shadow column, sync
 *			  trigger, backfill, copies, cut-over, reverse sync
 * rename.c   the plans of RENAME COLUMN and RENAME TO as expand/contract
 * addcol.c   the plan of ADD COLUMN with a volatile default, serial or
 *			  identity: added empty, default at once, backfilled
 * mirror.c   the C trigger that keeps a column and its old name equal
 * runner.c   the job worker's side: runs, undoes and completes the steps
 * sync.c	  the C trigger that keeps the shadow column in step
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_MIGRATE_ONLINE_H
#define PG_MIGRATE_ONLINE_H

#include "postgres.h"

#include "nodes/parsenodes.h"
#include "nodes/pg_list.h"

/* How a step runs (migrate_online_step.mode). */
typedef enum PgmStepMode
{
	PGM_STEP_TRANSACTION,		/* one transaction with its progress */
	PGM_STEP_CONCURRENT,		/* commits on its own (CONCURRENTLY) */
	PGM_STEP_BACKFILL			/* a batched UPDATE job, waited for */
} PgmStepMode;

/* One step of an online change, as the plan builders describe it. */
typedef struct PgmOnlineStep
{
	const char *phase;			/* shown in migrate_jobs while it runs */
	bool		complete_stage; /* runs at migrate_online_complete */
	PgmStepMode mode;
	char	   *sql;
	char	   *target;			/* concurrent: the index it works on */
	bool		blocking;		/* bounded lock_timeout with retries */
	List	   *exempt;			/* rule names (const char *) */
	char	   *undo;			/* NULL: nothing to undo */
	PgmStepMode undo_mode;
	bool		undo_blocking;
} PgmOnlineStep;

/* What migrate_online will do with a statement. */
typedef struct PgmOnlinePlan
{
	const char *operation;		/* 'create_index', 'alter_type', ... */
	Oid			relid;			/* the table changed */
	List	   *steps;			/* of PgmOnlineStep */
	/* a type change: the column it moves last, and past how many columns */
	const char *moved_column;
	const char *moved_old_name;
	int			moved_past;
} PgmOnlinePlan;

/* recipe.c */
extern PgmOnlineStep *pgm_online_step(PgmOnlinePlan *plan, const char *phase,
									  PgmStepMode mode, bool blocking,
									  char *sql);
extern void pgm_online_set_undo(PgmOnlineStep *step, PgmStepMode mode,
								bool blocking, char *undo);
extern char *pgm_online_relname(Oid relid);
extern void pgm_online_expand_step(PgmOnlinePlan *plan, char *sql,
								   const char *relname, const char *trigger,
								   const char *column);
extern char *pgm_online_index_copy_sql(Oid indexoid, const char *copyname,
									   Relation rel, AttrNumber attnum,
									   const char *column, bool same_type);
extern void pgm_online_refuse(const char *what, const char *why,
							  const char *hint);
extern Oid	pgm_online_table(RangeVar *rv, const char *what);
extern void pgm_online_plan_index(PgmOnlinePlan *plan, IndexStmt *stmt,
								  const char *text);
extern void pgm_online_plan_drop_index(PgmOnlinePlan *plan, DropStmt *stmt);
extern void pgm_online_plan_reindex(PgmOnlinePlan *plan, ReindexStmt *stmt);
extern void pgm_online_plan_constraint(PgmOnlinePlan *plan, Oid relid,
									   Constraint *con, const char *text);
extern void pgm_online_plan_not_null(PgmOnlinePlan *plan, Oid relid,
									 const char *colname);
extern char *pgm_online_prove_not_null(PgmOnlinePlan *plan, Oid relid,
									   const char *colname, const char *phase,
									   bool complete_stage);

/* retype.c */
extern void pgm_online_plan_retype(PgmOnlinePlan *plan, Oid relid,
								   AlterTableCmd *cmd, int64 job_id);

/* rename.c */
extern void pgm_online_plan_rename(PgmOnlinePlan *plan, RenameStmt *stmt,
								   int64 job_id);

/* addcol.c */
extern void pgm_online_plan_add_column(PgmOnlinePlan *plan, Oid relid,
									   AlterTableCmd *cmd, int64 job_id);

/* api.c */
extern void pgm_online_build_plan(PgmOnlinePlan *plan, Node *stmt,
								  const char *text, int64 job_id);
extern void pgm_online_check_submitter(void);
extern int64 pgm_online_submit(Node *stmt, const char *stmt_text,
							   bool complete, PgmOnlinePlan *plan_out);
extern void pgm_online_load_migration(int64 job_id);
extern int	pgm_online_execute(const char *sql_fmt, int nargs, Oid *types,
							   Datum *values, const char *nulls);

/* runner.c */
extern void pgm_online_run(int64 job_id);
extern void pgm_online_init(void);

#endif							/* PG_MIGRATE_ONLINE_H */
