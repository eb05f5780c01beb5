#!/usr/bin/env bash
# The browser tests: the clinician's journeys in a real headless Chromium (Debian's
# package), against the debug `opengp` binary on fresh SQLite databases.
#   scripts/e2e.sh                  # every test in e2e/tests/
#   scripts/e2e.sh e2e/tests/home.test.mjs
# Screenshots of the main pages are kept in target/e2e-artifacts/.
set -euo pipefail

cd "$(dirname "$0")/.."

log() { echo "scripts/e2e.sh: $*" >&2; }

if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
        log "Chromium is missing; installing Debian's chromium package"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        log "Chromium is not installed at ${CHROMIUM:-/usr/bin/chromium}: install Debian's" \
            "'chromium' package (apt-get install chromium) or set CHROMIUM to its path"
        exit 1
    fi
fi

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    log "Node.js and npm are needed for the browser tests (apt-get install nodejs npm)"
    exit 1
fi

# node_modules is (re)installed when missing or older than the lock file.
if [ ! -d e2e/node_modules ] || [ e2e/package-lock.json -nt e2e/node_modules ]; then
    log "installing the test packages (npm ci)"
    (cd e2e && npm ci --no-audit --no-fund --loglevel=error)
    touch e2e/node_modules
fi

if [ -z "${OPENGP_BIN:-}" ]; then
    cargo build -p opengp
fi

mkdir -p target/e2e-artifacts
if [ "$#" -eq 0 ]; then
    set -- e2e/tests/
fi
node --test --test-concurrency=1 "$@"
