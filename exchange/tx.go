package exchange

import (
	"context"
	"errors"
	"fmt"
)

// AMQP transactions (tx.select, tx.commit, tx.rollback). On a transactional session publishes
// and settlements are checked when made (a missing exchange is 404, an unknown delivery tag
// 406, at once) but take effect only at [Session.TxCommit], in the order they were made;
// [Session.TxRollback] discards the publishes and makes the settled deliveries unacked again.
// A session is either transactional or in confirm mode, never both (A18).

// txState is a transactional session's work since its last commit or rollback. Guarded by
// Session.txMu.
type txState struct {
	pubs    []txPublish
	settles []txSettle
}

type txPublish struct {
	exchange, key string
	mandatory     bool
	msg           Publishing
}

type txSettle struct {
	ps      []*pending
	op      settleOp
	requeue bool
}

// pendings returns every delivery the transaction settled, in the order it settled them.
func (t *txState) pendings() []*pending {
	var ps []*pending
	for _, st := range t.settles {
		ps = append(ps, st.ps...)
	}
	return ps
}

// Tx makes the session transactional (tx.select). Selecting it again is a no-op; on a session
// in confirm mode it is ErrPreconditionFailed, which closes the session (A18).
func (s *Session) Tx() error {
	if err := s.state(); err != nil {
		return err
	}
	s.pubMu.Lock()
	confirm := s.confirm
	if !confirm {
		s.txMu.Lock()
		if s.tx == nil {
			s.tx = &txState{}
			s.txMode.Store(true)
		}
		s.txMu.Unlock()
	}
	s.pubMu.Unlock()
	if confirm {
		return s.fail(fmt.Errorf("%w: cannot switch from confirm to tx mode", ErrPreconditionFailed))
	}
	return nil
}

// TxCommit is tx.commit: the transaction's publishes are routed and enqueued, persistent ones
// written to the store, and then its acks, nacks and rejects applied, all in the order they
// were made; a mandatory publish that reaches no queue is returned to the NotifyReturn
// function then. ctx is for the waits a publish makes (the store, a resource alarm). If a
// publish fails (its exchange was deleted since), the session closes with that error and the
// rest of the transaction is discarded, its settled deliveries requeued. On a session that is
// not transactional it is ErrPreconditionFailed.
func (s *Session) TxCommit(ctx context.Context) error {
	t, err := s.takeTx()
	if err != nil {
		return err
	}
	s.pubMu.Lock()
	for _, p := range t.pubs {
		if err := s.r.admit(ctx); err != nil {
			s.pubMu.Unlock()
			s.requeueAll(t.pendings())
			return err
		}
		var ret *ReturnedError
		if _, err := s.route(ctx, p.exchange, p.key, p.mandatory, p.msg); err != nil && !errors.As(err, &ret) {
			s.pubMu.Unlock()
			s.requeueAll(t.pendings())
			return err
		}
	}
	s.pubMu.Unlock()
	for _, st := range t.settles {
		s.apply(st.ps, st.op, st.requeue)
	}
	return nil
}

// TxRollback is tx.rollback: the transaction's publishes are discarded and the deliveries it
// acked, nacked or rejected are unacked again, to be settled anew. On a session that is not
// transactional it is ErrPreconditionFailed.
func (s *Session) TxRollback() error {
	t, err := s.takeTx()
	if err != nil {
		return err
	}
	s.pendMu.Lock()
	for _, p := range t.pendings() {
		s.pending.add(p.d.DeliveryTag, p)
	}
	s.pendMu.Unlock()
	if s.state() != nil {
		// The session closed meanwhile, and may have requeued its unacked deliveries before
		// these were back among them: whatever is still there is requeued here.
		s.pendMu.Lock()
		ps := s.pending.takeUpTo(0, nil)
		s.pendMu.Unlock()
		s.requeueAll(ps)
	}
	return nil
}

// takeTx ends the current transaction and starts the next, returning what the ended one did.
func (s *Session) takeTx() (*txState, error) {
	if err := s.state(); err != nil {
		return nil, err
	}
	s.txMu.Lock()
	t := s.tx
	if t != nil {
		s.tx = &txState{}
	}
	s.txMu.Unlock()
	if t == nil {
		return nil, s.fail(fmt.Errorf("%w: channel is not transactional", ErrPreconditionFailed))
	}
	return t, nil
}

// txPublish records a publish of a transactional session; it reports false when the session
// is not transactional. msg is copied: the caller may reuse it once Publish returns.
func (s *Session) txPublish(exchange, key string, mandatory bool, msg Publishing) bool {
	s.txMu.Lock()
	defer s.txMu.Unlock()
	if s.tx == nil {
		return false
	}
	msg.Body = append([]byte(nil), msg.Body...)
	msg.Headers = msg.Headers.clone()
	s.tx.pubs = append(s.tx.pubs, txPublish{exchange, key, mandatory, msg})
	return true
}

// txSettle records settlements of a transactional session; it reports false when the session
// is not transactional.
func (s *Session) txSettle(ps []*pending, op settleOp, requeue bool) bool {
	s.txMu.Lock()
	defer s.txMu.Unlock()
	if s.tx == nil {
		return false
	}
	s.tx.settles = append(s.tx.settles, txSettle{append([]*pending(nil), ps...), op, requeue})
	return true
}

// dropTx ends the session's transaction for good, returning the deliveries it had settled.
func (s *Session) dropTx() []*pending {
	s.txMu.Lock()
	defer s.txMu.Unlock()
	if s.tx == nil {
		return nil
	}
	ps := s.tx.pendings()
	s.tx = nil
	return ps
}
