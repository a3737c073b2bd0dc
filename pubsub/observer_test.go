package pubsub_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/pubsub"
)

// recorder is an observer that keeps every event.
type recorder struct {
	mu  sync.Mutex
	evs []pubsub.Event
}

func (r *recorder) observe(e pubsub.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evs = append(r.evs, e)
}

// take returns the events so far, with their times checked and cleared, and forgets them.
func (r *recorder) take(t *testing.T) []pubsub.Event {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.evs
	r.evs = nil
	for i := range out {
		assert.False(t, out[i].Time.IsZero(), "event %d (%v) has no time", i, out[i].Kind)
		out[i].Time = time.Time{}
	}
	return out
}

func observedHub(t *testing.T, lim pubsub.Limits) (*pubsub.Hub, *recorder) {
	t.Helper()
	r := &recorder{}
	return newHub(t, &pubsub.Options{Limits: lim, Observer: r.observe}), r
}

func TestObserver_SubscriptionIDsAreUniqueInCreationOrder(t *testing.T) {
	h, r := observedHub(t, pubsub.Limits{})
	a, b := sub(t, h), sub(t, h)
	c := must(h.Subscribe("x"))
	assert.Equal(t, []uint64{1, 2, 3}, []uint64{a.ID(), b.ID(), c.ID()})
	assert.Equal(t, []pubsub.Event{
		{Kind: pubsub.EventOpened, Subscription: 1},
		{Kind: pubsub.EventOpened, Subscription: 2},
		{Kind: pubsub.EventOpened, Subscription: 3},
		{Kind: pubsub.EventSubscribed, Subscription: 3, Channel: "x", Count: 1},
	}, r.take(t))
	var none *pubsub.Subscription
	assert.Zero(t, none.ID())
}

// Only arguments that change what the subscription holds give events, each with the count
// its acknowledgement carries (R6, R7, R8, R21).
func TestObserver_SubscribeAndUnsubscribeReportChanges(t *testing.T) {
	h, r := observedHub(t, pubsub.Limits{})
	s := sub(t, h)
	r.take(t)
	must(s.Subscribe("a", "b", "a"))
	must(s.PSubscribe("p*"))
	must(s.SSubscribe("s1"))
	must(s.Unsubscribe("a", "never"))
	must(s.PUnsubscribe())
	must(s.SUnsubscribe())
	must(s.Unsubscribe()) // none left but b
	must(s.Unsubscribe()) // nothing held: the nil reply, no event
	id := s.ID()
	assert.Equal(t, []pubsub.Event{
		{Kind: pubsub.EventSubscribed, Subscription: id, Channel: "a", Count: 1},
		{Kind: pubsub.EventSubscribed, Subscription: id, Channel: "b", Count: 2},
		{Kind: pubsub.EventSubscribed, Subscription: id, Pattern: "p*", Count: 3},
		{Kind: pubsub.EventSubscribed, Subscription: id, Channel: "s1", Shard: true, Count: 1},
		{Kind: pubsub.EventUnsubscribed, Subscription: id, Channel: "a", Count: 2},
		{Kind: pubsub.EventUnsubscribed, Subscription: id, Pattern: "p*", Count: 1},
		{Kind: pubsub.EventUnsubscribed, Subscription: id, Channel: "s1", Shard: true, Count: 0},
		{Kind: pubsub.EventUnsubscribed, Subscription: id, Channel: "b", Count: 0},
	}, r.take(t))
}

// A publish reports one EventDelivered per receiving subscription and pattern, then the count
// Publish returns (R1–R3, R20).
func TestObserver_PublishReportsEachDeliveryThenTheCount(t *testing.T) {
	h, r := observedHub(t, pubsub.Limits{})
	both := must(h.Subscribe("orders"))
	must(both.PSubscribe("ord*"))
	plain := must(h.Subscribe("orders"))
	shard := must(h.SSubscribe("orders"))
	r.take(t)

	assert.Equal(t, 3, h.Publish("orders", []byte("m")))
	assert.Equal(t, 0, h.Publish("nobody", []byte("m")))
	assert.Equal(t, 1, h.SPublish("orders", []byte("m")))
	assert.Equal(t, []pubsub.Event{
		{Kind: pubsub.EventDelivered, Subscription: both.ID(), Channel: "orders"},
		{Kind: pubsub.EventDelivered, Subscription: plain.ID(), Channel: "orders"},
		{Kind: pubsub.EventDelivered, Subscription: both.ID(), Channel: "orders", Pattern: "ord*"},
		{Kind: pubsub.EventPublished, Channel: "orders", Receivers: 3},
		{Kind: pubsub.EventPublished, Channel: "nobody"},
		{Kind: pubsub.EventDelivered, Subscription: shard.ID(), Channel: "orders", Shard: true},
		{Kind: pubsub.EventPublished, Channel: "orders", Shard: true, Receivers: 1},
	}, r.take(t))
}

func TestObserver_DropOldestReportsEvictions(t *testing.T) {
	h, r := observedHub(t, pubsub.Limits{MaxMessages: 2, Policy: pubsub.DropOldest})
	s := must(h.Subscribe("ch"))
	h.Publish("ch", []byte("1"))
	h.Publish("ch", []byte("2"))
	r.take(t)
	h.Publish("ch", []byte("3"))
	assert.Equal(t, []pubsub.Event{
		{Kind: pubsub.EventDropped, Subscription: s.ID(), Channel: "ch", Count: 1},
		{Kind: pubsub.EventDelivered, Subscription: s.ID(), Channel: "ch"},
		{Kind: pubsub.EventPublished, Channel: "ch", Receivers: 1},
	}, r.take(t))
}

// The Disconnect policy's cut-off is one event with everything lost, the message that went
// over included; Publish still counts that delivery (R24).
func TestObserver_R24_SlowSubscriberCutOffIsReported(t *testing.T) {
	h, r := observedHub(t, pubsub.Limits{MaxMessages: 3})
	slow := must(h.Subscribe("ch"))
	must(slow.PSubscribe("c*"))
	h.Publish("ch", []byte("m")) // two deliveries: the channel's and the pattern's
	r.take(t)
	assert.Equal(t, 2, h.Publish("ch", []byte("m")), "the copy that went over is counted")
	assert.Equal(t, []pubsub.Event{
		{Kind: pubsub.EventDelivered, Subscription: slow.ID(), Channel: "ch"},
		{Kind: pubsub.EventDisconnected, Subscription: slow.ID(), Channel: "ch", Pattern: "c*", Reason: pubsub.ReasonSlow, Count: 4},
		{Kind: pubsub.EventPublished, Channel: "ch", Receivers: 2},
	}, r.take(t))
	assert.Equal(t, 0, h.Publish("ch", []byte("m")))
	slow.Close()
	assert.Equal(t, []pubsub.Event{{Kind: pubsub.EventPublished, Channel: "ch"}}, r.take(t),
		"no EventClosed for a subscription the hub had already ended")
	// Reference: R24
}

func TestObserver_CloseAndHubCloseReportEndings(t *testing.T) {
	h, r := observedHub(t, pubsub.Limits{})
	owner := must(h.Subscribe("a", "b"))
	other := must(h.PSubscribe("*"))
	h.Publish("a", nil)
	r.take(t)
	require.NoError(t, owner.Close())
	require.NoError(t, owner.Close())
	assert.Equal(t, []pubsub.Event{{Kind: pubsub.EventClosed, Subscription: owner.ID(), Count: 1}}, r.take(t),
		"one event for everything it held; the second Close changes nothing")
	require.NoError(t, h.Close())
	assert.Equal(t, []pubsub.Event{{Kind: pubsub.EventDisconnected, Subscription: other.ID(), Reason: pubsub.ReasonHubClosed,
		Count: 1}}, r.take(t))
}

func TestObserver_EventKindNames(t *testing.T) {
	assert.Equal(t, "subscribed", pubsub.EventSubscribed.String())
	assert.Equal(t, "closed", pubsub.EventClosed.String())
	assert.Equal(t, "unknown", pubsub.EventKind(200).String())
	seen := map[string]bool{}
	for k := pubsub.EventKind(1); k <= pubsub.EventClosed; k++ {
		name := k.String()
		assert.False(t, name == "unknown" || seen[name], "kind %d is named %q", k, name)
		seen[name] = true
	}
	assert.Equal(t, "unknown", (pubsub.EventClosed + 1).String(), "the names table ends with the last kind")
}

// waiter is how a test toolkit waits on the observer: every event wakes it, and it re-reads
// the hub's public state until cond holds. Inside a synctest bubble a change not followed by
// an event leaves it blocked for good, which the bubble reports as a deadlock instead of a
// hang.
type waiter struct{ wake chan struct{} }

func newWaiter() *waiter { return &waiter{wake: make(chan struct{}, 1)} }

func (w *waiter) observe(pubsub.Event) {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// until returns a channel closed once cond, read after an event that comes after the call,
// holds. Call it before making the change it waits for.
func (w *waiter) until(cond func() bool) <-chan struct{} {
	select {
	case <-w.wake: // an earlier change's: it must not count for this one
	default:
	}
	done := make(chan struct{})
	go func() {
		for range w.wake {
			if cond() {
				close(done)
				return
			}
		}
	}()
	return done
}

func numSub(h *pubsub.Hub, ch string) int { return must(h.NumSub(ch))[0].Subscribers }

// step makes change once the waiter is parked, so that only the events change emits can
// wake it, and waits for cond to hold after one of them: a missing event always fails.
func (w *waiter) step(change func(), cond func() bool) {
	done := w.until(cond)
	synctest.Wait()
	change()
	<-done
}

// Every change to what NumSub, NumPat and Stats report is followed by an event after which a
// read sees it: concurrent subscribers, a close, an unsubscribe and a slow subscriber's
// cut-off are all seen without polling.
func TestObserver_StateIsVisibleAfterTheEvent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWaiter()
		h := newHub(t, &pubsub.Options{Observer: w.observe, Limits: pubsub.Limits{MaxMessages: 1}})
		subs := make([]*pubsub.Subscription, 4)
		var wg sync.WaitGroup
		subscribed := w.until(func() bool { return numSub(h, "c") == 4 && must(h.NumPat()) == 2 })
		for i := range subs {
			wg.Go(func() {
				subs[i] = must(h.Subscribe("c"))
				must(subs[i].PSubscribe(fmt.Sprintf("p%d*", i%2)))
			})
		}
		<-subscribed // waited for from before the first subscribe, so no event is missed
		wg.Wait()

		// subs[0] reads nothing and is cut off by the second message; the others read theirs.
		done := w.until(func() bool {
			st := h.Stats()
			return st.Disconnects == 1 && st.Published == 2 && numSub(h, "c") == 3
		})
		h.Publish("c", nil)
		for _, s := range subs[1:] {
			_, err := s.Next(t.Context())
			require.NoError(t, err)
		}
		h.Publish("c", nil)
		<-done

		// One change at a time, each seen after its own events.
		w.step(func() { subs[1].Close() }, func() bool { return numSub(h, "c") == 2 && h.Stats().Subscriptions == 2 })
		w.step(func() { must(subs[2].Unsubscribe()) }, func() bool { return numSub(h, "c") == 1 })
		w.step(func() { must(subs[2].PUnsubscribe()) }, func() bool { return must(h.NumPat()) == 1 })
		w.step(func() { subs[3].Close() }, func() bool { return numSub(h, "c") == 0 && must(h.NumPat()) == 0 })
		w.step(func() { must(h.Subscribe("d")) }, func() bool { return h.Stats().Channels == 1 })
		w.step(func() { h.Publish("d", nil) }, func() bool { return h.Stats().Delivered == 9 })
		w.step(func() { subs[2].Close() }, func() bool { return h.Stats().Subscriptions == 1 })
	})
}

// No observer, no cost: a publish to subscribers allocates nothing (the benchmarks report the
// same), and nothing is emitted.
func TestObserver_NilCostsNoAllocations(t *testing.T) {
	h := newHub(t, &pubsub.Options{Limits: pubsub.Limits{MaxBytes: -1, SoftBytes: -1}})
	s := must(h.Subscribe("c"))
	must(s.PSubscribe("c*"))
	payload := []byte("m")
	allocs := testing.AllocsPerRun(100, func() {
		h.Publish("c", payload)
		for s.Buffered() > 0 {
			_, _ = s.Next(context.Background())
		}
	})
	assert.Zero(t, allocs)
}

// SetObserver swaps the observer at runtime: later events reach the new one, and none reach
// an observer that was removed.
func TestObserver_SetObserverTakesEffectForLaterEvents(t *testing.T) {
	h := newHub(t, nil)
	h.Publish("x", []byte("before"))
	r := &recorder{}
	h.SetObserver(r.observe)
	h.Publish("x", []byte("during"))
	assert.Equal(t, []pubsub.Event{{Kind: pubsub.EventPublished, Channel: "x"}}, r.take(t))
	h.SetObserver(nil)
	h.Publish("x", []byte("after"))
	assert.Empty(t, r.take(t))
}
