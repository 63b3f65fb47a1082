# The lock figures of the history on constructed cases: a reader that
# holds a table's lock for a known time (lock_wait), a reader that outlasts
# several lock timeouts (lock_retries), a transaction that keeps its
# ALTER TABLE's lock for a known time with a known number of sessions
# queued behind it (lock_held, peak_waiters, the log line of
# pg_migrate.lock_hold_warning); and migrate_metrics() checked by promtool.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use IPC::Run;
use Time::HiRes qw(time sleep);
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('lockimpact');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_migrate'");
$node->append_conf('postgresql.conf', "pg_migrate.lock_hold_warning = '1s'");
# The tables here stand for tables that existed long before: dropping one
# the role has just created must not pass as undoing its own work.
$node->append_conf('postgresql.conf', "pg_migrate.own_new_tables = off");
$node->append_conf('postgresql.conf', "pg_migrate.own_undo_window = 0");
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_migrate;
	CREATE TABLE t (id int PRIMARY KEY, v text);
	INSERT INTO t SELECT g, 'x' FROM generate_series(1, 1000) g;
});

# The figures of the newest history row about an ALTER TABLE.
sub last_alter
{
	return $node->safe_psql('postgres', q{
		SELECT extract(epoch FROM lock_wait), lock_retries,
		       COALESCE(extract(epoch FROM lock_held)::text, 'null'),
		       COALESCE(peak_waiters::text, 'null'), lock_relation, lock_mode
		  FROM migrate_ddl_history
		 WHERE command_tag = 'ALTER TABLE' ORDER BY id DESC LIMIT 1});
}

sub waiting_on_t
{
	my ($n) = @_;
	$node->poll_query_until('postgres',
		"SELECT count(*) >= $n FROM pg_locks WHERE NOT granted AND relation = 't'::regclass")
	  or die "never saw $n sessions waiting for t";
}

# --- 1. lock wait: a reader holds ACCESS SHARE for a known time --------
my $reader = $node->background_psql('postgres');
$reader->query_safe('BEGIN');
$reader->query_safe('SELECT count(*) FROM t');

my ($out, $err) = ('', '');
my $ddl = IPC::Run::start(
	[
		'psql', '-X', '-At', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('postgres'),
		'-c', 'SET pg_migrate.lock_timeout_mode = off',
		'-c', 'ALTER TABLE t ADD COLUMN a int'
	],
	'>', \$out, '2>', \$err);
waiting_on_t(1);
my $seen = time;
sleep 1.5;
my $released = time;
$reader->query_safe('COMMIT');
$ddl->finish or die "ALTER TABLE failed: $err";
my $known = $released - $seen;

my ($wait, $retries, $held, $peak, $rel, $mode) = split /\|/, last_alter();
note "waited $wait s; the reader held its lock at least $known s after the ALTER queued";
cmp_ok($wait, '>=', $known - 0.02, 'lock_wait covers the time the reader held the lock');
cmp_ok($wait, '<=', $known + 0.5, 'lock_wait is no longer than the reader held it');
is($retries, '0', 'no lock-timeout retries without lock_timeout injection');
is($rel, 'public.t', 'lock_relation names the table');
is($mode, 'AccessExclusiveLock', 'lock_mode is the ALTER TABLE lock');
cmp_ok($held, '<', 0.5, 'an ALTER TABLE sent alone holds its lock only while it runs');
is($peak, '0', 'nobody waited behind it');

# --- 2. retries: the reader outlasts several lock timeouts --------------
$reader->query_safe('BEGIN');
$reader->query_safe('SELECT count(*) FROM t');
($out, $err) = ('', '');
$ddl = IPC::Run::start(
	[
		'psql', '-X', '-At', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('postgres'),
		'-c', "SET pg_migrate.lock_timeout = '100ms'",
		'-c', 'ALTER TABLE t ADD COLUMN b int'
	],
	'>', \$out, '2>', \$err);
waiting_on_t(1);
sleep 1.2;
$reader->query_safe('COMMIT');
$ddl->finish or die "ALTER TABLE failed: $err";
($wait, $retries) = split /\|/, last_alter();
note "retried $retries times, waited $wait s in lock queues";
cmp_ok($retries, '>=', 3, 'the attempts that timed out are counted');
cmp_ok($wait, '>=', 0.09 * $retries,
	'lock_wait adds up the wait of every attempt (each waited its lock_timeout)');
cmp_ok($wait, '<=', 1.2 + 0.5 + 0.1, 'and not the sleeps between attempts beyond that');

# --- 3. hold and waiters: a transaction keeps its lock, three queue ----
my $holder = $node->background_psql('postgres');
$holder->query_safe('BEGIN');
$holder->query_safe('ALTER TABLE t ADD COLUMN c int');
my $altered = time;
my @waiters;
for my $i (1 .. 3)
{
	my ($o, $e) = ('', '');
	push @waiters,
	  IPC::Run::start([ 'psql', '-X', '-At', '-d', $node->connstr('postgres'),
			'-c', 'SELECT count(*) FROM t' ], '>', \$o, '2>', \$e);
}
waiting_on_t(3);
my $log_offset = -s $node->logfile;
sleep 1.5 - (time - $altered) if time - $altered < 1.5;
my $committed_after = time - $altered;
$holder->query_safe('COMMIT');
my $upper = time - $altered;
$_->finish for @waiters;
$holder->quit;

($wait, $retries, $held, $peak) = split /\|/, last_alter();
note "held $held s (between $committed_after and $upper s by the clock of the test)";
cmp_ok($held, '>=', $committed_after - 0.05, 'lock_held runs until the transaction commits');
cmp_ok($held, '<=', $upper + 0.05, 'and no longer');
is($peak, '3', 'peak_waiters counts the three sessions queued behind the lock');

my $log = slurp_file($node->logfile, $log_offset);
like($log, qr/DDL statement held AccessExclusiveLock on public\.t for [0-9.]+ s/,
	'pg_migrate.lock_hold_warning logs the statement');
like($log, qr/peak sessions waiting behind it 3/, 'with its figures');

# --- 4. a savepoint rolled back takes its row and its pending figures ---
$node->safe_psql('postgres', q{
	BEGIN;
	SAVEPOINT s;
	ALTER TABLE t ADD COLUMN d int;
	ROLLBACK TO s;
	ALTER TABLE t ADD COLUMN e int;
	COMMIT;
});
is($node->safe_psql('postgres', q{
	SELECT string_agg(statement, ', ' ORDER BY id) FROM migrate_ddl_history
	 WHERE statement LIKE 'ALTER TABLE t ADD COLUMN %' AND lock_held IS NOT NULL}),
	'ALTER TABLE t ADD COLUMN a int, ALTER TABLE t ADD COLUMN b int, '
	  . 'ALTER TABLE t ADD COLUMN c int, ALTER TABLE t ADD COLUMN e int',
	'the committed statements have their hold time, the rolled-back one has no row');

# --- 5. measuring off -------------------------------------------------
$node->safe_psql('postgres', q{
	SET pg_migrate.measure_lock_impact = off;
	ALTER TABLE t ADD COLUMN f int;
});
is(last_alter(), '||null|null|public.t|AccessExclusiveLock',
	'with pg_migrate.measure_lock_impact off the figures stay empty');
my ($ret, $o2, $e2) = $node->psql('postgres', q{
	CREATE ROLE plain LOGIN;
	SET ROLE plain;
	SET pg_migrate.measure_lock_impact = off;});
like($e2, qr/permission denied to set parameter/, 'only superusers may turn it off');

# --- 6. migrate_lock_stats and migrate_metrics --------------------------
is($node->safe_psql('postgres', q{
	SELECT blocking_statements, lock_retries > 0, max_waiters
	  FROM migrate_lock_stats WHERE relation = 'public.t'}),
	"4|t|3", 'migrate_lock_stats sums the figures per table');

$node->safe_psql('postgres', q{
	CREATE TABLE gone (id int);
	INSERT INTO gone VALUES (1);
	INSERT INTO migrate_policy (rule, action, table_pattern) VALUES ('drop_column', 'warn', 't');
});
$node->psql('postgres', 'DROP TABLE gone');              # refused
$node->psql('postgres', 'ALTER TABLE t DROP COLUMN f');  # warned
my $metrics = $node->safe_psql('postgres', 'SELECT migrate_metrics()') . "\n";
like($metrics, qr/^pg_migrate_policy_violations_total\{rule="drop_table",action="deny"\} 1$/m,
	'a refusal is counted per rule');
like($metrics, qr/^pg_migrate_policy_violations_total\{rule="drop_column",action="warn"\} 1$/m,
	'a warning is counted per rule');
like($metrics, qr/^pg_migrate_lock_held_seconds_count 5$/m,
	'the lock-hold histogram counts every statement with a hold time');
like($metrics, qr/^pg_migrate_lock_held_seconds_bucket\{le="1"\} 4$/m,
	'one of them held its lock for more than a second');
like($metrics, qr/^pg_migrate_lock_retries_total [1-9][0-9]*$/m, 'retries are counted');
like($metrics, qr/^pg_migrate_jobs\{state="running"\} 0$/m, 'jobs by state, zeros included');

my $promtool = $ENV{PGM_PROMTOOL} || 'promtool';
my ($pout, $perr) = ('', '');
my $ok = IPC::Run::run([ $promtool, 'check', 'metrics' ], '<', \$metrics, '>', \$pout, '2>', \$perr);
note "promtool: $pout$perr" if "$pout$perr" ne '';
ok($ok, 'promtool check metrics accepts the exposition, lint included');
my $broken = $metrics =~ s/_total\{/_total{{/r;
ok(!IPC::Run::run([ $promtool, 'check', 'metrics' ], '<', \$broken, '>', \$pout, '2>', \$perr),
	'and would reject a broken one');

$node->stop;
done_testing();
