#!/usr/bin/env bash
# redis-cli / raw-socket interop checks, written against real Redis 7.0.15
# (redis-cli 7.0.15). The same script is run against a real redis-server and
# against tribus's RESP front door over TCP.
#
#   REDIS_PORT=6379 [REDIS_HOST=127.0.0.1] bash interop/cli/test_redis_cli.sh
#
# Every check is reported as "ok - ..." or "not ok - ..."; a failed check does
# not stop the run. The last line is "N passed, M failed"; the exit status is
# non-zero if any check failed.
#
# redis-cli's stdout is never a tty here, so its default output mode is raw
# (bare values, one per line); --no-raw gives the human format.
set -euo pipefail

REDIS_HOST=${REDIS_HOST:-127.0.0.1}
if [[ -z ${REDIS_PORT:-} ]]; then
    echo "REDIS_PORT must be set (REDIS_HOST defaults to 127.0.0.1)" >&2
    exit 2
fi
PY=/usr/bin/python3
CLI_TIMEOUT=5        # seconds; bound for every foreground redis-cli call
WAIT_BOUND=5         # seconds; bound for every polling loop

passed=0
failed=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/interop-cli.XXXXXX")
bg_pids=()

cleanup() {
    local rc=$?
    local pid
    for pid in "${bg_pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${bg_pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    exec 3>&- || true
    rm -rf "$tmp"
    exit "$rc"
}
trap cleanup EXIT

ok() {
    passed=$((passed + 1))
    echo "ok - $1"
}

not_ok() {
    failed=$((failed + 1))
    echo "not ok - $1"
    shift
    local line
    for line in "$@"; do
        printf '    %s\n' "$line"
    done
}

# check NAME EXPECTED ACTUAL
check() {
    if [[ $2 == "$3" ]]; then
        ok "$1"
    else
        not_ok "$1" "expected: $(printf '%q' "$2")" "actual:   $(printf '%q' "$3")"
    fi
}

# check_prefix NAME PREFIX ACTUAL
check_prefix() {
    if [[ $3 == "$2"* ]]; then
        ok "$1"
    else
        not_ok "$1" "expected prefix: $(printf '%q' "$2")" "actual:          $(printf '%q' "$3")"
    fi
}

# cli ARGS... : redis-cli against the target; never fails the script.
cli() {
    timeout "$CLI_TIMEOUT" redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" "$@" 2>&1 || true
}

# wait_for DESCRIPTION COMMAND... : poll until COMMAND succeeds (bounded).
wait_for() {
    local what=$1
    shift
    local deadline=$((SECONDS + WAIT_BOUND))
    while ! "$@"; do
        if ((SECONDS >= deadline)); then
            not_ok "$what (gave up after ${WAIT_BOUND}s)"
            return 1
        fi
        sleep 0.05
    done
    ok "$what"
}

# ---------------------------------------------------------------------------
# Plain commands and output formatting
# ---------------------------------------------------------------------------

check "PING -> PONG" "PONG" "$(cli PING)"
check "--no-raw PING -> PONG" "PONG" "$(cli --no-raw PING)"
check "ECHO hello" "hello" "$(cli ECHO hello)"
check "--no-raw ECHO hello is quoted" '"hello"' "$(cli --no-raw ECHO hello)"
check "ECHO with a space" "a b" "$(cli ECHO 'a b')"
check "--no-raw ECHO escapes a tab" '"a\tb"' "$(cli --no-raw ECHO "$(printf 'a\tb')")"
check "--no-raw ECHO empty string" '""' "$(cli --no-raw ECHO '')"
# -x takes the last argument from stdin: binary-safe through redis-cli.
check "ECHO binary via -x (raw bytes back)" "610062ff0a" \
    "$(printf 'a\000b\377' | cli -x ECHO | od -An -tx1 | tr -d ' \n')"
check "--no-raw ECHO binary via -x is escaped" '"a\x00b\xff"' \
    "$(printf 'a\000b\377' | cli --no-raw -x ECHO)"
check_prefix "unknown command -> ERR" "ERR " "$(cli NOSUCHCOMMAND | head -n1)"
check_prefix "--no-raw unknown command -> (error) ERR" "(error) ERR " \
    "$(cli --no-raw NOSUCHCOMMAND | head -n1)"

# Fire-and-forget: nobody listens, the message is lost.
check "PUBLISH nobody msg -> 0 (message lost)" "0" "$(cli PUBLISH nobody msg)"
check "--no-raw PUBLISH nobody msg -> (integer) 0" "(integer) 0" "$(cli --no-raw PUBLISH nobody msg)"
check "PUBSUB NUMSUB nobody -> nobody 0" $'nobody\n0' "$(cli PUBSUB NUMSUB nobody)"
check "--no-raw PUBSUB NUMSUB nobody" $'1) "nobody"\n2) (integer) 0' "$(cli --no-raw PUBSUB NUMSUB nobody)"
check "--no-raw PUBSUB CHANNELS on no match -> (empty array)" "(empty array)" \
    "$(cli --no-raw PUBSUB CHANNELS 'interop-cli-none:*')"

# ---------------------------------------------------------------------------
# Order-notification scenario: redis-cli SUBSCRIBE + PSUBSCRIBE in background
# ---------------------------------------------------------------------------

ORDER_CHANNEL="order:notifications"
ORDER_PATTERN="order:*"
ORDER_JSON='{"order_id": "ORD-123", "event": "status_change", "new_status": "shipped"}'

timeout 30 redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" SUBSCRIBE "$ORDER_CHANNEL" \
    >"$tmp/sub.out" 2>&1 &
bg_pids+=($!)
timeout 30 redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" PSUBSCRIBE "$ORDER_PATTERN" \
    >"$tmp/psub.out" 2>&1 &
bg_pids+=($!)

numsub_is() { [[ $(cli PUBSUB NUMSUB "$ORDER_CHANNEL") == "$ORDER_CHANNEL"$'\n'"$1" ]]; }
numpat_is() { [[ $(cli PUBSUB NUMPAT) == "$1" ]]; }
lines_at_least() { [[ -f $1 ]] && (($(wc -l <"$1") >= $2)); }

wait_for "PUBSUB NUMSUB $ORDER_CHANNEL reaches 1" numsub_is 1 || true
wait_for "PUBSUB NUMPAT reaches 1" numpat_is 1 || true
check "PUBSUB CHANNELS 'order:*' lists the channel" "$ORDER_CHANNEL" "$(cli PUBSUB CHANNELS 'order:*')"

# The acks are printed before any message (raw mode: no banner).
wait_for "subscriber printed its ack" lines_at_least "$tmp/sub.out" 3 || true
check "raw SUBSCRIBE ack lines" $'subscribe\norder:notifications\n1' "$(head -n3 "$tmp/sub.out")"
wait_for "pattern subscriber printed its ack" lines_at_least "$tmp/psub.out" 3 || true
check "raw PSUBSCRIBE ack lines" $'psubscribe\norder:*\n1' "$(head -n3 "$tmp/psub.out")"

# One publish reaches the channel subscriber and the pattern subscriber.
check "PUBLISH order JSON -> 2 receivers" "2" "$(cli PUBLISH "$ORDER_CHANNEL" "$ORDER_JSON")"

wait_for "subscriber printed the message" lines_at_least "$tmp/sub.out" 6 || true
check "raw message lines: message, channel, payload" \
    "message"$'\n'"$ORDER_CHANNEL"$'\n'"$ORDER_JSON" "$(sed -n 4,6p "$tmp/sub.out")"
wait_for "pattern subscriber printed the message" lines_at_least "$tmp/psub.out" 7 || true
check "raw pmessage lines: pmessage, pattern, channel, payload" \
    "pmessage"$'\n'"$ORDER_PATTERN"$'\n'"$ORDER_CHANNEL"$'\n'"$ORDER_JSON" "$(sed -n 4,7p "$tmp/psub.out")"
# The application side: parse the JSON out of the subscriber's output.
order_line=$("$PY" - "$tmp/sub.out" "$ORDER_CHANNEL" <<'EOF' 2>&1 || true
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
channel = sys.argv[2]
for i, line in enumerate(lines):
    if line == "message" and i + 2 < len(lines) and lines[i + 1] == channel:
        event = json.loads(lines[i + 2])
        if event.get("event") == "status_change":
            print("Order %s is now %s" % (event["order_id"], event["new_status"]))
EOF
)
echo "$order_line"
check "handler prints the order line" "Order ORD-123 is now shipped" "$order_line"

# Stop the subscribers: closing their connections drops their subscriptions.
for pid in "${bg_pids[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
done
bg_pids=()
wait_for "NUMSUB back to 0 after subscribers disconnect" numsub_is 0 || true
wait_for "NUMPAT back to 0 after subscribers disconnect" numpat_is 0 || true
check "PUBLISH after disconnect -> 0" "0" "$(cli PUBLISH "$ORDER_CHANNEL" "$ORDER_JSON")"

# ---------------------------------------------------------------------------
# Subscribe mode in human format (--no-raw): banner line, then numbered items
# ---------------------------------------------------------------------------

noraw_chan="interop-cli:noraw:$$"
timeout 30 redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" --no-raw SUBSCRIBE "$noraw_chan" \
    >"$tmp/sub-noraw.out" 2>&1 &
bg_pids+=($!)
timeout 30 redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" --no-raw PSUBSCRIBE "$noraw_chan*" \
    >"$tmp/psub-noraw.out" 2>&1 &
bg_pids+=($!)
noraw_ready() { lines_at_least "$tmp/sub-noraw.out" 4 && lines_at_least "$tmp/psub-noraw.out" 4; }
wait_for "--no-raw subscribers printed their acks" noraw_ready || true
check "PUBLISH to the --no-raw subscribers -> 2" "2" "$(cli PUBLISH "$noraw_chan" 'say "hi"')"
noraw_done() { lines_at_least "$tmp/sub-noraw.out" 7 && lines_at_least "$tmp/psub-noraw.out" 8; }
wait_for "--no-raw subscribers printed the message" noraw_done || true
check "--no-raw SUBSCRIBE output" \
    "Reading messages... (press Ctrl-C to quit)
1) \"subscribe\"
2) \"$noraw_chan\"
3) (integer) 1
1) \"message\"
2) \"$noraw_chan\"
3) \"say \\\"hi\\\"\"" \
    "$(head -n7 "$tmp/sub-noraw.out")"
check "--no-raw PSUBSCRIBE output" \
    "Reading messages... (press Ctrl-C to quit)
1) \"psubscribe\"
2) \"$noraw_chan*\"
3) (integer) 1
1) \"pmessage\"
2) \"$noraw_chan*\"
3) \"$noraw_chan\"
4) \"say \\\"hi\\\"\"" \
    "$(head -n8 "$tmp/psub-noraw.out")"
for pid in "${bg_pids[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
done
bg_pids=()

# ---------------------------------------------------------------------------
# Inline commands over a raw TCP socket (bash /dev/tcp), no redis-cli
# ---------------------------------------------------------------------------

# rd VAR : read one reply line from fd 3 into VAR (2 s bound). The trailing
# \r of the RESP line is kept, so expectations spell it out.
rd() {
    local _line=""
    IFS= read -r -t 2 -u "${2:-3}" _line || true
    printf -v "$1" '%s' "$_line"
}

if exec 3<>"/dev/tcp/$REDIS_HOST/$REDIS_PORT"; then
    ok "raw TCP connect"

    printf 'PING\r\n' >&3
    rd l1
    check "inline PING (CRLF) -> +PONG" $'+PONG\r' "$l1"

    printf 'ECHO "a b"\r\n' >&3
    rd l1
    rd l2
    check "inline ECHO \"a b\" -> \$3 a b" $'$3\r\na b\r' "$l1"$'\n'"$l2"

    # telnet-style: bare LF line ending
    printf 'PING\n' >&3
    rd l1
    check "inline PING (LF only) -> +PONG" $'+PONG\r' "$l1"

    printf "ECHO 'x y'\n" >&3
    rd l1
    rd l2
    check "inline ECHO 'x y' (single quotes, LF) -> \$3 x y" $'$3\r\nx y\r' "$l1"$'\n'"$l2"

    printf 'ECHO    spaced   \r\n' >&3
    rd l1
    rd l2
    check "inline extra whitespace between args is ignored" $'$6\r\nspaced\r' "$l1"$'\n'"$l2"

    printf 'ECHO "tab\\there"\r\n' >&3
    rd l1
    rd l2
    check "inline double-quoted escape \\t" $'$8\r\ntab\there\r' "$l1"$'\n'"$l2"

    # Several inline commands in one write (pipelined), mixed line endings.
    printf 'PING\r\nPUBLISH nobody "inline msg"\nPING hi\r\n' >&3
    rd l1
    rd l2
    rd l3
    rd l4
    check "pipelined inline PING / PUBLISH / PING hi" \
        $'+PONG\r\n:0\r\n$2\r\nhi\r' "$l1"$'\n'"$l2"$'\n'"$l3"$'\n'"$l4"

    # Inline SUBSCRIBE: replies are RESP2 multi-bulk frames.
    inline_chan="interop-cli:inline:$$"
    printf 'SUBSCRIBE %s\r\n' "$inline_chan" >&3
    frame=""
    for _ in 1 2 3 4 5 6; do rd l1; frame+="$l1"$'\n'; done
    check "inline SUBSCRIBE ack frame" \
        $'*3\r\n$9\r\nsubscribe\r\n$'"${#inline_chan}"$'\r\n'"$inline_chan"$'\r\n:1\r\n' "$frame"

    check "PUBLISH to the inline subscriber -> 1" "1" "$(cli PUBLISH "$inline_chan" 'hello there')"
    frame=""
    for _ in 1 2 3 4 5 6 7; do rd l1; frame+="$l1"$'\n'; done
    check "inline subscriber receives message frame" \
        $'*3\r\n$7\r\nmessage\r\n$'"${#inline_chan}"$'\r\n'"$inline_chan"$'\r\n$11\r\nhello there\r\n' "$frame"

    printf 'PING\r\n' >&3
    frame=""
    for _ in 1 2 3 4 5; do rd l1; frame+="$l1"$'\n'; done
    check "inline PING while subscribed -> pong frame" $'*2\r\n$4\r\npong\r\n$0\r\n\r\n' "$frame"

    exec 3>&-
else
    not_ok "raw TCP connect to $REDIS_HOST:$REDIS_PORT"
fi

# ---------------------------------------------------------------------------

echo "$passed passed, $failed failed"
if ((failed > 0)); then
    exit 1
fi
exit 0
