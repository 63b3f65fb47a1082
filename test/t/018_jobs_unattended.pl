# A job left alone on an idle server runs at full speed: sessions that
# connected and exited before it (the submitting one among them) do not
# count as busy, so the worker never yields to them.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use PgmJobs;

my $node = pgm_node('unattended');
# A yield lasts a hundred times its batch: yielding after the batches of
# a job that works for half a second or more misses the deadline below by
# far, on a slow machine as on a fast one.  The postmaster logs each
# worker's end at DEBUG1, which tells when the job is over without
# connecting (a connected session running a query is busy, and rightly
# yielded to).
$node->append_conf('postgresql.conf', q{
pg_migrate.batch_yield = 100
log_min_messages = debug1
});
$node->restart;
$node->safe_psql('postgres', q{
CREATE EXTENSION pg_migrate;
CREATE TABLE t (id int PRIMARY KEY, n int NOT NULL DEFAULT 0);
INSERT INTO t SELECT g FROM generate_series(1, 200000) g;
VACUUM ANALYZE t;
});

# Several sessions at once, then none: their PGPROC slots keep the pid
# and the last wait event of a backend that has exited.
my @sessions = map { $node->background_psql('postgres') } 1 .. 4;
$_->query_safe('SELECT 1') for @sessions;
$_->quit for @sessions;

# Submitted by a session that disconnects at once; nobody watches.
my $offset = -s $node->logfile;
my $id = $node->safe_psql('postgres',
	"SELECT migrate_batch_update('t', 'n = n + 1', batch_size => 20000)");
my $exited = 0;
my $deadline = time() + 30;
while (time() < $deadline)
{
	my $log = slurp_file($node->logfile, $offset);
	if ($log =~ /unregistering background worker "pg_migrate job $id slice 0"/)
	{
		$exited = 1;
		last;
	}
	usleep(100_000);
}
ok($exited, 'unattended job: the worker is over within 30 seconds');

my ($state, $batches, $seconds) = split /\|/, $node->safe_psql('postgres', qq{
SELECT state, (SELECT count(*) FROM t WHERE n = 1) >= 200000,
       extract(epoch FROM finished_at - started_at)::int
  FROM migrate_jobs WHERE id = $id});
is($state, 'done', 'unattended job: done');
is($batches, 't', 'unattended job: every row updated once');
ok($seconds ne '' && $seconds < 30, "unattended job: finished $seconds s after it started");

# A yield ends when the busy session stops being busy, not when its
# longest length (pg_migrate.batch_yield times the last batch) is up: a
# monitoring query or a new connection, busy for a moment, costs a job a
# few 10 ms checks.  A session spins on the CPU until the worker yields to
# it and is then cancelled; the next batch must follow within a fraction
# of the yield's length.  Before, the worker slept out the whole yield
# after the session had gone (measured: next batch 4120 ms after the
# cancel, of a 4035 ms yield; since: 124 ms, of 5359 ms).  The job is watched from one
# session that stays connected and runs cheap queries (new connections
# would be busy sessions themselves).
# A session spinning on the CPU, a session watching, and a job submitted
# with pg_migrate.batch_yield = 100, once its worker is yielding to the
# spinning session.  Returns the two sessions, the job, the length of the
# yield and the job's rows done at that moment.
sub yielding_job
{
	$node->safe_psql('postgres', q{
UPDATE t SET n = 0;
ALTER SYSTEM SET pg_migrate.batch_yield = 100; SELECT pg_reload_conf()});
	my $spin = $node->background_psql('postgres', on_error_stop => 0);
	$spin->query_until(qr/spinning/,
		"\\echo spinning\nSELECT count(*) FROM generate_series(1, 3000000000) AS spin;\n");
	my $watch = $node->background_psql('postgres');
	my $id = $node->safe_psql('postgres',
		"SELECT migrate_batch_update('t', 'n = n + 1', batch_size => 10000)");
	my $yield_ms = 0;
	my $deadline = time() + 60;
	while (time() < $deadline)
	{
		my $q = $watch->query_safe(
			"SELECT query FROM pg_stat_activity WHERE backend_type = 'pg_migrate job'");
		if ($q =~ /yielding up to (\d+) ms/)
		{
			$yield_ms = $1;
			last;
		}
		usleep(5_000);
	}
	my $done0 = $watch->query_safe("SELECT rows_done FROM migrate_jobs WHERE id = $id");
	return ($spin, $watch, $id, $yield_ms, $done0);
}

my ($spin, $watch, $yield_ms, $done0);
($spin, $watch, $id, $yield_ms, $done0) = yielding_job();
$watch->query_safe(q{
SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE '%AS spin%' AND pid <> pg_backend_pid()});
my $t0 = time();
my $done1 = $done0;
while (time() < $t0 + 120 && $done1 == $done0)
{
	usleep(10_000);
	$done1 = $watch->query_safe("SELECT rows_done FROM migrate_jobs WHERE id = $id");
}
my $resumed_ms = (time() - $t0) * 1000;
eval { $spin->quit; };
$watch->quit;
cmp_ok($yield_ms, '>=', 500, "spinning session: the worker yields to it (for up to $yield_ms ms)");
cmp_ok($done1, '>', $done0, 'spinning session cancelled: the job goes on');
cmp_ok($resumed_ms, '<', $yield_ms / 3,
	sprintf('spinning session cancelled: next batch %.0f ms later, the yield could last %d ms',
		$resumed_ms, $yield_ms));
is(wait_job_state($node, 'postgres', $id, 'done|failed'), 'done', 'spinning session cancelled: the job finishes');

# A reload that sets pg_migrate.batch_yield = 0 ends a yield under way,
# though the session it yields to is still busy: the worker reads the
# reload while it yields, not only before its next decision.  Before, it
# slept out the yield it had begun with the old setting.
($spin, $watch, $id, $yield_ms, $done0) = yielding_job();
$watch->query_safe(q{
ALTER SYSTEM SET pg_migrate.batch_yield = 0; SELECT pg_reload_conf()});
$t0 = time();
$done1 = $done0;
while (time() < $t0 + 120 && $done1 == $done0)
{
	usleep(10_000);
	$done1 = $watch->query_safe("SELECT rows_done FROM migrate_jobs WHERE id = $id");
}
$resumed_ms = (time() - $t0) * 1000;
my $spinning = $watch->query_safe(
	"SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%AS spin%' AND state = 'active' AND pid <> pg_backend_pid()");
cmp_ok($yield_ms, '>=', 500, "batch_yield = 0 mid-yield: the worker was yielding (for up to $yield_ms ms)");
is($spinning, '1', 'batch_yield = 0 mid-yield: the busy session is still busy');
cmp_ok($resumed_ms, '<', $yield_ms / 3,
	sprintf('batch_yield = 0 mid-yield: next batch %.0f ms after the reload, the yield could last %d ms',
		$resumed_ms, $yield_ms));
is(wait_job_state($node, 'postgres', $id, 'done|failed'), 'done',
	'batch_yield = 0 mid-yield: the job finishes while the session is still busy');
is($watch->query_safe(
	"SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%AS spin%' AND state = 'active' AND pid <> pg_backend_pid()"),
	'1', 'batch_yield = 0 mid-yield: the session was busy to the end');
$watch->query_safe(q{
SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE '%AS spin%' AND pid <> pg_backend_pid()});
eval { $spin->quit; };
$watch->quit;

# A session that is really busy still gets its pauses (see 011 too).
$node->safe_psql('postgres', 'UPDATE t SET n = 0');
my $busy = $node->background_psql('postgres', on_error_stop => 0);
$busy->query_until(qr/busy/, "\\echo busy\nSELECT count(*) FROM generate_series(1, 3000000000);\n");
$node->safe_psql('postgres', q{
ALTER SYSTEM SET pg_migrate.batch_yield = 4; SELECT pg_reload_conf()});
$id = $node->safe_psql('postgres',
	"SELECT migrate_batch_update('t', 'n = n + 1', batch_size => 500)");
ok($node->poll_query_until('postgres', q{
SELECT count(*) > 0 FROM pg_stat_activity
 WHERE backend_type = 'pg_migrate job' AND query ~ 'yielding up to \d+ ms to busy sessions'}),
	'busy session: the worker yields between batches');
$node->safe_psql('postgres', q{
SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE 'SELECT count(*) FROM generate_series%'});
eval { $busy->quit; };
is(wait_job_state($node, 'postgres', $id, 'done|failed'), 'done', 'busy session: the job finishes');
ok(!$node->log_contains('terminated by signal|was terminated by exception'), 'no crash in the log');

$node->stop;
done_testing();
