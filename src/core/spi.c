/*-------------------------------------------------------------------------
 *
 * spi.c
 *		Running SQL on the extension's own account: as the owner of the
 *		tables it touches, under a pinned search_path, checking the result.
 *
 * pg_migrate's bookkeeping (history rows, migrations, jobs) runs inside
 * the user's transaction, sometimes inside the user's own code.  It must
 * neither depend on what the session set up (search_path, its current
 * role) nor give the session's code a way in: statements run as the
 * owner of the tables, as a security-restricted operation, with
 * search_path = pg_catalog, pg_temp, and every name they use is
 * schema-qualified as well.
 *
 * Part of the ground floor (src/core): it calls nothing of pg_migrate
 * outside src/core.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "core/spi.h"

/*
 * Remember who we run as (user and security context), to act as another
 * role and come back.  An error in between needs no restore: transaction
 * and subtransaction abort put the saved identity back.
 */
void
pgm_save_user(PgmSavedUser *saved)
{
	GetUserIdAndSecContext(&saved->userid, &saved->sec_context);
}

/*
 * Act as a role (the owner of the tables about to be touched, or the
 * submitter of a job), as a security-restricted operation: no SET ROLE or
 * SET SESSION AUTHORIZATION back to the saved identity, nothing that would
 * leave code to run after the switch back.
 */
void
pgm_act_as(Oid role, const PgmSavedUser *saved)
{
	SetUserIdAndSecContext(role, saved->sec_context |
						   SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
}

/* pgm_save_user() and pgm_act_as() at once. */
void
pgm_become_owner(Oid owner, PgmSavedUser *saved)
{
	pgm_save_user(saved);
	pgm_act_as(owner, saved);
}

/* Back to the identity pgm_save_user() saved. */
void
pgm_restore_user(const PgmSavedUser *saved)
{
	SetUserIdAndSecContext(saved->userid, saved->sec_context);
}

/*
 * Run one parameterised statement as the given role (the owner of the
 * tables it reads and writes), under search_path = pg_catalog, pg_temp, as
 * a restricted operation: nothing the caller set up can run inside it.
 * The caller is connected to SPI.
 */
int
pgm_execute_as(Oid owner, const char *sql, int nargs, Oid *types, Datum *values,
			   const char *nulls)
{
	PgmSavedUser saved;
	int			nestlevel;
	int			rc;

	pgm_become_owner(owner, &saved);
	nestlevel = pgm_pin_search_path();
	PG_TRY();
	{
		rc = SPI_execute_with_args(sql, nargs, types, values, nulls, false, 0);
		if (rc < 0)
			elog(ERROR, "bookkeeping query failed: %s", SPI_result_code_string(rc));
	}
	PG_FINALLY();
	{
		AtEOXact_GUC(false, nestlevel);
		pgm_restore_user(&saved);
	}
	PG_END_TRY();
	return rc;
}

/*
 * Pin search_path to pg_catalog, pg_temp until AtEOXact_GUC(false, level)
 * with the returned level, as a function's SET clause would.
 */
int
pgm_pin_search_path(void)
{
	int			level = NewGUCNestLevel();

	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	return level;
}

/*
 * Pin the session's search_path of a dispatcher or job worker, which runs
 * its bookkeeping as the bootstrap superuser.  Connecting applied the
 * settings of ALTER DATABASE ... SET, which the database's owner chooses,
 * and a job's own batches run code of the submitter in this session, which
 * may leave temporary types and tables behind (pg_temp is searched first
 * for those unless the path lists it).  Every query here is schema-qualified
 * as well; this makes an unqualified name that slips in later harmless.
 */
void
pgm_pin_session_search_path(void)
{
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_SESSION);
}
