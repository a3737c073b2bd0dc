package exchange_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tribusmq/tribus/exchange"
	"github.com/tribusmq/tribus/store"
)

// opBytes hands out the fuzzer's bytes as small numbers; past the end it gives zeros.
type opBytes struct{ b []byte }

func (r *opBytes) n(limit int) int {
	if len(r.b) == 0 || limit <= 0 {
		return 0
	}
	v := int(r.b[0]) % limit
	r.b = r.b[1:]
	return v
}

func (r *opBytes) bool() bool { return r.n(2) == 1 }

func (r *opBytes) signed(limit int) int { return r.n(2*limit+1) - limit }

func pick[T any](r *opBytes, from []T) T { return from[r.n(len(from))] }

var (
	fuzzLong      = strings.Repeat("L", exchange.MaxShortString+1)
	fuzzQueues    = []string{"q", "r", "s", "", "amq.q", fuzzLong, "\xff"}
	fuzzExchanges = []string{"", "x", "y", "dlx", "amq.direct", "amq.topic", "amq.headers", "amq.new", fuzzLong}
	fuzzKinds     = []exchange.Kind{exchange.Direct, exchange.Fanout, exchange.Topic, exchange.Headers, "bogus"}
	fuzzRKeys     = []string{"", "k", "q", "r", "a.b", "#", "*.b", "a.#", fuzzLong}
	fuzzTags      = []string{"", "c1", "c2", "amq.ctag-x", "\xfe", fuzzLong}
	fuzzExpiry    = []string{"", "0", "1", "50", "-1", "abc", "+5", "315360000001", fuzzLong}
	fuzzArgKeys   = []string{"x-match", "CC", "BCC", "x-message-ttl", "x-expires", "x-max-length", "x-max-length-bytes",
		"x-overflow", "x-dead-letter-exchange", "x-dead-letter-routing-key", "x-max-priority", "x-priority",
		"x-single-active-consumer", "x-delivery-limit", "x-queue-type", "alternate-exchange", "k", "h", fuzzLong}
)

func (r *opBytes) value(depth int) any {
	switch r.n(16) {
	case 0:
		return nil
	case 1:
		return r.bool()
	case 2:
		return int8(r.signed(3))
	case 3:
		return int32(r.signed(100))
	case 4:
		return int64(r.signed(3)) * 315_360_000_000
	case 5:
		return uint16(r.n(300))
	case 6:
		return 1.5
	case 7:
		return pick(r, []string{"all", "any", "all-with-x", "bogus", "q", "x", "reject-publish", "drop-head", "reject-publish-dlx", "quorum", "classic"})
	case 8:
		return []byte(pick(r, fuzzRKeys))
	case 9:
		return []any{pick(r, fuzzRKeys), pick(r, fuzzQueues)}
	case 10:
		if depth < 3 {
			return r.table(depth + 1)
		}
		return exchange.Table{}
	case 11:
		return time.Unix(int64(r.n(100)), 0)
	case 12:
		return exchange.Decimal{Scale: uint8(r.n(3)), Value: int32(r.signed(9))}
	case 13:
		return struct{}{} // not an AMQP field type
	case 14:
		return int64(r.signed(5))
	}
	return pick(r, fuzzQueues)
}

func (r *opBytes) table(depth int) exchange.Table {
	n := r.n(4)
	if n == 0 {
		return nil
	}
	t := exchange.Table{}
	for range n {
		t[pick(r, fuzzArgKeys)] = r.value(depth)
	}
	return t
}

func (r *opBytes) publishing() exchange.Publishing {
	m := exchange.Publishing{DeliveryMode: uint8(r.n(4)), Priority: uint8(r.n(12)), Expiration: pick(r, fuzzExpiry),
		Headers: r.table(0)}
	switch r.n(8) {
	case 0:
		m.MessageID = fuzzLong
	case 1:
		m.UserID = pick(r, []string{"guest", "other"})
	case 2:
		m.Body = make([]byte, fuzzMaxMessage+r.signed(1))
	default:
		m.Body = make([]byte, r.n(64))
	}
	return m
}

const fuzzMaxMessage = 4096

// FuzzRouter_Ops drives random sequences of operations with random arguments, valid or not,
// against a Router inside a synctest bubble, and fails on a panic, on an operation that does
// not return within 5 s of fake time (a hang; the operations so far are printed), or on a
// broken invariant after any operation. The first byte picks the backend: no store, the
// memory store, or bbolt in a temp dir (then "Router close" restarts on the same store and
// checks that the durable queues and exchanges survived).
func FuzzRouter_Ops(f *testing.F) {
	f.Add([]byte{0, 2, 0, 0, 4, 0, 0, 0, 1, 5, 0, 1, 1, 1, 0, 0, 6, 0, 0, 0, 0, 9, 0, 8, 0, 10, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		synctest.Test(t, func(t *testing.T) { runRouterOps(t, &opBytes{b: data}) })
	})
}

type fuzzRun struct {
	t          *testing.T
	r          *opBytes
	st         *store.Store
	router     *exchange.Router
	sessions   []*exchange.Session
	consumers  []*exchange.Consumer
	consumerOf map[*exchange.Consumer]*exchange.Session // live consumers: not cancelled by the test
	deliveries []*exchange.Delivery
	publishers []*exchange.Publisher
	exclusive  map[string]*exchange.Session // queue -> declaring session
	trace      []string
	bad        string // set by report
}

func runRouterOps(t *testing.T, r *opBytes) {
	run := &fuzzRun{t: t, r: r, exclusive: map[string]*exchange.Session{}, consumerOf: map[*exchange.Consumer]*exchange.Session{}}
	switch r.n(3) {
	case 1:
		run.st = store.OpenMemory()
	case 2:
		st, err := store.Open(filepath.Join(t.TempDir(), "tribus.db"), &store.Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		run.st = st
	}
	run.router = run.open()
	if run.bad != "" {
		t.Fatal(run.bad)
	}
	defer func() {
		run.closeAll()
		if run.st != nil {
			_ = run.st.Close()
		}
	}()
	for step := 0; step < 96 && len(r.b) > 0; step++ {
		desc, do := run.next()
		if do == nil {
			continue
		}
		run.trace = append(run.trace, desc)
		done := make(chan struct{})
		go func() {
			defer close(done)
			do()
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("operation did not return within 5 s (fake time):\n%s", strings.Join(run.trace, "\n"))
		}
		if run.bad != "" {
			run.fail("%s", run.bad)
		}
		run.check()
	}
	if testing.Verbose() {
		t.Logf("operations:\n%s", strings.Join(run.trace, "\n"))
	}
	// Closing every session requeues what they held and cancels their consumers.
	for _, p := range run.publishers {
		_ = p.Close()
	}
	for _, s := range run.sessions {
		if s != nil {
			_ = s.Close()
		}
	}
	for _, name := range run.router.Queues() {
		if info, err := run.router.QueueInfo(name); err == nil && (info.Unacked != 0 || info.Consumers != 0) {
			run.fail("after every session closed, queue %q has %d unacked and %d consumers", name, info.Unacked, info.Consumers)
		}
	}
}

func (run *fuzzRun) open() *exchange.Router {
	rt, err := exchange.New(&exchange.Options{Store: run.st, MaxMessageSize: fuzzMaxMessage})
	if err != nil {
		run.report("New: %v", err)
	}
	return rt
}

// report records a broken invariant found on an operation's goroutine; the test goroutine
// fails with it once the operation returns.
func (run *fuzzRun) report(format string, args ...any) {
	if run.bad == "" {
		run.bad = fmt.Sprintf(format, args...)
	}
}

func (run *fuzzRun) fail(format string, args ...any) {
	run.t.Helper()
	run.t.Fatalf("%s\nafter:\n%s", fmt.Sprintf(format, args...), strings.Join(run.trace, "\n"))
}

func (run *fuzzRun) closeAll() {
	for _, p := range run.publishers {
		_ = p.Close()
	}
	run.publishers = nil
	_ = run.router.Close()
}

// session returns one of up to three sessions, opening a new one in place of a closed one.
func (run *fuzzRun) session() (int, *exchange.Session) {
	i := run.r.n(3)
	for len(run.sessions) <= i {
		run.sessions = append(run.sessions, nil)
	}
	if s := run.sessions[i]; s == nil || s.Err() != nil {
		s, err := run.router.NewSession()
		if err != nil {
			run.fail("NewSession: %v", err)
		}
		run.sessions[i] = s
	}
	return i, run.sessions[i]
}

func (run *fuzzRun) next() (string, func()) {
	r := run.r
	ctx := context.Background()
	op := r.n(18)
	si, s := run.session()
	switch op {
	case 0:
		name, kind := pick(r, fuzzExchanges), pick(r, fuzzKinds)
		o := exchange.ExchangeOptions{Durable: r.bool(), AutoDelete: r.n(4) == 0, Internal: r.n(4) == 0,
			Passive: r.n(6) == 0, Args: r.table(0)}
		return fmt.Sprintf("s%d.ExchangeDeclare(%.20q, %s, %+v)", si, name, kind, o),
			func() { _ = s.ExchangeDeclare(name, kind, o) }
	case 1:
		name, ifUnused := pick(r, fuzzExchanges), r.bool()
		return fmt.Sprintf("s%d.ExchangeDelete(%.20q, %t)", si, name, ifUnused), func() { _ = s.ExchangeDelete(name, ifUnused) }
	case 2:
		name := pick(r, fuzzQueues)
		o := exchange.QueueOptions{Durable: r.bool(), Exclusive: r.n(4) == 0, AutoDelete: r.n(4) == 0, Passive: r.n(8) == 0,
			MessageTTL: time.Duration(r.n(4)*50) * time.Millisecond, Expires: time.Duration(r.n(3)*100) * time.Millisecond,
			MaxLength: r.n(4), Overflow: pick(r, []exchange.Overflow{"", exchange.DropHead, exchange.RejectPublish, exchange.RejectPublishDLX, "bogus"}),
			DeadLetterExchange: pick(r, []string{"", "dlx", "x", fuzzLong}), MaxPriority: uint8(r.n(12)),
			SingleActiveConsumer: r.n(4) == 0, QueueType: pick(r, []string{"", "", "classic", "quorum", "stream"}), Args: r.table(0)}
		return fmt.Sprintf("s%d.QueueDeclare(%.20q, %+v)", si, name, o), func() {
			info, err := s.QueueDeclare(name, o)
			if err == nil && o.Exclusive && !o.Passive {
				run.exclusive[info.Name] = s
			}
		}
	case 3:
		name, ifUnused, ifEmpty := pick(r, fuzzQueues), r.bool(), r.bool()
		return fmt.Sprintf("s%d.QueueDelete(%.20q, %t, %t)", si, name, ifUnused, ifEmpty),
			func() { _, _ = s.QueueDelete(name, ifUnused, ifEmpty) }
	case 4:
		q, x, key, args, kind := pick(r, fuzzQueues), pick(r, fuzzExchanges), pick(r, fuzzRKeys), r.table(0), r.n(4)
		dst := pick(r, fuzzExchanges)
		desc := fmt.Sprintf("s%d.bind#%d(%.20q/%.20q, %.20q, %.20q, %v)", si, kind, q, dst, x, key, args)
		return desc, func() {
			switch kind {
			case 0:
				_ = s.QueueBind(q, x, key, args)
			case 1:
				_ = s.QueueUnbind(q, x, key, args)
			case 2:
				_ = s.ExchangeBind(dst, x, key, args)
			case 3:
				_ = s.ExchangeUnbind(dst, x, key, args)
			}
		}
	case 5, 6:
		x, key, mandatory, msg := pick(r, fuzzExchanges), pick(r, fuzzRKeys), r.bool(), r.publishing()
		if r.n(4) == 0 {
			_ = s.Confirm()
		}
		return fmt.Sprintf("s%d.Publish(%.20q, %.20q, %t, mode %d exp %.20q headers %v body %d)", si, x, key, mandatory,
			msg.DeliveryMode, msg.Expiration, msg.Headers, len(msg.Body)), func() { _, _ = s.Publish(ctx, x, key, mandatory, msg) }
	case 7:
		x, key, msg, window := pick(r, fuzzExchanges), pick(r, fuzzRKeys), r.publishing(), r.n(3)
		return fmt.Sprintf("s%d.Publisher(%d).Publish(%.20q, %.20q, body %d)", si, window, x, key, len(msg.Body)), func() {
			p, err := s.NewPublisher(window, nil)
			if err != nil {
				return
			}
			run.publishers = append(run.publishers, p)
			_, _ = p.Publish(ctx, x, key, false, msg)
		}
	case 8:
		q := pick(r, fuzzQueues)
		o := exchange.ConsumeOptions{Tag: pick(r, fuzzTags), AutoAck: r.bool(), Exclusive: r.n(4) == 0,
			Prefetch: pick(r, []int{0, 1, 2, -1, exchange.MaxPrefetch + 1}), Priority: r.signed(2), Args: r.table(0)}
		return fmt.Sprintf("s%d.Consume(%.20q, %+v)", si, q, o), func() {
			if c, err := s.Consume(q, o); err == nil {
				run.consumers = append(run.consumers, c)
				run.consumerOf[c] = s
			}
		}
	case 9, 10:
		if len(run.consumers) == 0 {
			return "", nil
		}
		i := r.n(len(run.consumers))
		c := run.consumers[i]
		if op == 9 {
			return fmt.Sprintf("consumer[%d].Cancel", i), func() {
				_ = c.Cancel()
				delete(run.consumerOf, c)
			}
		}
		return fmt.Sprintf("consumer[%d].Next", i), func() {
			cctx, cancel := context.WithCancel(ctx)
			cancel()
			if d, err := c.Next(cctx); err == nil {
				run.deliveries = append(run.deliveries, d)
			}
		}
	case 11:
		q, autoAck := pick(r, fuzzQueues), r.bool()
		return fmt.Sprintf("s%d.Get(%.20q, %t)", si, q, autoAck), func() {
			if d, err := s.Get(q, autoAck); err == nil && d != nil {
				run.deliveries = append(run.deliveries, d)
			}
		}
	case 12:
		how, requeue := r.n(6), r.bool()
		if how < 3 && len(run.deliveries) > 0 {
			i := r.n(len(run.deliveries))
			d := run.deliveries[i]
			return fmt.Sprintf("delivery[%d].settle#%d(%t)", i, how, requeue), func() {
				_ = []func() error{d.Ack, func() error { return d.Nack(requeue) }, func() error { return d.Reject(requeue) }}[how]()
			}
		}
		tag, multiple := uint64(r.n(8)), r.bool()
		return fmt.Sprintf("s%d.settle#%d(tag %d, multiple %t, requeue %t)", si, how, tag, multiple, requeue), func() {
			switch how {
			case 3:
				_ = s.Ack(tag, multiple)
			case 4:
				_ = s.Nack(tag, multiple, requeue)
			default:
				_ = s.Reject(tag, requeue)
			}
		}
	case 13:
		q := pick(r, fuzzQueues)
		return fmt.Sprintf("s%d.QueuePurge(%.20q)", si, q), func() { _, _ = s.QueuePurge(q) }
	case 14:
		n, global := pick(r, []int{0, 1, 3, -1, exchange.MaxPrefetch, exchange.MaxPrefetch + 1}), r.bool()
		return fmt.Sprintf("s%d.Qos(%d, %t)", si, n, global), func() { _ = s.Qos(n, global) }
	case 15:
		return fmt.Sprintf("s%d.Close", si), func() {
			_ = s.Close()
			for q, owner := range run.exclusive {
				if owner == s {
					delete(run.exclusive, q)
					if _, err := run.router.QueueInfo(q); err == nil {
						run.report("exclusive queue %q outlived its session", q)
					}
				}
			}
		}
	case 16:
		d := time.Duration(r.n(8)*40) * time.Millisecond
		// Fake time: the TTL and x-expires timers due by then fire, and have finished (Wait)
		// before the next operation, so that one due at the sleep's end is not still running
		// when, say, a restart lists the queues to look for afterwards.
		return fmt.Sprintf("sleep %v", d), func() {
			time.Sleep(d)
			synctest.Wait()
		}
	default:
		return "Router close and reopen", func() { run.restart() }
	}
}

// restart closes the Router and opens a new one, on the same store if there is one, and checks
// that the durable, non-auto-delete queues and exchanges came back.
func (run *fuzzRun) restart() {
	var want []string
	if run.st != nil {
		for _, name := range run.router.Exchanges() {
			if info, err := run.router.ExchangeInfo(name); err == nil && info.Durable && !info.AutoDelete {
				want = append(want, "x:"+name)
			}
		}
		for _, name := range run.router.Queues() {
			if info, err := run.router.QueueInfo(name); err == nil && info.Durable && !info.AutoDelete {
				want = append(want, "q:"+name)
			}
		}
	}
	run.closeAll()
	if err := run.router.Close(); err != nil {
		run.report("second Close: %v", err)
	}
	if _, err := run.router.NewSession(); err == nil {
		run.report("NewSession on a closed Router succeeded")
	}
	run.sessions, run.consumers, run.deliveries = nil, nil, nil
	clear(run.consumerOf)
	clear(run.exclusive)
	if run.router = run.open(); run.router == nil {
		return
	}
	for _, w := range want {
		var err error
		if name, ok := strings.CutPrefix(w, "x:"); ok {
			_, err = run.router.ExchangeInfo(name)
		} else {
			_, err = run.router.QueueInfo(w[2:])
		}
		if err != nil {
			run.report("durable %s lost across a restart: %v", w, err)
		}
	}
}

// check asserts the router's invariants: the default and amq.* exchanges exist, names are
// sorted, counts are non-negative and a queue with x-max-length holds no more ready messages.
func (run *fuzzRun) check() {
	rt := run.router
	xs := rt.Exchanges()
	if !slices.IsSorted(xs) {
		run.fail("Exchanges not sorted: %q", xs)
	}
	for _, name := range []string{"", "amq.direct", "amq.fanout", "amq.topic", "amq.headers", "amq.match"} {
		if _, ok := slices.BinarySearch(xs, name); !ok {
			run.fail("exchange %q missing", name)
		}
	}
	qs := rt.Queues()
	if !slices.IsSorted(qs) {
		run.fail("Queues not sorted: %q", qs)
	}
	live := 0 // consumers neither cancelled by the test nor on a closed session
	for _, s := range run.consumerOf {
		if s.Err() == nil {
			live++
		}
	}
	consumers := 0
	defer func() {
		if consumers > live {
			run.fail("queues count %d consumers, but only %d are live", consumers, live)
		}
	}()
	for _, name := range qs {
		info, err := rt.QueueInfo(name)
		if err != nil {
			continue // expired or auto-deleted since the listing
		}
		consumers += info.Consumers
		if info.Ready < 0 || info.Unacked < 0 || info.Consumers < 0 {
			run.fail("queue %q: negative counts %+v", name, info)
		}
		if info.Acked > info.Delivered {
			run.fail("queue %q: %d acked but %d delivered", name, info.Acked, info.Delivered)
		}
		// A drop-head classic queue trims its head after a requeue too; reject-publish queues do
		// not, so a requeue may leave them over the limit (rabbit_amqqueue_process.erl
		// requeue_and_run -> maybe_drop_head, a no-op for reject-publish and reject-publish-dlx).
		overflow, _ := info.Args["x-overflow"].(string)
		qtype, _ := info.Args["x-queue-type"].(string)
		if limit, ok := fuzzInt(info.Args["x-max-length"]); ok && int64(info.Ready) > limit &&
			(overflow == "" || overflow == string(exchange.DropHead)) && qtype != "quorum" {
			run.fail("queue %q: %d ready over x-max-length %d", name, info.Ready, limit)
		}
	}
}

func fuzzInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int8:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case uint16:
		return int64(x), true
	}
	return 0, false
}
