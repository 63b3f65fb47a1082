# Job tables survive a pg_dump / pg_restore round trip: the relation and the
# owner come back by name, the key by column name, and a paused job resumed
# in the restored database finishes with every row updated exactly once --
# even though the restored table's columns are numbered differently (the
# dropped column before the key is not restored).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmJobs;

my $node = pgm_node('jobdump');
$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql('src', q{
CREATE EXTENSION pg_migrate;
CREATE ROLE jobber;
CREATE TABLE t (junk int, id int NOT NULL, n int NOT NULL DEFAULT 0);
ALTER TABLE t DROP COLUMN junk;
ALTER TABLE t ADD PRIMARY KEY (id);
INSERT INTO t (id) SELECT g FROM generate_series(1, 20000) g;
GRANT SELECT, UPDATE ON t TO jobber;
});

# Half done, then paused.
my $id = $node->safe_psql('src',
	"SET ROLE jobber; SELECT migrate_batch_update('t', 'n = n + 1', batch_size => 500, pause => '50ms')");
ok(wait_rows_done($node, 'src', $id, 2000), 'source: job under way');
$node->safe_psql('src', "SELECT migrate_job_pause($id)");
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'pg_migrate job'"),
	'source: worker gone');
my $done = $node->safe_psql('src', "SELECT rows_done FROM migrate_jobs WHERE id = $id");
cmp_ok($done, '<', 20000, 'source: paused before the end');

my $dump = $node->basedir . '/src.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-f', $dump, '-d', $node->connstr('src') ],
	'pg_dump succeeds');
$node->safe_psql('postgres', 'CREATE DATABASE dst');
{
	local $ENV{PGOPTIONS} = '-c pg_migrate.record_ddl=off -c pg_migrate.enforce=off';
	$node->command_ok(
		[ 'pg_restore', '--exit-on-error', '-d', $node->connstr('dst'), $dump ],
		'pg_restore succeeds');
}

is($node->safe_psql('dst', "SELECT j.relation, j.owner, j.state, j.rows_done, s.key_columns FROM migrate_jobs j JOIN migrate_job_state s USING (id) WHERE id = $id"),
	"t|jobber|paused|$done|{id}", 'restored: the job, by names');
isnt($node->safe_psql('dst', "SELECT attnum FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = 'id'"),
	$node->safe_psql('src', "SELECT attnum FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = 'id'"),
	'restored: the key column has another number');

is($node->safe_psql('dst', "SELECT migrate_job_resume($id)"), 'queued', 'restored: resumed');
is(wait_job_state($node, 'dst', $id, 'done|failed'), 'done', 'restored: job done');
is($node->safe_psql('dst', 'SELECT n, count(*) FROM t GROUP BY n'), '1|20000',
	'restored: every row updated exactly once');
is($node->safe_psql('src', 'SELECT count(*) FROM t WHERE n = 1'), $done,
	'source: untouched since the pause');

$node->stop;
done_testing();
