#!/usr/bin/env bash
# A development cluster for this working tree, built into ./tmp_work/inst
# (never into the system's PostgreSQL), with pg_migrate preloaded.
#
#   bash test/dev.sh start PORT     build, install privately, (re)start
#   bash test/dev.sh psql PORT ...  psql against it (extra args passed on)
#   bash test/dev.sh stop PORT
#
# As root the cluster runs as the unprivileged user $PGM_USER.
set -euo pipefail
PGM_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$PGM_TOP/test/lib.sh"

cmd=${1:?start, psql or stop}
port=${2:?port}
shift 2
data=/tmp/pgm-dev-$port
PGM_WORK=$PGM_TOP/tmp_work
bin=$PGM_WORK/inst/usr/lib/postgresql/$PGM_PGVER/bin

as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		pgm_ensure_user
		runuser -u "$PGM_USER" -- "$@"
	else
		"$@"
	fi
}

case $cmd in
start)
	pgm_install_deps
	as_owner "$bin/pg_ctl" -D "$data/pgdata" -m immediate -w stop >/dev/null 2>&1 || true
	mkdir -p "$PGM_WORK"
	pgm_build
	chmod -R a+rX "$PGM_WORK/inst"
	rm -rf "$data"
	mkdir -p "$data"
	[ "$(id -u)" -ne 0 ] || chown "$PGM_USER" "$data"
	as_owner "$bin/initdb" -D "$data/pgdata" -A trust -U postgres --no-sync >/dev/null
	as_owner bash -c "cat '$PGM_TOP/test/pg_migrate.conf' >> '$data/pgdata/postgresql.conf'
		printf \"port = $port\nlisten_addresses = ''\nunix_socket_directories = '$data'\n\" >> '$data/pgdata/postgresql.conf'"
	as_owner "$bin/pg_ctl" -D "$data/pgdata" -l "$data/server.log" -w start >/dev/null
	echo "started: psql -h $data -p $port -U postgres   (log: $data/server.log)"
	;;
psql)
	exec "$bin/psql" -X -h "$data" -p "$port" -U postgres "$@"
	;;
stop)
	as_owner "$bin/pg_ctl" -D "$data/pgdata" -m fast -w stop
	;;
*)
	echo "unknown command: $cmd" >&2
	exit 2
	;;
esac
