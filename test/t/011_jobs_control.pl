# Background jobs under control: pause, resume, cancel, the queue beyond
# pg_migrate.max_workers, parallel slices, the submitter's identity and
# privileges, waiting without holding a snapshot, and DROP DATABASE / DROP
# EXTENSION while a worker runs.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use PgmJobs;

my $node = pgm_node('control');
$node->append_conf('postgresql.conf', "pg_migrate.batch_target = '10ms'");
$node->reload;

$node->safe_psql('postgres', q{
CREATE EXTENSION pg_migrate;
CREATE TABLE t (id int PRIMARY KEY, n int NOT NULL DEFAULT 0, who text);
INSERT INTO t SELECT g FROM generate_series(1, 200000) g;
VACUUM ANALYZE t;
});

sub slow_job
{
	my ($db, $table) = @_;
	return $node->safe_psql($db,
		"SELECT migrate_batch_update('$table', 'n = n + 1', batch_size => 1000, pause => '50ms')");
}

sub workers_in
{
	my ($db) = @_;
	return $node->safe_psql('postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_migrate job' AND datname = '$db'");
}

sub wait_no_workers
{
	my ($db) = @_;
	return $node->poll_query_until('postgres',
		"SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'pg_migrate job' AND datname = '$db'");
}

# --- pause and resume
my $id = slow_job('postgres', 't');
ok(wait_rows_done($node, 'postgres', $id, 5000), 'pause: job under way');
is($node->safe_psql('postgres', "SELECT migrate_job_pause($id)"), 'paused', 'pause: returns paused');
ok(wait_no_workers('postgres'), 'pause: the worker leaves');
my $done1 = $node->safe_psql('postgres', "SELECT rows_done FROM migrate_jobs WHERE id = $id");
sleep 1;
is($node->safe_psql('postgres', "SELECT rows_done FROM migrate_jobs WHERE id = $id"),
	$done1, 'pause: no progress while paused');
is($node->safe_psql('postgres', "SELECT count(*) FROM t WHERE n = 1"), $done1,
	'pause: rows_done is exactly the rows changed');
is($node->safe_psql('postgres', "CALL migrate_job_wait($id, '1s')"), 'paused',
	'pause: migrate_job_wait returns at once for a paused job');
is($node->safe_psql('postgres', "SELECT migrate_job_resume($id)"), 'queued', 'resume: queued again');
is(wait_job_state($node, 'postgres', $id, 'done|failed'), 'done', 'resume: job done');
is($node->safe_psql('postgres', 'SELECT n, count(*) FROM t GROUP BY n'), '1|200000',
	'resume: every row updated exactly once');

# --- cancel
$id = slow_job('postgres', 't');
ok(wait_rows_done($node, 'postgres', $id, 5000), 'cancel: job under way');
is($node->safe_psql('postgres', "SELECT migrate_job_cancel($id)"), 'cancelled', 'cancel: returns cancelled');
ok(wait_no_workers('postgres'), 'cancel: the worker leaves');
my $done2 = $node->safe_psql('postgres', "SELECT rows_done FROM migrate_jobs WHERE id = $id");
cmp_ok($done2, '<', 200000, 'cancel: stopped before the end');
is($node->safe_psql('postgres', 'SELECT count(*) FROM t WHERE n = 2'), $done2,
	'cancel: the batches committed before the cancel stay, nothing else');
my ($ok, $out, $err) = $node->psql('postgres', "SELECT migrate_job_resume($id)");
my $t0;
like($err, qr/is cancelled and cannot be resumed/, 'cancel: a cancelled job cannot be resumed');
$node->safe_psql('postgres', 'UPDATE t SET n = 0');

# --- the queue: one worker at most, the second job waits
$node->append_conf('postgresql.conf', 'pg_migrate.max_workers = 1');
$node->reload;
my $a = slow_job('postgres', 't');
my $b = $node->safe_psql('postgres', "SELECT migrate_batch_update('t', 'who = ''b''')");
ok(wait_rows_done($node, 'postgres', $a, 2000), 'queue: first job under way');
sleep 1;
is($node->safe_psql('postgres', "SELECT state FROM migrate_jobs WHERE id = $b"), 'queued',
	'queue: second job waits');
is(workers_in('postgres'), '1', 'queue: one worker');
is(wait_job_state($node, 'postgres', $b, 'done|failed'), 'done', 'queue: second job runs after the first');
is($node->safe_psql('postgres', "SELECT state FROM migrate_jobs WHERE id = $a"), 'done',
	'queue: first job done');
$node->safe_psql('postgres', 'UPDATE t SET n = 0, who = NULL');

# --- parallel slices
$node->append_conf('postgresql.conf', 'pg_migrate.max_workers = 4');
$node->reload;
$id = $node->safe_psql('postgres',
	"SELECT migrate_batch_update('t', 'n = n + 1', batch_size => 1000, parallel => 3, pause => '20ms')");
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 3 FROM pg_stat_activity WHERE backend_type = 'pg_migrate job'"),
	'parallel: three workers');
is(wait_job_state($node, 'postgres', $id, 'done|failed'), 'done', 'parallel: job done');
is($node->safe_psql('postgres', 'SELECT n, count(*) FROM t GROUP BY n'), '1|200000',
	'parallel: every row updated exactly once');
is($node->safe_psql('postgres', "SELECT count(*), sum(rows_done) FROM migrate_job_slice WHERE job_id = $id"),
	'3|200000', 'parallel: three slices share the rows');
$node->safe_psql('postgres', 'UPDATE t SET n = 0');

# --- runs as the submitter, a NOLOGIN role included
$node->safe_psql('postgres', q{
CREATE ROLE nolog NOLOGIN;
GRANT SELECT, UPDATE ON t TO nolog;
CREATE FUNCTION t_who() RETURNS trigger LANGUAGE plpgsql AS
  $$BEGIN NEW.who := current_user; RETURN NEW; END$$;
CREATE TRIGGER t_who BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION t_who();
});
$id = $node->safe_psql('postgres',
	"SET ROLE nolog; SELECT migrate_batch_update('t', 'n = n + 1', 'id <= 50000')");
is(wait_job_state($node, 'postgres', $id, 'done|failed'), 'done', 'nologin: job done');
is($node->safe_psql('postgres', 'SELECT who, n, count(*) FROM t GROUP BY 1, 2 ORDER BY 1'),
	"nolog|1|50000\n|0|150000", 'nologin: current_user in the batch is the submitter');
is($node->safe_psql('postgres', "SELECT owner FROM migrate_jobs WHERE id = $id"), 'nolog',
	'nologin: the job belongs to the submitter');

# Privileges are enforced while the job runs, not only at submission.
$id = $node->safe_psql('postgres',
	"SET ROLE nolog; SELECT migrate_batch_update('t', 'n = n + 1', batch_size => 1000, pause => '50ms')");
ok(wait_rows_done($node, 'postgres', $id, 2000), 'revoke: job under way');
$node->safe_psql('postgres', 'REVOKE UPDATE ON t FROM nolog');
is(wait_job_state($node, 'postgres', $id, 'done|failed'), 'failed', 'revoke: job fails');
like($node->safe_psql('postgres', "SELECT last_error FROM migrate_jobs WHERE id = $id"),
	qr/permission denied for table t/, 'revoke: last_error says why');
# Another role cannot control it; its submitter can.
$node->safe_psql('postgres', 'CREATE ROLE other');
($ok, $out, $err) = $node->psql('postgres', "SET ROLE other; SELECT migrate_job_resume($id)");
like($err, qr/permission denied to resume job/, 'control: another role cannot resume the job');
$node->safe_psql('postgres', 'DROP TRIGGER t_who ON t; UPDATE t SET n = 0, who = NULL');

# The submitter's role dropped while the job runs: the job fails cleanly.
$node->safe_psql('postgres', q{
CREATE ROLE gone;
CREATE TABLE tg (id int PRIMARY KEY, n int NOT NULL DEFAULT 0);
INSERT INTO tg SELECT g FROM generate_series(1, 100000) g;
GRANT SELECT, UPDATE ON tg TO gone;
});
$id = $node->safe_psql('postgres',
	"SET ROLE gone; SELECT migrate_batch_update('tg', 'n = n + 1', batch_size => 1000, pause => '50ms')");
ok(wait_rows_done($node, 'postgres', $id, 2000), 'dropped role: job under way');
# one transaction: no batch may run between the REVOKE and the DROP ROLE
$node->safe_psql('postgres', 'BEGIN; REVOKE ALL ON tg FROM gone; DROP ROLE gone; COMMIT');
is(wait_job_state($node, 'postgres', $id, 'done|failed'), 'failed', 'dropped role: job fails');
like($node->safe_psql('postgres', "SELECT last_error FROM migrate_jobs WHERE id = $id"),
	qr/role that submitted the job no longer exists/, 'dropped role: last_error says why');

# The table dropped while the job runs: DROP TABLE waits one batch at most,
# the job fails cleanly.
$id = slow_job('postgres', 'tg');
ok(wait_rows_done($node, 'postgres', $id, 2000), 'dropped table: job under way');
$t0 = time();
$node->safe_psql('postgres', 'DROP TABLE tg');
cmp_ok(time() - $t0, '<', 5, 'dropped table: DROP TABLE within seconds');
is(wait_job_state($node, 'postgres', $id, 'done|failed'), 'failed', 'dropped table: job fails');
like($node->safe_psql('postgres', "SELECT last_error FROM migrate_jobs WHERE id = $id"),
	qr/table was dropped|does not exist/, 'dropped table: last_error says why');
ok(wait_no_workers('postgres'), 'dropped table: the worker leaves');

# --- migrate_job_wait holds no snapshot: a CREATE INDEX CONCURRENTLY,
# which waits for every older snapshot, completes while it waits.
$id = slow_job('postgres', 't');
ok(wait_rows_done($node, 'postgres', $id, 2000), 'wait: job under way');
my $bg = $node->background_psql('postgres');
$bg->query_until(qr/waiting/, "\\echo waiting\nCALL migrate_job_wait($id);\n");
usleep(300_000);
$t0 = time();
($ok, $out, $err) = $node->psql('postgres', 'CREATE INDEX CONCURRENTLY t_n ON t (n)', timeout => 60);
is($ok, 0, 'wait: CREATE INDEX CONCURRENTLY completes during CALL migrate_job_wait');
cmp_ok(time() - $t0, '<', 20, 'wait: ... without waiting for the waiter');
is($node->safe_psql('postgres', "SELECT state FROM migrate_jobs WHERE id = $id"), 'running',
	'wait: the job was still running meanwhile');
$node->safe_psql('postgres', "SELECT migrate_job_pause($id)");
like($bg->query_until(qr/paused/, ''), qr/paused/, 'wait: returns once the job is paused');
$bg->quit;
$node->safe_psql('postgres', "SELECT migrate_job_cancel($id)");

# --- DROP DATABASE with a live worker finishes in seconds
$node->safe_psql('postgres', 'CREATE DATABASE d2');
$node->safe_psql('d2', q{
CREATE EXTENSION pg_migrate;
CREATE TABLE t2 (id int PRIMARY KEY, n int NOT NULL DEFAULT 0);
INSERT INTO t2 SELECT g FROM generate_series(1, 200000) g;
});
$id = slow_job('d2', 't2');
ok(wait_rows_done($node, 'd2', $id, 2000), 'drop database: job under way');
is(workers_in('d2'), '1', 'drop database: a worker is connected');
my $d2pid = $node->safe_psql('postgres',
	"SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_migrate job' AND datname = 'd2'");
($ok, $out, $err) = $node->psql('postgres', 'SET ROLE other; DROP DATABASE d2');
like($err, qr/must be owner of database d2/, 'drop database: refused to a non-owner');
is($node->safe_psql('postgres',
	"SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_migrate job' AND datname = 'd2'"),
	$d2pid, 'drop database: a refused DROP DATABASE does not interrupt the worker');

# A DROP DATABASE whose backend is terminated while it waits for another
# session to leave: the database must not stay closed to the jobs.
my $idle = $node->background_psql('d2');
$idle->query_safe('SELECT 1');
my $dropper = $node->background_psql('postgres', on_error_stop => 0);
$dropper->query_until(qr/started/, "\\echo started\nDROP DATABASE d2;\n");
ok($node->poll_query_until('postgres', q{
SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'pg_migrate job' AND datname = 'd2'}),
	'terminated drop database: the worker was stopped for it');
$node->safe_psql('postgres', q{
SELECT pg_terminate_backend(pid) FROM pg_stat_activity
 WHERE query LIKE 'DROP DATABASE d2%' AND backend_type = 'client backend'});
# Its backend is gone: psql may exit before it reads the quit command.
eval { $dropper->quit; };
ok($node->poll_query_until('postgres', q{
SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'pg_migrate job' AND datname = 'd2'}),
	'terminated drop database: the job resumes');
$idle->quit;

$t0 = time();
($ok, $out, $err) = $node->psql('postgres', 'DROP DATABASE d2', timeout => 60);
is($ok, 0, 'drop database: succeeds') or diag($err);
cmp_ok(time() - $t0, '<', 5, 'drop database: within seconds');
sleep 1;
is(workers_in('d2'), '0', 'drop database: no worker comes back');

# --- DROP EXTENSION with a live worker
$node->safe_psql('postgres', 'CREATE DATABASE d3');
$node->safe_psql('d3', q{
CREATE EXTENSION pg_migrate;
CREATE TABLE t3 (id int PRIMARY KEY, n int NOT NULL DEFAULT 0);
INSERT INTO t3 SELECT g FROM generate_series(1, 200000) g;
});
$id = slow_job('d3', 't3');
ok(wait_rows_done($node, 'd3', $id, 2000), 'drop extension: job under way');
$t0 = time();
($ok, $out, $err) = $node->psql('d3', 'DROP EXTENSION pg_migrate', timeout => 60);
is($ok, 0, 'drop extension: succeeds') or diag($err);
cmp_ok(time() - $t0, '<', 5, 'drop extension: within seconds');
ok(wait_no_workers('d3'), 'drop extension: the worker leaves');
my $changed = $node->safe_psql('d3', 'SELECT count(*) FROM t3 WHERE n = 1');
sleep 1;
is($node->safe_psql('d3', 'SELECT count(*) FROM t3 WHERE n = 1'), $changed,
	'drop extension: nothing changes any more');
is($node->safe_psql('d3', 'SELECT count(*) FROM t3 WHERE n > 1'), '0',
	'drop extension: no row changed twice');

# --- a busy server: the worker leaves it a pause between batches
$node->safe_psql('postgres', 'UPDATE t SET n = 0');
my $busy = $node->background_psql('postgres', on_error_stop => 0);
$busy->query_until(qr/busy/, "\\echo busy\nSELECT count(*) FROM generate_series(1, 3000000000);\n");
$id = $node->safe_psql('postgres', "SELECT migrate_batch_update('t', 'n = n + 1', batch_size => 500)");
ok($node->poll_query_until('postgres', q{
SELECT count(*) > 0 FROM pg_stat_activity
 WHERE backend_type = 'pg_migrate job' AND query ~ 'yielding up to \d+ ms to busy sessions'}),
	'busy server: the worker yields between batches');
$node->safe_psql('postgres', "SELECT migrate_job_pause($id)");
is(wait_job_state($node, 'postgres', $id, 'paused'), 'paused', 'busy server: paused');
$node->safe_psql('postgres', 'ALTER SYSTEM SET pg_migrate.batch_yield = 0; SELECT pg_reload_conf()');
$node->safe_psql('postgres', "SELECT migrate_job_resume($id)");
my $yielded = 0;
for (1 .. 30)
{
	$yielded += $node->safe_psql('postgres', q{
SELECT count(*) FROM pg_stat_activity
 WHERE backend_type = 'pg_migrate job' AND query LIKE '%yielding%'});
	usleep(50_000);
}
is($yielded, 0, 'busy server: with pg_migrate.batch_yield = 0 it never yields');
is(wait_job_state($node, 'postgres', $id, 'done|failed'), 'done', 'busy server: the job finishes');
$node->safe_psql('postgres', q{
SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE 'SELECT count(*) FROM generate_series%'});
eval { $busy->quit; };
$node->safe_psql('postgres', 'ALTER SYSTEM RESET pg_migrate.batch_yield; SELECT pg_reload_conf()');

# The server is still healthy and runs new jobs.
$id = $node->safe_psql('postgres', "SELECT migrate_batch_update('t', 'n = 7', 'id = 1')");
is(wait_job_state($node, 'postgres', $id, 'done|failed'), 'done', 'after all that: a new job runs');
ok(!$node->log_contains('terminated by signal|was terminated by exception'), 'no crash in the log');

$node->stop;
done_testing();
