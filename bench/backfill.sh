#!/usr/bin/env bash
# Backfill speed, measured side by side in one run on one cluster: for each
# table size, identical tables get the same backfill of a new nullable
# column (c = a + 1 on every row)
#   - by one plain UPDATE,
#   - by two plain UPDATEs side by side, each in its own session and on
#     half of the key range (what two writers get without pg_migrate: the
#     reference for parallel => 2),
#   - by migrate_batch_update with one worker, in each way users run it:
#     waited for with CALL migrate_job_wait; submitted by a session that
#     disconnects at once, nobody watching (the end is read from the job's
#     finished_at, checked every 2 seconds); watched by a new psql every
#     second; watched by one session every 50 ms (psql's \watch),
#   - by migrate_batch_update with parallel => 2 (waited for),
#   - (method job1_onepass, not run by default) by migrate_batch_update with
#     one worker in one pass per range (its SET clause also assigns the
#     key, id = id, which keeps a job to one pass): what the two passes of
#     README's "Two passes per range" gain,
#   - by a PL/pgSQL keyset loop (a procedure) that commits every 10000 rows,
#   - by a DO block repeating UPDATE ... WHERE id IN (SELECT id ... WHERE
#     c IS NULL LIMIT 1000) until nothing is left: every round scans past
#     the rows already done, so its cost grows with the square of the size;
#     it runs only up to --quadratic-max rows (larger: "not run"),
# and the wall times are printed with their ratio to the plain UPDATE
# (above 1 = faster than the plain UPDATE) and the growth of each method's
# time from one size to the next.  The backfill's time runs from the
# submitting call to the end of CALL migrate_job_wait, so it includes fixing
# the key range, starting the workers and polling.  Each table is freshly
# loaded, vacuumed, analyzed and checkpointed before its run.  Not a timed
# test: it prints figures.
#
#   bash bench/backfill.sh [--batch-target 200ms] [--quadratic-max 200000]
#                          [--worker-nice N] [--repeat N] [--skewed]
#                          [--waits] [--hold-snapshot] [--results FILE]
#                          [SIZES...]
#
# --repeat N runs every method N times, in rounds (each round runs every
# method once, in order), and compares the medians; each run's time is
# printed too.  On a shared 2-core machine one run of the same method varies
# by a third from one round to the next (WAL writes and their flushes, other
# people's work), more than the differences measured: compare medians of
# at least 3 rounds.
# --worker-nice sets pg_migrate.worker_nice (default 10).  The plain UPDATE
# runs at the nice value of an ordinary backend (0): on a machine that other
# people load, nice workers get a smaller share of the CPU than the plain
# UPDATE does, which is their purpose on a server with an application but
# not what a comparison of speeds on an idle server measures.
# --skewed gives the table a trigger that makes changing a row of the upper
# half of the keys costlier (an md5 of a 1.3 kB string): the two halves of
# a parallel job then take unequal times, as when the application writes
# in one key range.  Every method meets the same trigger.
# --waits samples, every 20 ms during each run, what the processes doing the
# work are waiting on (pg_stat_activity's wait events of the active client
# sessions running the backfill and of the job's workers; "CPU" when they
# wait on nothing) and prints each method's shares.  The sampling session
# runs beside the method, on the same 2 cores: take the times of a run
# without it.
# --hold-snapshot keeps a REPEATABLE READ transaction open in another
# session during every run (as a long report or an idle-in-transaction
# session does): no row version the backfill leaves dead can be pruned
# while it runs, so a job's second passes are ordinary updates.
# BENCH_METHODS="plain job2" (environment) runs only the methods named
# (plain plain2 job1 job_alone job_poll1s job_poll50ms job2 loop limit by
# default; job1_onepass on demand).
#                                            default sizes: 1000000 4000000
set -euo pipefail
PGM_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$PGM_TOP/test/lib.sh"
pgm_install_deps
pgm_drop_root bench/backfill.sh "$@"
. "$PGM_TOP/bench/lib.sh"

batch_target=200ms
quadratic_max=200000
worker_nice=
repeat=1
skewed=0
waits=0
hold_snapshot=0
while [ $# -gt 0 ]; do
	case $1 in
	--batch-target) batch_target=$2; shift 2 ;;
	--quadratic-max) quadratic_max=$2; shift 2 ;;
	--worker-nice) worker_nice=$2; shift 2 ;;
	--repeat) repeat=$2; shift 2 ;;
	--skewed) skewed=1; shift ;;
	--waits) waits=1; shift ;;
	--hold-snapshot) hold_snapshot=1; shift ;;
	--results) BENCH_RESULTS=$2; shift 2 ;;
	*) break ;;
	esac
done
sizes=${*:-1000000 4000000}
bench_cluster
cat >>"$data/postgresql.conf" <<'CONF'
shared_buffers = 1GB
max_wal_size = 32GB
checkpoint_timeout = 1h
pg_migrate.max_workers = 4
# the benchmark drops and re-creates its tables: the policy engine would refuse
pg_migrate.enforce = off
CONF
echo "pg_migrate.batch_target = '$batch_target'" >>"$data/postgresql.conf"
[ -z "$worker_nice" ] || echo "pg_migrate.worker_nice = $worker_nice" >>"$data/postgresql.conf"
bench_restart

psql -Xq postgres <<'SQL'
CREATE EXTENSION pg_migrate;
-- --skewed: the rows above the given key cost more to change.
CREATE FUNCTION costly_upper_half() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id > TG_ARGV[0]::bigint THEN
        PERFORM md5(repeat(NEW.b, 40));
    END IF;
    RETURN NEW;
END
$$;
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
        EXECUTE format('UPDATE %s SET c = a + 1 WHERE id > $1 AND id <= $2', tbl) USING lo, hi;
        lo := hi;
        COMMIT;
    END LOOP;
END
$$;
SQL

load() {
	psql -Xq postgres <<SQL
SET client_min_messages = warning;
DROP TABLE IF EXISTS bf;
CREATE TABLE bf (id bigint PRIMARY KEY, a int NOT NULL, b text NOT NULL, c int);
INSERT INTO bf SELECT g, g % 1000, md5(g::text) FROM generate_series(1, $1) g;
$([ "$skewed" -eq 0 ] || echo "CREATE TRIGGER costly BEFORE UPDATE ON bf FOR EACH ROW EXECUTE FUNCTION costly_upper_half($(($1 / 2)));")
VACUUM ANALYZE bf;
CHECKPOINT;
SQL
}

check() {
	local got
	got=$(psql -XAtq -c "SELECT count(*) FILTER (WHERE c = a + 1) || '/' || count(*) FROM bf" postgres)
	[ "$got" = "$1/$1" ] || { echo "wrong result: $got rows backfilled" >&2; exit 1; }
}

# Each prints its wall time in seconds.
run_plain() {
	local t0
	t0=$(bench_now)
	psql -Xq -c "UPDATE bf SET c = a + 1" postgres
	bench_since "$t0"
}

# Two sessions, each updating half of the key range, started together.
run_plain2() {
	local t0 half=$(($1 / 2)) rc=0 pid
	t0=$(bench_now)
	psql -Xq -c "UPDATE bf SET c = a + 1 WHERE id <= $half" postgres &
	pid=$!
	psql -Xq -c "UPDATE bf SET c = a + 1 WHERE id > $half" postgres || rc=1
	wait "$pid" || rc=1
	[ "$rc" -eq 0 ] || { echo "plain UPDATE of a half failed" >&2; exit 1; }
	bench_since "$t0"
}

run_job() {
	local t0 state set=${2:-c = a + 1}
	t0=$(bench_now)
	state=$(psql -XAtq postgres <<SQL
SELECT migrate_batch_update('bf', '$set', parallel => $1) AS job \gset
CALL migrate_job_wait(:job);
SQL
)
	[ "$state" = "done" ] || { echo "job ended $state" >&2; exit 1; }
	bench_since "$t0"
}

# A job submitted by a session that disconnects at once; the time runs from
# the submission to the job's finished_at.  How the end is awaited is the
# method: "alone" looks every 2 seconds, "poll1s" runs a new psql reading
# migrate_jobs every second, "poll50ms" keeps one session reading it every
# 50 ms.
run_job_unattended() {
	local how=$1 job t0 state="" watcher="" out=$PGM_WORK/watch.out
	read -r job t0 < <(psql -XAtq -F ' ' -c \
		"SELECT migrate_batch_update('bf', 'c = a + 1'), extract(epoch FROM clock_timestamp())" postgres)
	: >"$out"
	if [ "$how" = poll50ms ]; then
		printf 'SELECT state FROM migrate_jobs WHERE id = %s\n\\watch 0.05\n' "$job" |
			psql -XAtq postgres >"$out" 2>/dev/null &
		watcher=$!
	fi
	while :; do
		case $how in
		alone) sleep 2; state=$(psql -XAtq -c "SELECT state FROM migrate_jobs WHERE id = $job" postgres) ;;
		poll1s) sleep 1; state=$(psql -XAtq -c "SELECT state FROM migrate_jobs WHERE id = $job" postgres) ;;
		poll50ms) sleep 0.2; state=$(grep -v '^$' "$out" | tail -n 1) ;;
		esac
		case $state in done|failed|cancelled) break ;; esac
	done
	[ -z "$watcher" ] || { kill "$watcher"; wait "$watcher" 2>/dev/null || true; }
	[ "$state" = "done" ] || { echo "job ended $state" >&2; exit 1; }
	psql -XAtq -c "SELECT round((extract(epoch FROM finished_at) - $t0)::numeric, 3)
		FROM migrate_job_state WHERE id = $job" postgres
}

run_loop() {
	local t0
	t0=$(bench_now)
	psql -Xq -c "CALL keyset_loop('bf', 10000)" postgres
	bench_since "$t0"
}

run_limit() {
	local t0
	t0=$(bench_now)
	psql -Xq postgres <<'SQL'
DO $$
BEGIN
    LOOP
        UPDATE bf SET c = a + 1
         WHERE id IN (SELECT id FROM bf WHERE c IS NULL LIMIT 1000);
        EXIT WHEN NOT FOUND;
    END LOOP;
END
$$;
SQL
	bench_since "$t0"
}

# --hold-snapshot: a session in a REPEATABLE READ transaction that has
# taken its snapshot, sleeping until it is terminated.
holder=""
start_holder() {
	[ "$hold_snapshot" -eq 1 ] || return 0
	psql -Xq -c "SET application_name = 'bench_snapshot_holder'" \
		-c "BEGIN ISOLATION LEVEL REPEATABLE READ" -c "SELECT count(*) FROM pg_class" \
		-c "SELECT pg_sleep(86400)" postgres >/dev/null 2>&1 &
	holder=$!
	until [ "$(psql -XAtq -c "SELECT count(*) FROM pg_stat_activity
		WHERE application_name = 'bench_snapshot_holder' AND backend_xmin IS NOT NULL
		AND query LIKE '%pg_sleep%'" postgres)" = 1 ]; do sleep 0.1; done
}
stop_holder() {
	[ -n "$holder" ] || return 0
	psql -XAtq -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE application_name = 'bench_snapshot_holder'" postgres >/dev/null
	wait "$holder" 2>/dev/null || true
	holder=""
}

# --waits: what the workers and the sessions doing the backfill wait on
# (bench_sampler_start).  The sessions waiting for or polling a job and
# the one submitting it are not counted.
start_sampler() {
	[ "$waits" -eq 1 ] || return 0
	rm -f "$PGM_WORK/waits.out"
	bench_sampler_start "$PGM_WORK/waits.out" \
		"backend_type LIKE 'pg_migrate job%' OR (backend_type = 'client backend' AND query !~ 'migrate_(job|batch)')"
}
stop_sampler() {
	[ "$waits" -eq 1 ] || return 0
	bench_sampler_stop
	grep -v '^$' "$PGM_WORK/waits.out" >>"$PGM_WORK/waits.$1.$2" || true
}

bench_result param backfill sizes "$sizes"
bench_result param backfill quadratic_max "$quadratic_max"
bench_result param backfill repeat "$repeat"
bench_result param backfill skewed "$skewed"
declare -A secs cpu runs cpuruns
rm -f "$PGM_WORK"/waits.*
pm_pid=$(head -1 "$data/postmaster.pid")
children_cpu() { awk '{print $16 + $17}' "/proc/$pm_pid/stat"; }
for ((round = 1; round <= repeat; round++)); do
for n in $sizes; do
	for method in $BENCH_METHODS; do
		if [ "$method" = limit ] && [ "$n" -gt "$quadratic_max" ]; then
			[ "$round" -gt 1 ] || bench_result skipped "$n" "$method" quadratic
			[ "$round" -gt 1 ] || bench_progress "$(printf '%9d rows  %-6s not run (quadratic, above %d rows)' "$n" "$method" "$quadratic_max")"
			continue
		fi
		load "$n"
		# The CPU time of the processes that did the work (the backend of
		# the plain UPDATE, the job's workers, and the session waiting for
		# them): the postmaster adds a child's times to its own when it
		# reaps it.  Other people's load stretches wall time, not this.
		start_sampler
		start_holder
		sleep 0.5
		cpu0=$(children_cpu)
		case $method in
		plain) s=$(run_plain) ;;
		plain2) s=$(run_plain2 "$n") ;;
		job1) s=$(run_job 1) ;;
		job1_onepass) s=$(run_job 1 'id = id, c = a + 1') ;;
		job2) s=$(run_job 2) ;;
		job_alone) s=$(run_job_unattended alone) ;;
		job_poll1s) s=$(run_job_unattended poll1s) ;;
		job_poll50ms) s=$(run_job_unattended poll50ms) ;;
		loop) s=$(run_loop) ;;
		limit) s=$(run_limit) ;;
		esac
		sleep 0.5
		c=$(awk -v a="$cpu0" -v b="$(children_cpu)" -v k="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", (b - a) / k}')
		# after the CPU reading: the sampling session's is not the method's
		stop_sampler "$n" "$method"
		stop_holder
		check "$n"
		runs[$n,$method]+="$s "
		cpuruns[$n,$method]+="$c "
		bench_result backfill_run "$n" "$method" "$round" "$s" "$c"
		# A job's time spent yielding to busy sessions (migrate_jobs).
		yielded=""
		case $method in job*)
			yielded=$(psql -XAtq -c "SELECT ', yielded ' || round(extract(epoch FROM yield_time)::numeric, 2) || ' s in '
				|| batches || ' batches' FROM migrate_jobs ORDER BY id DESC LIMIT 1" postgres) ;;
		esac
		bench_progress "$(printf 'round %d/%d %9d rows  %-12s %8.2f s, CPU %6.2f s  (load average %s%s)' "$round" "$repeat" "$n" "$method" "$s" "$c" "$(cut -d' ' -f1 /proc/loadavg)" "$yielded")"
	done
done
done
for n in $sizes; do
	for m in $BENCH_METHODS; do
		[ -n "${runs[$n,$m]:-}" ] || continue
		# shellcheck disable=SC2086
		secs[$n,$m]=$(bench_median ${runs[$n,$m]})
		# shellcheck disable=SC2086
		cpu[$n,$m]=$(bench_median ${cpuruns[$n,$m]})
		bench_result backfill "$n" "$m" "${secs[$n,$m]}"
	done
done

echo
bench_machine
bench_settings backfill
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
[ "$skewed" -eq 0 ] || echo "skewed: changing a row of the upper half of the keys costs more (a trigger, every method)"
[ "$repeat" -eq 1 ] || echo "medians of $repeat rounds; every run's seconds in the last column"
printf '%-10s %-50s %9s %10s %9s %10s  %s\n' rows method seconds "speed vs UPDATE" "CPU s" "CPU vs UPDATE" "$([ "$repeat" -eq 1 ] || echo runs)"
for n in $sizes; do
	p=${secs[$n,plain]}
	for m in $BENCH_METHODS; do
		if [ -n "${secs[$n,$m]:-}" ]; then
			printf '%-10s %-50s %9.2f %10s %9.2f %10s  %s\n' "$n" "${BENCH_LABEL[$m]}" "${secs[$n,$m]}" "$(bench_ratio "$p" "${secs[$n,$m]}")" \
				"${cpu[$n,$m]}" "$(bench_ratio "${cpu[$n,$m]}" "${cpu[$n,plain]}")" "$([ "$repeat" -eq 1 ] || echo "${runs[$n,$m]}")"
		else
			printf '%-10s %-50s %9s %10s\n' "$n" "${BENCH_LABEL[$m]}" "not run" "(quadratic)"
		fi
	done
done
if [ "$waits" -eq 1 ]; then
	echo
	echo "what the processes doing the work waited on (share of the samples taken every 20 ms, all rounds; CPU: no wait):"
	for n in $sizes; do
		for m in $BENCH_METHODS; do
			f=$PGM_WORK/waits.$n.$m
			[ -s "$f" ] || continue
			printf '%-10s %-50s %s\n' "$n" "${BENCH_LABEL[$m]}" "$(sort "$f" | uniq -c | sort -rn | head -5 |
				awk -v t="$(wc -l <"$f")" '{printf "%s%s %.0f%%", (NR > 1 ? ", " : ""), $2, 100 * $1 / t} END {printf " (%d samples)", t}')"
		done
	done
fi
set -- $sizes
while [ $# -ge 2 ]; do
	echo
	echo "growth $1 -> $2 rows ($(bench_ratio "$2" "$1")x the rows):"
	for m in $BENCH_METHODS; do
		[ -n "${secs[$1,$m]:-}" ] && [ -n "${secs[$2,$m]:-}" ] || continue
		printf '  %-50s %sx the time\n' "${BENCH_LABEL[$m]}" "$(bench_ratio "${secs[$2,$m]}" "${secs[$1,$m]}")"
	done
	shift
done
