package exchange_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
	"weak"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/exchange"
	"github.com/tribusmq/tribus/internal/sentinel"
	"github.com/tribusmq/tribus/store"
)

// The memory and disk alarms follow RabbitMQ's: "When the memory alarm is set, all publishing
// connections are blocked; consumers are not" and "when free disk space drops below a
// configured limit, an alarm will be triggered and all producers will be blocked"
// (rabbitmq.com/docs/alarms, /docs/memory, /docs/disk-alarms); clients see
// connection.blocked with reason "low on memory" or "low on disk" and connection.unblocked
// (rabbitmq.com/docs/connection-blocked).

const kib = 1 << 10

// eventLog records the alarm events an observer sees.
type eventLog struct {
	mu     sync.Mutex
	events []string
}

func (l *eventLog) observe(e exchange.Event) {
	if e.Kind != exchange.EventBlocked && e.Kind != exchange.EventUnblocked {
		return
	}
	l.mu.Lock()
	l.events = append(l.events, e.Kind.String()+": "+e.Reason)
	l.mu.Unlock()
}

func (l *eventLog) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.events...)
}

func alarmRouter(t *testing.T, o exchange.Options) *exchange.Router {
	t.Helper()
	r, err := exchange.New(&o)
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })
	return r
}

// fillToAlarm publishes 1 KiB messages to queue q until the memory alarm is on and returns how
// many it published.
func fillToAlarm(t *testing.T, r *exchange.Router, s *exchange.Session, q string) int {
	t.Helper()
	for n := 1; n <= 10_000; n++ {
		publish(t, s, "", q, string(make([]byte, kib)))
		if r.Alarms().Memory {
			return n
		}
	}
	t.Fatal("the memory alarm never went on")
	return 0
}

// publishAsync publishes in a goroutine and returns where its result arrives.
func publishAsync(ctx context.Context, s *exchange.Session, q string, msg exchange.Publishing) <-chan error {
	done := make(chan error, 1)
	go func() {
		_, err := s.Publish(ctx, "", q, false, msg)
		done <- err
	}()
	return done
}

func TestAlarm_MemoryBlocksPublisherUntilConsumerDrains(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log eventLog
		r := alarmRouter(t, exchange.Options{MemoryHighWatermark: 16 * kib, Observer: log.observe})
		s := newSession(t, r)
		declareQueue(t, s, "q", exchange.QueueOptions{})
		n := fillToAlarm(t, r, s, "q")
		assert.Equal(t, []string{"blocked: low on memory"}, log.get())

		done := publishAsync(context.Background(), s, "q", exchange.Publishing{Body: []byte("late")})
		synctest.Wait()
		select {
		case err := <-done:
			t.Fatalf("publish returned %v while the memory alarm was on", err)
		default:
		}
		assert.Equal(t, n, ready(t, r, "q"), "the blocked message is not enqueued")

		c, err := r.Consume("q", exchange.ConsumeOptions{Prefetch: 1})
		require.NoError(t, err)
		for range n {
			require.NoError(t, next(t, c).Ack())
		}
		synctest.Wait()
		require.NoError(t, <-done)
		assert.False(t, r.Alarms().Memory)
		assert.Equal(t, []string{"blocked: low on memory", "unblocked: low on memory"}, log.get())
		assert.Equal(t, "late", string(next(t, c).Body))
	})
}

func TestAlarm_ContextEndsBlockedPublish(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := alarmRouter(t, exchange.Options{MemoryHighWatermark: 16 * kib})
		s := newSession(t, r)
		declareQueue(t, s, "q", exchange.QueueOptions{})
		n := fillToAlarm(t, r, s, "q")

		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := s.Publish(ctx, "", "q", false, exchange.Publishing{Body: []byte("x")})
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.ErrorIs(t, err, exchange.ErrMemoryAlarm)
		assert.NoError(t, s.Err(), "an alarm is no channel error")
		assert.Equal(t, n, ready(t, r, "q"))

		p, err := s.NewPublisher(4, nil)
		require.NoError(t, err)
		ctx2, cancel2 := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := p.Publish(ctx2, "", "q", false, exchange.Publishing{Body: []byte("x")})
			done <- err
		}()
		synctest.Wait()
		cancel2()
		require.ErrorIs(t, <-done, context.Canceled)
		require.NoError(t, p.Close(), "Close does not wait for the alarm")
	})
}

func TestAlarm_FailFastReturnsErrMemoryAlarm(t *testing.T) {
	r := alarmRouter(t, exchange.Options{MemoryHighWatermark: 16 * kib, FailFastOnAlarm: true})
	s := newSession(t, r)
	declareQueue(t, s, "q", exchange.QueueOptions{})
	n := fillToAlarm(t, r, s, "q")

	_, err := s.Publish(context.Background(), "", "q", false, exchange.Publishing{Body: []byte("x")})
	require.ErrorIs(t, err, exchange.ErrMemoryAlarm)
	require.ErrorIs(t, r.Publish(context.Background(), "", "q", false, exchange.Publishing{}), exchange.ErrMemoryAlarm)
	p, err := s.NewPublisher(1, nil)
	require.NoError(t, err)
	_, err = p.Publish(context.Background(), "", "q", false, exchange.Publishing{})
	require.ErrorIs(t, err, exchange.ErrMemoryAlarm)
	require.NoError(t, p.Close())
	assert.NoError(t, s.Err(), "the session stays open")
	assert.Equal(t, n, ready(t, r, "q"), "nothing refused was enqueued")

	bodies(t, s, "q")
	publish(t, s, "", "q", "after")
	assert.Equal(t, 1, ready(t, r, "q"))
}

// While blocked, everything that lets memory fall goes on: deliveries to consumers, acks,
// nacks and rejects, gets, purges and deletes.
func TestAlarm_ConsumersAcksGetsPurgesDeletesGoOnWhileBlocked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := alarmRouter(t, exchange.Options{MemoryHighWatermark: 32 * kib})
		s := newSession(t, r)
		declareQueue(t, s, "a", exchange.QueueOptions{})
		declareQueue(t, s, "b", exchange.QueueOptions{})
		for range 10 {
			publish(t, s, "", "a", string(make([]byte, kib)))
		}
		n := fillToAlarm(t, r, s, "b")
		done := publishAsync(context.Background(), s, "b", exchange.Publishing{})
		synctest.Wait()

		c, err := r.Consume("a", exchange.ConsumeOptions{Prefetch: 3})
		require.NoError(t, err)
		require.NoError(t, next(t, c).Ack())
		require.NoError(t, next(t, c).Nack(true))
		require.NoError(t, next(t, c).Reject(false))
		d, err := s.Get("a", false)
		require.NoError(t, err)
		require.NotNil(t, d)
		require.NoError(t, d.Ack())
		purged, err := s.QueuePurge("a")
		require.NoError(t, err)
		assert.Positive(t, purged)
		require.NoError(t, c.Cancel())
		// The purge may have taken memory below the mark, letting the blocked publish into b:
		// let it settle so that the count below is exact.
		synctest.Wait()
		want := n
		select {
		case err := <-done:
			require.NoError(t, err)
			want++
			done = nil
		default:
		}
		deleted, err := s.QueueDelete("b", false, false)
		require.NoError(t, err)
		assert.Equal(t, want, deleted)

		synctest.Wait()
		if done != nil {
			require.NoError(t, <-done) // b was deleted: it went nowhere, but it went
		}
		assert.False(t, r.Alarms().Memory)
	})
}

// Every way a message leaves a queue gives its bytes back: after each scenario nothing is
// counted as held.
func TestAlarm_EveryExitReleasesMemory(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, r *exchange.Router, s *exchange.Session)
	}{
		{"ack", func(t *testing.T, r *exchange.Router, s *exchange.Session) {
			publish(t, s, "", "q", "x")
			d, err := s.Get("q", false)
			require.NoError(t, err)
			require.NoError(t, d.Ack())
		}},
		{"get auto-ack", func(t *testing.T, r *exchange.Router, s *exchange.Session) {
			publish(t, s, "", "q", "x")
			bodies(t, s, "q")
		}},
		{"auto-ack consumer read", func(t *testing.T, r *exchange.Router, s *exchange.Session) {
			c, err := s.Consume("q", exchange.ConsumeOptions{AutoAck: true})
			require.NoError(t, err)
			publish(t, s, "", "q", "x")
			next(t, c)
		}},
		{"auto-ack consumer cancelled unread", func(t *testing.T, r *exchange.Router, s *exchange.Session) {
			c, err := s.Consume("q", exchange.ConsumeOptions{AutoAck: true})
			require.NoError(t, err)
			publish(t, s, "", "q", "x")
			require.NoError(t, c.Cancel())
		}},
		{"nack requeue then ack", func(t *testing.T, r *exchange.Router, s *exchange.Session) {
			publish(t, s, "", "q", "x")
			d, _ := s.Get("q", false)
			require.NoError(t, d.Nack(true))
			bodies(t, s, "q")
		}},
		{"reject to dead-letter queue, drained", func(t *testing.T, r *exchange.Router, s *exchange.Session) {
			require.NoError(t, s.QueueBind("q", "amq.direct", "q", nil))
			declareQueue(t, s, "dl", exchange.QueueOptions{DeadLetterExchange: "amq.direct", DeadLetterRoutingKey: "q"})
			publish(t, s, "", "dl", "x")
			d, _ := s.Get("dl", false)
			require.NoError(t, d.Reject(false))
			assert.Equal(t, []string{"x"}, bodies(t, s, "q"))
		}},
		{"expired", func(t *testing.T, r *exchange.Router, s *exchange.Session) {
			publishMsg(t, s, "", "q", exchange.Publishing{Body: []byte("x"), Expiration: "0"})
		}},
		{"drop-head", func(t *testing.T, r *exchange.Router, s *exchange.Session) {
			declareQueue(t, s, "one", exchange.QueueOptions{MaxLength: 1})
			publish(t, s, "", "one", "x")
			publish(t, s, "", "one", "y")
			assert.Equal(t, []string{"y"}, bodies(t, s, "one"))
		}},
		{"reject-publish", func(t *testing.T, r *exchange.Router, s *exchange.Session) {
			declareQueue(t, s, "one", exchange.QueueOptions{MaxLength: 1, Overflow: exchange.RejectPublish})
			publish(t, s, "", "one", "x")
			publish(t, s, "", "one", "y")
			bodies(t, s, "one")
		}},
		{"purge", func(t *testing.T, r *exchange.Router, s *exchange.Session) {
			publish(t, s, "", "q", "x")
			_, err := s.QueuePurge("q")
			require.NoError(t, err)
		}},
		{"queue deleted with ready and unacked", func(t *testing.T, r *exchange.Router, s *exchange.Session) {
			publish(t, s, "", "q", "x")
			publish(t, s, "", "q", "y")
			d, _ := s.Get("q", false)
			_, err := s.QueueDelete("q", false, false)
			require.NoError(t, err)
			require.NoError(t, d.Ack())
		}},
		{"session closed with unacked", func(t *testing.T, r *exchange.Router, s *exchange.Session) {
			s2 := newSession(t, r)
			publish(t, s, "", "q", "x")
			_, err := s2.Get("q", false)
			require.NoError(t, err)
			require.NoError(t, s2.Close())
			bodies(t, s, "q")
		}},
		{"fanout to three queues", func(t *testing.T, r *exchange.Router, s *exchange.Session) {
			for _, q := range []string{"f1", "f2", "f3"} {
				declareQueue(t, s, q, exchange.QueueOptions{})
				require.NoError(t, s.QueueBind(q, "amq.fanout", "", nil))
			}
			_, err := s.Publish(ctx, "amq.fanout", "", false, exchange.Publishing{Body: []byte("x"), Headers: exchange.Table{"k": "v"}})
			require.NoError(t, err)
			assert.Positive(t, r.Alarms().MemoryHeld)
			for _, q := range []string{"f1", "f2", "f3"} {
				bodies(t, s, q)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRouter(t)
			s := newSession(t, r)
			declareQueue(t, s, "q", exchange.QueueOptions{})
			tc.run(t, r, s)
			assert.Zero(t, r.Alarms().MemoryHeld)
		})
	}
}

func TestAlarm_TransientQueueInMemoryRouterIsBounded(t *testing.T) {
	const watermark = 64 * kib
	r := alarmRouter(t, exchange.Options{MemoryHighWatermark: watermark, FailFastOnAlarm: true})
	s := newSession(t, r)
	declareQueue(t, s, "q", exchange.QueueOptions{})
	accepted := 0
	for range 10_000 {
		_, err := s.Publish(context.Background(), "", "q", false, exchange.Publishing{Body: make([]byte, kib)})
		if err != nil {
			require.ErrorIs(t, err, exchange.ErrMemoryAlarm)
			continue
		}
		accepted++
	}
	st := r.Alarms()
	assert.True(t, st.Memory)
	assert.LessOrEqual(t, st.MemoryHeld, int64(watermark+2*kib), "over by at most one message")
	assert.Equal(t, accepted, ready(t, r, "q"))
	assert.Less(t, accepted, watermark/kib+1, "each message counts at least its body")
	assert.Greater(t, accepted, watermark/(2*kib), "and not much more")
}

// An auto-ack consumer that does not read lets deliveries pile up in its buffer; they count
// until read, or the alarm could not bound them.
func TestAlarm_UnreadAutoAckDeliveriesCount(t *testing.T) {
	r := alarmRouter(t, exchange.Options{MemoryHighWatermark: 16 * kib, FailFastOnAlarm: true})
	s := newSession(t, r)
	declareQueue(t, s, "q", exchange.QueueOptions{})
	c, err := s.Consume("q", exchange.ConsumeOptions{AutoAck: true})
	require.NoError(t, err)
	n := fillToAlarm(t, r, s, "q")
	assert.Zero(t, ready(t, r, "q"), "all pushed to the consumer")
	for range n {
		next(t, c)
	}
	assert.False(t, r.Alarms().Memory)
	assert.Zero(t, r.Alarms().MemoryHeld)
}

func TestAlarm_NegativeWatermarkTurnsMemoryAlarmOff(t *testing.T) {
	r := alarmRouter(t, exchange.Options{MemoryHighWatermark: -1, FailFastOnAlarm: true})
	s := newSession(t, r)
	declareQueue(t, s, "q", exchange.QueueOptions{})
	for range 100 {
		publish(t, s, "", "q", string(make([]byte, kib)))
	}
	st := r.Alarms()
	assert.False(t, st.Memory)
	assert.Greater(t, st.MemoryHeld, int64(100*kib), "still counted")
	assert.Equal(t, int64(exchange.DefaultMemoryHighWatermark), newRouter(t).Alarms().MemoryHighWatermark)
}

func TestAlarm_CloseEndsBlockedPublish(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, err := exchange.New(&exchange.Options{MemoryHighWatermark: 16 * kib})
		require.NoError(t, err)
		s, err := r.NewSession()
		require.NoError(t, err)
		declareQueue(t, s, "q", exchange.QueueOptions{})
		fillToAlarm(t, r, s, "q")
		done := publishAsync(context.Background(), s, "q", exchange.Publishing{})
		synctest.Wait()
		require.NoError(t, r.Close())
		require.ErrorIs(t, <-done, exchange.ErrClosed)
	})
}

// Persistent messages of durable queues page out under MemoryBudget: paged out, each counts
// only its index entry, so they do not raise the alarm that transient messages of the same
// size raise.
func TestAlarm_PagedOutMessagesCountOnlyTheirIndex(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *store.Store) {
		r := alarmRouter(t, exchange.Options{Store: st, MemoryBudget: 8 * kib, MemoryHighWatermark: 64 * kib, FailFastOnAlarm: true})
		s := newSession(t, r)
		declareQueue(t, s, "durable", exchange.QueueOptions{Durable: true})
		for i := range 100 {
			_, err := s.Publish(context.Background(), "", "durable", false, persistent(fmt.Sprint(make([]byte, kib), i)))
			require.NoError(t, err, "message %d", i)
		}
		a := r.Alarms()
		assert.False(t, a.Memory)
		assert.Less(t, a.MemoryHeld, int64(40*kib), "100 KiB of bodies, mostly paged out")

		declareQueue(t, s, "transient", exchange.QueueOptions{})
		_, err := s.Publish(context.Background(), "", "transient", false, exchange.Publishing{Body: make([]byte, 64*kib)})
		require.NoError(t, err)
		assert.True(t, r.Alarms().Memory)
	})
}

// Deleting a durable queue gives back the memory budget its in-memory persistent messages used;
// before, a deleted queue's messages stayed counted and later messages paged out at once.
// A message that left its queue keeps no memory alive through the queue: its body is freed
// once nothing outside the router holds it, even while a message queued next to it (whose
// index entry the router allocates in the same chunk) stays unacked.
func TestMemory_AckedMessageBodyIsFreedWhileItsNeighbourWaits(t *testing.T) {
	r := newRouter(t)
	s := newSession(t, r)
	q := declareQueue(t, s, "q", exchange.QueueOptions{})
	for _, body := range []string{"kept unacked", "acked and dropped"} {
		publish(t, s, "", q, body)
	}
	c, err := s.Consume(q, exchange.ConsumeOptions{Prefetch: 2})
	require.NoError(t, err)
	kept := next(t, c)
	body := func() weak.Pointer[byte] {
		d := next(t, c)
		require.Equal(t, "acked and dropped", string(d.Body))
		require.NoError(t, d.Ack())
		return weak.Make(&d.Body[0])
	}()
	runtime.GC()
	assert.Nil(t, body.Value(), "the acked message's body is still reachable")
	require.NoError(t, kept.Ack())
}

func TestMemoryBudget_DeletedQueueGivesBackItsBudget(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *store.Store) {
		r := openDurable(t, st)
		s := newSession(t, r)
		declareQueue(t, s, "q", exchange.QueueOptions{Durable: true})
		for range 3 {
			publishMsg(t, s, "", "q", persistent("x"))
		}
		d, err := s.Get("q", false)
		require.NoError(t, err)
		assert.Positive(t, r.Alarms().Resident)
		_, err = s.QueueDelete("q", false, false)
		require.NoError(t, err)
		require.NoError(t, d.Ack())
		assert.Zero(t, r.Alarms().Resident)
		assert.Zero(t, r.Alarms().MemoryHeld)
	})
}

// fakeDisk is a DiskFree that refuses while full is set, as a free-disk guard does.
type fakeDisk struct {
	full  atomic.Bool
	calls atomic.Int64
	need  atomic.Int64
}

func (f *fakeDisk) free(need int64) error {
	f.calls.Add(1)
	f.need.Store(need)
	if f.full.Load() {
		return fmt.Errorf("fake: 1 MB free, under the free-disk limit of 50 MB: %w", sentinel.ErrDiskFull)
	}
	return nil
}

func TestAlarm_DiskAlarmBlocksEveryPublisherUntilDiskFreeAgrees(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log eventLog
		disk := &fakeDisk{}
		r := alarmRouter(t, exchange.Options{Store: store.OpenMemory(), DiskFree: disk.free, Observer: log.observe})
		s := newSession(t, r)
		declareQueue(t, s, "durable", exchange.QueueOptions{Durable: true})
		declareQueue(t, s, "transient", exchange.QueueOptions{})

		publish(t, s, "", "durable", "transient message")
		assert.Zero(t, disk.calls.Load(), "a transient message writes nothing")
		publishMsg(t, s, "", "transient", persistent("to a transient queue"))
		assert.Zero(t, disk.calls.Load(), "neither does a persistent one in a transient queue")
		publishMsg(t, s, "", "durable", persistent("ok"))
		assert.Equal(t, int64(1), disk.calls.Load())
		assert.GreaterOrEqual(t, disk.need.Load(), int64(len("ok")))

		disk.full.Store(true)
		blocked := publishAsync(context.Background(), s, "durable", persistent("blocked"))
		synctest.Wait()
		s2 := newSession(t, r)
		other := publishAsync(context.Background(), s2, "transient", exchange.Publishing{Body: []byte("also blocked")})
		synctest.Wait()
		assert.True(t, r.Alarms().Disk)
		assert.Equal(t, []string{"blocked: low on disk"}, log.get())
		time.Sleep(time.Second) // the fake clock: DiskFree is asked again every 50 ms
		synctest.Wait()
		select {
		case err := <-blocked:
			t.Fatalf("publish returned %v while the disk alarm was on", err)
		case err := <-other:
			t.Fatalf("publish returned %v while the disk alarm was on", err)
		default:
		}
		calls := disk.calls.Load()
		assert.Greater(t, calls, int64(10), "rechecked while blocked")
		assert.Less(t, calls, int64(40), "about every 50 ms, not per waiter per tick")
		assert.Equal(t, 1, ready(t, r, "transient"))

		c, err := r.Consume("durable", exchange.ConsumeOptions{})
		require.NoError(t, err, "consumers go on")
		require.NoError(t, next(t, c).Ack())

		disk.full.Store(false)
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		require.NoError(t, <-blocked)
		require.NoError(t, <-other)
		assert.False(t, r.Alarms().Disk)
		assert.Equal(t, []string{"blocked: low on disk", "unblocked: low on disk"}, log.get())
	})
}

func TestAlarm_DiskAlarmFailFastReturnsErrDiskFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		disk := &fakeDisk{}
		disk.full.Store(true)
		r := alarmRouter(t, exchange.Options{Store: store.OpenMemory(), DiskFree: disk.free, FailFastOnAlarm: true})
		s := newSession(t, r)
		declareQueue(t, s, "durable", exchange.QueueOptions{Durable: true})

		_, err := s.Publish(context.Background(), "", "durable", false, persistent("x"))
		require.ErrorIs(t, err, exchange.ErrDiskFull)
		require.ErrorIs(t, err, sentinel.ErrDiskFull)
		assert.NoError(t, s.Err())
		assert.Zero(t, ready(t, r, "durable"))
		err = r.Publish(context.Background(), "", "durable", false, exchange.Publishing{Body: []byte("transient")})
		require.ErrorIs(t, err, sentinel.ErrDiskFull, "every publisher is refused while the alarm is on")

		disk.full.Store(false)
		time.Sleep(100 * time.Millisecond) // the fake clock, past the recheck interval
		publishMsg(t, s, "", "durable", persistent("y"))
		assert.False(t, r.Alarms().Disk)
		assert.Equal(t, []string{"y"}, bodies(t, s, "durable"))
	})
}

func TestAlarm_DiskAlarmContextEndsBlockedPublish(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		disk := &fakeDisk{}
		disk.full.Store(true)
		r := alarmRouter(t, exchange.Options{Store: store.OpenMemory(), DiskFree: disk.free})
		s := newSession(t, r)
		declareQueue(t, s, "durable", exchange.QueueOptions{Durable: true})
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := s.Publish(ctx, "", "durable", false, persistent("x"))
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.ErrorIs(t, err, sentinel.ErrDiskFull)
		assert.Zero(t, ready(t, r, "durable"))
	})
}

// A backlog longer than the memory budget pages out the contents other queues already hold,
// newest first, and counts its own index entries, so the budget bounds the router's durable
// messages however they are spread over queues.
func TestMemoryBudget_BacklogPagesOutOtherQueuesContents(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *store.Store) {
		const budget = 64 * kib
		r, err := exchange.New(&exchange.Options{Store: st, MemoryBudget: budget})
		require.NoError(t, err)
		t.Cleanup(func() { r.Close() })
		s := newSession(t, r)
		declareQueue(t, s, "old", exchange.QueueOptions{Durable: true})
		declareQueue(t, s, "backlog", exchange.QueueOptions{Durable: true})
		for i := range 40 { // 40 × (1 KiB + 512) is within the budget
			publishMsg(t, s, "", "old", persistent(fmt.Sprintf("old %04d %s", i, make([]byte, kib))))
		}
		held := r.Alarms().Resident
		require.Greater(t, held, int64(budget*3/4), "the old queue's contents are in memory")
		require.LessOrEqual(t, held, int64(budget))
		for i := range 800 { // 800 index entries take 50 KiB of the budget
			publishMsg(t, s, "", "backlog", persistent(fmt.Sprintf("new %04d", i)))
			assert.LessOrEqual(t, r.Alarms().Resident, int64(budget+budget/8+2*kib), "after message %d", i)
		}
		assert.Less(t, r.Alarms().Resident, int64(budget))
		for i := range 40 { // paged out or not, every message is delivered whole, in order
			d, err := s.Get("old", true)
			require.NoError(t, err)
			require.NotNil(t, d)
			assert.Equal(t, fmt.Sprintf("old %04d %s", i, make([]byte, kib)), string(d.Body))
		}
	})
}

// A front door follows the alarms with AlarmWatch, to send connection.blocked and
// connection.unblocked: each change closes the channel it was handed, and the state read with
// the next channel is the new one.
func TestAlarm_WatchSeesEveryChangeInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := alarmRouter(t, exchange.Options{MemoryHighWatermark: 16 * kib})
		s := newSession(t, r)
		declareQueue(t, s, "q", exchange.QueueOptions{})
		st, changed := r.AlarmWatch()
		assert.Equal(t, "", st.AlarmReason())

		n := fillToAlarm(t, r, s, "q")
		select {
		case <-changed:
		default:
			t.Fatal("the alarm went on and the watch channel stayed open")
		}
		st, changed = r.AlarmWatch()
		assert.Equal(t, exchange.ReasonLowMemory, st.AlarmReason())

		c, err := r.Consume("q", exchange.ConsumeOptions{AutoAck: true})
		require.NoError(t, err)
		for range n {
			next(t, c)
		}
		synctest.Wait()
		select {
		case <-changed:
		default:
			t.Fatal("the alarm cleared and the watch channel stayed open")
		}
		st, changed = r.AlarmWatch()
		assert.Equal(t, "", st.AlarmReason())
		select {
		case <-changed:
			t.Fatal("the watch channel closed with no change")
		default:
		}
	})
}
