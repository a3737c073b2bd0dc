package exchange_test

import (
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/exchange"
)

// A dropped publish succeeds (and is confirmed) but reaches no queue, on both publish paths;
// a failed one returns the hook's error and routes nothing.
func TestFaults_BeforePublishDropsOrFails(t *testing.T) {
	boom := errors.New("boom")
	var verdict struct {
		drop bool
		err  error
	}
	r, err := exchange.New(&exchange.Options{Faults: &exchange.Faults{
		BeforePublish: func(_ *exchange.Session, exchange, key string, msg exchange.Publishing) (bool, error) {
			return verdict.drop, verdict.err
		}}})
	require.NoError(t, err)
	defer r.Close()
	s, err := r.NewSession()
	require.NoError(t, err)
	_, err = s.QueueDeclare("q", exchange.QueueOptions{})
	require.NoError(t, err)
	require.NoError(t, s.Confirm())

	verdict.drop = true
	conf, err := s.Publish(t.Context(), "", "q", true, exchange.Publishing{Body: []byte("lost")})
	require.NoError(t, err, "a dropped mandatory publish is not returned: the broker never saw it")
	assert.True(t, conf.Ack)
	var mu sync.Mutex
	var confs []exchange.Confirmation
	p, err := s.NewPublisher(10, func(c exchange.Confirmation) { mu.Lock(); confs = append(confs, c); mu.Unlock() })
	require.NoError(t, err)
	_, err = p.Publish(t.Context(), "", "q", false, exchange.Publishing{Body: []byte("lost too")})
	require.NoError(t, err)
	verdict.drop = false
	_, err = p.Publish(t.Context(), "", "q", false, exchange.Publishing{Body: []byte("kept")})
	require.NoError(t, err)
	require.NoError(t, p.Close())
	assert.Equal(t, []exchange.Confirmation{{DeliveryTag: 2, Ack: true}, {DeliveryTag: 3, Ack: true}}, confs, "confirmed in order")

	verdict.err = boom
	_, err = s.Publish(t.Context(), "", "q", false, exchange.Publishing{Body: []byte("failed")})
	assert.ErrorIs(t, err, boom)
	info, err := r.QueueInfo("q")
	require.NoError(t, err)
	assert.Equal(t, 1, info.Ready, "only the kept message arrived")
	assert.Equal(t, uint64(1), info.Published)
}

// A settle the hook fails is not applied: the delivery stays unacked, and the hook is told
// the queue, tag and method.
func TestFaults_BeforeSettleFailureLeavesTheDeliveryUnacked(t *testing.T) {
	boom := errors.New("boom")
	type call struct {
		queue    string
		tag      uint64
		multiple bool
		op       string
	}
	var calls []call
	r, err := exchange.New(&exchange.Options{Faults: &exchange.Faults{
		BeforeSettle: func(_ *exchange.Session, queue string, tag uint64, multiple bool, op string) error {
			calls = append(calls, call{queue, tag, multiple, op})
			if op == "ack" {
				return boom
			}
			return nil
		}}})
	require.NoError(t, err)
	defer r.Close()
	_, d := oneUnacked(t, r)

	assert.ErrorIs(t, d.Ack(), boom)
	info, err := r.QueueInfo("q")
	require.NoError(t, err)
	assert.Equal(t, 1, info.Unacked, "the failed ack changed nothing")
	require.NoError(t, d.Nack(true))
	assert.Equal(t, []call{{"q", 1, false, "ack"}, {"q", 1, false, "nack"}}, calls)
	info, err = r.QueueInfo("q")
	require.NoError(t, err)
	assert.Equal(t, 1, info.Ready)
}

// ErrRequeueInstead turns an ack into a requeue that the client is told succeeded: the
// message comes back, redelivered.
func TestFaults_RequeueInsteadRedelivers(t *testing.T) {
	once := true
	r, err := exchange.New(&exchange.Options{Faults: &exchange.Faults{
		BeforeSettle: func(*exchange.Session, string, uint64, bool, string) error {
			if once {
				once = false
				return exchange.ErrRequeueInstead
			}
			return nil
		}}})
	require.NoError(t, err)
	defer r.Close()
	s, d := oneUnacked(t, r)
	require.NoError(t, d.Ack(), "the client believes it acked")
	again, err := s.Get("q", false)
	require.NoError(t, err)
	assert.True(t, again.Redelivered)
	require.NoError(t, again.Ack())
	info, err := r.QueueInfo("q")
	require.NoError(t, err)
	assert.Zero(t, info.Ready+info.Unacked)
}

// oneUnacked publishes one message to a new queue q and gets it, unacked, on a new session.
func oneUnacked(t *testing.T, r *exchange.Router) (*exchange.Session, *exchange.Delivery) {
	t.Helper()
	s, err := r.NewSession()
	require.NoError(t, err)
	_, err = s.QueueDeclare("q", exchange.QueueOptions{})
	require.NoError(t, err)
	_, err = s.Publish(t.Context(), "", "q", false, exchange.Publishing{Body: []byte("m")})
	require.NoError(t, err)
	d, err := s.Get("q", false)
	require.NoError(t, err)
	return s, d
}

// A delivery DeliveryDelay holds back is unacked at once and handed out after the delay.
func TestFaults_DeliveryDelayHoldsTheDeliveryBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, err := exchange.New(&exchange.Options{Faults: &exchange.Faults{
			DeliveryDelay: func(queue, tag string) time.Duration { return time.Minute }}})
		require.NoError(t, err)
		defer r.Close()
		_, err = r.QueueDeclare("q", exchange.QueueOptions{})
		require.NoError(t, err)
		c, err := r.Consume("q", exchange.ConsumeOptions{})
		require.NoError(t, err)
		start := time.Now()
		require.NoError(t, r.Publish(t.Context(), "", "q", false, exchange.Publishing{Body: []byte("m")}))
		info, err := r.QueueInfo("q")
		require.NoError(t, err)
		assert.Equal(t, 1, info.Unacked)
		_, err = c.Next(t.Context())
		require.NoError(t, err)
		assert.Equal(t, time.Minute, time.Since(start))
	})
}

// A hook is told whether a publish came through the Router's own shared connection
// (Router.Publish), which a fault must not close, or through a connection of the caller's.
func TestFaults_SharedConnectionIsTheRoutersOwn(t *testing.T) {
	var shared []bool
	r, err := exchange.New(&exchange.Options{Faults: &exchange.Faults{
		BeforePublish: func(s *exchange.Session, _, _ string, _ exchange.Publishing) (bool, error) {
			shared = append(shared, s.Connection().Shared())
			return false, nil
		}}})
	require.NoError(t, err)
	defer r.Close()
	require.NoError(t, r.Publish(t.Context(), "", "q", false, exchange.Publishing{}))
	s, err := r.NewSession()
	require.NoError(t, err)
	_, err = s.Publish(t.Context(), "", "q", false, exchange.Publishing{})
	require.NoError(t, err)
	assert.Equal(t, []bool{true, false}, shared)
}
