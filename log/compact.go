package log

// Log compaction (cleanup.policy=compact, K35–K38), emulated after Kafka's log cleaner.
//
// A pass over one partition runs on the retention timer, after retention ([Log.RunRetention]),
// when the partition is due:
//
//   - The cleanable part of the log is its sealed segments, wholly below the high watermark,
//     up to the first one that still holds a record younger than min.compaction.lag.ms. The
//     active segment is never cleaned (K37).
//   - The cleaner checkpoint is the end offset of the last pass. Cleanable bytes before it are
//     clean, the ones after it dirty. The partition is due when dirty/(clean+dirty) reaches
//     min.cleanable.dirty.ratio, when a dirty segment's first record is older than
//     max.compaction.lag.ms, or when a tombstone's delete horizon has passed (K36, K37).
//   - A pass maps each key of the dirty segments to its newest offset, then rewrites every
//     cleanable segment keeping a record only if no newer record has its key (K35). Records
//     without a key (only possible if written before the policy said compact) are dropped, as
//     Kafka's cleaner drops them. Control batches are kept whole.
//   - A tombstone (a keyed record with a nil Value) that survives gets a delete horizon, now +
//     delete.retention.ms, stamped on its batch the first time a pass keeps it (KIP-534:
//     attribute bit 6, the horizon in BaseTimestamp). A pass after the horizon removes it.
//
// A rewritten batch keeps its base offset, its LastOffsetDelta, its producer id, epoch and
// base sequence; records keep their offsets and timestamps, so offsets are never reused or
// changed and the batch still spans its original offsets. A batch left with no record is
// dropped; a segment left with no batch is deleted, unless it is the first, whose base offset
// is the log start offset after a restart. Segments are cleaned one at a time and never merged.
//
// Crash safety: the cleaned copy of segment X is written as X.log.cleaned, X.index.cleaned and
// X.timeindex.cleaned and synced; renaming X.log.cleaned to X.log.swap commits it, and the
// three files are then renamed over X's. [finishCleaning], run when a partition opens,
// completes a committed swap and deletes the copies of one that was not committed.
//
// The checkpoint and the earliest delete horizon are kept in the store next to the log start
// offsets, so a restart does not count the whole log as dirty again.

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tribusmq/tribus/log/internal/segfs"
	"github.com/tribusmq/tribus/log/internal/segment"
	"github.com/tribusmq/tribus/store"
)

// Suffixes of a cleaned segment's files while they are not yet in place.
const (
	cleanedSuffix = ".cleaned"
	swapSuffix    = ".swap"
)

// compact runs a compaction pass over the partition if its topic compacts and the partition
// is due (see the file comment). A pass racing a concurrent DeleteRecords or retention that
// removes a segment it is cleaning leaves that segment alone.
func (p *partition) compact(now time.Time) error {
	p.cmu.Lock()
	defer p.cmu.Unlock()
	if p.gone {
		return nil
	}
	cfg := p.config()
	if !cfg.compacts() {
		return nil
	}
	plan := p.plan(cfg, now)
	if !plan.due {
		return nil
	}
	latest, err := p.latestOffsets(plan.segs[plan.firstDirty:])
	if err != nil {
		return p.abandoned(err)
	}
	horizon := int64(math.MaxInt64)
	removed := 0
	for i, s := range plan.segs {
		h, err := p.cleanSegment(s, i == 0, plan.logStart, latest, cfg, now, &removed)
		horizon = min(horizon, h)
		if err != nil {
			// The segments cleaned so far stay cleaned: remember the horizons they hold.
			p.horizon = min(p.horizon, horizon)
			if p.l.observed() && removed > 0 {
				p.l.emit(Event{Kind: EventCompacted, Topic: p.topic, Partition: p.id, Offset: p.checkpoint, Count: removed,
					Reason: "the pass stopped: " + err.Error()})
			}
			return p.abandoned(err)
		}
	}
	p.checkpoint, p.horizon = plan.end, horizon
	if p.l.observed() {
		p.l.emit(Event{Kind: EventCompacted, Topic: p.topic, Partition: p.id, Offset: plan.end, Count: removed})
	}
	if err := p.l.saveCleaner(p); err != nil {
		return fmt.Errorf("tribus/log: %s: save cleaner checkpoint: %w", p.name(), err)
	}
	return nil
}

// abandoned turns the error of a pass that lost a segment to a concurrent deletion into nil.
func (p *partition) abandoned(err error) error {
	if errors.Is(err, segment.ErrClosed) || errors.Is(err, fs.ErrClosed) {
		return nil
	}
	return err
}

// cleanPlan is what a pass will clean, decided from segment metadata alone.
type cleanPlan struct {
	segs       []*segment.Segment // the cleanable segments, oldest first
	firstDirty int                // index in segs of the first segment at or after the checkpoint
	end        int64              // the checkpoint after the pass: where the uncleanable part starts
	logStart   int64
	due        bool
}

// plan finds the cleanable segments and decides whether the partition is due (K37).
func (p *partition) plan(cfg TopicConfig, now time.Time) cleanPlan {
	hw := p.hw.Load()
	p.mu.Lock()
	defer p.mu.Unlock()
	nowMs := now.UnixMilli()
	cp := max(p.checkpoint, p.segs[0].Base())
	if cp > p.leo {
		cp = p.segs[0].Base() // not this log's: count everything as dirty
	}
	pl := cleanPlan{logStart: p.logStart, firstDirty: -1}
	var clean, dirty int64
	firstDirtyTS := int64(math.MaxInt64)
	// Never the active segment, nor anything at or past the last stable offset: an open
	// transaction's records may still be aborted (K43).
	stable := p.lsoLocked(hw)
	for i, s := range p.segs[:len(p.segs)-1] {
		upper := p.segs[i+1].Base()
		if upper > stable {
			break
		}
		if s.Base() >= cp {
			if cfg.MinCompactionLag > 0 && nowMs-s.LargestTimestamp() < cfg.MinCompactionLag.Milliseconds() {
				break // holds a record too young to compact, and so may every later one
			}
			if pl.firstDirty < 0 {
				pl.firstDirty = len(pl.segs)
			}
			dirty += s.Size()
			if ts := s.FirstTimestamp(); ts >= 0 {
				firstDirtyTS = min(firstDirtyTS, ts)
			}
		} else {
			clean += s.Size()
		}
		pl.segs = append(pl.segs, s)
	}
	if pl.firstDirty < 0 {
		pl.firstDirty = len(pl.segs)
	}
	pl.end = cp
	if n := len(pl.segs); n > 0 {
		pl.end = max(cp, p.segs[n].Base())
	}
	switch {
	case len(pl.segs) == 0:
	case p.horizon <= nowMs:
		pl.due = true // a tombstone's delete horizon has passed (K36)
	case dirty == 0:
	case float64(dirty) >= cfg.MinCleanableDirtyRatio*float64(clean+dirty):
		pl.due = true
	case cfg.MaxCompactionLag > 0 && firstDirtyTS != math.MaxInt64 && nowMs-firstDirtyTS > cfg.MaxCompactionLag.Milliseconds():
		pl.due = true
	}
	return pl
}

// aborted reports whether the batch h heads belongs to an aborted transaction.
func (p *partition) aborted(h *batchHeader) bool {
	if h.Attributes&attrTransactional == 0 {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.isAbortedLocked(h.ProducerID, h.BaseOffset)
}

// eachBatch calls fn with every batch of s in order, reading it a chunk at a time. The bytes
// passed to fn are valid until fn returns.
func eachBatch(s *segment.Segment, fn func(b []byte) error) error {
	off, end := s.Base(), s.NextOffset()
	for off < end {
		data, next, err := s.Read(off, 1<<20)
		if err != nil {
			return err
		}
		for len(data) > 0 {
			size := batchSize(data)
			if size < batchHeaderSize || size > len(data) {
				return s.Corrupt(segment.LogSuffix, "batch of %d bytes in a read of %d", size, len(data))
			}
			if err := fn(data[:size]); err != nil {
				return err
			}
			data = data[size:]
		}
		if next <= off {
			break
		}
		off = next
	}
	return nil
}

// latestOffsets maps every key of the dirty segments to the offset of its newest record.
func (p *partition) latestOffsets(dirty []*segment.Segment) (map[string]int64, error) {
	latest := make(map[string]int64)
	var recs []Record
	for _, s := range dirty {
		err := eachBatch(s, func(b []byte) error {
			h, err := readBatchHeader(b)
			if err != nil {
				return err
			}
			if h.Attributes&attrControl != 0 || p.aborted(&h) {
				return nil // an aborted record never supersedes a committed one
			}
			if recs, err = decodeRecords(recs[:0], b); err != nil {
				return err
			}
			for i := range recs {
				if recs[i].Key != nil {
					latest[string(recs[i].Key)] = recs[i].Offset
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return latest, nil
}

// cleanSegment rewrites s without the records a newer one supersedes (K35), the records below
// the log start offset, and the tombstones past their delete horizon (K36), and swaps the
// cleaned copy in. A segment with nothing to change is left as it is. It returns the earliest
// delete horizon of the tombstones it kept (math.MaxInt64 if none), and adds to *removed the
// records it removed once the cleaned copy is in place.
func (p *partition) cleanSegment(s *segment.Segment, first bool, logStart int64, latest map[string]int64, cfg TopicConfig,
	now time.Time, removed *int) (int64, error) {
	nowMs := now.UnixMilli()
	stamp := nowMs + max(cfg.DeleteRetention.Milliseconds(), 0)
	horizon := int64(math.MaxInt64)
	changed := false
	dropped := 0 // records left out of the copy
	w := &cleanedWriter{fs: p.l.fs, dir: p.dir, base: s.Base(), now: now}
	defer w.discard()
	var recs, kept []Record
	err := eachBatch(s, func(b []byte) error {
		h, err := readBatchHeader(b)
		if err != nil {
			return err
		}
		if h.Attributes&attrControl != 0 {
			return w.add(b)
		}
		if p.aborted(&h) {
			changed = true // the cleaner drops aborted transactional data, as Kafka's does
			dropped += int(h.NumRecords)
			return nil
		}
		if recs, err = decodeRecords(recs[:0], b); err != nil {
			return err
		}
		hasHorizon := h.Attributes&attrDeleteHorizon != 0
		tombstones := false
		kept = kept[:0]
		for _, r := range recs {
			switch newest, ok := latest[string(r.Key)]; {
			case r.Offset < logStart, r.Key == nil, ok && newest > r.Offset:
				continue
			case r.Value == nil && hasHorizon && h.BaseTimestamp <= nowMs:
				continue // a tombstone past its delete horizon
			case r.Value == nil:
				tombstones = true
			}
			kept = append(kept, r)
		}
		dropped += len(recs) - len(kept)
		switch {
		case len(kept) == 0:
			changed = true
			return nil
		case tombstones && !hasHorizon:
			h.Attributes |= attrDeleteHorizon
			h.BaseTimestamp = stamp
		case len(kept) == len(recs):
			if tombstones {
				horizon = min(horizon, h.BaseTimestamp)
			}
			return w.add(b)
		}
		changed = true
		if tombstones {
			horizon = min(horizon, h.BaseTimestamp)
		}
		if w.scratch, err = appendCleanedBatch(w.scratch[:0], h, kept); err != nil {
			return err
		}
		return w.add(w.scratch)
	})
	if err != nil || !changed {
		return horizon, p.wrapCleanErr(err)
	}
	if w.size == 0 && !first {
		done, err := p.dropCleaned(s)
		if done {
			*removed += dropped
		}
		return horizon, err
	}
	if err := w.finish(); err != nil {
		return horizon, p.wrapCleanErr(err)
	}
	done, err := p.swapCleaned(s, w)
	if done {
		*removed += dropped
	}
	return horizon, err
}

func (p *partition) wrapCleanErr(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("tribus/log: %s: compaction: %w", p.name(), err)
}

// cleanedWriter writes the cleaned copy of the segment based at base, buffering up to
// cleanBuffer bytes and creating the files only when a flush needs them, so that a segment
// with nothing to change costs no writes.
type cleanedWriter struct {
	fs        segfs.FS
	dir       string
	base      int64
	now       time.Time
	seg       *segment.Segment // nil until the first flush
	buf       []byte           // batches not yet written
	scratch   []byte           // where a rewritten batch is encoded
	size      int64            // bytes added in all
	committed bool             // the files were renamed into place
}

const cleanBuffer = 1 << 20

// add appends a copy of a whole batch.
func (w *cleanedWriter) add(b []byte) error {
	w.buf = append(w.buf, b...)
	w.size += int64(len(b))
	if len(w.buf) >= cleanBuffer {
		return w.flush()
	}
	return nil
}

func (w *cleanedWriter) flush() error {
	if w.seg == nil {
		removeCleaned(w.fs, w.dir, w.base)
		seg, err := segment.CreateAs(w.fs, w.dir, w.base, batchCodec, w.now, cleanedSuffix)
		if err != nil {
			return err
		}
		w.seg = seg
	}
	err := w.seg.AppendAll(w.buf)
	w.buf = w.buf[:0]
	return err
}

// finish writes what is buffered and seals the copy: its last index point is added and its
// three files and the directory are synced.
func (w *cleanedWriter) finish() error {
	if err := w.flush(); err != nil {
		return err
	}
	err := w.seg.Roll()
	if cerr := w.seg.Close(); err == nil {
		err = cerr
	}
	return err
}

// discard deletes the copy unless it was committed.
func (w *cleanedWriter) discard() {
	if w.seg == nil || w.committed {
		return
	}
	w.seg.Close()
	removeCleaned(w.fs, w.dir, w.base)
}

// dropCleaned deletes a sealed segment that compaction emptied, if the partition still has it,
// and reports whether it is gone from the partition.
func (p *partition) dropCleaned(s *segment.Segment) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	i := slices.Index(p.segs, s)
	if i <= 0 || i == len(p.segs)-1 {
		return false, nil // gone, or now the first or the active segment: keep it
	}
	p.segs = slices.Delete(slices.Clone(p.segs), i, i+1)
	if p.l.observed() {
		p.l.emit(Event{Kind: EventSegmentDeleted, Topic: p.topic, Partition: p.id, Offset: s.Base(), Reason: "compaction"})
	}
	if err := s.Remove(); err != nil {
		return true, fmt.Errorf("tribus/log: %s: compaction: %w", p.name(), err)
	}
	return true, nil
}

// swapCleaned swaps the sealed copy w wrote in for s (see the file comment for the order of
// renames), and reports whether the partition reads the copy from now on. If the partition no
// longer has s, the copy is left for w.discard.
func (p *partition) swapCleaned(s *segment.Segment, w *cleanedWriter) (bool, error) {
	fsys, base := p.l.fs, s.Base()
	p.mu.Lock()
	defer p.mu.Unlock()
	i := slices.Index(p.segs, s)
	if i < 0 || i == len(p.segs)-1 {
		return false, nil
	}
	// The commit point: from here on, opening the partition finishes the swap.
	if err := fsys.Rename(s.Path(segment.LogSuffix+cleanedSuffix), s.Path(segment.LogSuffix+swapSuffix)); err != nil {
		return false, p.wrapCleanErr(err)
	}
	w.committed = true
	if err := fsys.SyncDir(p.dir); err != nil {
		return false, p.wrapCleanErr(err)
	}
	if err := completeSwap(fsys, p.dir, base); err != nil {
		return false, p.wrapCleanErr(err)
	}
	ns, _, err := segment.Open(fsys, p.dir, base, batchCodec, false)
	if err != nil {
		// The old handles still read the old files; the next open reads the new ones.
		return false, p.wrapCleanErr(fmt.Errorf("reopen: %w", err))
	}
	segs := slices.Clone(p.segs)
	segs[i] = ns
	p.segs = segs
	if err := s.Close(); err != nil {
		p.l.logger.Warn("tribus/log: closing a compacted segment", "partition", p.name(), "segment", base, "err", err)
	}
	return true, nil
}

// completeSwap renames the cleaned files of the segment based at base over its files, the
// .log last, and syncs the directory. The cleaned .log must already be named .log.swap.
func completeSwap(fsys segfs.FS, dir string, base int64) error {
	prefix := filepath.Join(dir, segment.Name(base))
	for _, suffix := range []string{segment.IndexSuffix, segment.TimeIndexSuffix} {
		if err := fsys.Rename(prefix+suffix+cleanedSuffix, prefix+suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if err := fsys.Rename(prefix+segment.LogSuffix+swapSuffix, prefix+segment.LogSuffix); err != nil {
		return err
	}
	return fsys.SyncDir(dir)
}

// removeCleaned deletes whatever cleaned files of the segment based at base exist.
func removeCleaned(fsys segfs.FS, dir string, base int64) {
	prefix := filepath.Join(dir, segment.Name(base))
	for _, suffix := range []string{segment.LogSuffix, segment.IndexSuffix, segment.TimeIndexSuffix} {
		_ = fsys.Remove(prefix + suffix + cleanedSuffix)
	}
}

// finishCleaning completes the swaps a crash interrupted after their commit point (a
// .log.swap file exists) and deletes the cleaned copies of the others. It returns the
// directory's file names as they are afterwards.
func finishCleaning(fsys segfs.FS, dir string, names []string) ([]string, error) {
	touched := false
	for _, n := range names {
		b, ok := strings.CutSuffix(n, segment.LogSuffix+swapSuffix)
		if !ok {
			continue
		}
		base, err := strconv.ParseInt(b, 10, 64)
		if err != nil || len(b) != 20 {
			return nil, fmt.Errorf("unexpected file %q", n)
		}
		if err := completeSwap(fsys, dir, base); err != nil {
			return nil, fmt.Errorf("finish compaction of segment %d: %w", base, err)
		}
		touched = true
	}
	if touched {
		var err error
		if names, err = fsys.List(dir); err != nil {
			return nil, err
		}
	}
	kept := names[:0:0]
	for _, n := range names {
		if strings.HasSuffix(n, cleanedSuffix) {
			if err := fsys.Remove(filepath.Join(dir, n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, err
			}
			touched = true
			continue
		}
		kept = append(kept, n)
	}
	if touched {
		if err := fsys.SyncDir(dir); err != nil {
			return nil, err
		}
	}
	return kept, nil
}

const bktCleaner = "cleaner"

// saveCleaner and loadCleaner keep a partition's cleaner checkpoint and earliest tombstone
// delete horizon, like Kafka's cleaner-offset-checkpoint. Without a saved value the whole log
// counts as dirty and no horizon is known.
func (l *Log) saveCleaner(p *partition) error {
	key := []byte(p.name())
	v := []byte(fmt.Sprint(p.checkpoint, " ", p.horizon))
	return l.st.Update(func(tx *store.Tx) error {
		b, err := tx.CreateBucketIfNotExists(store.BucketLog, bktCleaner)
		if err != nil {
			return err
		}
		return b.Put(key, v)
	})
}

func (l *Log) loadCleaner(p *partition) (checkpoint, horizon int64) {
	checkpoint, horizon = 0, math.MaxInt64
	_ = l.st.View(func(tx *store.Tx) error {
		if b := tx.Bucket(store.BucketLog, bktCleaner); b != nil {
			if v := b.Get([]byte(p.name())); v != nil {
				var c, h int64
				if n, _ := fmt.Sscan(string(v), &c, &h); n == 2 {
					checkpoint, horizon = c, h
				}
			}
		}
		return nil
	})
	return checkpoint, horizon
}
