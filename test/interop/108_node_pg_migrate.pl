# node-pg-migrate beside pg_migrate at its defaults: "down" of a migration
# that added a column minutes earlier works unchanged, and its bookkeeping
# table agrees.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Interop;

my $node = interop_node('node_pg_migrate');
fill_table($node, 'postgres', 'users', 300000, old => 1);

my $dir = PostgreSQL::Test::Utils::tempdir;
mkdir "$dir/migrations";
open my $fh, '>', "$dir/migrations/1700000000000_add-nickname.js" or die;
print $fh <<'JS';
exports.up = (pgm) => { pgm.addColumns('users', { nickname: { type: 'text' } }); };
exports.down = (pgm) => { pgm.dropColumns('users', ['nickname']); };
JS
close $fh;
my %env = (DATABASE_URL => sprintf('postgres://%s@localhost:%d/postgres?host=%s',
		scalar getpwuid($<), $node->port, $node->host));
my @npm = (npm_tool('node-pg-migrate'), '-m', "$dir/migrations");
my $column = q{SELECT count(*) FROM pg_attribute WHERE attrelid = 'users'::regclass
	AND attname = 'nickname' AND NOT attisdropped};

my ($rc, $out, $err) = run_tool([ @npm, 'up' ], 120, %env);
is($rc, 0, 'node-pg-migrate up: adds the column');
is($node->safe_psql('postgres', $column), '1', 'the column is there');
($rc, $out, $err) = run_tool([ @npm, 'down' ], 120, %env);
is($rc, 0, 'node-pg-migrate down of the column added minutes ago: works');
is($node->safe_psql('postgres', $column), '0', 'the column is gone');
is($node->safe_psql('postgres', 'SELECT count(*) FROM pgmigrations'), '0',
	"node-pg-migrate's table says nothing is applied");

# A later "down" of a column added long ago is refused, with nothing
# changed: node-pg-migrate runs each migration in a transaction.
$node->safe_psql('postgres', q{
	UPDATE migrate_ddl_history SET occurred_at = occurred_at - interval '2 days'
	 WHERE statement LIKE '%nickname%'});
($rc, $out, $err) = run_tool([ @npm, 'up' ], 120, %env);
$node->safe_psql('postgres', q{
	UPDATE migrate_ddl_history SET occurred_at = occurred_at - interval '2 days'
	 WHERE statement LIKE '%nickname%'});
($rc, $out, $err) = run_tool([ @npm, 'down' ], 120, %env);
isnt($rc, 0, 'node-pg-migrate down of a column added days ago: refused');
like($err, qr/rule "drop_column" refuses/, 'the refusal names the rule');
is($node->safe_psql('postgres', $column), '1', 'the column is still there');
is($node->safe_psql('postgres', 'SELECT count(*) FROM pgmigrations'), '1',
	"node-pg-migrate's table still says it is applied");

$node->stop;
done_testing();
