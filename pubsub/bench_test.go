package pubsub_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/tribusmq/tribus/pubsub"
)

// unbounded lets a benchmark's publisher run ahead of its readers without anyone being cut off.
var unbounded = &pubsub.Options{Limits: pubsub.Limits{MaxBytes: -1, SoftBytes: -1}}

func BenchmarkPublish_NoSubscriber(b *testing.B) {
	h, _ := pubsub.New(nil)
	defer h.Close()
	payload := make([]byte, 128)
	b.ReportAllocs()
	for b.Loop() {
		h.Publish("nobody", payload)
	}
}

// BenchmarkPublish_ManyChannels publishes round-robin to 1,000 channels with one subscriber
// each, without and with 100 pattern subscriptions that match none of them: the patterns must
// not make an exact-channel publish more than 2× slower.
func BenchmarkPublish_ManyChannels(b *testing.B) {
	for _, patterns := range []int{0, 100} {
		b.Run(fmt.Sprintf("patterns=%d", patterns), func(b *testing.B) {
			h, _ := pubsub.New(unbounded)
			defer h.Close()
			names := make([]string, 1000)
			subs := make([]*pubsub.Subscription, len(names))
			for i := range names {
				names[i] = fmt.Sprintf("orders.%d", i)
				subs[i], _ = h.Subscribe(names[i])
			}
			for i := range patterns {
				if _, err := h.PSubscribe(fmt.Sprintf("audit.%d.*", i)); err != nil {
					b.Fatal(err)
				}
			}
			payload := make([]byte, 128)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				h.Publish(names[i], payload)
				if i++; i == len(names) {
					i = 0
					b.StopTimer()
					for _, s := range subs { // keep the buffers small
						for s.Buffered() > 0 {
							s.Next(context.Background())
						}
					}
					b.StartTimer()
				}
			}
		})
	}
}

func BenchmarkSubscribeUnsubscribe(b *testing.B) {
	h, _ := pubsub.New(nil)
	defer h.Close()
	for i := range 1000 {
		h.Subscribe(fmt.Sprintf("other.%d", i))
	}
	s, _ := h.NewSubscription(nil)
	b.ReportAllocs()
	for b.Loop() {
		s.Subscribe("orders")
		s.Unsubscribe("orders")
	}
}

// BenchmarkPublish_Observer publishes to a channel with one subscriber holding it and a
// matching pattern, without an observer (which must cost nothing: no allocation, no event)
// and with one that discards every event.
func BenchmarkPublish_Observer(b *testing.B) {
	for _, o := range []struct {
		name string
		obs  func(pubsub.Event)
	}{{"observer=nil", nil}, {"observer=set", func(pubsub.Event) {}}} {
		b.Run(o.name, func(b *testing.B) {
			h, _ := pubsub.New(&pubsub.Options{Limits: unbounded.Limits, Observer: o.obs})
			defer h.Close()
			s, _ := h.Subscribe("orders")
			if _, err := s.PSubscribe("ord*"); err != nil {
				b.Fatal(err)
			}
			payload := make([]byte, 128)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				h.Publish("orders", payload)
				if i++; i == 1000 {
					i = 0
					b.StopTimer()
					for s.Buffered() > 0 {
						s.Next(context.Background())
					}
					b.StartTimer()
				}
			}
		})
	}
}
