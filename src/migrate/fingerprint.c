/*-------------------------------------------------------------------------
 *
 * fingerprint.c
 *		A catalog fingerprint: one (kind, object, definition) entry for every
 *		user-visible schema object, used by migrate_verify() to prove that a
 *		down script undoes its up script.
 *
 * The fingerprint covers schemas, tables and other relations, columns
 * (type, nullability, default, identity, generation, collation, grants),
 * constraints, indexes, sequences, view definitions, functions, triggers,
 * row-level security policies, rules, enum types and domains, with their
 * owners and grants.  Objects are named, never numbered, so a table dropped
 * and re-created the same way has the same fingerprint.  Objects that belong
 * to an extension (pg_migrate's own tables, for one) and the system schemas
 * are left out.
 *
 * migrate_fingerprint() returns the same entries to SQL, so that two
 * moments that are not one transaction apart can be compared (an online
 * change aborted by a job, a restore).
 *
 * The definitions come from PostgreSQL's own deparsers (pg_get_indexdef,
 * pg_get_constraintdef, pg_get_viewdef, pg_get_triggerdef, format_type), so
 * two objects compare equal exactly when PostgreSQL would print them alike.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "core/spi.h"
#include "migrate/fingerprint.h"

PG_FUNCTION_INFO_V1(migrate_fingerprint);

typedef struct FingerprintEntry
{
	char	   *kind;
	char	   *object;
	char	   *definition;
} FingerprintEntry;

struct PgmFingerprint
{
	int			n;
	FingerprintEntry *entries;	/* sorted by (kind, object), bytewise */
};

/*
 * The query runs with search_path pinned to pg_catalog, pg_temp, so every
 * function and operator resolves to the built-in one and regprocedure /
 * regtype output is schema-qualified for anything outside pg_catalog.
 */
static const char *fingerprint_sql =
"WITH nsp AS ("
"  SELECT n.oid, n.nspname FROM pg_namespace n"
"   WHERE n.nspname !~ '^(pg_catalog|information_schema|pg_toast|pg_temp_[0-9]+|pg_toast_temp_[0-9]+)$'"
"     AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_namespace'::regclass"
"                      AND d.objid = n.oid AND d.deptype = 'e')),"
" rel AS ("
"  SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS name, c.*"
"    FROM pg_class c JOIN nsp n ON n.oid = c.relnamespace"
"   WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'c', 'i', 'I')"
"     AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass"
"                      AND d.objid IN (c.oid, (SELECT i.indrelid FROM pg_index i"
"                                               WHERE i.indexrelid = c.oid))"
"                      AND d.deptype = 'e')),"
" fn AS ("
"  SELECT p.* FROM pg_proc p JOIN nsp n ON n.oid = p.pronamespace"
"   WHERE NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass"
"                      AND d.objid = p.oid AND d.deptype = 'e')),"
" typ AS ("
"  SELECT t.* FROM pg_type t JOIN nsp n ON n.oid = t.typnamespace"
"   WHERE t.typtype IN ('e', 'd')"
"     AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_type'::regclass"
"                      AND d.objid = t.oid AND d.deptype = 'e'))"
" SELECT kind, object, definition FROM ("
"  SELECT 'schema' AS kind, quote_ident(n.nspname) AS object,"
"         concat_ws(' ', 'owner=' || pg_get_userbyid(s.nspowner), 'acl=' || s.nspacl::text) AS definition"
"    FROM nsp n JOIN pg_namespace s ON s.oid = n.oid"
"  UNION ALL"
"  SELECT CASE r.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'v' THEN 'view'"
"           WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence'"
"           WHEN 'f' THEN 'foreign table' WHEN 'c' THEN 'type' ELSE 'index' END,"
"         r.name,"
"         CASE WHEN r.relkind IN ('i', 'I') THEN pg_get_indexdef(r.oid) ELSE"
"         concat_ws(' ', 'kind=' || r.relkind::text, 'owner=' || pg_get_userbyid(r.relowner),"
"                   'persistence=' || r.relpersistence::text, 'acl=' || r.relacl::text,"
"                   'options=' || r.reloptions::text, 'rls=' || r.relrowsecurity::text,"
"                   CASE WHEN r.relkind IN ('v', 'm') THEN pg_get_viewdef(r.oid) END) END"
"    FROM rel r"
"  UNION ALL"
"  SELECT 'column', r.name || '.' || quote_ident(a.attname),"
"         concat_ws(' ', format_type(a.atttypid, a.atttypmod),"
"                   CASE WHEN a.attnotnull THEN 'NOT NULL' END,"
"                   'DEFAULT ' || pg_get_expr(ad.adbin, ad.adrelid),"
"                   CASE a.attidentity WHEN 'a' THEN 'IDENTITY ALWAYS' WHEN 'd' THEN 'IDENTITY BY DEFAULT' END,"
"                   CASE a.attgenerated WHEN 's' THEN 'GENERATED STORED' END,"
"                   'COLLATE ' || nullif(a.attcollation, t.typcollation)::regcollation::text,"
"                   'acl=' || a.attacl::text)"
"    FROM rel r JOIN pg_attribute a ON a.attrelid = r.oid"
"    JOIN pg_type t ON t.oid = a.atttypid"
"    LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum"
"   WHERE a.attnum > 0 AND NOT a.attisdropped AND r.relkind IN ('r', 'p', 'v', 'm', 'f', 'c')"
"  UNION ALL"
"  SELECT 'constraint', coalesce(r.name, format_type(c.contypid, NULL)) || '.' || quote_ident(c.conname),"
"         pg_get_constraintdef(c.oid) || CASE WHEN NOT c.convalidated THEN ' (not validated)' ELSE '' END"
"    FROM pg_constraint c LEFT JOIN rel r ON r.oid = c.conrelid"
"   WHERE r.oid IS NOT NULL OR c.contypid IN (SELECT oid FROM typ)"
"  UNION ALL"
"  SELECT 'sequence options', r.name,"
"         concat_ws(' ', format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, s.seqmax,"
"                   s.seqmin, s.seqcache, s.seqcycle,"
"                   (SELECT 'owned by ' || o.name || '.' || quote_ident(a.attname)"
"                      FROM pg_depend d JOIN rel o ON o.oid = d.refobjid"
"                      JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid"
"                     WHERE d.classid = 'pg_class'::regclass AND d.objid = r.oid"
"                       AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')))"
"    FROM rel r JOIN pg_sequence s ON s.seqrelid = r.oid"
"  UNION ALL"
"  SELECT CASE f.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' ELSE 'function' END,"
"         f.oid::regprocedure::text,"
"         concat_ws(' ', 'returns ' || f.prorettype::regtype::text, 'language ' || l.lanname,"
"                   'volatility=' || f.provolatile::text, 'strict=' || f.proisstrict::text,"
"                   'security_definer=' || f.prosecdef::text, 'config=' || f.proconfig::text,"
"                   'owner=' || pg_get_userbyid(f.proowner), 'acl=' || f.proacl::text,"
"                   'body=' || md5(coalesce(f.prosrc, '') || coalesce(f.probin, '')))"
"    FROM fn f JOIN pg_language l ON l.oid = f.prolang"
"  UNION ALL"
"  SELECT 'trigger', r.name || '.' || quote_ident(t.tgname),"
"         pg_get_triggerdef(t.oid) || ' enabled=' || t.tgenabled::text"
"    FROM pg_trigger t JOIN rel r ON r.oid = t.tgrelid WHERE NOT t.tgisinternal"
"  UNION ALL"
"  SELECT 'policy', r.name || '.' || quote_ident(p.polname),"
"         concat_ws(' ', p.polcmd::text, p.polpermissive::text, p.polroles::regrole[]::text,"
"                   pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid))"
"    FROM pg_policy p JOIN rel r ON r.oid = p.polrelid"
"  UNION ALL"
"  SELECT 'rule', r.name || '.' || quote_ident(w.rulename), pg_get_ruledef(w.oid)"
"    FROM pg_rewrite w JOIN rel r ON r.oid = w.ev_class WHERE w.rulename <> '_RETURN'"
"  UNION ALL"
"  SELECT CASE t.typtype WHEN 'e' THEN 'enum' ELSE 'domain' END, t.oid::regtype::text,"
"         concat_ws(' ', 'owner=' || pg_get_userbyid(t.typowner), 'acl=' || t.typacl::text,"
"                   CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END,"
"                   CASE WHEN t.typnotnull THEN 'NOT NULL' END, 'DEFAULT ' || t.typdefault,"
"                   (SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder)"
"                      FROM pg_enum e WHERE e.enumtypid = t.oid))"
"    FROM typ t"
" ) f ORDER BY kind COLLATE \"C\", object COLLATE \"C\"";

/*
 * A fingerprint of the catalog (fingerprint_sql), read under a pinned
 * search_path, allocated in cxt so that it outlives the subtransaction it
 * is taken in.
 */
PgmFingerprint *
pgm_fingerprint(MemoryContext cxt)
{
	PgmFingerprint *fp;
	int			nestlevel;
	uint64		i;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	nestlevel = pgm_pin_search_path();
	/* not read-only: it must see what the scripts just did */
	if (SPI_execute(fingerprint_sql, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the catalog fingerprint");
	AtEOXact_GUC(false, nestlevel);

	fp = MemoryContextAllocZero(cxt, sizeof(PgmFingerprint));
	fp->n = (int) SPI_processed;
	fp->entries = MemoryContextAllocZero(cxt, sizeof(FingerprintEntry) * Max(fp->n, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		char	   *v;

		v = SPI_getvalue(tup, desc, 1);
		fp->entries[i].kind = MemoryContextStrdup(cxt, v ? v : "");
		v = SPI_getvalue(tup, desc, 2);
		fp->entries[i].object = MemoryContextStrdup(cxt, v ? v : "");
		v = SPI_getvalue(tup, desc, 3);
		fp->entries[i].definition = MemoryContextStrdup(cxt, v ? v : "");
	}
	SPI_finish();
	return fp;
}

static int
entry_cmp(const FingerprintEntry *a, const FingerprintEntry *b)
{
	int			c = strcmp(a->kind, b->kind);

	return c != 0 ? c : strcmp(a->object, b->object);
}

/*
 * Report every difference between two fingerprints: objects only in the
 * first ("missing after down"), only in the second ("left behind by down"),
 * and objects whose definition changed.
 */
void
pgm_fingerprint_diff(PgmFingerprint *before, PgmFingerprint *after,
					 PgmDiffCallback callback, void *arg)
{
	int			i = 0;
	int			j = 0;

	while (i < before->n || j < after->n)
	{
		FingerprintEntry *b = i < before->n ? &before->entries[i] : NULL;
		FingerprintEntry *a = j < after->n ? &after->entries[j] : NULL;
		int			c;

		if (b == NULL)
			c = 1;
		else if (a == NULL)
			c = -1;
		else
			c = entry_cmp(b, a);

		if (c < 0)
		{
			callback(arg, b->kind, b->object, "missing after down", b->definition, NULL);
			i++;
		}
		else if (c > 0)
		{
			callback(arg, a->kind, a->object, "left behind by down", NULL, a->definition);
			j++;
		}
		else
		{
			if (strcmp(b->definition, a->definition) != 0)
				callback(arg, b->kind, b->object, "changed", b->definition, a->definition);
			i++;
			j++;
		}
	}
}

/* migrate_fingerprint(): the entries, sorted, one row each. */
Datum
migrate_fingerprint(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext cxt;
	PgmFingerprint *fp;
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	cxt = AllocSetContextCreate(CurrentMemoryContext, "pg_migrate fingerprint",
								ALLOCSET_DEFAULT_SIZES);
	fp = pgm_fingerprint(cxt);
	for (i = 0; i < fp->n; i++)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		values[0] = CStringGetTextDatum(fp->entries[i].kind);
		values[1] = CStringGetTextDatum(fp->entries[i].object);
		values[2] = CStringGetTextDatum(fp->entries[i].definition);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	MemoryContextDelete(cxt);
	return (Datum) 0;
}
