# Sourced by the scripts that install Debian packages they need (services.sh, browser-tools.sh).
# The caller defines log and die. apt-get update runs once per script run, and only when needed.
apt_updated=""
apt_install() {
    [[ $(id -u) -eq 0 ]] || die "$* missing and not root: install it with apt-get install -y $*"
    export DEBIAN_FRONTEND=noninteractive
    if [[ -z "$apt_updated" ]]; then
        log "apt-get update"
        apt-get update -q >&2 || die "apt-get update failed; cannot install $*"
        apt_updated=1
    fi
    log "apt-get install -y $*"
    apt-get install -y -q --no-install-recommends "$@" >&2 || die "apt-get install $* failed"
}
