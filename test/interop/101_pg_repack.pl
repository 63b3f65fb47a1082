# pg_repack beside pg_migrate at its defaults.  pg_repack builds its copy of
# the table in its own schema (indexes built without CONCURRENTLY on a
# table only it uses, its log table dropped empty, its copy of the old data
# dropped after the swap), and takes its strong lock on the user's table
# only for the swap.  None of that can block or lose anybody's data, so
# pg_repack must work unchanged: exit 0, the table rewritten with the same
# content, no trigger and no leftover tables behind.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Interop;

my $node = interop_node('repack');
$node->safe_psql('postgres', 'CREATE EXTENSION pg_repack');
fill_table($node, 'postgres', 'big', 300000);
$node->safe_psql('postgres', 'DELETE FROM big WHERE id % 3 = 0');
my $before = table_digest($node, 'postgres', 'big');
my $filenode = $node->safe_psql('postgres', "SELECT pg_relation_filenode('big')");

my %conn = (PGHOST => $node->host, PGPORT => $node->port);
my $leftovers = q{
	SELECT (SELECT count(*) FROM pg_trigger WHERE tgrelid = 'big'::regclass AND NOT tgisinternal)
	    || ' ' ||
	       (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	         WHERE n.nspname = 'repack' AND c.relkind IN ('r', 'i', 'S')
	           AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
	                           AND d.objid = c.oid AND d.deptype = 'e'))
};

# pg_repack -t: the whole table rewritten online.
my ($rc, $out, $err, $timed_out) =
  run_tool([ 'pg_repack', '-d', 'postgres', '-t', 'big' ], 180, %conn);
ok(!$timed_out, 'pg_repack -t: finishes');
is($rc, 0, 'pg_repack -t: exits 0');
unlike($err, qr/ERROR/, 'pg_repack -t: reports no error');
is($node->safe_psql('postgres', $leftovers), '0 0',
	'pg_repack -t: no trigger on the table and no tables left in its schema');
is(table_digest($node, 'postgres', 'big'), $before, 'pg_repack -t: same rows');
isnt($node->safe_psql('postgres', "SELECT pg_relation_filenode('big')"), $filenode,
	'pg_repack -t: the table was rewritten');
is($node->safe_psql('postgres',
		"SELECT count(*) FROM pg_index WHERE indrelid = 'big'::regclass AND indisvalid"),
	'2', 'pg_repack -t: both indexes valid');

# pg_repack --only-indexes: indexes rebuilt concurrently.
my $ifilenode = $node->safe_psql('postgres', "SELECT pg_relation_filenode('big_n')");
($rc, $out, $err, $timed_out) =
  run_tool([ 'pg_repack', '-d', 'postgres', '-t', 'big', '--only-indexes' ], 180, %conn);
is($rc, 0, 'pg_repack --only-indexes: exits 0');
isnt($node->safe_psql('postgres', "SELECT pg_relation_filenode('big_n')"), $ifilenode,
	'pg_repack --only-indexes: the index was rebuilt');
is($node->safe_psql('postgres',
		"SELECT count(*) FROM pg_index WHERE indrelid = 'big'::regclass AND indisvalid"),
	'2', 'pg_repack --only-indexes: indexes valid, none left behind');

# While pg_repack waits for its swap lock behind a long reader, other
# readers are not stalled behind it for long (pg_migrate bounds the wait).
my $reader = $node->background_psql('postgres');
$reader->query_safe('BEGIN');
$reader->query_safe('SELECT count(*) FROM big');
my ($rout, $rerr) = ('', '');
my $repack = IPC::Run::start([ 'pg_repack', '-d', 'postgres', '-t', 'big',
		'--wait-timeout', '120' ],
	'<', \undef, '>', \$rout, '2>', \$rerr,
	init => sub { $ENV{PGHOST} = $node->host; $ENV{PGPORT} = $node->port; });
$node->poll_query_until('postgres',
	"SELECT count(*) > 0 FROM pg_stat_activity WHERE query ILIKE 'LOCK TABLE%big%' AND state = 'active'")
  or diag 'pg_repack never waited for its lock';
my $script = "\\timing on\n" . ("SELECT count(*) FROM big WHERE id < 100;\nSELECT pg_sleep(0.05);\n" x 30);
my ($sout, $serr) = ('', '');
IPC::Run::run([ 'psql', '-X', '-d', $node->connstr('postgres') ],
	'<', \$script, '>', \$sout, '2>', \$serr);
my ($max, $i) = (0, 0);
for my $line (split /\n/, $sout)
{
	next unless $line =~ /^Time: ([0-9.]+) ms/;
	$max = $1 if $i++ % 2 == 0 && $1 > $max;
}
note "slowest reader while pg_repack waited: $max ms";
cmp_ok($max, '<', 1000, 'readers wait well under a second while pg_repack waits');
$reader->query_safe('COMMIT');
$reader->quit;
$repack->finish;
is($repack->result(0), 0, 'pg_repack behind a long reader: exits 0 once it ends');
is($node->safe_psql('postgres', $leftovers), '0 0', 'pg_repack behind a reader: left clean');
is(table_digest($node, 'postgres', 'big'), $before, 'pg_repack behind a reader: same rows');

# pg_repack's documented uninstall works once it has left nothing behind.
$node->safe_psql('postgres', 'DROP EXTENSION pg_repack CASCADE');
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_namespace WHERE nspname = 'repack'"),
	'0', 'DROP EXTENSION pg_repack CASCADE');

$node->stop;
done_testing();
