package tribustest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/tribusmq/tribus"
)

// A Condition is a state of the broker that a test waits for with [Broker.Wait]: a queue's
// depth, a group's state, a subscriber count. The constructors in this package make them
// ([QueueReady], [GroupStable], [Subscribers]...); [Func] makes one from any check.
type Condition struct {
	desc  string
	check func(*tribus.Broker) (ok bool, seen string, err error)
}

// Func returns a Condition described by desc (what is expected, for the failure message)
// that holds when check reports ok; seen describes what check found instead. check must only
// read the broker's state, quickly, and may be called on any goroutine. A non-nil err ends
// the wait with that error, for a condition that can no longer be met.
func Func(desc string, check func(b *tribus.Broker) (ok bool, seen string, err error)) Condition {
	return Condition{desc: desc, check: check}
}

// String returns what the condition expects.
func (c Condition) String() string { return c.desc }

// WaitError is the error [Broker.WaitContext] returns when a condition was not met before the
// wait ended. errors.Is(err, context.DeadlineExceeded) holds when the wait timed out, and the
// ctx's error when ctx ended first.
type WaitError struct {
	// Condition is what was expected.
	Condition string
	// Seen is what the condition's last check found.
	Seen string
	// Waited is how long the wait lasted, on the clock it ran on (a synctest bubble's fake
	// clock inside one).
	Waited time.Duration
	// Events are the broker's last events, oldest first (see [Broker.Events]).
	Events []string
	// Err is why the wait ended: the ctx's error, context.DeadlineExceeded for the wait's own
	// timeout, or the error a check returned.
	Err error
}

func (e *WaitError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "tribustest: waited %v for %s: saw %s: %v", e.Waited, e.Condition, e.Seen, e.Err)
	if len(e.Events) > 0 {
		b.WriteString("\nlast events, oldest first:")
		for _, ev := range e.Events {
			b.WriteString("\n\t")
			b.WriteString(ev)
		}
	}
	return b.String()
}

// Unwrap returns the reason the wait ended.
func (e *WaitError) Unwrap() error { return e.Err }

// Wait blocks until every condition holds at once, and fails the test (Fatalf, so call it on
// the test's goroutine) with what was expected and what was seen if they do not within
// WaitTimeout (see [DefaultWaitTimeout]), or the test's context ends. It never polls and never sleeps: it checks the
// conditions once, then again after each event of the broker's engines (every change of what
// a condition reads is followed by one), so it returns as soon as they hold. Inside a
// testing/synctest bubble the timeout runs on the bubble's clock, and the broker's timers
// (TTLs, session timeouts) fire while it waits, as they would in real time.
func (b *Broker) Wait(conds ...Condition) {
	b.t.Helper()
	if err := b.WaitContext(b.t.Context(), conds...); err != nil {
		b.t.Fatalf("%v", err)
	}
}

// WaitContext is [Broker.Wait] for any goroutine: it returns nil once every condition holds,
// or a *[WaitError] when ctx ends or WaitTimeout passes first, or a check fails.
func (b *Broker) WaitContext(ctx context.Context, conds ...Condition) error {
	timeout := b.WaitTimeout
	switch {
	case timeout > 0:
	case b.bubbled:
		timeout = DefaultBubbleWaitTimeout
	default:
		timeout = DefaultWaitTimeout
	}
	start := time.Now()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		changed := b.sig.wait() // taken before the check, so no event between them is missed
		failed, seen, err := b.checkAll(conds)
		if failed == nil {
			return nil
		}
		if err == nil {
			select {
			case <-changed:
				continue
			case <-timer.C:
				err = context.DeadlineExceeded
			case <-ctx.Done():
				err = ctx.Err()
			}
		}
		return &WaitError{Condition: failed.desc, Seen: seen, Waited: time.Since(start), Events: b.Events(), Err: err}
	}
}

// checkAll returns the first condition that does not hold, with what its check saw.
func (b *Broker) checkAll(conds []Condition) (failed *Condition, seen string, err error) {
	for i := range conds {
		ok, s, err := conds[i].check(b.Broker)
		if errors.Is(err, tribus.ErrClosed) {
			err = fmt.Errorf("the broker is closed: %w", err)
		}
		if !ok || err != nil {
			return &conds[i], s, err
		}
	}
	return nil, "", nil
}

// signal is a broadcast with no history: wait returns a channel closed by the next fire.
// fire is called by the engines' observers, under their locks, so it takes only its own.
type signal struct {
	mu sync.Mutex    // guards ch
	ch chan struct{} // closed and cleared by fire; nil while nobody waits
}

func (s *signal) wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = make(chan struct{})
	}
	return s.ch
}

func (s *signal) fire() {
	s.mu.Lock()
	if s.ch != nil {
		close(s.ch)
		s.ch = nil
	}
	s.mu.Unlock()
}
