#!/bin/sh
# Make PostgreSQL's server binaries available for the test suite (tests/pg.py starts a throwaway
# server on 127.0.0.1). Idempotent: does nothing when initdb is already installed, and nothing
# when apt-get is unavailable (the PostgreSQL tests are then skipped with a clear reason).
set -eu

if command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    echo "postgres: initdb found"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "postgres: initdb missing and apt-get unavailable; PostgreSQL tests will be skipped" >&2
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends postgresql
ls /usr/lib/postgresql/*/bin/initdb
