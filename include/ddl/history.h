/*-------------------------------------------------------------------------
 *
 * history.h
 *		The DDL history: what the ProcessUtility hook and the event triggers
 *		collect about one statement, and the writer that turns it into a row
 *		of migrate_ddl_history.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_MIGRATE_HISTORY_H
#define PG_MIGRATE_HISTORY_H

#include "postgres.h"

#include "lib/stringinfo.h"
#include "nodes/parsenodes.h"
#include "nodes/plannodes.h"
#include "storage/lockdefs.h"
#include "tcop/utility.h"
#include "utils/timestamp.h"

/*
 * One DDL statement being executed.  The hook pushes a frame before the
 * statement runs and pops it afterwards; the event triggers, which fire in
 * between, add what they learn to the innermost frame.  Frames nest when DDL
 * runs DDL (a function with EXECUTE called from a DDL statement, an event
 * trigger of the user's own).
 */
typedef struct HistoryFrame
{
	struct HistoryFrame *outer;		/* enclosing statement, or NULL */
	MemoryContext cxt;				/* holds everything below */

	char	   *statement;			/* this statement's text, redacted */
	const char *command_tag;
	TimestampTz started_at;
	bool		toplevel;			/* sent by the client, not from a function */

	List	   *objects;			/* of HistoryObject * */
	List	   *lock_relids;		/* relations whose locks to report */
	List	   *created_relids;		/* relations this statement created */
	LOCKMODE	predicted_lock;		/* for statements that release their
									 * locks before returning */
	bool		saw_event;			/* an event trigger fired for it */
	bool		rewrite;			/* a table_rewrite event fired */
	char	   *policy_overrides;	/* JSON text for the row, set by the
									 * policy engine, or NULL */

	/* Lock figures (ddl/lockstats.c); measuring is false when off. */
	bool		measuring;
	int64		wait_base_total;	/* wait tally before the first attempt */
	int64		wait_base_frame;	/* wait tally when this frame opened */
	int			retries;			/* attempts before this one */
	bool		alone;				/* sent alone, outside a transaction
									 * block: commits when it returns */
	List	   *lock_relnames;		/* names of lock_relids, same order */
} HistoryFrame;

typedef struct HistoryObject
{
	char	   *type;
	char	   *identity;
	char	   *schema;				/* NULL for objects not in a schema */
	bool		dropped;
	bool		temporary;
	Oid			relid;				/* a relation or its column: its OID */
	int			attnum;				/* a column: its number; else 0 */
} HistoryObject;

extern HistoryFrame *pgm_current_frame;

/* Text of the migration currently being applied, for the history rows. */
extern char *pgm_current_migration;

/*
 * Set by a job worker for its whole life (never from anything a client
 * can set): the job whose statements it runs, and the migration the job
 * was submitted from (an online change submitted by migrate_apply), for
 * the history rows' job_id and migration_version.
 */
extern int64 pgm_history_job_id;
extern char *pgm_history_job_migration;

extern void pgm_history_init(void);

extern bool pgm_history_wanted(Node *parsetree);
extern HistoryFrame *pgm_history_begin(PlannedStmt *pstmt,
									   const char *queryString,
									   ProcessUtilityContext context);
extern void pgm_history_finish(HistoryFrame *frame, Node *parsetree);
extern void pgm_history_discard(HistoryFrame *frame);
extern void pgm_history_extension_created(void);
extern bool pgm_history_restoring(void);
extern bool pgm_history_start_restore(Oid copy_relid);
extern int64 pgm_history_recent_creation(Oid relid, AttrNumber attnum,
										 int window_s, TimestampTz *at);

#endif							/* PG_MIGRATE_HISTORY_H */
