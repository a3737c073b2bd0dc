package log

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tribusmq/tribus/internal/sentinel"
	"github.com/tribusmq/tribus/log/internal/segfs"
	"github.com/tribusmq/tribus/log/internal/segment"
)

// partition is one partition: an ordered list of segments, the last one active.
//
// mu guards the segments, the end offset and the log start offset, and serialises appends and
// reads of segment files. smu guards the fsync state; it is taken before mu, never while
// holding it. cmu serialises compaction passes (compact.go) with each other and with close and
// delete; it is taken before mu, and Log.mu before it. The high watermark (hw) is the end of
// what is on disk: fetches read below it, so a consumer never sees a record a crash could take
// back.
type partition struct {
	l     *Log
	topic string // the topic's name
	id    int32
	dir   string
	// cfg is the topic's configuration, swapped whole when it is altered (AlterTopicConfig,
	// CreatePartitions); read with config.
	cfg atomic.Pointer[TopicConfig]

	// The cleaner's state, guarded by cmu: see compact.go.
	cmu        sync.Mutex
	checkpoint int64 // end offset of the last compaction: the bytes before it are clean
	horizon    int64 // earliest delete horizon of a kept tombstone (ms); math.MaxInt64: none
	gone       bool  // closed or deleted: no more passes

	mu       sync.Mutex
	segs     []*segment.Segment
	leo      int64 // log end offset: the next offset to write
	logStart int64
	buf      []byte // batch encoding scratch, reused under mu
	raw      []byte // a compressed batch's records before compression, reused under mu
	sticky   *stickyPartitioner

	smu     sync.Mutex
	scond   sync.Cond
	syncing bool
	synced  int64

	// producers is the idempotence state: per producer id, its epoch and last batches (K39).
	// Guarded by mu.
	producers map[int64]*producerState
	// txn is the transaction state: open transactions, the aborted index and what the last
	// stable offset waits for (txnpartition.go). Guarded by mu.
	txn partitionTxns

	// shut is ErrClosed once the partition is closed, an ErrUnknownTopic once it is deleted.
	// Guarded by mu.
	shut error

	// syncErr is set, for good, by the first failed fsync of the active segment: the kernel
	// may have dropped the pages it could not write, so a later fsync that succeeds proves
	// nothing. From then on produces fail with it and the high watermark stays where it was,
	// until the Log is reopened and recovery checks the tail.
	syncErr atomic.Pointer[error]

	hw     atomic.Int64
	nmu    sync.Mutex
	notify chan struct{} // closed and replaced each time hw moves
	// unseen are the batches appended and not yet below hw, oldest first, kept for the
	// observer's EventAppended when the Log has one (empty otherwise). Guarded by nmu, which
	// appendLocked takes under mu.
	unseen []unseenBatch
}

// unseenBatch is a batch appended above the high watermark, to be reported once it is below.
type unseenBatch struct {
	base, end  int64
	n          int
	producerID int64
	txn        bool // a transactional batch
	control    bool // a transaction marker; commit says which
	commit     bool
}

func (p *partition) name() string { return p.topic + "-" + strconv.Itoa(int(p.id)) }

// config returns the topic's configuration as it is now.
func (p *partition) config() TopicConfig { return *p.cfg.Load() }

// openPartition opens (or creates) a partition's directory and segments; the active segment's
// tail is checked and a torn tail truncated (logged).
func (l *Log) openPartition(t *topic, id int32) (*partition, error) {
	p := &partition{l: l, topic: t.name, id: id, dir: l.partitionDir(t.name, id), notify: make(chan struct{})}
	p.cfg.Store(&t.cfg)
	p.scond.L = &p.smu
	if err := l.fs.MkdirAll(p.dir); err != nil {
		return nil, fmt.Errorf("tribus/log: %s: %w", p.name(), segfs.Classify(err))
	}
	names, err := l.fs.List(p.dir)
	if err != nil {
		return nil, fmt.Errorf("tribus/log: %s: %w", p.name(), segfs.Classify(err))
	}
	// Finish or undo a compaction that a crash interrupted, before any segment is read.
	if names, err = finishCleaning(l.fs, p.dir, names); err != nil {
		return nil, fmt.Errorf("tribus/log: %s: %w", p.name(), err)
	}
	var bases []int64
	for _, n := range names {
		if b, ok := strings.CutSuffix(n, ".log"); ok {
			base, err := strconv.ParseInt(b, 10, 64)
			if err != nil || len(b) != 20 {
				return nil, fmt.Errorf("tribus/log: %s: unexpected file %q", p.name(), n)
			}
			bases = append(bases, base)
		}
	}
	slices.Sort(bases)
	now := time.Now()
	for i, base := range bases {
		active := i == len(bases)-1
		seg, cut, err := segment.Open(l.fs, p.dir, base, batchCodec, active)
		if err != nil {
			p.closeSegments()
			return nil, fmt.Errorf("tribus/log: %s: %w", p.name(), segfs.Classify(err))
		}
		if cut > 0 {
			l.logger.Warn("tribus/log: truncated a torn tail", "partition", p.name(), "segment", base, "bytes", cut)
		}
		if seg.Rebuilt() != "" {
			l.logger.Warn("tribus/log: rebuilt a segment's indexes from its .log", "partition", p.name(), "segment", base, "reason", seg.Rebuilt())
		}
		p.segs = append(p.segs, seg)
	}
	if len(p.segs) == 0 {
		seg, err := segment.Create(l.fs, p.dir, 0, batchCodec, now)
		if err != nil {
			return nil, fmt.Errorf("tribus/log: %s: %w", p.name(), segfs.Classify(err))
		}
		if err := l.fs.SyncDir(p.dir); err != nil {
			return nil, fmt.Errorf("tribus/log: %s: %w", p.name(), segfs.Classify(err))
		}
		p.segs = append(p.segs, seg)
	}
	p.logStart = p.segs[0].Base()
	if start := l.loadStart(p); start > p.logStart {
		p.logStart = start
	}
	p.leo = p.active().NextOffset()
	p.synced = p.leo
	p.hw.Store(p.leo)
	p.sticky = newStickyPartitioner(uint64(now.UnixNano()), 16384)
	p.checkpoint, p.horizon = l.loadCleaner(p)
	if err := p.loadProducers(); err != nil {
		p.closeSegments()
		return nil, fmt.Errorf("tribus/log: %s: %w", p.name(), err)
	}
	return p, nil
}

func (p *partition) active() *segment.Segment { return p.segs[len(p.segs)-1] }

func (p *partition) closeSegments() error {
	var first error
	for _, s := range p.segs {
		if err := s.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (p *partition) close() error {
	p.cmu.Lock()
	defer p.cmu.Unlock()
	p.gone = true
	p.mu.Lock()
	defer p.mu.Unlock()
	p.shut = ErrClosed
	defer p.wake() // Fetches and Polls waiting on the partition see it closed
	if err := p.active().Sync(); err != nil {
		p.closeSegments()
		return err
	}
	if err := p.writeSnapshotLocked(); err != nil {
		p.closeSegments()
		return fmt.Errorf("tribus/log: %s: producer-state snapshot: %w", p.name(), err)
	}
	return p.closeSegments()
}

func (p *partition) delete() {
	p.cmu.Lock()
	defer p.cmu.Unlock()
	p.gone = true
	p.mu.Lock()
	defer p.mu.Unlock()
	p.shut = fmt.Errorf("%w: %s was deleted", ErrUnknownTopic, p.name())
	defer p.wake()
	for _, s := range p.segs {
		s.Close()
		s.Remove()
	}
	p.l.fs.RemoveAll(p.dir)
}

func (p *partition) info() PartitionInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	hw := p.hw.Load()
	pi := PartitionInfo{Partition: p.id, StartOffset: p.logStart, EndOffset: hw, LastStableOffset: p.lsoLocked(hw),
		Segments: len(p.segs)}
	for _, s := range p.segs {
		pi.Size += s.Size()
	}
	return pi
}

// batchMeta describes a batch to append.
type batchMeta struct {
	producerID    int64
	producerEpoch int16
	baseSequence  int32
	attrs         int16 // attrTransactional, and attrControl for a marker
	commit        bool  // for a marker: commit rather than abort
	compression   Compression
}

// append writes recs as one batch and returns its base offset once it is durable (unless the
// Log has NoSync). Timestamps are kept (CreateTime) or replaced by now (LogAppendTime, K11).
func (p *partition) append(recs []Record, meta batchMeta) (int64, error) {
	base, target, err := p.write(recs, meta)
	if err != nil {
		return 0, err
	}
	return base, p.durable(target)
}

// durable returns once everything below target is on disk (or at once with NoSync).
func (p *partition) durable(target int64) error {
	if p.l.nosync {
		p.advance(target)
		return nil
	}
	return p.syncTo(target)
}

// write appends recs as one batch to the active segment, rolling it first if the batch would
// make it too big or it is too old, and returns the batch's base offset and the end offset
// after it. For an idempotent producer (meta.producerID ≥ 0) a batch already written is not
// written again: its original base offset comes back (K39); a sequence gap is
// ErrOutOfOrderSequence (K40).
func (p *partition) write(recs []Record, meta batchMeta) (base, end int64, err error) {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shut != nil {
		return 0, p.leo, p.shut
	}
	if err := p.syncErr.Load(); err != nil {
		return 0, p.leo, *err
	}
	control := meta.attrs&attrControl != 0
	switch {
	case control:
		if err := p.checkMarkerLocked(meta); err != nil {
			return 0, p.leo, err
		}
	case meta.producerID >= 0:
		if off, dup, err := p.checkSequenceLocked(meta, len(recs)); err != nil || dup {
			return off, p.leo, err
		}
	}
	cfg := p.config()
	h := batchHeader{BaseOffset: p.leo, ProducerID: meta.producerID, ProducerEpoch: meta.producerEpoch,
		BaseSequence: meta.baseSequence, Attributes: meta.attrs}
	if cfg.TimestampType == LogAppendTime {
		h.Attributes |= attrLogAppendTime
		h.MaxTimestamp = now.UnixMilli()
		for i := range recs {
			recs[i].Timestamp = now
		}
	}
	for i := range recs {
		if recs[i].Timestamp.IsZero() {
			recs[i].Timestamp = now // the send time, as a producer sets it (K11)
		} else if !validTimestamp(recs[i].Timestamp) {
			return 0, p.leo, fmt.Errorf("%w: record %d has %v", ErrInvalidTimestamp, i, recs[i].Timestamp)
		}
	}
	// Size the batch before encoding it: a record too large for max.message.bytes (which
	// config validation keeps within what the encoder can write) is refused without a byte
	// written or allocated. A compressed batch is held to the limit once compressed, as a
	// Kafka broker holds what a producer sent, and its records to what a reader decompresses.
	h, size := sizeBatch(h, recs)
	if meta.compression == CompressionNone {
		if size > cfg.MaxMessageBytes {
			return 0, p.leo, fmt.Errorf("%w: batch of %d bytes, max.message.bytes is %d", ErrRecordTooLarge, size, cfg.MaxMessageBytes)
		}
		p.buf = encodeBatch(p.buf[:0], h, size, recs)
	} else {
		if size > maxDecompressedSize {
			return 0, p.leo, fmt.Errorf("%w: records of %d bytes, at most %d may be compressed in one batch", ErrRecordTooLarge, size, maxDecompressedSize)
		}
		var err error
		if p.buf, p.raw, err = encodeCompressed(p.buf[:0], h, recs, contiguous, meta.compression, p.raw); err != nil {
			return 0, p.leo, err
		}
		if len(p.buf) > cfg.MaxMessageBytes {
			return 0, p.leo, fmt.Errorf("%w: %v batch of %d bytes, max.message.bytes is %d", ErrRecordTooLarge,
				meta.compression, len(p.buf), cfg.MaxMessageBytes)
		}
	}
	return p.appendLocked(p.buf, len(recs), meta, now)
}

// appendLocked appends batch, encoded with its base offset at the end offset and holding n
// records, to the active segment, rolling it first if the batch would make it too big or it
// is too old; it then records the batch's producer sequence or transaction marker. It returns
// the batch's base offset and the end offset after it. Callers hold mu and have checked the
// batch against the partition (shut, idempotence, max.message.bytes).
func (p *partition) appendLocked(batch []byte, n int, meta batchMeta, now time.Time) (base, end int64, err error) {
	control := meta.attrs&attrControl != 0
	cfg := p.config()
	info, err := batchCodec.Header(batch)
	if err != nil {
		return 0, 0, err
	}
	// Transaction markers are exempt: settling a transaction lets read_committed consumers
	// go on, and the coordinator must be able to abort under the limit.
	if err := p.l.guard.Reserve(int64(len(batch))); err != nil && !control {
		return 0, p.leo, fmt.Errorf("tribus/log: %s: %w", p.name(), segfs.Classify(err))
	}
	act := p.active()
	if full := act.Size()+int64(len(batch)) > cfg.SegmentBytes; !act.Empty() && (full || now.Sub(act.Created()) >= cfg.rollAge()) {
		why := rollAge
		if full {
			why = rollSize
		}
		if act, err = p.rollLocked(now, why); err != nil {
			return 0, 0, err
		}
	}
	if err := act.Append(batch, info); err != nil {
		return 0, p.leo, fmt.Errorf("tribus/log: %s: %w", p.name(), segfs.Classify(err))
	}
	base = p.leo
	p.leo += int64(n)
	if p.l.observed() {
		p.nmu.Lock()
		p.unseen = append(p.unseen, unseenBatch{base: base, end: p.leo, n: n, producerID: max(meta.producerID, 0),
			txn: meta.attrs&attrTransactional != 0 && !control, control: control, commit: meta.commit})
		p.nmu.Unlock()
	}
	switch {
	case control:
		p.endTxnLocked(meta, meta.commit, base, false)
	case meta.producerID >= 0:
		p.recordSequenceLocked(meta, n, base)
	}
	return base, p.leo, nil
}

// Why a segment rolls, as EventSegmentRolled reports it.
const (
	rollSize      = "segment.bytes"
	rollAge       = "segment.ms"
	rollRetention = "retention"
)

// rollLocked seals the active segment and starts a new one at the end offset; why is one of
// the roll reasons above, for the observer.
func (p *partition) rollLocked(now time.Time, why string) (*segment.Segment, error) {
	if err := p.active().Roll(); err != nil {
		// The roll's fsync covers batches that are still waiting for theirs.
		err = fmt.Errorf("tribus/log: %s: roll: %w", p.name(), segfs.Classify(err))
		if !errors.Is(err, sentinel.ErrClosed) {
			p.syncErr.CompareAndSwap(nil, &err)
		}
		return nil, err
	}
	// Idempotence state as of the roll, so that a reopen replays the new segment only.
	if err := p.writeSnapshotLocked(); err != nil {
		return nil, fmt.Errorf("tribus/log: %s: producer-state snapshot: %w", p.name(), segfs.Classify(err))
	}
	seg, err := segment.Create(p.l.fs, p.dir, p.leo, batchCodec, now)
	if err != nil {
		return nil, fmt.Errorf("tribus/log: %s: roll: %w", p.name(), segfs.Classify(err))
	}
	// The new files' directory entries must be durable before a produce into them is
	// acknowledged; SyncData syncs file contents only.
	if err := p.l.fs.SyncDir(p.dir); err != nil {
		seg.Close()
		return nil, fmt.Errorf("tribus/log: %s: roll: %w", p.name(), segfs.Classify(err))
	}
	p.segs = append(p.segs, seg)
	if p.l.observed() {
		p.l.emit(Event{Kind: EventSegmentRolled, Topic: p.topic, Partition: p.id, Offset: seg.Base(), Reason: why})
	}
	return seg, nil
}

// syncTo returns once everything up to target is on disk. Concurrent callers share fsyncs:
// one syncs while the others wait, and one fsync covers every append made before it started
// (group commit).
func (p *partition) syncTo(target int64) error {
	p.smu.Lock()
	defer p.smu.Unlock()
	for p.synced < target {
		if err := p.syncErr.Load(); err != nil {
			return *err
		}
		if p.syncing {
			p.scond.Wait()
			continue
		}
		p.syncing = true
		p.mu.Lock()
		seg, upto := p.active(), p.leo
		p.mu.Unlock()
		p.smu.Unlock()
		var err error
		if f := p.l.faults; f != nil && f.BeforeSync != nil {
			err = f.BeforeSync(p.topic, p.id)
		}
		if err == nil {
			err = seg.SyncData()
		}
		p.smu.Lock()
		p.syncing = false
		if err == nil && upto > p.synced {
			p.synced = upto
			p.advance(upto)
		}
		if err != nil {
			err = fmt.Errorf("tribus/log: %s: sync: %w", p.name(), segfs.Classify(err))
			if !errors.Is(err, sentinel.ErrClosed) {
				p.syncErr.CompareAndSwap(nil, &err)
			}
		}
		p.scond.Broadcast()
		if err != nil {
			return err
		}
	}
	return nil
}

// wake wakes every fetch waiting on the partition, without moving the high watermark.
func (p *partition) wake() {
	p.nmu.Lock()
	defer p.nmu.Unlock()
	close(p.notify)
	p.notify = make(chan struct{})
}

// advance moves the high watermark, wakes waiting fetches and reports the batches it made
// readable to the observer, in offset order: they are all below hw before the first event.
func (p *partition) advance(hw int64) {
	p.nmu.Lock()
	defer p.nmu.Unlock()
	if hw <= p.hw.Load() {
		return
	}
	p.hw.Store(hw)
	close(p.notify)
	p.notify = make(chan struct{})
	if len(p.unseen) > 0 {
		p.reportAppendedLocked(hw)
	}
}

// reportAppendedLocked emits EventAppended for the unseen batches now below hw and forgets
// them. Callers hold nmu.
func (p *partition) reportAppendedLocked(hw int64) {
	i := 0
	for ; i < len(p.unseen) && p.unseen[i].end <= hw; i++ {
		b := &p.unseen[i]
		e := Event{Kind: EventAppended, Topic: p.topic, Partition: p.id, Offset: b.base, Count: b.n,
			ProducerID: b.producerID, Transactional: b.txn, Control: b.control}
		if b.control {
			e.Reason = "abort"
			if b.commit {
				e.Reason = "commit"
			}
		}
		p.l.emit(e)
	}
	p.unseen = p.unseen[:copy(p.unseen, p.unseen[i:])]
}

// changed returns a channel closed when the high watermark next moves.
func (p *partition) changed() <-chan struct{} {
	p.nmu.Lock()
	defer p.nmu.Unlock()
	return p.notify
}

// read returns the records from offset on, up to maxBytes of batches (at least one whole
// batch) and maxRecords records (0: no limit), below the high watermark, as readAt does at
// read_uncommitted.
func (p *partition) read(offset int64, maxBytes, maxRecords int, dst []Record) ([]Record, error) {
	dst, _, err := p.readAt(offset, maxBytes, maxRecords, ReadUncommitted, dst)
	return dst, err
}

// corruptAt is the error of a read at offset that met stored bytes failing their checks.
func (p *partition) corruptAt(offset int64, err error) error {
	return &CorruptBatchError{Topic: p.topic, Partition: p.id, Offset: offset, Err: err}
}

// isClosedSegment reports whether a segment read failed because the segment was closed
// meanwhile (retention, compaction, truncation), so that it is looked up again.
func isClosedSegment(err error) bool {
	return errors.Is(err, segment.ErrClosed) || errors.Is(err, fs.ErrClosed)
}

// readError is the error of a segment read at offset that failed: a *CorruptBatchError for
// stored bytes failing their checks.
func (p *partition) readError(offset int64, err error) error {
	if errors.Is(err, sentinel.ErrCorrupt) {
		return p.corruptAt(offset, err)
	}
	return fmt.Errorf("tribus/log: %s: read: %w", p.name(), err)
}

// readAt returns the records from offset on, up to maxBytes of batches (at least one whole
// batch) and maxRecords records (0: no limit), below the high watermark (read_uncommitted) or
// the last stable offset (read_committed, K43). Control records are never returned, nor, under
// read_committed, the records of aborted transactions. next is where the following read
// should start: past the last record returned, or past the batches skipped after it.
func (p *partition) readAt(offset int64, maxBytes, maxRecords int, iso IsolationLevel, dst []Record) (_ []Record, next int64, _ error) {
	hw := p.hw.Load()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shut != nil {
		return dst, offset, p.shut
	}
	if offset < p.logStart || offset > hw {
		return dst, offset, &OffsetOutOfRangeError{Topic: p.topic, Partition: p.id, Offset: offset, Start: p.logStart, End: hw}
	}
	limit := hw
	if iso == ReadCommitted {
		limit = p.lsoLocked(hw)
	}
	start := len(dst)
	var closedSeg *segment.Segment // the segment found closed by the last read, if any
	for offset < limit {
		i := sort.Search(len(p.segs), func(i int) bool { return p.segs[i].Base() > offset }) - 1
		if i < 0 {
			i = 0
		}
		seg := p.segs[i]
		if offset >= seg.NextOffset() {
			if i == len(p.segs)-1 {
				break
			}
			offset = p.segs[i+1].Base() // past the end of an emptied segment
			continue
		}
		// The file I/O runs without p.mu, as the segment allows: bytes below its size never
		// change while it is open. A segment closed meanwhile (retention, compaction,
		// truncation, Close) is looked up again.
		p.mu.Unlock()
		data, next, err := seg.Read(offset, maxBytes)
		p.mu.Lock()
		if err != nil && p.shut == nil && seg != closedSeg && isClosedSegment(err) {
			if offset < p.logStart {
				return dst, offset, &OffsetOutOfRangeError{Topic: p.topic, Partition: p.id, Offset: offset, Start: p.logStart, End: hw}
			}
			closedSeg = seg // once: a closed segment still listed is an error, not a loop
			continue
		}
		if p.shut != nil {
			return dst, offset, p.shut
		}
		if err != nil {
			clear(dst[start:])
			return dst[:start], offset, p.readError(offset, err)
		}
		// Size dst once from the batch headers instead of growing it record by record.
		total := 0
		for rest := data; len(rest) >= batchHeaderSize; {
			h, err := readBatchHeader(rest)
			if err != nil || h.size() > len(rest) {
				break
			}
			total += int(h.NumRecords)
			rest = rest[h.size():]
		}
		dst = slices.Grow(dst, total)
		n := len(dst)
		for len(data) > 0 {
			h, err := readBatchHeader(data) // cannot fail: seg.read validated the batches
			if err == nil && !p.skipLocked(&h, iso) {
				dst, err = decodeRecords(dst, data[:h.size()])
			}
			if err != nil {
				clear(dst[start:])
				return dst[:start], offset, p.corruptAt(max(offset, h.BaseOffset), err)
			}
			data = data[h.size():]
		}
		// Keep [offset, limit) and at most maxRecords: records are in offset order, so this
		// cuts the front of the first batch and the tail.
		got := dst[n:]
		lo := 0
		for lo < len(got) && got[lo].Offset < offset {
			lo++
		}
		hi := len(got)
		for hi > lo && got[hi-1].Offset >= limit {
			hi--
		}
		next = min(next, limit)
		if maxRecords > 0 && hi-lo > maxRecords-(n-start) {
			hi = lo + maxRecords - (n - start)
			next = got[hi-1].Offset + 1
		}
		kept := hi - lo
		if lo > 0 {
			copy(got, got[lo:hi])
		}
		clear(got[kept:])
		dst = dst[:n+kept]
		for i := n; i < len(dst); i++ {
			dst[i].Topic, dst[i].Partition = p.topic, p.id
		}
		if kept == 0 && next > offset {
			// Compaction emptied what was read (K35), or it held only control batches or
			// aborted ones: go on to the next surviving record rather than return nothing,
			// which would look like the end of the log.
			offset = next
			continue
		}
		offset = max(offset, next)
		break // one read of up to maxBytes, like one partition of a fetch response
	}
	return dst, offset, nil
}
