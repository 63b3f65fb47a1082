/*-------------------------------------------------------------------------
 *
 * rename.c
 *		The plans of ALTER TABLE ... RENAME COLUMN and ALTER TABLE ...
 *		RENAME TO as expand/contract: both names work until complete.
 *
 * RENAME COLUMN a TO b.  PostgreSQL cannot give one column two names, so
 * the old name is carried by a second column kept equal to the real one:
 *
 *	expand		ADD COLUMN <alias> of the same type and collation (no
 *				default, so no rewrite) and the mirror trigger (mirror.c),
 *				first column a, second the alias
 *	backfill	a batched UPDATE job setting the alias to a
 *	index copy	every plain index on a (column lists, no expressions or
 *				predicates) built again concurrently on the alias, unique
 *				where the original enforces uniqueness at once: queries of
 *				old code on the old name find an index, INSERT ... ON
 *				CONFLICT (a) finds its arbiter
 *	cut-over	one short transaction: a is renamed b, the alias a, and the
 *				trigger turns round (first the alias a, second b)
 *	complete	the index copies are dropped concurrently, then the trigger
 *				and the alias column
 *
 * The column under the old name gets the real column's column privileges.
 * The real column keeps its place, number, data, default, NOT NULL,
 * identity, constraints, indexes, statistics, comment and privileges, and
 * everything that refers to it by number (views, rules, policies, foreign
 * keys, generated columns, index expressions, statistics objects) follows
 * the rename exactly as with the plain statement.  So an abort before
 * complete only has to undo the renames and drop the alias: the catalog
 * is the original's, the data the original column's with every write made
 * meanwhile.  What would see the two columns disagree is refused: triggers
 * of the table that fire BEFORE a row is written or name the column
 * (UPDATE OF, WHEN), generated columns, inheritance and partitions, typed
 * tables, domains with constraints.
 *
 * RENAME TO u.  One short transaction renames the table and creates a
 * view under the old name, SELECT * of the table, security_invoker (so
 * that privileges and row security are the caller's, as on the table),
 * with the table's privileges; complete drops the view.  A plain
 * single-table view is automatically updatable: INSERT (with RETURNING
 * and ON CONFLICT), UPDATE, DELETE work through it; COPY, TRUNCATE and
 * ALTER TABLE do not.
 *
 * Nothing here changes anything: this is called while migrate_online
 * records the job, and an error refuses the statement.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/dependency.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_class.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_depend.h"
#include "catalog/pg_index.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/ruleutils.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "core/catalog.h"
#include "core/compat.h"
#include "core/spi.h"
#include "online/online.h"

/* pgm<job>_<what>_<base>, cut to fit a name. */
static char *
job_name(int64 job_id, const char *what, const char *base)
{
	char	   *name = psprintf("pgm%lld_%s_%s", (long long) job_id, what, base);

	if (strlen(name) >= NAMEDATALEN)
		name[NAMEDATALEN - 1] = '\0';
	return name;
}

/* schema.function of ours, quoted. */
static char *
our_function(const char *name)
{
	return psprintf("%s.%s", quote_identifier(get_namespace_name(pgm_extension_schema())), name);
}

/*
 * The table a rename may work on: besides pgm_online_table's checks,
 * no inheritance, partitions or typed tables.
 */
static void
check_table(Relation rel, const char *what)
{
	if (RelationGetForm(rel)->relispartition || RelationGetForm(rel)->relhassubclass ||
		has_superclass(RelationGetRelid(rel)))
		pgm_online_refuse(what, "The table has inheritance children or parents, or is a partition.",
						  "Rename it directly (under a lock_timeout).");
	if (OidIsValid(RelationGetForm(rel)->reloftype))
		pgm_online_refuse(what, "The table is a typed table; its columns are its type's.", NULL);
}

/* ----------------------------------------------------------------
 * RENAME COLUMN
 * ----------------------------------------------------------------
 */

/*
 * What would see the two columns disagree: refused, with the list.
 * Returns the plain indexes on the column, to copy onto the alias.
 */
static List *
check_column_dependents(Relation rel, AttrNumber attnum, const char *what)
{
	Relation	depRel = table_open(DependRelationId, AccessShareLock);
	ScanKeyData key[3];
	SysScanDesc scan;
	HeapTuple	tup;
	StringInfoData refused;
	List	   *indexes = NIL;

	initStringInfo(&refused);
	ScanKeyInit(&key[0], Anum_pg_depend_refclassid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(RelationRelationId));
	ScanKeyInit(&key[1], Anum_pg_depend_refobjid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(RelationGetRelid(rel)));
	ScanKeyInit(&key[2], Anum_pg_depend_refobjsubid, BTEqualStrategyNumber, F_INT4EQ,
				Int32GetDatum((int32) attnum));
	scan = systable_beginscan(depRel, DependReferenceIndexId, true, NULL, 3, key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_depend dep = (Form_pg_depend) GETSTRUCT(tup);

		if (dep->classid == TriggerRelationId)
		{
			ObjectAddress obj;
			char	   *desc;

			obj.classId = dep->classid;
			obj.objectId = dep->objid;
			obj.objectSubId = dep->objsubid;
			desc = getObjectDescription(&obj, true);
			appendStringInfo(&refused, "%s%s", refused.len > 0 ? ", " : "",
							 desc ? desc : "a trigger that no longer exists");
		}
		else if (dep->classid == RelationRelationId &&
				 get_rel_relkind(dep->objid) == RELKIND_INDEX)
		{
			HeapTuple	itup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(dep->objid));

			if (HeapTupleIsValid(itup))
			{
				Form_pg_index idx = (Form_pg_index) GETSTRUCT(itup);

				/*
				 * Indexes with expressions or predicates stay on the real
				 * column only; so do exclusion constraints' (their operators
				 * belong to the constraint).
				 */
				if (heap_attisnull(itup, Anum_pg_index_indexprs, NULL) &&
					heap_attisnull(itup, Anum_pg_index_indpred, NULL) &&
					!idx->indisexclusion && idx->indisvalid)
					indexes = list_append_unique_oid(indexes, dep->objid);
				ReleaseSysCache(itup);
			}
		}
		/* everything else refers to the column by number and follows it */
	}
	systable_endscan(scan);
	table_close(depRel, AccessShareLock);

	/* A trigger that fires before the row is written could set one name only. */
	if (rel->trigdesc)
	{
		int			i;

		for (i = 0; i < rel->trigdesc->numtriggers; i++)
		{
			Trigger    *trig = &rel->trigdesc->triggers[i];

			if (!trig->tgisinternal && TRIGGER_FOR_BEFORE(trig->tgtype) &&
				TRIGGER_FOR_ROW(trig->tgtype) &&
				(TRIGGER_FOR_INSERT(trig->tgtype) || TRIGGER_FOR_UPDATE(trig->tgtype)))
				appendStringInfo(&refused, "%sBEFORE ROW trigger %s", refused.len > 0 ? ", " : "",
								 quote_identifier(trig->tgname));
		}
	}

	if (refused.len > 0)
		pgm_online_refuse(what,
						  psprintf("The old and the new name would be two columns kept equal by a trigger, "
								   "which these triggers would not see as one: %s.", refused.data),
						  "Drop them and create them again after the change, or rename the column directly.");
	return indexes;
}

/*
 * GRANTs giving the column under the old name the column privileges the
 * real column has, so that old code allowed to read or write it by column
 * grants still may.
 */
static char *
column_grants(Oid relid, AttrNumber attnum, const char *relname, const char *alias)
{
	StringInfoData buf;
	Oid			types[2] = {OIDOID, INT2OID};
	Datum		values[2];
	uint64		i;
	int			nestlevel = pgm_pin_search_path();

	initStringInfo(&buf);
	values[0] = ObjectIdGetDatum(relid);
	values[1] = Int16GetDatum(attnum);
	if (SPI_execute_with_args("SELECT a.privilege_type,"
							  "       CASE WHEN a.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC'"
							  "            ELSE pg_catalog.quote_ident(r.rolname) END,"
							  "       a.is_grantable"
							  "  FROM pg_catalog.pg_attribute t,"
							  "       LATERAL pg_catalog.aclexplode(t.attacl) a"
							  "  LEFT JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) a.grantee"
							  " WHERE t.attrelid OPERATOR(pg_catalog.=) $1 AND t.attnum OPERATOR(pg_catalog.=) $2"
							  " ORDER BY 2, 1",
							  2, types, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the column privileges of relation %u", relid);
	for (i = 0; i < SPI_processed; i++)
	{
		char	   *priv = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		char	   *grantee = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
		char	   *grantable = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 3);

		if (priv == NULL || grantee == NULL)
			continue;
		appendStringInfo(&buf, ";\nGRANT %s (%s) ON %s TO %s%s", priv, quote_identifier(alias),
						 relname, grantee,
						 grantable && strcmp(grantable, "t") == 0 ? " WITH GRANT OPTION" : "");
	}
	AtEOXact_GUC(false, nestlevel);
	return buf.data;
}

static void
plan_rename_column(PgmOnlinePlan *plan, RenameStmt *stmt, int64 job_id)
{
	const char *what = "this RENAME COLUMN";
	Oid			relid = pgm_online_table(stmt->relation, what);
	const char *oldcol = stmt->subname;
	const char *newcol = stmt->newname;
	char	   *relname = pgm_online_relname(relid);
	char	   *nsp = get_namespace_name(get_rel_namespace(relid));
	Relation	rel;
	AttrNumber	attnum;
	Form_pg_attribute att;
	char	   *alias;
	char	   *trigger;
	char	   *fn = our_function("migrate_online_mirror");
	char	   *typename;
	List	   *indexes;
	List	   *copies = NIL;
	List	   *copy_names = NIL;
	ListCell   *lc;
	ListCell   *lc2;
	StringInfoData sql;
	PgmOnlineStep *step;

	plan->operation = "rename_column";
	plan->relid = relid;

	rel = table_open(relid, AccessShareLock);
	check_table(rel, what);
	attnum = get_attnum(relid, oldcol);
	if (attnum == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" does not exist", oldcol)));
	if (attnum < 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot rename system column \"%s\"", oldcol)));
	if (get_attnum(relid, newcol) != InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" already exists",
						newcol, RelationGetRelationName(rel))));
	att = TupleDescAttr(RelationGetDescr(rel), attnum - 1);
	if (att->attgenerated)
		pgm_online_refuse(what,
						  psprintf("Column \"%s\" is a generated column: its value is computed after "
								   "the triggers, so a copy under the old name could not follow it.",
								   oldcol),
						  "Rename it directly (under a lock_timeout).");
	if (get_typtype(att->atttypid) == TYPTYPE_DOMAIN && DomainHasConstraints(att->atttypid))
		pgm_online_refuse(what,
						  psprintf("Column \"%s\" is of a domain with constraints: adding the column "
								   "under the old name would scan the table to check them.", oldcol),
						  "Rename it directly (under a lock_timeout).");

	indexes = check_column_dependents(rel, attnum, what);

	alias = job_name(job_id, "alias", oldcol);
	trigger = psprintf("pgm%lld_mirror", (long long) job_id);
	{
		int			nestlevel = pgm_pin_search_path();

		typename = format_type_with_typemod(att->atttypid, att->atttypmod);
		AtEOXact_GUC(false, nestlevel);
	}
	foreach(lc, indexes)
	{
		char		base[16];
		char	   *name;

		snprintf(base, sizeof(base), "%d", foreach_current_index(lc) + 1);
		name = job_name(job_id, "idx", base);
		copy_names = lappend(copy_names, quote_qualified_identifier(nsp, name));
		copies = lappend(copies, pgm_online_index_copy_sql(lfirst_oid(lc), name, rel, attnum, alias, true));
	}

	/* expand */
	initStringInfo(&sql);
	appendStringInfo(&sql, "ALTER TABLE %s ADD COLUMN %s %s", relname, quote_identifier(alias), typename);
	if (OidIsValid(att->attcollation))
	{
		int			nestlevel = pgm_pin_search_path();

		appendStringInfo(&sql, " COLLATE %s", generate_collation_name(att->attcollation));
		AtEOXact_GUC(false, nestlevel);
	}
	appendStringInfo(&sql, ";\nCREATE TRIGGER %s BEFORE INSERT OR UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION %s(%s, %s)",
					 quote_identifier(trigger), relname, fn,
					 quote_literal_cstr(oldcol), quote_literal_cstr(alias));
	appendStringInfoString(&sql, column_grants(relid, attnum, relname, alias));
	table_close(rel, AccessShareLock);

	pgm_online_expand_step(plan, sql.data, relname, trigger, alias);

	/* backfill: the alias takes the real column's value; the trigger agrees */
	(void) pgm_online_step(plan, "backfill", PGM_STEP_BACKFILL, false,
						   psprintf("%s = %s", quote_identifier(alias), quote_identifier(oldcol)));

	forboth(lc, copies, lc2, copy_names)
	{
		step = pgm_online_step(plan, "index copy", PGM_STEP_CONCURRENT, false, lfirst(lc));
		step->target = lfirst(lc2);
		pgm_online_set_undo(step, PGM_STEP_CONCURRENT, false,
							psprintf("DROP INDEX CONCURRENTLY IF EXISTS %s", (char *) lfirst(lc2)));
	}

	/* cut-over: the real column takes the new name, the alias the old */
	step = pgm_online_step(plan, "cut-over", PGM_STEP_TRANSACTION, true,
						   psprintf("ALTER TABLE %s RENAME COLUMN %s TO %s;\n"
									"ALTER TABLE %s RENAME COLUMN %s TO %s;\n"
									"DROP TRIGGER %s ON %s;\n"
									"CREATE TRIGGER %s BEFORE INSERT OR UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION %s(%s, %s)",
									relname, quote_identifier(oldcol), quote_identifier(newcol),
									relname, quote_identifier(alias), quote_identifier(oldcol),
									quote_identifier(trigger), relname,
									quote_identifier(trigger), relname, fn,
									quote_literal_cstr(oldcol), quote_literal_cstr(newcol)));
	step->exempt = list_make1("rename_column");
	pgm_online_set_undo(step, PGM_STEP_TRANSACTION, true,
						psprintf("DROP TRIGGER IF EXISTS %s ON %s;\n"
								 "ALTER TABLE %s RENAME COLUMN %s TO %s;\n"
								 "ALTER TABLE %s RENAME COLUMN %s TO %s;\n"
								 "CREATE TRIGGER %s BEFORE INSERT OR UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION %s(%s, %s)",
								 quote_identifier(trigger), relname,
								 relname, quote_identifier(oldcol), quote_identifier(alias),
								 relname, quote_identifier(newcol), quote_identifier(oldcol),
								 quote_identifier(trigger), relname, fn,
								 quote_literal_cstr(oldcol), quote_literal_cstr(alias)));

	/* complete: the copies, then the trigger and the column under the old name */
	foreach(lc, copy_names)
	{
		step = pgm_online_step(plan, "complete", PGM_STEP_CONCURRENT, false,
							   psprintf("DROP INDEX CONCURRENTLY %s", (char *) lfirst(lc)));
		step->target = lfirst(lc);
		step->complete_stage = true;
	}
	step = pgm_online_step(plan, "complete", PGM_STEP_TRANSACTION, true,
						   psprintf("DROP TRIGGER %s ON %s;\nALTER TABLE %s DROP COLUMN %s",
									quote_identifier(trigger), relname,
									relname, quote_identifier(oldcol)));
	step->complete_stage = true;
	step->exempt = list_make1("drop_column");
}

/* ----------------------------------------------------------------
 * RENAME TO
 * ----------------------------------------------------------------
 */

/* GRANTs giving a view the privileges the table has now (table and column level). */
static char *
grants_for_view(Oid relid, const char *view)
{
	StringInfoData buf;
	Oid			types[1] = {OIDOID};
	Datum		values[1];
	uint64		i;
	int			nestlevel = pgm_pin_search_path();

	initStringInfo(&buf);
	values[0] = ObjectIdGetDatum(relid);
	if (SPI_execute_with_args("SELECT a.privilege_type,"
							  "       CASE WHEN a.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC'"
							  "            ELSE pg_catalog.quote_ident(r.rolname) END,"
							  "       a.is_grantable, NULL::pg_catalog.name"
							  "  FROM pg_catalog.pg_class c,"
							  "       LATERAL pg_catalog.aclexplode(c.relacl) a"
							  "  LEFT JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) a.grantee"
							  " WHERE c.oid OPERATOR(pg_catalog.=) $1"
							  "   AND a.grantee OPERATOR(pg_catalog.<>) c.relowner"
							  "   AND a.privilege_type OPERATOR(pg_catalog.=) ANY"
							  "       ('{SELECT,INSERT,UPDATE,DELETE,REFERENCES,TRIGGER}'::pg_catalog.text[])"
							  " UNION ALL "
							  "SELECT a.privilege_type,"
							  "       CASE WHEN a.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC'"
							  "            ELSE pg_catalog.quote_ident(r.rolname) END,"
							  "       a.is_grantable, t.attname"
							  "  FROM pg_catalog.pg_attribute t,"
							  "       LATERAL pg_catalog.aclexplode(t.attacl) a"
							  "  LEFT JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) a.grantee"
							  " WHERE t.attrelid OPERATOR(pg_catalog.=) $1 AND t.attnum OPERATOR(pg_catalog.>) 0"
							  "   AND NOT t.attisdropped"
							  " ORDER BY 4 NULLS FIRST, 2, 1",
							  1, types, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the privileges of relation %u", relid);
	for (i = 0; i < SPI_processed; i++)
	{
		char	   *priv = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		char	   *grantee = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
		char	   *grantable = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 3);
		char	   *column = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 4);

		if (priv == NULL || grantee == NULL)
			continue;
		appendStringInfo(&buf, ";\nGRANT %s%s%s%s ON %s TO %s%s", priv,
						 column ? " (" : "", column ? quote_identifier(column) : "",
						 column ? ")" : "", view, grantee,
						 grantable && strcmp(grantable, "t") == 0 ? " WITH GRANT OPTION" : "");
	}
	AtEOXact_GUC(false, nestlevel);
	return buf.data;
}

static void
plan_rename_table(PgmOnlinePlan *plan, RenameStmt *stmt)
{
	const char *what = "this ALTER TABLE ... RENAME TO";
	Oid			relid = pgm_online_table(stmt->relation, what);
	Oid			nspid = get_rel_namespace(relid);
	char	   *nsp = get_namespace_name(nspid);
	char	   *oldname = get_rel_name(relid);
	char	   *oldq;
	char	   *newq;
	Relation	rel;
	PgmOnlineStep *step;
	char	   *grants;

	plan->operation = "rename_table";
	plan->relid = relid;

	if (oldname == NULL || nsp == NULL)
		elog(ERROR, "cache lookup failed for relation %u", relid);
	rel = table_open(relid, AccessShareLock);
	if (OidIsValid(RelationGetForm(rel)->reloftype))
		pgm_online_refuse(what, "The table is a typed table, which a view cannot stand in for.",
						  "Rename it directly (under a lock_timeout).");
	table_close(rel, AccessShareLock);
	if (OidIsValid(get_relname_relid(stmt->newname, nspid)))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_TABLE),
				 errmsg("relation \"%s\" already exists", stmt->newname)));

	/* The view is created in the table's schema, which renaming alone does not need. */
	if (PGM_namespace_aclcheck(nspid, GetUserId(), ACL_CREATE) != ACLCHECK_OK)
		pgm_online_refuse(what,
						  psprintf("The view that keeps the old name is created in schema \"%s\", "
								   "where you have no CREATE privilege.", nsp),
						  "Rename the table directly (under a lock_timeout), or ask for CREATE on the schema.");

	oldq = quote_qualified_identifier(nsp, oldname);
	newq = quote_qualified_identifier(nsp, stmt->newname);
	grants = grants_for_view(relid, oldq);

	step = pgm_online_step(plan, "cut-over", PGM_STEP_TRANSACTION, true,
						   psprintf("ALTER TABLE %s RENAME TO %s;\n"
									"CREATE VIEW %s WITH (security_invoker = true) AS SELECT * FROM %s%s",
									oldq, quote_identifier(stmt->newname),
									oldq, newq, grants));
	step->exempt = list_make1("rename_table");
	pgm_online_set_undo(step, PGM_STEP_TRANSACTION, true,
						psprintf("DROP VIEW IF EXISTS %s;\n"
								 "ALTER TABLE %s RENAME TO %s",
								 oldq, newq, quote_identifier(oldname)));

	step = pgm_online_step(plan, "complete", PGM_STEP_TRANSACTION, true,
						   psprintf("DROP VIEW %s", oldq));
	step->complete_stage = true;
}

void
pgm_online_plan_rename(PgmOnlinePlan *plan, RenameStmt *stmt, int64 job_id)
{
	if (stmt->missing_ok)
		pgm_online_refuse("ALTER TABLE IF EXISTS",
						  "The job needs the table to exist when it is submitted.",
						  "Drop IF EXISTS.");
	if (stmt->renameType == OBJECT_COLUMN && stmt->relationType == OBJECT_TABLE)
		plan_rename_column(plan, stmt, job_id);
	else if (stmt->renameType == OBJECT_TABLE)
		plan_rename_table(plan, stmt);
	else
		pgm_online_refuse("this RENAME",
						  "migrate_online renames columns of tables (RENAME COLUMN) and tables (RENAME TO).",
						  "Run the statement directly, or with migrate_apply.");
}
