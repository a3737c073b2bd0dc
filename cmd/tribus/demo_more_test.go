package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus"
)

// The slow subscriber is cut off at its hard limit, PUBLISH still counted it, and the fast
// one got everything; told twice on one broker, the story is the same.
// Reference: R24 (docs/semantics/redis.md)
func TestDemo_SlowSubscriberStory(t *testing.T) {
	b, outs := tellTwice(t, demoSlowSubscriber)
	for _, want := range []string{
		"== slow subscriber (Redis model): a client that does not read is cut off ==",
		"each message is a 47-byte RESP frame, as Redis counts it: 2 fit in slow's buffer",
		"PUBLISH slow:prices tick-1 -> 2 receivers (slow holds 1 unread, 47 bytes)",
		"PUBLISH slow:prices tick-2 -> 2 receivers (slow holds 2 unread, 94 bytes)",
		"PUBLISH slow:prices tick-3 -> 2 receivers: slow went over 100 bytes and was disconnected",
		"why: PUBLISH counted slow before cutting it off",
		"PUBLISH slow:prices tick-4 -> 1 receiver: slow is gone",
		"fast: tick-1 tick-2 tick-3 tick-4",
		"slow: Next -> tribus/pubsub: slow subscriber disconnected; the 3 messages it had buffered are lost",
		"stats: 1 disconnect, 3 dropped as slow",
		"why: Redis protects the server from a client that does not read",
		"at-most-once",
		"lagging is still connected (err=<nil>) and reads the 2 newest: tick-3 tick-4; 2 oldest evicted",
	} {
		assert.Contains(t, outs[0], want)
	}
	assert.Equal(t, outs[0], outs[1], "a second run on the same broker tells the same story")
	assert.Zero(t, b.Hub().Stats().Subscriptions, "the scenario closes its subscriptions")
}

// A durable broker keeps the persistent message of a durable queue, the record and the
// committed offset across a restart, and loses the transient message and what pub/sub
// carried; in memory the scenario says nothing survives.
func TestDemo_PersistenceStory(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	mem, err := tribus.Open("", nil)
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, demoPersistence(ctx, &out, mem, false))
	require.NoError(t, mem.Close())
	assert.Contains(t, out.String(), "in-memory broker: nothing survives a restart")
	assert.Contains(t, out.String(), "--dir DIR")

	dir := t.TempDir()
	runOnce := func() string {
		t.Helper()
		b, err := tribus.Open(dir, &tribus.Options{Trace: true})
		require.NoError(t, err)
		var out bytes.Buffer
		err = demoPersistence(ctx, &out, b, true)
		require.NoError(t, errors.Join(err, b.Close()))
		return out.String()
	}

	first := runOnce()
	assert.Contains(t, first, "first run in this directory: run again to see what survived")
	assert.NotContains(t, first, "survived;")
	assert.Contains(t, first, "left for the next run:")

	second := runOnce()
	for _, want := range []string{
		"found what the previous run left:",
		"durable queue persist.q holds 1 message",
		`"persistent message" (delivery mode 2, persistent): survived`,
		`"transient message" (delivery mode 1, transient): lost at restart`,
		"topic persist.t holds 1 record",
		`"order ORD-1 created" at offset 0: survived`,
		"group persist.g committed offset 1 on persist.t/0: survived; it resumes there, 0 records left to read",
		"channel persist:live has 0 subscribers and nothing to replay: the previous run's message is gone",
		"left for the next run:",
	} {
		assert.Contains(t, second, want)
	}
	assert.NotContains(t, second, "first run")

	assert.Equal(t, second, runOnce(), "every later run tells the same story")

	// Told twice without a restart in between, the story does not claim one.
	b, err := tribus.Open(dir, nil)
	require.NoError(t, err)
	defer b.Close()
	require.NoError(t, demoPersistence(ctx, io.Discard, b, true))
	out.Reset()
	require.NoError(t, demoPersistence(ctx, &out, b, true))
	assert.Contains(t, out.String(), `"transient message" (delivery mode 1, transient): still here: the broker has not restarted since it was left`)
	assert.Contains(t, out.String(), `"persistent message" (delivery mode 2, persistent): survived`)
}
