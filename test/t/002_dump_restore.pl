# A pg_dump / pg_restore round trip of one database holding everything
# pg_migrate keeps: the DDL history (with a row that used an override),
# applied migrations, policies (one of them refusing) and a job paused half
# way.  Run the documented way (history recording and enforcement off for
# the restore session), the restore succeeds with --exit-on-error, nothing
# is lost or duplicated, the sequences continue after the restored ids, and
# the job finishes in the restored database.  Run with no settings into a
# new database, the restore succeeds too; into a database in use, it fails
# with a hint that names them.
# (014_jobs_dump_restore.pl covers jobs on renumbered columns.)
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmJobs qw(wait_job_state wait_rows_done);

my $node = PostgreSQL::Test::Cluster->new('dump');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'pg_migrate'
max_worker_processes = 16
pg_migrate.max_workers = 4
# the restored tables count as populated: their indexes come after the data
pg_migrate.small_table_size = '64kB'
});
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql('src', q{
	CREATE EXTENSION pg_migrate;
	CREATE TABLE t (id int PRIMARY KEY, v text, n int NOT NULL DEFAULT 0, junk int);
	CREATE INDEX t_v ON t (v);
	CREATE TABLE c (id int PRIMARY KEY, t_id int REFERENCES t);
	INSERT INTO t (id, v) SELECT g, g::text FROM generate_series(1, 20000) g;
	INSERT INTO c SELECT g, g FROM generate_series(1, 20000) g;
	COMMENT ON TABLE t IS 'restored';
	CREATE VIEW tv AS SELECT id FROM t;
	SELECT migrate_apply('1', 'CREATE TABLE m (i int)', 'DROP TABLE m', 'first');
	SELECT migrate_apply('2', 'ALTER TABLE m ADD COLUMN j int', 'ALTER TABLE m DROP COLUMN j');
	INSERT INTO migrate_policy (rule, action, table_pattern, note)
	VALUES ('rename_column', 'deny', 't', 'code reads t by column name'),
	       ('drop_table', 'allow', 'tmp\_%', 'scratch tables');
	BEGIN;
	SELECT migrate_override('drop_column', 'junk unused since release 3');
	ALTER TABLE t DROP COLUMN junk;
	COMMIT;
});
my ($ret, $out, $err) = $node->psql('src', 'ALTER TABLE t RENAME COLUMN v TO w');
like($err, qr/rule "rename_column" refuses/, 'source: the refusing policy refuses');

# A job half way, then paused.
my $id = $node->safe_psql('src',
	"SELECT migrate_batch_update('t', 'n = n + 1', batch_size => 100, pause => '500ms')");
ok(wait_rows_done($node, 'src', $id, 300), 'source: job under way');
is($node->safe_psql('src', "SELECT migrate_job_pause($id)"), 'paused', 'source: job paused');
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'pg_migrate job'"),
	'source: worker gone');
my $done = $node->safe_psql('src', "SELECT rows_done FROM migrate_jobs WHERE id = $id");
cmp_ok($done, '<', 20000, 'source: paused before the end');

my %queries = (
	history => 'SELECT * FROM migrate_ddl_history ORDER BY id',
	migrations => 'SELECT * FROM migrate_migrations ORDER BY version',
	policy => 'SELECT * FROM migrate_policy ORDER BY rule, action, table_pattern, shipped',
	jobs => 'SELECT * FROM migrate_job_state ORDER BY id',
	slices => 'SELECT * FROM migrate_job_slice ORDER BY job_id, slice',
	data => 'SELECT n, count(*) FROM t GROUP BY n ORDER BY n',
);
my %before;
$before{$_} = $node->safe_psql('src', $queries{$_}) foreach keys %queries;
my @history = split /\n/, $before{history};
is(scalar(@history), 9, 'source: one history row per DDL statement');
is($node->safe_psql('src',
		'SELECT count(*) FROM migrate_ddl_history WHERE policy_overrides IS NOT NULL'),
	'1', 'source: one history row used an override');

my $dump = $node->basedir . '/src.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-f', $dump, '-d', $node->connstr('src') ],
	'pg_dump succeeds');

# --- A restore with no settings into a new database: the session that
# created pg_migrate there and copies the history back is restoring it
# (its own rows give way to the copy, it records nothing more), and the
# tables it created and filled are its own (their indexes are allowed).
delete $ENV{PGAPPNAME};
my $pgoptions = "PGOPTIONS='-c pg_migrate.record_ddl=off -c pg_migrate.enforce=off'";
$node->safe_psql('postgres', 'CREATE DATABASE plain');
$node->command_ok(
	[ 'pg_restore', '--exit-on-error', '-d', $node->connstr('plain'), $dump ],
	'restore with no settings into a new database succeeds');
is($node->safe_psql('plain', $queries{history}), $before{history},
	'restore with no settings: the history is the source\'s, row for row');

# --- Into a database where pg_migrate already records other sessions'
# DDL, the copy collides, and the error says what to do.
$node->safe_psql('postgres', 'CREATE DATABASE inuse');
$node->safe_psql('inuse', 'CREATE EXTENSION pg_migrate; CREATE TABLE someone_elses (i int)');
$node->command_fails_like(
	[ 'pg_restore', '-d', $node->connstr('inuse'), $dump ],
	qr/duplicate key value violates unique constraint "migrate_ddl_history_pkey".*HINT:  When restoring a dump, run pg_restore as a superuser with \Q$pgoptions\E/s,
	'restore into a database in use: the history collision names the settings');
$node->safe_psql('postgres', 'CREATE DATABASE enforced');
{
	# Without its own new tables counting as such, the index builds after
	# the data are refused, and the hint names the settings.
	local $ENV{PGOPTIONS} = '-c pg_migrate.record_ddl=off -c pg_migrate.own_new_tables=off';
	$node->command_fails_like(
		[ 'pg_restore', '--exit-on-error', '-d', $node->connstr('enforced'), $dump ],
		qr/rule "blocking_index_build" refuses this statement.*HINT:  When restoring a dump, run pg_restore as a superuser with \Q$pgoptions\E\. Otherwise: CREATE INDEX CONCURRENTLY/s,
		'restore with the policies on: the refusal names the settings');
}
# The hint is for restores: other sessions get the safe alternative alone.
$ENV{PGAPPNAME} = 'not_a_restore';
($ret, $out, $err) = $node->psql('enforced', 'CREATE INDEX t_probe ON t (n)');
like($err, qr/HINT:  Run it online, as it is: SELECT migrate_online\('CREATE INDEX t_probe ON t \(n\)'\); Otherwise: CREATE INDEX CONCURRENTLY/,
	'outside a restore the hint is the online call and the safe alternative');
unlike($err, qr/PGOPTIONS/, 'outside a restore the hint does not mention restores');

# --- The documented way.
$node->safe_psql('postgres', 'CREATE DATABASE dst');
{
	local $ENV{PGOPTIONS} = '-c pg_migrate.record_ddl=off -c pg_migrate.enforce=off';
	$node->command_ok(
		[ 'pg_restore', '--exit-on-error', '-d', $node->connstr('dst'), $dump ],
		'pg_restore --exit-on-error succeeds with the documented settings');
}

foreach my $what (sort keys %queries)
{
	is($node->safe_psql('dst', $queries{$what}), $before{$what},
		"restored: $what identical, row for row");
}
is($node->safe_psql('dst', "SELECT count(*) FROM c JOIN t ON t.id = c.t_id"), '20000',
	'restored: data');

# The sequences continue after the restored ids.
$node->safe_psql('dst', 'CREATE TABLE after_restore (i int)');
is($node->safe_psql('dst',
		"SELECT id > (SELECT max(id) FROM migrate_ddl_history WHERE statement NOT LIKE '%after_restore%')
		   FROM migrate_ddl_history WHERE statement LIKE '%after_restore%'"),
	't', 'restored: history ids continue after the restored ones');
my $new = $node->safe_psql('dst', "SELECT migrate_batch_update('c', 't_id = t_id', 'false')");
cmp_ok($new, '>', $id, 'restored: job ids continue after the restored ones');

# The restored policies apply again.
($ret, $out, $err) = $node->psql('dst', 'ALTER TABLE t RENAME COLUMN v TO w');
like($err, qr/rule "rename_column" refuses/, 'restored: the refusing policy refuses');
($ret, $out, $err) = $node->psql('dst', 'CREATE INDEX t_n ON t (n)');
like($err, qr/rule "blocking_index_build" refuses/, 'restored: the shipped policies apply');

# The paused job resumes and finishes.
is($node->safe_psql('dst', "SELECT migrate_job_resume($id)"), 'queued', 'restored: job resumed');
is(wait_job_state($node, 'dst', $id, 'done|failed'), 'done', 'restored: job done');
is($node->safe_psql('dst', 'SELECT n, count(*) FROM t GROUP BY n'), '1|20000',
	'restored: every row updated exactly once');
is($node->safe_psql('src', 'SELECT count(*) FROM t WHERE n = 1'), $done,
	'source: untouched since the pause');

# The append-only protections come back with the extension.
$node->safe_psql('dst', 'CREATE ROLE plain');
($ret, $out, $err) = $node->psql('dst', 'SET ROLE plain; DELETE FROM migrate_ddl_history');
like($err, qr/permission denied/, 'restored history is still protected');

$node->stop;
done_testing();
