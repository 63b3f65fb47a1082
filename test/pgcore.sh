#!/usr/bin/env bash
# PostgreSQL's own regression suite (src/test/regress of the Debian source
# package of the installed server) on a server with pg_migrate preloaded and
# created in the test database, compared with the same suite on a stock
# server.
#
#   bash test/pgcore.sh fetch
#       fetch the source into a cache outside the tree, keyed by the
#       installed version, and print the directory of the unpacked source
#   bash test/pgcore.sh run WORKDIR RESULTDIR [ENFORCE]
#       (after test/lib.sh's pgm_build, which sets PGM_BIN) run the suite on
#       a stock server and on a pg_migrate server (pg_migrate.enforce =
#       ENFORCE, default off) and compare: exit status 0 when pg_migrate
#       changes nothing but the listing of its own objects in two tests
#       (see may_list_own_objects), no server process crashed and no
#       internal error (XX000) appeared that the stock server does not have
#
# apt runs with a private configuration (its own source list, lists and
# cache under the cache directory): the system's apt setup is left alone.
# The mirrors are the ones the system's own sources use, read at run time.
set -euo pipefail
PGM_TOP=${PGM_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}

fetch() {
pgver=${PGM_PGVER:-15}
pkg=postgresql-$pgver
version=$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null) || {
	echo "pgcore: $pkg is not installed" >&2
	return 1
}
cache=${PGM_PGCORE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pg_migrate-pgcore}/$version

# Already fetched: the unpacked tree is the one directory beside apt/.
found() {
	local d
	for d in "$cache"/"$pkg"-*/; do
		[ -f "$d/src/test/regress/parallel_schedule" ] && { echo "${d%/}"; return 0; }
	done
	return 1
}
found && return 0

# deb-src lines for the mirrors and suites the system installs from
# (deb822 stanzas or one-line entries), main component only.
apt_dir=$cache/apt
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
{
	awk '
		/^URIs:/ { n = split($0, u, " ") }
		/^Suites:/ { m = split($0, s, " ") }
		/^$/ { flush() }
		END { flush() }
		function flush(  i, j) {
			for (i = 2; i <= n; i++)
				for (j = 2; j <= m; j++)
					print "deb-src " u[i] " " s[j] " main"
			n = 0; m = 0
		}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true
	cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		awk '$1 == "deb" && $2 !~ /^\[/ { print "deb-src " $2 " " $3 " main" }' || true
} | sort -u >"$apt_dir/sources.list"
[ -s "$apt_dir/sources.list" ] || { echo "pgcore: no Debian mirror in /etc/apt" >&2; return 1; }
apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list"
	-o "Dir::Etc::SourceParts=/dev/null"
	-o "Dir::State::Lists=$apt_dir/lists"
	-o "Dir::Cache=$apt_dir/cache"
	-o "Debug::NoLocking=true"
	-o "APT::Sandbox::User=$(id -un)")

apt-get "${apt_opts[@]}" -qq update >&2
# The installed version first; a mirror that no longer (or not yet) serves
# it gets the newest other release of the same major: the comparison with
# the stock server run on the same tests (test/run.sh pgcore) is what
# counts, not the expected files.
versions=$(apt-cache "${apt_opts[@]}" showsrc "$pkg" 2>/dev/null |
	awk '/^Version:/ { print $2 }' | sort -u -V -r)
for v in $version $versions; do
	echo "pgcore: fetching the source of $pkg=$v" >&2
	(cd "$cache" && apt-get "${apt_opts[@]}" -qq --only-source --download-only source "$pkg=$v" >&2) ||
		continue
	(cd "$cache" && dpkg-source -x "$pkg"_"${v#*:}".dsc >&2) || continue
	found && return 0
done
echo "pgcore: could not fetch the source of $pkg" >&2
return 1
}

# The regression suite's C functions (regress.so, built here against the
# installed server's headers) and contrib/spi's two modules, in one
# directory given to pg_regress as --dlpath.
build_lib() {
	local src=$1 lib=$2 pg_config=/usr/lib/postgresql/${PGM_PGVER:-15}/bin/pg_config
	mkdir -p "$lib"
	cp "$src/src/test/regress/regress.c" "$lib/"
	printf 'MODULES = regress\nPG_CONFIG = %s\nPGXS := $(shell $(PG_CONFIG) --pgxs)\ninclude $(PGXS)\n' \
		"$pg_config" >"$lib/Makefile"
	make -C "$lib" -s >"$lib/build.log" 2>&1 || { cat "$lib/build.log" >&2; return 1; }
	cp "$("$pg_config" --pkglibdir)"/{autoinc,refint}.so "$lib/"
}

# One pass: a fresh cluster (with pg_migrate or without), the database
# "regression" prepared as pg_regress prepares its own, then the whole
# parallel schedule.
#   one_pass NAME SRC LIB WORKDIR RESULTDIR PORT ENFORCE|stock
one_pass() {
	local name=$1 src=$2 lib=$3 work=$4 out=$5 port=$6 mode=$7
	local dir=$work/$name rc=0
	rm -rf "$dir" "$out/$name"
	mkdir -p "$out/$name"
	"$PGM_BIN/initdb" -D "$dir" -A trust -U postgres --no-sync -E UTF8 --locale=C \
		>"$work/$name.initdb.log" 2>&1 || { cat "$work/$name.initdb.log" >&2; return 1; }
	{
		# What pg_regress adds to the clusters it creates itself.
		echo "log_autovacuum_min_duration = 0"
		echo "log_checkpoints = on"
		echo "log_lock_waits = on"
		echo "log_temp_files = 128kB"
		echo "max_prepared_transactions = 2"
		# The SQLSTATE of every logged error, to find internal errors.
		echo "log_line_prefix = '%m [%p] %e %q%a '"
		echo "port = $port"
		echo "listen_addresses = ''"
		echo "unix_socket_directories = '$dir'"
		if [ "$mode" != stock ]; then
			cat "$PGM_TOP/test/pg_migrate.conf"
			echo "pg_migrate.enforce = $mode"
		fi
	} >>"$dir/postgresql.conf"
	"$PGM_BIN/pg_ctl" -D "$dir" -l "$dir/server.log" -w start >/dev/null ||
		{ cat "$dir/server.log" >&2; return 1; }
	local psql=("$PGM_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres)
	"${psql[@]}" -d postgres -c "CREATE DATABASE regression TEMPLATE template0" &&
		"${psql[@]}" -d regression -c "
			ALTER DATABASE regression SET lc_messages TO 'C';
			ALTER DATABASE regression SET lc_monetary TO 'C';
			ALTER DATABASE regression SET lc_numeric TO 'C';
			ALTER DATABASE regression SET lc_time TO 'C';
			ALTER DATABASE regression SET bytea_output TO 'hex';
			ALTER DATABASE regression SET timezone_abbreviations TO 'Default';" || rc=1
	if [ "$mode" != stock ] && [ $rc -eq 0 ]; then
		"${psql[@]}" -d regression -c "CREATE EXTENSION pg_migrate" || rc=1
	fi
	if [ $rc -eq 0 ]; then
		(cd "$out/$name" && "$PGM_PGXS/test/regress/pg_regress" \
			--bindir="$PGM_BIN" --host="$dir" --port="$port" --user=postgres \
			--use-existing --dbname=regression \
			--inputdir="$src/src/test/regress" --outputdir="$out/$name" \
			--dlpath="$lib" --max-concurrent-tests=20 \
			--schedule="$src/src/test/regress/parallel_schedule") \
			>"$out/$name/pg_regress.log" 2>&1 || true
	fi
	"$PGM_BIN/pg_ctl" -D "$dir" -m fast -w stop >/dev/null 2>&1 || true
	cp "$dir/server.log" "$out/$name/server.log"
	return $rc
}

# Two tests list what the database holds, and may see pg_migrate's own
# objects: event_trigger lists every event trigger (the extension's three
# among them), alter_table lists the locks its transactions hold (with the
# history row written in the statement's own transaction, the locks on the
# history table and its sequence).  Those rows are dropped, and the table
# layout they widen is normalised, before comparing; nothing else may differ.
may_list_own_objects() { [ "$1" = event_trigger ] || [ "$1" = alter_table ]; }
strip_own_objects() {
	grep -vE '^ *migrate_(ddl_command_end|sql_drop|table_rewrite|ddl_history|ddl_history_id_seq) *\|' "$1" |
		sed -E '/^\([0-9]+ rows?\)$/d; s/ +/ /g; s/-+/-/g; s/ +$//'
}

run() {
	local work=$1 out=$2 enforce=${3:-off}
	local src lib port=${PGM_PGCORE_PORT:-54391} t bad=0 failed_tests
	src=$(fetch) || return 1
	echo "pgcore: suite of $(basename "$src"), pg_migrate.enforce = $enforce"
	lib=$work/lib
	mkdir -p "$work" "$out"
	build_lib "$src" "$lib" || return 1
	# The stock server's results depend on nothing in this tree: one pass
	# per installed server, kept beside the source.
	if [ ! -f "$src.stock/pg_regress.log" ]; then
		one_pass stock "$src" "$lib" "$work" "$work/results" "$port" stock || return 1
		rm -rf "$src.stock"
		cp -a "$work/results/stock" "$src.stock"
	fi
	rm -rf "$out/stock"
	cp -a "$src.stock" "$out/stock"
	one_pass pg_migrate "$src" "$lib" "$work" "$out" "$((port + 1))" "$enforce" || return 1
	grep -E 'tests (passed|failed)' "$out/pg_migrate/pg_regress.log" || true

	# Tests whose output differs from what the stock server printed.
	failed_tests=$(sed -nE 's/^(not ok +[0-9]+ +- +|test +)?([a-z_0-9]+) +\.\.\. +FAILED.*/\2/p; s/^ +([a-z_0-9]+) +\.\.\. +FAILED.*/\1/p' \
		"$out/pg_migrate/pg_regress.log" | sort -u)
	for t in $failed_tests; do
		local mine=$out/pg_migrate/results/$t.out theirs=$out/stock/results/$t.out
		if may_list_own_objects "$t"; then
			cmp -s <(strip_own_objects "$mine") <(strip_own_objects "$theirs") && continue
		elif cmp -s "$mine" "$theirs"; then
			continue
		fi
		echo "pgcore: $t differs from the stock server:"
		diff -u "$theirs" "$mine" | head -n 80 || true
		bad=1
	done

	# Crashes, and internal errors the stock server did not have.
	if grep -nE 'terminated by signal|was terminated by exception|PANIC|TRAP:' \
		"$out/pg_migrate/server.log"; then
		echo "pgcore: a server process crashed (see $out/pg_migrate/server.log)"
		bad=1
	fi
	local xx_mine xx_stock
	xx_mine=$(grep -E '\] XX000 ' "$out/pg_migrate/server.log" | sed -E 's/^.*\] XX000 [^ ]* *//; s/[0-9]+/N/g' | sort -u)
	xx_stock=$(grep -E '\] XX000 ' "$out/stock/server.log" | sed -E 's/^.*\] XX000 [^ ]* *//; s/[0-9]+/N/g' | sort -u)
	if [ -n "$(comm -23 <(echo "$xx_mine") <(echo "$xx_stock") | grep .)" ]; then
		echo "pgcore: internal errors (XX000) the stock server does not have:"
		comm -23 <(echo "$xx_mine") <(echo "$xx_stock") | grep . | head -n 20
		bad=1
	fi
	[ $bad -eq 0 ] && echo "pgcore: no difference from the stock server"
	return $bad
}

case ${1:-fetch} in
fetch) fetch ;;
run) shift; run "$@" ;;
*) echo "usage: $0 fetch | run WORKDIR RESULTDIR [ENFORCE]" >&2; exit 2 ;;
esac
