package exchange_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/exchange"
	"github.com/tribusmq/tribus/internal/leakcheck"
)

func TestE2E_A9_RoutesThroughDestinationTypeOneCopyCycleSafe(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	require.NoError(t, s.ExchangeDeclare("front", exchange.Topic, exchange.ExchangeOptions{}))
	require.NoError(t, s.ExchangeDeclare("back", exchange.Direct, exchange.ExchangeOptions{}))
	require.NoError(t, s.ExchangeDeclare("fan", exchange.Fanout, exchange.ExchangeOptions{}))
	require.NoError(t, s.ExchangeBind("back", "front", "order.*", nil))
	require.NoError(t, s.ExchangeBind("fan", "front", "#", nil))
	require.NoError(t, s.ExchangeBind("front", "back", "order.created", nil)) // a cycle
	require.NoError(t, s.ExchangeBind("front", "fan", "", nil))               // another
	declareQueue(t, s, "created", exchange.QueueOptions{})
	declareQueue(t, s, "everything", exchange.QueueOptions{})
	require.NoError(t, s.QueueBind("created", "back", "order.created", nil))
	require.NoError(t, s.QueueBind("everything", "fan", "", nil))
	require.NoError(t, s.QueueBind("everything", "back", "order.created", nil))

	publish(t, s, "front", "order.created", "c")
	publish(t, s, "front", "order.paid", "p")
	assert.Equal(t, []string{"c"}, bodies(t, s, "created"), "back routes by its own type: direct")
	assert.Equal(t, []string{"c", "p"}, bodies(t, s, "everything"), "one copy per queue, cycles end")

	require.NoError(t, s.ExchangeUnbind("back", "front", "order.*", nil))
	publish(t, s, "front", "order.created", "c2")
	assert.Empty(t, bodies(t, s, "created"))
	// Reference: A9, rabbitmq.com/docs/e2e
}

func TestAutoDeleteExchange_A10_LastSourceBindingGone(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	require.NoError(t, s.ExchangeDeclare("never", exchange.Fanout, exchange.ExchangeOptions{AutoDelete: true}))
	require.NoError(t, s.ExchangeDeclare("ad", exchange.Fanout, exchange.ExchangeOptions{AutoDelete: true}))
	declareQueue(t, s, "q1", exchange.QueueOptions{})
	declareQueue(t, s, "q2", exchange.QueueOptions{})
	require.NoError(t, s.QueueBind("q1", "ad", "", nil))
	require.NoError(t, s.QueueBind("q2", "ad", "", nil))
	require.NoError(t, s.QueueUnbind("q1", "ad", "", nil))
	assert.Contains(t, r.Exchanges(), "ad")
	_, err := s.QueueDelete("q2", false, false) // the last binding goes with its queue (§1.3b)
	require.NoError(t, err)
	assert.NotContains(t, r.Exchanges(), "ad")
	assert.Contains(t, r.Exchanges(), "never", "an exchange that never had a binding stays")
	// Reference: A10, rabbitmq.com/docs/exchanges#auto-deletion and §1.3b
}

func TestNames_A11_AmqPrefixReserved(t *testing.T) {
	r := newRouter(t)
	for name, op := range map[string]func(*exchange.Session) error{
		"queue": func(s *exchange.Session) error {
			_, err := s.QueueDeclare("amq.mine", exchange.QueueOptions{})
			return err
		},
		"exchange": func(s *exchange.Session) error {
			return s.ExchangeDeclare("amq.mine", exchange.Direct, exchange.ExchangeOptions{})
		},
		"delete amq.":    func(s *exchange.Session) error { return s.ExchangeDelete("amq.topic", false) },
		"delete default": func(s *exchange.Session) error { return s.ExchangeDelete("", false) },
		"declare default": func(s *exchange.Session) error {
			return s.ExchangeDeclare("", exchange.Direct, exchange.ExchangeOptions{})
		},
	} {
		s := newSession(t, r)
		err := op(s)
		assert.ErrorIs(t, err, exchange.ErrAccessRefused, name)
		assert.Equal(t, 403, exchange.ReplyCode(err), name)
	}
	s := newSession(t, r)
	assert.NoError(t, s.ExchangeDeclare("amq.topic", exchange.Topic, exchange.ExchangeOptions{Durable: true}),
		"redeclaring a predeclared exchange with its own properties is fine")
	assert.NoError(t, s.ExchangeDeclare("amq.fanout", "", exchange.ExchangeOptions{Passive: true}))
	// Reference: A11 (verified: queue 403 ACCESS_REFUSED)
}

func TestCC_A12_ExtraKeysAndBCCRemoved(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	for _, q := range []string{"main", "cc", "bcc"} {
		declareQueue(t, s, q, exchange.QueueOptions{})
	}
	msg := exchange.Publishing{Body: []byte("m"), Headers: exchange.Table{
		"CC": []any{"cc"}, "BCC": []any{"bcc"}, "other": "x"}}
	publishMsg(t, s, "", "main", msg)
	for _, q := range []string{"main", "cc", "bcc"} {
		d, err := s.Get(q, true)
		require.NoError(t, err)
		require.NotNil(t, d, q)
		assert.Equal(t, exchange.Table{"CC": []any{"cc"}, "other": "x"}, d.Headers, "%s: BCC is removed", q)
		assert.Equal(t, "main", d.RoutingKey)
	}
	publishMsg(t, s, "", "main", exchange.Publishing{Headers: exchange.Table{"BCC": []any{"bcc"}}})
	d, _ := s.Get("main", true)
	assert.NotNil(t, d.Headers, "a message whose only header was BCC keeps an empty table (§1.3b)")
	assert.Empty(t, d.Headers)
	// Reference: A12, rabbitmq.com/docs/sender-selected
}

func TestAlternateExchange_A13_ChainsWithLoopDetection(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	require.NoError(t, s.ExchangeDeclare("ae2", exchange.Fanout, exchange.ExchangeOptions{}))
	require.NoError(t, s.ExchangeDeclare("ae1", exchange.Direct, exchange.ExchangeOptions{AlternateExchange: "ae2"}))
	require.NoError(t, s.ExchangeDeclare("main", exchange.Direct, exchange.ExchangeOptions{Args: exchange.Table{"alternate-exchange": "ae1"}}))
	declareQueue(t, s, "last", exchange.QueueOptions{})
	require.NoError(t, s.QueueBind("last", "ae2", "", nil))
	publish(t, s, "main", "k", "via chain")
	d, err := s.Get("last", true)
	require.NoError(t, err)
	require.NotNil(t, d)
	assert.Equal(t, "main", d.Exchange)
	assert.Equal(t, "k", d.RoutingKey)

	require.NoError(t, s.ExchangeDeclare("loop1", exchange.Direct, exchange.ExchangeOptions{AlternateExchange: "loop2"}))
	require.NoError(t, s.ExchangeDeclare("loop2", exchange.Direct, exchange.ExchangeOptions{AlternateExchange: "loop1"}))
	_, err = s.Publish(context.Background(), "loop1", "k", true, exchange.Publishing{})
	var ret *exchange.ReturnedError
	assert.ErrorAs(t, err, &ret, "an AE loop ends, unroutable")
	// Reference: A13, rabbitmq.com/docs/ae (verified: original exchange and key kept)
}

func TestNames_A25_QueueNameAtMost255Bytes(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	declareQueue(t, s, strings.Repeat("q", 255), exchange.QueueOptions{})
	_, err := s.QueueDeclare(strings.Repeat("q", 256), exchange.QueueOptions{})
	assert.ErrorIs(t, err, exchange.ErrSyntaxError, "a name the wire cannot carry (502, see ErrSyntaxError)")
	s2 := newSession(t, r)
	_, err = s2.QueueDeclare("bad\xff", exchange.QueueOptions{})
	assert.ErrorIs(t, err, exchange.ErrPreconditionFailed)
	// Reference: A25, rabbitmq.com/docs/queues#names
}

func TestExclusive_A26_DurableExclusiveIsTransient(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	info, err := s.QueueDeclare("x", exchange.QueueOptions{Durable: true, Exclusive: true})
	require.NoError(t, err)
	assert.False(t, info.Durable)
	// Reference: A26, rabbitmq.com/docs/semantics
}

func TestPriority_A36_HigherFirstCappedAtMax(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	declareQueue(t, s, "p", exchange.QueueOptions{MaxPriority: 5})
	for _, m := range []struct {
		body string
		prio uint8
	}{{"none", 0}, {"p2", 2}, {"p9", 9}, {"p5", 5}, {"p2b", 2}} {
		publishMsg(t, s, "", "p", exchange.Publishing{Body: []byte(m.body), Priority: m.prio})
	}
	assert.Equal(t, []string{"p9", "p5", "p2", "p2b", "none"}, bodies(t, s, "p"),
		"9 counts as the maximum 5 and keeps its arrival order among fives")
	declareQueue(t, s, "plain", exchange.QueueOptions{})
	publishMsg(t, s, "", "plain", exchange.Publishing{Body: []byte("a"), Priority: 1})
	publishMsg(t, s, "", "plain", exchange.Publishing{Body: []byte("b"), Priority: 9})
	assert.Equal(t, []string{"a", "b"}, bodies(t, s, "plain"), "without x-max-priority priorities are ignored")
	// Reference: A36, rabbitmq.com/docs/priority
}

func TestExchange_InternalRefusesPublish(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	require.NoError(t, s.ExchangeDeclare("inner", exchange.Fanout, exchange.ExchangeOptions{Internal: true}))
	require.NoError(t, s.ExchangeDeclare("outer", exchange.Fanout, exchange.ExchangeOptions{}))
	require.NoError(t, s.ExchangeBind("inner", "outer", "", nil))
	declareQueue(t, s, "q", exchange.QueueOptions{})
	require.NoError(t, s.QueueBind("q", "inner", "", nil))
	publish(t, s, "outer", "", "through")
	assert.Equal(t, []string{"through"}, bodies(t, s, "q"))
	_, err := s.Publish(context.Background(), "inner", "", false, exchange.Publishing{})
	assert.ErrorIs(t, err, exchange.ErrAccessRefused)
}

func TestQueue_DeleteIfUnusedIfEmptyAndPurge(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	declareQueue(t, s, "q", exchange.QueueOptions{})
	publish(t, s, "", "q", "1")
	publish(t, s, "", "q", "2")
	_, err := s.QueueDelete("q", false, true)
	assert.ErrorIs(t, err, exchange.ErrPreconditionFailed)
	consuming := newSession(t, r)
	c, err := consuming.Consume("q", exchange.ConsumeOptions{Prefetch: 1})
	require.NoError(t, err)
	s = newSession(t, r)
	_, err = s.QueueDelete("q", true, false)
	assert.ErrorIs(t, err, exchange.ErrPreconditionFailed)
	s = newSession(t, r)
	n, err := s.QueuePurge("q")
	require.NoError(t, err)
	assert.Equal(t, 1, n, "purge removes ready messages, not the unacked one")
	n, err = s.QueueDelete("q", false, false)
	require.NoError(t, err)
	assert.Equal(t, 0, n)
	next(t, c)
	_, err = c.Next(context.Background())
	assert.ErrorIs(t, err, exchange.ErrConsumerCancelled, "the server cancels consumers of a deleted queue")
}

func TestConsumers_PriorityFirstThenRoundRobin(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	declareQueue(t, s, "q", exchange.QueueOptions{})
	low, _ := s.Consume("q", exchange.ConsumeOptions{Prefetch: 1})
	high, _ := s.Consume("q", exchange.ConsumeOptions{Prefetch: 1, Args: exchange.Table{"x-priority": int32(10)}})
	publish(t, s, "", "q", "1")
	publish(t, s, "", "q", "2")
	assert.Equal(t, "1", string(next(t, high).Body))
	assert.Equal(t, "2", string(next(t, low).Body), "a lower priority consumer gets messages when higher ones are full")
}

func TestObserver_SeesLifecycle(t *testing.T) {
	var events []exchange.EventKind
	r, err := exchange.New(&exchange.Options{Observer: func(e exchange.Event) { events = append(events, e.Kind) }})
	require.NoError(t, err)
	defer r.Close()
	s := newSession(t, r)
	declareQueue(t, s, "q", exchange.QueueOptions{})
	publish(t, s, "", "q", "1")
	d, _ := s.Get("q", false)
	require.NoError(t, d.Nack(true))
	d, _ = s.Get("q", false)
	require.NoError(t, d.Ack())
	_, _ = s.Publish(context.Background(), "", "nobody", true, exchange.Publishing{})
	assert.Equal(t, []exchange.EventKind{
		exchange.EventQueueDeclared, exchange.EventRouted, exchange.EventEnqueued, exchange.EventDelivered,
		exchange.EventRequeued, exchange.EventDelivered, exchange.EventAcked, exchange.EventRouted, exchange.EventReturned,
	}, events)
}

func TestRouter_ConvenienceMethodsAndClose(t *testing.T) {
	r, err := exchange.New(nil)
	require.NoError(t, err)
	_, err = r.QueueDeclare("jobs", exchange.QueueOptions{})
	require.NoError(t, err)
	_, err = r.QueueDeclare("amq.bad", exchange.QueueOptions{})
	require.ErrorIs(t, err, exchange.ErrAccessRefused)
	require.NoError(t, r.Publish(context.Background(), "", "jobs", false, exchange.Publishing{Body: []byte("j")}),
		"errors never close the router's own session")
	c, err := r.Consume("jobs", exchange.ConsumeOptions{})
	require.NoError(t, err)
	d := next(t, c)
	require.NoError(t, d.Ack())
	require.NoError(t, r.Close())
	require.NoError(t, r.Close())
	_, err = r.QueueDeclare("x", exchange.QueueOptions{})
	assert.ErrorIs(t, err, exchange.ErrClosed)
	_, err = r.NewSession()
	assert.ErrorIs(t, err, exchange.ErrClosed)
	_, err = c.Next(context.Background())
	assert.ErrorIs(t, err, exchange.ErrClosed)
}

func TestStats_QueueAndExchangeCounters(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	require.NoError(t, s.ExchangeDeclare("orders", exchange.Topic, exchange.ExchangeOptions{}))
	declareQueue(t, s, "q", exchange.QueueOptions{MaxLength: 2})
	require.NoError(t, s.QueueBind("q", "orders", "order.*", nil))
	for _, k := range []string{"order.a", "order.b", "order.c", "other"} {
		publish(t, s, "orders", k, k)
	}
	d, _ := s.Get("q", false)
	require.NoError(t, d.Nack(true))
	d, _ = s.Get("q", false)
	require.NoError(t, d.Ack())
	ex, err := r.ExchangeInfo("orders")
	require.NoError(t, err)
	assert.Equal(t, exchange.ExchangeInfo{Name: "orders", Kind: exchange.Topic, Bindings: 1, Published: 4, Routed: 3, Unroutable: 1}, ex)
	q, err := r.QueueInfo("q")
	require.NoError(t, err)
	assert.Equal(t, 1, q.Ready)
	assert.Equal(t, uint64(3), q.Published)
	assert.Equal(t, uint64(2), q.Delivered)
	assert.Equal(t, uint64(1), q.Redelivered)
	assert.Equal(t, uint64(1), q.Acked)
	assert.Equal(t, map[string]uint64{"maxlen": 1}, q.Dropped)
	_, err = r.ExchangeInfo("nope")
	assert.ErrorIs(t, err, exchange.ErrNotFound)
}

func TestRouter_NoGoroutineLeftAfterClose(t *testing.T) {
	leakcheck.Check(t)
	r, err := exchange.New(nil)
	require.NoError(t, err)
	s, _ := r.NewSession()
	_, err = s.QueueDeclare("ttl", exchange.QueueOptions{MessageTTL: time.Hour, Expires: 2 * time.Hour})
	require.NoError(t, err)
	publish(t, s, "", "ttl", "x")
	c, err := s.Consume("ttl", exchange.ConsumeOptions{})
	require.NoError(t, err)
	go func() { _, _ = c.Next(context.Background()) }()
	require.NoError(t, r.Close())
}

func TestUserID_A64_MustMatchSessionUser(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	declareQueue(t, s, "q", exchange.QueueOptions{})
	publishMsg(t, s, "", "q", exchange.Publishing{UserID: exchange.DefaultUser})
	_, err := s.Publish(context.Background(), "", "q", false, exchange.Publishing{UserID: "mallory"})
	assert.ErrorIs(t, err, exchange.ErrPreconditionFailed)
	assert.Error(t, s.Err(), "the channel is closed")
	assert.Equal(t, 1, ready(t, r, "q"))
	// Reference: A64, rabbitmq.com/docs/validated-user-id
}

func TestOrdering_A62_QueueKeepsPublicationOrderConsumersMaySeeOtherwise(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	declareQueue(t, s, "q", exchange.QueueOptions{})
	for _, b := range []string{"1", "2", "3"} {
		publish(t, s, "", "q", b)
	}
	c1, err := s.Consume("q", exchange.ConsumeOptions{Prefetch: 1})
	require.NoError(t, err)
	c2, err := s.Consume("q", exchange.ConsumeOptions{Prefetch: 1})
	require.NoError(t, err)
	d1, d2 := next(t, c1), next(t, c2)
	require.NoError(t, d2.Ack())
	seen := []string{string(d1.Body), string(d2.Body), string(next(t, c2).Body)}
	require.NoError(t, d1.Nack(true)) // "1" goes back to the head of the queue...
	require.NoError(t, c2.Cancel())
	d := next(t, c1) // ...and is redelivered after "3" was seen
	seen = append(seen, string(d.Body))
	assert.Equal(t, []string{"1", "2", "3", "1"}, seen, "with requeues and several consumers, consumers see a different order")
	assert.True(t, d.Redelivered)
	// Reference: A62, rabbitmq.com/docs/queues#message-ordering
}
