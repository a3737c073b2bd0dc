#!/usr/bin/env bash
# Run the Python (redis-py) and shell (redis-cli) interop suites against one
# server address. Both suites always run; exit status is non-zero if either
# fails.
#
#   REDIS_PORT=6379 [REDIS_HOST=127.0.0.1] bash interop/cli/run_against.sh
set -euo pipefail

export REDIS_HOST=${REDIS_HOST:-127.0.0.1}
if [[ -z ${REDIS_PORT:-} ]]; then
    echo "REDIS_PORT must be set (REDIS_HOST defaults to 127.0.0.1)" >&2
    exit 2
fi
export REDIS_PORT

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
interop=$(dirname "$here")
PY=/usr/bin/python3    # Debian's interpreter: the one that has python3-redis

echo "== interop suites against $REDIS_HOST:$REDIS_PORT"

py_rc=0
echo "== python (redis-py $("$PY" -c 'import redis; print(redis.__version__)' 2>/dev/null || echo '?')): $interop/python/test_pubsub.py"
"$PY" "$interop/python/test_pubsub.py" || py_rc=$?

cli_rc=0
echo "== shell ($(redis-cli --version 2>/dev/null || echo 'redis-cli ?')): $here/test_redis_cli.sh"
bash "$here/test_redis_cli.sh" || cli_rc=$?

echo "== summary: python suite $([[ $py_rc == 0 ]] && echo PASS || echo "FAIL (rc=$py_rc)"), shell suite $([[ $cli_rc == 0 ]] && echo PASS || echo "FAIL (rc=$cli_rc)")"
if ((py_rc != 0 || cli_rc != 0)); then
    exit 1
fi
exit 0
