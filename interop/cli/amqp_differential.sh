#!/usr/bin/env bash
# The differential run of the AMQP 0-9-1 client suite: start a server on a free loopback port,
# run the pika suite (interop/python/test_amqp_pika.py) against it, stop it, for each server
# named, then print one summary line per server:
#
#   bash interop/cli/amqp_differential.sh                # tribus, then rabbitmq if installed
#   bash interop/cli/amqp_differential.sh tribus         # only tribus (`tribus serve --amqp`)
#   bash interop/cli/amqp_differential.sh rabbitmq       # only a throwaway RabbitMQ node
#
# tribus is built from this checkout. RabbitMQ is a fresh node (own data dir, node name, epmd
# and distribution ports, no plugins) started from /usr/lib/rabbitmq/bin/rabbitmq-server as the
# current user ($RABBITMQ_SERVER overrides that path) and removed afterwards. A missing
# rabbitmq-server is skipped with a notice unless TRIBUS_REQUIRE_RABBITMQ=1. Exits non-zero if
# the suite fails on any server, or if tribus does not stop cleanly on SIGINT (exit 0 and
# "tribus: stopped"). The suite alone, against a server already running:
#
#   AMQP_PORT=5672 /usr/bin/python3 interop/python/test_amqp_pika.py
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
PY=/usr/bin/python3 # Debian's interpreter: python3-pika is only importable there
# Not /usr/sbin/rabbitmq-server, which switches to the rabbitmq user.
RABBITMQ_SERVER=${RABBITMQ_SERVER:-/usr/lib/rabbitmq/bin/rabbitmq-server}
SUITE=$root/interop/python/test_amqp_pika.py
# shellcheck source=lib.sh
source "$here/lib.sh"
if (($#)); then servers=("$@"); else servers=(tribus rabbitmq); fi
for server in "${servers[@]}"; do
    case $server in
    tribus | rabbitmq) ;;
    *)
        echo "unknown server $server (tribus or rabbitmq)" >&2
        exit 2
        ;;
    esac
done

start_time=$(date +%s.%N)
workdir=$(mktemp -d "${TMPDIR:-/tmp}/interop-amqp-diff.XXXXXX")
server_pid=""  # tribus, or rabbitmq-server (then also its process group: it runs under setsid)
server_group=0 # 1 when server_pid leads a process group of its own
epmd_pid=""
epmd_port=""
cleanup() {
    local rc=$?
    stop_server KILL
    stop_epmd
    rm -rf "$workdir"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

stop_epmd() {
    if [[ -n $epmd_pid ]]; then
        kill "$epmd_pid" 2>/dev/null || true
        wait "$epmd_pid" 2>/dev/null || true
        epmd_pid=""
    fi
    # Should the node have started an epmd of its own on our port after all, stop that one:
    # the port was free when chosen, so whatever listens there now is this run's.
    if [[ -n $epmd_port ]]; then
        local pid
        for pid in $(ss -ltnpH "sport = :$epmd_port" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u); do
            [[ $(cat "/proc/$pid/comm" 2>/dev/null) == epmd ]] && kill "$pid" 2>/dev/null || true
        done
        epmd_port=""
    fi
}

declare -A summary

# run_suite NAME PORT LOG: run the pika suite against 127.0.0.1:PORT; record its summary.
run_suite() {
    local name=$1 port=$2 rc=0
    AMQP_HOST=127.0.0.1 AMQP_PORT=$port "$PY" "$SUITE" 2>&1 | tee "$workdir/$name.suite" || rc=$?
    local ran result bad
    ran=$(grep -E '^Ran [0-9]+ tests? in ' "$workdir/$name.suite" | tail -1 || true)
    result=$(grep -E '^(OK|FAILED)( |$)' "$workdir/$name.suite" | tail -1 || true)
    bad=$(sed -nE 's/^(FAIL|ERROR): ([A-Za-z0-9_]+) .*/\2/p' "$workdir/$name.suite" | paste -sd, - || true)
    summary[$name]="${ran:-no unittest summary}: ${result:-exit $rc}${bad:+ [$bad]}"
    return "$rc"
}

run_tribus() {
    echo "== building tribus"
    (cd "$root" && go build -o "$workdir/tribus" ./cmd/tribus)
    local port
    port=$(free_ports 1)
    echo "== tribus serve --amqp 127.0.0.1:$port"
    "$workdir/tribus" serve --amqp "127.0.0.1:$port" >"$workdir/tribus.log" 2>&1 &
    server_pid=$!
    server_group=0
    local wrc=0
    wait_server amqp "$port" "$server_pid" 10 || wrc=$?
    if ((wrc != 0)); then
        echo "tribus did not accept AMQP connections ($([[ $wrc == 3 ]] && echo exited || echo 'timed out')); its output:" >&2
        cat "$workdir/tribus.log" >&2 || true
        summary[tribus]="did not start"
        stop_server KILL
        return 1
    fi
    local rc=0
    run_suite tribus "$port" || rc=$?
    stop_server INT
    if ((stop_rc != 0)) || ! grep -qx 'tribus: stopped' "$workdir/tribus.log"; then
        echo "tribus serve did not stop cleanly on SIGINT (exit $stop_rc); its output:" >&2
        cat "$workdir/tribus.log" >&2
        summary[tribus]+=" (unclean stop: exit $stop_rc)"
        rc=1
    fi
    return "$rc"
}

run_rabbitmq() {
    local ports port dist_port d=$workdir/rabbitmq
    mapfile -t ports < <(free_ports 3)
    port=${ports[0]} dist_port=${ports[1]} epmd_port=${ports[2]}
    mkdir -p "$d"
    echo '[].' >"$d/enabled_plugins"
    # Our own epmd on its own port, so nothing of the node outlives the run.
    epmd -port "$epmd_port" -address 127.0.0.1 >"$d/epmd.log" 2>&1 &
    epmd_pid=$!
    local deadline=$((SECONDS + 5))
    until "$PY" -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()' \
        "$epmd_port" 2>/dev/null; do
        if ! kill -0 "$epmd_pid" 2>/dev/null || ((SECONDS >= deadline)); then
            echo "epmd did not start on port $epmd_port; its output:" >&2
            cat "$d/epmd.log" >&2 || true
            summary[rabbitmq]="did not start (epmd)"
            return 1
        fi
        sleep 0.05 # epmd is starting in another process
    done
    echo "== rabbitmq-server (node tdiff-$port@localhost) on 127.0.0.1:$port"
    env HOME="$d" RABBITMQ_NODENAME="tdiff-$port@localhost" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
        RABBITMQ_NODE_PORT="$port" RABBITMQ_DIST_PORT="$dist_port" ERL_EPMD_PORT="$epmd_port" \
        RABBITMQ_MNESIA_BASE="$d/mnesia" RABBITMQ_LOG_BASE="$d/log" \
        RABBITMQ_ENABLED_PLUGINS_FILE="$d/enabled_plugins" RABBITMQ_FEATURE_FLAGS_FILE="$d/feature_flags" \
        RABBITMQ_PLUGINS_EXPAND_DIR="$d/plugins-expand" \
        setsid "$RABBITMQ_SERVER" >"$d/out.log" 2>&1 &
    server_pid=$!
    # setsid(1) only forks when already a group leader, which a job of this non-interactive
    # shell never is: so the node's process group is server_pid.
    server_group=1
    local wrc=0 t0=$SECONDS
    wait_server amqp "$port" "$server_pid" 60 || wrc=$?
    if ((wrc != 0)); then
        echo "rabbitmq-server did not accept AMQP connections ($([[ $wrc == 3 ]] && echo exited || echo 'timed out')); the tail of its log:" >&2
        tail -n 40 "$d/out.log" >&2 || true
        summary[rabbitmq]="did not start"
        stop_server KILL
        stop_epmd
        return 1
    fi
    echo "== rabbitmq-server ready after $((SECONDS - t0)) s"
    local rc=0
    run_suite rabbitmq "$port" || rc=$?
    stop_server TERM
    stop_epmd
    return "$rc"
}

failed=0
ran=()
for server in "${servers[@]}"; do
    case $server in
    tribus)
        ran+=(tribus)
        run_tribus || failed=1
        ;;
    rabbitmq)
        if [[ ! -x $RABBITMQ_SERVER ]] || ! command -v epmd >/dev/null 2>&1; then
            if [[ ${TRIBUS_REQUIRE_RABBITMQ:-} == 1 ]]; then
                echo "rabbitmq-server not installed ($RABBITMQ_SERVER), and TRIBUS_REQUIRE_RABBITMQ=1" >&2
                summary[rabbitmq]="not installed (required: TRIBUS_REQUIRE_RABBITMQ=1)"
                failed=1
            else
                echo "rabbitmq-server not installed ($RABBITMQ_SERVER): skipping the real-RabbitMQ run"
                summary[rabbitmq]="skipped: not installed"
            fi
            ran+=(rabbitmq)
            continue
        fi
        ran+=(rabbitmq)
        run_rabbitmq || failed=1
        ;;
    esac
done

echo "== summary (pika $("$PY" -c 'import pika; print(pika.__version__)'))"
for server in "${ran[@]}"; do
    printf '%-9s %s\n' "$server" "${summary[$server]:-not run}"
done
echo "total wall time: $("$PY" -c 'import sys, time; print("%.1f" % (time.time() - float(sys.argv[1])))' "$start_time") s"
exit "$failed"
