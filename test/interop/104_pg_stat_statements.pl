# pg_stat_statements beside pg_migrate.  A DDL statement pg_migrate retried
# after lock timeouts is counted once, like one that ran once; pg_migrate's
# own SQL (the history row, the event triggers' catalog reads) is not
# counted as the user's statements, top-level or nested.  In both orders of
# shared_preload_libraries.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Interop;

for my $preload ('pg_stat_statements,pg_migrate', 'pg_migrate,pg_stat_statements')
{
	my $node = interop_node($preload =~ /^pg_stat/ ? 'pgss_first' : 'pgss_last',
		preload => $preload, conf => "pg_stat_statements.track_utility = on\n");
	$node->safe_psql('postgres', 'CREATE EXTENSION pg_stat_statements');
	fill_table($node, 'postgres', 't', 300000);
	$node->safe_psql('postgres', 'SELECT pg_stat_statements_reset()');

	# Retried: a reader holds its lock for a second.
	my $reader = $node->background_psql('postgres');
	$reader->query_safe('BEGIN');
	$reader->query_safe('SELECT count(*) FROM t');
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[ 'psql', '-X', '-d', $node->connstr('postgres'), '-c', 'ALTER TABLE t ADD COLUMN c int' ],
		'<', \undef, '>', \$out, '2>', \$err);
	$node->poll_query_until('postgres',
		"SELECT count(*) > 0 FROM pg_stat_activity WHERE query = 'ALTER TABLE t ADD COLUMN c int' AND wait_event_type = 'Lock'")
	  or diag 'the DDL never waited';
	sleep 1;
	$reader->query_safe('COMMIT');
	$reader->quit;
	$h->finish;
	is($h->result(0), 0, "$preload: the retried DDL succeeds");

	# Not retried.
	$node->safe_psql('postgres', 'CREATE TABLE other (i int); ALTER TABLE other ADD COLUMN j int');

	is($node->safe_psql('postgres',
			"SELECT sum(calls) FROM pg_stat_statements WHERE query = 'ALTER TABLE t ADD COLUMN c int'"),
		'1', "$preload: the retried DDL is counted once");
	is($node->safe_psql('postgres',
			"SELECT sum(calls) FROM pg_stat_statements WHERE query = 'CREATE TABLE other (i int)'"),
		'1', "$preload: a DDL that ran once is counted once");
	is($node->safe_psql('postgres',
			"SELECT count(*) FROM pg_stat_statements WHERE toplevel AND query ~* 'migrate_|pg_event_trigger'"),
		'0', "$preload: pg_migrate's own SQL is not counted as top-level statements");

	$node->safe_psql('postgres', q{
		ALTER SYSTEM SET pg_stat_statements.track = 'all';
		SELECT pg_reload_conf();
	});
	$node->safe_psql('postgres', 'SELECT pg_stat_statements_reset()');
	$node->safe_psql('postgres', 'ALTER TABLE other ADD COLUMN k int; DROP TABLE other');
	is($node->safe_psql('postgres',
			"SELECT string_agg(query, ' | ') FROM pg_stat_statements WHERE query ~* 'migrate_|pg_event_trigger'"),
		'', "$preload: with track = all, none of pg_migrate's own SQL is counted");
	$node->stop;
}

done_testing();
