#!/usr/bin/env bash
# What the policy engine and the lock-queue protection cost and buy,
# measured side by side in one run on one cluster that is restarted with
# different libraries preloaded:
#   - DDL throughput: a CREATE TABLE / DROP TABLE loop (one client) with
#       nothing loaded (in a database without any extension: the baseline),
#       pg_migrate preloaded, enforce = on,
#       pg_migrate preloaded with the policy engine off (the history alone),
#       pgaudit preloaded with pgaudit.log = 'ddl' (and CREATE EXTENSION
#         pgaudit, which adds the objects' names to its log lines),
#       nothing loaded but a PL/pgSQL event trigger on ddl_command_end that
#         inserts the rows of pg_event_trigger_ddl_commands() into a table,
#     in statements per second and as a ratio to the baseline
#   - what measuring the lock impact costs: the same loop, alone and in one
#     transaction, with pg_migrate.measure_lock_impact off and on
#   - pgbench TPC-B (DML only: the hook is never entered for DML) with and
#     without pg_migrate, both sequentially and on twin clusters measured at
#     the same time
#   - worst reader stall while a plain ALTER TABLE waits behind a long
#     transaction (the lock-queue problem), and how long the ALTER took
# Rounds alternate (nothing, pg_migrate, pgaudit, then the other way round)
# so drift in machine load affects every configuration alike, and every
# measurement starts from a checkpoint; the tables show medians.  Not a
# timed test: it prints figures.
#
#   bash bench/ddl_overhead.sh [--results FILE] [ROUNDS] [SECONDS] [BLOCKER_SECONDS]
#   bash bench/ddl_overhead.sh [--results FILE] --lock-impact [ROUNDS] [SECONDS]
#
# --lock-impact measures only what measuring the lock impact costs, with
# more rounds in the same time: the two loops with
# pg_migrate.measure_lock_impact off and on run side by side (see below).
set -euo pipefail
PGM_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$PGM_TOP/test/lib.sh"
pgm_install_deps "postgresql-$PGM_PGVER-pgaudit"
pgm_drop_root bench/ddl_overhead.sh "$@"
. "$PGM_TOP/bench/lib.sh"

if [ "${1:-}" = --results ]; then
	BENCH_RESULTS=$2
	shift 2
fi
lock_only=""
if [ "${1:-}" = --lock-impact ]; then
	lock_only=1
	shift
fi
rounds=${1:-3}
secs=${2:-10}
block=${3:-4}
bench_cluster
# pgaudit comes from Debian's package, installed into the system's
# directories; the private server loads libraries and extension scripts from
# its own copies of them (pgm_build copies both, this is in case pgaudit was
# installed after the copy was made).
sys_config=/usr/lib/postgresql/$PGM_PGVER/bin/pg_config
[ -f "$(pg_config --pkglibdir)/pgaudit.so" ] ||
	cp "$($sys_config --pkglibdir)/pgaudit.so" "$(pg_config --pkglibdir)/"
[ -f "$(pg_config --sharedir)/extension/pgaudit.control" ] ||
	cp "$($sys_config --sharedir)"/extension/pgaudit* "$(pg_config --sharedir)/extension/"
echo "shared_buffers = 256MB" >>"$data/postgresql.conf"
echo "synchronous_commit = off" >>"$data/postgresql.conf"

# set_preload none|pg_migrate|pgaudit
set_preload() {
	sed -i "/^shared_preload_libraries/d; /^pgaudit\./d" "$data/postgresql.conf"
	case $1 in
	pg_migrate) echo "shared_preload_libraries = 'pg_migrate'" >>"$data/postgresql.conf" ;;
	pgaudit)
		echo "shared_preload_libraries = 'pgaudit'" >>"$data/postgresql.conf"
		echo "pgaudit.log = 'ddl'" >>"$data/postgresql.conf"
		;;
	esac
	bench_restart
}

set_preload pg_migrate
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
-- The baseline's database: no extension, no event trigger.  (Where
-- pg_migrate is installed but not preloaded, its event triggers warn on
-- every DDL statement, which is not "nothing".)
CREATE DATABASE bare;
-- pgaudit's, with its extension (created below, when it is loaded).
CREATE DATABASE audit;
-- The event-trigger alternative to a DDL history.
CREATE DATABASE evtrig;
SQL
psql -Xq evtrig <<'SQL'
CREATE TABLE ddl_log (
    id bigserial PRIMARY KEY,
    occurred_at timestamptz NOT NULL DEFAULT now(),
    role_name name NOT NULL DEFAULT current_user,
    statement text DEFAULT current_query(),
    command_tag text,
    object_type text,
    object_identity text
);
CREATE FUNCTION log_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ddl_log (command_tag, object_type, object_identity)
    SELECT command_tag, object_type, object_identity
      FROM pg_event_trigger_ddl_commands();
END
$$;
CREATE EVENT TRIGGER log_ddl ON ddl_command_end EXECUTE FUNCTION log_ddl();
SQL
# pgbench -i adds primary keys to populated tables: a setup step, not the
# thing measured, so it runs with enforcement off (as restores should).
PGOPTIONS='-c pg_migrate.enforce=off' pgbench -i -q -s 10 postgres >/dev/null 2>&1
bench_settings ddl >"$PGM_WORK/settings.txt"
set_preload pgaudit
psql -Xq -c "CREATE EXTENSION pgaudit" audit

cat >"$PGM_WORK/ddl.sql" <<'SQL'
CREATE TABLE bench_ddl_:client_id (id int PRIMARY KEY, v text);
DROP TABLE bench_ddl_:client_id;
SQL
# The same in one transaction (the table is the transaction's own: nobody
# can queue behind its locks, and its rows are written at once).
cat >"$PGM_WORK/ddl_tx.sql" <<'SQL'
BEGIN;
CREATE TABLE bench_ddl_:client_id (id int PRIMARY KEY, v text);
DROP TABLE bench_ddl_:client_id;
COMMIT;
SQL

# Every measurement starts from a checkpoint, so that none pays for writing
# out what the one before it dirtied.
tpcb() {
	psql -Xq -c CHECKPOINT postgres
	pgbench -n -c 2 -j 2 -T "$secs" postgres 2>/dev/null | bench_tps
}
# DDL statements per second of the loop in database $1 (two per transaction)
ddl() {
	local t
	psql -Xq -c CHECKPOINT postgres
	t=$(pgbench -n -c 1 -T "$secs" -f "$PGM_WORK/${2:-ddl}.sql" "$1" 2>/dev/null | bench_tps)
	awk -v t="$t" 'BEGIN {printf "%.1f", 2 * t}'
}

# --lock-impact: only the lock-impact loops, measured at the same time.
# Two clients run the loop side by side for the same seconds, one with
# pg_migrate.measure_lock_impact on and one with it off, then again with
# the two swapped; on a shared machine both see the same load, which
# sequential runs do not (their ratio wanders by +-10% here).  Each client
# has its own table names.  The round's ratio is on/off of the summed
# statement rates of the two halves; the figure is the median of the
# rounds, with their spread.
if [ -n "$lock_only" ]; then
	echo "autovacuum = off" >>"$data/postgresql.conf"
	set_preload pg_migrate
	# A third loop changes a table that existed before its transaction:
	# two statements under AccessExclusiveLock whose hold ends at commit,
	# so that their history rows are written at commit (src/ddl/history.c,
	# "Rows written at commit").
	cat >"$PGM_WORK/ddl_alter.sql" <<'SQL'
BEGIN;
ALTER TABLE bench_ddl_keep ALTER COLUMN v SET DEFAULT 'x';
ALTER TABLE bench_ddl_keep ALTER COLUMN v DROP DEFAULT;
COMMIT;
SQL
	for v in ddl ddl_tx ddl_alter; do
		for side in a b; do
			sed "s/bench_ddl_:client_id/bench_ddl_${side}_:client_id/; s/bench_ddl_keep/bench_ddl_keep_$side/" \
				"$PGM_WORK/$v.sql" >"$PGM_WORK/${v}_$side.sql"
		done
	done
	psql -Xq -c "CREATE TABLE bench_ddl_keep_a (id int, v text); CREATE TABLE bench_ddl_keep_b (id int, v text)" postgres
	# cpu_watch APPNAME FILE: the CPU time (ns, /proc/PID/schedstat) of the
	# backend of the pgbench client named APPNAME, read every 20 ms until
	# it exits; the first and the last reading go to FILE.  Throughput
	# swings with whatever else runs on a shared machine; the CPU time a
	# backend spends per statement hardly does, so it measures the cost
	# more closely.  A backend found late (first reading over 50 ms of
	# CPU) or not at all makes the round's CPU figure void.
	cpu_watch() {
		local pid="" ns="" first="" last=0 i
		for i in $(seq 1 100); do
			pid=$(psql -XAtq -c "SELECT pid FROM pg_stat_activity WHERE application_name = '$1'" postgres)
			[ -n "$pid" ] && break
			sleep 0.01
		done
		if [ -n "$pid" ]; then
			while read -r ns _ 2>/dev/null <"/proc/$pid/schedstat"; do
				[ -n "$first" ] || first=$ns
				last=$ns
				sleep 0.02
			done
		fi
		echo "${first:-0} $last" >"$2"
	}
	# side_by_side V MODE_A MODE_B: sets rate_a and rate_b (statements/s),
	# stmts_a and stmts_b (statements run), cpu_a and cpu_b (backend CPU ns)
	side_by_side() {
		psql -Xq -c CHECKPOINT postgres
		PGAPPNAME=bench_side_a PGOPTIONS="-c pg_migrate.measure_lock_impact=$2" \
			pgbench -n -c 1 -T "$secs" -f "$PGM_WORK/${1}_a.sql" postgres >"$PGM_WORK/a.out" 2>/dev/null &
		local pa=$!
		PGAPPNAME=bench_side_b PGOPTIONS="-c pg_migrate.measure_lock_impact=$3" \
			pgbench -n -c 1 -T "$secs" -f "$PGM_WORK/${1}_b.sql" postgres >"$PGM_WORK/b.out" 2>/dev/null &
		local pb=$!
		cpu_watch bench_side_a "$PGM_WORK/a.cpu" &
		local wa=$!
		cpu_watch bench_side_b "$PGM_WORK/b.cpu" &
		local wb=$!
		wait $pa $pb $wa $wb
		rate_a=$(bench_tps <"$PGM_WORK/a.out" | awk '{printf "%.1f", 2 * $1}')
		rate_b=$(bench_tps <"$PGM_WORK/b.out" | awk '{printf "%.1f", 2 * $1}')
		stmts_a=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$PGM_WORK/a.out" | awk '{print 2 * $1}')
		stmts_b=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$PGM_WORK/b.out" | awk '{print 2 * $1}')
		# 0 when the watcher came late or found nothing
		cpu_a=$(awk '{print ($1 > 50000000 || $2 == 0) ? 0 : $2}' "$PGM_WORK/a.cpu")
		cpu_b=$(awk '{print ($1 > 50000000 || $2 == 0) ? 0 : $2}' "$PGM_WORK/b.cpu")
	}
	declare -a pair_ddl pair_ddl_tx pair_ddl_alter cpair_ddl cpair_ddl_tx cpair_ddl_alter
	declare -a cpu_on_ddl cpu_off_ddl cpu_on_ddl_tx cpu_off_ddl_tx cpu_on_ddl_alter cpu_off_ddl_alter
	for r in $(seq 1 "$rounds"); do
		for v in ddl ddl_tx ddl_alter; do
			side_by_side "$v" on off
			on1=$rate_a off1=$rate_b
			son1=$stmts_a soff1=$stmts_b con1=$cpu_a coff1=$cpu_b
			side_by_side "$v" off on
			off2=$rate_a on2=$rate_b
			soff2=$stmts_a son2=$stmts_b coff2=$cpu_a con2=$cpu_b
			eval "lock_on_${v}+=(\"\$on1\" \"\$on2\")"
			eval "lock_off_${v}+=(\"\$off1\" \"\$off2\")"
			ratio=$(awk -v a="$on1" -v b="$on2" -v c="$off1" -v d="$off2" 'BEGIN {printf "%.4f", (a + b) / (c + d)}')
			eval "pair_${v}+=(\"\$ratio\")"
			# CPU microseconds per statement, on and off, and their ratio
			read -r uon uoff cratio < <(awk -v a="$con1" -v b="$con2" -v c="$coff1" -v d="$coff2" \
				-v sa="$son1" -v sb="$son2" -v sc="$soff1" -v sd="$soff2" 'BEGIN {
					on = (a + b) / 1000 / (sa + sb); off = (c + d) / 1000 / (sc + sd);
					printf "%.1f %.1f %.4f\n", on, off, (on > 0 ? off / on : 0) }')
			if [ "$con1" = 0 ] || [ "$con2" = 0 ] || [ "$coff1" = 0 ] || [ "$coff2" = 0 ]; then
				uon=void uoff=void cratio=void
			else
				eval "cpu_on_${v}+=(\"\$uon\")"
				eval "cpu_off_${v}+=(\"\$uoff\")"
				eval "cpair_${v}+=(\"\$cratio\")"
			fi
			bench_progress "round $r  $v: on $on1 + $on2, off $off1 + $off2 stmts/s: on/off $ratio; CPU per statement on $uon us, off $uoff us: off/on $cratio; load $(cut -d' ' -f1 /proc/loadavg)"
		done
	done
	echo
	bench_machine
	cat "$PGM_WORK/settings.txt"
	echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "pg_migrate.measure_lock_impact off and on side by side, $rounds rounds x 2 x ${secs}s"
	echo "throughput: on/off of the summed rates of a round; CPU: the backend's CPU time per statement"
	echo "(/proc/PID/schedstat), off/on, so that for both a figure below 1 is the cost of measuring"
	printf '%-44s %9s %9s %8s %15s %9s %9s %8s %15s\n' "DDL per client (median of rounds)" "off st/s" "on st/s" "on/off" "rounds" \
		"off us" "on us" "CPU" "rounds"
	for v in ddl ddl_tx ddl_alter; do
		case $v in
		ddl) name="CREATE/DROP TABLE, each its own transaction" ;;
		ddl_tx) name="CREATE/DROP TABLE in one transaction" ;;
		ddl_alter) name="SET/DROP DEFAULT in one transaction" ;;
		esac
		eval "moff=\$(bench_median \"\${lock_off_${v}[@]}\")"
		eval "mon=\$(bench_median \"\${lock_on_${v}[@]}\")"
		eval "pr=(\"\${pair_${v}[@]}\")"
		r=$(bench_median "${pr[@]}")
		lo=$(printf '%s\n' "${pr[@]}" | sort -g | head -1)
		hi=$(printf '%s\n' "${pr[@]}" | sort -g | tail -1)
		eval "cuoff=\$(bench_median \"\${cpu_off_${v}[@]}\")"
		eval "cuon=\$(bench_median \"\${cpu_on_${v}[@]}\")"
		eval "cr=(\"\${cpair_${v}[@]}\")"
		c=$(bench_median "${cr[@]}")
		clo=$(printf '%s\n' "${cr[@]}" | sort -g | head -1)
		chi=$(printf '%s\n' "${cr[@]}" | sort -g | tail -1)
		bench_result lock_impact "$v" "$moff" "$mon" "$r"
		bench_result lock_impact_cpu "$v" "$cuoff" "$cuon" "$c"
		printf '%-44s %9s %9s %8s %15s %9s %9s %8s %15s\n' "$name" "$moff" "$mon" "$r" "$lo..$hi" \
			"$cuoff" "$cuon" "$c" "$clo..$chi"
	done
	exit 0
fi

# One lock-queue episode: a reader transaction holds AccessShareLock for
# $block seconds; 0.5 s in, a plain ALTER TABLE (psql, defaults) arrives;
# other readers query the table every 20 ms throughout.
stall_run() {
	local run=$1 t0
	psql -Xq -c "BEGIN; SELECT count(*) FROM stall_t; SELECT pg_sleep($block); COMMIT;" postgres >/dev/null &
	local blocker=$!
	psql -Xq -c "CALL stall_reads('$run', $block + 1.5)" postgres >/dev/null &
	local readers=$!
	sleep 0.5
	t0=$(bench_now)
	psql -Xq -c "ALTER TABLE stall_t ADD COLUMN c_$run int" postgres >/dev/null 2>&1
	ddl_secs=$(bench_since "$t0")
	wait $blocker $readers
	worst_ms=$(psql -XAtq -c "SELECT round(extract(epoch FROM max(stall)) * 1000) FROM stall_log WHERE run = '$run'" postgres)
	reads=$(psql -XAtq -c "SELECT count(*) FROM stall_log WHERE run = '$run'" postgres)
}

# One configuration's measurements, right after a restart: the DDL loops
# first, then TPC-B.
round_config() {
	local line
	set_preload "$1"
	case $1 in
	none)
		ddl_none+=("$(ddl bare)")
		ddl_evt+=("$(ddl evtrig)")
		tpcb_none+=("$(tpcb)")
		line="nothing loaded   TPC-B $(printf %.1f "${tpcb_none[-1]}") tps, DDL ${ddl_none[-1]} stmts/s (event trigger: ${ddl_evt[-1]})"
		;;
	pg_migrate)
		ddl_pgm+=("$(ddl postgres)")
		# The same loop with the policy engine switched off: what the
		# history alone costs, to attribute the difference.
		ddl_hist+=("$(PGOPTIONS='-c pg_migrate.enforce=off -c pg_migrate.lock_timeout_mode=off' ddl postgres)")
		# What measuring the lock impact costs: the loops with it off
		# and on, side by side (order alternating with the rounds).
		for m in $( [ $((r % 2)) -eq 1 ] && echo "off on" || echo "on off"); do
			for v in ddl ddl_tx; do
				eval "lock_${m}_${v}+=(\"\$(PGOPTIONS='-c pg_migrate.measure_lock_impact=$m' ddl postgres $v)\")"
			done
		done
		tpcb_pgm+=("$(tpcb)")
		line="pg_migrate       TPC-B $(printf %.1f "${tpcb_pgm[-1]}") tps, DDL ${ddl_pgm[-1]} stmts/s (history only: ${ddl_hist[-1]})"
		;;
	pgaudit)
		ddl_audit+=("$(ddl audit)")
		line="pgaudit          DDL ${ddl_audit[-1]} stmts/s"
		;;
	esac
	bench_progress "round $r  $line"
}

# Odd rounds go one way through the configurations, even rounds the other.
declare -a tpcb_none tpcb_pgm ddl_none ddl_pgm ddl_hist ddl_audit ddl_evt
declare -a lock_on_ddl lock_off_ddl lock_on_ddl_tx lock_off_ddl_tx
for r in $(seq 1 "$rounds"); do
	if [ $((r % 2)) -eq 1 ]; then
		order="none pg_migrate pgaudit"
	else
		order="pgaudit pg_migrate none"
	fi
	for c in $order; do
		round_config "$c"
	done
done
# pgaudit wrote one line per statement: check that it logged at all
audited=$(grep -c 'AUDIT: SESSION' "$data/server.log" || true)
[ "$audited" -gt 0 ] || { echo "pgaudit logged nothing" >&2; exit 1; }
logged=$(psql -XAtq -c "SELECT count(*) FROM ddl_log" evtrig)
[ "$logged" -gt 0 ] || { echo "the event trigger logged nothing" >&2; exit 1; }

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
	PGHOST=$twin PGPORT=$tport pgbench -n -c 1 -T "$secs" postgres 2>/dev/null | bench_tps >"$PGM_WORK/twin.tps" &
	local bg=$!
	main_tps=$(pgbench -n -c 1 -T "$secs" postgres 2>/dev/null | bench_tps)
	wait $bg
	twin_tps=$(cat "$PGM_WORK/twin.tps")
	bench_ratio "$main_tps" "$twin_tps" 4
}
declare -a cal cmp
for r in $(seq 1 "$rounds"); do
	set_preload none
	c=$(twin_round)
	set_preload pg_migrate
	m=$(twin_round)
	cal+=("$c"); cmp+=("$m")
	bench_progress "$(printf 'twin round %d  main/twin TPC-B: both without library %.3f, main with library %.3f' "$r" "$c" "$m")"
done

set_preload none
stall_run off_r
stall_off=$worst_ms ddl_time_off=$ddl_secs reads_off=$reads
set_preload pg_migrate
stall_run on_r
stall_on=$worst_ms ddl_time_on=$ddl_secs reads_on=$reads
lt=$(psql -XAtq -c "SHOW pg_migrate.lock_timeout" postgres)
en=$(psql -XAtq -c "SHOW pg_migrate.enforce" postgres)

mt_none=$(bench_median "${tpcb_none[@]}"); mt_pgm=$(bench_median "${tpcb_pgm[@]}")
md_none=$(bench_median "${ddl_none[@]}")
mcal=$(bench_median "${cal[@]}"); mcmp=$(bench_median "${cmp[@]}")
bench_result param ddl rounds "$rounds"
bench_result param ddl seconds "$secs"
bench_result param ddl blocker_seconds "$block"
bench_result param ddl lock_timeout "$lt"
bench_result param ddl enforce "$en"
echo
bench_machine
cat "$PGM_WORK/settings.txt"
echo "pg_migrate loaded: pg_migrate.enforce = $en, pg_migrate.lock_timeout = $lt (defaults otherwise)"
printf '%-44s %12s %8s\n' "median of $rounds x ${secs}s, one client" "DDL stmts/s" "ratio"
for k in none pgm hist audit evt; do
	case $k in
	none) name="nothing loaded"; arr=("${ddl_none[@]}") ;;
	pgm) name="pg_migrate, enforce = $en"; arr=("${ddl_pgm[@]}") ;;
	hist) name="pg_migrate, policy engine off (history)"; arr=("${ddl_hist[@]}") ;;
	audit) name="pgaudit, pgaudit.log = 'ddl'"; arr=("${ddl_audit[@]}") ;;
	evt) name="PL/pgSQL event trigger (ddl_command_end)"; arr=("${ddl_evt[@]}") ;;
	esac
	m=$(bench_median "${arr[@]}")
	ratio=$(bench_ratio "$m" "$md_none" 3)
	bench_result ddl "$k" "$m" "$ratio"
	printf '%-44s %12.1f %8s\n' "$name" "$m" "$ratio"
done
echo
printf '%-44s %12s %12s %8s\n' "lock impact measuring, DDL stmts/s" "off" "on" "ratio"
for v in ddl ddl_tx; do
	eval "moff=\$(bench_median \"\${lock_off_${v}[@]}\")"
	eval "mon=\$(bench_median \"\${lock_on_${v}[@]}\")"
	r=$(bench_ratio "$mon" "$moff" 3)
	bench_result lock_impact "$v" "$moff" "$mon" "$r"
	case $v in
	ddl) name="CREATE/DROP TABLE, each its own transaction" ;;
	ddl_tx) name="CREATE/DROP TABLE in one transaction" ;;
	esac
	printf '%-44s %12.1f %12.1f %8s\n' "$name" "$moff" "$mon" "$r"
done
echo
printf '%-44s %12s %12s %8s\n' "pgbench TPC-B, median of $rounds x ${secs}s" "not loaded" "loaded" "ratio"
r=$(bench_ratio "$mt_pgm" "$mt_none" 3)
bench_result tpcb sequential "$mt_none" "$mt_pgm" "$r"
printf '%-44s %12.1f %12.1f %8s\n' "sequential, 2 clients (tps)" "$mt_none" "$mt_pgm" "$r"
r=$(bench_ratio "$mcmp" "$mcal" 3)
bench_result tpcb twin "$mcal" "$mcmp" "$r"
printf '%-44s %12.3f %12.3f %8s\n' "twin clusters, 1 client each (main/twin)" "$mcal" "$mcmp" "$r"
echo
echo "lock queue: reader holds the table ${block}s, ALTER TABLE arrives after 0.5s, readers every 20ms"
bench_result stall off "$stall_off" "$reads_off" "$ddl_time_off"
bench_result stall on "$stall_on" "$reads_on" "$ddl_time_on"
printf '%-44s %12s %12s\n' "" "not loaded" "loaded"
printf '%-44s %12s %12s\n' "worst reader stall (ms)" "$stall_off" "$stall_on"
printf '%-44s %12s %12s\n' "reads completed" "$reads_off" "$reads_on"
printf '%-44s %12s %12s\n' "ALTER TABLE elapsed (s)" "$ddl_time_off" "$ddl_time_on"
