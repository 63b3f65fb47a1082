# Online RENAME COLUMN, RENAME TO and ADD COLUMN, aborted at each phase and
# killed at each phase.
#
# Aborted: the schema (pg_dump --schema-only of the schema, which covers
# columns, defaults, NOT NULL, constraints, indexes, views, triggers,
# comments and privileges) and the data are the same as before the job.
#
# Killed: the worker is killed with SIGKILL (the server restarts, as after
# any crash) in a step; the job resumes by itself and ends in the same
# final state as an uninterrupted run.
#
# To catch a phase that takes a lock, a writer holds ROW EXCLUSIVE on the
# table: the step waits, gives way after pg_migrate.lock_timeout and
# retries until the writer lets go; a concurrent index build waits for an
# older snapshot.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmJobs;

my $node = pgm_node('online_rename');
$node->append_conf('postgresql.conf', qq{
pg_migrate.batch_max_retries = 1000
pg_migrate.default_batch_size = 200
pg_migrate.batch_target = '10ms'
});
$node->reload;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_migrate');
$node->safe_psql('postgres', 'CREATE ROLE reader');

# A table whose column score has indexes, a CHECK, a default, a comment, a
# view and privileges; plain: no index on score (its rename goes from the
# backfill straight to the cut-over).
sub load
{
	my ($table, $rows, $plain) = @_;
	$node->safe_psql('postgres', qq{
DROP TABLE IF EXISTS $table CASCADE;
CREATE TABLE $table (id int PRIMARY KEY, score int NOT NULL DEFAULT 7 CHECK (score >= 0), pad text);
INSERT INTO $table SELECT g, g, md5(g::text) FROM generate_series(1, $rows) g;
@{[ $plain ? '' : "CREATE INDEX ${table}_score ON $table (score);
CREATE UNIQUE INDEX ${table}_id_score ON $table (id, score);" ]}
CREATE VIEW ${table}_v AS SELECT id, score FROM $table;
COMMENT ON COLUMN $table.score IS 'the score';
GRANT SELECT ON $table TO reader;
VACUUM ANALYZE $table;
});
}

sub schema
{
	my ($stdout, $stderr) = run_command(
		[ 'pg_dump', '--schema-only', '--schema=public', '-d', $node->connstr('postgres') ]);
	# newer pg_dump writes a random key of its own into every dump
	$stdout =~ s/^\\(un)?restrict .*$//mg;
	return $stdout;
}

sub data
{
	my ($table, $cols) = @_;
	return $node->safe_psql('postgres',
		"SELECT md5(string_agg(format('%s', ($cols)), ',' ORDER BY id)) FROM $table");
}

my $writer;

sub abort_and_compare
{
	my ($id, $table, $before, $data, $what) = @_;
	is(wait_job_state($node, 'postgres', $id, 'cancelled|failed', 180), 'cancelled',
		"$what: the abort ends the job");
	is(job_phase($node, $id), 'aborted', "$what: the change is aborted");
	is(schema(), $before, "$what: the schema is the one before the job");
	is(data($table, 'id, score, pad'), $data, "$what: the data is the one before the job");
	is($node->safe_psql('postgres', qq{
SELECT count(*) FROM pg_attribute WHERE attrelid = '$table'::regclass AND attname LIKE 'pgm%' AND NOT attisdropped}),
		'0', "$what: no column of the job is left");
}

# --- RENAME COLUMN aborted at each phase -----------------------------------
my $rename = "ALTER TABLE %s RENAME COLUMN score TO points";

# expand: the step waits for the writer, the abort comes first
load('ra', 50000);
my $before = schema();
my $data = data('ra', 'id, score, pad');
$writer = hold_table($node, 'ra');
my $id = $node->safe_psql('postgres', "SELECT migrate_online('" . sprintf($rename, 'ra') . "')");
ok($node->poll_query_until('postgres', "SELECT phase = 'expand' FROM migrate_jobs WHERE id = $id"),
	'abort in expand: the job waits in its expand step');
$node->safe_psql('postgres', "SELECT migrate_online_abort($id)");
release_table($writer);
abort_and_compare($id, 'ra', $before, $data, 'abort in expand');

# backfill
load('rb', 100000);
$before = schema();
$data = data('rb', 'id, score, pad');
$id = $node->safe_psql('postgres', "SELECT migrate_online('" . sprintf($rename, 'rb') . "')");
ok(backfill_started($node, $id), 'abort in backfill: batches are committed');
$node->safe_psql('postgres', "UPDATE rb SET score = score WHERE id = 1");
$node->safe_psql('postgres', "SELECT migrate_online_abort($id)");
abort_and_compare($id, 'rb', $before, $data, 'abort in backfill');

# index copy: an older snapshot holds the build
load('rc', 20000);
$before = schema();
$data = data('rc', 'id, score, pad');
$writer = $node->background_psql('postgres', on_error_stop => 0);
$writer->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM pg_class;');
$id = $node->safe_psql('postgres', "SELECT migrate_online('" . sprintf($rename, 'rc') . "')");
ok($node->poll_query_until('postgres', q{
SELECT wait_event_type = 'Lock' FROM pg_stat_activity
 WHERE backend_type = 'pg_migrate job' AND query LIKE 'CREATE %INDEX CONCURRENTLY%'}),
	'abort in index copy: the build waits for the open snapshot');
$node->safe_psql('postgres', "SELECT migrate_online_abort($id)");
$writer->query_safe('COMMIT');
$writer->quit;
abort_and_compare($id, 'rc', $before, $data, 'abort in index copy');

# after the cut-over, with writes through both names
load('rd', 20000);
$before = schema();
$data = data('rd', 'id, score, pad');
$id = $node->safe_psql('postgres', "SELECT migrate_online('" . sprintf($rename, 'rd') . "')");
is(wait_job_state($node, 'postgres', $id, 'done|failed', 180), 'done', 'abort after cut-over: the job reaches its cut-over');
is(job_phase($node, $id), 'awaiting complete', 'abort after cut-over: the change waits for complete');
$node->safe_psql('postgres', q{
UPDATE rd SET score = score + 1 WHERE id = 1;
UPDATE rd SET points = points - 1 WHERE id = 1;
INSERT INTO rd (id, points, pad) VALUES (30001, 5, 'x');
DELETE FROM rd WHERE id = 30001;});
$node->safe_psql('postgres', "SELECT migrate_online_abort($id)");
abort_and_compare($id, 'rd', $before, $data, 'abort after cut-over');

# --- RENAME COLUMN killed in expand, cut-over and complete -----------------
sub check_renamed
{
	my ($table, $id, $rows, $what, $plain) = @_;
	is(wait_job_state($node, 'postgres', $id, 'done|failed|cancelled', 180), 'done',
		"$what: the job finishes after the crash");
	is(job_phase($node, $id), 'completed', "$what: the change is completed");
	is($node->safe_psql('postgres', qq{
SELECT string_agg(attnum || ':' || attname || ':' || attnotnull, ',' ORDER BY attnum) FROM pg_attribute
 WHERE attrelid = '$table'::regclass AND attnum > 0 AND NOT attisdropped}),
		'1:id:true,2:points:true,3:pad:false', "$what: the column has its new name and its place");
	is($node->safe_psql('postgres', "SELECT count(*) || ' ' || sum(points) FROM $table WHERE points = id"),
		"$rows " . ($rows * ($rows + 1) / 2), "$what: every value is there");
	is($node->safe_psql('postgres', qq{
SELECT string_agg(indexrelid::regclass || ':' || indisvalid, ',' ORDER BY indexrelid::regclass::text)
  FROM pg_index WHERE indrelid = '$table'::regclass}),
		$plain ? "${table}_pkey:true" : "${table}_id_score:true,${table}_pkey:true,${table}_score:true",
		"$what: the indexes are there and valid, no copy left");
	is($node->safe_psql('postgres', qq{
SELECT count(*) FROM pg_attribute WHERE attrelid = '$table'::regclass AND attname LIKE 'pgm%' AND NOT attisdropped
 UNION ALL SELECT count(*) FROM pg_trigger WHERE tgrelid = '$table'::regclass AND NOT tgisinternal}),
		"0\n0", "$what: no column under the old name and no trigger left");
	is($node->safe_psql('postgres', "SELECT count(*) FROM ${table}_v WHERE score = id"), $rows,
		"$what: the view reads the renamed column");
}

load('k', 50000, 1);
$writer = hold_table($node, 'k');
$id = $node->safe_psql('postgres', "SELECT migrate_online('" . sprintf($rename, 'k') . "')");
ok($node->poll_query_until('postgres', "SELECT phase = 'expand' FROM migrate_jobs WHERE id = $id"),
	'kill in expand: the job reaches its expand step');
kill_job_workers($node, 'expand');
$writer->quit;
ok($node->poll_query_until('postgres', "SELECT phase LIKE 'backfill%' FROM migrate_jobs WHERE id = $id"),
	'kill in expand: the job resumes and reaches its backfill');
$node->safe_psql('postgres', "SELECT migrate_job_pause($id)");
is(wait_job_state($node, 'postgres', $id, 'paused'), 'paused', 'backfill: the job pauses');
$writer = hold_table($node, 'k');
$node->safe_psql('postgres', "SELECT migrate_job_resume($id)");
ok($node->poll_query_until('postgres', "SELECT phase = 'cut-over' FROM migrate_jobs WHERE id = $id"),
	'kill in cut-over: the job reaches its cut-over');
sleep(1);
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_attribute WHERE attrelid = 'k'::regclass AND attname = 'points'"),
	'0', 'kill in cut-over: not done while the writer holds its lock');
kill_job_workers($node, 'cut-over');
$writer->quit;
is(wait_job_state($node, 'postgres', $id, 'done|failed', 180), 'done',
	'kill in cut-over: the job resumes and reaches its end');
is(job_phase($node, $id), 'awaiting complete', 'kill in cut-over: the change waits for complete');
is($node->safe_psql('postgres', "SELECT count(*) FROM k WHERE score IS DISTINCT FROM points"), '0',
	'kill in cut-over: both names read the same values');
$writer = hold_table($node, 'k');
$node->safe_psql('postgres', "SELECT migrate_online_complete($id)");
ok($node->poll_query_until('postgres', "SELECT phase = 'complete' FROM migrate_jobs WHERE id = $id"),
	'kill in complete: the job reaches its complete step');
sleep(1);
kill_job_workers($node, 'complete');
$writer->quit;
check_renamed('k', $id, 50000, 'killed in expand, cut-over and complete', 1);

load('kb', 100000);
$id = $node->safe_psql('postgres',
	"SELECT migrate_online('" . sprintf($rename, 'kb') . "', complete => true)");
ok(backfill_started($node, $id), 'kill in backfill: batches are committed');
kill_job_workers($node, 'backfill');
check_renamed('kb', $id, 100000, 'killed in its backfill');

# --- RENAME TO killed in its cut-over, then aborted; then completed --------
load('t1', 1000);
$before = schema();
$writer = hold_table($node, 't1');
$id = $node->safe_psql('postgres', "SELECT migrate_online('ALTER TABLE t1 RENAME TO t2')");
ok($node->poll_query_until('postgres', "SELECT phase = 'cut-over' FROM migrate_jobs WHERE id = $id"),
	'rename table: the job waits in its cut-over');
kill_job_workers($node, 'rename table cut-over');
$writer->quit;
is(wait_job_state($node, 'postgres', $id, 'done|failed', 180), 'done', 'rename table: the job resumes and reaches its end');
is($node->safe_psql('postgres', "SELECT string_agg(relname || ':' || relkind::text, ',' ORDER BY relname) FROM pg_class WHERE relname IN ('t1', 't2')"),
	't1:v,t2:r', 'rename table: the table has its new name, a view the old');
is($node->safe_psql('postgres', "SELECT count(*) FROM t1_v"), '1000', 'rename table: views on the table follow it');
$node->safe_psql('postgres', "SELECT migrate_online_abort($id)");
is(wait_job_state($node, 'postgres', $id, 'cancelled|failed', 180), 'cancelled', 'rename table: the abort ends the job');
is(schema(), $before, 'rename table: after the abort the schema is the one before the job');
$id = $node->safe_psql('postgres', "SELECT migrate_online('ALTER TABLE t1 RENAME TO t2', complete => true)");
is(wait_job_state($node, 'postgres', $id, 'done|failed', 180), 'done', 'rename table: completed');
is($node->safe_psql('postgres', "SELECT string_agg(relname || ':' || relkind::text, ',' ORDER BY relname) FROM pg_class WHERE relname IN ('t1', 't2')"),
	't2:r', 'rename table: the view is gone after complete');

# --- ADD COLUMN aborted in its backfill, killed in its backfill ------------
load('ac', 100000);
$before = schema();
$data = data('ac', 'id, score, pad');
my $relfilenode = $node->safe_psql('postgres', "SELECT pg_relation_filenode('ac')");
$id = $node->safe_psql('postgres',
	"SELECT migrate_online('ALTER TABLE ac ADD COLUMN seen timestamptz NOT NULL DEFAULT clock_timestamp()')");
ok(backfill_started($node, $id), 'add column, abort in backfill: batches are committed');
$node->safe_psql('postgres', "SELECT migrate_online_abort($id)");
abort_and_compare($id, 'ac', $before, $data, 'add column, abort in backfill');

$id = $node->safe_psql('postgres',
	"SELECT migrate_online('ALTER TABLE ac ADD COLUMN seen timestamptz NOT NULL DEFAULT clock_timestamp()')");
ok(backfill_started($node, $id), 'add column, kill in backfill: batches are committed');
kill_job_workers($node, 'add column backfill');
is(wait_job_state($node, 'postgres', $id, 'done|failed|cancelled', 180), 'done',
	'add column, kill in backfill: the job finishes after the crash');
is(job_phase($node, $id), 'completed', 'add column: the change is completed');
is($node->safe_psql('postgres', "SELECT count(*) FILTER (WHERE seen IS NULL) || ' ' || count(*) FROM ac"),
	'0 100000', 'add column: every row has a value');
is($node->safe_psql('postgres', "SELECT attnotnull FROM pg_attribute WHERE attrelid = 'ac'::regclass AND attname = 'seen'"),
	't', 'add column: the column is NOT NULL');
is($node->safe_psql('postgres', "SELECT pg_relation_filenode('ac')"), $relfilenode,
	'add column: the table was not rewritten (same relfilenode)');

done_testing();
