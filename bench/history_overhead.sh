#!/usr/bin/env bash
# What recording the DDL history costs, measured side by side in one run on
# one cluster that is restarted with and without the library preloaded:
#   - pgbench TPC-B (DML only: the hook is never entered for DML)
#   - a CREATE TABLE / DROP TABLE loop (every statement writes a history row)
# Rounds alternate (without, with, without, with, ...) so drift in machine
# load affects both sides alike.  Not a timed test: it prints figures.
#
#   bash bench/history_overhead.sh [ROUNDS] [SECONDS]
set -euo pipefail
PGM_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$PGM_TOP/test/lib.sh"
pgm_install_deps
pgm_drop_root bench/history_overhead.sh "$@"

rounds=${1:-3}
secs=${2:-10}
PGM_WORK=$(mktemp -d /tmp/pg_migrate-bench.XXXXXX)
trap 'pgm_stop_cluster "$PGM_WORK/data"; rm -rf "$PGM_WORK"' EXIT
pgm_build
pgm_start_cluster "$PGM_WORK/data" $((20000 + RANDOM % 20000))
data=$PGM_WORK/data
echo "shared_buffers = 256MB" >>"$data/postgresql.conf"
echo "synchronous_commit = off" >>"$data/postgresql.conf"

set_preload() {
	sed -i "/^shared_preload_libraries/d" "$data/postgresql.conf"
	[ "$1" = on ] && echo "shared_preload_libraries = 'pg_migrate'" >>"$data/postgresql.conf"
	pg_ctl -D "$data" -l "$data/server.log" -w restart >/dev/null
}

set_preload on
psql -Xq -c "CREATE EXTENSION pg_migrate" postgres
pgbench -i -q -s 10 postgres >/dev/null 2>&1

cat >"$PGM_WORK/ddl.sql" <<'SQL'
CREATE TABLE bench_ddl_:client_id (id int PRIMARY KEY, v text);
DROP TABLE bench_ddl_:client_id;
SQL

tps() { sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -1; }

declare -a tpcb_off tpcb_on ddl_off ddl_on
for r in $(seq 1 "$rounds"); do
	for mode in off on; do
		set_preload $mode
		t=$(pgbench -n -c 2 -j 2 -T "$secs" postgres 2>/dev/null | tps)
		d=$(pgbench -n -c 1 -T "$secs" -f "$PGM_WORK/ddl.sql" postgres 2>/dev/null | tps)
		if [ $mode = on ]; then tpcb_on+=("$t"); ddl_on+=("$d"); else tpcb_off+=("$t"); ddl_off+=("$d"); fi
		printf 'round %d  preload %-3s  TPC-B %10.1f tps   CREATE+DROP TABLE %8.1f pairs/s\n' "$r" "$mode" "$t" "$d"
	done
done
rows=$(psql -XAtq -c "SELECT count(*) FROM migrate_ddl_history" postgres)

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
mt_off=$(median "${tpcb_off[@]}"); mt_on=$(median "${tpcb_on[@]}")
md_off=$(median "${ddl_off[@]}"); md_on=$(median "${ddl_on[@]}")
echo
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; PostgreSQL $(postgres --version | awk '{print $3}')"
printf '%-32s %12s %12s %8s\n' "median of $rounds x ${secs}s" "not loaded" "loaded" "ratio"
printf '%-32s %12.1f %12.1f %8.3f\n' "pgbench TPC-B (tps)" "$mt_off" "$mt_on" "$(awk -v a="$mt_on" -v b="$mt_off" 'BEGIN {print a / b}')"
printf '%-32s %12.1f %12.1f %8.3f\n' "CREATE+DROP TABLE (pairs/s)" "$md_off" "$md_on" "$(awk -v a="$md_on" -v b="$md_off" 'BEGIN {print a / b}')"
echo "history rows written during the run: $rows"
