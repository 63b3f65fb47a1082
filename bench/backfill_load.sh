#!/usr/bin/env bash
# What a backfill costs the application, measured side by side in one run
# on one cluster: pgbench single-row UPDATEs on random rows of the table
# being backfilled,
#   - alone (baseline),
#   - while migrate_batch_update changes every row (workers at their
#     default pg_migrate.worker_nice, then at 0: the application's priority),
#   - while one plain UPDATE changes every row,
# each for the same duration on a freshly loaded table.  Prints TPS, p99 and
# maximum latency (from pgbench's per-transaction log) and the ratio to the
# baseline.  Not a timed test: it prints figures.
#
#   bash bench/backfill_load.sh [ROWS] [SECONDS] [CLIENTS]
set -euo pipefail
PGM_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$PGM_TOP/test/lib.sh"
pgm_install_deps
pgm_drop_root bench/backfill_load.sh "$@"

rows=${1:-2000000}
secs=${2:-15}
clients=${3:-4}
PGM_WORK=$(mktemp -d /tmp/pg_migrate-bench.XXXXXX)
trap 'pgm_stop_cluster "$PGM_WORK/data"; rm -rf "$PGM_WORK"' EXIT
pgm_build
pgm_start_cluster "$PGM_WORK/data" $((20000 + RANDOM % 20000))
data=$PGM_WORK/data
cat >>"$data/postgresql.conf" <<'CONF'
shared_buffers = 1GB
max_wal_size = 32GB
checkpoint_timeout = 1h
# the benchmark drops and re-creates its tables: the policy engine would refuse
pg_migrate.enforce = off
CONF
pg_ctl -D "$data" -l "$data/server.log" -w restart >/dev/null
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
res[base]=$(measure base)

# the backfill with the workers' default priority, then at the same
# priority as the application (pg_migrate.worker_nice = 0)
backfill() {
	load
	job=$(psql -XAtq -c "SELECT migrate_batch_update('bf', 'n = n + 1')" postgres)
	res[$1]=$(measure "$1")
	job_state[$1]=$(psql -XAtq -c "SELECT state FROM migrate_jobs WHERE id = $job" postgres)
	psql -XAtq -c "CALL migrate_job_wait($job)" postgres >/dev/null
}
declare -A job_state
backfill job
psql -Xq -c "ALTER SYSTEM SET pg_migrate.worker_nice = 0" -c "SELECT pg_reload_conf()" postgres >/dev/null
backfill job_nice0
psql -Xq -c "ALTER SYSTEM RESET pg_migrate.worker_nice" -c "SELECT pg_reload_conf()" postgres >/dev/null

load
psql -Xq -c "UPDATE bf SET n = n + 1" postgres &
upd=$!
sleep 0.2
res[plain]=$(measure plain)
plain_running=$(kill -0 $upd 2>/dev/null && echo "still running" || echo "finished")
wait $upd

echo
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; PostgreSQL $(postgres --version | awk '{print $3}')"
echo "table: $rows rows; pgbench: $clients clients, ${secs}s of single-row UPDATEs on random rows"
printf '%-52s %10s %8s %10s %10s\n' "" "TPS" "ratio" "p99 ms" "max ms"
for k in base job job_nice0 plain; do
	read -r tps p99 max <<<"${res[$k]}"
	case $k in
	base) name="pgbench alone" ;;
	job) name="during migrate_batch_update (${job_state[job]} at end)" ;;
	job_nice0) name="same, pg_migrate.worker_nice = 0 (${job_state[job_nice0]} at end)" ;;
	plain) name="during one plain UPDATE ($plain_running at end)" ;;
	esac
	read -r btps _ <<<"${res[base]}"
	printf '%-52s %10.1f %8.2f %10.1f %10.1f\n' "$name" "$tps" "$(awk -v a="$tps" -v b="$btps" 'BEGIN {print a / b}')" "$p99" "$max"
done
