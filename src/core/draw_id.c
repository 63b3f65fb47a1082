/*-------------------------------------------------------------------------
 *
 * draw_id.c
 *		The next id of one of the extension's own tables, drawn without
 *		nextval().
 *
 * nextval() makes its sequence the session's "last used" one.  A function
 * of ours that inserts a row whose key defaults to nextval() would change
 * what lastval() returns to the application (PHP's PDO::lastInsertId()
 * calls it), or make it fail with "permission denied" for a role that may
 * not read our sequence; that state is kept in commands/sequence.c where
 * nothing can restore it.  setval() advances a sequence the same way
 * nextval() does (at once, whatever becomes of the transaction, and
 * WAL-logged) but leaves lastval() alone, so the id is the sequence's
 * current value plus one, written back with setval(), and the caller
 * inserts it explicitly.
 *
 * Reading and writing back must be one step for every caller, or two
 * callers would draw the same id: a SHARE UPDATE EXCLUSIVE lock on the
 * sequence conflicts with itself and with nothing nextval() or setval()
 * take, and is released as soon as the value is written (what setval()
 * wrote does not wait for the commit).  history.c draws the ids of
 * migrate_ddl_history the same way, with a plan of its own kept for the
 * speed of every DDL statement.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/dependency.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "storage/lmgr.h"
#include "storage/lockdefs.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "storage/proc.h"

#include "core/catalog.h"
#include "core/draw_id.h"
#include "core/spi.h"

/*
 * The next id of the table tableid, from the sequence it owns.  The caller
 * is connected to SPI; the sequence is read and advanced as the table's
 * owner, whatever role the caller has.
 */
int64
pgm_draw_id(Oid tableid)
{
	List	   *sequences = getOwnedSequences(tableid);
	Oid			seqid = sequences != NIL ? linitial_oid(sequences) : InvalidOid;
	char	   *nspname = NULL;
	char	   *relname = NULL;
	char	   *sql;
	int			save_lock_timeout;
	bool		isnull;
	Datum		id;

	if (OidIsValid(seqid))
	{
		nspname = get_namespace_name(get_rel_namespace(seqid));
		relname = get_rel_name(seqid);
	}
	if (nspname == NULL || relname == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table \"%s\" has no id sequence",
						get_rel_name(tableid) ? get_rel_name(tableid) : "?"),
				 errhint("Reinstall the extension pg_migrate.")));

	/*
	 * Held for microseconds by every caller: waiting for it is no lock
	 * queue on anyone's table, and must not fail under a short
	 * lock_timeout.
	 */
	save_lock_timeout = LockTimeout;
	LockTimeout = 0;
	PG_TRY();
	{
		LockRelationOid(seqid, ShareUpdateExclusiveLock);
	}
	PG_FINALLY();
	{
		LockTimeout = save_lock_timeout;
	}
	PG_END_TRY();

	sql = psprintf("SELECT pg_catalog.setval('%u'::pg_catalog.regclass,"
				   " CASE WHEN is_called THEN last_value OPERATOR(pg_catalog.+) 1"
				   " ELSE last_value END, true) FROM %s",
				   seqid, quote_qualified_identifier(nspname, relname));
	if (pgm_execute_as(pgm_relation_owner(tableid), sql, 0, NULL, NULL, NULL) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not draw an id for table %u", tableid);
	id = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		elog(ERROR, "could not draw an id for table %u", tableid);
	UnlockRelationOid(seqid, ShareUpdateExclusiveLock);
	return DatumGetInt64(id);
}
