package interop

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// amqp091-go against every AMQP target. Nothing here knows which server it talks to, except
// where a test says why.

// aname returns a queue or exchange name no other test uses on a shared server.
func aname(t testing.TB, name string) string { return name + "." + t.Name() }

// next waits for a delivery, failing the test when the consumer ends or ctx does.
func next(t testing.TB, ctx context.Context, deliveries <-chan amqp.Delivery) amqp.Delivery {
	t.Helper()
	select {
	case d, ok := <-deliveries:
		require.True(t, ok, "the consumer ended")
		return d
	case <-ctx.Done():
		t.Fatal("no delivery:", ctx.Err())
		return amqp.Delivery{}
	}
}

// amqpErr returns err as the *amqp.Error a server's close carries.
func amqpErr(t testing.TB, err error) *amqp.Error {
	t.Helper()
	var ae *amqp.Error
	require.True(t, errors.As(err, &ae), "want an *amqp.Error, got %v", err)
	return ae
}

// serverClose returns the server's close that ended a case: err itself when the failed call
// carried it, else (a call that raced the close of an asynchronous error, which amqp091-go
// then reports as its own 504 "not open") the close that notify received. It waits for the
// close either way.
func serverClose(t *testing.T, err error, notify <-chan *amqp.Error) *amqp.Error {
	t.Helper()
	got := closed(t, ctxT(t), notify)
	var ae *amqp.Error
	if errors.As(err, &ae) && ae.Server {
		return ae
	}
	require.True(t, err == nil || errors.Is(err, amqp.ErrClosed), "want the server's close, got %v", err)
	return got
}

// closed waits for ch's close and returns its error.
func closed(t testing.TB, ctx context.Context, notify <-chan *amqp.Error) *amqp.Error {
	t.Helper()
	select {
	case err := <-notify:
		require.NotNil(t, err, "closed with no error")
		return err
	case <-ctx.Done():
		t.Fatal("not closed:", ctx.Err())
		return nil
	}
}

type orderEvent struct {
	OrderID string `json:"order_id"`
	Event   string `json:"event"`
}

// The order flow of the README: a topic exchange, a durable queue bound with a wildcard,
// persistent JSON published with confirms, consumed with manual ack.
func TestAMQP091_OrderFlow(t *testing.T) {
	eachAMQP(t, func(t *testing.T, tg amqpTarget) {
		ctx := ctxT(t)
		_, ch := tg.channel(t)
		orders, queue := aname(t, "orders"), aname(t, "order_notifications")
		require.NoError(t, ch.ExchangeDeclare(orders, "topic", true, false, false, false, nil))
		q, err := ch.QueueDeclare(queue, true, false, false, false, nil)
		require.NoError(t, err)
		t.Cleanup(func() { cleanupAMQP(tg, []string{queue}, []string{orders}) })
		require.Equal(t, queue, q.Name)
		require.NoError(t, ch.QueueBind(queue, "order.*", orders, false, nil))

		require.NoError(t, ch.Confirm(false))
		confirms := ch.NotifyPublish(make(chan amqp.Confirmation, 3))
		for i, ev := range []string{"created", "paid", "shipped.late"} {
			body, _ := json.Marshal(orderEvent{OrderID: fmt.Sprint(i + 1), Event: ev})
			require.NoError(t, ch.PublishWithContext(ctx, orders, "order."+ev, false, false, amqp.Publishing{
				ContentType: "application/json", DeliveryMode: amqp.Persistent, Body: body, MessageId: fmt.Sprint(i + 1)}))
		}
		for tag := uint64(1); tag <= 3; tag++ {
			c := <-confirms
			require.Equal(t, amqp.Confirmation{DeliveryTag: tag, Ack: true}, c)
		}

		msgs, err := ch.Consume(queue, "notifier", false, false, false, false, nil)
		require.NoError(t, err)
		for _, want := range []orderEvent{{"1", "created"}, {"2", "paid"}} { // order.* is one word
			d := next(t, ctx, msgs)
			var got orderEvent
			require.NoError(t, json.Unmarshal(d.Body, &got))
			assert.Equal(t, want, got)
			assert.Equal(t, "application/json", d.ContentType)
			assert.Equal(t, amqp.Persistent, d.DeliveryMode)
			assert.Equal(t, orders, d.Exchange)
			assert.Equal(t, "order."+want.Event, d.RoutingKey)
			assert.Equal(t, "notifier", d.ConsumerTag)
			assert.False(t, d.Redelivered)
			require.NoError(t, d.Ack(false))
		}
		require.NoError(t, ch.Cancel("notifier", false))
		q, err = ch.QueueDeclarePassive(queue, true, false, false, false, nil)
		require.NoError(t, err)
		assert.Equal(t, 0, q.Messages, "both deliveries were acked")
	})
}

// cleanupAMQP deletes what a test declared, on its own connection, so that a test that
// failed half-way leaves nothing for the next run on a shared server.
func cleanupAMQP(tg amqpTarget, queues, exchanges []string) {
	c, err := amqp.DialConfig(tg.url, amqp.Config{Dial: tg.dial})
	if err != nil {
		return
	}
	defer c.Close()
	ch, err := c.Channel()
	if err != nil {
		return
	}
	for _, q := range queues {
		ch.QueueDelete(q, false, false, false)
	}
	for _, x := range exchanges {
		ch.ExchangeDelete(x, false, false)
	}
}

// A channel error closes the channel with RabbitMQ's code and text; the connection and its
// other channels go on.
func TestAMQP091_ChannelErrorsCloseOnlyTheChannel(t *testing.T) {
	eachAMQP(t, func(t *testing.T, tg amqpTarget) {
		x, q := aname(t, "x"), aname(t, "q")
		conn, setup := tg.channel(t)
		require.NoError(t, setup.ExchangeDeclare(x, "topic", false, false, false, false, nil))
		_, err := setup.QueueDeclare(q, false, false, false, false, nil)
		require.NoError(t, err)
		ttl := aname(t, "ttl")
		_, err = setup.QueueDeclare(ttl, false, false, false, false, amqp.Table{"x-message-ttl": int32(2000)})
		require.NoError(t, err)
		withAE := aname(t, "with-ae")
		require.NoError(t, setup.ExchangeDeclare(withAE, "fanout", false, false, false, false, amqp.Table{"alternate-exchange": "ae1"}))
		full, used, lockedOut, ix := aname(t, "full"), aname(t, "used"), aname(t, "excl-consumer"), aname(t, "internal")
		for _, name := range []string{full, used, lockedOut} {
			_, err := setup.QueueDeclare(name, false, false, false, false, nil)
			require.NoError(t, err)
		}
		require.NoError(t, setup.PublishWithContext(ctxT(t), "", full, false, false, amqp.Publishing{Body: []byte("m")}))
		_, err = setup.Consume(used, "", false, false, false, false, nil)
		require.NoError(t, err)
		_, err = setup.Consume(lockedOut, "", false, true, false, false, nil)
		require.NoError(t, err)
		require.NoError(t, setup.QueueBind(q, "k", x, false, nil))
		require.NoError(t, setup.ExchangeDeclare(ix, "fanout", false, false, true, false, nil))
		t.Cleanup(func() { cleanupAMQP(tg, []string{q, ttl, full, used, lockedOut}, []string{x, withAE, ix}) })
		// thenSync makes an asynchronous channel error (a publish's, an ack's) visible: the
		// close arrives before the reply to a synchronous method after it.
		thenSync := func(ch *amqp.Channel, err error) error {
			if err != nil {
				return err
			}
			_, err = ch.QueueDeclarePassive(q, false, false, false, false, nil)
			return err
		}

		cases := []struct {
			name string
			do   func(ch *amqp.Channel) error
			code int
			text string
		}{
			{"passive declare of a missing queue", func(ch *amqp.Channel) error {
				_, err := ch.QueueDeclarePassive("missing."+q, false, false, false, false, nil)
				return err
			}, 404, "NOT_FOUND - no queue 'missing." + q + "' in vhost '/'"},
			{"passive declare of a missing exchange", func(ch *amqp.Channel) error {
				return ch.ExchangeDeclarePassive("missing."+x, "direct", false, false, false, false, nil)
			}, 404, "NOT_FOUND - no exchange 'missing." + x + "' in vhost '/'"},
			{"exchange redeclared with another type", func(ch *amqp.Channel) error {
				return ch.ExchangeDeclare(x, "fanout", false, false, false, false, nil)
			}, 406, "PRECONDITION_FAILED - inequivalent arg 'type' for exchange '" + x + "' in vhost '/': received 'fanout' but current is 'topic'"},
			{"queue redeclared durable", func(ch *amqp.Channel) error {
				_, err := ch.QueueDeclare(q, true, false, false, false, nil)
				return err
			}, 406, "PRECONDITION_FAILED - inequivalent arg 'durable' for queue '" + q + "' in vhost '/': received 'true' but current is 'false'"},
			{"queue redeclared without its argument", func(ch *amqp.Channel) error {
				_, err := ch.QueueDeclare(ttl, false, false, false, false, nil)
				return err
			}, 406, "PRECONDITION_FAILED - inequivalent arg 'x-message-ttl' for queue '" + ttl + "' in vhost '/': received none but current is the value '2000' of type 'signedint'"},
			{"queue redeclared with another argument value", func(ch *amqp.Channel) error {
				_, err := ch.QueueDeclare(ttl, false, false, false, false, amqp.Table{"x-message-ttl": int64(3000)})
				return err
			}, 406, "PRECONDITION_FAILED - inequivalent arg 'x-message-ttl' for queue '" + ttl + "' in vhost '/': received '3000' but current is '2000'"},
			{"exchange redeclared with another alternate exchange", func(ch *amqp.Channel) error {
				return ch.ExchangeDeclare(withAE, "fanout", false, false, false, false, amqp.Table{"alternate-exchange": "ae2"})
			}, 406, "PRECONDITION_FAILED - inequivalent arg 'alternate-exchange' for exchange '" + withAE + "' in vhost '/': received 'ae2' but current is 'ae1'"},
			{"exchange redeclared without its alternate exchange", func(ch *amqp.Channel) error {
				return ch.ExchangeDeclare(withAE, "fanout", false, false, false, false, nil)
			}, 406, "PRECONDITION_FAILED - inequivalent arg 'alternate-exchange' for exchange '" + withAE + "' in vhost '/': received none but current is the value 'ae1' of type 'longstr'"},
			{"bind to a missing exchange", func(ch *amqp.Channel) error {
				return ch.QueueBind(q, "k", "missing."+x, false, nil)
			}, 404, "NOT_FOUND - no exchange 'missing." + x + "' in vhost '/'"},
			{"ack of an unknown delivery tag", func(ch *amqp.Channel) error {
				if err := ch.Ack(7, false); err != nil {
					return err
				}
				_, err := ch.QueueDeclarePassive(q, false, false, false, false, nil) // the close comes first
				return err
			}, 406, "PRECONDITION_FAILED - unknown delivery tag 7"},
			{"declare with a reserved name", func(ch *amqp.Channel) error {
				_, err := ch.QueueDeclare("amq.mine", false, false, false, false, nil)
				return err
			}, 403, "ACCESS_REFUSED - queue name 'amq.mine' contains reserved prefix 'amq.*'"},
			{"get from a missing queue", func(ch *amqp.Channel) error {
				_, _, err := ch.Get("missing."+q, true)
				return err
			}, 404, "NOT_FOUND - no queue 'missing." + q + "' in vhost '/'"},
			{"consume from a missing queue", func(ch *amqp.Channel) error {
				_, err := ch.Consume("missing."+q, "", true, false, false, false, nil)
				return err
			}, 404, "NOT_FOUND - no queue 'missing." + q + "' in vhost '/'"},
			{"delete a queue that is not empty with if-empty", func(ch *amqp.Channel) error {
				_, err := ch.QueueDelete(full, false, true, false)
				return err
			}, 406, "PRECONDITION_FAILED - queue '" + full + "' in vhost '/' not empty"},
			{"delete a queue in use with if-unused", func(ch *amqp.Channel) error {
				_, err := ch.QueueDelete(used, true, false, false)
				return err
			}, 406, "PRECONDITION_FAILED - queue '" + used + "' in vhost '/' in use"},
			{"delete an exchange in use with if-unused", func(ch *amqp.Channel) error {
				return ch.ExchangeDelete(x, true, false)
			}, 406, "PRECONDITION_FAILED - exchange '" + x + "' in vhost '/' in use"},
			{"publish to an internal exchange", func(ch *amqp.Channel) error {
				return thenSync(ch, ch.PublishWithContext(ctxT(t), ix, "", false, false, amqp.Publishing{Body: []byte("x")}))
			}, 403, "ACCESS_REFUSED - cannot publish to internal exchange '" + ix + "' in vhost '/'"},
			{"delete the default exchange", func(ch *amqp.Channel) error {
				return ch.ExchangeDelete("", false, false)
			}, 403, "ACCESS_REFUSED - operation not permitted on the default exchange"},
			{"bind a queue to the default exchange", func(ch *amqp.Channel) error {
				return ch.QueueBind(q, "k", "", false, nil)
			}, 403, "ACCESS_REFUSED - operation not permitted on the default exchange"},
			{"exclusive consume on a queue with a consumer", func(ch *amqp.Channel) error {
				_, err := ch.Consume(used, "", true, true, false, false, nil)
				return err
			}, 403, "ACCESS_REFUSED - queue '" + used + "' in vhost '/' in exclusive use"},
			{"consume on a queue with an exclusive consumer", func(ch *amqp.Channel) error {
				_, err := ch.Consume(lockedOut, "", true, false, false, false, nil)
				return err
			}, 403, "ACCESS_REFUSED - queue '" + lockedOut + "' in vhost '/' in exclusive use"},
			{"a negative x-max-length", func(ch *amqp.Channel) error {
				_, err := ch.QueueDeclare(aname(t, "neg"), false, true, false, false, amqp.Table{"x-max-length": int32(-1)})
				return err
			}, 406, "PRECONDITION_FAILED - invalid arg 'x-max-length' for queue '" + aname(t, "neg") + "' in vhost '/': {value_negative,-1}"},
			{"delete a system exchange", func(ch *amqp.Channel) error {
				return ch.ExchangeDelete("amq.direct", false, false)
			}, 403, "ACCESS_REFUSED - deletion of system exchange 'amq.direct' in vhost '/' not allowed"},
			{"x-expires of 0", invalidArg(aname(t, "bad"), amqp.Table{"x-expires": int32(0)}), 406,
				"PRECONDITION_FAILED - invalid arg 'x-expires' for queue '" + aname(t, "bad") + "' in vhost '/': {value_zero,0}"},
			{"x-message-ttl as a string", invalidArg(aname(t, "bad"), amqp.Table{"x-message-ttl": "60000"}), 406,
				"PRECONDITION_FAILED - invalid arg 'x-message-ttl' for queue '" + aname(t, "bad") + "' in vhost '/': \"expected integer, got longstr\""},
			{"x-max-priority over 255", invalidArg(aname(t, "bad"), amqp.Table{"x-max-priority": int32(300)}), 406,
				"PRECONDITION_FAILED - invalid arg 'x-max-priority' for queue '" + aname(t, "bad") + "' in vhost '/': {max_value_exceeded,300}"},
			{"an unknown x-overflow", invalidArg(aname(t, "bad"), amqp.Table{"x-overflow": "bogus"}), 406,
				"PRECONDITION_FAILED - invalid arg 'x-overflow' for queue '" + aname(t, "bad") + "' in vhost '/': invalid_overflow"},
			{"a dead-letter routing key with no exchange", invalidArg(aname(t, "bad"), amqp.Table{"x-dead-letter-routing-key": "k"}), 406,
				"PRECONDITION_FAILED - invalid arg 'x-dead-letter-routing-key' for queue '" + aname(t, "bad") + "' in vhost '/': routing_key_but_no_dlx_defined"},
			{"x-single-active-consumer as a string", invalidArg(aname(t, "bad"), amqp.Table{"x-single-active-consumer": "yes"}), 406,
				"PRECONDITION_FAILED - invalid arg 'x-single-active-consumer' for queue '" + aname(t, "bad") + "' in vhost '/': {unacceptable_type,longstr}"},
			{"a user-id that is not the connection's user", func(ch *amqp.Channel) error {
				return thenSync(ch, ch.PublishWithContext(ctxT(t), "", q, false, false, amqp.Publishing{UserId: "mallory"}))
			}, 406, "PRECONDITION_FAILED - user_id property set to 'mallory' but authenticated user was 'guest'"},
			{"nack of an unknown delivery tag", func(ch *amqp.Channel) error {
				return thenSync(ch, ch.Nack(9, false, true))
			}, 406, "PRECONDITION_FAILED - unknown delivery tag 9"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				ch, err := conn.Channel()
				require.NoError(t, err)
				notify := ch.NotifyClose(make(chan *amqp.Error, 1))
				ae := serverClose(t, c.do(ch), notify)
				assert.Equal(t, c.code, ae.Code)
				assert.Equal(t, c.text, ae.Reason)
				assert.False(t, conn.IsClosed(), "a channel error leaves the connection open")
				_, err = setup.QueueDeclarePassive(q, false, false, false, false, nil)
				require.NoError(t, err, "another channel goes on")
			})
		}
	})
}

// invalidArg declares queue name with args, for the cases that expect them refused.
func invalidArg(name string, args amqp.Table) func(*amqp.Channel) error {
	return func(ch *amqp.Channel) error {
		_, err := ch.QueueDeclare(name, false, true, false, false, args)
		return err
	}
}

// A publish to a missing exchange closes the channel asynchronously with 404; the exclusive
// queue of the connection survives it, with its messages.
func TestAMQP091_ChannelErrorKeepsTheConnectionsExclusiveQueue(t *testing.T) {
	eachAMQP(t, func(t *testing.T, tg amqpTarget) {
		ctx := ctxT(t)
		conn, ch := tg.channel(t)
		q, err := ch.QueueDeclare("", false, false, true, false, nil)
		require.NoError(t, err)
		require.NoError(t, ch.PublishWithContext(ctx, "", q.Name, false, false, amqp.Publishing{Body: []byte("kept")}))
		notify := ch.NotifyClose(make(chan *amqp.Error, 1))
		require.NoError(t, ch.PublishWithContext(ctx, aname(t, "missing"), "k", false, false, amqp.Publishing{Body: []byte("x")}))
		ae := closed(t, ctx, notify)
		assert.Equal(t, 404, ae.Code)
		assert.Equal(t, "NOT_FOUND - no exchange '"+aname(t, "missing")+"' in vhost '/'", ae.Reason)

		ch2, err := conn.Channel()
		require.NoError(t, err)
		d, ok, err := ch2.Get(q.Name, true)
		require.NoError(t, err)
		require.True(t, ok, "the exclusive queue and its message outlive the channel")
		assert.Equal(t, "kept", string(d.Body))
	})
}

// Connection errors close the whole connection, whether the router or the door finds them.
func TestAMQP091_ConnectionErrorsCloseTheConnection(t *testing.T) {
	eachAMQP(t, func(t *testing.T, tg amqpTarget) {
		for _, c := range []struct {
			name string
			do   func(ch *amqp.Channel) error
			code int
			text string
		}{
			{"unknown exchange type", func(ch *amqp.Channel) error {
				return ch.ExchangeDeclare(aname(t, "x"), "no-such-type", false, false, false, false, nil)
			}, 503, "COMMAND_INVALID - unknown exchange type 'no-such-type'"},
			{"channel.flow active=false", func(ch *amqp.Channel) error {
				return ch.Flow(false)
			}, 540, "NOT_IMPLEMENTED - active=false"},
			{"a publish with immediate", func(ch *amqp.Channel) error {
				if err := ch.PublishWithContext(ctxT(t), "", "anywhere", false, true, amqp.Publishing{}); err != nil {
					return err
				}
				_, err := ch.QueueDeclare("", false, true, true, false, nil) // the close comes first
				return err
			}, 540, "NOT_IMPLEMENTED - immediate=true"},
			{"a consumer tag used twice on a channel", func(ch *amqp.Channel) error {
				q, err := ch.QueueDeclare("", false, true, true, false, nil)
				if err != nil {
					return err
				}
				if _, err := ch.Consume(q.Name, "twice", true, false, false, false, nil); err != nil {
					return err
				}
				_, err = ch.Consume(q.Name, "twice", true, false, false, false, nil)
				return err
			}, 530, "NOT_ALLOWED - attempt to reuse consumer tag 'twice'"},
		} {
			t.Run(c.name, func(t *testing.T) {
				conn, ch := tg.channel(t)
				notify := conn.NotifyClose(make(chan *amqp.Error, 1))
				ae := serverClose(t, c.do(ch), notify)
				assert.Equal(t, c.code, ae.Code)
				assert.Equal(t, c.text, ae.Reason)
				assert.True(t, conn.IsClosed())
			})
		}
	})
}

// What RabbitMQ answers with ok though nothing was there: deleting a missing queue or
// exchange, unbinding a missing binding, cancelling an unknown consumer.
func TestAMQP091_IdempotentOperationsOnMissingThings(t *testing.T) {
	eachAMQP(t, func(t *testing.T, tg amqpTarget) {
		_, ch := tg.channel(t)
		n, err := ch.QueueDelete(aname(t, "never"), false, false, false)
		assert.NoError(t, err, "queue.delete of a missing queue")
		assert.Zero(t, n)
		assert.NoError(t, ch.ExchangeDelete(aname(t, "never"), false, false), "exchange.delete of a missing exchange")
		q := aname(t, "q")
		declareQueue(t, tg, ch, q, false, nil)
		assert.NoError(t, ch.QueueUnbind(q, "k", "amq.direct", nil), "queue.unbind of a missing binding")
		assert.NoError(t, ch.Cancel("nobody", false), "basic.cancel of an unknown tag")
		_, err = ch.QueueDeclarePassive(q, false, false, false, false, nil)
		assert.NoError(t, err, "the channel is still open")
	})
}

// Login: a wrong password and an unknown virtual host are refused as RabbitMQ refuses them.
func TestAMQP091_LoginRefusals(t *testing.T) {
	eachAMQP(t, func(t *testing.T, tg amqpTarget) {
		_, err := amqp.DialConfig(replaceUserinfo(tg.url, "guest:wrong"), amqp.Config{Dial: tg.dial})
		require.Error(t, err)
		assert.ErrorIs(t, err, amqp.ErrCredentials)

		_, err = amqp.DialConfig(tg.url+"no-such-vhost", amqp.Config{Dial: tg.dial})
		ae := amqpErr(t, err)
		assert.Equal(t, 530, ae.Code)
		assert.Equal(t, "NOT_ALLOWED - vhost no-such-vhost not found", ae.Reason)
	})
}

func replaceUserinfo(url, userinfo string) string {
	const scheme = "amqp://guest:guest@"
	return "amqp://" + userinfo + "@" + url[len(scheme):]
}
