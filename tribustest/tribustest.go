package tribustest

import (
	"context"
	"fmt"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"testing/synctest"
	"time"

	"github.com/tribusmq/tribus"
	"github.com/tribusmq/tribus/exchange"
	tlog "github.com/tribusmq/tribus/log"
	"github.com/tribusmq/tribus/pubsub"
)

// T is what the package needs from a test: *testing.T, *testing.B and *testing.F satisfy it,
// and so does any testing.TB. Another implementation must be comparable (a pointer): the
// brokers of one test are told apart from those of others by it. Fatalf must stop the calling goroutine (testing's does, with
// runtime.Goexit); the Broker calls it only from [Broker.Wait] and the constructors, which
// belong on the test's goroutine.
type T interface {
	Helper()
	Cleanup(func())
	Context() context.Context
	TempDir() string
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Logf(format string, args ...any)
}

// How long [Broker.Wait] waits for its conditions before it fails the test, when
// Broker.WaitTimeout is 0. Inside a testing/synctest bubble the wait runs on the bubble's fake
// clock, where an hour passes at once, so a wait for a state behind a 30-second TTL or a
// 5-minute rebalance timeout succeeds, and one that cannot succeed still fails at once in wall
// time; outside a bubble the bound is real time, and short.
const (
	DefaultWaitTimeout       = 10 * time.Second
	DefaultBubbleWaitTimeout = time.Hour
)

// Broker is a [tribus.Broker] opened for one test: the broker itself (every method of
// tribus.Broker works on it), closed when the test ends, with waits for conditions and checks
// of what the engines hold. Its methods that take no ctx report to the test they were made for;
// they are safe for concurrent use, but [Broker.Wait] and the constructors must be called from
// the test's goroutine, because they stop it on failure.
type Broker struct {
	*tribus.Broker

	// WaitTimeout bounds [Broker.Wait] and [Broker.WaitContext]. 0 means
	// [DefaultBubbleWaitTimeout] for a broker opened inside a testing/synctest bubble and
	// [DefaultWaitTimeout] for one opened outside. Set it before the first Wait; it is read
	// without a lock.
	WaitTimeout time.Duration

	t       T
	opts    tribus.Options // as given, before this package's observers were chained in
	bubbled bool           // opened inside a testing/synctest bubble
	id      string         // the goroutine label of the test's brokers' goroutines
	sig     signal         // fired by every engine event
	trace   trace          // the last events, for failure reports
	serving sync.WaitGroup // the Serve methods' goroutines, which end when the broker closes
	faults  faultSet       // injected faults (fault.go)
	done    chan struct{}  // closed once the broker is closed: crashed callers return
}

var brokerIDs atomic.Uint64

// tests maps each test with an open Broker to the label its brokers' goroutines carry, so
// that the goroutine check waits until the last of them is closed: a test with two brokers
// has one label, set on its goroutine by the first.
var tests = struct {
	sync.Mutex
	m map[T]*testLabel
}{m: map[T]*testLabel{}}

type testLabel struct {
	id   string
	open int // brokers of the test not yet finished
}

// label returns t's label, setting it on the calling goroutine (the test's) for t's first
// broker. Goroutines inherit the labels of the goroutine that starts them, so every
// goroutine a broker starts on behalf of the test carries it, and those of brokers in
// parallel tests do not (see leak.go).
func label(t T) string {
	tests.Lock()
	defer tests.Unlock()
	l := tests.m[t]
	if l == nil {
		l = &testLabel{id: strconv.FormatUint(brokerIDs.Add(1), 10)}
		tests.m[t] = l
		pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(), pprof.Labels(labelKey, l.id)))
	}
	l.open++
	return l.id
}

// unlabel records that one of t's brokers is finished; it reports whether it was the last,
// and then clears the calling goroutine's labels.
func unlabel(t T) bool {
	tests.Lock()
	defer tests.Unlock()
	l := tests.m[t]
	if l.open--; l.open > 0 {
		return false
	}
	delete(tests.m, t)
	pprof.SetGoroutineLabels(context.Background())
	return true
}

// New opens an in-memory broker for t and closes it when t ends. The cleanup fails t if the
// broker's Close fails or if a goroutine the broker started is still running after it; see
// [Broker] for what else it offers. New works inside a testing/synctest bubble, where every
// timer of the broker runs on the bubble's fake clock.
func New(t T) *Broker {
	t.Helper()
	return Open(t, "", nil)
}

// NewDurable opens a broker keeping its state in a new directory from t.TempDir, with the
// defaults of [tribus.Open] (fsync before acknowledging), and closes it when t ends. Besides
// what New checks, the cleanup fails t if a file in the directory is still open after Close.
func NewDurable(t T) *Broker {
	t.Helper()
	return Open(t, t.TempDir(), nil)
}

// Open opens a broker on dir ("" for in memory) with opts (nil for the defaults) for t, as
// New does. Observers set in opts still receive every event: this package adds its own
// alongside them; its ExchangeFaults, LogFaults, StoreBeforeSync and PubSub.Faults are
// replaced by the hooks of [Broker.Inject]. A failure to open fails t at once.
func Open(t T, dir string, opts *tribus.Options) *Broker {
	t.Helper()
	b := &Broker{t: t, id: label(t), bubbled: inBubble(), done: make(chan struct{})}
	if opts != nil {
		b.opts = *opts
	}
	inner, err := tribus.Open(dir, b.observed(b.opts))
	if err != nil {
		unlabel(t)
		t.Fatalf("tribustest: open %q: %v", dir, err)
		return nil
	}
	b.Broker = inner
	t.Cleanup(func() { b.finish(dir) })
	return b
}

// inBubble reports whether the caller runs in a testing/synctest bubble, where synctest.Wait
// returns (once every other goroutine of the bubble is blocked) instead of panicking.
func inBubble() (in bool) {
	defer func() {
		if recover() != nil {
			in = false
		}
	}()
	synctest.Wait()
	return true
}

// observed returns opts with this package's observers chained after the caller's.
func (b *Broker) observed(opts tribus.Options) *tribus.Options {
	userX, userL, userP := opts.ExchangeObserver, opts.LogObserver, opts.PubSub.Observer
	opts.ExchangeObserver = func(e exchange.Event) {
		if userX != nil {
			userX(e)
		}
		b.trace.add(e)
		b.sig.fire()
	}
	opts.LogObserver = func(e tlog.Event) {
		if userL != nil {
			userL(e)
		}
		b.trace.add(e)
		b.sig.fire()
	}
	opts.PubSub.Observer = func(e pubsub.Event) {
		if userP != nil {
			userP(e)
		}
		b.trace.add(e)
		b.sig.fire()
	}
	opts.ExchangeFaults, opts.LogFaults, opts.PubSub.Faults = b.hooks()
	opts.StoreBeforeSync = b.storeSync
	return &opts
}

// finish closes the broker and checks that it left nothing running or open.
func (b *Broker) finish(dir string) {
	if err := b.Close(); err != nil {
		b.t.Errorf("tribustest: closing the broker: %v", err)
	}
	close(b.done)
	b.serving.Wait()
	if !unlabel(b.t) {
		return // the test's other brokers may still run goroutines with the same label
	}
	if left := leftGoroutines(b.id); left != "" {
		b.t.Errorf("tribustest: goroutines of the test's brokers still running after Close:\n\n%s", left)
	}
	if dir != "" {
		if open := openFilesUnder(dir); len(open) > 0 {
			b.t.Errorf("tribustest: files of the broker still open after Close: %v", open)
		}
	}
}

// Reopen closes the broker and opens its directory again with the same options, as a
// restart of the process would; the returned Broker replaces b (which stays closed) and is
// closed when the test ends. It fails the test for an in-memory broker, which keeps nothing.
func (b *Broker) Reopen() *Broker {
	b.t.Helper()
	dir := b.Dir()
	if dir == "" {
		b.t.Fatalf("tribustest: Reopen of an in-memory broker: nothing would survive it")
		return nil
	}
	if err := b.Close(); err != nil {
		b.t.Fatalf("tribustest: closing the broker to reopen it: %v", err)
		return nil
	}
	return Open(b.t, dir, &b.opts)
}

// Session opens an exchange session (an AMQP channel on a connection of its own) and closes
// it when the test ends. It fails the test if the router is closed.
func (b *Broker) Session() *exchange.Session {
	b.t.Helper()
	s, err := b.Router().NewSession()
	if err != nil {
		b.t.Fatalf("tribustest: opening a session: %v", err)
		return nil
	}
	b.t.Cleanup(func() { s.Close() })
	return s
}

// T returns the test the broker reports to, for helpers that register their own cleanups.
func (b *Broker) T() T { return b.t }

// Events returns the engine events the broker has seen, oldest first, formatted one per
// line: the last [TraceLength] of them. It is what a failed wait prints.
func (b *Broker) Events() []string { return b.trace.lines() }

// String describes the broker for failure messages.
func (b *Broker) String() string {
	if b.Dir() == "" {
		return "tribustest broker " + b.id + " (in memory)"
	}
	return fmt.Sprintf("tribustest broker %s (%s)", b.id, b.Dir())
}
