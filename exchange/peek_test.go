package exchange_test

import (
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/exchange"
	"github.com/tribusmq/tribus/store"
)

func peekBodies(t *testing.T, r *exchange.Router, queue string, max int) (bodies []string, redelivered []bool) {
	t.Helper()
	ms, err := r.Peek(queue, max)
	require.NoError(t, err)
	for _, m := range ms {
		bodies = append(bodies, string(m.Body))
		redelivered = append(redelivered, m.Redelivered)
	}
	return bodies, redelivered
}

// Peek lists the ready messages in the order the queue delivers them: by priority, a
// requeued message back in its original position with Redelivered, unacked ones left out.
func TestPeek_A50_ReadyMessagesInDeliveryOrder(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	declareQueue(t, s, "q", exchange.QueueOptions{MaxPriority: 2})
	for i, prio := range []uint8{0, 0, 2, 0, 2, 1} {
		publishMsg(t, s, "", "q", exchange.Publishing{Body: fmt.Appendf(nil, "m%d", i), Priority: prio})
	}
	first := getUnacked(t, s, "q")  // m2
	second := getUnacked(t, s, "q") // m4
	_ = getUnacked(t, s, "q")       // m5, stays unacked
	require.NoError(t, second.Nack(true))
	require.NoError(t, first.Nack(true))

	got, redelivered := peekBodies(t, r, "q", 0)
	assert.Equal(t, []string{"m2", "m4", "m0", "m1", "m3"}, got)
	assert.Equal(t, []bool{true, true, false, false, false}, redelivered)
	top, _ := peekBodies(t, r, "q", 2)
	assert.Equal(t, []string{"m2", "m4"}, top, "max bounds the answer")

	var delivered []string
	for {
		d, err := s.Get("q", true)
		require.NoError(t, err)
		if d == nil {
			break
		}
		delivered = append(delivered, string(d.Body))
	}
	assert.Equal(t, got, delivered, "what Peek showed is what the queue delivers")
	// Reference: A50, A36
}

// Peek changes nothing: QueueInfo and the memory count are the same after it, a later
// consumer gets the messages as if Peek had not looked (not redelivered, delivery tags from
// 1), TTLs run as before, and the copies are the caller's own.
func TestPeek_ChangesNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRouter(t)
		s := newSession(t, r)
		declareQueue(t, s, "q", exchange.QueueOptions{MessageTTL: 10 * time.Second})
		publishMsg(t, s, "", "q", exchange.Publishing{Body: []byte("a"), MessageID: "1",
			Headers: exchange.Table{"nested": exchange.Table{"k": "v"}, "list": []any{"x"}}})
		publish(t, s, "", "q", "b")
		before, err := r.QueueInfo("q")
		require.NoError(t, err)
		held := r.Alarms().MemoryHeld

		ms, err := r.Peek("q", 0)
		require.NoError(t, err)
		require.Len(t, ms, 2)
		assert.Equal(t, "1", ms[0].MessageID)
		assert.Equal(t, "", ms[0].Exchange)
		assert.Equal(t, "q", ms[0].RoutingKey)
		ms[0].Body[0] = 'X'
		ms[0].Headers["nested"].(exchange.Table)["k"] = "changed"
		ms[0].Headers["list"].([]any)[0] = "changed"

		after, err := r.QueueInfo("q")
		require.NoError(t, err)
		assert.Equal(t, before, after)
		assert.Equal(t, held, r.Alarms().MemoryHeld)

		c := consume(t, s, "q", exchange.ConsumeOptions{Prefetch: 1})
		d := next(t, c)
		assert.Equal(t, "a", string(d.Body))
		assert.False(t, d.Redelivered)
		assert.Equal(t, uint64(1), d.DeliveryTag)
		assert.Equal(t, exchange.Table{"k": "v"}, d.Headers["nested"])
		assert.Equal(t, []any{"x"}, d.Headers["list"])
		require.NoError(t, c.Cancel())
		require.NoError(t, d.Nack(true))

		time.Sleep(10*time.Second - time.Millisecond)
		synctest.Wait()
		got, _ := peekBodies(t, r, "q", 0)
		assert.Equal(t, []string{"a", "b"}, got, "not expired yet")
		sleepThenWait(time.Millisecond)
		assert.Equal(t, 0, ready(t, r, "q"), "the TTL ran as if Peek had not looked")
	})
}

// A message whose TTL ran out behind a live head still counts as ready until it reaches the
// head (A31), but no consumer gets it, so Peek leaves it out.
func TestPeek_A31_LeavesOutExpiredBehindTheHead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRouter(t)
		s := newSession(t, r)
		declareQueue(t, s, "q", exchange.QueueOptions{})
		publish(t, s, "", "q", "live")
		publishMsg(t, s, "", "q", exchange.Publishing{Body: []byte("short"), Expiration: "1000"})
		publish(t, s, "", "q", "later")
		sleepThenWait(2 * time.Second)
		assert.Equal(t, 3, ready(t, r, "q"))
		got, _ := peekBodies(t, r, "q", 0)
		assert.Equal(t, []string{"live", "later"}, got)
		assert.Equal(t, []string{"live", "later"}, bodies(t, s, "q"))
	})
	// Reference: A31
}

// On a queue with a delivery limit, Peek shows the x-delivery-count the next delivery carries.
func TestPeek_A38_ShowsDeliveryCount(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	declareQueue(t, s, "q", exchange.QueueOptions{Durable: true, QueueType: "quorum"})
	publish(t, s, "", "q", "m")
	require.NoError(t, getUnacked(t, s, "q").Reject(true))
	ms, err := r.Peek("q", 0)
	require.NoError(t, err)
	require.Len(t, ms, 1)
	d := getUnacked(t, s, "q")
	assert.Equal(t, d.Headers, ms[0].Headers)
	assert.Equal(t, int64(1), ms[0].Headers["x-delivery-count"])
	// Reference: A38
}

// Paged-out messages are read back for Peek with their bodies and properties, in order, and
// stay paged out: the memory count does not move, and a consumer later reads them as usual.
func TestPeek_PagedOutMessagesAreReadBackAndStayOut(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *store.Store) {
		r, err := exchange.New(&exchange.Options{Store: st, MemoryBudget: 1}) // everything beyond one message pages out
		require.NoError(t, err)
		t.Cleanup(func() { r.Close() })
		s := newSession(t, r)
		declareQueue(t, s, "q", exchange.QueueOptions{Durable: true})
		body := func(i int) string { return fmt.Sprintf("m%02d-%s", i, strings.Repeat("x", kib)) }
		for i := range 20 {
			msg := persistent(body(i))
			msg.MessageID = fmt.Sprint(i)
			msg.Headers = exchange.Table{"n": int32(i)}
			publishMsg(t, s, "", "q", msg)
			if i == 0 {
				require.NoError(t, getUnacked(t, s, "q").Nack(true)) // back at the head, redelivered
			}
		}
		before, err := r.QueueInfo("q")
		require.NoError(t, err)
		held := r.Alarms().MemoryHeld
		require.Less(t, held, int64(10*kib), "20 KiB of bodies, paged out")

		ms, err := r.Peek("q", 0)
		require.NoError(t, err)
		require.Len(t, ms, 20)
		for i, m := range ms {
			assert.Equal(t, body(i), string(m.Body))
			assert.Equal(t, fmt.Sprint(i), m.MessageID)
			assert.Equal(t, int32(i), m.Headers["n"])
			assert.Equal(t, exchange.Persistent, m.DeliveryMode)
			assert.Equal(t, i == 0, m.Redelivered, "message %d", i)
		}
		assert.Equal(t, held, r.Alarms().MemoryHeld, "nothing was paged in")
		after, err := r.QueueInfo("q")
		require.NoError(t, err)
		assert.Equal(t, before, after)

		for i := range 20 {
			d := getUnacked(t, s, "q")
			assert.Equal(t, body(i), string(d.Body))
			require.NoError(t, d.Ack())
		}
	})
}

func TestPeek_MissingQueueAndClosedRouter(t *testing.T) {
	r, err := exchange.New(nil)
	require.NoError(t, err)
	_, err = r.Peek("nowhere", 0)
	require.ErrorIs(t, err, exchange.ErrNotFound)
	_, err = r.QueueDeclare("q", exchange.QueueOptions{})
	require.NoError(t, err)
	ms, err := r.Peek("q", 0)
	require.NoError(t, err)
	assert.Empty(t, ms)
	require.NoError(t, r.Close())
	_, err = r.Peek("q", 0)
	require.ErrorIs(t, err, exchange.ErrClosed)
}
