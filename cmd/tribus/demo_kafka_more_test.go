package main

import (
	"bytes"
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus"
)

// moreNumbers masks what differs from run to run: offsets and generations.
var moreNumbers = regexp.MustCompile(`\d+`)

// The crashed member's uncommitted payments are read again by the survivor once the
// coordinator expires it; a read_committed consumer sees only the committed transaction and a
// read_uncommitted one both; a consumer replays by offset and by time. Told twice on one
// broker, the story is the same on new records.
// Reference: K22, K23, K25, K42, K43, K15, K16 (docs/semantics/kafka.md)
func TestDemo_KafkaMoreStory(t *testing.T) {
	b, outs := tellTwice(t, demoKafkaMore)
	first, got := outs[0], outs[1]
	assert.Equal(t, moreNumbers.ReplaceAllString(first, "#"), moreNumbers.ReplaceAllString(got, "#"),
		"a second run on the same broker tells the same story")
	assert.Contains(t, got, "  settle-a settles PAY-2 more.payments-1@2, PAY-4 more.payments-1@3 again; commits\n")
	assert.Contains(t, got, "read_committed consumer from offset 6 reads 2 records: PAY-1 debit @6, PAY-1 credit @7\n")
	for _, want := range []string{
		"== consumer group crash (Kafka model): a member of \"more.settlement\" dies before it commits ==\n",
		"group \"more.settlement\" starts where it ends: committed more.payments-0@0 more.payments-1@0\n",
		"  settle-a assigned more.payments-0 more.payments-1 (generation 1)\n" +
			"settle-b joins; the group rebalances:\n" +
			"  settle-a revoked more.payments-0 more.payments-1\n" +
			"  settle-a assigned more.payments-0 (generation 2)\n" +
			"  settle-b assigned more.payments-1 (generation 2)\n" +
			"why: range is an eager assignor: at every rebalance each member first gives up all its partitions (revoke-all)",
		"group Stable at generation 2, assignor range: settle-a owns more.payments-0, settle-b owns more.payments-1\n",
		"  settle-a settles PAY-1 more.payments-0@0, PAY-3 more.payments-0@1; commits\n" +
			"  settle-b polls PAY-2 more.payments-1@0, PAY-4 more.payments-1@1, then crashes before committing them\n",
		"its session would time out after 45s; the coordinator's expiry is done now\n" +
			"  settle-a revoked more.payments-0\n" +
			"  settle-a assigned more.payments-0 more.payments-1 (generation 3)\n" +
			"  settle-a settles PAY-2 more.payments-1@0, PAY-4 more.payments-1@1 again; commits\n" +
			"why: at-least-once:",
		"(K22)\n",
		"group Stable at generation 3 with 1 member: settle-a owns more.payments-0 more.payments-1\n",

		"== exactly-once (Kafka model): one transaction commits, another aborts ==\n",
		"txn 1 writes PAY-1 debit @0, PAY-1 credit @1 to more.ledger-0; CommitTransaction\n",
		"while it is open the high watermark is 5 and the last stable offset 3\n",
		"txn 2: AbortTransaction; the partition now ends at 6, its markers at offsets 2 and 5\n",
		"read_committed consumer from offset 0 reads 2 records: PAY-1 debit @0, PAY-1 credit @1\n",
		"read_uncommitted consumer from offset 0 reads 4 records: PAY-1 debit @0, PAY-1 credit @1, PAY-2 debit @3, PAY-2 credit @4\n",
		"why: exactly-once: read_committed skips the aborted transaction's records",

		"== replay (Kafka model): seek by offset and by timestamp ==\n",
		"produce to more.audit-0: AUD-1 @0 at t0+0s, AUD-2 @1 at t0+1s, AUD-3 @2 at t0+2s\n",
		"  Seek to offset 0, the next Poll reads AUD-1 more.audit-0@0, AUD-2 more.audit-0@1, AUD-3 more.audit-0@2\n",
		"  ListOffsets(t0+500ms) -> offset 1, timestamp t0+1s: the first record at or after that time (K16)\n" +
			"  Seek to offset 1, the next Poll reads AUD-2 more.audit-0@1, AUD-3 more.audit-0@2\n" +
			"  SeekToTime(t0+2s), the next Poll reads AUD-3 more.audit-0@2\n",

		"== retention (Kafka model): old segments are deleted, and replay starts later ==\n",
		"  after the retention check the log starts at offset 3\n",
		"  Fetch from offset 0: offset out of range (the log holds 3..4)\n",

		"  ship-a revoked more.shipments-2 more.shipments-3\n" +
			"  ship-a assigned nothing (generation 2)\n" +
			"  ship-b assigned nothing (generation 2)\n" +
			"  ship-b assigned more.shipments-2 more.shipments-3 (generation 3)\n",
	} {
		assert.Contains(t, first, want)
	}
	desc, err := b.Log().DescribeGroup(moreGroup)
	require.NoError(t, err)
	assert.Empty(t, desc.Members, "the scenario's members leave")
}

// On a durable directory the second run, on a reopened broker, finds the topics, the group's
// offsets and the transactional id of the first, and tells the same story after them.
func TestDemo_KafkaMoreStoryRunsAgainOnDir(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var outs [2]string
	for run := range 2 {
		b, err := tribus.Open(dir, &tribus.Options{Trace: true})
		require.NoError(t, err)
		var out bytes.Buffer
		err = demoKafkaMore(ctx, &out, b)
		require.NoError(t, b.Close())
		require.NoError(t, err, "run %d:\n%s", run+1, out.String())
		outs[run] = out.String()
	}
	assert.Equal(t, moreNumbers.ReplaceAllString(outs[0], "#"), moreNumbers.ReplaceAllString(outs[1], "#"))
	assert.Contains(t, outs[1], "committed more.payments-0@2 more.payments-1@2\n")
	assert.Contains(t, outs[1], "read_uncommitted consumer from offset 6 reads 4 records")
	assert.Contains(t, outs[1], "produce to more.audit-0: AUD-1 @3 at t0+0s, AUD-2 @4 at t0+1s, AUD-3 @5 at t0+2s\n")
}
