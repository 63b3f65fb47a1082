# pg_upgrade between two clusters that both preload pg_migrate.
#
# In binary-upgrade mode pg_migrate stands aside: no hook records or judges
# the schema pg_upgrade restores, and no launcher starts, in the old cluster
# (which pg_upgrade starts to dump it) or in the new one.  The history,
# migrations, policies and jobs come through unchanged, and a queued job
# that no worker could touch before the upgrade runs once the new cluster
# starts.
use strict;
use warnings;
use Cwd;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmJobs;

my $old = PostgreSQL::Test::Cluster->new('old');
$old->init;
$old->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'pg_migrate'
max_worker_processes = 16
# no job worker may run here while the jobs are set up
pg_migrate.max_workers = 0
});
$old->start;
$old->safe_psql('postgres', q{
CREATE EXTENSION pg_migrate;
CREATE TABLE t (id int PRIMARY KEY, n int NOT NULL DEFAULT 0);
INSERT INTO t SELECT g FROM generate_series(1, 5000) g;
CREATE TABLE u (id int PRIMARY KEY, n int NOT NULL DEFAULT 0);
INSERT INTO u SELECT g FROM generate_series(1, 5000) g;
CREATE INDEX t_n ON t (n);
SELECT migrate_apply('1', 'CREATE TABLE m (i int)', 'DROP TABLE m', 'first');
INSERT INTO migrate_policy (rule, action, table_pattern, note)
VALUES ('drop_table', 'allow', 'tmp\_%', 'scratch tables');
UPDATE migrate_policy SET action = 'warn' WHERE rule = 'truncate' AND shipped;
});
my $queued = $old->safe_psql('postgres',
	"SELECT migrate_batch_update('t', 'n = n + 1', batch_size => 500)");
my $paused = $old->safe_psql('postgres',
	"SELECT migrate_batch_update('u', 'n = n + 1', batch_size => 500)");
$old->safe_psql('postgres', "SELECT migrate_job_pause($paused)");

my %queries = (
	history => 'SELECT * FROM migrate_ddl_history ORDER BY id',
	migrations => 'SELECT * FROM migrate_migrations ORDER BY version',
	policy => 'SELECT * FROM migrate_policy ORDER BY rule, action, table_pattern, shipped',
	jobs => 'SELECT * FROM migrate_job_state ORDER BY id',
	slices => 'SELECT * FROM migrate_job_slice ORDER BY job_id, slice',
	rows => 'SELECT n, count(*) FROM t GROUP BY n UNION ALL SELECT n, count(*) FROM u GROUP BY n',
	sequence => 'SELECT last_value FROM migrate_ddl_history_id_seq',
);
my $old_max_id = $old->safe_psql('postgres', 'SELECT max(id) FROM migrate_ddl_history');
my %before;
$before{$_} = $old->safe_psql('postgres', $queries{$_}) foreach keys %queries;
is($old->safe_psql('postgres',
		"SELECT string_agg(state, ',' ORDER BY id) FROM migrate_jobs"),
	'queued,paused', 'old: one queued and one paused job');
is($before{rows}, "0|5000\n0|5000", 'old: no row updated yet');
$old->stop;

# pg_upgrade starts the old cluster again: with room for workers, a
# launcher that did not stand aside would run the queued job there.
$old->append_conf('postgresql.conf', 'pg_migrate.max_workers = 4');

my $new = PostgreSQL::Test::Cluster->new('new');
$new->init;
$new->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'pg_migrate'
max_worker_processes = 16
pg_migrate.max_workers = 4
});

# pg_upgrade writes its files into the current directory.
my $workdir = PostgreSQL::Test::Utils::tempdir;
my $cwd = getcwd();
chdir $workdir or die "chdir $workdir: $!";
command_ok(
	[
		'pg_upgrade', '--no-sync',
		'-d', $old->data_dir, '-D', $new->data_dir,
		'-b', $old->config_data('--bindir'), '-B', $new->config_data('--bindir'),
		'-s', $new->host, '-p', $old->port, '-P', $new->port
	],
	'pg_upgrade succeeds with pg_migrate preloaded in both clusters');
chdir $cwd;

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
		"SELECT string_agg(state, ',' ORDER BY id) || ' ' || sum(rows_done) FROM migrate_jobs"),
	'queued,paused 0', 'new: no job worker ran during the upgrade');

# The extension works in the new cluster: history, policy, migrations.
$new->safe_psql('postgres', 'CREATE TABLE after_upgrade (i int)');
is($new->safe_psql('postgres',
		"SELECT id > (SELECT max(id) FROM migrate_ddl_history WHERE statement NOT LIKE '%after_upgrade%')
		   FROM migrate_ddl_history WHERE statement LIKE '%after_upgrade%'"),
	't', 'new: DDL is recorded, with an id after the upgraded ones');
# (u was made moments ago by this role, and pg_upgrade keeps OIDs, so
# its drop would count as the role's own undo: the window is closed here.)
my ($ret, $out, $err) = $new->psql('postgres', 'SET pg_migrate.own_undo_window = 0; DROP TABLE u');
like($err, qr/rule "drop_table" refuses this statement/, 'new: the policies are enforced');
$new->safe_psql('postgres', 'CREATE TABLE tmp_x (i int); DROP TABLE tmp_x');
is($new->safe_psql('postgres', "SELECT version || ' ' || state FROM migrate_status()"),
	'1 applied', 'new: the migration is applied');

# Now with workers: the queued job runs by itself, the paused one on resume.
$new->append_conf('postgresql.conf', 'pg_migrate.max_workers = 4');
$new->restart;
is(wait_job_state($new, 'postgres', $queued, 'done|failed'), 'done',
	'new: the queued job runs after the upgrade');
is($new->safe_psql('postgres', "SELECT migrate_job_resume($paused)"), 'queued',
	'new: the paused job is resumed');
is(wait_job_state($new, 'postgres', $paused, 'done|failed'), 'done',
	'new: the resumed job finishes');
is($new->safe_psql('postgres',
		'SELECT n, count(*) FROM t GROUP BY n UNION ALL SELECT n, count(*) FROM u GROUP BY n'),
	"1|5000\n1|5000", 'new: every row updated exactly once');

$new->stop;
done_testing();
