# How a backfill batch reads its key range, and what it tells the
# statistics while it runs.
#
# - A batch reads its range with a bitmap scan of the key's index, each heap
#   page once in the heap's order, not with a plain index scan that visits
#   the heap row by row (jobs/batchscan.c).  What proves it from outside:
#   a plain index scan counts the rows it fetches in the index's
#   pg_stat_user_indexes.idx_tup_fetch, a bitmap scan does not, while both
#   count the index entries they read in idx_tup_read.  Before the change a
#   200,000-row backfill fetched 200,000 rows through the primary key.
# - A session's own plans are not affected: the hook is armed by the batch
#   runner only.
# - The batches' updated and dead rows reach the cumulative statistics while
#   the worker runs (autovacuum reads them there), not only when it exits.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use PgmJobs;

my $node = pgm_node('batch_scan');
$node->safe_psql('postgres', q{
CREATE EXTENSION pg_migrate;
CREATE TABLE t (id bigint PRIMARY KEY, a int NOT NULL, c int);
INSERT INTO t SELECT g, g % 1000, NULL FROM generate_series(1, 200000) g;
CREATE TABLE t2 (a int, b int, n int NOT NULL DEFAULT 0, PRIMARY KEY (a, b));
INSERT INTO t2 SELECT g / 100, g % 100 FROM generate_series(1, 100000) g;
CREATE TABLE t3 (id int PRIMARY KEY, n int NOT NULL DEFAULT 0);
INSERT INTO t3 SELECT g FROM generate_series(1, 20000) g;
VACUUM ANALYZE t, t2, t3;
});

# The counters of one index once the job's worker has exited (a worker's
# last figures reach the statistics when it exits).
sub index_counters
{
	my ($index) = @_;
	$node->poll_query_until('postgres', q{
SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'pg_migrate job'});
	return $node->safe_psql('postgres', qq{
SELECT idx_tup_read || ' ' || idx_tup_fetch FROM pg_stat_user_indexes
 WHERE indexrelid = '$index'::regclass});
}

# --- one key column
my $id = $node->safe_psql('postgres',
	"SELECT migrate_batch_update('t', 'c = a + 1', batch_size => 5000)");
is(wait_job_state($node, 'postgres', $id, 'done|failed'), 'done', 'bigint key: the job finishes');
is($node->safe_psql('postgres', 'SELECT count(*) FILTER (WHERE c = a + 1) FROM t'), '200000',
	'bigint key: every row backfilled');
my ($read, $fetched) = split / /, index_counters('t_pkey');
cmp_ok($read, '>=', 200000, "bigint key: the batches read the key's index ($read entries)");
cmp_ok($fetched, '<', 20000,
	"bigint key: no row fetched by a plain index scan ($fetched fetched, 200000 rows)");

# --- a key of two columns (row comparisons as index conditions)
$id = $node->safe_psql('postgres',
	"SELECT migrate_batch_update('t2', 'n = n + 1', batch_size => 4000)");
is(wait_job_state($node, 'postgres', $id, 'done|failed'), 'done', 'two-column key: the job finishes');
is($node->safe_psql('postgres', 'SELECT count(*) FILTER (WHERE n = 1) || \'/\' || count(*) FROM t2'),
	'100000/100000', 'two-column key: every row updated once');
($read, $fetched) = split / /, index_counters('t2_pkey');
cmp_ok($read, '>=', 100000, "two-column key: the batches read the key's index ($read entries)");
cmp_ok($fetched, '<', 10000,
	"two-column key: no row fetched by a plain index scan ($fetched fetched, 100000 rows)");

# --- a session's plans are the planner's own
like($node->safe_psql('postgres',
		'EXPLAIN (COSTS OFF) UPDATE t SET c = 0 WHERE id > 100 AND id <= 200'),
	qr/Index Scan using t_pkey/, 'a session: its range UPDATE keeps its index scan');

# --- the statistics see the batches while the worker runs
my $upd0 = $node->safe_psql('postgres',
	"SELECT n_tup_upd FROM pg_stat_user_tables WHERE relid = 't3'::regclass");
$id = $node->safe_psql('postgres',
	"SELECT migrate_batch_update('t3', 'n = n + 1', batch_size => 1000, pause => '5s')");
ok(wait_rows_done($node, 'postgres', $id, 1000), 'running job: a first batch committed');
ok($node->poll_query_until('postgres', qq{
SELECT n_tup_upd - $upd0 >= 1000 AND n_dead_tup >= 1000
  FROM pg_stat_user_tables WHERE relid = 't3'::regclass}),
	'running job: its updated and dead rows are in pg_stat_user_tables');
is($node->safe_psql('postgres', qq{
SELECT state || ' ' || (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_migrate job')
  FROM migrate_jobs WHERE id = $id}), 'running 1',
	'running job: seen while its worker still runs (between batches)');
$node->safe_psql('postgres', "SELECT migrate_job_cancel($id)");
is(wait_job_state($node, 'postgres', $id, 'cancelled'), 'cancelled', 'running job: cancelled');

ok(!$node->log_contains('terminated by signal|was terminated by exception'), 'no crash in the log');
$node->stop;
done_testing();
