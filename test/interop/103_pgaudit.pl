# pgaudit loaded before pg_migrate (shared_preload_libraries =
# 'pgaudit,pg_migrate'): pg_migrate's hook runs first and calls pgaudit's
# for each attempt of a DDL statement it retries after a lock timeout.
# pgaudit must see the retried statement like one that ran once: it
# succeeds (no "pgaudit stack is not empty"), is audited once, and the
# session keeps working.  Also with pgaudit.log = none, and in the other
# order.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Interop;

# Run $ddl while a reader holds a conflicting lock for a second, so that
# pg_migrate retries it at least once; returns psql's (rc, stderr).
sub ddl_behind_reader
{
	my ($node, $ddl) = @_;
	my $reader = $node->background_psql('postgres');
	$reader->query_safe('BEGIN');
	$reader->query_safe('SELECT count(*) FROM t');
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[ 'psql', '-X', '-d', $node->connstr('postgres'), '-v', 'ON_ERROR_STOP=1',
		  '-c', $ddl, '-c', 'SELECT 42' ],
		'<', \undef, '>', \$out, '2>', \$err);
	$node->poll_query_until('postgres',
		"SELECT count(*) > 0 FROM pg_stat_activity WHERE query = '$ddl' AND wait_event_type = 'Lock'")
	  or diag 'the DDL never waited for its lock';
	sleep 1;
	$reader->query_safe('COMMIT');
	$reader->quit;
	$h->finish;
	note "psql: $out $err";
	return ($h->result(0), $out, $err);
}

for my $case ([ 'pgaudit,pg_migrate', 'ddl' ], [ 'pgaudit,pg_migrate', 'none' ],
	[ 'pg_migrate,pgaudit', 'ddl' ])
{
	my ($preload, $log) = @$case;
	my $name = "$preload, pgaudit.log = $log";
	my $node = interop_node('audit_' . ($preload =~ /^pgaudit/ ? 'first' : 'last') . "_$log",
		preload => $preload, conf => "pgaudit.log = '$log'\n");
	$node->safe_psql('postgres', 'CREATE EXTENSION pgaudit');
	fill_table($node, 'postgres', 't', 300000);
	my $offset = -s $node->logfile;

	my ($rc, $out, $err) = ddl_behind_reader($node, 'ALTER TABLE t ADD COLUMN c int');
	is($rc, 0, "$name: the retried DDL succeeds");
	unlike($err, qr/pgaudit stack is not empty/, "$name: no pgaudit stack error");
	like($out, qr/42/, "$name: the session goes on");
	is($node->safe_psql('postgres',
			"SELECT count(*) FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = 'c'"),
		'1', "$name: the column exists");
	my $audit = () = server_log_since($node, $offset) =~
	  /AUDIT: SESSION,\d+,\d+,DDL,ALTER TABLE,[^\n]*ALTER TABLE t ADD COLUMN c int/g;
	is($audit, $log eq 'ddl' ? 1 : 0, "$name: audited " . ($log eq 'ddl' ? 'once' : 'never'));

	# The next statements of other sessions are audited as usual.
	$node->safe_psql('postgres', 'CREATE TABLE after_retry (i int)');
	$audit = () = server_log_since($node, $offset) =~ /AUDIT: SESSION,\d+,\d+,DDL,CREATE TABLE/g;
	is($audit, $log eq 'ddl' ? 1 : 0, "$name: later DDL audited as usual");
	$node->stop;
}

done_testing();
