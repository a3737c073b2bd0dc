package bridge_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/bridge"
	"github.com/tribusmq/tribus/exchange"
	tlog "github.com/tribusmq/tribus/log"
	"github.com/tribusmq/tribus/tribustest"
)

// ordersPipeline declares the topic orders (one partition) and a topic exchange whose queue
// work takes every order.* routing key, and produces n order events keyed by type.
func ordersPipeline(t *testing.T, b *tribustest.Broker, n int) {
	t.Helper()
	require.NoError(t, b.Log().CreateTopic("orders", tlog.TopicConfig{Partitions: 1}))
	r := b.Router()
	require.NoError(t, r.ExchangeDeclare("events", exchange.Topic, exchange.ExchangeOptions{}))
	_, err := r.QueueDeclare("work", exchange.QueueOptions{})
	require.NoError(t, err)
	require.NoError(t, r.QueueBind("work", "events", "order.*", nil))
	produce(t, b, 0, n)
}

// produce appends orders from..to-1 as ORD-<i>, keyed order.created.
func produce(t *testing.T, b *tribustest.Broker, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		_, err := b.Log().Produce(t.Context(), "orders", tlog.Record{Key: []byte("order.created"), Value: fmt.Appendf(nil, "ORD-%d", i)})
		require.NoError(t, err)
	}
}

// start runs bridge in the background until the returned stop is called, which returns Run's
// error.
func start(t *testing.T, run func(context.Context) error) (stop func() error) {
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	return func() error { cancel(); return <-done }
}

// A bridge from a topic to an exchange publishes each record with confirms, routed by its
// key, and commits the group's offset only for what was confirmed; a restarted bridge
// resumes from that offset and forwards only what came after.
func TestLogToExchange_CommitsWhatWasConfirmedAndResumesThere(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := tribustest.New(t)
		ordersPipeline(t, b, 3)
		br := &bridge.LogToExchange{Log: b.Log(), Router: b.Router(), Group: "bridge", Topics: []string{"orders"},
			Exchange: "events", Reset: tlog.ResetEarliest}
		stop := start(t, br.Run)
		b.Wait(tribustest.Committed("bridge", "orders", 0, 3), tribustest.QueueReady("work", 3))
		require.NoError(t, stop())
		b.CheckQueue("work", "ORD-0", "ORD-1", "ORD-2")

		produce(t, b, 3, 5)
		stop = start(t, br.Run)
		b.Wait(tribustest.Committed("bridge", "orders", 0, 5))
		require.NoError(t, stop())
		b.CheckQueue("work", "ORD-0", "ORD-1", "ORD-2", "ORD-3", "ORD-4")
		assert.Equal(t, uint64(5), br.Forwarded())

		d, err := b.Router().Get("work", true)
		require.NoError(t, err)
		assert.Equal(t, "orders/0/0", d.MessageID, "the record's origin, to dedupe by")
		assert.Equal(t, int64(0), d.Headers[bridge.HeaderOffset])
		assert.Equal(t, exchange.Persistent, d.DeliveryMode)
	})
}

// A bridge killed after it published and before it committed forwards the same records
// again when it restarts: downstream gets duplicates, never a gap.
func TestLogToExchange_KilledBeforeCommitRedeliversNeverLoses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := tribustest.New(t)
		ordersPipeline(t, b, 3)
		killed := errors.New("the bridge died before its commit")
		b.Inject(tribustest.FailCommit(killed).Group("bridge"))
		br := &bridge.LogToExchange{Log: b.Log(), Router: b.Router(), Group: "bridge", Topics: []string{"orders"},
			Exchange: "events", Reset: tlog.ResetEarliest}
		require.ErrorIs(t, br.Run(t.Context()), killed)
		b.CheckCommitted("bridge", map[tlog.TopicPartition]int64{{Topic: "orders", Partition: 0}: -1})
		b.CheckQueue("work", "ORD-0", "ORD-1", "ORD-2")

		stop := start(t, br.Run)
		b.Wait(tribustest.Committed("bridge", "orders", 0, 3))
		require.NoError(t, stop())
		b.CheckQueue("work", "ORD-0", "ORD-1", "ORD-2", "ORD-0", "ORD-1", "ORD-2")
	})
}

// A nacked publish (a full reject-publish queue) stops the bridge without committing the
// record, so nothing the router refused counts as done.
func TestLogToExchange_NackedPublishIsNotCommitted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := tribustest.New(t)
		require.NoError(t, b.Log().CreateTopic("orders", tlog.TopicConfig{Partitions: 1}))
		_, err := b.Router().QueueDeclare("work", exchange.QueueOptions{MaxLength: 1, Overflow: exchange.RejectPublish})
		require.NoError(t, err)
		produce(t, b, 0, 2)
		br := &bridge.LogToExchange{Log: b.Log(), Router: b.Router(), Group: "bridge", Topics: []string{"orders"},
			RoutingKey: func(tlog.Record) string { return "work" }, Reset: tlog.ResetEarliest}
		require.ErrorIs(t, br.Run(t.Context()), bridge.ErrNacked)
		b.CheckCommitted("bridge", map[tlog.TopicPartition]int64{{Topic: "orders", Partition: 0}: -1})
		b.CheckQueue("work", "ORD-0")
	})
}

// A bridge from a queue to a channel acks each delivery once it is published; one killed
// before its ack leaves the delivery to be redelivered and published again.
func TestQueueToPubSub_AcksAfterPublishAndRepublishesAfterACrash(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := tribustest.New(t)
		_, err := b.Router().QueueDeclare("status", exchange.QueueOptions{})
		require.NoError(t, err)
		sub, err := b.Hub().Subscribe("order:notifications")
		require.NoError(t, err)
		defer sub.Close()
		require.NoError(t, b.Router().Publish(t.Context(), "", "status", false, exchange.Publishing{Body: []byte("ORD-1 shipped")}))

		b.Inject(tribustest.CrashBeforeAck().Queue("status"))
		crashed := &bridge.QueueToPubSub{Router: b.Router(), Hub: b.Hub(), Queue: "status",
			Channel: func(*exchange.Delivery) string { return "order:notifications" }}
		go crashed.Run(t.Context()) // parks at its ack until the test ends, as a dead process
		m, err := sub.Next(t.Context())
		require.NoError(t, err)
		assert.Equal(t, "ORD-1 shipped", string(m.Payload))
		b.Wait(tribustest.QueueReady("status", 1)) // its connection died: the delivery is back

		br := &bridge.QueueToPubSub{Router: b.Router(), Hub: b.Hub(), Queue: "status",
			Channel: func(*exchange.Delivery) string { return "order:notifications" }}
		stop := start(t, br.Run)
		m, err = sub.Next(t.Context())
		require.NoError(t, err)
		assert.Equal(t, "ORD-1 shipped", string(m.Payload), "published again: a duplicate, not a loss")
		b.Wait(tribustest.QueueDrained("status"))
		require.NoError(t, stop())
	})
}

// A bridge from a topic to a channel publishes each record to its topic's channel and
// commits once the hub has taken them.
func TestLogToPubSub_CommitsAfterPublish(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := tribustest.New(t)
		require.NoError(t, b.Log().CreateTopic("orders", tlog.TopicConfig{Partitions: 1}))
		sub, err := b.Hub().Subscribe("orders")
		require.NoError(t, err)
		defer sub.Close()
		produce(t, b, 0, 2)
		br := &bridge.LogToPubSub{Log: b.Log(), Hub: b.Hub(), Group: "live", Topics: []string{"orders"}, Reset: tlog.ResetEarliest}
		stop := start(t, br.Run)
		for _, want := range []string{"ORD-0", "ORD-1"} {
			m, err := sub.Next(t.Context())
			require.NoError(t, err)
			assert.Equal(t, want, string(m.Payload))
		}
		b.Wait(tribustest.Committed("live", "orders", 0, 2))
		require.NoError(t, stop())
	})
}

// A bridge missing what it needs is refused before it reads anything.
func TestBridges_InvalidAreRefused(t *testing.T) {
	b := tribustest.New(t)
	for _, run := range []func(context.Context) error{
		(&bridge.LogToExchange{Router: b.Router()}).Run,
		(&bridge.LogToExchange{Log: b.Log(), Router: b.Router()}).Run,
		(&bridge.LogToPubSub{Log: b.Log()}).Run,
		(&bridge.QueueToPubSub{Router: b.Router(), Hub: b.Hub()}).Run,
	} {
		assert.ErrorIs(t, run(t.Context()), bridge.ErrInvalidBridge)
	}
}
