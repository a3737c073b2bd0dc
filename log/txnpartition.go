package log

import (
	"encoding/binary"
	"fmt"
	"slices"
	"sort"
	"time"
)

// A partition's side of transactions (K42, K43), guarded by partition.mu.
//
// A transactional batch opens its producer's transaction in the partition if none is open
// (producerState.txnFirst). A control batch holding a commit or abort marker closes it. The
// last stable offset (LSO) is the first offset of the earliest transaction that is not yet
// decided for good: one still open, or one whose marker is written but not yet durable (below
// the high watermark), because a crash could still take that marker back. read_committed
// fetches stop there, and skip the batches of aborted transactions, which the aborted index
// lists as (producer id, first offset, marker offset), like Kafka's .txnindex files. The index
// and the open transactions are in the producer-state snapshots; what came after the newest
// snapshot is replayed from the batches at open.

// Control record layout (K10, Kafka's ControlRecordType and EndTransactionMarker): the key is
// version int16 (0) and type int16 (0 abort, 1 commit); the value is version int16 (0) and the
// coordinator epoch int32.
const (
	controlAbort  int16 = 0
	controlCommit int16 = 1
)

// abortedTxn is one entry of the aborted index: producerID's transaction spanned offsets
// [first, last], last being its abort marker.
type abortedTxn struct {
	producerID  int64
	first, last int64
}

// completingTxn is a decided transaction whose marker is not yet below the high watermark.
type completingTxn struct {
	first, marker int64
}

// partitionTxns is a partition's transaction state. Its zero value is empty.
type partitionTxns struct {
	open       map[int64]*producerState // producers with an open transaction here
	completing []completingTxn
	aborted    map[int64][]abortedTxn // per producer, in marker order
	nAborted   int
}

// openTxnLocked records that producer id's transaction starts at first. Callers hold mu.
func (p *partition) openTxnLocked(id int64, st *producerState, first int64) {
	st.txnFirst = first
	if p.txn.open == nil {
		p.txn.open = make(map[int64]*producerState)
	}
	p.txn.open[id] = st
}

func (t *partitionTxns) addAborted(a abortedTxn) {
	if t.aborted == nil {
		t.aborted = make(map[int64][]abortedTxn)
	}
	t.aborted[a.producerID] = append(t.aborted[a.producerID], a)
	t.nAborted++
}

// abortedList returns every aborted transaction, ordered by marker offset.
func (t *partitionTxns) abortedList() []abortedTxn {
	out := make([]abortedTxn, 0, t.nAborted)
	for _, as := range t.aborted {
		out = append(out, as...)
	}
	slices.SortFunc(out, func(a, b abortedTxn) int { return cmpInt64(a.last, b.last) })
	return out
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// isAbortedLocked reports whether the transactional batch of producer id at base belongs to
// an aborted transaction. Callers hold mu.
func (p *partition) isAbortedLocked(id, base int64) bool {
	as := p.txn.aborted[id]
	// A producer's transactions do not overlap: the first one ending at or after base is the
	// only candidate.
	i := sort.Search(len(as), func(i int) bool { return as[i].last >= base })
	return i < len(as) && as[i].first <= base
}

// lsoLocked returns the last stable offset given the high watermark hw (K43). Callers hold mu.
func (p *partition) lsoLocked(hw int64) int64 {
	lso := hw
	for _, st := range p.txn.open {
		lso = min(lso, st.txnFirst)
	}
	if len(p.txn.completing) > 0 {
		kept := p.txn.completing[:0]
		for _, c := range p.txn.completing {
			if c.marker >= hw {
				kept = append(kept, c)
				lso = min(lso, c.first)
			}
		}
		clear(p.txn.completing[len(kept):])
		p.txn.completing = kept
	}
	return lso
}

// lastStable returns the partition's last stable offset.
func (p *partition) lastStable() int64 {
	hw := p.hw.Load()
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lsoLocked(hw)
}

// skipLocked reports whether a fetch at isolation iso leaves out the batch h heads: control
// batches always, and under read_committed the batches of aborted transactions. Callers hold
// mu.
func (p *partition) skipLocked(h *batchHeader, iso IsolationLevel) bool {
	if h.Attributes&attrControl != 0 {
		return true
	}
	return iso == ReadCommitted && h.Attributes&attrTransactional != 0 && p.txn.nAborted > 0 &&
		p.isAbortedLocked(h.ProducerID, h.BaseOffset)
}

// controlRecord returns the record of a commit or abort marker.
func controlRecord(commit bool, coordinatorEpoch int32, now time.Time) Record {
	typ := controlAbort
	if commit {
		typ = controlCommit
	}
	key := binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(nil, 0), uint16(typ))
	val := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint16(nil, 0), uint32(coordinatorEpoch))
	return Record{Timestamp: now, Key: key, Value: val}
}

// parseControlKey returns whether a control record's key is a commit marker.
func parseControlKey(key []byte) (commit bool, err error) {
	if len(key) != 4 || binary.BigEndian.Uint16(key) != 0 {
		return false, fmt.Errorf("%w: control record key %x", ErrCorruptBatch, key)
	}
	switch int16(binary.BigEndian.Uint16(key[2:])) {
	case controlAbort:
		return false, nil
	case controlCommit:
		return true, nil
	}
	return false, fmt.Errorf("%w: control record type %x", ErrCorruptBatch, key[2:])
}

// checkMarkerLocked refuses a marker whose epoch is older than the producer's (the producer
// was fenced since). Callers hold mu.
func (p *partition) checkMarkerLocked(meta batchMeta) error {
	if st := p.producers[meta.producerID]; st != nil && meta.producerEpoch < st.epoch {
		return p.fencedLocked(meta, st)
	}
	return nil
}

// endTxnLocked applies a marker just written at offset: the producer's transaction here, if
// one is open, ends; an abort enters the aborted index. A marker's epoch, if higher, becomes
// the producer's, fencing older instances (K41). Callers hold mu.
func (p *partition) endTxnLocked(meta batchMeta, commit bool, offset int64, durable bool) {
	st := p.producerLocked(meta.producerID, meta.producerEpoch)
	first := st.txnFirst
	if first < 0 {
		return
	}
	st.txnFirst = -1
	delete(p.txn.open, meta.producerID)
	if !commit {
		p.txn.addAborted(abortedTxn{producerID: meta.producerID, first: first, last: offset})
	}
	if !durable {
		p.txn.completing = append(p.txn.completing, completingTxn{first: first, marker: offset})
	}
}

// replayMarkerLocked applies a control batch met while rebuilding the state at open.
func (p *partition) replayMarkerLocked(meta batchMeta, b []byte, base int64) error {
	recs, err := decodeRecords(nil, b)
	if err != nil {
		return err
	}
	if len(recs) != 1 {
		return fmt.Errorf("%w: control batch at %d has %d records", ErrCorruptBatch, base, len(recs))
	}
	commit, err := parseControlKey(recs[0].Key)
	if err != nil {
		return err
	}
	p.endTxnLocked(meta, commit, base, true)
	return nil
}

// writeMarker appends a commit or abort marker for producer id at epoch and returns once it is
// durable. The marker takes one offset (K42). It fails with ErrProducerFenced if the
// partition knows a newer epoch of the producer.
func (p *partition) writeMarker(id int64, epoch int16, commit bool) error {
	rec := [1]Record{controlRecord(commit, 0, time.Now())}
	_, end, err := p.write(rec[:], batchMeta{producerID: id, producerEpoch: epoch, baseSequence: -1,
		attrs: attrTransactional | attrControl, commit: commit})
	if err != nil {
		return err
	}
	err = p.durable(end)
	p.wake() // the last stable offset may have moved
	return err
}

// openTransactions returns the producers with a transaction open in the partition, with the
// epoch the partition knows for each.
func (p *partition) openTransactions() map[int64]int16 {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[int64]int16, len(p.txn.open))
	for id, st := range p.txn.open {
		out[id] = st.epoch
	}
	return out
}
