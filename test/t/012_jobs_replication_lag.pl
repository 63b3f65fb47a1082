# A backfill pauses while a streaming standby's replay lag is above
# pg_migrate.max_replication_lag, and resumes once the standby catches up.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmJobs;

my $primary = pgm_node('primary');
$primary->append_conf('postgresql.conf', qq{
pg_migrate.batch_target = '10ms'
pg_migrate.max_replication_lag = '500ms'
});
$primary->reload;
$primary->safe_psql('postgres', q{
CREATE EXTENSION pg_migrate;
CREATE TABLE t (id int PRIMARY KEY, n int NOT NULL DEFAULT 0);
INSERT INTO t SELECT g FROM generate_series(1, 100000) g;
});
$primary->backup('b');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'b', has_streaming => 1);
$standby->append_conf('postgresql.conf', "wal_receiver_status_interval = '1s'");
$standby->start;
$primary->wait_for_catchup($standby);

# No lag: the job runs.
my $id = $primary->safe_psql('postgres',
	"SELECT migrate_batch_update('t', 'n = n + 1', 'id <= 1000')");
is(wait_job_state($primary, 'postgres', $id, 'done|failed'), 'done', 'no lag: job done');
my $unthrottled = $id;

# Replay paused on the standby: the lag grows and the job stops.
$standby->safe_psql('postgres', 'SELECT pg_wal_replay_pause()');
$id = $primary->safe_psql('postgres',
	"SELECT migrate_batch_update('t', 'n = n + 1', 'id > 1000', batch_size => 1000, pause => '300ms')");
ok($primary->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'pg_migrate job' AND query LIKE '%throttled, standby replay lag%'"),
	'paused replay: the worker throttles itself');
my $done = $primary->safe_psql('postgres', "SELECT rows_done FROM migrate_jobs WHERE id = $id");
cmp_ok($done, '<', 99000, 'paused replay: the job stopped before the end');
sleep 2;
is($primary->safe_psql('postgres', "SELECT rows_done FROM migrate_jobs WHERE id = $id"),
	$done, 'paused replay: no batch while the standby lags');
is($primary->safe_psql('postgres', "SELECT state FROM migrate_jobs WHERE id = $id"),
	'running', 'paused replay: the job is still running');

# Replay resumed: the standby catches up and the job finishes.
$standby->safe_psql('postgres', 'SELECT pg_wal_replay_resume()');
is(wait_job_state($primary, 'postgres', $id, 'done|failed'), 'done', 'resumed replay: job done');
is($primary->safe_psql('postgres', 'SELECT n, count(*) FROM t GROUP BY n'), '1|100000',
	'resumed replay: every row updated exactly once');
cmp_ok($primary->safe_psql('postgres',
		"SELECT extract(epoch FROM throttled_time) FROM migrate_jobs WHERE id = $id"),
	'>=', 2, 'throttled_time counts the seconds the job waited for the standby');
is($primary->safe_psql('postgres',
		"SELECT throttled_time, batches_retried FROM migrate_jobs WHERE id = $unthrottled"),
	'00:00:00|0', 'the job that met no lag was never throttled nor retried');
like($primary->safe_psql('postgres', 'SELECT migrate_metrics()'),
	qr/^pg_migrate_job_throttled_seconds_total [2-9][0-9.]*$|^pg_migrate_job_throttled_seconds_total [1-9][0-9]+[0-9.]*$/m,
	'migrate_metrics() reports it');
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', 'SELECT n, count(*) FROM t GROUP BY n'), '1|100000',
	'the standby has the same rows');

$standby->stop;
$primary->stop;
done_testing();
