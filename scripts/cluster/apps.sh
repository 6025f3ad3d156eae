# Sourced by scripts/cluster/start.sh: the Django side of the cluster. var/cluster/env (the settings
# every process of the cluster and an operator's manage.py run with), the database's migrations and
# demo, the two granian app servers and the rq task workers.
# shellcheck shell=bash

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
CACHE_URL=redis://$HOST:$REDIS_PORT/$REDIS_CACHE_DB
NEWSAPP_TASKS_BACKEND=rq
NEWSAPP_TASKS_REDIS_URL=redis://$HOST:$REDIS_PORT/$REDIS_QUEUE_DB
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
        log "task worker $i (pid $(pid_in "$PIDS/worker-$i.pid")), listening on the queue in Redis db $REDIS_QUEUE_DB"
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
