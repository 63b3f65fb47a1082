# Sharing the job workers between roles: a pause or a cancel frees a
# sleeping worker's slot at once; a long pause is waited out without a
# worker; one role's queue of jobs does not hold another role's job back
# (round robin over the submitters); and pg_migrate.max_workers_per_role
# keeps a worker free for the others.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use PgmJobs;

my $node = pgm_node('fairness');
$node->append_conf('postgresql.conf', q{
pg_migrate.max_workers = 2
pg_migrate.batch_target = '10ms'
});
$node->reload;

$node->safe_psql('postgres', q{
CREATE EXTENSION pg_migrate;
CREATE ROLE alice;
CREATE ROLE bob;
CREATE TABLE t (id int PRIMARY KEY, n int NOT NULL DEFAULT 0);
INSERT INTO t SELECT g FROM generate_series(1, 1000) g;
CREATE TABLE u (id int PRIMARY KEY, n int NOT NULL DEFAULT 0);
INSERT INTO u SELECT g FROM generate_series(1, 1000) g;
GRANT SELECT, UPDATE ON t, u TO alice, bob;
VACUUM ANALYZE t, u;
});

sub workers
{
	return $node->safe_psql('postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_migrate job'");
}

# Seconds until no job worker is left (or the timeout).
sub seconds_until_no_workers
{
	my ($timeout) = @_;
	my $t0 = time();
	while (time() - $t0 < $timeout)
	{
		return time() - $t0 if workers() eq '0';
		usleep(20_000);
	}
	return time() - $t0;
}

# --- a pause or a cancel wakes the workers sleeping between batches
# Two jobs of one role, ten rows per batch and 8 s between batches (short
# enough to be slept in the worker), take both workers and sleep after
# their first batch.  A first batch changes five rows: the odd keys of its
# ten, the first of their two passes (README.md, "Two passes per range").
my @ids = map {
	$node->safe_psql('postgres',
		"SET ROLE alice; SELECT migrate_batch_update('t', 'n = n + 1', batch_size => 10, pause => '8s')")
} 1 .. 2;
ok(wait_rows_done($node, 'postgres', $_, 5), "pause 8 s: job $_ ran its first batch") for @ids;
is(workers(), '2', 'pause 8 s: both workers taken');
my $queued = $node->safe_psql('postgres',
	"SET ROLE bob; SELECT migrate_batch_update('u', 'n = n + 1')");
usleep(500_000);
is($node->safe_psql('postgres', "SELECT state FROM migrate_jobs WHERE id = $queued"), 'queued',
	'pause 8 s: the next job waits for a worker');

is($node->safe_psql('postgres', "SET ROLE alice; SELECT migrate_job_cancel($ids[0])"), 'cancelled',
	'cancel: returns cancelled');
is($node->safe_psql('postgres', "SET ROLE alice; SELECT migrate_job_pause($ids[1])"), 'paused',
	'pause: returns paused');
# The two sleeping workers leave; the queued job gets a worker and ends.
my $secs = seconds_until_no_workers(30);
note(sprintf('workers left %.2f s after the cancel and the pause', $secs));
cmp_ok($secs, '<', 2, 'cancel and pause: the sleeping workers leave within 2 s');
is(wait_job_state($node, 'postgres', $queued, 'done|failed', 30), 'done',
	'cancel and pause: the queued job ran in the freed slot');
is($node->safe_psql('postgres', "SELECT state, rows_done FROM migrate_jobs WHERE id IN ($ids[0], $ids[1]) ORDER BY id"),
	"cancelled|5\npaused|5", 'cancel and pause: one batch each, nothing after');

# --- a long pause is waited out without a worker
# pauses of 10 s and more: the worker leaves after its batch, the job stays
# running, the next batch runs when the pause is over.
$node->safe_psql('postgres', 'UPDATE t SET n = 0');
my @long = map {
	$node->safe_psql('postgres',
		"SET ROLE alice; SELECT migrate_batch_update('t', 'n = n + 1', batch_size => 10, pause => '$_')")
} ('1 hour', '1 hour', '12s');
ok(wait_rows_done($node, 'postgres', $_, 5), "long pause: job $_ ran its first batch") for @long;
my $t0 = time();
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'pg_migrate job'"),
	'long pause: no worker sleeps through it');
is($node->safe_psql('postgres', "SELECT string_agg(state, ',' ORDER BY id) FROM migrate_jobs WHERE id IN (@{[join ',', @long]})"),
	'running,running,running', 'long pause: the jobs are still running');
$queued = $node->safe_psql('postgres',
	"SET ROLE bob; SELECT migrate_batch_update('u', 'n = n + 1')");
is(wait_job_state($node, 'postgres', $queued, 'done|failed', 30), 'done',
	'long pause: another role\'s job runs meanwhile');
ok(wait_rows_done($node, 'postgres', $long[2], 6), 'long pause: the next batch runs when the pause is over');
my $waited = time() - $t0;
note(sprintf('second batch of the 12 s job %.1f s after its worker left', $waited));
cmp_ok($waited, '>=', 9, 'long pause: not before its time');
is($node->safe_psql('postgres', "SELECT string_agg(rows_done::text, ',' ORDER BY id) FROM migrate_jobs WHERE id IN ($long[0], $long[1])"),
	'5,5', 'long pause: the one-hour jobs wait');
$node->safe_psql('postgres', "SELECT migrate_job_cancel(id) FROM unnest(ARRAY[@{[join ',', @long]}]) id");

# --- round robin over the submitters
$node->safe_psql('postgres', 'UPDATE t SET n = 0; UPDATE u SET n = 0');
# alice queues 300 one-row jobs; bob then submits one.  In submission
# order, bob's job would start after all of alice's.
$node->safe_psql('postgres', q{
SET ROLE alice;
SELECT count(migrate_batch_update('t', 'n = n + 1', 'id = ' || g)) FROM generate_series(1, 300) g;
});
my $bob = $node->safe_psql('postgres',
	"SET ROLE bob; SELECT migrate_batch_update('u', 'n = n + 1', 'id = 1')");
is(wait_job_state($node, 'postgres', $bob, 'done|failed', 120), 'done', 'round robin: bob\'s job done');
my ($wait, $ahead) = split /\|/, $node->safe_psql('postgres', qq{
SELECT round(extract(epoch FROM b.started_at - b.submitted_at)::numeric, 2),
       (SELECT count(*) FROM migrate_jobs a
         WHERE a.owner = 'alice'::regrole AND a.started_at > b.submitted_at
           AND a.started_at < b.started_at)
  FROM migrate_jobs b WHERE b.id = $bob});
note("bob's job started ${wait} s after its submission; $ahead of alice's 300 jobs started in between");
cmp_ok($ahead, '<=', 10, 'round robin: a few of alice\'s jobs start before bob\'s, not the rest of the 300');
cmp_ok($wait, '<', 5, 'round robin: bob\'s job starts within 5 s');
$node->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM migrate_jobs WHERE state IN ('queued', 'running')")
  or die 'alice\'s jobs did not finish';
is($node->safe_psql('postgres', 'SELECT count(*) FROM t WHERE n = 1 AND id <= 300'), '300',
	'round robin: every one of alice\'s jobs ran once');

# --- pg_migrate.max_workers_per_role
$node->append_conf('postgresql.conf', 'pg_migrate.max_workers_per_role = 1');
$node->reload;
$node->poll_query_until('postgres', "SELECT current_setting('pg_migrate.max_workers_per_role') = '1'")
  or die 'setting not reloaded';
my @slow = map {
	$node->safe_psql('postgres',
		"SET ROLE alice; SELECT migrate_batch_update('t', 'n = n + 1', batch_size => 10, pause => '8s')")
} 1 .. 2;
ok(wait_rows_done($node, 'postgres', $slow[0], 5), 'per role: alice\'s first job runs');
sleep 1;
is($node->safe_psql('postgres', "SELECT state FROM migrate_jobs WHERE id = $slow[1]"), 'queued',
	'per role: alice\'s second job waits although a worker is free');
is(workers(), '1', 'per role: one worker for alice');
$bob = $node->safe_psql('postgres',
	"SET ROLE bob; SELECT migrate_batch_update('u', 'n = n + 1', batch_size => 10, pause => '8s')");
ok(wait_rows_done($node, 'postgres', $bob, 5), 'per role: bob\'s job takes the free worker');
is($node->safe_psql('postgres', "SELECT state FROM migrate_jobs WHERE id = $slow[1]"), 'queued',
	'per role: alice\'s second job still waits');
$node->safe_psql('postgres', "SELECT migrate_job_cancel(id) FROM migrate_jobs WHERE id IN ($slow[0], $bob)");
ok(wait_rows_done($node, 'postgres', $slow[1], 5), 'per role: alice\'s second job runs once her first stops');
$node->safe_psql('postgres', "SELECT migrate_job_cancel($slow[1])");
ok(wait_job_state($node, 'postgres', $slow[1], 'cancelled', 30), 'per role: cleaned up');

$node->stop;
done_testing();
