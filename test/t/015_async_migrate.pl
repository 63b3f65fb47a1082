# Migrations run by a background worker (migrate_apply_async): a worker
# killed in the middle of a concurrent index build leaves an INVALID index,
# which the resumed job drops and builds again; a statement that needs a
# lock blocking readers waits at most pg_migrate.lock_timeout per attempt
# and is retried, so readers never queue behind it for long; and
# migrate_job_wait does not hold up the index build it waits for.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use PgmJobs;

my $node = pgm_node('async');
$node->safe_psql('postgres', q{
CREATE EXTENSION pg_migrate;
CREATE TABLE t (id int PRIMARY KEY, n int NOT NULL DEFAULT 0);
INSERT INTO t SELECT g FROM generate_series(1, 100000) g;
VACUUM ANALYZE t;
});

# --- kill -9 while CREATE INDEX CONCURRENTLY waits -------------------------

# An open writer makes the build wait after it has committed its INVALID
# index entry.
my $writer = $node->background_psql('postgres', on_error_stop => 0);
$writer->query_safe('BEGIN; UPDATE t SET n = n WHERE id = 1;');

my $id = $node->safe_psql('postgres', q{
SELECT migrate_apply_async('1',
    'CREATE INDEX CONCURRENTLY t_n ON t (n); ALTER TABLE t ADD COLUMN x int',
    'ALTER TABLE t DROP COLUMN x; DROP INDEX CONCURRENTLY t_n')});
ok($node->poll_query_until('postgres', q{
SELECT wait_event_type = 'Lock' FROM pg_stat_activity
 WHERE backend_type = 'pg_migrate job' AND query LIKE 'CREATE INDEX CONCURRENTLY%'}),
	'the build waits for the open writer');
is($node->safe_psql('postgres', q{
SELECT indisvalid FROM pg_index WHERE indexrelid = 't_n'::regclass}),
	'f', 'meanwhile the index is INVALID');
is($node->safe_psql('postgres', "SELECT attempted FROM migrate_job_script WHERE job_id = $id"),
	't', 'the attempt is recorded before the build starts');

my ($pid) = job_worker_pids($node);
like($node->safe_psql('postgres', "SELECT application_name FROM pg_stat_activity WHERE pid = $pid"),
	qr/^pg_migrate job $id$/, 'the worker names its job');
# Field 19 of /proc/PID/stat is the nice value.
open(my $fh, '<', "/proc/$pid/stat") or die "cannot read /proc/$pid/stat: $!";
my @stat = split / /, (<$fh> =~ s/^.*\) //r);
close $fh;
is($stat[16], '10', 'the worker runs at pg_migrate.worker_nice');
kill_and_wait_restart($node, $pid);
$writer->quit;

is(wait_job_state($node, 'postgres', $id, 'done|failed'), 'done',
	'after the crash the job is resumed without any action and finishes');
is($node->safe_psql('postgres', q{
SELECT string_agg(indexrelid::regclass || ':' || indisvalid, ',' ORDER BY indexrelid::regclass::text)
  FROM pg_index WHERE indrelid = 't'::regclass}),
	't_n:true,t_pkey:true', 'the INVALID index was dropped and built again: one valid t_n');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = 'x'}),
	'1', 'the statement after the build ran once');
is($node->safe_psql('postgres', "SELECT state FROM migrate_migrations WHERE version = '1'"),
	'applied', 'the migration is recorded');
ok($node->log_contains(qr/dropping INVALID index public\.t_n left by an earlier attempt/),
	'the clean-up is logged');
is($node->safe_psql('postgres', q{
SELECT string_agg(statement, ' | ' ORDER BY id) FROM migrate_ddl_history WHERE migration_version = '1'}),
	'DROP INDEX CONCURRENTLY IF EXISTS public.t_n | CREATE INDEX CONCURRENTLY t_n ON t (n) | ALTER TABLE t ADD COLUMN x int',
	'the history shows the clean-up and the statements, under the version');

# --- a statement that blocks readers waits in bounded attempts --------------

my $reader = $node->background_psql('postgres', on_error_stop => 0);
$reader->query_safe('BEGIN; SELECT count(*) FROM t WHERE id = 1;');
$id = $node->safe_psql('postgres', q{
SELECT migrate_apply_async('2', 'ALTER TABLE t ADD COLUMN y int', 'ALTER TABLE t DROP COLUMN y')});
ok($node->poll_query_until('postgres', "SELECT retries >= 2 FROM migrate_job_script WHERE job_id = $id"),
	'the ALTER TABLE times out and is retried while a reader holds the table');

# Other readers meanwhile: none waits much longer than one attempt.
my $worst = 0;
for (1 .. 20)
{
	my $t0 = time();
	$node->safe_psql('postgres', 'SELECT count(*) FROM t WHERE id = 2');
	my $ms = (time() - $t0) * 1000;
	$worst = $ms if $ms > $worst;
	usleep(50_000);
}
cmp_ok($worst, '<', 1500, sprintf('readers are never queued for long (worst %.0f ms)', $worst));
is($node->safe_psql('postgres', "SELECT state FROM migrate_jobs WHERE id = $id"),
	'running', 'the job is still trying');
$reader->query_safe('COMMIT');
$reader->quit;
is(wait_job_state($node, 'postgres', $id, 'done|failed'), 'done', 'done once the reader is gone');
cmp_ok($node->safe_psql('postgres', "SELECT retries FROM migrate_migrations WHERE version = '2'"),
	'>=', 2, 'the migration records its retries');

# --- migrate_job_wait does not hold up the build ---------------------------

# CALL commits between polls: a waiter holding a snapshot for its whole
# wait would make the build wait for it, and itself wait for the build.
my ($ret, $stdout, $stderr) = $node->psql('postgres', q{
SELECT migrate_apply_async('3', 'CREATE INDEX CONCURRENTLY t_n2 ON t (n, id)',
                           'DROP INDEX CONCURRENTLY t_n2') AS job \gset
CALL migrate_job_wait(:job, '120s');
}, timeout => 180);
is($stdout, 'done', 'CALL migrate_job_wait returns once the concurrent build is done');

done_testing();
