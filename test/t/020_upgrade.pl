# The upgrade path between extension versions.
#
# A database that ran pg_migrate 1.0 in earnest (DDL history, an applied
# migration, a policy row of the DBA's, an override, a finished backfill
# job) keeps working with the new library before its schema is updated, is
# updated with ALTER EXTENSION pg_migrate UPDATE, and then matches a fresh
# installation of the default version object for object, with its data
# untouched.  An object someone created ahead of the extension, in the
# extension's schema, makes CREATE EXTENSION or ALTER EXTENSION ... UPDATE
# fail instead of being taken over.
#
# Nothing here names what a particular upgrade script adds, except the
# explicit pre-creation case of migrate_apply_async(): the objects to plant
# and compare are read from the catalog.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('upgrade');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'pg_migrate'
max_worker_processes = 16
});
$node->start;

# The extension's members, as (class, oid).
my $members = q{
	SELECT d.classid, d.objid
	  FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
	 WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
	   AND e.extname = 'pg_migrate'
};

# A description of everything the extension consists of, one fact a line:
# every member whatever its class, and for each class the catalog facts a
# dump, a caller or a security review depends on.
my $describe = qq{
WITH member AS ($members),
rel AS (
	SELECT c.* FROM pg_class c
	 WHERE c.oid IN (SELECT objid FROM member WHERE classid = 'pg_class'::regclass)),
facts(obj, fact) AS (
	SELECT 'extension', concat_ws(' ',
	       'owner=' || pg_get_userbyid(e.extowner),
	       'schema=' || e.extnamespace::regnamespace,
	       'relocatable=' || e.extrelocatable, 'version=' || e.extversion)
	  FROM pg_extension e WHERE e.extname = 'pg_migrate'
	UNION ALL
	-- tables dumped with their data, and which rows
	SELECT 'extension', 'config ' || cfg.rel::regclass || ' ' || quote_literal(e.extcondition[cfg.n])
	  FROM pg_extension e, unnest(e.extconfig) WITH ORDINALITY AS cfg(rel, n)
	 WHERE e.extname = 'pg_migrate'
	UNION ALL
	SELECT pg_describe_object(m.classid, m.objid, 0),
	       'member of ' || m.classid::regclass || ', comment '
	       || quote_nullable(obj_description(m.objid, m.classid::regclass::text))
	  FROM member m
	UNION ALL
	-- the privileges pg_dump takes as the extension's own
	SELECT pg_describe_object(i.classoid, i.objoid, i.objsubid),
	       'initial privileges ' || i.privtype::text || ' ' || i.initprivs::text
	  FROM pg_init_privs i
	 WHERE (i.classoid, i.objoid) IN (SELECT classid, objid FROM member)
	UNION ALL
	SELECT pg_describe_object('pg_proc'::regclass, p.oid, 0),
	       concat_ws(E'\\n',
	           CASE WHEN p.prokind <> 'a' THEN pg_get_functiondef(p.oid) END,
	           'owner=' || pg_get_userbyid(p.proowner),
	           'kind=' || p.prokind::text || ' language=' || l.lanname
	           || ' security_definer=' || p.prosecdef || ' volatility=' || p.provolatile::text
	           || ' strict=' || p.proisstrict || ' parallel=' || p.proparallel::text
	           || ' leakproof=' || p.proleakproof || ' cost=' || p.procost
	           || ' rows=' || p.prorows,
	           'arguments=' || pg_get_function_arguments(p.oid),
	           'result=' || pg_get_function_result(p.oid),
	           'config=' || quote_nullable(p.proconfig::text),
	           'acl=' || quote_nullable(p.proacl::text),
	           'source=' || p.prosrc || ' binary=' || quote_nullable(p.probin))
	  FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
	 WHERE p.oid IN (SELECT objid FROM member WHERE classid = 'pg_proc'::regclass)
	UNION ALL
	SELECT pg_describe_object('pg_class'::regclass, c.oid, 0),
	       concat_ws(' ', 'kind=' || c.relkind::text, 'persistence=' || c.relpersistence::text,
	           'owner=' || pg_get_userbyid(c.relowner),
	           'acl=' || quote_nullable(c.relacl::text),
	           'options=' || quote_nullable(c.reloptions::text),
	           'row_security=' || c.relrowsecurity || '/' || c.relforcerowsecurity,
	           'replica_identity=' || c.relreplident::text, 'tablespace=' || c.reltablespace,
	           'access_method=' || quote_nullable(am.amname))
	  FROM rel c LEFT JOIN pg_am am ON am.oid = c.relam
	UNION ALL
	-- columns in order (the server stamps every column with a pg_attver
	-- option of its own, which differs between any two tables: left out)
	SELECT pg_describe_object('pg_class'::regclass, c.oid, 0),
	       concat_ws(' ',
	           'column ' || row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum),
	           quote_ident(a.attname), format_type(a.atttypid, a.atttypmod),
	           CASE WHEN a.attnotnull THEN 'NOT NULL' END,
	           'DEFAULT ' || pg_get_expr(ad.adbin, ad.adrelid),
	           'identity=' || a.attidentity::text, 'generated=' || a.attgenerated::text,
	           'collation=' || quote_nullable(co.collname),
	           'storage=' || a.attstorage::text, 'compression=' || a.attcompression::text,
	           'statistics=' || a.attstattarget,
	           'acl=' || quote_nullable(a.attacl::text),
	           'options=' || quote_nullable((SELECT array_agg(o ORDER BY o)
	                                           FROM unnest(a.attoptions) o
	                                          WHERE o NOT LIKE 'pg\\_attver=%')::text),
	           'comment=' || quote_nullable(col_description(c.oid, a.attnum)))
	  FROM rel c
	  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
	  LEFT JOIN pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
	  LEFT JOIN pg_collation co ON co.oid = a.attcollation AND co.collname <> 'default'
	UNION ALL
	SELECT pg_describe_object('pg_class'::regclass, c.oid, 0),
	       'constraint ' || quote_ident(k.conname) || ' ' || pg_get_constraintdef(k.oid)
	       || ' validated=' || k.convalidated || ' no_inherit=' || k.connoinherit
	  FROM rel c JOIN pg_constraint k ON k.conrelid = c.oid
	UNION ALL
	SELECT pg_describe_object('pg_class'::regclass, c.oid, 0),
	       'index ' || pg_get_indexdef(i.indexrelid) || ' valid=' || i.indisvalid
	       || ' clustered=' || i.indisclustered || ' replica_identity=' || i.indisreplident
	       || ' options=' || quote_nullable(ic.reloptions::text)
	  FROM rel c JOIN pg_index i ON i.indrelid = c.oid JOIN pg_class ic ON ic.oid = i.indexrelid
	UNION ALL
	-- internal triggers implement foreign keys (covered by the constraints)
	-- and carry OIDs in their names
	SELECT pg_describe_object('pg_class'::regclass, c.oid, 0),
	       'trigger ' || pg_get_triggerdef(t.oid) || ' enabled=' || t.tgenabled::text
	  FROM rel c JOIN pg_trigger t ON t.tgrelid = c.oid AND NOT t.tgisinternal
	UNION ALL
	SELECT pg_describe_object('pg_class'::regclass, c.oid, 0),
	       concat_ws(' ', 'policy ' || quote_ident(po.polname), po.polcmd::text,
	           po.polpermissive, po.polroles::regrole[]::text,
	           pg_get_expr(po.polqual, po.polrelid), pg_get_expr(po.polwithcheck, po.polrelid))
	  FROM rel c JOIN pg_policy po ON po.polrelid = c.oid
	UNION ALL
	SELECT pg_describe_object('pg_class'::regclass, c.oid, 0), 'view ' || pg_get_viewdef(c.oid)
	  FROM rel c WHERE c.relkind IN ('v', 'm')
	UNION ALL
	SELECT pg_describe_object('pg_class'::regclass, c.oid, 0), 'rule ' || pg_get_ruledef(r.oid)
	  FROM rel c JOIN pg_rewrite r ON r.ev_class = c.oid AND r.rulename <> '_RETURN'
	UNION ALL
	SELECT pg_describe_object('pg_class'::regclass, c.oid, 0),
	       concat_ws(' ', 'sequence', s.seqtypid::regtype, s.seqstart, s.seqincrement,
	           s.seqmin, s.seqmax, s.seqcache, s.seqcycle,
	           'owned by ' || (SELECT pg_describe_object(d.refclassid, d.refobjid, d.refobjsubid)
	                             FROM pg_depend d
	                            WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
	                              AND d.deptype = 'a' AND d.refobjsubid > 0))
	  FROM rel c JOIN pg_sequence s ON s.seqrelid = c.oid
	UNION ALL
	SELECT pg_describe_object('pg_type'::regclass, t.oid, 0),
	       concat_ws(' ', 'type=' || t.typtype::text, 'owner=' || pg_get_userbyid(t.typowner),
	           'acl=' || quote_nullable(t.typacl::text),
	           'base=' || NULLIF(t.typbasetype, 0)::regtype,
	           'not_null=' || t.typnotnull, 'default=' || t.typdefault,
	           'labels=' || (SELECT string_agg(en.enumlabel, ',' ORDER BY en.enumsortorder)
	                           FROM pg_enum en WHERE en.enumtypid = t.oid),
	           'attributes=' || (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod),
	                                               ', ' ORDER BY a.attnum)
	                               FROM pg_attribute a
	                              WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped),
	           'constraints=' || (SELECT string_agg(k.conname || ' ' || pg_get_constraintdef(k.oid),
	                                                ', ' ORDER BY k.conname)
	                                FROM pg_constraint k WHERE k.contypid = t.oid))
	  FROM pg_type t
	 WHERE t.oid IN (SELECT objid FROM member WHERE classid = 'pg_type'::regclass)
	UNION ALL
	SELECT pg_describe_object('pg_event_trigger'::regclass, et.oid, 0),
	       concat_ws(' ', 'event=' || et.evtevent, 'function=' || et.evtfoid::regprocedure,
	           'enabled=' || et.evtenabled::text, 'tags=' || quote_nullable(et.evttags::text),
	           'owner=' || pg_get_userbyid(et.evtowner))
	  FROM pg_event_trigger et
	 WHERE et.oid IN (SELECT objid FROM member WHERE classid = 'pg_event_trigger'::regclass)
	UNION ALL
	SELECT pg_describe_object('pg_operator'::regclass, o.oid, 0),
	       concat_ws(' ', 'function=' || o.oprcode::regprocedure, 'result=' || o.oprresult::regtype,
	           'commutator=' || NULLIF(o.oprcom, 0)::regoperator,
	           'negator=' || NULLIF(o.oprnegate, 0)::regoperator,
	           'restrict=' || o.oprrest, 'join=' || o.oprjoin,
	           'merges=' || o.oprcanmerge, 'hashes=' || o.oprcanhash,
	           'owner=' || pg_get_userbyid(o.oprowner))
	  FROM pg_operator o
	 WHERE o.oid IN (SELECT objid FROM member WHERE classid = 'pg_operator'::regclass))
SELECT obj || ': ' || fact FROM facts ORDER BY obj, fact
};

# Members of a class the description does not cover would pass unseen.
my $undescribed = qq{
	SELECT coalesce(string_agg(DISTINCT classid::regclass::text, ', '), '')
	  FROM ($members) m
	 WHERE classid NOT IN ('pg_proc'::regclass, 'pg_class'::regclass, 'pg_type'::regclass,
	                       'pg_event_trigger'::regclass, 'pg_operator'::regclass)
};

sub describe { return $node->safe_psql($_[0], $describe); }

# What the users' data looks like: every row of the tables, views and
# functions that show it, in the columns they had before the update (a new
# version may add columns; it must not change what was there).
my %data_sources = (
	history => [ 'migrate_ddl_history', 'id <= %MAX%' ],
	migrations => ['migrate_migrations'],
	status => ['migrate_status()'],
	# (1.3 adds two shipped rows, for pg_repack, checked below)
	policy => [ 'migrate_policy', q{NOT (shipped AND note LIKE 'shipped: pg\_repack%')} ],
	job_state => ['migrate_job_state'],
	job_slice => ['migrate_job_slice'],
	jobs => ['migrate_jobs']);
my %data_columns;

sub snapshot
{
	my ($db, $max) = @_;
	my %snap;
	for my $k (keys %data_sources)
	{
		my ($source, $where) = @{ $data_sources{$k} };
		# columns of a relation, or the result columns of a function
		$data_columns{$k} //= $node->safe_psql($db, $source =~ /\(\)$/
			? qq{SELECT string_agg(quote_ident(a.name), ', ' ORDER BY a.n)
			       FROM pg_proc p, unnest(p.proargnames, p.proargmodes) WITH ORDINALITY AS a(name, mode, n)
			      WHERE p.oid = '$source'::regprocedure AND a.mode = 't'}
			: qq{SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum)
			       FROM pg_attribute
			      WHERE attrelid = '$source'::regclass AND attnum > 0 AND NOT attisdropped});
		my $ncols = split /, /, $data_columns{$k};
		my $q = "SELECT $data_columns{$k} FROM $source"
		  . ($where ? " WHERE $where" : '')
		  . ' ORDER BY ' . join(', ', 1 .. $ncols);
		$q =~ s/%MAX%/$max/;
		$snap{$k} = $node->safe_psql($db, $q);
	}
	return \%snap;
}

my $default_version = $node->safe_psql('postgres',
	"SELECT default_version FROM pg_available_extensions WHERE name = 'pg_migrate'");
is($default_version, '1.8', 'the default version is 1.8');

# --- a 1.0 installation in real use, with the new library ----------------
$node->safe_psql('postgres', 'CREATE DATABASE old');
$node->safe_psql('old', "CREATE EXTENSION pg_migrate VERSION '1.0'");
is($node->safe_psql('old', "SELECT extversion FROM pg_extension WHERE extname = 'pg_migrate'"),
	'1.0', '1.0 installed');
is($node->safe_psql('old',
		"SELECT count(*) FROM pg_extension_update_paths('pg_migrate')
		  WHERE source = '1.0' AND target = '$default_version' AND path IS NOT NULL"),
	'1', "an update path leads from 1.0 to $default_version");

$node->safe_psql('old', q{
	CREATE TABLE accounts (id int PRIMARY KEY, email text, n int NOT NULL DEFAULT 0, legacy int);
	INSERT INTO accounts SELECT g, 'a' || g, 0 FROM generate_series(1, 2000) g;
	CREATE INDEX accounts_email ON accounts (email);
});
is($node->safe_psql('old',
		"SELECT count(*) FROM migrate_ddl_history
		  WHERE command_tag IN ('CREATE TABLE', 'CREATE INDEX') AND statement LIKE '%accounts%'"),
	'2', 'before the update: DDL is recorded');

is($node->safe_psql('old', q{
	SELECT migrate_apply('2026_01_add_status',
	                     'ALTER TABLE accounts ADD COLUMN status text',
	                     'ALTER TABLE accounts DROP COLUMN status',
	                     'account status')}),
	'applied', 'before the update: migrate_apply applies a migration');

# A DBA's policy row: renames, only warned about by default, are refused.
my ($rc, $out, $err) = $node->psql('old', 'ALTER TABLE accounts RENAME COLUMN email TO mail');
is($rc, 0, 'before the update: without a policy row a rename is allowed (warned)');
$node->safe_psql('old', 'ALTER TABLE accounts RENAME COLUMN mail TO email');
$node->safe_psql('old', q{
	INSERT INTO migrate_policy (rule, action, schema_name, note)
	VALUES ('rename_column', 'deny', 'public', 'no renames in public')});
($rc, $out, $err) = $node->psql('old', 'ALTER TABLE accounts RENAME COLUMN email TO mail');
like($err, qr/rule "rename_column" refuses this statement/,
	'before the update: the policy row refuses a rename');

# An override, stored with the statement it allowed.
$node->safe_psql('old', q{
	BEGIN;
	SELECT migrate_override('drop_column', 'legacy unused since 2025');
	ALTER TABLE accounts DROP COLUMN legacy;
	COMMIT;
});
is($node->safe_psql('old',
		"SELECT policy_overrides->0->>'reason' FROM migrate_ddl_history
		  WHERE statement = 'ALTER TABLE accounts DROP COLUMN legacy'"),
	'legacy unused since 2025', 'before the update: an override is recorded');

# A backfill job run to its end.
my $job = $node->safe_psql('old',
	"SELECT migrate_batch_update('accounts', 'n = n + 1', batch_size => 500)");
is($node->safe_psql('old', "CALL migrate_job_wait($job, '180s')"), 'done',
	'before the update: a backfill job runs to its end');
is($node->safe_psql('old', 'SELECT n, count(*) FROM accounts GROUP BY n'), '1|2000',
	'before the update: the job updated every row once');
is($node->safe_psql('old', 'SELECT version, state FROM migrate_status()'),
	'2026_01_add_status|applied', 'before the update: migrate_status works');

# The documented procedure restarts the server between installing the new
# library and updating: the 1.0 schema keeps working across it.
$node->restart;
$node->safe_psql('old', 'CREATE TABLE after_restart (i int)');
is($node->safe_psql('old',
		"SELECT count(*) FROM migrate_ddl_history WHERE statement = 'CREATE TABLE after_restart (i int)'"),
	'1', 'before the update, after a restart: DDL is recorded');
($rc, $out, $err) = $node->psql('old', 'ALTER TABLE accounts RENAME COLUMN email TO mail');
like($err, qr/rule "rename_column" refuses this statement/,
	'before the update, after a restart: the policy row refuses a rename');

my $max_id = $node->safe_psql('old', 'SELECT max(id) FROM migrate_ddl_history');
my $before = snapshot('old', $max_id);

# --- the update ----------------------------------------------------------
$node->safe_psql('old', 'ALTER EXTENSION pg_migrate UPDATE');
is($node->safe_psql('old', "SELECT extversion FROM pg_extension WHERE extname = 'pg_migrate'"),
	'1.8', 'ALTER EXTENSION pg_migrate UPDATE leads to 1.8');

my $after = snapshot('old', $max_id);
is($after->{$_}, $before->{$_}, "the update leaves $_ unchanged") for sort keys %data_sources;
is($node->safe_psql('old', q{SELECT string_agg(rule || ' ' || action || ' ' || extension_name, ', ' ORDER BY rule)
                               FROM migrate_policy WHERE shipped AND extension_name IS NOT NULL}),
	'blocking_index_build allow pg_repack, drop_table allow pg_repack',
	'the update adds the shipped rows for pg_repack');
is($node->safe_psql('old',
		"SELECT command_tag || ': ' || statement FROM migrate_ddl_history WHERE id > $max_id"),
	'ALTER EXTENSION: ALTER EXTENSION pg_migrate UPDATE',
	'the update itself is the one statement added to the history');

# --- same objects as a fresh installation --------------------------------
$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('fresh', 'CREATE EXTENSION pg_migrate');
my $fresh = describe('fresh');
my $updated = describe('old');
like($fresh, qr/^event trigger migrate_ddl_command_end: event=ddl_command_end/m,
	'the description covers event triggers');
like($fresh, qr/^extension: config migrate_policy 'WHERE NOT shipped'$/m,
	'the description covers the dumped tables');
like($fresh, qr/^table migrate_ddl_history: trigger CREATE TRIGGER/m,
	'the description covers triggers');
is($node->safe_psql('fresh', $undescribed), '', 'every member is of a class the description covers');
is($updated, $fresh, 'an updated installation matches a fresh one, object for object');
if ($updated ne $fresh)
{
	my %f = map { $_ => 1 } split /\n/, $fresh;
	my %u = map { $_ => 1 } split /\n/, $updated;
	diag("only after the update: $_") for grep { !$f{$_} } sort keys %u;
	diag("only in a fresh installation: $_") for grep { !$u{$_} } sort keys %f;
}

# --- and it keeps working ------------------------------------------------
$node->safe_psql('old', 'CREATE TABLE after_update (i int)');
is($node->safe_psql('old',
		"SELECT id > $max_id FROM migrate_ddl_history WHERE statement = 'CREATE TABLE after_update (i int)'"),
	't', 'after the update: new DDL is recorded, after the old rows');
is($node->safe_psql('old', q{
	SELECT migrate_apply('2026_02_add_region',
	                     'ALTER TABLE accounts ADD COLUMN region text',
	                     'ALTER TABLE accounts DROP COLUMN region')}),
	'applied', 'after the update: migrate_apply works');
is($node->safe_psql('old', q{SELECT string_agg(version || ' ' || state, ', ') FROM migrate_status()}),
	'2026_01_add_status applied, 2026_02_add_region applied',
	'after the update: migrate_status lists old and new migrations');
($rc, $out, $err) = $node->psql('old', 'ALTER TABLE accounts RENAME COLUMN email TO mail');
like($err, qr/rule "rename_column" refuses this statement/,
	'after the update: the policy row still refuses a rename');
$job = $node->safe_psql('old',
	"SELECT migrate_batch_update('accounts', 'n = n + 1', batch_size => 500)");
is($node->safe_psql('old', "CALL migrate_job_wait($job, '180s')"), 'done',
	'after the update: a new backfill job runs to its end');
is($node->safe_psql('old', 'SELECT n, count(*) FROM accounts GROUP BY n'), '2|2000',
	'after the update: the job updated every row once');

# --- updating again does nothing -----------------------------------------
my $again = snapshot('old', $max_id);
($rc, $out, $err) = $node->psql('old', 'ALTER EXTENSION pg_migrate UPDATE');
is($rc, 0, 'a second ALTER EXTENSION pg_migrate UPDATE succeeds');
like($err, qr/version "1\.8" of extension "pg_migrate" is already installed/,
	'... and says there is nothing to do');
is(describe('old'), $updated, '... and changes no object');
is_deeply(snapshot('old', $max_id), $again, '... and no data');

# --- there is no way back --------------------------------------------------
($rc, $out, $err) = $node->psql('old', "ALTER EXTENSION pg_migrate UPDATE TO '1.0'");
like($err, qr/has no update path from version "1\.8" to version "1\.0"/,
	'downgrading is refused: there is no update path back to 1.0');
is(describe('old'), $updated, '... and the refusal changes nothing');

# --- objects created ahead of the extension are not taken over -----------
#
# A role with CREATE on the extension's schema plants a lookalike of an
# object the next script will create; the script must fail on it.
$node->safe_psql('postgres', q{
	CREATE ROLE intruder;
	CREATE DATABASE pre11;
	CREATE DATABASE pre10;  -- no extension yet
});
# Drop what the intruder planted (DROP OWNED also revokes its grant).
sub clear_intruder
{
	my ($db) = @_;
	$node->safe_psql($db, 'DROP OWNED BY intruder; GRANT CREATE ON SCHEMA public TO intruder');
}
clear_intruder($_) for ('pre11', 'pre10');
$node->safe_psql('pre11', "CREATE EXTENSION pg_migrate VERSION '1.0'");

# The intruder's objects in the current database, flagged when they became
# members of an extension.
my $intruder_objects = q{
	SELECT coalesce(string_agg(pg_describe_object(s.classid, s.objid, s.objsubid)
	           || CASE WHEN EXISTS (SELECT FROM pg_depend d
	                                 WHERE d.classid = s.classid AND d.objid = s.objid
	                                   AND d.deptype = 'e')
	                   THEN ' (taken over)' ELSE '' END, ', ' ORDER BY 1), '')
	  FROM pg_shdepend s
	 WHERE s.refobjid = 'intruder'::regrole AND s.deptype = 'o'
	   AND s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
};

# A lookalike for every member: same name (and argument types) in the same
# schema, and raising an error should anything ever call it.  Event
# triggers are not in a schema, and only superusers create them.
my $lookalikes = qq{
	SELECT pg_describe_object(m.classid, m.objid, 0),
	       CASE m.classid
	       WHEN 'pg_proc'::regclass THEN
	           (SELECT format('CREATE %s %I.%I(%s) %s LANGUAGE plpgsql AS %L',
	                          CASE p.prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END,
	                          p.pronamespace::regnamespace, p.proname,
	                          CASE p.prokind WHEN 'p' THEN pg_get_function_identity_arguments(p.oid)
	                          ELSE (SELECT string_agg(format_type(a.t, NULL), ', ' ORDER BY a.n)
	                                  FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY AS a(t, n))
	                          END,
	                          CASE p.prokind WHEN 'p' THEN '' ELSE 'RETURNS integer' END,
	                          'BEGIN RAISE EXCEPTION ''lookalike ran''; END')
	              FROM pg_proc p WHERE p.oid = m.objid)
	       WHEN 'pg_class'::regclass THEN
	           (SELECT format('CREATE TABLE %I.%I ()', c.relnamespace::regnamespace, c.relname)
	              FROM pg_class c WHERE c.oid = m.objid)
	       WHEN 'pg_type'::regclass THEN
	           (SELECT format('CREATE TABLE %I.%I ()', t.typnamespace::regnamespace, t.typname)
	              FROM pg_type t WHERE t.oid = m.objid)
	       END
	  FROM ($members) m
	 WHERE m.classid <> 'pg_event_trigger'::regclass
	   -- a table's row type and an array type come with their table or
	   -- element type (newer majors list them as members too)
	   AND NOT EXISTS (SELECT FROM pg_type t
	                    WHERE m.classid = 'pg_type'::regclass AND t.oid = m.objid
	                      AND (t.typrelid <> 0
	                           OR EXISTS (SELECT FROM pg_type e WHERE e.typarray = t.oid)))
	 ORDER BY 1
};

sub lookalikes
{
	my ($db) = @_;
	my %l;
	for (split /\n/, $node->safe_psql($db, $lookalikes))
	{
		my ($obj, $ddl) = split /\|/, $_, 2;
		$l{$obj} = $ddl;
	}
	return \%l;
}

# Plant $ddl as the intruder in $db, run $statement as superuser, and
# check that it fails and leaves the lookalike alone.  Returns the failures.
sub refuses_lookalike
{
	my ($db, $obj, $ddl, $statement, $version_query, $version_expected) = @_;
	my @bad;
	my ($rc, $out, $err) = $node->psql($db, "SET ROLE intruder; $ddl");
	return ("$obj: could not plant the lookalike: $err") if $rc != 0;
	($rc, $out, $err) = $node->psql($db, $statement);
	push @bad, "$obj: \"$statement\" succeeded" if $rc == 0;
	push @bad, "$obj: unexpected error: $err"
	  if $rc != 0 && $err !~ /already exists|is not a member of the extension being created/;
	my $v = $node->safe_psql($db, $version_query);
	push @bad, "$obj: extension is at '$v'" if $v ne $version_expected;
	my $left = $node->safe_psql($db, $intruder_objects);
	push @bad, "$obj: intruder's objects afterwards: '$left'" if $left !~ /\S/ || $left =~ /taken over/;
	clear_intruder($db);
	return @bad;
}

my $version_query = "SELECT coalesce((SELECT extversion FROM pg_extension WHERE extname = 'pg_migrate'), 'none')";

# The function the 1.1 script adds, exactly as it is declared there.
($rc, $out, $err) = $node->psql('pre11', q{
	SET ROLE intruder;
	CREATE FUNCTION public.migrate_apply_async(text, text, text, text, boolean)
	RETURNS bigint LANGUAGE sql AS 'SELECT 42::bigint'});
is($rc, 0, 'the intruder creates public.migrate_apply_async(text, text, text, text, boolean)');
($rc, $out, $err) = $node->psql('pre11', 'ALTER EXTENSION pg_migrate UPDATE');
isnt($rc, 0, 'ALTER EXTENSION pg_migrate UPDATE fails on it');
like($err, qr/function "migrate_apply_async" already exists with same argument types/,
	'... saying the function already exists');
is($node->safe_psql('pre11', $version_query), '1.0', '... and leaves the extension at 1.0');
is($node->safe_psql('pre11', $intruder_objects),
	'function migrate_apply_async(text,text,text,text,boolean)',
	"... and the intruder's function is still the intruder's, outside the extension");
clear_intruder('pre11');

# Every object the update creates, whatever it is.
my $old_members = lookalikes('pre11');
my $new_members = lookalikes('fresh');
my @added = grep { !exists $old_members->{$_} } sort keys %$new_members;
ok((grep { $_ eq 'function migrate_apply_async(text,text,text,text,boolean)' } @added),
	'the update creates migrate_apply_async(text, text, text, text, boolean)');
my @bad;
for my $obj (grep { defined $new_members->{$_} } @added)
{
	push @bad, refuses_lookalike('pre11', $obj, $new_members->{$obj},
		'ALTER EXTENSION pg_migrate UPDATE', $version_query, '1.0');
}
is(join("\n", @bad), '',
	'a lookalike of any of the ' . scalar(@added) . ' objects the update creates makes it fail');

# Every object of the default version, planted before CREATE EXTENSION.
# (sql/security.sql plants one object of each kind by hand, event triggers
# included, which need a superuser; this covers every object there is.)
@bad = ();
for my $obj (sort keys %$new_members)
{
	push @bad, refuses_lookalike('pre10', $obj, $new_members->{$obj},
		'CREATE EXTENSION pg_migrate', $version_query, 'none');
}
is(join("\n", @bad), '',
	'a lookalike of any of the ' . scalar(keys %$new_members)
	  . " objects of $default_version makes CREATE EXTENSION fail");

# Without lookalikes both work.
$node->safe_psql('pre11', 'ALTER EXTENSION pg_migrate UPDATE');
is($node->safe_psql('pre11', $version_query), '1.8', 'without the lookalike the update succeeds');
$node->safe_psql('pre10', 'CREATE EXTENSION pg_migrate');
is($node->safe_psql('pre10', $version_query), '1.8', 'without the lookalike CREATE EXTENSION succeeds');

$node->stop;
done_testing();
