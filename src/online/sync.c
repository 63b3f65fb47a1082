/*-------------------------------------------------------------------------
 *
 * sync.c
 *		migrate_online_sync(): the trigger of an online type change.
 *
 * BEFORE INSERT OR UPDATE FOR EACH ROW, with two arguments: the column to
 * set and the expression to set it to, computed from the row being
 * written.  Before the cut-over it fills the new column from the old one
 * (the USING expression, or a cast); after it, the old column from the new
 * one (the cast back), so that an abort finds the old column complete.
 * The backfill is an UPDATE that sets the new column to itself: this
 * trigger computes it, so rows are converted by one piece of code.
 *
 * Cost.  A trigger in PL/pgSQL costs a function call, a plan lookup and
 * the row's conversion to a record per row.  This one parses and plans its
 * expression once per backend and trigger (kept in a small cache keyed by
 * the trigger's OID) and then per row evaluates it on the slot the
 * executor already has and replaces one column of the tuple.  When the
 * column already holds the value (an UPDATE of other columns, once the
 * rows are in step) the row is returned as it came: no new tuple is
 * formed, and the executor has nothing to store again.
 *
 * An INSERT that gives the column a value of its own (it has no default:
 * only a statement that fills it by position does) is refused rather than
 * overwritten, so no value is lost without an error.
 *
 * Safety.  The expression is ordinary SQL text, parsed with search_path
 * pinned to pg_catalog (migrate_online writes it schema-qualified) and
 * checked like any expression: privileges on the functions it calls are
 * the writer's.  Anyone who may create a trigger on a table may create
 * this one; it can do nothing a trigger in any language could not.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parse_coerce.h"
#include "parser/parse_collate.h"
#include "parser/parse_expr.h"
#include "parser/parse_node.h"
#include "parser/parse_relation.h"
#include "parser/parser.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "core/compat.h"
#include "core/spi.h"

PG_FUNCTION_INFO_V1(migrate_online_sync);

typedef struct SyncEntry
{
	Oid			tgoid;			/* hash key */
	Oid			relid;
	int			attnum;			/* the column set */
	Oid			atttypid;
	int16		typlen;
	bool		typbyval;
	ExprState  *expr;
	ExprContext *econtext;
} SyncEntry;

static HTAB *sync_cache = NULL;
static MemoryContext sync_cxt = NULL;

/* The expression text as a raw parse tree: exactly one plain expression. */
static Node *
parse_expression(const char *text)
{
	List	   *raws = PGM_raw_parser(psprintf("SELECT (%s)", text));
	SelectStmt *sel;
	ResTarget  *rt;

	if (list_length(raws) != 1 ||
		!IsA(linitial_node(RawStmt, raws)->stmt, SelectStmt))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("migrate_online_sync: the expression argument is not one expression")));
	sel = (SelectStmt *) linitial_node(RawStmt, raws)->stmt;
	if (list_length(sel->targetList) != 1 || sel->fromClause != NIL ||
		sel->whereClause != NULL || sel->withClause != NULL || sel->op != SETOP_NONE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("migrate_online_sync: the expression argument is not one expression")));
	rt = linitial_node(ResTarget, sel->targetList);
	return rt->val;
}

/* Build the cache entry of a trigger: column, planned expression. */
static void
build_entry(SyncEntry *e, Relation rel, Trigger *trig)
{
	ParseState *pstate;
	ParseNamespaceItem *nsitem;
	Node	   *expr;
	AttrNumber	attnum;
	Form_pg_attribute att;
	MemoryContext oldcxt;
	int			nestlevel;

	if (trig->tgnargs != 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("migrate_online_sync needs two arguments: a column and an expression")));
	attnum = get_attnum(RelationGetRelid(rel), trig->tgargs[0]);
	if (attnum <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist",
						trig->tgargs[0], RelationGetRelationName(rel))));
	att = TupleDescAttr(RelationGetDescr(rel), attnum - 1);

	/* Parsed under a pinned search_path: the text names everything in full. */
	nestlevel = pgm_pin_search_path();
	pstate = make_parsestate(NULL);
	nsitem = addRangeTableEntryForRelation(pstate, rel, AccessShareLock, NULL, false, true);
	addNSItemToQuery(pstate, nsitem, false, true, true);
	expr = transformExpr(pstate, parse_expression(trig->tgargs[1]), EXPR_KIND_ALTER_COL_TRANSFORM);
	expr = coerce_to_target_type(pstate, expr, exprType(expr),
								 att->atttypid, att->atttypmod,
								 COERCION_ASSIGNMENT, COERCE_IMPLICIT_CAST, -1);
	if (expr == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("migrate_online_sync: the expression cannot be assigned to column \"%s\"",
						trig->tgargs[0])));
	assign_expr_collations(pstate, expr);
	free_parsestate(pstate);
	AtEOXact_GUC(false, nestlevel);

	oldcxt = MemoryContextSwitchTo(sync_cxt);
	expr = (Node *) expression_planner((Expr *) copyObject(expr));
	e->expr = ExecInitExpr((Expr *) expr, NULL);
	e->econtext = CreateStandaloneExprContext();
	MemoryContextSwitchTo(oldcxt);
	e->relid = RelationGetRelid(rel);
	e->attnum = attnum;
	e->atttypid = att->atttypid;
	e->typlen = att->attlen;
	e->typbyval = att->attbyval;
}

static SyncEntry *
lookup_entry(Relation rel, Trigger *trig)
{
	SyncEntry  *e;
	bool		found;

	if (sync_cache == NULL)
	{
		HASHCTL		ctl;

		sync_cxt = AllocSetContextCreate(TopMemoryContext, "pg_migrate sync trigger",
										 ALLOCSET_SMALL_SIZES);
		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(SyncEntry);
		ctl.hcxt = sync_cxt;
		sync_cache = hash_create("pg_migrate sync triggers", 16, &ctl,
								 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	e = hash_search(sync_cache, &trig->tgoid, HASH_ENTER, &found);
	if (!found || e->expr == NULL || e->relid != RelationGetRelid(rel))
	{
		e->expr = NULL;
		PG_TRY();
		{
			build_entry(e, rel, trig);
		}
		PG_CATCH();
		{
			hash_search(sync_cache, &trig->tgoid, HASH_REMOVE, NULL);
			PG_RE_THROW();
		}
		PG_END_TRY();
	}

	/* The column may have been dropped or changed since: look again. */
	if (e->attnum > RelationGetDescr(rel)->natts ||
		TupleDescAttr(RelationGetDescr(rel), e->attnum - 1)->attisdropped ||
		TupleDescAttr(RelationGetDescr(rel), e->attnum - 1)->atttypid != e->atttypid ||
		strcmp(NameStr(TupleDescAttr(RelationGetDescr(rel), e->attnum - 1)->attname),
			   trig->tgargs[0]) != 0)
	{
		hash_search(sync_cache, &trig->tgoid, HASH_REMOVE, NULL);
		return lookup_entry(rel, trig);
	}
	return e;
}

Datum
migrate_online_sync(PG_FUNCTION_ARGS)
{
	TriggerData *td;
	SyncEntry  *e;
	HeapTuple	tuple;
	TupleTableSlot *slot;
	Datum		value;
	bool		isnull;
	Datum		current;
	bool		current_null;
	int			attnum;
	HeapTuple	result;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("migrate_online_sync: not called by trigger manager")));
	td = (TriggerData *) fcinfo->context;
	if (!TRIGGER_FIRED_BEFORE(td->tg_event) || !TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
		!(TRIGGER_FIRED_BY_INSERT(td->tg_event) || TRIGGER_FIRED_BY_UPDATE(td->tg_event)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("migrate_online_sync must be fired BEFORE INSERT OR UPDATE FOR EACH ROW")));

	if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
	{
		tuple = td->tg_newtuple;
		slot = td->tg_newslot;
	}
	else
	{
		tuple = td->tg_trigtuple;
		slot = td->tg_trigslot;
	}
	if (tuple == NULL || slot == NULL)
		elog(ERROR, "migrate_online_sync: no row to work on");

	e = lookup_entry(td->tg_relation, td->tg_trigger);
	e->econtext->ecxt_scantuple = slot;
	value = ExecEvalExprSwitchContext(e->expr, e->econtext, &isnull);
	attnum = e->attnum;

	current = slot_getattr(slot, attnum, &current_null);

	/*
	 * The column this trigger keeps in step has no default of its own (the
	 * cut-over moves it to the other column), so a value an INSERT gives it
	 * was written there by the application: an INSERT without a column list
	 * written for the order before the change puts its value at the old
	 * column's place and none in the new one.  Overwriting it would lose
	 * that value without a word; refuse the row instead.
	 */
	if (TRIGGER_FIRED_BY_INSERT(td->tg_event) && !current_null &&
		(isnull || !datumIsEqual(value, current, e->typbyval, e->typlen)))
		ereport(ERROR,
				(errcode(ERRCODE_GENERATED_ALWAYS),
				 errmsg("column \"%s\" of table \"%s\" is kept in step by an online change and cannot be given its own value",
						NameStr(TupleDescAttr(RelationGetDescr(td->tg_relation), attnum - 1)->attname),
						RelationGetRelationName(td->tg_relation)),
				 errdetail("An INSERT without a column list written for the column order before the change puts its values in the wrong columns."),
				 errhint("Name the columns in the INSERT, or end the change with migrate_online_complete() or migrate_online_abort().")));

	/* Already in step: the row as it came (equal bytes, equal value). */
	if (isnull ? current_null :
		(!current_null && datumIsEqual(value, current, e->typbyval, e->typlen)))
		result = tuple;
	else
		result = heap_modify_tuple_by_cols(tuple, RelationGetDescr(td->tg_relation),
										   1, &attnum, &value, &isnull);
	ResetExprContext(e->econtext);
	return PointerGetDatum(result);
}
