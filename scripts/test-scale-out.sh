#!/usr/bin/env bash
# The whole suite on the scale-out stack: starts the throwaway services (scripts/services.sh:
# PostgreSQL, Redis, S3 on Ceph radosgw), runs vitest with their FERRY_TEST_* variables (every test
# file gets its own database, bucket and Redis prefix: test/support/test-stack.ts; the scale-out
# end-to-end tests also put two instances behind nginx), and stops the services afterwards.
set -uo pipefail
cd "$(dirname "$0")/.."
# Two steps: `eval "$(scripts/services.sh start)" || exit 1` would not notice a failed start.
env=$(scripts/services.sh start) || { scripts/services.sh stop >/dev/null 2>&1; exit 1; }
eval "$env"
npx vitest run "$@"
status=$?
scripts/services.sh stop
exit $status
