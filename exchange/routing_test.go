package exchange_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/exchange"
)

func TestFanout_A1_OneCopyPerQueueIgnoringKey(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	require.NoError(t, s.ExchangeDeclare("fan", exchange.Fanout, exchange.ExchangeOptions{}))
	for _, q := range []string{"q1", "q2"} {
		declareQueue(t, s, q, exchange.QueueOptions{})
		require.NoError(t, s.QueueBind(q, "fan", "ignored", nil))
	}
	publish(t, s, "fan", "whatever", "m")
	assert.Equal(t, []string{"m"}, bodies(t, s, "q1"))
	assert.Equal(t, []string{"m"}, bodies(t, s, "q2"))
	// Reference: A1, rabbitmq.com/docs/exchanges
}

func TestDirect_A2_ExactKeyOnly(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	require.NoError(t, s.ExchangeDeclare("d", exchange.Direct, exchange.ExchangeOptions{}))
	declareQueue(t, s, "q", exchange.QueueOptions{})
	require.NoError(t, s.QueueBind("q", "d", "order.created", nil))
	for _, k := range []string{"order.created", "Order.created", "order.created ", "order", ""} {
		publish(t, s, "d", k, k)
	}
	assert.Equal(t, []string{"order.created"}, bodies(t, s, "q"))
	// Reference: A2
}

func TestTopic_A3_RoutesThroughExchange(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	require.NoError(t, s.ExchangeDeclare("orders", exchange.Topic, exchange.ExchangeOptions{}))
	declareQueue(t, s, "all", exchange.QueueOptions{})
	declareQueue(t, s, "created", exchange.QueueOptions{})
	require.NoError(t, s.QueueBind("all", "orders", "#", nil))
	require.NoError(t, s.QueueBind("created", "orders", "*.created", nil))
	for _, k := range []string{"", "order.created", "order.eu.created", "created"} {
		publish(t, s, "orders", k, k)
	}
	assert.Equal(t, []string{"", "order.created", "order.eu.created", "created"}, bodies(t, s, "all"))
	assert.Equal(t, []string{"order.created"}, bodies(t, s, "created"))
	// Reference: A3, SEMANTICS.md §1.1 (the full table is TestTopic_A3_EdgeCaseTable)
}

func TestDefaultExchange_A4_EveryQueueBoundByName(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	declareQueue(t, s, "tasks", exchange.QueueOptions{})
	publish(t, s, "", "tasks", "t1")
	assert.Equal(t, []string{"t1"}, bodies(t, s, "tasks"))
	assert.ErrorIs(t, s.QueueBind("tasks", "", "tasks", nil), exchange.ErrAccessRefused)
	s2 := newSession(t, r)
	assert.ErrorIs(t, s2.QueueUnbind("tasks", "", "tasks", nil), exchange.ErrAccessRefused)
	// Reference: A4, AMQP 0-9-1 spec 3.1.3.1
}

func TestRouting_A5_OneCopyPerQueue(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	require.NoError(t, s.ExchangeDeclare("t", exchange.Topic, exchange.ExchangeOptions{}))
	declareQueue(t, s, "q", exchange.QueueOptions{})
	for _, k := range []string{"a.*", "#", "a.b", "*.b"} {
		require.NoError(t, s.QueueBind("q", "t", k, nil))
	}
	msg := exchange.Publishing{Body: []byte("once"), Headers: exchange.Table{"CC": []any{"a.b", "x.b"}}}
	publishMsg(t, s, "t", "a.b", msg)
	assert.Equal(t, []string{"once"}, bodies(t, s, "q"))
	// Reference: A5, rabbitmq.com/docs/e2e
}

func TestPublish_A6_MissingExchangeClosesSession(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	_, err := s.Publish(context.Background(), "nope", "k", false, exchange.Publishing{})
	require.ErrorIs(t, err, exchange.ErrNotFound)
	assert.Equal(t, 404, exchange.ReplyCode(err))
	assert.ErrorIs(t, s.Err(), exchange.ErrNotFound, "the channel is closed with 404")
	_, err = s.Publish(context.Background(), "", "k", false, exchange.Publishing{})
	assert.ErrorIs(t, err, exchange.ErrNotFound, "later calls report why the session closed")
	// Reference: A6 (verified)
}

func TestPublish_A7_DefaultExchangeUnknownQueueDropsSilently(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	conf, err := s.Publish(context.Background(), "", "no-such-queue", false, exchange.Publishing{})
	require.NoError(t, err)
	assert.Equal(t, exchange.Confirmation{}, conf)
	assert.NoError(t, s.Err(), "the channel stays open")
	// Reference: A7 (verified)
}

func TestPublish_A14_MandatoryUnroutableIsReturned312(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	_, err := s.Publish(context.Background(), "amq.direct", "nobody", true, exchange.Publishing{Body: []byte("x")})
	var ret *exchange.ReturnedError
	require.True(t, errors.As(err, &ret))
	assert.Equal(t, 312, ret.ReplyCode)
	assert.Equal(t, "NO_ROUTE", ret.ReplyText)
	assert.Equal(t, "amq.direct", ret.Exchange)
	assert.Equal(t, "nobody", ret.RoutingKey)
	assert.Equal(t, []byte("x"), ret.Message.Body)
	assert.NoError(t, s.Err(), "a return does not close the channel")
	// Reference: A14 (verified)
}

func TestPublish_A15_AlternateExchangeCountsAsRouted(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	require.NoError(t, s.ExchangeDeclare("unrouted", exchange.Fanout, exchange.ExchangeOptions{}))
	declareQueue(t, s, "lost+found", exchange.QueueOptions{})
	require.NoError(t, s.QueueBind("lost+found", "unrouted", "", nil))
	require.NoError(t, s.ExchangeDeclare("main", exchange.Direct, exchange.ExchangeOptions{AlternateExchange: "unrouted"}))
	_, err := s.Publish(context.Background(), "main", "nobody", true, exchange.Publishing{Body: []byte("x")})
	require.NoError(t, err, "routed through the AE: not returned")
	got, err := s.Get("lost+found", true)
	require.NoError(t, err)
	assert.Equal(t, "main", got.Exchange, "the message keeps its exchange (A13)")
	assert.Equal(t, "nobody", got.RoutingKey)
	// Reference: A15, A13 (verified)
}

func TestConfirm_A16_NumberedAndSettledOnce(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	declareQueue(t, s, "q", exchange.QueueOptions{})
	require.NoError(t, s.Confirm())
	var confirms []exchange.Confirmation
	s.NotifyConfirm(func(c exchange.Confirmation) { confirms = append(confirms, c) })
	for i := 1; i <= 3; i++ {
		c, err := s.Publish(context.Background(), "", "q", false, exchange.Publishing{})
		require.NoError(t, err)
		assert.Equal(t, exchange.Confirmation{DeliveryTag: uint64(i), Ack: true}, c)
	}
	assert.Equal(t, []exchange.Confirmation{{1, true}, {2, true}, {3, true}}, confirms)
	// Reference: A16, rabbitmq.com/docs/confirms#publisher-confirms
}

func TestConfirm_A17_UnroutableIsAckedAfterReturn(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	require.NoError(t, s.Confirm())
	var order []string
	s.NotifyReturn(func(*exchange.ReturnedError) { order = append(order, "return") })
	s.NotifyConfirm(func(c exchange.Confirmation) {
		if c.Ack {
			order = append(order, "ack")
		} else {
			order = append(order, "nack")
		}
	})
	c, err := s.Publish(context.Background(), "amq.topic", "nobody", true, exchange.Publishing{})
	var ret *exchange.ReturnedError
	require.ErrorAs(t, err, &ret)
	assert.True(t, c.Ack, "unroutable is acked, not nacked")
	assert.Equal(t, []string{"return", "ack"}, order)
	// Reference: A17, rabbitmq.com/docs/confirms#when-publishes-are-confirmed
}

func TestConfirm_A19_RejectPublishIsNacked(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	declareQueue(t, s, "full", exchange.QueueOptions{MaxLength: 1, Overflow: exchange.RejectPublish})
	declareQueue(t, s, "other", exchange.QueueOptions{})
	require.NoError(t, s.ExchangeDeclare("f", exchange.Fanout, exchange.ExchangeOptions{}))
	require.NoError(t, s.QueueBind("full", "f", "", nil))
	require.NoError(t, s.QueueBind("other", "f", "", nil))
	require.NoError(t, s.Confirm())
	c1, err := s.Publish(context.Background(), "f", "", true, exchange.Publishing{Body: []byte("1")})
	require.NoError(t, err)
	assert.True(t, c1.Ack)
	c2, err := s.Publish(context.Background(), "f", "", true, exchange.Publishing{Body: []byte("2")})
	require.NoError(t, err, "refused by reject-publish: a nack, and no return even with mandatory (§1.3b)")
	assert.False(t, c2.Ack)
	assert.Equal(t, []string{"1"}, bodies(t, s, "full"))
	assert.Equal(t, []string{"1", "2"}, bodies(t, s, "other"), "other queues still accept it")
	// Reference: A19 (verified)
}
