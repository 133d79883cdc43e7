#!/usr/bin/env bash
# Make sure the local services the API needs are up (Debian 12, no systemd):
#   - PostgreSQL on 127.0.0.1:5432, trust auth for TCP connections as `postgres`
#   - Redis on 127.0.0.1:6379
#   - Prometheus tooling (promtool, prometheus) when called with --with-prometheus
#     or ENSURE_PROMETHEUS=1 (installed only, never started)
#
# Idempotent: anything already running/installed is left alone. Missing Debian
# packages are installed only when running as root; otherwise the script says
# what to install and exits 1. If DATABASE_URL / REDIS_URL point at a non-local
# host, that service is reported as external and not managed.
#
# Usage: scripts/ensure-services.sh [--with-prometheus]
set -euo pipefail

PG_HOST=127.0.0.1
PG_PORT=5432
REDIS_HOST=127.0.0.1
REDIS_PORT=6379
PG_WAIT_SECONDS=30
REDIS_WAIT_SECONDS=15

WITH_PROMETHEUS=0
[[ "${ENSURE_PROMETHEUS:-0}" == 1 ]] && WITH_PROMETHEUS=1

for arg in "$@"; do
  case "$arg" in
    --with-prometheus) WITH_PROMETHEUS=1 ;;
    -h | --help)
      sed -n '2,/^[^#]/{/^#/p}' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "[services] unknown argument: $arg (usage: $0 [--with-prometheus])" >&2
      exit 2
      ;;
  esac
done

log() { echo "[services] $*" >&2; }
die() {
  echo "[services] ERROR: $*" >&2
  exit 1
}

is_root() { [[ "$(id -u)" == 0 ]]; }

APT_UPDATED=0
# apt_install <label> <pkg>...: root only; runs `apt-get update` at most once per run.
apt_install() {
  local label=$1
  shift
  if ! is_root; then
    log "$label: not installed"
    die "not running as root, cannot install Debian package(s) '$*'; as root run: apt-get update && apt-get install -y $* -- then re-run $0"
  fi
  log "$label: installing"
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install '$*' manually"
  # Wait (rather than fail) if another apt/dpkg run holds the lock.
  local lock_opt=(-o DPkg::Lock::Timeout=600)
  if [[ "$APT_UPDATED" == 0 ]]; then
    apt-get "${lock_opt[@]}" update -qq >&2 || die "apt-get update failed"
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get "${lock_opt[@]}" install -y -qq "$@" >&2 ||
    die "apt-get install $* failed"
}

# url_host <url>: print the host part of a URL (brackets stripped for IPv6).
url_host() {
  local rest=$1
  rest=${rest#*://}
  rest=${rest%%[/?#]*} # authority only
  rest=${rest##*@}     # drop user:password@
  if [[ "$rest" == \[* ]]; then
    rest=${rest#\[}
    rest=${rest%%]*}
  else
    rest=${rest%%:*}
  fi
  printf '%s\n' "$rest"
}

is_local_host() {
  case "$1" in
    '' | localhost | localhost.localdomain | 127.* | ::1 | 0:0:0:0:0:0:0:1) return 0 ;;
    *) return 1 ;;
  esac
}

# ---------------------------------------------------------------- PostgreSQL

pg_ready() {
  command -v pg_isready >/dev/null 2>&1 || return 1
  pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -t 2 >/dev/null 2>&1
}

pg_version() {
  [[ -d /etc/postgresql ]] || return 1
  local v d
  # Newest installed major version (same as `ls /etc/postgresql | sort -V | tail -1`).
  v=$(for d in /etc/postgresql/*/; do
    [[ -d "$d" ]] && basename "$d"
  done | sort -V | tail -1)
  [[ -n "$v" ]] || return 1
  printf '%s\n' "$v"
}

pg_hba_has_trust() {
  # True when the first two rules of pg_hba.conf are our trust lines.
  local hba=$1
  local first
  first=$(grep -Ev '^[[:space:]]*(#|$)' "$hba" | head -2 | tr -s '[:space:]' ' ')
  [[ "$first" == "host all all 127.0.0.1/32 trust host all all ::1/128 trust " ]]
}

pg_hba_path() { printf '/etc/postgresql/%s/main/pg_hba.conf\n' "$1"; }

pg_enable_trust() {
  local ver=$1
  local hba
  hba=$(pg_hba_path "$ver")
  [[ -f "$hba" ]] || die "postgresql: $hba not found"
  if pg_hba_has_trust "$hba"; then
    return 0
  fi
  is_root || die "postgresql: TCP connections as 'postgres' on $PG_HOST:$PG_PORT need trust auth; as root, prepend 'host all all 127.0.0.1/32 trust' and 'host all all ::1/128 trust' to $hba and run: pg_ctlcluster $ver main reload"
  log "postgresql: enabling trust auth for 127.0.0.1/::1 in $hba"
  [[ -e "$hba.orig" ]] || cp -p "$hba" "$hba.orig"
  local tmp
  tmp=$(mktemp)
  {
    echo "# Added by scripts/ensure-services.sh (local development only):"
    echo "host all all 127.0.0.1/32 trust"
    echo "host all all ::1/128 trust"
    cat "$hba"
  } >"$tmp"
  cat "$tmp" >"$hba" # keep owner/mode of the original file
  rm -f "$tmp"
  pg_ctlcluster --skip-systemctl-redirect "$ver" main reload >&2 ||
    die "postgresql: pg_ctlcluster $ver main reload failed"
  sleep 1
}

# pg_auth_check: 0 = ok, 1 = auth error, 2 = other error (message in PG_AUTH_ERR)
PG_AUTH_ERR=
pg_auth_check() {
  command -v psql >/dev/null 2>&1 || {
    PG_AUTH_ERR="psql not found"
    return 2
  }
  # Test the way the app connects: no password, no ~/.pgpass.
  if PG_AUTH_ERR=$(env -u PGPASSWORD -u PGSERVICE PGPASSFILE=/dev/null PGCONNECT_TIMEOUT=5 \
    psql -X -w -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -Atqc 'select 1' 2>&1 >/dev/null); then
    return 0
  fi
  if grep -qiE 'password|authentication|pg_hba\.conf' <<<"$PG_AUTH_ERR"; then
    return 1
  fi
  return 2
}

ensure_postgres() {
  if [[ -n "${DATABASE_URL:-}" ]]; then
    local h
    h=$(url_host "$DATABASE_URL")
    if ! is_local_host "$h"; then
      log "postgresql: external ($h via DATABASE_URL), not managed"
      return 0
    fi
  fi

  local fresh=0 ver=

  if pg_ready; then
    log "postgresql: running"
  else
    if ! command -v pg_ctlcluster >/dev/null 2>&1 || ! pg_version >/dev/null; then
      apt_install postgresql postgresql
      fresh=1
    fi
    ver=$(pg_version) || die "postgresql: no cluster found under /etc/postgresql after install"
    [[ -d "/etc/postgresql/$ver/main" ]] ||
      die "postgresql: cluster $ver/main does not exist (create it with: pg_createcluster $ver main)"

    # The package may have started the cluster on its own.
    if ! pg_ready; then
      local out
      if ! out=$(pg_ctlcluster --skip-systemctl-redirect "$ver" main start 2>&1); then
        if ! grep -qi 'already running' <<<"$out"; then
          printf '%s\n' "$out" >&2
          die "postgresql: 'pg_ctlcluster $ver main start' failed (see above; log: /var/log/postgresql/postgresql-$ver-main.log)"
        fi
      fi
    fi

    local i
    for ((i = 0; i < PG_WAIT_SECONDS; i++)); do
      pg_ready && break
      sleep 1
    done
    pg_ready || die "postgresql: cluster $ver/main not accepting connections on $PG_HOST:$PG_PORT after ${PG_WAIT_SECONDS}s (log: /var/log/postgresql/postgresql-$ver-main.log)"
    log "postgresql: started ($ver/main)"
  fi

  # Auth: the app connects as `postgres` over TCP without a password.
  local rc=0
  pg_auth_check || rc=$?
  if [[ "$fresh" == 1 || "$rc" == 1 ]]; then
    [[ -n "$ver" ]] || ver=$(pg_version) ||
      die "postgresql: cannot connect as postgres on $PG_HOST:$PG_PORT ($PG_AUTH_ERR) and no local cluster config found"
    pg_enable_trust "$ver"
    rc=0
    pg_auth_check || rc=$?
  fi
  case "$rc" in
    0) ;;
    1) die "postgresql: authentication as 'postgres' on $PG_HOST:$PG_PORT still fails: $PG_AUTH_ERR" ;;
    *) die "postgresql: cannot run a query as 'postgres' on $PG_HOST:$PG_PORT: $PG_AUTH_ERR" ;;
  esac
}

# --------------------------------------------------------------------- Redis

redis_ping() {
  local reply=
  if command -v redis-cli >/dev/null 2>&1; then
    reply=$(timeout 5 redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null) || return 1
  else
    # No redis-cli: speak RESP over bash's /dev/tcp.
    # shellcheck disable=SC2016 # expanded by the inner bash
    reply=$(timeout 5 bash -c '
      exec 3<>"/dev/tcp/$1/$2" || exit 1
      printf "PING\r\n" >&3
      IFS= read -r -t 3 line <&3 || exit 1
      printf "%s\n" "$line"
    ' _ "$REDIS_HOST" "$REDIS_PORT" 2>/dev/null) || return 1
  fi
  reply=${reply//$'\r'/}
  [[ "$reply" == PONG || "$reply" == +PONG ]]
}

port_open() {
  # shellcheck disable=SC2016 # expanded by the inner bash
  timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

ensure_redis() {
  if [[ -n "${REDIS_URL:-}" ]]; then
    local h
    h=$(url_host "$REDIS_URL")
    if ! is_local_host "$h"; then
      log "redis: external ($h via REDIS_URL), not managed"
      return 0
    fi
  fi

  if redis_ping; then
    log "redis: running"
    return 0
  fi

  if ! command -v redis-server >/dev/null 2>&1; then
    apt_install redis redis-server
    command -v redis-server >/dev/null 2>&1 || die "redis: redis-server still not found after install"
    if redis_ping; then # the package may have started it
      log "redis: running"
      return 0
    fi
  fi

  if port_open "$REDIS_HOST" "$REDIS_PORT"; then
    die "redis: something is listening on $REDIS_HOST:$REDIS_PORT but does not answer PING with PONG (password-protected Redis or another program?)"
  fi

  # --dir: keep any dump file out of the caller's cwd (persistence is off anyway).
  redis-server --daemonize yes --bind "$REDIS_HOST" --port "$REDIS_PORT" --save "" --appendonly no \
    --dir "${TMPDIR:-/tmp}" >&2 ||
    die "redis: 'redis-server --daemonize yes ...' failed (is port $REDIS_PORT taken by something that is not Redis, or protected by a password?)"

  local i
  for ((i = 0; i < REDIS_WAIT_SECONDS; i++)); do
    redis_ping && break
    sleep 1
  done
  redis_ping || die "redis: no PONG from $REDIS_HOST:$REDIS_PORT after ${REDIS_WAIT_SECONDS}s"
  log "redis: started"
}

# ---------------------------------------------------------------- Prometheus

ensure_prometheus() {
  if command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1; then
    log "prometheus: tooling present"
    return 0
  fi
  apt_install prometheus prometheus
  if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1; then
    die "prometheus: promtool/prometheus still not found on PATH after installing package 'prometheus'"
  fi
  # Not starting a server on purpose: tests start their own.
  log "prometheus: installed"
}

main() {
  ensure_postgres
  ensure_redis
  if [[ "$WITH_PROMETHEUS" == 1 ]]; then
    ensure_prometheus
  fi
}

# Allow `source`-ing for tests without running anything.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  main
fi
