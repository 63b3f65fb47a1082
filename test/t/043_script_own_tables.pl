# A psql -f script that creates a table in one transaction and works on it
# in later ones (BEGIN/COMMIT blocks, autocommit statements), judged by the
# live hook at the defaults: what is refused, what goes through, and what
# changes once another session has used the table.
#
# Measured before TRUNCATE became an undo: the blocking rules were already
# relaxed for the session's own unused table (pg_migrate.own_new_tables),
# DROP COLUMN and DROP TABLE went through as the role's own recent undo
# (pg_migrate.own_undo_window), and only the TRUNCATE of the table the
# script had just loaded was refused.  Once another session has read the
# table, every blocking rule applies again, and so does truncate.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('script_own');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'pg_migrate'
pg_migrate.small_table_size = 0
});
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_migrate;
	CREATE ROLE app LOGIN;
	GRANT CREATE ON SCHEMA public TO app;
});

# Run a script with psql -f as role app, every statement going on after an
# error; returns the statements refused (by rule) in order.
sub run_script
{
	my ($script) = @_;
	my $file = PostgreSQL::Test::Utils::tempdir() . '/script.sql';
	open my $fh, '>', $file or die;
	print $fh $script;
	close $fh;
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'psql', '-X', '-At', '-d', $node->connstr('postgres') . ' user=app',
		'-f', $file ], '>', \$out, '2>', \$err);
	my @refused;
	for my $line (split /\n/, $err)
	{
		push @refused, "$1:$2" if $line =~ /:(\d+): ERROR:  rule "(\w+)" refuses/;
	}
	note "stderr: $err" if $err ne '';
	return join(' ', @refused);
}

my $script = q{
BEGIN;
CREATE TABLE s1 (id int PRIMARY KEY, v int, w int);
COMMIT;
BEGIN;
INSERT INTO s1 SELECT g, g, g FROM generate_series(1, 20000) g;
COMMIT;
CREATE INDEX s1_v ON s1 (v);
ALTER TABLE s1 ADD COLUMN x int DEFAULT (random() * 10)::int;
ALTER TABLE s1 ALTER COLUMN v SET NOT NULL;
UPDATE s1 SET w = w + 1;
BEGIN;
ALTER TABLE s1 DROP COLUMN w;
COMMIT;
TRUNCATE s1;
INSERT INTO s1 SELECT g, g FROM generate_series(1, 20000) g;
DROP INDEX s1_v;
DROP TABLE s1;
};
my $refused = run_script($script);
note "refused in a session's own script: '$refused'";
is($refused, '', 'nothing is refused on a table the script created and filled');
like($node->safe_psql('postgres',
		q{SELECT policy_overrides::text FROM migrate_ddl_history WHERE command_tag = 'TRUNCATE TABLE'}),
	qr/empties table s1 that this session created/, 'the TRUNCATE is recorded as an undo, with its reason');

# The same table, but another session reads it between the load and the
# rest of the script.
$script =~ s/(COMMIT;\nCREATE INDEX)/COMMIT;\n\\! psql -X -q -d "\$CONN" -c 'SELECT count(*) FROM s1' >\/dev\/null\nCREATE INDEX/;
$ENV{CONN} = $node->connstr('postgres');
$refused = run_script($script);
note "refused once another session used the table: '$refused'";
is($refused, '9:blocking_index_build 10:table_rewrite 11:not_null_scan 16:truncate',
	'once another session has used the table, the blocking rules and truncate apply again');

# A table created by another session of the same role (a second psql run),
# loaded here: not this session's own, so TRUNCATE stays refused.
$node->safe_psql('postgres', 'CREATE TABLE s2 (id int)', extra_params => [ '-U', 'app' ]);
$refused = run_script(q{
INSERT INTO s2 SELECT g FROM generate_series(1, 20000) g;
TRUNCATE s2;
});
is($refused, '3:truncate', 'a table another session of the same role created is not emptied as an undo');

$node->stop;
done_testing();
