#!/usr/bin/env bash
# What a backfill costs the application, measured side by side in one run
# on one cluster: pgbench single-row UPDATEs on random rows of the table
# being backfilled,
#   - alone (baseline),
#   - while migrate_batch_update changes every row,
#   - while one plain UPDATE changes every row,
# each for the same duration on a freshly loaded table.  Prints TPS, p99 and
# maximum latency (from pgbench's per-transaction log) and the ratio to the
# baseline.  Not a timed test: it prints figures.
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
secs=${2:-15}
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
DROP TABLE IF EXISTS bf;
CREATE TABLE bf (id bigint PRIMARY KEY, n int NOT NULL DEFAULT 0, m int NOT NULL DEFAULT 0, b text);
INSERT INTO bf SELECT g, 0, 0, md5(g::text) FROM generate_series(1, $rows) g;
VACUUM ANALYZE bf;
CHECKPOINT;
SQL
}

# pgbench for $secs seconds; prints "tps p99_ms max_ms"
measure() {
	local dir=$PGM_WORK/log_$1 tps
	rm -rf "$dir"
	mkdir -p "$dir"
	tps=$(cd "$dir" && pgbench -n -c "$clients" -j 2 -T "$secs" -l -f "$PGM_WORK/write.sql" postgres 2>/dev/null |
		sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -1)
	# column 3 of the log is the latency in microseconds
	cat "$dir"/pgbench_log.* | awk '{print $3}' | sort -n |
		awk -v tps="$tps" '{a[NR]=$1} END {i=int(NR*0.99); if (i<1) i=1; printf "%s %.1f %.1f\n", tps, a[i]/1000, a[NR]/1000}'
}

declare -A res
load
bench_progress "pgbench alone, ${secs}s"
res[base]=$(measure base)

load
bench_progress "pgbench during migrate_batch_update, ${secs}s"
job=$(psql -XAtq -c "SELECT migrate_batch_update('bf', 'n = n + 1')" postgres)
res[job]=$(measure job)
job_state=$(psql -XAtq -c "SELECT state FROM migrate_jobs WHERE id = $job" postgres)
psql -XAtq -c "CALL migrate_job_wait($job)" postgres >/dev/null

load
bench_progress "pgbench during one plain UPDATE, ${secs}s"
psql -Xq -c "UPDATE bf SET n = n + 1" postgres &
upd=$!
sleep 0.2
res[plain]=$(measure plain)
plain_running=$(kill -0 $upd 2>/dev/null && echo "still running" || echo "finished")
wait $upd

echo
bench_machine
bench_settings load
echo "table: $rows rows; pgbench: $clients clients, ${secs}s of single-row UPDATEs on random rows"
bench_result param load rows "$rows"
bench_result param load seconds "$secs"
bench_result param load clients "$clients"
printf '%-40s %10s %8s %10s %10s\n' "" "TPS" "ratio" "p99 ms" "max ms"
read -r btps _ <<<"${res[base]}"
for k in base job plain; do
	read -r tps p99 max <<<"${res[$k]}"
	case $k in
	base) name="pgbench alone" end="" ;;
	job) name="during migrate_batch_update ($job_state at end)" end=$job_state ;;
	plain) name="during one plain UPDATE ($plain_running at end)" end=$plain_running ;;
	esac
	ratio=$(bench_ratio "$tps" "$btps")
	bench_result load "$k" "$tps" "$ratio" "$p99" "$max" "$end"
	printf '%-40s %10.1f %8.2f %10.1f %10.1f\n' "$name" "$tps" "$ratio" "$p99" "$max"
done
