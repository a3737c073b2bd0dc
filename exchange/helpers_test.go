package exchange_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/exchange"
)

func newRouter(t *testing.T) *exchange.Router {
	t.Helper()
	r, err := exchange.New(nil)
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })
	return r
}

func newSession(t *testing.T, r *exchange.Router) *exchange.Session {
	t.Helper()
	s, err := r.NewSession()
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func declareQueue(t *testing.T, s *exchange.Session, name string, o exchange.QueueOptions) string {
	t.Helper()
	info, err := s.QueueDeclare(name, o)
	require.NoError(t, err)
	return info.Name
}

func publish(t *testing.T, s *exchange.Session, ex, key string, body string) {
	t.Helper()
	_, err := s.Publish(context.Background(), ex, key, false, exchange.Publishing{Body: []byte(body)})
	require.NoError(t, err)
}

func publishMsg(t *testing.T, s *exchange.Session, ex, key string, msg exchange.Publishing) {
	t.Helper()
	_, err := s.Publish(context.Background(), ex, key, false, msg)
	require.NoError(t, err)
}

// bodies fetches every ready message of queue with auto-ack and returns the bodies in order.
func bodies(t *testing.T, s *exchange.Session, queue string) []string {
	t.Helper()
	var out []string
	for {
		d, err := s.Get(queue, true)
		require.NoError(t, err)
		if d == nil {
			return out
		}
		out = append(out, string(d.Body))
	}
}

func ready(t *testing.T, r *exchange.Router, queue string) int {
	t.Helper()
	info, err := r.QueueInfo(queue)
	require.NoError(t, err)
	return info.Ready
}

// next returns the delivery at the front of c's buffer; deliveries are pushed synchronously, so
// one is there or the test fails at once.
func next(t *testing.T, c *exchange.Consumer) *exchange.Delivery {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	d, err := c.Next(ctx)
	require.NoError(t, err)
	return d
}

// none asserts that c has nothing buffered.
func none(t *testing.T, c *exchange.Consumer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Next(ctx)
	require.ErrorIs(t, err, context.Canceled)
}

// deathBy returns how a test makes the message waiting in queue q die for reason: rejected
// without requeue, left to expire (its queue or message TTL must be a second), pushed out by a
// newer one published to ex with key (its queue's x-max-length must be 1), or rejected with
// requeue past a delivery limit of 1.
func deathBy(reason, ex, key string) func(t *testing.T, s *exchange.Session) {
	switch reason {
	case "rejected":
		return func(t *testing.T, s *exchange.Session) { require.NoError(t, getUnacked(t, s, "q").Reject(false)) }
	case "expired":
		return func(*testing.T, *exchange.Session) { sleepThenWait(time.Second) }
	case "maxlen":
		return func(t *testing.T, s *exchange.Session) { publish(t, s, ex, key, "newer") }
	case "delivery_limit":
		return func(t *testing.T, s *exchange.Session) {
			for range 2 {
				require.NoError(t, getUnacked(t, s, "q").Reject(true))
			}
		}
	}
	panic("deathBy: no such reason " + reason)
}
