# Helpers shared by the interop tests: a cluster with pg_migrate preloaded
# at its defaults (plus whatever the tool under test needs), tables of a few
# hundred thousand rows, and running a tool's command with a time limit.
package Interop;

use strict;
use warnings;
use Exporter 'import';
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

our @EXPORT = qw(interop_node fill_table run_tool npm_tool table_digest
  server_log_since);

# A started cluster.  preload: shared_preload_libraries (default
# 'pg_migrate'); conf: more postgresql.conf lines.  pg_migrate's own
# settings are left at their defaults.
sub interop_node
{
	my ($name, %o) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	my $preload = $o{preload} // 'pg_migrate';
	$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = '$preload'
max_worker_processes = 16
log_min_messages = warning
} . ($o{conf} // ''));
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION pg_migrate')
	  unless $o{no_extension};
	return $node;
}

# A table of $rows rows (id primary key, a text column and an indexed
# integer), well above pg_migrate.small_table_size.  With old => 1 it is
# created the way a table that predates pg_migrate's history looks (no
# history rows say when it was made).
sub fill_table
{
	my ($node, $db, $table, $rows, %o) = @_;
	my $old = $o{old} ? 'SET LOCAL pg_migrate.record_ddl = off;' : '';
	$node->safe_psql($db, qq{
		BEGIN;
		$old
		CREATE TABLE $table (id bigint PRIMARY KEY, v text, n int);
		INSERT INTO $table SELECT g, md5(g::text), g % 1000
		  FROM generate_series(1, $rows) g;
		CREATE INDEX ${table}_n ON $table (n);
		COMMIT;
		ANALYZE $table;
	});
}

# Rows and a checksum of a table's content.
sub table_digest
{
	my ($node, $db, $table) = @_;
	return $node->safe_psql($db,
		"SELECT count(*) || ' ' || md5(string_agg(t::text, ',' ORDER BY id)) FROM $table t");
}

# Run a command with a time limit; returns (exit code, stdout, stderr,
# timed out).  %env is added to the environment.
sub run_tool
{
	my ($cmd, $seconds, %env) = @_;
	my ($out, $err) = ('', '');
	local %ENV = (%ENV, %env);
	my $timer = IPC::Run::timeout($seconds);
	my $h = IPC::Run::start($cmd, '<', \undef, '>', \$out, '2>', \$err, $timer);
	my $timed_out = 0;
	eval { $h->finish; 1 } or do
	{
		$timed_out = 1;
		$h->kill_kill;
	};
	my $rc = $timed_out ? -1 : $h->result(0);
	note "command: @$cmd (exit $rc" . ($timed_out ? ', timed out' : '') . ")";
	note "stdout: $out" if $out ne '';
	note "stderr: $err" if $err ne '';
	return ($rc, $out, $err, $timed_out);
}

# The path of an npm tool installed by test/run.sh.
sub npm_tool
{
	my ($name) = @_;
	my $dir = $ENV{PGM_INTEROP_NPM}
	  or BAIL_OUT('PGM_INTEROP_NPM is not set: run the interop tests with test/run.sh');
	return "$dir/$name";
}

# The server log written since byte offset $from.
sub server_log_since
{
	my ($node, $from) = @_;
	return substr(slurp_file($node->logfile), $from);
}

1;
