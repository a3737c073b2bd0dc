package exchange_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/exchange"
)

// toDefault returns queue options that dead-letter through the default exchange to queue.
func toDefault(queue string) exchange.QueueOptions {
	return exchange.QueueOptions{Args: exchange.Table{"x-dead-letter-exchange": ""}, DeadLetterRoutingKey: queue}
}

// xDeath returns the x-death entries of d, checking their AMQP types: an array of tables.
func xDeath(t *testing.T, d *exchange.Delivery) []exchange.Table {
	t.Helper()
	arr, ok := d.Headers["x-death"].([]any)
	require.True(t, ok, "x-death is %T", d.Headers["x-death"])
	out := make([]exchange.Table, len(arr))
	for i, e := range arr {
		out[i], ok = e.(exchange.Table)
		require.True(t, ok, "x-death[%d] is %T", i, e)
	}
	return out
}

func TestDeadLetter_A38_QuorumDeliveryLimit(t *testing.T) {
	quorum := func(limit int, args exchange.Table) exchange.QueueOptions {
		return exchange.QueueOptions{Durable: true, QueueType: "quorum", DeliveryLimit: limit,
			DeadLetterExchange: "dlx", Args: args}
	}
	// rejectUntilDead rejects with requeue until the message leaves q, and returns how many
	// deliveries it had and the x-delivery-count of each.
	rejectUntilDead := func(t *testing.T, r *exchange.Router, s *exchange.Session, max int) (int, []any) {
		var counts []any
		for n := 1; n <= max; n++ {
			d, err := s.Get("q", false)
			require.NoError(t, err)
			if d == nil {
				return n - 1, counts
			}
			counts = append(counts, d.Headers["x-delivery-count"])
			require.NoError(t, d.Reject(true))
		}
		return max, counts
	}
	t.Run("default 20", func(t *testing.T) {
		r := newRouter(t)
		s := newSession(t, r)
		declareDLQ(t, s, "dlx", "dlq")
		declareQueue(t, s, "q", quorum(0, nil))
		publish(t, s, "", "q", "poison")
		n, counts := rejectUntilDead(t, r, s, 100)
		assert.Equal(t, 21, n, "returned 21 times, one more than the limit")
		assert.Nil(t, counts[0], "the first delivery carries no x-delivery-count")
		assert.Equal(t, int64(20), counts[20])
		d := getUnacked(t, s, "dlq")
		assert.Equal(t, "delivery_limit", d.Headers["x-first-death-reason"])
	})
	t.Run("limit 2", func(t *testing.T) {
		r := newRouter(t)
		s := newSession(t, r)
		declareDLQ(t, s, "dlx", "dlq")
		declareQueue(t, s, "q", quorum(2, nil))
		publish(t, s, "", "q", "poison")
		n, counts := rejectUntilDead(t, r, s, 100)
		assert.Equal(t, 3, n)
		assert.Equal(t, []any{nil, int64(1), int64(2)}, counts)
		d := getUnacked(t, s, "dlq")
		assert.Equal(t, "poison", string(d.Body))
		death := xDeath(t, d)
		require.Len(t, death, 1)
		assert.Equal(t, "delivery_limit", death[0]["reason"])
		assert.Equal(t, "q", death[0]["queue"])
	})
	t.Run("no DLX: dropped", func(t *testing.T) {
		r := newRouter(t)
		s := newSession(t, r)
		declareQueue(t, s, "q", exchange.QueueOptions{Durable: true, QueueType: "quorum", DeliveryLimit: 1})
		publish(t, s, "", "q", "poison")
		for range 2 {
			require.NoError(t, getUnacked(t, s, "q").Reject(true))
		}
		info, err := r.QueueInfo("q")
		require.NoError(t, err)
		assert.Zero(t, info.Ready)
		assert.Equal(t, uint64(1), info.Dropped["delivery_limit"])
	})
	t.Run("-1 is unlimited", func(t *testing.T) {
		r := newRouter(t)
		s := newSession(t, r)
		declareDLQ(t, s, "dlx", "dlq")
		declareQueue(t, s, "q", quorum(0, exchange.Table{"x-delivery-limit": int64(-1)}))
		publish(t, s, "", "q", "poison")
		n, _ := rejectUntilDead(t, r, s, 50)
		assert.Equal(t, 50, n)
		assert.Equal(t, 1, ready(t, r, "q"))
	})
	// Reference: A38, rabbitmq.com/docs/quorum-queues#poison-message-handling
}

func TestDeadLetter_A39_RejectCountsNackDoesNot(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	declareDLQ(t, s, "dlx", "dlq")
	declareQueue(t, s, "q", exchange.QueueOptions{Durable: true, QueueType: "quorum", DeliveryLimit: 2, DeadLetterExchange: "dlx"})
	publish(t, s, "", "q", "m")

	d := getUnacked(t, s, "q")
	require.NoError(t, d.Reject(true)) // count 1
	for range 5 {
		d = getUnacked(t, s, "q")
		assert.Equal(t, int64(1), d.Headers["x-delivery-count"])
		assert.True(t, d.Redelivered)
		require.NoError(t, d.Nack(true)) // does not count (4.3)
	}
	// A connection loss counts: the session closes with the message unacked.
	other := newSession(t, r)
	_, err := other.Get("q", false)
	require.NoError(t, err)
	require.NoError(t, other.Close())
	d = getUnacked(t, s, "q")
	assert.Equal(t, int64(2), d.Headers["x-delivery-count"])
	require.NoError(t, d.Reject(true)) // 3 > 2
	assert.Equal(t, 0, ready(t, r, "q"))
	dead := getUnacked(t, s, "dlq")
	assert.Equal(t, "delivery_limit", dead.Headers["x-first-death-reason"])
	// Reference: A39, rabbitmq.com/docs/nack, rabbitmq.com/docs/quorum-queues
}

func TestDeadLetter_A40_EveryReasonReachesTheDLX(t *testing.T) {
	cases := []struct {
		reason string
		opts   exchange.QueueOptions
		kill   func(t *testing.T, s *exchange.Session)
	}{
		{"rejected", exchange.QueueOptions{}, deathBy("rejected", "", "q")},
		{"rejected", exchange.QueueOptions{}, func(t *testing.T, s *exchange.Session) {
			require.NoError(t, getUnacked(t, s, "q").Nack(false))
		}},
		{"expired", exchange.QueueOptions{MessageTTL: time.Second}, deathBy("expired", "", "q")},
		{"maxlen", exchange.QueueOptions{MaxLength: 1}, deathBy("maxlen", "", "q")},
		{"delivery_limit", exchange.QueueOptions{Durable: true, QueueType: "quorum", DeliveryLimit: 1}, deathBy("delivery_limit", "", "q")},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRouter(t)
				s := newSession(t, r)
				declareDLQ(t, s, "dlx", "dlq")
				o := tc.opts
				o.DeadLetterExchange = "dlx"
				declareQueue(t, s, "q", o)
				publish(t, s, "", "q", "victim")
				tc.kill(t, s)

				d := getUnacked(t, s, "dlq")
				assert.Equal(t, "victim", string(d.Body))
				assert.Equal(t, "dlx", d.Exchange)
				assert.Equal(t, "q", d.RoutingKey)
				death := xDeath(t, d)
				require.Len(t, death, 1)
				assert.Equal(t, tc.reason, death[0]["reason"])
				info, err := r.QueueInfo("q")
				require.NoError(t, err)
				assert.Equal(t, uint64(1), info.DeadLettered)
				assert.Empty(t, info.Dropped)
			})
		})
	}
	t.Run("ack and requeue do not dead-letter", func(t *testing.T) {
		r := newRouter(t)
		s := newSession(t, r)
		declareDLQ(t, s, "dlx", "dlq")
		declareQueue(t, s, "q", exchange.QueueOptions{DeadLetterExchange: "dlx"})
		publish(t, s, "", "q", "m")
		require.NoError(t, getUnacked(t, s, "q").Nack(true))
		require.NoError(t, getUnacked(t, s, "q").Ack())
		assert.Equal(t, 0, ready(t, r, "dlq"))
	})
	// Reference: A40, rabbitmq.com/docs/dlx
}

func TestDeadLetter_A41_RoutingKeys(t *testing.T) {
	setup := func(t *testing.T) (*exchange.Router, *exchange.Session) {
		r := newRouter(t)
		s := newSession(t, r)
		require.NoError(t, s.ExchangeDeclare("dlx", exchange.Direct, exchange.ExchangeOptions{}))
		for _, key := range []string{"orig", "cc-key", "over"} {
			declareQueue(t, s, "dl-"+key, exchange.QueueOptions{})
			require.NoError(t, s.QueueBind("dl-"+key, "dlx", key, nil))
		}
		require.NoError(t, s.ExchangeDeclare("src", exchange.Direct, exchange.ExchangeOptions{}))
		return r, s
	}
	msg := exchange.Publishing{Body: []byte("m"), Headers: exchange.Table{"CC": []any{"cc-key"}}}

	t.Run("original keys including CC", func(t *testing.T) {
		r, s := setup(t)
		declareQueue(t, s, "q", exchange.QueueOptions{DeadLetterExchange: "dlx"})
		require.NoError(t, s.QueueBind("q", "src", "orig", nil))
		publishMsg(t, s, "src", "orig", msg)
		require.NoError(t, getUnacked(t, s, "q").Reject(false))

		for _, dlq := range []string{"dl-orig", "dl-cc-key"} {
			d := getUnacked(t, s, dlq)
			assert.Equal(t, "orig", d.RoutingKey, dlq)
			assert.Equal(t, "dlx", d.Exchange, dlq)
		}
		assert.Equal(t, 0, ready(t, r, "dl-orig"), "one copy per queue")
		assert.Equal(t, 0, ready(t, r, "dl-over"))
	})
	t.Run("x-dead-letter-routing-key replaces them", func(t *testing.T) {
		r, s := setup(t)
		declareQueue(t, s, "q", exchange.QueueOptions{DeadLetterExchange: "dlx", DeadLetterRoutingKey: "over"})
		require.NoError(t, s.QueueBind("q", "src", "orig", nil))
		publishMsg(t, s, "src", "orig", msg)
		require.NoError(t, getUnacked(t, s, "q").Reject(false))

		d := getUnacked(t, s, "dl-over")
		assert.Equal(t, "over", d.RoutingKey)
		assert.Equal(t, 0, ready(t, r, "dl-orig"))
		assert.Equal(t, 0, ready(t, r, "dl-cc-key"), "CC is not used with an override key")
	})
	t.Run("default exchange as DLX with a routing key", func(t *testing.T) {
		r := newRouter(t)
		s := newSession(t, r)
		declareQueue(t, s, "parking", exchange.QueueOptions{})
		declareQueue(t, s, "q", toDefault("parking"))
		publish(t, s, "", "q", "m")
		require.NoError(t, getUnacked(t, s, "q").Reject(false))
		d := getUnacked(t, s, "parking")
		assert.Equal(t, "m", string(d.Body))
		assert.Equal(t, "", d.Exchange)
		assert.Equal(t, "parking", d.RoutingKey)
		assert.Equal(t, 0, ready(t, r, "q"))
	})
	// Reference: A41, rabbitmq.com/docs/dlx#routing; SEMANTICS.md §1.3b (x-dead-letter-exchange "")
}

func TestDeadLetter_A42_MissingDLXDropsSilently(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	declareQueue(t, s, "q", exchange.QueueOptions{DeadLetterExchange: "nowhere"})
	publish(t, s, "", "q", "m")
	require.NoError(t, getUnacked(t, s, "q").Reject(false))
	assert.NoError(t, s.Err(), "the channel stays open")
	info, err := r.QueueInfo("q")
	require.NoError(t, err)
	assert.Zero(t, info.Ready)
	assert.Zero(t, info.DeadLettered)
	assert.Equal(t, map[string]uint64{"no-dlx": 1}, info.Dropped)
	// Reference: A42, rabbitmq.com/docs/dlx
}

func TestDeadLetter_A43_XDeathMatchesVerifiedExample(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRouter(t)
		s := newSession(t, r)
		declareDLQ(t, s, "dlx", "dlq")
		declareQueue(t, s, "src", exchange.QueueOptions{MaxLength: 1, DeadLetterExchange: "dlx"})
		time.Sleep(1500 * time.Millisecond)
		died := time.Now()
		publishMsg(t, s, "", "src", exchange.Publishing{Body: []byte("first"), Expiration: "60000",
			Headers: exchange.Table{"CC": []any{"cc-key"}}})
		publish(t, s, "", "src", "second") // drop-head: first dies with reason maxlen

		d := getUnacked(t, s, "dlq")
		assert.Equal(t, "first", string(d.Body))
		assert.Empty(t, d.Expiration)
		death := xDeath(t, d)
		require.Len(t, death, 1)
		at, ok := death[0]["time"].(time.Time)
		require.True(t, ok, "time is %T", death[0]["time"])
		assert.True(t, at.Equal(died.Truncate(time.Second)), "time %v is the death in whole seconds", at)
		want := exchange.Table{
			"count":               int64(1),
			"exchange":            "",
			"original-expiration": "60000",
			"queue":               "src",
			"reason":              "maxlen",
			"routing-keys":        []any{"src", "cc-key"},
			"time":                at,
		}
		assert.Equal(t, want, death[0])
		assert.Equal(t, "", d.Headers["x-first-death-exchange"])
		assert.Equal(t, "src", d.Headers["x-first-death-queue"])
		assert.Equal(t, "maxlen", d.Headers["x-first-death-reason"])
		assert.Equal(t, []any{"cc-key"}, d.Headers["CC"], "CC stays without a dead-letter routing key")
	})
	// Reference: A43, SEMANTICS.md §1.4 (verified example), rabbitmq.com/docs/dlx#effects
}

func TestDeadLetter_A43_RepeatedDeathCountsAndMovesToFront(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRouter(t)
		s := newSession(t, r)
		declareQueue(t, s, "a", toDefault("b"))
		declareQueue(t, s, "b", toDefault("a"))
		// A client's own x-death is ignored (4.x).
		publishMsg(t, s, "", "a", exchange.Publishing{Body: []byte("m"),
			Headers: exchange.Table{"x-death": []any{exchange.Table{"queue": "forged", "count": int64(9)}}}})

		time.Sleep(1200 * time.Millisecond)
		first := time.Now().Truncate(time.Second)               // x-death times are whole seconds
		require.NoError(t, getUnacked(t, s, "a").Reject(false)) // a → b
		time.Sleep(2 * time.Second)
		second := time.Now().Truncate(time.Second)
		require.NoError(t, getUnacked(t, s, "b").Reject(false)) // b → a
		time.Sleep(2 * time.Second)
		require.NoError(t, getUnacked(t, s, "a").Reject(false)) // a → b again

		d := getUnacked(t, s, "b")
		death := xDeath(t, d)
		require.Len(t, death, 2)
		assert.Equal(t, exchange.Table{"queue": "a", "reason": "rejected", "count": int64(2), "time": first,
			"exchange": "", "routing-keys": []any{"a"}}, death[0], "the repeated {queue, reason} moved to the front")
		assert.Equal(t, exchange.Table{"queue": "b", "reason": "rejected", "count": int64(1), "time": second,
			"exchange": "", "routing-keys": []any{"b"}}, death[1])
		assert.Equal(t, "a", d.Headers["x-first-death-queue"], "set at the first death, never changed")
		assert.Equal(t, "rejected", d.Headers["x-first-death-reason"])
		assert.Equal(t, "", d.Headers["x-first-death-exchange"])
		assert.Equal(t, "a", d.Headers["x-last-death-queue"])
	})
	// Reference: A43, SEMANTICS.md §1.4, rabbitmq.com/docs/dlx#effects
}

func TestDeadLetter_A44_ExpirationBCCAndCCRemoved(t *testing.T) {
	setup := func(t *testing.T) (*exchange.Router, *exchange.Session) {
		r := newRouter(t)
		s := newSession(t, r)
		require.NoError(t, s.ExchangeDeclare("dlx", exchange.Direct, exchange.ExchangeOptions{}))
		for _, key := range []string{"k", "cc", "bcc", "over"} {
			declareQueue(t, s, "dl-"+key, exchange.QueueOptions{})
			require.NoError(t, s.QueueBind("dl-"+key, "dlx", key, nil))
		}
		require.NoError(t, s.ExchangeDeclare("src", exchange.Direct, exchange.ExchangeOptions{}))
		return r, s
	}
	msg := exchange.Publishing{Body: []byte("m"), Expiration: "60000",
		Headers: exchange.Table{"app": "v", "CC": []any{"cc"}, "BCC": []any{"bcc"}}}

	t.Run("without a dead-letter routing key", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r, s := setup(t)
			declareQueue(t, s, "q", exchange.QueueOptions{DeadLetterExchange: "dlx"})
			require.NoError(t, s.QueueBind("q", "src", "k", nil))
			publishMsg(t, s, "src", "k", msg)
			require.NoError(t, getUnacked(t, s, "q").Reject(false))

			sleepThenWait(2 * time.Minute)
			for _, dlq := range []string{"dl-k", "dl-cc", "dl-bcc"} {
				require.Equal(t, 1, ready(t, r, dlq), "%s: routed by the original keys, BCC included (§1.3b)", dlq)
			}
			d := getUnacked(t, s, "dl-bcc")
			assert.Empty(t, d.Expiration, "the expiration is removed, so the copy cannot expire again")
			assert.NotContains(t, d.Headers, "BCC")
			assert.Equal(t, []any{"cc"}, d.Headers["CC"])
			assert.Equal(t, "v", d.Headers["app"])
			death := xDeath(t, d)
			assert.Equal(t, "60000", death[0]["original-expiration"])
			assert.Equal(t, []any{"k", "cc"}, death[0]["routing-keys"], "x-death excludes BCC")
		})
	})
	t.Run("with a dead-letter routing key", func(t *testing.T) {
		r, s := setup(t)
		declareQueue(t, s, "q", exchange.QueueOptions{DeadLetterExchange: "dlx", DeadLetterRoutingKey: "over"})
		require.NoError(t, s.QueueBind("q", "src", "k", nil))
		publishMsg(t, s, "src", "k", msg)
		require.NoError(t, getUnacked(t, s, "q").Reject(false))

		for _, dlq := range []string{"dl-k", "dl-cc", "dl-bcc"} {
			assert.Equal(t, 0, ready(t, r, dlq), dlq)
		}
		d := getUnacked(t, s, "dl-over")
		assert.NotContains(t, d.Headers, "BCC")
		assert.NotContains(t, d.Headers, "CC", "CC goes when the routing key is replaced")
		assert.Empty(t, d.Expiration)
		death := xDeath(t, d)
		assert.Equal(t, []any{"k", "cc"}, death[0]["routing-keys"], "x-death keeps the keys before the death")
	})
	t.Run("per-queue TTL still records original-expiration", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := newRouter(t)
			s := newSession(t, r)
			declareDLQ(t, s, "dlx", "dlq")
			declareQueue(t, s, "q", exchange.QueueOptions{MessageTTL: time.Second, DeadLetterExchange: "dlx"})
			publishMsg(t, s, "", "q", exchange.Publishing{Expiration: "5000"})
			sleepThenWait(time.Second)
			d := getUnacked(t, s, "dlq")
			death := xDeath(t, d)
			assert.Equal(t, "expired", death[0]["reason"])
			assert.Equal(t, "5000", death[0]["original-expiration"])
			assert.Equal(t, 0, ready(t, r, "q"))
		})
	})
	t.Run("a message whose only header was BCC has an empty table", func(t *testing.T) {
		r := newRouter(t)
		s := newSession(t, r)
		declareQueue(t, s, "q", exchange.QueueOptions{})
		declareQueue(t, s, "blind", exchange.QueueOptions{})
		publishMsg(t, s, "", "q", exchange.Publishing{Headers: exchange.Table{"BCC": []any{"blind"}}})
		for _, q := range []string{"q", "blind"} {
			d := getUnacked(t, s, q)
			assert.NotNil(t, d.Headers, q)
			assert.Empty(t, d.Headers, q)
		}
		assert.Equal(t, 0, ready(t, r, "blind"))
	})
	// Reference: A44, rabbitmq.com/docs/dlx#effects; SEMANTICS.md §1.3b
}

func TestDeadLetter_A45_CycleDroppedOnlyWithoutRejection(t *testing.T) {
	t.Run("expiry cycle to itself is dropped", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := newRouter(t)
			s := newSession(t, r)
			o := toDefault("loop")
			o.MessageTTL = time.Second
			declareQueue(t, s, "loop", o)
			publish(t, s, "", "loop", "m")
			sleepThenWait(time.Second)
			assert.Equal(t, 0, ready(t, r, "loop"))
			sleepThenWait(time.Minute)
			info, err := r.QueueInfo("loop")
			require.NoError(t, err)
			assert.Equal(t, uint64(1), info.DeadLettered)
			assert.Equal(t, uint64(1), info.Published, "it never came back")
		})
	})
	t.Run("expiry cycle through two queues is dropped", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := newRouter(t)
			s := newSession(t, r)
			for _, q := range [][2]string{{"a", "b"}, {"b", "a"}} {
				o := toDefault(q[1])
				o.MessageTTL = time.Second
				declareQueue(t, s, q[0], o)
			}
			publish(t, s, "", "a", "m")
			sleepThenWait(1500 * time.Millisecond)
			assert.Equal(t, 1, ready(t, r, "b"))
			sleepThenWait(time.Second)
			assert.Equal(t, 0, ready(t, r, "a"), "back to a without a rejection: dropped")
			assert.Equal(t, 0, ready(t, r, "b"))
		})
	})
	t.Run("an earlier rejection outside the cycle does not keep it alive", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := newRouter(t)
			s := newSession(t, r)
			declareQueue(t, s, "in", toDefault("a"))
			for _, q := range [][2]string{{"a", "b"}, {"b", "a"}} {
				o := toDefault(q[1])
				o.MessageTTL = time.Second
				declareQueue(t, s, q[0], o)
			}
			publish(t, s, "", "in", "m")
			require.NoError(t, getUnacked(t, s, "in").Reject(false)) // in → a
			sleepThenWait(1500 * time.Millisecond)                   // a → b
			assert.Equal(t, 1, ready(t, r, "b"))
			sleepThenWait(time.Second) // b → a closes an automatic cycle a → b → a
			assert.Equal(t, 0, ready(t, r, "a"))
			assert.Equal(t, 0, ready(t, r, "b"))
		})
	})
	t.Run("reject-driven cycle continues and counts", func(t *testing.T) {
		r := newRouter(t)
		s := newSession(t, r)
		declareQueue(t, s, "retry", toDefault("retry"))
		publish(t, s, "", "retry", "m")
		for n := int64(1); n <= 3; n++ {
			require.NoError(t, getUnacked(t, s, "retry").Reject(false))
			d, err := s.Get("retry", false)
			require.NoError(t, err)
			require.NotNil(t, d, "the rejected message came back to its queue")
			death := xDeath(t, d)
			require.Len(t, death, 1)
			assert.Equal(t, n, death[0]["count"])
			require.NoError(t, d.Nack(true))
		}
	})
	t.Run("a rejection inside the cycle keeps it going", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := newRouter(t)
			s := newSession(t, r)
			declareQueue(t, s, "a", toDefault("b"))
			o := toDefault("a")
			o.MessageTTL = time.Second
			declareQueue(t, s, "b", o)
			publish(t, s, "", "a", "m")
			require.NoError(t, getUnacked(t, s, "a").Reject(false)) // a → b
			sleepThenWait(time.Second)                              // b → a
			d := getUnacked(t, s, "a")
			death := xDeath(t, d)
			require.Len(t, death, 2)
			assert.Equal(t, "expired", death[0]["reason"])
			assert.Equal(t, "rejected", death[1]["reason"])
		})
	})
	// Reference: A45, rabbitmq.com/docs/dlx#dead-letter-cycle (rabbit_dead_letter:is_cycle)
}

func TestDeadLetter_A46_ExpiredQueueIsNotDeadLettered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRouter(t)
		s := newSession(t, r)
		declareDLQ(t, s, "dlx", "dlq")
		declareQueue(t, s, "q", exchange.QueueOptions{Expires: 10 * time.Second, DeadLetterExchange: "dlx"})
		publish(t, s, "", "q", "1")
		publish(t, s, "", "q", "2")
		sleepThenWait(10*time.Second + time.Millisecond)
		_, err := r.QueueInfo("q")
		require.ErrorIs(t, err, exchange.ErrNotFound)
		assert.Equal(t, 0, ready(t, r, "dlq"))
		_, err = s.Publish(context.Background(), "", "q", false, exchange.Publishing{})
		assert.NoError(t, err, "publishing to the gone queue through the default exchange drops silently")
	})
	// Reference: A46, rabbitmq.com/docs/dlx, rabbitmq.com/docs/ttl#queue-ttl
}
