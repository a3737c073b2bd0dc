package exchange_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/exchange"
)

// The RPC pattern of RabbitMQ's tutorial 6 with direct reply-to: the request carries a reply
// address made for the client's reply consumer, and a reply published to it from another
// connection reaches that consumer without a queue anyone declared.
func TestReplyTo_RequestAndReplyWithoutAReplyQueue(t *testing.T) {
	r := newRouter(t)
	server, client := newSession(t, r), newSession(t, r)
	declareQueue(t, server, "rpc", exchange.QueueOptions{})
	requests, err := server.Consume("rpc", exchange.ConsumeOptions{AutoAck: true})
	require.NoError(t, err)
	replies, err := client.Consume(exchange.ReplyToQueue, exchange.ConsumeOptions{AutoAck: true})
	require.NoError(t, err)
	assert.Equal(t, exchange.ReplyToQueue, replies.Queue())

	publishMsg(t, client, "", "rpc", exchange.Publishing{ReplyTo: exchange.ReplyToQueue, CorrelationID: "1", Body: []byte("ping")})
	req := next(t, requests)
	assert.True(t, strings.HasPrefix(req.ReplyTo, exchange.ReplyToQueue+"."), "the reply address is %q", req.ReplyTo)

	publishMsg(t, server, "", req.ReplyTo, exchange.Publishing{CorrelationID: req.CorrelationID, Body: []byte("pong")})
	rep := next(t, replies)
	assert.Equal(t, "pong", string(rep.Body))
	assert.Equal(t, "1", rep.CorrelationID)
	assert.Equal(t, req.ReplyTo, rep.RoutingKey)
	assert.Equal(t, []string{"rpc"}, r.Queues(), "the reply consumer's feed is not a queue")
}

func TestReplyTo_ConsumerThatWouldAcknowledgeIsPreconditionFailed(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	_, err := s.Consume(exchange.ReplyToQueue, exchange.ConsumeOptions{})
	require.ErrorIs(t, err, exchange.ErrPreconditionFailed)
	assert.Contains(t, err.Error(), "reply consumer cannot acknowledge")
	assert.Error(t, s.Err(), "a channel error closes the channel")
	assert.Empty(t, r.Queues())
}

func TestReplyTo_SecondReplyConsumerOnAChannelIsPreconditionFailed(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	_, err := s.Consume(exchange.ReplyToQueue, exchange.ConsumeOptions{AutoAck: true})
	require.NoError(t, err)
	_, err = s.Consume(exchange.ReplyToQueue, exchange.ConsumeOptions{AutoAck: true})
	require.ErrorIs(t, err, exchange.ErrPreconditionFailed)
	assert.Contains(t, err.Error(), "reply consumer already set")
}

func TestReplyTo_RequestWithoutAReplyConsumerIsPreconditionFailed(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	declareQueue(t, s, "rpc", exchange.QueueOptions{})
	_, err := s.Publish(context.Background(), "", "rpc", false, exchange.Publishing{ReplyTo: exchange.ReplyToQueue})
	require.ErrorIs(t, err, exchange.ErrPreconditionFailed)
	assert.Contains(t, err.Error(), "fast reply consumer does not exist")
	assert.Equal(t, 0, ready(t, r, "rpc"), "the request was not enqueued")
}

func TestReplyTo_PassiveDeclareOfThePseudoQueueSucceeds(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	info, err := s.QueueDeclare(exchange.ReplyToQueue, exchange.QueueOptions{Passive: true})
	require.NoError(t, err)
	assert.Equal(t, exchange.ReplyToQueue, info.Name)
	_, err = s.QueueDeclare(exchange.ReplyToQueue, exchange.QueueOptions{})
	require.ErrorIs(t, err, exchange.ErrAccessRefused, "the amq. prefix is reserved")
}

// Once the reply consumer is cancelled (or its channel closed), its address routes nowhere:
// a mandatory reply comes back as returned, and the channel may start a new reply consumer.
func TestReplyTo_ReplyToACancelledConsumerIsUnroutable(t *testing.T) {
	r := newRouter(t)
	client, server := newSession(t, r), newSession(t, r)
	declareQueue(t, server, "rpc", exchange.QueueOptions{})
	replies, err := client.Consume(exchange.ReplyToQueue, exchange.ConsumeOptions{AutoAck: true})
	require.NoError(t, err)
	publishMsg(t, client, "", "rpc", exchange.Publishing{ReplyTo: exchange.ReplyToQueue})
	d, err := server.Get("rpc", true)
	require.NoError(t, err)
	require.NoError(t, replies.Cancel())

	_, err = server.Publish(context.Background(), "", d.ReplyTo, true, exchange.Publishing{Body: []byte("late")})
	var ret *exchange.ReturnedError
	require.True(t, errors.As(err, &ret), "got %v", err)
	assert.Equal(t, 312, ret.ReplyCode)

	_, err = client.Consume(exchange.ReplyToQueue, exchange.ConsumeOptions{AutoAck: true})
	require.NoError(t, err, "a cancelled reply consumer can be replaced")
}
