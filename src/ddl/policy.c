/*-------------------------------------------------------------------------
 *
 * policy.c
 *		The policy engine: what to do about each operation the classifier
 *		found.  Reads migrate_policy, applies pg_migrate.enforce, lets
 *		allowed roles override a refusal with an audited reason, and keeps
 *		the most recent violations in shared memory.
 *
 * migrate_policy is read through the relation found in the extension's
 * catalog entry (pgm_relation), never by name through search_path, and
 * cached per backend.  The cache is dropped by relcache invalidation of the
 * policy table: a statement-level trigger on the table
 * (migrate_policy_changed) invalidates its relcache entry whenever rows
 * change, which reaches the local backend at the next command and every
 * other backend when the change commits, and undoes itself on rollback.
 * DDL that finds nothing to judge never touches the policy at all.
 *
 * Matching: a row applies when its rule matches and each scope column that
 * is set matches: role_name (the current user is a member of it, superuser
 * status not counting), schema_name (equal), table_pattern (LIKE, on the
 * unqualified relation name), and, from version 1.3 of the SQL objects,
 * extension_name (the relation or its schema is a member of that
 * extension, as pg_depend records it: pg_repack's private copies) and
 * partition_of (the relation is a partition, at any depth, of that table:
 * pg_partman's expired partitions).  The most specific applicable row wins:
 * a role scope weighs 4, a table pattern or a parent 2, a schema or an
 * extension 1.  Between rows of the same
 * weight a row the DBA wrote beats a shipped default, then the stricter
 * action wins.  No applicable row means allow.
 *
 * The action `online` (1.6) is a refusal that the guard turns into the
 * statement's online form (online/substitute.c, reached through the
 * pointers policy.h declares): pgm_policy_describe_online asks for the
 * form, and a statement without one is refused, the detail saying why.
 * pg_migrate.online_by_default makes the shipped refusals of the rules
 * that can have an online form act as `online`.  Between rows of equal
 * weight it ranks between deny and warn.
 *
 * Overrides: migrate_override(rule, reason) lifts refusals of one rule for
 * the rest of the current transaction, for roles a matching policy row names
 * in override_by (superusers always).  Every use is stored in the statement's
 * DDL history row (policy_overrides), logged, and put in the ring.
 *
 * The violations ring is a fixed array in shared memory under one LWLock.
 * It holds what was refused or warned about, which by its nature never
 * reaches a table (refused statements roll back).  A writer takes a free
 * slot, else overwrites the oldest entry, except that no role may hold more
 * than PGM_VIOLATIONS_PER_ROLE entries: past that, a role overwrites its
 * own oldest one.  So one role looping over refused statements cannot push
 * everybody else's records out; it takes several roles doing so at once.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/dependency.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_namespace.h"
#include "commands/extension.h"
#include "commands/dbcommands.h"
#include "mb/pg_wchar.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "core/catalog.h"
#include "core/compat.h"
#include "core/guc.h"
#include "ddl/classify.h"
#include "ddl/history.h"
#include "ddl/policy.h"
#include "ddl/session_tables.h"

#define POLICY_TABLE	"migrate_policy"

List	   *pgm_exemptions = NIL;
const char *pgm_exemption_reason = NULL;

/* Installed by the online module (see policy.h). */
PgmOnlineDescribe pgm_online_describe_hook = NULL;
PgmOnlineAccepts pgm_online_accepts_hook = NULL;
PgmOnlineSubstitute pgm_online_substitute_hook = NULL;

/* ---------------------------------------------------------------------
 * Policy cache
 * ---------------------------------------------------------------------
 */
typedef struct PolicyEntry
{
	int			rule;
	PgmAction	action;
	Oid			role;			/* InvalidOid: any role */
	char	   *schema;			/* NULL: any schema */
	text	   *pattern;		/* NULL: any table */
	char	   *extension;		/* NULL: any; else the relation or its
								 * schema belongs to this extension */
	Oid			partition_of;	/* InvalidOid: any; else a partition of it */
	Oid			override_by;	/* InvalidOid: superusers only */
	bool		shipped;
} PolicyEntry;

static bool data_loss_rule(PgmRule rule);
static bool online_rule(PgmRule rule);

static MemoryContext policy_cxt = NULL;
static bool policy_has_tool_scopes = false;	/* extension_name, partition_of */
static List *policy_entries = NIL;
static bool policy_valid = false;
static Oid	policy_relid = InvalidOid;

/* ---------------------------------------------------------------------
 * Overrides of the current transaction
 * ---------------------------------------------------------------------
 */
typedef struct Override
{
	int			rule;
	char	   *reason;
} Override;

static List *overrides = NIL;	/* in TopTransactionContext */
static LocalTransactionId overrides_lxid = InvalidLocalTransactionId;

/* ---------------------------------------------------------------------
 * Violations ring
 * ---------------------------------------------------------------------
 */
#define PGM_VIOLATIONS			128
#define PGM_VIOLATIONS_PER_ROLE	(PGM_VIOLATIONS / 4)
#define PGM_VIOLATION_STMT_LEN	1024

typedef struct PgmViolation
{
	uint64		seq;			/* order of writing; 0: a free slot */
	Oid			roleid;
	TimestampTz at;
	Oid			dbid;
	int			pid;
	char		role[NAMEDATALEN];
	char		rule[32];
	char		action[16];
	char		relation[2 * NAMEDATALEN + 4];
	char		statement[PGM_VIOLATION_STMT_LEN];
} PgmViolation;

/* Counters of migrate_violation_counts(), per rule and action. */
typedef enum PgmCountedAction
{
	PGM_COUNT_DENY,
	PGM_COUNT_WARN,
	PGM_COUNT_OVERRIDE,
	PGM_NUM_COUNTED_ACTIONS
} PgmCountedAction;

static const char *const counted_action_names[PGM_NUM_COUNTED_ACTIONS] = {
	"deny", "warn", "override"
};

typedef struct PgmViolationRing
{
	LWLock	   *lock;
	uint64		next;			/* total ever written */
	PgmViolation entries[PGM_VIOLATIONS];
	/* every violation since the server started, never evicted */
	uint64		counts[PGM_NUM_RULES][PGM_NUM_COUNTED_ACTIONS];
} PgmViolationRing;

static PgmViolationRing *ring = NULL;

PG_FUNCTION_INFO_V1(migrate_rules_list);
PG_FUNCTION_INFO_V1(migrate_is_rule);
PG_FUNCTION_INFO_V1(migrate_override);
PG_FUNCTION_INFO_V1(migrate_violations);
PG_FUNCTION_INFO_V1(migrate_violation_counts);
PG_FUNCTION_INFO_V1(migrate_policy_changed);

static void policy_relcache_callback(Datum arg, Oid relid);

void
pgm_policy_init(void)
{
	CacheRegisterRelcacheCallback(policy_relcache_callback, (Datum) 0);
}

static void
policy_relcache_callback(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == policy_relid)
		policy_valid = false;
}

/* The name of an action, as migrate_policy.action spells it. */
const char *
pgm_action_name(PgmAction action)
{
	switch (action)
	{
		case PGM_ACTION_DENY:
			return "deny";
		case PGM_ACTION_WARN:
			return "warn";
		case PGM_ACTION_ONLINE:
			return "online";
		default:
			return "allow";
	}
}

static PgmAction
action_from_name(const char *name)
{
	if (strcmp(name, "deny") == 0)
		return PGM_ACTION_DENY;
	if (strcmp(name, "warn") == 0)
		return PGM_ACTION_WARN;
	if (strcmp(name, "online") == 0)
		return PGM_ACTION_ONLINE;
	return PGM_ACTION_ALLOW;
}

/*
 * (Re)load migrate_policy into the cache.  Returns false when the extension
 * is not installed in this database, in which case pg_migrate judges
 * nothing here.
 */
static bool
load_policy(void)
{
	Oid			relid;
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tup;
	Snapshot	snap;
	TupleDesc	desc;
	MemoryContext oldcxt;
	AttrNumber	a_rule,
				a_action,
				a_role,
				a_schema,
				a_pattern,
				a_override,
				a_shipped,
				a_extension,
				a_partition_of;

	if (policy_valid && OidIsValid(policy_relid))
		return true;

	relid = pgm_relation(POLICY_TABLE);
	if (!OidIsValid(relid))
		return false;

	if (policy_cxt == NULL)
		policy_cxt = AllocSetContextCreate(CacheMemoryContext,
										   "pg_migrate policy cache",
										   ALLOCSET_SMALL_SIZES);
	MemoryContextReset(policy_cxt);
	policy_entries = NIL;

	/*
	 * Mark valid before reading: an invalidation that arrives while we read
	 * (the table lock processes pending ones) clears it again, and the next
	 * statement reloads.
	 */
	policy_relid = relid;
	policy_valid = true;

	rel = table_open(relid, AccessShareLock);
	desc = RelationGetDescr(rel);
	a_rule = get_attnum(relid, "rule");
	a_action = get_attnum(relid, "action");
	a_role = get_attnum(relid, "role_name");
	a_schema = get_attnum(relid, "schema_name");
	a_pattern = get_attnum(relid, "table_pattern");
	a_override = get_attnum(relid, "override_by");
	a_shipped = get_attnum(relid, "shipped");
	/* Added in 1.3: absent until ALTER EXTENSION pg_migrate UPDATE. */
	a_extension = get_attnum(relid, "extension_name");
	a_partition_of = get_attnum(relid, "partition_of");
	policy_has_tool_scopes = a_extension > 0 && a_partition_of > 0;
	if (a_rule <= 0 || a_action <= 0 || a_role <= 0 || a_schema <= 0 ||
		a_pattern <= 0 || a_override <= 0 || a_shipped <= 0)
		elog(ERROR, "table %s does not have the expected columns", POLICY_TABLE);

	snap = RegisterSnapshot(GetLatestSnapshot());
	scan = systable_beginscan(rel, InvalidOid, false, snap, 0, NULL);
	oldcxt = MemoryContextSwitchTo(policy_cxt);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		PolicyEntry *e = palloc0(sizeof(PolicyEntry));
		bool		isnull;
		Datum		d;
		char	   *s;

		d = heap_getattr(tup, a_rule, desc, &isnull);
		if (isnull)
			continue;
		s = TextDatumGetCString(d);
		e->rule = pgm_rule_from_name(s);
		if (e->rule < 0)
			continue;			/* impossible: the CHECK constraint */
		d = heap_getattr(tup, a_action, desc, &isnull);
		if (isnull)
			continue;
		e->action = action_from_name(TextDatumGetCString(d));
		d = heap_getattr(tup, a_role, desc, &isnull);
		e->role = isnull ? InvalidOid : DatumGetObjectId(d);
		d = heap_getattr(tup, a_schema, desc, &isnull);
		e->schema = isnull ? NULL : pstrdup(NameStr(*DatumGetName(d)));
		d = heap_getattr(tup, a_pattern, desc, &isnull);
		e->pattern = isnull ? NULL : DatumGetTextPCopy(d);
		d = heap_getattr(tup, a_override, desc, &isnull);
		e->override_by = isnull ? InvalidOid : DatumGetObjectId(d);
		d = heap_getattr(tup, a_shipped, desc, &isnull);
		e->shipped = !isnull && DatumGetBool(d);
		if (policy_has_tool_scopes)
		{
			d = heap_getattr(tup, a_extension, desc, &isnull);
			e->extension = isnull ? NULL : pstrdup(NameStr(*DatumGetName(d)));
			d = heap_getattr(tup, a_partition_of, desc, &isnull);
			e->partition_of = isnull ? InvalidOid : DatumGetObjectId(d);
		}
		policy_entries = lappend(policy_entries, e);
	}
	MemoryContextSwitchTo(oldcxt);
	systable_endscan(scan);
	UnregisterSnapshot(snap);
	table_close(rel, AccessShareLock);
	return true;
}

/* Is the extension installed here, so that policies apply? */
bool
pgm_policy_active(void)
{
	return load_policy();
}

/*
 * Is the relation one of the extension's own objects: a member of it, or a
 * relation in a schema that is, owned by a superuser (who alone can install
 * an extension that is not trusted, and who could switch enforcement off
 * anyway)?  Membership is what the extension's script created (or what its
 * owner added with ALTER EXTENSION ... ADD), and the ownership test keeps a
 * role that was granted CREATE on such a schema from sheltering a table of
 * its own there.
 */
static bool
relation_of_extension(Oid relid, const char *extname)
{
	Oid			extoid = get_extension_oid(extname, true);
	Oid			nspid;
	Oid			owner;

	if (!OidIsValid(extoid))
		return false;
	if (getExtensionOfObject(RelationRelationId, relid) == extoid)
		return true;
	nspid = get_rel_namespace(relid);
	if (!OidIsValid(nspid) || getExtensionOfObject(NamespaceRelationId, nspid) != extoid)
		return false;
	owner = pgm_relation_owner(relid);
	return OidIsValid(owner) && superuser_arg(owner);
}

/* Is the relation a partition, at any depth, of "parent"? */
static bool
partition_of(Oid relid, Oid parent)
{
	if (!get_rel_relispartition(relid))
		return false;
	return list_member_oid(get_partition_ancestors(relid), parent);
}

/*
 * Does a policy row apply to this operation and the current user (see the
 * file header for the matching rules)?
 */
static bool
entry_applies(PolicyEntry *e, PgmOperation *op)
{
	if (e->rule != (int) op->rule)
		return false;
	if (OidIsValid(e->role) && !is_member_of_role_nosuper(GetUserId(), e->role))
		return false;
	if (e->schema && (op->schemaname == NULL || strcmp(e->schema, op->schemaname) != 0))
		return false;
	if (e->pattern)
	{
		if (op->relname == NULL)
			return false;
		if (!DatumGetBool(DirectFunctionCall2Coll(textlike, C_COLLATION_OID,
												  PointerGetDatum(cstring_to_text(op->relname)),
												  PointerGetDatum(e->pattern))))
			return false;
	}
	if (e->extension &&
		(!OidIsValid(op->relid) || !relation_of_extension(op->relid, e->extension)))
		return false;
	if (OidIsValid(e->partition_of) &&
		(!OidIsValid(op->relid) || !partition_of(op->relid, e->partition_of)))
		return false;
	return true;
}

static int
entry_weight(PolicyEntry *e)
{
	return (OidIsValid(e->role) ? 4 : 0) +
		(e->pattern || OidIsValid(e->partition_of) ? 2 : 0) +
		(e->schema || e->extension ? 1 : 0);
}

/* The row of migrate_policy that decides this operation, or NULL. */
static PolicyEntry *
match_policy(PgmOperation *op)
{
	PolicyEntry *best = NULL;
	ListCell   *lc;

	foreach(lc, policy_entries)
	{
		PolicyEntry *e = lfirst(lc);
		int			w,
					bw;

		if (!entry_applies(e, op))
			continue;
		if (best == NULL)
		{
			best = e;
			continue;
		}
		w = entry_weight(e);
		bw = entry_weight(best);
		if (w != bw)
		{
			if (w > bw)
				best = e;
			continue;
		}
		if (e->shipped != best->shipped)
		{
			if (!e->shipped)
				best = e;
			continue;
		}
		if (e->action > best->action)
			best = e;
	}
	return best;
}

/*
 * Could the current user do this at all?  When PostgreSQL is going to refuse
 * the statement for lack of privileges anyway, its own error is the right
 * one: a policy verdict would tell a role about tables it cannot touch, and
 * let anyone fill the violations ring with statements that could never run.
 * Statements on relations need ownership, except TRUNCATE, which has its own
 * privilege; schema-level operations (DROP SCHEMA, REINDEX SCHEMA/DATABASE)
 * are left to PostgreSQL's checks.
 */
static bool
may_act_on(PgmOperation *op)
{
	if (!OidIsValid(op->relid) || superuser())
		return true;
	/*
	 * Reached through a cascade: the classifier only looks when the role
	 * may drop what the statement names, and PostgreSQL then drops the
	 * dependents whoever owns them.
	 */
	if (op->via)
		return true;
	if (PGM_relation_ownercheck(op->relid, GetUserId()))
		return true;
	if (op->rule == PGM_RULE_TRUNCATE &&
		pg_class_aclcheck(op->relid, GetUserId(), ACL_TRUNCATE) == ACLCHECK_OK)
		return true;
	/* large_dml: UPDATE/DELETE need their own privileges, checked by them. */
	if (op->rule == PGM_RULE_LARGE_DML)
		return true;
	return false;
}

/*
 * The verdicts on a classified statement: one per operation the policy
 * warns about or denies (allowed ones are dropped), plus the lock_timeout
 * finding in require mode.  NIL when the extension is not installed here.
 */
static bool
exempted(PgmOperation *op)
{
	ListCell   *lc;

	foreach(lc, pgm_exemptions)
	{
		PgmExemption *ex = lfirst(lc);

		if (ex->rule == op->rule && ex->relid == op->relid &&
			(ex->colname == NULL ||
			 (op->colname && strcmp(ex->colname, op->colname) == 0)))
			return true;
	}
	return false;
}

/*
 * A drop of a table the current role created, or of a column it added, less
 * than pg_migrate.own_undo_window ago according to the DDL history: a
 * tool's undo of its own recent change (Sqitch revert, dbmate rollback,
 * node-pg-migrate down), judged like migrate_rollback()'s own-up
 * exemption.  Returns the reason recorded as the override, or NULL.  Only
 * what the statement names: a cascade reaches further than its author's
 * recent work.
 *
 * A TRUNCATE of such a table loses less than its DROP, but the table stays
 * for others to use, so it is an undo only while the table is also this
 * session's own (pg_migrate.own_new_tables: this backend created it, no
 * other session has used it, nobody holds or waits for a lock on it): its
 * rows are then all this session's own work of the last moments (a psql -f
 * script that creates a table in one transaction, loads it in the next and
 * empties it again).  Both facts come from the server (the append-only
 * history, the shared registry of plans started), none from the client.
 */
static char *
own_recent_undo(PgmOperation *op)
{
	AttrNumber	attnum = 0;
	TimestampTz at = 0;
	int64		id;

	if (pgm_own_undo_window <= 0 || op->via != NULL || !OidIsValid(op->relid))
		return NULL;
	if (op->rule == PGM_RULE_DROP_COLUMN)
	{
		if (op->colname == NULL)
			return NULL;
		attnum = get_attnum(op->relid, op->colname);
		if (attnum <= 0)
			return NULL;
		id = pgm_history_recent_creation(op->relid, attnum, pgm_own_undo_window, &at);
		if (id == 0)
			attnum = 0;			/* the table may be recent */
		else
			return psprintf("undoes ADD COLUMN %s made by the same role at %s (DDL history id " INT64_FORMAT ")",
							quote_identifier(op->colname), timestamptz_to_str(at), id);
	}
	else if (op->rule == PGM_RULE_TRUNCATE)
	{
		if (!pgm_own_new_tables || !pgm_session_table_private(op->relid))
			return NULL;
		id = pgm_history_recent_creation(op->relid, 0, pgm_own_undo_window, &at);
		if (id == 0)
			return NULL;
		return psprintf("empties table %s that this session created at %s (DDL history id " INT64_FORMAT ") and no other session has used",
						op->relname ? quote_identifier(op->relname) : "?", timestamptz_to_str(at), id);
	}
	else if (op->rule != PGM_RULE_DROP_TABLE)
		return NULL;
	id = pgm_history_recent_creation(op->relid, 0, pgm_own_undo_window, &at);
	if (id == 0)
		return NULL;
	return psprintf("undoes the creation of table %s by the same role at %s (DDL history id " INT64_FORMAT ")",
					op->relname ? quote_identifier(op->relname) : "?", timestamptz_to_str(at), id);
}


/*
 * The verdicts on a classified statement: for each operation, the action of
 * the most specific matching migrate_policy row (allow operations are
 * dropped), whether a migrate_override() of this transaction or a down
 * script's exemption lifts a refusal, and the texts of the error.  In
 * require mode a blocking lock taken without any lock_timeout is a finding
 * of its own.  Operations the role could not perform anyway are left to
 * PostgreSQL's own permission error.
 */
List *
pgm_policy_verdicts(PgmClassification *cls)
{
	List	   *result = NIL;
	ListCell   *lc;
	List	   *ops;

	if (cls == NULL || !load_policy())
		return NIL;

	ops = list_copy(cls->ops);

	/*
	 * Require mode: a blocking lock on an existing table with no
	 * lock_timeout in the session is a finding of its own.
	 */
	if (pgm_lock_timeout_mode == PGM_LOCK_TIMEOUT_REQUIRE &&
		cls->locks != NIL && LockTimeout == 0)
	{
		PgmLockRequest *req = linitial(cls->locks);
		PgmOperation *op = palloc0(sizeof(PgmOperation));
		BlockNumber blocks;

		op->rule = PGM_RULE_LOCK_TIMEOUT;
		op->relid = req->relid;
		op->lockmode = req->lockmode;
		op->relname = get_rel_name(req->relid);
		op->schemaname = get_namespace_name(get_rel_namespace(req->relid));
		op->populated = pgm_relation_populated(req->relid, &blocks, NULL);
		op->blocks = blocks;
		op->what = psprintf("waiting for %s on \"%s\" without a lock_timeout",
							pgm_lockmode_name(req->lockmode),
							op->relname ? op->relname : "?");
		ops = lappend(ops, op);
	}

	foreach(lc, ops)
	{
		PgmOperation *op = lfirst(lc);
		PolicyEntry *e;
		PgmVerdict *v;
		char	   *relname;
		char	   *reason;
		PgmAction	action;
		StringInfoData detail;

		if (!may_act_on(op))
			continue;
		e = match_policy(op);
		if (e == NULL || e->action == PGM_ACTION_ALLOW)
			continue;

		v = palloc0(sizeof(PgmVerdict));
		v->op = op;
		v->action = e->action;
		/* pg_migrate.online_by_default: the shipped refusals run online */
		if (v->action == PGM_ACTION_DENY && e->shipped && pgm_online_by_default &&
			online_rule(op->rule))
			v->action = PGM_ACTION_ONLINE;
		action = v->action;
		v->message = psprintf("rule \"%s\" %s this statement: %s%s",
							  pgm_rules[op->rule].name,
							  action == PGM_ACTION_DENY ? "refuses" :
							  action == PGM_ACTION_ONLINE ? "runs online" : "warns about",
							  op->what,
							  action == PGM_ACTION_DENY && data_loss_rule(op->rule) ?
							  " (migrate_override() or a migrate_policy row can allow it)" : "");

		initStringInfo(&detail);
		relname = pgm_op_relation(op);
		if (OidIsValid(op->relid) && relname)
			appendStringInfo(&detail, "Relation %s has %s (%u blocks) and the statement takes %s on it.",
							 relname, pgm_size_pretty(op->blocks), op->blocks,
							 pgm_lockmode_name(op->lockmode));
		else
			appendStringInfo(&detail, "The statement takes %s.",
							 pgm_lockmode_name(op->lockmode));
		if (op->via && op->colname)
			appendStringInfo(&detail, " Column %s is not named in the statement but its data is lost with it: %s.",
							 quote_identifier(op->colname), op->via);
		else if (op->via)
			appendStringInfo(&detail, " The table is not named in the statement but is dropped with it: %s.",
							 op->via);
		v->detail = detail.data;

		/* Dropped by the down script of the migration that created it? */
		if (action >= PGM_ACTION_ONLINE && exempted(op))
		{
			v->overridden = true;
			v->override_reason = pstrdup(pgm_exemption_reason);
		}
		/* Is there an override for it that this role may use? */
		else if (action >= PGM_ACTION_ONLINE &&
				 overrides_lxid == PGM_MyLocalXid())
		{
			ListCell   *lc2;

			foreach(lc2, overrides)
			{
				Override   *o = lfirst(lc2);

				if (o->rule != (int) op->rule)
					continue;
				if (superuser() ||
					(OidIsValid(e->override_by) &&
					 is_member_of_role_nosuper(GetUserId(), e->override_by)))
				{
					v->overridden = true;
					v->override_reason = o->reason;
				}
				else
					appendStringInfoString(&detail,
										   " An override was requested, but this role may not override this rule.");
				v->detail = detail.data;
				break;
			}
		}

		/*
		 * Or the role's own undo of what it made a moment ago?  (An
		 * override of this transaction, with its human reason, comes
		 * first.)
		 */
		if (action >= PGM_ACTION_ONLINE && !v->overridden &&
			(reason = own_recent_undo(op)) != NULL)
		{
			v->overridden = true;
			v->override_reason = reason;
		}
		result = lappend(result, v);
	}
	return result;
}

/*
 * The rules whose statements can have an online form (migrate_online):
 * the blocking index builds and drops, the validating scans and the table
 * rewrites of a type change.  pg_migrate.online_by_default turns only their
 * shipped refusals into `online`.
 */
static bool
online_rule(PgmRule rule)
{
	return rule == PGM_RULE_BLOCKING_INDEX_BUILD ||
		rule == PGM_RULE_BLOCKING_INDEX_DROP ||
		rule == PGM_RULE_VALIDATING_SCAN ||
		rule == PGM_RULE_NOT_NULL_SCAN ||
		rule == PGM_RULE_TABLE_REWRITE;
}

/* Does a verdict ask for the statement's online form? */
static bool
wants_online(PgmVerdict *v)
{
	return v->action == PGM_ACTION_ONLINE && !v->overridden;
}

/*
 * Settle the `online` verdicts of a statement (its text alone): each one
 * learns what runs instead (online_as), or, when the statement has no
 * online form, becomes a refusal whose detail says why.  Returns whether
 * the statement runs online.  An override lifts an `online` verdict as it
 * lifts a refusal: the statement then runs as written.
 */
bool
pgm_policy_describe_online(List *verdicts, const char *text)
{
	ListCell   *lc;
	char	   *online_as = NULL;
	char	   *why = NULL;
	bool		asked = false;

	foreach(lc, verdicts)
	{
		PgmVerdict *v = lfirst(lc);

		if (!wants_online(v))
			continue;
		if (!asked)
		{
			asked = true;
			if (pgm_online_describe_hook == NULL || text == NULL)
				why = pstrdup("the online forms are not loaded.");
			else
				online_as = pgm_online_describe_hook(text, &why);
		}
		if (online_as)
		{
			v->online_as = online_as;
			continue;
		}
		v->action = PGM_ACTION_DENY;
		v->message = psprintf("rule \"%s\" refuses this statement: %s",
							  pgm_rules[v->op->rule].name, v->op->what);
		v->detail = psprintf("%s The rule's action is online, but the statement has no "
							 "online form: %s", v->detail, why ? why : "");
	}
	return online_as != NULL;
}

static const char *op_alternative(PgmOperation *op);

/*
 * The rules a refusal or warning of which migrate_online() may lift: those
 * with an online form for the policy, and the renames, which it runs as
 * expand/contract (a policy cannot: see online/substitute.c).
 */
static bool
online_call_rule(PgmRule rule)
{
	return online_rule(rule) || rule == PGM_RULE_RENAME_TABLE ||
		rule == PGM_RULE_RENAME_COLUMN;
}

/*
 * For the verdicts that refuse or warn (not overridden) under a rule
 * migrate_online() may lift: when it accepts the statement (text, alone),
 * the exact call, which the hint then gives first.  The statement is asked
 * about once, and only when such a verdict is there.
 */
void
pgm_policy_find_online_call(List *verdicts, const char *text)
{
	ListCell   *lc;
	char	   *call = NULL;
	bool		asked = false;

	if (pgm_online_accepts_hook == NULL || text == NULL)
		return;
	foreach(lc, verdicts)
	{
		PgmVerdict *v = lfirst(lc);

		if (v->overridden || v->online_as != NULL || v->action == PGM_ACTION_ALLOW ||
			!online_call_rule(v->op->rule))
			continue;
		if (!asked)
		{
			char	   *trimmed = pstrdup(text);
			char	   *end;

			asked = true;
			while (*trimmed == ' ' || *trimmed == '\t' || *trimmed == '\n' || *trimmed == '\r')
				trimmed++;
			end = trimmed + strlen(trimmed);
			while (end > trimmed && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' ||
									 end[-1] == '\r' || end[-1] == ';'))
				*--end = '\0';
			if (*trimmed != '\0' && pgm_online_accepts_hook(trimmed))
				call = psprintf("SELECT migrate_online(%s);", quote_literal_cstr(trimmed));
		}
		v->online_call = call;
	}
}

/*
 * The hint of a refusal or warning: the migrate_online() call that runs
 * the statement online, where there is one, then the rule's alternative.
 */
const char *
pgm_policy_hint(PgmVerdict *v)
{
	const char *alternative = op_alternative(v->op);

	if (v->online_call == NULL)
		return alternative;
	return psprintf("Run it online, as it is: %s Otherwise: %s", v->online_call, alternative);
}

/* Does any verdict ask for the online form (and has one)? */
bool
pgm_policy_runs_online(List *verdicts)
{
	ListCell   *lc;

	foreach(lc, verdicts)
	{
		if (wants_online(lfirst(lc)))
			return true;
	}
	return false;
}

/* The rules that sent the statement online, for messages and history. */
char *
pgm_policy_online_rules(List *verdicts)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, verdicts)
	{
		PgmVerdict *v = lfirst(lc);

		if (!wants_online(v))
			continue;
		if (buf.len > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfoString(&buf, pgm_rules[v->op->rule].name);
	}
	return buf.data;
}

/* ---------------------------------------------------------------------
 * Violations ring
 * ---------------------------------------------------------------------
 */
static Size
violations_shmem_size(void)
{
	return MAXALIGN(sizeof(PgmViolationRing));
}

/* Ask for the ring's memory and lock (shmem_request_hook, via _PG_init). */
void
pgm_violations_shmem_request(void)
{
	RequestAddinShmemSpace(violations_shmem_size());
	RequestNamedLWLockTranche("pg_migrate", 1);
}

/* Attach to the ring, creating it the first time (shmem_startup_hook). */
void
pgm_violations_shmem_startup(void)
{
	bool		found;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	ring = ShmemInitStruct("pg_migrate violations", violations_shmem_size(), &found);
	if (!found)
	{
		memset(ring, 0, violations_shmem_size());
		ring->lock = &(GetNamedLWLockTranche("pg_migrate"))->lock;
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * The slot the next entry of this role goes to (see the file header).
 * Called with the ring's lock held exclusively.
 */
static PgmViolation *
violation_slot(Oid roleid)
{
	PgmViolation *free_slot = NULL;
	PgmViolation *oldest = NULL;
	PgmViolation *oldest_own = NULL;
	int			own = 0;
	int			i;

	for (i = 0; i < PGM_VIOLATIONS; i++)
	{
		PgmViolation *e = &ring->entries[i];

		if (e->seq == 0)
		{
			if (free_slot == NULL)
				free_slot = e;
			continue;
		}
		if (oldest == NULL || e->seq < oldest->seq)
			oldest = e;
		if (e->roleid == roleid)
		{
			own++;
			if (oldest_own == NULL || e->seq < oldest_own->seq)
				oldest_own = e;
		}
	}
	if (own >= PGM_VIOLATIONS_PER_ROLE)
		return oldest_own;
	return free_slot ? free_slot : oldest;
}

/*
 * Remember a refusal or a warning: in the server log always, and in the
 * shared-memory ring migrate_violations() reads (see the file header for
 * how the ring is shared between roles).
 */
static void
record_violation(PgmVerdict *v, const char *action, const char *statement)
{
	PgmViolation *slot;
	char	   *relname = pgm_op_relation(v->op);
	char	   *role = GetUserNameFromId(GetUserId(), true);
	int			len;
	int			a;

	/* Always in the server log, also when the ring is unavailable. */
	ereport(LOG_SERVER_ONLY,
			(errmsg("policy violation (%s): rule %s, relation %s, role %s%s%s: %s",
					action, pgm_rules[v->op->rule].name,
					relname ? relname : "-", role ? role : "?",
					v->override_reason ? ", reason: " : "",
					v->override_reason ? v->override_reason : "",
					statement ? statement : ""),
			 errhidestmt(true)));

	if (ring == NULL)
		return;

	LWLockAcquire(ring->lock, LW_EXCLUSIVE);
	for (a = 0; a < PGM_NUM_COUNTED_ACTIONS; a++)
	{
		if (strcmp(action, counted_action_names[a]) == 0)
			ring->counts[v->op->rule][a]++;
	}
	slot = violation_slot(GetUserId());
	memset(slot, 0, sizeof(PgmViolation));
	slot->seq = ++ring->next;
	slot->roleid = GetUserId();
	slot->at = GetCurrentTimestamp();
	slot->dbid = MyDatabaseId;
	slot->pid = MyProcPid;
	strlcpy(slot->role, role ? role : "", sizeof(slot->role));
	strlcpy(slot->rule, pgm_rules[v->op->rule].name, sizeof(slot->rule));
	strlcpy(slot->action, action, sizeof(slot->action));
	/*
	 * A quoted, qualified name can be longer than the slot (quotes inside
	 * names are doubled): clip it, like the statement, on a character
	 * boundary, so that the ring never holds a broken multibyte character.
	 */
	if (relname)
	{
		len = pg_mbcliplen(relname, strlen(relname), sizeof(slot->relation) - 1);
		memcpy(slot->relation, relname, len);
		slot->relation[len] = '\0';
	}
	if (statement)
	{
		len = pg_mbcliplen(statement, strlen(statement), sizeof(slot->statement) - 1);
		memcpy(slot->statement, statement, len);
		slot->statement[len] = '\0';
	}
	LWLockRelease(ring->lock);
}

/*
 * The safe alternative to an operation, for hints.  A loss through a
 * cascade gets its own: how to do the same thing with every loss in plain
 * sight.
 */
static const char *
op_alternative(PgmOperation *op)
{
	if (op->via)
		return psprintf("Drop or convert the dependent %s explicitly first (DROP TABLE, ALTER TABLE ... "
						"DROP COLUMN or ALTER COLUMN ... TYPE), so that the statement no longer "
						"takes data with it, or record the reason with migrate_override('%s', 'reason').",
						op->colname ? "columns" : "tables", pgm_rules[op->rule].name);
	return pgm_rules[op->rule].alternative;
}

/*
 * The data-loss rules.  Tools and jobs that cannot call migrate_override()
 * (a scheduled job, a maintenance function, a migration tool that shows
 * only the error message) meet these most; their refusals say in the
 * message itself that a policy row can allow them, and the hint gives the
 * row.
 */
static bool
data_loss_rule(PgmRule rule)
{
	return rule == PGM_RULE_DROP_TABLE || rule == PGM_RULE_DROP_COLUMN ||
		rule == PGM_RULE_TRUNCATE;
}

/*
 * The migrate_policy row that allows this operation from now on, for the
 * hint: scoped to the partitions of the top parent for a partition (what
 * pg_partman's retention drops), else to the table by schema and exact
 * name.
 */
static char *
policy_row_for(PgmOperation *op)
{
	Oid			nspid = pgm_extension_schema();
	const char *policy;
	StringInfoData pat;
	const char *c;

	if (!OidIsValid(nspid) || !OidIsValid(op->relid) || op->relname == NULL ||
		op->schemaname == NULL)
		return NULL;
	policy = quote_qualified_identifier(get_namespace_name(nspid), POLICY_TABLE);
	if (policy_has_tool_scopes && get_rel_relispartition(op->relid))
	{
		List	   *ancestors = get_partition_ancestors(op->relid);
		Oid			top = ancestors ? llast_oid(ancestors) : InvalidOid;
		char	   *topname = OidIsValid(top) ? get_rel_name(top) : NULL;
		char	   *topnsp = OidIsValid(top) ? get_namespace_name(get_rel_namespace(top)) : NULL;

		if (topname && topnsp)
			return psprintf("INSERT INTO %s (rule, action, partition_of) VALUES (%s, 'allow', %s);",
							policy, quote_literal_cstr(pgm_rules[op->rule].name),
							quote_literal_cstr(quote_qualified_identifier(topnsp, topname)));
	}
	/* The exact name as a LIKE pattern. */
	initStringInfo(&pat);
	for (c = op->relname; *c; c++)
	{
		if (*c == '\\' || *c == '_' || *c == '%')
			appendStringInfoChar(&pat, '\\');
		appendStringInfoChar(&pat, *c);
	}
	return psprintf("INSERT INTO %s (rule, action, schema_name, table_pattern) VALUES (%s, 'allow', %s, %s);",
					policy, quote_literal_cstr(pgm_rules[op->rule].name),
					quote_literal_cstr(op->schemaname), quote_literal_cstr(pat.data));
}

/*
 * The hint of a refusal: the safe alternative.  A restore meets refusals
 * because it was run without the documented settings (its indexes and
 * foreign keys come after the data, on populated tables); then the hint
 * names those settings first.
 */
static const char *
refusal_hint(PgmVerdict *v)
{
	PgmOperation *op = v->op;
	/* a restore is not the place for an online change: its settings are */
	const char *hint = pgm_session_is_restore() ? op_alternative(op) : pgm_policy_hint(v);

	if (data_loss_rule(op->rule) && op->via == NULL)
	{
		char	   *row = policy_row_for(op);

		if (row)
			hint = psprintf("%s A job or tool that cannot call migrate_override() is allowed "
							"for good by a superuser's policy row: %s", hint, row);
	}
	if (pgm_session_is_restore())
		return psprintf("When restoring a dump, run pg_restore as a superuser with %s. "
						"Otherwise: %s",
						PGM_RESTORE_PGOPTIONS, hint);
	return hint;
}

/*
 * Act on the verdicts of a statement about to run: warn, log and remember
 * the violations, and raise the first refusal.  Overrides used are returned
 * as JSON text for the history row.  Called only when enforcement is on or
 * warn.
 */
void
pgm_policy_enforce(List *verdicts, const char *statement, char **overrides_json)
{
	PgmVerdict *refusal = NULL;
	StringInfoData json;
	bool		any_override = false;
	ListCell   *lc;

	*overrides_json = NULL;
	initStringInfo(&json);
	appendStringInfoChar(&json, '[');

	foreach(lc, verdicts)
	{
		PgmVerdict *v = lfirst(lc);

		/* Enforced: the caller runs the online form (see guard.c). */
		if (wants_online(v) && pgm_enforce == PGM_ENFORCE_ON)
		{
			record_violation(v, "online", statement);
			continue;
		}
		if (wants_online(v))
		{
			record_violation(v, "warn", statement);
			ereport(WARNING,
					(errcode(ERRCODE_PGM_POLICY_WARNING),
					 errmsg("rule \"%s\" would run this statement online: %s",
							pgm_rules[v->op->rule].name, v->op->what),
					 errdetail("%s", v->detail),
					 v->online_as ? errhint("It would run as: %s", v->online_as) : 0));
			continue;
		}

		if (v->action >= PGM_ACTION_ONLINE && pgm_enforce == PGM_ENFORCE_ON)
		{
			if (v->overridden)
			{
				char	   *relname = pgm_op_relation(v->op);

				record_violation(v, "override", statement);
				if (any_override)
					appendStringInfoString(&json, ", ");
				appendStringInfoString(&json, "{\"rule\": ");
				escape_json(&json, pgm_rules[v->op->rule].name);
				appendStringInfoString(&json, ", \"relation\": ");
				if (relname)
					escape_json(&json, relname);
				else
					appendStringInfoString(&json, "null");
				appendStringInfoString(&json, ", \"reason\": ");
				escape_json(&json, v->override_reason);
				appendStringInfoString(&json, ", \"role\": ");
				escape_json(&json, GetUserNameFromId(GetUserId(), false));
				appendStringInfoChar(&json, '}');
				any_override = true;
				continue;
			}
			record_violation(v, "deny", statement);
			if (refusal == NULL)
				refusal = v;
			continue;
		}

		record_violation(v, "warn", statement);
		ereport(WARNING,
				(errcode(ERRCODE_PGM_POLICY_WARNING),
				 errmsg("%s", v->action >= PGM_ACTION_ONLINE ?
						psprintf("rule \"%s\" would refuse this statement: %s",
								 pgm_rules[v->op->rule].name, v->op->what) :
						v->message),
				 errdetail("%s", v->detail),
				 errhint("%s", pgm_policy_hint(v))));
	}

	if (refusal)
		ereport(ERROR,
				(errcode(ERRCODE_PGM_POLICY_VIOLATION),
				 errmsg("%s", refusal->message),
				 errdetail("%s", refusal->detail),
				 errhint("%s", refusal_hint(refusal))));

	appendStringInfoChar(&json, ']');
	if (any_override)
		*overrides_json = json.data;
}

/* ---------------------------------------------------------------------
 * SQL-callable functions
 * ---------------------------------------------------------------------
 */

/* migrate_rules_list(): the rule catalogue, behind the migrate_rules view. */
Datum
migrate_rules_list(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			i;

	pgm_check_preloaded();
	PGM_InitMaterializedSRF(fcinfo);

	for (i = 0; i < PGM_NUM_RULES; i++)
	{
		Datum		values[5];
		bool		nulls[5] = {0};

		values[0] = CStringGetTextDatum(pgm_rules[i].name);
		values[1] = CStringGetTextDatum(pgm_rules[i].description);
		values[2] = CStringGetTextDatum(pgm_rules[i].lock);
		values[3] = CStringGetTextDatum(pgm_rules[i].alternative);
		values[4] = CStringGetTextDatum(pgm_rules[i].default_action);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * migrate_is_rule(text): backs the CHECK constraint of migrate_policy.rule.
 * Immutable: the catalogue only changes with a new library version, which
 * comes with an extension upgrade script.
 */
Datum
migrate_is_rule(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));

	PG_RETURN_BOOL(pgm_rule_from_name(name) >= 0);
}

/*
 * migrate_override(rule, reason): lift refusals of one rule until the end of
 * the current transaction.  Whether the role may do so is decided when a
 * refusal is about to happen, against the policy row that refuses.
 */
#define MAX_OVERRIDE_REASON_LEN 1000

Datum
migrate_override(PG_FUNCTION_ARGS)
{
	char	   *rule;
	char	   *reason;
	int			r;
	MemoryContext oldcxt;
	Override   *o;

	pgm_check_preloaded();
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("rule and reason must not be null")));
	rule = text_to_cstring(PG_GETARG_TEXT_PP(0));
	reason = text_to_cstring(PG_GETARG_TEXT_PP(1));

	r = pgm_rule_from_name(rule);
	if (r < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown rule \"%s\"", rule),
				 errhint("The rules are listed in migrate_rules.")));
	if (strspn(reason, " \t\r\n") == strlen(reason))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an override needs a reason"),
				 errdetail("The reason is stored in the DDL history.")));
	/* stored with every statement it lets through */
	if (strlen(reason) > MAX_OVERRIDE_REASON_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an override reason is too long"),
				 errdetail("A reason has at most %d bytes; this one has %zu.",
						   MAX_OVERRIDE_REASON_LEN, strlen(reason))));
	/* Nothing it could lift runs there; accepting it would mislead. */
	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("policy overrides cannot be used on a hot standby"),
				 errhint("Schema changes run on the primary; make the override there.")));
	if (!IsTransactionBlock())
		ereport(ERROR,
				(errcode(ERRCODE_NO_ACTIVE_SQL_TRANSACTION),
				 errmsg("migrate_override() can only be used in a transaction block"),
				 errdetail("An override lasts until the end of the transaction it was made in."),
				 errhint("Call it after BEGIN, before the statement it is for.")));

	if (overrides_lxid != PGM_MyLocalXid())
	{
		overrides = NIL;
		overrides_lxid = PGM_MyLocalXid();
	}
	oldcxt = MemoryContextSwitchTo(TopTransactionContext);
	o = palloc(sizeof(Override));
	o->rule = r;
	o->reason = pstrdup(reason);
	overrides = lappend(overrides, o);
	MemoryContextSwitchTo(oldcxt);

	PG_RETURN_VOID();
}

static int
violation_newer_first(const void *a, const void *b)
{
	uint64		sa = ((const PgmViolation *) a)->seq;
	uint64		sb = ((const PgmViolation *) b)->seq;

	return sa > sb ? -1 : (sa < sb ? 1 : 0);
}

/* migrate_violations(): the ring, newest first. */
Datum
migrate_violations(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PgmViolation *copy;
	int			n,
				i;

	pgm_check_preloaded();
	PGM_InitMaterializedSRF(fcinfo);
	if (ring == NULL)
		return (Datum) 0;

	copy = palloc(sizeof(ring->entries));
	LWLockAcquire(ring->lock, LW_SHARED);
	memcpy(copy, ring->entries, sizeof(ring->entries));
	LWLockRelease(ring->lock);

	/* Newest first; free slots (seq 0) sort last and are skipped. */
	qsort(copy, PGM_VIOLATIONS, sizeof(PgmViolation), violation_newer_first);
	for (n = 0; n < PGM_VIOLATIONS && copy[n].seq != 0; n++)
		;
	for (i = 0; i < n; i++)
	{
		PgmViolation *v = &copy[i];
		Datum		values[8];
		bool		nulls[8] = {0};
		char	   *dbname = get_database_name(v->dbid);

		values[0] = TimestampTzGetDatum(v->at);
		if (dbname)
			values[1] = CStringGetTextDatum(dbname);
		else
			nulls[1] = true;
		values[2] = Int32GetDatum(v->pid);
		values[3] = CStringGetTextDatum(v->role);
		values[4] = CStringGetTextDatum(v->rule);
		values[5] = CStringGetTextDatum(v->action);
		if (v->relation[0])
			values[6] = CStringGetTextDatum(v->relation);
		else
			nulls[6] = true;
		values[7] = CStringGetTextDatum(v->statement);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * Statement-level trigger on migrate_policy: make every backend drop its
 * cached copy (see the file header).
 */
Datum
migrate_policy_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("migrate_policy_changed() runs only as the trigger of migrate_policy")));
	CacheInvalidateRelcacheByRelid(RelationGetRelid(trigdata->tg_relation));
	return PointerGetDatum(NULL);
}

/*
 * migrate_violation_counts(): how many statements each rule refused, warned
 * about or let through on an override since the server started, one row
 * per rule and action (zeros included, so that a scrape always sees every
 * series).  Only counts: no role, relation or statement, so it is no
 * window into other roles' work.
 */
Datum
migrate_violation_counts(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	uint64		counts[PGM_NUM_RULES][PGM_NUM_COUNTED_ACTIONS];
	int			r;
	int			a;

	PGM_InitMaterializedSRF(fcinfo);

	if (ring == NULL)
		memset(counts, 0, sizeof(counts));
	else
	{
		LWLockAcquire(ring->lock, LW_SHARED);
		memcpy(counts, ring->counts, sizeof(counts));
		LWLockRelease(ring->lock);
	}

	for (r = 0; r < PGM_NUM_RULES; r++)
	{
		for (a = 0; a < PGM_NUM_COUNTED_ACTIONS; a++)
		{
			Datum		values[3];
			bool		nulls[3] = {false, false, false};

			values[0] = CStringGetTextDatum(pgm_rules[r].name);
			values[1] = CStringGetTextDatum(counted_action_names[a]);
			values[2] = Int64GetDatum((int64) counts[r][a]);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	return (Datum) 0;
}
