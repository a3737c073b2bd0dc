package exchange_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/exchange"
)

// The tests in this file run on synctest's fake clock: time.Sleep advances it, and
// synctest.Wait lets the router's TTL and x-expires timers finish before the assertions.

// getUnacked fetches the head of queue without auto-ack and fails if the queue is empty.
func getUnacked(t *testing.T, s *exchange.Session, queue string) *exchange.Delivery {
	t.Helper()
	d, err := s.Get(queue, false)
	require.NoError(t, err)
	require.NotNil(t, d, "queue %q is empty", queue)
	return d
}

// sleepThenWait advances the fake clock and lets every timer that came due finish.
func sleepThenWait(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}

func queueExists(r *exchange.Router, name string) bool {
	_, err := r.QueueInfo(name)
	return err == nil
}

func TestTTL_A27_ExpiredNeverDelivered(t *testing.T) {
	t.Run("get", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := newRouter(t)
			s := newSession(t, r)
			declareQueue(t, s, "q", exchange.QueueOptions{MessageTTL: 10 * time.Second})
			publish(t, s, "", "q", "old")
			sleepThenWait(5 * time.Second)
			publish(t, s, "", "q", "young")
			sleepThenWait(5*time.Second - time.Millisecond)
			assert.Equal(t, 2, ready(t, r, "q"), "just under the TTL both are alive")

			sleepThenWait(2 * time.Millisecond)
			assert.Equal(t, 1, ready(t, r, "q"), "the timer removed the expired head")
			assert.Equal(t, []string{"young"}, bodies(t, s, "q"))
			info, err := r.QueueInfo("q")
			require.NoError(t, err)
			assert.Equal(t, map[string]uint64{"expired": 1}, info.Dropped, "without a DLX an expired message is dropped")
			assert.Zero(t, info.DeadLettered)
		})
	})
	t.Run("consumer", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := newRouter(t)
			s := newSession(t, r)
			declareQueue(t, s, "q", exchange.QueueOptions{MessageTTL: 10 * time.Second})
			c, err := s.Consume("q", exchange.ConsumeOptions{Prefetch: 1})
			require.NoError(t, err)
			publish(t, s, "", "q", "a")
			publish(t, s, "", "q", "b") // waits behind a: the consumer has no room
			first := next(t, c)
			assert.Equal(t, "a", string(first.Body))

			sleepThenWait(11 * time.Second) // a is unacked, so it does not expire; b does
			require.NoError(t, first.Ack())
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			_, err = c.Next(ctx)
			assert.ErrorIs(t, err, context.Canceled, "the expired message is never pushed")
			info, err := r.QueueInfo("q")
			require.NoError(t, err)
			assert.Equal(t, uint64(1), info.Delivered)
			assert.Equal(t, uint64(1), info.Dropped["expired"])
			assert.Zero(t, info.Ready)
		})
	})
	// Reference: A27, rabbitmq.com/docs/ttl#per-queue-message-ttl
}

func TestTTL_A28_PerMessageExpirationLowerWins(t *testing.T) {
	cases := []struct {
		name       string
		queueTTL   time.Duration // 0: none
		expiration string
		lives      time.Duration
	}{
		{"message only", 0, "3000", 3 * time.Second},
		{"message lower than queue", 10 * time.Second, "2000", 2 * time.Second},
		{"queue lower than message", 2 * time.Second, "10000", 2 * time.Second},
		{"equal", 4 * time.Second, "4000", 4 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRouter(t)
				s := newSession(t, r)
				declareQueue(t, s, "q", exchange.QueueOptions{MessageTTL: tc.queueTTL})
				publishMsg(t, s, "", "q", exchange.Publishing{Expiration: tc.expiration, Body: []byte("m")})
				sleepThenWait(tc.lives - time.Millisecond)
				assert.Equal(t, 1, ready(t, r, "q"))
				sleepThenWait(2 * time.Millisecond)
				assert.Equal(t, 0, ready(t, r, "q"))
			})
		})
	}
	t.Run("passed through to the consumer", func(t *testing.T) {
		r := newRouter(t)
		s := newSession(t, r)
		declareQueue(t, s, "q", exchange.QueueOptions{})
		publishMsg(t, s, "", "q", exchange.Publishing{Expiration: "60000"})
		d := getUnacked(t, s, "q")
		assert.Equal(t, "60000", d.Expiration)
	})
	for _, bad := range []string{"abc", "-1", "1.5", "10s"} {
		t.Run("invalid "+bad, func(t *testing.T) {
			r := newRouter(t)
			s := newSession(t, r)
			declareQueue(t, s, "q", exchange.QueueOptions{})
			_, err := s.Publish(context.Background(), "", "q", false, exchange.Publishing{Expiration: bad})
			require.ErrorIs(t, err, exchange.ErrPreconditionFailed)
			assert.Equal(t, 406, exchange.ReplyCode(err))
			assert.ErrorIs(t, s.Err(), exchange.ErrPreconditionFailed, "the channel is closed")
			assert.Equal(t, 0, ready(t, r, "q"))
		})
	}
	// Reference: A28, rabbitmq.com/docs/ttl#per-message-ttl-in-publishers
}

func TestTTL_A29_RequeueKeepsOriginalExpiry(t *testing.T) {
	t.Run("requeued before expiry", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := newRouter(t)
			s := newSession(t, r)
			declareQueue(t, s, "q", exchange.QueueOptions{MessageTTL: 10 * time.Second})
			publish(t, s, "", "q", "m")
			sleepThenWait(4 * time.Second)
			d := getUnacked(t, s, "q")
			sleepThenWait(2 * time.Second)
			require.NoError(t, d.Nack(true))
			assert.Equal(t, 1, ready(t, r, "q"))

			sleepThenWait(4*time.Second - time.Millisecond) // 9.999 s after publishing
			assert.Equal(t, 1, ready(t, r, "q"))
			sleepThenWait(2 * time.Millisecond) // 10.001 s: the original expiry, not 16 s
			assert.Equal(t, 0, ready(t, r, "q"))
			info, err := r.QueueInfo("q")
			require.NoError(t, err)
			assert.Equal(t, uint64(1), info.Dropped["expired"])
		})
	})
	t.Run("requeued after expiry", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := newRouter(t)
			s := newSession(t, r)
			declareQueue(t, s, "q", exchange.QueueOptions{})
			publishMsg(t, s, "", "q", exchange.Publishing{Expiration: "1000", Body: []byte("m")})
			d := getUnacked(t, s, "q")
			sleepThenWait(5 * time.Second) // an unacked message does not expire
			require.NoError(t, d.Reject(true))
			synctest.Wait()
			got, err := s.Get("q", true)
			require.NoError(t, err)
			assert.Nil(t, got, "back in the queue past its expiry, it is never delivered again")
			assert.Equal(t, 0, ready(t, r, "q"))
		})
	})
	// Reference: A29, rabbitmq.com/docs/ttl
}

func TestTTL_A30_ZeroTTLExpiresUnlessConsumerTakesItAtOnce(t *testing.T) {
	ttl0 := exchange.Table{"x-message-ttl": int64(0)}
	cases := []struct {
		name string
		opts exchange.QueueOptions
		msg  exchange.Publishing
	}{
		{"x-message-ttl 0", exchange.QueueOptions{Args: ttl0}, exchange.Publishing{Body: []byte("m")}},
		{"expiration 0", exchange.QueueOptions{}, exchange.Publishing{Expiration: "0", Body: []byte("m")}},
	}
	for _, tc := range cases {
		t.Run(tc.name+"/consumer with room", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRouter(t)
				s := newSession(t, r)
				declareQueue(t, s, "q", tc.opts)
				c, err := s.Consume("q", exchange.ConsumeOptions{})
				require.NoError(t, err)
				publishMsg(t, s, "", "q", tc.msg)
				assert.Equal(t, "m", string(next(t, c).Body))
				info, err := r.QueueInfo("q")
				require.NoError(t, err)
				assert.Empty(t, info.Dropped)
			})
		})
		t.Run(tc.name+"/consumer without room", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRouter(t)
				s := newSession(t, r)
				declareQueue(t, s, "q", tc.opts)
				c, err := s.Consume("q", exchange.ConsumeOptions{Prefetch: 1})
				require.NoError(t, err)
				publish(t, s, "", "q", "filler") // taken at once: it fills the consumer's one slot
				assert.Equal(t, "filler", string(next(t, c).Body))
				publishMsg(t, s, "", "q", tc.msg)
				synctest.Wait()
				info, err := r.QueueInfo("q")
				require.NoError(t, err)
				assert.Zero(t, info.Ready)
				assert.Equal(t, 1, info.Unacked)
				assert.Equal(t, uint64(1), info.Dropped["expired"], "the zero-TTL message expired on arrival")
			})
		})
		t.Run(tc.name+"/no consumer, dead-lettered", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRouter(t)
				s := newSession(t, r)
				require.NoError(t, s.ExchangeDeclare("dlx", exchange.Fanout, exchange.ExchangeOptions{}))
				declareQueue(t, s, "dlq", exchange.QueueOptions{})
				require.NoError(t, s.QueueBind("dlq", "dlx", "", nil))
				o := tc.opts
				o.DeadLetterExchange = "dlx"
				declareQueue(t, s, "q", o)
				_, err := s.Publish(context.Background(), "", "q", true, tc.msg)
				require.NoError(t, err, "routed to a queue: no basic.return even though it expired at once")
				assert.Equal(t, 0, ready(t, r, "q"))
				d := getUnacked(t, s, "dlq")
				assert.Equal(t, "m", string(d.Body))
				assert.Equal(t, "expired", d.Headers["x-first-death-reason"])
			})
		})
		t.Run(tc.name+"/no consumer, no DLX", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRouter(t)
				s := newSession(t, r)
				declareQueue(t, s, "q", tc.opts)
				publishMsg(t, s, "", "q", tc.msg)
				info, err := r.QueueInfo("q")
				require.NoError(t, err)
				assert.Zero(t, info.Ready)
				assert.Equal(t, uint64(1), info.Dropped["expired"])
			})
		})
	}
	// Reference: A30, rabbitmq.com/docs/ttl
}

func TestTTL_A31_ExpiredBehindHeadCountedUntilHeadTaken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRouter(t)
		s := newSession(t, r)
		declareQueue(t, s, "q", exchange.QueueOptions{})
		publishMsg(t, s, "", "q", exchange.Publishing{Expiration: "60000", Body: []byte("long")})
		publishMsg(t, s, "", "q", exchange.Publishing{Expiration: "1000", Body: []byte("short")})
		publish(t, s, "", "q", "forever")
		sleepThenWait(5 * time.Second)
		assert.Equal(t, 3, ready(t, r, "q"), "short has expired but sits behind the head: still counted")

		d := getUnacked(t, s, "q")
		assert.Equal(t, "long", string(d.Body))
		assert.Equal(t, 1, d.MessageCount, "the get-ok count already excludes the expired message (§1.3b)")
		assert.Equal(t, 1, ready(t, r, "q"))
		info, err := r.QueueInfo("q")
		require.NoError(t, err)
		assert.Equal(t, uint64(1), info.Dropped["expired"])
		assert.Equal(t, []string{"forever"}, bodies(t, s, "q"))
	})
	// Reference: A31, rabbitmq.com/docs/ttl#per-message-ttl-applied-retroactively; SEMANTICS.md §1.3b
}

func TestTTL_A32_QueueExpiresWhenUnused(t *testing.T) {
	const expires = 10 * time.Second
	t.Run("unused", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := newRouter(t)
			s := newSession(t, r)
			declareQueue(t, s, "q", exchange.QueueOptions{Expires: expires})
			publish(t, s, "", "q", "publishing is not a use")
			sleepThenWait(expires - time.Millisecond)
			assert.True(t, queueExists(r, "q"))
			sleepThenWait(2 * time.Millisecond)
			assert.False(t, queueExists(r, "q"))
			_, err := s.Get("q", true)
			assert.ErrorIs(t, err, exchange.ErrNotFound)
		})
	})
	t.Run("get renews", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := newRouter(t)
			s := newSession(t, r)
			declareQueue(t, s, "q", exchange.QueueOptions{Expires: expires})
			sleepThenWait(6 * time.Second)
			d, err := s.Get("q", true) // even a get-empty is a use
			require.NoError(t, err)
			assert.Nil(t, d)
			sleepThenWait(expires - time.Millisecond)
			assert.True(t, queueExists(r, "q"))
			sleepThenWait(2 * time.Millisecond)
			assert.False(t, queueExists(r, "q"))
		})
	})
	t.Run("redeclare renews", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := newRouter(t)
			s := newSession(t, r)
			declareQueue(t, s, "q", exchange.QueueOptions{Expires: expires})
			sleepThenWait(6 * time.Second)
			declareQueue(t, s, "q", exchange.QueueOptions{Expires: expires})
			sleepThenWait(expires - time.Millisecond)
			assert.True(t, queueExists(r, "q"))
			sleepThenWait(2 * time.Millisecond)
			assert.False(t, queueExists(r, "q"))
		})
	})
	t.Run("quorum redeclare does not renew", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := newRouter(t)
			s := newSession(t, r)
			o := exchange.QueueOptions{Durable: true, QueueType: "quorum", Expires: expires}
			declareQueue(t, s, "q", o)
			sleepThenWait(6 * time.Second)
			declareQueue(t, s, "q", o)
			sleepThenWait(4*time.Second + time.Millisecond)
			assert.False(t, queueExists(r, "q"))
		})
	})
	t.Run("consumer keeps it alive", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := newRouter(t)
			s := newSession(t, r)
			declareQueue(t, s, "q", exchange.QueueOptions{Expires: expires})
			c, err := s.Consume("q", exchange.ConsumeOptions{})
			require.NoError(t, err)
			sleepThenWait(time.Hour)
			assert.True(t, queueExists(r, "q"))
			require.NoError(t, c.Cancel())
			sleepThenWait(expires - time.Millisecond)
			assert.True(t, queueExists(r, "q"), "the lease starts when the last consumer goes")
			sleepThenWait(2 * time.Millisecond)
			assert.False(t, queueExists(r, "q"))
		})
	})
	// Messages of an expired queue are not dead-lettered: TestDeadLetter_A46_ExpiredQueueIsNotDeadLettered.
	// Reference: A32, rabbitmq.com/docs/ttl#queue-ttl
}
