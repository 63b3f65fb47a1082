#!/usr/bin/env bash
# The whole test suite: pg_regress (sql/), isolation (test/specs/) and TAP
# (test/t/), each on private throwaway clusters with pg_migrate preloaded.
# Installs its own dependencies, works as root or as an ordinary user, runs
# on every supported PostgreSQL major (one line "PGnn: N passed, N failed"
# each) and ends with one line "N passed, N failed" for all of them.  A test
# that could not run (a TAP script's skip) is counted as neither: the lines
# then add ", N skipped".
#
#   bash test/run.sh                 everything, on every major
#   bash test/run.sh regress         one suite (layout, regress, isolation,
#                                    tap or pgcore)
#   bash test/run.sh tap/010_jobs_crash regress/jobs
#                                    single tests of a suite
#   bash test/run.sh pgcore/warn     pgcore with pg_migrate.enforce = warn
#   bash test/run.sh interop         the tools DBAs run beside pg_migrate
#                                    (test/interop/; PostgreSQL 15 only)
#   bash test/run.sh --major 18 regress/jobs
#   PGM_MAJORS="15 18" bash test/run.sh
#                                    only these majors (default: 15 17 18)
set -uo pipefail

PGM_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=test/lib.sh
. "$PGM_TOP/test/lib.sh"

majors=""
while [ "${1:-}" = --major ]; do
	majors="$majors ${2:?--major needs a version}"
	shift 2
done
PGM_MAJORS=${majors:-${PGM_MAJORS:-15 17 18}}
export PGM_MAJORS

# The majors bookworm does not ship are built from source (once, then
# cached) by root before dropping root: the build installs packages and
# writes the cache.  An ordinary user uses what the cache has.
extra=""
if [ "$(id -u)" -eq 0 ]; then
	for m in $PGM_MAJORS; do
		[ "$m" = 15 ] || extra=$PGM_PG_BUILD_PACKAGES
	done
fi
# shellcheck disable=SC2086
pgm_install_deps $extra || exit 1
# pgcore unpacks PostgreSQL's source package with dpkg-source.
case " ${*:-pgcore} " in *" pgcore"*) pgm_install_deps dpkg-dev || exit 1 ;; esac
# TAP checks migrate_metrics() with promtool, from Debian's prometheus.
case " ${*:-tap} " in *" tap"*) pgm_install_deps prometheus python3-alembic python3-psycopg2 || exit 1 ;; esac
# The TAP test of pg_upgrade from an older major to the one under test.
upgrade_test=027_pg_upgrade_major
# Whether the suites asked for include it.
wants_upgrade_test() {
	local s
	for s in ${*:-tap}; do
		case $s in
		tap) return 0 ;;
		tap/*)
			# shellcheck disable=SC2053
			[[ $upgrade_test == ${s#tap/} ]] && return 0 ;;
		esac
	done
	return 1
}
# interop runs Debian's builds of the tools (and npm's, installed later
# into the work tree by whoever runs the tests).
case " ${*:-interop} " in *" interop"*) pgm_install_interop_deps || exit 1 ;; esac
if [ "$(id -u)" -eq 0 ]; then
	for m in $PGM_MAJORS; do
		pgm_pg_config "$m" || true
	done
	# The old major of the pg_upgrade test, when a newer one is tested.
	if wants_upgrade_test "$@"; then
		for m in $PGM_MAJORS; do
			if [ "$m" -gt "$PGM_UPGRADE_FROM" ]; then
				pgm_pg_built "$PGM_UPGRADE_FROM" || true
				break
			fi
		done
	fi
fi
pgm_drop_root test/run.sh "$@"

suites=${*:-layout regress isolation tap pgcore interop}
rm -rf "$PGM_TOP/tmp_work" "$PGM_TOP/results"

# pg_regress and pg_isolation_regress print one line per test:
#   "test history   ... ok" / "... FAILED" (15)
#   "ok 2  - history  228 ms" / "not ok 2  - history" (16 on)
count_regress_log() {
	local log=$1 ok bad
	ok=$(grep -cE '\.\.\. +ok|^ok [0-9]+ ' "$log" || true)
	bad=$(grep -cE '\.\.\. +FAILED|failed \(ignored\)|^not ok [0-9]+ ' "$log" || true)
	passed=$((passed + ok))
	failed=$((failed + bad))
}

# One pg_regress-style suite:
#   run_pg_regress NAME DRIVER INPUTDIR TESTDIR EXT
run_pg_regress() {
	local name=$1 driver=$2 inputdir=$3 testdir=$4 ext=$5 only=${6:-*} tests rc
	tests=$(cd "$PGM_TOP/$testdir" 2>/dev/null && ls ./$only."$ext" 2>/dev/null |
		sed "s|^\./||; s|\.$ext\$||" | sort)
	[ -n "$tests" ] || return 0
	pgm_log "$name: $(echo $tests | wc -w) tests"
	# shellcheck disable=SC2086
	(cd "$PGM_TOP" && "$driver" \
		--bindir="$PGM_BIN" --inputdir="$inputdir" \
		--outputdir="$PGM_RESULTS/$name" \
		--temp-instance="$PGM_WORK/$name" \
		--temp-config="$PGM_TOP/test/pg_migrate.conf" \
		$tests) >"$PGM_WORK/$name.log" 2>&1
	rc=$?
	cat "$PGM_WORK/$name.log"
	count_regress_log "$PGM_WORK/$name.log"
	if [ $rc -ne 0 ] && [ -f "$PGM_RESULTS/$name/regression.diffs" ]; then
		cat "$PGM_RESULTS/$name/regression.diffs"
	fi
	[ $rc -eq 0 ] || grep -qE 'FAILED|^not ok' "$PGM_WORK/$name.log" || failed=$((failed + 1))
}

run_regress() {
	run_pg_regress regress "$PGM_PGXS/test/regress/pg_regress" . sql sql "$@"
}

run_isolation() {
	run_pg_regress isolation "$PGM_PGXS/test/isolation/pg_isolation_regress" test test/specs spec "$@"
}

# Each TAP script counts its assertions; a script that dies without a
# failing assertion counts as one failure.  A skipped assertion ("ok N #
# skip") and a script that skips everything count as skipped, never as
# passed.
run_tap() {
	local t ok bad skip rc name only=${1:-*} dir=${PGM_TAP_DIR:-test/t}
	for t in "$PGM_TOP"/$dir/$only.pl; do
		[ -e "$t" ] || continue
		name=$(basename "$t" .pl)
		local log=$PGM_WORK/tap_$name.log
		local env_old=()
		if [ "$name" = "$upgrade_test" ]; then
			# pg_upgrade to this major from $PGM_UPGRADE_FROM: needs
			# pg_migrate built against that one too.
			if [ "$PGM_PGVER" -le "$PGM_UPGRADE_FROM" ]; then
				pgm_log "tap: $name.pl: upgrades from PostgreSQL $PGM_UPGRADE_FROM, nothing to do on $PGM_PGVER"
				continue
			fi
			[ -n "${PGM_UPGRADE_OLD_BIN:-}${PGM_UPGRADE_OLD_MISSING:-}" ] || pgm_build_old || true
			env_old=(PGM_UPGRADE_OLD_MAJOR="$PGM_UPGRADE_FROM"
				PGM_UPGRADE_OLD_BIN="${PGM_UPGRADE_OLD_BIN:-}"
				PGM_UPGRADE_OLD_MISSING="${PGM_UPGRADE_OLD_MISSING:-}")
		fi
		pgm_log "tap: $name.pl"
		mkdir -p "$PGM_WORK/tap/tmp_check"
		# TESTDIR up to 16, TESTDATADIR and TESTLOGDIR from 17 on.
		(cd "$PGM_TOP" && env "${env_old[@]}" TESTDIR="$PGM_WORK/tap" PGM_TOP="$PGM_TOP" \
			TESTDATADIR="$PGM_WORK/tap/tmp_check" TESTLOGDIR="$PGM_WORK/tap/tmp_check/log" \
			PG_REGRESS="$PGM_PGXS/test/regress/pg_regress" \
			prove -v -I "$PGM_PGXS/test/perl" -I "$PGM_TOP/test/t" -I "$PGM_TOP/$dir" "$t") >"$log" 2>&1
		rc=$?
		ok=$(grep -E '^ *ok [0-9]+' "$log" | grep -vciE '^ *ok [0-9]+[^#]*# *skip' || true)
		skip=$(grep -ciE '^ *ok [0-9]+[^#]*# *skip' "$log" || true)
		bad=$(grep -cE '^ *not ok [0-9]+' "$log" || true)
		# prove -v reports a script that skips everything as
		# "t/NAME.pl .. skipped: REASON".
		if grep -qE '\.\. skipped: ' "$log"; then
			skip=$((skip + 1))
			pgm_log "tap: $name.pl skipped: $(grep -E '\.\. skipped: ' "$log" | head -n 1 | sed 's/.*\.\. skipped: //')"
		fi
		if [ $rc -ne 0 ] && [ "$bad" -eq 0 ]; then bad=1; fi
		[ $rc -eq 0 ] || cat "$log"
		grep -E '^ *(not )?ok [0-9]+' "$log" | sed 's/^/    /'
		passed=$((passed + ok))
		failed=$((failed + bad))
		skipped=$((skipped + skip))
	done
	mkdir -p "$PGM_RESULTS/tap"
	cp -a "$PGM_WORK"/tap*.log "$PGM_RESULTS/tap/" 2>/dev/null || true
	cp -a "$PGM_WORK/tap/tmp_check/log" "$PGM_RESULTS/tap/" 2>/dev/null || true
}

# PostgreSQL's own regression suite on a server with pg_migrate created in
# the test database (enforcement off), compared with a stock server: one
# test, failed by any difference but the listing of the extension's event
# triggers, by a crash or by a new internal error (test/pgcore.sh).
run_pgcore() {
	# The suite compared is the Debian source package of the installed 15.
	if [ "$PGM_PGVER" != 15 ]; then
		pgm_log "pgcore: runs on PostgreSQL 15 only (the source package of the installed server)"
		return 0
	fi
	pgm_log "pgcore: PostgreSQL's regression suite with and without pg_migrate"
	if bash "$PGM_TOP/test/pgcore.sh" run "$PGM_WORK/pgcore" "$PGM_RESULTS/pgcore" "${1:-off}" \
		>"$PGM_WORK/pgcore.log" 2>&1; then
		echo "test pgcore ... ok"
		passed=$((passed + 1))
	else
		cat "$PGM_WORK/pgcore.log"
		echo "test pgcore ... FAILED"
		failed=$((failed + 1))
	fi
}

# The layout check: no dependency cycle between the C files of src/, and
# nothing calls into the library's entry file (tools/depgraph.py).  One
# test, failed by either.
run_layout() {
	pgm_log "layout: dependencies between the C files of src/"
	if python3 "$PGM_TOP/tools/depgraph.py" "$PGM_TOP/src" >"$PGM_WORK/layout.log" 2>&1; then
		tail -n 1 "$PGM_WORK/layout.log"
		echo "test layout ... ok"
		passed=$((passed + 1))
	else
		cat "$PGM_WORK/layout.log"
		echo "test layout ... FAILED"
		failed=$((failed + 1))
	fi
}

# The tools DBAs run beside pg_migrate (test/interop/), one TAP script per
# tool, on the servers the tools are packaged for.
run_interop() {
	local only=${1:-*}
	# Debian ships pg_repack, pg_partman, pg_cron and pgaudit for its own
	# server only; on other majors the suite is not run (and not counted).
	if [ "$PGM_PGVER" != 15 ]; then
		pgm_log "interop: runs on PostgreSQL 15 only (Debian packages the tools for 15): not run"
		return 0
	fi
	if ! PGM_INTEROP_NPM=$(pgm_interop_npm "$PGM_WORK/npm"); then
		echo "interop: could not install dbmate and node-pg-migrate from npm"
		failed=$((failed + 1))
		return 0
	fi
	export PGM_INTEROP_NPM
	PGM_TAP_DIR=test/interop run_tap "$only"
}

run_suites() {
	local s
	for s in $suites; do
		case $s in
		regress) run_regress ;;
		isolation) run_isolation ;;
		tap) run_tap ;;
		pgcore) run_pgcore ;;
		layout) run_layout ;;
		interop) run_interop ;;
		regress/*) run_regress "${s#*/}" ;;
		isolation/*) run_isolation "${s#*/}" ;;
		tap/*) run_tap "${s#*/}" ;;
		pgcore/*) run_pgcore "${s#*/}" ;;
		interop/*) run_interop "${s#*/}" ;;
		*) echo "unknown suite: $s" >&2; failed=$((failed + 1)) ;;
		esac
	done
}

# Each major builds into its own work directory and writes its results to
# results/pgNN/.
total_passed=0
total_failed=0
total_skipped=0
summary=""
# "N passed, N failed", and ", N skipped" when something was.
counts() {
	local line="$1 passed, $2 failed"
	[ "$3" -eq 0 ] || line="$line, $3 skipped"
	echo "$line"
}
for m in $PGM_MAJORS; do
	passed=0
	failed=0
	skipped=0
	pgm_pg_config "$m" || true
	missing=PGM_PG_MISSING_$m
	if [ -n "${!missing:-}" ]; then
		summary="$summary
PG$m: not run: ${!missing}"
		continue
	fi
	PGM_PGVER=$m
	PGM_WORK=$PGM_TOP/tmp_work/pg$m
	PGM_RESULTS=$PGM_TOP/results/pg$m
	PGM_UPGRADE_OLD_BIN=""
	PGM_UPGRADE_OLD_MISSING=""
	mkdir -p "$PGM_WORK" "$PGM_RESULTS"
	pgm_log "PostgreSQL $m"
	if pgm_build; then
		run_suites
	else
		failed=1
	fi
	# The next major's build must not find this one's binaries first.
	PATH=${PATH#"${PGM_BIN:-}:"}
	summary="$summary
PG$m: $(counts $passed $failed $skipped)"
	total_passed=$((total_passed + passed))
	total_failed=$((total_failed + failed))
	total_skipped=$((total_skipped + skipped))
done

echo "${summary#?}"
counts $total_passed $total_failed $total_skipped
[ "$total_failed" -eq 0 ]
