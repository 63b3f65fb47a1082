# Shared by test/run.sh, demo/demo.sh and bench/*.sh: install what the
# project needs on a Debian machine, build pg_migrate into a private copy of
# the PostgreSQL installation, and run as an unprivileged user when started
# as root (initdb refuses root).
#
# Nothing here touches the system's PostgreSQL installation: the build is
# installed with DESTDIR next to a copy of the server binaries, which
# PostgreSQL finds its share and lib directories relative to.

PGM_PGVER=${PGM_PGVER:-15}
PGM_USER=${PGM_USER:-pgmigrate}
PGM_PACKAGES="postgresql-15 postgresql-server-dev-15 \
postgresql-client-15 libipc-run-perl make gcc libc6-dev"
# What test/pg_build.sh needs to build the majors bookworm does not ship
# (15 comes from bookworm's packages).
PGM_PG_BUILD_PACKAGES="bison flex libreadline-dev zlib1g-dev libicu-dev \
pkg-config dpkg-dev debian-archive-keyring bzip2 libxml2-dev"

pgm_log() { printf '== %s\n' "$*" >&2; }

# Install missing Debian packages (apt-get update first).
pgm_install_deps() {
	local missing="" p
	for p in $PGM_PACKAGES "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
			missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	pgm_log "installing:$missing"
	local sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq
	# shellcheck disable=SC2086
	$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

# Create the unprivileged user the servers run as, if it does not exist.
pgm_ensure_user() {
	id "$PGM_USER" >/dev/null 2>&1 ||
		useradd --create-home --shell /bin/bash "$PGM_USER"
}

# When running as root, copy the source tree to a directory owned by an
# unprivileged user and run the same script there as that user.
#   pgm_drop_root SCRIPT ARGS...   (SCRIPT relative to the tree's top)
pgm_drop_root() {
	[ "$(id -u)" -eq 0 ] || return 0
	local script=$1
	shift
	pgm_ensure_user
	local copy
	copy=$(mktemp -d /tmp/pg_migrate-run.XXXXXX)
	tar -C "$PGM_TOP" --exclude=./.git --exclude='./tmp_*' --exclude=./bench/report --exclude='*.o' \
		--exclude='*.so' -cf - . | tar -C "$copy" -xf -
	chown -R "$PGM_USER" "$copy"
	chmod 755 "$copy"
	pgm_log "running as $PGM_USER in $copy (initdb refuses root)"
	local rc=0 kv pass=()
	# The majors to test and where their servers are (see pgm_pg_config).
	while IFS= read -r kv; do
		pass+=("$kv")
	done < <(env | grep -E '^PGM_(MAJORS|PG_CONFIG_[0-9]+|PG_MISSING_[0-9]+)=' || true)
	runuser -u "$PGM_USER" -- env PGM_KEEP="${PGM_KEEP:-}" "${pass[@]}" \
		bash "$copy/$script" "$@" || rc=$?
	# Hand results back to the caller's tree.
	if [ -d "$copy/results" ]; then
		mkdir -p "$PGM_TOP/results"
		cp -a "$copy/results/." "$PGM_TOP/results/"
	fi
	[ -n "${PGM_KEEP:-}" ] || rm -rf "$copy"
	exit $rc
}

# The pg_config of PostgreSQL major $1: bookworm's package for 15, a build
# from Debian's source package (test/pg_build.sh, cached outside the tree)
# for the others.  Sets PGM_PG_CONFIG_<major>, or PGM_PG_MISSING_<major> to
# the reason when that major cannot be had.
pgm_pg_config() {
	local major=$1 var=PGM_PG_CONFIG_$1 missing=PGM_PG_MISSING_$1 prefix
	[ -z "${!var:-}" ] || return 0
	[ -z "${!missing:-}" ] || return 1
	if [ "$major" = 15 ]; then
		export "$var=/usr/lib/postgresql/15/bin/pg_config"
		return 0
	fi
	local err rc=0
	err=$(mktemp)
	prefix=$(bash "$PGM_TOP/test/pg_build.sh" "$major" 2>"$err") || rc=$?
	cat "$err" >&2
	if [ $rc -eq 0 ]; then
		export "$var=$prefix/bin/pg_config"
	else
		# The reason is test/pg_build.sh's last word.
		export "PGM_PG_MISSING_$major=$(tail -n 1 "$err" | sed 's/^== //')"
	fi
	rm -f "$err"
	return $rc
}

# Build pg_migrate and install it into $PGM_WORK/inst next to a copy of the
# server (of major $PGM_PGVER, see pgm_pg_config).  Sets PGM_BIN to the
# private bin directory and puts it on PATH.
pgm_build() {
	PGM_WORK=${PGM_WORK:-$PGM_TOP/tmp_work}
	local sys_bin sys_share inst pg_config
	pgm_pg_config "$PGM_PGVER" || return 1
	pg_config=PGM_PG_CONFIG_$PGM_PGVER
	pg_config=${!pg_config}
	sys_bin=$("$pg_config" --bindir)
	sys_share=$("$pg_config" --sharedir)
	inst=$PGM_WORK/inst
	rm -rf "$inst"
	mkdir -p "$inst$(dirname "$sys_bin")" "$inst$(dirname "$sys_share")"
	cp -a "$(dirname "$sys_bin")/." "$inst$(dirname "$sys_bin")/"
	cp -a "$sys_share" "$inst$(dirname "$sys_share")/"
	pgm_log "building pg_migrate"
	# Objects built against another major must not be linked in ("make
	# clean" would also remove results/).
	rm -f "$PGM_TOP"/src/*.o "$PGM_TOP"/src/*/*.o "$PGM_TOP"/src/*.bc "$PGM_TOP"/src/*/*.bc \
		"$PGM_TOP"/pg_migrate.so
	make -C "$PGM_TOP" -s PG_CONFIG="$pg_config" >"$PGM_WORK/build.log" 2>&1 ||
		{ cat "$PGM_WORK/build.log"; return 1; }
	make -C "$PGM_TOP" -s PG_CONFIG="$pg_config" install DESTDIR="$inst" \
		>>"$PGM_WORK/build.log" 2>&1 || { cat "$PGM_WORK/build.log"; return 1; }
	PGM_BIN=$inst$sys_bin
	PGM_PGXS=$(dirname "$("$pg_config" --pgxs)")/..
	export PATH="$PGM_BIN:$PATH"
	export PGM_BIN PGM_PGXS PGM_WORK
}

# Start a throwaway cluster with the library preloaded.
#   pgm_start_cluster DIR PORT
pgm_start_cluster() {
	local dir=$1 port=$2
	rm -rf "$dir"
	"$PGM_BIN/initdb" -D "$dir" -A trust -U postgres --no-sync >"$dir.initdb.log" 2>&1 ||
		{ cat "$dir.initdb.log"; return 1; }
	cat "$PGM_TOP/test/pg_migrate.conf" >>"$dir/postgresql.conf"
	{
		echo "port = $port"
		echo "listen_addresses = ''"
		echo "unix_socket_directories = '$dir'"
	} >>"$dir/postgresql.conf"
	"$PGM_BIN/pg_ctl" -D "$dir" -l "$dir/server.log" -w start >/dev/null
	export PGHOST=$dir PGPORT=$port PGUSER=postgres
}

pgm_stop_cluster() {
	"$PGM_BIN/pg_ctl" -D "$1" -m fast -w stop >/dev/null 2>&1 || true
}

# What test/interop needs from Debian: the tools DBAs run beside pg_migrate,
# as packaged for PostgreSQL 15 (Debian ships them for its own server
# only), Sqitch with its PostgreSQL driver, and Node.js with npm for dbmate
# and node-pg-migrate (when the machine has no Node.js of its own).
PGM_INTEROP_PACKAGES="postgresql-15-repack postgresql-15-partman \
postgresql-15-cron postgresql-15-pgaudit sqitch libdbd-pg-perl"

pgm_install_interop_deps() {
	local extra=""
	command -v npm >/dev/null 2>&1 || extra="nodejs npm"
	# shellcheck disable=SC2086
	pgm_install_deps $PGM_INTEROP_PACKAGES $extra
}

# Install the npm tools of test/interop (versions in
# test/interop/package.json) into directory $1, unless already there, and
# print the directory holding their commands.
pgm_interop_npm() {
	local dir=$1
	mkdir -p "$dir"
	if ! cmp -s "$PGM_TOP/test/interop/package.json" "$dir/package.json" ||
		[ ! -x "$dir/node_modules/.bin/dbmate" ] ||
		[ ! -x "$dir/node_modules/.bin/node-pg-migrate" ]; then
		cp "$PGM_TOP/test/interop/package.json" "$dir/package.json"
		pgm_log "interop: npm install (dbmate, node-pg-migrate)"
		(cd "$dir" && npm install --no-audit --no-fund --no-package-lock \
			--loglevel=error >&2) || return 1
	fi
	echo "$dir/node_modules/.bin"
}
