# Attacks on pg_migrate by roles that are not superusers, where they need
# more than one session, a connection option or a background worker:
#
# - pg_migrate.* settings passed as connection options (PGOPTIONS) by an
#   ordinary role, for every setting the library defines;
# - the job worker runs its bookkeeping as the bootstrap superuser in a
#   session where the submitter's batches have run: temporary types and
#   tables the submitter leaves behind there, or a search_path the
#   database's owner sets with ALTER DATABASE, must never make the worker
#   run the attacker's code with its own rights;
# - a role whose privilege came from a group it is removed from stops
#   writing at the next batch;
# - hostile text in a job's table name and clauses reaches the server log
#   and last_error intact.
#
# Traps record the role they ran as in trap_log, which PUBLIC may insert
# into; a trap that ran as a superuser is a privilege escalation.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use PgmJobs;

my $node = pgm_node('security');
# The replication-lag check runs before every batch, as the worker's own
# superuser, when a limit is set; no standby is needed for it to run.
$node->append_conf('postgresql.conf', qq{
pg_migrate.max_replication_lag = '1h'
pg_migrate.batch_target = '10ms'
});
$node->reload;

$node->safe_psql('postgres', q{
CREATE EXTENSION pg_migrate;
CREATE TABLE public.trap_log (id serial, who name, rolsuper boolean, what text);
GRANT INSERT ON public.trap_log TO PUBLIC;
GRANT USAGE ON SEQUENCE public.trap_log_id_seq TO PUBLIC;
CREATE ROLE plain LOGIN;
CREATE SCHEMA plainschema AUTHORIZATION plain;
});

sub superuser_traps
{
	my ($db) = @_;
	return $node->safe_psql($db,
		"SELECT count(*) FROM public.trap_log WHERE rolsuper AND what <> 'planted'");
}

# ------------------------------------------------------------------
# Settings as connection options
# ------------------------------------------------------------------

# Every pg_migrate setting with a value it accepts (its current one).
my @settings = map { [ split /\|/, $_, 3 ] } split /\n/,
  $node->safe_psql('postgres',
	"SELECT name, context, setting FROM pg_settings WHERE name LIKE 'pg\\_migrate.%' ORDER BY name");
cmp_ok(scalar(@settings), '>=', 16, 'PGOPTIONS: the settings are listed');

foreach my $s (@settings)
{
	my ($name, $context, $value) = @$s;
	local $ENV{PGOPTIONS} = "-c $name=$value";
	# The statement goes on the command line, not to psql's standard
	# input: a refused connection ends psql before it would read it, and
	# writing to it then fails the test with a broken pipe.
	my ($out, $err) = ('', '');
	my $rc = IPC::Run::run(
		[ $node->installed_command('psql'), '-X', '-A', '-t',
		  '-d', $node->connstr('postgres'), '-U', 'plain',
		  '-c', "SHOW $name" ],
		'<', \undef, '>', \$out, '2>', \$err) ? 0 : 1;
	if ($context eq 'user')
	{
		is($rc, 0, "PGOPTIONS: $name ($context) may be set by an ordinary role");
	}
	elsif ($context eq 'superuser')
	{
		like($err, qr/permission denied to set parameter "\Q$name\E"/,
			"PGOPTIONS: $name ($context) refused to an ordinary role");
	}
	else
	{
		like($err, qr/parameter "\Q$name\E" cannot be changed/,
			"PGOPTIONS: $name ($context) refused at connection");
	}
}

# The superuser's restore recipe from the README still works.
{
	local $ENV{PGOPTIONS} = '-c pg_migrate.record_ddl=off -c pg_migrate.enforce=off';
	is($node->safe_psql('postgres', 'SHOW pg_migrate.record_ddl'), 'off',
		'PGOPTIONS: a superuser may switch recording off');
}

# ------------------------------------------------------------------
# Temporary objects left in the worker's session by the submitter
# ------------------------------------------------------------------

# plain's clause calls plainschema.plant(), which (as plain, inside the
# batch) creates temporary domains named like the types pg_migrate's own
# queries use, and temporary tables and views named like the relations they
# read, each with a trap.  pg_temp is searched before pg_catalog for types
# and relations unless the search_path lists it: the worker's bookkeeping,
# which runs as the bootstrap superuser between batches, must not meet them.
# A batch is a security-restricted operation, so the first attempt to
# create one fails the job: nothing is planted at all.
$node->safe_psql('postgres', q{
SET ROLE plain;
CREATE TABLE plainschema.t (id int PRIMARY KEY, n int NOT NULL DEFAULT 0);
INSERT INTO plainschema.t SELECT g FROM generate_series(1, 2000) g;
CREATE FUNCTION plainschema.trap(what text) RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO public.trap_log (who, rolsuper, what)
    SELECT current_user, r.rolsuper, what FROM pg_roles r WHERE r.rolname = current_user;
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        EXECUTE 'ALTER ROLE plain SUPERUSER';
    END IF;
    RETURN true;
END $$;
CREATE FUNCTION plainschema.plant(n int) RETURNS int
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t text;
BEGIN
    IF to_regtype('pg_temp.float8') IS NULL THEN
        PERFORM plainschema.trap('planted');
        FOREACH t IN ARRAY ARRAY['float8', 'float4', 'numeric', 'int8', 'int4',
                                 'oid', 'jsonb', 'json', 'regclass', 'regrole',
                                 'regtype', 'interval', 'timestamptz', 'bytea',
                                 'tid', 'xid8', 'inet', 'bool']
        LOOP
            EXECUTE format('CREATE DOMAIN pg_temp.%I AS pg_catalog.%I CHECK (plainschema.trap(%L))',
                           t, t, 'domain ' || t);
        END LOOP;
        FOREACH t IN ARRAY ARRAY['pg_stat_replication', 'pg_stat_activity', 'pg_class',
                                 'pg_namespace', 'pg_extension', 'pg_roles']
        LOOP
            EXECUTE format('CREATE VIEW pg_temp.%I AS SELECT * FROM pg_catalog.%I WHERE plainschema.trap(%L)',
                           t, t, 'view ' || t);
        END LOOP;
        FOREACH t IN ARRAY ARRAY['migrate_job_state', 'migrate_job_slice', 'migrate_jobs',
                                 'migrate_ddl_history']
        LOOP
            EXECUTE format('CREATE VIEW pg_temp.%I AS SELECT * FROM public.trap_log WHERE plainschema.trap(%L)',
                           t, 'view ' || t);
        END LOOP;
    END IF;
    RETURN n + 1;
END $$;
});
my $id = $node->safe_psql('postgres',
	"SET ROLE plain; SELECT migrate_batch_update('plainschema.t', 'n = plainschema.plant(n)', batch_size => 100)");
is(wait_job_state($node, 'postgres', $id, 'done|failed'), 'failed',
	'worker temp objects: the job fails');
like($node->safe_psql('postgres', "SELECT last_error FROM migrate_jobs WHERE id = $id"),
	qr/cannot create (a type in a temporary schema|temporary table) within security-restricted operation/,
	'worker temp objects: refused inside the batch');
is($node->safe_psql('postgres', "SELECT count(*) FROM public.trap_log WHERE what = 'planted'"),
	'0', 'worker temp objects: nothing was planted');
is(superuser_traps('postgres'), '0', 'worker temp objects: no trap ran as a superuser');
is($node->safe_psql('postgres', "SELECT rolsuper FROM pg_roles WHERE rolname = 'plain'"), 'f',
	'worker temp objects: the submitter is no superuser');
is($node->safe_psql('postgres', "SELECT count(*) FROM public.trap_log WHERE what <> 'planted'"), '0',
	'worker temp objects: no trap ran at all');

# ------------------------------------------------------------------
# A search_path chosen by the database's owner
# ------------------------------------------------------------------

# The owner of a database (not a superuser) sets its search_path so that
# its own schema comes before pg_catalog, with lookalikes of the types,
# functions, operators and relations pg_migrate uses.  Job workers connect
# to the database as the bootstrap superuser and get that setting.
$node->safe_psql('postgres', q{
CREATE ROLE dbo LOGIN CREATEDB;
SET ROLE dbo;
CREATE DATABASE dbo_db;
});
$node->safe_psql('dbo_db', q{
CREATE EXTENSION pg_migrate;
CREATE TABLE public.trap_log (id serial, who name, rolsuper boolean, what text);
GRANT INSERT ON public.trap_log TO PUBLIC;
GRANT USAGE ON SEQUENCE public.trap_log_id_seq TO PUBLIC;
SET ROLE dbo;
CREATE SCHEMA evil;
CREATE FUNCTION evil.trap(what text) RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO public.trap_log (who, rolsuper, what)
    SELECT current_user, r.rolsuper, what FROM pg_roles r WHERE r.rolname = current_user;
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        EXECUTE 'ALTER ROLE dbo SUPERUSER';
    END IF;
    RETURN true;
END $$;
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['float8', 'numeric', 'int8', 'int4', 'oid', 'jsonb',
                             'regclass', 'regrole', 'interval', 'timestamptz', 'bytea', 'tid']
    LOOP
        EXECUTE format('CREATE DOMAIN evil.%I AS pg_catalog.%I CHECK (evil.trap(%L))',
                       t, t, 'domain ' || t);
    END LOOP;
    FOREACH t IN ARRAY ARRAY['text', 'int8', 'int4', 'oid', 'bool', 'float8', 'numeric']
    LOOP
        EXECUTE format('CREATE FUNCTION evil.trap_eq(a %1$I, b %1$I) RETURNS boolean LANGUAGE sql '
                       'AS $f$ SELECT evil.trap(%2$L) AND a OPERATOR(pg_catalog.=) b $f$',
                       t, '= on ' || t);
        EXECUTE format('CREATE OPERATOR evil.= (LEFTARG = %1$I, RIGHTARG = %1$I, FUNCTION = evil.trap_eq)', t);
    END LOOP;
    FOREACH t IN ARRAY ARRAY['pg_stat_replication', 'pg_stat_activity', 'pg_class',
                             'pg_namespace', 'pg_extension', 'pg_roles']
    LOOP
        EXECUTE format('CREATE VIEW evil.%I AS SELECT * FROM pg_catalog.%I WHERE evil.trap(%L)',
                       t, t, 'view ' || t);
    END LOOP;
END $$;
CREATE FUNCTION evil.now() RETURNS timestamptz LANGUAGE sql
    AS $$ SELECT pg_catalog.now() WHERE evil.trap('now()') $$;
CREATE FUNCTION evil.max(interval) RETURNS interval LANGUAGE sql
    AS $$ SELECT $1 WHERE evil.trap('max()') $$;
CREATE FUNCTION evil.make_interval(secs float8) RETURNS interval LANGUAGE sql
    AS $$ SELECT pg_catalog.make_interval(secs => secs) WHERE evil.trap('make_interval()') $$;
CREATE TABLE evil.t (id int PRIMARY KEY, n int NOT NULL DEFAULT 0);
INSERT INTO evil.t SELECT g FROM generate_series(1, 2000) g;
});
my ($rc, $out, $err) = $node->psql('dbo_db',
	'SET ROLE dbo; ALTER DATABASE dbo_db SET pg_migrate.enforce = off');
like($err, qr/permission denied to set parameter "pg_migrate.enforce"/,
	'database owner: cannot set a pg_migrate switch for the database');
$node->safe_psql('dbo_db', 'SET ROLE dbo; ALTER DATABASE dbo_db SET search_path = evil, pg_catalog, public');
$id = $node->safe_psql('dbo_db',
	"SET ROLE dbo; SELECT public.migrate_batch_update('evil.t', 'n = n + 1', batch_size => 100)");
is(wait_job_state($node, 'dbo_db', $id, 'done|failed'), 'done',
	'database search_path: the job runs to its end');
is($node->safe_psql('dbo_db', 'SELECT n, count(*) FROM evil.t GROUP BY n'), '1|2000',
	'database search_path: every row updated once');
is(superuser_traps('dbo_db'), '0', 'database search_path: no trap ran as a superuser');
is($node->safe_psql('dbo_db', "SELECT string_agg(DISTINCT what, ', ') FROM public.trap_log"), '',
	'database search_path: no trap ran at all');
is($node->safe_psql('postgres', "SELECT rolsuper FROM pg_roles WHERE rolname = 'dbo'"), 'f',
	'database search_path: the database owner is no superuser');
$node->safe_psql('dbo_db', 'ALTER DATABASE dbo_db RESET search_path');

# ------------------------------------------------------------------
# Privilege through a group, revoked while the job runs
# ------------------------------------------------------------------
$node->safe_psql('postgres', q{
CREATE ROLE writers NOLOGIN;
CREATE ROLE member LOGIN IN ROLE writers;
CREATE TABLE public.g (id int PRIMARY KEY, n int NOT NULL DEFAULT 0);
INSERT INTO public.g SELECT i FROM generate_series(1, 100000) i;
GRANT SELECT, UPDATE ON public.g TO writers;
});
$id = $node->safe_psql('postgres',
	"SET ROLE member; SELECT migrate_batch_update('public.g', 'n = n + 1', batch_size => 500, pause => '50ms')");
ok(wait_rows_done($node, 'postgres', $id, 1000), 'revoked membership: job under way');
$node->safe_psql('postgres', 'REVOKE writers FROM member');
is(wait_job_state($node, 'postgres', $id, 'done|failed'), 'failed',
	'revoked membership: the job fails');
like($node->safe_psql('postgres', "SELECT last_error FROM migrate_jobs WHERE id = $id"),
	qr/permission denied for table g/, 'revoked membership: last_error says why');
my $changed = $node->safe_psql('postgres', 'SELECT count(*) FROM public.g WHERE n = 1');
is($node->safe_psql('postgres', "SELECT rows_done FROM migrate_jobs WHERE id = $id"), $changed,
	'revoked membership: no row changed after the revoke');
cmp_ok($changed, '<', 100000, 'revoked membership: stopped before the end');

# ------------------------------------------------------------------
# Hostile text in the table name and the clauses, in the log and last_error
# ------------------------------------------------------------------

# A name with a quote, a semicolon, a comment, a backslash, a dollar quote,
# control characters and UTF-8; a set_clause that fails on one row with a
# message made of the same text; a where_clause ending in a comment.
$node->safe_psql('postgres', q{
CREATE TABLE public.junk (v text);
INSERT INTO public.junk VALUES (E'x"; DROP TABLE public.g; -- /* $$ \\\\ \u00e9\u263a \x01\x1f\x7f');
CREATE FUNCTION public.fail_at(id int, msg text) RETURNS int LANGUAGE plpgsql AS $$
BEGIN
    IF id = 300 THEN RAISE EXCEPTION 'refused: %', msg; END IF;
    RETURN 1;
END $$;
DO $$
BEGIN
    EXECUTE format('CREATE TABLE public.%I (id int PRIMARY KEY, n int NOT NULL DEFAULT 0)',
                   (SELECT v FROM public.junk));
    EXECUTE format('INSERT INTO public.%I SELECT g FROM generate_series(1, 400) g',
                   (SELECT v FROM public.junk));
END $$;
-- The rows changed, and those changed among the failing row's pass from
-- it on (the job is in two passes: odd keys, then even keys).
CREATE FUNCTION public.junk_done(from_id int DEFAULT NULL) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    c bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM public.%I WHERE n = 1 AND ($1 IS NULL OR (id >= $1 AND id %% 2 = $1 %% 2))',
                   (SELECT v FROM public.junk)) INTO c USING from_id;
    RETURN c;
END $$;
});
$id = $node->safe_psql('postgres', q{
SELECT migrate_batch_update(format('public.%I', v)::regclass,
                            format('n = public.fail_at(id, %L)', v),
                            E'n <> 2 /* ; */ -- )\n', batch_size => 50)
  FROM public.junk});
is(wait_job_state($node, 'postgres', $id, 'done|failed'), 'failed', 'hostile text: the job fails as told');
is($node->safe_psql('postgres', qq{
SELECT relation::text = format('%I', v), position('refused: ' || v IN last_error) > 0
  FROM migrate_jobs, public.junk WHERE id = $id}),
	't|t', 'hostile text: relation and last_error keep the text intact');
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_class WHERE relname = 'g'"), '1',
	'hostile text: nothing was interpreted');
is($node->safe_psql('postgres', qq{
SELECT j.rows_done = public.junk_done() AND public.junk_done(300) = 0
  FROM migrate_jobs j WHERE id = $id}),
	't', 'hostile text: the batches before the failing one committed, and only they');
ok($node->wait_for_log(qr/background job $id failed: refused: x"; DROP TABLE public\.g; -- \/\* \$\$ \\ \xc3\xa9\xe2\x98\xba \x01\x1f\x7f$/m),
	'hostile text: the log line is written');

ok(!$node->log_contains('terminated by signal|was terminated by exception'), 'no crash in the log');
$node->stop;
done_testing();
