#!/usr/bin/env bash
# Start newsapp's cluster on this machine (docs/scaling.md, "The cluster on one machine"):
#
#   PostgreSQL primary  127.0.0.1:5432  the machine's main cluster (scripts/services.sh), db newsapp_cluster
#   streaming replica   127.0.0.1:5433  var/cluster/replica, made with pg_basebackup -R
#   PgBouncer           127.0.0.1:6432  only with CLUSTER_PGBOUNCER=1 (transaction pooling, both databases)
#   Redis               127.0.0.1:6380  the cluster's own, no persistence: cache in db 0, task queue in db 1
#   two app servers     127.0.0.1:8101 and :8102 (granian, production settings from var/cluster/env)
#   Varnish             127.0.0.1:6081 (admin 6082), scripts/cluster/varnish.vcl
#   task workers        2 x manage.py rqworker --with-scheduler
#
# Idempotent: what is running already is left running (app servers and workers are restarted when
# var/cluster/env changes, an edited VCL is loaded into the running Varnish). A port taken by
# anything else stops it with the owner named. Run as root. Writes var/cluster/urls.json and
# var/cluster/env; PID files in var/cluster/pids/, logs in var/cluster/logs/.
#
# This file is the sequence; each part is in a file of its own, sourced below: postgres.sh (primary,
# replica, PgBouncer), redis.sh, apps.sh (the env, migrations, app servers, task workers), proxy.sh.
#
# Knobs (environment): CLUSTER_PGBOUNCER=1, CLUSTER_APP_WORKERS (2) and CLUSTER_APP_THREADS (2) per
# app server, CLUSTER_RQ_WORKERS (2), CLUSTER_VARNISH_MEMORY (256m).
set -euo pipefail

HERE="$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source=scripts/cluster/lib.sh
source "$HERE/lib.sh"
# shellcheck source=scripts/apt.sh
source "$ROOT/scripts/apt.sh"
# shellcheck source=scripts/cluster/postgres.sh
source "$HERE/postgres.sh"
# shellcheck source=scripts/cluster/redis.sh
source "$HERE/redis.sh"
# shellcheck source=scripts/cluster/apps.sh
source "$HERE/apps.sh"
# shellcheck source=scripts/cluster/proxy.sh
source "$HERE/proxy.sh"

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
    if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
        apt_install redis-server
    fi
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
    [[ -n "$(running_pid redis "$REDIS_PATTERN")" ]] || require_free_port "$REDIS_PORT" "the cluster's Redis"
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
  Redis             redis://$HOST:$REDIS_PORT/$REDIS_CACHE_DB (cache), /$REDIS_QUEUE_DB (task queue): the cluster's own; $CLUSTER_RQ_WORKERS rqworkers
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
    start_primary
    ensure_database
    start_replica
    start_pgbouncer
    start_redis
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
