# On a hot standby: the history replicates, reading functions work, and the
# functions that write say clearly why they cannot run there.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_migrate'");
$primary->start;
$primary->safe_psql('postgres', q{
	CREATE EXTENSION pg_migrate;
	SET pg_migrate.enforce = off;
	SELECT migrate_apply('1', 'CREATE TABLE t (i int)', 'DROP TABLE t');
});
$primary->backup('b');

my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'b', has_streaming => 1);
$standby->start;
$primary->safe_psql('postgres', 'CREATE INDEX t_i ON t (i)');
$primary->wait_for_catchup($standby);

is($standby->safe_psql('postgres',
		"SELECT string_agg(command_tag, ',' ORDER BY id) FROM migrate_ddl_history"),
	'CREATE EXTENSION,CREATE TABLE,CREATE INDEX', 'the history replicated');
is($standby->safe_psql('postgres', 'SELECT version || state FROM migrate_status()'),
	'1applied', 'migrate_status works on the standby');
is($standby->safe_psql('postgres', 'SELECT count(*) FROM migrate_drift()'),
	'1', 'migrate_drift works on the standby');
is($standby->safe_psql('postgres', 'SELECT count(*) FROM migrate_rules'),
	'14', 'migrate_rules works on the standby');

my ($ret, $out, $err) = $standby->psql('postgres',
	"SELECT migrate_apply('2', 'CREATE TABLE u (i int)', 'DROP TABLE u')");
like($err, qr/migrations cannot be applied on a hot standby/,
	'migrate_apply says why it cannot run');
($ret, $out, $err) = $standby->psql('postgres', "SELECT migrate_rollback('1')");
like($err, qr/migrations cannot be applied on a hot standby/,
	'migrate_rollback says why it cannot run');
($ret, $out, $err) = $standby->psql('postgres', "SELECT migrate_history_purge('1 day')");
like($err, qr/read-only transaction/, 'migrate_history_purge refuses on the standby');
($ret, $out, $err) = $standby->psql('postgres',
	"SELECT * FROM migrate_check('ALTER TABLE t ADD COLUMN j int')");
is($ret, 0, 'migrate_check runs on the standby');
like($out, qr/error\|.*read-only transaction/,
	'and reports that the statement cannot run there');

# Restart of the standby with the library preloaded is clean.
$standby->restart;
is($standby->safe_psql('postgres', 'SELECT count(*) FROM migrate_ddl_history'),
	'3', 'the standby restarts with the library preloaded');

$standby->stop;
$primary->stop;
done_testing();
