# With wal_level = minimal, the history's id sequence is created and first
# used in the same transaction (CREATE EXTENSION).  Its ids must not go back
# after a crash, or the next DDL would collide with a committed row.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('walmin');
$node->init;    # wal_level = minimal
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_migrate'");
$node->start;
is($node->safe_psql('postgres', 'SHOW wal_level'), 'minimal', 'wal_level is minimal');

# Also the case of DDL in the very transaction that creates the extension.
$node->safe_psql('postgres', q{
	BEGIN;
	CREATE EXTENSION pg_migrate;
	CREATE TABLE w0 (i int);
	COMMIT;
});
$node->safe_psql('postgres', 'CREATE TABLE w1 (i int)');
$node->safe_psql('postgres', 'CREATE TABLE w2 (i int)');
$node->stop('immediate');
$node->start;

my ($ret, $out, $err) = $node->psql('postgres', 'CREATE TABLE w3 (i int)');
is($ret, 0, 'DDL after the crash succeeds');
is($err, '', 'without a duplicate history id');
is($node->safe_psql('postgres',
		"SELECT string_agg(statement, ', ' ORDER BY id) FROM migrate_ddl_history"),
	'CREATE EXTENSION pg_migrate, CREATE TABLE w0 (i int), CREATE TABLE w1 (i int), '
	  . 'CREATE TABLE w2 (i int), CREATE TABLE w3 (i int)',
	'every committed statement is there once, in order');

$node->stop;
done_testing();
