package log

import (
	"fmt"
	"maps"
	"time"
)

// The transaction coordinator's requests (KIP-98), as a Kafka client drives them:
// InitProducerId with a transactional id, AddPartitionsToTxn before the first produce to a
// partition, AddOffsetsToTxn then TxnOffsetCommit for a group's offsets, and EndTxn. They
// run on the coordinator of txn.go; unlike the native TransactionalProducer, which keeps its
// own state and calls the coordinator directly, a remote client is checked at every request
// as a Kafka broker checks it.

// InitTransactionalID answers an InitProducerId request with transactional id id (K41): a
// new id gets a fresh producer id at epoch 0; a known one gets its epoch bumped, fencing
// every older producer with the id, after its open transaction is aborted (or, if it had
// decided to commit, finished). timeout is the transaction timeout the producer asks for
// (K44); outside (0, [MaxTransactionTimeout]] it is [ErrInvalidTransactionTimeout].
//
// A producer recovering from an error (KIP-360) passes the producer id and epoch it holds
// (−1, −1 otherwise): if they are the id's current ones the epoch is bumped; if they are the
// epoch just before (a retry of a bump that was answered but not received) the current ones
// come back unchanged; anything else is [ErrProducerFenced]. The new id and epoch are
// durable when it returns.
func (q *Requests) InitTransactionalID(id string, timeout time.Duration, pid int64, epoch int16) (int64, int16, error) {
	if id == "" {
		return 0, 0, fmt.Errorf("%w: empty transactional id", ErrInvalidConfig)
	}
	if timeout <= 0 || timeout > MaxTransactionTimeout {
		return 0, 0, fmt.Errorf("%w: %v is not within (0, %v]", ErrInvalidTransactionTimeout, timeout, MaxTransactionTimeout)
	}
	if err := q.l.checkOpen(); err != nil {
		return 0, 0, err
	}
	m := q.l.txns.get(id)
	m.mu.Lock()
	defer m.mu.Unlock()
	if pid >= 0 && m.pid >= 0 {
		switch {
		case pid == m.pid && epoch == m.epoch-1:
			return m.pid, m.epoch, nil
		case pid != m.pid || epoch != m.epoch:
			return 0, 0, fmt.Errorf("%w: transactional id %q: producer %d epoch %d, the current one is %d epoch %d",
				ErrProducerFenced, id, pid, epoch, m.pid, m.epoch)
		}
	}
	return q.l.initLocked(m, timeout)
}

// txnFor returns the state of transactional id id locked, after checking that pid and epoch
// are its current producer: a producer id it was never given is
// [ErrInvalidProducerIDMapping], an older epoch [ErrProducerFenced]. The caller unlocks m.mu.
func (q *Requests) txnFor(id string, pid int64, epoch int16) (*txnMeta, error) {
	if err := q.l.checkOpen(); err != nil {
		return nil, err
	}
	m := q.l.txns.lookup(id)
	if m == nil {
		return nil, fmt.Errorf("%w: transactional id %q was never initialised", ErrInvalidProducerIDMapping, id)
	}
	m.mu.Lock()
	if pid != m.pid {
		m.mu.Unlock()
		return nil, fmt.Errorf("%w: transactional id %q has producer %d, not %d", ErrInvalidProducerIDMapping, id, m.pid, pid)
	}
	if err := m.checkLocked(pid, epoch); err != nil {
		m.mu.Unlock()
		return nil, err
	}
	return m, nil
}

// beginTxn is txnFor, beginning the id's transaction if none is ongoing. One that has
// decided to commit but not finished is [ErrInvalidTxnState].
func (q *Requests) beginTxn(id string, pid int64, epoch int16) (*txnMeta, error) {
	m, err := q.txnFor(id, pid, epoch)
	if err != nil {
		return nil, err
	}
	if m.state == txnPrepareCommit {
		m.mu.Unlock()
		return nil, fmt.Errorf("%w: the transaction is committing", ErrInvalidTxnState)
	}
	q.l.beginLocked(m)
	return m, nil
}

// AddPartitionsToTxn adds partitions to the transaction of producer pid/epoch with
// transactional id id, beginning it if none is ongoing (its timeout starts then, K44). A
// producer must add a partition before its transactional batches may go there; when the
// transaction ends, every partition added gets its marker (K42). An unknown partition is
// [ErrUnknownTopic] and adds none of them.
func (q *Requests) AddPartitionsToTxn(id string, pid int64, epoch int16, tps []TopicPartition) error {
	parts := make([]*partition, len(tps))
	for i, tp := range tps {
		p, err := q.l.partition(tp.Topic, tp.Partition)
		if err != nil {
			return err
		}
		parts[i] = p
	}
	m, err := q.beginTxn(id, pid, epoch)
	if err != nil {
		return err
	}
	defer m.mu.Unlock()
	for _, p := range parts {
		m.parts[p] = struct{}{}
	}
	return nil
}

// AppendTransactionalBatch appends a transactional RecordBatch of the producer with
// transactional id id, checked as [Requests.AppendBatch] checks a batch, and then against
// the transaction: the batch's producer id and epoch must be the id's current ones
// ([ErrInvalidProducerIDMapping], [ErrProducerFenced]), and the partition must have been
// added to its ongoing transaction ([ErrInvalidTxnState]). Read-committed readers see it
// once the transaction commits (K43).
func (q *Requests) AppendTransactionalBatch(id, topic string, partition int32, batch []byte) (AppendResult, error) {
	p, h, err := q.checkAppend(topic, partition, batch)
	if err != nil {
		return AppendResult{}, err
	}
	if h.Attributes&attrTransactional == 0 || h.ProducerID < 0 {
		return AppendResult{}, fmt.Errorf("%w: a transactional produce carries transactional batches with a producer id", ErrInvalidRecord)
	}
	m, err := q.txnFor(id, h.ProducerID, h.ProducerEpoch)
	if err != nil {
		return AppendResult{}, err
	}
	defer m.mu.Unlock()
	if _, ok := m.parts[p]; !ok || m.state != txnOngoing {
		return AppendResult{}, fmt.Errorf("%w: %s was not added to transactional id %q's transaction", ErrInvalidTxnState, p.name(), id)
	}
	return p.writeBatch(batch, int(h.NumRecords), batchMeta{producerID: h.ProducerID, producerEpoch: h.ProducerEpoch,
		baseSequence: h.BaseSequence, attrs: attrTransactional})
}

// AddOffsetsToTxn tells the transaction of producer pid/epoch that offsets of group will be
// sent to it (TxnOffsetCommit), beginning the transaction if none is ongoing.
func (q *Requests) AddOffsetsToTxn(id string, pid int64, epoch int16, group string) error {
	if err := validGroupID(group); err != nil {
		return err
	}
	m, err := q.beginTxn(id, pid, epoch)
	if err != nil {
		return err
	}
	defer m.mu.Unlock()
	if m.offsets[group] == nil {
		m.offsets[group] = make(map[TopicPartition]OffsetAndMetadata)
	}
	return nil
}

// TxnOffsetCommit answers a TxnOffsetCommit request: offsets of gm's group join the
// transaction of producer pid/epoch, to be committed with it (K42) and never otherwise. The
// group must have been added with [Requests.AddOffsetsToTxn] ([ErrInvalidTxnState]). A
// member id or a generation ≥ 0 in gm is checked against the group as OffsetCommit checks
// it, its answer coming back as a code (KIP-447); a request with neither (an older client)
// is not checked.
func (q *Requests) TxnOffsetCommit(id string, pid int64, epoch int16, gm GroupMetadata, offsets map[TopicPartition]OffsetAndMetadata) (GroupCode, error) {
	vals, err := q.l.txnOffsets(gm.GroupID, offsets)
	if err != nil {
		return 0, err
	}
	m, err := q.txnFor(id, pid, epoch)
	if err != nil {
		return 0, err
	}
	defer m.mu.Unlock()
	if m.state != txnOngoing || m.offsets[gm.GroupID] == nil {
		return 0, fmt.Errorf("%w: group %q was not added to transactional id %q's transaction", ErrInvalidTxnState, gm.GroupID, id)
	}
	if gm.MemberID != "" || gm.Generation >= 0 {
		code, err := q.l.coord.Commit(gm.GroupID, gm.MemberID, gm.GroupInstanceID, gm.Generation)
		if err != nil || code != 0 {
			return code, closedOr(err)
		}
	}
	maps.Copy(m.offsets[gm.GroupID], vals)
	return 0, nil
}

// EndTxn answers an EndTxn request: the ongoing transaction of producer pid/epoch commits or
// aborts, its markers durable in every partition added to it and, for a commit, the offsets
// sent to it committed, before EndTxn returns (K42). As in Kafka, a retry of the end just
// done succeeds again, while an end with no transaction, or the opposite of the one just
// done, is [ErrInvalidTxnState].
func (q *Requests) EndTxn(id string, pid int64, epoch int16, commit bool) error {
	m, err := q.txnFor(id, pid, epoch)
	if err != nil {
		return err
	}
	defer m.mu.Unlock()
	switch {
	case m.state == txnOngoing:
		return q.l.endOngoingLocked(m, commit)
	case m.state == txnPrepareCommit && commit:
		return q.l.completeLocked(m, true, "")
	case m.state == txnCompleteCommit && commit, m.state == txnCompleteAbort && !commit:
		return nil
	}
	verb := "abort"
	if commit {
		verb = "commit"
	}
	return fmt.Errorf("%w: transactional id %q has no transaction to %s", ErrInvalidTxnState, id, verb)
}
