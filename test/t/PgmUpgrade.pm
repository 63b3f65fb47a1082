# The pg_upgrade scenario shared by 023_pg_upgrade.pl (to the same major)
# and 027_pg_upgrade_major.pl (from an older major).
#
# The old cluster holds everything pg_migrate keeps: DDL history, an applied
# migration, policies changed by the DBA, a backfill job half way and
# paused, a queued backfill and a queued migration run by a worker.  In
# binary-upgrade mode pg_migrate stands aside: no hook records or judges the
# schema pg_upgrade restores, and no launcher starts, in the old cluster
# (which pg_upgrade starts to dump it) or in the new one.  Afterwards
# everything is there unchanged, the extension records and enforces, and
# every unfinished job finishes, changing each row exactly once.
package PgmUpgrade;

use strict;
use warnings;
use Cwd;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmJobs qw(wait_job_state wait_rows_done);

use Exporter 'import';
our @EXPORT = qw(pg_upgrade_keeps_everything);

# $old_install: the installation (the directory holding bin/) the old
# cluster runs on, with pg_migrate installed; undef for the one under test.
sub pg_upgrade_keeps_everything
{
	my ($old_install) = @_;

	my $old = PostgreSQL::Test::Cluster->new('old',
		defined $old_install ? (install_path => $old_install) : ());
	# pg_upgrade wants both clusters alike in data checksums, which initdb
	# turns on by default from 18 on only.
	$old->init(extra => ['--data-checksums']);
	$old->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'pg_migrate'
max_worker_processes = 16
pg_migrate.max_workers = 4
});
	$old->start;
	my $old_version = $old->safe_psql('postgres', 'SHOW server_version_num');
	note("old cluster: PostgreSQL $old_version");
	$old->safe_psql('postgres', q{
CREATE EXTENSION pg_migrate;
CREATE TABLE t (id int PRIMARY KEY, n int NOT NULL DEFAULT 0);
INSERT INTO t SELECT g FROM generate_series(1, 5000) g;
CREATE TABLE u (id int PRIMARY KEY, n int NOT NULL DEFAULT 0);
INSERT INTO u SELECT g FROM generate_series(1, 5000) g;
CREATE TABLE w (id int PRIMARY KEY, n int NOT NULL DEFAULT 0);
INSERT INTO w SELECT g FROM generate_series(1, 20000) g;
CREATE INDEX t_n ON t (n);
SELECT migrate_apply('1', 'CREATE TABLE m (i int)', 'DROP TABLE m', 'first');
INSERT INTO migrate_policy (rule, action, table_pattern, note)
VALUES ('drop_table', 'allow', 'tmp\_%', 'scratch tables');
UPDATE migrate_policy SET action = 'warn' WHERE rule = 'truncate' AND shipped;
});

	# A job half way, then paused.
	my $half = $old->safe_psql('postgres',
		"SELECT migrate_batch_update('w', 'n = n + 1', batch_size => 100, pause => '500ms')");
	ok(wait_rows_done($old, 'postgres', $half, 300), 'old: a job under way');
	is($old->safe_psql('postgres', "SELECT migrate_job_pause($half)"), 'paused',
		'old: that job paused');
	ok($old->poll_query_until('postgres',
		"SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'pg_migrate job'"),
		'old: its worker gone');
	my $half_done = $old->safe_psql('postgres', "SELECT rows_done FROM migrate_jobs WHERE id = $half");
	cmp_ok($half_done, '<', 20000, 'old: paused before the end');

	# No job worker may run while the others are set up.
	$old->append_conf('postgresql.conf', 'pg_migrate.max_workers = 0');
	$old->restart;
	my $queued = $old->safe_psql('postgres',
		"SELECT migrate_batch_update('t', 'n = n + 1', batch_size => 500)");
	my $paused = $old->safe_psql('postgres',
		"SELECT migrate_batch_update('u', 'n = n + 1', batch_size => 500)");
	$old->safe_psql('postgres', "SELECT migrate_job_pause($paused)");
	my $async = $old->safe_psql('postgres',
		"SELECT migrate_apply_async('2', 'CREATE INDEX CONCURRENTLY u_n ON u (n)', 'DROP INDEX CONCURRENTLY u_n')");

	my %queries = (
		history => 'SELECT * FROM migrate_ddl_history ORDER BY id',
		migrations => 'SELECT * FROM migrate_migrations ORDER BY version',
		policy => 'SELECT * FROM migrate_policy ORDER BY rule, action, table_pattern, shipped',
		jobs => 'SELECT * FROM migrate_job_state ORDER BY id',
		slices => 'SELECT * FROM migrate_job_slice ORDER BY job_id, slice',
		scripts => 'SELECT * FROM migrate_job_script ORDER BY 1, 2',
		rows => 'SELECT n, count(*) FROM t GROUP BY n UNION ALL SELECT n, count(*) FROM u GROUP BY n
		         UNION ALL SELECT n, count(*) FROM w GROUP BY n ORDER BY 1',
		sequence => 'SELECT last_value FROM migrate_ddl_history_id_seq',
		extension => "SELECT extversion FROM pg_extension WHERE extname = 'pg_migrate'",
	);
	my $old_max_id = $old->safe_psql('postgres', 'SELECT max(id) FROM migrate_ddl_history');
	my %before;
	$before{$_} = $old->safe_psql('postgres', $queries{$_}) foreach keys %queries;
	is($old->safe_psql('postgres',
			"SELECT string_agg(state, ',' ORDER BY id) FROM migrate_jobs"),
		'paused,queued,paused,queued', 'old: unfinished jobs: paused half way, queued, paused, queued');
	$old->stop;

	# pg_upgrade starts the old cluster again: with room for workers, a
	# launcher that did not stand aside would run the queued jobs there.
	$old->append_conf('postgresql.conf', 'pg_migrate.max_workers = 4');

	my $new = PostgreSQL::Test::Cluster->new('new');
	$new->init(extra => ['--data-checksums']);
	$new->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'pg_migrate'
max_worker_processes = 16
pg_migrate.max_workers = 4
});
	my $new_version = $new->config_data('--version');
	note("new cluster: $new_version");

	# pg_upgrade writes its files into the current directory.
	my $workdir = PostgreSQL::Test::Utils::tempdir;
	my $cwd = getcwd();
	chdir $workdir or die "chdir $workdir: $!";
	my $ok = ok(run_log(
		[
			'pg_upgrade', '--no-sync',
			'-d', $old->data_dir, '-D', $new->data_dir,
			'-b', $old->config_data('--bindir'), '-B', $new->config_data('--bindir'),
			'-s', $new->host, '-p', $old->port, '-P', $new->port
		]),
		'pg_upgrade succeeds with pg_migrate preloaded in both clusters');
	chdir $cwd;
	if (!$ok)
	{
		# What went wrong is in pg_upgrade's logs, which it keeps on failure.
		foreach my $log (glob($new->data_dir . '/pg_upgrade_output.d/*/log/*.log'))
		{
			diag("$log:\n" . join('', (split /^/, slurp_file($log))[-30 .. -1]))
			  if -s $log;
		}
		return;
	}

	# First look with no job worker allowed, to see what the upgrade left.
	$new->append_conf('postgresql.conf', 'pg_migrate.max_workers = 0');
	$new->start;
	foreach my $what (sort keys %queries)
	{
		is($new->safe_psql('postgres', $queries{$what}), $before{$what},
			"new: $what identical to the old cluster's");
	}
	is($new->safe_psql('postgres',
			"SELECT count(*) FROM migrate_ddl_history WHERE id > $old_max_id OR statement ~ 'binary_upgrade'"),
		'0', 'new: no history row for the statements pg_upgrade ran');
	is($new->safe_psql('postgres',
			"SELECT string_agg(state || ':' || rows_done, ',' ORDER BY id) FROM migrate_jobs"),
		"paused:$half_done,queued:0,paused:0,queued:0", 'new: no job worker ran during the upgrade');

	# The extension works in the new cluster: history, policy, migrations.
	$new->safe_psql('postgres', 'CREATE TABLE after_upgrade (i int)');
	is($new->safe_psql('postgres',
			"SELECT id > $old_max_id FROM migrate_ddl_history WHERE statement LIKE '%after_upgrade%'"),
		't', 'new: DDL is recorded, with an id after the upgraded ones');
	# (u was made moments ago by this role, and pg_upgrade keeps OIDs, so
	# its drop would count as the role's own undo: the window is closed here.)
	my ($ret, $out, $err) = $new->psql('postgres',
		'SET pg_migrate.own_undo_window = 0; DROP TABLE u');
	like($err, qr/rule "drop_table" refuses this statement/, 'new: the policies are enforced');
	$new->safe_psql('postgres', 'CREATE TABLE tmp_x (i int); DROP TABLE tmp_x');
	is($new->safe_psql('postgres', "SELECT string_agg(version || ' ' || state, ',' ORDER BY version) FROM migrate_status()"),
		'1 applied', 'new: the migration is applied, the asynchronous one not yet');

	# Now with workers: the queued jobs run by themselves, the paused ones on
	# resume.
	$new->append_conf('postgresql.conf', 'pg_migrate.max_workers = 4');
	$new->restart;
	is(wait_job_state($new, 'postgres', $queued, 'done|failed'), 'done',
		'new: the queued backfill runs after the upgrade');
	is(wait_job_state($new, 'postgres', $async, 'done|failed'), 'done',
		'new: the queued migration runs after the upgrade');
	is($new->safe_psql('postgres', "SELECT string_agg(version || ' ' || state, ',' ORDER BY version) FROM migrate_status()"),
		'1 applied,2 applied', 'new: the asynchronous migration is applied');
	is($new->safe_psql('postgres',
			"SELECT indisvalid FROM pg_index WHERE indexrelid = 'u_n'::regclass"),
		't', 'new: its index is built and valid');
	foreach my $id ($paused, $half)
	{
		is($new->safe_psql('postgres', "SELECT migrate_job_resume($id)"), 'queued',
			"new: paused job $id is resumed");
		is(wait_job_state($new, 'postgres', $id, 'done|failed'), 'done',
			"new: resumed job $id finishes");
	}
	is($new->safe_psql('postgres',
			'SELECT n, count(*) FROM t GROUP BY n UNION ALL SELECT n, count(*) FROM u GROUP BY n
			 UNION ALL SELECT n, count(*) FROM w GROUP BY n'),
		"1|5000\n1|5000\n1|20000", 'new: every row updated exactly once');

	$new->stop;
	return;
}

1;
