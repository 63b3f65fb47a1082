# DDL history across restarts and crashes, and the behaviour without
# shared_preload_libraries.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('history');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_migrate'");
$node->start;

$node->safe_psql('postgres', 'CREATE EXTENSION pg_migrate');
$node->safe_psql('postgres', 'CREATE TABLE r1 (i int)');

# A committed statement survives a clean restart ...
$node->restart;
is($node->safe_psql('postgres',
		"SELECT count(*) FROM migrate_ddl_history WHERE statement = 'CREATE TABLE r1 (i int)'"),
	'1', 'history row survives a clean restart');

# ... and a crash; a statement whose transaction never committed leaves none.
$node->safe_psql('postgres', 'CREATE TABLE r2 (i int)');
my $bg = $node->background_psql('postgres', on_error_stop => 0);
$bg->query_safe('BEGIN');
$bg->query_safe('CREATE TABLE r_uncommitted (i int)');
is($bg->query_safe(
		"SELECT count(*) FROM migrate_ddl_history WHERE statement LIKE '%r_uncommitted%'"),
	'1', 'the uncommitted transaction sees its own history row');
$node->stop('immediate');
eval { $bg->quit; };
$node->start;
is($node->safe_psql('postgres',
		"SELECT count(*) FROM migrate_ddl_history WHERE statement = 'CREATE TABLE r2 (i int)'"),
	'1', 'history row survives a crash');
is($node->safe_psql('postgres',
		"SELECT count(*) FROM migrate_ddl_history WHERE statement LIKE '%r_uncommitted%'"),
	'0', 'an uncommitted statement left no row after the crash');

# The id sequence keeps going after the crash (no reuse of ids).
$node->safe_psql('postgres', 'CREATE TABLE r3 (i int)');
is($node->safe_psql('postgres',
		"SELECT count(DISTINCT id) = count(*) FROM migrate_ddl_history"),
	't', 'history ids stay unique across the crash');

# Without the preload line: DDL still works (with a warning) so the server
# can be fixed, the extension can be dropped, and CREATE EXTENSION refuses
# with a hint that says what to do.
$node->adjust_conf('postgresql.conf', 'shared_preload_libraries', "''");
$node->restart;

my ($ret, $stdout, $stderr) =
  $node->psql('postgres', 'CREATE TABLE r4 (i int)');
is($ret, 0, 'DDL still runs when the library is not preloaded');
like($stderr, qr/DDL history is not recorded/, 'and warns that history is not recorded');

$node->safe_psql('postgres', 'DROP EXTENSION pg_migrate');
($ret, $stdout, $stderr) = $node->psql('postgres', 'CREATE EXTENSION pg_migrate');
isnt($ret, 0, 'CREATE EXTENSION fails without shared_preload_libraries');
like($stderr, qr/pg_migrate must be loaded via shared_preload_libraries/,
	'error says why');
like($stderr, qr/HINT:.*shared_preload_libraries = 'pg_migrate'/,
	'hint says what to add');

$node->stop;
done_testing();
