# pg_partman's retention beside pg_migrate at its defaults.  Dropping an
# expired partition full of rows is a drop of populated data, so without a
# word from the DBA run_maintenance() is refused, whole (nothing half
# done), and the refusal's hint gives the one migrate_policy row that lets
# pg_partman drop the partitions of that parent, which pg_partman's users
# can follow (neither run_maintenance() nor its background worker can call
# migrate_override()).  With that row, retention works from a session and
# from pg_partman's background worker; other drops stay refused.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Interop;

my $me = getpwuid($<);
my $node = interop_node('partman',
	preload => 'pg_migrate,pg_partman_bgw',
	conf => qq{
pg_partman_bgw.dbname = 'postgres'
pg_partman_bgw.role = '$me'
pg_partman_bgw.interval = 3600
});
$node->safe_psql('postgres', q{
	CREATE SCHEMA partman;
	CREATE EXTENSION pg_partman SCHEMA partman;
	CREATE TABLE events (id bigint, created_at timestamptz NOT NULL, payload text)
	  PARTITION BY RANGE (created_at);
	SELECT partman.create_parent('public.events', 'created_at', 'native', 'daily',
	  p_start_partition := to_char(now() - interval '12 days', 'YYYY-MM-DD'));
	INSERT INTO events
	SELECT g, now() - interval '12 days' + (g % 1200) * interval '864 seconds', md5(g::text)
	  FROM generate_series(1, 300000) g;
	UPDATE partman.part_config SET retention = '8 days', retention_keep_table = false
	 WHERE parent_table = 'public.events';
	CREATE TABLE keep (id int);
	INSERT INTO keep VALUES (1);
});
# The partitions were made long ago, as far as the history can tell (its
# owner may rewrite it; a recent creation by the same role would be
# judged as that role's own undo).
$node->safe_psql('postgres',
	q{UPDATE migrate_ddl_history SET occurred_at = occurred_at - interval '30 days'});
my $parts = q{SELECT count(*) FROM pg_inherits WHERE inhparent = 'events'::regclass};
my $nparts = $node->safe_psql('postgres', $parts);
my $rows = $node->safe_psql('postgres', 'SELECT count(*) FROM events');
my $expired = $node->safe_psql('postgres',
	"SELECT count(*) FROM events WHERE created_at < date_trunc('day', now() - interval '8 days')");
cmp_ok($expired, '>', 0, 'some rows are in expired partitions');

# Without a policy row: refused, and nothing done.
my ($ret, $out, $err) = $node->psql('postgres', 'SELECT partman.run_maintenance()');
like($err, qr/rule "drop_table" refuses/, 'run_maintenance(): the drop of an expired partition is refused');
like($err, qr/HINT:.*INSERT INTO (\S+\.)?migrate_policy \(rule, action, partition_of[^)]*\) VALUES \('drop_table', 'allow', 'public\.events'/s,
	'the hint gives the migrate_policy row for partitions of public.events');
is($node->safe_psql('postgres', $parts), $nparts, 'no partition detached or dropped');
is($node->safe_psql('postgres', 'SELECT count(*) FROM events'), $rows, 'no row lost');

# The DBA follows the hint once.
$node->safe_psql('postgres', q{
	INSERT INTO migrate_policy (rule, action, partition_of, note)
	VALUES ('drop_table', 'allow', 'public.events', 'pg_partman retention of events');
});
($ret, $out, $err) = $node->psql('postgres', 'SELECT partman.run_maintenance()');
is($ret, 0, 'run_maintenance(): succeeds with the policy row');
is($node->safe_psql('postgres', 'SELECT count(*) FROM events'), $rows - $expired,
	'the expired partitions are gone, the others kept');
is($node->safe_psql('postgres',
		"SELECT count(*) FROM migrate_ddl_history WHERE command_tag = 'DROP TABLE'"),
	$nparts - $node->safe_psql('postgres', $parts), 'each drop is in the history');

# The row covers partitions of that parent only.
($ret, $out, $err) = $node->psql('postgres', 'DROP TABLE keep');
like($err, qr/rule "drop_table" refuses/, 'other tables are still protected');

# pg_partman's background worker, with a shorter retention.
my $log_offset = -s $node->logfile;
$node->safe_psql('postgres', q{
	UPDATE partman.part_config SET retention = '5 days' WHERE parent_table = 'public.events';
	ALTER SYSTEM SET pg_partman_bgw.interval = 1;
	SELECT pg_reload_conf();
});
my $left = $node->safe_psql('postgres',
	"SELECT count(*) FROM events WHERE created_at >= date_trunc('day', now() - interval '5 days')");
ok($node->poll_query_until('postgres', "SELECT count(*) = $left FROM events"),
	'pg_partman_bgw: retention applied by the background worker');
unlike(server_log_since($node, $log_offset), qr/rule "drop_table" refuses/,
	'pg_partman_bgw: nothing refused');

$node->stop;
done_testing();
