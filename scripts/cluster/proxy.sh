# Sourced by scripts/cluster/start.sh: the proxy in front, Varnish with scripts/cluster/varnish.vcl.
# shellcheck shell=bash

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
