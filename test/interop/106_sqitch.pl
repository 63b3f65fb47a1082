# Sqitch beside pg_migrate at its defaults.  Reverting a change that added
# a column minutes earlier is the tool's own undo of its own recent change:
# it works unchanged.  Dropping a column that has been there for long is
# refused (data loss), with a hint a Sqitch user can follow in the change's
# own script, and Sqitch's registry and the schema are left as they were.
use strict;
use warnings;
use File::Path qw(make_path);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Interop;

my $node = interop_node('sqitch');
fill_table($node, 'postgres', 'users', 300000, old => 1);
$node->safe_psql('postgres', 'SET pg_migrate.record_ddl = off; ALTER TABLE users ADD COLUMN legacy text');

my $dir = PostgreSQL::Test::Utils::tempdir;
my %env = (PGHOST => $node->host, PGPORT => $node->port, PGDATABASE => 'postgres',
	SQITCH_FULLNAME => 'Test', SQITCH_EMAIL => 'test@example.org',
	SQITCH_USER_CONFIG => "$dir/user.conf", SQITCH_SYSTEM_CONFIG => "$dir/system.conf");
my @sqitch = ('sqitch', '--chdir', $dir);

sub sqitch { return run_tool([ @sqitch, @_ ], 120, %env); }

sub change
{
	my ($name, $deploy, $revert) = @_;
	my ($rc) = sqitch('add', $name, '-n', $name);
	die "sqitch add $name failed" if $rc;
	open my $fh, '>', "$dir/deploy/$name.sql" or die;
	print $fh "BEGIN;\n$deploy\nCOMMIT;\n";
	close $fh;
	open $fh, '>', "$dir/revert/$name.sql" or die;
	print $fh "BEGIN;\n$revert\nCOMMIT;\n";
	close $fh;
	unlink "$dir/verify/$name.sql";
}

my $column = sub {
	$node->safe_psql('postgres',
		"SELECT count(*) FROM pg_attribute WHERE attrelid = 'users'::regclass AND attname = '$_[0]' AND NOT attisdropped");
};

my ($rc, $out, $err) = sqitch('init', 'shop', '--engine', 'pg', '--target', 'db:pg:');
is($rc, 0, 'sqitch init');
change('add_nickname', 'ALTER TABLE users ADD COLUMN nickname text;',
	'ALTER TABLE users DROP COLUMN nickname;');
($rc, $out, $err) = sqitch('deploy');
is($rc, 0, 'sqitch deploy: adds the column');
is($column->('nickname'), '1', 'the column is there');

($rc, $out, $err) = sqitch('revert', '-y');
is($rc, 0, 'sqitch revert of the column added minutes ago: works');
unlike("$out$err", qr/manually repaired/, 'no repair needed');
is($column->('nickname'), '0', 'the column is gone');
is($node->safe_psql('postgres',
		"SELECT count(*) FROM migrate_ddl_history WHERE statement LIKE '%DROP COLUMN nickname%' AND policy_overrides IS NOT NULL"),
	'1', 'the history says why the drop was allowed');

# A column that has been there for long: refused, nothing changed.
change('drop_legacy', 'ALTER TABLE users DROP COLUMN legacy;',
	'ALTER TABLE users ADD COLUMN legacy text;');
($rc, $out, $err) = sqitch('deploy');
isnt($rc, 0, 'sqitch deploy dropping an old column: refused');
like($err, qr/rule "drop_column" refuses/, 'the refusal names the rule');
like($err, qr/migrate_override\('drop_column'/, 'the hint says how to record the reason');
is($column->('legacy'), '1', 'the old column is still there');
unlike("$out$err", qr/manually repaired/, 'sqitch needs no manual repair');
($rc, $out, $err) = sqitch('status');
like($out, qr/No changes deployed/,
	'sqitch status: it reverted what that deploy had done (its own recent change) and recorded nothing');
is($column->('nickname'), '0', 'the column of the reverted change is gone again');

# The Sqitch user follows the hint in the change's script.
open my $fh, '>', "$dir/deploy/drop_legacy.sql" or die;
print $fh "BEGIN;\nSELECT migrate_override('drop_column', 'legacy unused since release 40');\n"
  . "ALTER TABLE users DROP COLUMN legacy;\nCOMMIT;\n";
close $fh;
($rc, $out, $err) = sqitch('deploy');
is($rc, 0, 'sqitch deploy with the override: works');
is($column->('legacy'), '0', 'the old column is dropped');

$node->stop;
done_testing();
