# A worker whose slice is done takes over half of what another slice of the
# same job has left, instead of exiting while that slice runs alone.  The
# slices of a parallel job start with even row counts, but one of them can
# be slower (the application's writes in its key range, a trigger that
# costs more for some rows, a worker with less of the CPU): without the
# take-over the job lasts as long as its slowest slice.
#
# What proves it from outside: the fast slice's rows_done in
# migrate_job_slice is more than its own share, and every row is changed
# exactly once (n = n + 1 counts the changes), with the key of one column
# or of two, with two or three slices, and with a WHERE clause.  A
# take-over that cannot lock the other slice in time (its batch waits for
# the application) gives up: the worker exits, as it did before take-overs,
# and the other slice does the rest alone.  A slice's batch that waits for
# the application holds no lock on the job's row, which every slice needs
# to start and to end.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmJobs;

my $node = pgm_node('takeover');
$node->append_conf('postgresql.conf', q{
log_min_messages = debug1
pg_migrate.batch_target = '100ms'
pg_migrate.batch_lock_timeout = '60s'
});
$node->restart;

# Rows above $slow_from cost a millisecond each to update: the slice that
# holds them is many times slower than the others.
$node->safe_psql('postgres', q{
CREATE EXTENSION pg_migrate;
CREATE FUNCTION slow_upper() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id > TG_ARGV[0]::int THEN
        PERFORM pg_sleep(0.001);
    END IF;
    RETURN NEW;
END
$$;
CREATE TABLE t1 (id int PRIMARY KEY, n int NOT NULL DEFAULT 0);
INSERT INTO t1 SELECT g FROM generate_series(1, 8000) g;
CREATE TRIGGER slow BEFORE UPDATE ON t1 FOR EACH ROW EXECUTE FUNCTION slow_upper(4000);
CREATE TABLE t2 (id int, tag text, n int NOT NULL DEFAULT 0, PRIMARY KEY (id, tag));
INSERT INTO t2 SELECT g / 2, 'k' || (g % 2), 0 FROM generate_series(0, 7999) g;
CREATE TRIGGER slow BEFORE UPDATE ON t2 FOR EACH ROW EXECUTE FUNCTION slow_upper(2000);
CREATE TABLE t3 (id int PRIMARY KEY, n int NOT NULL DEFAULT 0);
INSERT INTO t3 SELECT g FROM generate_series(1, 9000) g;
CREATE TRIGGER slow BEFORE UPDATE ON t3 FOR EACH ROW EXECUTE FUNCTION slow_upper(6000);
CREATE TABLE t4 (id int PRIMARY KEY, n int NOT NULL DEFAULT 0);
INSERT INTO t4 SELECT g FROM generate_series(1, 8000) g;
CREATE TRIGGER slow BEFORE UPDATE ON t4 FOR EACH ROW EXECUTE FUNCTION slow_upper(4000);
CREATE TABLE t5 (id int PRIMARY KEY, n int NOT NULL DEFAULT 0);
INSERT INTO t5 SELECT g FROM generate_series(1, 8000) g;
CREATE TABLE t6 (id int PRIMARY KEY, n int NOT NULL DEFAULT 0);
INSERT INTO t6 SELECT g FROM generate_series(1, 8000) g;
VACUUM ANALYZE t1, t2, t3, t4, t5, t6;
});

# Run a job to its end; returns the rows done by each slice, in order, and
# leaves the longest batch seen in $longest.
my $longest;
sub run_job
{
	my ($label, $submit) = @_;
	my $id = $node->safe_psql('postgres', "SELECT $submit");
	($longest) = longest_batch($node, 'postgres', $id);
	is(wait_job_state($node, 'postgres', $id, 'done|failed'), 'done', "$label: the job is done");
	return split /\n/, $node->safe_psql('postgres', qq{
SELECT rows_done FROM migrate_job_slice WHERE job_id = $id ORDER BY slice});
}

# One integer key, two slices: slice 0 (ids up to 4000) is fast.
my $offset = -s $node->logfile;
my @done = run_job('one key, two slices',
	"migrate_batch_update('t1', 'n = n + 1', batch_size => 200, parallel => 2)");
is(scalar(@done), 2, 'one key, two slices: two slices');
cmp_ok($done[0], '>', 4200, "one key, two slices: the fast slice did $done[0] rows, more than its 4000");
is($done[0] + $done[1], 8000, 'one key, two slices: 8000 rows done in all');
is($node->safe_psql('postgres', 'SELECT count(*) FILTER (WHERE n = 1) || \'/\' || count(*) FROM t1'),
	'8000/8000', 'one key, two slices: every row changed exactly once');
ok($node->log_contains(qr/slice 0: took over \d+ of the rows left to slice 1/, $offset),
	'one key, two slices: the take-over is logged at DEBUG1');
# The fast slice's batches grew to thousands of its cheap rows; it goes on
# with the slow slice's batch size, not with one of those.
cmp_ok($longest, '<', 500,
	sprintf('one key, two slices: the longest batch took %.0f ms, under 5 times the target', $longest));

# A key of two columns, an integer and a text: the split key is compared
# as a row, like the batches' ranges.
@done = run_job('two-column key',
	"migrate_batch_update('t2', 'n = n + 1', batch_size => 200, parallel => 2)");
cmp_ok($done[0], '>', 4200, "two-column key: the fast slice did $done[0] rows, more than its 4000");
is($node->safe_psql('postgres', 'SELECT count(*) FILTER (WHERE n = 1) || \'/\' || count(*) FROM t2'),
	'8000/8000', 'two-column key: every row changed exactly once');

# Three slices, the last one slow: both others take over parts of it, and
# of each other's take-overs.
@done = run_job('three slices',
	"migrate_batch_update('t3', 'n = n + 1', batch_size => 200, parallel => 3)");
is(scalar(@done), 3, 'three slices: three slices');
cmp_ok($done[0] + $done[1], '>', 6300,
	"three slices: the two fast slices did $done[0] + $done[1] rows, more than their 6000");
is($node->safe_psql('postgres', 'SELECT count(*) FILTER (WHERE n = 1) || \'/\' || count(*) FROM t3'),
	'9000/9000', 'three slices: every row changed exactly once');

# A WHERE clause: the ranges are split by keys, the rows it selects are
# still each changed once and the others never.
@done = run_job('WHERE clause',
	"migrate_batch_update('t4', 'n = n + 1', where_clause => 'id % 2 = 0', batch_size => 200, parallel => 2)");
cmp_ok($done[0], '>', 2100, "WHERE clause: the fast slice did $done[0] rows, more than its 2000");
is($node->safe_psql('postgres', q{
SELECT count(*) FILTER (WHERE n = 1 AND id % 2 = 0) || '/' || count(*) FILTER (WHERE n = 0 AND id % 2 = 1)
  FROM t4}),
	'4000/4000', 'WHERE clause: every selected row changed once, no other row changed');

# The application holds a row of each slice's first batch: both batches
# wait.  The first of them used to mark the job running in its own batch,
# and kept the job's row locked while it waited: the other slice's first
# batch, and any slice's end, queued behind it.  Now the job's row is
# free: it can be locked without waiting.
my $app = $node->background_psql('postgres', on_error_stop => 0);
$app->query_safe('BEGIN; SELECT FROM t6 WHERE id IN (100, 4100) FOR UPDATE;');
my $id = $node->safe_psql('postgres',
	"SELECT migrate_batch_update('t6', 'n = n + 1', batch_size => 200, parallel => 2)");
ok($node->poll_query_until('postgres', q{
SELECT count(*) = 2 FROM pg_stat_activity
 WHERE backend_type = 'pg_migrate job' AND wait_event_type = 'Lock'}),
	'blocked batches: both slices wait');
my ($ret, $out, $err) = $node->psql('postgres', qq{
BEGIN;
SELECT state FROM migrate_job_state WHERE id = $id FOR UPDATE NOWAIT;
ROLLBACK;});
is("$ret $out", '0 running', 'blocked batches: the job is running and its row is not locked');
$app->query_safe('COMMIT');
$app->quit;
is(wait_job_state($node, 'postgres', $id, 'done|failed'), 'done', 'blocked batches: the job is done');
is($node->safe_psql('postgres', 'SELECT count(*) FILTER (WHERE n = 1) || \'/\' || count(*) FROM t6'),
	'8000/8000', 'blocked batches: every row changed exactly once');

# The application holds a row of slice 1's first batch (slice 0 ends at
# the key at offset 4000, 4001; slice 1 starts above it): slice 1's batch
# waits for it (up to batch_lock_timeout, 60 s here) while it holds its
# slice's row.  Another session holds slice 0's last row until both
# slices wait, so that slice 0 cannot end (and take over) before slice 1's
# batch has begun.  Then slice 0 finishes its range, tries to take over,
# waits for slice 1's row as long as its own lock_timeout (5 x
# batch_target, at least 1 s), gives up and exits.  Once the application
# commits, slice 1 does its whole range and nothing else.
$app = $node->background_psql('postgres', on_error_stop => 0);
$app->query_safe('BEGIN; SELECT FROM t5 WHERE id = 4100 FOR UPDATE;');
my $app0 = $node->background_psql('postgres', on_error_stop => 0);
$app0->query_safe('BEGIN; SELECT FROM t5 WHERE id = 4001 FOR UPDATE;');
$offset = -s $node->logfile;
$id = $node->safe_psql('postgres',
	"SELECT migrate_batch_update('t5', 'n = n + 1', batch_size => 200, parallel => 2)");
ok($node->poll_query_until('postgres', q{
SELECT count(*) = 2 FROM pg_stat_activity
 WHERE backend_type = 'pg_migrate job' AND wait_event_type = 'Lock'}),
	'lock timeout: both slices wait for the application');
$app0->query_safe('COMMIT');
$app0->quit;
$node->wait_for_log(
	qr/background job $id slice 0: could not take over rows of another slice: canceling statement due to lock timeout/,
	$offset);
pass('lock timeout: the take-over gives up, with the reason in the log');
is($node->safe_psql('postgres', qq{
SELECT j.state || ' ' || string_agg(s.done::text, ',' ORDER BY s.slice)
  FROM migrate_jobs j JOIN migrate_job_slice s ON s.job_id = j.id WHERE j.id = $id GROUP BY j.state}),
	'running true,false', 'lock timeout: the job runs on, slice 1 not done');
ok($node->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'pg_migrate job'"),
	'lock timeout: the worker of slice 0 exits, the one of slice 1 waits on');
$app->query_safe('COMMIT');
$app->quit;
is(wait_job_state($node, 'postgres', $id, 'done|failed'), 'done', 'lock timeout: the job is done');
is($node->safe_psql('postgres', qq{
SELECT string_agg(rows_done::text, ',' ORDER BY slice) FROM migrate_job_slice WHERE job_id = $id}),
	'4001,3999', 'lock timeout: each slice did its own range, no more');
is($node->safe_psql('postgres', 'SELECT count(*) FILTER (WHERE n = 1) || \'/\' || count(*) FROM t5'),
	'8000/8000', 'lock timeout: every row changed exactly once');
ok(!$node->log_contains(qr/job $id slice \d: took over/, $offset),
	'lock timeout: no take-over is logged');

ok(!$node->log_contains('terminated by signal|was terminated by exception'), 'no crash in the log');
$node->stop;
done_testing();
