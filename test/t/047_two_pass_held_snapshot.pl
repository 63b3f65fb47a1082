# A backfill in two passes (README.md, "Two passes per range") whose second
# passes cannot prune, because a snapshot holds back cleanup, goes on in
# one pass per range, and in two again once the snapshot is gone; either
# way every row is changed exactly once.  What proves it from outside: the
# DEBUG1 lines of the switch, and what the first batch changed.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmJobs;

my $node = pgm_node('held_snapshot');
$node->append_conf('postgresql.conf', q{
log_min_messages = debug1
pg_migrate.batch_target = '10ms'
});
$node->restart;
$node->safe_psql('postgres', q{
CREATE EXTENSION pg_migrate;
-- no autoanalyze either: its snapshot would hold back cleanup too
CREATE TABLE t (id int PRIMARY KEY, n int NOT NULL DEFAULT 0)
    WITH (autovacuum_enabled = off);
INSERT INTO t SELECT g FROM generate_series(1, 20000) g;
VACUUM ANALYZE t;
});

sub run_job
{
	my ($label) = @_;
	my $offset = -s $node->logfile;
	my $id = $node->safe_psql('postgres',
		"SELECT migrate_batch_update('t', 'n = n + 1', batch_size => 100, pause => '20ms')");
	is(wait_job_state($node, 'postgres', $id, 'done|failed'), 'done', "$label: the job is done");
	is($node->safe_psql('postgres', 'SELECT n, count(*) FROM t GROUP BY n'), '1|20000',
		"$label: every row changed exactly once");
	$node->safe_psql('postgres', 'UPDATE t SET n = 0');
	return slurp_file($node->logfile, $offset);
}

# A REPEATABLE READ transaction that has taken its snapshot, left open.
my $holder = $node->background_psql('postgres');
$holder->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ');
$holder->query_safe('SELECT count(*) FROM t');
my $log = run_job('snapshot held');
like($log, qr/background job \d+ slice 0: a snapshot holds back cleanup: one pass per range/,
	'snapshot held: the job goes on in one pass per range');

$holder->query_safe('COMMIT');
$holder->quit;
$log = run_job('snapshot gone');
unlike($log, qr/a snapshot holds back cleanup/, 'snapshot gone: two passes throughout');
like($log, qr/batch \d+ ran second passes only/, 'snapshot gone: the last range has its second pass');

ok(!$node->log_contains('terminated by signal|was terminated by exception'), 'no crash in the log');
$node->stop;
done_testing();
