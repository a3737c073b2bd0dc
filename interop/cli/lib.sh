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
