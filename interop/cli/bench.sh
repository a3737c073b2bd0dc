#!/usr/bin/env bash
# redis-benchmark against tribus serve and redis-server, side by side on this machine: the
# same command, the servers alternating for ROUNDS rounds so that both see the same load.
#
#   bash interop/cli/bench.sh            # PUBLISH of 128 bytes, pipelines of 16, 50 clients
#   ROUNDS=5 N=2000000 bash interop/cli/bench.sh
#
# It prints each round's requests per second and the ratio of the means. Not part of CI.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
ROUNDS=${ROUNDS:-3}
N=${N:-2000000}
PIPELINE=${PIPELINE:-16}
CLIENTS=${CLIENTS:-50}
payload=$(head -c 128 /dev/zero | tr '\0' 'p')

workdir=$(mktemp -d "${TMPDIR:-/tmp}/interop-bench.XXXXXX")
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$workdir"
}
trap cleanup EXIT

port() {
    /usr/bin/python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_ping() {
    for _ in $(seq 200); do
        [[ $(redis-cli -p "$1" PING 2>/dev/null || true) == PONG ]] && return 0
        sleep 0.05 # the server process is starting
    done
    echo "no server on port $1" >&2
    return 1
}

(cd "$root" && go build -o "$workdir/tribus" ./cmd/tribus)
tport=$(port)
"$workdir/tribus" serve --redis "127.0.0.1:$tport" >/dev/null &
pids+=($!)
rport=$(port)
redis-server --bind 127.0.0.1 --port "$rport" --save '' --appendonly no --dir "$workdir" >/dev/null &
pids+=($!)
wait_ping "$tport"
wait_ping "$rport"

rps() {
    redis-benchmark -p "$1" -c "$CLIENTS" -P "$PIPELINE" -n "$N" -q PUBLISH bench "$payload" 2>&1 |
        tr '\r' '\n' | grep 'requests per second' | tail -1 | sed -E 's/.*: ([0-9.]+) requests per second.*/\1/'
}

echo "redis-benchmark -c $CLIENTS -P $PIPELINE -n $N PUBLISH bench <128 bytes>, $ROUNDS rounds"
rsum=0 tsum=0
for r in $(seq "$ROUNDS"); do
    a=$(rps "$rport")
    b=$(rps "$tport")
    echo "round $r: redis-server $a rps, tribus $b rps"
    rsum=$(/usr/bin/python3 -c "print($rsum + $a)")
    tsum=$(/usr/bin/python3 -c "print($tsum + $b)")
done
/usr/bin/python3 -c "print(f'mean: redis-server {$rsum/$ROUNDS:.0f} rps, tribus {$tsum/$ROUNDS:.0f} rps, ratio {$tsum/$rsum:.2f}x')"
