package segment

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tribusmq/tribus/internal/sentinel"
	"github.com/tribusmq/tribus/log/internal/segfs"
)

// A segment is one piece of a partition, named as Kafka names it: in the partition directory,
// <base offset, 20 digits>.log holds whole record batches back to back, .index maps a batch's
// offset to its position in the .log and .timeindex maps a timestamp to an offset. Batches are
// opaque bytes here; the partition injects a [Codec] that reads their headers and checksums.
//
// The indexes are sparse: an entry every IndexInterval bytes of .log (Kafka's
// index.interval.bytes) and always one for the first batch. Unlike Kafka, which adds a time
// entry only when the running maximum timestamp grows, every index point here writes one entry
// to each index, so entry i of both files was written together. Two invariants follow, and the
// code relies on them:
//
//   - Time entry i holds the largest timestamp of every batch up to and including the batch
//     at offset entry i, so a timestamp search may start at that batch's position.
//   - After [Segment.Roll], the last offset entry points at the last batch, so a sealed
//     segment is checked by reading one header: that batch must end exactly at the end of the
//     .log, and its last offset is the segment's next offset.
//
// The indexes live in memory and reach their files when the segment is synced, rolled or
// closed, and always after the .log bytes they describe were synced. So an index entry found
// on disk points at durable bytes, and recovery can trust the .log before it: a crash loses
// only what was never synced, which is the tail after the last entry. Index files are never
// preallocated (Kafka preallocates its memory-mapped ones), so sealing has nothing to trim.
// The entry encodings and the walk over a .log's batches are in segformat.go, opening and
// recovery in recovery.go.

// ErrCorrupt is returned when a segment's .log is damaged in a way that recovery does
// not repair: a sealed segment whose batches do not parse or do not end where its last batch
// should, or an active segment with a damaged batch followed by valid ones (not a torn tail).
// It is wrapped with the file's path and what was wrong. errors.Is(err, tribus.ErrCorrupt)
// holds for it.
var ErrCorrupt = fmt.Errorf("tribus/log: corrupt segment: %w", sentinel.ErrCorrupt)

// Errors a segment returns to the partition that owns it; they never reach a user unwrapped.
var (
	// ErrClosed: the segment was closed (a read racing a roll or retention looks it up again).
	ErrClosed = fmt.Errorf("tribus/log: segment: %w", sentinel.ErrClosed)
	// ErrSealed: an append to a segment that was rolled.
	ErrSealed = errors.New("tribus/log: segment is sealed")
	// ErrFull: the batch would overflow the 32-bit relative offsets or positions of the
	// indexes; the partition rolls first (see [Segment.fits]).
	ErrFull = errors.New("tribus/log: segment full")
	// ErrBadBatch: the batch does not follow the segment (its offsets go backwards, or its
	// description disagrees with its bytes), which is a bug in the caller.
	ErrBadBatch = errors.New("tribus/log: batch does not follow the segment")
)

const (
	// defaultIndexInterval is the number of .log bytes between sparse index entries (Kafka's
	// index.interval.bytes default).
	defaultIndexInterval = 4096
)

// The suffixes of a segment's three files, after its [Name].
const (
	LogSuffix       = ".log"
	IndexSuffix     = ".index"
	TimeIndexSuffix = ".timeindex"
)

// BatchInfo is what a [Codec] reports about the batch at the start of a byte slice.
type BatchInfo struct {
	Size                   int   // bytes of the whole batch
	BaseOffset, LastOffset int64 // offsets of its first and last record
	MaxTimestamp           int64 // largest record timestamp, ms since the Unix epoch
}

// ValidateFunc checks the whole batch at the start of b (its length and checksum) and
// describes it. Any error means "not a valid batch here": a torn or corrupt tail.
type ValidateFunc func(b []byte) (BatchInfo, error)

// HeaderFunc describes the batch whose first Codec.HeaderLen bytes are h, without checking its
// checksum. It must report the same BatchInfo as ValidateFunc would for an intact batch, and
// fail (rather than report a Size below HeaderLen) on bytes that are not a header.
type HeaderFunc func(h []byte) (BatchInfo, error)

// Codec is how a segment reads the batches it stores, and how densely it indexes them; a
// partition passes the same one to all its segments. Walking a trusted .log (to find where a
// read starts, or a timestamp) reads headers only; recovering a tail validates whole batches.
// For Kafka's RecordBatch v2, HeaderLen is 61 and every BatchInfo field is in the header
// (batchLength, lastOffsetDelta, maxTimestamp).
type Codec struct {
	HeaderLen     int          // bytes header needs, and the smallest possible batch
	Header        HeaderFunc   // describes a batch from its first HeaderLen bytes
	Validate      ValidateFunc // checks a whole batch
	IndexInterval int          // .log bytes between index entries; 0 means defaultIndexInterval
	// Contiguous: in the active segment each batch starts where the one before ended, and
	// the first at the segment's base (only compaction, of sealed segments, leaves gaps), so
	// recovery refuses a valid batch with other offsets instead of cutting the log there.
	Contiguous bool
}

func (c *Codec) interval() int64 {
	if c.IndexInterval <= 0 {
		return defaultIndexInterval
	}
	return int64(c.IndexInterval)
}

func (c *Codec) check() error {
	if c.Header == nil || c.Validate == nil || c.HeaderLen <= 0 {
		return errors.New("tribus/log: segment codec needs headerLen, header and validate")
	}
	return nil
}

// Name is the file name of the segment based at base, without its suffix.
func Name(base int64) string { return fmt.Sprintf("%020d", base) }

// Segment is one segment, open.
//
// Concurrency: one goroutine writes (Append, Sync, Roll, Close, Remove) while any number read
// (Read, FindByTimestamp and the accessors). The writer changes the fields under mu; the
// bytes of the .log below logSize never change while the segment is open, so readers copy
// what they need under mu and do their I/O without it.
type Segment struct {
	fs        segfs.FS
	dir       string // the partition directory
	codec     Codec
	base      int64
	tmp       string // appended to every file name: a cleaned copy being written (compact.go)
	createdAt time.Time
	log       segfs.File
	index     segfs.File
	timeIndex segfs.File
	closed    atomic.Bool

	mu       sync.RWMutex
	logSize  int64  // bytes of whole batches in the .log
	nextOff  int64  // offset after the last batch; base when empty
	maxTS    int64  // largest timestamp so far, -1 when empty
	maxTSOff int64  // last offset of the first batch that holds maxTS, -1 when empty
	firstTS  int64  // the first batch's max timestamp (segment.ms counts from it), -1 when empty
	offIdx   []byte // the .index entries, as in the file
	timeIdx  []byte // the .timeindex entries, as in the file

	// Only the writer uses these.
	sinceIndex  int64 // .log bytes from the last index point to the end
	lastPos     int64 // position of the last batch
	lastBase    int64 // base offset of the last batch
	offFlushed  int   // bytes of offIdx already in the .index file
	timeFlushed int   // bytes of timeIdx already in the .timeindex file
	sealed      bool
	dirSynced   bool   // the directory was synced since the files were created
	rebuilt     string // why open rebuilt index entries that were on disk; "" if it did not
	failed      error  // a write could not be undone; the files no longer match the state
}

// Create creates an empty segment based at base in dir (created if missing), its
// creation time now. Existing empty files are reused; a non-empty .log is an error wrapping
// fs.ErrExist, because offsets are never reused. The partition must roll (seal) the previous
// segment before creating the next, so that only the last segment ever needs recovery.
func Create(fsys segfs.FS, dir string, base int64, c Codec, now time.Time) (*Segment, error) {
	return CreateAs(fsys, dir, base, c, now, "")
}

// CreateAs is Create for files whose names end in tmp after their usual suffix,
// such as the cleaned copy of a segment that compaction renames into place once it is whole.
func CreateAs(fsys segfs.FS, dir string, base int64, c Codec, now time.Time, tmp string) (*Segment, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	if base < 0 {
		return nil, fmt.Errorf("tribus/log: segment base offset %d is negative", base)
	}
	if err := fsys.MkdirAll(dir); err != nil {
		return nil, err
	}
	s, err := openFiles(fsys, dir, base, c, now, tmp)
	if err != nil {
		return nil, err
	}
	if s.log.Size() != 0 {
		s.closeFiles()
		return nil, fmt.Errorf("tribus/log: create segment %s: %w", s.Path(LogSuffix), fs.ErrExist)
	}
	if err := errors.Join(s.index.Truncate(0), s.timeIndex.Truncate(0)); err != nil {
		s.closeFiles()
		return nil, err
	}
	return s, nil
}

// Open opens the existing segment based at base in dir; its creation time is the
// current time, as Kafka resets it on load.
//
// With recoverTail (the active segment, after a crash or not), it trusts the .log up to the
// last index entry whose batch still validates, re-validates every batch after it, truncates
// the .log after the last valid one (returning how many bytes were cut) and rebuilds the index
// entries past that point. Bytes before that entry are not re-read: Kafka re-reads the whole
// segment after an unclean shutdown, but here an entry on disk only ever points at synced bytes
// (reads check every batch they return). Only a torn tail is cut: if a valid batch follows the
// first invalid one, or a valid batch does not follow the one before it (Codec.Contiguous),
// the error wraps [ErrCorrupt] and nothing is cut.
//
// Without it (a sealed segment) it trusts the files but checks cheaply that they agree: the
// indexes have whole, ordered, paired entries and the last one points at a batch that ends
// exactly at the end of the .log. If not, it rebuilds the indexes from the .log's batch
// headers and writes them ([Segment.Rebuilt] says why); if the headers do not parse to the end,
// or the old index describes batches past the end of the .log (which lost its end), the error
// wraps [ErrCorrupt] and names the .log.
//
// The code of both cases is in recovery.go.
//
// Files that are missing are created empty, so the caller opens only segments it listed.
func Open(fsys segfs.FS, dir string, base int64, c Codec, recoverTail bool) (seg *Segment, truncated int64, err error) {
	if err := c.check(); err != nil {
		return nil, 0, err
	}
	s, err := openFiles(fsys, dir, base, c, time.Now(), "")
	if err != nil {
		return nil, 0, err
	}
	off, err := segfs.ReadAll(s.index)
	if err == nil {
		var tim []byte
		if tim, err = segfs.ReadAll(s.timeIndex); err == nil {
			if recoverTail {
				truncated, err = s.recover(off, tim)
			} else if err = s.load(off, tim); errors.Is(err, ErrCorrupt) {
				// Damaged or missing indexes are rebuilt; a .log that lost its end is not
				// repaired.
				lerr := err
				if err = s.rebuild(); err == nil {
					if pos, ok := s.lostTail(off); ok {
						err = s.Corrupt(LogSuffix, "%d bytes, but the index has a batch after offset %d at position %d",
							s.logSize, s.nextOff-1, pos)
					}
				}
				s.rebuilt = lerr.Error()
			}
		}
	}
	if err == nil && s.logSize > 0 {
		var info BatchInfo
		if info, err = s.headerAt(0, s.logSize); err == nil {
			s.firstTS = info.MaxTimestamp
		}
	}
	if err != nil {
		s.closeFiles()
		return nil, 0, err
	}
	return s, truncated, nil
}

// openFiles opens the three files of an empty segment value; tmp ends their names.
func openFiles(fsys segfs.FS, dir string, base int64, c Codec, now time.Time, tmp string) (*Segment, error) {
	s := &Segment{fs: fsys, dir: dir, codec: c, base: base, tmp: tmp, createdAt: now,
		nextOff: base, maxTS: -1, maxTSOff: -1, firstTS: -1}
	var err error
	if s.log, err = fsys.Open(s.Path(LogSuffix)); err != nil {
		return nil, err
	}
	if s.index, err = fsys.Open(s.Path(IndexSuffix)); err != nil {
		s.closeFiles()
		return nil, err
	}
	if s.timeIndex, err = fsys.Open(s.Path(TimeIndexSuffix)); err != nil {
		s.closeFiles()
		return nil, err
	}
	return s, nil
}

// Append writes one whole batch, described by info, at the end of the .log and adds an index
// point if IndexInterval bytes have passed since the last one (or this is the first batch). It
// does not sync. A batch that does not fit ([Segment.fits]) fails with ErrFull. A failed
// write is cut back so the segment stays as it was; if even that fails, every later write
// returns the error.
func (s *Segment) Append(batch []byte, info BatchInfo) error {
	if err := s.writable(); err != nil {
		return err
	}
	if len(batch) != info.Size {
		return fmt.Errorf("%w: %d bytes described as %d", ErrBadBatch, len(batch), info.Size)
	}
	pos := s.logSize
	if err := s.follows(pos, info); err != nil {
		return err
	}
	if _, err := s.log.Write(batch); err != nil {
		if terr := s.log.Truncate(pos); terr != nil {
			s.failed = s.ioErr(errors.Join(err, terr))
			return s.failed
		}
		return s.ioErr(err)
	}
	s.mu.Lock()
	s.account(pos, info)
	s.mu.Unlock()
	return nil
}

// AppendAll appends the whole batches in data one by one, as [Segment.Append] does: the
// cleaned copy of a segment that compaction writes.
func (s *Segment) AppendAll(data []byte) error {
	for len(data) > 0 {
		info, err := s.codec.Header(data)
		if err != nil {
			return err
		}
		if err := s.Append(data[:info.Size], info); err != nil {
			return err
		}
		data = data[info.Size:]
	}
	return nil
}

// fits reports whether a batch of size bytes ending at lastOffset can be appended without
// overflowing the indexes' 32-bit relative offsets and positions; Kafka rolls on the same
// conditions.
func (s *Segment) fits(size int, lastOffset int64) bool {
	return s.logSize+int64(size) <= math.MaxInt32 && lastOffset-s.base <= math.MaxInt32
}

// follows checks that a batch described by info may go at pos, after the last one.
func (s *Segment) follows(pos int64, info BatchInfo) error {
	switch {
	case info.Size < s.codec.HeaderLen || info.BaseOffset < s.nextOff || info.LastOffset < info.BaseOffset:
		return fmt.Errorf("%w: offsets %d-%d (%d bytes) after offset %d", ErrBadBatch,
			info.BaseOffset, info.LastOffset, info.Size, s.nextOff-1)
	case pos+int64(info.Size) > math.MaxInt32 || info.LastOffset-s.base > math.MaxInt32:
		return ErrFull
	}
	return nil
}

// account records a batch of info written at pos, whose bytes are already in the .log. The
// writer calls it under mu, or before the segment is shared.
func (s *Segment) account(pos int64, info BatchInfo) {
	if s.maxTSOff < 0 || info.MaxTimestamp > s.maxTS {
		s.maxTS, s.maxTSOff = info.MaxTimestamp, info.LastOffset
	}
	if pos == 0 {
		s.firstTS = info.MaxTimestamp
	}
	// Kafka's rule: a point once more than the interval has passed since the last one. The
	// running maximum includes this batch, so the time entry covers it (first invariant).
	if len(s.offIdx) == 0 || s.sinceIndex > s.codec.interval() {
		s.addPoint(pos, info.BaseOffset)
		s.sinceIndex = 0
	}
	s.sinceIndex += int64(info.Size)
	s.logSize = pos + int64(info.Size)
	s.nextOff = info.LastOffset + 1
	s.lastPos, s.lastBase = pos, info.BaseOffset
}

// pointAtLast adds an index point for the last batch if it has none (second invariant). The
// writer calls it under mu, or before the segment is shared.
func (s *Segment) pointAtLast() {
	if s.logSize == 0 {
		return
	}
	if _, pos := offsetEntry(s.offIdx, len(s.offIdx)/offsetEntrySize-1); int64(pos) != s.lastPos {
		s.addPoint(s.lastPos, s.lastBase)
		s.sinceIndex = s.logSize - s.lastPos
	}
}

// addPoint appends one entry to each index for the batch at pos.
func (s *Segment) addPoint(pos, baseOffset int64) {
	s.offIdx = binary.BigEndian.AppendUint32(s.offIdx, uint32(baseOffset-s.base))
	s.offIdx = binary.BigEndian.AppendUint32(s.offIdx, uint32(pos))
	s.timeIdx = binary.BigEndian.AppendUint64(s.timeIdx, uint64(s.maxTS))
	s.timeIdx = binary.BigEndian.AppendUint32(s.timeIdx, uint32(s.maxTSOff-s.base))
}

// writable returns why the segment takes no more writes, or nil.
func (s *Segment) writable() error {
	switch {
	case s.closed.Load():
		return ErrClosed
	case s.failed != nil:
		return s.failed
	case s.sealed:
		return ErrSealed
	}
	return nil
}

// Sync makes the .log durable, then writes the pending index entries and makes them durable
// too, and the first time also the directory entries that name the files.
func (s *Segment) Sync() error {
	if s.closed.Load() {
		return ErrClosed
	}
	if s.failed != nil {
		return s.failed
	}
	if err := s.log.Sync(); err != nil {
		return s.ioErr(err)
	}
	if err := s.flushIndexes(); err != nil {
		return err
	}
	for _, f := range []segfs.File{s.index, s.timeIndex} {
		if err := f.Sync(); err != nil {
			return s.ioErr(err)
		}
	}
	if !s.dirSynced {
		if err := s.fs.SyncDir(s.dir); err != nil {
			return s.ioErr(err)
		}
		s.dirSynced = true
	}
	return nil
}

// SyncData makes the segment's .log durable: all an acknowledged produce needs, because the
// index files of the active segment are rebuilt from the .log tail on open (they are synced
// when the segment rolls or closes). It touches only the .log file, so it is safe while
// another goroutine appends.
func (s *Segment) SyncData() error {
	if s.closed.Load() {
		return ErrClosed
	}
	if err := s.log.Sync(); err != nil {
		return s.ioErr(err)
	}
	return nil
}

// flushIndexes appends the index entries the files do not have yet; the caller has synced the
// .log.
func (s *Segment) flushIndexes() error {
	if err := s.flushTail(s.index, s.offIdx, &s.offFlushed); err != nil {
		return err
	}
	return s.flushTail(s.timeIndex, s.timeIdx, &s.timeFlushed)
}

func (s *Segment) flushTail(f segfs.File, idx []byte, done *int) error {
	if *done == len(idx) {
		return nil
	}
	if _, err := f.Write(idx[*done:]); err != nil {
		// A torn entry would make the next open distrust the whole index: cut it off.
		if terr := f.Truncate(int64(*done)); terr != nil {
			s.failed = s.ioErr(errors.Join(err, terr))
			return s.failed
		}
		return s.ioErr(err)
	}
	*done = len(idx)
	return nil
}

// Roll seals the segment: it adds an index point for the last batch if it has none (second
// invariant), syncs, and refuses appends from then on. Rolling a sealed segment does nothing.
func (s *Segment) Roll() error {
	if err := s.writable(); err != nil {
		if err == ErrSealed {
			return nil
		}
		return err
	}
	s.mu.Lock()
	s.pointAtLast()
	s.mu.Unlock()
	if err := s.Sync(); err != nil {
		return err
	}
	s.sealed = true
	return nil
}

// Close writes the pending index entries, so that reopening needs no long scan, and closes
// the files. Entries may only follow synced .log bytes, so close syncs the .log if it has
// entries to write; it does not sync the indexes. Closing a closed segment does nothing; every
// other method then fails.
func (s *Segment) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	var err error
	if s.failed == nil && (s.offFlushed < len(s.offIdx) || s.timeFlushed < len(s.timeIdx)) {
		if err = s.log.Sync(); err == nil {
			err = s.flushIndexes()
		}
	}
	return errors.Join(err, s.closeFiles())
}

// closeFiles closes whichever files are open.
func (s *Segment) closeFiles() error {
	var errs []error
	for _, f := range []segfs.File{s.log, s.index, s.timeIndex} {
		if f != nil {
			errs = append(errs, f.Close())
		}
	}
	return errors.Join(errs...)
}

// Remove closes the segment and deletes its files; files already gone are not an error.
func (s *Segment) Remove() error {
	err := s.Close()
	for _, suffix := range []string{LogSuffix, IndexSuffix, TimeIndexSuffix} {
		if rerr := s.fs.Remove(s.Path(suffix)); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			err = errors.Join(err, rerr)
		}
	}
	return err
}

// Read returns whole batches starting with the first one whose last offset is ≥ offset (the
// batch that contains it, or the next one past a gap), as many as fit in maxBytes but always at
// least one, as Kafka does so that a batch larger than the limit cannot stall a consumer. next
// is the offset after the last batch returned. An offset at or past nextOffset returns no data
// and next = nextOffset. The caller owns data.
//
// Every batch returned has been validated whole (the codec's checksum included) and its offsets
// follow the one before: bytes that fail are never returned. If the first batch fails, or a
// header on the way to it does not parse, the error wraps the codec's error or
// ErrCorrupt; a later batch that fails ends data before it, so that the next read, which
// starts there, fails.
func (s *Segment) Read(offset int64, maxBytes int) (data []byte, next int64, err error) {
	if s.closed.Load() {
		return nil, 0, ErrClosed
	}
	s.mu.RLock()
	limit, end := s.logSize, s.nextOff
	pos, want := s.floorPoint(offset)
	s.mu.RUnlock()
	if offset >= end {
		return nil, end, nil
	}
	hl := s.codec.HeaderLen
	// The walk from the index point crosses a few batches: reading their headers one by one
	// costs less than reading the whole interval at once (measured on both file systems).
	sc := s.scanner(limit, hl)
	var first BatchInfo
	prev := s.base - 1 // last offset of the batch before pos
	for {
		info, ok, err := sc.header(pos)
		if err != nil {
			return nil, 0, s.ioErr(err)
		}
		if !ok {
			return nil, 0, s.Corrupt(LogSuffix, "no batch header at position %d", pos)
		}
		if info.BaseOffset <= prev || (want >= 0 && info.BaseOffset != want) || info.LastOffset >= end {
			return nil, 0, s.Corrupt(LogSuffix, "batch at position %d has offsets %d-%d, after offset %d of %d",
				pos, info.BaseOffset, info.LastOffset, prev, end)
		}
		if info.LastOffset >= offset {
			first = info
			break
		}
		pos += int64(info.Size)
		prev, want = info.LastOffset, -1
	}
	n := int64(first.Size)
	if int64(maxBytes) > n {
		n = min(int64(maxBytes), limit-pos)
	}
	// The header after the last batch returned comes with it, to check that the offsets go
	// on: the checksum does not cover a batch's base offset.
	buf := make([]byte, n+min(int64(hl), limit-pos-n))
	if err := segfs.ReadFull(s.log, buf, pos); err != nil {
		return nil, 0, s.ioErr(err)
	}
	data = buf[:n]
	if info, err := s.codec.Validate(data); err != nil || info != first {
		if err == nil {
			err = fmt.Errorf("%w: the batch disagrees with its header", ErrCorrupt)
		}
		return nil, 0, fmt.Errorf("%s: batch at position %d: %w", s.Path(LogSuffix), pos, err)
	}
	size, next := first.Size, first.LastOffset+1
	lastPos, lastNext := 0, first.BaseOffset // where the last batch returned starts, and the offset before it + 1
	for size+hl <= len(data) {
		// A batch cut by maxBytes is the usual end: tell it from the header, without the
		// error (and its allocation) that validate would return.
		info, err := s.codec.Header(data[size : size+hl])
		if err != nil || info.Size < hl || info.Size > len(data)-size {
			break
		}
		if v, err := s.codec.Validate(data[size : size+info.Size]); err != nil || v != info ||
			info.BaseOffset < next || info.LastOffset >= end {
			break // damaged: the next read starts here and says how
		}
		lastPos, lastNext = size, next
		size += info.Size
		next = info.LastOffset + 1
	}
	if size+hl <= len(buf) {
		if info, err := s.codec.Header(buf[size : size+hl]); err == nil && info.BaseOffset < next {
			// The next batch overlaps the last one returned: one of their base offsets is
			// damaged. Return neither; the read that starts at the last one fails.
			if lastPos == 0 {
				return nil, 0, s.Corrupt(LogSuffix, "batch at position %d has offsets up to %d, the batch after it starts at %d",
					pos, next-1, info.BaseOffset)
			}
			size, next = lastPos, lastNext
		}
	}
	return data[:size:size], next, nil
}

// floorPoint returns the position of the last index point at or before offset and the base
// offset of the batch there, or position 0 and -1 before the first point; the caller holds mu.
func (s *Segment) floorPoint(offset int64) (pos, base int64) {
	rel := min(max(offset-s.base, -1), math.MaxInt32)
	n := len(s.offIdx) / offsetEntrySize
	i := sort.Search(n, func(i int) bool {
		r, _ := offsetEntry(s.offIdx, i)
		return int64(r) > rel
	})
	if i == 0 {
		return 0, -1
	}
	r, p := offsetEntry(s.offIdx, i-1)
	return int64(p), s.base + int64(r)
}

// FindByTimestamp returns the base offset of the first batch, in offset order, whose max
// timestamp is ≥ ts, or -1 if there is none; the caller finds the record inside it (K16).
// Timestamps may go backwards, so the time index holds running maxima: the search starts at
// the last index point whose maximum is still below ts, since no batch before it qualifies.
func (s *Segment) FindByTimestamp(ts int64) (int64, error) {
	if s.closed.Load() {
		return -1, ErrClosed
	}
	s.mu.RLock()
	if s.maxTSOff < 0 || s.maxTS < ts {
		s.mu.RUnlock()
		return -1, nil
	}
	limit := s.logSize
	i := sort.Search(len(s.timeIdx)/timeEntrySize, func(i int) bool {
		t, _ := timeEntry(s.timeIdx, i)
		return t >= ts
	})
	var pos int64
	if i > 0 {
		_, p := offsetEntry(s.offIdx, i-1)
		pos = int64(p)
	}
	s.mu.RUnlock()
	// With rising timestamps the batch is within an interval of the point; one read covers it.
	sc := s.scanner(limit, int(s.codec.interval())+s.codec.HeaderLen)
	for pos < limit {
		info, ok, err := sc.header(pos)
		if err != nil {
			return -1, s.ioErr(err)
		}
		if !ok {
			return -1, s.Corrupt(LogSuffix, "no batch header at position %d", pos)
		}
		if info.MaxTimestamp >= ts {
			return info.BaseOffset, nil
		}
		pos += int64(info.Size)
	}
	return -1, nil
}

// Base is the offset the segment is named after.
func (s *Segment) Base() int64 { return s.base }

// NextOffset is the offset after the segment's last batch (its log end offset); Base
// when it is empty.
func (s *Segment) NextOffset() int64 { s.mu.RLock(); defer s.mu.RUnlock(); return s.nextOff }

// Size is the .log's size in bytes, which retention by size sums (K31).
func (s *Segment) Size() int64 { s.mu.RLock(); defer s.mu.RUnlock(); return s.logSize }

// Empty reports whether the segment holds no batch.
func (s *Segment) Empty() bool { return s.Size() == 0 }

// LargestTimestamp is the largest record timestamp in the segment (ms), which time retention
// compares with now (K33); -1 when empty.
func (s *Segment) LargestTimestamp() int64 { s.mu.RLock(); defer s.mu.RUnlock(); return s.maxTS }

// LargestTimestampOffset is the last offset of the first batch that holds LargestTimestamp
// (what ListOffsets -3 refines, K17); -1 when empty.
func (s *Segment) LargestTimestampOffset() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.maxTSOff
}

// FirstTimestamp is the max timestamp of the first batch, from which Kafka counts segment.ms
// (its rollingBasedTimestamp); -1 when empty.
func (s *Segment) FirstTimestamp() int64 { s.mu.RLock(); defer s.mu.RUnlock(); return s.firstTS }

// Created is when the segment was created or opened (Kafka resets it on load too); segment.ms
// counts from it while the segment is empty.
func (s *Segment) Created() time.Time { return s.createdAt }

// Rebuilt says why Open rebuilt index entries that were on disk, or "" if it did not.
func (s *Segment) Rebuilt() string { return s.rebuilt }

// isSealed reports whether the segment was rolled or opened as sealed; for the writer only.
func (s *Segment) isSealed() bool { return s.sealed }

// Path is the path of the segment's file with suffix.
func (s *Segment) Path(suffix string) string {
	return filepath.Join(s.dir, Name(s.base)+suffix+s.tmp)
}

// Corrupt returns an error wrapping [ErrCorrupt] that names the segment's file with suffix and
// says, as format and args do, what is wrong with it.
func (s *Segment) Corrupt(suffix, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrCorrupt, s.Path(suffix), fmt.Sprintf(format, args...))
}

func (s *Segment) ioErr(err error) error {
	return fmt.Errorf("tribus/log: segment %s: %w", s.Path(LogSuffix), segfs.Classify(err))
}

// headerAt describes the batch at pos from its header, which must be there.
func (s *Segment) headerAt(pos, limit int64) (BatchInfo, error) {
	info, ok, err := s.scanner(limit, s.codec.HeaderLen).header(pos)
	if err != nil {
		return BatchInfo{}, s.ioErr(err)
	}
	if !ok {
		return BatchInfo{}, s.Corrupt(LogSuffix, "no batch header at position %d", pos)
	}
	return info, nil
}
