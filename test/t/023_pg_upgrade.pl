# pg_upgrade between two clusters of the major under test, both preloading
# pg_migrate: everything it keeps comes through, and the unfinished jobs
# finish afterwards (PgmUpgrade.pm; 027_pg_upgrade_major.pl does the same
# from an older major).
use strict;
use warnings;
use Test::More;
use PgmUpgrade;

pg_upgrade_keeps_everything(undef);
done_testing();
