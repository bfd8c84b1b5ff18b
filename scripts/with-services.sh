#!/usr/bin/env bash
# Runs a command with the scale-out services up: starts the throwaway PostgreSQL, Redis and S3
# (Ceph radosgw) of scripts/services.sh, exports their FERRY_TEST_* variables, runs the command,
# and stops the services afterwards, whatever the command's outcome.
#
#   scripts/with-services.sh npx vitest run          # npm run test:scale-out
#   scripts/with-services.sh tsx bench/s3-throughput.ts   # npm run bench:s3
set -uo pipefail
cd "$(dirname "$0")/.."
if [ "$#" -eq 0 ]; then echo "usage: $0 command [args...]" >&2; exit 2; fi
# Two steps: `eval "$(scripts/services.sh start)" || exit 1` would not notice a failed start.
env=$(scripts/services.sh start) || { scripts/services.sh stop >/dev/null 2>&1; exit 1; }
eval "$env"
"$@"
status=$?
scripts/services.sh stop
exit $status
