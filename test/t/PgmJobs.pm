# Helpers shared by the background-job TAP tests.
package PgmJobs;

use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);

use Exporter 'import';
our @EXPORT = qw(pgm_node wait_job_state longest_batch job_worker_pids wait_rows_done kill_and_wait_restart
  job_phase kill_job_workers hold_table release_table backfill_started);

# A started cluster with pg_migrate preloaded and quick job settings.
sub pgm_node
{
	my ($name, %opts) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	# wal_level = replica, as production servers run (005_history_wal_minimal
	# covers minimal).
	$node->init(allows_streaming => 1, %opts);
	$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'pg_migrate'
max_worker_processes = 16
pg_migrate.max_workers = 4
pg_migrate.restart_delay = '200ms'
restart_after_crash = on
log_min_messages = log
# These tests drop and alter tables on purpose; the policy engine has its own.
pg_migrate.enforce = off
});
	$node->start;
	return $node;
}

# Wait until the job reaches one of the states (a regex), or time out.
sub wait_job_state
{
	my ($node, $db, $id, $states, $timeout) = @_;
	$timeout //= 120;
	my $deadline = time() + $timeout;
	my $state = '';
	while (time() < $deadline)
	{
		$state = $node->safe_psql($db, "SELECT state FROM migrate_jobs WHERE id = $id");
		return $state if $state =~ /^(?:$states)$/;
		usleep(100_000);
	}
	diag("job $id still '$state' after ${timeout}s");
	return $state;
}

# Poll a job's slices every 20 ms until it leaves queued and running, or
# for $timeout seconds: returns the longest batch any slice recorded
# (migrate_job_slice.last_batch_ms) and how many batches the polls saw.
# Each poll is a transaction of its own: it holds back no cleanup.
sub longest_batch
{
	my ($node, $db, $id, $timeout) = @_;
	my $deadline = time() + ($timeout // 300);
	my ($max, %seen) = (0);
	while (time() < $deadline)
	{
		my ($state, @rows) = split /\n/, $node->safe_psql($db, qq{
SELECT state FROM migrate_jobs WHERE id = $id;
SELECT slice || ':' || batches || ':' || coalesce(last_batch_ms, 0)
  FROM migrate_job_slice WHERE job_id = $id});
		for (@rows)
		{
			my ($slice, $batches, $ms) = split /:/;
			$seen{"$slice:$batches"} = 1;
			$max = $ms if $ms > $max;
		}
		last if $state !~ /^(?:queued|running)$/;
		usleep(20_000);
	}
	return ($max, scalar(keys %seen));
}

# Wait until a job has committed at least $rows rows.
sub wait_rows_done
{
	my ($node, $db, $id, $rows, $timeout) = @_;
	return $node->poll_query_until($db,
		"SELECT rows_done >= $rows FROM migrate_jobs WHERE id = $id");
}

# kill -9 a server process and wait until the postmaster has restarted
# everything and accepts connections again.  Polling with queries alone is
# not enough: one that slips in before the postmaster noticed the death is
# cut off by the restart, and one sent during crash recovery finds psql
# already gone ("the database system is in recovery mode"), which
# poll_query_until does not survive on every major.
sub kill_and_wait_restart
{
	my ($node, $pid) = @_;
	my $offset = -s $node->logfile;
	kill 'KILL', $pid;
	$node->wait_for_log(
		qr/all server processes terminated; reinitializing.*database system is ready to accept connections/s,
		$offset);
	return;
}

# pids of the job workers running now.
sub job_worker_pids
{
	my ($node) = @_;
	my $out = $node->safe_psql('postgres',
		"SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_migrate job' ORDER BY pid");
	return grep { $_ ne '' } split /\n/, $out;
}

# The phase migrate_jobs shows for a job.
sub job_phase
{
	my ($node, $id) = @_;
	return $node->safe_psql('postgres', "SELECT phase FROM migrate_jobs WHERE id = $id");
}

# kill -9 every job worker (one test: there is one, $what says where), and
# wait until the postmaster has restarted everything and takes queries.
sub kill_job_workers
{
	my ($node, $what) = @_;
	my @pids = job_worker_pids($node);
	my $offset = -s $node->logfile;
	ok(@pids > 0, "a job worker is running ($what)");
	kill 'KILL', $_ for @pids;
	$node->wait_for_log(qr/database system is ready to accept connections/, $offset);
	$node->poll_query_until('postgres', 'SELECT true') or die;
	return;
}

# A session holding ROW EXCLUSIVE on the table, as a writer in the middle
# of its transaction: a step that needs a stronger lock waits, gives way
# after the lock timeout and retries until release_table.
sub hold_table
{
	my ($node, $table) = @_;
	my $writer = $node->background_psql('postgres', on_error_stop => 0);
	$writer->query_safe("BEGIN; LOCK TABLE $table IN ROW EXCLUSIVE MODE;");
	return $writer;
}

sub release_table
{
	my ($writer) = @_;
	$writer->query_safe('COMMIT');
	$writer->quit;
	return;
}

# Wait until the backfill of an online change has committed a batch.
sub backfill_started
{
	my ($node, $id) = @_;
	return $node->poll_query_until('postgres', qq{
SELECT j.rows_done > 0 FROM migrate_online_steps s JOIN migrate_jobs j ON j.id = s.backfill_job
 WHERE s.job_id = $id});
}

1;
