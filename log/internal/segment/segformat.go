package segment

import (
	"encoding/binary"
	"math"

	"github.com/tribusmq/tribus/log/internal/segfs"
)

// This file is what a segment's files hold: the .index and .timeindex entries, and the walk
// over the batches of a .log. The files themselves are log/internal/segfs.

// The formats of a segment's files, as Kafka writes them. The .log is whole batches back to
// back, read through a [Codec]. An index point is one entry in each index file.
const (
	offsetEntrySize = 8  // .index: relative offset int32 BE, position in the .log int32 BE
	timeEntrySize   = 12 // .timeindex: timestamp int64 BE (ms), relative offset int32 BE

	// scanChunk is how much of the .log a walk over batches reads at once, so that a walk
	// over many small batches costs few reads.
	scanChunk = 64 << 10
)

// offsetEntry decodes entry i of an .index.
func offsetEntry(idx []byte, i int) (rel, pos int32) {
	e := idx[i*offsetEntrySize:]
	return int32(binary.BigEndian.Uint32(e)), int32(binary.BigEndian.Uint32(e[4:]))
}

// timeEntry decodes entry i of a .timeindex.
func timeEntry(idx []byte, i int) (ts int64, rel int32) {
	e := idx[i*timeEntrySize:]
	return int64(binary.BigEndian.Uint64(e)), int32(binary.BigEndian.Uint32(e[8:]))
}

// validPoints returns how many leading index points are well-formed (both entries whole, the
// first at position 0, offsets and positions strictly increasing, timestamps and their offsets
// not decreasing, each time entry's offset before the next point) and, if not all, the suffix
// of the file whose entry is wrong.
func validPoints(off, tim []byte) (n int, bad string) {
	n = min(len(off)/offsetEntrySize, len(tim)/timeEntrySize)
	for i := range n {
		rel, pos := offsetEntry(off, i)
		ts, trel := timeEntry(tim, i)
		var prel, ppos, ptrel int32 = -1, -1, -1
		pts := int64(math.MinInt64)
		if i > 0 {
			prel, ppos = offsetEntry(off, i-1)
			pts, ptrel = timeEntry(tim, i-1)
		}
		if rel <= prel || pos <= ppos || (i == 0 && pos != 0) {
			return i, IndexSuffix
		}
		if ts < pts || trel < max(ptrel, 0) || ptrel >= rel {
			return i, TimeIndexSuffix
		}
	}
	return n, ""
}

// scanner returns a scanner of the .log's first limit bytes that reads at least chunk bytes
// at a time.
func (s *Segment) scanner(limit int64, chunk int) *scanner {
	return &scanner{f: s.log, c: &s.codec, limit: limit, chunk: chunk}
}

// scanner walks batches in a .log, buffering what it reads.
type scanner struct {
	f     segfs.File
	c     *Codec
	limit int64  // it never reads at or past limit
	chunk int    // minimum bytes per read
	buf   []byte // the file's bytes [at, at+len(buf))
	at    int64
}

// bytes returns the file's bytes [pos, pos+n), which the caller has checked lie below limit;
// the slice is valid until the next call.
func (sc *scanner) bytes(pos int64, n int) ([]byte, error) {
	if pos >= sc.at && pos+int64(n) <= sc.at+int64(len(sc.buf)) {
		return sc.buf[pos-sc.at : pos-sc.at+int64(n)], nil
	}
	m := int(min(int64(max(n, sc.chunk)), sc.limit-pos))
	if cap(sc.buf) < m {
		sc.buf = make([]byte, m)
	}
	sc.buf = sc.buf[:m]
	if err := segfs.ReadFull(sc.f, sc.buf, pos); err != nil {
		sc.buf = sc.buf[:0]
		return nil, err
	}
	sc.at = pos
	return sc.buf[:n], nil
}

// header describes the batch at pos from its header. ok is false, with a nil error, if no
// header that parses, and whose batch ends by limit, starts there.
func (sc *scanner) header(pos int64) (info BatchInfo, ok bool, err error) {
	hl := sc.c.HeaderLen
	if pos < 0 || sc.limit-pos < int64(hl) {
		return BatchInfo{}, false, nil
	}
	h, err := sc.bytes(pos, hl)
	if err != nil {
		return BatchInfo{}, false, err
	}
	info, herr := sc.c.Header(h)
	if herr != nil || info.Size < hl || int64(info.Size) > sc.limit-pos || info.LastOffset < info.BaseOffset {
		return BatchInfo{}, false, nil
	}
	return info, true, nil
}

// batch is header, and also validates the whole batch and checks that the validator agrees
// with the header.
func (sc *scanner) batch(pos int64) (info BatchInfo, ok bool, err error) {
	info, ok, err = sc.header(pos)
	if !ok || err != nil {
		return info, ok, err
	}
	b, err := sc.bytes(pos, info.Size)
	if err != nil {
		return BatchInfo{}, false, err
	}
	if v, verr := sc.c.Validate(b); verr != nil || v != info {
		return BatchInfo{}, false, nil
	}
	return info, true, nil
}
