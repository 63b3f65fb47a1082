# The install and upgrade scripts are schema-qualified, checked three ways.
#
# (a) Installed into a schema where a hostile role planted lookalikes first
#     (functions named like the built-ins the scripts use, operators on
#     (text, text), (name, name) and regrole, types named like pg_catalog's,
#     better-matching overloads that PostgreSQL would pick over the built-in
#     one), nothing the extension consists of depends on anything outside
#     pg_catalog and the extension itself: not its tables' column types,
#     defaults, check constraints, indexes and triggers, not its views'
#     queries, not its functions' signatures.  The lookalikes record every
#     call; none is ever called, during the installation or in use.
# (b) Every SQL and PL/pgSQL function of the extension runs with exactly
#     search_path = pg_catalog, pg_temp, and so does every C function but
#     the few listed below (documented in the README under "Security
#     notes").
# (c) A lint of the text of every pg_migrate--*.sql: the psql guard comes
#     first, no CREATE OR REPLACE, no IF NOT EXISTS, every object created,
#     altered, dropped, granted or commented on is named with @extschema@,
#     and no object a script creates with @extschema@ is referred to
#     without it.
#
# (a) and (b) see only what the catalog records (function bodies are not
# parsed: (b) is what protects them); (c) sees only the text outside
# comments, string constants and function bodies.  Each check is also run
# on a planted defect, so it is known to be able to fail.
use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# The functions that run a caller's script, or record the caller's
# search_path for the worker that runs it, and so resolve names the way the
# caller does: C functions whose own queries pin search_path; and
# migrate_job_wait, a procedure that must commit between polls (a SET
# clause would forbid that).  See README.md, "Security notes".
my @unpinned = (
	'migrate_apply(text, text, text, text, boolean)',
	'migrate_rollback(text, boolean)',
	'migrate_verify(text, text)',
	'migrate_check(text)',
	'migrate_plan(text)',
	'migrate_plan(text, text, text)',
	'migrate_apply_async(text, text, text, text, boolean)',
	'migrate_rollback_async(text, boolean)',
	'migrate_online(text, boolean)',
	'migrate_online_sync()',
	'migrate_online_mirror()',
	'migrate_job_wait(bigint, interval, text)');

my $node = PostgreSQL::Test::Cluster->new('scripts');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'pg_migrate'
max_worker_processes = 16
});
$node->start;

# --- (a) installed among lookalikes ----------------------------------------
$node->safe_psql('postgres', q{
	CREATE ROLE hostile;
	CREATE SCHEMA ops;
	GRANT USAGE, CREATE ON SCHEMA ops TO hostile;
	CREATE SCHEMA hostile AUTHORIZATION hostile;
});

# Everything the hostile role plants records that it ran, then behaves like
# the original, so that a capture would go unnoticed but for the record.
$node->safe_psql('postgres', q{
SET ROLE hostile;
CREATE TABLE hostile.ran (what text, by_role name DEFAULT current_user);
GRANT USAGE ON SCHEMA hostile TO PUBLIC;
GRANT INSERT ON hostile.ran TO PUBLIC;
CREATE FUNCTION hostile.mark(what text) RETURNS boolean LANGUAGE sql
	AS $$ INSERT INTO hostile.ran (what) VALUES (what); SELECT true $$;

-- same names and argument types as built-ins the scripts use
CREATE FUNCTION ops.now() RETURNS timestamptz LANGUAGE plpgsql
	AS $$ BEGIN PERFORM hostile.mark('now()'); RETURN pg_catalog.now(); END $$;
CREATE FUNCTION ops.length(text) RETURNS integer LANGUAGE plpgsql
	AS $$ BEGIN PERFORM hostile.mark('length(text)'); RETURN pg_catalog.length($1); END $$;
CREATE FUNCTION ops.round(numeric, integer) RETURNS numeric LANGUAGE plpgsql
	AS $$ BEGIN PERFORM hostile.mark('round()'); RETURN pg_catalog.round($1, $2); END $$;
CREATE FUNCTION ops.nextval(regclass) RETURNS bigint LANGUAGE plpgsql
	AS $$ BEGIN PERFORM hostile.mark('nextval()'); RETURN pg_catalog.nextval($1); END $$;
CREATE FUNCTION ops.pg_extension_config_dump(regclass, text) RETURNS void LANGUAGE plpgsql
	AS $$ BEGIN PERFORM hostile.mark('pg_extension_config_dump()'); END $$;
CREATE FUNCTION ops.sum_step(bigint, bigint) RETURNS bigint LANGUAGE plpgsql
	AS $$ BEGIN PERFORM hostile.mark('sum(bigint)'); RETURN coalesce($1, 0) + $2; END $$;
CREATE AGGREGATE ops.sum(bigint) (SFUNC = ops.sum_step, STYPE = bigint);
-- better matches than the built-ins: an exact type where pg_catalog's
-- needs a coercion, a plain argument where pg_catalog's is variadic or
-- polymorphic; PostgreSQL prefers these whatever the schema order
CREATE FUNCTION ops.pg_has_role(name, regrole, text) RETURNS boolean LANGUAGE plpgsql
	AS $$ BEGIN PERFORM hostile.mark('pg_has_role(name, regrole, text)'); RETURN true; END $$;
CREATE FUNCTION ops.format(text, jsonb) RETURNS text LANGUAGE plpgsql
	AS $$ BEGIN PERFORM hostile.mark('format(text, jsonb)'); RETURN pg_catalog.format($1, $2); END $$;
CREATE FUNCTION ops.to_jsonb(text) RETURNS jsonb LANGUAGE plpgsql
	AS $$ BEGIN PERFORM hostile.mark('to_jsonb(text)'); RETURN pg_catalog.to_jsonb($1); END $$;
CREATE FUNCTION ops.jsonb_build_object(text, text) RETURNS jsonb LANGUAGE plpgsql
	AS $$ BEGIN PERFORM hostile.mark('jsonb_build_object(text, text)');
	       RETURN pg_catalog.jsonb_build_object($1, $2); END $$;
CREATE FUNCTION ops.jsonb_array_length(jsonb) RETURNS integer LANGUAGE plpgsql
	AS $$ BEGIN PERFORM hostile.mark('jsonb_array_length(jsonb)');
	       RETURN pg_catalog.jsonb_array_length($1); END $$;
CREATE FUNCTION ops.make_interval(secs double precision) RETURNS interval LANGUAGE plpgsql
	AS $$ BEGIN PERFORM hostile.mark('make_interval(secs)');
	       RETURN pg_catalog.make_interval(secs => secs); END $$;

-- operators
CREATE FUNCTION ops.eq_text(text, text) RETURNS boolean LANGUAGE plpgsql
	AS $$ BEGIN PERFORM hostile.mark('= (text, text)'); RETURN $1 OPERATOR(pg_catalog.=) $2; END $$;
CREATE OPERATOR ops.= (LEFTARG = text, RIGHTARG = text, FUNCTION = ops.eq_text);
CREATE FUNCTION ops.eq_name(name, name) RETURNS boolean LANGUAGE plpgsql
	AS $$ BEGIN PERFORM hostile.mark('= (name, name)'); RETURN $1 OPERATOR(pg_catalog.=) $2; END $$;
CREATE OPERATOR ops.= (LEFTARG = name, RIGHTARG = name, FUNCTION = ops.eq_name);
CREATE FUNCTION ops.eq_regrole(regrole, regrole) RETURNS boolean LANGUAGE plpgsql
	AS $$ BEGIN PERFORM hostile.mark('= (regrole, regrole)');
	       RETURN $1::oid OPERATOR(pg_catalog.=) $2::oid; END $$;
CREATE OPERATOR ops.= (LEFTARG = regrole, RIGHTARG = regrole, FUNCTION = ops.eq_regrole);
CREATE FUNCTION ops.ne_regrole(regrole, regrole) RETURNS boolean LANGUAGE plpgsql
	AS $$ BEGIN PERFORM hostile.mark('<> (regrole, regrole)');
	       RETURN $1::oid OPERATOR(pg_catalog.<>) $2::oid; END $$;
CREATE OPERATOR ops.<> (LEFTARG = regrole, RIGHTARG = regrole, FUNCTION = ops.ne_regrole);
CREATE FUNCTION ops.le_int(integer, integer) RETURNS boolean LANGUAGE plpgsql
	AS $$ BEGIN PERFORM hostile.mark('<= (integer, integer)'); RETURN $1 OPERATOR(pg_catalog.<=) $2; END $$;
CREATE OPERATOR ops.<= (LEFTARG = integer, RIGHTARG = integer, FUNCTION = ops.le_int);
CREATE FUNCTION ops.minus_ts(timestamptz, timestamptz) RETURNS interval LANGUAGE plpgsql
	AS $$ BEGIN PERFORM hostile.mark('- (timestamptz, timestamptz)');
	       RETURN $1 OPERATOR(pg_catalog.-) $2; END $$;
CREATE OPERATOR ops.- (LEFTARG = timestamptz, RIGHTARG = timestamptz, FUNCTION = ops.minus_ts);

-- types and a relation named like pg_catalog's
CREATE DOMAIN ops.jsonb AS pg_catalog.text;
CREATE DOMAIN ops.xid8 AS pg_catalog.int8;
CREATE DOMAIN ops.regclass AS pg_catalog.text;
CREATE VIEW ops.pg_class AS SELECT hostile.mark('pg_class') AS relname;
RESET ROLE;
});

# 1.0, then the update: every script runs among the lookalikes.
$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_migrate VERSION '1.0' SCHEMA ops;
	ALTER EXTENSION pg_migrate UPDATE;
});

# The extension's members and their parts: a view's rewrite rule, a
# table's defaults, constraints, triggers, indexes, row type and owned
# sequences.  Then everything they depend on outside that set.
my $foreign_dependencies = q{
WITH RECURSIVE part(classid, objid) AS (
	SELECT d.classid, d.objid
	  FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
	 WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
	   AND e.extname = 'pg_migrate'
	UNION
	SELECT d.classid, d.objid
	  FROM pg_depend d JOIN part p ON d.refclassid = p.classid AND d.refobjid = p.objid
	 WHERE d.deptype IN ('a', 'i')
	   AND d.classid IN ('pg_rewrite'::regclass, 'pg_attrdef'::regclass,
	                     'pg_constraint'::regclass, 'pg_trigger'::regclass,
	                     'pg_class'::regclass, 'pg_type'::regclass, 'pg_policy'::regclass))
SELECT DISTINCT pg_describe_object(p.classid, p.objid, 0) || ' depends on '
       || pg_describe_object(d.refclassid, d.refobjid, 0)
       || coalesce(' in schema ' || quote_ident(ref.schema), '')
  FROM part p
  JOIN pg_depend d ON d.classid = p.classid AND d.objid = p.objid AND d.deptype <> 'e'
  CROSS JOIN LATERAL pg_identify_object(d.refclassid, d.refobjid, 0) ref
 WHERE (d.refclassid, d.refobjid) NOT IN (SELECT classid, objid FROM part)
   AND CASE
       WHEN d.refclassid = 'pg_namespace'::regclass
           THEN d.refobjid NOT IN ('pg_catalog'::regnamespace,
                                   (SELECT extnamespace FROM pg_extension
                                     WHERE extname = 'pg_migrate'))
       WHEN d.refclassid = 'pg_language'::regclass THEN false
       ELSE ref.schema IS DISTINCT FROM 'pg_catalog'
       END
 ORDER BY 1
};

is($node->safe_psql('postgres', $foreign_dependencies), '',
	'(a) nothing the extension consists of depends on an object outside pg_catalog and the extension');

# In use, with the hostile schema first on the caller's search_path.
my $job = $node->safe_psql('postgres', q{
SET search_path = ops, public;
CREATE TABLE public.accounts (id int PRIMARY KEY, email text, n int NOT NULL DEFAULT 0);
INSERT INTO public.accounts SELECT g, 'a' || g FROM generate_series(1, 1000) g;
INSERT INTO ops.migrate_policy (rule, action, schema_name, role_name, note)
	VALUES ('rename_table', 'deny', 'public', 'hostile', 'no renames');
UPDATE ops.migrate_policy SET note = 'no renames at all' WHERE note = 'no renames';
SELECT count(*) FROM ops.migrate_rules;
SELECT ops.migrate_apply('1', 'CREATE TABLE public.m (i int)', 'DROP TABLE public.m');
SELECT count(*) FROM ops.migrate_status();
SELECT count(*) FROM ops.migrate_drift();
SELECT count(*) FROM ops.migrate_check('ALTER TABLE public.accounts ADD COLUMN x int');
SELECT ops.migrate_history_purge('10 years');
SELECT ops.migrate_batch_update('public.accounts', 'n = n + 1', batch_size => 300);
});
$job = (split /\n/, $job)[-1];
is($node->safe_psql('postgres', "SET search_path = ops, public; CALL ops.migrate_job_wait($job, '180s')"),
	'done', '(a) the extension works in its hostile schema');
is($node->safe_psql('postgres', q{
	SET search_path = ops, public;
	SELECT state, rows_done FROM ops.migrate_jobs}),
	'done|1000', '(a) ... jobs included');
is($node->safe_psql('postgres',
		"SELECT count(*) FROM ops.migrate_ddl_history WHERE statement LIKE 'CREATE TABLE public.%'"),
	'2', '(a) ... and the history records DDL');
is($node->safe_psql('postgres', 'SELECT coalesce(string_agg(DISTINCT what, \', \'), \'\') FROM hostile.ran'),
	'', '(a) no lookalike ever ran');

# The check sees a capture: a member that uses a lookalike.
$node->safe_psql('postgres', q{
	CREATE VIEW ops.probe AS
		SELECT r.rolname FROM pg_catalog.pg_roles r
		 WHERE ops.pg_has_role(current_user, r.oid::regrole, 'USAGE');
	ALTER EXTENSION pg_migrate ADD VIEW ops.probe;
});
like($node->safe_psql('postgres', $foreign_dependencies),
	qr/^rule _RETURN on view ops\.probe depends on function ops\.pg_has_role\(name,regrole,text\) in schema ops$/m,
	'(a) a member depending on a lookalike is reported');
$node->safe_psql('postgres', q{
	ALTER EXTENSION pg_migrate DROP VIEW ops.probe;
	DROP VIEW ops.probe;
});

# --- (b) pinned search_path ----------------------------------------------
my $unpinned_list = join(', ', map { "'$_'" } @unpinned);
my $search_path_check = qq{
SELECT p.proname || '(' || oidvectortypes(p.proargtypes) || ') ' || l.lanname || ': '
       || CASE WHEN p.proconfig IS NULL THEN 'no SET search_path'
               ELSE 'SET ' || array_to_string(p.proconfig, '; ') END
  FROM pg_depend d
  JOIN pg_extension e ON e.oid = d.refobjid
  JOIN pg_proc p ON p.oid = d.objid
  JOIN pg_language l ON l.oid = p.prolang
 WHERE d.refclassid = 'pg_extension'::regclass AND d.classid = 'pg_proc'::regclass
   AND d.deptype = 'e' AND e.extname = 'pg_migrate'
   AND p.proconfig IS DISTINCT FROM ARRAY['search_path=pg_catalog, pg_temp']
   AND NOT (p.proconfig IS NULL AND l.lanname = 'c'
            AND p.proname || '(' || oidvectortypes(p.proargtypes) || ')' IN ($unpinned_list))
 ORDER BY 1
};
is($node->safe_psql('postgres', $search_path_check), '',
	'(b) every function runs with search_path = pg_catalog, pg_temp, but for the documented few');
is($node->safe_psql('postgres', qq{
	SELECT count(*) FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
	 WHERE p.pronamespace = 'ops'::regnamespace AND l.lanname = 'c' AND p.proconfig IS NULL
	   AND p.proname || '(' || oidvectortypes(p.proargtypes) || ')' IN ($unpinned_list)}),
	scalar(@unpinned), '(b) the documented few exist, in C, unpinned: the list is exact');

# The check sees an unpinned SQL function, and a pinned one set differently.
$node->safe_psql('postgres', q{
	CREATE FUNCTION ops.probe_plain() RETURNS int LANGUAGE sql AS 'SELECT 1';
	CREATE FUNCTION ops.probe_public() RETURNS int LANGUAGE sql
		SET search_path = public, pg_catalog AS 'SELECT 1';
	ALTER EXTENSION pg_migrate ADD FUNCTION ops.probe_plain();
	ALTER EXTENSION pg_migrate ADD FUNCTION ops.probe_public();
});
is($node->safe_psql('postgres', $search_path_check),
	"probe_plain() sql: no SET search_path\nprobe_public() sql: SET search_path=public, pg_catalog",
	'(b) an unpinned or differently pinned function is reported');
$node->safe_psql('postgres', q{
	ALTER EXTENSION pg_migrate DROP FUNCTION ops.probe_plain();
	ALTER EXTENSION pg_migrate DROP FUNCTION ops.probe_public();
	DROP FUNCTION ops.probe_plain(), ops.probe_public();
});

$node->stop;

# --- (c) the text of the scripts ------------------------------------------

# The script's code with comments blanked and string constants (dollar
# quoted function bodies included) reduced to an empty constant; quoted
# identifiers are kept.
sub code_of
{
	my ($text) = @_;
	$text =~ s{
		("(?:[^"]|"")*")                           # quoted identifier
	  | (/\*.*?\*/)                                # block comment
	  | (--[^\n]*)                                 # line comment
	  | ([eE]'(?:[^'\\]|\\.|'')*')                 # escape string
	  | ('(?:[^']|'')*')                           # string
	  | (\$((?:[A-Za-z_]\w*)?)\$.*?\$\7\$)         # dollar-quoted string
	}{
		defined $1 ? $1 : (defined $2 || defined $3) ? ' ' : defined $6 ? '$$$$' : "''"
	}gsex;
	return $text;
}

my $kinds = qr/(?:TABLE|VIEW|MATERIALIZED\s+VIEW|SEQUENCE|FUNCTION|PROCEDURE|ROUTINE|AGGREGATE
	|TYPE|DOMAIN|OPERATOR(?:\s+CLASS|\s+FAMILY)?|COLLATION|CONVERSION|STATISTICS
	|TEXT\s+SEARCH\s+(?:CONFIGURATION|DICTIONARY|PARSER|TEMPLATE))/xi;
my $ext = qr/\@extschema\@\./;

# Problems of one script, given the names the scripts create with
# @extschema@.
sub lint
{
	my ($text, $ours) = @_;
	my @problems;
	my $code = code_of($text);

	push @problems, 'does not start with the \echo ... \quit guard'
	  unless $code =~ /\A\s*\\echo Use "(?:CREATE|ALTER) EXTENSION pg_migrate[^\n]*\\quit[ \t]*\n/;
	$code =~ s/^\\[^\n]*//mg;

	for my $stmt (split /;/, $code)
	{
		(my $s = $stmt) =~ s/\s+/ /g;
		$s =~ s/^ | $//g;
		next if $s eq '';
		my $show = length($s) > 70 ? substr($s, 0, 70) . '...' : $s;
		my $bad = sub { push @problems, "$_[0]: $show" };

		$bad->('CREATE OR REPLACE') if $s =~ /\bCREATE OR REPLACE\b/i;
		$bad->('IF NOT EXISTS') if $s =~ /\bIF NOT EXISTS\b/i;

		if ($s =~ /^CREATE /i)
		{
			if ($s =~ /^CREATE (?:UNIQUE )?INDEX /i
				|| $s =~ /^CREATE (?:OR REPLACE )?(?:CONSTRAINT )?TRIGGER /i
				|| $s =~ /^CREATE (?:OR REPLACE )?(?:POLICY|RULE) /i)
			{
				$bad->('not ON @extschema@.') unless $s =~ / ON (?:ONLY )?$ext/i;
				$bad->('trigger function not @extschema@.')
				  if $s =~ /TRIGGER /i && $s !~ / EXECUTE (?:FUNCTION|PROCEDURE) $ext/i;
			}
			elsif ($s =~ /^CREATE EVENT TRIGGER /i)
			{
				$bad->('trigger function not @extschema@.')
				  unless $s =~ / EXECUTE (?:FUNCTION|PROCEDURE) $ext/i;
			}
			elsif ($s =~ /^CREATE (?:OR REPLACE )?(?:(?:TEMP|TEMPORARY|UNLOGGED|RECURSIVE) )?$kinds (?:IF NOT EXISTS )?(\S+)/i)
			{
				$bad->('not named with @extschema@.') unless $1 =~ /^$ext/;
			}
			else
			{
				$bad->('a CREATE this check does not know');
			}
		}
		elsif ($s =~ /^ALTER /i)
		{
			if ($s =~ /^ALTER EXTENSION \S+ (?:ADD|DROP) $kinds (\S+)/i)
			{
				$bad->('not named with @extschema@.') unless $1 =~ /^$ext/;
			}
			elsif ($s =~ /^ALTER EVENT TRIGGER /i)
			{
				# event triggers are not in a schema
			}
			elsif ($s =~ /^ALTER $kinds (?:IF EXISTS )?(?:ONLY )?(\S+)/i)
			{
				$bad->('not named with @extschema@.') unless $1 =~ /^$ext/;
			}
			else
			{
				$bad->('an ALTER this check does not know');
			}
		}
		elsif ($s =~ /^DROP (?:$kinds|INDEX) (?:CONCURRENTLY )?(?:IF EXISTS )?(.*?)(?: CASCADE| RESTRICT)?$/i)
		{
			(my $names = $1) =~ s/\([^()]*\)//g;
			for my $obj (split /\s*,\s*/, $names)
			{
				$bad->("$obj not named with \@extschema\@.") unless $obj =~ /^$ext/;
			}
		}
		elsif ($s =~ /^DROP (?:TRIGGER|POLICY|RULE) /i)
		{
			$bad->('not ON @extschema@.') unless $s =~ / ON $ext/i;
		}
		elsif ($s =~ /^DROP (?!EVENT TRIGGER )/i)
		{
			$bad->('a DROP this check does not know');
		}
		elsif ($s =~ /^(?:GRANT|REVOKE) /i && $s =~ / ON (.*?) (?:TO|FROM) /i)
		{
			(my $on = $1) =~ s/\([^()]*\)//g;
			$on =~ s/^(?:$kinds )//i;
			for my $obj (split /\s*,\s*/, $on)
			{
				$bad->("$obj not named with \@extschema\@.") unless $obj =~ /^$ext/;
			}
		}
		elsif ($s =~ /^(?:GRANT|REVOKE) /i)
		{
			$bad->('a GRANT or REVOKE this check does not know');
		}
		elsif ($s =~ /^COMMENT ON (?:EVENT TRIGGER|EXTENSION) /i)
		{
			# not in a schema
		}
		elsif ($s =~ /^COMMENT ON (?:$kinds|COLUMN|INDEX) (\S+)/i)
		{
			$bad->('not named with @extschema@.') unless $1 =~ /^$ext/;
		}
		elsif ($s =~ /^COMMENT ON /i)
		{
			$bad->('a COMMENT this check does not know');
		}

		# Our objects are always referred to through @extschema@.  (The
		# names of triggers, indexes, constraints and policies are not in a
		# schema of their own and may repeat a function's name.)
		(my $refs = $s) =~ s/\b(?:TRIGGER|INDEX|CONSTRAINT|POLICY|RULE) \w+//gi;
		while ($refs =~ /(?<!\@extschema\@\.)(?<![\w\$"])(\w+)\b/g)
		{
			$bad->("$1 without \@extschema\@.") if $ours->{lc $1};
		}
	}
	return @problems;
}

my $top = abs_path(dirname(__FILE__) . '/../..');
my @scripts = sort glob("$top/pg_migrate--*.sql");
ok(scalar(grep { m{/pg_migrate--1\.0\.sql$} } @scripts)
	  && scalar(grep { m{/pg_migrate--1\.0--1\.1\.sql$} } @scripts),
	'(c) the install script and the upgrade script are found');
my %text = map { $_ => slurp_file($_) } @scripts;
my %ours;
my $all_code = join("\n", map { code_of($_) } values %text);
$ours{lc $1} = 1 while $all_code =~ /$ext(\w+)/g;
ok(exists $ours{migrate_ddl_history}, '(c) the names the scripts create are known');

for my $script (@scripts)
{
	my $name = $script =~ s{.*/}{}r;
	is(join("\n", lint($text{$script}, \%ours)), '', "(c) $name: schema-qualified, nothing adopted");
}

# The lint finds each kind of defect in a sample.
my $sample = <<'SQL';
\echo Use "CREATE EXTENSION pg_migrate" to load this file. \quit
-- CREATE OR REPLACE in a comment is fine, and so is 'IF NOT EXISTS' in a string
CREATE OR REPLACE FUNCTION @extschema@.f1() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;
CREATE TABLE IF NOT EXISTS @extschema@.t1 (i int);
CREATE FUNCTION f2() RETURNS int LANGUAGE sql AS $body$ SELECT 1; $body$;
CREATE INDEX t1_i ON t1 (i);
CREATE TRIGGER t1_trg BEFORE UPDATE ON @extschema@.t1 FOR EACH ROW EXECUTE FUNCTION f3();
ALTER TABLE t1 ADD COLUMN j int;
GRANT SELECT ON @extschema@.t1, t2 TO PUBLIC;
COMMENT ON TABLE t1 IS 'x';
CREATE VIEW @extschema@.v1 AS SELECT i FROM t1;
CREATE VIEW @extschema@.v2 AS SELECT i FROM public.t1;
CREATE SCHEMA s1;
DROP VIEW @extschema@.v1, v2;
SQL
my @found = lint($sample, { t1 => 1, f1 => 1 });
my @expected = (
	qr/^CREATE OR REPLACE: CREATE OR REPLACE FUNCTION/,
	qr/^IF NOT EXISTS: CREATE TABLE IF NOT EXISTS/,
	qr/^not named with \@extschema\@\.: CREATE FUNCTION f2\(\)/,
	qr/^not ON \@extschema\@\.: CREATE INDEX t1_i ON t1/,
	qr/^t1 without \@extschema\@\.: CREATE INDEX t1_i ON t1/,
	qr/^trigger function not \@extschema\@\.: CREATE TRIGGER t1_trg/,
	qr/^not named with \@extschema\@\.: ALTER TABLE t1/,
	qr/^t1 without \@extschema\@\.: ALTER TABLE t1/,
	qr/^t2 not named with \@extschema\@\.: GRANT SELECT/,
	qr/^not named with \@extschema\@\.: COMMENT ON TABLE t1/,
	qr/^t1 without \@extschema\@\.: COMMENT ON TABLE t1/,
	qr/^t1 without \@extschema\@\.: CREATE VIEW \@extschema\@\.v1 AS SELECT i FROM t1/,
	qr/^t1 without \@extschema\@\.: CREATE VIEW \@extschema\@\.v2 AS SELECT i FROM public\.t1/,
	qr/^a CREATE this check does not know: CREATE SCHEMA s1/,
	qr/^v2 not named with \@extschema\@\.: DROP VIEW/);
my @missed = grep { my $re = $_; !grep { $_ =~ $re } @found } @expected;
is(join("\n", @missed), '', '(c) the lint reports every defect of a bad sample')
  or diag(join("\n", @found));
is(scalar(@found), scalar(@expected), '(c) ... and nothing else')
  or diag(join("\n", @found));
is(join("\n", lint("CREATE TABLE \@extschema\@.t1 (i int);\n", {})),
	'does not start with the \echo ... \quit guard', '(c) a script without the guard is reported');

done_testing();
