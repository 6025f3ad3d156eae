#!/usr/bin/env bash
# Install what the browser tests (tests/browser, `make test-browser`) need, when it is missing:
# Debian's Chromium and a Java runtime (apt), Node.js and npm (apt, only when there is no npm),
# then axe-core and vnu-jar from package-lock.json (`npm ci --ignore-scripts`).
#
# Idempotent: what is there already is left alone, and `npm ci` runs only when package.json or
# package-lock.json changed since the last install. apt needs root. Never downloads a browser of
# its own (no `playwright install`): the tests drive /usr/bin/chromium. vnu-jar's install script,
# which would fetch a Java runtime, is skipped; the jar itself ships in the npm package.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'browser-tools: %s\n' "$*" >&2; }
die() {
    printf 'browser-tools: ERROR: %s\n' "$*" >&2
    exit 1
}

# shellcheck source=scripts/apt.sh
source "$(dirname "${BASH_SOURCE[0]}")/apt.sh"

[[ -x /usr/bin/chromium ]] || apt_install chromium
command -v java >/dev/null 2>&1 || apt_install default-jre-headless
command -v npm >/dev/null 2>&1 || apt_install nodejs npm

stamp=node_modules/.newsapp-installed
if [[ ! -e $stamp || package.json -nt $stamp || package-lock.json -nt $stamp ]]; then
    log "npm ci (axe-core, vnu-jar)"
    npm ci --ignore-scripts --no-audit --no-fund >&2 || die "npm ci failed"
    touch "$stamp"
fi

for file in node_modules/axe-core/axe.min.js node_modules/vnu-jar/build/dist/vnu.jar; do
    [[ -s $file ]] || die "$file is missing after npm ci"
done
log "ready: $(/usr/bin/chromium --version 2>/dev/null | head -n1), java $(java -version 2>&1 | head -n1 | cut -d'"' -f2)"
