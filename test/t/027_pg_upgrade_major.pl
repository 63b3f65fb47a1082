# pg_upgrade from an older PostgreSQL major to the one under test, both
# preloading pg_migrate: everything it keeps comes through, and the
# unfinished jobs finish afterwards (PgmUpgrade.pm).
#
# test/run.sh builds pg_migrate against the older major and passes its
# installation: PGM_UPGRADE_OLD_BIN (its bin directory), or
# PGM_UPGRADE_OLD_MISSING (why there is none), and PGM_UPGRADE_OLD_MAJOR.
use strict;
use warnings;
use File::Basename;
use Test::More;
use PgmUpgrade;

my $old_major = $ENV{PGM_UPGRADE_OLD_MAJOR} // '';
my $old_bin = $ENV{PGM_UPGRADE_OLD_BIN} // '';
if ($old_bin eq '')
{
	plan skip_all => "no PostgreSQL $old_major installation with pg_migrate: "
	  . ($ENV{PGM_UPGRADE_OLD_MISSING} || 'PGM_UPGRADE_OLD_BIN not set (run it through test/run.sh)');
}
-x "$old_bin/pg_ctl" or BAIL_OUT("PGM_UPGRADE_OLD_BIN: no pg_ctl in $old_bin");

# The old installation really is the older major.
my ($old_version) = `"$old_bin/pg_config" --version` =~ /PostgreSQL (\d+)/;
my ($new_version) = `pg_config --version` =~ /PostgreSQL (\d+)/;
is($old_version, $old_major, "the old installation is PostgreSQL $old_major");
cmp_ok($new_version, '>', $old_version, "the new one, $new_version, is newer");

pg_upgrade_keeps_everything(dirname($old_bin));
done_testing();
