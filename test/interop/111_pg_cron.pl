# pg_cron beside pg_migrate at its defaults.  A scheduled job that empties a
# populated staging table loses data, so it is refused; pg_cron keeps only
# the error message, so the message itself says how the DBA allows it, and
# the row the DBA writes once lets the next run through.  A job doing
# ordinary DDL on a new table works unchanged.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Interop;

my $node = interop_node('pg_cron', preload => 'pg_migrate,pg_cron',
	conf => "cron.database_name = 'postgres'\ncron.use_background_workers = on\n");
$node->safe_psql('postgres', 'CREATE EXTENSION pg_cron');
fill_table($node, 'postgres', 'staging', 200000, old => 1);
$node->safe_psql('postgres', q{
	SELECT cron.schedule('reset-staging', '* * * * *', 'TRUNCATE staging');
	SELECT cron.schedule('scratch', '* * * * *',
	  'DROP TABLE IF EXISTS scratch; CREATE TABLE scratch AS SELECT 1 AS i');
});

my $run = q{SELECT status || ': ' || coalesce(return_message, '') FROM cron.job_run_details d
	JOIN cron.job j USING (jobid) WHERE j.jobname = '%s' ORDER BY runid DESC LIMIT 1};
ok($node->poll_query_until('postgres', q{
		SELECT count(DISTINCT j.jobname) = 2 FROM cron.job_run_details d JOIN cron.job j USING (jobid)
		 WHERE d.status IN ('failed', 'succeeded')}),
	'both jobs ran');
my $result = $node->safe_psql('postgres', sprintf($run, 'reset-staging'));
like($result, qr/^failed: .*rule "truncate" refuses/, 'the truncate of populated staging is refused');
like($result, qr/migrate_policy/, 'the message pg_cron keeps says how to allow it');
is($node->safe_psql('postgres', 'SELECT count(*) FROM staging'), '200000', 'staging untouched');
like($node->safe_psql('postgres', sprintf($run, 'scratch')), qr/^succeeded/,
	'the other job works');

$node->safe_psql('postgres', q{
	INSERT INTO migrate_policy (rule, action, schema_name, table_pattern, note)
	VALUES ('truncate', 'allow', 'public', 'staging', 'nightly staging reset by pg_cron');
});
ok($node->poll_query_until('postgres', 'SELECT count(*) = 0 FROM staging'),
	'with the policy row, the next run empties staging');
like($node->safe_psql('postgres', sprintf($run, 'reset-staging')), qr/^succeeded/,
	'pg_cron says it succeeded');

$node->stop;
done_testing();
