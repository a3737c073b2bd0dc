package exchange_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/exchange"
)

// Each dead-letter reason gives one Death naming the queue, the reason, the exchange and the
// routing keys (CC included) the message had there, its removed expiration, and the time in
// whole seconds; it is the first death, so First is set.
func TestDeaths_A43_EachReasonGivesItsEntry(t *testing.T) {
	cases := []struct {
		reason     string
		opts       exchange.QueueOptions
		expiration string
		kill       func(t *testing.T, s *exchange.Session)
	}{
		{"rejected", exchange.QueueOptions{}, "60000", deathBy("rejected", "src", "k")},
		{"expired", exchange.QueueOptions{}, "1000", deathBy("expired", "src", "k")},
		{"maxlen", exchange.QueueOptions{MaxLength: 1}, "", deathBy("maxlen", "src", "k")},
		{"delivery_limit", exchange.QueueOptions{Durable: true, QueueType: "quorum", DeliveryLimit: 1}, "", deathBy("delivery_limit", "src", "k")},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRouter(t)
				s := newSession(t, r)
				declareDLQ(t, s, "dlx", "dlq")
				require.NoError(t, s.ExchangeDeclare("src", exchange.Direct, exchange.ExchangeOptions{}))
				o := tc.opts
				o.DeadLetterExchange = "dlx"
				declareQueue(t, s, "q", o)
				require.NoError(t, s.QueueBind("q", "src", "k", nil))
				time.Sleep(1500 * time.Millisecond) // so that whole seconds differ from now
				publishMsg(t, s, "src", "k", exchange.Publishing{Body: []byte("victim"), Expiration: tc.expiration,
					Headers: exchange.Table{"CC": []any{"cc"}}})
				tc.kill(t, s)
				died := time.Now().Truncate(time.Second)

				d := getUnacked(t, s, "dlq")
				want := []exchange.Death{{Queue: "q", Reason: tc.reason, Count: 1, Time: died, Exchange: "src",
					RoutingKeys: []string{"k", "cc"}, OriginalExpiration: tc.expiration, First: true}}
				assert.Equal(t, want, d.Deaths())
				got, err := exchange.Deaths(d.Headers)
				require.NoError(t, err)
				assert.Equal(t, want, got)
			})
		})
	}
	// Reference: A43, SEMANTICS.md §1.4, rabbitmq.com/docs/dlx#effects
}

// A second death in the same queue for the same reason adds one to that entry's count and
// moves it to the front; a death elsewhere adds an entry in front; First stays on the entry of
// the first death.
func TestDeaths_A43_RepeatedDeathCountsAndFirstStays(t *testing.T) {
	t.Run("same queue and reason", func(t *testing.T) {
		r := newRouter(t)
		s := newSession(t, r)
		declareQueue(t, s, "retry", toDefault("retry"))
		publish(t, s, "", "retry", "m")
		for n := int64(1); n <= 2; n++ {
			require.NoError(t, getUnacked(t, s, "retry").Reject(false))
			deaths := getUnacked(t, s, "retry").Deaths()
			require.Len(t, deaths, 1)
			assert.Equal(t, n, deaths[0].Count)
			assert.Equal(t, "rejected", deaths[0].Reason)
			assert.Equal(t, "retry", deaths[0].Queue)
			assert.True(t, deaths[0].First)
			require.NoError(t, s.Recover(true))
		}
	})
	t.Run("through two queues and back", func(t *testing.T) {
		r := newRouter(t)
		s := newSession(t, r)
		declareQueue(t, s, "a", toDefault("b"))
		declareQueue(t, s, "b", toDefault("a"))
		publish(t, s, "", "a", "m")
		require.NoError(t, getUnacked(t, s, "a").Reject(false)) // a → b
		require.NoError(t, getUnacked(t, s, "b").Reject(false)) // b → a

		deaths := getUnacked(t, s, "a").Deaths()
		require.Len(t, deaths, 2)
		assert.Equal(t, []string{"b", "a"}, []string{deaths[0].Queue, deaths[1].Queue}, "most recent first")
		assert.Equal(t, []bool{false, true}, []bool{deaths[0].First, deaths[1].First})
		assert.Equal(t, "", deaths[1].Exchange, "published to the default exchange")
		assert.Equal(t, "", deaths[0].Exchange, "dead-lettered through the default exchange")
		assert.Equal(t, []string{"b"}, deaths[0].RoutingKeys, "the dead-letter routing key it had in b")
		require.NoError(t, s.Recover(true))

		require.NoError(t, getUnacked(t, s, "a").Reject(false)) // a → b again
		deaths = getUnacked(t, s, "b").Deaths()
		require.Len(t, deaths, 2)
		assert.Equal(t, "a", deaths[0].Queue, "the repeated {queue, reason} moved to the front")
		assert.Equal(t, int64(2), deaths[0].Count)
		assert.True(t, deaths[0].First, "the first death is still a's")
		assert.Equal(t, int64(1), deaths[1].Count)
	})
	// Reference: A43, SEMANTICS.md §1.4, rabbitmq.com/docs/dlx#effects
}

// A header without x-death has no deaths; one that is not what RabbitMQ writes, which only a
// publisher can have sent, is ErrMalformedHeader for Deaths and nil for Delivery.Deaths.
func TestDeaths_MalformedHeaderIsAnError(t *testing.T) {
	ok := exchange.Table{"queue": "q", "reason": "expired", "count": int64(1)}
	with := func(k string, v any) exchange.Table {
		e := exchange.Table{"queue": "q", "reason": "expired", "count": int64(1)}
		if v == nil {
			delete(e, k)
		} else {
			e[k] = v
		}
		return exchange.Table{"x-death": []any{e}}
	}
	for name, h := range map[string]exchange.Table{
		"not an array":          {"x-death": "expired"},
		"entry not a table":     {"x-death": []any{ok, "q"}},
		"no queue":              with("queue", nil),
		"no reason":             with("reason", nil),
		"no count":              with("count", nil),
		"count not an integer":  with("count", "1"),
		"queue not a string":    with("queue", int32(1)),
		"time not a timestamp":  with("time", int64(1700000000)),
		"routing-keys a string": with("routing-keys", "k"),
		"routing key a number":  with("routing-keys", []any{"k", int32(2)}),
		"exchange a table":      with("exchange", exchange.Table{}),
	} {
		_, err := exchange.Deaths(h)
		assert.ErrorIs(t, err, exchange.ErrMalformedHeader, name)
	}

	for name, h := range map[string]exchange.Table{
		"nil table": nil, "no x-death": {"other": "x"}, "void x-death": {"x-death": nil}, "empty x-death": {"x-death": []any{}},
	} {
		deaths, err := exchange.Deaths(h)
		assert.NoError(t, err, name)
		assert.Nil(t, deaths, name)
	}

	deaths, err := exchange.Deaths(exchange.Table{"x-death": []any{exchange.Table{"queue": []byte("q"), "reason": "maxlen",
		"count": int32(3), "routing-keys": []any{[]byte("k")}}}})
	require.NoError(t, err, "any integer width, byte arrays as strings")
	assert.Equal(t, []exchange.Death{{Queue: "q", Reason: "maxlen", Count: 3, RoutingKeys: []string{"k"}}}, deaths)

	r := newRouter(t)
	s := newSession(t, r)
	declareQueue(t, s, "q", exchange.QueueOptions{})
	publishMsg(t, s, "", "q", exchange.Publishing{Headers: with("count", "forged")})
	assert.Nil(t, getUnacked(t, s, "q").Deaths(), "a publisher's malformed x-death")
	publish(t, s, "", "q", "never dead-lettered")
	assert.Nil(t, getUnacked(t, s, "q").Deaths())
}
