package interop

import (
	"net"
	"testing"
	"testing/synctest"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus"
)

// Tests that need a server of their own: a resource alarm, a restart.

// openAMQP opens a broker in dir ("" for memory) and returns a target that reaches its AMQP
// door over TCP, closed when the test ends unless closed before.
func openAMQP(t *testing.T, dir string, opts *tribus.Options) (amqpTarget, *tribus.Broker) {
	t.Helper()
	b, err := tribus.Open(dir, opts)
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go b.AMQP().Serve(ln)
	return amqpTarget{name: "tribus-tcp", url: "amqp://guest:guest@" + ln.Addr().String() + "/"}, b
}

// A resource alarm blocks publishing connections, and says so with connection.blocked; when
// it clears, connection.unblocked follows.
func TestAMQP091_NotifyBlockedWhileAResourceAlarmHoldsPublishes(t *testing.T) {
	type alarmed struct {
		tg           amqpTarget
		raise, clear func(t *testing.T, ch *amqp.Channel, q string)
	}
	publish := func(t *testing.T, ch *amqp.Channel, q string, size int) {
		require.NoError(t, ch.PublishWithContext(ctxT(t), "", q, false, false, amqp.Publishing{Body: make([]byte, size)}))
	}
	small, _ := openAMQP(t, "", &tribus.Options{MemoryHighWatermark: 64 << 10})
	cases := []alarmed{{small,
		func(t *testing.T, ch *amqp.Channel, q string) { publish(t, ch, q, 40<<10); publish(t, ch, q, 40<<10) },
		func(t *testing.T, ch *amqp.Channel, q string) {
			_, err := ch.QueuePurge(q, false)
			require.NoError(t, err)
		}}}
	if _ = amqpTargets(t); haveRabbit {
		cases = append(cases, alarmed{amqpRabbit,
			func(t *testing.T, ch *amqp.Channel, q string) {
				require.NoError(t, amqpRabbit.ctl("set_vm_memory_high_watermark", "0.000001"))
				publish(t, ch, q, 1)
			},
			func(t *testing.T, ch *amqp.Channel, q string) {
				require.NoError(t, amqpRabbit.ctl("set_vm_memory_high_watermark", "0.4"))
			}})
	}
	for _, c := range cases {
		t.Run(c.tg.name, func(t *testing.T) {
			ctx := ctxT(t)
			conn, ch := c.tg.channel(t)
			q := aname(t, "hog")
			declareQueue(t, c.tg, ch, q, false, nil)
			blocked := conn.NotifyBlocked(make(chan amqp.Blocking, 2))
			_, admin := c.tg.channel(t)
			c.raise(t, ch, q)
			select {
			case b := <-blocked:
				assert.Equal(t, amqp.Blocking{Active: true, Reason: "low on memory"}, b)
			case <-ctx.Done():
				t.Fatal("no connection.blocked")
			}
			c.clear(t, admin, q)
			select {
			case b := <-blocked:
				assert.Equal(t, amqp.Blocking{Active: false}, b)
			case <-ctx.Done():
				t.Fatal("no connection.unblocked")
			}
		})
	}
}

// A durable queue and its persistent messages outlive a restart of the broker with the same
// directory; the client sees its connection closed with 320 and reconnects.
func TestAMQP091_ReconnectAfterRestartKeepsDurableMessages(t *testing.T) {
	ctx := ctxT(t)
	dir := t.TempDir()
	tg, b := openAMQP(t, dir, nil)
	conn, ch := tg.channel(t)
	_, err := ch.QueueDeclare("orders.durable", true, false, false, false, nil)
	require.NoError(t, err)
	require.NoError(t, ch.Confirm(false))
	confirms := ch.NotifyPublish(make(chan amqp.Confirmation, 1))
	require.NoError(t, ch.PublishWithContext(ctx, "", "orders.durable", false, false, amqp.Publishing{
		DeliveryMode: amqp.Persistent, Body: []byte("survives")}))
	require.True(t, (<-confirms).Ack)
	require.NoError(t, ch.PublishWithContext(ctx, "", "orders.durable", false, false, amqp.Publishing{
		DeliveryMode: amqp.Transient, Body: []byte("lost in the restart")}))
	require.True(t, (<-confirms).Ack)
	closed := conn.NotifyClose(make(chan *amqp.Error, 1))
	require.NoError(t, b.Close())
	select {
	case err := <-closed:
		require.NotNil(t, err)
		assert.Equal(t, 320, err.Code)
		assert.Equal(t, "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'", err.Reason)
	case <-ctx.Done():
		t.Fatal("the connection was not closed")
	}

	tg, _ = openAMQP(t, dir, nil)
	_, ch = tg.channel(t)
	d, ok, err := ch.Get("orders.durable", false)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, "survives", string(d.Body))
	require.NoError(t, d.Ack(false))
	_, ok, err = ch.Get("orders.durable", false)
	require.NoError(t, err)
	assert.False(t, ok, "a transient message does not survive a restart")
}

// Heartbeats keep an idle connection open: on the fake clock, ten idle minutes with a
// 10-second heartbeat leave it open and working, each side having heard the other.
func TestAMQP091_HeartbeatsKeepAnIdleConnection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, err := tribus.Open("", nil)
		require.NoError(t, err)
		defer b.Close()
		conn, err := amqp.DialConfig("amqp://guest:guest@tribus/", amqp.Config{Dial: b.AMQP().Dial, Heartbeat: 10 * time.Second})
		require.NoError(t, err)
		defer conn.Close()
		assert.Equal(t, 10*time.Second, conn.Config.Heartbeat, "the lower of the two proposals")
		ch, err := conn.Channel() // amqp091-go watches the server's silence from its next frame on
		require.NoError(t, err)
		time.Sleep(10 * time.Minute) // idle, on the fake clock
		assert.False(t, conn.IsClosed())
		_, err = ch.QueueDeclare("", false, true, true, false, nil)
		require.NoError(t, err)
		require.NoError(t, conn.Close())
	})
}
