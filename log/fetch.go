package log

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tribusmq/tribus/log/internal/segment"
	"github.com/tribusmq/tribus/store"
)

// IsolationLevel is what a fetch or a consumer may read of transactional records
// (isolation.level, K43).
type IsolationLevel uint8

const (
	// ReadUncommitted, Kafka's default, reads up to the high watermark, including the records
	// of open and aborted transactions.
	ReadUncommitted IsolationLevel = iota
	// ReadCommitted reads only up to the last stable offset (the first offset of the earliest
	// open transaction) and skips the records of aborted transactions.
	ReadCommitted
)

// String returns Kafka's name of the level: "read_uncommitted" or "read_committed".
func (i IsolationLevel) String() string {
	switch i {
	case ReadUncommitted:
		return "read_uncommitted"
	case ReadCommitted:
		return "read_committed"
	}
	return fmt.Sprintf("IsolationLevel(%d)", uint8(i))
}

func (i IsolationLevel) validate() error {
	if i > ReadCommitted {
		return fmt.Errorf("%w: unknown isolation level %d", ErrInvalidConfig, uint8(i))
	}
	return nil
}

// FetchOptions bound a fetch, like a Kafka Fetch request's limits.
type FetchOptions struct {
	// MaxBytes caps the batches read (at least one whole batch is returned, as Kafka does).
	// 0 means 1 MiB (max.partition.fetch.bytes).
	MaxBytes int
	// MaxRecords caps the records returned; 0 means no cap.
	MaxRecords int
	// MaxWait is how long Fetch waits for a record when there is none at offset yet
	// (fetch.max.wait.ms). 0 returns at once.
	MaxWait time.Duration
	// Isolation is ReadUncommitted (the default) or ReadCommitted (K43). Control records
	// (transaction markers) are never returned at either level.
	Isolation IsolationLevel
}

// validate refuses a negative limit, as Kafka's Fetch request schema and consumer configs
// (fetch.max.wait.ms, max.partition.fetch.bytes: atLeast(0)) do.
func (o FetchOptions) validate() error {
	if o.MaxBytes < 0 || o.MaxRecords < 0 || o.MaxWait < 0 {
		return fmt.Errorf("%w: negative fetch option in %+v", ErrInvalidConfig, o)
	}
	return o.Isolation.validate()
}

// Fetch returns records of one partition from offset on, in offset order (K3), waiting up to
// MaxWait for the first one to arrive. Reading below the log start offset or above the end is
// an [*OffsetOutOfRangeError] (K32). Offsets need not be contiguous: compaction and
// transaction markers leave gaps (K42). Under ReadCommitted it returns only records below the
// last stable offset and none of aborted transactions, and a wait ends when the last stable
// offset moves as well as when the high watermark does. An unknown isolation level is
// ErrInvalidConfig, and so is a negative MaxBytes, MaxRecords or MaxWait. The returned records
// own their bytes. Stored bytes that fail their CRC-32C check are never returned as records:
// see [CorruptBatchError].
func (l *Log) Fetch(ctx context.Context, topicName string, partition int32, offset int64, o FetchOptions) ([]Record, error) {
	return l.FetchAppend(ctx, nil, topicName, partition, offset, o)
}

// FetchAppend is [Log.Fetch] appending the records to dst and returning the extended slice,
// like the standard library's Append functions: a reader that is done with one fetch's
// records passes the same slice back (recs[:0]) and saves allocating, zeroing and collecting
// a new one each time. The records own their bytes as with Fetch; only the []Record is reused.
// On error dst comes back with the records appended so far, if any.
func (l *Log) FetchAppend(ctx context.Context, dst []Record, topicName string, partition int32, offset int64, o FetchOptions) ([]Record, error) {
	if err := o.validate(); err != nil {
		return dst, err
	}
	p, err := l.partition(topicName, partition)
	if err != nil {
		return dst, err
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 1 << 20
	}
	var timer *time.Timer
	base := len(dst)
	for {
		wait := p.changed()
		recs, next, err := p.readAt(offset, o.MaxBytes, o.MaxRecords, o.Isolation, dst)
		if err != nil || len(recs) > base || o.MaxWait <= 0 {
			if l.observed() && len(recs) > base {
				l.emitFetched(p, recs[base].Offset, len(recs)-base)
			}
			return recs, err
		}
		offset = next // past markers and aborted batches already looked at
		if timer == nil {
			timer = time.NewTimer(o.MaxWait)
			defer timer.Stop()
		}
		select {
		case <-wait:
		case <-timer.C:
			return dst, nil
		case <-ctx.Done():
			return dst, ctx.Err()
		}
	}
}

// Special timestamps of [Log.ListOffsets] (K17).
const (
	Latest       int64 = -1 // the end offset (high watermark), or the last stable offset under read_committed
	Earliest     int64 = -2 // the log start offset
	MaxTimestamp int64 = -3 // the offset of the record with the largest timestamp (KIP-734)
)

// ListOffsets answers Kafka's ListOffsets for one partition: with Latest or Earliest the end
// or start offset; with MaxTimestamp the offset and timestamp of the record with the largest
// timestamp; with a timestamp in Unix milliseconds (≥ 0) the first offset, in offset order,
// whose timestamp is at or after it (K16), or offset -1 when there is none.
func (l *Log) ListOffsets(topicName string, partition int32, ts int64) (offset int64, timestamp time.Time, err error) {
	return l.ListOffsetsIsolated(topicName, partition, ts, ReadUncommitted)
}

// ListOffsetsIsolated is [Log.ListOffsets] at an isolation level (K17, K43). Under
// ReadCommitted, Latest is the last stable offset, and a timestamp lookup (or MaxTimestamp)
// whose answer lies at or past the last stable offset finds nothing (offset -1). An unknown
// isolation level is ErrInvalidConfig.
func (l *Log) ListOffsetsIsolated(topicName string, partition int32, ts int64, iso IsolationLevel) (offset int64, timestamp time.Time, err error) {
	if err := iso.validate(); err != nil {
		return 0, time.Time{}, err
	}
	p, err := l.partition(topicName, partition)
	if err != nil {
		return 0, time.Time{}, err
	}
	if iso == ReadCommitted && (ts >= 0 || ts == MaxTimestamp) {
		off, at, err := l.ListOffsetsIsolated(topicName, partition, ts, ReadUncommitted)
		if err != nil || off < 0 || off < p.lastStable() {
			return off, at, err
		}
		return -1, time.Time{}, nil
	}
	switch {
	case ts == Latest && iso == ReadCommitted:
		return p.lastStable(), time.Time{}, nil
	case ts == Latest:
		return p.hw.Load(), time.Time{}, nil
	case ts == Earliest:
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.logStart, time.Time{}, nil
	case ts == MaxTimestamp:
		return p.maxTimestamp()
	case ts < 0:
		return 0, time.Time{}, fmt.Errorf("%w: unsupported ListOffsets timestamp %d", ErrInvalidConfig, ts)
	}
	return p.offsetForTime(ts)
}

// scan calls fn for every record below the high watermark from the segment at index i on,
// until fn returns false.
func (p *partition) scan(from int64, fn func(r *Record) bool) error {
	for from < p.hw.Load() {
		recs, err := p.read(from, 1<<20, 0, nil)
		if err != nil {
			var oor *OffsetOutOfRangeError
			if errors.As(err, &oor) && oor.Offset < oor.Start {
				from = oor.Start
				continue
			}
			return err
		}
		if len(recs) == 0 {
			return nil
		}
		for i := range recs {
			if !fn(&recs[i]) {
				return nil
			}
		}
		from = recs[len(recs)-1].Offset + 1
	}
	return nil
}

func (p *partition) maxTimestamp() (int64, time.Time, error) {
	// Each segment knows its largest timestamp and where it is; only a maximum that
	// DeleteRecords has put below the log start needs the segment's live records scanned.
	p.mu.Lock()
	start := p.logStart
	type cand struct{ ts, off int64 }
	var cands []cand
	var rescan []*segment.Segment
	for _, s := range p.segs {
		if s.Empty() || s.NextOffset() <= start {
			continue
		}
		if off := s.LargestTimestampOffset(); off >= start {
			cands = append(cands, cand{s.LargestTimestamp(), off})
		} else {
			rescan = append(rescan, s)
		}
	}
	p.mu.Unlock()
	for _, s := range rescan {
		best := cand{-1, -1}
		err := p.scan(max(start, s.Base()), func(r *Record) bool {
			if r.Offset >= s.NextOffset() {
				return false
			}
			if ts := r.Timestamp.UnixMilli(); ts > best.ts {
				best = cand{ts, r.Offset}
			}
			return true
		})
		if err != nil {
			return 0, time.Time{}, err
		}
		if best.off >= 0 {
			cands = append(cands, best)
		}
	}
	best := cand{-1, -1}
	for _, c := range cands {
		if c.ts > best.ts || (c.ts == best.ts && c.off < best.off) {
			best = c
		}
	}
	if best.off < 0 {
		return -1, time.Time{}, nil
	}
	return best.off, time.UnixMilli(best.ts), nil
}

func (p *partition) offsetForTime(ts int64) (int64, time.Time, error) {
	p.mu.Lock()
	from := int64(-1)
	for _, s := range p.segs {
		if s.LargestTimestamp() < ts {
			continue // no record of this segment qualifies
		}
		off, err := s.FindByTimestamp(ts)
		if err != nil {
			p.mu.Unlock()
			return 0, time.Time{}, err
		}
		if off >= 0 {
			from = max(off, p.logStart)
			break
		}
	}
	p.mu.Unlock()
	if from < 0 {
		return -1, time.Time{}, nil
	}
	off, at := int64(-1), time.Time{}
	err := p.scan(from, func(r *Record) bool {
		if r.Timestamp.UnixMilli() >= ts {
			off, at = r.Offset, r.Timestamp
			return false
		}
		return true
	})
	return off, at, err
}

// DeleteRecords moves a partition's log start offset forward to before (Kafka's
// DeleteRecords): records below it can no longer be read, whole segments below it are
// deleted, and offsets are never reused (K32). before must lie within [start, end].
func (l *Log) DeleteRecords(topicName string, partition int32, before int64) error {
	p, err := l.partition(topicName, partition)
	if err != nil {
		return err
	}
	hw := p.hw.Load()
	p.mu.Lock()
	defer p.mu.Unlock()
	if before < p.logStart || before > hw {
		return &OffsetOutOfRangeError{Topic: p.topic, Partition: p.id, Offset: before, Start: p.logStart, End: hw}
	}
	if err := p.l.saveStart(p, before); err != nil {
		return err
	}
	moved := before > p.logStart
	p.logStart = before
	err = p.dropSegmentsBelowLocked(before, "DeleteRecords")
	if moved && p.l.observed() {
		p.l.emit(Event{Kind: EventRecordsDeleted, Topic: p.topic, Partition: p.id, Offset: before, Reason: "DeleteRecords"})
	}
	return err
}

const bktStarts = "starts"

// saveStart and loadStart keep a log start offset that DeleteRecords moved inside a segment,
// like Kafka's log-start-offset-checkpoint.
func (l *Log) saveStart(p *partition, start int64) error {
	key := []byte(p.name())
	v := []byte(fmt.Sprint(start))
	return l.st.Update(func(tx *store.Tx) error {
		b, err := tx.CreateBucketIfNotExists(store.BucketLog, bktStarts)
		if err != nil {
			return err
		}
		return b.Put(key, v)
	})
}

func (l *Log) loadStart(p *partition) int64 {
	var start int64 = -1
	_ = l.st.View(func(tx *store.Tx) error {
		if b := tx.Bucket(store.BucketLog, bktStarts); b != nil {
			if v := b.Get([]byte(p.name())); v != nil {
				fmt.Sscan(string(v), &start)
			}
		}
		return nil
	})
	return start
}
