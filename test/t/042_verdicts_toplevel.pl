# Verdicts of the statements that cannot run in a transaction block
# (VACUUM, VACUUM FULL, CREATE/DROP INDEX CONCURRENTLY, REINDEX
# CONCURRENTLY, DETACH PARTITION CONCURRENTLY), measured on the server the
# way the verdict corpus (test/verdicts) measures the others, but from
# outside: the statement runs at top level in a session of its own while
# probe sessions hold locks and read pg_locks.
#
# What is measured, for each case on a freshly built schema:
#
#   lock asked   For each table the case names and each of the eight table
#                lock modes M, a holder session takes M on the table
#                (LOCK TABLE) in an open transaction, and the statement is
#                started.  When it queues for a relation lock, pg_locks
#                shows the mode it asks for; the holder then ends and the
#                statement completes.  A request conflicting with M queues,
#                whenever in the statement's run it comes, so the strongest
#                mode asked over the eight probes is the strongest mode
#                the statement takes on the table.  A reader holding
#                AccessShareLock on the table and all its indexes (any
#                query does: the planner opens them) shows the locks asked
#                on indexes.
#   waits        When the statement queues for another transaction instead
#                (virtualxid / transactionid: the CONCURRENTLY forms wait
#                for older transactions), the locks it holds at that moment
#                are read, and a third session tries a SELECT and an INSERT
#                on the table with a short lock_timeout: whether it blocks
#                readers or writers while it waits.
#   files        pg_relation_filenode() of the tables and of the indexes
#                (by name) before and after a run nobody disturbs: a table
#                with a new file was rewritten, an index with a new file
#                (or a new index) was built.
#
# What migrate_plan and migrate_check said about the same statement, before
# it ran, must agree: the plan's lock_mode for every table measured is the
# strongest mode measured; a rewrite of a populated table is a
# table_rewrite finding; an index built or dropped under a lock that blocks
# writes is blocking_index_build / blocking_index_drop; a statement that
# blocks no reader or writer has no finding.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use IPC::Run;
use Time::HiRes qw(usleep);
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('toplevel_verdicts');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'pg_migrate'
autovacuum = off
max_parallel_maintenance_workers = 0
pg_migrate.small_table_size = 0
pg_migrate.record_ddl = off
pg_migrate.own_new_tables = off
pg_migrate.own_undo_window = 0
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_migrate');

my @modes = qw(AccessShareLock RowShareLock RowExclusiveLock
  ShareUpdateExclusiveLock ShareLock ShareRowExclusiveLock
  ExclusiveLock AccessExclusiveLock);
my %rank;
@rank{@modes} = (1 .. 8);
sub lock_sql
{
	my $m = shift;
	$m =~ s/Lock$//;
	$m =~ s/([a-z])([A-Z])/$1 $2/g;
	return uc $m;
}

# Tables of 20000 rows (the deleted tail gives VACUUM something to do)
# with two indexes; a partitioned table with two populated partitions.
my $setup = q{
SET pg_migrate.enforce = off;
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS vt CASCADE;
CREATE SCHEMA vt;
CREATE TABLE vt.t (id int PRIMARY KEY, v int, pad text);
INSERT INTO vt.t SELECT g, g % 100, md5(g::text) FROM generate_series(1, 20000) g;
CREATE INDEX t_v ON vt.t (v);
DELETE FROM vt.t WHERE id > 15000;
CREATE TABLE vt.p (id int, v int) PARTITION BY RANGE (id);
CREATE TABLE vt.p1 PARTITION OF vt.p FOR VALUES FROM (0) TO (10000);
CREATE TABLE vt.p2 PARTITION OF vt.p FOR VALUES FROM (10000) TO (20000);
INSERT INTO vt.p SELECT g, g FROM generate_series(1, 19999) g;
ANALYZE vt.t, vt.p;
};

# name => [statement, tables probed, the row a writer inserts into each]
my @cases = (
	[ 'vacuum', 'VACUUM vt.t', ['vt.t'] ],
	[ 'vacuum_full', 'VACUUM FULL vt.t', ['vt.t'] ],
	[ 'vacuum_analyze', 'VACUUM (ANALYZE) vt.t', ['vt.t'] ],
	[ 'create_index_concurrently', 'CREATE INDEX CONCURRENTLY t_pad ON vt.t (pad)', ['vt.t'] ],
	[ 'drop_index_concurrently', 'DROP INDEX CONCURRENTLY vt.t_v', ['vt.t'] ],
	[ 'reindex_index_concurrently', 'REINDEX INDEX CONCURRENTLY vt.t_v', ['vt.t'] ],
	[ 'reindex_table_concurrently', 'REINDEX TABLE CONCURRENTLY vt.t', ['vt.t'] ],
	[ 'detach_concurrently', 'ALTER TABLE vt.p DETACH PARTITION vt.p1 CONCURRENTLY', [ 'vt.p', 'vt.p1' ] ],
	# controls: forms whose locks the transactional corpus measures too
	[ 'create_index', 'CREATE INDEX t_pad ON vt.t (pad)', ['vt.t'] ],
	[ 'drop_index', 'DROP INDEX vt.t_v', ['vt.t'] ],
);
# The holder's row, and the third session's (another key).
my %insert = (
	'vt.t' => q{INSERT INTO vt.t VALUES (-1, 1, 'x')},
	'vt.p' => q{INSERT INTO vt.p VALUES (5, 5)},
	'vt.p1' => q{INSERT INTO vt.p1 VALUES (6, 6)},
);
my %insert2 = (
	'vt.t' => q{INSERT INTO vt.t VALUES (-2, 1, 'x')},
	'vt.p' => q{INSERT INTO vt.p VALUES (7, 7)},
	'vt.p1' => q{INSERT INTO vt.p1 VALUES (8, 8)},
);

# The statement in a session of its own, at top level.
sub start_target
{
	my ($sql) = @_;
	my %h = (out => '', err => '');
	$h{run} = IPC::Run::start(
		[
			'psql', '-X', '-At', '-v', 'ON_ERROR_STOP=1',
			'-d', $node->connstr('postgres') . ' application_name=verdict_target',
			'-c', 'SET pg_migrate.enforce = off',
			'-c', 'SET pg_migrate.lock_timeout_mode = off',
			'-c', $sql
		],
		'>', \$h{out}, '2>', \$h{err});
	return \%h;
}

# Until the target ends (returns undef) or queues (returns its ungranted
# pg_locks row: locktype|relation|mode, and its granted relation locks).
sub wait_for_queue
{
	my ($h) = @_;
	for (1 .. 3000)
	{
		my $row = $node->safe_psql('postgres', q{
			SELECT l.locktype || '|' || COALESCE(l.relation::regclass::text, '') || '|' || l.mode
			  FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
			 WHERE a.application_name = 'verdict_target' AND NOT l.granted LIMIT 1});
		if ($row ne '')
		{
			my $held = $node->safe_psql('postgres', q{
				SELECT string_agg(l.relation::regclass::text || '=' || l.mode, ',' ORDER BY 1)
				  FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
				 WHERE a.application_name = 'verdict_target' AND l.granted
				   AND l.locktype = 'relation'
				   AND l.relation::regclass::text LIKE 'vt.%'});
			return ($row, $held);
		}
		$h->{run}->pump_nb;
		return undef unless $h->{run}->pumpable;
		usleep(10_000);
	}
	die "the target neither ended nor queued";
}

sub finish_target
{
	my ($h, $name) = @_;
	$h->{run}->finish;
	die "$name failed: $h->{err}" if $h->{run}->result != 0;
}

# Files of every table and index of vt, by name.
sub files
{
	my %f;
	for my $line (split /\n/, $node->safe_psql('postgres', q{
		SELECT c.relname || '|' || c.relkind::text || '|' || pg_relation_filenode(c.oid)
		  FROM pg_class c WHERE c.relnamespace = 'vt'::regnamespace
		   AND c.relkind IN ('r', 'i')}))
	{
		my ($n, $k, $fn) = split /\|/, $line;
		$f{$n} = [ $k, $fn ];
	}
	return \%f;
}

my @report;
for my $case (@cases)
{
	my ($name, $sql, $tables) = @$case;

	# What the check and the plan say, on the schema as set up.
	$node->safe_psql('postgres', $setup);
	my $q = $sql;
	$q =~ s/'/''/g;
	my %planned;
	for my $line (split /\n/, $node->safe_psql('postgres',
		"SELECT relation || '|' || COALESCE(lock_mode, '') FROM migrate_plan('$q') WHERE relation IS NOT NULL"))
	{
		my ($rel, $mode) = split /\|/, $line, 2;
		$planned{$rel} = $mode;
	}
	my @found = sort split /\n/, $node->safe_psql('postgres',
		"SELECT DISTINCT rule || ' ' || COALESCE(relation, '') FROM migrate_check('$q') WHERE rule IS NOT NULL");

	# Files: one run nobody disturbs.
	my $before = files();
	my $t = start_target($sql);
	finish_target($t, $name);
	my $after = files();
	my (@rewritten, @built, @dropped);
	for my $rel (sort keys %$before)
	{
		my ($kind, $fn) = @{ $before->{$rel} };
		if (!$after->{$rel}) { push @dropped, $rel if $kind eq 'i'; next; }
		next if $after->{$rel}[1] eq $fn;
		push @rewritten, $rel if $kind eq 'r';
		push @built, $rel if $kind eq 'i';
	}
	push @built, grep { !$before->{$_} && $after->{$_}[0] eq 'i' } sort keys %$after;

	# Locks asked, table by table and mode by mode; then under a reader of
	# every index of the table; then under a writer.
	my (%asked, @waits);
	for my $tab (@$tables)
	{
		for my $probe ((map { "LOCK TABLE $tab IN " . lock_sql($_) . ' MODE' } @modes),
			"SELECT count(*) FROM $tab WHERE id = 1",
			"reader_writer")
		{
			$node->safe_psql('postgres', $setup);
			my $holder = $node->background_psql('postgres');
			$holder->query_safe('BEGIN');
			if ($probe eq 'reader_writer')
			{
				$holder->query_safe("SELECT count(*) FROM $tab");
				$holder->query_safe("$insert{$tab}");
			}
			else
			{
				$holder->query_safe($probe);
			}
			my $target = start_target($sql);
			my ($row, $held) = wait_for_queue($target);
			if (defined $row)
			{
				my ($type, $rel, $mode) = split /\|/, $row;
				if ($type eq 'relation')
				{
					$asked{$rel} = $mode
					  if !$asked{$rel} || $rank{$mode} > $rank{ $asked{$rel} };
				}
				elsif ($probe eq 'reader_writer')
				{
					# Waiting for older transactions: what does it block now?
					my %got;
					for my $what ([ 'read', "SELECT count(*) FROM $tab" ], [ 'write', $insert2{$tab} ])
					{
						my ($ret, $out, $err) = $node->psql('postgres',
							"SET lock_timeout = '300ms'; BEGIN; $what->[1]; ROLLBACK");
						$got{ $what->[0] } = $ret == 0 ? 'go on'
						  : $err =~ /lock timeout/ ? 'blocked'
						  : 'fail: ' . (split /\n/, $err)[0];
					}
					push @waits, sprintf('%s waits for %s holding %s; reads %s, writes %s',
						$tab, $type, $held || 'nothing', $got{read}, $got{write});
				}
			}
			$holder->query_safe('ROLLBACK');
			$holder->quit;
			finish_target($target, "$name under $probe");
		}
	}

	my $measured = join('; ',
		(map { "lock $_ $asked{$_}" } sort keys %asked),
		(map { "rewritten $_" } @rewritten), (map { "built $_" } @built),
		(map { "dropped $_" } @dropped), @waits);
	note "$name: $sql";
	note "  measured: $measured";
	note '  plan: ' . join(', ', map { "$_ $planned{$_}" } sort keys %planned);
	note '  check: ' . (@found ? join(', ', @found) : 'no finding');
	push @report, "$name | $measured | check: " . (@found ? join(', ', @found) : 'none');

	# The plan's lock on every table measured is the strongest asked for.
	for my $tab (@$tables)
	{
		is($planned{$tab} // 'none', $asked{$tab} // 'none',
			"$name: migrate_plan gives $tab the lock it takes");
	}
	# The findings follow from what was measured.
	my $strongest = 0;
	$strongest = $rank{$_} > $strongest ? $rank{$_} : $strongest for values %asked;
	my @expected;
	push @expected, map { "table_rewrite $_" } map { "vt.$_" } @rewritten;
	push @expected, 'blocking_index_build vt.t'
	  if @built && !@rewritten && $strongest >= $rank{ShareLock};
	push @expected, 'blocking_index_drop vt.t'
	  if @dropped && $strongest >= $rank{ShareLock};
	is(join(', ', @found), join(', ', sort @expected),
		"$name: migrate_check's findings are what was measured");
}

# The measurements themselves, against what PostgreSQL documents, so that a
# probe that stops seeing anything fails here.
like($report[0], qr/lock vt\.t ShareUpdateExclusiveLock/, 'VACUUM takes ShareUpdateExclusiveLock');
like($report[1], qr/lock vt\.t AccessExclusiveLock.*rewritten t/, 'VACUUM FULL rewrites under AccessExclusiveLock');
like($report[3], qr/vt\.t waits for virtualxid .*reads go on, writes go on/,
	'CREATE INDEX CONCURRENTLY waits for older transactions without blocking anyone');
like($report[7], qr/lock vt\.p1 AccessExclusiveLock/,
	'DETACH PARTITION CONCURRENTLY finishes under AccessExclusiveLock on the partition');
like($report[8], qr/lock vt\.t ShareLock/, 'CREATE INDEX takes ShareLock');
like($report[9], qr/lock vt\.t AccessExclusiveLock/, 'DROP INDEX takes AccessExclusiveLock');

note join("\n", 'summary:', @report);
$node->stop;
done_testing();
