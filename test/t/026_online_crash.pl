# Online changes killed at each phase: the worker is killed with SIGKILL
# (the server restarts, as after any crash) while the job is in its expand
# step, its backfill, a concurrent index copy, its cut-over and its
# complete step; every time the job resumes by itself and ends in the same
# final state as an uninterrupted run: the new column with every value,
# every index valid, nothing of the change left behind.  Last, a primary
# key referenced by a foreign key, killed in its foreign key copy and in
# its cut-over.
#
# To catch a phase, a writer holds ROW EXCLUSIVE on the table: every step
# that needs a stronger lock (expand, cut-over, complete) then waits, gives
# way after pg_migrate.lock_timeout and retries until the writer lets go;
# a concurrent index build waits for an older snapshot.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use PgmJobs;

my $node = pgm_node('online_crash');
# Many retries (a step waits for a writer on purpose) and small batches (a
# backfill long enough to be caught).
$node->append_conf('postgresql.conf', qq{
pg_migrate.batch_max_retries = 1000
pg_migrate.default_batch_size = 200
pg_migrate.batch_target = '10ms'
});
$node->reload;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_migrate');

# A table whose column n is NOT NULL and indexed, or (plain) neither: a
# plain column's change goes from its backfill straight to its cut-over.
sub load
{
	my ($table, $rows, $plain) = @_;
	$node->safe_psql('postgres', qq{
DROP TABLE IF EXISTS $table;
CREATE TABLE $table (id int PRIMARY KEY, n int @{[ $plain ? '' : 'NOT NULL' ]}, pad text);
INSERT INTO $table SELECT g, g, md5(g::text) FROM generate_series(1, $rows) g;
@{[ $plain ? '' : "CREATE INDEX ${table}_n ON $table (n);" ]}
VACUUM ANALYZE $table;
});
}

# The state an uninterrupted change ends in.
sub check_final
{
	my ($table, $id, $rows, $what, $plain) = @_;
	is(wait_job_state($node, 'postgres', $id, 'done|failed|cancelled', 180), 'done',
		"$what: the job finishes after the crash");
	is(job_phase($node, $id), 'completed', "$what: the change is completed");
	is($node->safe_psql('postgres', qq{
SELECT format_type(atttypid, atttypmod) || ' ' || attnotnull FROM pg_attribute
 WHERE attrelid = '$table'::regclass AND attname = 'n'}), $plain ? 'bigint false' : 'bigint true',
		"$what: the column has its new type" . ($plain ? '' : ' and is NOT NULL'));
	is($node->safe_psql('postgres', "SELECT count(*) || ' ' || sum(n) FROM $table WHERE n = id"),
		"$rows " . ($rows * ($rows + 1) / 2), "$what: every value is there");
	is($node->safe_psql('postgres', qq{
SELECT string_agg(indexrelid::regclass || ':' || indisvalid, ',' ORDER BY indexrelid::regclass::text)
  FROM pg_index WHERE indrelid = '$table'::regclass}),
		$plain ? "${table}_pkey:true" : "${table}_n:true,${table}_pkey:true",
		"$what: the indexes are there and valid, no copy left");
	is($node->safe_psql('postgres', qq{
SELECT count(*) FROM pg_attribute WHERE attrelid = '$table'::regclass AND attname LIKE 'pgm%'
 UNION ALL SELECT count(*) FROM pg_trigger WHERE tgrelid = '$table'::regclass AND NOT tgisinternal}),
		"0\n0", "$what: no shadow column and no trigger left");
}

my $writer;

# --- killed in its expand step, then in its cut-over, then in complete -----
load('a', 100000, 1);
$writer = hold_table($node, 'a');
my $id = $node->safe_psql('postgres',
	"SELECT migrate_online('ALTER TABLE a ALTER COLUMN n TYPE bigint')");
ok($node->poll_query_until('postgres', "SELECT phase = 'expand' FROM migrate_jobs WHERE id = $id"),
	'expand: the job reaches its expand step');
sleep(1);
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_attribute WHERE attrelid = 'a'::regclass AND attname LIKE 'pgm%'"),
	'0', 'expand: the step waits for the writer');
kill_job_workers($node, 'expand');
$writer->quit;
# The killed server ended the writer too.
ok($node->poll_query_until('postgres', "SELECT phase LIKE 'backfill%' FROM migrate_jobs WHERE id = $id"),
	'expand: the job resumes and reaches its backfill');

# Paused in the backfill, so that the writer can take its lock before the
# cut-over, then killed while the cut-over retries.
$node->safe_psql('postgres', "SELECT migrate_job_pause($id)");
is(wait_job_state($node, 'postgres', $id, 'paused'), 'paused', 'backfill: the job pauses');
$writer = hold_table($node, 'a');
$node->safe_psql('postgres', "SELECT migrate_job_resume($id)");
ok($node->poll_query_until('postgres', "SELECT phase = 'cut-over' FROM migrate_jobs WHERE id = $id"),
	'cut-over: the job reaches its cut-over');
sleep(1);
is($node->safe_psql('postgres', "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'a'::regclass AND attname = 'n'"),
	'integer', 'cut-over: not done while the writer holds its lock');
kill_job_workers($node, 'cut-over');
$writer->quit;
is(wait_job_state($node, 'postgres', $id, 'done|failed', 180), 'done',
	'cut-over: the job resumes and reaches its end');
is(job_phase($node, $id), 'awaiting complete', 'cut-over: the change waits for complete');

$writer = hold_table($node, 'a');
$node->safe_psql('postgres', "SELECT migrate_online_complete($id)");
ok($node->poll_query_until('postgres', "SELECT phase = 'complete' FROM migrate_jobs WHERE id = $id"),
	'complete: the job reaches its complete step');
sleep(1);
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_attribute WHERE attrelid = 'a'::regclass AND attname LIKE 'pgm%' AND NOT attisdropped"),
	'1', 'complete: the drop of the old column waits for the writer');
kill_job_workers($node, 'complete');
$writer->quit;
check_final('a', $id, 100000, 'killed in expand, cut-over and complete', 1);

# --- killed in its backfill ------------------------------------------------
load('b', 100000);
$id = $node->safe_psql('postgres',
	"SELECT migrate_online('ALTER TABLE b ALTER COLUMN n TYPE bigint', complete => true)");
ok(backfill_started($node, $id),
	'backfill: batches are committed');
kill_job_workers($node, 'backfill');
check_final('b', $id, 100000, 'killed in its backfill');

# --- killed while an index copy is built -----------------------------------
load('c', 50000);
# A snapshot older than the build makes it wait before it can validate the
# index; nothing else in the change waits for snapshots.
$writer = $node->background_psql('postgres', on_error_stop => 0);
$writer->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM pg_class;');
$id = $node->safe_psql('postgres',
	"SELECT migrate_online('ALTER TABLE c ALTER COLUMN n TYPE bigint', complete => true)");
ok($node->poll_query_until('postgres', q{
SELECT wait_event_type = 'Lock' FROM pg_stat_activity
 WHERE backend_type = 'pg_migrate job' AND query LIKE 'CREATE INDEX CONCURRENTLY%'}),
	'index copy: the build waits for the open writer');
kill_job_workers($node, 'index copy');
$writer->quit;
check_final('c', $id, 50000, 'killed in an index copy');

# --- a primary key referenced by a foreign key: killed in its foreign key
# copy, then in its cut-over (which locks the referencing table too) --------
# A prepared transaction holding ACCESS SHARE on the referencing table
# survives the crashes and stops only the cut-over (ACCESS EXCLUSIVE); the
# foreign key copy's SHARE ROW EXCLUSIVE and its validation get through.
$node->append_conf('postgresql.conf', 'max_prepared_transactions = 5');
$node->restart;
$node->safe_psql('postgres', q{
DROP TABLE IF EXISTS kc, kp;
CREATE TABLE kp (id int GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY CHECK (id > 0), pad text);
CREATE TABLE kc (id int PRIMARY KEY, kp_id int NOT NULL REFERENCES kp);
INSERT INTO kp (pad) SELECT md5(g::text) FROM generate_series(1, 50000) g;
INSERT INTO kc SELECT g, g FROM generate_series(1, 20000) g;
VACUUM ANALYZE kp, kc;
});
$writer = $node->background_psql('postgres', on_error_stop => 0);
$writer->query_safe('BEGIN; LOCK TABLE kc IN ROW EXCLUSIVE MODE;');
$id = $node->safe_psql('postgres',
	"SELECT migrate_online('ALTER TABLE kp ALTER COLUMN id TYPE bigint', complete => true)");
ok($node->poll_query_until('postgres', "SELECT phase = 'foreign key copy' FROM migrate_jobs WHERE id = $id"),
	'foreign key copy: the job waits to add the copy');
$node->safe_psql('postgres',
	"BEGIN; LOCK TABLE kc IN ACCESS SHARE MODE; PREPARE TRANSACTION 'pgm_hold_kc'");
kill_job_workers($node, 'foreign key copy');
$writer->quit;
ok($node->poll_query_until('postgres', "SELECT phase = 'cut-over' FROM migrate_jobs WHERE id = $id"),
	'cut-over: the job resumes and reaches its cut-over');
kill_job_workers($node, 'cut-over of a primary key');
ok($node->poll_query_until('postgres', "SELECT phase = 'cut-over' FROM migrate_jobs WHERE id = $id"),
	'cut-over: the job resumes and waits in its cut-over again');
is($node->safe_psql('postgres', q{
SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'kp'::regclass AND attname = 'id'}),
	'integer', 'cut-over: not done while the referencing table is held');
$node->safe_psql('postgres', "COMMIT PREPARED 'pgm_hold_kc'");
is(wait_job_state($node, 'postgres', $id, 'done|failed|cancelled', 180), 'done',
	'primary key: the job finishes after the crashes');
is($node->safe_psql('postgres', q{
SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'kp'::regclass AND attname = 'id'
UNION ALL SELECT string_agg(conname || ':' || convalidated, ',' ORDER BY conname) FROM pg_constraint
 WHERE conrelid IN ('kp'::regclass, 'kc'::regclass) AND contype IN ('p', 'f', 'c')
UNION ALL SELECT string_agg(indexrelid::regclass || ':' || indisvalid, ',' ORDER BY indexrelid::regclass::text)
  FROM pg_index WHERE indrelid = 'kp'::regclass
UNION ALL SELECT count(*)::text FROM kp WHERE id BETWEEN 1 AND 50000
UNION ALL SELECT count(*)::text FROM pg_class WHERE relname LIKE 'pgm%'
UNION ALL SELECT count(*)::text FROM pg_attribute WHERE attrelid = 'kp'::regclass AND attname LIKE 'pgm%' AND NOT attisdropped}),
	"bigint\nkc_kp_id_fkey:true,kc_pkey:true,kp_id_check:true,kp_pkey:true\nkp_pkey:true\n50000\n0\n0",
	'primary key: bigint, key, CHECK and foreign key validated on it, every row, nothing left');
my ($rc, $out, $err) = $node->psql('postgres', 'INSERT INTO kc VALUES (-1, 99999999)');
like($err, qr/violates foreign key constraint "kc_kp_id_fkey"/, 'primary key: the foreign key holds');

done_testing();
