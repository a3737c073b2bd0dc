package log

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"sync"
	"time"
)

// TopicPartition names one partition.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// String writes tp as Kafka's tools do, topic-partition ("orders-0").
func (tp TopicPartition) String() string { return tp.Topic + "-" + strconv.Itoa(int(tp.Partition)) }

// OffsetReset is what a consumer does when its position is out of range or unknown
// (auto.offset.reset, K13).
type OffsetReset uint8

const (
	// ResetLatest, Kafka's default, moves to the end offset.
	ResetLatest OffsetReset = iota
	// ResetEarliest moves to the log start offset.
	ResetEarliest
	// ResetNone returns the out-of-range error from Poll.
	ResetNone
)

// ConsumerOptions configure a standalone [Consumer] (one without a group).
type ConsumerOptions struct {
	// Reset applies to a newly assigned partition and to a position that fell out of range
	// (K13). Default ResetLatest.
	Reset OffsetReset
	// MaxPollRecords caps one Poll (max.poll.records); 0 means 500; negative makes Poll fail
	// with ErrInvalidConfig.
	MaxPollRecords int
	// MaxWait is how long Poll waits for records when none is ready; 0 means 500 ms
	// (fetch.max.wait.ms); negative makes Poll fail with ErrInvalidConfig.
	MaxWait time.Duration
	// Isolation is ReadUncommitted (the default) or ReadCommitted (isolation.level, K43).
	// Under ReadCommitted the consumer reads only below the last stable offset, skips the
	// records of aborted transactions, and SeekToEnd and ResetLatest use the last stable
	// offset. Control records are skipped at either level; the position moves past them. An
	// unknown level makes Poll fail with ErrInvalidConfig.
	Isolation IsolationLevel
}

// Consumer reads assigned partitions by position, like a Kafka consumer with manual
// assignment: Poll returns records from each partition's position on and advances it; Seek
// moves a position without committing anything (K15). It is safe for concurrent use.
type Consumer struct {
	l    *Log
	opts ConsumerOptions
	bad  error // an invalid option, returned by every Poll

	mu       sync.Mutex
	assigned []TopicPartition
	pos      map[TopicPartition]int64 // absent: not yet resolved by Reset
	next     int                      // round-robin start among partitions

	// fetched holds, per partition, records read ahead and not yet returned, as Kafka's
	// consumer buffers a fetch (max.partition.fetch.bytes) and hands it out max.poll.records
	// at a time. A buffer is used only while its from equals the partition's position, so a
	// Seek or a reset simply leaves it behind.
	fetched map[TopicPartition]fetchBuf
}

// fetchBuf is read-ahead of one partition: recs continue the partition at offset from, and
// the position after the last of them is end (past any control or aborted batches the read
// skipped).
type fetchBuf struct {
	from int64
	recs []Record
	end  int64
}

// fetchBytes is how much a consumer reads from one partition at a time
// (max.partition.fetch.bytes).
const fetchBytes = 1 << 20

// NewConsumer returns a consumer with no partitions assigned.
func (l *Log) NewConsumer(o ConsumerOptions) *Consumer {
	var bad error
	if o.MaxPollRecords < 0 || o.MaxWait < 0 {
		// NewConsumer has no error result; Poll reports it, as it does an unknown isolation.
		bad = fmt.Errorf("%w: negative consumer option in %+v", ErrInvalidConfig, o)
	}
	if o.MaxPollRecords <= 0 {
		o.MaxPollRecords = 500
	}
	if o.MaxWait <= 0 {
		o.MaxWait = 500 * time.Millisecond
	}
	return &Consumer{l: l, opts: o, bad: bad, pos: make(map[TopicPartition]int64), fetched: make(map[TopicPartition]fetchBuf)}
}

// Assign replaces the consumer's partitions. A partition keeps its position if it stays
// assigned; a new one starts where Reset says, at the first Poll.
func (c *Consumer) Assign(tps ...TopicPartition) error {
	for _, tp := range tps {
		if _, err := c.l.partition(tp.Topic, tp.Partition); err != nil {
			return err
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.assigned = append([]TopicPartition(nil), tps...)
	// The positions and fetched batches of partitions still assigned stay; the maps are kept
	// rather than rebuilt, as a rebalance reassigns every member.
	in := assignedSet(tps)
	for tp := range c.pos {
		if !in(tp) {
			delete(c.pos, tp)
		}
	}
	for tp := range c.fetched {
		if !in(tp) {
			delete(c.fetched, tp)
		}
	}
	return nil
}

// assignedSet returns a membership test for tps: a scan for the few partitions a group member
// usually has, a set beyond that.
func assignedSet(tps []TopicPartition) func(TopicPartition) bool {
	if len(tps) <= 16 {
		return func(tp TopicPartition) bool { return slices.Contains(tps, tp) }
	}
	set := make(map[TopicPartition]bool, len(tps))
	for _, tp := range tps {
		set[tp] = true
	}
	return func(tp TopicPartition) bool { return set[tp] }
}

// Assignment returns the assigned partitions.
func (c *Consumer) Assignment() []TopicPartition {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]TopicPartition(nil), c.assigned...)
}

// Seek sets the position of an assigned partition: the next Poll reads from offset (K15). It
// commits nothing. An out-of-range offset is handled at the next Poll by Reset.
func (c *Consumer) Seek(tp TopicPartition, offset int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.isAssigned(tp) {
		return fmt.Errorf("%w: %s-%d is not assigned", ErrUnknownTopic, tp.Topic, tp.Partition)
	}
	c.pos[tp] = offset
	return nil
}

// SeekToBeginning moves the positions of tps (all assigned partitions if none) to their log
// start offsets.
func (c *Consumer) SeekToBeginning(tps ...TopicPartition) error { return c.seekTo(Earliest, tps) }

// SeekToEnd moves the positions of tps (all assigned partitions if none) to their end offsets:
// the last stable offsets under ReadCommitted (K43).
func (c *Consumer) SeekToEnd(tps ...TopicPartition) error { return c.seekTo(Latest, tps) }

// SeekToTime moves the positions of tps (all assigned if none) to the first offset whose
// timestamp is at or after t (K16), or to the end offset when no record is that recent.
func (c *Consumer) SeekToTime(t time.Time, tps ...TopicPartition) error {
	return c.seekTo(t.UnixMilli(), tps)
}

func (c *Consumer) seekTo(spec int64, tps []TopicPartition) error {
	if len(tps) == 0 {
		tps = c.Assignment()
	}
	for _, tp := range tps {
		off, _, err := c.l.ListOffsetsIsolated(tp.Topic, tp.Partition, spec, c.opts.Isolation)
		if err != nil {
			return err
		}
		if off < 0 {
			if off, _, err = c.l.ListOffsetsIsolated(tp.Topic, tp.Partition, Latest, c.opts.Isolation); err != nil {
				return err
			}
		}
		if err := c.Seek(tp, off); err != nil {
			return err
		}
	}
	return nil
}

// Position returns the offset the next Poll reads from for tp, resolving it by Reset if it is
// not set yet.
func (c *Consumer) Position(tp TopicPartition) (int64, error) {
	c.mu.Lock()
	off, ok := c.pos[tp]
	assigned := c.isAssigned(tp)
	c.mu.Unlock()
	if !assigned {
		return 0, fmt.Errorf("%w: %s-%d is not assigned", ErrUnknownTopic, tp.Topic, tp.Partition)
	}
	if ok {
		return off, nil
	}
	return c.reset(tp)
}

func (c *Consumer) isAssigned(tp TopicPartition) bool {
	for _, a := range c.assigned {
		if a == tp {
			return true
		}
	}
	return false
}

// reset resolves tp's position by the Reset policy.
func (c *Consumer) reset(tp TopicPartition) (int64, error) {
	spec := Latest
	switch c.opts.Reset {
	case ResetEarliest:
		spec = Earliest
	case ResetNone:
		return 0, fmt.Errorf("%w: no position for %s-%d and the reset policy is none", ErrOffsetOutOfRange, tp.Topic, tp.Partition)
	}
	off, _, err := c.l.ListOffsetsIsolated(tp.Topic, tp.Partition, spec, c.opts.Isolation)
	if err != nil {
		return 0, err
	}
	c.mu.Lock()
	c.pos[tp] = off
	c.mu.Unlock()
	return off, nil
}

// Poll returns the next records of the assigned partitions, each partition's in offset order,
// waiting up to MaxWait when none is ready, and advances the positions past them. It returns
// an empty slice after the wait, ctx's error, or an *OffsetOutOfRangeError under ResetNone.
func (c *Consumer) Poll(ctx context.Context) ([]Record, error) {
	if c.bad != nil {
		return nil, c.bad
	}
	if err := c.opts.Isolation.validate(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(c.opts.MaxWait)
	for {
		recs, waits, err := c.pollOnce()
		if err != nil || len(recs) > 0 {
			return recs, err
		}
		left := time.Until(deadline)
		if left <= 0 || len(waits) == 0 {
			return recs, nil
		}
		if err := waitAny(ctx, waits, left, nil); err != nil {
			return nil, err
		}
	}
}

func (c *Consumer) pollOnce() ([]Record, []<-chan struct{}, error) {
	tps := c.Assignment()
	var out []Record
	// Room for a channel per partition and the few a GroupConsumer's Poll adds (its group
	// watch, its metadata, stop and close), so that its appends allocate nothing more.
	waits := make([]<-chan struct{}, 0, len(tps)+4)
	c.mu.Lock()
	start := c.next
	c.next++
	c.mu.Unlock()
	for i := range tps {
		tp := tps[(start+i)%len(tps)]
		room := c.opts.MaxPollRecords - len(out)
		if room <= 0 {
			break
		}
		p, err := c.l.partition(tp.Topic, tp.Partition)
		if err != nil {
			return out, nil, err
		}
		off, err := c.Position(tp)
		if err != nil {
			return out, nil, err
		}
		waits = append(waits, p.changed())
		c.mu.Lock()
		fb := c.fetched[tp]
		c.mu.Unlock()
		if fb.from != off || len(fb.recs) == 0 {
			recs, end, err := p.readAt(off, fetchBytes, 0, c.opts.Isolation, nil)
			if err != nil {
				if !errors.Is(err, ErrOffsetOutOfRange) {
					return out, nil, err
				}
				if c.opts.Reset == ResetNone {
					return out, nil, err
				}
				if _, err := c.reset(tp); err != nil {
					return out, nil, err
				}
				continue
			}
			if c.l.observed() && len(recs) > 0 {
				c.l.emitFetched(p, recs[0].Offset, len(recs))
			}
			if len(recs) == 0 {
				if end > off {
					// Only markers or aborted batches: move past them, as Kafka's
					// consumer does, so the position does not lag behind forever.
					c.mu.Lock()
					if c.isAssigned(tp) && c.pos[tp] == off {
						c.pos[tp] = end
					}
					c.mu.Unlock()
				}
				continue
			}
			fb = fetchBuf{from: off, recs: recs, end: end}
		}
		take := min(room, len(fb.recs))
		if out == nil {
			out = fb.recs[:take:take] // the common case, one partition's records: no copy
		} else {
			out = append(out, fb.recs[:take]...)
		}
		next := fb.recs[take-1].Offset + 1
		if take == len(fb.recs) {
			next = max(next, fb.end)
		}
		c.mu.Lock()
		if c.isAssigned(tp) && c.pos[tp] == off { // not moved by a Seek meanwhile
			c.pos[tp] = next
			c.fetched[tp] = fetchBuf{from: next, recs: fb.recs[take:], end: fb.end}
		}
		c.mu.Unlock()
	}
	return out, waits, nil
}

// waitTimer is a timer one poll loop reuses for its waits, so that a wait allocates none. It
// belongs to whoever holds the loop's lock (GroupConsumer.pmu).
type waitTimer struct{ t *time.Timer }

// start arms the timer for d and returns its channel. Since Go 1.23 a Reset timer never
// delivers a value from before the Reset.
func (w *waitTimer) start(d time.Duration) <-chan time.Time {
	if w.t == nil {
		w.t = time.NewTimer(d)
	} else {
		w.t.Reset(d)
	}
	return w.t.C
}

// waitAny waits until one of chs is closed, d passes, or ctx ends. Up to eight channels are
// waited on in one select, with timer if not nil (else a new one); more take a goroutine each.
func waitAny(ctx context.Context, chs []<-chan struct{}, d time.Duration, timer *waitTimer) error {
	if len(chs) <= 8 {
		var c [8]<-chan struct{} // nil channels never fire
		copy(c[:], chs)
		if timer == nil {
			timer = &waitTimer{}
		}
		expired := timer.start(d)
		defer timer.t.Stop()
		select {
		case <-c[0]:
		case <-c[1]:
		case <-c[2]:
		case <-c[3]:
		case <-c[4]:
		case <-c[5]:
		case <-c[6]:
		case <-c[7]:
		case <-expired:
		case <-ctx.Done():
			return ctx.Err()
		}
		return nil
	}
	return waitMany(ctx, chs, d)
}

// waitMany is waitAny for more than eight channels, with a goroutine each. It is a function of
// its own so that waitAny's common case keeps its context on the stack.
func waitMany(ctx context.Context, chs []<-chan struct{}, d time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	done := make(chan struct{})
	var once sync.Once
	for _, ch := range chs {
		go func() {
			select {
			case <-ch:
				once.Do(func() { close(done) })
			case <-ctx.Done():
			}
		}()
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil
		}
		return ctx.Err()
	}
}

// All iterates over the records Poll returns, one at a time; it ends after yielding the first
// error.
func (c *Consumer) All(ctx context.Context) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		for {
			recs, err := c.Poll(ctx)
			if err != nil {
				yield(Record{}, err)
				return
			}
			for _, r := range recs {
				if !yield(r, nil) {
					return
				}
			}
		}
	}
}
