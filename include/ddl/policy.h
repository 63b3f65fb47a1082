/*-------------------------------------------------------------------------
 *
 * policy.h
 *		The policy engine: classified operations x migrate_policy x settings
 *		-> verdicts; audited overrides; the shared-memory ring of recent
 *		violations.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_MIGRATE_POLICY_H
#define PG_MIGRATE_POLICY_H

#include "postgres.h"

#include "ddl/classify.h"

/* SQLSTATEs of the policy engine (class PM = pg_migrate). */
#define ERRCODE_PGM_POLICY_VIOLATION	MAKE_SQLSTATE('P','M','1','0','0')
#define ERRCODE_PGM_POLICY_WARNING		MAKE_SQLSTATE('P','M','1','0','1')
/*
 * Lock-queue failures use PostgreSQL's own lock_not_available (55P03), the
 * SQLSTATE of a lock timeout: clients and migrate_apply() that retry on lock
 * timeouts must recognise them.
 */
#define ERRCODE_PGM_LOCK_TIMEOUT		ERRCODE_LOCK_NOT_AVAILABLE

typedef enum PgmEnforce
{
	PGM_ENFORCE_OFF,
	PGM_ENFORCE_WARN,
	PGM_ENFORCE_ON
} PgmEnforce;

typedef enum PgmLockTimeoutMode
{
	PGM_LOCK_TIMEOUT_OFF,
	PGM_LOCK_TIMEOUT_INJECT,
	PGM_LOCK_TIMEOUT_REQUIRE
} PgmLockTimeoutMode;

typedef enum PgmAction
{
	PGM_ACTION_ALLOW,
	PGM_ACTION_WARN,
	PGM_ACTION_DENY
} PgmAction;

/* The verdict on one operation. */
typedef struct PgmVerdict
{
	PgmOperation *op;
	PgmAction	action;			/* as the policy says */
	bool		overridden;		/* a deny lifted by migrate_override() */
	char	   *override_reason;
	char	   *message;		/* errmsg text */
	char	   *detail;			/* errdetail text */
} PgmVerdict;

/* Settings */
extern int	pgm_enforce;
extern int	pgm_small_table_size;
extern int	pgm_lock_timeout;
extern int	pgm_lock_timeout_mode;
extern int	pgm_lock_retry_budget;
extern int	pgm_lock_retries;
extern int	pgm_migration_lock_timeout;
extern int	pgm_max_migration_rows;

/*
 * Objects a down script may drop without a finding, because the up script
 * of the same migration created them (set by migrate.c while it runs a down
 * script; the verdict is recorded as an override with the reason).
 */
typedef struct PgmExemption
{
	PgmRule		rule;
	Oid			relid;
	char	   *colname;		/* NULL: the whole relation */
} PgmExemption;

extern List *pgm_exemptions;
extern const char *pgm_exemption_reason;

extern void pgm_policy_define_gucs(void);
extern void pgm_policy_init(void);
extern Size pgm_violations_shmem_size(void);
extern void pgm_violations_shmem_init(void);

extern bool pgm_policy_active(void);
extern List *pgm_policy_verdicts(PgmClassification *cls);
extern void pgm_policy_enforce(List *verdicts, const char *statement,
							   char **overrides_json);
extern const char *pgm_action_name(PgmAction action);

/* guard.c: lock-queue protection, shared with migrate_apply */
extern int	pgm_attempt_lock_timeout(void);
extern int	pgm_backoff_next(int *delay);
extern void pgm_sleep_ms(int ms);
extern bool pgm_holds_blocking_locks(void);
extern char *pgm_describe_blockers(List *locks);

#endif							/* PG_MIGRATE_POLICY_H */
