# Where a backfill batch ends: for a key of one column, found by walking
# the key's btree index (jobs/batchend.c) instead of an OFFSET query, when
# the index orders the key as the batch statement compares it.
#
# What proves it from outside: the walk logs each batch's end at DEBUG1,
# naming the index; every row the job can see is changed exactly once
# (n = n + 1 counts the changes) although the index holds entries the
# batches cannot see (deleted rows, an aborted insert, rows of a
# transaction still open); and the keys the walk does not serve (a
# collatable type, a table with row-level security, whose policies the
# OFFSET query applies, and two columns) keep the OFFSET query.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmJobs;

my $node = pgm_node('batch_end');
$node->append_conf('postgresql.conf', q{
log_min_messages = debug1
});
$node->restart;

$node->safe_psql('postgres', q{
CREATE EXTENSION pg_migrate;
CREATE TABLE t (id bigint PRIMARY KEY, n int NOT NULL DEFAULT 0);
INSERT INTO t SELECT g FROM generate_series(1, 20000) g;
CREATE TABLE u (id uuid PRIMARY KEY, n int NOT NULL DEFAULT 0);
INSERT INTO u SELECT md5(g::text)::uuid FROM generate_series(1, 5000) g;
CREATE TABLE tx (id text PRIMARY KEY, n int NOT NULL DEFAULT 0);
INSERT INTO tx SELECT 'k' || g FROM generate_series(1, 5000) g;
CREATE TABLE r (id int PRIMARY KEY, n int NOT NULL DEFAULT 0);
INSERT INTO r SELECT g FROM generate_series(1, 5000) g;
ALTER TABLE r ENABLE ROW LEVEL SECURITY;
CREATE TABLE t2 (a int, b int, n int NOT NULL DEFAULT 0, PRIMARY KEY (a, b));
INSERT INTO t2 SELECT g / 10, g % 10 FROM generate_series(1, 5000) g;
-- index entries no batch can see: deleted rows and an aborted insert
DELETE FROM t WHERE id % 3 = 0 AND id BETWEEN 4000 AND 9000;
BEGIN;
INSERT INTO t SELECT g FROM generate_series(20001, 23000) g;
ROLLBACK;
ANALYZE t, u, tx, r, t2;
});

# Rows of a transaction still open, in the middle of the key range: in the
# index, not seen by any batch.
my $open = $node->background_psql('postgres');
$open->query_safe(
	'BEGIN; INSERT INTO t SELECT g FROM generate_series(6000, 9000, 3) g WHERE g % 3 = 0;');

# Run a job to its end; returns the walks logged for the table's index and
# the job's batches.
sub run_job
{
	my ($label, $table, $index, $batch) = @_;
	my $offset = -s $node->logfile;
	my $id = $node->safe_psql('postgres',
		"SELECT migrate_batch_update('$table', 'n = n + 1', batch_size => $batch)");
	is(wait_job_state($node, 'postgres', $id, 'done|failed'), 'done', "$label: the job is done");
	my $oid = $node->safe_psql('postgres', "SELECT '$index'::regclass::oid");
	my $log = slurp_file($node->logfile, $offset);
	my @walks = ($log =~ /batch end found by a walk of index $oid: \d+ entries/g);
	# A batch that runs only second passes (README.md, "Two passes per
	# range") has no range of its own to find the end of.
	my @second = ($log =~ /background job $id slice \d+: batch \d+ ran second passes only/g);
	my $batches = $node->safe_psql('postgres',
		"SELECT sum(batches) FROM migrate_job_slice WHERE job_id = $id");
	return (scalar(@walks), $batches - scalar(@second));
}

my ($walks, $batches) = run_job('bigint key', 't', 't_pkey', 1000);
cmp_ok($batches, '>=', 2, "bigint key: $batches batches");
is($walks, $batches, "bigint key: each batch's end is found in the index");
is($node->safe_psql('postgres', q{
SELECT count(*) FILTER (WHERE n = 1) || '/' || count(*) FROM t}),
	'18333/18333', 'bigint key: every row the job saw changed exactly once');
# The index now holds an entry of every row's old version too: the walk
# counts rows, not entries, so a batch still has batch_size rows.
my $again = $node->safe_psql('postgres',
	"SELECT migrate_batch_update('t', 'n = n + 1', batch_size => 500, pause => '1 hour')");
ok(wait_rows_done($node, 'postgres', $again, 1), 'dead entries: a first batch committed');
# Its range is keys 1 to 500; the first of its two passes changed the odd ones.
is($node->safe_psql('postgres', qq{
SELECT (SELECT next_key = ARRAY[int8send(500)] FROM migrate_job_slice WHERE job_id = $again)
       || ' ' || (SELECT rows_done FROM migrate_jobs WHERE id = $again)}),
	'true 250', 'dead entries: the first batch has its 500 rows');
$node->safe_psql('postgres', "SELECT migrate_job_cancel($again)");
$node->safe_psql('postgres', 'UPDATE t SET n = 1 WHERE n = 2');
$open->query_safe('COMMIT');
$open->quit;
is($node->safe_psql('postgres', q{
SELECT count(*) FROM t WHERE id BETWEEN 6000 AND 9000 AND id % 3 = 0 AND n = 0}),
	'1001', 'bigint key: the rows of the transaction that was open are untouched');
is($node->safe_psql('postgres', q{SELECT count(*) FROM t WHERE id > 20000}),
	'0', 'bigint key: the aborted insert left nothing');

($walks, $batches) = run_job('uuid key', 'u', 'u_pkey', 400);
cmp_ok($batches, '>=', 2, "uuid key: $batches batches");
is($walks, $batches, "uuid key: each batch's end is found in the index");
is($node->safe_psql('postgres', q{
SELECT count(*) FILTER (WHERE n = 1) || '/' || count(*) FROM u}),
	'5000/5000', 'uuid key: every row changed exactly once');

# Keys the walk leaves to the OFFSET query.
foreach my $case (
	[ 'text key (collatable)', 'tx', 'tx_pkey' ],
	[ 'row-level security', 'r', 'r_pkey' ],
	[ 'two-column key', 't2', 't2_pkey' ])
{
	my ($label, $table, $index) = @$case;
	($walks, $batches) = run_job($label, $table, $index, 400);
	is($walks, 0, "$label: no index walk in $batches batches");
	is($node->safe_psql('postgres', qq{
SELECT count(*) FILTER (WHERE n = 1) || '/' || count(*) FROM $table}),
		'5000/5000', "$label: every row changed exactly once");
}

ok(!$node->log_contains('terminated by signal|was terminated by exception'), 'no crash in the log');
$node->stop;
done_testing();
