package exchange_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/exchange"
)

func newConnection(t *testing.T, r *exchange.Router, o exchange.ConnectionOptions) *exchange.Connection {
	t.Helper()
	c, err := r.NewConnection(o)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

func channel(t *testing.T, c *exchange.Connection) *exchange.Session {
	t.Helper()
	s, err := c.NewSession()
	require.NoError(t, err)
	return s
}

// A channel error closes the channel only: the connection's exclusive queue, and the messages
// in it, live on until the connection closes, and another channel of the connection may use
// the queue.
func TestConnection_A22_ChannelErrorKeepsTheConnectionsExclusiveQueue(t *testing.T) {
	r := newRouter(t)
	c := newConnection(t, r, exchange.ConnectionOptions{})
	ch1 := channel(t, c)
	declareQueue(t, ch1, "replies", exchange.QueueOptions{Exclusive: true})
	publish(t, ch1, "", "replies", "kept")

	_, err := ch1.Publish(context.Background(), "missing", "k", false, exchange.Publishing{})
	require.ErrorIs(t, err, exchange.ErrNotFound)
	assert.ErrorIs(t, ch1.Err(), exchange.ErrNotFound, "the channel is closed")
	assert.NoError(t, c.Err(), "the connection is not")
	assert.Equal(t, 1, ready(t, r, "replies"), "the exclusive queue keeps its message")

	ch2 := channel(t, c)
	assert.Equal(t, []string{"kept"}, bodies(t, ch2, "replies"), "a second channel of the owner uses the queue")
	require.NoError(t, c.Close())
	_, err = r.QueueInfo("replies")
	assert.ErrorIs(t, err, exchange.ErrNotFound, "deleted when its connection closes")
	assert.ErrorIs(t, ch2.Err(), exchange.ErrClosed)
	// Reference: A22 (rabbitmq.com/docs/queues#exclusive-queues)
}

// A session from Router.NewSession is the one channel of a connection of its own: a channel
// error leaves its exclusive queue alone, and its Close closes the connection.
func TestConnection_A22_PrivateSessionsQueueLivesUntilClose(t *testing.T) {
	r := newRouter(t)
	s, err := r.NewSession()
	require.NoError(t, err)
	declareQueue(t, s, "mine", exchange.QueueOptions{Exclusive: true})
	_, err = s.QueueDeclare("mine", exchange.QueueOptions{Exclusive: true, MaxLength: 3})
	require.ErrorIs(t, err, exchange.ErrPreconditionFailed)
	_, err = r.QueueInfo("mine")
	require.NoError(t, err, "a channel error does not delete the queue")
	assert.NoError(t, s.Connection().Err())
	require.NoError(t, s.Close())
	_, err = r.QueueInfo("mine")
	assert.ErrorIs(t, err, exchange.ErrNotFound)
	assert.ErrorIs(t, s.Connection().Err(), exchange.ErrClosed)
}

// RabbitMQ's hard errors close the connection, and with it every channel and exclusive queue
// on it; its soft errors close only the channel.
func TestConnection_HardErrorsCloseTheConnection(t *testing.T) {
	long := strings.Repeat("x", exchange.MaxShortString+1)
	for _, tc := range []struct {
		name string
		code int
		op   func(*exchange.Session) error
	}{
		{"unknown exchange type", 503, func(s *exchange.Session) error {
			return s.ExchangeDeclare("x", "x-unknown", exchange.ExchangeOptions{})
		}},
		{"consumer tag reused", 530, func(s *exchange.Session) error {
			if _, err := s.Consume("work", exchange.ConsumeOptions{Tag: "t"}); err != nil {
				return err
			}
			_, err := s.Consume("work", exchange.ConsumeOptions{Tag: "t"})
			return err
		}},
		{"name too long for the wire", 502, func(s *exchange.Session) error {
			_, err := s.QueueDeclare(long, exchange.QueueOptions{})
			return err
		}},
		{"recover without requeue", 540, func(s *exchange.Session) error { return s.Recover(false) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRouter(t)
			_, err := r.QueueDeclare("work", exchange.QueueOptions{})
			require.NoError(t, err)
			require.NoError(t, r.Publish(context.Background(), "", "work", false, exchange.Publishing{Body: []byte("m")}))
			c := newConnection(t, r, exchange.ConnectionOptions{})
			holder, failing := channel(t, c), channel(t, c)
			declareQueue(t, holder, "excl", exchange.QueueOptions{Exclusive: true})
			d, err := holder.Get("work", false)
			require.NoError(t, err)
			require.NotNil(t, d)

			err = tc.op(failing)
			require.Error(t, err)
			assert.Equal(t, tc.code, exchange.ReplyCode(err))
			assert.Equal(t, tc.code, exchange.ReplyCode(c.Err()), "the connection closed with the error")
			assert.Equal(t, tc.code, exchange.ReplyCode(holder.Err()), "so did its other channel")
			_, err = c.NewSession()
			assert.Error(t, err, "a closed connection opens no channel")
			_, err = r.QueueInfo("excl")
			assert.ErrorIs(t, err, exchange.ErrNotFound, "its exclusive queue is gone")
			assert.Equal(t, 1, ready(t, r, "work"), "the other channel's unacked delivery is back")
		})
	}
}

func TestConnection_SoftErrorsCloseOnlyTheChannel(t *testing.T) {
	for _, tc := range []struct {
		name string
		code int
		op   func(*exchange.Session) error
	}{
		{"missing queue", 404, func(s *exchange.Session) error { _, err := s.Get("nope", true); return err }},
		{"reserved name", 403, func(s *exchange.Session) error {
			return s.ExchangeDeclare("amq.mine", exchange.Direct, exchange.ExchangeOptions{})
		}},
		{"unknown delivery tag", 406, func(s *exchange.Session) error { return s.Ack(99, false) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRouter(t)
			c := newConnection(t, r, exchange.ConnectionOptions{})
			other, failing := channel(t, c), channel(t, c)
			err := tc.op(failing)
			assert.Equal(t, tc.code, exchange.ReplyCode(err))
			assert.Equal(t, tc.code, exchange.ReplyCode(failing.Err()))
			assert.NoError(t, c.Err())
			assert.NoError(t, other.Err())
		})
	}
}

// Closing a connection requeues the unacked deliveries of every channel on it, each in its
// original position and redelivered.
func TestConnection_A51_CloseRequeuesEveryChannelsUnacked(t *testing.T) {
	r := newRouter(t)
	_, err := r.QueueDeclare("work", exchange.QueueOptions{})
	require.NoError(t, err)
	for _, b := range []string{"a", "b", "c"} {
		require.NoError(t, r.Publish(context.Background(), "", "work", false, exchange.Publishing{Body: []byte(b)}))
	}
	c := newConnection(t, r, exchange.ConnectionOptions{})
	for range 2 {
		d, err := channel(t, c).Get("work", false)
		require.NoError(t, err)
		require.NotNil(t, d)
	}
	require.NoError(t, c.Close())
	s := newSession(t, r)
	var got []string
	for {
		d, err := s.Get("work", true)
		require.NoError(t, err)
		if d == nil {
			break
		}
		got = append(got, string(d.Body))
		assert.Equal(t, d.Body[0] != 'c', d.Redelivered, string(d.Body))
	}
	assert.Equal(t, []string{"a", "b", "c"}, got)
	// Reference: A51
}

// The user a publish's user-id must equal is the connection's.
func TestConnection_A64_UserIDIsCheckedAgainstTheConnectionsUser(t *testing.T) {
	r := newRouter(t)
	_, err := r.QueueDeclare("q", exchange.QueueOptions{})
	require.NoError(t, err)
	s := channel(t, newConnection(t, r, exchange.ConnectionOptions{User: "alice"}))
	_, err = s.Publish(context.Background(), "", "q", false, exchange.Publishing{UserID: "alice"})
	require.NoError(t, err)
	_, err = s.Publish(context.Background(), "", "q", false, exchange.Publishing{UserID: "guest"})
	assert.ErrorIs(t, err, exchange.ErrPreconditionFailed)
	assert.Contains(t, err.Error(), "authenticated user was 'alice'")
	// Reference: A64 (rabbitmq.com/docs/validated-user-id)
}

// RabbitMQ checks who owns an exclusive queue before it compares the other flags: its owner
// redeclaring it as shared is 405, not 406.
func TestDeclare_A22_OwnerRedeclaringItsExclusiveQueueAsSharedIsLocked(t *testing.T) {
	r := newRouter(t)
	c := newConnection(t, r, exchange.ConnectionOptions{})
	declareQueue(t, channel(t, c), "mine", exchange.QueueOptions{Exclusive: true})
	s := channel(t, c)
	_, err := s.QueueDeclare("mine", exchange.QueueOptions{})
	assert.ErrorIs(t, err, exchange.ErrResourceLocked)
	assert.Equal(t, 405, exchange.ReplyCode(err))
	_, err = channel(t, c).QueueDeclare("mine", exchange.QueueOptions{Exclusive: true, AutoDelete: true})
	assert.ErrorIs(t, err, exchange.ErrPreconditionFailed, "with the same owner, a flag that differs is 406")
	// Reference: A20, A22 and §1.3b (rabbit_amqqueue's strict exclusive-access check)
}

// Redeclaring an exchange with another alternate-exchange (or none instead of one) is 406: of
// an exchange's arguments RabbitMQ compares that one.
func TestDeclare_A20_ExchangeAlternateExchangeIsCompared(t *testing.T) {
	r := newRouter(t)
	require.NoError(t, r.ExchangeDeclare("orders", exchange.Topic, exchange.ExchangeOptions{AlternateExchange: "ae1"}))
	for name, o := range map[string]exchange.ExchangeOptions{
		"another":         {AlternateExchange: "ae2"},
		"none":            {},
		"another by args": {Args: exchange.Table{"alternate-exchange": "ae2"}},
	} {
		s := newSession(t, r)
		err := s.ExchangeDeclare("orders", exchange.Topic, o)
		assert.ErrorIs(t, err, exchange.ErrPreconditionFailed, name)
		assert.Contains(t, err.Error(), "inequivalent arg 'alternate-exchange'", name)
	}
	s := newSession(t, r)
	assert.NoError(t, s.ExchangeDeclare("orders", exchange.Topic, exchange.ExchangeOptions{Args: exchange.Table{"alternate-exchange": "ae1"}}),
		"the same one, given as an argument, is equivalent")
	assert.NoError(t, s.ExchangeDeclare("orders", exchange.Topic, exchange.ExchangeOptions{AlternateExchange: "ae1", Args: exchange.Table{"x-other": 1}}),
		"other arguments are not compared")
	// Reference: A20; RabbitMQ's rabbit_exchange:assert_args_equivalence names only alternate-exchange
}

// basic.recover with requeue puts every unacked delivery of the channel back, in place and
// redelivered, and the channel stays open; its consumer gets them again.
func TestRecover_RequeueRedeliversTheChannelsUnacked(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	declareQueue(t, s, "q", exchange.QueueOptions{})
	publish(t, s, "", "q", "a")
	publish(t, s, "", "q", "b")
	c, err := s.Consume("q", exchange.ConsumeOptions{Prefetch: 2})
	require.NoError(t, err)
	first, second := next(t, c), next(t, c)
	assert.False(t, first.Redelivered || second.Redelivered)
	require.NoError(t, s.Recover(true))
	again := []*exchange.Delivery{next(t, c), next(t, c)}
	for i, d := range again {
		assert.Equal(t, []string{"a", "b"}[i], string(d.Body))
		assert.True(t, d.Redelivered)
	}
	assert.ErrorIs(t, first.Ack(), exchange.ErrPreconditionFailed, "the old tags are settled")
	// Reference: AMQP 0-9-1 basic.recover; RabbitMQ implements only requeue=true
}

// A consumer whose queue is deleted is cancelled by the server (what RabbitMQ's
// consumer_cancel_notify tells the client), and its tag is free again on its channel.
func TestConsumer_ServerCancelWhenItsQueueIsDeleted(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	declareQueue(t, s, "q", exchange.QueueOptions{})
	declareQueue(t, s, "other", exchange.QueueOptions{})
	c, err := s.Consume("q", exchange.ConsumeOptions{Tag: "t"})
	require.NoError(t, err)
	_, err = r.QueueDelete("q", false, false)
	require.NoError(t, err)
	_, err = c.Next(context.Background())
	assert.ErrorIs(t, err, exchange.ErrCancelledByServer)
	assert.ErrorIs(t, err, exchange.ErrConsumerCancelled)
	_, err = s.Consume("other", exchange.ConsumeOptions{Tag: "t"})
	assert.NoError(t, err, "the tag can be reused")
	// Reference: rabbitmq.com/docs/consumer-cancel
}

// A redeclaration that differs in type or a flag is 406 naming the first argument that
// differs, in RabbitMQ's order and words.
func TestDeclare_A20_ExchangeRedeclarationNamesTheFirstDifference(t *testing.T) {
	r := newRouter(t)
	require.NoError(t, r.ExchangeDeclare("orders", exchange.Topic, exchange.ExchangeOptions{Durable: true}))
	for _, tc := range []struct {
		kind exchange.Kind
		o    exchange.ExchangeOptions
		want string
	}{
		{exchange.Fanout, exchange.ExchangeOptions{}, "inequivalent arg 'type' for exchange 'orders': received 'fanout' but current is 'topic'"},
		{exchange.Topic, exchange.ExchangeOptions{}, "inequivalent arg 'durable' for exchange 'orders': received 'false' but current is 'true'"},
		{exchange.Topic, exchange.ExchangeOptions{Durable: true, AutoDelete: true}, "inequivalent arg 'auto_delete' for exchange 'orders': received 'true' but current is 'false'"},
		{exchange.Topic, exchange.ExchangeOptions{Durable: true, Internal: true}, "inequivalent arg 'internal' for exchange 'orders': received 'true' but current is 'false'"},
	} {
		err := newSession(t, r).ExchangeDeclare("orders", tc.kind, tc.o)
		assert.ErrorIs(t, err, exchange.ErrPreconditionFailed, tc.want)
		assert.ErrorContains(t, err, tc.want)
	}
	// Reference: A20 (rabbit_exchange:assert_equivalence, rabbit_misc:equivalence_fail)
}

// A queue redeclaration that differs is 406 naming the first difference in RabbitMQ's order
// (durable, auto_delete, then the arguments it knows) and words.
func TestDeclare_A20_QueueRedeclarationNamesTheFirstDifference(t *testing.T) {
	r := newRouter(t)
	_, err := newSession(t, r).QueueDeclare("jobs", exchange.QueueOptions{Durable: true,
		Args: exchange.Table{"x-message-ttl": int32(2000)}})
	require.NoError(t, err)
	for _, tc := range []struct {
		o    exchange.QueueOptions
		want string
	}{
		{exchange.QueueOptions{}, "inequivalent arg 'durable' for queue 'jobs': received 'false' but current is 'true'"},
		{exchange.QueueOptions{Durable: true, AutoDelete: true}, "inequivalent arg 'auto_delete' for queue 'jobs': received 'true' but current is 'false'"},
		{exchange.QueueOptions{Durable: true}, "inequivalent arg 'x-message-ttl' for queue 'jobs': received none but current is the value '2000' of type 'signedint'"},
		{exchange.QueueOptions{Durable: true, Args: exchange.Table{"x-message-ttl": int64(3000)}},
			"inequivalent arg 'x-message-ttl' for queue 'jobs': received '3000' but current is '2000'"},
	} {
		_, err := newSession(t, r).QueueDeclare("jobs", tc.o)
		assert.ErrorIs(t, err, exchange.ErrPreconditionFailed, tc.want)
		assert.ErrorContains(t, err, tc.want)
	}
	_, err = newSession(t, r).QueueDeclare("jobs", exchange.QueueOptions{Durable: true,
		Args: exchange.Table{"x-message-ttl": int64(2000)}})
	assert.NoError(t, err, "integers of any width with the same value are equivalent")
	// Reference: A20 (rabbit_amqqueue:assert_equivalence, rabbit_misc:assert_args_equivalence)
}
