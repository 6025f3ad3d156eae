#!/usr/bin/env bash
# Stop what scripts/cluster/start.sh started, by its PID files in var/cluster/pids/ and nothing
# else: a PID file whose process is gone, or is no longer the program it named, is only removed.
# The cluster's own Redis (6380) is stopped; the machine's PostgreSQL only if the cluster started
# it (primary.pid), and the machine's Redis (6379) is none of the cluster's business. The replica's
# data stays in var/cluster/replica, so the next start is quick.
set -euo pipefail

# shellcheck source=scripts/cluster/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=scripts/cluster/redis.sh
source "$(dirname "${BASH_SOURCE[0]}")/redis.sh"

stop_workers() {
    local file name
    for file in "$PIDS"/worker-*.pid; do
        [[ -e "$file" ]] || continue
        name=$(basename "$file" .pid)
        # TERM is rq's warm shutdown: the task at hand is finished first (up to 30 s).
        stop_pid_file "$name" "$WORKER_PATTERN" TERM 30
    done
}

stop_apps() {
    local port
    for port in "${APP_PORTS[@]}"; do
        stop_pid_file "app-$port" "$(app_pattern "$port")" TERM 20
    done
}

stop_replica() {
    local pid
    pid=$(replica_pid)
    if [[ -n "$pid" ]]; then
        log "stopping the replica (pid $pid)"
        # Fast shutdown: readers' sessions are ended, nothing is lost (it only replays the primary).
        as_postgres "$PG_BIN/pg_ctl" -D "$REPLICA_DIR" -m fast -w -t 60 stop >&2 ||
            stop_pid_file replica "$REPLICA_PATTERN" QUIT 10
    fi
    rm -f "$PIDS/replica.pid"
}

# The machine's PostgreSQL, only when the cluster started it.
stop_primary() {
    if [[ -e "$PIDS/primary.pid" ]]; then
        local data
        data=$(pg_lsclusters -h 2>/dev/null | awk -v v="$PG_VERSION" '$1 == v && $2 == "main" {print $6}')
        # SIGINT is PostgreSQL's fast shutdown.
        stop_pid_file primary "${data:-postgres}" INT 60
    fi
}

main() {
    require_root
    if [[ ! -d "$PIDS" ]]; then
        log "nothing to stop: $PIDS does not exist"
        return
    fi
    exec 9>"$VAR/.lock"
    flock -w 600 9 || die "another make cluster / cluster-stop holds $VAR/.lock"
    stop_workers
    stop_pid_file varnish "$VARNISH_PATTERN" TERM 20
    stop_apps
    stop_pid_file pgbouncer "$PGBOUNCER_PATTERN" TERM 20
    stop_replica
    # After everything that uses it. A redis.pid of an older cluster, which named the machine's
    # Redis, is only removed: the pattern is the cluster's own redis-server's.
    stop_redis
    stop_primary
    local left
    left=$(find "$PIDS" -name '*.pid' -printf '%f ')
    [[ -z "$left" ]] || die "PID files left in $PIDS: $left"
    log "stopped: nothing of the cluster runs (its files stay in $VAR)"
}

main "$@"
