/*-------------------------------------------------------------------------
 *
 * classify.h
 *		The classifier: what a utility statement is about to do to which
 *		relation, judged from its parse tree and the real catalog before it
 *		runs.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_MIGRATE_CLASSIFY_H
#define PG_MIGRATE_CLASSIFY_H

#include "postgres.h"

#include "nodes/parsenodes.h"
#include "storage/block.h"
#include "storage/lockdefs.h"

/*
 * The rule catalogue.  The order is the order of the migrate_rules view;
 * names are what migrate_policy.rule holds.
 */
typedef enum PgmRule
{
	PGM_RULE_DROP_TABLE,
	PGM_RULE_DROP_SCHEMA,
	PGM_RULE_DROP_COLUMN,
	PGM_RULE_TRUNCATE,
	PGM_RULE_RENAME_TABLE,
	PGM_RULE_RENAME_COLUMN,
	PGM_RULE_TABLE_REWRITE,
	PGM_RULE_BLOCKING_INDEX_BUILD,
	PGM_RULE_BLOCKING_INDEX_DROP,
	PGM_RULE_VALIDATING_SCAN,
	PGM_RULE_NOT_NULL_SCAN,
	PGM_RULE_ADD_REQUIRED_COLUMN,
	PGM_RULE_LARGE_DML,
	PGM_RULE_LOCK_TIMEOUT,
	PGM_NUM_RULES
} PgmRule;

typedef struct PgmRuleInfo
{
	const char *name;
	const char *description;
	const char *lock;			/* the lock the rule is about, for humans */
	const char *alternative;	/* the safe way; used as errhint */
	const char *default_action; /* what the shipped migrate_policy says */
} PgmRuleInfo;

extern const PgmRuleInfo pgm_rules[PGM_NUM_RULES];

/*
 * One finding of the classifier: a rule that fires for one relation (or
 * schema, or the whole database).  Whether it is refused, warned about or
 * allowed is the policy's business, not the classifier's.
 */
typedef struct PgmOperation
{
	PgmRule		rule;
	Oid			relid;			/* InvalidOid when not about one relation */
	char	   *schemaname;		/* for policy scope; NULL if none */
	char	   *relname;		/* unqualified; NULL if none */
	char	   *colname;		/* the column, for column rules; else NULL */
	char	   *what;			/* what the statement does, for messages */
	LOCKMODE	lockmode;		/* lock the statement takes on it */
	bool		rewrite;		/* predicted to rewrite the table */
	bool		scan;			/* predicted to scan it under that lock */
	bool		build;			/* predicted to build an index on it */
	bool		populated;		/* see pgm_relation_populated() */
	BlockNumber blocks;			/* size, when relid is valid */
	char	   *via;			/* lost without being named: why the
								 * statement reaches it ("it depends on type
								 * t"; see cascade.c); else NULL */
} PgmOperation;

/* A lock the statement will wait for that blocks other sessions. */
typedef struct PgmLockRequest
{
	Oid			relid;
	LOCKMODE	lockmode;
} PgmLockRequest;

typedef struct PgmClassification
{
	List	   *ops;			/* of PgmOperation * */
	List	   *locks;			/* of PgmLockRequest *: tables that existed
								 * before this transaction, modes that block
								 * reads or writes, not yet held */
	List	   *requested;		/* of PgmLockRequest *: every lock asked for
								 * on a table that existed before this
								 * transaction, held already or not */
	bool		transactional;	/* false: cannot run in a transaction block
								 * (VACUUM, CONCURRENTLY, ...) */
	bool		expensive;		/* rewrites, scans or builds an index on a
								 * populated table: migrate_check does not
								 * execute it */
	char	   *fails;			/* PostgreSQL will refuse the statement:
								 * why (migrate_check reports it) */
} PgmClassification;

extern PgmClassification *pgm_classify_statement(Node *parsetree);
extern bool pgm_classify_wanted(Node *parsetree);
extern void pgm_classify_set_script_locks(List **locks);
extern bool pgm_default_needs_rewrite(ColumnDef *col, Node *raw_default,
									  const char **why);
extern bool pgm_relation_populated(Oid relid, BlockNumber *blocks,
								   bool *is_new);
extern bool pgm_relation_visible_to_others(Oid relid);
extern const char *pgm_lockmode_name(LOCKMODE mode);
extern char *pgm_size_pretty(BlockNumber blocks);
extern int	pgm_rule_from_name(const char *name);
extern char *pgm_op_relation(PgmOperation *op);
extern bool pgm_type_change_needs_rewrite(Oid relid, AlterTableCmd *cmd,
										  const char **why, char **typname);

#endif							/* PG_MIGRATE_CLASSIFY_H */
