package exchange_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/exchange"
)

func txSession(t *testing.T, r *exchange.Router) *exchange.Session {
	t.Helper()
	s := newSession(t, r)
	require.NoError(t, s.Tx())
	return s
}

// On a transactional channel publishes are enqueued at tx.commit, in order, and discarded at
// tx.rollback.
func TestTx_PublishesTakeEffectAtCommitAndAreDiscardedAtRollback(t *testing.T) {
	r := newRouter(t)
	s := txSession(t, r)
	declareQueue(t, s, "q", exchange.QueueOptions{})
	publish(t, s, "", "q", "a")
	publish(t, s, "", "q", "b")
	assert.Equal(t, 0, ready(t, r, "q"), "nothing before the commit")
	require.NoError(t, s.TxCommit(context.Background()))
	assert.Equal(t, 2, ready(t, r, "q"))

	publish(t, s, "", "q", "dropped")
	require.NoError(t, s.TxRollback())
	require.NoError(t, s.TxCommit(context.Background()), "a commit after a rollback commits nothing")
	assert.Equal(t, []string{"a", "b"}, bodies(t, newSession(t, r), "q"))
	// Reference: AMQP 0-9-1 tx class; rabbitmq.com/docs/semantics
}

// Acks, nacks and rejects on a transactional channel take effect at commit; a rollback makes
// the deliveries unacked again, so they can be settled anew or come back when the channel
// closes.
func TestTx_SettlementsTakeEffectAtCommitAndRollbackMakesThemUnacked(t *testing.T) {
	r := newRouter(t)
	_, err := r.QueueDeclare("q", exchange.QueueOptions{})
	require.NoError(t, err)
	for _, b := range []string{"a", "b", "c"} {
		require.NoError(t, r.Publish(context.Background(), "", "q", false, exchange.Publishing{Body: []byte(b)}))
	}
	s := txSession(t, r)
	var ds []*exchange.Delivery
	for range 3 {
		d, err := s.Get("q", false)
		require.NoError(t, err)
		ds = append(ds, d)
	}
	require.NoError(t, ds[0].Ack())
	require.NoError(t, ds[1].Nack(true))
	info, err := r.QueueInfo("q")
	require.NoError(t, err)
	assert.Equal(t, 0, info.Ready, "the nack's requeue waits for the commit")
	assert.Equal(t, 3, info.Unacked)
	assert.ErrorIs(t, s.Ack(ds[0].DeliveryTag, false), exchange.ErrPreconditionFailed, "a tag settled in the transaction is not outstanding")

	s = txSession(t, r)
	_, err = r.QueueDeclare("q2", exchange.QueueOptions{})
	require.NoError(t, err)
	require.NoError(t, r.Publish(context.Background(), "", "q2", false, exchange.Publishing{Body: []byte("x")}))
	d, err := s.Get("q2", false)
	require.NoError(t, err)
	require.NoError(t, d.Ack())
	require.NoError(t, s.TxRollback())
	info, err = r.QueueInfo("q2")
	require.NoError(t, err)
	assert.Equal(t, 1, info.Unacked, "rolled back: still unacked")
	require.NoError(t, s.Ack(d.DeliveryTag, false), "and can be acked again")
	require.NoError(t, s.TxCommit(context.Background()))
	info, err = r.QueueInfo("q2")
	require.NoError(t, err)
	assert.Equal(t, 0, info.Unacked+info.Ready, "acked at the commit")
	// Reference: rabbit_channel's tx.rollback returns the transaction's acks to the unacked list
}

func TestTx_CommitAppliesSettlementsInOrder(t *testing.T) {
	r := newRouter(t)
	_, err := r.QueueDeclare("q", exchange.QueueOptions{})
	require.NoError(t, err)
	for _, b := range []string{"a", "b"} {
		require.NoError(t, r.Publish(context.Background(), "", "q", false, exchange.Publishing{Body: []byte(b)}))
	}
	s := txSession(t, r)
	a, err := s.Get("q", false)
	require.NoError(t, err)
	b, err := s.Get("q", false)
	require.NoError(t, err)
	require.NoError(t, a.Ack())
	require.NoError(t, b.Reject(true))
	require.NoError(t, s.TxCommit(context.Background()))
	got := bodies(t, newSession(t, r), "q")
	assert.Equal(t, []string{"b"}, got, "a acked, b requeued")
}

// A channel is transactional or in confirm mode, never both: switching is 406 and closes it.
func TestTx_A18_ConfirmAndTxExcludeEachOther(t *testing.T) {
	r := newRouter(t)
	s := txSession(t, r)
	err := s.Confirm()
	assert.ErrorIs(t, err, exchange.ErrPreconditionFailed)
	assert.Contains(t, err.Error(), "cannot switch from tx to confirm mode")
	assert.Error(t, s.Err())

	s = newSession(t, r)
	require.NoError(t, s.Confirm())
	err = s.Tx()
	assert.ErrorIs(t, err, exchange.ErrPreconditionFailed)
	assert.Contains(t, err.Error(), "cannot switch from confirm to tx mode")

	s = txSession(t, r)
	_, err = s.NewPublisher(10, nil)
	assert.ErrorIs(t, err, exchange.ErrPreconditionFailed, "a pipelined publisher needs confirm mode")
	// Reference: A18 (rabbitmq.com/docs/confirms)
}

func TestTx_CommitOrRollbackWithoutSelectIsPreconditionFailed(t *testing.T) {
	r := newRouter(t)
	for name, op := range map[string]func(*exchange.Session) error{
		"commit":   func(s *exchange.Session) error { return s.TxCommit(context.Background()) },
		"rollback": func(s *exchange.Session) error { return s.TxRollback() },
	} {
		s := newSession(t, r)
		err := op(s)
		assert.ErrorIs(t, err, exchange.ErrPreconditionFailed, name)
		assert.Contains(t, err.Error(), "channel is not transactional", name)
		assert.Error(t, s.Err(), name)
	}
}

// A publish in a transaction to a missing exchange fails at once, as RabbitMQ looks the
// exchange up when the publish arrives; a mandatory one that reaches no queue is returned at
// commit.
func TestTx_PublishIsCheckedAtOnceAndReturnedAtCommit(t *testing.T) {
	r := newRouter(t)
	s := txSession(t, r)
	_, err := s.Publish(context.Background(), "missing", "k", false, exchange.Publishing{})
	assert.ErrorIs(t, err, exchange.ErrNotFound)
	assert.Error(t, s.Err())

	s = txSession(t, r)
	var returned []string
	s.NotifyReturn(func(ret *exchange.ReturnedError) { returned = append(returned, ret.RoutingKey) })
	_, err = s.Publish(context.Background(), "", "nowhere", true, exchange.Publishing{})
	require.NoError(t, err)
	assert.Empty(t, returned, "not before the commit")
	require.NoError(t, s.TxCommit(context.Background()))
	assert.Equal(t, []string{"nowhere"}, returned)
}

// Closing a transactional channel discards its uncommitted publishes and requeues what the
// open transaction had settled, with the rest of its unacked deliveries.
func TestTx_CloseDiscardsTheOpenTransaction(t *testing.T) {
	r := newRouter(t)
	_, err := r.QueueDeclare("q", exchange.QueueOptions{})
	require.NoError(t, err)
	require.NoError(t, r.Publish(context.Background(), "", "q", false, exchange.Publishing{Body: []byte("m")}))
	s := txSession(t, r)
	d, err := s.Get("q", false)
	require.NoError(t, err)
	require.NoError(t, d.Ack())
	publish(t, s, "", "q", "uncommitted")
	require.NoError(t, s.Close())
	got, err := newSession(t, r).Get("q", true)
	require.NoError(t, err)
	require.NotNil(t, got)
	assert.Equal(t, "m", string(got.Body))
	assert.True(t, got.Redelivered)
	assert.Equal(t, 0, ready(t, r, "q"), "the uncommitted publish is gone")
}
