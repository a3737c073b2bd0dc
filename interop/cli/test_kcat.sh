#!/usr/bin/env bash
# The kcat suite: Debian's kcat 1.7.1 (librdkafka) as a Kafka client of one broker, run
# against tribus (`tribus serve --kafka`) and against kfake (interop/cmd/kfake) by
# interop/cli/kafka_differential.sh, or alone against a server already running:
#
#   KAFKA_BROKER=127.0.0.1:9092 bash interop/cli/test_kcat.sh
#   KAFKA_BROKER=127.0.0.1:9092 bash interop/cli/test_kcat.sh group_consume_commits   # one case
#
# There is no real Kafka to check it against: every expectation is Kafka's documented
# behaviour (auto.create.topics.enable=true and num.partitions=1 by default, ListOffsets by
# timestamp answering the first offset at or after it, a group resuming from its committed
# offsets). Each case uses topics and groups of its own (a random suffix), so the suite can be
# re-run against one server. Every kcat call runs under timeout(1) and consumers exit on
# their own (-e at the end of the partitions, -c after a count), so nothing waits on a sleep.
# Prints PASS or FAIL per case and a summary line "kcat: N passed, M failed [cases]"; exits 1
# if any case failed, 2 if KAFKA_BROKER is not set.
set -uo pipefail

if [[ -z ${KAFKA_BROKER:-} ]]; then
    echo "KAFKA_BROKER (host:port) must be set" >&2
    exit 2
fi
KCAT=${KCAT:-/usr/bin/kcat}
B=$KAFKA_BROKER
T=${KCAT_TIMEOUT:-20} # seconds: the bound on any one kcat call; a healthy server never comes near it
suffix=$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
workdir=$(mktemp -d "${TMPDIR:-/tmp}/interop-kcat.XXXXXX")
trap 'rm -rf "$workdir"' EXIT

kc() { timeout "$T" "$KCAT" -b "$B" "$@"; }

# A case calls expect, expect_line and run_kc as often as it likes; any mismatch or kcat
# failure fails it. run_kc runs inside $(...), a subshell, so the mark is a file, and the
# notes go to stderr (not into the output being captured).
fail_note() {
    : >"$workdir/case_failed"
    printf '    %s\n' "$1" >&2
    shift
    local text
    for text in "$@"; do
        printf '%s\n' "$text" | sed 's/^/      /' >&2
    done
}

# expect WHAT WANT GOT: WANT and GOT are compared as strings (multi-line allowed).
expect() {
    if [[ $2 != "$3" ]]; then
        fail_note "$1: want, then got:" "$2" "--" "$3"
    fi
}

# expect_line WHAT REGEX TEXT: some line of TEXT matches the extended REGEX.
expect_line() {
    if ! grep -qE -- "$2" <<<"$3"; then
        fail_note "$1: no line matches /$2/ in:" "$3"
    fi
}

# run_kc WHAT ARGS...: kcat with ARGS, stdout returned; a non-zero exit (timeout is 124)
# fails the case, with kcat's stderr shown.
run_kc() {
    local what=$1 rc=0 out
    shift
    out=$(kc "$@" 2>"$workdir/stderr") || rc=$?
    if ((rc != 0)); then
        fail_note "$what: kcat $* exited $rc$( ((rc == 124)) && echo " (timed out after ${T}s)"):" \
            "$(cat "$workdir/stderr")"
    fi
    printf '%s' "$out"
}

# produce TOPIC ARGS... < lines: produce stdin's lines to TOPIC, waiting for every ack (kcat
# -P flushes before it exits, and exits non-zero if a delivery failed).
produce() {
    local topic=$1
    shift
    run_kc "produce to $topic" -P -t "$topic" -X acks=all "$@" >/dev/null
}

case_produce_keys_consume_from_offset() {
    local t=interop.kcat.keys.$suffix
    printf 'ORD-1:created\nORD-2:created\nORD-1:paid\nORD-3:created\nORD-1:shipped\n' | produce "$t" -K:
    local all='ORD-1=created@0
ORD-2=created@1
ORD-1=paid@2
ORD-3=created@3
ORD-1=shipped@4'
    expect "-o beginning" "$all" "$(run_kc "-o beginning" -C -t "$t" -o beginning -e -q -f '%k=%s@%o\n')"
    expect "-o 2" "$(tail -n 3 <<<"$all")" "$(run_kc "-o 2" -C -t "$t" -o 2 -e -q -f '%k=%s@%o\n')"
    # A negative offset is that many messages before the end.
    expect "-o -2" "$(tail -n 2 <<<"$all")" "$(run_kc "-o -2" -C -t "$t" -o -2 -e -q -f '%k=%s@%o\n')"
    # -c stops after a count, whatever follows.
    expect "-o 1 -c 2" "$(sed -n 2,3p <<<"$all")" "$(run_kc "-o 1 -c 2" -C -t "$t" -o 1 -c 2 -q -f '%k=%s@%o\n')"
    # At the end there is nothing to read.
    expect "-o end" "" "$(run_kc "-o end" -C -t "$t" -o end -e -q -f '%k=%s@%o\n')"
}

case_headers_and_null_values() {
    local t=interop.kcat.headers.$suffix
    # -Z sends an empty value as null (a tombstone); -H adds headers to every message.
    printf 'k1:v1\nk2:\n' | produce "$t" -K: -Z -H trace=abc -H empty=
    # %S is the value's size, -1 for null; %h the headers in order.
    expect "records" 'k1|v1|2|trace=abc,empty=|0
k2||-1|trace=abc,empty=|1' "$(run_kc consume -C -t "$t" -e -q -f '%k|%s|%S|%h|%o\n')"
}

case_compressed_produce_round_trips() {
    local codec t
    for codec in gzip snappy lz4 zstd; do
        t=interop.kcat.$codec.$suffix
        # Repetitive values, so that the codec has something to compress.
        seq 1 200 | sed "s/\$/:$codec-$codec-$codec-$codec/" | produce "$t" -K: -z "$codec"
        expect "$codec records" "200 1:$codec-$codec-$codec-$codec 200:$codec-$codec-$codec-$codec" \
            "$(run_kc "$codec consume" -C -t "$t" -e -q -f '%k:%s\n' | awk 'NR == 1 { first = $0 } { last = $0 } END { print NR, first, last }')"
    done
}

case_metadata_lists_topic_and_partitions() {
    local t=interop.kcat.meta.$suffix
    printf 'x\n' | produce "$t"
    local md
    md=$(run_kc "-L -t" -L -t "$t")
    expect_line "broker" '^ +broker [0-9]+ at [^ ]+:[0-9]+' "$md"
    # Auto-created with Kafka's default num.partitions=1, led by the one broker.
    expect_line "topic" "^ +topic \"$t\" with 1 partitions:\$" "$md"
    expect_line "partition 0" '^ +partition 0, leader [0-9]+, replicas: [0-9]+, isrs: [0-9]+$' "$md"
    expect "partition lines" 1 "$(grep -cE '^ +partition [0-9]+,' <<<"$md")"
    # The whole cluster's metadata lists it too, with no error.
    md=$(run_kc "-L" -L)
    expect_line "topic in -L" "^ +topic \"$t\" with 1 partitions:\$" "$md"
}

case_query_offsets_by_timestamp() {
    local t=interop.kcat.times.$suffix
    printf 'a0\na1\na2\n' | produce "$t"
    printf 'b3\nb4\n' | produce "$t"
    # The records' own timestamps (CreateTime, set by librdkafka at produce), by offset.
    local stamps
    stamps=$(run_kc "timestamps" -C -t "$t" -e -q -f '%o %T\n')
    expect "records" "0 1 2 3 4" "$(cut -d' ' -f1 <<<"$stamps" | paste -sd' ' -)"
    local -a ts
    mapfile -t ts < <(cut -d' ' -f2 <<<"$stamps")
    ((${#ts[@]} == 5)) || return 0
    # ListOffsets by timestamp answers the first offset whose timestamp is at or after it,
    # or -1 after the last: the expected offset is computed from the timestamps themselves
    # (records produced in one millisecond share a timestamp).
    local q want
    for q in $((ts[0] - 1)) "${ts[0]}" "${ts[2]}" $((ts[2] + 1)) "${ts[4]}" $((ts[4] + 1)); do
        want=$(awk -v q="$q" '$2 >= q { print $1; found = 1; exit } END { if (!found) print -1 }' <<<"$stamps")
        expect "-Q $t:0:$q" "$t [0] offset $want" "$(run_kc "-Q at $q" -Q -t "$t:0:$q")"
    done
    # The logical offsets: -1 is the end, -2 the beginning.
    expect "-Q latest" "$t [0] offset 5" "$(run_kc "-Q latest" -Q -t "$t:0:-1")"
    expect "-Q earliest" "$t [0] offset 0" "$(run_kc "-Q earliest" -Q -t "$t:0:-2")"
    # And a consumer started at a timestamp (-o s@TS) starts at that offset.
    want=$(awk -v q="$((ts[2] + 1))" '$2 >= q { print $1; exit }' <<<"$stamps")
    expect "-o s@$((ts[2] + 1))" "$(seq "$want" 4)" \
        "$(run_kc "-o s@" -C -t "$t" -o "s@$((ts[2] + 1))" -e -q -f '%o\n')"
}

case_group_consume_commits() {
    local t=interop.kcat.group.$suffix g=interop.kcat.group.$suffix
    printf 'k1:one\nk2:two\nk3:three\n' | produce "$t" -K:
    local group=(-G "$g" -X auto.offset.reset=earliest -q -f '%k=%s@%p:%o\n')
    # A balanced consumer joins, is assigned the partition, reads the three and exits after
    # them (-c); closing commits the offsets it consumed (enable.auto.commit).
    expect "first member" 'k1=one@0:0
k2=two@0:1
k3=three@0:2' "$(run_kc "-G -c 3" "${group[@]}" -c 3 "$t")"
    # kcat cannot show a group's committed offsets: the next member of the group shows them,
    # by starting after what was committed. Nothing new: it reaches the end and exits (-e).
    expect "second member" "" "$(run_kc "-G -e" "${group[@]}" -e "$t")"
    # Two more records: the group reads exactly those.
    printf 'k4:four\nk5:five\n' | produce "$t" -K:
    expect "third member" 'k4=four@0:3
k5=five@0:4' "$(run_kc "-G -e again" "${group[@]}" -e "$t")"
    # Another group has no offsets: earliest replays all five.
    expect "other group" "0 1 2 3 4" "$(run_kc "-G other" -G "$g.other" -X auto.offset.reset=earliest -q -e \
        -f '%o\n' "$t" | paste -sd' ' -)"
}

cases=(
    produce_keys_consume_from_offset
    headers_and_null_values
    compressed_produce_round_trips
    metadata_lists_topic_and_partitions
    query_offsets_by_timestamp
    group_consume_commits
)
if (($#)); then cases=("$@"); fi

echo "kcat $("$KCAT" -V 2>&1 | sed -n 's/^Version \([^ ]*\).*librdkafka \([^ ]*\).*/\1 (librdkafka \2)/p') against $B"
passed=0
failed=()
for c in "${cases[@]}"; do
    if ! declare -F "case_$c" >/dev/null; then
        echo "unknown case $c" >&2
        exit 2
    fi
    rm -f "$workdir/case_failed"
    "case_$c"
    if [[ -e $workdir/case_failed ]]; then
        echo "FAIL $c"
        failed+=("$c")
    else
        echo "PASS $c"
        passed=$((passed + 1))
    fi
done
summary="kcat: $passed passed, ${#failed[@]} failed"
((${#failed[@]})) && summary+=" [$(
    IFS=,
    echo "${failed[*]}"
)]"
echo "$summary"
((${#failed[@]} == 0))
