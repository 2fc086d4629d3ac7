#!/usr/bin/env bash
# scripts/test.sh: run every HydraCache test, after setting up what they need.
#
#   bash scripts/test.sh              # every package, with -race
#   bash scripts/test.sh -run TestX -v   # extra arguments go to `go test`
#   bash scripts/test.sh -v ./store      # naming packages replaces ./...
#
# This is the README's test command and exactly what CI (.ci/run) runs for the
# tests. On a Debian or Ubuntu machine it:
#
#   1. checks that Go and a C compiler (needed by -race) are present, and
#      installs gcc with apt-get when it may; it never downloads Go itself;
#   2. makes sure PostgreSQL and Redis are reachable at the addresses the tests
#      use by default (see testing/testenv): it installs them with apt-get when
#      it may (root, or passwordless sudo), starts them when they are down,
#      makes passwordless TCP access work for user postgres (see "pg_hba" below)
#      and creates database `test`. When HYDRACACHE_POSTGRES_DSN or
#      HYDRACACHE_REDIS_ADDR is set, that service is yours: it is used as is;
#   3. runs `go test -race -count=1 -timeout 20m ./... "$@"` (fuzz seed corpora
#      run as ordinary tests) and exits with its status.
#
# Everything missing (compiler and services) is reported together, in one
# run, with what to install or set. Without a compiler nothing runs. When a
# service cannot be set up it still runs the tests, which then skip loudly
# ("SKIPPED, NEEDS A SERVICE"), and prints how many skipped at the end --
# except under CI=true, where a missing service fails the run before the
# tests start. Under CI=true the tests also run with -v, so every test (and
# any skip) shows in the log that .ci/run checks.
#
# Running it again is harmless: everything already in place is left alone.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Where the tests look by default (keep in line with testing/testenv).
readonly PG_HOST=127.0.0.1 PG_PORT=5432 PG_USER=postgres PG_DB=test
readonly PG_ADMIN_DSN="postgres://${PG_USER}@${PG_HOST}:${PG_PORT}/postgres?sslmode=disable"
readonly PG_TEST_DSN="postgres://${PG_USER}@${PG_HOST}:${PG_PORT}/${PG_DB}?sslmode=disable"
readonly REDIS_HOST=127.0.0.1 REDIS_PORT=6379
readonly WAIT_SECONDS=30
readonly TRUST_MARK="# Added by hydracache scripts/test.sh"

say() { printf '==> %s\n' "$*"; }
warn() { printf '!!! %s\n' "$*" >&2; }

in_ci() {
	case "${CI:-}" in
	true | TRUE | True | 1) return 0 ;;
	esac
	return 1
}

# Problems that stop a service (or the compiler) from being ready; all are
# reported together, before the tests.
problems=()
no_compiler=0
problem() {
	warn "$*"
	problems+=("$*")
}

# ---------------------------------------------------------------- privileges

# as_root runs a command as root: directly when we are root, else through
# passwordless sudo. can_root says whether either works.
can_root() {
	[ "$(id -u)" -eq 0 ] && return 0
	command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null
}
as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	else
		sudo -n "$@"
	fi
}
# as_postgres runs a command as the postgres OS user (peer authentication over
# the local socket works for it on Debian's default pg_hba.conf).
as_postgres() {
	if [ "$(id -u)" -eq 0 ]; then
		(cd / && runuser -u postgres -- "$@")
	else
		(cd / && sudo -n -u postgres "$@")
	fi
}

can_apt() { command -v apt-get >/dev/null 2>&1 && can_root; }

apt_updated=0
apt_install() {
	if [ "$apt_updated" -eq 0 ]; then
		say "apt-get update"
		as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
		apt_updated=1
	fi
	say "apt-get install -y $*"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

systemd_running() { [ -d /run/systemd/system ]; }

# tcp_open HOST PORT: can we open a TCP connection (bash /dev/tcp, 3s bound)?
tcp_open() {
	# shellcheck disable=SC2016 # $1 and $2 expand in the inner bash
	timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

# ---------------------------------------------------------------------- Go

check_go() {
	if ! command -v go >/dev/null 2>&1; then
		if [ -x /usr/local/go/bin/go ]; then
			say "go is not on PATH; using /usr/local/go/bin/go"
			export PATH="/usr/local/go/bin:$PATH"
		else
			warn "Go is not installed (or not on PATH)."
			warn "Install Go 1.25 or newer from https://go.dev/dl/ (or your package manager),"
			warn "put its bin directory on PATH, and run this script again."
			exit 1
		fi
	fi
	say "$(go version)"

	# -race needs cgo, and cgo needs a C compiler. Go turns cgo off by default
	# when it finds no compiler, so look for both.
	if cgo_ok; then
		return
	fi
	if [ "$(go env CGO_ENABLED)" != 1 ] && [ -n "${CGO_ENABLED:-}" ]; then
		problem "CGO_ENABLED=${CGO_ENABLED} is set, but go test -race needs cgo: unset it."
		no_compiler=1
		return
	fi
	if can_apt; then
		say "go test -race needs a C compiler; installing gcc"
		apt_install gcc libc6-dev
	fi
	if ! cgo_ok; then
		# Told with every other missing piece before the tests would run.
		problem "go test -race needs cgo and a C compiler, and none was found: install one (Debian/Ubuntu: sudo apt-get install gcc) and run this script again."
		no_compiler=1
	fi
}

cgo_ok() {
	local cc
	[ "$(go env CGO_ENABLED)" = 1 ] || return 1
	cc=$(go env CC)
	command -v "${cc%% *}" >/dev/null 2>&1
}

# ---------------------------------------------------------------- PostgreSQL

pg_ready() {
	if command -v pg_isready >/dev/null 2>&1; then
		pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -t 3
	else
		tcp_open "$PG_HOST" "$PG_PORT"
	fi
}

pg_installed() {
	command -v pg_ctlcluster >/dev/null 2>&1 &&
		compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null
}

# pg_cluster prints "VERSION NAME" of the cluster configured for port 5432, or
# nothing.
pg_cluster() {
	pg_lsclusters -h 2>/dev/null | awk -v port="$PG_PORT" '$3 == port { print $1, $2; exit }'
}

pg_start() {
	local ver name
	read -r ver name <<<"$(pg_cluster)" || true
	if [ -z "${ver:-}" ]; then
		# Installed, but no cluster on our port (apt normally creates
		# "main"): create one with the newest installed server.
		ver=$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -n | tail -n 1)
		name=main
		say "creating PostgreSQL cluster $ver/$name on port $PG_PORT"
		as_root pg_createcluster --port "$PG_PORT" "$ver" "$name"
	fi
	say "starting PostgreSQL cluster $ver/$name"
	if systemd_running; then
		# pg_ctlcluster hands over to systemctl (postgresql@VER-NAME).
		as_root pg_ctlcluster "$ver" "$name" start
	else
		as_root pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" start
	fi
}

# pg_try_admin runs psql on the admin DSN; its error output lands in
# $pg_error. -w: never prompt for a password.
pg_error=
pg_try_admin() {
	local out
	if out=$(PGCONNECT_TIMEOUT=5 psql -w -X -Atq "$PG_ADMIN_DSN" "$@" 2>&1); then
		printf '%s' "$out"
		return 0
	fi
	pg_error=$out
	return 1
}

# pg_hba: Debian's default pg_hba.conf asks TCP clients for a password (scram),
# but the default test DSN connects as postgres over 127.0.0.1 without one.
# When that fails for authentication reasons, we add
#     host all all 127.0.0.1/32 trust
# at the top of pg_hba.conf (marked with a comment) and reload, but only when
# the cluster is a throwaway one: this script installed PostgreSQL in this run,
# or CI=true, or you asked with HYDRACACHE_PG_TRUST=1. Otherwise we print what
# to do: the line gives every local user passwordless access to every database
# over 127.0.0.1, which you may not want on a machine with real data. To undo:
# delete the marked lines and run `SELECT pg_reload_conf()`.
pg_allow_trust() {
	local hba ver name
	hba=$(as_postgres psql -p "$PG_PORT" -X -Atqc 'SHOW hba_file' 2>/dev/null || true)
	if [ -z "$hba" ]; then
		read -r ver name <<<"$(pg_cluster)" || true
		hba="/etc/postgresql/${ver:-}/${name:-}/pg_hba.conf"
	fi
	if ! as_root test -f "$hba"; then
		problem "PostgreSQL: cannot find pg_hba.conf to allow passwordless access"
		return 1
	fi
	if ! as_root grep -qF "$TRUST_MARK" "$hba"; then
		say "adding 'host all all 127.0.0.1/32 trust' to the top of $hba (local test use)"
		as_root sed -i "1i $TRUST_MARK for local test use; remove both lines to undo.\nhost all all 127.0.0.1/32 trust" "$hba"
	fi
	say "reloading PostgreSQL configuration"
	as_postgres psql -p "$PG_PORT" -X -Atqc 'SELECT pg_reload_conf()' >/dev/null
}

setup_postgres() {
	if [ -n "${HYDRACACHE_POSTGRES_DSN:-}" ]; then
		say "PostgreSQL: using HYDRACACHE_POSTGRES_DSN from the environment (not managed here)"
		return
	fi
	local installed_now=0 i
	if ! pg_ready; then
		if ! pg_installed; then
			if can_apt; then
				say "PostgreSQL is not installed; installing it"
				apt_install postgresql
				installed_now=1
			else
				problem "PostgreSQL is not reachable at $PG_HOST:$PG_PORT and is not installed. Install it (Debian/Ubuntu: sudo apt-get install postgresql), or set HYDRACACHE_POSTGRES_DSN to a server you have."
				return
			fi
		fi
		if ! pg_ready; then
			if ! can_root; then
				problem "PostgreSQL is installed but not running, and starting it needs root. Start it (e.g. sudo pg_ctlcluster <version> main start, or sudo service postgresql start), or set HYDRACACHE_POSTGRES_DSN."
				return
			fi
			pg_start
		fi
		for ((i = 0; i < WAIT_SECONDS; i++)); do
			pg_ready && break
			sleep 1
		done
		if ! pg_ready; then
			problem "PostgreSQL did not become ready on $PG_HOST:$PG_PORT within ${WAIT_SECONDS}s (see /var/log/postgresql/)."
			return
		fi
	fi
	say "PostgreSQL is accepting connections on $PG_HOST:$PG_PORT"

	if ! command -v psql >/dev/null 2>&1; then
		warn "psql not found: cannot check access or create database '$PG_DB'; the tests will tell."
		return
	fi
	if ! pg_try_admin -c 'SELECT 1' >/dev/null; then
		case "$pg_error" in
		*"password authentication failed"* | *"no password supplied"* | *"no pg_hba.conf entry"* | *"authentication failed"*)
			if [ "$installed_now" -eq 1 ] || in_ci || [ "${HYDRACACHE_PG_TRUST:-}" = 1 ]; then
				if can_root; then
					pg_allow_trust || return
				fi
			elif can_root; then
				problem "PostgreSQL refuses user '$PG_USER' without a password over TCP ($pg_error). Either set HYDRACACHE_POSTGRES_DSN with a password (postgres://user:pass@127.0.0.1:5432/test?sslmode=disable), or rerun with HYDRACACHE_PG_TRUST=1 to let this script add 'host all all 127.0.0.1/32 trust' to pg_hba.conf (local test machines only)."
				return
			else
				# Without root this script cannot edit pg_hba.conf: do not
				# offer HYDRACACHE_PG_TRUST.
				problem "PostgreSQL refuses user '$PG_USER' without a password over TCP ($pg_error). Set HYDRACACHE_POSTGRES_DSN with a password (postgres://user:pass@127.0.0.1:5432/test?sslmode=disable), or ask the server's administrator for passwordless access from 127.0.0.1."
				return
			fi
			;;
		esac
		# Trust may have just been added: a reload takes effect at once, but
		# give it a few tries.
		for ((i = 0; i < 5; i++)); do
			pg_try_admin -c 'SELECT 1' >/dev/null && break
			sleep 1
		done
		if ! pg_try_admin -c 'SELECT 1' >/dev/null; then
			problem "PostgreSQL: cannot connect as '$PG_USER' to $PG_HOST:$PG_PORT: $pg_error"
			return
		fi
	fi

	if [ "$(pg_try_admin -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" != 1 ]; then
		say "creating database '$PG_DB'"
		# Another run may create it at the same moment: recheck on error.
		if ! pg_try_admin -c "CREATE DATABASE \"$PG_DB\"" >/dev/null &&
			[ "$(pg_try_admin -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" != 1 ]; then
			problem "PostgreSQL: cannot create database '$PG_DB': $pg_error"
			return
		fi
	fi
	if PGCONNECT_TIMEOUT=5 psql -w -X -Atq "$PG_TEST_DSN" -c 'SELECT 1' >/dev/null 2>&1; then
		say "PostgreSQL ready: $PG_TEST_DSN"
	else
		problem "PostgreSQL: cannot connect to $PG_TEST_DSN"
	fi
}

# --------------------------------------------------------------------- Redis

redis_ready() {
	if command -v redis-cli >/dev/null 2>&1; then
		[ "$(timeout 3 redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]
	else
		redis_ping_tcp 2>/dev/null
	fi
}

# redis_ping_tcp speaks just enough RESP over bash's /dev/tcp to send PING.
redis_ping_tcp() (
	tcp_open "$REDIS_HOST" "$REDIS_PORT" || exit 1
	exec 3<>"/dev/tcp/$REDIS_HOST/$REDIS_PORT" || exit 1
	printf 'PING\r\n' >&3
	reply=
	read -r -t 3 reply <&3 || true
	[ "${reply%$'\r'}" = +PONG ]
)

redis_start() {
	if systemd_running && can_root && as_root systemctl start redis-server 2>/dev/null; then
		say "started redis-server through systemd"
		return
	fi
	# Our own throwaway server: loopback only, nothing written to disk. It runs
	# as the current user (no root needed) and keeps running after the tests;
	# stop it with: redis-cli shutdown nosave
	local tmp=${TMPDIR:-/tmp}
	say "starting redis-server on $REDIS_HOST:$REDIS_PORT (log: $tmp/hydracache-redis-$(id -u).log)"
	redis-server --daemonize yes --bind "$REDIS_HOST" --port "$REDIS_PORT" \
		--save "" --appendonly no --dir "$tmp" \
		--logfile "$tmp/hydracache-redis-$(id -u).log"
}

setup_redis() {
	if [ -n "${HYDRACACHE_REDIS_ADDR:-}" ]; then
		say "Redis: using HYDRACACHE_REDIS_ADDR from the environment (not managed here)"
		return
	fi
	local i
	if ! redis_ready; then
		if ! command -v redis-server >/dev/null 2>&1; then
			if can_apt; then
				say "Redis is not installed; installing it"
				apt_install redis-server
			else
				problem "Redis is not reachable at $REDIS_HOST:$REDIS_PORT and is not installed. Install it (Debian/Ubuntu: sudo apt-get install redis-server), or set HYDRACACHE_REDIS_ADDR to a server you have."
				return
			fi
		fi
		# apt may have started it already.
		redis_ready || redis_start
		for ((i = 0; i < WAIT_SECONDS; i++)); do
			redis_ready && break
			sleep 1
		done
		if ! redis_ready; then
			problem "Redis did not become ready on $REDIS_HOST:$REDIS_PORT within ${WAIT_SECONDS}s."
			return
		fi
	fi
	say "Redis ready: $REDIS_HOST:$REDIS_PORT"
}

# ----------------------------------------------------------------------- main

check_go
setup_postgres
setup_redis

if [ "${#problems[@]}" -gt 0 ]; then
	warn "Not ready:"
	for p in "${problems[@]}"; do
		warn "  - $p"
	done
	if [ "$no_compiler" -eq 1 ]; then
		warn "Without cgo and a C compiler go test -race cannot run: nothing was tested."
		exit 1
	fi
	if in_ci; then
		warn "CI=true: integration tests must run, so this is a failure."
		exit 1
	fi
	warn "Running the tests anyway: the integration tests will be SKIPPED (loudly)."
fi

# Tests skipped for want of a service write a line here (testing/testenv):
# go test shows skips only with -v, so they are counted at the end.
skip_log=$(mktemp)
trap 'rm -f "$skip_log"' EXIT
export HYDRACACHE_SKIP_LOG="$skip_log"

args=(-race -count=1 -timeout 20m)
if in_ci; then
	args+=(-v)
fi
# Arguments that name packages (./x, ./x/..., or the module path) replace
# ./...; everything else goes to go test as is.
pkgs=(./...)
for a in "$@"; do
	case "$a" in
	./* | github.com/hydracache/hydracache*) pkgs=() ;;
	esac
done
say "go test ${args[*]}${pkgs[*]:+ ${pkgs[*]}}${*:+ $*}"
status=0
go test "${args[@]}" "${pkgs[@]}" "$@" || status=$?
skipped=$(wc -l <"$skip_log" | tr -d ' ')
if [ "$skipped" -gt 0 ]; then
	warn "$skipped test(s) SKIPPED, NEEDS A SERVICE (passing packages were not fully tested):"
	sort "$skip_log" | head -n 20 | while IFS= read -r line; do warn "  - $line"; done
	[ "$skipped" -le 20 ] || warn "  ... and $((skipped - 20)) more"
	if [ "${#problems[@]}" -gt 0 ]; then
		warn "The services not ready are listed at the top of this output."
	fi
fi
if [ "$status" -eq 0 ]; then
	say "scripts/test.sh: ALL TESTS PASSED"
else
	warn "scripts/test.sh: TESTS FAILED (go test exit status $status)"
fi
exit "$status"
