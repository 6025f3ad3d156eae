#!/usr/bin/env bash
# Start newsapp's cluster on this machine (docs/scaling.md, "The cluster on one machine"):
#
#   PostgreSQL primary  127.0.0.1:5432  the machine's main cluster (scripts/services.sh), db newsapp_cluster
#   streaming replica   127.0.0.1:5433  var/cluster/replica, made with pg_basebackup -R
#   PgBouncer           127.0.0.1:6432  only with CLUSTER_PGBOUNCER=1 (transaction pooling, both databases)
#   Redis               127.0.0.1:6379  cache in db 2, task queue in db 3 (scripts/services.sh)
#   two app servers     127.0.0.1:8101 and :8102 (granian, production settings from var/cluster/env)
#   Varnish             127.0.0.1:6081 (admin 6082), scripts/cluster/varnish.vcl
#   task workers        2 x manage.py rqworker --with-scheduler
#
# Idempotent: what is running already is left running (app servers and workers are restarted when
# var/cluster/env changes, an edited VCL is loaded into the running Varnish). A port taken by
# anything else stops it with the owner named. Run as root. Writes var/cluster/urls.json and
# var/cluster/env; PID files in var/cluster/pids/, logs in var/cluster/logs/.
#
# Knobs (environment): CLUSTER_PGBOUNCER=1, CLUSTER_APP_WORKERS (2) and CLUSTER_APP_THREADS (2) per
# app server, CLUSTER_RQ_WORKERS (2), CLUSTER_VARNISH_MEMORY (256m).
set -euo pipefail

# shellcheck source=scripts/cluster/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=scripts/apt.sh
source "$ROOT/scripts/apt.sh"

CLUSTER_PGBOUNCER="${CLUSTER_PGBOUNCER:-0}"
CLUSTER_APP_WORKERS="${CLUSTER_APP_WORKERS:-2}"
CLUSTER_APP_THREADS="${CLUSTER_APP_THREADS:-2}"
CLUSTER_RQ_WORKERS="${CLUSTER_RQ_WORKERS:-2}"
CLUSTER_VARNISH_MEMORY="${CLUSTER_VARNISH_MEMORY:-256m}"
# Set when var/cluster/env changed: running app servers and workers are restarted to read it.
ENV_CHANGED=0

check_knobs() {
    [[ "$CLUSTER_PGBOUNCER" =~ ^[01]$ ]] || die "CLUSTER_PGBOUNCER must be 0 or 1, not '$CLUSTER_PGBOUNCER'"
    local knob
    for knob in CLUSTER_APP_WORKERS CLUSTER_APP_THREADS CLUSTER_RQ_WORKERS; do
        [[ "${!knob}" =~ ^[1-9][0-9]?$ ]] || die "$knob must be a whole number from 1 to 99, not '${!knob}'"
    done
    [[ "$CLUSTER_VARNISH_MEMORY" =~ ^[1-9][0-9]*[kmgKMG]$ ]] ||
        die "CLUSTER_VARNISH_MEMORY must be a size such as 256m or 1g, not '$CLUSTER_VARNISH_MEMORY'"
}

# Debian's packages, installed when missing (CI's machine starts without them).
install_missing() {
    [[ -x "$PYTHON" ]] || die "no virtualenv at $ROOT/.venv: run make setup first"
    command -v curl >/dev/null || apt_install curl
    command -v varnishd >/dev/null || apt_install varnish
    # The VCL imports vmod xkey (varnish-modules): compiling it says whether the vmods are there.
    if ! varnishd -C -f "$CONF/varnish.vcl" >/dev/null 2>&1; then
        apt_install varnish-modules
        varnishd -C -f "$CONF/varnish.vcl" >/dev/null || die "scripts/cluster/varnish.vcl does not compile (above)"
    fi
    if [[ "$CLUSTER_PGBOUNCER" == 1 ]] && ! command -v pgbouncer >/dev/null; then
        apt_install pgbouncer
    fi
    # The distributed task backend's packages (pyproject's rq extra).
    if ! "$PYTHON" -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("django_tasks_rq") is None)'; then
        log "installing the rq extra (django-tasks-rq) into .venv"
        "$PYTHON" -m pip install -q -e "${ROOT}[rq]" >&2 || die "pip install -e '.[rq]' failed"
    fi
}

make_dirs() {
    mkdir -p "$PIDS" "$LOGS" "$VAR/media" "$VAR/static"
    chmod 0755 "$VAR"
}

# Every port the cluster listens on is checked before anything starts: free, or held by the
# cluster's own process from an earlier start.
check_ports() {
    [[ -n "$(replica_pid)" ]] || require_free_port "$REPLICA_PORT" "the PostgreSQL replica"
    if [[ "$CLUSTER_PGBOUNCER" == 1 && -z "$(running_pid pgbouncer "$PGBOUNCER_PATTERN")" ]]; then
        require_free_port "$PGBOUNCER_PORT" PgBouncer
    fi
    if [[ -z "$(running_pid varnish "$VARNISH_PATTERN")" ]]; then
        require_free_port "$PROXY_PORT" Varnish
        require_free_port "$VARNISH_ADMIN_PORT" "Varnish's admin interface"
    fi
    local port
    for port in "${APP_PORTS[@]}"; do
        [[ -n "$(running_pid "app-$port" "$(app_pattern "$port")")" ]] || require_free_port "$port" "an app server"
    done
}

# --- PostgreSQL primary and Redis: the machine's own, started by services.sh when down -----------

pg_ready_on() { pg_isready -q -h "$HOST" -p "$1" >/dev/null 2>&1; }
redis_ready() { [[ "$(redis-cli -h "$HOST" -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]; }

start_services() {
    local had_postgres=0 had_redis=0 settings
    pg_ready_on "$PRIMARY_PORT" && had_postgres=1
    command -v redis-cli >/dev/null && redis_ready && had_redis=1
    settings=$("$ROOT/scripts/services.sh" postgres redis 9>&-) || die "scripts/services.sh could not start PostgreSQL and Redis"
    PRIMARY_URL=$(sed -n 's/^DATABASE_URL=//p' <<<"$settings")
    PRIMARY_URL="${PRIMARY_URL%/*}/$DATABASE"
    # What the cluster started, it stops; what was running before it, stop.sh leaves running. A
    # record of an earlier start whose process has gone (someone restarted it since) is dropped.
    local data
    data=$(pg_lsclusters -h | awk -v v="$PG_VERSION" '$1 == v && $2 == "main" {print $6}')
    [[ -n "$(running_pid primary "$data")" ]] || rm -f "$PIDS/primary.pid"
    [[ -n "$(running_pid redis redis-server)" ]] || rm -f "$PIDS/redis.pid"
    if [[ "$had_postgres" == 0 ]]; then
        pid_in "$data/postmaster.pid" >"$PIDS/primary.pid"
        log "started the machine's PostgreSQL (pid $(cat "$PIDS/primary.pid")): make cluster-stop stops it"
    fi
    if [[ "$had_redis" == 0 ]]; then
        redis-cli -h "$HOST" -p "$REDIS_PORT" info server | sed -n 's/^process_id:\([0-9]*\).*/\1/p' >"$PIDS/redis.pid"
        log "started Redis (pid $(cat "$PIDS/redis.pid")): make cluster-stop stops it"
    fi
}

ensure_database() {
    if [[ "$(as_postgres psql -X -tA -c "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'")" != 1 ]]; then
        log "creating database $DATABASE on the primary"
        as_postgres createdb "$DATABASE" || die "could not create database $DATABASE"
    fi
}

# --- The streaming replica on 5433 ------------------------------------------------------------

primary_setting() { as_postgres psql -X -tA -c "SHOW $1"; }

replica_sql() { as_postgres psql -X -tA -h /var/run/postgresql -p "$REPLICA_PORT" -d postgres -c "$1" 2>/dev/null; }

# Whether var/cluster/replica is a complete copy of this primary (not of a cluster since re-made).
replica_matches_primary() {
    [[ -f "$REPLICA_DIR/PG_VERSION" && -f "$REPLICA_DIR/standby.signal" ]] || return 1
    local ours theirs
    ours=$("$PG_BIN/pg_controldata" "$REPLICA_DIR" 2>/dev/null | sed -n 's/^Database system identifier: *//p')
    theirs=$(as_postgres psql -X -tA -c "SELECT system_identifier FROM pg_control_system()")
    [[ -n "$ours" && "$ours" == "$theirs" ]]
}

base_backup() {
    log "copying the primary into $REPLICA_DIR (pg_basebackup -R: $(as_postgres psql -X -tA -c \
        "SELECT pg_size_pretty(sum(pg_database_size(datname))) FROM pg_database") to copy)"
    rm -rf "$REPLICA_DIR"
    install -d -o postgres -g postgres -m 0700 "$REPLICA_DIR"
    as_postgres "$PG_BIN/pg_basebackup" -h /var/run/postgresql -p "$PRIMARY_PORT" -U postgres \
        -D "$REPLICA_DIR" -R -X stream -c fast --no-password >&2 || die "pg_basebackup failed (above)"
}

# The replica's own configuration: Debian keeps the primary's in /etc, which the copy does not
# include. A standby must allow at least as many connections, workers, WAL senders, prepared
# transactions and locks as its primary, so those are the primary's.
write_replica_config() {
    local name settings=""
    for name in max_connections max_worker_processes max_wal_senders max_prepared_transactions \
        max_locks_per_transaction TimeZone log_timezone; do
        settings+="$name = '$(primary_setting "$name")'"$'\n'
    done
    install -o postgres -g postgres -m 0600 /dev/stdin "$REPLICA_DIR/postgresql.conf" <<EOF
# Written by scripts/cluster/start.sh at each start: the cluster's streaming replica.
port = $REPLICA_PORT
listen_addresses = '$HOST'
unix_socket_directories = '/var/run/postgresql'
hot_standby = on
# Tell the primary which rows the replica's queries still read, so its vacuum does not cancel them.
hot_standby_feedback = on
shared_buffers = '128MB'
logging_collector = off
log_line_prefix = '%m [%p] '
$settings
EOF
    install -o postgres -g postgres -m 0600 /dev/stdin "$REPLICA_DIR/pg_hba.conf" <<EOF
# Written by scripts/cluster/start.sh: the postgres user on the socket, password logins on loopback.
local all postgres peer
host all all 127.0.0.1/32 scram-sha-256
host all all ::1/128 scram-sha-256
EOF
    install -o postgres -g postgres -m 0600 /dev/null "$REPLICA_DIR/pg_ident.conf"
}

replica_streaming() { [[ "$(replica_sql "SELECT status FROM pg_stat_wal_receiver")" == streaming ]]; }

# Whether the replica's log, since this start, says the primary no longer has the WAL it needs.
replica_behind_recycled_wal() {
    awk -v since="$1" 'NR > since && /requested WAL segment .* has already been removed/ {found = 1}
        END {exit !found}' "$LOGS/replica.log"
}

wait_streaming() {
    local deadline=$((SECONDS + $1))
    while ((SECONDS < deadline)); do
        replica_streaming && return 0
        replica_behind_recycled_wal "$REPLICA_LOG_START" && return 1
        sleep 0.5
    done
    return 1
}

start_replica_server() {
    write_replica_config
    # pg_ctl runs as postgres, which must be able to write the log.
    [[ -e "$LOGS/replica.log" ]] || install -o postgres -g postgres -m 0640 /dev/null "$LOGS/replica.log"
    REPLICA_LOG_START=$(wc -l <"$LOGS/replica.log")
    as_postgres "$PG_BIN/pg_ctl" -D "$REPLICA_DIR" -l "$LOGS/replica.log" -w -t 120 start >&2 ||
        die "the replica did not start; end of $LOGS/replica.log:
$(tail -n 20 "$LOGS/replica.log")"
    ln -sfn ../replica/postmaster.pid "$PIDS/replica.pid"
}

start_replica() {
    if [[ -n "$(replica_pid)" ]]; then
        log "replica already running on $HOST:$REPLICA_PORT (pid $(replica_pid))"
        ln -sfn ../replica/postmaster.pid "$PIDS/replica.pid"
        return
    fi
    require_free_port "$REPLICA_PORT" "the PostgreSQL replica"
    replica_matches_primary || base_backup
    start_replica_server
    # Stopped long enough, the primary may have recycled WAL the copy still needs: copy afresh.
    if ! wait_streaming 30; then
        log "the replica does not stream from the primary (end of $LOGS/replica.log below); copying it afresh"
        tail -n 5 "$LOGS/replica.log" >&2
        as_postgres "$PG_BIN/pg_ctl" -D "$REPLICA_DIR" -m fast -w stop >&2 || true
        base_backup
        start_replica_server
        wait_streaming 60 || die "the replica does not stream from the primary; see $LOGS/replica.log"
    fi
    log "replica streaming on $HOST:$REPLICA_PORT (pid $(replica_pid))"
}

# --- PgBouncer (CLUSTER_PGBOUNCER=1): transaction pooling in front of both --------------------

start_pgbouncer() {
    local pid
    [[ "$CLUSTER_PGBOUNCER" == 1 ]] || return 0
    pid=$(running_pid pgbouncer "$PGBOUNCER_PATTERN")
    if [[ -n "$pid" ]]; then
        log "PgBouncer already running on $HOST:$PGBOUNCER_PORT (pid $pid)"
        return
    fi
    require_free_port "$PGBOUNCER_PORT" PgBouncer
    install -d -o postgres -g postgres -m 0700 "$PGBOUNCER_DIR"
    local password
    password=$(sed -n 's|^postgres://postgres:\([^@]*\)@.*|\1|p' <<<"$PRIMARY_URL")
    # PgBouncer logs in to PostgreSQL with SCRAM, for which it needs the password itself.
    printf '"postgres" "%s"\n' "$password" |
        install -o postgres -g postgres -m 0600 /dev/stdin "$PGBOUNCER_DIR/userlist.txt"
    sed -e "s|@HOST@|$HOST|g" -e "s|@PORT@|$PGBOUNCER_PORT|g" -e "s|@PRIMARY_PORT@|$PRIMARY_PORT|g" \
        -e "s|@REPLICA_PORT@|$REPLICA_PORT|g" -e "s|@DATABASE@|$DATABASE|g" -e "s|@DIR@|$PGBOUNCER_DIR|g" \
        -e "s|@LOG@|$LOGS/pgbouncer.log|g" "$CONF/pgbouncer.ini" |
        install -o postgres -g postgres -m 0600 /dev/stdin "$PGBOUNCER_DIR/pgbouncer.ini"
    [[ -e "$LOGS/pgbouncer.log" ]] || install -o postgres -g postgres -m 0640 /dev/null "$LOGS/pgbouncer.log"
    rm -f "$PGBOUNCER_DIR/pgbouncer.pid"
    # PgBouncer refuses to run as root; -d: it detaches and writes its own PID file.
    as_postgres pgbouncer -d "$PGBOUNCER_DIR/pgbouncer.ini" >&2 || die "PgBouncer did not start; see $LOGS/pgbouncer.log"
    ln -sfn ../pgbouncer/pgbouncer.pid "$PIDS/pgbouncer.pid"
    wait_for_port "$PGBOUNCER_PORT" 10 || die "PgBouncer does not listen on $PGBOUNCER_PORT; see $LOGS/pgbouncer.log"
    log "PgBouncer on $HOST:$PGBOUNCER_PORT (pid $(pid_in "$PIDS/pgbouncer.pid")), transaction pooling"
}

# PgBouncer off now: one left by an earlier CLUSTER_PGBOUNCER=1 start is stopped once the app
# servers and workers that used it have been restarted without it.
retire_pgbouncer() {
    if [[ "$CLUSTER_PGBOUNCER" != 1 && -n "$(running_pid pgbouncer "$PGBOUNCER_PATTERN")" ]]; then
        stop_pid_file pgbouncer "$PGBOUNCER_PATTERN"
    fi
}

# --- var/cluster/env: what points manage.py (and every process here) at the cluster -------------

write_env() {
    local secret primary replica
    secret=$(env_value DJANGO_SECRET_KEY)
    [[ -n "$secret" ]] || secret=$("$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(50))')
    primary="$PRIMARY_URL"
    replica="${PRIMARY_URL%@*}@$HOST:$REPLICA_PORT/$DATABASE"
    if [[ "$CLUSTER_PGBOUNCER" == 1 ]]; then
        # Transaction pooling hands each transaction any server connection: no server-side cursor
        # may outlive one (Django's DISABLE_SERVER_SIDE_CURSORS). Django's persistent connections
        # (DJANGO_CONN_MAX_AGE) then hold only PgBouncer's client side, which costs PostgreSQL nothing.
        primary="${PRIMARY_URL%@*}@$HOST:$PGBOUNCER_PORT/$DATABASE?disable_server_side_cursors=True"
        replica="${PRIMARY_URL%@*}@$HOST:$PGBOUNCER_PORT/${DATABASE}_replica?disable_server_side_cursors=True"
    fi
    local new="$ENV_FILE.new"
    (
        umask 077
        cat >"$new" <<EOF
# newsapp's cluster on this machine, written by scripts/cluster/start.sh (docs/scaling.md).
# Use it from a shell: set -a; . var/cluster/env; set +a; .venv/bin/python manage.py ...
DATABASE_URL=$primary
DATABASE_REPLICA_URL=$replica
CACHE_URL=redis://$HOST:$REDIS_PORT/2
NEWSAPP_TASKS_BACKEND=rq
NEWSAPP_TASKS_REDIS_URL=redis://$HOST:$REDIS_PORT/3
NEWSAPP_PROXY_PURGE_URLS=http://$HOST:$PROXY_PORT/
DJANGO_SECRET_KEY=$secret
DJANGO_DEBUG=false
DJANGO_ALLOWED_HOSTS=$HOST,localhost
DJANGO_SECURE_SSL_REDIRECT=false
DJANGO_SECURE_HSTS_SECONDS=0
DJANGO_MEDIA_ROOT=$VAR/media
DJANGO_STATIC_ROOT=$VAR/static
NEWSAPP_SERVE_MEDIA=true
NEWSAPP_CLIENT_IP_HEADER=X-Forwarded-For
EOF
    )
    if ! cmp -s "$new" "$ENV_FILE"; then
        [[ ! -e "$ENV_FILE" ]] || ENV_CHANGED=1
        mv "$new" "$ENV_FILE"
        log "wrote $ENV_FILE"
    else
        rm -f "$new"
    fi
}

# The command prefix that runs a program with the cluster's settings only: DJANGO_*, NEWSAPP_* and
# database or cache URLs of the calling shell are dropped first, so the cluster is the same whoever
# starts it. The inner bash execs the program, so the PID spawn records is the program's own.
cluster_env_prefix() {
    CLUSTER_ENV=(env)
    local name
    for name in $(compgen -e); do
        case "$name" in
            DJANGO_* | NEWSAPP_* | DATABASE_* | CACHE_URL | CACHE_KEY_PREFIX | REDIS_URL) CLUSTER_ENV+=(-u "$name") ;;
        esac
    done
    # shellcheck disable=SC2016  # expanded by the inner bash: $0 is the project, $1 the env file
    CLUSTER_ENV+=(PYTHONUNBUFFERED=1 bash -c 'set -a; . "$1"; set +a; shift; cd "$0" && exec "$@"' "$ROOT" "$ENV_FILE")
}

with_cluster_env() { "${CLUSTER_ENV[@]}" "$@"; }

manage() { with_cluster_env "$PYTHON" manage.py "$@"; }

prepare_app() {
    log "migrating, seeding the demo newsroom and collecting static files"
    # collectstatic needs no database: it runs beside the migrations (two cores, both busy).
    local static=""
    if static_up_to_date; then
        log "static files up to date in $VAR/static"
    else
        manage collectstatic --noinput -v0 >&2 &
        static=$!
    fi
    manage migrate --noinput -v0 >&2 || die "manage.py migrate failed"
    manage seed_demo --if-empty >&2 || die "manage.py seed_demo failed"
    local password
    password=$(sed -n 's/^password=//p' "$VAR/logins" 2>/dev/null || true)
    if [[ -z "$password" ]]; then
        password=$("$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(12))')
        (umask 077 && printf 'editor=editor\nwriter=writer\npassword=%s\n' "$password" >"$VAR/logins")
    fi
    # The demo logins, one password kept in var/cluster/logins so the cluster's tests can sign in;
    # --force: the cluster runs production settings (DEBUG off), but only ever on loopback.
    manage demo_accounts --force --password "$password" -v0 >&2 || die "manage.py demo_accounts failed"
    if [[ -n "$static" ]]; then
        wait "$static" || die "manage.py collectstatic failed"
    fi
}

# collectstatic compresses every file again (35 s on two cores): skipped when its manifest is newer
# than every file under static/ and than the virtualenv's packages (whose static files it collects).
static_up_to_date() {
    local manifest="$VAR/static/staticfiles.json" packages
    [[ -s "$manifest" ]] || return 1
    packages=$(echo "$ROOT"/.venv/lib/python3*/site-packages)
    [[ -d "$packages" && ! "$packages" -nt "$manifest" ]] || return 1
    [[ -z "$(find "$ROOT/static" -newer "$manifest" -print -quit)" ]]
}

# --- App servers ------------------------------------------------------------------------------

start_app() {
    local port=$1
    spawn "app-$port" "${CLUSTER_ENV[@]}" "$ROOT/.venv/bin/python" "$ROOT/.venv/bin/granian" newsapp.wsgi:application \
        --interface wsgi --host "$HOST" --port "$port" \
        --workers "$CLUSTER_APP_WORKERS" --blocking-threads "$CLUSTER_APP_THREADS" --no-ws \
        --respawn-failed-workers --workers-kill-timeout 10 --log-level warning
}

start_apps() {
    local port pid started=()
    for port in "${APP_PORTS[@]}"; do
        pid=$(running_pid "app-$port" "$(app_pattern "$port")")
        if [[ -n "$pid" && "$ENV_CHANGED" == 1 ]]; then
            log "var/cluster/env changed: restarting the app server on $port"
            stop_pid_file "app-$port" "$(app_pattern "$port")"
            pid=""
        fi
        if [[ -n "$pid" ]]; then
            log "app server already running on $HOST:$port (pid $pid)"
            continue
        fi
        require_free_port "$port" "an app server"
        start_app "$port"
        started+=("$port")
    done
    for port in "${started[@]}"; do
        wait_ready "http://$HOST:$port/healthz/ready" 60 "app-$port" ||
            die "the app server on $port is not ready after 60 s; end of $LOGS/app-$port.log:
$(tail -n 30 "$LOGS/app-$port.log")"
        log "app server on $HOST:$port (pid $(pid_in "$PIDS/app-$port.pid")), ready"
    done
}

# Wait until URL answers 200 while process NAME stays alive.
wait_ready() {
    local url=$1 seconds=$2 name=$3
    local deadline=$((SECONDS + seconds)) pid
    pid=$(pid_in "$PIDS/$name.pid")
    while ((SECONDS < deadline)); do
        [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url")" == 200 ]] && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.2
    done
    return 1
}

# --- Varnish ----------------------------------------------------------------------------------

start_varnish() {
    local pid sum
    sum=$(sha256sum "$CONF/varnish.vcl" | cut -d' ' -f1)
    pid=$(running_pid varnish "$VARNISH_PATTERN")
    if [[ -n "$pid" ]]; then
        if [[ "$(cat "$VAR/varnish.vcl.sha256" 2>/dev/null)" != "$sum" ]]; then
            local name
            name="vcl_$(date +%Y%m%d_%H%M%S)"
            log "loading the edited scripts/cluster/varnish.vcl into the running Varnish as $name"
            varnishadm -n "$VARNISH_DIR" vcl.load "$name" "$CONF/varnish.vcl" >&2 ||
                die "the edited VCL does not compile (above); Varnish goes on with the one it had"
            varnishadm -n "$VARNISH_DIR" vcl.use "$name" >&2 || die "varnishadm vcl.use $name failed"
            echo "$sum" >"$VAR/varnish.vcl.sha256"
        fi
        log "Varnish already running on $HOST:$PROXY_PORT (pid $pid)"
        return
    fi
    require_free_port "$PROXY_PORT" Varnish
    require_free_port "$VARNISH_ADMIN_PORT" "Varnish's admin interface"
    # -F: the manager stays in the foreground, so its PID and output are ours to keep. The admin
    # port takes the secret varnishd writes into its working directory (varnishadm -n finds it).
    spawn varnish varnishd -F -n "$VARNISH_DIR" -a "$HOST:$PROXY_PORT" -T "$HOST:$VARNISH_ADMIN_PORT" \
        -f "$CONF/varnish.vcl" -s "malloc,$CLUSTER_VARNISH_MEMORY"
    echo "$sum" >"$VAR/varnish.vcl.sha256"
    wait_for_port "$PROXY_PORT" 30 "$(pid_in "$PIDS/varnish.pid")" ||
        die "Varnish does not listen on $PROXY_PORT after 30 s; end of $LOGS/varnish.log:
$(tail -n 30 "$LOGS/varnish.log")"
    log "Varnish on $HOST:$PROXY_PORT (pid $(pid_in "$PIDS/varnish.pid")), admin on $HOST:$VARNISH_ADMIN_PORT"
}

# Once the app servers answer, Varnish's probes (one a second) must find both healthy.
healthy_backends() {
    varnishadm -n "$VARNISH_DIR" backend.list 2>/dev/null |
        awk '$1 ~ /\.app[0-9]+$/ && $4 == "healthy" {n++} END {print n + 0}'
}

wait_proxy() {
    local deadline=$((SECONDS + 30))
    while ((SECONDS < deadline)); do
        if [[ "$(healthy_backends)" == "${#APP_PORTS[@]}" ]]; then
            log "the proxy finds both app servers healthy"
            return
        fi
        sleep 0.5
    done
    die "Varnish does not find both app servers healthy after 30 s:
$(varnishadm -n "$VARNISH_DIR" backend.list 2>&1)"
}

# --- Task workers -----------------------------------------------------------------------------

start_workers() {
    local i pid started=()
    for i in $(seq 1 "$CLUSTER_RQ_WORKERS"); do
        pid=$(running_pid "worker-$i" "$WORKER_PATTERN")
        if [[ -n "$pid" && "$ENV_CHANGED" == 1 ]]; then
            stop_pid_file "worker-$i" "$WORKER_PATTERN"
            pid=""
        fi
        if [[ -n "$pid" ]]; then
            log "task worker $i already running (pid $pid)"
            continue
        fi
        spawn "worker-$i" "${CLUSTER_ENV[@]}" "$PYTHON" manage.py rqworker --with-scheduler
        started+=("$i")
    done
    # Workers left by a start with more of them than now.
    local file
    for file in "$PIDS"/worker-*.pid; do
        [[ -e "$file" ]] || continue
        i=$(basename "$file" .pid)
        i=${i#worker-}
        ((i <= CLUSTER_RQ_WORKERS)) || stop_pid_file "worker-$i" "$WORKER_PATTERN"
    done
    for i in "${started[@]}"; do
        wait_worker "$i" 60 || die "task worker $i did not start listening within 60 s; end of $LOGS/worker-$i.log:
$(tail -n 30 "$LOGS/worker-$i.log")"
        log "task worker $i (pid $(pid_in "$PIDS/worker-$i.pid")), listening on the queue in Redis db 3"
    done
}

# A worker is up once it has said so after the last start banner spawn wrote in its log.
wait_worker() {
    local i=$1 seconds=$2 pid
    local deadline=$((SECONDS + seconds))
    pid=$(pid_in "$PIDS/worker-$i.pid")
    while ((SECONDS < deadline)); do
        awk '/^===== /{found = 0} /Listening on/{found = 1} END {exit !found}' "$LOGS/worker-$i.log" && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.3
    done
    return 1
}

# --- What the operator and the tests read -----------------------------------------------------

write_urls() {
    local pgbouncer=""
    [[ "$CLUSTER_PGBOUNCER" != 1 ]] || pgbouncer="postgres://$HOST:$PGBOUNCER_PORT/$DATABASE"
    "$PYTHON" - "$URLS_FILE" "$HOST" "$PROXY_PORT" "$VARNISH_ADMIN_PORT" "$PRIMARY_PORT" "$REPLICA_PORT" \
        "$REDIS_PORT" "$DATABASE" "$pgbouncer" "${APP_PORTS[@]}" <<'EOF'
import json, sys

path, host, proxy, admin, primary, replica, redis, database, pgbouncer, *apps = sys.argv[1:]
urls = {
    "proxy": f"http://{host}:{proxy}",
    "apps": [f"http://{host}:{port}" for port in apps],
    "purge": [f"http://{host}:{proxy}/"],
    "varnish_admin": f"{host}:{admin}",
    "primary": f"postgres://{host}:{primary}/{database}",
    "replica": f"postgres://{host}:{replica}/{database}",
    "pgbouncer": pgbouncer or None,
    "redis": f"redis://{host}:{redis}",
}
with open(path + ".new", "w") as out:
    json.dump(urls, out, indent=2)
    out.write("\n")
EOF
    mv "$URLS_FILE.new" "$URLS_FILE"
}

print_summary() {
    local password
    password=$(sed -n 's/^password=//p' "$VAR/logins")
    cat <<EOF

newsapp's cluster is up ($((SECONDS - START)) s):
  proxy (Varnish)   http://$HOST:$PROXY_PORT/          admin: http://$HOST:$PROXY_PORT/admin/
  app servers       http://$HOST:${APP_PORTS[0]}/  http://$HOST:${APP_PORTS[1]}/
  primary           postgres://$HOST:$PRIMARY_PORT/$DATABASE
  replica           postgres://$HOST:$REPLICA_PORT/$DATABASE
  pgbouncer         $([[ "$CLUSTER_PGBOUNCER" == 1 ]] && echo "postgres://$HOST:$PGBOUNCER_PORT/$DATABASE (transaction pooling)" || echo "off (CLUSTER_PGBOUNCER=1 make cluster puts it in front)")
  Redis             redis://$HOST:$REDIS_PORT/2 (cache), /3 (task queue), $CLUSTER_RQ_WORKERS rqworkers
Demo logins (Editor, Writer): editor / $password, writer / $password
  (the session cookie is marked Secure: sign in at http://localhost:$PROXY_PORT/admin/, which browsers treat as secure)
URLs in $URLS_FILE, settings in $ENV_FILE:
  set -a; . var/cluster/env; set +a; .venv/bin/python manage.py ...
Logs in $LOGS/, PIDs in $PIDS/. Stop it all with: make cluster-stop
EOF
}

main() {
    START=$SECONDS
    require_root
    check_knobs
    make_dirs
    # One start or stop at a time.
    exec 9>"$VAR/.lock"
    flock -w 600 9 || die "another make cluster / cluster-stop holds $VAR/.lock"
    check_ports
    install_missing
    start_services
    ensure_database
    start_replica
    start_pgbouncer
    write_env
    cluster_env_prefix
    # Varnish first: the seeding's purges then reach a proxy (with nothing cached yet) instead of
    # failing to connect.
    start_varnish
    prepare_app
    start_apps
    wait_proxy
    start_workers
    retire_pgbouncer
    write_urls
    print_summary
}

main "$@"
