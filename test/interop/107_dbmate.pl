# dbmate beside pg_migrate at its defaults.  Rolling back a migration that
# added a column minutes earlier works unchanged.  A migration dropping a
# long-standing column is refused, and since dbmate prints only the error
# message, the message itself says how to go ahead; dbmate's own table and
# the schema stay as they were.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Interop;

my $node = interop_node('dbmate');
fill_table($node, 'postgres', 'users', 300000, old => 1);
$node->safe_psql('postgres', 'SET pg_migrate.record_ddl = off; ALTER TABLE users ADD COLUMN legacy text');

my $dir = PostgreSQL::Test::Utils::tempdir;
mkdir "$dir/migrations";
my $url = sprintf('postgres://%s@localhost:%d/postgres?socket=%s&sslmode=disable',
	scalar getpwuid($<), $node->port, $node->host);
my @dbmate = (npm_tool('dbmate'), '--url', $url, '--migrations-dir', "$dir/migrations",
	'--no-dump-schema');

sub migration
{
	my ($file, $up, $down) = @_;
	open my $fh, '>', "$dir/migrations/$file" or die;
	print $fh "-- migrate:up\n$up\n\n-- migrate:down\n$down\n";
	close $fh;
}
my $column = sub {
	$node->safe_psql('postgres',
		"SELECT count(*) FROM pg_attribute WHERE attrelid = 'users'::regclass AND attname = '$_[0]' AND NOT attisdropped");
};

migration('20240101000000_add_nickname.sql', 'ALTER TABLE users ADD COLUMN nickname text;',
	'ALTER TABLE users DROP COLUMN nickname;');
my ($rc, $out, $err) = run_tool([ @dbmate, 'migrate' ], 120);
is($rc, 0, 'dbmate migrate: adds the column');
is($column->('nickname'), '1', 'the column is there');
($rc, $out, $err) = run_tool([ @dbmate, 'rollback' ], 120);
is($rc, 0, 'dbmate rollback of the column added minutes ago: works');
is($column->('nickname'), '0', 'the column is gone');
is($node->safe_psql('postgres', 'SELECT count(*) FROM schema_migrations'), '0',
	"dbmate's table says nothing is applied");

unlink "$dir/migrations/20240101000000_add_nickname.sql";
migration('20240102000000_drop_legacy.sql', 'ALTER TABLE users DROP COLUMN legacy;',
	'ALTER TABLE users ADD COLUMN legacy text;');
($rc, $out, $err) = run_tool([ @dbmate, 'migrate' ], 120);
isnt($rc, 0, 'dbmate migrate dropping an old column: refused');
like($err, qr/rule "drop_column" refuses.*migrate_override/s,
	'what dbmate prints names the rule and migrate_override');
is($column->('legacy'), '1', 'the old column is still there');
is($node->safe_psql('postgres', 'SELECT count(*) FROM schema_migrations'), '0',
	'dbmate recorded nothing');

migration('20240102000000_drop_legacy.sql',
	"SELECT migrate_override('drop_column', 'legacy unused since release 40');\nALTER TABLE users DROP COLUMN legacy;",
	'ALTER TABLE users ADD COLUMN legacy text;');
($rc, $out, $err) = run_tool([ @dbmate, 'migrate' ], 120);
is($rc, 0, 'dbmate migrate with the override: works');
is($column->('legacy'), '0', 'the old column is dropped');

$node->stop;
done_testing();
