#!/usr/bin/env bash
# The benchmark report: runs every benchmark of bench/ one after the other
# in one run and writes OUTDIR/REPORT.md (the machine, the settings, every
# figure side by side, the goals and whether they were met) and
# OUTDIR/backfill.png (backfill seconds against rows, one line per method).
# Each benchmark's own text output and its figures as tab-separated lines
# are kept in OUTDIR/logs/.
#
#   bash bench/report.sh [--quick] [OUTDIR]      default OUTDIR: bench/report
#
# --quick uses small sizes and short runs (two or three minutes), to check
# that the report is produced; its figures are not the ones to quote.  A
# full run takes about a quarter of an hour on 2 cores.  Installs what it
# needs (gnuplot, pgaudit) from Debian; as root it runs the benchmarks as an
# unprivileged user and copies the report back into OUTDIR.
set -euo pipefail
PGM_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$PGM_TOP/test/lib.sh"

usage() { sed -n 's/^#   \(bash bench\/report.sh.*\)/usage: \1/p' "$0" >&2; exit 2; }
quick=""
outdir=""
for arg in "$@"; do
	case $arg in
	--quick) quick=1 ;;
	-*) usage ;;
	*) [ -z "$outdir" ] || usage; outdir=$arg ;;
	esac
done
outdir=${outdir:-$PGM_TOP/bench/report}

pgm_install_deps gnuplot-nox "postgresql-$PGM_PGVER-pgaudit"
# The commit measured (the copy made for the unprivileged user has no .git).
if [ -z "${PGM_COMMIT:-}" ]; then
	if PGM_COMMIT=$(git -C "$PGM_TOP" rev-parse --short HEAD 2>/dev/null); then
		PGM_COMMIT="commit $PGM_COMMIT"
		[ -z "$(git -C "$PGM_TOP" status --porcelain --untracked-files=no)" ] ||
			PGM_COMMIT="$PGM_COMMIT with uncommitted changes"
	else
		PGM_COMMIT="(not a git checkout)"
	fi
	export PGM_COMMIT
fi
if [ "$(id -u)" -eq 0 ]; then
	# The unprivileged user writes into a staging directory of its own; the
	# report is copied into OUTDIR (owned by root) when it exits.
	dest=$(realpath -m "$outdir")
	stage=$(mktemp -d /tmp/pg_migrate-report.XXXXXX)
	pgm_ensure_user
	chown "$PGM_USER" "$stage"
	export PGM_REPORT_DEST=$dest
	trap 'mkdir -p "$dest"; cp -R "$stage/." "$dest/"; rm -rf "$stage"' EXIT
	pgm_drop_root bench/report.sh ${quick:+--quick} "$stage"
fi
. "$PGM_TOP/bench/lib.sh"

if [ -n "$quick" ]; then
	sizes="20000 100000 200000"
	load_args="500000 5 4"
	ddl_args="1 3 2"
else
	sizes="100000 200000 1000000 4000000"
	load_args="2000000 20 4"
	ddl_args="5 10 4"
fi
quadratic_max=200000

mkdir -p "$outdir/logs"
outdir=$(cd "$outdir" && pwd)
logs=$outdir/logs
rm -f "$logs"/*.tsv "$logs"/*.txt "$outdir/REPORT.md" "$outdir/backfill.png"
started=$(date -u '+%Y-%m-%d %H:%M UTC')
t_start=$(bench_now)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

# run_bench N NAME TITLE SCRIPT ARGS...: one benchmark, its table to
# logs/NAME.txt, its figures to logs/NAME.tsv, progress to the terminal.
declare -A took
run_bench() {
	local n=$1 name=$2 title=$3 script=$4 t0
	shift 4
	pgm_log "[$n/3] $title ($(date -u +%H:%M:%S))"
	t0=$(bench_now)
	bash "$PGM_TOP/bench/$script" --results "$logs/$name.tsv" "$@" >"$logs/$name.txt"
	took[$name]=$(bench_since "$t0")
	pgm_log "[$n/3] done in $(printf '%.0f' "${took[$name]}") s"
}

# shellcheck disable=SC2086
run_bench 1 backfill "backfill time vs rows: $sizes" backfill.sh --quadratic-max "$quadratic_max" $sizes
# shellcheck disable=SC2086
run_bench 2 load "backfill under pgbench load: rows, seconds, clients = $load_args" backfill_load.sh $load_args
# shellcheck disable=SC2086
run_bench 3 ddl "DDL overhead: rounds, seconds, blocker seconds = $ddl_args" ddl_overhead.sh $ddl_args
total=$(bench_since "$t_start")
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- read the figures -------------------------------------------------
declare -A BF LOAD LOADEND LOADAVG LOADWAIT DDL DDLR TPCB STALL PARAM SETV
setnames=""
while IFS=$'\t' read -r kind a b c d e f g h; do
	case $kind in
	backfill) BF[$a,$b]=$c ;;
	skipped) BF[$a,$b]=skip ;;
	load) LOAD[$a]="$b $c $d $e"; LOADEND[$a]=${f:-}; LOADAVG[$a]=${g:-–}; LOADWAIT[$a]=${h:-–} ;;
	ddl) DDL[$a]=$b; DDLR[$a]=$c ;;
	tpcb) TPCB[$a]="$b $c $d" ;;
	stall) STALL[$a]="$b $c $d" ;;
	param) PARAM[$a,$b]=$c ;;
	setting)
		SETV[$a,$b]=$c
		case " $setnames " in *" $b "*) ;; *) setnames="$setnames $b" ;; esac
		;;
	esac
done < <(cat "$logs"/backfill.tsv "$logs"/load.tsv "$logs"/ddl.tsv)

# 1000000 -> 1M, 20000 -> 20k
short() {
	awk -v n="$1" 'BEGIN {
		if (n >= 1000000 && n % 100000 == 0) printf "%gM", n / 1000000
		else if (n >= 1000 && n % 100 == 0) printf "%gk", n / 1000
		else printf "%d", n }'
}
# 1000000 -> 1,000,000
thousands() { printf '%s' "$1" | sed ':a; s/\([0-9]\)\([0-9]\{3\}\)\($\|,\)/\1,\2\3/; ta'; }
fmt() { awk -v v="$1" -v d="${2:-2}" 'BEGIN {printf "%.*f", d, v}'; }
# check VALUE OP LIMIT -> yes / **no**
check() {
	awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN {
		ok = (op == ">=") ? (v >= l) : (v <= l); print ok ? "yes" : "**no**" }'
}
set -- $sizes
first=$1
last=${!#}
prev=""
for n in $sizes; do
	[ "$n" = "$last" ] || prev=$n
done

# ---- the chart --------------------------------------------------------
{
	printf 'rows'
	for m in $BENCH_METHODS; do
		printf ' "%s' "${BENCH_LABEL[$m]}"
		[ "$m" != limit ] || printf ' (run up to %s rows)' "$(short "$quadratic_max")"
		printf '"'
	done
	echo
	for n in $sizes; do
		printf '%s' "$n"
		for m in $BENCH_METHODS; do
			v=${BF[$n,$m]:-skip}
			[ "$v" = skip ] && v=-
			printf ' %s' "$v"
		done
		echo
	done
} >"$logs/backfill.dat"
xtics=$(for n in $sizes; do printf '"%s" %s,' "$(short "$n")" "$n"; done)
# Ranges a little wider than the data (log scale would round to decades).
yrange=$(awk 'NR > 1 {for (i = 2; i <= NF; i++) if ($i != "-") {
	if (lo == "" || $i < lo) lo = $i; if (hi == "" || $i > hi) hi = $i } }
	END {printf "%g:%g", lo / 1.6, hi * 1.6}' "$logs/backfill.dat")
term="pngcairo size 960,640 font 'sans,10'"
gnuplot -e 'set terminal pngcairo' >/dev/null 2>&1 || term="png size 960,640"
gnuplot <<GP
set terminal $term noenhanced
set output '$outdir/backfill.png'
set title "Backfill time vs rows (pg_migrate $PGM_COMMIT, $started${quick:+, quick run})"
set xlabel "rows in the table (log scale)"
set ylabel "seconds, wall time (log scale)"
set logscale xy
set xrange [$first / 1.4 : $last * 1.4]
set yrange [$yrange]
set xtics (${xtics%,})
set ytics (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)
set key below left Left reverse maxrows 5
set grid
set datafile missing "-"
set linetype 1 lc rgb "#1f77b4" lw 2 pt 7 ps 1.2
set linetype 2 lc rgb "#d62728" lw 2 pt 5 ps 1.2
set linetype 3 lc rgb "#9467bd" lw 2 pt 9 ps 1.4
set linetype 4 lc rgb "#2ca02c" lw 2 pt 11 ps 1.4
set linetype 5 lc rgb "#ff7f0e" lw 2 pt 13 ps 1.4
plot for [c=2:6] '$logs/backfill.dat' using 1:c with linespoints title columnheader(c)
GP

# ---- REPORT.md --------------------------------------------------------
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
ncpu=$(grep -c '^processor' /proc/cpuinfo)
mem=$(awk '/^MemTotal:/ {printf "%.1f", $2 / 1048576}' /proc/meminfo)
debian=$(cat /etc/debian_version 2>/dev/null || echo unknown)
pgver=$(postgres --version | awk '{print $3}')
pgaudit_ver=$(dpkg-query -W -f='${Version}' "postgresql-$PGM_PGVER-pgaudit" 2>/dev/null || echo unknown)
read -r load_rows load_secs load_clients <<<"$load_args"
read -r ddl_rounds ddl_secs ddl_block <<<"$ddl_args"

{
	echo "# pg_migrate benchmark report"
	echo
	echo "Produced by \`bash bench/report.sh${quick:+ --quick}\` on $started for pg_migrate $PGM_COMMIT;"
	echo "the whole run took $(awk -v t="$total" 'BEGIN {printf "%.1f", t / 60}') minutes."
	echo "Every figure below was measured in this one run, each benchmark on a throwaway"
	echo "cluster of its own built from the same tree."
	if [ -n "$quick" ]; then
		echo
		echo "> **Quick run.** Small tables and short measurements, to check that the report"
		echo "> is produced: the figures are not the ones to quote, and the goals are stated"
		echo "> for the full run (\`bash bench/report.sh\`)."
	fi
	echo
	echo "## Machine"
	echo
	echo "| | |"
	echo "|---|---|"
	echo "| CPU | $ncpu × $cpu (\`nproc\`: $(nproc)) |"
	echo "| memory | $mem GiB |"
	echo "| kernel | Linux $(uname -r) |"
	echo "| Debian | $debian |"
	echo "| PostgreSQL | $pgver (Debian's server binaries, private copy) |"
	echo "| pgaudit | $pgaudit_ver (Debian's package) |"
	echo "| load average (1, 5, 15 min) | $load_start at the start, $load_end at the end |"
	echo
	echo "The machine may be shared: a load average above zero at the start means other"
	echo "work ran alongside and the figures are noisier than on a quiet machine."
	echo
	echo "## Settings"
	echo
	echo "Each benchmark's cluster starts from \`initdb\` defaults plus the settings below"
	echo "(\`pg_migrate.enforce = off\` on the backfill clusters because they drop and"
	echo "re-create their tables). The DDL benchmark's cluster is restarted with"
	echo "\`shared_preload_libraries\` set to nothing, \`pg_migrate\`, or \`pgaudit\` (with"
	echo "\`pgaudit.log = 'ddl'\`); shown is its pg_migrate configuration."
	echo
	echo "| setting | backfill | under load | DDL overhead |"
	echo "|---|---|---|---|"
	for s in $setnames; do
		echo "| \`$s\` | ${SETV[backfill,$s]:-default} | ${SETV[load,$s]:-default} | ${SETV[ddl,$s]:-default} |"
	done
	echo
	echo "## 1. Backfill time vs rows"
	echo
	echo "Every method fills a new nullable column (\`c = a + 1\`) on every row of a table"
	echo "\`bf (id bigint PRIMARY KEY, a int, b text, c int)\`, freshly loaded, vacuumed,"
	echo "analyzed and checkpointed before each run, so every method starts from an"
	echo "identical table:"
	echo
	echo "- *plain UPDATE*: \`UPDATE bf SET c = a + 1\`, one statement, one transaction;"
	echo "- *two plain UPDATEs side by side*: two sessions started together, one"
	echo "  \`UPDATE\` each, on the lower and the upper half of the key range: what two"
	echo "  writers get on this machine without pg_migrate, the reference for \`parallel => 2\`;"
	echo "- *migrate_batch_update*: \`migrate_batch_update('bf', 'c = a + 1')\` (and with"
	echo "  \`parallel => 2\`, two workers on two halves of the key range), timed from the"
	echo "  submitting call to the end of \`CALL migrate_job_wait\`, so fixing the key"
	echo "  range, starting the workers and polling are included;"
	echo "- *PL/pgSQL keyset loop*: a procedure that walks the primary key in ranges of"
	echo "  10,000 rows, one \`UPDATE … WHERE id > lo AND id <= hi\` and a \`COMMIT\` per range;"
	echo "- *DO block looping*: \`UPDATE bf SET c = a + 1 WHERE id IN (SELECT id FROM bf"
	echo "  WHERE c IS NULL LIMIT 1000)\` until no row is left, in one DO block (one"
	echo "  transaction). Each round scans past every row already done, so its time grows"
	echo "  with the square of the size: it runs only up to $(thousands "$quadratic_max") rows."
	echo
	echo "Seconds are wall time. *Speed* is the plain UPDATE's time divided by the"
	echo "method's: above 1 is faster than one plain UPDATE."
	echo
	printf '| method |'
	for n in $sizes; do printf ' %s rows: s (speed) |' "$(thousands "$n")"; done
	echo
	printf '|---|'
	for n in $sizes; do printf -- '---:|'; done
	echo
	for m in $BENCH_METHODS; do
		printf '| %s |' "${BENCH_LABEL[$m]}"
		for n in $sizes; do
			v=${BF[$n,$m]:-}
			if [ -z "$v" ]; then
				printf ' – |'
			elif [ "$v" = skip ]; then
				printf ' not run (quadratic) |'
			else
				printf ' %s (%s×) |' "$(fmt "$v")" "$(bench_ratio "${BF[$n,plain]}" "$v")"
			fi
		done
		echo
	done
	echo
	echo "Growth of each method's time from one size to the next (linear growth"
	echo "equals the growth in rows):"
	echo
	printf '| method |'
	p=""
	for n in $sizes; do
		[ -z "$p" ] || printf ' %s → %s (%s× rows) |' "$(short "$p")" "$(short "$n")" "$(bench_ratio "$n" "$p" 1)"
		p=$n
	done
	echo
	printf '|---|'
	p=""
	for n in $sizes; do [ -z "$p" ] || printf -- '---:|'; p=$n; done
	echo
	for m in $BENCH_METHODS; do
		printf '| %s |' "${BENCH_LABEL[$m]}"
		p=""
		for n in $sizes; do
			if [ -n "$p" ]; then
				a=${BF[$p,$m]:-skip} b=${BF[$n,$m]:-skip}
				if [ "$a" = skip ] || [ "$b" = skip ]; then
					printf ' – |'
				else
					printf ' %s× |' "$(bench_ratio "$b" "$a")"
				fi
			fi
			p=$n
		done
		echo
	done
	echo
	echo "![backfill seconds vs rows](backfill.png)"
	echo
	echo "On the log–log chart a line of slope 1 is linear growth; the LIMIT-subquery"
	echo "loop rescans the rows it has already done in every round and climbs twice as"
	echo "steeply."
	echo
	echo "## 2. Backfill under pgbench load"
	echo
	echo "pgbench runs single-row \`UPDATE\`s on random rows of a $(thousands "$load_rows")-row table"
	echo "($load_clients clients, ${load_secs} s each time, \`synchronous_commit = on\`): alone, while"
	echo "\`migrate_batch_update\` backfills every row (with the default settings, then"
	echo "with \`pg_migrate.batch_yield = 0\`: workers that never pause for the busy"
	echo "application), and"
	echo "while one plain \`UPDATE\` does, each on a freshly loaded table. A backfill's"
	echo "figures come from pgbench's per-transaction log over the time the backfill ran"
	echo "(from its submission to its end, or to pgbench's end if it ran longer; last"
	echo "column), so a backfill that ends early is not flattered by the quiet time"
	echo "after it. *TPS* counts the"
	echo "transactions that ended in that time; *ratio* is TPS over the TPS of pgbench"
	echo "alone; *p99* and *worst* are the latencies of every transaction that ran"
	echo "during it (*worst* is the longest an application write waited)."
	echo
	echo "| pgbench runs | TPS | ratio | p99 ms | worst ms | load average | backfill measured | pgbench sessions waited on |"
	echo "|---|---:|---:|---:|---:|---:|---|---|"
	for k in $BENCH_LOAD_PHASES; do
		read -r tps ratio p99 worst <<<"${LOAD[$k]}"
		echo "| ${BENCH_LOAD_LABEL[$k]} | $(fmt "$tps" 1) | $ratio | $p99 | $worst | ${LOADAVG[$k]:-–} | ${LOADEND[$k]:-–} | ${LOADWAIT[$k]:-–} |"
	done
	echo
	echo "## 3. DDL overhead"
	echo
	echo "A \`CREATE TABLE (id int PRIMARY KEY, v text)\` / \`DROP TABLE\` loop, one client,"
	echo "median of $ddl_rounds × ${ddl_secs} s, in statements per second; *ratio* is against the"
	echo "cluster with nothing loaded (a database without any extension). Rounds go"
	echo "through the configurations one way, then the other, and every measurement"
	echo "starts from a checkpoint, so that changes in machine load touch all of them"
	echo "alike."
	echo
	echo "| configuration | DDL statements/s | ratio |"
	echo "|---|---:|---:|"
	for k in none pgm hist audit evt; do
		case $k in
		none) name="nothing loaded" ;;
		pgm) name="pg_migrate, \`pg_migrate.enforce = ${PARAM[ddl,enforce]:-on}\` (history + policies + lock_timeout ${PARAM[ddl,lock_timeout]:-})" ;;
		hist) name="pg_migrate, history only (\`enforce = off\`, \`lock_timeout_mode = off\`)" ;;
		audit) name="pgaudit, \`pgaudit.log = 'ddl'\` (and \`CREATE EXTENSION pgaudit\`)" ;;
		evt) name="PL/pgSQL event trigger on \`ddl_command_end\` inserting \`pg_event_trigger_ddl_commands()\` into a table" ;;
		esac
		echo "| $name | $(fmt "${DDL[$k]}" 1) | ${DDLR[$k]} |"
	done
	echo
	echo "pgbench TPC-B (scale 10, DML only: pg_migrate's hook is not entered for DML),"
	echo "with and without pg_migrate preloaded: sequentially (2 clients, median of"
	echo "$ddl_rounds × ${ddl_secs} s) and on twin clusters measured at the same moment (1 client"
	echo "each; ratio of the main cluster's TPS to the twin's, calibrated with neither"
	echo "loading pg_migrate), which cancels load that comes and goes on a shared machine."
	echo
	echo "| TPC-B | without | with pg_migrate | ratio |"
	echo "|---|---:|---:|---:|"
	read -r a b r <<<"${TPCB[sequential]}"
	echo "| sequential, TPS | $(fmt "$a" 1) | $(fmt "$b" 1) | $r |"
	read -r a b r <<<"${TPCB[twin]}"
	echo "| twin clusters, main/twin TPS | $(fmt "$a" 3) | $(fmt "$b" 3) | $r |"
	echo
	echo "The lock queue: a transaction holds the table for ${ddl_block} s; 0.5 s in, a plain"
	echo "\`ALTER TABLE … ADD COLUMN\` arrives; readers query the table every 20 ms."
	echo "Without protection the ALTER waits in the queue and every reader waits behind"
	echo "it; pg_migrate gives the ALTER a short \`lock_timeout\` and retries it."
	echo
	echo "| lock queue | without | with pg_migrate |"
	echo "|---|---:|---:|"
	read -r s0 r0 d0 <<<"${STALL[off]}"
	read -r s1 r1 d1 <<<"${STALL[on]}"
	echo "| worst reader stall, ms | $s0 | $s1 |"
	echo "| reads completed | $r0 | $r1 |"
	echo "| ALTER TABLE elapsed, s | $d0 | $d1 |"
	echo
	echo "## Goals"
	echo
	echo "Backfill goals are checked at the largest size measured ($(thousands "$last") rows) and on the"
	echo "growth from $(thousands "$prev") to $(thousands "$last") rows ($(bench_ratio "$last" "$prev" 1)× the rows; the goal allows"
	echo "1.1 × the growth in rows, 4.4× for 1M → 4M)."
	echo
	echo "| goal | target | measured | met |"
	echo "|---|---:|---:|---|"
	for m in job1 job_alone job_poll1s job_poll50ms; do
		[ -n "${BF[$last,$m]:-}" ] || continue
		v=$(bench_ratio "${BF[$last,plain]}" "${BF[$last,$m]}")
		echo "| backfill speed vs plain UPDATE: ${BENCH_LABEL[$m]} | ≥ 1.00× | ${v}× | $(check "$v" ">=" 1.0) |"
	done
	v=$(bench_ratio "${BF[$last,plain]}" "${BF[$last,job2]}")
	echo "| backfill speed, parallel => 2, vs plain UPDATE | ≥ 1.60× | ${v}× | $(check "$v" ">=" 1.6) |"
	if [ -n "${BF[$last,plain2]:-}" ]; then
		v=$(bench_ratio "${BF[$last,plain]}" "${BF[$last,plain2]}")
		echo "| (reference, no goal) two plain UPDATEs side by side vs one | – | ${v}× | – |"
	fi
	lim=$(awk -v a="$last" -v b="$prev" 'BEGIN {printf "%.2f", 1.1 * a / b}')
	for m in job1 job2; do
		v=$(bench_ratio "${BF[$last,$m]}" "${BF[$prev,$m]}")
		echo "| growth $(short "$prev") → $(short "$last"), ${BENCH_LABEL[$m]} | ≤ ${lim}× | ${v}× | $(check "$v" "<=" "$lim") |"
	done
	read -r _ v _ <<<"${LOAD[job]}"
	echo "| pgbench TPS during migrate_batch_update vs alone | ≥ 0.80× | ${v}× | $(check "$v" ">=" 0.8) |"
	read -r _ _ v <<<"${TPCB[twin]}"
	echo "| TPC-B with pg_migrate vs without (twin clusters) | ≥ 0.99× | ${v}× | $(check "$v" ">=" 0.99) |"
	v=${DDLR[pgm]}
	echo "| DDL loop with pg_migrate (enforce on) vs nothing | ≥ 0.85× | ${v}× | $(check "$v" ">=" 0.85) |"
	echo
	echo "## How it was run"
	echo
	echo "| benchmark | command (run by \`bench/report.sh\`) | took |"
	echo "|---|---|---:|"
	echo "| backfill vs rows | \`bash bench/backfill.sh --quadratic-max $quadratic_max $sizes\` | $(printf '%.0f' "${took[backfill]}") s |"
	echo "| under load | \`bash bench/backfill_load.sh $load_args\` | $(printf '%.0f' "${took[load]}") s |"
	echo "| DDL overhead | \`bash bench/ddl_overhead.sh $ddl_args\` | $(printf '%.0f' "${took[ddl]}") s |"
	echo
	echo "Each script's own output is in \`logs/*.txt\`, its figures in \`logs/*.tsv\`."
} >"$outdir/REPORT.md"

shown=${PGM_REPORT_DEST:-$outdir}
pgm_log "report: $shown/REPORT.md, chart: $shown/backfill.png ($(printf '%.0f' "$total") s in all)"
