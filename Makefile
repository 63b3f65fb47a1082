# pg_migrate: safe schema changes inside the server.
#
#   make && make install       build and install into the server found by pg_config
#   make installcheck          regression, isolation and TAP tests on a private
#                              temporary cluster with the library preloaded
#   bash test/run.sh           the whole suite from a fresh machine (see README)

MODULE_big = pg_migrate
OBJS = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c src/*/*.c)))

EXTENSION = pg_migrate
DATA = $(sort $(wildcard pg_migrate--*.sql))
PGFILEDESC = "pg_migrate - safe schema changes inside PostgreSQL"

PG_CPPFLAGS = -I$(srcdir)/include
PG_CFLAGS = -Wall -Wmissing-prototypes -Werror=implicit-function-declaration

# Every test file stands alone (it creates the extension it needs), so the
# lists are simply the files that exist.
REGRESS = $(sort $(basename $(notdir $(wildcard sql/*.sql))))
REGRESS_OPTS = --temp-instance=$(CURDIR)/tmp_check_regress \
	--temp-config=$(srcdir)/test/pg_migrate.conf

ISOLATION = $(sort $(basename $(notdir $(wildcard test/specs/*.spec))))
ISOLATION_OPTS = --inputdir=test --outputdir=output_iso --temp-instance=$(CURDIR)/tmp_check_iso \
	--temp-config=$(srcdir)/test/pg_migrate.conf

TAP_TESTS = 1
PROVE_TESTS = test/t/*.pl

EXTRA_CLEAN = tmp_check_regress tmp_check_iso results output_iso log

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)
