#!/usr/bin/env bash
# Start the local services newsapp's tests can use, installing them with apt when missing.
#
#   scripts/services.sh postgres redis
#
# Idempotent: a service that is already up is left as it is. Run as root (it uses apt-get,
# pg_ctlcluster and runuser). Progress goes to stderr; stdout gets one line per service with the
# setting to use, e.g. `DATABASE_URL=postgres://...`, so callers can capture it. Any service that
# cannot be started ends the script with a message and a non-zero exit.
set -euo pipefail

# The PostgreSQL superuser's password for local development and CI: defined here and nowhere else.
NEWSAPP_PG_PASSWORD="${NEWSAPP_PG_PASSWORD:-newsapp-ci}"
PG_VERSION="${NEWSAPP_PG_VERSION:-15}"
PG_CLUSTER=main
PG_HOST=127.0.0.1
PG_PORT=5432
PG_DATABASE=newsapp
REDIS_HOST=127.0.0.1
REDIS_PORT=6379
REDIS_DB=1
REDIS_LOG="${TMPDIR:-/tmp}/newsapp-redis.log"

log() { printf 'services: %s\n' "$*" >&2; }
die() {
    printf 'services: ERROR: %s\n' "$*" >&2
    exit 1
}

usage() {
    echo "usage: $0 SERVICE...   (SERVICE: postgres, redis)" >&2
    exit 2
}

# shellcheck source=scripts/apt.sh
source "$(dirname "${BASH_SOURCE[0]}")/apt.sh"

# Run a command as the postgres OS user, from a directory it can read.
as_postgres() { (cd / && runuser -u postgres -- "$@"); }

pg_ready() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT" >/dev/null 2>&1; }

pg_cluster_exists() { pg_lsclusters -h 2>/dev/null | awk -v v="$PG_VERSION" -v c="$PG_CLUSTER" '$1 == v && $2 == c {found = 1} END {exit !found}'; }

start_postgres() {
    [[ "$NEWSAPP_PG_PASSWORD" =~ ^[A-Za-z0-9._~-]+$ ]] ||
        die "NEWSAPP_PG_PASSWORD may only use letters, digits and . _ ~ - (it goes into a URL and SQL unquoted)"

    if ! pg_ready; then
        if ! command -v pg_ctlcluster >/dev/null 2>&1 || [[ ! -x "/usr/lib/postgresql/$PG_VERSION/bin/postgres" ]]; then
            log "PostgreSQL $PG_VERSION server is not installed"
            apt_install "postgresql-$PG_VERSION"
        fi
        if ! pg_cluster_exists; then
            log "creating PostgreSQL cluster $PG_VERSION/$PG_CLUSTER"
            pg_createcluster "$PG_VERSION" "$PG_CLUSTER" >&2 || die "pg_createcluster $PG_VERSION $PG_CLUSTER failed"
        fi
        log "starting PostgreSQL $PG_VERSION/$PG_CLUSTER"
        pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" "$PG_CLUSTER" start >&2 ||
            log "pg_ctlcluster start returned an error; checking whether the server came up anyway"
        for _ in $(seq 1 60); do
            pg_ready && break
            sleep 0.5
        done
        if ! pg_ready; then
            pg_lsclusters >&2 || true
            tail -n 20 "/var/log/postgresql/postgresql-$PG_VERSION-$PG_CLUSTER.log" >&2 2>/dev/null || true
            die "PostgreSQL is not accepting connections on $PG_HOST:$PG_PORT after 30 s (log above)"
        fi
    fi
    log "PostgreSQL is ready on $PG_HOST:$PG_PORT"

    as_postgres psql -X -q -v ON_ERROR_STOP=1 -c "ALTER ROLE postgres PASSWORD '$NEWSAPP_PG_PASSWORD'" >&2 ||
        die "could not set the postgres role's password through the local socket"
    if [[ "$(as_postgres psql -X -tA -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DATABASE'")" != 1 ]]; then
        log "creating database $PG_DATABASE"
        as_postgres createdb "$PG_DATABASE" || die "could not create database $PG_DATABASE"
    fi
    # Prove that the URL we hand out works: password login over TCP.
    PGPASSWORD="$NEWSAPP_PG_PASSWORD" psql -X -q -h "$PG_HOST" -p "$PG_PORT" -U postgres -d "$PG_DATABASE" \
        -c 'SELECT 1' >/dev/null ||
        die "cannot log in as postgres with the password over TCP at $PG_HOST:$PG_PORT (check pg_hba.conf)"

    echo "DATABASE_URL=postgres://postgres:${NEWSAPP_PG_PASSWORD}@${PG_HOST}:${PG_PORT}/${PG_DATABASE}"
}

redis_ready() { [[ "$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]; }

start_redis() {
    if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
        log "Redis is not installed"
        apt_install redis-server
    fi
    if ! redis_ready; then
        log "starting redis-server on $REDIS_HOST:$REDIS_PORT (no persistence, log: $REDIS_LOG)"
        redis-server --daemonize yes --bind "$REDIS_HOST" --port "$REDIS_PORT" --save "" --appendonly no \
            --dir "${TMPDIR:-/tmp}" --logfile "$REDIS_LOG" >&2 || die "redis-server failed to start"
        for _ in $(seq 1 50); do
            redis_ready && break
            sleep 0.2
        done
        if ! redis_ready; then
            tail -n 20 "$REDIS_LOG" >&2 2>/dev/null || true
            die "Redis does not answer PING on $REDIS_HOST:$REDIS_PORT after 10 s (log above)"
        fi
    fi
    log "Redis is ready on $REDIS_HOST:$REDIS_PORT"
    echo "CACHE_URL=redis://${REDIS_HOST}:${REDIS_PORT}/${REDIS_DB}"
}

[[ $# -gt 0 ]] || usage
for service in "$@"; do
    case "$service" in
        postgres | redis) ;;
        *) usage ;;
    esac
done
[[ "$(id -u)" -eq 0 ]] || die "run as root (it installs packages and starts system services): sudo $0 $*"

for service in "$@"; do
    case "$service" in
        postgres) start_postgres ;;
        redis) start_redis ;;
    esac
done
