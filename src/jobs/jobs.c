/*-------------------------------------------------------------------------
 *
 * jobs.c
 *		SQL API of the background jobs: submitting batched UPDATE/DELETE
 *		backfills, pausing, resuming, cancelling and waiting for them.
 *
 * Submission does, in the submitter's transaction and with the submitter's
 * rights (inside a security-restricted operation wherever the table's or
 * the clauses' code may run), everything that can go wrong early: it
 * checks the privileges on the table, parses the clauses on their own (so
 * that a clause cannot smuggle in a second statement, a RETURNING or a
 * FROM), and runs EXPLAIN on the statement the worker will run, which
 * checks syntax, column names, and the privileges on everything the
 * clauses reference.  It then fixes
 * the set of rows to process: the upper end of the key range (or the
 * table's size in blocks) as it is now, so that rows inserted later cannot
 * make the job endless.
 *
 * The clauses run under search_path = pg_catalog, pg_temp, both here and in
 * the worker: the worker cannot see the submitter's search_path at the time
 * each batch runs, and capturing it would let whoever can create objects
 * in one of those schemas later capture the job.  Objects other than the
 * table's columns and pg_catalog's functions must be schema-qualified.
 *
 * The job tables are written only as their owner (the extension's owner):
 * the functions here switch to that role for their bookkeeping, after
 * checking that the caller is the job's submitter (or has its privileges).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/catalog.h"
#include "catalog/dependency.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_am.h"
#include "catalog/pg_class.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_index.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "nodes/parsenodes.h"
#include "parser/parser.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#include "storage/latch.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "core/catalog.h"
#include "core/compat.h"
#include "core/guc.h"
#include "core/draw_id.h"
#include "core/spi.h"
#include "jobs/jobs.h"
#include "jobs/shmem.h"

PG_FUNCTION_INFO_V1(migrate_batch_update);
PG_FUNCTION_INFO_V1(migrate_batch_delete);
PG_FUNCTION_INFO_V1(migrate_job_pause);
PG_FUNCTION_INFO_V1(migrate_job_resume);
PG_FUNCTION_INFO_V1(migrate_job_cancel);
PG_FUNCTION_INFO_V1(migrate_job_wait);

/* 1000 years: the longest interval taken literally. */
#define PGM_MAX_INTERVAL_MS	(INT64CONST(1000) * 365 * 24 * 3600 * 1000)

/* Longest pause between batches accepted. */
#define PGM_MAX_PAUSE_MS	(3600 * 1000)

/* ----------------------------------------------------------------
 * Helpers shared with worker.c
 * ----------------------------------------------------------------
 */

/*
 * The launcher must look at this database once the transaction that
 * submitted or resumed a job commits: before that, a dispatcher would not
 * see the job.
 */
static bool notify_pending = false;
static bool notify_callback_registered = false;

/*
 * Jobs paused or cancelled by this transaction, whose workers must look at
 * the new state once it commits (before that, they would still see the old
 * one and go back to sleep).  In TopMemoryContext, freed at the end of the
 * transaction.
 */
static List *wake_pending = NIL;

/*
 * At commit of a transaction that submitted or resumed a job, wake the
 * launcher; at abort, forget it.
 */
static void
notify_xact_callback(XactEvent event, void *arg)
{
	ListCell   *lc;

	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			if (notify_pending)
				pgm_jobs_notify_database(MyDatabaseId);
			notify_pending = false;
			foreach(lc, wake_pending)
				pgm_jobs_wake_job(MyDatabaseId, *(int64 *) lfirst(lc));
			list_free_deep(wake_pending);
			wake_pending = NIL;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			notify_pending = false;
			list_free_deep(wake_pending);
			wake_pending = NIL;
			break;
		case XACT_EVENT_PREPARE:
			/* COMMIT PREPARED notifies, in whatever session runs it. */
			notify_pending = false;
			break;
		default:
			break;
	}
}

static void
register_notify_callback(void)
{
	if (!notify_callback_registered)
	{
		RegisterXactCallback(notify_xact_callback, NULL);
		notify_callback_registered = true;
	}
}

void
pgm_jobs_notify_at_commit(void)
{
	register_notify_callback();
	notify_pending = true;
}

/* Wake the workers of the job once this transaction commits. */
static void
wake_job_at_commit(int64 job_id)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(TopMemoryContext);
	int64	   *id = palloc(sizeof(int64));

	*id = job_id;
	wake_pending = lappend(wake_pending, id);
	MemoryContextSwitchTo(oldcxt);
	register_notify_callback();
}

/*
 * Jobs write, and on a hot standby nothing can: say so before anything
 * else fails with a less helpful message.  action is NULL for a submission.
 */
static void
refuse_on_standby(const char *action)
{
	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 action ? errmsg("cannot %s a background job on a hot standby", action) :
				 errmsg("background jobs cannot be submitted on a hot standby"),
				 errhint("Submit and control jobs on the primary; a standby runs none until it is promoted.")));
}

/* ----------------------------------------------------------------
 * Submission
 * ----------------------------------------------------------------
 */

/*
 * Parse a clause on its own, wrapped in a statement, and return the single
 * raw statement.  Errors point into the wrapped text as an internal query,
 * not into the caller's statement.
 */
static Node *
parse_wrapped(const char *sql, const char *what)
{
	List	   *raw = NIL;
	MemoryContext oldcxt = CurrentMemoryContext;

	PG_TRY();
	{
		raw = raw_parser(sql, RAW_PARSE_DEFAULT);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		if (edata->cursorpos > 0)
		{
			edata->internalpos = edata->cursorpos;
			edata->internalquery = pstrdup(sql);
			edata->cursorpos = 0;
		}
		edata->context = psprintf("%s", what);
		ReThrowError(edata);
	}
	PG_END_TRY();

	if (list_length(raw) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("%s must not contain more than one statement", what)));
	return ((RawStmt *) linitial(raw))->stmt;
}

/* Does a raw parse tree contain a parameter reference ($1)? */
static bool
contains_param_ref(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, ParamRef))
		return true;
	return raw_expression_tree_walker(node, contains_param_ref, context);
}

/*
 * The worker runs the clauses inside statements whose parameters are its
 * own key bounds: a $1 in a clause would silently read one of them.
 */
static void
refuse_param_refs(Node *stmt, const char *what)
{
	if (contains_param_ref(stmt, NULL))
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("%s must not contain parameter references", what),
				 errdetail("A background job has no parameters to give: $1, $2 and so on are not allowed."),
				 errhint("Write the values into the clause as literals, quoted with quote_literal() or format('%%L').")));
}

/*
 * Refuse a SET clause that is not a list of assignments to columns, so
 * that nothing can be smuggled into the statement it is pasted in.
 */
static void
check_set_clause(const char *clause)
{
	Node	   *stmt;
	UpdateStmt *upd;

	stmt = parse_wrapped(psprintf("UPDATE pg_migrate_set_clause SET\n%s\n", clause),
						 "set_clause");
	if (!IsA(stmt, UpdateStmt))
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("set_clause must be a list of column assignments")));
	upd = (UpdateStmt *) stmt;
	if (upd->whereClause || upd->fromClause || PGM_UpdateStmtHasReturning(upd) || upd->withClause)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("set_clause must be a list of column assignments"),
				 errdetail("WHERE, FROM and RETURNING are not allowed in set_clause."),
				 errhint("Pass the condition as where_clause.")));
	refuse_param_refs(stmt, "set_clause");
}

/*
 * Refuse a WHERE clause that is not one expression, so that nothing can be
 * smuggled into the statements it is pasted in.
 */
static void
check_where_clause(const char *clause)
{
	Node	   *stmt;
	SelectStmt *sel;

	stmt = parse_wrapped(psprintf("SELECT 1 WHERE\n%s\n", clause), "where_clause");
	sel = (SelectStmt *) stmt;
	if (!IsA(stmt, SelectStmt) || sel->op != SETOP_NONE ||
		list_length(sel->targetList) != 1 || sel->whereClause == NULL ||
		sel->distinctClause || sel->intoClause || sel->fromClause ||
		sel->groupClause || sel->havingClause || sel->windowClause ||
		sel->valuesLists || sel->sortClause || sel->limitOffset ||
		sel->limitCount || sel->lockingClause || sel->withClause)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("where_clause must be a boolean expression")));
	refuse_param_refs(stmt, "where_clause");
}

/* The key a job walks: columns of a usable unique index. */
typedef struct JobKey
{
	int			nkeys;
	char	   *names[INDEX_MAX_KEYS];
	Oid			types[INDEX_MAX_KEYS];
	char	   *name;			/* for display */
	char	   *columns;		/* "a, b" quoted */
	char	   *columns_desc;	/* "a DESC, b DESC" */
} JobKey;

/* Can a key column be stored as its send form and read back? */
static bool
type_has_binary_io(Oid typid)
{
	HeapTuple	tup;
	bool		ok;

	tup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(typid));
	if (!HeapTupleIsValid(tup))
		return false;
	ok = OidIsValid(((Form_pg_type) GETSTRUCT(tup))->typsend) &&
		OidIsValid(((Form_pg_type) GETSTRUCT(tup))->typreceive);
	ReleaseSysCache(tup);
	return ok;
}

/*
 * Can this index drive keyset batches?  It must be a valid btree unique
 * index on plain NOT NULL columns, ascending, with the default operator
 * classes and the columns' collations: then ORDER BY and the row
 * comparisons the batches use are exactly its order, and every range scan
 * is an index scan.
 */
static bool
usable_key_index(Relation rel, Oid indexoid, JobKey *key)
{
	Relation	idx;
	Form_pg_index index;
	TupleDesc	tupdesc = RelationGetDescr(rel);
	bool		ok = true;
	int			i;
	StringInfoData cols;
	StringInfoData cols_desc;

	idx = index_open(indexoid, AccessShareLock);
	index = idx->rd_index;
	if (!index->indisunique || !index->indisvalid || !index->indislive ||
		!index->indisready || idx->rd_rel->relam != BTREE_AM_OID ||
		!heap_attisnull(idx->rd_indextuple, Anum_pg_index_indexprs, NULL) ||
		!heap_attisnull(idx->rd_indextuple, Anum_pg_index_indpred, NULL))
		ok = false;

	initStringInfo(&cols);
	initStringInfo(&cols_desc);
	for (i = 0; ok && i < index->indnkeyatts; i++)
	{
		AttrNumber	attnum = index->indkey.values[i];
		Form_pg_attribute att;

		if (attnum <= 0)
		{
			ok = false;
			break;
		}
		att = TupleDescAttr(tupdesc, attnum - 1);
		if (!att->attnotnull ||
			idx->rd_indoption[i] != 0 ||
			idx->rd_opfamily[i] != get_opclass_family(GetDefaultOpClass(att->atttypid, BTREE_AM_OID)) ||
			idx->rd_indcollation[i] != att->attcollation ||
			!type_has_binary_io(att->atttypid))
		{
			ok = false;
			break;
		}
		key->names[i] = pstrdup(NameStr(att->attname));
		key->types[i] = att->atttypid;
		appendStringInfo(&cols, "%s%s", i > 0 ? ", " : "",
						 quote_identifier(NameStr(att->attname)));
		appendStringInfo(&cols_desc, "%s%s DESC", i > 0 ? ", " : "",
						 quote_identifier(NameStr(att->attname)));
	}
	if (ok)
	{
		key->nkeys = index->indnkeyatts;
		key->columns = cols.data;
		key->columns_desc = cols_desc.data;
		key->name = psprintf("%s %s (%s)",
							 index->indisprimary ? "primary key" : "unique index",
							 quote_identifier(RelationGetRelationName(idx)),
							 cols.data);
	}
	index_close(idx, AccessShareLock);
	return ok;
}

/* The primary key if usable, else the first usable unique index. */
static bool
choose_key(Relation rel, JobKey *key)
{
	List	   *indexes = RelationGetIndexList(rel);
	Oid			pk = PGM_RelationGetPrimaryKeyIndex(rel);
	ListCell   *lc;

	if (OidIsValid(pk) && usable_key_index(rel, pk, key))
		return true;
	foreach(lc, indexes)
	{
		Oid			indexoid = lfirst_oid(lc);

		if (indexoid != pk && usable_key_index(rel, indexoid, key))
			return true;
	}
	return false;
}

/* Binary (send) forms of the first row's columns 1..k of the last SPI result. */
static Datum
current_keys_as_array(JobKey *key, uint64 row)
{
	Datum	   *elems = palloc(sizeof(Datum) * key->nkeys);
	int			i;

	for (i = 0; i < key->nkeys; i++)
	{
		bool		isnull;
		Datum		d;
		Oid			send;
		bool		isvarlena;

		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, i + 1, &isnull);
		if (isnull)
			elog(ERROR, "key column is null");
		getTypeBinaryOutputInfo(key->types[i], &send, &isvarlena);
		elems[i] = PointerGetDatum(OidSendFunctionCall(send, d));
	}
	return PointerGetDatum(construct_array(elems, key->nkeys, BYTEAOID, -1,
										   false, TYPALIGN_INT));
}

/* The planner's estimate of the rows of the first plan node of an EXPLAIN. */
static int64
explain_rows(const char *sql)
{
	char	   *line;
	char	   *p;

	if (SPI_execute(psprintf("EXPLAIN %s", sql), false, 0) != SPI_OK_UTILITY ||
		SPI_processed < 1)
		return -1;
	line = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	if (line == NULL || (p = strstr(line, " rows=")) == NULL)
		return -1;
	return (int64) strtod(p + 6, NULL);
}

/*
 * An interval argument in milliseconds (a month counting DAYS_PER_MONTH
 * days), clamped to PGM_MAX_INTERVAL_MS.
 */
static int64
interval_to_ms(Interval *iv)
{
	double		ms;

	ms = (double) iv->time / 1000.0 +
		((double) iv->day + (double) iv->month * DAYS_PER_MONTH) * (double) (USECS_PER_DAY / 1000);
	/* Longer than anyone waits; and a timestamp plus this cannot overflow. */
	if (ms > PGM_MAX_INTERVAL_MS)
		return PGM_MAX_INTERVAL_MS;
	if (ms < -PGM_MAX_INTERVAL_MS)
		return -PGM_MAX_INTERVAL_MS;
	return (int64) ms;
}

typedef struct SliceSpec
{
	Datum		next_key;		/* bytea[], or 0 for "from the start" */
	Datum		hi_key;			/* bytea[] */
	int64		next_block;
	int64		hi_block;
} SliceSpec;

/* Both arrays are built the same way, so equal keys are equal bytes. */
static bool
bytea_arrays_equal(Datum a, Datum b)
{
	return datumIsEqual(a, b, false, -1);
}

/*
 * Submit a batched UPDATE or DELETE (migrate_batch_update/_delete): check
 * the arguments, the table and the caller's privileges; choose how batches
 * walk the table (a primary key, a unique not-null key, or ctid ranges when
 * there is none) and split it into slices for parallel workers; check every
 * statement a batch will run by EXPLAINing it as the caller; estimate the
 * rows to change; and record the job and its slices as the owner of the job
 * tables.  The launcher is woken once the transaction commits.  Returns the
 * job's id.  Everything that runs the table's code (key I/O, operators, the
 * clauses) runs as the caller inside a security-restricted operation, as the
 * worker's batches will.
 */
static int64
submit_job(bool is_delete, Oid relid, const char *set_clause,
		   const char *where_clause, int batch_size, int parallel, int64 pause_ms)
{
	Oid			userid = GetUserId();
	Oid			caller_userid;
	int			caller_sec_context;
	Oid			table_owner;
	Relation	rel;
	char	   *relname;
	char	   *qualname;
	AclResult	aclresult;
	JobKey		key;
	bool		ctid_mode;
	bool		empty = false;
	SliceSpec  *slices = NULL;
	int			nslices = 0;
	int64		estimated;
	int64		job_id;
	StringInfoData sql;
	int			i;
	double		reltuples;
	BlockNumber nblocks = 0;

	pgm_check_preloaded();
	refuse_on_standby(NULL);

	/*
	 * The worker reads the clauses with standard_conforming_strings on; a
	 * clause written for "off" could parse differently there (a backslash
	 * that ends a literal here would not end it there).
	 */
	if (!standard_conforming_strings)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("background jobs cannot be submitted with standard_conforming_strings off"),
				 errhint("SET standard_conforming_strings = on, and write the clauses for it.")));
	table_owner = pgm_job_table_owner();

	/* Arguments */
	if (!is_delete && (set_clause == NULL || set_clause[strspn(set_clause, " \t\r\n")] == '\0'))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("set_clause must not be empty")));
	if (is_delete && where_clause == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("where_clause must not be null"),
				 errhint("To delete every row pass 'true'; TRUNCATE empties a table faster.")));
	if (where_clause != NULL && where_clause[strspn(where_clause, " \t\r\n")] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("where_clause must not be empty")));
	if (batch_size < 1 || batch_size > 1000000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("batch_size must be between 1 and 1000000")));
	if (parallel < 1 || parallel > PGM_MAX_PARALLEL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("parallel must be between 1 and %d", PGM_MAX_PARALLEL)));
	if (pause_ms < 0 || pause_ms > PGM_MAX_PAUSE_MS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("pause must be between 0 and 1 hour")));

	/* The table and the caller's privileges on it */
	/* A regclass argument can be any OID: 0, or a table dropped since. */
	rel = try_relation_open(relid, AccessShareLock);
	if (rel == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	relname = RelationGetRelationName(rel);
	if (rel->rd_rel->relkind != RELKIND_RELATION &&
		rel->rd_rel->relkind != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table", relname)));
	if (rel->rd_rel->relpersistence == RELPERSISTENCE_TEMP)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot run a background job on temporary table \"%s\"", relname),
				 errdetail("Background workers cannot see the temporary tables of a session.")));
	if (IsCatalogRelation(rel) ||
		getExtensionOfObject(RelationRelationId, relid) == get_extension_oid(PGM_EXTENSION_NAME, true))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("cannot run a background job on \"%s\"", relname),
				 errdetail("System catalogs and pg_migrate's own tables are not allowed.")));

	aclresult = pg_class_aclcheck(relid, userid, is_delete ? ACL_DELETE : ACL_UPDATE);
	if (aclresult != ACLCHECK_OK)
		aclcheck_error(aclresult, get_relkind_objtype(rel->rd_rel->relkind), relname);
	aclresult = pg_class_aclcheck(relid, userid, ACL_SELECT);
	if (aclresult != ACLCHECK_OK)
		aclcheck_error(aclresult, get_relkind_objtype(rel->rd_rel->relkind), relname);

	/* The clauses, each on its own */
	if (!is_delete)
		check_set_clause(set_clause);
	if (where_clause)
		check_where_clause(where_clause);

	qualname = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
										  relname);

	memset(&key, 0, sizeof(key));
	ctid_mode = !choose_key(rel, &key);
	if (ctid_mode)
	{
		if (rel->rd_rel->relkind == RELKIND_PARTITIONED_TABLE ||
			find_inheritance_children(relid, NoLock) != NIL)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("table \"%s\" has no primary key or unique index on NOT NULL columns", relname),
					 errdetail("Tables with partitions or inheritance children are processed in key order only."),
					 errhint("Add a primary key, or submit a job per partition.")));
		nblocks = RelationGetNumberOfBlocks(rel);
		empty = nblocks == 0;
		key.name = "ctid ranges";
		/* A row an UPDATE moves could land in another slice's range. */
		if (!is_delete)
			parallel = 1;
	}
	reltuples = rel->rd_rel->reltuples;
	parallel = Min(parallel, Max(pgm_max_workers, 1));

	/*
	 * Everything below runs as the caller, under the function's
	 * search_path (pg_catalog, pg_temp), like the worker's batches, and
	 * inside a security-restricted operation as they do: the key type's
	 * I/O functions and operators, the clauses' functions the planner folds
	 * and the rest of the table's code must leave nothing (a cursor WITH
	 * HOLD, a temporary table) to run later under another identity.
	 */
	SPI_connect();
	GetUserIdAndSecContext(&caller_userid, &caller_sec_context);
	SetUserIdAndSecContext(userid, caller_sec_context | SECURITY_RESTRICTED_OPERATION);
	initStringInfo(&sql);

	if (!ctid_mode)
	{
		Datum		max_key;
		Datum	   *splits = palloc(sizeof(Datum) * parallel);
		int			nsplits = 0;

		appendStringInfo(&sql, "SELECT %s FROM %s ORDER BY %s LIMIT 1",
						 key.columns, qualname, key.columns_desc);
		if (SPI_execute(sql.data, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read the largest key of \"%s\"", relname);
		empty = SPI_processed == 0;
		if (!empty)
		{
			max_key = current_keys_as_array(&key, 0);

			/* Split points for parallel slices, at even row counts. */
			if (parallel > 1)
			{
				int64		total = (int64) reltuples;

				if (total <= 0)
				{
					resetStringInfo(&sql);
					appendStringInfo(&sql, "SELECT pg_catalog.count(*) FROM %s", qualname);
					SPI_execute(sql.data, true, 0);
					total = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
														SPI_tuptable->tupdesc, 1, &(bool){false}));
				}
				for (i = 1; i < parallel; i++)
				{
					Datum		split;

					resetStringInfo(&sql);
					appendStringInfo(&sql, "SELECT %s FROM %s ORDER BY %s OFFSET " INT64_FORMAT " LIMIT 1",
									 key.columns, qualname, key.columns,
									 total * i / parallel);
					if (SPI_execute(sql.data, true, 1) != SPI_OK_SELECT || SPI_processed == 0)
						break;
					split = current_keys_as_array(&key, 0);
					if (bytea_arrays_equal(split, max_key) ||
						(nsplits > 0 && bytea_arrays_equal(split, splits[nsplits - 1])))
						continue;
					splits[nsplits++] = split;
				}
			}
			slices = palloc0(sizeof(SliceSpec) * (nsplits + 1));
			for (i = 0; i <= nsplits; i++)
			{
				slices[i].next_key = i == 0 ? (Datum) 0 : splits[i - 1];
				slices[i].hi_key = i == nsplits ? max_key : splits[i];
			}
			nslices = nsplits + 1;
		}

		/* EXPLAIN checks the statement and every privilege it needs. */
		if (!empty)
		{
			StringInfoData cond;
			Oid		   *types = palloc(sizeof(Oid) * key.nkeys);
			Datum	   *values = palloc(sizeof(Datum) * key.nkeys);
			Datum	   *elems;
			bool	   *nulls;
			int			n;

			deconstruct_array(DatumGetArrayTypeP(slices[nslices - 1].hi_key),
							  BYTEAOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
			for (i = 0; i < key.nkeys; i++)
			{
				Oid			recv;
				Oid			ioparam;
				StringInfoData buf;
				bytea	   *b = DatumGetByteaPP(elems[i]);

				types[i] = key.types[i];
				getTypeBinaryInputInfo(key.types[i], &recv, &ioparam);
				initStringInfo(&buf);
				appendBinaryStringInfo(&buf, VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b));
				values[i] = OidReceiveFunctionCall(recv, &buf, ioparam, -1);
			}
			initStringInfo(&cond);
			appendStringInfo(&cond, "ROW(%s) OPERATOR(pg_catalog.<=) ROW(", key.columns);
			for (i = 0; i < key.nkeys; i++)
				appendStringInfo(&cond, "%s$%d", i > 0 ? ", " : "", i + 1);
			appendStringInfoChar(&cond, ')');

			resetStringInfo(&sql);
			if (is_delete)
				appendStringInfo(&sql, "EXPLAIN DELETE FROM %s WHERE %s", qualname, cond.data);
			else
				appendStringInfo(&sql, "EXPLAIN UPDATE %s SET\n%s\n WHERE %s",
								 qualname, set_clause, cond.data);
			if (where_clause)
				appendStringInfo(&sql, " AND (\n%s\n)", where_clause);
			SPI_execute_with_args(sql.data, key.nkeys, types, values, NULL, false, 0);
		}
	}
	if (ctid_mode || empty)
	{
		/* Same statement shape as the worker's ctid batches. */
		resetStringInfo(&sql);
		if (is_delete)
			appendStringInfo(&sql, "EXPLAIN DELETE FROM ONLY %s WHERE ctid OPERATOR(pg_catalog.>=) '(0,0)'",
							 qualname);
		else
			appendStringInfo(&sql, "EXPLAIN UPDATE ONLY %s SET\n%s\n WHERE ctid OPERATOR(pg_catalog.>=) '(0,0)'",
							 qualname, set_clause);
		if (where_clause)
			appendStringInfo(&sql, " AND (\n%s\n)", where_clause);
		if (!is_delete)
			appendStringInfoString(&sql, " RETURNING ctid");
		SPI_execute(sql.data, false, 0);

		if (ctid_mode && !empty)
		{
			int64		per = (nblocks + parallel - 1) / parallel;

			slices = palloc0(sizeof(SliceSpec) * parallel);
			for (i = 0; i < parallel && (int64) i * per < nblocks; i++)
			{
				slices[i].next_block = (int64) i * per;
				slices[i].hi_block = Min((int64) (i + 1) * per, (int64) nblocks);
			}
			nslices = i;
			/* Batches count blocks in ctid mode. */
			if (reltuples > 0 && rel->rd_rel->relpages > 0)
				batch_size = Max(1, (int) (batch_size / Max(1.0, reltuples / rel->rd_rel->relpages)));
		}
	}

	/* Estimated number of rows the job will change */
	if (empty)
		estimated = 0;
	else
	{
		resetStringInfo(&sql);
		appendStringInfo(&sql, "SELECT 1 FROM %s", qualname);
		if (where_clause)
			appendStringInfo(&sql, " WHERE (\n%s\n)", where_clause);
		estimated = explain_rows(sql.data);
		if (estimated < 0)
			estimated = (int64) Max(reltuples, 0);
	}

	SetUserIdAndSecContext(caller_userid, caller_sec_context);

	/* Record the job, as the owner of the job tables. */
	{
		PgmSavedUser saved;
		Oid			argtypes[14] = {TEXTOID, REGCLASSOID, REGROLEOID, TEXTOID, TEXTOID,
			TEXTOID, TEXTARRAYOID, REGTYPEARRAYOID, TEXTOID, INT4OID, INT4OID, INT8OID, INT8OID,
		INT8OID};
		Datum		args[14];
		char		nulls[14];

		memset(nulls, ' ', sizeof(nulls));
		args[0] = CStringGetTextDatum(is_delete ? "delete" : "update");
		args[1] = ObjectIdGetDatum(relid);
		args[2] = ObjectIdGetDatum(userid);
		if (set_clause)
			args[3] = CStringGetTextDatum(set_clause);
		else
			nulls[3] = 'n';
		if (where_clause)
			args[4] = CStringGetTextDatum(where_clause);
		else
			nulls[4] = 'n';
		args[5] = CStringGetTextDatum(empty ? "empty" : ctid_mode ? "ctid" : "key");
		if (!ctid_mode && key.nkeys > 0)
		{
			Datum	   *a = palloc(sizeof(Datum) * key.nkeys);
			Datum	   *t = palloc(sizeof(Datum) * key.nkeys);

			for (i = 0; i < key.nkeys; i++)
			{
				a[i] = CStringGetTextDatum(key.names[i]);
				t[i] = ObjectIdGetDatum(key.types[i]);
			}
			args[6] = PointerGetDatum(construct_array(a, key.nkeys, TEXTOID, -1, false, TYPALIGN_INT));
			args[7] = PointerGetDatum(construct_array(t, key.nkeys, REGTYPEOID, sizeof(Oid), true, TYPALIGN_INT));
		}
		else
		{
			nulls[6] = 'n';
			nulls[7] = 'n';
		}
		args[8] = CStringGetTextDatum(key.name ? key.name : "ctid ranges");
		args[9] = Int32GetDatum(batch_size);
		args[10] = Int32GetDatum(empty ? 0 : nslices);
		args[11] = Int64GetDatum(pause_ms);
		args[12] = Int64GetDatum(estimated);
		/* Not nextval(): the session's lastval() stays the application's. */
		job_id = pgm_draw_id(pgm_relation(PGM_JOB_TABLE));
		pgm_jobs_forget_parked(MyDatabaseId, job_id);
		args[13] = Int64GetDatum(job_id);

		pgm_become_owner(table_owner, &saved);

		resetStringInfo(&sql);
		appendStringInfo(&sql,
						 "INSERT INTO %s (kind, relation, owner, set_clause, where_clause,"
						 " key_mode, key_columns, key_types, key_name, batch_size, parallel,"
						 " pause, estimated_rows, state, finished_at, id)"
						 " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,"
						 " pg_catalog.make_interval(secs => $12 OPERATOR(pg_catalog./) 1000.0), $13,"
						 " CASE WHEN $6 OPERATOR(pg_catalog.=) 'empty' THEN 'done' ELSE 'queued' END,"
						 " CASE WHEN $6 OPERATOR(pg_catalog.=) 'empty' THEN pg_catalog.now() END, $14)",
						 pgm_job_table_name(PGM_JOB_TABLE));
		if (SPI_execute_with_args(sql.data, 14, argtypes, args, nulls, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not record the job");

		resetStringInfo(&sql);
		appendStringInfo(&sql,
						 "INSERT INTO %s (job_id, slice, next_key, hi_key, next_block, hi_block,"
						 " batch_size) VALUES ($1, $2, $3, $4, $5, $6, $7)",
						 pgm_job_table_name(PGM_SLICE_TABLE));
		for (i = 0; i < nslices && !empty; i++)
		{
			Oid			stypes[7] = {INT8OID, INT4OID, BYTEAARRAYOID, BYTEAARRAYOID, INT8OID, INT8OID, INT4OID};
			Datum		sargs[7];
			char		snulls[7];

			memset(snulls, ' ', sizeof(snulls));
			sargs[0] = Int64GetDatum(job_id);
			sargs[1] = Int32GetDatum(i);
			if (ctid_mode)
			{
				snulls[2] = snulls[3] = 'n';
				sargs[4] = Int64GetDatum(slices[i].next_block);
				sargs[5] = Int64GetDatum(slices[i].hi_block);
			}
			else
			{
				snulls[4] = snulls[5] = 'n';
				if (slices[i].next_key == (Datum) 0)
					snulls[2] = 'n';
				else
					sargs[2] = slices[i].next_key;
				sargs[3] = slices[i].hi_key;
			}
			sargs[6] = Int32GetDatum(batch_size);
			if (SPI_execute_with_args(sql.data, 7, stypes, sargs, snulls, false, 0) != SPI_OK_INSERT)
				elog(ERROR, "could not record the job");
		}

		pgm_restore_user(&saved);
	}

	SPI_finish();
	relation_close(rel, AccessShareLock);

	if (!empty)
		pgm_jobs_notify_at_commit();
	return job_id;
}

static int
batch_size_arg(FunctionCallInfo fcinfo, int argno)
{
	return PG_ARGISNULL(argno) ? pgm_default_batch_size : PG_GETARG_INT32(argno);
}

static void
require_arg(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", name)));
}

/* pause: NULL is a mistake (the default is '0'), not "no pause". */
static int64
pause_arg(FunctionCallInfo fcinfo, int argno)
{
	require_arg(fcinfo, argno, "pause");
	return interval_to_ms(PG_GETARG_INTERVAL_P(argno));
}

/* migrate_batch_update(relation, set_clause, where_clause, ...). */
Datum
migrate_batch_update(PG_FUNCTION_ARGS)
{
	require_arg(fcinfo, 0, "relation");
	require_arg(fcinfo, 1, "set_clause");
	require_arg(fcinfo, 4, "parallel");
	PG_RETURN_INT64(submit_job(false, PG_GETARG_OID(0),
							   text_to_cstring(PG_GETARG_TEXT_PP(1)),
							   PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2)),
							   batch_size_arg(fcinfo, 3),
							   PG_GETARG_INT32(4),
							   pause_arg(fcinfo, 5)));
}

/* migrate_batch_delete(relation, where_clause, ...). */
Datum
migrate_batch_delete(PG_FUNCTION_ARGS)
{
	require_arg(fcinfo, 0, "relation");
	require_arg(fcinfo, 3, "parallel");
	PG_RETURN_INT64(submit_job(true, PG_GETARG_OID(0), NULL,
							   PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1)),
							   batch_size_arg(fcinfo, 2),
							   PG_GETARG_INT32(3),
							   pause_arg(fcinfo, 4)));
}

/* ----------------------------------------------------------------
 * Control
 * ----------------------------------------------------------------
 */

typedef enum
{
	JOB_PAUSE,
	JOB_RESUME,
	JOB_CANCEL
} JobAction;

static const char *const action_names[] = {"pause", "resume", "cancel"};

/*
 * Change a job's state on behalf of its submitter.  The row is locked, so
 * two control calls serialise; a worker notices the change before its next
 * batch (a batch already running commits), and one sleeping between
 * batches is woken when the change commits.
 */
static text *
control_job(int64 job_id, JobAction action)
{
	Oid			userid = GetUserId();
	Oid			table_owner;
	PgmSavedUser saved;
	StringInfoData sql;
	Oid			argtypes[2] = {INT8OID, TEXTOID};
	Datum		args[2];
	Oid			owner;
	char	   *state;
	const char *new_state = NULL;
	bool		isnull;
	text	   *result;

	pgm_check_preloaded();
	refuse_on_standby(action_names[action]);
	table_owner = pgm_job_table_owner();

	SPI_connect();
	pgm_become_owner(table_owner, &saved);

	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "SELECT owner::pg_catalog.oid, state FROM %s"
					 " WHERE id OPERATOR(pg_catalog.=) $1 FOR UPDATE",
					 pgm_job_table_name(PGM_JOB_TABLE));
	args[0] = Int64GetDatum(job_id);
	if (SPI_execute_with_args(sql.data, 1, argtypes, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read job " INT64_FORMAT, job_id);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("job " INT64_FORMAT " does not exist", job_id)));
	owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	state = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);

	if (!has_privs_of_role(userid, owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to %s job " INT64_FORMAT, action_names[action], job_id),
				 errdetail("Only the role that submitted the job, its members and superusers control it.")));

	switch (action)
	{
		case JOB_PAUSE:
			if (strcmp(state, "queued") == 0 || strcmp(state, "running") == 0)
				new_state = "paused";
			else if (strcmp(state, "paused") != 0)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("job " INT64_FORMAT " is %s and cannot be paused", job_id, state)));
			break;
		case JOB_RESUME:
			if (strcmp(state, "paused") == 0 || strcmp(state, "failed") == 0)
				new_state = "queued";
			else if (strcmp(state, "queued") != 0 && strcmp(state, "running") != 0)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("job " INT64_FORMAT " is %s and cannot be resumed", job_id, state)));
			break;
		case JOB_CANCEL:
			if (strcmp(state, "done") == 0)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("job " INT64_FORMAT " is done and cannot be cancelled", job_id)));
			if (strcmp(state, "cancelled") != 0)
				new_state = "cancelled";
			break;
	}

	if (new_state)
	{
		resetStringInfo(&sql);
		appendStringInfo(&sql,
						 "UPDATE %s SET state = $2, updated_at = pg_catalog.now(),"
						 " finished_at = CASE WHEN $2 OPERATOR(pg_catalog.=) 'cancelled'"
						 " THEN pg_catalog.now() END"
						 " WHERE id OPERATOR(pg_catalog.=) $1",
						 pgm_job_table_name(PGM_JOB_TABLE));
		args[1] = CStringGetTextDatum(new_state);
		if (SPI_execute_with_args(sql.data, 2, argtypes, args, NULL, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "could not update job " INT64_FORMAT, job_id);
		state = (char *) new_state;
		if (action == JOB_RESUME)
			pgm_jobs_notify_at_commit();
		else
			wake_job_at_commit(job_id);
	}

	pgm_restore_user(&saved);
	/* SPI_getvalue's copy dies with SPI_finish(); build the result first. */
	result = (text *) SPI_palloc(VARHDRSZ + strlen(state));
	SET_VARSIZE(result, VARHDRSZ + strlen(state));
	memcpy(VARDATA(result), state, strlen(state));
	SPI_finish();
	return result;
}

Datum
migrate_job_pause(PG_FUNCTION_ARGS)
{
	require_arg(fcinfo, 0, "job_id");
	PG_RETURN_TEXT_P(control_job(PG_GETARG_INT64(0), JOB_PAUSE));
}

Datum
migrate_job_resume(PG_FUNCTION_ARGS)
{
	require_arg(fcinfo, 0, "job_id");
	PG_RETURN_TEXT_P(control_job(PG_GETARG_INT64(0), JOB_RESUME));
}

Datum
migrate_job_cancel(PG_FUNCTION_ARGS)
{
	require_arg(fcinfo, 0, "job_id");
	PG_RETURN_TEXT_P(control_job(PG_GETARG_INT64(0), JOB_CANCEL));
}

/*
 * CALL migrate_job_wait(id, timeout): poll the job until it stops running.
 *
 * Called by CALL outside an explicit transaction block, the procedure
 * commits after every poll and sleeps outside any snapshot, so a CREATE
 * INDEX CONCURRENTLY (which waits for every transaction older than its own
 * snapshot to finish) is never held up by the waiter.  Inside a
 * transaction block it cannot commit; it then holds its transaction's
 * snapshot while it waits, which is harmless for backfills but must not be
 * used to wait for a job that builds an index concurrently.
 *
 * The job is read through migrate_jobs as the caller, so only jobs the
 * caller may see can be waited for.
 */
Datum
migrate_job_wait(PG_FUNCTION_ARGS)
{
	int64		job_id;
	TimestampTz deadline = 0;
	bool		nonatomic;
	char	   *volatile state = NULL;
	TupleDesc	tupdesc;
	Datum		values[1];
	bool		nulls[1] = {false};
	StringInfoData sql;
	char	   *viewname;
	MemoryContext cxt = CurrentMemoryContext;

	pgm_check_preloaded();
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("job_id must not be null")));
	job_id = PG_GETARG_INT64(0);
	if (!PG_ARGISNULL(1))
	{
		int64		ms = interval_to_ms(PG_GETARG_INTERVAL_P(1));

		if (ms < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("timeout must not be negative")));
		deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), ms);
	}

	nonatomic = fcinfo->context && IsA(fcinfo->context, CallContext) &&
		!castNode(CallContext, fcinfo->context)->atomic;

	/*
	 * Inside a transaction that keeps one snapshot for its whole life, every
	 * poll would see the job as it was at the first: it would never finish.
	 */
	if (!nonatomic && IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("migrate_job_wait cannot wait inside a REPEATABLE READ or SERIALIZABLE transaction"),
				 errhint("CALL it outside an explicit transaction block, or at READ COMMITTED.")));

	viewname = MemoryContextStrdup(cxt, pgm_job_table_name("migrate_jobs"));
	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT state FROM %s WHERE id OPERATOR(pg_catalog.=) $1", viewname);

	/* Polling its own job, this session is not one the job yields to. */
	pgm_jobs_set_waiting(true);
	PG_TRY();
	{
		for (;;)
		{
			Oid			argtypes[1] = {INT8OID};
			Datum		args[1];

			SPI_connect_ext(nonatomic ? SPI_OPT_NONATOMIC : 0);
			args[0] = Int64GetDatum(job_id);
			/* not read-only: after a commit there is no snapshot to reuse */
			if (SPI_execute_with_args(sql.data, 1, argtypes, args, NULL, false, 1) != SPI_OK_SELECT)
				elog(ERROR, "could not read job " INT64_FORMAT, job_id);
			if (SPI_processed == 0)
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_OBJECT),
						 errmsg("job " INT64_FORMAT " does not exist", job_id)));
			state = MemoryContextStrdup(cxt, SPI_getvalue(SPI_tuptable->vals[0],
														  SPI_tuptable->tupdesc, 1));
			if (nonatomic)
				SPI_commit();
			SPI_finish();

			if (strcmp(state, "queued") != 0 && strcmp(state, "running") != 0)
				break;
			if (deadline != 0 && GetCurrentTimestamp() >= deadline)
				break;

			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 100, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
		}
	}
	PG_FINALLY();
	{
		pgm_jobs_set_waiting(false);
	}
	PG_END_TRY();

	MemoryContextSwitchTo(cxt);
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	values[0] = CStringGetTextDatum(state);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
