#!/usr/bin/env bash
# What a backfill costs the application, measured side by side in one run
# on one cluster: pgbench single-row UPDATEs on random rows of the table
# being backfilled,
#   - alone (baseline),
#   - while migrate_batch_update changes every row (with the default
#     settings, then with pg_migrate.batch_yield = 0: a worker that never
#     leaves the busy server a pause),
#   - while one plain UPDATE changes every row,
# each on a freshly loaded table.  pgbench runs for the same duration each
# time; the figures of a backfill phase are taken from pgbench's
# per-transaction log over the time the backfill ran (from its submission
# to its end, or to pgbench's end if it ran longer), so a backfill that
# finishes early is not flattered by the quiet time after it.  Prints TPS,
# p99 and worst latency of the transactions that ran during that time, the
# ratio of TPS to the baseline, how much of the backfill was covered, the
# load average at the end of each phase (other people's work on the
# machine changes every figure), the job's batches and time yielded, and
# what pgbench's sessions were doing, sampled every 20 ms from
# pg_stat_activity: on the CPU, or waiting for a row lock of a batch
# (Lock:transactionid), for WAL (LWLock:WALWrite, IO:WALSync), ...
# Not a timed test: it prints figures.
#
#   bash bench/backfill_load.sh [--results FILE] [ROWS] [SECONDS] [CLIENTS]
set -euo pipefail
PGM_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$PGM_TOP/test/lib.sh"
pgm_install_deps
pgm_drop_root bench/backfill_load.sh "$@"
. "$PGM_TOP/bench/lib.sh"

if [ "${1:-}" = --results ]; then
	BENCH_RESULTS=$2
	shift 2
fi
rows=${1:-2000000}
secs=${2:-20}
clients=${3:-4}
bench_cluster
cat >>"$data/postgresql.conf" <<'CONF'
shared_buffers = 1GB
max_wal_size = 32GB
checkpoint_timeout = 1h
# the benchmark drops and re-creates its tables: the policy engine would refuse
pg_migrate.enforce = off
CONF
bench_restart
psql -Xq -c "CREATE EXTENSION pg_migrate" postgres

cat >"$PGM_WORK/write.sql" <<SQL
\set id random(1, $rows)
UPDATE bf SET m = m + 1 WHERE id = :id;
SQL

load() {
	psql -Xq postgres <<SQL
SET client_min_messages = warning;
DROP TABLE IF EXISTS bf;
CREATE TABLE bf (id bigint PRIMARY KEY, n int NOT NULL DEFAULT 0, m int NOT NULL DEFAULT 0, b text);
INSERT INTO bf SELECT g, 0, 0, md5(g::text) FROM generate_series(1, $rows) g;
VACUUM ANALYZE bf;
CHECKPOINT;
SQL
}

# pgbench for $secs seconds with a per-transaction log in $PGM_WORK/log_$1;
# sets pg_from and pg_to, the epoch seconds it started and ended.
run_pgbench() {
	local dir=$PGM_WORK/log_$1
	rm -rf "$dir"
	mkdir -p "$dir"
	pg_from=$(bench_now)
	(cd "$dir" && pgbench -n -c "$clients" -j 2 -T "$secs" -l -f "$PGM_WORK/write.sql" postgres >/dev/null 2>&1)
	pg_to=$(bench_now)
}

# sample NAME: in the background, what the active pgbench sessions wait
# for, every 20 ms (bench_sampler_start), into $PGM_WORK/waits_NAME;
# sample_end NAME stops it and leaves there "event share%" lines, most
# frequent first.
sample() {
	rm -f "$PGM_WORK/samples_$1"
	bench_sampler_start "$PGM_WORK/samples_$1" "application_name = 'pgbench'"
}
sample_end() {
	bench_sampler_stop
	bench_sampler_shares "$PGM_WORK/samples_$1" >"$PGM_WORK/waits_$1"
}
# The sampled waits of phase NAME on one line.
waits() { paste -sd, "$PGM_WORK/waits_$1" | sed 's/,/, /g'; }
loadavg() { cut -d' ' -f1 /proc/loadavg; }

# stats NAME FROM TO: "tps p99_ms worst_ms seconds" over [FROM, TO] (epoch
# seconds).  TPS counts the transactions that ended in it; p99 and worst
# are over every transaction that overlapped it, so a write that waited
# for the whole backfill and ended just after it counts.  Log columns: 3 is
# the latency in microseconds, 5 and 6 the end time (seconds, microseconds).
stats() {
	local log=$PGM_WORK/log_$1 ended
	cat "$log"/pgbench_log.* >"$log/all"
	ended=$(awk -v from="$2" -v to="$3" '
		{ end = $5 + $6 / 1e6 }
		end >= from && end <= to { n++ }
		END { print n + 0 }' "$log/all")
	awk -v from="$2" -v to="$3" '
		{ end = $5 + $6 / 1e6; start = end - $3 / 1e6 }
		end >= from && start <= to { print $3 }' "$log/all" | sort -n |
		awk -v from="$2" -v to="$3" -v ended="$ended" '
		{ a[NR] = $1 }
		END {
			i = int(NR * 0.99); if (i < 1) i = 1
			printf "%.1f %.1f %.1f %.1f\n", ended / (to - from), NR ? a[i] / 1000 : 0,
				NR ? a[NR] / 1000 : 0, to - from }'
}

min() { awk -v a="$1" -v b="$2" 'BEGIN {print (a < b) ? a : b}'; }
max() { awk -v a="$1" -v b="$2" 'BEGIN {print (a > b) ? a : b}'; }
# covered FROM TO PGBENCH_END: how much of a backfill pgbench saw
covered() {
	awk -v a="$1" -v b="$2" -v e="$3" 'BEGIN {
		if (b <= e) printf "all of it (%.1f s)", b - a
		else printf "first %.1f s of %.1f s", e - a, b - a }'
}

declare -A res cover lavg jobinfo
load
bench_progress "pgbench alone, ${secs}s"
sample base
run_pgbench base
sample_end base
lavg[base]=$(loadavg)
res[base]=$(stats base "$pg_from" "$pg_to")
cover[base]=""
jobinfo[base]=""

# The backfill with the default settings, then without yielding to the
# busy server (pg_migrate.batch_yield = 0).
backfill() {
	local job bf_from bf_to
	load
	bench_progress "pgbench during migrate_batch_update${2:+, $2}, ${secs}s"
	job=$(psql -XAtq -c "SELECT migrate_batch_update('bf', 'n = n + 1')" postgres)
	sample "$1"
	run_pgbench "$1"
	sample_end "$1"
	lavg[$1]=$(loadavg)
	psql -XAtq -c "CALL migrate_job_wait($job)" postgres >/dev/null
	jobinfo[$1]=$(psql -XAtq -c "SELECT batches || ' batches, yielded ' || round(extract(epoch FROM yield_time)::numeric, 1) || ' s'
		FROM migrate_jobs WHERE id = $job" postgres)
	read -r bf_from bf_to < <(psql -XAtq -F ' ' -c "SELECT extract(epoch FROM submitted_at), extract(epoch FROM finished_at) FROM migrate_jobs WHERE id = $job" postgres)
	res[$1]=$(stats "$1" "$(max "$pg_from" "$bf_from")" "$(min "$pg_to" "$bf_to")")
	cover[$1]=$(covered "$bf_from" "$bf_to" "$pg_to")
}
backfill job
psql -Xq -c "ALTER SYSTEM SET pg_migrate.batch_yield = 0" -c "SELECT pg_reload_conf()" postgres >/dev/null
backfill job_noyield "pg_migrate.batch_yield = 0"
psql -Xq -c "ALTER SYSTEM RESET pg_migrate.batch_yield" -c "SELECT pg_reload_conf()" postgres >/dev/null

load
bench_progress "pgbench during one plain UPDATE, ${secs}s"
bf_from=$(bench_now)
(psql -Xq -c "UPDATE bf SET n = n + 1" postgres && bench_now >"$PGM_WORK/plain.end") &
upd=$!
sleep 0.2
sample plain
run_pgbench plain
sample_end plain
lavg[plain]=$(loadavg)
jobinfo[plain]=""
wait $upd
bf_to=$(cat "$PGM_WORK/plain.end")
res[plain]=$(stats plain "$(max "$pg_from" "$bf_from")" "$(min "$pg_to" "$bf_to")")
cover[plain]=$(covered "$bf_from" "$bf_to" "$pg_to")

echo
bench_machine
bench_settings load
echo "table: $rows rows; pgbench: $clients clients, ${secs}s of single-row UPDATEs on random rows"
bench_result param load rows "$rows"
bench_result param load seconds "$secs"
bench_result param load clients "$clients"
printf '%-34s %9s %6s %9s %9s %5s  %s\n' "" "TPS" "ratio" "p99 ms" "worst ms" "load" "backfill measured"
read -r btps _ <<<"${res[base]}"
for k in $BENCH_LOAD_PHASES; do
	read -r tps p99 worst _ <<<"${res[$k]}"
	ratio=$(bench_ratio "$tps" "$btps")
	bench_result load "$k" "$tps" "$ratio" "$p99" "$worst" "${cover[$k]:-–}" "${lavg[$k]}" "$(waits "$k")"
	printf '%-34s %9.1f %6s %9.1f %9.1f %5s  %s\n' "${BENCH_LOAD_LABEL[$k]}" "$tps" "$ratio" "$p99" "$worst" "${lavg[$k]}" \
		"${cover[$k]}${jobinfo[$k]:+; ${jobinfo[$k]}}"
done
echo
echo "what pgbench's active sessions were doing (sampled every 20 ms):"
for k in $BENCH_LOAD_PHASES; do
	printf '  %-32s %s\n' "${BENCH_LOAD_LABEL[$k]}" "$(waits "$k")"
done
