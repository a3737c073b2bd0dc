# Shared by the differential scripts (sourced; PY must be set to the Python to use).

# free_ports N: N distinct free loopback TCP ports, one a line.
free_ports() {
    "$PY" -c 'import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
for s in socks:
    print(s.getsockname()[1])
for s in socks:
    s.close()' "$1"
}

# wait_server KIND PORT PID TIMEOUT: wait until a KIND (amqp or kafka) client works against
# 127.0.0.1:PORT: 0; 3 if process PID exits first, 4 on timeout (wait_server.py). Runs as a
# job, so that a SIGINT or SIGTERM of the script is acted on at once.
wait_server() {
    "$PY" "$(dirname "${BASH_SOURCE[0]}")/wait_server.py" "$@" &
    wait $!
}

# stop_server SIGNAL: stop the running server $server_pid (and its process group when
# $server_group is 1), waiting for it; SIGTERM or SIGINT first gets 10 s before SIGKILL.
# Sets stop_rc to the server's exit status.
stop_server() {
    stop_rc=0
    [[ -n $server_pid ]] || return 0
    local sig=$1 target=$server_pid
    ((${server_group:-0})) && target=-$server_pid
    kill "-$sig" -- "$target" 2>/dev/null || true
    if [[ $sig != KILL ]]; then
        local deadline=$((SECONDS + 10))
        while kill -0 "$server_pid" 2>/dev/null && ((SECONDS < deadline)); do
            sleep 0.1
        done
        if kill -0 "$server_pid" 2>/dev/null; then
            echo "server $server_pid did not stop on SIG$sig within 10 s: killing it" >&2
            kill -KILL -- "$target" 2>/dev/null || true
        fi
    fi
    wait "$server_pid" 2>/dev/null || stop_rc=$?
    # Anything left of the group (e.g. erl_child_setup) goes too.
    ((${server_group:-0})) && kill -KILL -- "-$server_pid" 2>/dev/null || true
    server_pid=""
    server_group=0
}
