package log

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/tribusmq/tribus/store"
)

// The transaction coordinator (KIP-98), one per Log: for each transactional id, the producer
// id and epoch it was given, and the transaction in progress: the partitions it wrote to, the
// group offsets sent to it, and its timeout timer (K44).
//
// Commit is two-phase, as in Kafka. The decision is one store transaction that records the
// transactional id as PrepareCommit and commits the group offsets sent to the transaction;
// from then on the transaction is committed whatever happens. Commit markers then go to every
// partition the transaction wrote to, and a second store write records CompleteCommit, before
// CommitTransaction returns. Abort needs no decision record: a partition's transaction that is
// open when the Log opens is committed if its producer's transactional id is in
// PrepareCommit, and aborted otherwise (open partitions are found from the producer state,
// txnpartition.go).
//
// Stored under log/txns/<transactional id>: version (1), producer id (int64), epoch (int16),
// state (uint8), timeout in ms (int64), big-endian.
//
// Lock order: Log.mu (never held across coordinator work), then txnMeta.mu, then
// partition.mu; group.mu is taken under txnMeta.mu to check generations.

const bktTxns = "txns"

// DefaultTransactionTimeout is Kafka's transaction.timeout.ms default, 60 s (K44).
const DefaultTransactionTimeout = 60 * time.Second

// MaxTransactionTimeout is Kafka's broker default for transaction.max.timeout.ms, 15 min: the
// longest transaction timeout a producer may ask for.
const MaxTransactionTimeout = 15 * time.Minute

// txnState is a transactional id's state, as Kafka's TransactionState names them.
type txnState uint8

const (
	txnEmpty txnState = iota
	txnOngoing
	txnPrepareCommit
	txnCompleteCommit
	txnCompleteAbort
)

const txnRecordV1 = 1

// txnMeta is the coordinator's state for one transactional id. mu is held for each whole
// coordinator operation on it, marker writes included, so operations on one id never
// interleave.
type txnMeta struct {
	id string

	mu      sync.Mutex
	pid     int64
	epoch   int16
	timeout time.Duration
	state   txnState
	parts   map[*partition]struct{}                         // written to by the ongoing transaction
	offsets map[string]map[TopicPartition]OffsetAndMetadata // per group, sent to it
	groups  map[string]GroupMetadata                        // who sent them
	seq     uint64                                          // counts transactions, for the timer
	timer   *time.Timer
}

// txnCoordinator holds the transactional ids of a Log.
type txnCoordinator struct {
	mu   sync.Mutex
	txns map[string]*txnMeta
}

func (c *txnCoordinator) get(id string) *txnMeta {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.txns == nil {
		c.txns = make(map[string]*txnMeta)
	}
	m := c.txns[id]
	if m == nil {
		m = &txnMeta{id: id, pid: -1}
		c.txns[id] = m
	}
	return m
}

// lookup returns the state of id, or nil if the id was never initialised.
func (c *txnCoordinator) lookup(id string) *txnMeta {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.txns[id]
}

func (c *txnCoordinator) all() []*txnMeta {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Collect(maps.Values(c.txns))
}

func encodeTxn(m *txnMeta, state txnState) []byte {
	b := []byte{txnRecordV1}
	b = binary.BigEndian.AppendUint64(b, uint64(m.pid))
	b = binary.BigEndian.AppendUint16(b, uint16(m.epoch))
	b = append(b, byte(state))
	return binary.BigEndian.AppendUint64(b, uint64(m.timeout.Milliseconds()))
}

func decodeTxn(id string, v []byte) (*txnMeta, error) {
	if len(v) != 1+8+2+1+8 || v[0] != txnRecordV1 {
		return nil, fmt.Errorf("tribus/log: transactional id %q: stored state of %d bytes, version %x", id, len(v), v[:min(1, len(v))])
	}
	m := &txnMeta{id: id, pid: int64(binary.BigEndian.Uint64(v[1:])), epoch: int16(binary.BigEndian.Uint16(v[9:])),
		state: txnState(v[11]), timeout: time.Duration(binary.BigEndian.Uint64(v[12:])) * time.Millisecond}
	if m.pid < 0 || m.epoch < 0 || m.state > txnCompleteAbort {
		return nil, fmt.Errorf("tribus/log: transactional id %q: stored state is malformed", id)
	}
	return m, nil
}

// saveTxn stores m's producer id, epoch and timeout with state.
func (l *Log) saveTxn(m *txnMeta, state txnState) error {
	v := encodeTxn(m, state)
	err := l.st.Update(func(tx *store.Tx) error {
		return tx.Bucket(store.BucketLog, bktTxns).Put([]byte(m.id), v)
	})
	if errors.Is(err, store.ErrClosed) {
		return ErrClosed
	}
	if err != nil {
		return fmt.Errorf("tribus/log: transaction state: %w", err)
	}
	return nil
}

// loadTxns reads the transactional ids at Open, after the topics and offsets, and settles
// every transaction a partition still has open: committed if its transactional id had decided
// to commit, aborted otherwise.
func (l *Log) loadTxns() error {
	if err := l.st.Update(func(tx *store.Tx) error {
		_, err := tx.CreateBucketIfNotExists(store.BucketLog, bktTxns)
		return err
	}); err != nil {
		return fmt.Errorf("tribus/log: %w", err)
	}
	byPID := map[int64]*txnMeta{}
	err := l.st.View(func(tx *store.Tx) error {
		return tx.Bucket(store.BucketLog, bktTxns).ForEach(func(k, v []byte) error {
			m, err := decodeTxn(string(k), v)
			if err != nil {
				return err
			}
			if m.state != txnPrepareCommit {
				m.state = txnEmpty
			}
			bumpProducerID(m.pid)
			if l.txns.txns == nil {
				l.txns.txns = make(map[string]*txnMeta)
			}
			l.txns.txns[m.id] = m
			byPID[m.pid] = m
			return nil
		})
	})
	if err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(l.topics)) {
		for _, p := range l.topics[name].parts {
			open := p.openTransactions()
			for _, pid := range slices.Sorted(maps.Keys(open)) {
				m := byPID[pid]
				commit := m != nil && m.state == txnPrepareCommit
				if err := p.writeMarker(pid, open[pid], commit); err != nil {
					return fmt.Errorf("tribus/log: %s: settling the transaction of producer %d: %w", p.name(), pid, err)
				}
				l.logger.Info("tribus/log: settled a transaction left open", "partition", p.name(), "producer", pid, "commit", commit)
			}
		}
	}
	for _, m := range byPID {
		if m.state == txnPrepareCommit {
			m.state = txnCompleteCommit
			if err := l.saveTxn(m, txnCompleteCommit); err != nil {
				return err
			}
		}
	}
	return nil
}

// stopTxnTimers stops the transaction timers at Close.
func (l *Log) stopTxnTimers() {
	for _, m := range l.txns.all() {
		m.mu.Lock()
		stopTimer(&m.timer)
		m.mu.Unlock()
	}
}

// initTxn is InitProducerId for transactional id: a new id gets a fresh producer id at epoch
// 0; a known one gets its epoch bumped, which fences every older producer with that id (K41),
// after aborting a transaction it left open (or finishing one it had decided to commit). The
// new producer id and epoch are durable when it returns.
func (l *Log) initTxn(id string, timeout time.Duration) (int64, int16, error) {
	if err := l.checkOpen(); err != nil {
		return 0, 0, err
	}
	m := l.txns.get(id)
	m.mu.Lock()
	defer m.mu.Unlock()
	return l.initLocked(m, timeout)
}

// initLocked gives m its next producer epoch (or a new producer id), settling what the last
// producer left open, with timeout as its transaction timeout.
func (l *Log) initLocked(m *txnMeta, timeout time.Duration) (int64, int16, error) {
	switch m.state {
	case txnPrepareCommit:
		if err := l.completeLocked(m, true, "completed by InitProducerId"); err != nil {
			return 0, 0, err
		}
	case txnOngoing:
		if err := l.fenceLocked(m, "a new producer with the same transactional id"); err != nil {
			return 0, 0, err
		}
	}
	if m.pid < 0 || m.epoch == 1<<15-1 {
		m.pid, m.epoch = nextProducerID.Add(1), 0
	} else {
		m.epoch++
	}
	m.timeout = timeout
	if err := l.saveTxn(m, txnEmpty); err != nil {
		return 0, 0, err
	}
	m.state = txnEmpty
	return m.pid, m.epoch, nil
}

// fenceLocked bumps m's epoch and aborts its ongoing transaction with the new epoch, so that
// the partitions refuse the old one from now on (K41, K44).
func (l *Log) fenceLocked(m *txnMeta, why string) error {
	if m.epoch == 1<<15-1 {
		// No higher epoch: the abort keeps this one, and initTxn moves to a new producer id.
		return l.completeLocked(m, false, why)
	}
	m.epoch++
	if err := l.saveTxn(m, txnEmpty); err != nil {
		return err
	}
	l.logger.Info("tribus/log: aborting a transaction", "transactional.id", m.id, "reason", why)
	return l.completeLocked(m, false, why)
}

// checkLocked refuses a producer whose id or epoch is no longer m's.
func (m *txnMeta) checkLocked(pid int64, epoch int16) error {
	if pid != m.pid || epoch != m.epoch {
		return fmt.Errorf("%w: transactional id %q: producer %d epoch %d, the current one is %d epoch %d (another producer initialised the id, or the transaction timed out)",
			ErrProducerFenced, m.id, pid, epoch, m.pid, m.epoch)
	}
	return nil
}

// beginLocked makes m's transaction ongoing if it is not yet, starting its timeout (K44).
func (l *Log) beginLocked(m *txnMeta) {
	if m.state == txnOngoing {
		return
	}
	m.state = txnOngoing
	m.seq++
	m.parts = make(map[*partition]struct{})
	m.offsets = make(map[string]map[TopicPartition]OffsetAndMetadata)
	m.groups = make(map[string]GroupMetadata)
	seq := m.seq
	stopTimer(&m.timer)
	m.timer = l.afterFunc(m.timeout, func() { l.expireTxn(m, seq) })
}

// expireTxn aborts transaction seq of m if it is still ongoing: it outlived its timeout (K44).
// The epoch is bumped, so the producer that left it open is fenced.
func (l *Log) expireTxn(m *txnMeta, seq uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.seq != seq || m.state != txnOngoing {
		return
	}
	m.timer = nil
	if err := l.fenceLocked(m, "transaction.timeout.ms passed"); err != nil && !errors.Is(err, ErrClosed) {
		l.logger.Error("tribus/log: aborting a timed-out transaction", "transactional.id", m.id, "err", err)
	}
}

// txnWrite appends recs as one transactional batch of producer pid/epoch to p, adding p to the
// transaction, and returns the batch's base offset and the end offset to wait for.
func (l *Log) txnWrite(m *txnMeta, pid int64, epoch int16, seq int32, p *partition, recs []Record, c Compression) (int64, int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.checkLocked(pid, epoch); err != nil {
		return 0, 0, err
	}
	if m.state == txnPrepareCommit {
		return 0, 0, fmt.Errorf("%w: the transaction is committing", ErrInvalidTxnState)
	}
	l.beginLocked(m)
	m.parts[p] = struct{}{}
	return p.write(recs, batchMeta{producerID: pid, producerEpoch: epoch, baseSequence: seq, attrs: attrTransactional,
		compression: c})
}

// txnOffsets validates offsets for group and returns them with their commit time unset; it
// fails as [Log.commitOffsets] does and changes nothing.
func (l *Log) txnOffsets(group string, offsets map[TopicPartition]OffsetAndMetadata) (map[TopicPartition]OffsetAndMetadata, error) {
	if err := validGroupID(group); err != nil {
		return nil, err
	}
	out := make(map[TopicPartition]OffsetAndMetadata, len(offsets))
	for tp, om := range offsets {
		if om.Offset < 0 {
			return nil, fmt.Errorf("%w: %d for %s-%d", ErrInvalidCommitOffset, om.Offset, tp.Topic, tp.Partition)
		}
		if len(om.Metadata) > offsetMetadataMaxBytes {
			return nil, fmt.Errorf("%w: %d bytes for %s-%d, the most is %d", ErrOffsetMetadataTooLarge,
				len(om.Metadata), tp.Topic, tp.Partition, offsetMetadataMaxBytes)
		}
		if _, err := l.partition(tp.Topic, tp.Partition); err != nil {
			return nil, err
		}
		out[tp] = om
	}
	return out, nil
}

// txnSendOffsets adds offsets of gm's group to the transaction (TxnOffsetCommit), checking
// gm's member and generation now; they are committed with the transaction.
func (l *Log) txnSendOffsets(m *txnMeta, pid int64, epoch int16, gm GroupMetadata, offsets map[TopicPartition]OffsetAndMetadata) error {
	vals, err := l.txnOffsets(gm.GroupID, offsets)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.checkLocked(pid, epoch); err != nil {
		return err
	}
	if m.state == txnPrepareCommit {
		return fmt.Errorf("%w: the transaction is committing", ErrInvalidTxnState)
	}
	if err := l.checkGroup(gm); err != nil {
		return err
	}
	l.beginLocked(m)
	if m.offsets[gm.GroupID] == nil {
		m.offsets[gm.GroupID] = make(map[TopicPartition]OffsetAndMetadata)
	}
	maps.Copy(m.offsets[gm.GroupID], vals)
	m.groups[gm.GroupID] = gm
	return nil
}

// txnEnd commits or aborts the transaction of producer pid/epoch. A commit that finds a group
// whose offsets it carries rebalanced since they were sent aborts instead and returns
// ErrCommitFailed. A commit that fails after its decision (writing a marker) keeps the
// decision: calling it again finishes it.
func (l *Log) txnEnd(m *txnMeta, pid int64, epoch int16, commit bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.checkLocked(pid, epoch); err != nil {
		return err
	}
	switch {
	case m.state == txnPrepareCommit && commit:
		return l.completeLocked(m, true, "")
	case m.state == txnPrepareCommit:
		return fmt.Errorf("%w: the transaction was already decided to commit", ErrInvalidTxnState)
	case m.state != txnOngoing:
		return nil // nothing was sent: nothing to commit or abort
	}
	return l.endOngoingLocked(m, commit)
}

// endOngoingLocked commits or aborts m's ongoing transaction, first checking, for a commit,
// the groups whose offsets it carries.
func (l *Log) endOngoingLocked(m *txnMeta, commit bool) error {
	if !commit {
		return l.completeLocked(m, false, "AbortTransaction")
	}
	for _, group := range slices.Sorted(maps.Keys(m.groups)) {
		if err := l.checkGroup(m.groups[group]); err != nil {
			if aerr := l.completeLocked(m, false, "the commit failed: "+err.Error()); aerr != nil {
				return errors.Join(err, aerr)
			}
			return fmt.Errorf("%w; the transaction was aborted", err)
		}
	}
	if err := l.prepareCommitLocked(m); err != nil {
		return err
	}
	m.state = txnPrepareCommit
	return l.completeLocked(m, true, "")
}

// prepareCommitLocked is the commit decision: one store transaction records m as
// PrepareCommit and commits the offsets sent to the transaction (K42).
func (l *Log) prepareCommitLocked(m *txnMeta) error {
	now := time.UnixMilli(time.Now().UnixMilli())
	rec := encodeTxn(m, txnPrepareCommit)
	groups := slices.Sorted(maps.Keys(m.offsets))
	vals := make(map[string]map[TopicPartition]OffsetAndMetadata, len(groups))
	for _, g := range groups {
		vals[g] = make(map[TopicPartition]OffsetAndMetadata, len(m.offsets[g]))
		for tp, om := range m.offsets[g] {
			om.CommitTime = now
			vals[g][tp] = om
		}
	}
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return ErrClosed
	}
	for _, g := range groups {
		for tp := range vals[g] {
			if t := l.topics[tp.Topic]; t == nil || int(tp.Partition) >= len(t.parts) {
				l.mu.RUnlock()
				return fmt.Errorf("%w: %s-%d", ErrUnknownTopic, tp.Topic, tp.Partition)
			}
		}
	}
	seq, wait := l.offs.submit(l.st, func(tx *store.Tx) error {
		if err := tx.Bucket(store.BucketLog, bktTxns).Put([]byte(m.id), rec); err != nil {
			return err
		}
		for _, g := range groups {
			tps := slices.SortedFunc(maps.Keys(vals[g]), compareTP)
			var b *store.Bucket
			for i, tp := range tps {
				if i == 0 || tp.Topic != tps[i-1].Topic {
					var err error
					if b, err = tx.CreateBucketIfNotExists(store.BucketLog, bktGroups, g, tp.Topic); err != nil {
						return err
					}
				}
				if err := b.PutOwned(partitionKey(tp.Partition), encodeOffset(vals[g][tp])); err != nil {
					return err
				}
			}
		}
		return nil
	})
	l.mu.RUnlock()
	return l.offs.finish(seq, wait, func() {
		for _, g := range groups {
			if l.offs.groups[g] == nil {
				l.offs.groups[g] = make(map[TopicPartition]OffsetAndMetadata, len(vals[g]))
			}
			maps.Copy(l.offs.groups[g], vals[g])
		}
		if l.observed() {
			for _, g := range groups {
				gm, ok := m.groups[g] // a TxnOffsetCommit request's member is not kept
				if !ok {
					gm = GroupMetadata{GroupID: g, Generation: -1}
				}
				for _, tp := range slices.SortedFunc(maps.Keys(vals[g]), compareTP) {
					l.emitCommitted(gm, m.id, tp, vals[g][tp].Offset)
				}
			}
		}
	})
}

// completeLocked writes commit or abort markers to every partition of m's transaction, durably
// (K42), and ends it. A commit is recorded as complete in the store before it returns, so that
// a restart never applies its decision to a later transaction. On error the transaction stays
// as it was, to be completed by a later call. why is the observer's Reason.
func (l *Log) completeLocked(m *txnMeta, commit bool, why string) error {
	stopTimer(&m.timer)
	n := len(m.parts)
	parts := slices.Collect(maps.Keys(m.parts))
	slices.SortFunc(parts, func(a, b *partition) int {
		return compareTP(TopicPartition{Topic: a.topic, Partition: a.id}, TopicPartition{Topic: b.topic, Partition: b.id})
	})
	for _, p := range parts {
		err := p.writeMarker(m.pid, m.epoch, commit)
		if err != nil && (!errors.Is(err, ErrUnknownTopic) || errors.Is(err, ErrClosed)) {
			return err
		}
		delete(m.parts, p) // written, or its topic was deleted
	}
	state := txnCompleteAbort
	if commit {
		state = txnCompleteCommit
		if err := l.saveTxn(m, state); err != nil {
			return err
		}
	}
	m.state, m.parts, m.offsets, m.groups = state, nil, nil, nil
	if l.observed() {
		kind := EventTxnAborted
		if commit {
			kind = EventTxnCommitted
		}
		l.emit(Event{Kind: kind, TransactionalID: m.id, ProducerID: m.pid, Count: n, Reason: why})
	}
	return nil
}
