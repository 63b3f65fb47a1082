# A migration blocked by a long-running reader retries with its locks
# released in between, so other readers never queue behind it for longer
# than pg_migrate.migration_lock_timeout; it completes once the reader ends.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use IPC::Run;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('lockq');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_migrate'");
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_migrate;
	CREATE TABLE t (id int PRIMARY KEY, v text);
	INSERT INTO t SELECT g, 'x' FROM generate_series(1, 1000) g;
});

my $lock_timeout_ms = 200;

# A long reader: holds ACCESS SHARE on t until we commit it.
my $reader = $node->background_psql('postgres');
$reader->query_safe('BEGIN');
$reader->query_safe('SELECT count(*) FROM t');

# The migration, in the background.
my ($mout, $merr) = ('', '');
my $migration = IPC::Run::start(
	[
		'psql', '-X', '-At', '-d', $node->connstr('postgres'),
		'-c', "SET pg_migrate.migration_lock_timeout = '${lock_timeout_ms}ms'",
		'-c', "SET pg_migrate.apply_retry_delay = '50ms'",
		'-c', "SET pg_migrate.apply_retries = 100",
		'-v', 'ON_ERROR_STOP=1',
		'-c', "SELECT migrate_apply('1', 'ALTER TABLE t ADD COLUMN w int', 'ALTER TABLE t DROP COLUMN w')"
	],
	'>', \$mout, '2>', \$merr);

$node->poll_query_until('postgres',
	"SELECT count(*) > 0 FROM pg_locks WHERE NOT granted AND relation = 't'::regclass")
  or die "the migration never waited for its lock";

# Other readers, each in its own transaction, timed by psql.
my $script = "\\timing on\n" . ("SELECT count(*) FROM t;\nSELECT pg_sleep(0.02);\n" x 60);
my ($rout, $rerr) = ('', '');
IPC::Run::run([ 'psql', '-X', '-d', $node->connstr('postgres') ],
	'<', \$script, '>', \$rout, '2>', \$rerr);
my @times;
my $i = 0;
for my $line (split /\n/, $rout)
{
	next unless $line =~ /^Time: ([0-9.]+) ms/;
	push @times, $1 if $i++ % 2 == 0;    # the SELECT count(*) lines
}
my $max = 0;
$max = $_ > $max ? $_ : $max for @times;
note sprintf("%d reads while the migration waited; slowest %.1f ms", scalar @times, $max);
cmp_ok(scalar @times, '==', 60, 'every read completed');
cmp_ok($max, '<', $lock_timeout_ms + 300,
	"no reader waited much longer than lock_timeout ($lock_timeout_ms ms)");

is($migration->pumpable ? 'running' : 'done', 'running',
	'the migration is still retrying while the long reader holds its lock');

$reader->query_safe('COMMIT');
$reader->quit;
$migration->finish;
note "migration stderr: $merr" if $merr;
like($mout, qr/^applied$/m, 'the migration completed once the reader was gone');
cmp_ok($node->safe_psql('postgres', "SELECT retries FROM migrate_status() WHERE version = '1'"),
	'>', 0, 'it took retries to get there');
is($node->safe_psql('postgres',
		"SELECT count(*) FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = 'w'"),
	'1', 'the column exists');

$node->stop;
done_testing();
