#!/usr/bin/env bash
# Build one PostgreSQL major from Debian's source package into a cache
# outside the source tree, so the test suite can run against majors Debian
# bookworm does not ship.  The suite runs on bookworm's own packages for 15;
# a build of 15 is the old cluster of the pg_upgrade test (see
# pgm_build_old in test/lib.sh).
#
#   bash test/pg_build.sh MAJOR      prints the installation prefix
#
# The source comes from the Debian suite that carries the major (see
# pgm_pg_suite), fetched through a private apt configuration: the system's
# apt sources are never modified, and the mirror is the one the system's
# own apt configuration names.  Each build lands in
# $PGM_PG_CACHE/pg-VERSION (VERSION is Debian's source version), is built in
# a temporary directory and renamed into place only once installed, so an
# interrupted build leaves no half-installed prefix behind.  A second run
# finds the prefix and builds nothing.  Without network access the newest
# cached build of the major is used.
set -euo pipefail

# The directory names the configure options below, so that builds made with
# other options are never taken for these (as Debian's 15, with ICU and
# libxml: tests of XML functions must behave the same on every major).
PGM_PG_CACHE=${PGM_PG_CACHE:-/var/cache/pg_migrate/icu-libxml}
major=${1:?major version}

log() { printf '== %s\n' "$*" >&2; }

# The Debian suites whose source packages provide this major, as
# "ARCHIVE SUITE" pairs (ARCHIVE: debian or debian-security), tried in
# order: a stable release's newest source may be served only by the
# security archive.
pgm_pg_suites() {
	case $1 in
	15) printf '%s\n' 'debian-security bookworm-security' 'debian bookworm' ;;
	17) printf '%s\n' 'debian-security trixie-security' 'debian trixie' ;;
	18) printf '%s\n' 'debian sid' ;;
	*) return 1 ;;
	esac
}

# The URI the system's apt configuration uses for ARCHIVE (debian or
# debian-security), in deb822 or one-line format.
pgm_debian_mirror() {
	local archive=$1 f uri
	for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list /etc/apt/sources.list; do
		[ -f "$f" ] || continue
		case $f in
		*.sources)
			uri=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) print $i }' "$f" |
				grep -E "/$archive/?\$" | head -n 1 || true) ;;
		*)
			uri=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /\]$/) { print $i; break } }' "$f" |
				grep -E "/$archive/?\$" | head -n 1 || true) ;;
		esac
		if [ -n "$uri" ]; then
			echo "${uri%/}"
			return 0
		fi
	done
	return 1
}

newest_cached() {
	# shellcheck disable=SC2012
	{ ls -d "$PGM_PG_CACHE/pg-$major".* 2>/dev/null || true; } | sort -V | tail -n 1
}

suites=$(pgm_pg_suites "$major") || { log "no source suite known for PostgreSQL $major"; exit 1; }
mkdir -p "$PGM_PG_CACHE" 2>/dev/null || true
if [ ! -w "$PGM_PG_CACHE" ]; then
	# An ordinary user cannot write a cache that root made: use what
	# is there.
	prefix=$(newest_cached)
	[ -n "$prefix" ] || { log "no PostgreSQL $major in $PGM_PG_CACHE, which is not writable (run once as root)"; exit 1; }
	echo "$prefix"
	exit 0
fi
chmod 755 "$PGM_PG_CACHE"
# One build per major at a time: a second run waits and then finds it.
exec 9>"$PGM_PG_CACHE/.lock-$major"
flock 9
apt_dir=$PGM_PG_CACHE/apt
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

# Find a suite whose index names a version and whose files can be fetched:
# the version decides the cache entry; the download is skipped when that
# entry exists already.
tmp=""
trap '[ -z "$tmp" ] || rm -rf "$tmp"' EXIT
while read -r archive suite; do
	mirror=$(pgm_debian_mirror "$archive") || continue
	lists=$apt_dir/lists-$suite
	mkdir -p "$lists/partial" "$apt_dir/cache/archives/partial"
	printf 'deb-src [signed-by=%s] %s %s main\n' "$keyring" "$mirror" "$suite" \
		>"$apt_dir/sources-$suite.list"
	apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/sources-$suite.list"
		-o Dir::Etc::SourceParts=/dev/null
		-o "Dir::State::Lists=$lists"
		-o "Dir::Cache=$apt_dir/cache"
		-o APT::Sandbox::User=root)
	apt-get "${apt_opts[@]}" -qq update >"$apt_dir/update-$suite.log" 2>&1 || continue
	version=$(apt-cache "${apt_opts[@]}" showsrc "postgresql-$major" 2>/dev/null |
		awk '/^Version:/ { print $2 }' | sort -V | tail -n 1)
	[ -n "$version" ] || continue
	prefix=$PGM_PG_CACHE/pg-$version
	if [ -x "$prefix/bin/pg_config" ]; then
		echo "$prefix"
		exit 0
	fi
	# Build in a temporary directory next to the final one (same
	# filesystem, so the final rename is atomic).
	tmp=$(mktemp -d "$PGM_PG_CACHE/.build-$major.XXXXXX")
	if (cd "$tmp" && apt-get "${apt_opts[@]}" -qq source --download-only "postgresql-$major=$version") \
		>"$tmp/source.log" 2>&1; then
		break
	fi
	log "postgresql-$major $version not fetchable from $suite"
	rm -rf "$tmp"
	tmp=""
done <<<"$suites"

if [ -z "$tmp" ]; then
	prefix=$(newest_cached)
	[ -n "$prefix" ] || { log "cannot fetch postgresql-$major sources"; exit 1; }
	log "sources unavailable, using $prefix"
	echo "$prefix"
	exit 0
fi

log "building PostgreSQL $version from $suite's source (cached in $prefix)"
# The upstream tarball, without Debian's patches: those move the library
# directories to Debian's fixed paths, outside the prefix.
orig=$(find "$tmp" -maxdepth 1 -name "postgresql-${major}_*.orig.tar.*" | head -n 1)
[ -n "$orig" ] || { log "no upstream tarball in postgresql-$major $version"; exit 1; }
mkdir "$tmp/src"
tar -C "$tmp/src" --strip-components=1 -xf "$orig"
src=$tmp/src

# Only what the tests need: ICU as in Debian's builds (collation output),
# readline and zlib (configure's defaults) and the TAP modules.
jobs=${PGM_BUILD_JOBS:-$(nproc)}
# Each step is checked explicitly: set -e does not apply inside a
# function whose status is tested.
build() {
	cd "$src" &&
		./configure --prefix="$prefix" --enable-tap-tests --with-icu --with-libxml &&
		make -j"$jobs" -s &&
		make -s install DESTDIR="$tmp/inst" &&
		# pg_regress, pg_isolation_regress and the TAP modules for PGXS.
		make -C "$src/src/test/isolation" -j"$jobs" -s &&
		make -C "$src/src/test/isolation" -s install DESTDIR="$tmp/inst" &&
		make -C "$src/src/test/perl" -s install DESTDIR="$tmp/inst"
}
if ! (build) >"$tmp/build.log" 2>&1; then
	cp "$tmp/build.log" "$PGM_PG_CACHE/build-$major.log"
	tail -n 60 "$tmp/build.log" >&2
	log "build failed; log in $PGM_PG_CACHE/build-$major.log"
	exit 1
fi

chmod -R a+rX "$tmp/inst$prefix"
mv "$tmp/inst$prefix" "$prefix"
log "installed PostgreSQL $version in $prefix"
echo "$prefix"
