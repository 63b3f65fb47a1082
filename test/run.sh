#!/usr/bin/env bash
# The whole test suite: pg_regress (sql/), isolation (test/specs/) and TAP
# (test/t/), each on private throwaway clusters with pg_migrate preloaded.
# Installs its own dependencies, works as root or as an ordinary user, and
# ends with one line "N passed, N failed".
#
#   bash test/run.sh                 everything
#   bash test/run.sh regress         one suite (regress, isolation, tap or pgcore)
#   bash test/run.sh tap/010_jobs_crash regress/jobs
#                                    single tests of a suite
#   bash test/run.sh pgcore/warn     pgcore with pg_migrate.enforce = warn
set -uo pipefail

PGM_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=test/lib.sh
. "$PGM_TOP/test/lib.sh"

pgm_install_deps || exit 1
# pgcore unpacks PostgreSQL's source package with dpkg-source.
case " ${*:-pgcore} " in *" pgcore"*) pgm_install_deps dpkg-dev || exit 1 ;; esac
pgm_drop_root test/run.sh "$@"

suites=${*:-regress isolation tap pgcore}
PGM_WORK=$PGM_TOP/tmp_work
rm -rf "$PGM_WORK" "$PGM_TOP/results"
mkdir -p "$PGM_WORK" "$PGM_TOP/results"
pgm_build || { echo "0 passed, 1 failed"; exit 1; }

passed=0
failed=0

# pg_regress and pg_isolation_regress print one line per test:
#   "test history   ... ok" / "... FAILED"
count_regress_log() {
	local log=$1 ok bad
	ok=$(grep -cE '(\.\.\.|^ok [0-9]+) +ok' "$log" || true)
	bad=$(grep -cE '\.\.\. +FAILED|failed \(ignored\)' "$log" || true)
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
		--outputdir="$PGM_TOP/results/$name" \
		--temp-instance="$PGM_WORK/$name" \
		--temp-config="$PGM_TOP/test/pg_migrate.conf" \
		$tests) >"$PGM_WORK/$name.log" 2>&1
	rc=$?
	cat "$PGM_WORK/$name.log"
	count_regress_log "$PGM_WORK/$name.log"
	if [ $rc -ne 0 ] && [ -f "$PGM_TOP/results/$name/regression.diffs" ]; then
		cat "$PGM_TOP/results/$name/regression.diffs"
	fi
	[ $rc -eq 0 ] || grep -qE 'FAILED' "$PGM_WORK/$name.log" || failed=$((failed + 1))
}

run_regress() {
	run_pg_regress regress "$PGM_PGXS/test/regress/pg_regress" . sql sql "$@"
}

run_isolation() {
	run_pg_regress isolation "$PGM_PGXS/test/isolation/pg_isolation_regress" test test/specs spec "$@"
}

# Each TAP script counts its assertions; a script that dies without a
# failing assertion counts as one failure.
run_tap() {
	local t ok bad rc only=${1:-*}
	for t in "$PGM_TOP"/test/t/$only.pl; do
		[ -e "$t" ] || continue
		pgm_log "tap: $(basename "$t")"
		local log=$PGM_WORK/tap_$(basename "$t" .pl).log
		mkdir -p "$PGM_WORK/tap/tmp_check"
		(cd "$PGM_TOP" && TESTDIR="$PGM_WORK/tap" PGM_TOP="$PGM_TOP" \
			PG_REGRESS="$PGM_PGXS/test/regress/pg_regress" \
			prove -v -I "$PGM_PGXS/test/perl" -I "$PGM_TOP/test/t" "$t") >"$log" 2>&1
		rc=$?
		ok=$(grep -cE '^ *ok [0-9]+' "$log" || true)
		bad=$(grep -cE '^ *not ok [0-9]+' "$log" || true)
		if [ $rc -ne 0 ] && [ "$bad" -eq 0 ]; then bad=1; fi
		[ $rc -eq 0 ] || cat "$log"
		grep -E '^ *(not )?ok [0-9]+' "$log" | sed 's/^/    /'
		passed=$((passed + ok))
		failed=$((failed + bad))
	done
	mkdir -p "$PGM_TOP/results/tap"
	cp -a "$PGM_WORK"/tap*.log "$PGM_TOP/results/tap/" 2>/dev/null || true
	cp -a "$PGM_WORK/tap/tmp_check/log" "$PGM_TOP/results/tap/" 2>/dev/null || true
}

# PostgreSQL's own regression suite on a server with pg_migrate created in
# the test database (enforcement off), compared with a stock server: one
# test, failed by any difference but the listing of the extension's event
# triggers, by a crash or by a new internal error (test/pgcore.sh).
run_pgcore() {
	pgm_log "pgcore: PostgreSQL's regression suite with and without pg_migrate"
	if bash "$PGM_TOP/test/pgcore.sh" run "$PGM_WORK/pgcore" "$PGM_TOP/results/pgcore" "${1:-off}" \
		>"$PGM_WORK/pgcore.log" 2>&1; then
		echo "test pgcore ... ok"
		passed=$((passed + 1))
	else
		cat "$PGM_WORK/pgcore.log"
		echo "test pgcore ... FAILED"
		failed=$((failed + 1))
	fi
}

for s in $suites; do
	case $s in
	regress) run_regress ;;
	isolation) run_isolation ;;
	tap) run_tap ;;
	pgcore) run_pgcore ;;
	regress/*) run_regress "${s#*/}" ;;
	isolation/*) run_isolation "${s#*/}" ;;
	tap/*) run_tap "${s#*/}" ;;
	pgcore/*) run_pgcore "${s#*/}" ;;
	*) echo "unknown suite: $s" >&2; failed=$((failed + 1)) ;;
	esac
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
