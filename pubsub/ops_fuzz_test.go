package pubsub_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tribusmq/tribus/pubsub"
)

// opReader turns fuzz bytes into choices; past the end every choice is 0.
type opReader struct{ b []byte }

func (r *opReader) byte() byte {
	if len(r.b) == 0 {
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *opReader) intn(n int) int { return int(r.byte()) % n }

// name picks from a small alphabet, so that subscriptions, patterns and publishes collide.
func (r *opReader) name() string {
	names := []string{"", "a", "b", "ab", "a.b", "a*", "*", "?", "[ab]", "[^a]", "\\*", "a\x00b", "[", "news.*"}
	return names[r.intn(len(names))]
}

func (r *opReader) names() []string {
	out := make([]string, r.intn(4))
	for i := range out {
		out[i] = r.name()
	}
	return out
}

// FuzzHub_Ops drives a hub with random operation sequences and random arguments, on
// synctest's clock so that a call that never returns is a reported deadlock, not a stuck
// fuzzer: no call may panic, hang, or leave the hub's introspection disagreeing with the
// registrations the sequence made. The seeds are in testdata/fuzz/FuzzHub_Ops.
func FuzzHub_Ops(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	f.Add([]byte{0, 0, 3, 1, 1, 2, 5, 1, 0, 9, 9, 13, 2})
	f.Fuzz(func(t *testing.T, data []byte) {
		synctest.Test(t, func(t *testing.T) { runHubOps(t, &opReader{b: data}) })
	})
}

func runHubOps(t *testing.T, r *opReader) {
	h, err := pubsub.New(&pubsub.Options{Limits: pubsub.Limits{MaxBytes: 4096, SoftBytes: 1024, SoftTime: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	var subs []*pubsub.Subscription
	var trace []string
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("after %s: %s", strings.Join(trace, "; "), fmt.Sprintf(format, args...))
	}
	pick := func() *pubsub.Subscription {
		if len(subs) == 0 {
			return nil
		}
		return subs[r.intn(len(subs))]
	}
	for step := 0; step < 64 && len(r.b) > 0; step++ {
		op := r.intn(15)
		trace = append(trace, fmt.Sprint(op))
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(r.intn(3))*time.Second)
		switch op {
		case 0: // a new subscription, with limits that may be invalid
			lim := pubsub.Limits{
				MaxMessages: r.intn(5) - 1, MaxBytes: int64(r.intn(4)-1) * 512,
				SoftBytes: int64(r.intn(3) - 1), SoftTime: time.Duration(r.intn(3)-1) * time.Second,
				Policy: pubsub.Policy(r.intn(4)),
			}
			s, err := h.NewSubscription(&pubsub.SubscriptionOptions{Limits: lim})
			if err == nil {
				subs = append(subs, s)
			} else if !expected(ctx, err) {
				fail("NewSubscription: %v", err)
			}
		case 1, 2, 3, 4, 5, 6:
			s := pick()
			if s == nil {
				break
			}
			ns := r.names()
			calls := []func(...string) ([]pubsub.Reply, error){s.Subscribe, s.PSubscribe, s.SSubscribe,
				s.Unsubscribe, s.PUnsubscribe, s.SUnsubscribe}
			if _, err := calls[op-1](ns...); !expected(ctx, err) {
				fail("subscribe kind %d %q: %v", op-1, ns, err)
			}
		case 7, 8: // publish with a deadline: a Block subscriber may hold it up until then
			payload := make([]byte, r.intn(4)*300)
			publish := h.PublishContext
			if op == 8 {
				publish = h.SPublishContext
			}
			if _, err := publish(ctx, r.name(), payload); !expected(ctx, err) {
				fail("publish: %v", err)
			}
		case 9:
			if s := pick(); s != nil {
				if _, err := s.Next(ctx); !expected(ctx, err) {
					fail("Next: %v", err)
				}
			}
		case 10:
			if s := pick(); s != nil {
				_, _, _ = s.TryNext()
				_ = s.Wait(ctx)
			}
		case 11:
			if s := pick(); s != nil {
				_ = s.Close()
			}
		case 12:
			checkIntrospection(t, h, subs, fail)
		case 13:
			time.Sleep(time.Duration(r.intn(3)) * time.Second) // past the soft limit's time
		case 14:
			if r.intn(8) == 0 {
				_ = h.Close()
			}
		}
		cancel()
	}
	checkIntrospection(t, h, subs, fail)
}

// expected says whether err is one of the hub's documented outcomes for the call.
func expected(ctx context.Context, err error) bool {
	return err == nil || (ctx.Err() != nil && errors.Is(err, ctx.Err())) ||
		errors.Is(err, pubsub.ErrArity) || errors.Is(err, pubsub.ErrClosed) ||
		errors.Is(err, pubsub.ErrSlowSubscriber) || errors.Is(err, pubsub.ErrInvalidOptions)
}

// checkIntrospection compares PUBSUB CHANNELS and NUMPAT with what the open subscriptions
// hold by their own account.
func checkIntrospection(t *testing.T, h *pubsub.Hub, subs []*pubsub.Subscription, fail func(string, ...any)) {
	t.Helper()
	chans, err := h.Channels()
	if errors.Is(err, pubsub.ErrClosed) {
		return
	}
	if err != nil {
		fail("Channels: %v", err)
	}
	total := 0
	for _, s := range subs {
		if s.Err() == nil {
			c, _, _ := s.Counts()
			total += c
		}
	}
	st := h.Stats()
	if total == 0 && len(chans) != 0 {
		fail("no channel subscriptions but Channels = %q", chans)
	}
	if st.Channels != len(chans) || !slices.IsSorted(chans) {
		fail("Stats.Channels %d, Channels() %q", st.Channels, chans)
	}
	n, err := h.NumPat()
	if err != nil || n != st.Patterns {
		fail("NumPat %d (%v), Stats.Patterns %d", n, err, st.Patterns)
	}
}
