# pgbench -i beside pg_migrate at its defaults.  The first initialisation
# creates its tables, empties them (0 bytes), loads them and adds primary
# keys, all in one session on tables nobody else has used: it works
# unchanged.  A second one minutes later drops what the same role created
# moments ago (its own undo): it works too.  Run again on tables
# initialised long ago it would drop populated tables: that is refused,
# whole (nothing dropped), with a hint pgbench's user can follow, and
# following it works.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Interop;

my $node = interop_node('pgbench');
my %conn = (PGHOST => $node->host, PGPORT => $node->port);
my $pkeys = q{SELECT count(*) FROM pg_constraint WHERE contype = 'p' AND conrelid::regclass::text LIKE 'pgbench%'};

my ($rc, $out, $err) = run_tool([ 'pgbench', '-i', '-s', '3', 'postgres' ], 300, %conn);
is($rc, 0, 'pgbench -i -s 3: works');
is($node->safe_psql('postgres', 'SELECT count(*) FROM pgbench_accounts'), '300000', 'accounts loaded');
is($node->safe_psql('postgres', $pkeys), '3', 'primary keys added');
($rc, $out, $err) = run_tool([ 'pgbench', '-t', '50', '-c', '2', 'postgres' ], 300, %conn);
is($rc, 0, 'pgbench runs on them');


($rc, $out, $err) = run_tool([ 'pgbench', '-i', '-s', '3', 'postgres' ], 300, %conn);
is($rc, 0, 'pgbench -i again minutes later: works');
is($node->safe_psql('postgres', $pkeys), '3', 'primary keys added');

# Tables initialised long ago (the history says so).
$node->safe_psql('postgres', q{
	UPDATE migrate_ddl_history SET occurred_at = occurred_at - interval '2 days'});
$node->safe_psql('postgres', 'INSERT INTO pgbench_history VALUES (1, 1, 1, 1, now())');
my $before = $node->safe_psql('postgres', 'SELECT count(*) FROM pgbench_history');
($rc, $out, $err) = run_tool([ 'pgbench', '-i', '-s', '3', 'postgres' ], 300, %conn);
isnt($rc, 0, 'pgbench -i on tables initialised long ago: refused');
like($err, qr/rule "drop_table" refuses/, 'the refusal names the rule');
like($err, qr/INSERT INTO (\S+\.)?migrate_policy \(rule, action, schema_name, table_pattern[^)]*\) VALUES \('drop_table', 'allow', 'public', E?'pgbench\\+_/,
	'the hint gives a migrate_policy row pgbench users can write');
is($node->safe_psql('postgres', 'SELECT count(*) FROM pgbench_history'), $before, 'nothing dropped');
is($node->safe_psql('postgres', $pkeys), '3', 'nothing half done');

$node->safe_psql('postgres', q{
	INSERT INTO migrate_policy (rule, action, schema_name, table_pattern, note)
	VALUES ('drop_table', 'allow', 'public', 'pgbench\_%', 'pgbench -i may start over');
});
($rc, $out, $err) = run_tool([ 'pgbench', '-i', '-s', '3', 'postgres' ], 300, %conn);
is($rc, 0, 'pgbench -i with the policy row: works');
is($node->safe_psql('postgres', 'SELECT count(*) FROM pgbench_history'), '0', 'started over');
is($node->safe_psql('postgres', $pkeys), '3', 'primary keys added');

$node->stop;
done_testing();
