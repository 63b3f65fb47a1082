# pg_dump, then the first restore a user types: pg_restore with no options,
# and psql < dump, each into a new database, with pg_migrate at its
# defaults.  The restore is a fresh database being rebuilt by one session:
# its index builds and constraints on the tables it just loaded block
# nobody, and its own statements are not new history.  Both restores must
# finish without an error, with every index and constraint, the same rows
# and the same history as the source.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Interop;

my $node = interop_node('dump_restore');
$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql('src', 'CREATE EXTENSION pg_migrate');
fill_table($node, 'src', 'customers', 200000);
$node->safe_psql('src', q{
	BEGIN;
	CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers,
	                     total numeric CHECK (total >= 0), code text UNIQUE);
	INSERT INTO orders SELECT g, g % 200000 + 1, g % 97, 'c' || g FROM generate_series(1, 300000) g;
	CREATE INDEX orders_customer ON orders (customer_id);
	COMMIT;
	SELECT migrate_apply('1', 'ALTER TABLE orders ADD COLUMN note text', 'ALTER TABLE orders DROP COLUMN note');
});

my %q = (
	indexes => q{SELECT indexrelid::regclass || ' ' || indisvalid || ' ' || pg_get_indexdef(indexrelid)
	               FROM pg_index WHERE indrelid IN ('customers'::regclass, 'orders'::regclass) ORDER BY 1},
	constraints => q{SELECT conrelid::regclass || ' ' || conname || ' ' || convalidated || ' ' || pg_get_constraintdef(oid)
	                   FROM pg_constraint WHERE conrelid IN ('customers'::regclass, 'orders'::regclass) ORDER BY 1},
	history => q{SELECT * FROM migrate_ddl_history ORDER BY id},
	migrations => q{SELECT version, checksum, state FROM migrate_migrations ORDER BY version},
	customers => q{SELECT count(*) || ' ' || md5(string_agg(c::text, ',' ORDER BY id)) FROM customers c},
	orders => q{SELECT count(*) || ' ' || md5(string_agg(o::text, ',' ORDER BY id)) FROM orders o},
);
my %src = map { $_ => $node->safe_psql('src', $q{$_}) } keys %q;

my $custom = $node->basedir . '/src.dump';
my $plain = $node->basedir . '/src.sql';
$node->command_ok([ 'pg_dump', '-Fc', '-f', $custom, '-d', $node->connstr('src') ], 'pg_dump -Fc');
$node->command_ok([ 'pg_dump', '-f', $plain, '-d', $node->connstr('src') ], 'pg_dump (plain)');

sub compare
{
	my ($db, $how) = @_;
	for my $k (sort keys %q)
	{
		is($node->safe_psql($db, $q{$k}), $src{$k}, "$how: $k as in the source");
	}
	# The next DDL is recorded and judged as usual.
	my ($ret, $out, $err) = $node->psql($db, 'DROP TABLE orders');
	like($err, qr/rule "drop_table" refuses/, "$how: the restored database is protected");
	$node->safe_psql($db, 'CREATE TABLE after_restore (i int)');
	is($node->safe_psql($db,
			"SELECT count(*) FROM migrate_ddl_history WHERE statement = 'CREATE TABLE after_restore (i int)'"),
		'1', "$how: new DDL is recorded");
}

$node->safe_psql('postgres', 'CREATE DATABASE dst_restore');
my ($rc, $out, $err) = run_tool([ 'pg_restore', '-d', $node->connstr('dst_restore'), $custom ], 300);
is($rc, 0, 'pg_restore (no options): exits 0');
unlike($err, qr/error/i, 'pg_restore: no error');
compare('dst_restore', 'pg_restore');

$node->safe_psql('postgres', 'CREATE DATABASE dst_psql');
($rc, $out, $err) = run_tool([ 'bash', '-c', sprintf('psql -X -q -d "%s" < "%s"', $node->connstr('dst_psql'), $plain) ], 300);
is($rc, 0, 'psql < dump: exits 0');
unlike($err, qr/ERROR/, 'psql < dump: no error');
compare('dst_psql', 'psql < dump');

$node->stop;
done_testing();
