package tribustest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus"
	"github.com/tribusmq/tribus/exchange"
	tlog "github.com/tribusmq/tribus/log"
	"github.com/tribusmq/tribus/tribustest"
)

// recorder is a tribustest.T that keeps what the toolkit reports instead of failing the
// test running it, so that the failures themselves can be checked. Its cleanups run when
// the test calls finish.
type recorder struct {
	t        *testing.T
	mu       sync.Mutex
	errors   []string
	cleanups []func()
}

func newRecorder(t *testing.T) *recorder { return &recorder{t: t} }

func (r *recorder) Helper()                  {}
func (r *recorder) Context() context.Context { return context.Background() }
func (r *recorder) TempDir() string          { return r.t.TempDir() }
func (r *recorder) Logf(string, ...any)      {}
func (r *recorder) Cleanup(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cleanups = append(r.cleanups, f)
}
func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	runtime.Goexit()
}

// finish runs the cleanups, last registered first, and returns what was reported.
func (r *recorder) finish() []string {
	r.mu.Lock()
	cs := r.cleanups
	r.cleanups = nil
	r.mu.Unlock()
	for _, f := range slices.Backward(cs) {
		f()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.errors
}

// run calls f on a goroutine of its own, as a test body, so that a Fatalf ends only it.
func (r *recorder) run(f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	<-done
}

func TestNew_ClosesTheBrokerWhenTheTestEnds(t *testing.T) {
	rec := newRecorder(t)
	b := tribustest.New(rec)
	_, err := b.Router().QueueDeclare("q", exchange.QueueOptions{})
	require.NoError(t, err)
	assert.Empty(t, rec.finish())
	_, err = b.Router().QueueDeclare("q2", exchange.QueueOptions{})
	assert.ErrorIs(t, err, tribus.ErrClosed)
}

func TestNewDurable_ReopenKeepsWhatWasDurable(t *testing.T) {
	b := tribustest.NewDurable(t)
	_, err := b.Router().QueueDeclare("jobs", exchange.QueueOptions{Durable: true})
	require.NoError(t, err)
	require.NoError(t, b.Router().Publish(t.Context(), "", "jobs", false, exchange.Publishing{Body: []byte("j1"), DeliveryMode: exchange.Persistent}))
	b = b.Reopen()
	b.CheckQueue("jobs", "j1")
}

func TestCleanup_ReportsAGoroutineLeftRunning(t *testing.T) {
	rec := newRecorder(t)
	b := tribustest.New(rec)
	started := make(chan struct{})
	// A goroutine in tribus code that Close does not end: a publish blocked by an alarm
	// would be one; here a goroutine waiting in a consumer of a second, unclosed router
	// stands in for it. It is started from the test's goroutine, so it carries the label.
	r, err := exchange.New(nil)
	require.NoError(t, err)
	defer r.Close()
	_, err = r.QueueDeclare("q", exchange.QueueOptions{})
	require.NoError(t, err)
	c, err := r.Consume("q", exchange.ConsumeOptions{})
	require.NoError(t, err)
	go func() {
		close(started)
		c.Next(context.Background())
	}()
	<-started
	_ = b
	errs := rec.finish()
	require.Len(t, errs, 1)
	assert.Contains(t, errs[0], "goroutines of the test's brokers still running after Close")
	assert.Contains(t, errs[0], "exchange.(*Consumer).Next")
}

func TestCleanup_IgnoresBrokersOfOtherTests(t *testing.T) {
	// Another "test" (its own goroutine, its own label) keeps a broker open with a goroutine
	// in it while this one finishes: that goroutine is not this test's leak.
	other := newRecorder(t)
	var ob *tribustest.Broker
	ready := make(chan struct{})
	other.run(func() {
		ob = tribustest.New(other)
		s, err := ob.Router().NewSession()
		require.NoError(t, err)
		_, err = s.QueueDeclare("q", exchange.QueueOptions{})
		require.NoError(t, err)
		c, err := s.Consume("q", exchange.ConsumeOptions{})
		require.NoError(t, err)
		go func() {
			close(ready)
			c.Next(context.Background()) // ends when ob closes
		}()
		<-ready
	})
	rec := newRecorder(t)
	tribustest.New(rec)
	assert.Empty(t, rec.finish())
	assert.Empty(t, other.finish())
}

func TestCleanup_ReportsAFileLeftOpen(t *testing.T) {
	rec := newRecorder(t)
	b := tribustest.NewDurable(rec)
	f, err := os.Create(filepath.Join(b.Dir(), "held"))
	require.NoError(t, err)
	defer f.Close()
	errs := rec.finish()
	if runtime.GOOS != "linux" {
		t.Skip("open files are listed from /proc/self/fd")
	}
	require.Len(t, errs, 1)
	assert.Contains(t, errs[0], "files of the broker still open after Close")
	assert.Contains(t, errs[0], "held")
}

func TestWait_ReturnsAsSoonAsTheConditionHolds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := tribustest.New(t)
		r := b.Router()
		_, err := r.QueueDeclare("q", exchange.QueueOptions{})
		require.NoError(t, err)
		go func() {
			time.Sleep(time.Minute) // on the bubble's clock: a publisher a minute from now
			r.Publish(context.Background(), "", "q", false, exchange.Publishing{Body: []byte("x")})
		}()
		start := time.Now()
		b.Wait(tribustest.QueueReady("q", 1))
		assert.Equal(t, time.Minute, time.Since(start), "woken by the publish, not by a poll")
	})
}

func TestWaitContext_TimeoutSaysWhatWasExpectedAndSeen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := tribustest.New(t)
		b.WaitTimeout = 5 * time.Second
		_, err := b.Router().QueueDeclare("q", exchange.QueueOptions{})
		require.NoError(t, err)
		require.NoError(t, b.Router().Publish(t.Context(), "", "q", false, exchange.Publishing{Body: []byte("x")}))

		start := time.Now()
		err = b.WaitContext(t.Context(), tribustest.QueueReady("q", 3))
		assert.Equal(t, 5*time.Second, time.Since(start))
		var we *tribustest.WaitError
		require.ErrorAs(t, err, &we)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, `queue "q" to hold 3 ready message(s)`, we.Condition)
		assert.Contains(t, we.Seen, "1 ready, 0 unacked")
		assert.Contains(t, err.Error(), "exchange enqueued")
	})
}

func TestWaitContext_EndsWithTheContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := tribustest.New(t)
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		err := b.WaitContext(ctx, tribustest.Subscribers("news", 1))
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Contains(t, err.Error(), "0 subscriber(s)")
	})
}

func TestWaitContext_AllConditionsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := tribustest.New(t)
		s := b.Session()
		_, err := s.QueueDeclare("q", exchange.QueueOptions{})
		require.NoError(t, err)
		c, err := s.Consume("q", exchange.ConsumeOptions{Prefetch: 1})
		require.NoError(t, err)
		for _, body := range []string{"a", "b"} {
			_, err := s.Publish(t.Context(), "", "q", false, exchange.Publishing{Body: []byte(body)})
			require.NoError(t, err)
		}
		b.Wait(tribustest.QueueConsumers("q", 1), tribustest.QueueUnacked("q", 1), tribustest.QueueReady("q", 1))
		d, err := c.Next(t.Context())
		require.NoError(t, err)
		require.NoError(t, d.Ack())
		b.Wait(tribustest.QueueAcked("q", 1), tribustest.QueueDelivered("q", 2), tribustest.QueueUnacked("q", 1))
	})
}

func TestWaitContext_ACheckErrorEndsTheWait(t *testing.T) {
	b := tribustest.New(t)
	boom := errors.New("boom")
	err := b.WaitContext(t.Context(), tribustest.Func("the impossible", func(*tribus.Broker) (bool, string, error) {
		return false, "nothing", boom
	}))
	assert.ErrorIs(t, err, boom)
}

func TestWait_FailsTheTestWithTheWaitError(t *testing.T) {
	rec := newRecorder(t)
	var errs []string
	synctest.Test(t, func(t *testing.T) {
		b := tribustest.New(rec)
		rec.run(func() { b.Wait(tribustest.QueueReady("missing", 1)) })
		errs = rec.finish() // inside the bubble the broker was made in
	})
	require.NotEmpty(t, errs)
	assert.Contains(t, errs[0], `queue "missing" to hold 1 ready message(s): saw no such queue`)
}

func TestWait_GroupAndOffsets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := tribustest.New(t)
		l := b.Log()
		require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{Partitions: 1}))
		c, err := l.NewGroupConsumer(tlog.GroupConsumerOptions{GroupID: "g", Topics: []string{"t"}, Reset: tlog.ResetEarliest})
		require.NoError(t, err)
		defer c.Close()
		go func() {
			for {
				if _, err := c.Poll(context.Background()); err != nil {
					return
				}
			}
		}()
		b.Wait(tribustest.GroupStable("g", 1))
		for range 3 {
			_, err := l.Produce(t.Context(), "t", tlog.Record{Value: []byte("v")})
			require.NoError(t, err)
		}
		b.Wait(tribustest.TopicEnd("t", 0, 3), tribustest.Committed("g", "t", 0, 3), tribustest.LagZero("g"))
		b.CheckCommitted("g", map[tlog.TopicPartition]int64{{Topic: "t", Partition: 0}: 3})
	})
}

func TestCheckQueue_ReportsTheDifference(t *testing.T) {
	rec := newRecorder(t)
	b := tribustest.New(rec)
	_, err := b.Router().QueueDeclare("q", exchange.QueueOptions{})
	require.NoError(t, err)
	for _, body := range []string{"a", "b"} {
		require.NoError(t, b.Router().Publish(t.Context(), "", "q", false, exchange.Publishing{Body: []byte(body)}))
	}
	assert.True(t, b.CheckQueue("q", "a", "b"))
	assert.False(t, b.CheckQueue("q", "b", "a"))
	errs := rec.finish()
	require.Len(t, errs, 1)
	assert.Equal(t, `tribustest: queue "q" holds ["a" "b"], want ["b" "a"]`, errs[0])
}

func TestCheckDeadLettered_ReportsEachDifference(t *testing.T) {
	rec := newRecorder(t)
	b := tribustest.New(rec)
	r := b.Router()
	require.NoError(t, r.ExchangeDeclare("dlx", exchange.Fanout, exchange.ExchangeOptions{}))
	_, err := r.QueueDeclare("dead", exchange.QueueOptions{})
	require.NoError(t, err)
	require.NoError(t, r.QueueBind("dead", "dlx", "", nil))
	_, err = r.QueueDeclare("q", exchange.QueueOptions{DeadLetterExchange: "dlx", MaxLength: 1})
	require.NoError(t, err)
	for _, body := range []string{"first", "second"} { // the first is dropped from the head
		require.NoError(t, r.Publish(t.Context(), "", "q", false, exchange.Publishing{Body: []byte(body)}))
	}
	d, err := r.Get("dead", true)
	require.NoError(t, err)
	assert.True(t, b.CheckDeadLettered(d, exchange.Death{Queue: "q", Reason: "maxlen", Count: 1}))
	assert.False(t, b.CheckDeadLettered(d, exchange.Death{Queue: "other", Reason: "expired", Count: 2}))
	errs := rec.finish()
	require.Len(t, errs, 1)
	assert.Contains(t, errs[0], `queue "q", want "other", reason "maxlen", want "expired", count 1, want 2`)
}

func TestCheckNoDelivery_ProvesSilenceInsideABubble(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := tribustest.New(t)
		s := b.Session()
		_, err := s.QueueDeclare("q", exchange.QueueOptions{MessageTTL: time.Second})
		require.NoError(t, err)
		c, err := s.Consume("q", exchange.ConsumeOptions{})
		require.NoError(t, err)
		assert.True(t, b.CheckNoDelivery(c))
	})
}

func TestCheckNoDelivery_ReportsWhatArrived(t *testing.T) {
	rec := newRecorder(t)
	synctest.Test(t, func(t *testing.T) {
		b := tribustest.New(rec)
		s, err := b.Router().NewSession()
		require.NoError(t, err)
		_, err = s.QueueDeclare("q", exchange.QueueOptions{})
		require.NoError(t, err)
		c, err := s.Consume("q", exchange.ConsumeOptions{})
		require.NoError(t, err)
		_, err = s.Publish(t.Context(), "", "q", false, exchange.Publishing{Body: []byte("surprise")})
		require.NoError(t, err)
		assert.False(t, b.CheckNoDelivery(c))
		b.Wait(tribustest.QueueDelivered("q", 2)) // requeued by the check, and delivered again
		rec.finish()
	})
	errs := rec.errors
	require.Len(t, errs, 1)
	assert.Contains(t, errs[0], `was delivered "surprise"`)
}

func TestCheckNoDelivery_OutsideABubbleSaysWhy(t *testing.T) {
	rec := newRecorder(t)
	b := tribustest.New(rec)
	c, err := b.Router().Consume(mustQueue(t, b), exchange.ConsumeOptions{})
	require.NoError(t, err)
	assert.False(t, b.CheckNoDelivery(c))
	errs := rec.finish()
	require.Len(t, errs, 1)
	assert.True(t, strings.HasPrefix(errs[0], "tribustest: CheckNoDelivery must run inside synctest.Test"), errs[0])
}

func mustQueue(t *testing.T, b *tribustest.Broker) string {
	t.Helper()
	_, err := b.Router().QueueDeclare("q", exchange.QueueOptions{})
	require.NoError(t, err)
	return "q"
}
