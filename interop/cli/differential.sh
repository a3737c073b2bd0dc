#!/usr/bin/env bash
# The differential run of the client suites: start a server on a free loopback port, run the
# redis-py and redis-cli suites against it (run_against.sh), stop it, for each server named:
#
#   bash interop/cli/differential.sh            # tribus, then redis-server if installed
#   bash interop/cli/differential.sh tribus     # only tribus (`tribus serve --redis`)
#   bash interop/cli/differential.sh redis      # only a real redis-server
#
# tribus is built from this checkout. A missing redis-server is skipped with a notice unless
# TRIBUS_REQUIRE_REDIS=1. Exits non-zero if any suite fails on any server, or if tribus does
# not stop cleanly on SIGINT.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
PY=/usr/bin/python3
# shellcheck source=lib.sh
source "$here/lib.sh"
if (($#)); then servers=("$@"); else servers=(tribus redis); fi

workdir=$(mktemp -d "${TMPDIR:-/tmp}/interop-diff.XXXXXX")
server_pid=""
cleanup() {
    local rc=$?
    if [[ -n $server_pid ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$workdir"
    exit "$rc"
}
trap cleanup EXIT

# run_suites NAME PORT CMD...: start CMD in the background, wait for PING on PORT, run the
# suites, stop the server with SIGINT and wait for it.
run_suites() {
    local name=$1 port=$2
    shift 2
    echo "== $name on 127.0.0.1:$port"
    "$@" >"$workdir/$name.log" 2>&1 &
    server_pid=$!
    local deadline=$((SECONDS + 10))
    until [[ $(timeout 2 redis-cli -h 127.0.0.1 -p "$port" PING 2>/dev/null || true) == PONG ]]; do
        if ! kill -0 "$server_pid" 2>/dev/null || ((SECONDS >= deadline)); then
            echo "$name did not start; its output:" >&2
            cat "$workdir/$name.log" >&2 || true
            return 1
        fi
        sleep 0.05 # the server is starting in another process: nothing to wait on but PING
    done
    local rc=0
    REDIS_HOST=127.0.0.1 REDIS_PORT=$port bash "$here/run_against.sh" || rc=$?
    kill -INT "$server_pid"
    local stop_rc=0
    wait "$server_pid" || stop_rc=$?
    server_pid=""
    if [[ $name == tribus ]] && ((stop_rc != 0)); then
        echo "tribus serve exited with $stop_rc on SIGINT; its output:" >&2
        cat "$workdir/$name.log" >&2
        rc=1
    fi
    return "$rc"
}

failed=0
for server in "${servers[@]}"; do
    case $server in
    tribus)
        (cd "$root" && go build -o "$workdir/tribus" ./cmd/tribus)
        port=$(free_ports 1)
        run_suites tribus "$port" "$workdir/tribus" serve --redis "127.0.0.1:$port" || failed=1
        ;;
    redis)
        if ! command -v redis-server >/dev/null 2>&1; then
            if [[ ${TRIBUS_REQUIRE_REDIS:-} == 1 ]]; then
                echo "redis-server not installed, and TRIBUS_REQUIRE_REDIS=1" >&2
                failed=1
            else
                echo "redis-server not installed: skipping the real-Redis run"
            fi
            continue
        fi
        port=$(free_ports 1)
        run_suites redis-server "$port" redis-server --bind 127.0.0.1 --port "$port" --save '' \
            --appendonly no --daemonize no --dir "$workdir" || failed=1
        ;;
    *)
        echo "unknown server $server (tribus or redis)" >&2
        exit 2
        ;;
    esac
done
exit "$failed"
