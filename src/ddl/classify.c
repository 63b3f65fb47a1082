/*-------------------------------------------------------------------------
 *
 * classify.c
 *		The classifier: turns one utility statement into the list of
 *		dangerous operations it is about to perform, before it runs.
 *
 * A linter judges SQL text; the classifier judges the statement against the
 * real catalog, with the tests PostgreSQL itself applies when it decides
 * whether to rewrite or scan a table: the volatility of a new column's
 * default, whether a column type change reduces to a binary-coercible
 * relabelling once the planner has simplified the length coercions away,
 * whether a validated CHECK constraint proves a column NOT NULL, whether the
 * table was created in this transaction, and its size in blocks.  What a
 * statement destroys without naming it (DROP ... CASCADE, DROP OWNED BY,
 * ALTER TYPE ... DROP ATTRIBUTE) comes from the dependency records, as
 * PostgreSQL's own deletion would find it (cascade.c).
 *
 * Locking: the classifier runs before the statement has taken any lock, and
 * must never wait for one, since waiting in the lock queue is precisely what
 * pg_migrate exists to bound.  Names are therefore resolved with NoLock and
 * missing_ok, and relations are looked at through the relation cache without
 * a lock.  The information may be a moment out of date when a concurrent
 * session is altering the same table; the statement itself takes the real
 * locks afterwards and re-checks everything, so the worst case is a verdict
 * on a slightly stale size.  A relation that does not exist is simply
 * skipped: the statement will fail (or do nothing, with IF EXISTS) on its
 * own.
 *
 * The classifier never raises an error of its own for a statement that
 * PostgreSQL would accept; where it cooks an expression (a column default)
 * an error it raises is the same error the statement would raise a moment
 * later.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/catalog.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_am.h"
#include "catalog/pg_class.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "commands/extension.h"
#include "commands/tablecmds.h"
#include "commands/tablespace.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parse_coerce.h"
#include "parser/parse_collate.h"
#include "parser/parse_expr.h"
#include "parser/parse_func.h"
#include "parser/parse_node.h"
#include "parser/parse_type.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

#include "core/compat.h"
#include "core/guc.h"
#include "core/parse.h"
#include "core/subxact.h"
#include "ddl/cascade.h"
#include "ddl/classify.h"
#include "ddl/session_tables.h"
#include "ddl/facts.h"

/*
 * The rule catalogue, as users see it in migrate_rules.  The default action
 * is what the install script puts in migrate_policy; keep the two in step
 * (the policy regression test compares them).
 */
const PgmRuleInfo pgm_rules[PGM_NUM_RULES] = {
	[PGM_RULE_DROP_TABLE] = {
		"drop_table",
		"DROP TABLE of a table that existed before the transaction: its data is lost.",
		"AccessExclusiveLock",
		"Rename the table out of the way first, drop it in a later release once nothing reads it, "
		"or record the reason with migrate_override('drop_table', 'reason').",
		"deny"},
	[PGM_RULE_DROP_SCHEMA] = {
		"drop_schema",
		"DROP SCHEMA of a schema that existed before the transaction: everything in it is lost.",
		"AccessExclusiveLock",
		"Drop the objects one by one after checking nothing uses them, "
		"or record the reason with migrate_override('drop_schema', 'reason').",
		"deny"},
	[PGM_RULE_DROP_COLUMN] = {
		"drop_column",
		"ALTER TABLE ... DROP COLUMN: the column's data is lost and code still reading it breaks.",
		"AccessExclusiveLock",
		"Stop reading and writing the column in the application first, then drop it in a later release "
		"with migrate_override('drop_column', 'reason').",
		"deny"},
	[PGM_RULE_TRUNCATE] = {
		"truncate",
		"TRUNCATE of a table that existed before the transaction: its data is lost.",
		"AccessExclusiveLock",
		"Delete in batches with migrate_batch_delete(), or record the reason with "
		"migrate_override('truncate', 'reason').",
		"deny"},
	[PGM_RULE_RENAME_TABLE] = {
		"rename_table",
		"Renaming a table, view or materialized view breaks running code that uses the old name.",
		"AccessExclusiveLock",
		"Hand the ALTER TABLE ... RENAME TO as it is to migrate_online(): a view keeps the old name until "
		"migrate_online_complete(); or create the new name as a view on the old table (or the reverse) and "
		"switch the application over first.",
		"warn"},
	[PGM_RULE_RENAME_COLUMN] = {
		"rename_column",
		"Renaming a column breaks running code that uses the old name.",
		"AccessExclusiveLock",
		"Hand the statement as it is to migrate_online(): both names work for readers and writers until "
		"migrate_online_complete(); or add a new column, write to both, backfill with migrate_batch_update(), "
		"switch readers, then drop the old one.",
		"warn"},
	[PGM_RULE_TABLE_REWRITE] = {
		"table_rewrite",
		"The statement rewrites every row of a populated table while holding a lock that blocks reads and writes.",
		"AccessExclusiveLock",
		"Add a nullable column (or one with a non-volatile default), backfill it with migrate_batch_update(), "
		"then swap; for a column type change, and an ADD COLUMN with a volatile default, serial or identity, "
		"migrate_online() does all of this from the statement as it is; use pg_repack-style "
		"online rebuilds instead of VACUUM FULL/CLUSTER.",
		"deny"},
	[PGM_RULE_BLOCKING_INDEX_BUILD] = {
		"blocking_index_build",
		"Building an index on a populated table without CONCURRENTLY blocks writes for the whole build.",
		"ShareLock",
		"CREATE INDEX CONCURRENTLY (or REINDEX CONCURRENTLY), then ADD CONSTRAINT ... USING INDEX for "
		"unique and primary keys; run it with migrate_apply_async(), or hand the statement as it is "
		"to migrate_online().",
		"deny"},
	[PGM_RULE_BLOCKING_INDEX_DROP] = {
		"blocking_index_drop",
		"DROP INDEX without CONCURRENTLY on a populated table waits for and blocks every reader and writer.",
		"AccessExclusiveLock",
		"DROP INDEX CONCURRENTLY, or hand the statement as it is to migrate_online().",
		"deny"},
	[PGM_RULE_VALIDATING_SCAN] = {
		"validating_scan",
		"Adding a CHECK or FOREIGN KEY constraint (or validating one under a write-blocking lock) scans "
		"the whole populated table while writes are blocked.",
		"AccessExclusiveLock / ShareRowExclusiveLock",
		"ADD CONSTRAINT ... NOT VALID, then ALTER TABLE ... VALIDATE CONSTRAINT in its own transaction; "
		"migrate_online() does both from the statement as it is.",
		"deny"},
	[PGM_RULE_NOT_NULL_SCAN] = {
		"not_null_scan",
		"SET NOT NULL scans the whole populated table under an AccessExclusiveLock unless a validated "
		"CHECK constraint already proves the column is not null.",
		"AccessExclusiveLock",
		PGM_NOT_NULL_RECIPE " migrate_online() does this from the statement as it is.",
		"deny"},
	[PGM_RULE_ADD_REQUIRED_COLUMN] = {
		"add_required_column",
		"ADD COLUMN ... NOT NULL without a default fails on a populated table (and breaks inserts of "
		"running code) after scanning it.",
		"AccessExclusiveLock",
		"Add the column with a non-volatile DEFAULT, or add it nullable, backfill, then SET NOT NULL "
		"behind a validated CHECK constraint.",
		"deny"},
	[PGM_RULE_LARGE_DML] = {
		"large_dml",
		"An UPDATE or DELETE in a migration that touches more than pg_migrate.max_migration_rows rows "
		"holds its row locks and bloats the table in one transaction.",
		"RowExclusiveLock",
		"Use migrate_batch_update() / migrate_batch_delete().",
		"warn"},
	[PGM_RULE_LOCK_TIMEOUT] = {
		"lock_timeout",
		"The statement takes a lock that blocks reads or writes on an existing table; waiting for it "
		"in the lock queue without a lock_timeout stalls every later query on the table.",
		"ShareLock or stronger",
		"SET lock_timeout (or let pg_migrate.lock_timeout_mode = inject do it) and retry on timeout.",
		"deny"},
};

/* What the classifier learns about one relation. */
typedef struct RelFacts
{
	bool		exists;
	char		relkind;
	char		relpersistence;
	bool		is_new;			/* created in this transaction */
	bool		populated;
	BlockNumber blocks;
	Oid			nspid;
	Oid			relam;
	Oid			reltablespace;
	char	   *relname;
} RelFacts;

static void add_op(PgmClassification *cls, PgmRule rule, Oid relid,
				   const RelFacts *f, LOCKMODE lockmode, const char *what);

/* The rule of a name, or -1. */
int
pgm_rule_from_name(const char *name)
{
	int			i;

	for (i = 0; i < PGM_NUM_RULES; i++)
		if (strcmp(pgm_rules[i].name, name) == 0)
			return i;
	return -1;
}

const char *
pgm_lockmode_name(LOCKMODE mode)
{
	if (mode == NoLock)
		return "NoLock";
	return GetLockmodeName(DEFAULT_LOCKMETHOD, mode);
}

char *
pgm_size_pretty(BlockNumber blocks)
{
	Datum		d = DirectFunctionCall1(pg_size_pretty,
									   Int64GetDatum((int64) blocks * BLCKSZ));

	return text_to_cstring(DatumGetTextPP(d));
}

/*
 * Physical size of a relation with storage, in blocks, read from the
 * storage manager: reltuples and relpages lag behind (and reltuples reads -1
 * after a rewrite).  A partitioned table or an inheritance parent counts its
 * whole tree, since the statements classified here recurse to it.
 */
static BlockNumber
relation_blocks(Oid relid, Relation rel)
{
	BlockNumber blocks = 0;

	if (RELKIND_HAS_STORAGE(rel->rd_rel->relkind))
		blocks = RelationGetNumberOfBlocks(rel);

	if (rel->rd_rel->relhassubclass)
	{
		List	   *children = find_all_inheritors(relid, NoLock, NULL);
		ListCell   *lc;

		foreach(lc, children)
		{
			Oid			child = lfirst_oid(lc);
			Relation	crel;

			if (child == relid)
				continue;
			crel = RelationIdGetRelation(child);
			if (crel == NULL)
				continue;
			if (RELKIND_HAS_STORAGE(crel->rd_rel->relkind))
				blocks += RelationGetNumberOfBlocks(crel);
			RelationClose(crel);
		}
	}
	return blocks;
}

/*
 * Gather the facts about one relation without locking it (see the file
 * header).  "New" uses the relation cache's record of the subtransaction
 * that created the relation, which survives later ALTERs of the same
 * transaction (the pg_class row's xmin would not: any ALTER updates it).
 */
static void
relation_facts(Oid relid, RelFacts *f)
{
	Relation	rel;

	memset(f, 0, sizeof(RelFacts));
	if (!OidIsValid(relid))
		return;
	rel = RelationIdGetRelation(relid);
	if (rel == NULL)
		return;

	f->exists = true;
	f->relkind = rel->rd_rel->relkind;
	f->relpersistence = rel->rd_rel->relpersistence;
	f->is_new = (rel->rd_createSubid != InvalidSubTransactionId);
	f->nspid = RelationGetNamespace(rel);
	f->relam = rel->rd_rel->relam;
	f->reltablespace = rel->rd_rel->reltablespace;
	f->relname = pstrdup(RelationGetRelationName(rel));
	f->blocks = relation_blocks(relid, rel);
	RelationClose(rel);

	/*
	 * Temporary tables are private to the session: nobody else waits for
	 * them or reads them, so nothing done to them is judged.
	 */
	f->populated = !f->is_new &&
		f->relpersistence != RELPERSISTENCE_TEMP &&
		(uint64) f->blocks * BLCKSZ > (uint64) pgm_small_table_size * 1024;

	/*
	 * Nor is a table this session created that no other session has used
	 * (session_tables.c): nobody can be queued behind its blocking locks.
	 */
	if (f->populated && pgm_own_new_tables && pgm_session_table_private(relid))
		f->populated = false;
}

/*
 * Does the relation hold no data at all?  A table (with its whole tree) of
 * 0 blocks has no row: dropping, truncating it or dropping one of its
 * columns loses nothing, whatever the rules about data loss say for tables
 * that existed before the transaction (pgbench -i truncates the tables it
 * created a moment before; pg_repack drops its empty log table).  Judged
 * on the block count, not on reltuples: a table whose rows were deleted
 * but not yet vacuumed away still has blocks and is judged as usual.
 */
static bool
holds_no_data(const RelFacts *f)
{
	return f->exists && f->blocks == 0 &&
		(f->relkind == RELKIND_RELATION || f->relkind == RELKIND_PARTITIONED_TABLE);
}

bool
pgm_relation_populated(Oid relid, BlockNumber *blocks, bool *is_new)
{
	RelFacts	f;

	relation_facts(relid, &f);
	if (blocks)
		*blocks = f.blocks;
	if (is_new)
		*is_new = f.is_new;
	return f.populated;
}

/*
 * Can other sessions queue behind a lock we hold on this relation?  Not when
 * it is gone, new in this transaction or temporary.
 */
bool
pgm_relation_visible_to_others(Oid relid)
{
	RelFacts	f;

	relation_facts(relid, &f);
	return f.exists && !f.is_new && f.relpersistence != RELPERSISTENCE_TEMP;
}

/*
 * The locks of the transaction a script walked by migrate_check would be
 * in, when the script has transaction control of its own (see check.c):
 * the walk runs in one transaction, but a COMMIT of the script releases
 * what the statements before it locked.  NULL: ask the lock manager.
 */
static List **script_locks = NULL;

void
pgm_classify_set_script_locks(List **locks)
{
	script_locks = locks;
}

/*
 * Do we already hold a lock on the relation at least as strong as "mode"
 * (one that conflicts with everything "mode" conflicts with)?  Then the
 * statement cannot wait for it.
 */
static bool
lock_already_held(Oid relid, LOCKMODE mode)
{
	LOCKTAG		tag;
	LockMethod	lm;
	LOCKMODE	m;

	SET_LOCKTAG_RELATION(tag, MyDatabaseId, relid);
	lm = GetLockTagsMethodTable(&tag);
	if (script_locks != NULL)
	{
		ListCell   *lc;

		foreach(lc, *script_locks)
		{
			PgmLockRequest *req = lfirst(lc);

			if (req->relid == relid &&
				(lm->conflictTab[req->lockmode] & lm->conflictTab[mode]) == lm->conflictTab[mode])
				return true;
		}
		return false;
	}
	for (m = mode; m <= MaxLockMode; m++)
	{
		if ((lm->conflictTab[m] & lm->conflictTab[mode]) != lm->conflictTab[mode])
			continue;
		if (PGM_LockHeldByMe(&tag, m))
			return true;
	}
	return false;
}

/*
 * Record that the statement will wait for "mode" on an existing relation,
 * when that lock blocks other sessions' reads or writes (ShareLock and
 * above conflict with RowExclusiveLock).  New and temporary relations are
 * invisible to other sessions, so nobody can be queued behind us on them.
 */
/* Add a lock request to a list, or strengthen the one on the same relation. */
static void
merge_lock(List **locks, Oid relid, LOCKMODE mode)
{
	PgmLockRequest *req;
	ListCell   *lc;

	foreach(lc, *locks)
	{
		req = lfirst(lc);
		if (req->relid == relid)
		{
			req->lockmode = Max(req->lockmode, mode);
			return;
		}
	}
	req = palloc(sizeof(PgmLockRequest));
	req->relid = relid;
	req->lockmode = mode;
	*locks = lappend(*locks, req);
}

/*
 * Remember a lock the statement will ask for on a table that existed before
 * this transaction: every one for migrate_plan, and those that block reads
 * or writes and are not held yet as the ones it may queue for.
 */
static void
add_lock(PgmClassification *cls, Oid relid, const RelFacts *f, LOCKMODE mode)
{
	if (!f->exists || f->is_new || f->relpersistence == RELPERSISTENCE_TEMP)
		return;
	/* Every lock asked for, held already or not: what migrate_plan shows. */
	merge_lock(&cls->requested, relid, mode);
	if (mode < ShareLock)
		return;
	if (lock_already_held(relid, mode))
		return;
	merge_lock(&cls->locks, relid, mode);
}

/* Add a finding about a relation to the classification. */
static void
add_op(PgmClassification *cls, PgmRule rule, Oid relid, const RelFacts *f,
	   LOCKMODE lockmode, const char *what)
{
	PgmOperation *op = palloc0(sizeof(PgmOperation));

	op->rule = rule;
	op->relid = relid;
	op->lockmode = lockmode;
	op->what = pstrdup(what);
	if (f && f->exists)
	{
		op->schemaname = get_namespace_name(f->nspid);
		op->relname = f->relname;
		op->blocks = f->blocks;
		op->populated = f->populated;
	}
	cls->ops = lappend(cls->ops, op);
}

/* Mark an operation as rewriting/scanning/building, for migrate_check. */
static void
mark_cost(PgmClassification *cls, bool rewrite, bool scan, bool build)
{
	PgmOperation *op = llast(cls->ops);

	op->rewrite = rewrite;
	op->scan = scan;
	op->build = build;
	if (op->populated && (rewrite || scan || build))
		cls->expensive = true;
}

static Oid
rangevar_relid(RangeVar *rv)
{
	if (rv == NULL)
		return InvalidOid;
	return RangeVarGetRelid(rv, NoLock, true);
}

/* ---------------------------------------------------------------------
 * Data lost without being named: cascades (see cascade.c)
 * ---------------------------------------------------------------------
 */

/*
 * Is a table or column that the statement destroys without naming it
 * worth a finding?  The same "populated" as every other rule (existed
 * before the transaction, not temporary, above pg_migrate.small_table_size),
 * except for the tables an extension declares as holding data
 * (pg_extension_config_dump, such as pg_migrate's own history): those are
 * an audit trail or the DBA's configuration, lost whatever their size, so
 * any that is not empty counts.
 */
static bool
loss_populated(const PgmCascadeLoss *loss, const RelFacts *f)
{
	if (!f->exists)
		return false;
	if (f->populated)
		return true;
	return loss->config && !f->is_new &&
		f->relpersistence != RELPERSISTENCE_TEMP && f->blocks > 0;
}

/*
 * One drop_table or drop_column finding per populated table or column in
 * "losses", judged exactly like a DROP TABLE or DROP COLUMN naming it.
 * "what" describes the statement for the message ("DROP OWNED BY r").
 */
static void
add_loss_ops(PgmClassification *cls, List *losses, const char *what)
{
	ListCell   *lc;

	foreach(lc, losses)
	{
		PgmCascadeLoss *loss = lfirst(lc);
		PgmOperation *op;
		RelFacts	f;
		char	   *attname = NULL;

		relation_facts(loss->relid, &f);
		if (!loss_populated(loss, &f))
			continue;
		if (loss->attnum != 0)
		{
			attname = get_attname(loss->relid, loss->attnum, true);
			if (attname == NULL)
				continue;
		}

		if (attname == NULL)
			add_op(cls, PGM_RULE_DROP_TABLE, loss->relid, &f, AccessExclusiveLock,
				   loss->named ?
				   psprintf("%s drops table \"%s\"", what, f.relname) :
				   psprintf("%s drops table \"%s\", which depends on %s",
							what, f.relname, loss->via));
		else
			add_op(cls, PGM_RULE_DROP_COLUMN, loss->relid, &f, AccessExclusiveLock,
				   psprintf("%s drops column %s of table \"%s\", which depends on %s",
							what, quote_identifier(attname), f.relname, loss->via));
		op = llast(cls->ops);
		op->colname = attname;
		op->via = loss->named ? pstrdup("it is owned by a role whose objects DROP OWNED drops") :
			psprintf("it depends on %s", loss->via);
	}
}

/*
 * Judge what dropping "targets" (ObjectAddress *) takes with it, when the
 * current user may drop every one of them (otherwise the statement fails
 * and loses nothing).
 */
static void
classify_cascade(PgmClassification *cls, List *targets, DropBehavior behavior,
				 bool report_named, const char *what)
{
	ListCell   *lc;

	foreach(lc, targets)
	{
		if (!pgm_object_owned_by_me(lfirst(lc)))
			return;
	}
	add_loss_ops(cls, pgm_cascade_losses(targets, behavior, report_named), what);
}

static ObjectAddress *
make_address(Oid classId, Oid objectId)
{
	ObjectAddress *addr = palloc0(sizeof(ObjectAddress));

	addr->classId = classId;
	addr->objectId = objectId;
	return addr;
}

/*
 * ALTER TYPE ... DROP ATTRIBUTE: typed tables lose the column (CASCADE; the
 * statement fails on them without it) and columns of the type lose the
 * field in every row, which PostgreSQL does without asking for CASCADE.
 */
static void
classify_drop_attribute(PgmClassification *cls, Oid relid, const RelFacts *f,
						AlterTableCmd *cmd)
{
	Oid			typid = get_rel_type_id(relid);
	char	   *typname = format_type_be(typid);
	List	   *users;
	ListCell   *lc;

	if (!OidIsValid(typid) || get_attnum(relid, cmd->name) == InvalidAttrNumber ||
		!PGM_relation_ownercheck(relid, GetUserId()))
		return;
	users = pgm_type_users(typid);
	if (cmd->behavior != DROP_CASCADE)
	{
		foreach(lc, users)
		{
			if (((PgmCascadeLoss *) lfirst(lc))->attnum == 0)
				return;			/* "it is the type of a typed table" */
		}
	}

	foreach(lc, users)
	{
		PgmCascadeLoss *loss = lfirst(lc);
		PgmOperation *op;
		RelFacts	uf;
		char	   *colname;

		relation_facts(loss->relid, &uf);
		if (!loss_populated(loss, &uf))
			continue;
		if (loss->attnum == 0)
		{
			if (get_attnum(loss->relid, cmd->name) == InvalidAttrNumber)
				continue;
			colname = pstrdup(cmd->name);
			add_op(cls, PGM_RULE_DROP_COLUMN, loss->relid, &uf, AccessExclusiveLock,
				   psprintf("DROP ATTRIBUTE %s of type %s drops column %s of typed table \"%s\"",
							quote_identifier(cmd->name), typname,
							quote_identifier(colname), uf.relname));
		}
		else
		{
			colname = get_attname(loss->relid, loss->attnum, true);
			if (colname == NULL)
				continue;
			add_op(cls, PGM_RULE_DROP_COLUMN, loss->relid, &uf, AccessExclusiveLock,
				   psprintf("DROP ATTRIBUTE %s of type %s discards that field from column %s "
							"in every row of table \"%s\"",
							quote_identifier(cmd->name), typname,
							quote_identifier(colname), uf.relname));
		}
		op = llast(cls->ops);
		op->colname = colname;
		op->via = psprintf("it uses type %s", typname);
	}
}

/*
 * Does a USING expression read the column being converted?  Any reference
 * to it (qualified or not) or to the whole row counts; a USING clause that
 * reads none (USING NULL, USING 0, USING other_col) replaces every value of
 * the column, which is the same loss as dropping it.
 */
typedef struct UsingCtx
{
	const char *colname;
	const char *relname;
} UsingCtx;

/*
 * Does an ALTER COLUMN TYPE ... USING expression read the column: by name,
 * through a star, or through the whole row?
 */
static bool
using_reads_column(Node *node, UsingCtx *ctx)
{
	if (node == NULL)
		return false;
	if (IsA(node, ColumnRef))
	{
		List	   *fields = ((ColumnRef *) node)->fields;
		Node	   *last = llast(fields);

		if (IsA(last, A_Star))
			return true;
		if (IsA(last, String) && strcmp(strVal(last), ctx->colname) == 0)
			return true;
		/* the whole row, by the table's name */
		if (list_length(fields) == 1 && IsA(last, String) &&
			strcmp(strVal(last), ctx->relname) == 0)
			return true;
		return false;
	}
	return raw_expression_tree_walker(node, using_reads_column, (void *) ctx);
}

/* ---------------------------------------------------------------------
 * ALTER TABLE
 * ---------------------------------------------------------------------
 */

/*
 * Does the default of a new column force a rewrite?  ATExecAddColumn stores
 * a non-volatile default as the column's "missing value" instead of writing
 * it into every row, except when the type is a domain with constraints
 * (which must be checked per row).  We cook the default the same way: parse
 * analysis, coercion to the column type, then expression_planner(), and ask
 * the same volatility question.
 */
static bool
default_needs_rewrite(ColumnDef *col, Node *raw_default, const char **why)
{
	Oid			typid;
	int32		typmod;
	ParseState *pstate;
	Node	   *expr;

	typenameTypeIdAndMod(NULL, col->typeName, &typid, &typmod);

	if (DomainHasConstraints(typid))
	{
		*why = "a domain type with constraints";
		return true;
	}
	if (raw_default == NULL)
		return false;

	pstate = make_parsestate(NULL);
	expr = transformExpr(pstate, copyObject(raw_default), EXPR_KIND_COLUMN_DEFAULT);
	expr = coerce_to_target_type(pstate, expr, exprType(expr), typid, typmod,
								 COERCION_ASSIGNMENT, COERCE_IMPLICIT_CAST, -1);
	free_parsestate(pstate);
	if (expr == NULL)
		return false;			/* ALTER TABLE will report the mismatch */
	expr = (Node *) expression_planner((Expr *) expr);
	if (contain_volatile_functions(expr))
	{
		*why = "a volatile default";
		return true;
	}
	return false;
}

/*
 * The same question for migrate_check, which must not execute an ADD
 * COLUMN whose default would be evaluated once for every existing row.
 */
bool
pgm_default_needs_rewrite(ColumnDef *col, Node *raw_default, const char **why)
{
	return default_needs_rewrite(col, raw_default, why);
}

/* pg_attribute.attnotnull, NOT VALID (18) or not. */
static bool
column_has_not_null(Oid relid, AttrNumber attnum)
{
	HeapTuple	tup = SearchSysCacheAttNum(relid, attnum);
	bool		notnull = false;

	if (HeapTupleIsValid(tup))
	{
		notnull = ((Form_pg_attribute) GETSTRUCT(tup))->attnotnull;
		ReleaseSysCache(tup);
	}
	return notnull;
}

/*
 * ADD PRIMARY KEY makes its columns NOT NULL: one that is not already, and
 * that no validated CHECK proves, costs a scan of the table as SET NOT
 * NULL does, whether the index is built or taken over (USING INDEX).
 */
static void
classify_primary_key_not_null(PgmClassification *cls, Oid relid, const RelFacts *f,
							  Constraint *con, LOCKMODE lockmode)
{
	List	   *attnums = NIL;
	ListCell   *lc;

	if (con->indexname != NULL)
	{
		Oid			indexoid = get_relname_relid(con->indexname, f->nspid);
		HeapTuple	itup;

		if (!OidIsValid(indexoid))
			return;
		itup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(indexoid));
		if (!HeapTupleIsValid(itup))
			return;
		{
			Form_pg_index ind = (Form_pg_index) GETSTRUCT(itup);
			int			i;

			for (i = 0; i < ind->indnkeyatts; i++)
				if (ind->indkey.values[i] > 0)
					attnums = lappend_int(attnums, ind->indkey.values[i]);
		}
		ReleaseSysCache(itup);
	}
	else
	{
		foreach(lc, con->keys)
		{
			AttrNumber	attnum = get_attnum(relid, strVal(lfirst(lc)));

			if (attnum != InvalidAttrNumber)
				attnums = lappend_int(attnums, attnum);
		}
	}

	foreach(lc, attnums)
	{
		AttrNumber	attnum = (AttrNumber) lfirst_int(lc);
		char	   *attname;

		/* on 18 a NOT NULL left NOT VALID makes ADD PRIMARY KEY fail instead */
		if (column_has_not_null(relid, attnum) || pgm_not_null_proven(relid, attnum))
			continue;
		attname = get_attname(relid, attnum, true);
		if (attname == NULL)
			continue;
		add_op(cls, PGM_RULE_NOT_NULL_SCAN, relid, f, lockmode,
			   psprintf("ADD PRIMARY KEY makes column %s NOT NULL, which scans table \"%s\"",
						quote_identifier(attname), f->relname));
		((PgmOperation *) llast(cls->ops))->colname = attname;
		mark_cost(cls, false, true, false);
	}
}

/*
 * ADD CONSTRAINT (or a constraint in the definition of new column
 * colname): a foreign key or CHECK without NOT VALID scans the table under
 * its lock, except a foreign key on a new column without a default
 * (fk_unchecked: its rows all hold NULL, so PostgreSQL marks it valid
 * without looking, transformFKConstraints); a UNIQUE, PRIMARY KEY or
 * EXCLUDE without USING INDEX builds an index; PRIMARY KEY makes its
 * columns NOT NULL; a NOT NULL constraint (18) scans unless NOT VALID or
 * proven; a foreign key also locks the table it references.
 */
static void
classify_constraint(PgmClassification *cls, Oid relid, const RelFacts *f,
					Constraint *con, LOCKMODE lockmode, const char *colname,
					bool fk_unchecked)
{
	char	   *what;

	switch (con->contype)
	{
		case CONSTR_NOTNULL:

			/*
			 * ADD CONSTRAINT ... NOT NULL col (PostgreSQL 18) scans the table
			 * like SET NOT NULL does, unless NOT VALID.  A column
			 * definition's NOT NULL (no keys) is add_required_column's.
			 */
			if (con->keys == NIL || con->skip_validation || !f->populated)
				break;
			{
				const char *col = strVal(linitial(con->keys));
				AttrNumber	attnum = get_attnum(relid, col);

				if (attnum == InvalidAttrNumber)
					break;
				if (pgm_column_not_null(relid, attnum) || pgm_not_null_proven(relid, attnum))
					break;
				add_op(cls, PGM_RULE_NOT_NULL_SCAN, relid, f, lockmode,
					   psprintf("ADD NOT NULL on column %s without NOT VALID scans table \"%s\"",
								quote_identifier(col), f->relname));
				mark_cost(cls, false, true, false);
			}
			break;
		case CONSTR_PRIMARY:
		case CONSTR_UNIQUE:
		case CONSTR_EXCLUSION:
			if (!f->populated)
				break;
			if (con->indexname == NULL)
			{
				what = psprintf("ADD %s builds an index on table \"%s\"",
								con->contype == CONSTR_PRIMARY ? "PRIMARY KEY" :
								con->contype == CONSTR_UNIQUE ? "UNIQUE" : "EXCLUDE",
								f->relname);
				add_op(cls, PGM_RULE_BLOCKING_INDEX_BUILD, relid, f, lockmode, what);
				mark_cost(cls, false, false, true);
			}
			if (con->contype == CONSTR_PRIMARY)
				classify_primary_key_not_null(cls, relid, f, con, lockmode);
			break;
		case CONSTR_FOREIGN:
			if (colname != NULL && fk_unchecked)
				break;
			/* FALLTHROUGH */
		case CONSTR_CHECK:
			if (con->skip_validation || !f->populated)
				break;
			what = psprintf("ADD %s%s%s without NOT VALID scans table \"%s\"",
							con->contype == CONSTR_CHECK ? "CHECK" : "FOREIGN KEY",
							colname ? " on new column " : "",
							colname ? quote_identifier(colname) : "",
							f->relname);
			add_op(cls, PGM_RULE_VALIDATING_SCAN, relid, f, lockmode, what);
			mark_cost(cls, false, true, false);
			break;
		default:
			break;
	}

	/* A foreign key also locks the referenced table against writes. */
	if (con->contype == CONSTR_FOREIGN && con->pktable)
	{
		Oid			pkrelid = rangevar_relid(con->pktable);
		RelFacts	pf;

		relation_facts(pkrelid, &pf);
		add_lock(cls, pkrelid, &pf, ShareRowExclusiveLock);
	}
}

/*
 * ADD COLUMN: a volatile default, serial, identity or stored generated
 * column rewrites a populated table; NOT NULL without a default on a
 * populated table cannot succeed (add_required_column); constraints in the
 * definition are judged as ADD CONSTRAINT would be.
 */
static void
classify_add_column(PgmClassification *cls, Oid relid, const RelFacts *f,
					AlterTableCmd *cmd, LOCKMODE lockmode)
{
	ColumnDef  *col = castNode(ColumnDef, cmd->def);
	Node	   *raw_default = col->raw_default;
	bool		notnull = col->is_not_null;
	bool		identity = col->identity != 0;
	bool		generated = col->generated != 0;
	bool		has_expression = false;
	const char *why = NULL;
	ListCell   *lc;

	/* ADD COLUMN IF NOT EXISTS of an existing column does nothing. */
	if (cmd->missing_ok && get_attnum(relid, col->colname) != InvalidAttrNumber)
		return;

	foreach(lc, col->constraints)
	{
		Constraint *con = lfirst_node(Constraint, lc);

		switch (con->contype)
		{
			case CONSTR_NOTNULL:
			case CONSTR_PRIMARY:
				notnull = true;
				break;
			case CONSTR_DEFAULT:
				raw_default = con->raw_expr;
				break;
			case CONSTR_IDENTITY:
				identity = true;
				break;
			case CONSTR_GENERATED:
				/* a virtual one (18) is computed when read: nothing stored */
				generated = !PGM_ConstraintIsVirtualGenerated(con);
				/* either way its expression is the column's default */
				has_expression = true;
				break;
			default:
				break;
		}
	}
	if (raw_default != NULL || OidIsValid(pgm_serial_type(col->typeName)))
		has_expression = true;

	foreach(lc, col->constraints)
		classify_constraint(cls, relid, f, lfirst_node(Constraint, lc), lockmode,
							col->colname, !has_expression);

	/* Views, foreign tables: nothing is stored, nothing is rewritten. */
	if (f->relkind != RELKIND_RELATION && f->relkind != RELKIND_PARTITIONED_TABLE)
		return;

	if (OidIsValid(pgm_serial_type(col->typeName)))
		why = "a serial type (its default is nextval(), which is volatile)";
	else if (identity)
		why = "an identity column (every row gets a sequence value)";
	else if (generated)
		why = "a stored generated column";
	else
		default_needs_rewrite(col, raw_default, &why);

	if (why != NULL)
	{
		if (f->populated)
		{
			add_op(cls, PGM_RULE_TABLE_REWRITE, relid, f, lockmode,
				   psprintf("ADD COLUMN %s with %s rewrites table \"%s\"",
							quote_identifier(col->colname), why, f->relname));
			mark_cost(cls, true, false, false);
		}
	}
	else if (notnull && raw_default == NULL && f->populated)
	{
		add_op(cls, PGM_RULE_ADD_REQUIRED_COLUMN, relid, f, lockmode,
			   psprintf("ADD COLUMN %s NOT NULL without a default on populated table \"%s\"",
						quote_identifier(col->colname), f->relname));
		mark_cost(cls, false, true, false);
	}
}

/*
 * Would ALTER COLUMN ... TYPE rewrite the table?  We build the conversion
 * ATPrepAlterColumnType builds: the USING expression transformed against
 * the table's row (or, without one, the old column), coerced to the new
 * type by assignment rules and planned by expression_planner(), whose
 * simplification support functions remove length coercions that cannot
 * change a value (varchar widening, numeric precision increase, timestamp
 * precision increase).  What is left must be the column itself under
 * relabellings, coercions to unconstrained domains, or the timestamp <->
 * timestamptz conversion that PostgreSQL skips when the session TimeZone
 * is UTC (see pgm_change_rewrites); "USING col::text" on a varchar column
 * is such a relabelling.  A USING expression referring to anything but the
 * table's own columns is taken to rewrite.
 */
bool
pgm_type_change_needs_rewrite(Oid relid, AlterTableCmd *cmd, const char **why,
							  char **typname)
{
	ColumnDef  *def = castNode(ColumnDef, cmd->def);
	HeapTuple	atttup;
	Form_pg_attribute att;
	Oid			targettype;
	int32		targettypmod;
	AttrNumber	attnum;
	Node	   *expr;

	atttup = SearchSysCacheAttName(relid, cmd->name);
	if (!HeapTupleIsValid(atttup))
		return false;			/* ALTER TABLE reports the missing column */
	att = (Form_pg_attribute) GETSTRUCT(atttup);
	attnum = att->attnum;

	typenameTypeIdAndMod(NULL, def->typeName, &targettype, &targettypmod);
	*typname = format_type_with_typemod(targettype, targettypmod);
	if (def->raw_default != NULL)
	{
		expr = pgm_using_expression(relid, def->raw_default);
		if (expr == NULL)
		{
			ReleaseSysCache(atttup);
			*why = "a USING expression";
			return true;
		}
	}
	else
		expr = (Node *) makeVar(1, attnum, att->atttypid, att->atttypmod,
								att->attcollation, 0);
	ReleaseSysCache(atttup);

	expr = coerce_to_target_type(NULL, expr, exprType(expr),
								 targettype, targettypmod,
								 COERCION_ASSIGNMENT, COERCE_IMPLICIT_CAST, -1);
	if (expr == NULL)
		return false;			/* ALTER TABLE reports the mismatch */
	assign_expr_collations(NULL, expr);
	expr = (Node *) expression_planner((Expr *) expr);
	if (!pgm_change_rewrites(expr, attnum, why))
		return false;
	if (def->raw_default != NULL && strcmp(*why, "a conversion that is not binary coercible") == 0)
		*why = "a USING expression";
	return true;
}

/*
 * What a type change does besides a rewrite, on one table with storage
 * (each partition of a partitioned one): indexes built again, CHECK and
 * foreign key constraints validated again, the tables at the other end of
 * its foreign keys locked (see pgm_type_change_effects).
 */
static void
classify_type_change_effects(PgmClassification *cls, Oid relid, AlterTableCmd *cmd,
							 bool rewrite)
{
	ColumnDef  *def = castNode(ColumnDef, cmd->def);
	PgmTypeChange tc;
	RelFacts	f;
	ListCell   *lc;

	relation_facts(relid, &f);
	memset(&tc, 0, sizeof(tc));
	tc.relid = relid;
	tc.attnum = get_attnum(relid, cmd->name);
	if (!f.exists || tc.attnum == InvalidAttrNumber)
		return;
	typenameTypeIdAndMod(NULL, def->typeName, &tc.newtype, &tc.newtypmod);
	tc.newcoll = pgm_column_def_collation(def, tc.newtype);
	tc.rewrite = rewrite;
	pgm_type_change_effects(&tc);
	if (tc.fails != NULL && cls->fails == NULL)
		cls->fails = tc.fails;

	foreach(lc, tc.fk_locked)
	{
		Oid			other = lfirst_oid(lc);
		RelFacts	of;

		relation_facts(other, &of);
		add_lock(cls, other, &of, AccessExclusiveLock);
	}
	if (!f.populated)
		return;
	foreach(lc, tc.rebuilt)
	{
		char	   *idxname = get_rel_name(lfirst_oid(lc));

		add_op(cls, PGM_RULE_BLOCKING_INDEX_BUILD, relid, &f, AccessExclusiveLock,
			   psprintf("ALTER COLUMN %s TYPE builds index %s of table \"%s\" again",
						quote_identifier(cmd->name),
						idxname ? quote_identifier(idxname) : "?", f.relname));
		mark_cost(cls, false, false, true);
	}
	foreach(lc, tc.rechecked)
	{
		char	   *conname = get_constraint_name(lfirst_oid(lc));

		add_op(cls, PGM_RULE_VALIDATING_SCAN, relid, &f, AccessExclusiveLock,
			   psprintf("ALTER COLUMN %s TYPE checks constraint %s again, scanning table \"%s\"",
						quote_identifier(cmd->name),
						conname ? quote_identifier(conname) : "?", f.relname));
		mark_cost(cls, false, true, false);
	}
	foreach(lc, tc.fk_validated)
	{
		Oid			conoid = lfirst_oid(lc);
		HeapTuple	contup = SearchSysCache1(CONSTROID, ObjectIdGetDatum(conoid));
		Oid			fkrelid;
		RelFacts	ff;

		if (!HeapTupleIsValid(contup))
			continue;
		fkrelid = ((Form_pg_constraint) GETSTRUCT(contup))->conrelid;
		ReleaseSysCache(contup);
		relation_facts(fkrelid, &ff);
		if (!ff.populated)
			continue;
		add_op(cls, PGM_RULE_VALIDATING_SCAN, fkrelid, &ff, AccessExclusiveLock,
			   psprintf("ALTER COLUMN %s TYPE on table \"%s\" validates foreign key %s again, "
						"scanning table \"%s\"",
						quote_identifier(cmd->name), f.relname,
						quote_identifier(get_constraint_name(conoid)), ff.relname));
		mark_cost(cls, false, true, false);
	}
}

/*
 * Run part of the classification that cooks expressions or bounds as
 * PostgreSQL will (and so may fail as it will, or run code the dry run
 * refuses) in a subtransaction, on a classification of its own merged into
 * cls when it succeeds.  When it fails, nothing is judged from it: the
 * statement meets its own error when it runs, PostgreSQL's words and order
 * of checks intact.  A cancel is not swallowed.
 */
typedef struct CaughtWork
{
	PgmClassification *part;
	void		(*fn) (PgmClassification *cls, void *arg);
	void	   *arg;
} CaughtWork;

static void
run_caught_work(void *arg)
{
	CaughtWork *cw = (CaughtWork *) arg;

	cw->fn(cw->part, cw->arg);
}

static void
classify_caught(PgmClassification *cls, void (*fn) (PgmClassification *cls, void *arg),
				void *arg)
{
	CaughtWork	cw;
	ErrorData  *edata;
	ListCell   *lc;

	cw.part = palloc0(sizeof(PgmClassification));
	cw.part->transactional = true;
	cw.fn = fn;
	cw.arg = arg;
	edata = pgm_subxact_run(run_caught_work, &cw, false);
	if (edata != NULL)
	{
		if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED ||
			edata->sqlerrcode == ERRCODE_ADMIN_SHUTDOWN)
			ReThrowError(edata);
		FreeErrorData(edata);
		return;
	}
	cls->ops = list_concat(cls->ops, cw.part->ops);
	foreach(lc, cw.part->requested)
	{
		PgmLockRequest *req = lfirst(lc);

		merge_lock(&cls->requested, req->relid, req->lockmode);
	}
	foreach(lc, cw.part->locks)
	{
		PgmLockRequest *req = lfirst(lc);

		merge_lock(&cls->locks, req->relid, req->lockmode);
	}
	cls->expensive |= cw.part->expensive;
	cls->transactional &= cw.part->transactional;
	if (cls->fails == NULL)
		cls->fails = cw.part->fails;
}

/* ALTER COLUMN ... TYPE, for classify_caught. */
typedef struct TypeChangeWork
{
	Oid			relid;
	const RelFacts *f;
	AlterTableCmd *cmd;
	LOCKMODE	lockmode;
	bool		inh;
} TypeChangeWork;

static void
classify_type_change(PgmClassification *cls, void *arg)
{
	TypeChangeWork *w = (TypeChangeWork *) arg;
	const RelFacts *f = w->f;
	const char *why = NULL;
	char	   *typname = NULL;
	bool		rewrite = pgm_type_change_needs_rewrite(w->relid, w->cmd, &why, &typname);
	List	   *tables;
	ListCell   *lc;

	if (f->populated && rewrite)
	{
		add_op(cls, PGM_RULE_TABLE_REWRITE, w->relid, f, w->lockmode,
			   psprintf("ALTER COLUMN %s TYPE %s with %s rewrites table \"%s\"",
						quote_identifier(w->cmd->name), typname, why, f->relname));
		mark_cost(cls, true, false, false);
	}
	/* indexes and constraints belong to each partition */
	tables = (f->relkind == RELKIND_PARTITIONED_TABLE && w->inh) ?
		find_all_inheritors(w->relid, NoLock, NULL) : list_make1_oid(w->relid);
	foreach(lc, tables)
		if (get_rel_relkind(lfirst_oid(lc)) == RELKIND_RELATION)
			classify_type_change_effects(cls, lfirst_oid(lc), w->cmd, rewrite);
}

/* Lock every inheritor of relid (not relid itself) with mode. */
static void
lock_inheritors(PgmClassification *cls, Oid relid, LOCKMODE mode)
{
	ListCell   *lc;

	if (!has_subclass(relid))
		return;
	foreach(lc, find_all_inheritors(relid, NoLock, NULL))
	{
		Oid			child = lfirst_oid(lc);
		RelFacts	cf;

		if (child == relid)
			continue;
		relation_facts(child, &cf);
		add_lock(cls, child, &cf, mode);
	}
}

/*
 * Does an ALTER TABLE subcommand recurse to the inheritors of the table
 * (partitions, inheritance children), locking each with the statement's
 * lock mode?  These are the subcommands ATPrepCmd and ATExecCmd make
 * recurse.  On a partitioned table every constraint and index goes to the
 * partitions; under plain inheritance only CHECK and NOT NULL constraints
 * are inherited (a PRIMARY KEY by its NOT NULL), though on 18 adding any
 * constraint locks the children, and a constraint dropped goes to the
 * children only when it exists and is inherited.
 */
static bool
subcommand_recurses(Oid relid, bool partitioned, AlterTableCmd *cmd)
{
	switch (cmd->subtype)
	{
		case AT_AddColumn:
		case AT_ColumnDefault:
		case AT_DropNotNull:
		case AT_SetNotNull:
		case AT_DropExpression:
		case AT_SetStatistics:
		case AT_SetStorage:
		case AT_SetCompression:
		case AT_DropColumn:
		case AT_AlterConstraint:
		case AT_ValidateConstraint:
		case AT_AlterColumnType:
		case AT_AddIdentity:
		case AT_SetIdentity:
		case AT_DropIdentity:
			return true;
		case AT_AddIndex:
			return partitioned;
		case AT_AddConstraint:
			if (partitioned || PGM_ADD_CONSTRAINT_LOCKS_CHILDREN)
				return true;
			if (cmd->def == NULL || !IsA(cmd->def, Constraint))
				return false;
			switch (((Constraint *) cmd->def)->contype)
			{
				case CONSTR_CHECK:
				case CONSTR_NOTNULL:
				case CONSTR_PRIMARY:
					return true;
				default:
					return false;
			}
		case AT_DropConstraint:
			{
				Oid			conoid = cmd->name ?
					get_relation_constraint_oid(relid, cmd->name, true) : InvalidOid;
				HeapTuple	tup;
				char		contype;

				if (!OidIsValid(conoid))
					return false;
				if (partitioned)
					return true;
				tup = SearchSysCache1(CONSTROID, ObjectIdGetDatum(conoid));
				if (!HeapTupleIsValid(tup))
					return false;
				contype = ((Form_pg_constraint) GETSTRUCT(tup))->contype;
				ReleaseSysCache(tup);
				return contype == CONSTRAINT_CHECK || PGM_CONTYPE_IS_NOT_NULL(contype);
			}
		default:
			return false;
	}
}

/*
 * A finding for each populated leaf table in "scans" that PostgreSQL scans
 * to check a partition bound.
 */
static void
add_bound_scans(PgmClassification *cls, List *scans, const char *what)
{
	ListCell   *lc;

	foreach(lc, scans)
	{
		Oid			leaf = lfirst_oid(lc);
		RelFacts	lf;

		relation_facts(leaf, &lf);
		if (!lf.populated)
			continue;
		add_op(cls, PGM_RULE_VALIDATING_SCAN, leaf, &lf, AccessExclusiveLock,
			   psprintf("%s scans table \"%s\"", what, lf.relname));
		mark_cost(cls, false, true, false);
	}
}

/* The leaf tables of relid (itself, when it is one). */
static List *
leaf_tables(Oid relid)
{
	List	   *leaves = NIL;
	ListCell   *lc;

	foreach(lc, find_all_inheritors(relid, NoLock, NULL))
		if (get_rel_relkind(lfirst_oid(lc)) == RELKIND_RELATION)
			leaves = lappend_oid(leaves, lfirst_oid(lc));
	return leaves;
}

/*
 * The default partition of a partitioned table, and its partitions, are
 * locked AccessExclusiveLock by ATTACH, DETACH and CREATE TABLE ...
 * PARTITION OF: its partition constraint changes.
 */
static Oid
lock_default_partition(PgmClassification *cls, Oid parentid)
{
	Oid			defaultid = get_default_partition_oid(parentid);
	RelFacts	df;

	if (!OidIsValid(defaultid))
		return InvalidOid;
	relation_facts(defaultid, &df);
	add_lock(cls, defaultid, &df, AccessExclusiveLock);
	lock_inheritors(cls, defaultid, AccessExclusiveLock);
	return defaultid;
}

/*
 * ALTER TABLE ... ATTACH PARTITION: the table attached (and its
 * partitions) and the default partition are locked AccessExclusiveLock and
 * scanned, each leaf whose constraints do not prove the new bound
 * (pgm_attach_scans).
 */
typedef struct AttachWork
{
	Oid			parentid;
	PartitionCmd *pc;
} AttachWork;

static void
classify_attach(PgmClassification *cls, void *arg)
{
	Oid			parentid = ((AttachWork *) arg)->parentid;
	PartitionCmd *pc = ((AttachWork *) arg)->pc;
	Oid			attachid = rangevar_relid(pc->name);
	Oid			defaultid;
	RelFacts	af;
	List	   *scans;
	bool		unknown;

	relation_facts(attachid, &af);
	if (!af.exists)
		return;
	add_lock(cls, attachid, &af, AccessExclusiveLock);
	lock_inheritors(cls, attachid, AccessExclusiveLock);
	defaultid = (pc->bound && pc->bound->is_default) ? InvalidOid :
		lock_default_partition(cls, parentid);
	scans = pgm_attach_scans(parentid, attachid, pc->bound, &unknown);
	if (unknown)
	{
		/* a bound computed by functions: assume the worst */
		scans = leaf_tables(attachid);
		if (OidIsValid(defaultid))
			scans = list_concat(scans, leaf_tables(defaultid));
	}
	add_bound_scans(cls, scans,
					psprintf("ATTACH PARTITION %s to check the partition bound",
							 quote_identifier(af.relname)));
}

/* DETACH PARTITION: the partition and the default partition are locked. */
static void
classify_detach(PgmClassification *cls, Oid parentid, PartitionCmd *pc)
{
	Oid			partid = rangevar_relid(pc->name);
	RelFacts	pf;

	relation_facts(partid, &pf);
	if (!pf.exists)
		return;
	if (pc->concurrent)
	{
		/*
		 * Measured (TAP 042_verdicts_toplevel): the first transaction takes
		 * ShareUpdateExclusiveLock on parent and partition; after waiting
		 * for every older user of the partition, the second one takes
		 * AccessExclusiveLock on the partition to finish.  Shown to
		 * migrate_plan, but not put under the lock retry: a retry of the
		 * statement after a timeout in its second transaction would find
		 * the detach pending (ALTER TABLE ... DETACH PARTITION ... FINALIZE
		 * ends it).
		 */
		cls->transactional = false;
		if (!pf.is_new && pf.relpersistence != RELPERSISTENCE_TEMP)
			merge_lock(&cls->requested, partid, AccessExclusiveLock);
		return;
	}
	add_lock(cls, partid, &pf, AccessExclusiveLock);
	(void) lock_default_partition(cls, parentid);
}

/*
 * ALTER TABLE (and ALTER TYPE ... ATTRIBUTE on a composite type): the lock
 * PostgreSQL will take for the whole list of subcommands, then one finding
 * per subcommand that rewrites, scans or builds an index on a populated
 * table, drops or renames something, or adds a required column.  The
 * decisions use the same facts ALTER TABLE uses (coercions, volatility of
 * defaults, proving constraints), read from the catalog before it runs.
 */
static void
classify_alter_table(PgmClassification *cls, AlterTableStmt *stmt)
{
	Oid			relid = rangevar_relid(stmt->relation);
	RelFacts	f;
	LOCKMODE	lockmode;
	ListCell   *lc;

	if (!OidIsValid(relid))
		return;
	relation_facts(relid, &f);
	if (!f.exists)
		return;

	lockmode = AlterTableGetLockLevel(stmt->cmds);
	add_lock(cls, relid, &f, lockmode);

	/* Subcommands that recurse lock every inheritor, unless ONLY. */
	if (stmt->relation->inh)
	{
		foreach(lc, stmt->cmds)
		{
			if (subcommand_recurses(relid, f.relkind == RELKIND_PARTITIONED_TABLE,
									lfirst_node(AlterTableCmd, lc)))
			{
				lock_inheritors(cls, relid, lockmode);
				break;
			}
		}
	}

	/* ALTER TYPE ... DROP ATTRIBUTE reaches the tables using the type. */
	if (f.relkind == RELKIND_COMPOSITE_TYPE)
	{
		foreach(lc, stmt->cmds)
		{
			AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

			if (cmd->subtype == AT_DropColumn)
				classify_drop_attribute(cls, relid, &f, cmd);
		}
		return;
	}

	/*
	 * ALTER INDEX ... SET TABLESPACE copies the index block by block under
	 * AccessExclusiveLock on it (no lock on the table, but every query
	 * planned on the table waits for it): the cost of a build, without
	 * scanning the table.
	 */
	if (f.relkind == RELKIND_INDEX)
	{
		foreach(lc, stmt->cmds)
		{
			AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);
			Oid			tsid;
			Oid			tabid;
			RelFacts	tf;

			if (cmd->subtype != AT_SetTableSpace)
				continue;
			tsid = get_tablespace_oid(cmd->name, true);
			if (tsid == MyDatabaseTableSpace)
				tsid = InvalidOid;
			tabid = IndexGetRelation(relid, true);
			relation_facts(tabid, &tf);
			if (tsid == f.reltablespace || !tf.populated)
				continue;
			/* the lock is on the index (a row of its own in the plan) */
			add_op(cls, PGM_RULE_BLOCKING_INDEX_BUILD, tabid, &tf, NoLock,
				   psprintf("ALTER INDEX %s SET TABLESPACE %s copies the index of table \"%s\" "
							"under AccessExclusiveLock while queries on the table wait",
							quote_identifier(f.relname), quote_identifier(cmd->name),
							tf.relname));
			mark_cost(cls, false, false, true);
		}
		return;
	}

	/* Sequences, views: only the lock matters. */
	if (f.relkind != RELKIND_RELATION && f.relkind != RELKIND_PARTITIONED_TABLE &&
		f.relkind != RELKIND_MATVIEW && f.relkind != RELKIND_FOREIGN_TABLE)
		return;

	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

		switch (cmd->subtype)
		{
			case AT_AddColumn:
				classify_add_column(cls, relid, &f, cmd, lockmode);
				break;

			case AT_DropColumn:
				if (f.is_new || f.relpersistence == RELPERSISTENCE_TEMP ||
					holds_no_data(&f))
					break;
				/* A missing column: ALTER TABLE reports it (or skips it). */
				if (get_attnum(relid, cmd->name) == InvalidAttrNumber)
					break;
				add_op(cls, PGM_RULE_DROP_COLUMN, relid, &f, lockmode,
					   psprintf("DROP COLUMN %s of table \"%s\"",
								quote_identifier(cmd->name), f.relname));
				((PgmOperation *) llast(cls->ops))->colname = pstrdup(cmd->name);
				break;

			case AT_AlterColumnType:
				if (f.relkind != RELKIND_RELATION && f.relkind != RELKIND_PARTITIONED_TABLE)
					break;
				if (f.populated && cmd->def &&
					castNode(ColumnDef, cmd->def)->raw_default != NULL &&
					get_attnum(relid, cmd->name) != InvalidAttrNumber)
				{
					UsingCtx	ctx = {cmd->name, f.relname};

					if (!using_reads_column(castNode(ColumnDef, cmd->def)->raw_default, &ctx))
					{
						Oid			newtype;
						int32		newtypmod;

						typenameTypeIdAndMod(NULL, castNode(ColumnDef, cmd->def)->typeName,
											 &newtype, &newtypmod);
						add_op(cls, PGM_RULE_DROP_COLUMN, relid, &f, lockmode,
							   psprintf("ALTER COLUMN %s TYPE %s USING an expression that does not "
										"read the column replaces every value of column %s of table \"%s\"",
										quote_identifier(cmd->name),
										format_type_with_typemod(newtype, newtypmod),
										quote_identifier(cmd->name), f.relname));
						((PgmOperation *) llast(cls->ops))->colname = pstrdup(cmd->name);
					}
				}
				{
					TypeChangeWork w = {relid, &f, cmd, lockmode, stmt->relation->inh};

					classify_caught(cls, classify_type_change, &w);
				}
				break;

			case AT_SetNotNull:
				{
					AttrNumber	attnum = get_attnum(relid, cmd->name);

					if (!f.populated || attnum == InvalidAttrNumber)
						break;
					if (pgm_column_not_null(relid, attnum) || pgm_not_null_proven(relid, attnum))
						break;
					add_op(cls, PGM_RULE_NOT_NULL_SCAN, relid, &f, lockmode,
						   psprintf("SET NOT NULL on column %s scans table \"%s\"",
									quote_identifier(cmd->name), f.relname));
					mark_cost(cls, false, true, false);
				}
				break;

			case AT_AddConstraint:
				if (cmd->def && IsA(cmd->def, Constraint))
					classify_constraint(cls, relid, &f, (Constraint *) cmd->def,
										lockmode, NULL, false);
				break;

			case AT_AlterConstraint:

				/*
				 * ALTER CONSTRAINT ... ENFORCED (18) validates a foreign key
				 * that was NOT ENFORCED, and creates its triggers on the
				 * referenced table.
				 */
				if (PGM_AlterConstraintEnforces(cmd->def))
				{
					char	   *conname = PGM_AlterConstraintName(cmd->def);
					Oid			conoid = conname ? get_relation_constraint_oid(relid, conname, true) : InvalidOid;
					HeapTuple	contup = OidIsValid(conoid) ?
						SearchSysCache1(CONSTROID, ObjectIdGetDatum(conoid)) : NULL;
					Form_pg_constraint con;
					RelFacts	pf;

					if (!HeapTupleIsValid(contup))
						break;
					con = (Form_pg_constraint) GETSTRUCT(contup);
					if (con->contype == CONSTRAINT_FOREIGN && !PGM_ConstraintEnforced(con))
					{
						relation_facts(con->confrelid, &pf);
						add_lock(cls, con->confrelid, &pf, ShareRowExclusiveLock);
						if (f.populated)
						{
							add_op(cls, PGM_RULE_VALIDATING_SCAN, relid, &f, lockmode,
								   psprintf("ALTER CONSTRAINT %s ENFORCED validates the foreign key, scanning table \"%s\"",
											quote_identifier(conname), f.relname));
							mark_cost(cls, false, true, false);
						}
					}
					ReleaseSysCache(contup);
				}
				break;

			case AT_AttachPartition:
				if (f.relkind == RELKIND_PARTITIONED_TABLE && cmd->def &&
					IsA(cmd->def, PartitionCmd))
				{
					AttachWork	w = {relid, (PartitionCmd *) cmd->def};

					classify_caught(cls, classify_attach, &w);
				}
				break;

			case AT_DetachPartition:
				if (f.relkind == RELKIND_PARTITIONED_TABLE && cmd->def &&
					IsA(cmd->def, PartitionCmd))
					classify_detach(cls, relid, (PartitionCmd *) cmd->def);
				break;

			case AT_ValidateConstraint:

				/*
				 * VALIDATE itself takes only ShareUpdateExclusiveLock; the
				 * danger is an earlier statement of the same transaction
				 * holding a lock that blocks writes during the scan.
				 */
				if (f.populated && !f.is_new &&
					lock_already_held(relid, ShareLock))
				{
					add_op(cls, PGM_RULE_VALIDATING_SCAN, relid, &f, ShareLock,
						   psprintf("VALIDATE CONSTRAINT %s scans table \"%s\" while this "
									"transaction blocks writes to it",
									quote_identifier(cmd->name), f.relname));
					mark_cost(cls, false, true, false);
				}
				break;

			case AT_SetLogged:
			case AT_SetUnLogged:
				if (f.populated &&
					f.relpersistence != (cmd->subtype == AT_SetLogged ?
										 RELPERSISTENCE_PERMANENT : RELPERSISTENCE_UNLOGGED))
				{
					add_op(cls, PGM_RULE_TABLE_REWRITE, relid, &f, lockmode,
						   psprintf("SET %s rewrites table \"%s\"",
									cmd->subtype == AT_SetLogged ? "LOGGED" : "UNLOGGED",
									f.relname));
					mark_cost(cls, true, false, false);
				}
				break;

			case AT_SetTableSpace:
				{
					Oid			tsid = get_tablespace_oid(cmd->name, true);

					if (tsid == MyDatabaseTableSpace)
						tsid = InvalidOid;
					if (f.populated && tsid != f.reltablespace)
					{
						add_op(cls, PGM_RULE_TABLE_REWRITE, relid, &f, lockmode,
							   psprintf("SET TABLESPACE %s copies table \"%s\"",
										quote_identifier(cmd->name), f.relname));
						mark_cost(cls, true, false, false);
					}
				}
				break;

#ifdef PGM_HAVE_SET_ACCESS_METHOD
			case AT_SetAccessMethod:
				{
					Oid			amid = cmd->name ? get_table_am_oid(cmd->name, true) : InvalidOid;

					if (f.populated && OidIsValid(amid) && amid != f.relam)
					{
						add_op(cls, PGM_RULE_TABLE_REWRITE, relid, &f, lockmode,
							   psprintf("SET ACCESS METHOD %s rewrites table \"%s\"",
										quote_identifier(cmd->name), f.relname));
						mark_cost(cls, true, false, false);
					}
				}
				break;
#endif

			default:
				break;
		}
	}
}

/* ---------------------------------------------------------------------
 * Other statements
 * ---------------------------------------------------------------------
 */

/* Was this schema created in the current transaction? */
static bool
schema_is_new(Oid nspid)
{
	HeapTuple	tup = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(nspid));
	bool		is_new = false;

	if (HeapTupleIsValid(tup))
	{
		is_new = TransactionIdIsCurrentTransactionId(HeapTupleHeaderGetXmin(tup->t_data));
		ReleaseSysCache(tup);
	}
	return is_new;
}

/*
 * The object a DROP names, for the cascade walk; NULL when it does not
 * exist (the statement fails, or does nothing with IF EXISTS) or is of a
 * kind that never carries tables or columns with it.
 */
static ObjectAddress *
drop_target(ObjectType type, Node *object)
{
	Oid			oid;

	switch (type)
	{
		case OBJECT_TYPE:
		case OBJECT_DOMAIN:
			oid = LookupTypeNameOid(NULL, castNode(TypeName, object), true);
			return OidIsValid(oid) ? make_address(TypeRelationId, oid) : NULL;
		case OBJECT_COLLATION:
			oid = get_collation_oid(castNode(List, object), true);
			return OidIsValid(oid) ? make_address(CollationRelationId, oid) : NULL;
		case OBJECT_FUNCTION:
		case OBJECT_PROCEDURE:
		case OBJECT_ROUTINE:
		case OBJECT_AGGREGATE:
			oid = LookupFuncWithArgs(type, castNode(ObjectWithArgs, object), true);
			return OidIsValid(oid) ? make_address(ProcedureRelationId, oid) : NULL;
		case OBJECT_EXTENSION:
			oid = get_extension_oid(strVal(object), true);
			return OidIsValid(oid) ? make_address(ExtensionRelationId, oid) : NULL;
		case OBJECT_SCHEMA:
			oid = get_namespace_oid(strVal(object), true);
			return OidIsValid(oid) ? make_address(NamespaceRelationId, oid) : NULL;
		case OBJECT_TABLE:
		case OBJECT_FOREIGN_TABLE:
		case OBJECT_MATVIEW:
		case OBJECT_VIEW:
		case OBJECT_SEQUENCE:
			oid = rangevar_relid(makeRangeVarFromNameList(castNode(List, object)));
			return OidIsValid(oid) ? make_address(RelationRelationId, oid) : NULL;
		default:
			return NULL;
	}
}

/* The words a message uses for the kind of object a DROP names. */
static const char *
drop_object_kind(ObjectType type)
{
	switch (type)
	{
		case OBJECT_TYPE:
			return "TYPE";
		case OBJECT_DOMAIN:
			return "DOMAIN";
		case OBJECT_COLLATION:
			return "COLLATION";
		case OBJECT_FUNCTION:
			return "FUNCTION";
		case OBJECT_PROCEDURE:
			return "PROCEDURE";
		case OBJECT_ROUTINE:
			return "ROUTINE";
		case OBJECT_AGGREGATE:
			return "AGGREGATE";
		case OBJECT_EXTENSION:
			return "EXTENSION";
		case OBJECT_SCHEMA:
			return "SCHEMA";
		case OBJECT_TABLE:
			return "TABLE";
		case OBJECT_FOREIGN_TABLE:
			return "FOREIGN TABLE";
		case OBJECT_MATVIEW:
			return "MATERIALIZED VIEW";
		case OBJECT_VIEW:
			return "VIEW";
		case OBJECT_SEQUENCE:
			return "SEQUENCE";
		default:
			return "";
	}
}

/*
 * DROP of relations, schemas, types, indexes and the other objects that can
 * take data with them: a finding for each table or column lost, the ones a
 * CASCADE or a dependency reaches included (cascade.c), and the blocking
 * locks the drop will wait for.
 */
static void
classify_drop(PgmClassification *cls, DropStmt *stmt)
{
	ListCell   *lc;
	List	   *targets = NIL;

	if (stmt->concurrent)
		cls->transactional = false;

	foreach(lc, stmt->objects)
	{
		switch (stmt->removeType)
		{
			case OBJECT_TABLE:
			case OBJECT_FOREIGN_TABLE:
			case OBJECT_MATVIEW:
			case OBJECT_VIEW:
			case OBJECT_SEQUENCE:
			case OBJECT_INDEX:
				{
					RangeVar   *rv = makeRangeVarFromNameList((List *) lfirst(lc));
					Oid			relid = rangevar_relid(rv);
					RelFacts	f;

					relation_facts(relid, &f);
					if (!f.exists)
						break;

					if (stmt->removeType == OBJECT_INDEX)
					{
						Oid			tabid = IndexGetRelation(relid, true);
						RelFacts	tf;

						relation_facts(tabid, &tf);
						if (!tf.exists)
							break;
						if (stmt->concurrent)
						{
							/*
							 * Measured (TAP 042): ShareUpdateExclusiveLock
							 * on the table and the index for the whole
							 * run, readers and writers go on.
							 */
							add_lock(cls, tabid, &tf, ShareUpdateExclusiveLock);
							add_lock(cls, relid, &f, ShareUpdateExclusiveLock);
							break;
						}
						add_lock(cls, tabid, &tf, AccessExclusiveLock);
						if (tf.populated)
							add_op(cls, PGM_RULE_BLOCKING_INDEX_DROP, tabid, &tf,
								   AccessExclusiveLock,
								   psprintf("DROP INDEX %s on populated table \"%s\"",
											quote_identifier(f.relname), tf.relname));
						break;
					}

					add_lock(cls, relid, &f, AccessExclusiveLock);
					if (stmt->removeType == OBJECT_TABLE && !f.is_new &&
						f.relpersistence != RELPERSISTENCE_TEMP && !holds_no_data(&f))
						add_op(cls, PGM_RULE_DROP_TABLE, relid, &f, AccessExclusiveLock,
							   psprintf("DROP TABLE \"%s\"", f.relname));
				}
				break;

			case OBJECT_SCHEMA:
				{
					const char *name = strVal(lfirst(lc));
					Oid			nspid = get_namespace_oid(name, true);
					PgmOperation *op;

					if (!OidIsValid(nspid) || schema_is_new(nspid) ||
						isAnyTempNamespace(nspid))
						break;
					add_op(cls, PGM_RULE_DROP_SCHEMA, InvalidOid, NULL,
						   AccessExclusiveLock,
						   psprintf("DROP SCHEMA %s%s", quote_identifier(name),
									stmt->behavior == DROP_CASCADE ? " CASCADE" : ""));
					op = llast(cls->ops);
					op->schemaname = pstrdup(name);
				}
				break;

			default:
				break;
		}
	}

	/*
	 * What the objects named take with them.  A target that does not exist
	 * is left out: without IF EXISTS the statement fails, with it the
	 * others are dropped.
	 */
	if (stmt->removeType == OBJECT_INDEX)
		return;
	foreach(lc, stmt->objects)
	{
		ObjectAddress *addr = drop_target(stmt->removeType, lfirst(lc));

		if (addr)
			targets = lappend(targets, addr);
	}
	if (targets != NIL)
		classify_cascade(cls, targets, stmt->behavior, false,
						 psprintf("DROP %s%s", drop_object_kind(stmt->removeType),
								  stmt->behavior == DROP_CASCADE ? " ... CASCADE" : ""));
}

/*
 * CREATE INDEX: without CONCURRENTLY it blocks writes while it builds on a
 * populated table; CONCURRENTLY cannot run in a transaction block.
 */
static void
classify_index(PgmClassification *cls, IndexStmt *stmt)
{
	Oid			relid;
	RelFacts	f;

	relid = rangevar_relid(stmt->relation);
	relation_facts(relid, &f);
	if (stmt->concurrent)
	{
		/* Blocks nobody's reads or writes: nothing to judge, only to show. */
		cls->transactional = false;
		if (f.exists && !f.is_new)
			merge_lock(&cls->requested, relid, ShareUpdateExclusiveLock);
		return;
	}
	if (!f.exists)
		return;
	if (stmt->if_not_exists && stmt->idxname &&
		OidIsValid(get_relname_relid(stmt->idxname, f.nspid)))
		return;

	add_lock(cls, relid, &f, ShareLock);

	/*
	 * On a partitioned table the index is built on every partition, each
	 * locked ShareLock; ON ONLY the parent it is an invalid index of the
	 * catalog alone, attached to partitions' indexes later.
	 */
	if (f.relkind == RELKIND_PARTITIONED_TABLE)
	{
		if (!stmt->relation->inh)
			return;
		lock_inheritors(cls, relid, ShareLock);
	}
	if (f.populated)
	{
		add_op(cls, PGM_RULE_BLOCKING_INDEX_BUILD, relid, &f, ShareLock,
			   psprintf("CREATE %sINDEX without CONCURRENTLY on populated table \"%s\"",
						stmt->unique ? "UNIQUE " : "", f.relname));
		mark_cost(cls, false, false, true);
	}
}

/*
 * The lock a REINDEX of one index or one table takes on each index it
 * rebuilds; f describes the table relid.
 */
static void
lock_reindexed(PgmClassification *cls, ReindexStmt *stmt, Oid relid, RelFacts *f,
			   LOCKMODE mode)
{
	List	   *indexes = NIL;
	ListCell   *lc;

	if (stmt->kind == REINDEX_OBJECT_INDEX)
		indexes = list_make1_oid(rangevar_relid(stmt->relation));
	else if (f->relkind == RELKIND_RELATION || f->relkind == RELKIND_MATVIEW)
	{
		Relation	rel = RelationIdGetRelation(relid);

		if (rel != NULL)
		{
			indexes = RelationGetIndexList(rel);
			RelationClose(rel);
		}
	}
	foreach(lc, indexes)
	{
		RelFacts	xf;

		relation_facts(lfirst_oid(lc), &xf);
		add_lock(cls, lfirst_oid(lc), &xf, mode);
	}
}

/*
 * REINDEX CONCURRENTLY of one index or one table: measured (TAP
 * 042_verdicts_toplevel), it holds ShareUpdateExclusiveLock on the table
 * and on every index it rebuilds, old and new copies, for its whole run;
 * readers and writers go on.  Schema, system and database forms name no
 * relation.
 */
static void
reindex_concurrently_locks(PgmClassification *cls, ReindexStmt *stmt)
{
	Oid			relid = InvalidOid;
	RelFacts	f;

	if (stmt->kind == REINDEX_OBJECT_INDEX)
	{
		Oid			indexid = rangevar_relid(stmt->relation);

		if (!OidIsValid(indexid))
			return;
		relid = IndexGetRelation(indexid, true);
	}
	else if (stmt->kind == REINDEX_OBJECT_TABLE)
		relid = rangevar_relid(stmt->relation);
	relation_facts(relid, &f);
	if (!f.exists)
		return;
	add_lock(cls, relid, &f, ShareUpdateExclusiveLock);
	lock_reindexed(cls, stmt, relid, &f, ShareUpdateExclusiveLock);
}

/*
 * REINDEX: without CONCURRENTLY it blocks writes (and reads through the
 * index) while it rebuilds the indexes of a populated table; the
 * CONCURRENTLY and database-wide forms cannot run in a transaction block.
 */
static void
classify_reindex(PgmClassification *cls, ReindexStmt *stmt)
{
	Oid			relid = InvalidOid;
	RelFacts	f;

	if (pgm_option_true(stmt->params, "concurrently"))
	{
		cls->transactional = false;
		reindex_concurrently_locks(cls, stmt);
		return;
	}

	switch (stmt->kind)
	{
		case REINDEX_OBJECT_INDEX:
			relid = IndexGetRelation(rangevar_relid(stmt->relation), true);
			break;
		case REINDEX_OBJECT_TABLE:
			relid = rangevar_relid(stmt->relation);
			break;
		default:
			/* SCHEMA, SYSTEM, DATABASE: one transaction per table. */
			cls->transactional = false;
			add_op(cls, PGM_RULE_BLOCKING_INDEX_BUILD, InvalidOid, NULL, ShareLock,
				   psprintf("REINDEX %s %s without CONCURRENTLY",
							stmt->kind == REINDEX_OBJECT_SCHEMA ? "SCHEMA" :
							stmt->kind == REINDEX_OBJECT_SYSTEM ? "SYSTEM" : "DATABASE",
							stmt->name ? quote_identifier(stmt->name) : ""));
			if (stmt->kind == REINDEX_OBJECT_SCHEMA && stmt->name)
				((PgmOperation *) llast(cls->ops))->schemaname = pstrdup(stmt->name);
			((PgmOperation *) llast(cls->ops))->populated = true;
			mark_cost(cls, false, false, true);
			return;
	}

	relation_facts(relid, &f);
	if (!f.exists)
		return;
	/* A partitioned tree is reindexed one transaction per partition. */
	if (f.relkind == RELKIND_PARTITIONED_TABLE)
		cls->transactional = false;

	/*
	 * REINDEX holds ShareLock on the table, but AccessExclusiveLock on each
	 * index it builds, and every query planned on the table needs a lock on
	 * its indexes: in effect it blocks reads and writes.
	 */
	add_lock(cls, relid, &f, ShareLock);
	lock_reindexed(cls, stmt, relid, &f, AccessExclusiveLock);
	if (f.populated)
	{
		add_op(cls, PGM_RULE_BLOCKING_INDEX_BUILD, relid, &f, ShareLock,
			   psprintf("REINDEX without CONCURRENTLY on populated table \"%s\" locks its indexes AccessExclusiveLock",
						f.relname));
		mark_cost(cls, false, false, true);
	}
}

/* VACUUM FULL and CLUSTER: a full rewrite under AccessExclusiveLock. */
static void
classify_rewrite_command(PgmClassification *cls, RangeVar *rv, const char *cmd)
{
	Oid			relid;
	RelFacts	f;

	if (rv == NULL)
	{
		/* Every table of the database (VACUUM FULL) or every clustered one. */
		add_op(cls, PGM_RULE_TABLE_REWRITE, InvalidOid, NULL, AccessExclusiveLock,
			   psprintf("%s without a table name rewrites every %stable of the database",
						cmd, strcmp(cmd, "CLUSTER") == 0 ? "clustered " : ""));
		((PgmOperation *) llast(cls->ops))->populated = true;
		mark_cost(cls, true, false, false);
		return;
	}
	relid = rangevar_relid(rv);
	relation_facts(relid, &f);
	if (!f.exists)
		return;
	/* CLUSTER of a partitioned table runs one transaction per partition. */
	if (f.relkind == RELKIND_PARTITIONED_TABLE)
		cls->transactional = false;
	add_lock(cls, relid, &f, AccessExclusiveLock);
	if (f.populated)
	{
		add_op(cls, PGM_RULE_TABLE_REWRITE, relid, &f, AccessExclusiveLock,
			   psprintf("%s rewrites table \"%s\"", cmd, f.relname));
		mark_cost(cls, true, false, false);
	}
}

/* The lock a statement on a list of relations takes on each of them. */
static void
classify_relations_lock(PgmClassification *cls, List *rangevars, LOCKMODE mode)
{
	ListCell   *lc;

	foreach(lc, rangevars)
	{
		Oid			relid = rangevar_relid(lfirst_node(RangeVar, lc));
		RelFacts	f;

		relation_facts(relid, &f);
		add_lock(cls, relid, &f, mode);
	}
}

/*
 * CREATE TABLE ... PARTITION OF, for classify_caught: the default
 * partition is locked, and scanned unless its constraints show it holds no
 * row of the new partition (check_default_partition_contents).
 */
typedef struct PartitionOfWork
{
	Oid			parentid;
	CreateStmt *stmt;
} PartitionOfWork;

static void
classify_partition_of(PgmClassification *cls, void *arg)
{
	PartitionOfWork *w = (PartitionOfWork *) arg;
	Oid			defaultid = lock_default_partition(cls, w->parentid);
	List	   *scans;
	bool		unknown;

	scans = pgm_default_partition_scans(w->parentid, w->stmt->partbound, &unknown);
	if (unknown && OidIsValid(defaultid))
		scans = leaf_tables(defaultid);
	add_bound_scans(cls, scans,
					psprintf("CREATE TABLE %s PARTITION OF checks the default partition: it",
							 quote_identifier(w->stmt->relation->relname)));
}

/* CREATE TABLE: new itself, but it may lock existing tables. */
static void
classify_create(PgmClassification *cls, CreateStmt *stmt)
{
	ListCell   *lc;

	/*
	 * CREATE TABLE ... PARTITION OF locks the parent AccessExclusive, and
	 * the default partition too, which it scans unless its constraints show
	 * it holds no row of the new partition (check_default_partition_contents).
	 */
	if (stmt->partbound && stmt->inhRelations)
	{
		Oid			parentid = rangevar_relid(linitial_node(RangeVar, stmt->inhRelations));

		classify_relations_lock(cls, stmt->inhRelations, AccessExclusiveLock);
		if (OidIsValid(parentid) && !stmt->partbound->is_default &&
			get_rel_relkind(parentid) == RELKIND_PARTITIONED_TABLE)
		{
			PartitionOfWork w = {parentid, stmt};

			classify_caught(cls, classify_partition_of, &w);
		}
	}

	/* REFERENCES lock the referenced table against writes. */
	foreach(lc, stmt->tableElts)
	{
		Node	   *elt = lfirst(lc);
		List	   *cons = NIL;
		ListCell   *lc2;

		if (IsA(elt, ColumnDef))
			cons = ((ColumnDef *) elt)->constraints;
		else if (IsA(elt, Constraint))
			cons = list_make1(elt);
		foreach(lc2, cons)
		{
			Constraint *con = lfirst_node(Constraint, lc2);

			if (con->contype == CONSTR_FOREIGN && con->pktable)
				classify_relations_lock(cls, list_make1(con->pktable),
										ShareRowExclusiveLock);
		}
	}
}

/*
 * RENAME of a table, view, materialized view, foreign table or column:
 * breaks running code whatever the size (rename_table, rename_column).
 */
static void
classify_rename(PgmClassification *cls, RenameStmt *stmt)
{
	Oid			relid;
	RelFacts	f;
	bool		column;

	switch (stmt->renameType)
	{
		case OBJECT_TABLE:
		case OBJECT_VIEW:
		case OBJECT_MATVIEW:
		case OBJECT_FOREIGN_TABLE:
			column = false;
			break;
		case OBJECT_COLUMN:
			column = true;
			break;
		default:
			return;
	}
	relid = rangevar_relid(stmt->relation);
	relation_facts(relid, &f);
	if (!f.exists)
		return;
	add_lock(cls, relid, &f, AccessExclusiveLock);
	if (f.is_new || f.relpersistence == RELPERSISTENCE_TEMP)
		return;
	if (column)
		add_op(cls, PGM_RULE_RENAME_COLUMN, relid, &f, AccessExclusiveLock,
			   psprintf("RENAME COLUMN %s of \"%s\" to %s",
						quote_identifier(stmt->subname), f.relname,
						quote_identifier(stmt->newname)));
	else
		add_op(cls, PGM_RULE_RENAME_TABLE, relid, &f, AccessExclusiveLock,
			   psprintf("RENAME \"%s\" to %s", f.relname,
						quote_identifier(stmt->newname)));
}

/*
 * ALTER DOMAIN ... ADD CONSTRAINT (without NOT VALID), VALIDATE CONSTRAINT
 * and SET NOT NULL check every stored value of the domain: each table and
 * materialized view with a column of the domain, or of a domain over it,
 * is locked ShareLock and scanned (pgm_domain_relations).
 */
static void
classify_alter_domain(PgmClassification *cls, AlterDomainStmt *stmt)
{
	TypeName   *tn = makeTypeNameFromNameList(stmt->typeName);
	Oid			domainid = LookupTypeNameOid(NULL, tn, true);
	Constraint *con = (stmt->def && IsA(stmt->def, Constraint)) ? (Constraint *) stmt->def : NULL;
	PgmRule		rule;
	const char *what;
	ListCell   *lc;

	if (!OidIsValid(domainid) || get_typtype(domainid) != TYPTYPE_DOMAIN)
		return;
	switch (stmt->subtype)
	{
		case 'C':
			if (con == NULL || con->skip_validation ||
				(con->contype != CONSTR_CHECK && con->contype != CONSTR_NOTNULL))
				return;
			rule = con->contype == CONSTR_NOTNULL ? PGM_RULE_NOT_NULL_SCAN : PGM_RULE_VALIDATING_SCAN;
			what = "ADD CONSTRAINT";
			break;
		case 'V':
			rule = PGM_RULE_VALIDATING_SCAN;
			what = "VALIDATE CONSTRAINT";
			break;
		case 'O':
			{
				HeapTuple	tup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(domainid));
				bool		already = false;

				if (HeapTupleIsValid(tup))
				{
					already = ((Form_pg_type) GETSTRUCT(tup))->typnotnull;
					ReleaseSysCache(tup);
				}
				if (already)
					return;		/* nothing to check */
			}
			rule = PGM_RULE_NOT_NULL_SCAN;
			what = "SET NOT NULL";
			break;
		default:
			return;
	}

	foreach(lc, pgm_domain_relations(domainid))
	{
		Oid			relid = lfirst_oid(lc);
		RelFacts	f;

		relation_facts(relid, &f);
		add_lock(cls, relid, &f, ShareLock);
		if (!f.populated)
			continue;
		add_op(cls, rule, relid, &f, ShareLock,
			   psprintf("ALTER DOMAIN %s %s checks every value of the domain, scanning table \"%s\"",
						format_type_be(domainid), what, f.relname));
		mark_cost(cls, false, true, false);
	}
}

/* DROP OWNED BY: the role's tables go, and what depends on them. */
static void
classify_drop_owned(PgmClassification *cls, DropOwnedStmt *stmt)
{
	List	   *targets = NIL;
	ListCell   *lc;

	foreach(lc, stmt->roles)
	{
		RoleSpec   *rs = lfirst_node(RoleSpec, lc);
		Oid			roleid;

		if (rs->roletype == ROLESPEC_PUBLIC)
			return;				/* "role public does not exist" */
		roleid = get_rolespec_oid(rs, true);

		/* Without the role's privileges the statement fails. */
		if (!OidIsValid(roleid) || !has_privs_of_role(GetUserId(), roleid))
			return;
		targets = list_concat(targets, pgm_owned_objects(roleid));
	}
	if (targets == NIL)
		return;
	add_loss_ops(cls, pgm_cascade_losses(targets, stmt->behavior, true),
				 psprintf("DROP OWNED%s", stmt->behavior == DROP_CASCADE ? " ... CASCADE" : ""));
}

/*
 * Cheap pre-filter: can this statement produce anything at all?  Keeps the
 * hook's cost for everything else to one switch.
 */
bool
pgm_classify_wanted(Node *parsetree)
{
	switch (nodeTag(parsetree))
	{
		case T_AlterTableStmt:
		case T_DropStmt:
		case T_TruncateStmt:
		case T_RenameStmt:
		case T_IndexStmt:
		case T_ReindexStmt:
		case T_VacuumStmt:
		case T_ClusterStmt:
		case T_CreateStmt:
		case T_CreateTrigStmt:
		case T_LockStmt:
		case T_RefreshMatViewStmt:
		case T_RuleStmt:
		case T_DropOwnedStmt:
		case T_AlterDomainStmt:
			return true;
		default:
			return false;
	}
}

/*
 * Classify one parsed (raw) utility statement.  Exported for migrate_check
 * and migrate_plan, which feed it the statements of a script one at a time
 * as they would run.
 */
PgmClassification *
pgm_classify_statement(Node *parsetree)
{
	PgmClassification *cls = palloc0(sizeof(PgmClassification));

	cls->transactional = true;
	if (parsetree == NULL)
		return cls;

	switch (nodeTag(parsetree))
	{
		case T_AlterTableStmt:
			classify_alter_table(cls, (AlterTableStmt *) parsetree);
			break;
		case T_DropStmt:
			classify_drop(cls, (DropStmt *) parsetree);
			break;
		case T_TruncateStmt:
			{
				TruncateStmt *stmt = (TruncateStmt *) parsetree;
				ListCell   *lc;

				foreach(lc, stmt->relations)
				{
					Oid			relid = rangevar_relid(lfirst_node(RangeVar, lc));
					RelFacts	f;

					relation_facts(relid, &f);
					if (!f.exists)
						continue;
					add_lock(cls, relid, &f, AccessExclusiveLock);
					if (!f.is_new && f.relpersistence != RELPERSISTENCE_TEMP &&
						!holds_no_data(&f))
						add_op(cls, PGM_RULE_TRUNCATE, relid, &f, AccessExclusiveLock,
							   psprintf("TRUNCATE \"%s\"", f.relname));
				}
			}
			break;
		case T_RenameStmt:
			classify_rename(cls, (RenameStmt *) parsetree);
			break;
		case T_DropOwnedStmt:
			classify_drop_owned(cls, (DropOwnedStmt *) parsetree);
			break;
		case T_IndexStmt:
			classify_index(cls, (IndexStmt *) parsetree);
			break;
		case T_ReindexStmt:
			classify_reindex(cls, (ReindexStmt *) parsetree);
			break;
		case T_VacuumStmt:
			{
				VacuumStmt *stmt = (VacuumStmt *) parsetree;
				ListCell   *lc;

				if (stmt->is_vacuumcmd)
					cls->transactional = false;
				if (stmt->is_vacuumcmd && !pgm_option_true(stmt->options, "full"))
				{
					/*
					 * Measured (TAP 042_verdicts_toplevel): plain VACUUM,
					 * with or without ANALYZE, asks ShareUpdateExclusiveLock
					 * of each table (its truncation of empty end pages only
					 * tries AccessExclusiveLock without waiting, and gives
					 * it up as soon as anybody waits).
					 */
					foreach(lc, stmt->rels)
					{
						VacuumRelation *vrel = lfirst_node(VacuumRelation, lc);
						Oid			relid = vrel->relation ? rangevar_relid(vrel->relation) : vrel->oid;
						RelFacts	vf;

						relation_facts(relid, &vf);
						add_lock(cls, relid, &vf, ShareUpdateExclusiveLock);
					}
					break;
				}
				if (!stmt->is_vacuumcmd)
					break;
				if (stmt->rels == NIL)
					classify_rewrite_command(cls, NULL, "VACUUM FULL");
				foreach(lc, stmt->rels)
				{
					VacuumRelation *vrel = lfirst_node(VacuumRelation, lc);

					if (vrel->relation)
						classify_rewrite_command(cls, vrel->relation, "VACUUM FULL");
				}
			}
			break;
		case T_ClusterStmt:
			{
				ClusterStmt *stmt = (ClusterStmt *) parsetree;

				if (stmt->relation == NULL)
					cls->transactional = false;
				classify_rewrite_command(cls, stmt->relation, "CLUSTER");
			}
			break;
		case T_CreateStmt:
			classify_create(cls, (CreateStmt *) parsetree);
			break;
		case T_CreateTrigStmt:
			classify_relations_lock(cls, list_make1(((CreateTrigStmt *) parsetree)->relation),
									ShareRowExclusiveLock);
			break;
		case T_RuleStmt:
			classify_relations_lock(cls, list_make1(((RuleStmt *) parsetree)->relation),
									AccessExclusiveLock);
			break;
		case T_RefreshMatViewStmt:
			{
				RefreshMatViewStmt *stmt = (RefreshMatViewStmt *) parsetree;
				Oid			relid = rangevar_relid(stmt->relation);
				RelFacts	f;

				relation_facts(relid, &f);
				add_lock(cls, relid, &f,
						 stmt->concurrent ? ExclusiveLock : AccessExclusiveLock);

				/*
				 * Without CONCURRENTLY the view's query fills a new file
				 * that replaces the old one, under AccessExclusiveLock:
				 * readers wait for the whole query.  CONCURRENTLY updates
				 * the rows in place under ExclusiveLock, which lets them
				 * read; WITH NO DATA only empties it.
				 */
				if (f.exists && f.populated && !stmt->concurrent && !stmt->skipData)
				{
					add_op(cls, PGM_RULE_TABLE_REWRITE, relid, &f, AccessExclusiveLock,
						   psprintf("REFRESH MATERIALIZED VIEW rewrites \"%s\" while its readers wait",
									f.relname));
					mark_cost(cls, true, false, false);
				}
			}
			break;
		case T_AlterDomainStmt:
			classify_alter_domain(cls, (AlterDomainStmt *) parsetree);
			break;
		case T_LockStmt:
			{
				LockStmt   *stmt = (LockStmt *) parsetree;

				/* NOWAIT already refuses to queue. */
				if (!stmt->nowait)
					classify_relations_lock(cls, stmt->relations, stmt->mode);
			}
			break;
		default:
			break;
	}
	return cls;
}

/* The relation an operation is about, quoted, or NULL. */
char *
pgm_op_relation(PgmOperation *op)
{
	if (op->relname && op->schemaname)
		return quote_qualified_identifier(op->schemaname, op->relname);
	if (op->schemaname)
		return pstrdup(quote_identifier(op->schemaname));
	return NULL;
}
