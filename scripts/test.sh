#!/usr/bin/env bash
# Runs the test suite with the PostgreSQL backend included:
#   scripts/test.sh                     # cargo test --workspace, then the browser tests
#   scripts/test.sh -p store-postgres   # or these arguments to cargo test instead
#
# This is the README's test command. (`cargo test --workspace` alone runs the Rust tests;
# without OPENGP_TEST_POSTGRES the PostgreSQL tests print a note and skip.) This script starts the local PostgreSQL if it is
# down, creates a throwaway database, points OPENGP_TEST_POSTGRES at it, runs the tests
# and drops the database again. If OPENGP_TEST_POSTGRES is already set, that database is
# used as it is.
set -euo pipefail

cd "$(dirname "$0")/.."

PGHOST_ADDR=${OPENGP_PG_HOST:-127.0.0.1}
PGPORT_NUM=${OPENGP_PG_PORT:-5432}

log() { echo "scripts/test.sh: $*" >&2; }

ensure_postgres() {
    if pg_isready -q -h "$PGHOST_ADDR" -p "$PGPORT_NUM"; then
        return 0
    fi
    log "PostgreSQL is not answering on $PGHOST_ADDR:$PGPORT_NUM; starting it"
    if [ -d /etc/postgresql ]; then
        local version
        for version in $(ls /etc/postgresql); do
            pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
        done
    fi
    local waited=0
    until pg_isready -q -h "$PGHOST_ADDR" -p "$PGPORT_NUM"; do
        if [ "$waited" -ge 60 ]; then
            log "PostgreSQL did not start within 60 s"
            return 1
        fi
        sleep 1
        waited=$((waited + 1))
    done
    log "PostgreSQL is up"
}

# The first of these roles that can connect (trust auth) and create databases.
pick_role() {
    local role
    for role in "${PGUSER:-root}" root postgres; do
        if psql -h "$PGHOST_ADDR" -p "$PGPORT_NUM" -U "$role" -d postgres -Atqc \
            "SELECT 1 FROM pg_roles WHERE rolname = current_user AND (rolcreatedb OR rolsuper)" \
            </dev/null 2>/dev/null | grep -q 1; then
            echo "$role"
            return 0
        fi
    done
    return 1
}

SCRATCH_DB=""
SCRATCH_ROLE=""

drop_scratch_db() {
    if [ -n "$SCRATCH_DB" ]; then
        psql -h "$PGHOST_ADDR" -p "$PGPORT_NUM" -U "$SCRATCH_ROLE" -d postgres -qc \
            "DROP DATABASE IF EXISTS \"$SCRATCH_DB\" WITH (FORCE)" </dev/null >/dev/null 2>&1 \
            || log "could not drop database $SCRATCH_DB"
    fi
}

if [ -z "${OPENGP_TEST_POSTGRES:-}" ]; then
    ensure_postgres
    SCRATCH_ROLE=$(pick_role) || { log "no PostgreSQL role here can create a database"; exit 1; }
    SCRATCH_DB="opengp_test_$$_$(date +%s)"
    trap drop_scratch_db EXIT
    psql -h "$PGHOST_ADDR" -p "$PGPORT_NUM" -U "$SCRATCH_ROLE" -d postgres -qc \
        "CREATE DATABASE \"$SCRATCH_DB\"" </dev/null
    export OPENGP_TEST_POSTGRES="postgres://$SCRATCH_ROLE@$PGHOST_ADDR:$PGPORT_NUM/$SCRATCH_DB"
    log "PostgreSQL tests use the scratch database $SCRATCH_DB (role $SCRATCH_ROLE)"
fi

if [ "$#" -eq 0 ]; then
    cargo test --workspace
    # The whole suite includes the browser tests (headless Chromium).
    if [ "${OPENGP_SKIP_E2E:-}" = "1" ]; then
        log "OPENGP_SKIP_E2E=1: the browser tests (scripts/e2e.sh) are skipped"
    else
        scripts/e2e.sh
    fi
else
    cargo test "$@"
fi
