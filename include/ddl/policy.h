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
extern void pgm_violations_shmem_request(void);
extern void pgm_violations_shmem_startup(void);

extern bool pgm_policy_active(void);
extern List *pgm_policy_verdicts(PgmClassification *cls);
extern void pgm_policy_enforce(List *verdicts, const char *statement,
							   char **overrides_json);
extern const char *pgm_action_name(PgmAction action);

#endif							/* PG_MIGRATE_POLICY_H */
