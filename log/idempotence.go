package log

import "fmt"

// producerState is what a partition remembers of one idempotent producer: its epoch and its
// last five batches, as a Kafka broker does (K40: hence max.in.flight ≤ 5).
type producerState struct {
	epoch   int16
	batches []seqBatch // oldest first, at most dedupWindow
}

type seqBatch struct {
	firstSeq, lastSeq int32
	baseOffset        int64
}

const dedupWindow = 5

// checkSequenceLocked decides what to do with an idempotent batch: a duplicate of one of the
// last five returns its original base offset (dup); the next sequence is accepted; anything
// else is ErrOutOfOrderSequence. A higher epoch starts over at sequence 0. Callers hold mu.
func (p *partition) checkSequenceLocked(meta batchMeta, n int) (int64, bool, error) {
	st := p.producers[meta.producerID]
	if st == nil || meta.producerEpoch > st.epoch {
		if meta.baseSequence != 0 {
			return 0, false, fmt.Errorf("%w: %s: producer %d epoch %d starts at sequence %d, want 0",
				ErrOutOfOrderSequence, p.name(), meta.producerID, meta.producerEpoch, meta.baseSequence)
		}
		return 0, false, nil
	}
	if meta.producerEpoch < st.epoch {
		return 0, false, fmt.Errorf("%w: %s: producer %d epoch %d is older than %d (fenced)",
			ErrOutOfOrderSequence, p.name(), meta.producerID, meta.producerEpoch, st.epoch)
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

// recordSequenceLocked remembers a batch just written. Callers hold mu.
func (p *partition) recordSequenceLocked(meta batchMeta, n int, base int64) {
	if p.producers == nil {
		p.producers = make(map[int64]*producerState)
	}
	st := p.producers[meta.producerID]
	if st == nil || meta.producerEpoch > st.epoch {
		st = &producerState{epoch: meta.producerEpoch}
		p.producers[meta.producerID] = st
	}
	st.batches = append(st.batches, seqBatch{firstSeq: meta.baseSequence, lastSeq: meta.baseSequence + int32(n) - 1, baseOffset: base})
	if len(st.batches) > dedupWindow {
		st.batches = append(st.batches[:0], st.batches[1:]...)
	}
}
