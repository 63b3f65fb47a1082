# A pg_dump / pg_restore round trip reproduces the DDL history exactly,
# run the documented way (history recording off for the restore session).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('dump');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_migrate'");
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql('src', q{
	CREATE EXTENSION pg_migrate;
	CREATE TABLE t (id int PRIMARY KEY, v text);
	CREATE INDEX t_v ON t (v);
	ALTER TABLE t ADD COLUMN w int;
	INSERT INTO t SELECT g, g::text, g FROM generate_series(1, 100) g;
	ALTER TABLE t ALTER COLUMN w TYPE bigint;
	COMMENT ON TABLE t IS 'restored';
	CREATE VIEW tv AS SELECT id FROM t;
});

my $query = 'SELECT * FROM migrate_ddl_history ORDER BY id';
my $before = $node->safe_psql('src', $query);
my $count = $node->safe_psql('src', 'SELECT count(*) FROM migrate_ddl_history');
cmp_ok($count, '>=', 7, "source has $count history rows");

my $dump = $node->basedir . '/src.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-f', $dump, '-d', $node->connstr('src') ],
	'pg_dump succeeds');

$node->safe_psql('postgres', 'CREATE DATABASE dst');
{
	local $ENV{PGOPTIONS} = '-c pg_migrate.record_ddl=off';
	$node->command_ok(
		[ 'pg_restore', '--exit-on-error', '-d', $node->connstr('dst'), $dump ],
		'pg_restore --exit-on-error succeeds');
}

is($node->safe_psql('dst', $query), $before,
	'restored history is identical, row for row');
is($node->safe_psql('dst', 'SELECT count(*) FROM t'), '100', 'data restored');

# The sequence was restored too: new DDL continues after the old ids.
$node->safe_psql('dst', 'CREATE TABLE after_restore (i int)');
is($node->safe_psql('dst',
		"SELECT id > (SELECT max(id) FROM migrate_ddl_history WHERE statement NOT LIKE '%after_restore%')
		   FROM migrate_ddl_history WHERE statement LIKE '%after_restore%'"),
	't', 'history ids continue after the restored ones');

# The append-only protections come back with the extension.
$node->safe_psql('dst', 'CREATE ROLE plain');
my ($ret, $out, $err) = $node->psql('dst',
	'SET ROLE plain; DELETE FROM migrate_ddl_history');
like($err, qr/permission denied/, 'restored history is still protected');

$node->stop;
done_testing();
