package tribus_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tribusmq/tribus"
	"github.com/tribusmq/tribus/exchange"
	"github.com/tribusmq/tribus/pubsub"
)

// BenchmarkPubSub_1to1 is one publisher and one subscriber with 128-byte payloads; msgs/s is
// end to end, from the first publish until the subscriber has read the last message.
func BenchmarkPubSub_1to1(b *testing.B) { benchFanout(b, 1) }

// BenchmarkPubSub_1to4 is one publisher and four subscribers; msgs/s counts deliveries.
func BenchmarkPubSub_1to4(b *testing.B) { benchFanout(b, 4) }

func benchFanout(b *testing.B, readers int) {
	hub, err := pubsub.New(&pubsub.Options{Limits: pubsub.Limits{MaxBytes: -1, SoftBytes: -1}})
	if err != nil {
		b.Fatal(err)
	}
	defer hub.Close()
	var wg sync.WaitGroup
	counts := make([]int, readers)
	for r := range readers {
		s, err := hub.Subscribe("bench")
		if err != nil {
			b.Fatal(err)
		}
		wg.Go(func() {
			got := 0 // a local count: neighbouring counts[r] would share a cache line
			for {
				m, err := s.Next(context.Background())
				if err != nil || m.Payload == nil {
					counts[r] = got
					return
				}
				got++
			}
		})
	}
	payload := make([]byte, 128)
	b.ReportAllocs()
	start := time.Now()
	n := 0
	for b.Loop() {
		hub.Publish("bench", payload)
		n++
	}
	hub.Publish("bench", nil) // tells the readers to stop
	wg.Wait()
	elapsed := time.Since(start)
	for _, c := range counts {
		if c != n {
			b.Fatalf("a reader got %d of %d", c, n)
		}
	}
	b.ReportMetric(float64(n*readers)/elapsed.Seconds(), "msgs/s")
}

// BenchmarkBroker_Startup is what one unit test pays: Open, subscribe, publish, receive, Close.
func BenchmarkBroker_Startup(b *testing.B) {
	b.Run("memory", func(b *testing.B) { benchStartup(b, func() string { return "" }) })
	b.Run("durable", func(b *testing.B) {
		root := b.TempDir()
		i := 0
		benchStartup(b, func() string {
			i++
			return filepath.Join(root, itoa(i))
		})
	})
	// The floor a durable broker stands on, measured in the same run: a new bbolt file in a
	// new directory, one Update, Close.
	b.Run("bbolt-baseline", func(b *testing.B) {
		root := b.TempDir()
		i := 0
		for b.Loop() {
			i++
			dir := filepath.Join(root, itoa(i))
			if err := os.Mkdir(dir, 0o700); err != nil {
				b.Fatal(err)
			}
			db, err := bolt.Open(filepath.Join(dir, "x.db"), 0o600, nil)
			if err != nil {
				b.Fatal(err)
			}
			if err := db.Update(func(tx *bolt.Tx) error {
				_, err := tx.CreateBucketIfNotExists([]byte("meta"))
				return err
			}); err != nil {
				b.Fatal(err)
			}
			db.Close()
		}
	})
}

func benchStartup(b *testing.B, dir func() string) {
	ctx := context.Background()
	payload := []byte("hello")
	b.ReportAllocs()
	for b.Loop() {
		br, err := tribus.Open(dir(), nil)
		if err != nil {
			b.Fatal(err)
		}
		s, err := br.Hub().Subscribe("c")
		if err != nil {
			b.Fatal(err)
		}
		br.Hub().Publish("c", payload)
		if _, err := s.Next(ctx); err != nil {
			b.Fatal(err)
		}
		if err := br.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

func itoa(i int) string {
	var buf [20]byte
	n := len(buf)
	for {
		n--
		buf[n] = byte('0' + i%10)
		if i /= 10; i == 0 {
			return string(buf[n:])
		}
	}
}

// BenchmarkExchange_TopicAck is publish → topic exchange (100 bindings) → one queue → a
// consumer with prefetch 100 and manual acks, in memory; msgs/s is end to end.
func BenchmarkExchange_TopicAck(b *testing.B) {
	r, err := exchange.New(nil)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	pub, _ := r.NewSession()
	sub, _ := r.NewSession()
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	must(pub.ExchangeDeclare("orders", exchange.Topic, exchange.ExchangeOptions{}))
	_, err = pub.QueueDeclare("order_notifications", exchange.QueueOptions{})
	must(err)
	_, err = pub.QueueDeclare("elsewhere", exchange.QueueOptions{})
	must(err)
	must(pub.QueueBind("order_notifications", "orders", "order.*", nil))
	for i := range 99 {
		must(pub.QueueBind("elsewhere", "orders", "audit.region"+itoa(i)+".#", nil))
	}
	c, err := sub.Consume("order_notifications", exchange.ConsumeOptions{Prefetch: 100})
	must(err)
	done := make(chan int)
	go func() {
		n := 0
		for {
			d, err := c.Next(context.Background())
			if err != nil {
				done <- n
				return
			}
			if d.Body == nil {
				_ = d.Ack()
				done <- n
				return
			}
			if err := d.Ack(); err != nil {
				b.Error(err)
			}
			n++
		}
	}()
	msg := exchange.Publishing{ContentType: "application/json", Body: make([]byte, 128)}
	ctx := context.Background()
	b.ReportAllocs()
	start := time.Now()
	n := 0
	for b.Loop() {
		if _, err := pub.Publish(ctx, "orders", "order.created", false, msg); err != nil {
			b.Fatal(err)
		}
		n++
	}
	_, err = pub.Publish(ctx, "orders", "order.created", false, exchange.Publishing{}) // the end marker
	must(err)
	got := <-done
	elapsed := time.Since(start)
	if got != n {
		b.Fatalf("consumed %d of %d", got, n)
	}
	b.ReportMetric(float64(n)/elapsed.Seconds(), "msgs/s")
}
