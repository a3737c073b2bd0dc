package log

import "fmt"

// producerState is what a partition remembers of one idempotent producer: its epoch and its
// last five batches, as a Kafka broker does (K40: hence max.in.flight ≤ 5), and for a
// transactional producer the first offset of its open transaction in the partition.
type producerState struct {
	epoch    int16
	batches  []seqBatch // oldest first, at most dedupWindow
	txnFirst int64      // first offset of the producer's open transaction here; -1: none
}

func newProducerState(epoch int16) *producerState {
	return &producerState{epoch: epoch, txnFirst: -1}
}

type seqBatch struct {
	firstSeq, lastSeq int32
	baseOffset        int64
}

const dedupWindow = 5

// checkSequenceLocked decides what to do with an idempotent batch: a duplicate of one of the
// last five returns its original base offset (dup); the next sequence is accepted; anything
// else is ErrOutOfOrderSequence. A higher epoch starts over at sequence 0, as does a producer
// whose batches were forgotten when a marker raised its epoch; an older epoch is fenced
// (fencedLocked). Callers hold mu.
func (p *partition) checkSequenceLocked(meta batchMeta, n int) (int64, bool, error) {
	st := p.producers[meta.producerID]
	if st == nil || meta.producerEpoch > st.epoch || len(st.batches) == 0 {
		if st != nil && meta.producerEpoch < st.epoch {
			return 0, false, p.fencedLocked(meta, st)
		}
		if meta.baseSequence != 0 {
			return 0, false, fmt.Errorf("%w: %s: producer %d epoch %d starts at sequence %d, want 0",
				ErrOutOfOrderSequence, p.name(), meta.producerID, meta.producerEpoch, meta.baseSequence)
		}
		return 0, false, nil
	}
	if meta.producerEpoch < st.epoch {
		return 0, false, p.fencedLocked(meta, st)
	}
	for _, b := range st.batches {
		if b.firstSeq == meta.baseSequence && b.lastSeq == meta.baseSequence+int32(n)-1 {
			return b.baseOffset, true, nil // a retry: written once (K39)
		}
	}
	last := st.batches[len(st.batches)-1].lastSeq
	if meta.baseSequence != last+1 {
		return 0, false, fmt.Errorf("%w: %s: producer %d sent sequence %d after %d",
			ErrOutOfOrderSequence, p.name(), meta.producerID, meta.baseSequence, last)
	}
	return 0, false, nil
}

// fencedLocked is the error for a batch whose epoch is older than the producer's, whether it
// is transactional (K41) or only idempotent: a partition leader has answered such a batch
// with INVALID_PRODUCER_EPOCH since Kafka 2.7 (ProducerAppendInfo.checkProducerEpoch), which
// the front door sends for ErrProducerFenced on a produce. Callers hold mu.
func (p *partition) fencedLocked(meta batchMeta, st *producerState) error {
	return fmt.Errorf("%w: %s: producer %d epoch %d is older than %d",
		ErrProducerFenced, p.name(), meta.producerID, meta.producerEpoch, st.epoch)
}

// producerLocked returns the state of producer id, created at epoch if new; a higher epoch
// replaces the remembered one and forgets the batches (sequences start over), keeping an open
// transaction's first offset. Callers hold mu.
func (p *partition) producerLocked(id int64, epoch int16) *producerState {
	if p.producers == nil {
		p.producers = make(map[int64]*producerState)
	}
	st := p.producers[id]
	if st == nil {
		st = newProducerState(epoch)
		p.producers[id] = st
		bumpProducerID(id)
	} else if epoch > st.epoch {
		st.epoch, st.batches = epoch, st.batches[:0]
	}
	return st
}

// bumpProducerID makes sure producer ids handed out from now on are above id, so a producer
// created after a restart never reuses the id of one whose state a partition remembers.
func bumpProducerID(id int64) {
	for {
		cur := nextProducerID.Load()
		if cur >= id || nextProducerID.CompareAndSwap(cur, id) {
			return
		}
	}
}

// recordSequenceLocked remembers a batch just written, and the start of the producer's
// transaction if the batch is transactional and opens one. Callers hold mu.
func (p *partition) recordSequenceLocked(meta batchMeta, n int, base int64) {
	st := p.producerLocked(meta.producerID, meta.producerEpoch)
	if meta.attrs&attrTransactional != 0 && st.txnFirst < 0 {
		p.openTxnLocked(meta.producerID, st, base)
	}
	st.batches = append(st.batches, seqBatch{firstSeq: meta.baseSequence, lastSeq: meta.baseSequence + int32(n) - 1, baseOffset: base})
	if len(st.batches) > dedupWindow {
		st.batches = append(st.batches[:0], st.batches[1:]...)
	}
}
