#!/usr/bin/env bash
# Backfill speed, measured side by side in one run on one cluster: for each
# table size, identical tables get the same change (n = n + 1 on every row)
#   - by one plain UPDATE,
#   - by migrate_batch_update with one worker,
#   - by migrate_batch_update with parallel => 2,
#   - by a PL/pgSQL keyset loop that commits every 10000 rows,
# and the wall times are printed with their ratio to the plain UPDATE
# (above 1 = faster than the plain UPDATE).  The backfill's time runs from
# the submitting call to the end of CALL migrate_job_wait, so it includes
# fixing the key range, starting the workers and polling.  Each table is
# freshly loaded, vacuumed and checkpointed before its run.  Not a timed
# test: it prints figures.
#
#   bash bench/backfill.sh [--batch-target 200ms] [SIZES...]
#                                            default sizes: 1000000 4000000
set -euo pipefail
PGM_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$PGM_TOP/test/lib.sh"
pgm_install_deps
pgm_drop_root bench/backfill.sh "$@"

batch_target=200ms
if [ "${1:-}" = --batch-target ]; then
	batch_target=$2
	shift 2
fi
sizes=${*:-1000000 4000000}
PGM_WORK=$(mktemp -d /tmp/pg_migrate-bench.XXXXXX)
trap 'pgm_stop_cluster "$PGM_WORK/data"; rm -rf "$PGM_WORK"' EXIT
pgm_build
pgm_start_cluster "$PGM_WORK/data" $((20000 + RANDOM % 20000))
data=$PGM_WORK/data
cat >>"$data/postgresql.conf" <<'CONF'
shared_buffers = 1GB
max_wal_size = 32GB
checkpoint_timeout = 1h
pg_migrate.max_workers = 4
# the benchmark drops and re-creates its tables: the policy engine would refuse
pg_migrate.enforce = off
CONF
echo "pg_migrate.batch_target = '$batch_target'" >>"$data/postgresql.conf"
pg_ctl -D "$data" -l "$data/server.log" -w restart >/dev/null

psql -Xq postgres <<'SQL'
CREATE EXTENSION pg_migrate;
CREATE PROCEDURE keyset_loop(tbl regclass, batch int)
LANGUAGE plpgsql AS $$
DECLARE
    lo bigint := 0;
    hi bigint;
    top bigint;
BEGIN
    EXECUTE format('SELECT max(id) FROM %s', tbl) INTO top;
    WHILE lo < top LOOP
        EXECUTE format('SELECT id FROM %s WHERE id > $1 AND id <= $2 ORDER BY id OFFSET $3 LIMIT 1', tbl)
            INTO hi USING lo, top, batch - 1;
        hi := COALESCE(hi, top);
        EXECUTE format('UPDATE %s SET n = n + 1 WHERE id > $1 AND id <= $2', tbl) USING lo, hi;
        lo := hi;
        COMMIT;
    END LOOP;
END
$$;
SQL

now() { date +%s.%N; }

load() {
	psql -Xq postgres <<SQL
DROP TABLE IF EXISTS bf;
CREATE TABLE bf (id bigint PRIMARY KEY, a int NOT NULL, b text NOT NULL, n int NOT NULL DEFAULT 0);
INSERT INTO bf SELECT g, g % 1000, md5(g::text), 0 FROM generate_series(1, $1) g;
VACUUM ANALYZE bf;
CHECKPOINT;
SQL
}

check() {
	local got
	got=$(psql -XAtq -c "SELECT count(*) FILTER (WHERE n = 1) || '/' || count(*) FROM bf" postgres)
	[ "$got" = "$1/$1" ] || { echo "wrong result: $got rows with n = 1" >&2; exit 1; }
}

run_plain() {
	local t0 t1
	t0=$(now)
	psql -Xq -c "UPDATE bf SET n = n + 1" postgres
	t1=$(now)
	echo "$t1 - $t0" | bc
}

run_job() {
	local t0 t1 state
	t0=$(now)
	state=$(psql -XAtq postgres <<SQL
SELECT migrate_batch_update('bf', 'n = n + 1', parallel => $1) AS job \gset
CALL migrate_job_wait(:job);
SQL
)
	t1=$(now)
	[ "$state" = done ] || { echo "job ended $state" >&2; exit 1; }
	echo "$t1 - $t0" | bc
}

run_loop() {
	local t0 t1
	t0=$(now)
	psql -Xq -c "CALL keyset_loop('bf', 10000)" postgres
	t1=$(now)
	echo "$t1 - $t0" | bc
}

declare -A secs
for n in $sizes; do
	for method in plain job1 job2 loop; do
		load "$n"
		case $method in
		plain) s=$(run_plain) ;;
		job1) s=$(run_job 1) ;;
		job2) s=$(run_job 2) ;;
		loop) s=$(run_loop) ;;
		esac
		check "$n"
		secs[$n,$method]=$s
		printf '%9d rows  %-6s %8.2f s\n' "$n" "$method" "$s" >&2
	done
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
echo
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; PostgreSQL $(postgres --version | awk '{print $3}')"
echo "settings: shared_buffers 1GB, pg_migrate.batch_target $(psql -XAtq -c 'SHOW pg_migrate.batch_target' postgres), synchronous_commit on"
printf '%-10s %-34s %9s %10s\n' rows method seconds "speed vs UPDATE"
for n in $sizes; do
	p=${secs[$n,plain]}
	printf '%-10s %-34s %9.2f %10s\n' "$n" "plain UPDATE" "$p" "1.00"
	printf '%-10s %-34s %9.2f %10s\n' "$n" "migrate_batch_update" "${secs[$n,job1]}" "$(ratio "$p" "${secs[$n,job1]}")"
	printf '%-10s %-34s %9.2f %10s\n' "$n" "migrate_batch_update parallel 2" "${secs[$n,job2]}" "$(ratio "$p" "${secs[$n,job2]}")"
	printf '%-10s %-34s %9.2f %10s\n' "$n" "PL/pgSQL keyset loop, COMMIT/10k" "${secs[$n,loop]}" "$(ratio "$p" "${secs[$n,loop]}")"
done
set -- $sizes
if [ $# -ge 2 ]; then
	first=$1
	last=${!#}
	echo
	echo "growth $first -> $last rows ($(ratio "$last" "$first")x the rows):"
	for m in plain job1 job2 loop; do
		printf '  %-6s %sx the time\n' "$m" "$(ratio "${secs[$last,$m]}" "${secs[$first,$m]}")"
	done
fi
