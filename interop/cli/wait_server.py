"""Wait until a server started by a differential script accepts real clients.

    wait_server.py KIND PORT PID TIMEOUT

KIND is amqp (a pika connection) or kafka (kafka-python's admin client lists topics). It
polls every 0.1 s and exits 0 once a client works against 127.0.0.1:PORT, 3 if process PID
exits first, 4 after TIMEOUT seconds. The scripts run it as a job, so that a SIGINT or
SIGTERM of theirs is acted on at once (it ends by itself when the server is gone).
"""
import logging
import socket
import sys
import time


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def amqp_probe(port):
    import pika
    logging.getLogger("pika").setLevel(logging.CRITICAL)
    params = pika.ConnectionParameters(host="127.0.0.1", port=port, connection_attempts=1,
                                       socket_timeout=2, stack_timeout=4, blocked_connection_timeout=2)
    pika.BlockingConnection(params).close()


def kafka_probe(port):
    logging.getLogger("kafka").setLevel(logging.CRITICAL)
    from kafka import KafkaAdminClient
    a = KafkaAdminClient(bootstrap_servers="127.0.0.1:%d" % port, request_timeout_ms=2000,
                         api_version_auto_timeout_ms=2000)
    a.list_topics()
    a.close()


def main():
    kind, port, pid, timeout = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    probe = {"amqp": amqp_probe, "kafka": kafka_probe}[kind]
    deadline = time.monotonic() + timeout
    while True:
        if not alive(pid):
            sys.exit(3)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            probe(port)
            sys.exit(0)
        except Exception:
            pass
        if time.monotonic() >= deadline:
            sys.exit(4)
        time.sleep(0.1)  # the server is starting in another process: nothing to wait on but a connect


if __name__ == "__main__":
    main()
