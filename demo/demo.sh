#!/usr/bin/env bash
# The pg_migrate demo: a throwaway cluster with the library preloaded, a
# walk through what pg_migrate does, and the cluster removed at the end.
# Installs its own dependencies; runs as root or as an ordinary user.
set -euo pipefail

PGM_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=test/lib.sh
. "$PGM_TOP/test/lib.sh"

pgm_install_deps
pgm_drop_root demo/demo.sh "$@"

PGM_WORK=$(mktemp -d /tmp/pg_migrate-demo.XXXXXX)
export PGM_WORK   # part 10 runs pgbench from psql with its files here
trap 'pgm_stop_cluster "$PGM_WORK/data"; rm -rf "$PGM_WORK"' EXIT
pgm_build
port=$((20000 + RANDOM % 20000))
pgm_start_cluster "$PGM_WORK/data" "$port"
pgm_log "demo cluster on port $port (removed when the demo ends)"

psql -X -q -v ON_ERROR_STOP=0 -e -P pager=off -d postgres -f "$PGM_TOP/demo/demo.sql" 2>&1
