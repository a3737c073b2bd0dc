package exchange_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/exchange"
)

// Bindings lists every binding, queue and exchange destinations, with the default exchange's
// implicit one per queue, as RabbitMQ's list_bindings does (A4, A9).
func TestBindings_ListEveryBindingWithTheDefaultExchangesOwn(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	require.NoError(t, s.ExchangeDeclare("x", exchange.Topic, exchange.ExchangeOptions{}))
	require.NoError(t, s.ExchangeDeclare("h", exchange.Headers, exchange.ExchangeOptions{}))
	declareQueue(t, s, "q", exchange.QueueOptions{})
	require.NoError(t, s.QueueBind("q", "x", "order.*", nil))
	require.NoError(t, s.QueueBind("q", "h", "", exchange.Table{"x-match": "any", "type": "pdf"}))
	require.NoError(t, s.ExchangeBind("h", "x", "#", nil))
	assert.Equal(t, []exchange.BindingInfo{
		{Source: "", Destination: "q", DestinationKind: "queue", RoutingKey: "q"},
		{Source: "h", Destination: "q", DestinationKind: "queue", Args: exchange.Table{"x-match": "any", "type": "pdf"}},
		{Source: "x", Destination: "h", DestinationKind: "exchange", RoutingKey: "#"},
		{Source: "x", Destination: "q", DestinationKind: "queue", RoutingKey: "order.*"},
	}, r.Bindings())
}
