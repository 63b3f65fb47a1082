# A job submitted in a transaction that is prepared (PREPARE TRANSACTION)
# and committed later with COMMIT PREPARED, from another session, starts at
# once: the submitting session's commit-time notification never comes, so
# COMMIT PREPARED asks the launcher to look at the database.  Without it
# the job would wait for the launcher's next sweep, or for ever when the
# database had no other unfinished job.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use PgmJobs;

my $node = pgm_node('two_phase');
$node->append_conf('postgresql.conf', "max_prepared_transactions = 4\n");
$node->restart;

$node->safe_psql('postgres', q{
CREATE EXTENSION pg_migrate;
CREATE TABLE public.tp (id int PRIMARY KEY, v int NOT NULL DEFAULT 0);
INSERT INTO public.tp SELECT g FROM generate_series(1, 100) g;
});
# Let the launcher's first look at every database pass: from now on only a
# notification (or the next sweep, a minute away) starts a dispatcher.
sleep(2);

# Submitted and prepared in one session, committed in another.
my $id = $node->safe_psql('postgres', q{
BEGIN;
SELECT migrate_batch_update('public.tp', 'v = 1');
PREPARE TRANSACTION 'pgm_job';
});
is($node->safe_psql('postgres', "SELECT state FROM migrate_jobs WHERE id = $id"),
	'', 'prepared: the job is not visible yet');

my $start = time();
$node->safe_psql('postgres', "COMMIT PREPARED 'pgm_job'");
my $state = wait_job_state($node, 'postgres', $id, 'done|failed', 20);
my $elapsed = time() - $start;
is($state, 'done', 'the job runs after COMMIT PREPARED');
cmp_ok($elapsed, '<', 20, "it started promptly (done in ${elapsed}s)");
is($node->safe_psql('postgres', 'SELECT count(*) FROM public.tp WHERE v = 1'),
	'100', 'every row was updated');

# ROLLBACK PREPARED leaves no job behind, and nothing to run.
$id = $node->safe_psql('postgres', q{
BEGIN;
SELECT migrate_batch_update('public.tp', 'v = 2');
PREPARE TRANSACTION 'pgm_job2';
});
$node->safe_psql('postgres', "ROLLBACK PREPARED 'pgm_job2'");
is($node->safe_psql('postgres', "SELECT count(*) FROM migrate_jobs WHERE id = $id"),
	'0', 'rolled back: no job');
is($node->safe_psql('postgres', 'SELECT count(*) FROM public.tp WHERE v = 2'),
	'0', 'rolled back: no row changed');

$node->stop;
done_testing();
