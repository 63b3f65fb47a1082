# The batches of a job in two passes (README.md, "Two passes per range")
# stay near pg_migrate.batch_target when one pass has next to nothing to
# do: here a where_clause selects even keys only, so every first pass
# changes no row and every second pass does all the work.  Sized on the
# whole batch's duration, such a job swung between half and twice the
# target, and with two slices, whose second passes wait for each other's
# batches, first passes that cost nothing doubled the size until one batch
# ran their second passes together at over ten times the target.  Now each
# pass's cost is measured apart.  What proves it from outside: the longest
# batch any slice recorded in migrate_job_slice.last_batch_ms, polled while
# the job runs, and every selected row changed exactly once.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmJobs;

my $target = 200;
my $node = pgm_node('two_pass_size');
$node->append_conf('postgresql.conf', qq{
pg_migrate.batch_target = '${target}ms'
pg_migrate.batch_yield = 0
});
$node->restart;

# Each changed row costs a millisecond (a trigger sleeps): batch durations
# follow the rows changed, not the machine's load.
$node->safe_psql('postgres', q{
CREATE EXTENSION pg_migrate;
CREATE FUNCTION slow_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_sleep(0.001);
    RETURN NEW;
END
$$;
CREATE TABLE t (id int PRIMARY KEY, n int NOT NULL DEFAULT 0);
INSERT INTO t SELECT g FROM generate_series(1, 8000) g;
CREATE TRIGGER slow BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION slow_row();
VACUUM ANALYZE t;
});

# Run the job; returns the longest batch seen and how many batches were
# seen.
sub run_job
{
	my ($parallel) = @_;
	my $id = $node->safe_psql('postgres', qq{
SELECT migrate_batch_update('t', 'n = n + 1', where_clause => 'id % 2 = 0',
                            batch_size => 200, parallel => $parallel)});
	my ($max, $seen) = longest_batch($node, 'postgres', $id);
	is(wait_job_state($node, 'postgres', $id, 'done|failed'), 'done',
		"parallel => $parallel: the job is done");
	is($node->safe_psql('postgres', q{
SELECT count(*) FILTER (WHERE n = 1 AND id % 2 = 0) || '/' || count(*) FILTER (WHERE n = 0 AND id % 2 = 1)
  FROM t}),
		'4000/4000', "parallel => $parallel: every selected row changed once, no other row changed");
	$node->safe_psql('postgres', 'UPDATE t SET n = 0');
	return ($max, $seen);
}

for my $parallel (1, 2)
{
	my ($max, $seen) = run_job($parallel);
	# 4000 rows at a millisecond or more each: at least 20 batches of the
	# target, most of which the polls see.
	cmp_ok($seen, '>=', 10, "parallel => $parallel: $seen batches seen");
	cmp_ok($max, '<', 2 * $target,
		sprintf('parallel => %d: the longest batch took %.0f ms, less than twice the target',
			$parallel, $max));
}

done_testing();
