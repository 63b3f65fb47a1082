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
#include "nodes/plannodes.h"
#include "tcop/utility.h"

/* SQLSTATEs of the policy engine (class PM = pg_migrate). */
#define ERRCODE_PGM_POLICY_VIOLATION	MAKE_SQLSTATE('P','M','1','0','0')
#define ERRCODE_PGM_POLICY_WARNING		MAKE_SQLSTATE('P','M','1','0','1')

typedef enum PgmAction
{
	PGM_ACTION_ALLOW,
	PGM_ACTION_WARN,
	PGM_ACTION_ONLINE,			/* run the statement's online form instead */
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
	char	   *online_as;		/* online: what runs instead (see
								 * pgm_policy_describe_online) */
	char	   *online_call;	/* refused or warned: the migrate_online()
								 * call that runs it online, where there is
								 * one (pgm_policy_find_online_call) */
} PgmVerdict;

/*
 * The online forms of statements, which live above this layer (online/):
 * its module init installs these.  describe returns what runs instead of
 * the statement (step by step, for messages), or NULL with *why set when
 * there is no online form.  substitute runs that form in place of the
 * statement (see online/substitute.c); it is only called after describe
 * found a form.
 */
typedef char *(*PgmOnlineDescribe) (const char *text, char **why);
typedef void (*PgmOnlineSubstitute) (const char *text,
									 ProcessUtilityContext context,
									 const char *rules);
extern PgmOnlineDescribe pgm_online_describe_hook;
/* Whether migrate_online() accepts the statement (renames included). */
typedef bool (*PgmOnlineAccepts) (const char *text);
extern PgmOnlineAccepts pgm_online_accepts_hook;
extern PgmOnlineSubstitute pgm_online_substitute_hook;

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
extern bool pgm_policy_describe_online(List *verdicts, const char *text);
extern bool pgm_policy_runs_online(List *verdicts);
extern void pgm_policy_find_online_call(List *verdicts, const char *text);
extern const char *pgm_policy_hint(PgmVerdict *v);
extern char *pgm_policy_online_rules(List *verdicts);

#endif							/* PG_MIGRATE_POLICY_H */
