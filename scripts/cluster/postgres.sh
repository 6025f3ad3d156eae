# Sourced by scripts/cluster/start.sh: the PostgreSQL side of the cluster. The primary is the
# machine's main cluster (started by scripts/services.sh when down, and then stopped again by
# stop.sh); the streaming replica on 5433 and PgBouncer (CLUSTER_PGBOUNCER=1) are the cluster's own.
# shellcheck shell=bash

# --- PostgreSQL primary: the machine's own, started by services.sh when down --------------------

pg_ready_on() { pg_isready -q -h "$HOST" -p "$1" >/dev/null 2>&1; }

start_primary() {
    local had_postgres=0 settings
    pg_ready_on "$PRIMARY_PORT" && had_postgres=1
    settings=$("$ROOT/scripts/services.sh" postgres 9>&-) || die "scripts/services.sh could not start PostgreSQL"
    PRIMARY_URL=$(sed -n 's/^DATABASE_URL=//p' <<<"$settings")
    PRIMARY_URL="${PRIMARY_URL%/*}/$DATABASE"
    # What the cluster started, it stops; what was running before it, stop.sh leaves running. A
    # record of an earlier start whose process has gone (someone restarted it since) is dropped.
    local data
    data=$(pg_lsclusters -h | awk -v v="$PG_VERSION" '$1 == v && $2 == "main" {print $6}')
    [[ -n "$(running_pid primary "$data")" ]] || rm -f "$PIDS/primary.pid"
    if [[ "$had_postgres" == 0 ]]; then
        pid_in "$data/postmaster.pid" >"$PIDS/primary.pid"
        log "started the machine's PostgreSQL (pid $(cat "$PIDS/primary.pid")): make cluster-stop stops it"
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

# Wait until the replica streams (0), or its log says the primary no longer has the WAL it needs
# (1, at once: the copy must be made afresh), or SECONDS pass (1). A postmaster gone dies here.
wait_streaming() {
    local deadline=$((SECONDS + $1)) since=$SECONDS
    while ((SECONDS < deadline)); do
        replica_streaming && return 0
        replica_behind_recycled_wal "$REPLICA_LOG_START" && return 1
        # pg_ctl -W returns before the postmaster writes its PID file: a few seconds' leeway.
        if [[ -z "$(replica_pid)" ]] && ((SECONDS - since >= 5)); then
            die "the replica is not running; end of $LOGS/replica.log:
$(tail -n 20 "$LOGS/replica.log")"
        fi
        sleep 0.5
    done
    return 1
}

start_replica_server() {
    write_replica_config
    # pg_ctl runs as postgres, which must be able to write the log.
    [[ -e "$LOGS/replica.log" ]] || install -o postgres -g postgres -m 0640 /dev/null "$LOGS/replica.log"
    REPLICA_LOG_START=$(wc -l <"$LOGS/replica.log")
    # -W, no waiting for connections: a copy the primary has recycled WAL from under never accepts
    # any (it cannot reach a consistent state), so pg_ctl -w would wait out its timeout;
    # wait_streaming reads that from the log at once.
    as_postgres "$PG_BIN/pg_ctl" -D "$REPLICA_DIR" -l "$LOGS/replica.log" -W start >&2 ||
        die "the replica did not start; end of $LOGS/replica.log:
$(tail -n 20 "$LOGS/replica.log")"
    ln -sfn ../replica/postmaster.pid "$PIDS/replica.pid"
}

stop_replica_server() {
    as_postgres "$PG_BIN/pg_ctl" -D "$REPLICA_DIR" -m fast -w -t 60 stop >&2 || true
    # Its data directory is about to be replaced: never under a running server.
    [[ -z "$(replica_pid)" ]] || die "the replica (pid $(replica_pid)) does not stop; $REPLICA_DIR left as it is"
}

# The replica, streaming from the primary. Stopped long enough (or left by a start that failed),
# it may need WAL the primary has recycled meanwhile: then it is copied afresh. The waits allow
# for a replay of the WAL written while it was away.
start_replica() {
    if [[ -n "$(replica_pid)" ]]; then
        ln -sfn ../replica/postmaster.pid "$PIDS/replica.pid"
        REPLICA_LOG_START=$(wc -l <"$LOGS/replica.log" 2>/dev/null || echo 0)
        if wait_streaming 60; then
            log "replica already running on $HOST:$REPLICA_PORT (pid $(replica_pid)), streaming"
            return
        fi
        log "the running replica does not stream from the primary (end of $LOGS/replica.log below); copying it afresh"
    else
        require_free_port "$REPLICA_PORT" "the PostgreSQL replica"
        replica_matches_primary || base_backup
        start_replica_server
        if wait_streaming 120; then
            log "replica streaming on $HOST:$REPLICA_PORT (pid $(replica_pid))"
            return
        fi
        log "the replica does not stream from the primary (end of $LOGS/replica.log below); copying it afresh"
    fi
    tail -n 5 "$LOGS/replica.log" >&2
    stop_replica_server
    base_backup
    start_replica_server
    wait_streaming 120 || die "the replica does not stream from the primary; see $LOGS/replica.log"
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
