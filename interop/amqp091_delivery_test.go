package interop

import (
	"fmt"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// deadLetters declares a fanout dead-letter exchange with a queue behind it, and returns the
// exchange and an auto-ack consumer of the queue.
func deadLetters(t *testing.T, tg amqpTarget, ch *amqp.Channel) (string, <-chan amqp.Delivery) {
	t.Helper()
	dlx, dlq := aname(t, "dlx"), aname(t, "dead")
	require.NoError(t, ch.ExchangeDeclare(dlx, "fanout", false, false, false, false, nil))
	t.Cleanup(func() { cleanupAMQP(tg, nil, []string{dlx}) })
	declareQueue(t, tg, ch, dlq, false, nil)
	require.NoError(t, ch.QueueBind(dlq, "", dlx, false, nil))
	dead, err := ch.Consume(dlq, "", true, false, false, false, nil)
	require.NoError(t, err)
	return dlx, dead
}

// declareQueue declares a queue the test deletes when it ends.
func declareQueue(t *testing.T, tg amqpTarget, ch *amqp.Channel, name string, durable bool, args amqp.Table) {
	t.Helper()
	_, err := ch.QueueDeclare(name, durable, false, false, false, args)
	require.NoError(t, err)
	t.Cleanup(func() { cleanupAMQP(tg, []string{name}, nil) })
}

// A message nacked without requeue goes to the queue's dead-letter exchange, with an x-death
// entry saying why, from where, and how often.
func TestAMQP091_NackDeadLettersWithXDeath(t *testing.T) {
	eachAMQP(t, func(t *testing.T, tg amqpTarget) {
		ctx := ctxT(t)
		_, ch := tg.channel(t)
		dlx, work, dlq := aname(t, "dlx"), aname(t, "work"), aname(t, "dead")
		require.NoError(t, ch.ExchangeDeclare(dlx, "fanout", false, false, false, false, nil))
		t.Cleanup(func() { cleanupAMQP(tg, nil, []string{dlx}) })
		declareQueue(t, tg, ch, dlq, false, nil)
		require.NoError(t, ch.QueueBind(dlq, "", dlx, false, nil))
		declareQueue(t, tg, ch, work, false, amqp.Table{"x-dead-letter-exchange": dlx})

		require.NoError(t, ch.PublishWithContext(ctx, "", work, false, false, amqp.Publishing{
			ContentType: "application/json", Body: []byte(`{"order_id":"7"}`)}))
		msgs, err := ch.Consume(work, "", false, false, false, false, nil)
		require.NoError(t, err)
		require.NoError(t, next(t, ctx, msgs).Nack(false, false))

		dead, err := ch.Consume(dlq, "", false, false, false, false, nil)
		require.NoError(t, err)
		d := next(t, ctx, dead)
		assert.Equal(t, `{"order_id":"7"}`, string(d.Body))
		assert.Equal(t, "application/json", d.ContentType)
		assert.Equal(t, dlx, d.Exchange)
		assert.Equal(t, work, d.RoutingKey, "the original routing key is kept")
		deaths, ok := d.Headers["x-death"].([]any)
		require.True(t, ok, "x-death is an array: %#v", d.Headers["x-death"])
		require.Len(t, deaths, 1)
		death := deaths[0].(amqp.Table)
		assert.Equal(t, int64(1), death["count"])
		assert.Equal(t, "rejected", death["reason"])
		assert.Equal(t, work, death["queue"])
		assert.Equal(t, "", death["exchange"])
		assert.Equal(t, []any{work}, death["routing-keys"])
		assert.IsType(t, time.Time{}, death["time"])
		assert.Equal(t, "rejected", d.Headers["x-first-death-reason"])
		assert.Equal(t, work, d.Headers["x-first-death-queue"])
		assert.Equal(t, "", d.Headers["x-first-death-exchange"])
		require.NoError(t, d.Ack(false))
	})
}

// basic.qos bounds the unacked deliveries of a consumer; an ack lets the next one through.
func TestAMQP091_PrefetchBoundsUnackedDeliveries(t *testing.T) {
	eachAMQP(t, func(t *testing.T, tg amqpTarget) {
		ctx := ctxT(t)
		_, ch := tg.channel(t)
		q := aname(t, "q")
		declareQueue(t, tg, ch, q, false, nil)
		for i := range 5 {
			require.NoError(t, ch.PublishWithContext(ctx, "", q, false, false, amqp.Publishing{Body: []byte{'0' + byte(i)}}))
		}
		require.NoError(t, ch.Qos(2, 0, false))
		msgs, err := ch.Consume(q, "", false, false, false, false, nil)
		require.NoError(t, err)
		first, second := next(t, ctx, msgs), next(t, ctx, msgs)
		assert.Equal(t, "01", string(first.Body)+string(second.Body))
		info, err := ch.QueueDeclarePassive(q, false, false, false, false, nil)
		require.NoError(t, err)
		assert.Equal(t, 3, info.Messages, "two are out unacked, three wait")
		require.NoError(t, first.Ack(false))
		assert.Equal(t, "2", string(next(t, ctx, msgs).Body))
	})
}

// A mandatory publish that no queue takes comes back with basic.return 312 NO_ROUTE, before
// its confirm.
func TestAMQP091_MandatoryUnroutableIsReturnedBeforeItsConfirm(t *testing.T) {
	eachAMQP(t, func(t *testing.T, tg amqpTarget) {
		ctx := ctxT(t)
		_, ch := tg.channel(t)
		x := aname(t, "nowhere")
		require.NoError(t, ch.ExchangeDeclare(x, "direct", false, false, false, false, nil))
		t.Cleanup(func() { cleanupAMQP(tg, nil, []string{x}) })
		require.NoError(t, ch.Confirm(false))
		returns := ch.NotifyReturn(make(chan amqp.Return, 1))
		confirms := ch.NotifyPublish(make(chan amqp.Confirmation, 1))
		require.NoError(t, ch.PublishWithContext(ctx, x, "k", true, false, amqp.Publishing{MessageId: "m1", Body: []byte("lost?")}))
		// amqp091-go hands frames on in the order they came, each to its own channel, so two
		// ready channels say nothing about order; but once the confirm is out, a return sent
		// before it must already be waiting.
		select {
		case c := <-confirms:
			assert.Equal(t, amqp.Confirmation{DeliveryTag: 1, Ack: true}, c)
		case <-ctx.Done():
			t.Fatal("no confirm")
		}
		select {
		case r := <-returns:
			assert.Equal(t, uint16(312), r.ReplyCode)
			assert.Equal(t, "NO_ROUTE", r.ReplyText)
			assert.Equal(t, x, r.Exchange)
			assert.Equal(t, "k", r.RoutingKey)
			assert.Equal(t, "m1", r.MessageId)
			assert.Equal(t, "lost?", string(r.Body))
		default:
			t.Fatal("the confirm came before the return")
		}
	})
}

// An exclusive queue is its connection's: another connection is refused with 405, and it is
// deleted when its connection closes.
func TestAMQP091_ExclusiveQueueBelongsToItsConnection(t *testing.T) {
	eachAMQP(t, func(t *testing.T, tg amqpTarget) {
		owner, ch := tg.channel(t)
		q := "exclusive." + strings.Repeat("x", 60) // the same on every server: long enough to cut the reply text
		_, err := ch.QueueDeclare(q, false, false, true, false, nil)
		require.NoError(t, err)
		other, err := owner.Channel()
		require.NoError(t, err)
		_, err = other.Consume(q, "", true, false, false, false, nil)
		require.NoError(t, err, "another channel of the owner may use it")

		_, stranger := tg.channel(t)
		_, err = stranger.QueueDeclarePassive(q, false, false, true, false, nil)
		ae := amqpErr(t, err)
		assert.Equal(t, 405, ae.Code)
		text := "RESOURCE_LOCKED - cannot obtain exclusive access to locked queue '" + q +
			"' in vhost '/'. It could be originally declared on another connection or the exclusive property value does not match that of the original declaration."
		assert.Equal(t, text[:252]+"...", ae.Reason, "a reply text is cut to 255 bytes, ending in ...")

		require.NoError(t, owner.Close())
		_, ch2 := tg.channel(t)
		_, err = ch2.QueueDeclarePassive(q, false, false, false, false, nil)
		assert.Equal(t, 404, amqpErr(t, err).Code, "gone with its connection")
	})
}

// An auto-delete queue is deleted when its last consumer is cancelled.
func TestAMQP091_AutoDeleteQueueGoesWithItsLastConsumer(t *testing.T) {
	eachAMQP(t, func(t *testing.T, tg amqpTarget) {
		_, ch := tg.channel(t)
		q := aname(t, "temp")
		_, err := ch.QueueDeclare(q, false, true, false, false, nil)
		require.NoError(t, err)
		t.Cleanup(func() { cleanupAMQP(tg, []string{q}, nil) })
		_, err = ch.Consume(q, "a", true, false, false, false, nil)
		require.NoError(t, err)
		_, err = ch.Consume(q, "b", true, false, false, false, nil)
		require.NoError(t, err)
		require.NoError(t, ch.Cancel("a", false))
		_, err = ch.QueueDeclarePassive(q, false, true, false, false, nil)
		require.NoError(t, err, "one consumer is left")
		require.NoError(t, ch.Cancel("b", false))
		_, err = ch.QueueDeclarePassive(q, false, true, false, false, nil)
		assert.Equal(t, 404, amqpErr(t, err).Code)
	})
}

// Deleting a queue cancels its consumers, and the server says so with basic.cancel.
func TestAMQP091_ConsumerCancelNotifyWhenItsQueueIsDeleted(t *testing.T) {
	eachAMQP(t, func(t *testing.T, tg amqpTarget) {
		ctx := ctxT(t)
		conn, ch := tg.channel(t)
		q := aname(t, "doomed")
		declareQueue(t, tg, ch, q, false, nil)
		cancels := ch.NotifyCancel(make(chan string, 1))
		msgs, err := ch.Consume(q, "watcher", false, false, false, false, nil)
		require.NoError(t, err)
		admin, err := conn.Channel()
		require.NoError(t, err)
		_, err = admin.QueueDelete(q, false, false, false)
		require.NoError(t, err)
		select {
		case tag := <-cancels:
			assert.Equal(t, "watcher", tag)
		case <-ctx.Done():
			t.Fatal("no basic.cancel")
		}
		_, open := <-msgs
		assert.False(t, open, "the deliveries channel is closed")
		_, err = ch.QueueDeclare(aname(t, "after"), false, true, false, false, nil)
		assert.NoError(t, err, "the channel stays open")
	})
}

// On a transactional channel publishes and acks take effect at commit and are discarded at
// rollback.
func TestAMQP091_TxPublishesAndAcksTakeEffectAtCommit(t *testing.T) {
	eachAMQP(t, func(t *testing.T, tg amqpTarget) {
		ctx := ctxT(t)
		_, ch := tg.channel(t)
		q := aname(t, "ledger")
		declareQueue(t, tg, ch, q, false, nil)
		require.NoError(t, ch.Tx())
		require.NoError(t, ch.PublishWithContext(ctx, "", q, false, false, amqp.Publishing{Body: []byte("rolled back")}))
		require.NoError(t, ch.TxRollback())
		require.NoError(t, ch.PublishWithContext(ctx, "", q, false, false, amqp.Publishing{Body: []byte("committed")}))
		info, err := ch.QueueDeclarePassive(q, false, false, false, false, nil)
		require.NoError(t, err)
		assert.Equal(t, 0, info.Messages, "not before the commit")
		require.NoError(t, ch.TxCommit())
		info, err = ch.QueueDeclarePassive(q, false, false, false, false, nil)
		require.NoError(t, err)
		assert.Equal(t, 1, info.Messages)

		d, ok, err := ch.Get(q, false)
		require.NoError(t, err)
		require.True(t, ok)
		assert.Equal(t, "committed", string(d.Body))
		require.NoError(t, d.Ack(false))
		require.NoError(t, ch.TxRollback()) // the ack is discarded: the message is still unacked
		require.NoError(t, ch.Close())
		_, ch2 := tg.channel(t)
		d, ok, err = ch2.Get(q, true)
		require.NoError(t, err)
		require.True(t, ok, "the rolled-back ack left the message unacked, and the close requeued it")
		assert.True(t, d.Redelivered)
	})
}

// RPC with direct reply-to: the caller consumes amq.rabbitmq.reply-to with no ack, names it
// in reply_to, and the reply published to the name the server received reaches the caller
// with no queue declared.
func TestAMQP091_DirectReplyToCarriesTheRPCReply(t *testing.T) {
	eachAMQP(t, func(t *testing.T, tg amqpTarget) {
		ctx := ctxT(t)
		_, server := tg.channel(t)
		rpc := aname(t, "rpc")
		declareQueue(t, tg, server, rpc, false, nil)
		requests, err := server.Consume(rpc, "", false, false, false, false, nil)
		require.NoError(t, err)

		_, caller := tg.channel(t)
		replies, err := caller.Consume("amq.rabbitmq.reply-to", "", true, false, false, false, nil)
		require.NoError(t, err)
		require.NoError(t, caller.PublishWithContext(ctx, "", rpc, false, false, amqp.Publishing{
			CorrelationId: "c-1", ReplyTo: "amq.rabbitmq.reply-to", Body: []byte("2+2")}))

		req := next(t, ctx, requests)
		assert.True(t, strings.HasPrefix(req.ReplyTo, "amq.rabbitmq.reply-to."), req.ReplyTo)
		require.NoError(t, server.PublishWithContext(ctx, "", req.ReplyTo, false, false, amqp.Publishing{
			CorrelationId: req.CorrelationId, Body: []byte("4")}))
		require.NoError(t, req.Ack(false))

		reply := next(t, ctx, replies)
		assert.Equal(t, "c-1", reply.CorrelationId)
		assert.Equal(t, "4", string(reply.Body))
	})
}

// The other ways a message dies, as RabbitMQ records them: expired on publish (expiration
// "0" and no consumer waiting) and pushed out by x-max-length (drop-head), each dead-lettered
// with its reason; x-overflow reject-publish nacks the publish instead.
func TestAMQP091_ExpiryAndLengthLimitDeadLetterWithTheirReasons(t *testing.T) {
	eachAMQP(t, func(t *testing.T, tg amqpTarget) {
		ctx := ctxT(t)
		_, ch := tg.channel(t)
		dlx, dead := deadLetters(t, tg, ch)

		ttl := aname(t, "ttl")
		declareQueue(t, tg, ch, ttl, false, amqp.Table{"x-dead-letter-exchange": dlx})
		require.NoError(t, ch.PublishWithContext(ctx, "", ttl, false, false, amqp.Publishing{Expiration: "0", Body: []byte("late")}))
		d := next(t, ctx, dead)
		assert.Equal(t, "late", string(d.Body))
		death := d.Headers["x-death"].([]any)[0].(amqp.Table)
		assert.Equal(t, "expired", death["reason"])
		assert.Equal(t, "0", death["original-expiration"], "the expiration moves into x-death")
		assert.Empty(t, d.Expiration, "and off the message")

		short := aname(t, "short")
		declareQueue(t, tg, ch, short, false, amqp.Table{"x-dead-letter-exchange": dlx, "x-max-length": int32(1)})
		for _, b := range []string{"first", "second"} {
			require.NoError(t, ch.PublishWithContext(ctx, "", short, false, false, amqp.Publishing{Body: []byte(b)}))
		}
		d = next(t, ctx, dead)
		assert.Equal(t, "first", string(d.Body), "drop-head: the oldest goes")
		assert.Equal(t, "maxlen", d.Headers["x-death"].([]any)[0].(amqp.Table)["reason"])
		got, ok, err := ch.Get(short, true)
		require.NoError(t, err)
		require.True(t, ok)
		assert.Equal(t, "second", string(got.Body))

		full := aname(t, "full")
		declareQueue(t, tg, ch, full, false, amqp.Table{"x-max-length": int32(1), "x-overflow": "reject-publish"})
		_, conf := tg.channel(t)
		require.NoError(t, conf.Confirm(false))
		confirms := conf.NotifyPublish(make(chan amqp.Confirmation, 2))
		for _, b := range []string{"kept", "refused"} {
			require.NoError(t, conf.PublishWithContext(ctx, "", full, false, false, amqp.Publishing{Body: []byte(b)}))
		}
		assert.Equal(t, amqp.Confirmation{DeliveryTag: 1, Ack: true}, <-confirms)
		assert.Equal(t, amqp.Confirmation{DeliveryTag: 2, Ack: false}, <-confirms, "reject-publish nacks")
	})
}

// A priority queue delivers the highest priority first, and equal priorities in order.
func TestAMQP091_PriorityQueueDeliversHighestFirst(t *testing.T) {
	eachAMQP(t, func(t *testing.T, tg amqpTarget) {
		ctx := ctxT(t)
		_, ch := tg.channel(t)
		q := aname(t, "prio")
		declareQueue(t, tg, ch, q, false, amqp.Table{"x-max-priority": int32(10)})
		for _, p := range []struct {
			prio uint8
			body string
		}{{1, "low-1"}, {9, "high-1"}, {5, "mid"}, {9, "high-2"}, {0, "none"}, {1, "low-2"}} {
			require.NoError(t, ch.PublishWithContext(ctx, "", q, false, false, amqp.Publishing{Priority: p.prio, Body: []byte(p.body)}))
		}
		var order []string
		for range 6 {
			d, ok, err := ch.Get(q, true)
			require.NoError(t, err)
			require.True(t, ok)
			order = append(order, string(d.Body))
		}
		assert.Equal(t, []string{"high-1", "high-2", "mid", "low-1", "low-2", "none"}, order)
	})
}

// basic.qos global=true bounds the unacked deliveries of all the channel's consumers
// together, global=false each consumer on its own (RabbitMQ's per_consumer_qos reading).
func TestAMQP091_QosGlobalIsPerChannelAndPlainIsPerConsumer(t *testing.T) {
	eachAMQP(t, func(t *testing.T, tg amqpTarget) {
		ctx := ctxT(t)
		for _, c := range []struct {
			global bool
			want   int // ready left of the 10 across both queues, with prefetch 2
		}{{true, 8}, {false, 6}} {
			_, ch := tg.channel(t)
			a, b := aname(t, fmt.Sprintf("a-%v", c.global)), aname(t, fmt.Sprintf("b-%v", c.global))
			for _, q := range []string{a, b} {
				declareQueue(t, tg, ch, q, false, nil)
				for range 5 {
					require.NoError(t, ch.PublishWithContext(ctx, "", q, false, false, amqp.Publishing{Body: []byte("m")}))
				}
			}
			require.NoError(t, ch.Qos(2, 0, c.global))
			da, err := ch.Consume(a, "", false, false, false, false, nil)
			require.NoError(t, err)
			db, err := ch.Consume(b, "", false, false, false, false, nil)
			require.NoError(t, err)
			got := 0
			for got < 10-c.want { // what the limit lets out arrives
				select {
				case <-da:
				case <-db:
				case <-ctx.Done():
					t.Fatalf("global=%v: %d deliveries, want %d", c.global, got, 10-c.want)
				}
				got++
			}
			ready := 0
			for _, q := range []string{a, b} {
				info, err := ch.QueueDeclarePassive(q, false, false, false, false, nil)
				require.NoError(t, err)
				ready += info.Messages
			}
			assert.Equal(t, c.want, ready, "global=%v", c.global)
		}
	})
}

// Redelivery as RabbitMQ does it: a nack with requeue puts the message back at the front,
// marked redelivered; basic.recover requeues every unacked one; a closed channel's unacked
// deliveries go to another consumer, redelivered.
func TestAMQP091_RequeuedMessagesAreRedeliveredFirst(t *testing.T) {
	eachAMQP(t, func(t *testing.T, tg amqpTarget) {
		ctx := ctxT(t)
		conn, ch := tg.channel(t)
		q := aname(t, "jobs")
		declareQueue(t, tg, ch, q, false, nil)
		for _, b := range []string{"1", "2", "3"} {
			require.NoError(t, ch.PublishWithContext(ctx, "", q, false, false, amqp.Publishing{Body: []byte(b)}))
		}
		d, ok, err := ch.Get(q, false)
		require.NoError(t, err)
		require.True(t, ok)
		assert.False(t, d.Redelivered)
		require.NoError(t, d.Nack(false, true))
		d, _, err = ch.Get(q, false)
		require.NoError(t, err)
		assert.Equal(t, "1", string(d.Body), "back at the front")
		assert.True(t, d.Redelivered)
		assert.Equal(t, uint32(2), d.MessageCount, "message_count excludes the one just got")

		//lint:ignore SA1019 basic.recover is what this checks: RabbitMQ still serves it
		require.NoError(t, ch.Recover(true))
		d, _, err = ch.Get(q, false)
		require.NoError(t, err)
		assert.Equal(t, "1", string(d.Body))
		assert.True(t, d.Redelivered)

		other, err := conn.Channel()
		require.NoError(t, err)
		msgs, err := other.Consume(q, "", false, false, false, false, nil)
		require.NoError(t, err)
		var got []string
		for range 2 {
			m := next(t, ctx, msgs)
			got = append(got, string(m.Body)+fmt.Sprint(m.Redelivered))
		}
		assert.Equal(t, []string{"2false", "3false"}, got)
		require.NoError(t, ch.Close()) // "1" was unacked on ch
		m := next(t, ctx, msgs)
		assert.Equal(t, "1", string(m.Body))
		assert.True(t, m.Redelivered)
	})
}

// With x-single-active-consumer only the first consumer receives; when it goes, the next
// takes over. Consumer priorities (x-priority) send messages to the highest-priority consumer
// with room first.
func TestAMQP091_SingleActiveConsumerAndConsumerPriorities(t *testing.T) {
	eachAMQP(t, func(t *testing.T, tg amqpTarget) {
		ctx := ctxT(t)
		_, ch := tg.channel(t)
		sac := aname(t, "sac")
		declareQueue(t, tg, ch, sac, false, amqp.Table{"x-single-active-consumer": true})
		first, err := ch.Consume(sac, "first", true, false, false, false, nil)
		require.NoError(t, err)
		second, err := ch.Consume(sac, "second", true, false, false, false, nil)
		require.NoError(t, err)
		require.NoError(t, ch.PublishWithContext(ctx, "", sac, false, false, amqp.Publishing{Body: []byte("a")}))
		assert.Equal(t, "first", next(t, ctx, first).ConsumerTag)
		require.NoError(t, ch.Cancel("first", false))
		require.NoError(t, ch.PublishWithContext(ctx, "", sac, false, false, amqp.Publishing{Body: []byte("b")}))
		assert.Equal(t, "second", next(t, ctx, second).ConsumerTag, "the next consumer takes over")

		_, pch := tg.channel(t)
		prio := aname(t, "prio")
		declareQueue(t, tg, pch, prio, false, nil)
		require.NoError(t, pch.Qos(1, 0, false))
		low, err := pch.Consume(prio, "low", false, false, false, false, amqp.Table{"x-priority": int32(1)})
		require.NoError(t, err)
		high, err := pch.Consume(prio, "high", false, false, false, false, amqp.Table{"x-priority": int32(10)})
		require.NoError(t, err)
		for _, b := range []string{"1", "2"} {
			require.NoError(t, pch.PublishWithContext(ctx, "", prio, false, false, amqp.Publishing{Body: []byte(b)}))
		}
		h := next(t, ctx, high)
		assert.Equal(t, "1", string(h.Body), "the high-priority consumer first")
		l := next(t, ctx, low)
		assert.Equal(t, "2", string(l.Body), "the low one when the high one has no room")
		require.NoError(t, h.Ack(false))
		require.NoError(t, l.Ack(false))
	})
}

// The counts RabbitMQ reports: declare-ok and purge-ok count ready messages, not unacked
// ones; declare-ok counts consumers. An auto-delete exchange goes with its last binding; an
// auto-delete queue that never had a consumer stays.
func TestAMQP091_CountsAndAutoDeleteLifetimes(t *testing.T) {
	eachAMQP(t, func(t *testing.T, tg amqpTarget) {
		ctx := ctxT(t)
		_, ch := tg.channel(t)
		q := aname(t, "counted")
		declareQueue(t, tg, ch, q, false, nil)
		for range 3 {
			require.NoError(t, ch.PublishWithContext(ctx, "", q, false, false, amqp.Publishing{Body: []byte("m")}))
		}
		_, ok, err := ch.Get(q, false) // one unacked
		require.NoError(t, err)
		require.True(t, ok)
		_, err = ch.Consume(q, "c1", false, false, false, false, nil)
		require.NoError(t, err)
		require.NoError(t, ch.Cancel("c1", false)) // anything it took is still unacked on ch
		_, err = ch.Consume(q, "c2", false, false, false, true, nil)
		require.NoError(t, err)
		_, pch := tg.channel(t)
		info, err := pch.QueueDeclarePassive(q, false, false, false, false, nil)
		require.NoError(t, err)
		assert.Equal(t, 0, info.Messages, "all three are unacked on ch now")
		assert.Equal(t, 1, info.Consumers)
		require.NoError(t, ch.Cancel("c2", false))
		require.NoError(t, ch.Close()) // the three are requeued
		n, err := pch.QueuePurge(q, false)
		require.NoError(t, err)
		assert.Equal(t, 3, n)

		x, bq := aname(t, "autodel-x"), aname(t, "bound")
		require.NoError(t, pch.ExchangeDeclare(x, "fanout", false, true, false, false, nil))
		t.Cleanup(func() { cleanupAMQP(tg, nil, []string{x}) })
		declareQueue(t, tg, pch, bq, false, nil)
		require.NoError(t, pch.QueueBind(bq, "", x, false, nil))
		require.NoError(t, pch.QueueUnbind(bq, "", x, nil))
		_, gone := tg.channel(t)
		err = gone.ExchangeDeclarePassive(x, "fanout", false, true, false, false, nil)
		assert.Equal(t, 404, amqpErr(t, err).Code, "the auto-delete exchange went with its last binding")

		never := aname(t, "never-consumed")
		_, err = pch.QueueDeclare(never, false, true, false, false, nil)
		require.NoError(t, err)
		t.Cleanup(func() { cleanupAMQP(tg, []string{never}, nil) })
		_, err = pch.QueueDeclarePassive(never, false, true, false, false, nil)
		assert.NoError(t, err, "an auto-delete queue with no consumer yet stays")
	})
}

// Time-to-live on a real clock (RabbitMQ runs on one): a queue's x-message-ttl and a
// message's expiration, the lower winning, dead-letter with reason expired when the time is
// up; x-expires deletes a queue left unused. Short times keep the test quick; the waits are
// for the server's timers, and fail after seconds.
func TestAMQP091_TTLsExpireOnTheServersClock(t *testing.T) {
	eachAMQP(t, func(t *testing.T, tg amqpTarget) {
		ctx := ctxT(t)
		_, ch := tg.channel(t)
		dlx, dead := deadLetters(t, tg, ch)

		q := aname(t, "ttl")
		declareQueue(t, tg, ch, q, false, amqp.Table{"x-message-ttl": int32(200), "x-dead-letter-exchange": dlx})
		start := time.Now()
		require.NoError(t, ch.PublishWithContext(ctx, "", q, false, false, amqp.Publishing{Expiration: "50", Body: []byte("short")}))
		require.NoError(t, ch.PublishWithContext(ctx, "", q, false, false, amqp.Publishing{Body: []byte("queue-ttl")}))
		first := next(t, ctx, dead)
		assert.Equal(t, "short", string(first.Body), "the message's lower expiration wins")
		second := next(t, ctx, dead)
		assert.Equal(t, "queue-ttl", string(second.Body))
		assert.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond, "not before the queue's TTL")
		assert.Equal(t, "expired", second.Headers["x-death"].([]any)[0].(amqp.Table)["reason"])

		unused := aname(t, "unused")
		_, err := ch.QueueDeclare(unused, false, false, false, false, amqp.Table{"x-expires": int32(200)})
		require.NoError(t, err)
		t.Cleanup(func() { cleanupAMQP(tg, []string{unused}, nil) })
		for {
			_, probe := tg.channel(t)
			_, err := probe.QueueDeclarePassive(unused, false, false, false, false, nil)
			if err != nil {
				assert.Equal(t, 404, amqpErr(t, err).Code, "deleted once unused for x-expires")
				break
			}
			probe.Close()
			// Probes 300 ms apart leave the queue unused for longer than its 200 ms between
			// them, whether or not a passive declare counts as a use.
			select {
			case <-ctx.Done():
				t.Fatal("the unused queue was never deleted")
			case <-time.After(300 * time.Millisecond):
			}
		}
	})
}

// Many channels of one connection at once: eight publish with confirms concurrently while
// their consumers ack on channels of their own; every message arrives exactly once, and
// channel numbers are reused after close.
func TestAMQP091_ConcurrentChannelsOnOneConnection(t *testing.T) {
	eachAMQP(t, func(t *testing.T, tg amqpTarget) {
		ctx := ctxT(t)
		conn, setup := tg.channel(t)
		q := aname(t, "shared")
		declareQueue(t, tg, setup, q, false, nil)
		const publishers, each = 8, 200
		cch, err := conn.Channel()
		require.NoError(t, err)
		require.NoError(t, cch.Qos(50, 0, false))
		msgs, err := cch.Consume(q, "", false, false, false, false, nil)
		require.NoError(t, err)
		errs := make(chan error, publishers)
		for p := range publishers {
			go func() {
				ch, err := conn.Channel()
				if err == nil {
					err = ch.Confirm(false)
				}
				if err != nil {
					errs <- err
					return
				}
				defer ch.Close()
				for i := range each {
					dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, "", q, false, false,
						amqp.Publishing{MessageId: fmt.Sprintf("%d-%d", p, i)})
					if err == nil && !dc.Wait() {
						err = fmt.Errorf("publish %d-%d nacked", p, i)
					}
					if err != nil {
						errs <- err
						return
					}
				}
				errs <- nil
			}()
		}
		seen := make(map[string]bool)
		for len(seen) < publishers*each {
			d := next(t, ctx, msgs)
			require.False(t, seen[d.MessageId], "delivered twice: %s", d.MessageId)
			seen[d.MessageId] = true
			require.NoError(t, d.Ack(false))
		}
		for range publishers {
			require.NoError(t, <-errs)
		}
		for range 300 { // open and close: numbers are handed out again
			ch, err := conn.Channel()
			require.NoError(t, err)
			require.NoError(t, ch.Close())
		}
	})
}

// A message's properties and a body of many frames come back as they were sent, the user-id
// the connection's own user.
func TestAMQP091_PropertiesAndALargeBodyRoundTrip(t *testing.T) {
	eachAMQP(t, func(t *testing.T, tg amqpTarget) {
		ctx := ctxT(t)
		_, ch := tg.channel(t)
		q := aname(t, "props")
		declareQueue(t, tg, ch, q, false, nil)
		body := make([]byte, 1<<20+17) // eight frames and a bit at frame_max 131072
		for i := range body {
			body[i] = byte(i * 7)
		}
		sent := amqp.Publishing{ContentType: "application/octet-stream", ContentEncoding: "identity",
			DeliveryMode: amqp.Persistent, Priority: 3, CorrelationId: "corr", ReplyTo: "replies",
			Expiration: "600000", MessageId: "id-1", Timestamp: time.Unix(1_700_000_000, 0), Type: "blob",
			UserId: "guest", AppId: "interop", Headers: amqp.Table{"s": "v", "i": int32(-7), "l": int64(1) << 40,
				"b": true, "f": 2.5, "t": amqp.Table{"n": int32(1)}, "a": []any{"x", int32(2)}}, Body: body}
		require.NoError(t, ch.PublishWithContext(ctx, "", q, false, false, sent))
		d, ok, err := ch.Get(q, true)
		require.NoError(t, err)
		require.True(t, ok)
		assert.Equal(t, body, d.Body)
		for name, pair := range map[string][2]any{
			"content-type": {sent.ContentType, d.ContentType}, "content-encoding": {sent.ContentEncoding, d.ContentEncoding},
			"delivery-mode": {sent.DeliveryMode, d.DeliveryMode}, "priority": {sent.Priority, d.Priority},
			"correlation-id": {sent.CorrelationId, d.CorrelationId}, "reply-to": {sent.ReplyTo, d.ReplyTo},
			"expiration": {sent.Expiration, d.Expiration}, "message-id": {sent.MessageId, d.MessageId},
			"timestamp": {sent.Timestamp.Unix(), d.Timestamp.Unix()}, "type": {sent.Type, d.Type},
			"user-id": {sent.UserId, d.UserId}, "app-id": {sent.AppId, d.AppId},
		} {
			assert.Equal(t, pair[0], pair[1], name)
		}
		assert.Equal(t, sent.Headers, d.Headers)
	})
}
