package tribustest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tribusmq/tribus"
	"github.com/tribusmq/tribus/exchange"
	tlog "github.com/tribusmq/tribus/log"
	"github.com/tribusmq/tribus/pubsub"
	"github.com/tribusmq/tribus/tribustest"
)

// These tests are the manual's worked examples: an order service with a dead-letter queue, a
// two-member consumer group that loses a member, and a notification fan-out with a slow
// subscriber. None sleeps or polls: each waits for states with Broker.Wait and proves
// silence with synctest.

// order is what the order service consumes.
type order struct {
	ID     string `json:"id"`
	Amount int    `json:"amount"`
}

// handleOrders is the code under test: it acks orders it can process and rejects, without
// requeueing, those it cannot parse, so that the queue's dead-letter exchange takes them.
func handleOrders(ctx context.Context, c *exchange.Consumer, processed chan<- order) {
	for d, err := range c.All(ctx) {
		if err != nil {
			return // the consumer was cancelled or the broker closed
		}
		var o order
		if json.Unmarshal(d.Body, &o) != nil || o.ID == "" {
			d.Reject(false)
			continue
		}
		processed <- o
		d.Ack()
	}
}

// declareOrders sets up the topology: orders dead-letter to orders.dlx, which routes to
// orders.dead.
func declareOrders(t *testing.T, s *exchange.Session, ttl time.Duration) {
	t.Helper()
	must(t, s.ExchangeDeclare("orders.dlx", exchange.Fanout, exchange.ExchangeOptions{}))
	_, err := s.QueueDeclare("orders.dead", exchange.QueueOptions{})
	must(t, err)
	must(t, s.QueueBind("orders.dead", "orders.dlx", "", nil))
	_, err = s.QueueDeclare("orders", exchange.QueueOptions{DeadLetterExchange: "orders.dlx", MessageTTL: ttl})
	must(t, err)
}

func TestExample_OrderServiceDeadLettersWhatItCannotParse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := tribustest.New(t)
		s := b.Session()
		declareOrders(t, s, 0)
		c, err := s.Consume("orders", exchange.ConsumeOptions{Prefetch: 10})
		must(t, err)
		processed := make(chan order, 10)
		go handleOrders(t.Context(), c, processed)

		for _, body := range []string{`{"id":"ORD-1","amount":30}`, `not json`, `{"id":"ORD-2","amount":12}`} {
			_, err := s.Publish(t.Context(), "", "orders", false, exchange.Publishing{Body: []byte(body)})
			must(t, err)
		}

		b.Wait(tribustest.QueueAcked("orders", 2), tribustest.QueueReady("orders.dead", 1))
		b.CheckQueue("orders.dead", "not json")
		d, err := s.Get("orders.dead", true)
		must(t, err)
		b.CheckDeadLettered(d, exchange.Death{Queue: "orders", Reason: "rejected", Count: 1, RoutingKeys: []string{"orders"}})
		if got := []order{<-processed, <-processed}; got[0].ID != "ORD-1" || got[1].ID != "ORD-2" {
			t.Errorf("processed %v, want ORD-1 then ORD-2", got)
		}
	})
}

func TestExample_UnconsumedOrderExpiresToTheDeadLetterQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := tribustest.New(t)
		s := b.Session()
		declareOrders(t, s, 30*time.Second)
		start := time.Now()
		_, err := s.Publish(t.Context(), "", "orders", false, exchange.Publishing{Body: []byte(`{"id":"ORD-3"}`)})
		must(t, err)

		b.Wait(tribustest.QueueReady("orders.dead", 1)) // the TTL passes on the bubble's clock
		if waited := time.Since(start); waited != 30*time.Second {
			t.Errorf("expired after %v, want the 30 s TTL", waited)
		}
		d, err := s.Get("orders.dead", true)
		must(t, err)
		b.CheckDeadLettered(d, exchange.Death{Queue: "orders", Reason: "expired", Count: 1})
	})
}

// billing is a member of the "billing" group: it records each payment, then commits. Crash
// stops it as a killed process would stop, with no commit and no LeaveGroup.
func billing(t *testing.T, l *tlog.Log, name string, seen chan<- string) *tlog.GroupConsumer {
	t.Helper()
	c, err := l.NewGroupConsumer(tlog.GroupConsumerOptions{GroupID: "billing", Topics: []string{"payments"},
		ClientID: name, Reset: tlog.ResetEarliest, DisableAutoCommit: true})
	must(t, err)
	go func() {
		for {
			recs, err := c.Poll(context.Background())
			if err != nil {
				return // closed or crashed
			}
			for _, r := range recs {
				seen <- name + ":" + string(r.Value)
			}
			if len(recs) > 0 {
				if err := c.Commit(context.Background()); err != nil && !errors.Is(err, tribus.ErrClosed) {
					t.Errorf("%s: commit: %v", name, err)
				}
			}
		}
	}()
	t.Cleanup(func() { c.Close() })
	return c
}

func TestExample_GroupMemberCrashHandsItsPartitionsOver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := tribustest.New(t)
		l := b.Log()
		must(t, l.CreateTopic("payments", tlog.TopicConfig{Partitions: 2}))
		seen := make(chan string, 100)
		alice := billing(t, l, "alice", seen)
		billing(t, l, "bob", seen)
		b.Wait(tribustest.GroupStable("billing", 2))
		before, err := l.DescribeGroup("billing")
		must(t, err)

		for p := range int32(2) {
			_, err := l.ProduceTo(t.Context(), "payments", p, tlog.Record{Value: fmt.Appendf(nil, "pay-%d", p)})
			must(t, err)
		}
		b.Wait(tribustest.LagZero("billing")) // both processed and committed

		alice.Crash()
		start := time.Now()
		// Alice sends no more heartbeats: after the 45 s session timeout the group drops her
		// and Bob owns both partitions, in the next generation.
		b.Wait(tribustest.GroupStableAt("billing", 1, before.Generation+1))
		if waited := time.Since(start); waited < 45*time.Second {
			t.Errorf("the group rebalanced %v after the crash, before the session timeout", waited)
		}
		for p := range int32(2) {
			_, err := l.ProduceTo(t.Context(), "payments", p, tlog.Record{Value: fmt.Appendf(nil, "after-%d", p)})
			must(t, err)
		}
		b.Wait(tribustest.LagZero("billing"))
		b.CheckCommitted("billing", map[tlog.TopicPartition]int64{{Topic: "payments", Partition: 0}: 2, {Topic: "payments", Partition: 1}: 2})
		got := map[string]bool{}
		for range 4 {
			got[<-seen] = true
		}
		if !got["bob:after-0"] || !got["bob:after-1"] {
			t.Errorf("after the crash Bob should read both partitions; seen %v", got)
		}
	})
}

func TestExample_SlowSubscriberIsCutOffAndTheRestGetEverything(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Each subscriber may hold 10 unread messages; Redis's default is 32 MiB.
		b := tribustest.Open(t, "", &tribus.Options{PubSub: pubsub.Options{Limits: pubsub.Limits{MaxMessages: 10}}})
		hub := b.Hub()
		fast, err := hub.Subscribe("notifications")
		must(t, err)
		slow, err := hub.Subscribe("notifications")
		must(t, err)
		received := make(chan string, 100)
		go func() {
			for m, err := range fast.All(context.Background()) {
				if err != nil {
					return
				}
				received <- string(m.Payload)
			}
		}()
		b.Wait(tribustest.Subscribers("notifications", 2))

		for i := range 20 {
			hub.Publish("notifications", fmt.Appendf(nil, "n-%d", i))
			synctest.Wait() // the fast subscriber has read it: every other goroutine is blocked
		}

		b.Wait(tribustest.Subscribers("notifications", 1)) // the slow one was cut off
		if _, err := slow.Next(t.Context()); !errors.Is(err, pubsub.ErrSlowSubscriber) {
			t.Errorf("the slow subscriber got %v, want ErrSlowSubscriber", err)
		}
		if len(received) != 20 {
			t.Errorf("the fast subscriber got %d messages, want all 20", len(received))
		}
		b.CheckNoMessage(fast)
		fast.Close()
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
