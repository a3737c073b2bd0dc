package segment

import (
	"errors"
	"fmt"

	"github.com/tribusmq/tribus/log/internal/segfs"
)

// Opening a segment: a sealed segment's indexes are checked against its .log and rebuilt
// from it when they are missing or damaged; the active segment's tail is re-validated and a
// torn tail cut, but never a damaged batch that valid ones follow. See [Open].

// load adopts the indexes of a sealed segment after checking that they agree with the .log.
func (s *Segment) load(off, tim []byte) error {
	logSize := s.log.Size()
	n := len(off) / offsetEntrySize
	switch {
	case len(off)%offsetEntrySize != 0:
		return s.Corrupt(IndexSuffix, "%d bytes is not a whole number of entries", len(off))
	case len(tim)%timeEntrySize != 0:
		return s.Corrupt(TimeIndexSuffix, "%d bytes is not a whole number of entries", len(tim))
	case logSize == 0 && n > 0:
		return s.Corrupt(LogSuffix, "empty, but the index has %d entries", n)
	case logSize > 0 && n == 0:
		return s.Corrupt(IndexSuffix, "no entries for a .log of %d bytes", logSize)
	case len(tim)/timeEntrySize != n:
		return s.Corrupt(TimeIndexSuffix, "%d entries, but the offset index has %d", len(tim)/timeEntrySize, n)
	}
	if v, bad := validPoints(off, tim); v != n {
		return s.Corrupt(bad, "entry %d is out of order", v)
	}
	s.sealed = true
	s.offIdx, s.timeIdx, s.offFlushed, s.timeFlushed = off, tim, len(off), len(tim)
	if n == 0 {
		return nil
	}
	rel, pos := offsetEntry(off, n-1)
	if int64(pos) >= logSize {
		return s.Corrupt(LogSuffix, "%d bytes, but the index has a batch at position %d", logSize, pos)
	}
	sc := s.scanner(logSize, s.codec.HeaderLen)
	info, ok, err := sc.header(int64(pos))
	if err != nil {
		return s.ioErr(err)
	}
	if !ok || info.BaseOffset != s.base+int64(rel) || int64(pos)+int64(info.Size) != logSize {
		return s.Corrupt(LogSuffix, "%d bytes, but the last indexed batch (offset %d at position %d) does not end there",
			logSize, s.base+int64(rel), pos)
	}
	ts, trel := timeEntry(tim, n-1)
	if ts < info.MaxTimestamp || s.base+int64(trel) > info.LastOffset {
		return s.Corrupt(TimeIndexSuffix, "last entry (%d, offset %d) does not cover the last batch", ts, s.base+int64(trel))
	}
	s.logSize, s.nextOff = logSize, info.LastOffset+1
	s.maxTS, s.maxTSOff = ts, s.base+int64(trel)
	s.sinceIndex, s.lastPos, s.lastBase = int64(info.Size), int64(pos), info.BaseOffset
	return nil
}

// recover adopts the trustworthy prefix of the indexes of the active segment, re-validates the
// .log after it and truncates the invalid tail. It returns the bytes cut from the .log.
func (s *Segment) recover(off, tim []byte) (int64, error) {
	logSize := s.log.Size()
	sc := s.scanner(logSize, scanChunk)
	// Walk back from the last well-formed index point to one whose batch is intact and agrees
	// with both entries: an unsynced index may point at bytes the crash never wrote.
	n, _ := validPoints(off, tim)
	for n > 0 {
		if _, pos := offsetEntry(off, n-1); int64(pos) < logSize {
			break
		}
		n--
	}
	var start BatchInfo
	for ; n > 0; n-- {
		rel, pos := offsetEntry(off, n-1)
		ts, trel := timeEntry(tim, n-1)
		info, ok, err := sc.batch(int64(pos))
		if err != nil {
			return 0, s.ioErr(err)
		}
		if ok && info.BaseOffset == s.base+int64(rel) && ts >= info.MaxTimestamp && s.base+int64(trel) <= info.LastOffset {
			start = info
			break
		}
	}
	if len(off) > n*offsetEntrySize || len(tim) > n*timeEntrySize {
		s.rebuilt = fmt.Sprintf("%d of %d index and %d of %d time index entries did not match the .log",
			len(off)/offsetEntrySize-n, len(off)/offsetEntrySize, len(tim)/timeEntrySize-n, len(tim)/timeEntrySize)
	}
	s.offIdx, s.timeIdx = off[:n*offsetEntrySize], tim[:n*timeEntrySize]
	s.offFlushed, s.timeFlushed = len(s.offIdx), len(s.timeIdx)
	if n > 0 {
		// The state just after the start batch, as append left it: time entry n-1 already
		// covers every batch up to it.
		_, pos := offsetEntry(off, n-1)
		ts, trel := timeEntry(tim, n-1)
		s.maxTS, s.maxTSOff = ts, s.base+int64(trel)
		s.logSize, s.nextOff = int64(pos)+int64(start.Size), start.LastOffset+1
		s.sinceIndex, s.lastPos, s.lastBase = int64(start.Size), int64(pos), start.BaseOffset
	}
	for {
		info, ok, err := sc.batch(s.logSize)
		if err != nil {
			return 0, s.ioErr(err)
		}
		if !ok {
			break
		}
		if s.follows(s.logSize, info) != nil || (s.codec.Contiguous && info.BaseOffset != s.nextOff) {
			if s.codec.Contiguous {
				// A crash leaves missing or partial bytes, never a whole valid batch with
				// other offsets: that is a damaged base offset, which the checksum does
				// not cover.
				return 0, s.Corrupt(LogSuffix, "valid batch at position %d has offsets %d-%d after offset %d",
					s.logSize, info.BaseOffset, info.LastOffset, s.nextOff-1)
			}
			break
		}
		s.account(s.logSize, info)
	}
	if onDisk := len(off) / offsetEntrySize; s.rebuilt == "" && len(s.offIdx)/offsetEntrySize > onDisk {
		s.rebuilt = fmt.Sprintf("%d index entries after the %d in the files rebuilt from the .log",
			len(s.offIdx)/offsetEntrySize-onDisk, onDisk)
	}
	cut := logSize - s.logSize
	if cut > 0 {
		// A torn tail is the end of the file: if a valid batch follows the first invalid
		// one, the invalid one was damaged after it was written, and cutting would lose
		// what came after it.
		q, err := s.validAfter(sc, s.logSize, s.nextOff)
		if err != nil {
			return 0, err
		}
		if q >= 0 {
			return 0, s.Corrupt(LogSuffix, "the batch at position %d is damaged but a valid batch follows at position %d: not a torn tail, nothing truncated",
				s.logSize, q)
		}
		if err := s.log.Truncate(s.logSize); err != nil {
			return 0, s.ioErr(err)
		}
	}
	// Drop the distrusted entries from the files; the rebuilt ones follow at the next flush.
	if err := errors.Join(s.index.Truncate(int64(s.offFlushed)), s.timeIndex.Truncate(int64(s.timeFlushed))); err != nil {
		return 0, s.ioErr(err)
	}
	return cut, nil
}

// validAfter returns the first position after from where a whole batch validates whose offsets
// are at or past next, or -1 if there is none before the scanner's limit.
func (s *Segment) validAfter(sc *scanner, from, next int64) (int64, error) {
	for q := from + 1; q+int64(s.codec.HeaderLen) <= sc.limit; q++ {
		info, ok, err := sc.batch(q)
		if err != nil {
			return -1, s.ioErr(err)
		}
		if ok && info.BaseOffset >= next {
			return q, nil
		}
	}
	return -1, nil
}

// rebuild recreates the indexes of a sealed segment from its .log, as Kafka does when it finds
// them missing or damaged, and writes them to their files. It walks the batch headers, as
// reads trust a sealed .log (the batches' checksums are checked when they are read), and
// fails with ErrCorrupt if a header does not parse or its offsets do not follow.
func (s *Segment) rebuild() error {
	logSize := s.log.Size()
	s.offIdx, s.timeIdx, s.offFlushed, s.timeFlushed = nil, nil, 0, 0
	s.logSize, s.nextOff, s.maxTS, s.maxTSOff, s.sinceIndex = 0, s.base, -1, -1, 0
	sc := s.scanner(logSize, scanChunk)
	for s.logSize < logSize {
		info, ok, err := sc.header(s.logSize)
		if err != nil {
			return s.ioErr(err)
		}
		if !ok || s.follows(s.logSize, info) != nil {
			return s.Corrupt(LogSuffix, "rebuilding the indexes: no batch after offset %d at position %d of %d",
				s.nextOff-1, s.logSize, logSize)
		}
		s.account(s.logSize, info)
	}
	s.pointAtLast()
	if err := errors.Join(s.index.Truncate(0), s.timeIndex.Truncate(0)); err != nil {
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
	s.sealed = true
	return nil
}

// lostTail reports whether the well-formed prefix of the offset index off (as it was on
// disk) describes a batch past what rebuild found, both its position and its offset: then the
// .log lost its end, rather than the index gaining garbage. It returns that batch's position.
func (s *Segment) lostTail(off []byte) (int64, bool) {
	prel, ppos := int32(-1), int32(-1)
	for i := range len(off) / offsetEntrySize {
		rel, pos := offsetEntry(off, i)
		if rel <= prel || pos <= ppos || (i == 0 && pos != 0) {
			break
		}
		if int64(pos) >= s.logSize && s.base+int64(rel) >= s.nextOff {
			return int64(pos), true
		}
		prel, ppos = rel, pos
	}
	return 0, false
}
