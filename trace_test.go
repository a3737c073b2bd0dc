package tribus_test

import (
	"context"
	"encoding/json"
	"iter"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus"
	"github.com/tribusmq/tribus/exchange"
	tlog "github.com/tribusmq/tribus/log"
	"github.com/tribusmq/tribus/pubsub"
)

// openTraced opens an in-memory broker with the trace on, closed with the test.
func openTraced(t *testing.T, buffer int) *tribus.Broker {
	t.Helper()
	b, err := tribus.Open("", &tribus.Options{Trace: true, TraceBuffer: buffer})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, b.Close()) })
	return b
}

// collect pulls n events from next.
func collect(t *testing.T, next func() (tribus.TraceEvent, error, bool), n int) []tribus.TraceEvent {
	t.Helper()
	var got []tribus.TraceEvent
	for range n {
		e, err, ok := next()
		require.True(t, ok, "the trace ended")
		require.NoError(t, err)
		got = append(got, e)
	}
	return got
}

// The trace is one stream of the three engines' events, numbered in the order they were
// emitted, from the call to Trace on.
func TestTrace_OneStreamAcrossTheEngines(t *testing.T) {
	b := openTraced(t, 0)
	next, stop := iter.Pull2(b.Trace(t.Context()))
	defer stop()
	_, err := b.Router().QueueDeclare("orders", exchange.QueueOptions{})
	require.NoError(t, err)
	require.NoError(t, b.Router().Publish(t.Context(), "", "orders", false, exchange.Publishing{Body: []byte("o1")}))
	require.NoError(t, b.Log().CreateTopic("payments", tlog.TopicConfig{Partitions: 1}))
	_, err = b.Log().Produce(t.Context(), "payments", tlog.Record{Value: []byte("p1")})
	require.NoError(t, err)
	b.Hub().Publish("news", []byte("n1"))

	got := collect(t, next, 6)
	var lines []string
	for i, e := range got {
		assert.Equal(t, uint64(i+1), e.Seq, "numbered from 1, without gaps")
		assert.False(t, e.Time.IsZero())
		lines = append(lines, e.String())
	}
	assert.Equal(t, []string{
		"exchange queue-declared queue=orders",
		"exchange routed routingKey=orders queues=[orders]",
		"exchange enqueued routingKey=orders queue=orders",
		"log topic-created topic=payments partition=0 offset=0 count=1",
		"log appended topic=payments partition=0 offset=0 count=1",
		"pubsub published channel=news receivers=0",
	}, lines)
}

// A reader that falls more than TraceBuffer events behind loses the newest that do not fit,
// and the next event it gets says how many; the engines never wait for it.
func TestTrace_SlowReaderLosesEventsAndIsToldHowMany(t *testing.T) {
	b := openTraced(t, 2)
	next, stop := iter.Pull2(b.Trace(t.Context()))
	defer stop()
	for _, ch := range []string{"a", "b", "c", "d", "e"} {
		b.Hub().Publish(ch, nil) // one event each, read by nobody yet
	}
	got := collect(t, next, 2)
	assert.Equal(t, []uint64{1, 2}, []uint64{got[0].Seq, got[1].Seq})
	b.Hub().Publish("f", nil)
	after := collect(t, next, 1)[0]
	assert.Equal(t, uint64(6), after.Seq)
	assert.Equal(t, uint64(3), after.Lost, "c, d and e did not fit")
	assert.Contains(t, after.String(), "(3 events lost before it)")
}

// Without Options.Trace the engines emit nothing for it, and Trace says so rather than wait.
func TestTrace_OffYieldsErrTraceOff(t *testing.T) {
	b, err := tribus.Open("", nil)
	require.NoError(t, err)
	defer b.Close()
	for _, err := range b.Trace(t.Context()) {
		assert.ErrorIs(t, err, tribus.ErrTraceOff)
	}
	_, err = tribus.Open("", &tribus.Options{TraceBuffer: -1})
	assert.ErrorIs(t, err, tribus.ErrInvalidOptions)
}

// The trace ends when the broker closes or the reader's context ends, either way after the
// events emitted before; a trace asked for after Close yields ErrClosed.
func TestTrace_EndsWithTheBrokerOrTheContext(t *testing.T) {
	b, err := tribus.Open("", &tribus.Options{Trace: true})
	require.NoError(t, err)
	events := b.Trace(t.Context())
	b.Hub().Publish("news", nil)
	require.NoError(t, b.Close())
	var kinds []string
	for e, err := range events {
		require.NoError(t, err)
		kinds = append(kinds, e.Kind())
	}
	assert.Equal(t, []string{"published"}, kinds)
	for _, err := range b.Trace(t.Context()) {
		assert.ErrorIs(t, err, tribus.ErrClosed)
	}

	b = openTraced(t, 0)
	ctx, cancel := context.WithCancel(t.Context())
	events = b.Trace(ctx)
	b.Hub().Publish("work", nil)
	b.Hub().Publish("done", nil)
	cancel()
	var channels []string
	for e, err := range events {
		require.NoError(t, err)
		channels = append(channels, e.Event.(pubsub.Event).Channel)
	}
	assert.Equal(t, []string{"work", "done"}, channels, "a cancelled reader still gets what was emitted before")
	b.Hub().Publish("later", nil)
	for range events {
		t.Fatal("a trace read once yields nothing more")
	}
}

// While nobody reads the trace the engines build no event for it: the user's observers get
// every event either way, and a reader gets those emitted while it reads.
func TestTrace_NobodyReadingLeavesOnlyTheUsersObservers(t *testing.T) {
	var user []string
	b, err := tribus.Open("", &tribus.Options{Trace: true,
		PubSub: pubsub.Options{Observer: func(e pubsub.Event) { user = append(user, e.Channel) }}})
	require.NoError(t, err)
	defer b.Close()
	b.Hub().Publish("before", nil)
	next, stop := iter.Pull2(b.Trace(t.Context()))
	b.Hub().Publish("during", nil)
	got := collect(t, next, 1)
	stop()
	b.Hub().Publish("after", nil)
	assert.Equal(t, []string{"before", "during", "after"}, user)
	assert.Equal(t, "pubsub published channel=during receivers=0", got[0].String())
	assert.Equal(t, uint64(1), got[0].Seq, "events nobody read are not numbered")

	_, err = b.Router().QueueDeclare("q", exchange.QueueOptions{}) // built after the reader left
	require.NoError(t, err)
	next, stop = iter.Pull2(b.Trace(t.Context()))
	defer stop()
	require.NoError(t, b.Router().Publish(t.Context(), "", "q", false, exchange.Publishing{}))
	assert.Equal(t, "exchange routed routingKey=q queues=[q]", collect(t, next, 1)[0].String())
}

// The JSON form is one flat object per event, as `tribus demo --json` prints them.
func TestTraceEvent_MarshalJSONIsFlat(t *testing.T) {
	at := time.Date(2026, 12, 6, 12, 0, 0, 5, time.UTC)
	e := tribus.TraceEvent{Seq: 7, Time: at, Engine: tribus.EngineExchange, Lost: 2,
		Event: exchange.Event{Kind: exchange.EventDelivered, Queue: "orders", DeliveryTag: 3, Redelivered: true}}
	raw, err := json.Marshal(e)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m))
	assert.Equal(t, map[string]any{"seq": 7.0, "time": "2026-12-06T12:00:00.000000005Z", "engine": "exchange",
		"kind": "delivered", "lost": 2.0, "queue": "orders", "deliveryTag": 3.0, "redelivered": true}, m)
}

// Leaving the loop releases the reader: a second loop over the same trace ends at once
// instead of waiting for events nobody keeps for it.
func TestTrace_IsReadOnce(t *testing.T) {
	b := openTraced(t, 0)
	events := b.Trace(t.Context())
	b.Hub().Publish("a", nil)
	for range events {
		break
	}
	b.Hub().Publish("b", nil)
	for range events {
		t.Fatal("a released reader got an event")
	}
}

// A front door's connections are in the trace too, opened and closed, with the door's count.
func TestTrace_FrontDoorConnectionsAreEvents(t *testing.T) {
	b := openTraced(t, 0)
	for _, door := range []struct {
		name string
		dial func(context.Context, string, string) (net.Conn, error)
	}{{"redis", b.Redis().Dial}, {"amqp", b.AMQP().DialContext}, {"kafka", b.Kafka().Dial}} {
		t.Run(door.name, func(t *testing.T) {
			next, stop := iter.Pull2(b.Trace(t.Context()))
			defer stop()
			nc, err := door.dial(t.Context(), "tcp", "tribus")
			require.NoError(t, err)
			require.NoError(t, nc.Close())
			var lines []string
			for len(lines) < 2 {
				e := collect(t, next, 1)[0]
				if e.Engine == tribus.EngineWire {
					lines = append(lines, e.String())
				}
			}
			assert.Equal(t, []string{"wire connection-opened door=" + door.name + " remote=pipe count=1",
				"wire connection-closed door=" + door.name + " remote=pipe"}, lines, "count 0 is not shown")
		})
	}
}
