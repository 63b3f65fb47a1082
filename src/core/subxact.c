/*-------------------------------------------------------------------------
 *
 * subxact.c
 *		Running a piece of work in an internal subtransaction and catching
 *		its error.
 *
 * Several parts of pg_migrate try something and carry on when it fails:
 * the hook retries a DDL statement after a lock timeout, migrate_apply
 * retries a whole script, migrate_check and migrate_verify run scripts
 * they always roll back.  Each needs the same dance: begin the
 * subtransaction, keep working in the caller's memory context, and on
 * error copy the error out before the subtransaction's memory goes,
 * roll it back (releasing every lock it took), and give the caller its
 * memory context and resource owner back.
 *
 * Part of the ground floor (src/core): it calls nothing of pg_migrate
 * outside src/core.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "core/subxact.h"

/*
 * Run fn(arg) in an internal subtransaction.  With keep, a success is
 * committed into the caller's (sub)transaction; without it, the
 * subtransaction is rolled back whatever happens (a trial run).  Returns
 * NULL on success, else the error, copied into the caller's memory context,
 * after rolling the subtransaction back.  Either way the caller's memory
 * context and resource owner are current again.
 */
ErrorData *
pgm_subxact_run(PgmSubxactFn fn, void *arg, bool keep)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	ErrorData  *edata = NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		fn(arg);
		if (keep)
			ReleaseCurrentSubTransaction();
		else
			RollbackAndReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
	}
	PG_END_TRY();

	MemoryContextSwitchTo(oldcxt);
	CurrentResourceOwner = oldowner;
	return edata;
}
