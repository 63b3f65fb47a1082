# A batch that an application write had to wait for makes the next batches
# aim at half of pg_migrate.batch_target: the size chosen after a first
# batch is the one whose two passes would take the target (kept within
# half and double, and not above the first size before a second pass was
# measured), with the whole target when nobody waited and half of it when
# somebody did.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use PgmJobs;

my $node = pgm_node('waiters');
# Long batches, and no pauses for the test's own sessions.
$node->append_conf('postgresql.conf', qq{
pg_migrate.batch_target = '1s'
pg_migrate.batch_yield = 0
});
$node->reload;
$node->safe_psql('postgres', q{
CREATE EXTENSION pg_migrate;
CREATE TABLE w (id int PRIMARY KEY, n int NOT NULL DEFAULT 0, m int NOT NULL DEFAULT 0);
INSERT INTO w SELECT g FROM generate_series(1, 20000) g;
VACUUM ANALYZE w;
});

# The size the job chose for its second batch and how long its first batch
# of 300 rows took: the first of its two passes, the 150 odd keys, three
# milliseconds or more each.
sub size_after_first_batch
{
	my ($with_writer) = @_;
	my $id = $node->safe_psql('postgres', q{
SELECT migrate_batch_update('w',
    'n = n + 1 + pg_catalog.length(pg_catalog.pg_sleep(0.003)::text)',
    batch_size => 300, pause => '30s')});
	ok($node->poll_query_until('postgres', qq{
SELECT count(*) = 1 FROM pg_stat_activity
 WHERE application_name = 'pg_migrate job $id' AND query LIKE '%batch 1 %'}),
		"job $id: first batch under way");
	my $writer;
	if ($with_writer)
	{
		# Row 1 is the first of the batch's first pass: it is locked by now.
		usleep(300_000);
		$writer = $node->background_psql('postgres');
		$writer->query_until(qr/sent/, "\\echo sent\nUPDATE w SET m = m + 1 WHERE id = 1;\n");
		ok($node->poll_query_until('postgres', q{
SELECT count(*) = 1 FROM pg_stat_activity
 WHERE query LIKE 'UPDATE w SET m%' AND wait_event_type = 'Lock'}),
			"job $id: a write waits for the batch");
	}
	ok($node->poll_query_until('postgres', "SELECT batches >= 1 FROM migrate_jobs WHERE id = $id"),
		"job $id: first batch committed");
	my ($size, $ms) = split /\|/, $node->safe_psql('postgres',
		"SELECT batch_size, last_batch_ms FROM migrate_job_slice WHERE job_id = $id");
	$node->safe_psql('postgres', "SELECT migrate_job_cancel($id)");
	$writer->quit if $writer;
	$node->safe_psql('postgres', 'UPDATE w SET n = 0');
	return ($size, $ms);
}

# What the job should choose after a first batch of 300 rows that took $ms
# milliseconds, aiming at $target milliseconds.  That batch was the first
# pass of its range, and the second is taken to cost as much: the range's
# 300 rows cost 2 * $ms.  No second pass has been measured yet, so the
# size does not grow.
sub expected
{
	my ($target, $ms) = @_;
	my $factor = $target / (2 * $ms);
	$factor = 1 if $factor > 1;
	$factor = 0.5 if $factor < 0.5;
	return int(300 * $factor + 0.5);
}

my ($alone, $alone_ms) = size_after_first_batch(0);
my ($waited, $waited_ms) = size_after_first_batch(1);
cmp_ok(abs($alone - expected(1000, $alone_ms)), '<=', 1,
	sprintf('nobody waited: the whole target (%d rows after %.0f ms)', $alone, $alone_ms));
cmp_ok(abs($waited - expected(500, $waited_ms)), '<=', 1,
	sprintf('a write waited: half the target (%d rows after %.0f ms)', $waited, $waited_ms));
isnt(expected(500, $waited_ms), expected(1000, $waited_ms),
	'the two targets give different sizes for that batch (the check above can fail)');
is($node->safe_psql('postgres', 'SELECT m FROM w WHERE id = 1'), '1', 'the write went through');

done_testing();
