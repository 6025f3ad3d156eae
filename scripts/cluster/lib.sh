# Sourced by scripts/cluster/start.sh and stop.sh: where the cluster keeps its files, its ports,
# and the helpers that start, find and stop its processes by their PID files.
# shellcheck shell=bash disable=SC2034  # the names below are used by the scripts that source this

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CONF="$ROOT/scripts/cluster"
VAR="$ROOT/var/cluster"
PIDS="$VAR/pids"
LOGS="$VAR/logs"
REPLICA_DIR="$VAR/replica"
PGBOUNCER_DIR="$VAR/pgbouncer"
VARNISH_DIR="$VAR/varnish"
REDIS_DIR="$VAR/redis"
ENV_FILE="$VAR/env"
URLS_FILE="$VAR/urls.json"
PYTHON="$ROOT/.venv/bin/python"

HOST=127.0.0.1
PRIMARY_PORT=5432
REPLICA_PORT=5433
PGBOUNCER_PORT=6432
# The cluster's own Redis, not the machine's on 6379: the failure drill restarts it.
REDIS_PORT=6380
REDIS_CACHE_DB=0
REDIS_QUEUE_DB=1
PROXY_PORT=6081
VARNISH_ADMIN_PORT=6082
APP_PORTS=(8101 8102)
DATABASE=newsapp_cluster
PG_VERSION="${NEWSAPP_PG_VERSION:-15}"
PG_BIN="/usr/lib/postgresql/$PG_VERSION/bin"

# How each of the cluster's processes is recognised: its command line holds this. A PID file left
# from an earlier boot may name an unrelated process since, which must never be stopped.
app_pattern() { echo "granian newsapp.wsgi:application --interface wsgi --host $HOST --port $1"; }
VARNISH_PATTERN="varnishd -F -n $VARNISH_DIR"
WORKER_PATTERN="manage.py rqworker --with-scheduler"
PGBOUNCER_PATTERN="$PGBOUNCER_DIR/pgbouncer.ini"
REPLICA_PATTERN="-D $REPLICA_DIR"
# redis-server keeps its command line as started (--set-proc-title no, scripts/cluster/redis.sh).
REDIS_PATTERN="redis-server --port $REDIS_PORT --bind $HOST --dir $REDIS_DIR"

log() { printf 'cluster: %s\n' "$*" >&2; }
die() {
    printf 'cluster: ERROR: %s\n' "$*" >&2
    exit 1
}

require_root() {
    [[ "$(id -u)" -eq 0 ]] || die "run as root (it installs packages, starts PostgreSQL as the postgres user): sudo $0"
}

# Run a command as the postgres OS user, from a directory it can read.
# Never with the lock's fd 9: pg_ctl's server and PgBouncer outlive the script.
as_postgres() { (cd / && runuser -u postgres -- "$@" 9>&-); }

# The PID written in a PID file (its first line: PostgreSQL's postmaster.pid has more), or nothing.
pid_in() {
    local file=$1 pid
    [[ -r "$file" ]] || return 0
    read -r pid <"$file" || true
    [[ "$pid" =~ ^[0-9]+$ ]] && echo "$pid"
    return 0
}

# Whether process PID is alive and its command line contains PATTERN (a fixed string).
is_ours() {
    local pid=$1 pattern=$2
    [[ -n "$pid" && -r "/proc/$pid/cmdline" ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$pattern"
}

# The PID of the process NAME (pids/NAME.pid) if it is running and is what it should be.
running_pid() {
    local name=$1 pattern=$2 pid
    pid=$(pid_in "$PIDS/$name.pid")
    if is_ours "$pid" "$pattern"; then
        echo "$pid"
    fi
}

# The replica's postmaster, from its own PID file (the first line of its data dir's postmaster.pid).
replica_pid() {
    local pid
    pid=$(pid_in "$REPLICA_DIR/postmaster.pid")
    if is_ours "$pid" "$REPLICA_PATTERN"; then
        echo "$pid"
    fi
}

port_in_use() { [[ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]]; }

# Refuse to start on a port that something else already listens on, naming it.
require_free_port() {
    local port=$1 what=$2
    if port_in_use "$port"; then
        die "port $port (for $what) is already taken by another process, not by this cluster:
$(ss -Hltnp "sport = :$port" 2>/dev/null)
Stop it, or stop the cluster that holds it (make cluster-stop), then run make cluster again."
    fi
}

wait_for_port() {
    local port=$1 seconds=$2 pid=${3:-}
    local deadline=$((SECONDS + seconds))
    while ((SECONDS < deadline)); do
        port_in_use "$port" && return 0
        if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
            return 1
        fi
        sleep 0.2
    done
    return 1
}

# Start a long-running command in a session of its own (a Ctrl-C in the terminal that ran make
# does not reach it), its output appended to logs/NAME.log, its PID in pids/NAME.pid.
spawn() {
    local name=$1
    shift
    local logfile="$LOGS/$name.log"
    printf '\n===== %s: %s\n' "$(date -Is)" "$*" >>"$logfile"
    # 9>&-: the lock start.sh holds (fd 9) is not handed down to a process that outlives it.
    setsid "$@" >>"$logfile" 2>&1 </dev/null 9>&- &
    echo "$!" >"$PIDS/$name.pid"
}

# Stop the process in pids/NAME.pid if it is still ours: SIGNAL (TERM by default), then up to
# SECONDS for it and its children to end, then KILL. A PID file naming anything else is dropped.
stop_pid_file() {
    local name=$1 pattern=$2 signal=${3:-TERM} seconds=${4:-20}
    local file="$PIDS/$name.pid" pid
    pid=$(pid_in "$file")
    if ! is_ours "$pid" "$pattern"; then
        rm -f "$file"
        return 0
    fi
    local family
    read -r -a family <<<"$pid $(descendants "$pid")"
    log "stopping $name (pid $pid)"
    kill "-$signal" "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + seconds))
    while ((SECONDS < deadline)) && any_alive "${family[@]}"; do
        sleep 0.2
    done
    if any_alive "${family[@]}"; then
        log "$name did not stop within ${seconds} s: killing it and its children"
        kill -KILL "${family[@]}" 2>/dev/null || true
    fi
    rm -f "$file"
}

# Every process below PID (children, grandchildren...), one line, from /proc.
descendants() {
    local parent=$1 child
    for child in $(ps -o pid= --ppid "$parent" 2>/dev/null); do
        printf '%s ' "$child"
        descendants "$child"
    done
}

# Whether any of the PIDs still runs. A zombie does not: it has exited, and waits only for its
# parent to reap it (here PID 1, for the cluster's processes, which can take two seconds).
any_alive() {
    local pid stat
    for pid in "$@"; do
        stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
        # The state follows the command's name, which is in parentheses and may hold spaces.
        stat=${stat##*) }
        [[ "${stat%% *}" == Z ]] || return 0
    done
    return 1
}

# A variable of var/cluster/env (as written by start.sh), without sourcing the whole file.
env_value() {
    local key=$1
    [[ -r "$ENV_FILE" ]] || return 0
    sed -n "s/^$key=//p" "$ENV_FILE" | tail -n 1
}
