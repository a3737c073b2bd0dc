package interop

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus"
)

// amqp091-go against RabbitMQ and tribus, side by side in one run: every benchmark has a
// sub-benchmark per server, so `-count=N` interleaves them. 128-byte bodies. Commands and
// figures are in docs/performance.md.

// amqpBenchTargets are the servers a benchmark compares, RabbitMQ first when installed. A
// durable benchmark gets a tribus of its own on a data directory, as RabbitMQ's is.
func amqpBenchTargets(b *testing.B, durable bool) []amqpTarget {
	startAMQP()
	require.NoError(b, amqpStartErr)
	var ts []amqpTarget
	if haveRabbit {
		ts = append(ts, amqpRabbit)
	}
	if !durable {
		return append(ts, amqpTCP, amqpInProc)
	}
	br, err := tribus.Open(b.TempDir(), nil)
	require.NoError(b, err)
	b.Cleanup(func() { br.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(b, err)
	go br.AMQP().Serve(ln)
	return append(ts,
		amqpTarget{name: "tribus-tcp", url: "amqp://guest:guest@" + ln.Addr().String() + "/"},
		amqpTarget{name: "tribus-inproc", url: "amqp://guest:guest@tribus/", dial: br.AMQP().Dial})
}

// benchQueue declares a fresh queue for one run of a benchmark, deleted after it.
func benchQueue(b *testing.B, tg amqpTarget, ch *amqp.Channel, durable bool) string {
	name := fmt.Sprintf("bench.%s.%d", b.Name(), time.Now().UnixNano())
	_, err := ch.QueueDeclare(name, durable, false, false, false, nil)
	require.NoError(b, err)
	b.Cleanup(func() { cleanupAMQP(tg, []string{name}, nil) })
	return name
}

// waitMessages polls the queue's ready count until it reaches n: how a transient publisher
// with no confirms learns its messages were enqueued.
func waitMessages(b *testing.B, ch *amqp.Channel, q string, n int) {
	for {
		info, err := ch.QueueDeclarePassive(q, false, false, false, false, nil)
		require.NoError(b, err)
		if info.Messages >= n {
			return
		}
		time.Sleep(100 * time.Microsecond) // another process's queue: nothing to wait on
	}
}

func rate(b *testing.B, n int, start time.Time) {
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "msgs/s")
}

// Transient publishes with no confirms, timed until the queue holds them all. The sink row is
// amqp091-go's own ceiling: a server that only counts the publishes (amqp_sink_test.go).
func BenchmarkAMQP_PublishTransient(b *testing.B) {
	for _, tg := range append([]amqpTarget{startSink(b)}, amqpBenchTargets(b, false)...) {
		b.Run(tg.name, func(b *testing.B) {
			_, ch := tg.channel(b)
			q := benchQueue(b, tg, ch, false)
			_, probe := tg.channel(b)
			ctx := context.Background()
			msg := amqp.Publishing{Body: payload128}
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				if err := ch.PublishWithContext(ctx, "", q, false, false, msg); err != nil {
					b.Fatal(err)
				}
			}
			waitMessages(b, probe, q, b.N)
			rate(b, b.N, start)
		})
	}
}

// Consuming a full queue with prefetch 100 and a manual ack per message; the sink row is the
// client's ceiling.
func BenchmarkAMQP_ConsumeManualAck(b *testing.B) {
	for _, tg := range append([]amqpTarget{startSink(b)}, amqpBenchTargets(b, false)...) {
		b.Run(tg.name, func(b *testing.B) {
			_, ch := tg.channel(b)
			q := benchQueue(b, tg, ch, false)
			ctx := context.Background()
			for range b.N {
				require.NoError(b, ch.PublishWithContext(ctx, "", q, false, false, amqp.Publishing{Body: payload128}))
			}
			waitMessages(b, ch, q, b.N)
			require.NoError(b, ch.Qos(100, 0, false))
			b.ResetTimer()
			start := time.Now()
			msgs, err := ch.Consume(q, "", false, false, false, false, nil)
			require.NoError(b, err)
			for range b.N {
				d := <-msgs
				if err := d.Ack(false); err != nil {
					b.Fatal(err)
				}
			}
			rate(b, b.N, start)
		})
	}
}

// Persistent publishes to a durable queue in confirm mode, at most 1,000 unconfirmed; the sink
// row, which stores nothing and confirms at once, is the client's ceiling.
func BenchmarkAMQP_PersistentConfirmWindow1000(b *testing.B) {
	for _, tg := range append([]amqpTarget{startSink(b)}, amqpBenchTargets(b, true)...) {
		b.Run(tg.name, func(b *testing.B) {
			_, ch := tg.channel(b)
			q := benchQueue(b, tg, ch, true)
			require.NoError(b, ch.Confirm(false))
			confirms := ch.NotifyPublish(make(chan amqp.Confirmation, 1000))
			ctx := context.Background()
			msg := amqp.Publishing{DeliveryMode: amqp.Persistent, Body: payload128}
			b.ResetTimer()
			start := time.Now()
			outstanding := 0
			for range b.N {
				if outstanding == 1000 {
					if !(<-confirms).Ack {
						b.Fatal("nack")
					}
					outstanding--
				}
				if err := ch.PublishWithContext(ctx, "", q, false, false, msg); err != nil {
					b.Fatal(err)
				}
				outstanding++
			}
			for ; outstanding > 0; outstanding-- {
				if !(<-confirms).Ack {
					b.Fatal("nack")
				}
			}
			rate(b, b.N, start)
		})
	}
}

// One persistent publish in flight: ns/op is the confirm latency. The fsync sub-benchmark
// is the disk's: a 128-byte append and fdatasync, in the same run.
func BenchmarkAMQP_PersistentConfirmOneInFlight(b *testing.B) {
	b.Run("fsync", func(b *testing.B) {
		f, err := os.Create(filepath.Join(b.TempDir(), "sync"))
		require.NoError(b, err)
		defer f.Close()
		for range b.N {
			if _, err := f.Write(payload128); err != nil {
				b.Fatal(err)
			}
			if err := f.Sync(); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, tg := range amqpBenchTargets(b, true) {
		b.Run(tg.name, func(b *testing.B) {
			_, ch := tg.channel(b)
			q := benchQueue(b, tg, ch, true)
			require.NoError(b, ch.Confirm(false))
			confirms := ch.NotifyPublish(make(chan amqp.Confirmation, 1))
			ctx := context.Background()
			msg := amqp.Publishing{DeliveryMode: amqp.Persistent, Body: payload128}
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				if err := ch.PublishWithContext(ctx, "", q, false, false, msg); err != nil {
					b.Fatal(err)
				}
				if !(<-confirms).Ack {
					b.Fatal("nack")
				}
			}
			rate(b, b.N, start)
		})
	}
}

// What a unit test of AMQP code costs: open an in-memory tribus, dial it in process with
// amqp091-go, declare a queue, publish, consume, ack, close everything.
func BenchmarkAMQP_UnitTestCost(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	for range b.N {
		br, err := tribus.Open("", nil)
		if err != nil {
			b.Fatal(err)
		}
		conn, err := amqp.DialConfig("amqp://guest:guest@tribus/", amqp.Config{Dial: br.AMQP().Dial})
		if err != nil {
			b.Fatal(err)
		}
		ch, err := conn.Channel()
		if err != nil {
			b.Fatal(err)
		}
		q, err := ch.QueueDeclare("orders", false, false, false, false, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := ch.PublishWithContext(ctx, "", q.Name, false, false, amqp.Publishing{Body: payload128}); err != nil {
			b.Fatal(err)
		}
		msgs, err := ch.Consume(q.Name, "", false, false, false, false, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := (<-msgs).Ack(false); err != nil {
			b.Fatal(err)
		}
		conn.Close()
		br.Close()
	}
}
