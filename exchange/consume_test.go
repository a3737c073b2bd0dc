package exchange_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/exchange"
	"github.com/tribusmq/tribus/internal/sentinel"
)

func TestDeclare_A20_IdempotentWhenEqualPreconditionFailedWhenNot(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	o := exchange.QueueOptions{Durable: true, MaxLength: 10}
	declareQueue(t, s, "q", o)
	declareQueue(t, s, "q", o)
	for name, bad := range map[string]exchange.QueueOptions{
		"durable":       {MaxLength: 10},
		"auto-delete":   {Durable: true, AutoDelete: true, MaxLength: 10},
		"arg differs":   {Durable: true, MaxLength: 11},
		"arg missing":   {Durable: true},
		"arg added":     {Durable: true, MaxLength: 10, MessageTTL: time.Second},
		"int width ok?": {Durable: true, Args: exchange.Table{"x-max-length": "10"}},
	} {
		s2 := newSession(t, r)
		_, err := s2.QueueDeclare("q", bad)
		assert.ErrorIs(t, err, exchange.ErrPreconditionFailed, name)
		assert.Equal(t, 406, exchange.ReplyCode(err), name)
		assert.ErrorIs(t, s2.Err(), exchange.ErrPreconditionFailed, "%s: the channel is closed", name)
	}
	s3 := newSession(t, r)
	_, err := s3.QueueDeclare("q", exchange.QueueOptions{Durable: true, Args: exchange.Table{"x-max-length": int32(10), "x-custom": "kept"}})
	assert.NoError(t, err, "integer widths do not matter; unknown x- arguments are not compared")
	_, err = s3.QueueDeclare("q", exchange.QueueOptions{Durable: true, Exclusive: true, MaxLength: 10})
	assert.ErrorIs(t, err, exchange.ErrResourceLocked, "redeclaring as exclusive is 405 (§1.3b)")
	// Reference: A20 and §1.3b (verified: "inequivalent arg 'x-max-length'")
}

func TestDeclare_A20_ExchangeEquivalence(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	require.NoError(t, s.ExchangeDeclare("x", exchange.Topic, exchange.ExchangeOptions{Durable: true}))
	require.NoError(t, s.ExchangeDeclare("x", exchange.Topic, exchange.ExchangeOptions{Durable: true}))
	assert.ErrorIs(t, s.ExchangeDeclare("x", exchange.Direct, exchange.ExchangeOptions{Durable: true}), exchange.ErrPreconditionFailed)
	s2 := newSession(t, r)
	assert.ErrorIs(t, s2.ExchangeDeclare("x", exchange.Topic, exchange.ExchangeOptions{}), exchange.ErrPreconditionFailed)
	s3 := newSession(t, r)
	assert.ErrorIs(t, s3.ExchangeDeclare("y", "x-custom", exchange.ExchangeOptions{}), exchange.ErrCommandInvalid)
	s4 := newSession(t, r)
	assert.ErrorIs(t, s4.ExchangeDeclare("missing", exchange.Topic, exchange.ExchangeOptions{Passive: true}), exchange.ErrNotFound)
}

func TestDeclare_A21_ServerNamedQueue(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	a := declareQueue(t, s, "", exchange.QueueOptions{Exclusive: true})
	b := declareQueue(t, s, "", exchange.QueueOptions{Exclusive: true})
	assert.Regexp(t, `^amq\.gen-[A-Za-z0-9_-]+$`, a)
	assert.NotEqual(t, a, b)
	publish(t, s, "", a, "hi")
	assert.Equal(t, []string{"hi"}, bodies(t, s, a))
	// Reference: A21, rabbitmq.com/docs/queues#server-named-queues
}

func TestExclusive_A22_OnlyOwnerAndDeletedOnClose(t *testing.T) {
	r := newRouter(t)
	owner := newSession(t, r)
	declareQueue(t, owner, "mine", exchange.QueueOptions{Exclusive: true})

	for name, op := range map[string]func(*exchange.Session) error{
		"consume": func(s *exchange.Session) error { _, err := s.Consume("mine", exchange.ConsumeOptions{}); return err },
		"passive": func(s *exchange.Session) error {
			_, err := s.QueueDeclare("mine", exchange.QueueOptions{Passive: true})
			return err
		},
		"get":    func(s *exchange.Session) error { _, err := s.Get("mine", true); return err },
		"delete": func(s *exchange.Session) error { _, err := s.QueueDelete("mine", false, false); return err },
	} {
		other := newSession(t, r)
		err := op(other)
		assert.ErrorIs(t, err, exchange.ErrResourceLocked, name)
		assert.Equal(t, 405, exchange.ReplyCode(err))
	}
	_, err := owner.Consume("mine", exchange.ConsumeOptions{})
	require.NoError(t, err)
	require.NoError(t, owner.Close())
	_, err = r.QueueInfo("mine")
	assert.ErrorIs(t, err, exchange.ErrNotFound, "deleted when its connection closes")
	// Reference: A22 (verified)
}

func TestAutoDelete_A23_DeletedWhenLastConsumerGoes(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	declareQueue(t, s, "temp", exchange.QueueOptions{AutoDelete: true})
	publish(t, s, "", "temp", "x")
	_, err := r.QueueInfo("temp")
	require.NoError(t, err, "never had a consumer: never auto-deleted")

	c1, err := s.Consume("temp", exchange.ConsumeOptions{AutoAck: true})
	require.NoError(t, err)
	c2, err := s.Consume("temp", exchange.ConsumeOptions{AutoAck: true})
	require.NoError(t, err)
	require.NoError(t, c1.Cancel())
	_, err = r.QueueInfo("temp")
	require.NoError(t, err, "one consumer left")
	require.NoError(t, c2.Cancel())
	_, err = r.QueueInfo("temp")
	assert.ErrorIs(t, err, exchange.ErrNotFound)
	// Reference: A23 (verified)
}

func TestMessageCount_A24_ReadyOnly(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	declareQueue(t, s, "q", exchange.QueueOptions{})
	for range 3 {
		publish(t, s, "", "q", "m")
	}
	info, err := s.QueueDeclare("q", exchange.QueueOptions{})
	require.NoError(t, err)
	assert.Equal(t, 3, info.Ready)
	d1, err := s.Get("q", false)
	require.NoError(t, err)
	assert.Equal(t, 2, d1.MessageCount, "the count left after this one")
	d2, err := s.Get("q", false)
	require.NoError(t, err)
	assert.Equal(t, 1, d2.MessageCount)
	info, err = s.QueueDeclare("q", exchange.QueueOptions{Passive: true})
	require.NoError(t, err)
	assert.Equal(t, 1, info.Ready, "unacked messages are not counted")
	assert.Equal(t, 2, info.Unacked)
	// Reference: A24 (verified: 3, then get, get → 2, 1)
}

func TestTags_A47_PerSessionFromOneRedeliveryGetsNewTag(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	declareQueue(t, s, "q", exchange.QueueOptions{})
	other := newSession(t, r)
	declareQueue(t, other, "q2", exchange.QueueOptions{})
	publish(t, s, "", "q", "a")
	publish(t, s, "", "q", "b")
	publish(t, s, "", "q2", "c")
	d1, _ := s.Get("q", false)
	d2, _ := s.Get("q", false)
	d3, _ := other.Get("q2", false)
	assert.Equal(t, []uint64{1, 2, 1}, []uint64{d1.DeliveryTag, d2.DeliveryTag, d3.DeliveryTag})
	require.NoError(t, d1.Nack(true))
	d4, _ := s.Get("q", false)
	assert.Equal(t, "a", string(d4.Body))
	assert.True(t, d4.Redelivered)
	assert.Equal(t, uint64(3), d4.DeliveryTag, "a redelivery gets a new tag")
	// Reference: A47 (verified)
}

func TestAck_A48_MultipleAcksEveryTagUpTo(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	declareQueue(t, s, "q", exchange.QueueOptions{})
	for range 4 {
		publish(t, s, "", "q", "m")
	}
	c, err := s.Consume("q", exchange.ConsumeOptions{})
	require.NoError(t, err)
	ds := []*exchange.Delivery{next(t, c), next(t, c), next(t, c), next(t, c)}
	require.NoError(t, ds[1].Ack())
	require.NoError(t, s.Ack(3, true))
	info, _ := r.QueueInfo("q")
	assert.Equal(t, 1, info.Unacked, "tags 1 and 3 acked by multiple, 2 earlier; 4 left")
	assert.ErrorIs(t, ds[0].Ack(), sentinel.ErrAlreadySettled, "tag 1 was settled by the multiple ack")
	// Reference: A48, rabbitmq.com/docs/confirms#consumer-acks-multiple-parameter
}

func TestAck_A49_UnknownOrDoubleAckClosesSession(t *testing.T) {
	for name, bad := range map[string]func(s *exchange.Session, d *exchange.Delivery) error{
		"double": func(_ *exchange.Session, d *exchange.Delivery) error {
			if err := d.Ack(); err != nil {
				return err
			}
			return d.Ack()
		},
		"unknown": func(s *exchange.Session, _ *exchange.Delivery) error { return s.Ack(99, false) },
		"other session": func(_ *exchange.Session, d *exchange.Delivery) error {
			return nil // covered below
		},
	} {
		t.Run(name, func(t *testing.T) {
			r := newRouter(t)
			s := newSession(t, r)
			declareQueue(t, s, "q", exchange.QueueOptions{})
			publish(t, s, "", "q", "m")
			d, err := s.Get("q", false)
			require.NoError(t, err)
			if name == "other session" {
				other := newSession(t, r)
				err := other.Ack(d.DeliveryTag+5, false)
				assert.ErrorIs(t, err, exchange.ErrPreconditionFailed)
				assert.Error(t, other.Err())
				return
			}
			err = bad(s, d)
			require.ErrorIs(t, err, exchange.ErrPreconditionFailed)
			assert.ErrorIs(t, err, sentinel.ErrAlreadySettled)
			assert.Equal(t, 406, exchange.ReplyCode(err))
			assert.ErrorIs(t, s.Err(), exchange.ErrPreconditionFailed, "the channel is closed")
		})
	}
	// Reference: A49 (verified: 406 PRECONDITION_FAILED "unknown delivery tag")
}

func TestNack_A50_RequeueToOriginalPosition(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	declareQueue(t, s, "q", exchange.QueueOptions{})
	for _, b := range []string{"1", "2", "3", "4"} {
		publish(t, s, "", "q", b)
	}
	d1, _ := s.Get("q", false)
	d2, _ := s.Get("q", false)
	require.NoError(t, d2.Nack(true))
	require.NoError(t, d1.Reject(true))
	publish(t, s, "", "q", "5")
	var got []string
	var redelivered []bool
	for range 5 {
		d, err := s.Get("q", true)
		require.NoError(t, err)
		got = append(got, string(d.Body))
		redelivered = append(redelivered, d.Redelivered)
	}
	assert.Equal(t, []string{"1", "2", "3", "4", "5"}, got)
	assert.Equal(t, []bool{true, true, false, false, false}, redelivered)

	publish(t, s, "", "q", "gone")
	d, _ := s.Get("q", false)
	require.NoError(t, d.Nack(false))
	assert.Equal(t, 0, ready(t, r, "q"), "requeue=false without a DLX discards")
	// Reference: A50, rabbitmq.com/docs/confirms#consumer-nacks-requeue
}

func TestClose_A51_UnackedRequeuedAheadOfLater(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	declareQueue(t, s, "q", exchange.QueueOptions{})
	for _, b := range []string{"1", "2", "3"} {
		publish(t, s, "", "q", b)
	}
	c, err := s.Consume("q", exchange.ConsumeOptions{Prefetch: 2})
	require.NoError(t, err)
	assert.Equal(t, "1", string(next(t, c).Body))
	assert.Equal(t, "2", string(next(t, c).Body))
	require.NoError(t, s.Close())

	s2 := newSession(t, r)
	var got []string
	var redelivered []bool
	for range 3 {
		d, err := s2.Get("q", true)
		require.NoError(t, err)
		got = append(got, string(d.Body))
		redelivered = append(redelivered, d.Redelivered)
	}
	assert.Equal(t, []string{"1", "2", "3"}, got)
	assert.Equal(t, []bool{true, true, false}, redelivered)
	_, err = c.Next(context.Background())
	assert.ErrorIs(t, err, exchange.ErrClosed)
	// Reference: A51 (verified: 1,2 redelivered then 3 fresh)
}

func TestCancel_A52_InFlightStayUnacked(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	declareQueue(t, s, "q", exchange.QueueOptions{})
	publish(t, s, "", "q", "1")
	publish(t, s, "", "q", "2")
	c, err := s.Consume("q", exchange.ConsumeOptions{Prefetch: 1})
	require.NoError(t, err)
	require.NoError(t, c.Cancel())
	info, _ := r.QueueInfo("q")
	assert.Equal(t, 1, info.Unacked, "cancel neither requeues nor discards")
	assert.Equal(t, 1, info.Ready)
	d := next(t, c)
	assert.Equal(t, "1", string(d.Body), "what was pushed can still be read and acked")
	_, err = c.Next(context.Background())
	assert.ErrorIs(t, err, exchange.ErrConsumerCancelled)
	require.NoError(t, d.Ack())
	info, _ = r.QueueInfo("q")
	assert.Equal(t, 0, info.Unacked)
	// Reference: A52, rabbitmq.com/docs/consumers#unsubscribing
}

func TestAutoAck_A53_NeverRedelivered(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	declareQueue(t, s, "q", exchange.QueueOptions{})
	publish(t, s, "", "q", "1")
	c, err := s.Consume("q", exchange.ConsumeOptions{AutoAck: true})
	require.NoError(t, err)
	d := next(t, c)
	require.NoError(t, s.Close())
	assert.Equal(t, 0, ready(t, r, "q"), "closing the session does not bring it back")
	assert.Error(t, d.Ack(), "an auto-ack delivery has nothing to settle")
	// Reference: A53
}

func TestPrefetch_A54_StopsAtNUnacked(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	declareQueue(t, s, "q", exchange.QueueOptions{})
	for i := range 5 {
		publish(t, s, "", "q", string(rune('a'+i)))
	}
	c, err := s.Consume("q", exchange.ConsumeOptions{Prefetch: 2})
	require.NoError(t, err)
	d1, d2 := next(t, c), next(t, c)
	none(t, c)
	require.NoError(t, d1.Ack())
	d3 := next(t, c)
	assert.Equal(t, "c", string(d3.Body), "each ack frees room for one more")
	none(t, c)
	require.NoError(t, d2.Ack())
	require.NoError(t, d3.Ack())
	next(t, c)
	next(t, c)
	// Reference: A54, rabbitmq.com/docs/confirms#channel-qos-prefetch
}

func TestPrefetch_A54_ZeroIsUnlimited(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	declareQueue(t, s, "q", exchange.QueueOptions{})
	for range 100 {
		publish(t, s, "", "q", "m")
	}
	c, err := s.Consume("q", exchange.ConsumeOptions{})
	require.NoError(t, err)
	for range 100 {
		next(t, c)
	}
}

func TestPrefetch_A55_GlobalAppliesPerSession(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	declareQueue(t, s, "a", exchange.QueueOptions{})
	declareQueue(t, s, "b", exchange.QueueOptions{})
	for range 3 {
		publish(t, s, "", "a", "a")
		publish(t, s, "", "b", "b")
	}
	require.NoError(t, s.Qos(3, true))
	require.NoError(t, s.Qos(2, false))
	ca, err := s.Consume("a", exchange.ConsumeOptions{})
	require.NoError(t, err)
	cb, err := s.Consume("b", exchange.ConsumeOptions{})
	require.NoError(t, err)
	a1, a2 := next(t, ca), next(t, ca)
	none(t, ca) // per-consumer limit 2
	b1 := next(t, cb)
	none(t, cb) // the session's 3 are taken
	require.NoError(t, a1.Ack())
	require.NoError(t, a2.Ack())
	require.NoError(t, b1.Ack())
	// Reference: A55, rabbitmq.com/docs/consumer-prefetch
}

func TestGet_A56_PrefetchDoesNotApply(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	declareQueue(t, s, "q", exchange.QueueOptions{})
	for range 3 {
		publish(t, s, "", "q", "m")
	}
	require.NoError(t, s.Qos(1, true))
	for range 3 {
		d, err := s.Get("q", false)
		require.NoError(t, err)
		require.NotNil(t, d)
	}
	// Reference: A56
}

func TestConsumers_A57_RoundRobin(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	declareQueue(t, s, "q", exchange.QueueOptions{})
	c1, _ := s.Consume("q", exchange.ConsumeOptions{AutoAck: true})
	c2, _ := s.Consume("q", exchange.ConsumeOptions{AutoAck: true})
	for i := range 6 {
		publish(t, s, "", "q", string(rune('0'+i)))
	}
	var got1, got2 []string
	for range 3 {
		got1 = append(got1, string(next(t, c1).Body))
		got2 = append(got2, string(next(t, c2).Body))
	}
	assert.Equal(t, []string{"0", "2", "4"}, got1)
	assert.Equal(t, []string{"1", "3", "5"}, got2)
	// Reference: A57, rabbitmq.com/docs/consumers
}

func TestGet_A58_EmptyAndManualAck(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	declareQueue(t, s, "q", exchange.QueueOptions{})
	d, err := s.Get("q", false)
	require.NoError(t, err)
	assert.Nil(t, d, "get-empty")
	publish(t, s, "", "q", "m")
	d, err = s.Get("q", false)
	require.NoError(t, err)
	info, _ := r.QueueInfo("q")
	assert.Equal(t, 1, info.Unacked, "fetched with no-ack=false: must be acked")
	require.NoError(t, d.Ack())
	// Reference: A58, AMQP 0-9-1 basic.get
}

func TestConsumers_A59_ExclusiveConsumer(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	declareQueue(t, s, "q", exchange.QueueOptions{})
	_, err := s.Consume("q", exchange.ConsumeOptions{Exclusive: true})
	require.NoError(t, err)
	s2 := newSession(t, r)
	_, err = s2.Consume("q", exchange.ConsumeOptions{})
	assert.ErrorIs(t, err, exchange.ErrAccessRefused)
	s3 := newSession(t, r)
	declareQueue(t, s3, "busy", exchange.QueueOptions{})
	_, err = s3.Consume("busy", exchange.ConsumeOptions{})
	require.NoError(t, err)
	_, err = s3.Consume("busy", exchange.ConsumeOptions{Exclusive: true})
	assert.ErrorIs(t, err, exchange.ErrAccessRefused)
	// Reference: A59, rabbitmq.com/docs/consumers#exclusivity
}

func TestConsumers_A37_SingleActiveConsumerFailsOver(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	declareQueue(t, s, "q", exchange.QueueOptions{SingleActiveConsumer: true})
	c1, _ := s.Consume("q", exchange.ConsumeOptions{AutoAck: true})
	c2, _ := s.Consume("q", exchange.ConsumeOptions{AutoAck: true})
	publish(t, s, "", "q", "1")
	publish(t, s, "", "q", "2")
	next(t, c1)
	next(t, c1)
	none(t, c2)
	require.NoError(t, c1.Cancel())
	publish(t, s, "", "q", "3")
	assert.Equal(t, "3", string(next(t, c2).Body))
	_, err := s.Consume("q", exchange.ConsumeOptions{Exclusive: true})
	assert.ErrorIs(t, err, exchange.ErrAccessRefused, "with consumers there: the queue is in use (403)")
	// On a single-active-consumer queue with no consumer, the exclusive consume itself is
	// refused: the two do not mix (405).
	s = newSession(t, r) // the channel error closed the first
	declareQueue(t, s, "idle", exchange.QueueOptions{SingleActiveConsumer: true})
	_, err = s.Consume("idle", exchange.ConsumeOptions{Exclusive: true})
	assert.ErrorIs(t, err, exchange.ErrResourceLocked)
	// Reference: A37, rabbitmq.com/docs/consumers#single-active-consumer
}

func TestOrdering_A61_PublishOrderPerQueue(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	require.NoError(t, s.ExchangeDeclare("f", exchange.Fanout, exchange.ExchangeOptions{}))
	declareQueue(t, s, "q1", exchange.QueueOptions{})
	declareQueue(t, s, "q2", exchange.QueueOptions{})
	require.NoError(t, s.QueueBind("q1", "f", "", nil))
	require.NoError(t, s.QueueBind("q2", "f", "", nil))
	c, err := s.Consume("q1", exchange.ConsumeOptions{})
	require.NoError(t, err)
	var want []string
	for i := range 200 {
		b := string(rune('A' + i%26))
		want = append(want, b)
		publish(t, s, "f", "", b)
	}
	var got []string
	for range 200 {
		d := next(t, c)
		got = append(got, string(d.Body))
		require.NoError(t, d.Ack())
	}
	assert.Equal(t, want, got)
	assert.Equal(t, want, bodies(t, s, "q2"))
	// Reference: A61, rabbitmq.com/docs/queues#message-ordering
}

func TestProperties_A63_PassThroughUnchanged(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	declareQueue(t, s, "q", exchange.QueueOptions{})
	msg := exchange.Publishing{
		ContentType: "application/json", ContentEncoding: "gzip",
		Headers:      exchange.Table{"k": "v", "n": int32(7)},
		DeliveryMode: exchange.Persistent, Priority: 5, CorrelationID: "c-1", ReplyTo: "replies",
		Expiration: "60000", MessageID: "m-1", Timestamp: time.Unix(1700000000, 0), Type: "order.created",
		UserID: "guest", AppID: "shop", ClusterID: "c", Body: []byte(`{"order_id":"ORD-123"}`),
	}
	publishMsg(t, s, "", "q", msg)
	c, err := s.Consume("q", exchange.ConsumeOptions{Tag: "ctag"})
	require.NoError(t, err)
	d := next(t, c)
	assert.Equal(t, msg, *d.Publishing)
	assert.Equal(t, uint64(1), d.DeliveryTag)
	assert.False(t, d.Redelivered)
	assert.Equal(t, "", d.Exchange)
	assert.Equal(t, "q", d.RoutingKey)
	assert.Equal(t, "ctag", d.ConsumerTag)
	// Reference: A63, rabbitmq.com/docs/publishers#message-properties
}

// An auto-ack consumer holds at most 200 deliveries unread; the queue keeps the rest and
// pushes again once the reader has caught up to half of that, as RabbitMQ's queues stop at
// 200 deliveries unsent to a channel.
func TestConsume_AutoAckConsumerHoldsAtMost200Unread(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	declareQueue(t, s, "backlog", exchange.QueueOptions{})
	for range 1000 {
		publish(t, s, "", "backlog", "m")
	}
	c, err := s.Consume("backlog", exchange.ConsumeOptions{AutoAck: true})
	require.NoError(t, err)
	assert.Equal(t, 800, ready(t, r, "backlog"))
	for range 99 {
		next(t, c)
	}
	assert.Equal(t, 800, ready(t, r, "backlog"), "101 unread: not yet")
	next(t, c)
	assert.Equal(t, 700, ready(t, r, "backlog"), "100 unread: topped up to 200")
	for range 900 {
		next(t, c)
	}
	assert.Equal(t, 0, ready(t, r, "backlog"))
	// Reference: rabbit_queue_consumers's unsent-message limit (UNSENT_MESSAGE_LIMIT, 200)
}
