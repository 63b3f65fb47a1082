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
	# The majors to test, where their servers are (see pgm_pg_config and
	# pgm_pg_built) and the caches chosen.
	while IFS= read -r kv; do
		pass+=("$kv")
	done < <(env | grep -E '^PGM_(MAJORS|UPGRADE_FROM|PG_CACHE|PGCORE_CACHE|PG_(CONFIG|MISSING|BUILT|BUILT_MISSING)_[0-9]+)=' || true)
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

# The pg_config of PostgreSQL major $1 built from Debian's source package
# (test/pg_build.sh, cached outside the tree).  Sets PGM_PG_BUILT_<major>,
# or PGM_PG_BUILT_MISSING_<major> to the reason when it cannot be had.
pgm_pg_built() {
	local major=$1 var=PGM_PG_BUILT_$1 missing=PGM_PG_BUILT_MISSING_$1 prefix
	[ -z "${!var:-}" ] || return 0
	[ -z "${!missing:-}" ] || return 1
	local err rc=0
	err=$(mktemp)
	prefix=$(bash "$PGM_TOP/test/pg_build.sh" "$major" 2>"$err") || rc=$?
	cat "$err" >&2
	if [ $rc -eq 0 ]; then
		export "$var=$prefix/bin/pg_config"
	else
		# The reason is test/pg_build.sh's last word.
		export "$missing=$(tail -n 1 "$err" | sed 's/^== //')"
	fi
	rm -f "$err"
	return $rc
}

# The pg_config of PostgreSQL major $1 the suite runs on: bookworm's
# package for 15, a build from Debian's source package for the others.
# Sets PGM_PG_CONFIG_<major>, or PGM_PG_MISSING_<major> to the reason when
# that major cannot be had.
pgm_pg_config() {
	local major=$1 var=PGM_PG_CONFIG_$1 missing=PGM_PG_MISSING_$1
	[ -z "${!var:-}" ] || return 0
	[ -z "${!missing:-}" ] || return 1
	if [ "$major" = 15 ]; then
		export "$var=/usr/lib/postgresql/15/bin/pg_config"
		return 0
	fi
	local built=PGM_PG_BUILT_$major built_missing=PGM_PG_BUILT_MISSING_$major
	if pgm_pg_built "$major"; then
		export "$var=${!built}"
	else
		export "$missing=${!built_missing}"
		return 1
	fi
}

# The major the pg_upgrade test upgrades from, and the installation it uses
# for it.  pg_upgrade restores the old cluster's schema with the new major's
# pg_dump, and that fails on bookworm's packaged 15.20 for any table (it
# stores a column option, pg_attver, on every column, which 18.6's pg_dump
# copies and 18.6 rejects), so the old cluster runs on a build of Debian's
# source package like the newer majors.
PGM_UPGRADE_FROM=${PGM_UPGRADE_FROM:-15}

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

# pg_migrate built against the major the pg_upgrade test upgrades from
# ($PGM_UPGRADE_FROM, see above) and installed next to a copy of that
# server under $PGM_WORK/upgrade-from-MAJOR, from a copy of the tree so that
# the current major's objects stay.  Sets PGM_UPGRADE_OLD_BIN, or
# PGM_UPGRADE_OLD_MISSING to the reason it cannot be had.
pgm_build_old() {
	local major=$PGM_UPGRADE_FROM dir built missing
	PGM_UPGRADE_OLD_BIN=""
	PGM_UPGRADE_OLD_MISSING=""
	if ! pgm_pg_built "$major"; then
		missing=PGM_PG_BUILT_MISSING_$major
		PGM_UPGRADE_OLD_MISSING="no build of PostgreSQL $major: ${!missing}"
		return 1
	fi
	built=PGM_PG_BUILT_$major
	dir=$PGM_WORK/upgrade-from-$major
	rm -rf "$dir"
	mkdir -p "$dir/src"
	tar -C "$PGM_TOP" --exclude=./.git --exclude='./tmp_*' --exclude=./results \
		--exclude=./bench/report --exclude='*.o' --exclude='*.bc' --exclude='*.so' -cf - . |
		tar -C "$dir/src" -xf -
	PGM_UPGRADE_OLD_BIN=$(
		PGM_TOP=$dir/src PGM_WORK=$dir PGM_PGVER=$major
		export "PGM_PG_CONFIG_$major=${!built}"
		pgm_build >&2 && echo "$PGM_BIN"
	) || {
		PGM_UPGRADE_OLD_BIN=""
		PGM_UPGRADE_OLD_MISSING="pg_migrate does not build against PostgreSQL $major"
		return 1
	}
	export PGM_UPGRADE_OLD_BIN
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
