# Crash safety of background jobs: whatever kills the worker (kill -9, an
# immediate shutdown, pg_terminate_backend), the job resumes where its last
# committed batch left off, and every row is updated exactly once.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmJobs;

my $node = pgm_node('crash');
$node->append_conf('postgresql.conf', "pg_migrate.batch_target = '10ms'");
$node->reload;

$node->safe_psql('postgres', q{
CREATE EXTENSION pg_migrate;
CREATE TABLE t (id int PRIMARY KEY, n int NOT NULL DEFAULT 0);
INSERT INTO t SELECT g FROM generate_series(1, 300000) g;
VACUUM ANALYZE t;
});

# A slow job: small batches with a pause between them.
sub submit
{
	return $node->safe_psql('postgres',
		"SELECT migrate_batch_update('t', 'n = n + 1', batch_size => 2000, pause => '50ms')");
}

sub check_exactly_once
{
	my ($id, $what) = @_;
	is(wait_job_state($node, 'postgres', $id, 'done|failed'), 'done', "$what: job done");
	is($node->safe_psql('postgres', 'SELECT n, count(*) FROM t GROUP BY n'),
		'1|300000', "$what: every row updated exactly once");
	is($node->safe_psql('postgres', "SELECT rows_done FROM migrate_jobs WHERE id = $id"),
		'300000', "$what: progress counts every row once");
	$node->safe_psql('postgres', 'UPDATE t SET n = 0');
}

# kill -9 of the worker: the postmaster restarts everything, the launcher
# finds the interrupted job and resumes it.
my $id = submit();
ok(wait_rows_done($node, 'postgres', $id, 20000), 'kill -9: job under way');
my ($pid) = job_worker_pids($node);
ok($pid, 'kill -9: worker visible in pg_stat_activity as "pg_migrate job"');
like($node->safe_psql('postgres', "SELECT query FROM pg_stat_activity WHERE pid = $pid"),
	qr/pg_migrate job $id slice 0: (?:batch \d+|yielding up to \d+ ms)/, 'kill -9: activity names the job and its batch (or its pause)');
kill_and_wait_restart($node, $pid);
my $done_at_kill = $node->safe_psql('postgres', "SELECT rows_done FROM migrate_jobs WHERE id = $id");
cmp_ok($done_at_kill, '<', 300000, 'kill -9: job interrupted before the end');
# Each batch runs the second pass of the range before its own: every
# committed state has one pending, which the resumed job must run once.
is($node->safe_psql('postgres', "SELECT pass2_open FROM migrate_job_slice WHERE job_id = $id"),
	't', 'kill -9: interrupted with the second pass of a range pending');
check_exactly_once($id, 'kill -9');

# Immediate shutdown in the middle of the job, then a clean start.
$id = submit();
ok(wait_rows_done($node, 'postgres', $id, 20000), 'immediate shutdown: job under way');
$node->stop('immediate');
$node->start;
check_exactly_once($id, 'immediate shutdown');

# pg_terminate_backend: the job resumes after pg_migrate.restart_delay.
$id = submit();
ok(wait_rows_done($node, 'postgres', $id, 20000), 'terminate: job under way');
($pid) = job_worker_pids($node);
ok($node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)") eq 't', 'terminate: signalled');
check_exactly_once($id, 'pg_terminate_backend');

# A clean restart in the middle of the job.
$id = submit();
ok(wait_rows_done($node, 'postgres', $id, 20000), 'restart: job under way');
$node->restart;
check_exactly_once($id, 'clean restart');

# A table without a usable key goes by ctid ranges.  The first half of the
# table is full and the second half has room, so the batches over the first
# half move rows into blocks the job has yet to visit: a moved row must not
# be updated a second time.
$node->safe_psql('postgres', q{
CREATE TABLE nokey (x int, n int NOT NULL DEFAULT 0)
    WITH (fillfactor = 100, autovacuum_enabled = off);
INSERT INTO nokey SELECT g FROM generate_series(1, 100000) g;
DELETE FROM nokey WHERE x > 50000 AND x % 2 = 0;
VACUUM ANALYZE nokey;
});
$id = $node->safe_psql('postgres',
	"SELECT migrate_batch_update('nokey', 'n = n + 1', batch_size => 1000)");
is(wait_job_state($node, 'postgres', $id, 'done|failed'), 'done', 'ctid: job done');
is($node->safe_psql('postgres', 'SELECT n, count(*) FROM nokey GROUP BY n'),
	'1|75000', 'ctid: every row updated exactly once, moved rows included');
is($node->safe_psql('postgres', "SELECT key_mode FROM migrate_jobs WHERE id = $id"),
	'ctid', 'ctid: ran in ctid mode');

$node->stop;
done_testing();
