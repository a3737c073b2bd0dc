package interop

import (
	"fmt"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// How a headers exchange compares a binding's value with a message's, type by type: the same
// matrix against every server, so that where RabbitMQ's comparison of field types differs
// from a plain equality, tribus is held to RabbitMQ's.
func TestAMQP091_HeadersExchangeCompareValuesAsRabbitMQ(t *testing.T) {
	cases := []struct {
		name          string
		bound, header any
	}{
		{"int32 and int64", int32(1), int64(1)},
		{"int8 and int32", int8(1), int32(1)},
		{"int32 and float64", int32(1), float64(1)},
		{"float32 and float64", float32(1.5), float64(1.5)},
		{"string and int", "1", int32(1)},
		{"string and byte array", "a", []byte("a")},
		{"bool and int", true, int32(1)},
		{"bool and bool", true, true},
		{"tables with int32 and int64", amqp.Table{"a": int32(1)}, amqp.Table{"a": int64(1)}},
		{"equal tables", amqp.Table{"a": "x"}, amqp.Table{"a": "x"}},
		{"arrays with int32 and int64", []any{int32(1)}, []any{int64(1)}},
		{"void and a string", nil, "anything"},
		{"timestamp and int64", time.Unix(100, 0), int64(100)},
	}
	results := make(map[string]map[string]bool) // by server: which cases matched
	eachAMQP(t, func(t *testing.T, tg amqpTarget) {
		ctx := ctxT(t)
		_, ch := tg.channel(t)
		x := aname(t, "hdrs")
		require.NoError(t, ch.ExchangeDeclare(x, "headers", false, false, false, false, nil))
		t.Cleanup(func() { cleanupAMQP(tg, nil, []string{x}) })
		require.NoError(t, ch.Confirm(false))
		returns := ch.NotifyReturn(make(chan amqp.Return, len(cases)))
		confirms := ch.NotifyPublish(make(chan amqp.Confirmation, len(cases)))
		for i, c := range cases {
			q := aname(t, fmt.Sprintf("q%d", i))
			declareQueue(t, tg, ch, q, false, nil)
			require.NoError(t, ch.QueueBind(q, "", x, false, amqp.Table{"x-match": "all", "k" + fmt.Sprint(i): c.bound}))
		}
		for i, c := range cases {
			require.NoError(t, ch.PublishWithContext(ctx, x, "", true, false, amqp.Publishing{
				MessageId: fmt.Sprint(i), Headers: amqp.Table{"k" + fmt.Sprint(i): c.header}}))
			<-confirms // a return comes before its confirm
		}
		matched := make(map[string]bool)
		for _, c := range cases {
			matched[c.name] = true
		}
	drain:
		for {
			select {
			case r := <-returns:
				var i int
				fmt.Sscan(r.MessageId, &i)
				matched[cases[i].name] = false
			default:
				break drain
			}
		}
		results[tg.name] = matched
	})
	want, ok := results["rabbitmq"]
	if !ok {
		t.Skip("no RabbitMQ to compare with")
	}
	for _, name := range []string{"tribus-inproc", "tribus-tcp"} {
		assert.Equal(t, want, results[name], "%s matches what RabbitMQ matches", name)
	}
}
