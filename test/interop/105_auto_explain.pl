# auto_explain beside pg_migrate, logging every plan including nested
# statements: the plans of the user's statements are logged, none of
# pg_migrate's own SQL (the history row, the event triggers' catalog
# reads) is.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Interop;

my $node = interop_node('auto_explain', preload => 'pg_migrate,auto_explain', conf => q{
auto_explain.log_min_duration = 0
auto_explain.log_nested_statements = on
log_min_messages = log
});
my $offset = -s $node->logfile;
$node->safe_psql('postgres', q{
	CREATE TABLE t (id int PRIMARY KEY, v text);
	ALTER TABLE t ADD COLUMN w int;
	CREATE INDEX t_v ON t (v);
	SELECT count(*) FROM t;
	DROP TABLE t;
});
my $log = server_log_since($node, $offset);
like($log, qr/Query Text: SELECT count\(\*\) FROM t/, "the user's query is explained");
my @ours = $log =~ /Query Text: ([^\n]*(?:migrate_|pg_event_trigger)[^\n]*)/g;
is(scalar(@ours), 0, "no plan of pg_migrate's own SQL is logged")
  or diag join("\n", @ours);

$node->stop;
done_testing();
