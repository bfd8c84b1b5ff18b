#!/usr/bin/env bash
# The whole suite against PostgreSQL: starts a throwaway server (scripts/services.sh), gives every
# test file its own database on it (test/support/test-database.ts), and stops it afterwards.
set -uo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/services.sh start)" || exit 1
npx vitest run "$@"
status=$?
scripts/services.sh stop
exit $status
