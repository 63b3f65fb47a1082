/*-------------------------------------------------------------------------
 *
 * session_tables.h
 *		Tables a session created and no other session has used since.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_MIGRATE_SESSION_TABLES_H
#define PG_MIGRATE_SESSION_TABLES_H

#include "postgres.h"

#include "executor/executor.h"
#include "nodes/nodes.h"
#include "nodes/pg_list.h"

extern ExecutorStart_hook_type pgm_session_tables_prev_ExecutorStart;

extern void pgm_session_tables_shmem_request(void);
extern void pgm_session_tables_shmem_startup(void);
extern void pgm_session_tables_ExecutorStart(QueryDesc *queryDesc, int eflags);
extern void pgm_session_table_created(Oid relid);
extern void pgm_session_tables_note_use(List *relids);
extern void pgm_session_table_note_use(Oid relid);
extern void pgm_session_tables_note_utility(Node *parsetree);
extern bool pgm_session_table_private(Oid relid);

#endif							/* PG_MIGRATE_SESSION_TABLES_H */
