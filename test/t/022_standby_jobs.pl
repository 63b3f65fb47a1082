# Background jobs and a hot standby.
#
# Every function that writes refuses on a standby with an error that says
# why (SQLSTATE 25006, read_only_sql_transaction), never an internal
# failure.  Jobs replicate but no worker runs them on the standby; after
# promotion the launcher resumes the job that was running when the primary
# went away, with no action from anybody, and every row is updated exactly
# once.  A job that was paused stays paused until it is resumed.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmJobs;

my $primary = pgm_node('primary');
# small batches, so that the job is still running when the primary stops
$primary->append_conf('postgresql.conf', "pg_migrate.batch_target = '10ms'");
$primary->reload;
$primary->safe_psql('postgres', q{
CREATE EXTENSION pg_migrate;
CREATE TABLE t (id int PRIMARY KEY, n int NOT NULL DEFAULT 0);
INSERT INTO t SELECT g FROM generate_series(1, 20000) g;
CREATE TABLE u (id int PRIMARY KEY, n int NOT NULL DEFAULT 0);
INSERT INTO u SELECT g FROM generate_series(1, 5000) g;
SELECT migrate_apply('1', 'CREATE TABLE m (i int)', 'DROP TABLE m');
});
$primary->backup('b');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'b', has_streaming => 1);
$standby->start;

# A paused job (and, further down, a slow one interrupted while it runs).
my $paused = $primary->safe_psql('postgres',
	"SELECT migrate_batch_update('u', 'n = n + 1', batch_size => 100, pause => '300ms')");
ok(wait_rows_done($primary, 'postgres', $paused, 100), 'primary: the second job is under way');
is($primary->safe_psql('postgres', "SELECT migrate_job_pause($paused)"), 'paused',
	'primary: the second job is paused');
$primary->wait_for_catchup($standby);

# --- Every function that writes refuses on the standby, saying why.
sub standby_error
{
	my ($sql) = @_;
	my ($ret, $out, $err) = $standby->psql('postgres', "\\set VERBOSITY verbose\n$sql");
	return $err;
}

my %refusals = (
	"SELECT migrate_batch_update('t', 'n = 0')" =>
	  qr/25006: background jobs cannot be submitted on a hot standby/,
	"SELECT migrate_batch_delete('t', 'id < 0')" =>
	  qr/25006: background jobs cannot be submitted on a hot standby/,
	"SELECT migrate_job_pause($paused)" =>
	  qr/25006: cannot pause a background job on a hot standby/,
	"SELECT migrate_job_resume($paused)" =>
	  qr/25006: cannot resume a background job on a hot standby/,
	"SELECT migrate_job_cancel($paused)" =>
	  qr/25006: cannot cancel a background job on a hot standby/,
	"BEGIN; SELECT migrate_override('drop_table', 'standby'); COMMIT" =>
	  qr/25006: policy overrides cannot be used on a hot standby/,
	"SELECT migrate_history_purge('1 day')" =>
	  qr/25006: cannot execute DELETE in a read-only transaction/,
	"INSERT INTO migrate_policy (rule, action) VALUES ('drop_table', 'allow')" =>
	  qr/25006: cannot execute INSERT in a read-only transaction/,
	"SELECT migrate_apply('2', 'CREATE TABLE m2 (i int)', 'DROP TABLE m2')" =>
	  qr/25006: migrations cannot be applied on a hot standby/,
	"SELECT migrate_rollback('1')" =>
	  qr/25006: migrations cannot be applied on a hot standby/,
	"SELECT migrate_apply_async('2', 'CREATE INDEX CONCURRENTLY t_n ON t (n)', 'DROP INDEX CONCURRENTLY t_n')" =>
	  qr/25006: migrations cannot be applied on a hot standby/,
	"SELECT migrate_rollback_async('1')" =>
	  qr/25006: migrations cannot be applied on a hot standby/,
);
foreach my $sql (sort keys %refusals)
{
	like(standby_error($sql), $refusals{$sql}, "standby: $sql refuses, saying why");
}
like(standby_error("SELECT migrate_job_pause($paused)"),
	qr/HINT:  .*primary/, 'standby: the hint points at the primary');

# --- The primary goes away while a job runs.
my $running = $primary->safe_psql('postgres',
	"SELECT migrate_batch_update('t', 'n = n + 1', batch_size => 100, pause => '300ms')");
ok(wait_rows_done($primary, 'postgres', $running, 300), 'primary: the job is under way');
$primary->wait_for_catchup($standby);
$primary->stop('immediate');

my $state_before = $standby->safe_psql('postgres',
	"SELECT state, rows_done FROM migrate_jobs WHERE id = $running");
like($state_before, qr/^running\|\d+$/, 'standby: the job replicated as running');
my ($rows_before) = $state_before =~ /\|(\d+)$/;
note("the job had $rows_before rows done when the primary stopped");
cmp_ok($rows_before, '<', 20000, 'standby: the job was interrupted before its end');
is($standby->safe_psql('postgres', "SELECT state FROM migrate_jobs WHERE id = $paused"),
	'paused', 'standby: the paused job replicated as paused');

# Give a worker every chance to appear, then check that none did.
sleep 3;
is($standby->safe_psql('postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'pg_migrate%'"),
	'0', 'standby: no launcher, dispatcher or job worker runs');
is($standby->safe_psql('postgres',
		"SELECT state, rows_done FROM migrate_jobs WHERE id = $running"),
	$state_before, 'standby: the job stays as it was');
is($standby->safe_psql('postgres', "SELECT count(*) FROM t WHERE n = 1"),
	$rows_before, 'standby: rows_done is exactly the rows changed');

# --- Promotion: the launcher resumes the interrupted job by itself.
$standby->promote;
is(wait_job_state($standby, 'postgres', $running, 'done|failed'), 'done',
	'promoted: the interrupted job finishes without any action');
is($standby->safe_psql('postgres', 'SELECT n, count(*) FROM t GROUP BY n'), '1|20000',
	'promoted: every row updated exactly once');
is($standby->safe_psql('postgres', "SELECT rows_done FROM migrate_jobs WHERE id = $running"),
	'20000', 'promoted: rows_done counts every row once');

# The paused job stays paused until someone resumes it.
is($standby->safe_psql('postgres', "SELECT state FROM migrate_jobs WHERE id = $paused"),
	'paused', 'promoted: the paused job is still paused');
is($standby->safe_psql('postgres', "SELECT migrate_job_resume($paused)"), 'queued',
	'promoted: the paused job can be resumed');
is(wait_job_state($standby, 'postgres', $paused, 'done|failed'), 'done',
	'promoted: the resumed job finishes');
is($standby->safe_psql('postgres', 'SELECT n, count(*) FROM u GROUP BY n'), '1|5000',
	'promoted: every row of the paused job updated exactly once');

# The new primary takes new jobs.
my $new = $standby->safe_psql('postgres', "SELECT migrate_batch_update('t', 'n = n + 1')");
is(wait_job_state($standby, 'postgres', $new, 'done|failed'), 'done',
	'promoted: a new job runs');

$standby->stop;
done_testing();
