#!/usr/bin/env bash
# The cluster's own Redis on 127.0.0.1:6380 (cache in db 0, task queue in db 1), apart from the
# machine's on 6379 so that it can be stopped and restarted without disturbing other programs.
# Sourced by scripts/cluster/start.sh and stop.sh; run on its own, it stops or starts just Redis,
# exactly as they do (the failure drill, bench/drill_faults.py, restarts it this way):
#
#   scripts/cluster/redis.sh stop     # SIGTERM to the PID in var/cluster/pids/redis.pid
#   scripts/cluster/redis.sh start    # the same command as make cluster, its PID in that file
#
# No persistence (--save "" --appendonly no), as scripts/services.sh starts the machine's: a restart
# starts empty, the cache and any task queued and not yet taken by a worker alike. In the foreground
# (--daemonize no) under spawn, so its PID file and log (logs/redis.log) are the cluster's own.
# shellcheck shell=bash

redis_ready() { [[ "$(redis-cli -h "$HOST" -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]; }

start_redis() {
    local pid
    pid=$(running_pid redis "$REDIS_PATTERN")
    if [[ -n "$pid" ]]; then
        log "Redis already running on $HOST:$REDIS_PORT (pid $pid)"
        return
    fi
    require_free_port "$REDIS_PORT" "the cluster's Redis"
    mkdir -p "$REDIS_DIR"
    # The arguments REDIS_PATTERN names come first; --set-proc-title no keeps them in its command
    # line (Redis would otherwise rewrite it to "redis-server HOST:PORT"); --logfile "": standard
    # output, which spawn appends to logs/redis.log.
    spawn redis redis-server --port "$REDIS_PORT" --bind "$HOST" --dir "$REDIS_DIR" \
        --save "" --appendonly no --daemonize no --set-proc-title no --logfile ""
    pid=$(pid_in "$PIDS/redis.pid")
    local deadline=$((SECONDS + 10))
    until redis_ready; do
        if ! kill -0 "$pid" 2>/dev/null || ((SECONDS >= deadline)); then
            die "Redis does not answer PING on $HOST:$REDIS_PORT; end of $LOGS/redis.log:
$(tail -n 20 "$LOGS/redis.log")"
        fi
        sleep 0.1
    done
    log "Redis on $HOST:$REDIS_PORT (pid $pid), no persistence"
}

# SIGTERM: Redis closes its clients and exits (with nothing to save).
stop_redis() { stop_pid_file redis "$REDIS_PATTERN" TERM 20; }

redis_main() {
    case "${1:-}" in
        start | stop) ;;
        *)
            echo "usage: $0 start|stop   (the cluster's own Redis on $HOST:$REDIS_PORT)" >&2
            exit 2
            ;;
    esac
    require_root
    [[ -d "$PIDS" ]] || die "the cluster was never started here (no $PIDS): make cluster"
    # Not while make cluster or cluster-stop is at work.
    exec 9>"$VAR/.lock"
    flock -w 120 9 || die "another make cluster / cluster-stop holds $VAR/.lock"
    if [[ "$1" == start ]]; then
        start_redis
    else
        [[ -n "$(running_pid redis "$REDIS_PATTERN")" ]] ||
            die "the cluster's Redis does not run (no live process in $PIDS/redis.pid)"
        stop_redis
    fi
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -euo pipefail
    # shellcheck source=scripts/cluster/lib.sh
    source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
    redis_main "$@"
fi
