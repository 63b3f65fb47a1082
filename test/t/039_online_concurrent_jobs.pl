# Several online changes submitted together, with fewer job workers than
# they would need at once.
#
# An online change runs in a job worker of its own and its backfill is a
# batched UPDATE job of its own, which needs another worker.  With
# pg_migrate.max_workers = 2, two online jobs started together used to
# take both slots and then wait for backfills that never got one.  Every
# job must finish, whatever the number of slots, also with a plain batch
# job queued between them.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmJobs;

my $node = pgm_node('online_concurrent');
$node->append_conf('postgresql.conf', qq{
pg_migrate.default_batch_size = 500
pg_migrate.batch_target = '20ms'
});
$node->reload;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_migrate');

sub load
{
	my ($n) = @_;
	for my $t (1 .. $n)
	{
		$node->safe_psql('postgres', qq{
DROP TABLE IF EXISTS t$t CASCADE;
CREATE TABLE t$t (id int PRIMARY KEY, v int NOT NULL, pad text);
INSERT INTO t$t SELECT g, g, md5(g::text) FROM generate_series(1, 5000) g;
CREATE INDEX t${t}_v ON t$t (v);
});
	}
	$node->safe_psql('postgres', qq{
DROP TABLE IF EXISTS plain;
CREATE TABLE plain (id int PRIMARY KEY, x int);
INSERT INTO plain SELECT g, 0 FROM generate_series(1, 5000) g;
});
}

# Submit $n online type changes in one transaction (with a batch job in
# between when asked), then wait for every one; returns the ids.
sub run_case
{
	my ($label, $max_workers, $n, $with_batch) = @_;
	$node->safe_psql('postgres', "ALTER SYSTEM SET pg_migrate.max_workers = $max_workers");
	$node->reload;
	load($n);
	my @sql;
	for my $t (1 .. $n)
	{
		push @sql, "SELECT migrate_online('ALTER TABLE t$t ALTER COLUMN v TYPE bigint', complete => true)";
		push @sql, "SELECT migrate_batch_update('plain', 'x = id')"
		  if $with_batch && $t == 1;
	}
	my $ids = $node->safe_psql('postgres', "BEGIN;\n" . join(";\n", @sql) . ";\nCOMMIT;");
	my @ids = split /\n/, $ids;
	is(scalar(@ids), $n + ($with_batch ? 1 : 0), "$label: jobs submitted");
	for my $id (@ids)
	{
		is(wait_job_state($node, 'postgres', $id, 'done|failed|cancelled', 90),
			'done', "$label: job $id done");
	}
	for my $t (1 .. $n)
	{
		is($node->safe_psql('postgres',
				"SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 't$t'::regclass AND attname = 'v'"),
			'bigint', "$label: t$t.v is bigint");
		is($node->safe_psql('postgres', "SELECT count(*) FROM t$t WHERE v <> id"),
			'0', "$label: t$t data kept");
	}
	is($node->safe_psql('postgres', "SELECT count(*) FROM plain WHERE x <> id"), '0',
		"$label: batch job done") if $with_batch;
	return;
}

run_case('2 workers, 2 online jobs', 2, 2, 0);
run_case('2 workers, 2 online jobs and a batch job', 2, 2, 1);
run_case('3 workers, 3 online jobs and a batch job', 3, 3, 1);
run_case('1 worker, 2 online jobs', 1, 2, 0);

# A role limit of one worker: the same, within one role.
$node->safe_psql('postgres', "ALTER SYSTEM SET pg_migrate.max_workers_per_role = 1");
run_case('4 workers, 1 per role, 2 online jobs', 4, 2, 0);

done_testing();
