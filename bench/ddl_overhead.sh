#!/usr/bin/env bash
# What the policy engine and the lock-queue protection cost and buy,
# measured side by side in one run on one cluster that is restarted with and
# without the library preloaded:
#   - worst reader stall while a plain ALTER TABLE waits behind a long
#     transaction (the lock-queue problem), and how long the ALTER took
#   - DDL throughput: a CREATE TABLE / DROP TABLE loop, enforce = on (and,
#     to attribute the cost, the same loop loaded with the policy engine
#     off, i.e. the DDL history alone)
#   - pgbench TPC-B (DML only: the hook is never entered for DML), both
#     sequentially and on twin clusters measured at the same time
# Rounds alternate (without, with, ...) so drift in machine load affects both
# sides alike.  Not a timed test: it prints figures.
#
#   bash bench/ddl_overhead.sh [ROUNDS] [SECONDS] [BLOCKER_SECONDS]
set -euo pipefail
PGM_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$PGM_TOP/test/lib.sh"
pgm_install_deps
pgm_drop_root bench/ddl_overhead.sh "$@"

rounds=${1:-3}
secs=${2:-10}
block=${3:-4}
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
psql -Xq postgres <<'SQL'
CREATE EXTENSION pg_migrate;
-- The bench's own tables may be dropped: a per-table exception.
INSERT INTO migrate_policy (rule, action, table_pattern, note)
VALUES ('drop_table', 'allow', 'bench\_ddl\_%', 'bench/ddl_overhead.sh');
CREATE TABLE stall_t (id int PRIMARY KEY, v text);
INSERT INTO stall_t SELECT g, 'x' FROM generate_series(1, 10000) g;
CREATE TABLE stall_log (run text, stall interval);
CREATE PROCEDURE stall_reads(run text, seconds float8) LANGUAGE plpgsql AS $$
DECLARE
  t0 timestamptz;
  stop timestamptz := clock_timestamp() + seconds * interval '1 s';
BEGIN
  WHILE clock_timestamp() < stop LOOP
    t0 := clock_timestamp();
    PERFORM count(*) FROM stall_t;
    INSERT INTO stall_log VALUES (run, clock_timestamp() - t0);
    COMMIT;
    PERFORM pg_sleep(0.02);
  END LOOP;
END
$$;
SQL
# pgbench -i adds primary keys to populated tables: a setup step, not the
# thing measured, so it runs with enforcement off (as restores should).
PGOPTIONS='-c pg_migrate.enforce=off' pgbench -i -q -s 10 postgres >/dev/null 2>&1

cat >"$PGM_WORK/ddl.sql" <<'SQL'
CREATE TABLE bench_ddl_:client_id (id int PRIMARY KEY, v text);
DROP TABLE bench_ddl_:client_id;
SQL

tps() { sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -1; }

# One lock-queue episode: a reader transaction holds AccessShareLock for
# $block seconds; 0.5 s in, a plain ALTER TABLE (psql, defaults) arrives;
# other readers query the table every 20 ms throughout.
stall_run() {
	local run=$1 t0 t1
	psql -Xq -c "BEGIN; SELECT count(*) FROM stall_t; SELECT pg_sleep($block); COMMIT;" postgres >/dev/null &
	local blocker=$!
	psql -Xq -c "CALL stall_reads('$run', $block + 1.5)" postgres >/dev/null &
	local readers=$!
	sleep 0.5
	t0=$(date +%s.%N)
	psql -Xq -c "ALTER TABLE stall_t ADD COLUMN c_$run int" postgres >/dev/null 2>&1
	t1=$(date +%s.%N)
	wait $blocker $readers
	ddl_secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')
	worst_ms=$(psql -XAtq -c "SELECT round(extract(epoch FROM max(stall)) * 1000) FROM stall_log WHERE run = '$run'" postgres)
	reads=$(psql -XAtq -c "SELECT count(*) FROM stall_log WHERE run = '$run'" postgres)
}

declare -a tpcb_off tpcb_on ddl_off ddl_on ddl_hist
for r in $(seq 1 "$rounds"); do
	for mode in off on; do
		set_preload $mode
		t=$(pgbench -n -c 2 -j 2 -T "$secs" postgres 2>/dev/null | tps)
		d=$(pgbench -n -c 1 -T "$secs" -f "$PGM_WORK/ddl.sql" postgres 2>/dev/null | tps)
		if [ $mode = on ]; then
			# The same loop with the policy engine switched off: what the
			# history alone costs, to attribute the difference.
			h=$(PGOPTIONS='-c pg_migrate.enforce=off -c pg_migrate.lock_timeout_mode=off' \
				pgbench -n -c 1 -T "$secs" -f "$PGM_WORK/ddl.sql" postgres 2>/dev/null | tps)
			tpcb_on+=("$t"); ddl_on+=("$d"); ddl_hist+=("$h")
			printf 'round %d  preload %-3s  TPC-B %10.1f tps   CREATE+DROP TABLE %8.1f pairs/s (history only: %.1f)\n' "$r" "$mode" "$t" "$d" "$h"
		else
			tpcb_off+=("$t"); ddl_off+=("$d")
			printf 'round %d  preload %-3s  TPC-B %10.1f tps   CREATE+DROP TABLE %8.1f pairs/s\n' "$r" "$mode" "$t" "$d"
		fi
	done
done

# TPC-B on twin clusters at the same time.  The machine may be shared, and
# load that comes and goes skews sequential runs by tens of percent; two
# clusters measured simultaneously see the same load.  Phase "calibrate":
# neither preloads the library (the ratio is the twins' own difference);
# phase "compare": the first one preloads it.  Overhead ratio =
# compare / calibrate.
twin=$PGM_WORK/twin
tport=$((PGPORT + 1))
"$PGM_BIN/initdb" -D "$twin" -A trust -U postgres --no-sync >/dev/null 2>&1
{
	echo "port = $tport"
	echo "listen_addresses = ''"
	echo "unix_socket_directories = '$twin'"
	echo "shared_buffers = 256MB"
	echo "synchronous_commit = off"
} >>"$twin/postgresql.conf"
pg_ctl -D "$twin" -l "$twin/server.log" -w start >/dev/null
trap 'pg_ctl -D "$twin" -m fast -w stop >/dev/null 2>&1 || true; pgm_stop_cluster "$PGM_WORK/data"; rm -rf "$PGM_WORK"' EXIT
PGHOST=$twin PGPORT=$tport pgbench -i -q -s 10 postgres >/dev/null 2>&1

twin_round() {
	PGHOST=$twin PGPORT=$tport pgbench -n -c 1 -T "$secs" postgres 2>/dev/null | tps >"$PGM_WORK/twin.tps" &
	local bg=$!
	main_tps=$(pgbench -n -c 1 -T "$secs" postgres 2>/dev/null | tps)
	wait $bg
	twin_tps=$(cat "$PGM_WORK/twin.tps")
	awk -v a="$main_tps" -v b="$twin_tps" 'BEGIN {print a / b}'
}
declare -a cal cmp
for r in $(seq 1 "$rounds"); do
	set_preload off
	c=$(twin_round)
	set_preload on
	m=$(twin_round)
	cal+=("$c"); cmp+=("$m")
	printf 'twin round %d  main/twin TPC-B: both without library %.3f, main with library %.3f\n' "$r" "$c" "$m"
done

set_preload off
stall_run off_r
stall_off=$worst_ms ddl_time_off=$ddl_secs reads_off=$reads
set_preload on
stall_run on_r
stall_on=$worst_ms ddl_time_on=$ddl_secs reads_on=$reads
lt=$(psql -XAtq -c "SHOW pg_migrate.lock_timeout" postgres)
en=$(psql -XAtq -c "SHOW pg_migrate.enforce" postgres)

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
mt_off=$(median "${tpcb_off[@]}"); mt_on=$(median "${tpcb_on[@]}")
md_off=$(median "${ddl_off[@]}"); md_on=$(median "${ddl_on[@]}"); md_hist=$(median "${ddl_hist[@]}")
echo
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; PostgreSQL $(postgres --version | awk '{print $3}')"
echo "loaded: pg_migrate.enforce = $en, pg_migrate.lock_timeout = $lt (defaults otherwise)"
printf '%-40s %12s %12s %8s\n' "median of $rounds x ${secs}s" "not loaded" "loaded" "ratio"
printf '%-40s %12.1f %12.1f %8.3f\n' "pgbench TPC-B (tps)" "$mt_off" "$mt_on" "$(awk -v a="$mt_on" -v b="$mt_off" 'BEGIN {print a / b}')"
printf '%-40s %12.1f %12.1f %8.3f\n' "CREATE+DROP TABLE (pairs/s)" "$md_off" "$md_on" "$(awk -v a="$md_on" -v b="$md_off" 'BEGIN {print a / b}')"
printf '%-40s %12.1f %12.1f %8.3f\n' "  same, loaded, policy engine off" "$md_off" "$md_hist" "$(awk -v a="$md_hist" -v b="$md_off" 'BEGIN {print a / b}')"
mcal=$(median "${cal[@]}"); mcmp=$(median "${cmp[@]}")
printf '%-40s %12.3f %12.3f %8.3f\n' "TPC-B on twin clusters (main/twin)" "$mcal" "$mcmp" "$(awk -v a="$mcmp" -v b="$mcal" 'BEGIN {print a / b}')"
echo
echo "lock queue: reader holds the table ${block}s, ALTER TABLE arrives after 0.5s, readers every 20ms"
printf '%-40s %12s %12s\n' "" "not loaded" "loaded"
printf '%-40s %12s %12s\n' "worst reader stall (ms)" "$stall_off" "$stall_on"
printf '%-40s %12s %12s\n' "reads completed" "$reads_off" "$reads_on"
printf '%-40s %12s %12s\n' "ALTER TABLE elapsed (s)" "$ddl_time_off" "$ddl_time_on"
