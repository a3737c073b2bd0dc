package exchange_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/exchange"
)

// queueSnap is a QueueInfo read by a goroutine the observer started for one event.
type queueSnap struct {
	info exchange.QueueInfo
	err  error
}

// eventRecorder is an observer that records every event and, for each naming a queue, starts a
// goroutine that reads that queue's QueueInfo as an observer-woken waiter would: it can only
// run once the observer has returned, and reads whatever the locks let it see.
type eventRecorder struct {
	r *exchange.Router // set once New returns; nothing is emitted before

	mu     sync.Mutex
	events []exchange.Event
	snaps  map[int]queueSnap // by index into events
}

func (rec *eventRecorder) observe(e exchange.Event) {
	rec.mu.Lock()
	i := len(rec.events)
	rec.events = append(rec.events, e)
	rec.mu.Unlock()
	if e.Queue == "" {
		return
	}
	go func() {
		info, err := rec.r.QueueInfo(e.Queue)
		rec.mu.Lock()
		rec.snaps[i] = queueSnap{info, err}
		rec.mu.Unlock()
	}()
}

// reset forgets what was recorded; call it with every goroutine the recorder started done
// (synctest.Wait).
func (rec *eventRecorder) reset() {
	rec.mu.Lock()
	rec.events, rec.snaps = nil, map[int]queueSnap{}
	rec.mu.Unlock()
}

func (rec *eventRecorder) kinds() []exchange.EventKind {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var out []exchange.EventKind
	for _, e := range rec.events {
		out = append(out, e.Kind)
	}
	return out
}

// after returns the QueueInfo read after the last event naming queue, and whether there was
// such an event.
func (rec *eventRecorder) after(queue string) (queueSnap, bool) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for i := len(rec.events) - 1; i >= 0; i-- {
		if rec.events[i].Queue == queue {
			s, ok := rec.snaps[i]
			return s, ok
		}
	}
	return queueSnap{}, false
}

func (rec *eventRecorder) find(kind exchange.EventKind) (exchange.Event, bool) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, e := range rec.events {
		if e.Kind == kind {
			return e, true
		}
	}
	return exchange.Event{}, false
}

// observedRouter returns a Router whose observer is rec. Call it inside a synctest bubble.
func observedRouter(t *testing.T, rec *eventRecorder) *exchange.Router {
	t.Helper()
	rec.snaps = map[int]queueSnap{}
	r, err := exchange.New(&exchange.Options{Observer: rec.observe})
	require.NoError(t, err)
	rec.r = r
	t.Cleanup(func() { r.Close() })
	return r
}

// Every operation that changes what QueueInfo reports of a queue ends with an event naming
// that queue, emitted once the change is visible: the QueueInfo a goroutine started by the
// observer for the operation's last event reads already shows the whole operation. The kinds
// are checked in order, so an event that moved before its change, or went missing, shows.
func TestObserver_EveryQueueChangeEndsWithAnEventAfterIt(t *testing.T) {
	type env struct {
		r *exchange.Router
		s *exchange.Session
		// What setup leaves for op: a consumer, a delivery, another session.
		c *exchange.Consumer
		d *exchange.Delivery
		o *exchange.Session
	}
	// check is what the QueueInfo read after the last event naming queue must show.
	type check struct {
		queue string
		want  func(t *testing.T, info exchange.QueueInfo, err error)
	}
	E := func(kinds ...exchange.EventKind) []exchange.EventKind { return kinds }
	readyIs := func(n int) func(*testing.T, exchange.QueueInfo, error) {
		return func(t *testing.T, info exchange.QueueInfo, err error) {
			require.NoError(t, err)
			assert.Equal(t, n, info.Ready, "ready")
		}
	}
	gone := func(t *testing.T, _ exchange.QueueInfo, err error) { assert.ErrorIs(t, err, exchange.ErrNotFound) }
	cases := []struct {
		name   string
		opts   exchange.QueueOptions
		setup  func(t *testing.T, e *env)
		op     func(t *testing.T, e *env)
		want   []exchange.EventKind
		checks []check
	}{
		{
			name: "publish without consumer",
			op:   func(t *testing.T, e *env) { publish(t, e.s, "", "q", "m") },
			want: E(exchange.EventRouted, exchange.EventEnqueued),
			checks: []check{{"q", func(t *testing.T, info exchange.QueueInfo, err error) {
				require.NoError(t, err)
				assert.Equal(t, 1, info.Ready)
				assert.Equal(t, uint64(1), info.Published)
			}}},
		},
		{
			name:  "publish with consumer",
			setup: func(t *testing.T, e *env) { e.c = consume(t, e.s, "q", exchange.ConsumeOptions{}) },
			op:    func(t *testing.T, e *env) { publish(t, e.s, "", "q", "m") },
			want:  E(exchange.EventRouted, exchange.EventEnqueued, exchange.EventDelivered),
			checks: []check{{"q", func(t *testing.T, info exchange.QueueInfo, err error) {
				require.NoError(t, err)
				assert.Equal(t, 0, info.Ready)
				assert.Equal(t, 1, info.Unacked)
				assert.Equal(t, uint64(1), info.Delivered)
			}}},
		},
		{
			name:  "publish with TTL 0 to a consumer",
			opts:  exchange.QueueOptions{Args: exchange.Table{"x-message-ttl": int32(0)}},
			setup: func(t *testing.T, e *env) { e.c = consume(t, e.s, "q", exchange.ConsumeOptions{AutoAck: true}) },
			op:    func(t *testing.T, e *env) { publish(t, e.s, "", "q", "m") },
			want:  E(exchange.EventRouted, exchange.EventEnqueued, exchange.EventDelivered, exchange.EventAcked),
			checks: []check{{"q", func(t *testing.T, info exchange.QueueInfo, err error) {
				require.NoError(t, err)
				assert.Equal(t, uint64(1), info.Acked)
			}}},
		},
		{
			name:  "consume with a ready message",
			setup: func(t *testing.T, e *env) { publish(t, e.s, "", "q", "m") },
			op:    func(t *testing.T, e *env) { e.c = consume(t, e.s, "q", exchange.ConsumeOptions{}) },
			want:  E(exchange.EventConsumerAdded, exchange.EventDelivered),
			checks: []check{{"q", func(t *testing.T, info exchange.QueueInfo, err error) {
				require.NoError(t, err)
				assert.Equal(t, 1, info.Consumers)
				assert.Equal(t, 1, info.Unacked)
			}}},
		},
		{
			name: "consume from an empty queue",
			op:   func(t *testing.T, e *env) { e.c = consume(t, e.s, "q", exchange.ConsumeOptions{}) },
			want: E(exchange.EventConsumerAdded),
			checks: []check{{"q", func(t *testing.T, info exchange.QueueInfo, err error) {
				require.NoError(t, err)
				assert.Equal(t, 1, info.Consumers)
			}}},
		},
		{
			name:  "cancel",
			setup: func(t *testing.T, e *env) { e.c = consume(t, e.s, "q", exchange.ConsumeOptions{}) },
			op:    func(t *testing.T, e *env) { require.NoError(t, e.c.Cancel()) },
			want:  E(exchange.EventConsumerCancelled),
			checks: []check{{"q", func(t *testing.T, info exchange.QueueInfo, err error) {
				require.NoError(t, err)
				assert.Zero(t, info.Consumers)
			}}},
		},
		{
			name:   "cancel the last consumer of an auto-delete queue",
			opts:   exchange.QueueOptions{AutoDelete: true},
			setup:  func(t *testing.T, e *env) { e.c = consume(t, e.s, "q", exchange.ConsumeOptions{}) },
			op:     func(t *testing.T, e *env) { require.NoError(t, e.c.Cancel()) },
			want:   E(exchange.EventConsumerCancelled, exchange.EventQueueDeleted),
			checks: []check{{"q", gone}},
		},
		{
			name: "session close with an unacked delivery",
			setup: func(t *testing.T, e *env) {
				e.o = newSession(t, e.r)
				e.c = consume(t, e.o, "q", exchange.ConsumeOptions{})
				publish(t, e.s, "", "q", "m")
			},
			op:   func(t *testing.T, e *env) { require.NoError(t, e.o.Close()) },
			want: E(exchange.EventConsumerCancelled, exchange.EventRequeued),
			checks: []check{{"q", func(t *testing.T, info exchange.QueueInfo, err error) {
				require.NoError(t, err)
				assert.Equal(t, 1, info.Ready)
				assert.Zero(t, info.Unacked)
				assert.Zero(t, info.Consumers)
			}}},
		},
		{
			name: "recover",
			setup: func(t *testing.T, e *env) {
				publish(t, e.s, "", "q", "m")
				e.d = getUnacked(t, e.s, "q")
			},
			op:     func(t *testing.T, e *env) { require.NoError(t, e.s.Recover(true)) },
			want:   E(exchange.EventRequeued),
			checks: []check{{"q", readyIs(1)}},
		},
		{
			name: "declare",
			op: func(t *testing.T, e *env) {
				_, err := e.s.QueueDeclare("new", exchange.QueueOptions{})
				require.NoError(t, err)
			},
			want:   E(exchange.EventQueueDeclared),
			checks: []check{{"new", readyIs(0)}},
		},
		{
			name: "redeclare is no event",
			op: func(t *testing.T, e *env) {
				_, err := e.s.QueueDeclare("q", exchange.QueueOptions{})
				require.NoError(t, err)
			},
		},
		{
			name: "purge",
			setup: func(t *testing.T, e *env) {
				publish(t, e.s, "", "q", "1")
				publish(t, e.s, "", "q", "2")
			},
			op: func(t *testing.T, e *env) {
				n, err := e.s.QueuePurge("q")
				require.NoError(t, err)
				assert.Equal(t, 2, n)
			},
			want:   E(exchange.EventPurged),
			checks: []check{{"q", readyIs(0)}},
		},
		{
			name: "delete with a consumer",
			setup: func(t *testing.T, e *env) {
				e.c = consume(t, e.s, "q", exchange.ConsumeOptions{Prefetch: 1})
				publish(t, e.s, "", "q", "1")
				publish(t, e.s, "", "q", "2")
			},
			op: func(t *testing.T, e *env) {
				_, err := e.s.QueueDelete("q", false, false)
				require.NoError(t, err)
			},
			want:   E(exchange.EventConsumerCancelled, exchange.EventQueueDeleted),
			checks: []check{{"q", gone}},
		},
		{
			name:   "exclusive queue deleted with its connection",
			opts:   exchange.QueueOptions{Exclusive: true},
			setup:  func(t *testing.T, e *env) { publish(t, e.s, "", "q", "m") },
			op:     func(t *testing.T, e *env) { require.NoError(t, e.s.Close()) },
			want:   E(exchange.EventQueueDeleted),
			checks: []check{{"q", gone}},
		},
		{
			name:   "x-expires",
			opts:   exchange.QueueOptions{Expires: time.Second},
			op:     func(t *testing.T, e *env) { sleepThenWait(time.Second) },
			want:   E(exchange.EventQueueDeleted),
			checks: []check{{"q", gone}},
		},
		{
			name:  "get with auto-ack",
			setup: func(t *testing.T, e *env) { publish(t, e.s, "", "q", "m") },
			op: func(t *testing.T, e *env) {
				d, err := e.s.Get("q", true)
				require.NoError(t, err)
				require.NotNil(t, d)
			},
			want: E(exchange.EventDelivered, exchange.EventAcked),
			checks: []check{{"q", func(t *testing.T, info exchange.QueueInfo, err error) {
				require.NoError(t, err)
				assert.Zero(t, info.Ready)
				assert.Equal(t, uint64(1), info.Acked)
			}}},
		},
		{
			name:  "get",
			setup: func(t *testing.T, e *env) { publish(t, e.s, "", "q", "m") },
			op:    func(t *testing.T, e *env) { e.d = getUnacked(t, e.s, "q") },
			want:  E(exchange.EventDelivered),
			checks: []check{{"q", func(t *testing.T, info exchange.QueueInfo, err error) {
				require.NoError(t, err)
				assert.Zero(t, info.Ready)
				assert.Equal(t, 1, info.Unacked)
			}}},
		},
		{
			name: "ack",
			setup: func(t *testing.T, e *env) {
				publish(t, e.s, "", "q", "m")
				e.d = getUnacked(t, e.s, "q")
			},
			op:   func(t *testing.T, e *env) { require.NoError(t, e.d.Ack()) },
			want: E(exchange.EventAcked),
			checks: []check{{"q", func(t *testing.T, info exchange.QueueInfo, err error) {
				require.NoError(t, err)
				assert.Zero(t, info.Unacked)
				assert.Equal(t, uint64(1), info.Acked)
			}}},
		},
		{
			name: "ack that lets a consumer take the next",
			setup: func(t *testing.T, e *env) {
				e.c = consume(t, e.s, "q", exchange.ConsumeOptions{Prefetch: 1})
				publish(t, e.s, "", "q", "1")
				publish(t, e.s, "", "q", "2")
				e.d = next(t, e.c)
			},
			op:   func(t *testing.T, e *env) { require.NoError(t, e.d.Ack()) },
			want: E(exchange.EventDelivered, exchange.EventAcked),
			checks: []check{{"q", func(t *testing.T, info exchange.QueueInfo, err error) {
				require.NoError(t, err)
				assert.Zero(t, info.Ready)
				assert.Equal(t, 1, info.Unacked)
				assert.Equal(t, uint64(1), info.Acked)
			}}},
		},
		{
			name: "nack with requeue",
			setup: func(t *testing.T, e *env) {
				publish(t, e.s, "", "q", "m")
				e.d = getUnacked(t, e.s, "q")
			},
			op:   func(t *testing.T, e *env) { require.NoError(t, e.d.Nack(true)) },
			want: E(exchange.EventRequeued),
			checks: []check{{"q", func(t *testing.T, info exchange.QueueInfo, err error) {
				require.NoError(t, err)
				assert.Equal(t, 1, info.Ready)
				assert.Zero(t, info.Unacked)
			}}},
		},
		{
			name: "nack without requeue or DLX",
			setup: func(t *testing.T, e *env) {
				publish(t, e.s, "", "q", "m")
				e.d = getUnacked(t, e.s, "q")
			},
			op:   func(t *testing.T, e *env) { require.NoError(t, e.d.Nack(false)) },
			want: E(exchange.EventNacked, exchange.EventDropped),
			checks: []check{{"q", func(t *testing.T, info exchange.QueueInfo, err error) {
				require.NoError(t, err)
				assert.Zero(t, info.Unacked)
				assert.Equal(t, map[string]uint64{"rejected": 1}, info.Dropped)
			}}},
		},
		{
			name: "delivery limit",
			opts: exchange.QueueOptions{Durable: true, QueueType: "quorum", DeliveryLimit: 1},
			setup: func(t *testing.T, e *env) {
				publish(t, e.s, "", "q", "m")
				require.NoError(t, getUnacked(t, e.s, "q").Reject(true))
				e.d = getUnacked(t, e.s, "q")
			},
			op:   func(t *testing.T, e *env) { require.NoError(t, e.d.Reject(true)) },
			want: E(exchange.EventDropped),
			checks: []check{{"q", func(t *testing.T, info exchange.QueueInfo, err error) {
				require.NoError(t, err)
				assert.Zero(t, info.Ready)
				assert.Zero(t, info.Unacked)
				assert.Equal(t, map[string]uint64{"delivery_limit": 1}, info.Dropped)
			}}},
		},
		{
			name:  "TTL expiry",
			opts:  exchange.QueueOptions{MessageTTL: time.Second},
			setup: func(t *testing.T, e *env) { publish(t, e.s, "", "q", "m") },
			op:    func(t *testing.T, e *env) { sleepThenWait(time.Second) },
			want:  E(exchange.EventExpired, exchange.EventDropped),
			checks: []check{{"q", func(t *testing.T, info exchange.QueueInfo, err error) {
				require.NoError(t, err)
				assert.Zero(t, info.Ready)
				assert.Equal(t, map[string]uint64{"expired": 1}, info.Dropped)
			}}},
		},
		{
			name:  "max-length drops the head",
			opts:  exchange.QueueOptions{MaxLength: 1},
			setup: func(t *testing.T, e *env) { publish(t, e.s, "", "q", "old") },
			op:    func(t *testing.T, e *env) { publish(t, e.s, "", "q", "new") },
			want:  E(exchange.EventRouted, exchange.EventEnqueued, exchange.EventDropped),
			checks: []check{{"q", func(t *testing.T, info exchange.QueueInfo, err error) {
				require.NoError(t, err)
				assert.Equal(t, 1, info.Ready)
				assert.Equal(t, uint64(2), info.Published)
				assert.Equal(t, map[string]uint64{"maxlen": 1}, info.Dropped)
			}}},
		},
		{
			name:  "max-length refuses a publish",
			opts:  exchange.QueueOptions{MaxLength: 1, Overflow: exchange.RejectPublish},
			setup: func(t *testing.T, e *env) { publish(t, e.s, "", "q", "old") },
			op:    func(t *testing.T, e *env) { publish(t, e.s, "", "q", "new") },
			want:  E(exchange.EventRouted, exchange.EventDropped),
			checks: []check{{"q", func(t *testing.T, info exchange.QueueInfo, err error) {
				require.NoError(t, err)
				assert.Equal(t, 1, info.Ready)
				assert.Equal(t, uint64(2), info.Published)
				assert.Equal(t, map[string]uint64{"reject-publish": 1}, info.Dropped)
			}}},
		},
		{
			name: "dead-letter to another queue",
			opts: exchange.QueueOptions{DeadLetterExchange: "dlx"},
			setup: func(t *testing.T, e *env) {
				declareDLQ(t, e.s, "dlx", "dlq")
				publish(t, e.s, "", "q", "m")
				e.d = getUnacked(t, e.s, "q")
			},
			op:   func(t *testing.T, e *env) { require.NoError(t, e.d.Reject(false)) },
			want: E(exchange.EventNacked, exchange.EventDeadLettered, exchange.EventEnqueued),
			checks: []check{
				{"q", func(t *testing.T, info exchange.QueueInfo, err error) {
					require.NoError(t, err)
					assert.Zero(t, info.Unacked)
					assert.Equal(t, uint64(1), info.DeadLettered)
				}},
				{"dlq", func(t *testing.T, info exchange.QueueInfo, err error) {
					require.NoError(t, err)
					assert.Equal(t, 1, info.Ready)
					assert.Equal(t, uint64(1), info.Published)
				}},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var rec eventRecorder
				r := observedRouter(t, &rec)
				e := &env{r: r, s: newSession(t, r)}
				declareQueue(t, e.s, "q", tc.opts)
				if tc.setup != nil {
					tc.setup(t, e)
				}
				synctest.Wait()
				rec.reset()

				tc.op(t, e)
				synctest.Wait() // the queueSnap goroutines are done
				require.Equal(t, tc.want, rec.kinds())
				for _, c := range tc.checks {
					snap, ok := rec.after(c.queue)
					require.True(t, ok, "no event named queue %q", c.queue)
					c.want(t, snap.info, snap.err)
				}
			})
		})
	}
}

func consume(t *testing.T, s *exchange.Session, queue string, o exchange.ConsumeOptions) *exchange.Consumer {
	t.Helper()
	c, err := s.Consume(queue, o)
	require.NoError(t, err)
	return c
}

// The new events carry what names them: the consumer's tag and why it stopped, the count a
// purge removed.
func TestObserver_EventsCarryTagReasonAndCount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec eventRecorder
		r := observedRouter(t, &rec)
		s := newSession(t, r)
		for _, tc := range []struct {
			reason string
			stop   func(t *testing.T, s *exchange.Session, c *exchange.Consumer)
		}{
			{exchange.ReasonCancel, func(t *testing.T, _ *exchange.Session, c *exchange.Consumer) { require.NoError(t, c.Cancel()) }},
			{exchange.ReasonSessionClosed, func(t *testing.T, s *exchange.Session, _ *exchange.Consumer) { require.NoError(t, s.Close()) }},
			{exchange.ReasonQueueDeleted, func(t *testing.T, s *exchange.Session, _ *exchange.Consumer) {
				_, err := s.QueueDelete("q", false, false)
				require.NoError(t, err)
			}},
		} {
			declareQueue(t, s, "q", exchange.QueueOptions{})
			o := newSession(t, r)
			synctest.Wait()
			rec.reset()
			c := consume(t, o, "q", exchange.ConsumeOptions{Tag: "worker"})
			e, ok := rec.find(exchange.EventConsumerAdded)
			require.True(t, ok)
			assert.Equal(t, exchange.Event{Kind: exchange.EventConsumerAdded, Time: e.Time, Queue: "q", ConsumerTag: "worker"}, e)
			tc.stop(t, o, c)
			e, ok = rec.find(exchange.EventConsumerCancelled)
			require.True(t, ok, tc.reason)
			assert.Equal(t, "worker", e.ConsumerTag, tc.reason)
			assert.Equal(t, tc.reason, e.Reason)
			assert.Equal(t, "q", e.Queue, tc.reason)
		}

		declareQueue(t, s, "q", exchange.QueueOptions{})
		for range 3 {
			publish(t, s, "", "q", "m")
		}
		synctest.Wait()
		rec.reset()
		_, err := s.QueuePurge("q")
		require.NoError(t, err)
		e, ok := rec.find(exchange.EventPurged)
		require.True(t, ok)
		assert.Equal(t, 3, e.Count)
		assert.Equal(t, "q", e.Queue)
		synctest.Wait()
	})
}

func TestEventKind_StringNamesEveryKind(t *testing.T) {
	for k, want := range map[exchange.EventKind]string{
		exchange.EventUnblocked: "unblocked", exchange.EventEnqueued: "enqueued",
		exchange.EventConsumerAdded: "consumer-added", exchange.EventConsumerCancelled: "consumer-cancelled",
		exchange.EventQueueDeclared: "queue-declared", exchange.EventPurged: "purged",
		exchange.EventConfirmed: "confirmed", exchange.EventConfirmed + 1: "unknown",
	} {
		assert.Equal(t, want, k.String())
	}
	assert.Equal(t, exchange.EventKind(12), exchange.EventUnblocked, "appended kinds leave the old values alone")
}

// A goroutine that waits for a queue state by re-reading QueueInfo each time the observer
// signals (a one-slot channel, so no signal is lost) sees every state it waits for while
// publishers, consumers, acks, closes, purges, expiry and deletes run concurrently. If a change
// were not followed by an event, the waiter would wait for a signal that never comes: the
// bubble's clock then jumps to the waiter's deadline at once, since every goroutine is blocked,
// and the phase fails by name.
func TestObserver_WokenWaiterSeesEveryState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		wake := make(chan struct{}, 1)
		r, err := exchange.New(&exchange.Options{Observer: func(exchange.Event) {
			select {
			case wake <- struct{}{}:
			default:
			}
		}})
		require.NoError(t, err)
		defer r.Close()
		ctx := context.Background()

		// phase starts a waiter for cond on queue, runs work concurrently, and returns once
		// the waiter saw cond hold.
		phase := func(name, queue string, cond func(exchange.QueueInfo, error) bool, work ...func()) {
			t.Helper()
			done := make(chan struct{})
			go func() {
				defer close(done)
				deadline := time.After(time.Hour)
				for {
					info, err := r.QueueInfo(queue)
					if cond(info, err) {
						return
					}
					select {
					case <-wake:
					case <-deadline:
						t.Errorf("%s: no event after the last change; QueueInfo: %+v, %v", name, info, err)
						return
					}
				}
			}()
			var wg sync.WaitGroup
			for _, w := range work {
				wg.Go(w)
			}
			wg.Wait()
			<-done
		}
		must := func(err error) {
			if err != nil {
				t.Error(err)
			}
		}
		session := func() *exchange.Session {
			s, err := r.NewSession()
			require.NoError(t, err)
			t.Cleanup(func() { s.Close() })
			return s
		}
		s := session()

		phase("declare", "jobs", func(_ exchange.QueueInfo, err error) bool { return err == nil }, func() {
			_, err := s.QueueDeclare("jobs", exchange.QueueOptions{})
			must(err)
		})

		const publishers, each = 4, 25
		var pubs []func()
		for p := range publishers {
			ps := session()
			pubs = append(pubs, func() {
				for i := range each {
					_, err := ps.Publish(ctx, "", "jobs", false, exchange.Publishing{Body: fmt.Appendf(nil, "%d-%d", p, i)})
					must(err)
				}
			})
		}
		phase("publish", "jobs", func(i exchange.QueueInfo, _ error) bool {
			return i.Ready == publishers*each && i.Published == publishers*each
		}, pubs...)

		cs := []*exchange.Session{session(), session()}
		consumers := make([]*exchange.Consumer, len(cs))
		var starts []func()
		for k, sess := range cs {
			starts = append(starts, func() {
				var err error
				consumers[k], err = sess.Consume("jobs", exchange.ConsumeOptions{Prefetch: 10})
				must(err)
			})
		}
		phase("consume", "jobs", func(i exchange.QueueInfo, _ error) bool {
			return i.Consumers == 2 && i.Unacked == 20 && i.Ready == publishers*each-20
		}, starts...)

		readCtx, stopReading := context.WithCancel(ctx)
		var readers sync.WaitGroup
		for _, c := range consumers {
			readers.Go(func() {
				for d, err := range c.All(readCtx) {
					if err != nil {
						return
					}
					must(d.Ack())
				}
			})
		}
		phase("ack", "jobs", func(i exchange.QueueInfo, _ error) bool {
			return i.Acked == publishers*each && i.Ready == 0 && i.Unacked == 0
		})
		stopReading()
		readers.Wait()

		phase("cancel", "jobs", func(i exchange.QueueInfo, _ error) bool { return i.Consumers == 0 },
			func() { must(consumers[0].Cancel()) }, func() { must(consumers[1].Cancel()) })

		closer := session()
		phase("requeue on close", "jobs", func(i exchange.QueueInfo, _ error) bool {
			return i.Published == publishers*each+5 && i.Ready == 5 && i.Unacked == 0 && i.Redelivered == 5
		}, func() {
			for range 5 {
				_, err := s.Publish(ctx, "", "jobs", false, exchange.Publishing{})
				must(err)
			}
			for range 5 {
				_, err := closer.Get("jobs", false)
				must(err)
			}
			must(closer.Close())
			for range 5 {
				d, err := s.Get("jobs", false)
				must(err)
				must(d.Nack(true))
			}
		})

		phase("purge", "jobs", func(i exchange.QueueInfo, _ error) bool { return i.Ready == 0 }, func() {
			_, err := s.QueuePurge("jobs")
			must(err)
		})

		_, err = s.QueueDeclare("short", exchange.QueueOptions{MessageTTL: time.Second})
		require.NoError(t, err)
		for range 3 {
			publish(t, s, "", "short", "m")
		}
		phase("expire", "short", func(i exchange.QueueInfo, _ error) bool {
			return i.Ready == 0 && i.Dropped["expired"] == 3
		}, func() { time.Sleep(time.Second) })

		phase("delete", "jobs", func(_ exchange.QueueInfo, err error) bool { return err != nil }, func() {
			_, err := s.QueueDelete("jobs", false, false)
			must(err)
		})
	})
}

// In confirm mode each publish's confirmation is an event after its routing, on both publish
// paths: "ack", or "nack" when a reject-publish queue refused it (A19). A mandatory publish
// the pipelined Publisher cannot route is returned (312) with an event, as on Session.Publish.
func TestObserver_ConfirmsAndReturnsAreEvents(t *testing.T) {
	var mu sync.Mutex
	var got []string
	r, err := exchange.New(&exchange.Options{Observer: func(e exchange.Event) {
		switch e.Kind {
		case exchange.EventConfirmed, exchange.EventReturned:
			mu.Lock()
			got = append(got, fmt.Sprintf("%v tag=%d %s key=%s", e.Kind, e.DeliveryTag, e.Reason, e.RoutingKey))
			mu.Unlock()
		}
	}})
	require.NoError(t, err)
	defer r.Close()
	s, err := r.NewSession()
	require.NoError(t, err)
	_, err = s.QueueDeclare("one", exchange.QueueOptions{MaxLength: 1, Overflow: exchange.RejectPublish})
	require.NoError(t, err)
	require.NoError(t, s.Confirm())
	for range 2 {
		_, err = s.Publish(t.Context(), "", "one", false, exchange.Publishing{Body: []byte("m")})
		require.NoError(t, err)
	}
	p, err := s.NewPublisher(10, nil)
	require.NoError(t, err)
	_, err = p.Publish(t.Context(), "", "nowhere", true, exchange.Publishing{Body: []byte("m")})
	var ret *exchange.ReturnedError
	require.ErrorAs(t, err, &ret)
	require.NoError(t, p.Close())
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"confirmed tag=1 ack key=one", "confirmed tag=2 nack key=one",
		"returned tag=0  key=nowhere", "confirmed tag=3 ack key=nowhere"}, got)
}

// SetObserver swaps the observer at runtime: later events reach the new one, and none reach
// an observer that was removed.
func TestObserver_SetObserverTakesEffectForLaterEvents(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	declareQueue(t, s, "q", exchange.QueueOptions{})
	var mu sync.Mutex
	var kinds []exchange.EventKind
	r.SetObserver(func(e exchange.Event) {
		mu.Lock()
		kinds = append(kinds, e.Kind)
		mu.Unlock()
	})
	publish(t, s, "", "q", "observed")
	r.SetObserver(nil)
	publish(t, s, "", "q", "not observed")
	_, err := s.QueuePurge("q")
	require.NoError(t, err)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []exchange.EventKind{exchange.EventRouted, exchange.EventEnqueued}, kinds)
}
