# shellcheck shell=bash disable=SC2034
# Shared by bench/*.sh, sourced after test/lib.sh has dropped root: the
# throwaway cluster a benchmark runs on, timing and arithmetic helpers, and
# the description of the machine and settings that goes with every figure.
#
# Every benchmark prints a human-readable table on stdout and progress lines
# on stderr.  Given --results FILE it also appends its figures to FILE as
# tab-separated lines (first field: what the line is), which
# bench/report.sh turns into REPORT.md.

BENCH_RESULTS=${BENCH_RESULTS:-}

# The methods bench/backfill.sh compares, in the order they run and are
# shown, and their names in tables and charts.
# The job* methods are the ways users run a backfill: waited for with
# migrate_job_wait, left alone by a submitter that disconnects, watched by
# a client polling migrate_jobs, and with two workers.  plain2 is what two
# writers get on the same machine without pg_migrate: two sessions, each
# with one plain UPDATE of half the key range, side by side.
BENCH_METHODS=${BENCH_METHODS:-"plain plain2 job1 job_alone job_poll1s job_poll50ms job2 loop limit"}
declare -A BENCH_LABEL=(
	[plain]="plain UPDATE"
	[plain2]="two plain UPDATEs side by side, half the keys each"
	[job1]="migrate_batch_update, 1 worker, migrate_job_wait"
	[job1_onepass]="same, one pass per range (SET also assigns the key)"
	[job_alone]="migrate_batch_update, 1 worker, left alone"
	[job_poll1s]="migrate_batch_update, 1 worker, polled every 1 s"
	[job_poll50ms]="migrate_batch_update, 1 worker, polled every 50 ms"
	[job2]="migrate_batch_update, parallel => 2"
	[loop]="PL/pgSQL keyset loop, COMMIT every 10k rows"
	[limit]="DO block looping UPDATE ... IN (SELECT ... LIMIT 1000)"
)

# The phases of bench/backfill_load.sh, in order, and their names.
BENCH_LOAD_PHASES="base job job_noyield plain"
declare -A BENCH_LOAD_LABEL=(
	[base]="pgbench alone"
	[job]="during migrate_batch_update"
	[job_noyield]="same, pg_migrate.batch_yield = 0"
	[plain]="during one plain UPDATE"
)

# A private build and a cluster with pg_migrate preloaded in a fresh work
# directory removed at exit.  Sets PGM_WORK and data; the caller appends
# its settings to $data/postgresql.conf and calls bench_restart.
bench_cluster() {
	PGM_WORK=$(mktemp -d /tmp/pg_migrate-bench.XXXXXX)
	trap 'pgm_stop_cluster "$PGM_WORK/data"; rm -rf "$PGM_WORK"' EXIT
	pgm_build
	pgm_start_cluster "$PGM_WORK/data" $((20000 + RANDOM % 20000))
	data=$PGM_WORK/data
}

# The start of bench/online*.sh: reads [--results FILE] [ROWS] [SECONDS]
# [ROUNDS] (ROWS defaults to the first argument), sets rows, secs, rounds
# and clients, and starts a cluster with room for tables of millions of
# rows.
bench_online_start() {
	local default_rows=$1
	shift
	if [ "${1:-}" = --results ]; then
		BENCH_RESULTS=$2
		shift 2
	fi
	rows=${1:-$default_rows}
	secs=${2:-10}
	rounds=${3:-3}
	clients=2
	bench_cluster
	{
		echo "shared_buffers = 256MB"
		echo "max_wal_size = 4GB"
		# more settings for a diagnostic run, e.g. "wal_compression = on"
		printf '%s\n' "${BENCH_ONLINE_CONF:-}"
	} >>"$data/postgresql.conf"
	bench_restart
}

bench_restart() {
	pg_ctl -D "$data" -l "$data/server.log" -w restart >/dev/null
}

bench_now() { date +%s.%N; }

# Seconds since a bench_now timestamp.
bench_since() {
	awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN {printf "%.3f", b - a}'
}

# bench_ratio A B [DECIMALS]: A / B
bench_ratio() {
	awk -v a="$1" -v b="$2" -v d="${3:-2}" 'BEGIN {printf "%.*f", d, a / b}'
}

bench_median() {
	printf '%s\n' "$@" | sort -g |
		awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'
}

# The TPS figure of pgbench's output on stdin.
bench_tps() { sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -1; }

bench_progress() { printf '   %s\n' "$*" >&2; }

# bench_result KIND FIELD...: one tab-separated line to the results file.
bench_result() {
	[ -n "$BENCH_RESULTS" ] || return 0
	local IFS=$'\t'
	printf '%s\n' "$*" >>"$BENCH_RESULTS"
}

# One line describing the machine, for the text tables.
bench_machine() {
	local cpu mem
	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
	mem=$(awk '/^MemTotal:/ {printf "%.0f", $2 / 1048576}' /proc/meminfo)
	echo "machine: $(nproc) x ${cpu:-unknown CPU}, $mem GiB; Linux $(uname -r);" \
		"PostgreSQL $(postgres --version | awk '{print $3}')"
}

# The running cluster's settings that the benchmark chose (those from the
# configuration file, less paths, ports and locale) plus the durability
# settings that matter to every figure, as "setting NAME VALUE" results
# under the label $1, and as one line on stdout.
bench_settings() {
	local label=$1 name value line=""
	while IFS=$'\t' read -r name value; do
		bench_result setting "$label" "$name" "$value"
		line="$line${line:+, }$name=$value"
	done < <(psql -XAtq -F $'\t' postgres <<'SQL'
SELECT name, current_setting(name) FROM pg_settings
 WHERE (source = 'configuration file' OR name IN ('synchronous_commit', 'fsync', 'wal_level', 'pg_migrate.worker_nice',
                   'pg_migrate.batch_yield', 'pg_migrate.batch_target'))
   AND name NOT IN ('port', 'listen_addresses', 'unix_socket_directories',
                    'DateStyle', 'TimeZone', 'log_timezone', 'default_text_search_config',
                    'dynamic_shared_memory_type')
   AND name NOT LIKE 'lc\_%'
 ORDER BY name
SQL
)
	echo "settings: $line"
}

# bench_sampler_start OUT FILTER: in the background, every 20 ms, what the
# active sessions matching FILTER (an SQL condition on pg_stat_activity)
# wait on, one line per session and sample, appended to OUT.  One psql
# session runs the query with \watch, each time in a transaction of its
# own: a sampler running in one long transaction would hold back the
# cleanup of the rows a backfill leaves behind, and a backfill in two
# passes would then run in one.  bench_sampler_stop ends it.
bench_sampler=""
bench_sampler_start() {
	printf '%s\n\\watch 0.02\n' "SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU')
FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND state = 'active' AND ($2)" |
		psql -XAtq postgres >>"$1" 2>/dev/null &
	bench_sampler=$!
}
bench_sampler_stop() {
	[ -n "$bench_sampler" ] || return 0
	kill "$bench_sampler"
	wait "$bench_sampler" 2>/dev/null || true
	bench_sampler=""
}
# bench_sampler_shares FILE [N]: the N (default 5) most frequent lines of
# FILE, as "event share%" lines, most frequent first.
bench_sampler_shares() {
	grep -v '^$' "$1" | sort | uniq -c | sort -rn |
		awk -v n="${2:-5}" '{ c[NR] = $1; e[NR] = $2; t += $1 }
			END { for (i = 1; i <= NR && i <= n; i++) printf "%s %d%%\n", e[i], int(100 * c[i] / t + 0.5) }'
}
