/*-------------------------------------------------------------------------
 *
 * history.c
 *		The DDL history: event-trigger functions and the history writer.
 *
 * A row of migrate_ddl_history is assembled from two sources.  The
 * ProcessUtility hook (guard.c) knows the exact text of the statement (the
 * sub-statement of a multi-statement string, or the EXECUTE'd string of a
 * function), when it started and how long it ran; it also sees the
 * statements event triggers never fire for (TRUNCATE, VACUUM FULL, CLUSTER,
 * REINDEX, DDL on shared objects).  The event triggers know which objects
 * the statement created, altered or dropped, and whether a table was
 * rewritten.  The hook opens a HistoryFrame before the statement runs, the
 * event triggers fill it in while it runs, and the hook writes the row when
 * the statement returns.
 *
 * The row is inserted in the transaction (or subtransaction) the statement
 * ran in, so a statement that is rolled back, or whose savepoint is, leaves
 * no row: the history holds only what committed.  The row of a statement
 * whose lock figures are known only at commit is inserted then (see "Rows
 * written at commit").  The insert runs as the
 * owner of the history table with a fully qualified, parameterised query,
 * so neither the caller's privileges nor its search_path play any part;
 * it, and the event triggers' catalog reads, run out of sight of other
 * extensions' hooks (core/own_sql.c): they are part of the statement being
 * recorded, not statements of the user.
 *
 * Relations and columns are named in the row by OID too, which lets the
 * policy tell a role's own recent table or column from an old one
 * (pgm_history_recent_creation).  A session that created pg_migrate and
 * then copies a dumped history into it is restoring the database: see
 * "A fresh database being restored" below.
 *
 * Memory: each frame has its own context under TopMemoryContext, deleted
 * when the hook pops the frame, even on error.  It cannot live in a
 * transaction context because VACUUM, CREATE INDEX CONCURRENTLY and friends
 * commit and start transactions while the statement runs.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/catalog.h"
#include "catalog/dependency.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_attrdef.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_foreign_data_wrapper.h"
#include "catalog/pg_foreign_server.h"
#include "catalog/pg_language.h"
#include "catalog/pg_largeobject.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_policy.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_rewrite.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "commands/event_trigger.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "parser/scansup.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "tcop/deparse_utility.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/aclchk_internal.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/relcache.h"
#include "utils/snapmgr.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/resowner.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "core/catalog.h"
#include "core/compat.h"
#include "core/guc.h"
#include "core/own_sql.h"
#include "core/parse.h"
#include "core/spi.h"
#include "ddl/history.h"
#include "ddl/lockstats.h"
#include "ddl/redact.h"

#define HISTORY_TABLE	"migrate_ddl_history"

HistoryFrame *pgm_current_frame = NULL;
char	   *pgm_current_migration = NULL;
int64		pgm_history_job_id = 0;
char	   *pgm_history_job_migration = NULL;

/* Prepared insert, kept for the life of the backend; see insert_row(). */
static SPIPlanPtr insert_plan = NULL;
static Oid	insert_plan_relid = InvalidOid;
static bool insert_plan_lock_columns = false;
static bool insert_plan_job_column = false;
static Oid	insert_seq_relid = InvalidOid;	/* the table's id sequence */
static SPIPlanPtr id_plan = NULL;	/* draws an id from it */

/* A restore is replacing the history (see "A fresh database being restored"). */
static bool restoring;

/* Prepared queries of the event-trigger functions. */
static SPIPlanPtr ddl_commands_plan = NULL;
static SPIPlanPtr dropped_objects_plan = NULL;
static SPIPlanPtr rewrite_oid_plan = NULL;

PG_FUNCTION_INFO_V1(migrate_on_ddl_command_end);
PG_FUNCTION_INFO_V1(migrate_on_sql_drop);
PG_FUNCTION_INFO_V1(migrate_on_table_rewrite);

static void add_object(HistoryFrame *frame, const ObjectAddress *addr,
					   bool dropped);
static void add_relation(HistoryFrame *frame, Oid relid);
static void add_added_columns(HistoryFrame *frame, AlterTableStmt *stmt);
static void add_named_object(HistoryFrame *frame, const char *type,
							 const char *identity);

/*
 * Is this statement one the history records?
 *
 * PostgreSQL's own answer to "is this DDL" is log_statement's: everything
 * GetCommandLogLevel() files under LOGSTMT_DDL.  To that we add the
 * statements that change a table's data or storage wholesale without being
 * DDL in that sense: TRUNCATE, VACUUM FULL and REINDEX.  (CLUSTER is already
 * DDL to log_statement.)
 */
bool
pgm_history_wanted(Node *parsetree)
{
	switch (nodeTag(parsetree))
	{
		/* Fast path for what every OLTP transaction sends. */
		case T_TransactionStmt:
		case T_VariableSetStmt:
		case T_VariableShowStmt:
		case T_DeclareCursorStmt:
		case T_FetchStmt:
		case T_ClosePortalStmt:
		case T_PrepareStmt:
		case T_ExecuteStmt:
		case T_DeallocateStmt:
		case T_CopyStmt:
		case T_DoStmt:
		case T_CallStmt:
		case T_ExplainStmt:
			return false;

		case T_TruncateStmt:
		case T_ReindexStmt:
			return true;

		case T_VacuumStmt:
			{
				VacuumStmt *vac = (VacuumStmt *) parsetree;

				return vac->is_vacuumcmd && pgm_option_true(vac->options, "full");
			}

		default:
			return GetCommandLogLevel(parsetree) == LOGSTMT_DDL;
	}
}

/*
 * The text of this statement alone: the slice of a multi-statement string
 * that the parser attributed to it, without surrounding blanks and the
 * terminating semicolon.
 */
static char *
statement_text(const char *queryString, int location, int len)
{
	const char *start;
	int			n;

	if (queryString == NULL)
		return NULL;

	if (location < 0)
	{
		location = 0;
		len = 0;
	}
	if (location > (int) strlen(queryString))
		location = strlen(queryString);
	start = queryString + location;
	n = (len > 0) ? len : (int) strlen(start);

	while (n > 0 && scanner_isspace(*start))
	{
		start++;
		n--;
	}
	while (n > 0 && (scanner_isspace(start[n - 1]) || start[n - 1] == ';'))
		n--;

	return pnstrdup(start, n);
}


/*
 * The table lock of statements that have released it by the time they
 * return, because they commit internally: VACUUM FULL and the CONCURRENTLY
 * variants.  Used only when no lock is still held.
 */
static LOCKMODE
lock_released_early(Node *parsetree)
{
	switch (nodeTag(parsetree))
	{
		case T_VacuumStmt:
		case T_ClusterStmt:
			return AccessExclusiveLock;
		case T_IndexStmt:
			return ((IndexStmt *) parsetree)->concurrent ?
				ShareUpdateExclusiveLock : ShareLock;
		case T_DropStmt:
			return ((DropStmt *) parsetree)->concurrent ?
				ShareUpdateExclusiveLock : NoLock;
		case T_ReindexStmt:
			return pgm_option_true(((ReindexStmt *) parsetree)->params,
								   "concurrently") ?
				ShareUpdateExclusiveLock : ShareLock;
		default:
			return NoLock;
	}
}

/*
 * Open the history frame of a statement about to run (its redacted text,
 * command tag, start time), inside the frame of the statement that runs it,
 * if any.
 */
HistoryFrame *
pgm_history_begin(PlannedStmt *pstmt, const char *queryString,
				  ProcessUtilityContext context)
{
	MemoryContext cxt;
	MemoryContext oldcxt;
	HistoryFrame *frame;
	char	   *text;

	cxt = AllocSetContextCreate(TopMemoryContext, "pg_migrate history frame",
								ALLOCSET_SMALL_SIZES);
	oldcxt = MemoryContextSwitchTo(cxt);

	frame = palloc0(sizeof(HistoryFrame));
	frame->cxt = cxt;
	frame->started_at = GetCurrentTimestamp();
	frame->toplevel = (context == PROCESS_UTILITY_TOPLEVEL);
	frame->command_tag = GetCommandTagName(CreateCommandTag(pstmt->utilityStmt));
	frame->predicted_lock = lock_released_early(pstmt->utilityStmt);

	text = statement_text(queryString, pstmt->stmt_location, pstmt->stmt_len);
	frame->statement = text ? pgm_redact_statement(text, pstmt->utilityStmt) : NULL;

	frame->outer = pgm_current_frame;
	pgm_current_frame = frame;

	/*
	 * The wait tally where this frame starts; a retried statement's figures
	 * start at its first attempt (guard.c).  The sampler runs until the
	 * frame is discarded.
	 */
	if (pgm_measure_lock_impact)
	{
		frame->measuring = true;
		frame->wait_base_frame = pgm_lockstats_waited_us();
		if (!pgm_lockstats_take_attempt(&frame->retries, &frame->wait_base_total,
										&frame->alone))
		{
			frame->wait_base_total = frame->wait_base_frame;
			frame->alone = frame->toplevel && !IsTransactionBlock();
		}
		pgm_lockstats_sampler_start();
	}

	MemoryContextSwitchTo(oldcxt);
	return frame;
}

/*
 * Pop the frame and free it.  Called from PG_FINALLY, so it must not fail;
 * it also tolerates the frame not being on top, which happens only if an
 * error escaped between push and pop of an inner frame.
 */
void
pgm_history_discard(HistoryFrame *frame)
{
	HistoryFrame **link;

	if (frame == NULL)
		return;

	if (frame->measuring)
		pgm_lockstats_sampler_stop();

	for (link = &pgm_current_frame; *link != NULL; link = &(*link)->outer)
	{
		if (*link == frame)
		{
			*link = frame->outer;
			break;
		}
	}
	MemoryContextDelete(frame->cxt);
}

/* ---------------------------------------------------------------------
 * Objects
 * ---------------------------------------------------------------------
 */

/*
 * The relation a catalog row (trigger, rule, policy, default) belongs to, or
 * InvalidOid when the row is gone.
 */
static Oid
owning_relation(const ObjectAddress *addr, AttrNumber oidattr,
				AttrNumber relattr)
{
	Relation	catalog;
	HeapTuple	tup;
	Oid			relid = InvalidOid;

	catalog = table_open(addr->classId, AccessShareLock);
	tup = get_catalog_object_by_oid(catalog, oidattr, addr->objectId);
	if (HeapTupleIsValid(tup))
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, relattr, RelationGetDescr(catalog), &isnull);

		if (!isnull)
			relid = DatumGetObjectId(d);
	}
	table_close(catalog, AccessShareLock);
	return relid;
}

/*
 * Add a relation whose lock tells what the statement took, with its name
 * (given, for a relation the statement dropped, or looked up now).  The
 * frame's memory context is current.
 */
static void
note_lock_relation(HistoryFrame *frame, Oid relid, const char *identity)
{
	char	   *name = NULL;

	if (list_member_oid(frame->lock_relids, relid))
		return;
	if (identity)
		name = pstrdup(identity);
	else
	{
		char	   *relname = get_rel_name(relid);
		char	   *nspname = get_namespace_name(get_rel_namespace(relid));

		if (relname && nspname)
			name = quote_qualified_identifier(nspname, relname);
	}
	frame->lock_relids = lappend_oid(frame->lock_relids, relid);
	frame->lock_relnames = lappend(frame->lock_relnames, name);
}

/*
 * Relations whose locks tell what the statement took: the relation itself
 * for a relation, and the table an index, trigger, rule, policy, constraint
 * or column default belongs to.  Objects that are already gone are skipped.
 */
static void
add_lock_relations(HistoryFrame *frame, const ObjectAddress *addr)
{
	Oid			relid = InvalidOid;
	HeapTuple	tup;

	switch (addr->classId)
	{
		case RelationRelationId:
			note_lock_relation(frame, addr->objectId, NULL);
			if (get_rel_relkind(addr->objectId) == RELKIND_INDEX ||
				get_rel_relkind(addr->objectId) == RELKIND_PARTITIONED_INDEX)
				relid = IndexGetRelation(addr->objectId, true);
			break;
		case TriggerRelationId:
			relid = owning_relation(addr, Anum_pg_trigger_oid,
									Anum_pg_trigger_tgrelid);
			break;
		case ConstraintRelationId:
			tup = SearchSysCache1(CONSTROID, ObjectIdGetDatum(addr->objectId));
			if (HeapTupleIsValid(tup))
			{
				relid = ((Form_pg_constraint) GETSTRUCT(tup))->conrelid;
				ReleaseSysCache(tup);
			}
			break;
		case RewriteRelationId:
			relid = owning_relation(addr, Anum_pg_rewrite_oid,
									Anum_pg_rewrite_ev_class);
			break;
		case PolicyRelationId:
			relid = owning_relation(addr, Anum_pg_policy_oid,
									Anum_pg_policy_polrelid);
			break;
		case AttrDefaultRelationId:
			relid = owning_relation(addr, Anum_pg_attrdef_oid,
									Anum_pg_attrdef_adrelid);
			break;
		default:
			break;
	}

	if (OidIsValid(relid))
		note_lock_relation(frame, relid, NULL);
}

/*
 * Add one object described by PostgreSQL's own object-address functions, so
 * that the types and identities are those pg_event_trigger_ddl_commands()
 * reports.
 */
static void
add_object(HistoryFrame *frame, const ObjectAddress *addr, bool dropped)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(frame->cxt);
	HistoryObject *obj;
	char	   *identity;
	Oid			nspid = InvalidOid;

	identity = getObjectIdentity(addr, true);
	if (identity == NULL)
	{
		MemoryContextSwitchTo(oldcxt);
		return;
	}

	obj = palloc0(sizeof(HistoryObject));
	obj->type = getObjectTypeDescription(addr, true);
	obj->identity = identity;
	obj->dropped = dropped;

	if (addr->classId == RelationRelationId)
	{
		nspid = get_rel_namespace(addr->objectId);
		/* What pgm_history_recent_creation() looks for. */
		obj->relid = addr->objectId;
		obj->attnum = addr->objectSubId;
	}
	else if (addr->classId == NamespaceRelationId)
		nspid = addr->objectId;
	else if (addr->classId == ProcedureRelationId)
		nspid = get_func_namespace(addr->objectId);
	else if (addr->classId == TypeRelationId)
	{
		HeapTuple	tup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(addr->objectId));

		if (HeapTupleIsValid(tup))
		{
			nspid = ((Form_pg_type) GETSTRUCT(tup))->typnamespace;
			ReleaseSysCache(tup);
		}
	}
	if (OidIsValid(nspid) && addr->classId != NamespaceRelationId)
	{
		obj->temporary = isAnyTempNamespace(nspid);
		obj->schema = obj->temporary ? pstrdup("pg_temp") : get_namespace_name(nspid);
	}

	frame->objects = lappend(frame->objects, obj);
	add_lock_relations(frame, addr);
	MemoryContextSwitchTo(oldcxt);
}

/* Add a relation the statement touched to the frame's objects. */
static void
add_relation(HistoryFrame *frame, Oid relid)
{
	ObjectAddress addr;

	if (!OidIsValid(relid))
		return;
	ObjectAddressSet(addr, RelationRelationId, relid);
	add_object(frame, &addr, false);
}

/* An object that has no address (a whole database, a schema by name). */
static void
add_named_object(HistoryFrame *frame, const char *type, const char *identity)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(frame->cxt);
	HistoryObject *obj = palloc0(sizeof(HistoryObject));

	obj->type = pstrdup(type);
	obj->identity = identity ? pstrdup(identity) : NULL;
	frame->objects = lappend(frame->objects, obj);
	MemoryContextSwitchTo(oldcxt);
}

static Oid
lookup_rangevar(RangeVar *rv)
{
	if (rv == NULL)
		return InvalidOid;
	return RangeVarGetRelid(rv, NoLock, true);
}

/*
 * Objects of the statements event triggers never fire for, taken from the
 * parse tree once the statement has run (names resolve to what it acted on).
 */
static void
collect_hook_only_objects(HistoryFrame *frame, Node *parsetree)
{
	ListCell   *lc;

	switch (nodeTag(parsetree))
	{
		case T_CreateExtensionStmt:
			{
				ObjectAddress addr;

				ObjectAddressSet(addr, ExtensionRelationId,
								 get_extension_oid(((CreateExtensionStmt *) parsetree)->extname,
												   true));
				if (OidIsValid(addr.objectId))
					add_object(frame, &addr, false);
				break;
			}

		case T_TruncateStmt:
			foreach(lc, ((TruncateStmt *) parsetree)->relations)
				add_relation(frame, lookup_rangevar(lfirst_node(RangeVar, lc)));
			break;

		case T_VacuumStmt:
			{
				VacuumStmt *vac = (VacuumStmt *) parsetree;

				frame->rewrite = true;
				if (vac->rels == NIL)
					add_named_object(frame, "database", get_database_name(MyDatabaseId));
				foreach(lc, vac->rels)
				{
					VacuumRelation *vrel = lfirst_node(VacuumRelation, lc);

					add_relation(frame, OidIsValid(vrel->oid) ? vrel->oid :
								 lookup_rangevar(vrel->relation));
				}
				break;
			}

		case T_ClusterStmt:
			{
				ClusterStmt *cl = (ClusterStmt *) parsetree;

				frame->rewrite = true;
				if (cl->relation)
					add_relation(frame, lookup_rangevar(cl->relation));
				else
					add_named_object(frame, "database", get_database_name(MyDatabaseId));
				break;
			}

		case T_ReindexStmt:
			{
				ReindexStmt *ri = (ReindexStmt *) parsetree;

				switch (ri->kind)
				{
					case REINDEX_OBJECT_INDEX:
					case REINDEX_OBJECT_TABLE:
						add_relation(frame, lookup_rangevar(ri->relation));
						break;
					case REINDEX_OBJECT_SCHEMA:
						add_named_object(frame, "schema", quote_identifier(ri->name));
						break;
					case REINDEX_OBJECT_SYSTEM:
					case REINDEX_OBJECT_DATABASE:
						add_named_object(frame, "database", get_database_name(MyDatabaseId));
						break;
				}
				break;
			}

		default:
			break;
	}
}

/*
 * The columns an ALTER TABLE added, each as an object of its own ("table
 * column", with the table's OID and the column's number), so that the
 * history can tell later when a column was made (see
 * pgm_history_recent_creation()).  Event triggers report only the table.
 */
static void
add_added_columns(HistoryFrame *frame, AlterTableStmt *stmt)
{
	Oid			relid = InvalidOid;
	ListCell   *lc;

	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);
		ColumnDef  *def;
		ObjectAddress addr;
		AttrNumber	attnum;

		if (cmd->subtype != AT_AddColumn || cmd->def == NULL || !IsA(cmd->def, ColumnDef))
			continue;
		def = (ColumnDef *) cmd->def;
		if (!OidIsValid(relid))
			relid = lookup_rangevar(stmt->relation);
		if (!OidIsValid(relid) || def->colname == NULL)
			return;
		attnum = get_attnum(relid, def->colname);
		if (attnum == InvalidAttrNumber)
			continue;
		ObjectAddressSubSet(addr, RelationRelationId, relid, attnum);
		add_object(frame, &addr, false);
	}
}

/* ---------------------------------------------------------------------
 * Event-trigger functions
 *
 * They only collect: nothing is written until the statement has run.  A
 * statement the hook did not open a frame for (pg_migrate standing aside)
 * is ignored, and so is anything during an extension script.
 * ---------------------------------------------------------------------
 */

/*
 * Should an event trigger function do anything: called as an event
 * trigger, with a history frame open and recording on.
 */
static bool
event_wanted(FunctionCallInfo fcinfo)
{
	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" must be fired as an event trigger",
						get_func_name(fcinfo->flinfo->fn_oid))));

	if (IsBinaryUpgrade)
		return false;

	/*
	 * Without the hook there is no statement text, and a row without it
	 * would be a false audit trail; say so instead of failing the DDL, so
	 * that a server which lost its preload line can still be fixed.
	 */
	if (!pgm_preloaded)
	{
		ereport(WARNING,
				(errcode(ERRCODE_PGM_NOT_PRELOADED),
				 errmsg("DDL history is not recorded because pg_migrate is not loaded via shared_preload_libraries"),
				 errhint("Add pg_migrate to shared_preload_libraries in postgresql.conf and restart the server.")));
		return false;
	}

	return pgm_current_frame != NULL && !creating_extension;
}

/*
 * Connect to SPI and run one of the event-trigger queries, preparing it the
 * first time.  The caller reads SPI_tuptable and calls SPI_finish().
 */
static void
run_event_query(SPIPlanPtr *plan, const char *sql)
{
	PgmSavedHooks hooks;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* Part of the statement being recorded: see own_sql.c. */
	pgm_hide_from_hooks(&hooks);
	PG_TRY();
	{
		if (*plan == NULL)
		{
			SPIPlanPtr	p = SPI_prepare(sql, 0, NULL);

			if (p == NULL)
				elog(ERROR, "SPI_prepare failed for \"%s\": %s",
					 sql, SPI_result_code_string(SPI_result));
			SPI_keepplan(p);
			*plan = p;
		}
		if (SPI_execute_plan(*plan, NULL, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "event trigger query failed: %s", sql);
	}
	PG_FINALLY();
	{
		pgm_restore_hooks(&hooks);
	}
	PG_END_TRY();
}

/* Object classes a GRANT's InternalGrant can name, by its object type. */
static Oid
grant_class_id(ObjectType objtype)
{
	switch (objtype)
	{
		case OBJECT_TABLE:
		case OBJECT_SEQUENCE:
			return RelationRelationId;
		case OBJECT_FUNCTION:
		case OBJECT_PROCEDURE:
		case OBJECT_ROUTINE:
			return ProcedureRelationId;
		case OBJECT_SCHEMA:
			return NamespaceRelationId;
		case OBJECT_TYPE:
		case OBJECT_DOMAIN:
			return TypeRelationId;
		case OBJECT_LANGUAGE:
			return LanguageRelationId;
		case OBJECT_FDW:
			return ForeignDataWrapperRelationId;
		case OBJECT_FOREIGN_SERVER:
			return ForeignServerRelationId;
		case OBJECT_LARGEOBJECT:
			return LargeObjectRelationId;
		default:
			return InvalidOid;
	}
}

/*
 * Event trigger on ddl_command_end: add the objects the statement created
 * or altered to the current history frame.
 */
Datum
migrate_on_ddl_command_end(PG_FUNCTION_ARGS)
{
	HistoryFrame *frame = pgm_current_frame;
	uint64		i;

	if (!event_wanted(fcinfo))
		PG_RETURN_NULL();

	/*
	 * REINDEX fires ddl_command_end from PostgreSQL 17 on, listing every
	 * index it rebuilt (a table's TOAST index among them).  Its row records
	 * what the statement named, and the lock on that, on every major: the
	 * objects come from the parse tree, as for the statements no event
	 * trigger fires for.
	 */
	if (strcmp(frame->command_tag, "REINDEX") == 0)
		PG_RETURN_NULL();

	frame->saw_event = true;

	run_event_query(&ddl_commands_plan,
					"SELECT classid, objid, objsubid, command,"
					"       command_tag OPERATOR(pg_catalog.~~) 'CREATE %'"
					"  FROM pg_catalog.pg_event_trigger_ddl_commands()");

	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		d;
		ObjectAddress addr;

		d = SPI_getbinval(tup, desc, 1, &isnull);
		if (!isnull)
		{
			addr.classId = DatumGetObjectId(d);
			addr.objectId = DatumGetObjectId(SPI_getbinval(tup, desc, 2, &isnull));
			addr.objectSubId = DatumGetInt32(SPI_getbinval(tup, desc, 3, &isnull));
			add_object(frame, &addr, false);
			if (addr.classId == RelationRelationId &&
				DatumGetBool(SPI_getbinval(tup, desc, 5, &isnull)))
			{
				MemoryContext oldcxt = MemoryContextSwitchTo(frame->cxt);

				frame->created_relids = lappend_oid(frame->created_relids,
													addr.objectId);
				MemoryContextSwitchTo(oldcxt);
				pgm_lockstats_created(addr.objectId);
			}
			continue;
		}

		/*
		 * GRANT/REVOKE and ALTER DEFAULT PRIVILEGES have no address; the
		 * objects of a GRANT are in the collected command itself (its parse
		 * tree is NULL, so we never look at that).
		 */
		d = SPI_getbinval(tup, desc, 4, &isnull);
		if (!isnull)
		{
			CollectedCommand *cmd = (CollectedCommand *) DatumGetPointer(d);

			if (cmd->type == SCT_Grant && cmd->d.grant.istmt != NULL)
			{
				InternalGrant *istmt = cmd->d.grant.istmt;
				Oid			classid = grant_class_id(istmt->objtype);
				ListCell   *lc;

				if (!OidIsValid(classid))
					continue;
				foreach(lc, istmt->objects)
				{
					ObjectAddressSet(addr, classid, lfirst_oid(lc));
					add_object(frame, &addr, false);
				}
			}
		}
	}
	SPI_finish();

	PG_RETURN_NULL();
}

/*
 * Event trigger on sql_drop: add the objects the statement dropped to the
 * current history frame, flagged as dropped.
 */
Datum
migrate_on_sql_drop(PG_FUNCTION_ARGS)
{
	HistoryFrame *frame = pgm_current_frame;
	uint64		i;

	if (!event_wanted(fcinfo))
		PG_RETURN_NULL();

	frame->saw_event = true;

	run_event_query(&dropped_objects_plan,
					"SELECT classid, objid, object_type, schema_name, object_identity,"
					"       is_temporary"
					"  FROM pg_catalog.pg_event_trigger_dropped_objects()"
					" WHERE original OR normal");

	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		MemoryContext oldcxt = MemoryContextSwitchTo(frame->cxt);
		HistoryObject *obj = palloc0(sizeof(HistoryObject));
		bool		isnull;
		Oid			classid;
		Oid			objid;

		obj->type = SPI_getvalue(tup, desc, 3);
		obj->schema = SPI_getvalue(tup, desc, 4);
		obj->identity = SPI_getvalue(tup, desc, 5);
		obj->temporary = DatumGetBool(SPI_getbinval(tup, desc, 6, &isnull));
		obj->dropped = true;
		frame->objects = lappend(frame->objects, obj);

		/* A dropped relation's lock is still held: report it. */
		classid = DatumGetObjectId(SPI_getbinval(tup, desc, 1, &isnull));
		objid = DatumGetObjectId(SPI_getbinval(tup, desc, 2, &isnull));
		if (classid == RelationRelationId)
			note_lock_relation(frame, objid, obj->identity);
		MemoryContextSwitchTo(oldcxt);
	}
	SPI_finish();

	PG_RETURN_NULL();
}

/*
 * Event trigger on table_rewrite: mark the current statement as having
 * rewritten a table.
 */
Datum
migrate_on_table_rewrite(PG_FUNCTION_ARGS)
{
	HistoryFrame *frame = pgm_current_frame;
	bool		isnull;
	Oid			relid;

	if (!event_wanted(fcinfo))
		PG_RETURN_NULL();

	frame->saw_event = true;
	frame->rewrite = true;

	run_event_query(&rewrite_oid_plan,
					"SELECT pg_catalog.pg_event_trigger_table_rewrite_oid()");
	if (SPI_processed != 1)
		elog(ERROR, "could not read pg_event_trigger_table_rewrite_oid()");
	relid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0],
										   SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();

	if (!isnull)
	{
		MemoryContext oldcxt = MemoryContextSwitchTo(frame->cxt);

		note_lock_relation(frame, relid, NULL);
		MemoryContextSwitchTo(oldcxt);
	}

	PG_RETURN_NULL();
}

/* ---------------------------------------------------------------------
 * The writer
 * ---------------------------------------------------------------------
 */

/*
 * Strongest lock this backend holds on any of the given relations, and
 * which of them it is on (the first, on a tie).
 */
static LOCKMODE
strongest_held(List *relids, List *except, Oid *on)
{
	LOCKMODE	best = NoLock;
	ListCell   *lc;

	foreach(lc, relids)
	{
		LOCKTAG		tag;
		LOCKMODE	mode;
		Oid			relid = lfirst_oid(lc);

		if (list_member_oid(except, relid))
			continue;
		SET_LOCKTAG_RELATION(tag,
							 IsSharedRelation(relid) ? InvalidOid : MyDatabaseId,
							 relid);
		for (mode = AccessExclusiveLock; mode > best; mode--)
		{
			if (PGM_LockHeldByMe(&tag, mode))
			{
				best = mode;
				*on = relid;
				break;
			}
		}
		if (best == AccessExclusiveLock)
			break;
	}
	return best;
}

/*
 * The lock the statement took.  What matters to everybody else is the lock
 * on relations that existed before the statement (CREATE INDEX takes
 * ShareLock on its table; the AccessExclusiveLock on the new index blocks
 * nobody), so relations the statement created count only when there is
 * nothing else.  Nor does a relation that an earlier statement of the same
 * transaction created: until the transaction commits no other session
 * sees it, so its locks block nobody (a DROP TABLE of it is recorded with
 * the lock it took and no hold, like the CREATE TABLE).  Statements that commit internally (VACUUM FULL, the
 * CONCURRENTLY variants) hold nothing any more when they return; their lock
 * is the one they are known to take.
 */
typedef struct StatementLock
{
	LOCKMODE	mode;			/* NoLock: none */
	Oid			relid;			/* what it is on, when known */
	bool		held;			/* still held now */
	bool		blocks_others;	/* blocks writes or more, on a relation
								 * that existed before the statement */
} StatementLock;

static void
statement_lock(HistoryFrame *frame, StatementLock *lock)
{
	List	   *unseen = list_concat_copy(frame->created_relids,
										  pgm_lockstats_xact_created());

	lock->relid = InvalidOid;
	lock->held = true;
	lock->mode = strongest_held(frame->lock_relids, unseen, &lock->relid);
	lock->blocks_others = lock->mode >= PGM_BLOCKING_LOCK;
	if (lock->mode == NoLock)
		lock->mode = strongest_held(frame->lock_relids, frame->created_relids,
									&lock->relid);
	if (lock->mode == NoLock)
		lock->mode = strongest_held(frame->created_relids, NIL, &lock->relid);
	if (lock->mode == NoLock)
	{
		/* Released before returning: on the first relation it named. */
		lock->held = false;
		lock->mode = frame->predicted_lock;
		if (frame->lock_relids != NIL)
			lock->relid = linitial_oid(frame->lock_relids);
		lock->blocks_others = lock->mode >= PGM_BLOCKING_LOCK &&
			!list_member_oid(unseen, lock->relid);
	}
	list_free(unseen);
}

/* The name noted for a lock relation of the frame, or NULL. */
static const char *
lock_relation_name(HistoryFrame *frame, Oid relid)
{
	ListCell   *lc1;
	ListCell   *lc2;

	forboth(lc1, frame->lock_relids, lc2, frame->lock_relnames)
	{
		if (lfirst_oid(lc1) == relid)
			return (const char *) lfirst(lc2);
	}
	return NULL;
}

/* The objects of a history frame as the JSON array of the objects column. */
static char *
objects_json(List *objects)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '[');
	foreach(lc, objects)
	{
		HistoryObject *obj = lfirst(lc);

		if (buf.len > 1)
			appendStringInfoString(&buf, ", ");
		appendStringInfoString(&buf, "{\"type\": ");
		escape_json(&buf, obj->type ? obj->type : "");
		appendStringInfoString(&buf, ", \"identity\": ");
		if (obj->identity)
			escape_json(&buf, obj->identity);
		else
			appendStringInfoString(&buf, "null");
		appendStringInfoString(&buf, ", \"schema\": ");
		if (obj->schema)
			escape_json(&buf, obj->schema);
		else
			appendStringInfoString(&buf, "null");
		if (OidIsValid(obj->relid))
			appendStringInfo(&buf, ", \"oid\": %u", obj->relid);
		if (obj->attnum != 0)
			appendStringInfo(&buf, ", \"attnum\": %d", obj->attnum);
		if (obj->dropped)
			appendStringInfoString(&buf, ", \"dropped\": true");
		appendStringInfoChar(&buf, '}');
	}
	appendStringInfoChar(&buf, ']');
	return buf.data;
}

/*
 * The id of a new history row.
 *
 * nextval() would make the history's sequence the session's "last used"
 * one: lastval() would then return the history's id instead of the
 * application's last nextval() (PHP's PDO::lastInsertId() calls it), or
 * fail with "permission denied" for a role that may not read the history's
 * sequence.  That state lives in commands/sequence.c where nothing can
 * restore it, so the id is drawn without nextval(): the sequence's
 * current value plus one, written back with setval(), which advances the
 * sequence (non-transactionally and WAL-logged, as nextval() does) but
 * leaves lastval() alone.
 *
 * A lock on the sequence that conflicts with itself and with nothing
 * nextval() or setval() take (SHARE UPDATE EXCLUSIVE) makes reading and
 * writing back one step for every writer of the history, so ids stay
 * unique and increase in the order they are drawn.  It is released at
 * once: what setval() wrote does not wait for the commit.  It is taken
 * before anything else, so while it is held nothing is waited for but
 * the sequence's buffer.
 *
 * setval() also leaves the sequence no values logged in advance, so a
 * sequence created in the current transaction under wal_level = minimal
 * (CREATE EXTENSION, a restore in one transaction) cannot hand out again
 * after a crash an id that a committed row holds: nextval() would have
 * recorded 32 values as covered by WAL that was never written.
 */
static Datum
draw_history_id(void)
{
	bool		isnull;
	Datum		id;
	int			save_lock_timeout;

	/*
	 * Every session's DDL takes this lock, for a few microseconds each: a
	 * wait for it is no lock queue on the application's tables, and must
	 * not fail the statement under the bounded lock_timeout that the
	 * lock-queue protection gives it (the holder may just be descheduled
	 * on a busy machine).
	 */
	save_lock_timeout = LockTimeout;
	LockTimeout = 0;
	PG_TRY();
	{
		LockRelationOid(insert_seq_relid, ShareUpdateExclusiveLock);
	}
	PG_FINALLY();
	{
		LockTimeout = save_lock_timeout;
	}
	PG_END_TRY();
	if (SPI_execute_plan(id_plan, NULL, NULL, false, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not draw the id of a history row");
	id = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		elog(ERROR, "could not draw the id of a history row");
	UnlockRelationOid(insert_seq_relid, ShareUpdateExclusiveLock);
	return id;
}

#define INSERT_NARGS 20

/* Positions in the insert's arguments (see insert_row). */
#define ARG_LOCK_HELD	16
#define ARG_PEAK		17
#define ARG_JOB_ID		18

/*
 * Does the history have the lock-figure columns (extension version 1.4 on)?
 * A database whose extension has not been updated yet lacks them.
 */
static bool
history_has_lock_columns(Oid relid)
{
	return get_attnum(relid, "peak_waiters") != InvalidAttrNumber &&
		get_attnum(relid, "lock_held") != InvalidAttrNumber &&
		get_attnum(relid, "lock_wait") != InvalidAttrNumber &&
		get_attnum(relid, "lock_retries") != InvalidAttrNumber &&
		get_attnum(relid, "lock_relation") != InvalidAttrNumber;
}

/*
 * Insert one row into migrate_ddl_history through a plan prepared once
 * per backend (and again when the table was recreated or gained the lock
 * or job columns).  The caller has switched to the table's owner and
 * connected to SPI.  Returns the new row's id, or 0 when the row was not
 * written.
 *
 * preset_id is an id drawn earlier for this row (0: draw it now); with
 * draw_only, the id is drawn and returned and nothing is inserted (0: the
 * column's default will supply it).  A row kept for the commit whose id
 * had to be drawn earlier (see deferred_creation) takes that id.
 */
static int64
insert_row(Oid relid, Datum *values, const char *nulls, int64 preset_id,
		   bool draw_only)
{
	Datum		args[INSERT_NARGS];
	char		argnulls[INSERT_NARGS + 1];
	bool		lock_columns = history_has_lock_columns(relid);
	bool		job_column = get_attnum(relid, "job_id") != InvalidAttrNumber;
	bool		isnull;
	Datum		id;

	if (insert_plan == NULL || insert_plan_relid != relid ||
		insert_plan_lock_columns != lock_columns ||
		insert_plan_job_column != job_column)
	{
		Oid			argtypes[INSERT_NARGS] = {
			TIMESTAMPTZOID,		/* occurred_at */
			NAMEOID,			/* session_role */
			NAMEOID,			/* effective_role */
			TEXTOID,			/* application_name */
			TEXTOID,			/* command_tag */
			TEXTOID,			/* statement */
			TEXTOID,			/* objects, as json text */
			BOOLOID,			/* rewrite */
			TEXTOID,			/* lock_mode */
			INTERVALOID,		/* duration */
			TEXTOID,			/* migration_version */
			BOOLOID,			/* toplevel */
			TEXTOID,			/* policy_overrides, as json text */
			TEXTOID,			/* lock_relation */
			INTERVALOID,		/* lock_wait */
			INT4OID,			/* lock_retries */
			INTERVALOID,		/* lock_held */
			INT4OID,			/* peak_waiters */
			INT8OID,			/* job_id */
			INT8OID				/* id (see draw_history_id) */
		};
		char	   *sql;
		SPIPlanPtr	plan;
		SPIPlanPtr	seq_plan = NULL;
		List	   *sequences;
		Oid			seqid;
		char	   *nspname = get_namespace_name(get_rel_namespace(relid));
		char	   *relname = get_rel_name(relid);
		char	   *seqnspname;
		char	   *seqname;

		/* Dropped (DROP EXTENSION) since pgm_relation() found it. */
		if (nspname == NULL || relname == NULL)
			return 0;

		/*
		 * The id sequence, the one the table owns; without one (a damaged
		 * installation) the column's default supplies the id.
		 */
		sequences = getOwnedSequences(relid);
		seqid = sequences != NIL ? linitial_oid(sequences) : InvalidOid;
		seqnspname = OidIsValid(seqid) ? get_namespace_name(get_rel_namespace(seqid)) : NULL;
		seqname = OidIsValid(seqid) ? get_rel_name(seqid) : NULL;
		if (seqnspname == NULL || seqname == NULL)
			seqid = InvalidOid;
		else
		{
			sql = psprintf("SELECT pg_catalog.setval('%u'::pg_catalog.regclass,"
						   " CASE WHEN is_called THEN last_value OPERATOR(pg_catalog.+) 1"
						   " ELSE last_value END, true) FROM %s.%s",
						   seqid, quote_identifier(seqnspname), quote_identifier(seqname));
			seq_plan = SPI_prepare(sql, 0, NULL);
			if (seq_plan == NULL)
				elog(ERROR, "could not prepare the history id query: %s",
					 SPI_result_code_string(SPI_result));
			SPI_keepplan(seq_plan);
		}

		sql = psprintf("INSERT INTO %s.%s"
					   " (%soccurred_at, transaction_id, backend_pid,"
					   "  session_role, effective_role, application_name, client_addr,"
					   "  command_tag, statement, objects, rewrite, lock_mode,"
					   "  duration, migration_version, toplevel, policy_overrides%s%s)"
					   " VALUES (%s$1, pg_catalog.pg_current_xact_id(),"
					   "  pg_catalog.pg_backend_pid(), $2, $3, $4,"
					   "  pg_catalog.inet_client_addr(), $5, $6,"
					   "  $7::pg_catalog.jsonb, $8, $9, $10, $11, $12,"
					   "  $13::pg_catalog.jsonb%s%s) RETURNING id",
					   quote_identifier(nspname), quote_identifier(relname),
					   OidIsValid(seqid) ? "id, " : "",
					   lock_columns ? ", lock_relation, lock_wait, lock_retries,"
					   " lock_held, peak_waiters" : "",
					   job_column ? ", job_id" : "",
					   OidIsValid(seqid) ? "$20, " : "",
					   lock_columns ? ", $14, $15, $16, $17, $18" : "",
					   job_column ? ", $19" : "");
		plan = SPI_prepare(sql, OidIsValid(seqid) ? INSERT_NARGS : INSERT_NARGS - 1, argtypes);
		if (plan == NULL)
			elog(ERROR, "could not prepare the history insert: %s",
				 SPI_result_code_string(SPI_result));
		SPI_keepplan(plan);
		if (insert_plan)
			SPI_freeplan(insert_plan);
		if (id_plan)
			SPI_freeplan(id_plan);
		insert_plan = plan;
		id_plan = seq_plan;
		insert_plan_relid = relid;
		insert_plan_lock_columns = lock_columns;
		insert_plan_job_column = job_column;
		insert_seq_relid = seqid;
	}

	if (draw_only)
		return OidIsValid(insert_seq_relid) ? DatumGetInt64(draw_history_id()) : 0;

	memcpy(args, values, sizeof(Datum) * (INSERT_NARGS - 1));
	memcpy(argnulls, nulls, INSERT_NARGS - 1);
	argnulls[INSERT_NARGS - 1] = ' ';
	argnulls[INSERT_NARGS] = '\0';
	if (preset_id > 0)
		args[INSERT_NARGS - 1] = Int64GetDatum(preset_id);
	else if (OidIsValid(insert_seq_relid))
		args[INSERT_NARGS - 1] = draw_history_id();
	else
		argnulls[INSERT_NARGS - 1] = 'n';

	if (SPI_execute_plan(insert_plan, args, argnulls, false, 0) != SPI_OK_INSERT_RETURNING ||
		SPI_processed != 1)
		elog(ERROR, "could not insert into the DDL history");
	id = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? 0 : DatumGetInt64(id);
}

/*
 * insert_row(), out of sight of other extensions' hooks: the row is part
 * of the statement being recorded, not a statement of the user's (see
 * own_sql.c).
 */
static int64
insert_row_unseen(Oid relid, Datum *values, const char *nulls,
				  int64 preset_id, bool draw_only)
{
	PgmSavedHooks hooks;
	volatile int64 id = 0;

	pgm_hide_from_hooks(&hooks);
	PG_TRY();
	{
		id = insert_row(relid, values, nulls, preset_id, draw_only);
	}
	PG_FINALLY();
	{
		pgm_restore_hooks(&hooks);
	}
	PG_END_TRY();
	return id;
}

/* A role's name; a role dropped by the statement itself is named by OID. */
static const char *
role_name(Oid roleid)
{
	char	   *name = GetUserNameFromId(roleid, true);

	return name ? name : psprintf("%u", roleid);
}

/*
 * May the statements of this session go ahead when the history cannot
 * record them?  Only when it is logged in as a superuser (see
 * history_unwritable).  The session's role counts, not the current one: a
 * superuser's SECURITY DEFINER function does not carry an ordinary
 * session's DDL past a broken history, while a superuser who SET ROLE to
 * another role can still repair.
 */
static bool
may_bypass_history(void)
{
	return superuser_arg(GetSessionUserId());
}

/*
 * The history cannot take the row of a statement that has run: its table
 * was dropped, renamed, stripped of its owner's privileges, or given a
 * trigger that fails.
 *
 * A superuser's statement goes ahead with a WARNING: superusers are the
 * ones who repair the installation, and they could switch recording off
 * anyway.  Anybody else's statement is refused (fail closed): the audit
 * trail must not silently lose the changes of the roles it exists to
 * watch, and the statement is rolled back with the reason.
 */
static void
history_unwritable(const char *cause)
{
	if (may_bypass_history())
		ereport(WARNING,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the DDL history could not record this statement"),
				 errdetail("%s", cause),
				 errhint("Repair %s, or drop and re-create the extension "
						 "with pg_migrate.record_ddl and pg_migrate.enforce off "
						 "(README: \"Repairing a damaged installation\").",
						 HISTORY_TABLE)));
	else
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("statement refused because the DDL history cannot record it"),
				 errdetail("%s Statements of sessions not logged in as a superuser are "
						   "refused while the history cannot record them.", cause),
				 errhint("Ask a superuser to repair %s "
						 "(README: \"Repairing a damaged installation\").",
						 HISTORY_TABLE)));
}

/*
 * Errors that say nothing about the state of the history table: the insert
 * met a lock timeout, a deadlock, a cancel, a shortage or an internal
 * failure.  They stay what they are (a statement retried after a lock
 * timeout must see the lock timeout), for superusers too.
 */
static bool
transient_error(int sqlerrcode)
{
	int			category = ERRCODE_TO_CATEGORY(sqlerrcode);

	return sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE ||
		category == ERRCODE_TRANSACTION_ROLLBACK ||
		category == ERRCODE_INSUFFICIENT_RESOURCES ||
		category == ERRCODE_OPERATOR_INTERVENTION ||
		category == ERRCODE_SYSTEM_ERROR ||
		category == ERRCODE_INTERNAL_ERROR;
}

/*
 * Insert the row as the table's owner: ordinary roles cannot write the
 * history themselves, and a security-restricted operation keeps anything
 * the insert might run from changing session state.
 *
 * A failure that comes from the table's state is turned into
 * history_unwritable()'s report.  For superusers, whose statement goes
 * ahead, the insert into a history that does not look as the extension
 * made it runs in a subtransaction so that its failure can be rolled back
 * alone.  A healthy history (the usual case) and everybody else's
 * statements (which fail anyway) spend no subtransaction: each would take a
 * subtransaction id, and a migration of more than 64 DDL statements would
 * overflow the cache of them.
 */
/*
 * Is the history table as the extension made it, as far as what can make
 * an insert fail goes: its owner may insert and draw ids (read the
 * sequence and setval() it: see draw_history_id), and it has no
 * triggers but the extension's own?  A cheap look at the catalog caches,
 * so that a healthy history spends no subtransaction on a superuser's
 * statement.
 */
static bool
history_looks_writable(Oid relid)
{
	Oid			owner = pgm_relation_owner(relid);
	Oid			seqid = pgm_relation(HISTORY_TABLE "_id_seq");
	Relation	rel;
	bool		ok = true;

	if (pg_class_aclcheck(relid, owner, ACL_INSERT) != ACLCHECK_OK ||
		!OidIsValid(seqid) ||
		pg_class_aclcheck(seqid, owner, ACL_SELECT) != ACLCHECK_OK ||
		pg_class_aclcheck(seqid, owner, ACL_UPDATE) != ACLCHECK_OK)
		return false;

	rel = try_relation_open(relid, AccessShareLock);
	if (rel == NULL)
		return false;			/* dropped meanwhile */
	if (rel->trigdesc != NULL)
	{
		int			i;

		for (i = 0; i < rel->trigdesc->numtriggers; i++)
		{
			const char *name = rel->trigdesc->triggers[i].tgname;

			if (strcmp(name, "migrate_ddl_history_append_only") != 0 &&
				strcmp(name, "migrate_ddl_history_no_truncate") != 0)
				ok = false;
		}
	}
	relation_close(rel, AccessShareLock);
	return ok;
}

/*
 * Write a history row as the table's owner, returning its id (0: not
 * written).  A superuser or the owner
 * whose history table was damaged gets a warning instead of an error
 * (history_unwritable), in a subtransaction, so that the DDL that would
 * repair it can run; transient errors (cancels, deadlocks) are always
 * raised.
 *
 * n rows at once (the rows written at commit), under one switch to the
 * owner; preset_ids (or NULL) and draw_only are insert_row()'s, and with
 * draw_only the ids drawn go to preset_ids.  Returns the last id; a
 * failure that a superuser goes past returns -1.
 */
static int64
write_rows(Oid relid, int n, Datum **values, char **nulls, int64 *preset_ids,
		   bool draw_only)
{
	volatile int64 id = 0;
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	bool		recover = may_bypass_history() && !history_looks_writable(relid);
	ErrorData  *edata = NULL;
	PgmSavedUser saved;
	int			i;

	pgm_save_user(&saved);
	if (recover)
	{
		BeginInternalSubTransaction(NULL);
		MemoryContextSwitchTo(cxt);
	}
	PG_TRY();
	{
		pgm_act_as(pgm_relation_owner(relid), &saved);
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		for (i = 0; i < n; i++)
		{
			id = insert_row_unseen(relid, values ? values[i] : NULL,
								   nulls ? nulls[i] : NULL,
								   preset_ids ? preset_ids[i] : 0, draw_only);
			if (draw_only && preset_ids)
				preset_ids[i] = id;
		}
		SPI_finish();
		pgm_restore_user(&saved);
		if (recover)
		{
			ReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(cxt);
			CurrentResourceOwner = owner;
		}
	}
	PG_CATCH();
	{
		pgm_restore_user(&saved);
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		/* Our subtransaction goes first, whatever happens next. */
		if (recover)
		{
			RollbackAndReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(cxt);
			CurrentResourceOwner = owner;
		}
		if (transient_error(edata->sqlerrcode))
			ReThrowError(edata);
	}
	PG_END_TRY();

	if (edata != NULL)
	{
		history_unwritable(psprintf("Inserting the row failed: %s.", edata->message));
		return -1;
	}
	return id;
}

/* One row, its id drawn now (0: not written). */
static int64
write_row(Oid relid, Datum *values, char *nulls)
{
	int64		id = write_rows(relid, 1, &values, &nulls, NULL, false);

	return Max(id, 0);
}

/* The lock figures of a statement that has just run (see lockstats.c). */
typedef struct LockFigures
{
	int64		wait_us;		/* in lock queues, every attempt */
	TimestampTz granted;		/* when it stopped waiting, roughly */
	int64		held_us;		/* -1: not known yet, or no blocking lock */
	int			peak;			/* -1: not sampled */
} LockFigures;

static Interval *
us_interval(int64 us)
{
	Interval   *iv = palloc0(sizeof(Interval));

	iv->time = us;
	return iv;
}

/*
 * Wait, hold and waiters of the statement's blocking lock, as far as they
 * are known when the statement returns.
 *
 * The lock was granted when the statement stopped waiting: its start plus
 * the wait sampled during this attempt.  A statement that still holds the
 * lock and runs in a transaction of its own (sent alone, outside a
 * transaction block) is about to commit: its hold ends now.  One that
 * released the lock before returning (VACUUM FULL, CLUSTER of several
 * tables) held it while it ran, and nobody can be counted behind it any
 * more.  In a transaction block, the hold is completed at commit.
 */
static void
measure_locks(HistoryFrame *frame, StatementLock *lock, TimestampTz now,
			  LockFigures *figures)
{
	int64		tally = pgm_lockstats_waited_us();
	int64		frame_wait = Min(tally - frame->wait_base_frame,
								 now - frame->started_at);

	figures->wait_us = tally - frame->wait_base_total;
	figures->granted = frame->started_at + frame_wait;
	figures->held_us = -1;
	figures->peak = -1;

	if (!lock->blocks_others)
		return;

	if (!lock->held)
		figures->held_us = now - figures->granted;
	else
	{
		figures->peak = pgm_lockstats_waiters(lock->relid, lock->mode);
		if (frame->alone)
			figures->held_us = now - figures->granted;
	}
}

/* ---------------------------------------------------------------------
 * Rows written at commit
 *
 * A statement of a transaction block that takes a lock blocking others
 * on a relation that existed before the transaction holds it until the
 * transaction ends, so its hold time and the peak of sessions queued
 * behind it are known only then.  Its row is kept here, in
 * TopTransactionContext, and inserted at pre-commit (or PREPARE
 * TRANSACTION, before the locks pass to the prepared transaction) with
 * those figures: the transaction inserts one row per statement, as it
 * does with measuring off, and never changes one.  The rows of the
 * statements after it in the transaction are kept too, so that ids, drawn
 * at commit, keep the order of the statements; all are inserted under one
 * switch to the history's owner.
 *
 * A subtransaction that rolls back takes its rows with it; one that
 * commits hands them to its parent.  An aborted transaction writes
 * nothing, but a hold above pg_migrate.lock_hold_warning is still logged.
 * Until the commit these rows are not in the table, not even for the
 * transaction itself; pgm_history_recent_creation looks at them here.
 * ---------------------------------------------------------------------
 */
typedef struct DeferredRow
{
	int64		id;				/* 0: drawn at commit (see deferred_creation) */
	bool		measured;		/* its lock figures are completed at commit */
	Datum		values[INSERT_NARGS - 1];
	char		nulls[INSERT_NARGS - 1];
	Oid			lock_relid;
	char	   *relname;
	LOCKMODE	mode;
	TimestampTz granted;
	int64		wait_us;
	int			retries;
	int			peak;
	char	   *statement;
	SubTransactionId subid;
} DeferredRow;

/* Of DeferredRow *, in statement order, in TopTransactionContext. */
static List *deferred = NIL;

/* A Datum of the insert's argument i, copied into the current context. */
static Datum
copy_arg(int i, Datum value)
{
	switch (i)
	{
		case 0:					/* occurred_at */
		case ARG_JOB_ID:
			return datumCopy(value, FLOAT8PASSBYVAL, 8);
		case 1:					/* session_role */
		case 2:					/* effective_role */
			return datumCopy(value, false, NAMEDATALEN);
		case 7:					/* rewrite */
		case 11:				/* toplevel */
		case 15:				/* lock_retries */
		case ARG_PEAK:
			return value;
		case 9:					/* duration */
		case 14:				/* lock_wait */
		case ARG_LOCK_HELD:
			return datumCopy(value, false, sizeof(Interval));
		default:				/* text */
			return datumCopy(value, false, -1);
	}
}

static void
defer_row(bool measured, Datum *values, const char *nulls, Oid lock_relid,
		  const char *relname, LOCKMODE mode, LockFigures *figures,
		  int retries, const char *statement)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(TopTransactionContext);
	DeferredRow *r = palloc0(sizeof(DeferredRow));
	int			i;

	r->measured = measured;
	for (i = 0; i < INSERT_NARGS - 1; i++)
	{
		r->nulls[i] = nulls[i];
		if (nulls[i] != 'n')
			r->values[i] = copy_arg(i, values[i]);
	}
	r->lock_relid = lock_relid;
	r->relname = relname ? pstrdup(relname) : NULL;
	r->mode = mode;
	r->granted = figures->granted;
	r->wait_us = figures->wait_us;
	r->retries = retries;
	r->peak = Max(figures->peak, 0);
	r->statement = statement ? pstrdup(statement) : NULL;
	r->subid = GetCurrentSubTransactionId();
	deferred = lappend(deferred, r);
	MemoryContextSwitchTo(oldcxt);
}

/*
 * At pre-commit: each kept row with its hold and peak, inserted as the
 * statement's row would have been.  A history table dropped since (by a
 * later statement of the transaction) takes nothing.  A failure fails the
 * commit, as it would have failed the statement.
 */
static void
write_deferred_rows(void)
{
	List	   *rows = deferred;
	Oid			relid = pgm_relation(HISTORY_TABLE);
	TimestampTz now = GetCurrentTimestamp();
	int			n = list_length(rows);
	Datum	  **values = palloc(sizeof(Datum *) * n);
	char	  **nulls = palloc(sizeof(char *) * n);
	int64	   *ids = palloc(sizeof(int64) * n);
	int			i = 0;
	ListCell   *lc;

	deferred = NIL;
	foreach(lc, rows)
	{
		DeferredRow *r = lfirst(lc);

		if (r->measured)
		{
			int64		held_us = Max(now - r->granted, 0);
			int			peak = Max(r->peak, pgm_lockstats_waiters(r->lock_relid, r->mode));

			r->values[ARG_LOCK_HELD] = IntervalPGetDatum(us_interval(held_us));
			r->nulls[ARG_LOCK_HELD] = ' ';
			r->values[ARG_PEAK] = Int32GetDatum(peak);
			r->nulls[ARG_PEAK] = ' ';
			pgm_lockstats_hold_report(r->relname, r->mode, r->wait_us, r->retries,
									  held_us, peak, r->statement, true);
		}
		values[i] = r->values;
		nulls[i] = r->nulls;
		ids[i] = r->id;
		i++;
	}
	if (OidIsValid(relid) && !restoring)
	{
		/* Portals are closed by now: the insert brings its snapshot. */
		PushActiveSnapshot(GetTransactionSnapshot());
		(void) write_rows(relid, n, values, nulls, ids, false);
		PopActiveSnapshot();
	}
}

static void
history_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			if (deferred != NIL)
				write_deferred_rows();
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			{
				TimestampTz now = GetCurrentTimestamp();
				ListCell   *lc;

				foreach(lc, deferred)
				{
					DeferredRow *r = lfirst(lc);

					if (r->measured)
						pgm_lockstats_hold_report(r->relname, r->mode, r->wait_us,
												  r->retries, Max(now - r->granted, 0),
												  r->peak, r->statement, false);
				}
				deferred = NIL;
				break;
			}
		default:
			deferred = NIL;
			break;
	}
}

static void
history_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						 SubTransactionId parentSubid, void *arg)
{
	ListCell   *lc;

	if (deferred == NIL)
		return;
	if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		foreach(lc, deferred)
		{
			DeferredRow *r = lfirst(lc);

			if (r->subid == mySubid)
				deferred = foreach_delete_current(deferred, lc);
		}
	}
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
	{
		foreach(lc, deferred)
		{
			DeferredRow *r = lfirst(lc);

			if (r->subid == mySubid)
				r->subid = parentSubid;
		}
	}
}

/* Transaction callbacks for the rows written at commit, from _PG_init. */
void
pgm_history_init(void)
{
	RegisterXactCallback(history_xact_callback, NULL);
	RegisterSubXactCallback(history_subxact_callback, NULL);
}

/*
 * The newest row kept for the commit that pgm_history_recent_creation
 * would have found in the table: same role, tag and object, in the window.
 * Its id, which the caller reports, is drawn now, and so are those of the
 * rows kept before it, in their order (the rows after it draw theirs at
 * commit, later).
 */
static int64
deferred_creation(Oid histid, AttrNumber attnum, const char *role,
				  TimestampTz since, Datum pattern, TimestampTz *at)
{
	ListCell   *lc;
	int			match = -1;
	int			i = 0;

	foreach(lc, deferred)
	{
		DeferredRow *r = lfirst(lc);
		char	   *tag;
		Datum		objects;

		i++;
		if (r->nulls[0] == 'n' || DatumGetTimestampTz(r->values[0]) < since ||
			r->nulls[2] == 'n' || strcmp(NameStr(*DatumGetName(r->values[2])), role) != 0 ||
			r->nulls[4] == 'n' || r->nulls[6] == 'n')
			continue;
		tag = TextDatumGetCString(r->values[4]);
		if (attnum != 0 ? strcmp(tag, "ALTER TABLE") != 0 : strncmp(tag, "CREATE ", 7) != 0)
			continue;
		objects = DirectFunctionCall1(jsonb_in, CStringGetDatum(TextDatumGetCString(r->values[6])));
		if (!DatumGetBool(DirectFunctionCall2(jsonb_contains, objects, pattern)))
			continue;
		match = i - 1;
		*at = DatumGetTimestampTz(r->values[0]);
	}
	if (match < 0)
		return 0;

	i = 0;
	foreach(lc, deferred)
	{
		DeferredRow *r = lfirst(lc);

		if (r->id == 0 && write_rows(histid, 1, NULL, NULL, &r->id, true) < 0)
			return 0;
		if (i++ == match)
			return Max(r->id, 0);
	}
	return 0;
}

/*
 * Write the row for a statement that has just run.  Called by the hook in
 * the statement's (sub)transaction.
 */
void
pgm_history_finish(HistoryFrame *frame, Node *parsetree)
{
	MemoryContext oldcxt;
	Oid			relid;
	Datum		values[INSERT_NARGS];
	char		nulls[INSERT_NARGS];
	StatementLock lock;
	LockFigures figures = {0, 0, -1, -1};
	const char *relname;
	bool		pending;
	ListCell   *lc;
	bool		all_temp;
	Interval   *duration;
	TimestampTz now;
	int			n = 0;

	/* Not installed here, or the statement dropped the extension. */
	relid = pgm_relation(HISTORY_TABLE);
	if (!OidIsValid(relid) && !OidIsValid(pgm_extension_schema()))
		return;

	oldcxt = MemoryContextSwitchTo(frame->cxt);

	if (!frame->saw_event)
		collect_hook_only_objects(frame, parsetree);
	if (IsA(parsetree, AlterTableStmt))
		add_added_columns(frame, (AlterTableStmt *) parsetree);

	/* Statements that touched only temporary objects are skipped. */
	all_temp = frame->objects != NIL;
	foreach(lc, frame->objects)
	{
		if (!((HistoryObject *) lfirst(lc))->temporary)
		{
			all_temp = false;
			break;
		}
	}
	if (all_temp && !pgm_record_temp_objects)
	{
		MemoryContextSwitchTo(oldcxt);
		return;
	}

	/* Installed, but the table was dropped or renamed away. */
	if (!OidIsValid(relid))
	{
		history_unwritable(psprintf("Table \"%s\" does not exist in schema \"%s\" of extension \"%s\".",
									HISTORY_TABLE,
									get_namespace_name(pgm_extension_schema()),
									PGM_EXTENSION_NAME));
		MemoryContextSwitchTo(oldcxt);
		return;
	}

	statement_lock(frame, &lock);
	now = GetCurrentTimestamp();
	duration = palloc0(sizeof(Interval));
	duration->time = now - frame->started_at;
	if (frame->measuring)
		measure_locks(frame, &lock, now, &figures);

	memset(nulls, ' ', sizeof(nulls));
	values[n++] = TimestampTzGetDatum(frame->started_at);
	values[n++] = CStringGetDatum(role_name(GetSessionUserId()));
	values[n++] = CStringGetDatum(role_name(GetUserId()));
	if (application_name && application_name[0])
		values[n++] = CStringGetTextDatum(application_name);
	else
		nulls[n++] = 'n';
	values[n++] = CStringGetTextDatum(frame->command_tag);
	if (frame->statement)
		values[n++] = CStringGetTextDatum(frame->statement);
	else
		nulls[n++] = 'n';
	values[n++] = CStringGetTextDatum(objects_json(frame->objects));
	values[n++] = BoolGetDatum(frame->rewrite);
	if (lock.mode != NoLock)
		values[n++] = CStringGetTextDatum(GetLockmodeName(DEFAULT_LOCKMETHOD, lock.mode));
	else
		nulls[n++] = 'n';
	values[n++] = IntervalPGetDatum(duration);
	if (pgm_current_migration)
		values[n++] = CStringGetTextDatum(pgm_current_migration);
	else if (pgm_history_job_migration)
		values[n++] = CStringGetTextDatum(pgm_history_job_migration);
	else
		nulls[n++] = 'n';
	values[n++] = BoolGetDatum(frame->toplevel);
	if (frame->policy_overrides)
		values[n++] = CStringGetTextDatum(frame->policy_overrides);
	else
		nulls[n++] = 'n';

	/* The lock figures: lock_relation, lock_wait, lock_retries, lock_held, peak_waiters */
	relname = OidIsValid(lock.relid) ? lock_relation_name(frame, lock.relid) : NULL;
	if (relname && lock.mode != NoLock)
		values[n++] = CStringGetTextDatum(relname);
	else
		nulls[n++] = 'n';
	if (frame->measuring)
	{
		values[n++] = IntervalPGetDatum(us_interval(figures.wait_us));
		values[n++] = Int32GetDatum(frame->retries);
	}
	else
	{
		nulls[n++] = 'n';
		nulls[n++] = 'n';
	}
	if (figures.held_us >= 0)
		values[n++] = IntervalPGetDatum(us_interval(figures.held_us));
	else
		nulls[n++] = 'n';
	if (figures.peak >= 0)
		values[n++] = Int32GetDatum(figures.peak);
	else
		nulls[n++] = 'n';
	if (pgm_history_job_id > 0)
		values[n++] = Int64GetDatum(pgm_history_job_id);
	else
		nulls[n++] = 'n';
	Assert(n == INSERT_NARGS - 1);

	/* The name Datums must be real names, not C strings. */
	values[1] = DirectFunctionCall1(namein, values[1]);
	values[2] = DirectFunctionCall1(namein, values[2]);

	/*
	 * A statement whose transaction goes on holds a lock that blocks others
	 * until the transaction ends: its row is written at commit, with the
	 * hold and the peak known then, and so are the rows of the statements
	 * after it in the transaction, so that ids keep the order of the
	 * statements (see "Rows written at commit").  One whose transaction
	 * has ended is complete now, and is logged now if it held its lock too
	 * long.
	 */
	pending = frame->measuring && lock.blocks_others && figures.held_us < 0;
	if (pending || deferred != NIL)
		defer_row(pending, values, nulls, lock.relid, relname, lock.mode,
				  &figures, frame->retries, frame->statement);
	else
		(void) write_row(relid, values, nulls);
	if (!pending && frame->measuring && lock.blocks_others)
		pgm_lockstats_hold_report(relname, lock.mode, figures.wait_us,
								  frame->retries, figures.held_us,
								  Max(figures.peak, 0), frame->statement,
								  true);

	MemoryContextSwitchTo(oldcxt);
}

/*
 * Delete the history rows matching condition (SQL over the history's
 * columns, parameters $1...) as the history's owner: the append-only
 * trigger lets only the owner delete, and only the purge and a restore's
 * replacement of its own rows ask it to.  Returns false, deleting nothing,
 * when the history table cannot be found; else sets *removed.
 */
static bool
delete_history_rows(Oid relid, const char *condition, int nargs, Oid *argtypes,
					Datum *args, uint64 *removed)
{
	char	   *nspname = OidIsValid(relid) ? get_namespace_name(get_rel_namespace(relid)) : NULL;
	char	   *relname = OidIsValid(relid) ? get_rel_name(relid) : NULL;

	if (nspname == NULL || relname == NULL)
		return false;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	(void) pgm_execute_as(pgm_relation_owner(relid),
						  psprintf("DELETE FROM %s WHERE %s",
								   quote_qualified_identifier(nspname, relname), condition),
						  nargs, argtypes, args, NULL);
	*removed = SPI_processed;
	SPI_finish();
	return true;
}

/*
 * migrate_history_purge(older_than interval): remove the history rows older
 * than the given age, returning how many.  EXECUTE is granted to nobody but
 * superusers (and whom they grant it to).
 *
 * The history is append-only for everyone but its owner (its trigger), so
 * the DELETE runs as the owner, switched to for that statement alone as a
 * restricted operation; the function itself is not SECURITY DEFINER, so
 * that nothing else in the call runs with the owner's rights (and the
 * extension has no SECURITY DEFINER function, which PostgreSQL's own
 * catalog checks count).
 */
PG_FUNCTION_INFO_V1(migrate_history_purge);

/*
 * migrate_history_purge(older_than): delete the history rows older than the
 * interval, as the table's owner, and log who did.  The history is
 * append-only for everyone else; who may call this is decided by the
 * install script's grants.
 */
Datum
migrate_history_purge(PG_FUNCTION_ARGS)
{
	Interval   *zero = palloc0(sizeof(Interval));
	Oid			relid;
	Oid			argtypes[1] = {INTERVALOID};
	Datum		args[1];
	uint64		removed;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("older_than must not be null")));
	if (DatumGetBool(DirectFunctionCall2(interval_lt, PG_GETARG_DATUM(0),
										 IntervalPGetDatum(zero))))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("older_than must be a non-negative interval")));

	relid = pgm_relation(HISTORY_TABLE);
	args[0] = PG_GETARG_DATUM(0);
	if (!delete_history_rows(relid, "occurred_at OPERATOR(pg_catalog.<)"
							 " (pg_catalog.now() OPERATOR(pg_catalog.-) $1)",
							 1, argtypes, args, &removed))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation \"%s\" does not exist", HISTORY_TABLE)));

	ereport(LOG,
			(errmsg("%s removed " UINT64_FORMAT " DDL history rows older than %s",
					GetUserNameFromId(GetSessionUserId(), false), removed,
					DatumGetCString(DirectFunctionCall1(interval_out, PG_GETARG_DATUM(0))))));
	PG_RETURN_INT64((int64) removed);
}

/*
 * When did the current role create this table (attnum 0) or add this
 * column, if the history says it did less than window_s seconds ago?
 * Returns the id of that history row and sets *at, or returns 0.
 *
 * A tool's undo of its own recent change (Sqitch's revert, dbmate's
 * rollback, node-pg-migrate's down) drops what it created minutes before;
 * like migrate_rollback()'s own-up exemption, that is judged as no loss.
 * The history is append-only for everyone but its owner, and the row names
 * the object by OID (and column number), so neither a name that was
 * reused nor anything a client can set makes an old object look new.
 *
 * The rows are read newest first through the primary key, without the
 * executor, and the scan stops at the first row older than the window.
 */
int64
pgm_history_recent_creation(Oid relid, AttrNumber attnum, int window_s,
							TimestampTz *at)
{
	Oid			histid = pgm_relation(HISTORY_TABLE);
	Relation	rel;
	Relation	idx;
	Oid			idxid;
	SysScanDesc scan;
	Snapshot	snap;
	HeapTuple	tup;
	TupleDesc	desc;
	AttrNumber	a_id,
				a_at,
				a_role,
				a_objects,
				a_tag;
	TimestampTz since;
	Datum		pattern;
	const char *role = GetUserNameFromId(GetUserId(), true);
	int64		found = 0;
	TimestampTz when;
	ObjectAddress addr;
	char	   *identity;
	StringInfoData buf;

	if (!OidIsValid(histid) || window_s <= 0 || role == NULL)
		return 0;
	rel = table_open(histid, AccessShareLock);
	/* Reading the index list sets rd_pkindex (the same on every major). */
	list_free(RelationGetIndexList(rel));
	idxid = rel->rd_pkindex;
	a_id = get_attnum(histid, "id");
	a_at = get_attnum(histid, "occurred_at");
	a_role = get_attnum(histid, "effective_role");
	a_objects = get_attnum(histid, "objects");
	a_tag = get_attnum(histid, "command_tag");
	if (!OidIsValid(idxid) || a_id <= 0 || a_at <= 0 || a_role <= 0 ||
		a_objects <= 0 || a_tag <= 0)
	{
		table_close(rel, AccessShareLock);
		return 0;
	}
	desc = RelationGetDescr(rel);
	since = GetCurrentTimestamp() - (TimestampTz) window_s * USECS_PER_SEC;
	/*
	 * The object as it is named now, too: a history restored from another
	 * cluster names that cluster's OIDs, and only a table of the same name
	 * and the same OID can be taken for the one it made.
	 */
	ObjectAddressSubSet(addr, RelationRelationId, relid, attnum);
	identity = getObjectIdentity(&addr, true);
	if (identity == NULL)
	{
		table_close(rel, AccessShareLock);
		return 0;
	}
	initStringInfo(&buf);
	appendStringInfo(&buf, "[{\"oid\": %u, ", relid);
	if (attnum != 0)
		appendStringInfo(&buf, "\"attnum\": %d, ", (int) attnum);
	appendStringInfoString(&buf, "\"identity\": ");
	escape_json(&buf, identity);
	appendStringInfoString(&buf, "}]");
	pattern = DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data));

	idx = index_open(idxid, AccessShareLock);
	snap = RegisterSnapshot(GetLatestSnapshot());
	scan = systable_beginscan_ordered(rel, idx, snap, 0, NULL);
	while (HeapTupleIsValid(tup = systable_getnext_ordered(scan, BackwardScanDirection)))
	{
		bool		isnull;
		Datum		d;
		char	   *tag;

		d = heap_getattr(tup, a_at, desc, &isnull);
		if (isnull)
			continue;
		if (DatumGetTimestampTz(d) < since)
			break;
		when = DatumGetTimestampTz(d);
		d = heap_getattr(tup, a_role, desc, &isnull);
		if (isnull || strcmp(NameStr(*DatumGetName(d)), role) != 0)
			continue;
		/* A table is made by CREATE ...; a column by ALTER TABLE. */
		d = heap_getattr(tup, a_tag, desc, &isnull);
		if (isnull)
			continue;
		tag = TextDatumGetCString(d);
		if (attnum != 0 ? strcmp(tag, "ALTER TABLE") != 0 : strncmp(tag, "CREATE ", 7) != 0)
			continue;
		d = heap_getattr(tup, a_objects, desc, &isnull);
		if (isnull || !DatumGetBool(DirectFunctionCall2(jsonb_contains, d, pattern)))
			continue;
		d = heap_getattr(tup, a_id, desc, &isnull);
		if (!isnull)
		{
			found = DatumGetInt64(d);
			*at = when;
		}
		break;
	}
	systable_endscan_ordered(scan);
	UnregisterSnapshot(snap);
	index_close(idx, AccessShareLock);
	table_close(rel, AccessShareLock);

	/* Rows of this transaction that are written at its commit. */
	if (deferred != NIL)
	{
		TimestampTz kept_at = 0;
		int64		kept = deferred_creation(histid, attnum, role, since, pattern, &kept_at);

		if (kept > 0)
		{
			found = kept;
			*at = kept_at;
		}
	}
	return found;
}

/* ---------------------------------------------------------------------
 * A fresh database being restored
 *
 * A dump of a database with pg_migrate holds the extension's history as
 * data: pg_restore (or psql < dump) creates the extension, then the tables,
 * then copies the source's history back, then builds indexes and
 * constraints.  Recorded as usual, the restore's own statements would take
 * the first ids and the copy would collide with them (duplicate key), and
 * what follows the copy would add rows the source never had.
 *
 * So a session that created pg_migrate in this database itself, and then
 * copies rows into its history, is recognised as restoring it: before the
 * copy the rows this backend wrote since (its own CREATE EXTENSION and
 * CREATE TABLEs, which the copied history already records as they
 * happened at the source) are removed, and from then on the session
 * records nothing.  Both facts are the server's: CREATE EXTENSION
 * pg_migrate and COPY into the history are a superuser's (the history's
 * owner's), and rows written by other sessions are never touched: if
 * there are any, the database is not a fresh one, and the copy fails as
 * before, with its hint.
 * ---------------------------------------------------------------------
 */
static Oid	created_extension = InvalidOid;	/* by this session */
static Oid	created_extension_db = InvalidOid;

/* This session has just run CREATE EXTENSION pg_migrate. */
void
pgm_history_extension_created(void)
{
	if (!superuser())
		return;
	created_extension = get_extension_oid(PGM_EXTENSION_NAME, true);
	created_extension_db = MyDatabaseId;
	restoring = false;
}

/* Is this session restoring the database (see above)? */
bool
pgm_history_restoring(void)
{
	return restoring && created_extension_db == MyDatabaseId &&
		OidIsValid(created_extension) &&
		get_extension_oid(PGM_EXTENSION_NAME, true) == created_extension;
}

/*
 * A COPY into the history is about to run in this session: when the
 * session created the extension here, it is a restore; clear its own rows
 * and stop recording.  Returns true when it did.
 */
bool
pgm_history_start_restore(Oid copy_relid)
{
	Oid			relid = pgm_relation(HISTORY_TABLE);
	uint64		removed;

	if (!OidIsValid(relid) || copy_relid != relid || !superuser() ||
		created_extension_db != MyDatabaseId || !OidIsValid(created_extension) ||
		get_extension_oid(PGM_EXTENSION_NAME, true) != created_extension)
		return false;
	if (restoring)
		return true;
	if (!delete_history_rows(relid, "backend_pid OPERATOR(pg_catalog.=) pg_catalog.pg_backend_pid()",
							 0, NULL, NULL, &removed))
		return false;
	restoring = true;
	removed += list_length(deferred);
	deferred = NIL;
	ereport(LOG,
			(errmsg("restoring the DDL history of database \"%s\": its restore's own " UINT64_FORMAT
					" rows are replaced by the copied history, and the session records no more",
					get_database_name(MyDatabaseId), removed)));
	return true;
}
