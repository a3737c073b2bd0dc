package exchange_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tribusmq/tribus/exchange"
)

// BenchmarkRoute_Topic10k publishes to a topic exchange with 10,000 bindings: "miss" matches
// none (routing alone), "hit" matches one binding of a queue that keeps only its newest message.
// The trie walks the key's words, so the cost does not grow with the number of bindings.
func BenchmarkRoute_Topic10k(b *testing.B) {
	r, _ := exchange.New(nil)
	defer r.Close()
	s, _ := r.NewSession()
	_ = s.ExchangeDeclare("events", exchange.Topic, exchange.ExchangeOptions{})
	_, _ = s.QueueDeclare("sink", exchange.QueueOptions{MaxLength: 1})
	for i := range 10_000 {
		var key string
		switch i % 4 {
		case 0:
			key = fmt.Sprintf("orders.region%d.created", i)
		case 1:
			key = fmt.Sprintf("orders.region%d.*", i)
		case 2:
			key = fmt.Sprintf("audit.region%d.#", i)
		default:
			key = fmt.Sprintf("*.region%d.error", i)
		}
		if err := s.QueueBind("sink", "events", key, nil); err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	msg := exchange.Publishing{Body: make([]byte, 128)}
	for _, tc := range []struct{ name, key string }{
		{"miss", "payments.eu.refunded"},
		{"hit", "orders.region4000.created"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Publish(ctx, "events", tc.key, false, msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRoute_Fanout10 publishes to a fanout exchange bound to 10 queues, each drained by an
// auto-ack consumer; msgs/s counts deliveries.
func BenchmarkRoute_Fanout10(b *testing.B) {
	r, _ := exchange.New(nil)
	defer r.Close()
	s, _ := r.NewSession()
	_ = s.ExchangeDeclare("fan", exchange.Fanout, exchange.ExchangeOptions{})
	consumers := make([]*exchange.Consumer, 10)
	for i := range consumers {
		name := fmt.Sprintf("q%d", i)
		_, _ = s.QueueDeclare(name, exchange.QueueOptions{})
		_ = s.QueueBind(name, "fan", "", nil)
		consumers[i], _ = s.Consume(name, exchange.ConsumeOptions{AutoAck: true})
	}
	benchDeliveries(b, s, consumers, "fan", "", exchange.Publishing{Body: make([]byte, 128)})
}

// BenchmarkRoute_Headers100 publishes to a headers exchange with 100 bindings, one of which
// matches; msgs/s counts deliveries.
func BenchmarkRoute_Headers100(b *testing.B) {
	r, _ := exchange.New(nil)
	defer r.Close()
	s, _ := r.NewSession()
	_ = s.ExchangeDeclare("hdr", exchange.Headers, exchange.ExchangeOptions{})
	_, _ = s.QueueDeclare("eu-orders", exchange.QueueOptions{})
	_, _ = s.QueueDeclare("other", exchange.QueueOptions{})
	for i := range 99 {
		_ = s.QueueBind("other", "hdr", "", exchange.Table{"x-match": "all", "region": fmt.Sprintf("r%d", i), "type": "order"})
	}
	_ = s.QueueBind("eu-orders", "hdr", "", exchange.Table{"x-match": "all", "region": "eu", "type": "order"})
	c, _ := s.Consume("eu-orders", exchange.ConsumeOptions{AutoAck: true})
	msg := exchange.Publishing{Headers: exchange.Table{"region": "eu", "type": "order", "id": int32(7)}, Body: make([]byte, 128)}
	benchDeliveries(b, s, []*exchange.Consumer{c}, "hdr", "", msg)
}

func benchDeliveries(b *testing.B, s *exchange.Session, consumers []*exchange.Consumer, ex, key string, msg exchange.Publishing) {
	ctx := context.Background()
	done := make(chan int, len(consumers))
	for _, c := range consumers {
		go func() {
			n := 0
			for {
				d, err := c.Next(ctx)
				if err != nil || d.Body == nil {
					done <- n
					return
				}
				n++
			}
		}()
	}
	b.ReportAllocs()
	start := time.Now()
	n := 0
	for b.Loop() {
		if _, err := s.Publish(ctx, ex, key, false, msg); err != nil {
			b.Fatal(err)
		}
		n++
	}
	end := msg
	end.Body = nil
	if _, err := s.Publish(ctx, ex, key, false, end); err != nil {
		b.Fatal(err)
	}
	total := 0
	for range consumers {
		total += <-done
	}
	if total != n*len(consumers) {
		b.Fatalf("delivered %d of %d", total, n*len(consumers))
	}
	b.ReportMetric(float64(total)/time.Since(start).Seconds(), "msgs/s")
}
