package interop

import (
	"fmt"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Routing as RabbitMQ routes, checked on every server: topic patterns word by word, an
// exchange bound to an exchange, an alternate exchange for what nothing else takes, and the
// CC and BCC headers.

// routedTo publishes to x with key and the headers, and returns, for each queue, whether the
// message arrived there (each queue is drained with basic.get).
func routedTo(t *testing.T, ch *amqp.Channel, x, key string, headers amqp.Table, queues []string) map[string]bool {
	t.Helper()
	require.NoError(t, ch.PublishWithContext(ctxT(t), x, key, false, false, amqp.Publishing{Headers: headers, Body: []byte(key)}))
	_, err := ch.QueueDeclarePassive(queues[0], false, false, false, false, nil) // after the publish is routed
	require.NoError(t, err)
	got := make(map[string]bool)
	for _, q := range queues {
		for {
			_, ok, err := ch.Get(q, true)
			require.NoError(t, err)
			if !ok {
				break
			}
			got[q] = true
		}
	}
	return got
}

func TestAMQP091_TopicPatternsMatchWordByWord(t *testing.T) {
	patterns := []string{"#", "order.*", "order.#", "*.created", "order.#.eu", "#.eu", "*", "order.*.*"}
	keys := []string{"order", "order.created", "order.created.eu", "order.x.y.eu", "eu", "", "order..eu"}
	results := make(map[string]map[string][]string)
	eachAMQP(t, func(t *testing.T, tg amqpTarget) {
		_, ch := tg.channel(t)
		x := aname(t, "topics")
		require.NoError(t, ch.ExchangeDeclare(x, "topic", false, false, false, false, nil))
		t.Cleanup(func() { cleanupAMQP(tg, nil, []string{x}) })
		var queues []string
		byQueue := make(map[string]string)
		for i, p := range patterns {
			q := aname(t, fmt.Sprint("p", i))
			declareQueue(t, tg, ch, q, false, nil)
			require.NoError(t, ch.QueueBind(q, p, x, false, nil))
			queues = append(queues, q)
			byQueue[q] = p
		}
		res := make(map[string][]string)
		for _, k := range keys {
			hit := routedTo(t, ch, x, k, nil, queues)
			for _, q := range queues {
				if hit[q] {
					res[k] = append(res[k], byQueue[q])
				}
			}
		}
		results[tg.name] = res
	})
	// What every server must route, spelled out so that the comparison cannot pass empty.
	for name, res := range results {
		assert.ElementsMatch(t, []string{"#", "order.*", "order.#", "*.created"}, res["order.created"], name)
		assert.ElementsMatch(t, []string{"#", "order.#", "order.#.eu", "#.eu"}, res["order.x.y.eu"], name)
		assert.ElementsMatch(t, []string{"#", "order.#", "*"}, res["order"], name+": # matches zero words")
	}
	want, ok := results["rabbitmq"]
	if !ok {
		t.Skip("no RabbitMQ to compare with")
	}
	for _, name := range []string{"tribus-inproc", "tribus-tcp"} {
		assert.Equal(t, want, results[name], name)
	}
}

func TestAMQP091_ExchangeBindingsAlternateExchangeAndCCBCC(t *testing.T) {
	eachAMQP(t, func(t *testing.T, tg amqpTarget) {
		ctx := ctxT(t)
		_, ch := tg.channel(t)
		main, ae, src, dst := aname(t, "main"), aname(t, "ae"), aname(t, "src"), aname(t, "dst")
		require.NoError(t, ch.ExchangeDeclare(ae, "fanout", false, false, false, false, nil))
		require.NoError(t, ch.ExchangeDeclare(main, "direct", false, false, false, false, amqp.Table{"alternate-exchange": ae}))
		require.NoError(t, ch.ExchangeDeclare(src, "topic", false, false, false, false, nil))
		require.NoError(t, ch.ExchangeDeclare(dst, "fanout", false, false, false, false, nil))
		t.Cleanup(func() { cleanupAMQP(tg, nil, []string{main, ae, src, dst}) })
		q1, q2, aeq, dq := aname(t, "q1"), aname(t, "q2"), aname(t, "aeq"), aname(t, "dq")
		for _, q := range []string{q1, q2, aeq, dq} {
			declareQueue(t, tg, ch, q, false, nil)
		}
		require.NoError(t, ch.QueueBind(q1, "k1", main, false, nil))
		require.NoError(t, ch.QueueBind(q2, "k2", main, false, nil))
		require.NoError(t, ch.QueueBind(aeq, "", ae, false, nil))
		require.NoError(t, ch.ExchangeBind(dst, "a.*", src, false, nil))
		require.NoError(t, ch.QueueBind(dq, "", dst, false, nil))
		all := []string{q1, q2, aeq, dq}

		assert.Equal(t, map[string]bool{q1: true}, routedTo(t, ch, main, "k1", nil, all))
		assert.Equal(t, map[string]bool{aeq: true}, routedTo(t, ch, main, "nothing", nil, all), "what no binding takes goes to the alternate exchange")
		assert.Equal(t, map[string]bool{dq: true}, routedTo(t, ch, src, "a.b", nil, all), "through the exchange-to-exchange binding")
		assert.Empty(t, routedTo(t, ch, src, "b.a", nil, all))
		assert.Equal(t, map[string]bool{q1: true, q2: true}, routedTo(t, ch, main, "k1", amqp.Table{"CC": []any{"k2"}}, all), "CC adds routing keys")
		assert.Equal(t, map[string]bool{q1: true, q2: true}, routedTo(t, ch, main, "k1", amqp.Table{"BCC": []any{"k2"}}, all), "so does BCC")

		// A mandatory message the alternate exchange takes is not returned.
		require.NoError(t, ch.Confirm(false))
		returns := ch.NotifyReturn(make(chan amqp.Return, 1))
		confirms := ch.NotifyPublish(make(chan amqp.Confirmation, 1))
		require.NoError(t, ch.PublishWithContext(ctx, main, "nothing", true, false, amqp.Publishing{}))
		assert.True(t, (<-confirms).Ack)
		select {
		case r := <-returns:
			t.Fatalf("returned %d %s: the alternate exchange took it", r.ReplyCode, r.ReplyText)
		default:
		}

		// The delivered copy keeps CC and loses BCC.
		require.NoError(t, ch.PublishWithContext(ctx, main, "k1", false, false, amqp.Publishing{Headers: amqp.Table{"CC": []any{"k2"}, "BCC": []any{"k2"}}}))
		<-confirms
		d, ok, err := ch.Get(q2, true)
		require.NoError(t, err)
		require.True(t, ok)
		assert.Equal(t, []any{"k2"}, d.Headers["CC"])
		assert.NotContains(t, d.Headers, "BCC")
	})
}
