# A backfill against concurrent writers of the same rows (pgbench): single
# row UPDATEs, two-row transactions locking in descending key order (the
# opposite of the batches), and DELETEs.  No update is lost, no deleted row
# comes back, and no writer fails: a batch never waits for a lock longer
# than pg_migrate.batch_lock_timeout (below deadlock_timeout), so when a
# batch and a writer wait for each other it is always the batch that gives
# way and is retried.
#
# This is a TAP test rather than an isolation spec: the batches run in a
# background worker on their own schedule, which isolationtester cannot
# step through.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmJobs;

my $node = pgm_node('writers');
$node->append_conf('postgresql.conf', qq{
pg_migrate.batch_target = '10ms'
pg_migrate.batch_lock_timeout = '200ms'
pg_migrate.batch_max_retries = 1000
deadlock_timeout = '1s'
});
$node->reload;
$node->safe_psql('postgres', q{
CREATE EXTENSION pg_migrate;
CREATE TABLE t (id int PRIMARY KEY, n int NOT NULL DEFAULT 0, m int NOT NULL DEFAULT 0);
INSERT INTO t SELECT g FROM generate_series(1, 200000) g;
CREATE TABLE ulog (id int NOT NULL);
CREATE TABLE dlog (id int NOT NULL);
});

my $id = $node->safe_psql('postgres',
	"SELECT migrate_batch_update('t', 'n = n + 1', batch_size => 2000, pause => '500ms', parallel => 2)");

$node->pgbench(
	'--no-vacuum --client=4 --jobs=2 --time=8',
	0,
	[qr{processed: [1-9]}],
	[qr{^$}],
	'concurrent writers: no writer fails',
	{
		'001_one_row' => q{
\set id random(1, 200000)
WITH u AS (UPDATE t SET m = m + 1 WHERE id = :id RETURNING id) INSERT INTO ulog SELECT id FROM u;
},
		'002_two_rows_descending' => q{
\set lo random(1, 199000)
\set hi :lo + random(1, 1000)
BEGIN;
WITH u AS (UPDATE t SET m = m + 1 WHERE id = :hi RETURNING id) INSERT INTO ulog SELECT id FROM u;
\sleep 20 ms
WITH u AS (UPDATE t SET m = m + 1 WHERE id = :lo RETURNING id) INSERT INTO ulog SELECT id FROM u;
COMMIT;
},
		'003_delete@1' => q{
\set id random(1, 200000)
WITH d AS (DELETE FROM t WHERE id = :id RETURNING id) INSERT INTO dlog SELECT id FROM d;
},
	});

is($node->safe_psql('postgres', "SELECT state FROM migrate_jobs WHERE id = $id"), 'running',
	'the backfill ran during the whole pgbench run');
is(wait_job_state($node, 'postgres', $id, 'done|failed'), 'done', 'the backfill completes');
is($node->safe_psql('postgres', 'SELECT count(*) FROM t WHERE n <> 1'), '0',
	'every remaining row was backfilled exactly once');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM t
	  LEFT JOIN (SELECT id, count(*) AS c FROM ulog GROUP BY id) u USING (id)
	 WHERE t.m <> COALESCE(u.c, 0)}), '0', 'no concurrent update was lost');
is($node->safe_psql('postgres', 'SELECT count(*) FROM t JOIN dlog USING (id)'), '0',
	'no deleted row came back');
is($node->safe_psql('postgres', 'SELECT (SELECT count(*) FROM t) + (SELECT count(*) FROM dlog)'),
	'200000', 'every row is either there or deleted once');
cmp_ok($node->safe_psql('postgres', 'SELECT count(*) FROM ulog'), '>', 1000,
	'the writers did run');
is($node->safe_psql('postgres',
	"SELECT rows_done BETWEEN (SELECT count(*) FROM t) AND 200000 FROM migrate_jobs WHERE id = $id"),
	't', 'progress counts the remaining rows, and deleted ones at most once');
ok(!$node->log_contains('deadlock detected'), 'no deadlock was ever detected');
my $log = slurp_file($node->logfile);
my $retried = () = $log =~ /batch retried/g;
diag("batches that gave way to a writer and were retried: $retried");

$node->stop;
done_testing();
