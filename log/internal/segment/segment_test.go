package segment

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/internal/sentinel"
	"github.com/tribusmq/tribus/log/internal/segfs"
	"github.com/tribusmq/tribus/log/internal/segfs/segfstest"
)

// The tests store batches of a toy format, so that segments are tested apart from the real
// record batch: base offset int64, record count int32, payload length int32, max timestamp
// int64, CRC-32 of the 24 bytes before it and of the payload, then the payload.
const tHeaderLen = 28

var errTBatch = errors.New("not a test batch")

// tb is one encoded test batch.
type tb struct {
	data []byte
	info BatchInfo
}

func newTB(base int64, count int32, maxTS int64, payload []byte) tb {
	b := binary.BigEndian.AppendUint64(nil, uint64(base))
	b = binary.BigEndian.AppendUint32(b, uint32(count))
	b = binary.BigEndian.AppendUint32(b, uint32(len(payload)))
	b = binary.BigEndian.AppendUint64(b, uint64(maxTS))
	b = binary.BigEndian.AppendUint32(b, crc32.Update(crc32.ChecksumIEEE(b), crc32.IEEETable, payload))
	b = append(b, payload...)
	return tb{b, BatchInfo{Size: len(b), BaseOffset: base, LastOffset: base + int64(count) - 1, MaxTimestamp: maxTS}}
}

func tHeader(h []byte) (BatchInfo, error) {
	if len(h) < tHeaderLen {
		return BatchInfo{}, errTBatch
	}
	base := int64(binary.BigEndian.Uint64(h))
	count := int32(binary.BigEndian.Uint32(h[8:]))
	n := int32(binary.BigEndian.Uint32(h[12:]))
	if base < 0 || count < 1 || n < 0 || base > math.MaxInt64-int64(count) {
		return BatchInfo{}, errTBatch
	}
	ts := int64(binary.BigEndian.Uint64(h[16:]))
	return BatchInfo{Size: tHeaderLen + int(n), BaseOffset: base, LastOffset: base + int64(count) - 1, MaxTimestamp: ts}, nil
}

func tValidate(b []byte) (BatchInfo, error) {
	info, err := tHeader(b)
	if err != nil || len(b) < info.Size {
		return BatchInfo{}, errTBatch
	}
	if crc32.Update(crc32.ChecksumIEEE(b[:24]), crc32.IEEETable, b[tHeaderLen:info.Size]) != binary.BigEndian.Uint32(b[24:]) {
		return BatchInfo{}, errTBatch
	}
	return info, nil
}

func tCodec(interval int) Codec {
	return Codec{HeaderLen: tHeaderLen, Header: tHeader, Validate: tValidate, IndexInterval: interval}
}

// genBatches makes n batches from offset base on, each of 1–4 records and up to maxPayload
// payload bytes, timestamps from ts (random if nil: mostly rising, sometimes far back).
func genBatches(rng *rand.Rand, n int, base int64, maxPayload int, ts func(i int) int64) []tb {
	out := make([]tb, 0, n)
	t := int64(1_700_000_000_000)
	for i := range n {
		count := int32(1 + rng.IntN(4))
		p := make([]byte, rng.IntN(maxPayload+1))
		for j := range p {
			p[j] = byte(rng.Uint32())
		}
		t += rng.Int64N(1000)
		v := t
		if ts != nil {
			v = ts(i)
		} else if rng.IntN(5) == 0 {
			v -= rng.Int64N(100_000) // out of order, as producer-set CreateTime can be
		}
		out = append(out, newTB(base, count, v, p))
		base += int64(count)
	}
	return out
}

func concat(bs []tb) []byte {
	var b []byte
	for _, x := range bs {
		b = append(b, x.data...)
	}
	return b
}

func newSeg(t testing.TB, fsys segfs.FS, dir string, base int64, interval int) *Segment {
	t.Helper()
	s, err := Create(fsys, dir, base, tCodec(interval), time.Now())
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func reopen(t testing.TB, fsys segfs.FS, dir string, base int64, interval int, recoverTail bool) (*Segment, int64) {
	t.Helper()
	s, cut, err := Open(fsys, dir, base, tCodec(interval), recoverTail)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s, cut
}

func appendAll(t testing.TB, s *Segment, bs []tb) {
	t.Helper()
	for _, b := range bs {
		require.NoError(t, s.Append(b.data, b.info))
	}
}

// checkReads reads from every offset of bs with several limits and checks that each read
// starts with the batch holding the offset and returns whole batches within the limit.
func checkReads(t *testing.T, s *Segment, bs []tb) {
	t.Helper()
	require.Equal(t, int64(len(concat(bs))), s.Size())
	end := s.Base()
	if len(bs) > 0 {
		end = bs[len(bs)-1].info.LastOffset + 1
	}
	require.Equal(t, end, s.NextOffset())
	for k, b := range bs {
		for off := b.info.BaseOffset; off <= b.info.LastOffset; off++ {
			data, next, err := s.Read(off, 1)
			require.NoError(t, err)
			require.Equal(t, b.data, data, "offset %d", off)
			require.Equal(t, b.info.LastOffset+1, next)
		}
		data, next, err := s.Read(b.info.BaseOffset, math.MaxInt32)
		require.NoError(t, err)
		require.Equal(t, concat(bs[k:]), data)
		require.Equal(t, end, next)
		limit := b.info.Size + 300
		j := k + 1
		for sum := b.info.Size; j < len(bs) && sum+bs[j].info.Size <= limit; j++ {
			sum += bs[j].info.Size
		}
		data, next, err = s.Read(b.info.LastOffset, limit)
		require.NoError(t, err)
		require.Equal(t, concat(bs[k:j]), data, "limit %d from batch %d", limit, k)
		require.Equal(t, bs[j-1].info.LastOffset+1, next)
	}
	data, next, err := s.Read(end, 1000)
	require.NoError(t, err)
	assert.Empty(t, data)
	assert.Equal(t, end, next)
}

// points replays Kafka's index rule over bs: the positions of the batches that get an index
// point, and for each the running max timestamp and the last offset of its first batch.
func points(bs []tb, interval int64) (pos []int64, ts []int64, tsOff []int64) {
	var at, since int64
	maxTS, maxOff := int64(0), int64(-1)
	for _, b := range bs {
		if maxOff < 0 || b.info.MaxTimestamp > maxTS {
			maxTS, maxOff = b.info.MaxTimestamp, b.info.LastOffset
		}
		if len(pos) == 0 || since > interval {
			pos, ts, tsOff = append(pos, at), append(ts, maxTS), append(tsOff, maxOff)
			since = 0
		}
		since += int64(b.info.Size)
		at += int64(b.info.Size)
	}
	return pos, ts, tsOff
}

func TestSegment_AppendRead(t *testing.T) {
	segfstest.ForEach(t, func(t *testing.T, fsys segfs.FS, dir string) {
		rng := rand.New(rand.NewPCG(1, 2))
		before := time.Now()
		s := newSeg(t, fsys, dir, 1000, 512)
		assert.True(t, s.Empty())
		assert.Equal(t, int64(-1), s.LargestTimestamp())
		assert.Equal(t, int64(-1), s.FirstTimestamp())
		assert.False(t, s.Created().Before(before))
		bs := genBatches(rng, 300, 1000, 200, nil)
		appendAll(t, s, bs)
		checkReads(t, s, bs)

		maxTS, maxOff := int64(-1), int64(-1)
		for _, b := range bs {
			if b.info.MaxTimestamp > maxTS {
				maxTS, maxOff = b.info.MaxTimestamp, b.info.LastOffset
			}
		}
		assert.False(t, s.Empty())
		assert.Equal(t, maxTS, s.LargestTimestamp())
		assert.Equal(t, maxOff, s.LargestTimestampOffset())
		assert.Equal(t, bs[0].info.MaxTimestamp, s.FirstTimestamp())
		names, err := fsys.List(dir)
		require.NoError(t, err)
		assert.Equal(t, []string{"00000000000000001000.index", "00000000000000001000.log", "00000000000000001000.timeindex"}, names)
	})
}

// A read at an offset no batch holds (a gap, as compaction leaves) starts at the next batch.
func TestSegment_Read_Gap(t *testing.T) {
	segfstest.ForEach(t, func(t *testing.T, fsys segfs.FS, dir string) {
		s := newSeg(t, fsys, dir, 0, 0)
		a, b := newTB(0, 3, 10, []byte("a")), newTB(10, 2, 20, []byte("b"))
		appendAll(t, s, []tb{a, b})
		data, next, err := s.Read(5, 1)
		require.NoError(t, err)
		assert.Equal(t, b.data, data)
		assert.Equal(t, int64(12), next)
	})
}

func TestSegment_IndexSpacing(t *testing.T) {
	segfstest.ForEach(t, func(t *testing.T, fsys segfs.FS, dir string) {
		rng := rand.New(rand.NewPCG(3, 4))
		const interval, maxPayload = 1000, 300
		s := newSeg(t, fsys, dir, 50, interval)
		bs := genBatches(rng, 400, 50, maxPayload, nil)
		appendAll(t, s, bs)
		wantPos, wantTS, wantTSOff := points(bs, interval)
		require.Len(t, s.offIdx, len(wantPos)*offsetEntrySize)
		require.Len(t, s.timeIdx, len(wantPos)*timeEntrySize)
		starts := map[int64]int64{} // position → base offset
		var at int64
		for _, b := range bs {
			starts[at] = b.info.BaseOffset
			at += int64(b.info.Size)
		}
		for i := range wantPos {
			rel, pos := offsetEntry(s.offIdx, i)
			assert.Equal(t, wantPos[i], int64(pos))
			assert.Equal(t, starts[int64(pos)], 50+int64(rel), "entry %d names the batch at its position", i)
			if i > 0 {
				_, prev := offsetEntry(s.offIdx, i-1)
				gap := int64(pos - prev)
				assert.Greater(t, gap, int64(interval))
				assert.LessOrEqual(t, gap, int64(interval+tHeaderLen+maxPayload))
			}
			ts, trel := timeEntry(s.timeIdx, i)
			assert.Equal(t, wantTS[i], ts)
			assert.Equal(t, wantTSOff[i], 50+int64(trel))
		}
	})
}

// K16: the lookup returns the first batch in offset order whose max timestamp is ≥ the target,
// even when timestamps go backwards. Reference: SEMANTICS.md K16.
func TestSegment_K16_FindByTimestamp_NonMonotonic(t *testing.T) {
	segfstest.ForEach(t, func(t *testing.T, fsys segfs.FS, dir string) {
		rng := rand.New(rand.NewPCG(5, 6))
		bs := genBatches(rng, 300, 0, 100, func(int) int64 { return rng.Int64N(5000) })
		s := newSeg(t, fsys, dir, 0, 300)
		appendAll(t, s, bs)
		want := func(ts int64) int64 {
			for _, b := range bs {
				if b.info.MaxTimestamp >= ts {
					return b.info.BaseOffset
				}
			}
			return -1
		}
		check := func(s *Segment) {
			for ts := int64(-2); ts <= 5001; ts += 7 {
				got, err := s.FindByTimestamp(ts)
				require.NoError(t, err)
				require.Equal(t, want(ts), got, "ts %d", ts)
			}
		}
		check(s)
		require.NoError(t, s.Close())
		active, _ := reopen(t, fsys, dir, 0, 300, true)
		check(active)
		require.NoError(t, active.Roll())
		require.NoError(t, active.Close())
		sealed, _ := reopen(t, fsys, dir, 0, 300, false)
		check(sealed)
	})
}

func TestSegment_Reopen_Sealed(t *testing.T) {
	segfstest.ForEach(t, func(t *testing.T, fsys segfs.FS, dir string) {
		rng := rand.New(rand.NewPCG(7, 8))
		bs := genBatches(rng, 100, 7, 150, nil)
		s := newSeg(t, fsys, dir, 7, 700)
		appendAll(t, s, bs)
		require.NoError(t, s.Roll())
		require.NoError(t, s.Roll(), "rolling twice is harmless")
		assert.True(t, s.isSealed())
		assert.ErrorIs(t, s.Append(bs[0].data, bs[0].info), ErrSealed)
		_, lastPos := offsetEntry(s.offIdx, len(s.offIdx)/offsetEntrySize-1)
		assert.Equal(t, s.Size()-int64(bs[len(bs)-1].info.Size), int64(lastPos), "rolling indexes the last batch")
		wantOff, wantTime := s.offIdx, s.timeIdx
		wantTS, wantTSOff, wantFirst := s.LargestTimestamp(), s.LargestTimestampOffset(), s.FirstTimestamp()
		require.NoError(t, s.Close())

		got, cut := reopen(t, fsys, dir, 7, 700, false)
		assert.Zero(t, cut)
		assert.True(t, got.isSealed())
		assert.Equal(t, wantOff, got.offIdx)
		assert.Equal(t, wantTime, got.timeIdx)
		assert.Equal(t, wantTS, got.LargestTimestamp())
		assert.Equal(t, wantTSOff, got.LargestTimestampOffset())
		assert.Equal(t, wantFirst, got.FirstTimestamp())
		checkReads(t, got, bs)
		assert.ErrorIs(t, got.Append(bs[0].data, bs[0].info), ErrSealed)

		// An empty sealed segment is fine too.
		e := newSeg(t, fsys, dir, 500, 0)
		require.NoError(t, e.Roll())
		require.NoError(t, e.Close())
		e, _ = reopen(t, fsys, dir, 500, 0, false)
		assert.True(t, e.Empty())
		assert.Equal(t, int64(500), e.NextOffset())
	})
}

// K33: time retention reads a segment's largest record timestamp, so a future timestamp in
// any batch, not only the last, must be what the segment reports, before and after a reopen.
// Reference: SEMANTICS.md K33, §2.3.
func TestSegment_K33_LargestTimestampIsTheRecordMax(t *testing.T) {
	segfstest.ForEach(t, func(t *testing.T, fsys segfs.FS, dir string) {
		future := time.Now().Add(365 * 24 * time.Hour).UnixMilli()
		bs := []tb{newTB(0, 2, 100, nil), newTB(2, 3, future, nil), newTB(5, 1, 50, nil)}
		for i := range 200 { // enough batches for several index points after the future one
			bs = append(bs, newTB(6+int64(i), 1, 60+int64(i), make([]byte, 50)))
		}
		s := newSeg(t, fsys, dir, 0, 256)
		appendAll(t, s, bs)
		check := func(s *Segment) {
			t.Helper()
			assert.Equal(t, future, s.LargestTimestamp())
			assert.Equal(t, int64(4), s.LargestTimestampOffset(), "last offset of the batch holding it")
			assert.Equal(t, int64(100), s.FirstTimestamp())
		}
		check(s)
		require.NoError(t, s.Close())
		s, _ = reopen(t, fsys, dir, 0, 256, true)
		check(s)
		require.NoError(t, s.Roll())
		require.NoError(t, s.Close())
		s, _ = reopen(t, fsys, dir, 0, 256, false)
		check(s)
	})
}

// Reopening the active segment and going on appending builds the very indexes an
// uninterrupted segment has.
func TestSegment_Reopen_Active(t *testing.T) {
	segfstest.ForEach(t, func(t *testing.T, fsys segfs.FS, dir string) {
		rng := rand.New(rand.NewPCG(9, 10))
		bs := genBatches(rng, 200, 0, 150, nil)
		ref := newSeg(t, segfs.NewMem(), "ref", 0, 600)
		appendAll(t, ref, bs)

		s := newSeg(t, fsys, dir, 0, 600)
		appendAll(t, s, bs[:77])
		require.NoError(t, s.Close())
		s, cut := reopen(t, fsys, dir, 0, 600, true)
		assert.Zero(t, cut)
		assert.False(t, s.isSealed())
		checkReads(t, s, bs[:77])
		appendAll(t, s, bs[77:])
		checkReads(t, s, bs)
		assert.Equal(t, ref.offIdx, s.offIdx)
		assert.Equal(t, ref.timeIdx, s.timeIdx)
		assert.Equal(t, ref.LargestTimestamp(), s.LargestTimestamp())
		assert.Equal(t, ref.LargestTimestampOffset(), s.LargestTimestampOffset())
		assert.Equal(t, ref.FirstTimestamp(), s.FirstTimestamp())
	})
}

// tailCase is a crash or corruption of a segment with batches bs (at positions pos, with index
// points at positions idx): mutate changes the files and keep is how many batches must stay.
type tailCase struct {
	name   string
	mutate func(t *testing.T, fsys segfs.FS, dir string, bs []tb, pos, idx []int64)
	keep   func(n int, idx []int64, pos []int64) int
}

func keepAll(n int, _, _ []int64) int     { return n }
func keepButLast(n int, _, _ []int64) int { return n - 1 }

func onLog(fn func(bs []tb, pos, idx []int64) func(segfs.File)) func(*testing.T, segfs.FS, string, []tb, []int64, []int64) {
	return func(t *testing.T, fsys segfs.FS, dir string, bs []tb, pos, idx []int64) {
		mangle(t, fsys, dir, 0, LogSuffix, fn(bs, pos, idx))
	}
}

// indexOf returns the batch that starts at position p.
func indexOf(pos []int64, p int64) int {
	for i, q := range pos {
		if q == p {
			return i
		}
	}
	panic("no batch there")
}

var tailCases = []tailCase{
	{"clean", func(*testing.T, segfs.FS, string, []tb, []int64, []int64) {}, keepAll},
	{"cut in the last batch", onLog(func(bs []tb, pos, _ []int64) func(segfs.File) {
		return segfstest.CutTo(func(n int64) int64 { return n - int64(bs[len(bs)-1].info.Size)/2 })
	}), keepButLast},
	{"cut in the last header", onLog(func(_ []tb, pos, _ []int64) func(segfs.File) {
		return segfstest.CutTo(func(int64) int64 { return pos[len(pos)-1] + 10 })
	}), keepButLast},
	{"cut at a batch boundary", onLog(func(_ []tb, pos, _ []int64) func(segfs.File) {
		return segfstest.CutTo(func(int64) int64 { return pos[len(pos)-1] })
	}), keepButLast},
	{"garbage appended", onLog(func([]tb, []int64, []int64) func(segfs.File) {
		return segfstest.AppendBytes([]byte("\x00\x00\x00\x00\x00\x00\x01\x00garbage that is not a batch at all"))
	}), keepAll},
	{"zeros appended", onLog(func([]tb, []int64, []int64) func(segfs.File) {
		return segfstest.AppendBytes(make([]byte, 5000))
	}), keepAll},
	{"last batch written twice", onLog(func(bs []tb, _, _ []int64) func(segfs.File) {
		return segfstest.AppendBytes(bs[len(bs)-1].data)
	}), keepAll},
	{"bit flipped in the last payload", onLog(func(_ []tb, pos, _ []int64) func(segfs.File) {
		return segfstest.Flip(pos[len(pos)-1] + tHeaderLen)
	}), keepButLast},
	{"bit flipped in the last length", onLog(func(_ []tb, pos, _ []int64) func(segfs.File) {
		return segfstest.Flip(pos[len(pos)-1] + 13)
	}), keepButLast},
	{"cut before the last index point", onLog(func(_ []tb, _, idx []int64) func(segfs.File) {
		return segfstest.CutTo(func(int64) int64 { return idx[len(idx)-1] - 5 })
	}), func(_ int, idx, pos []int64) int { return indexOf(pos, idx[len(idx)-1]) - 1 }},
	{"indexes lost", func(t *testing.T, fsys segfs.FS, dir string, _ []tb, _, _ []int64) {
		require.NoError(t, fsys.Remove(filepath.Join(dir, Name(0)+IndexSuffix)))
		require.NoError(t, fsys.Remove(filepath.Join(dir, Name(0)+TimeIndexSuffix)))
	}, keepAll},
	{"torn index entry", func(t *testing.T, fsys segfs.FS, dir string, _ []tb, _, _ []int64) {
		mangle(t, fsys, dir, 0, IndexSuffix, segfstest.AppendBytes([]byte{0, 0, 1}))
	}, keepAll},
	{"time index behind", func(t *testing.T, fsys segfs.FS, dir string, _ []tb, _, _ []int64) {
		mangle(t, fsys, dir, 0, TimeIndexSuffix, segfstest.CutTo(func(n int64) int64 { return n - 2*timeEntrySize }))
	}, keepAll},
	{"last index entry points inside a batch", func(t *testing.T, fsys segfs.FS, dir string, _ []tb, _, _ []int64) {
		mangle(t, fsys, dir, 0, IndexSuffix, segfstest.FlipAt(func(n int64) int64 { return n - 1 }))
	}, keepAll},
	{"first index entry not at 0", func(t *testing.T, fsys segfs.FS, dir string, _ []tb, _, _ []int64) {
		mangle(t, fsys, dir, 0, IndexSuffix, segfstest.Flip(7))
	}, keepAll},
}

// A damaged batch of the active segment followed by a valid one is not a torn tail: a crash
// tears only the end of the file. Recovery refuses to open it (ErrCorrupt, naming both
// positions) and cuts nothing, where it used to truncate at the damaged batch and lose every
// acknowledged batch after it. Kafka's LogSegment.recover truncates at the first invalid
// batch, relying on replicas to restore the rest; in process there is no replica.
func TestSegment_RecoverTail_DamageBeforeValidBatchesIsCorruption(t *testing.T) {
	cases := []struct {
		name string
		at   func(pos, idx []int64) int64 // the byte to flip
	}{
		{"payload after the last index point", func(pos, idx []int64) int64 { return pos[indexOf(pos, idx[len(idx)-1])+1] + 20 }},
		{"header at the last index point", func(_, idx []int64) int64 { return idx[len(idx)-1] + 2 }},
		{"length of the batch after the last index point", func(pos, idx []int64) int64 { return pos[indexOf(pos, idx[len(idx)-1])+1] + 13 }},
		{"checksum of the second to last batch", func(pos, _ []int64) int64 { return pos[len(pos)-2] + 25 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			segfstest.ForEach(t, func(t *testing.T, fsys segfs.FS, dir string) {
				const interval = 400
				bs := genBatches(rand.New(rand.NewPCG(11, 12)), 60, 0, 120, nil)
				var pos []int64
				var at int64
				for _, b := range bs {
					pos, at = append(pos, at), at+int64(b.info.Size)
				}
				idx, _, _ := points(bs, interval)
				s := newSeg(t, fsys, dir, 0, interval)
				appendAll(t, s, bs)
				require.NoError(t, s.Sync())
				require.NoError(t, s.Close())
				mangle(t, fsys, dir, 0, LogSuffix, segfstest.Flip(tc.at(pos, idx)))

				_, _, err := Open(fsys, dir, 0, tCodec(interval), true)
				require.ErrorIs(t, err, ErrCorrupt)
				assert.Contains(t, err.Error(), "not a torn tail")
				f, err := fsys.Open(filepath.Join(dir, Name(0)+LogSuffix))
				require.NoError(t, err)
				assert.Equal(t, at, f.Size(), "nothing truncated")
				require.NoError(t, f.Close())
			})
		})
	}
}

// Tail recovery truncates exactly after the last valid batch, says how much it cut, and leaves
// the segment as if only the kept batches had ever been appended.
func TestSegment_RecoverTail(t *testing.T) {
	for _, tc := range tailCases {
		t.Run(tc.name, func(t *testing.T) {
			segfstest.ForEach(t, func(t *testing.T, fsys segfs.FS, dir string) {
				const interval = 400
				bs := genBatches(rand.New(rand.NewPCG(11, 12)), 60, 0, 120, nil)
				var pos []int64
				var at int64
				for _, b := range bs {
					pos, at = append(pos, at), at+int64(b.info.Size)
				}
				idx, _, _ := points(bs, interval)
				s := newSeg(t, fsys, dir, 0, interval)
				appendAll(t, s, bs)
				require.NoError(t, s.Sync())
				require.NoError(t, s.Close())
				tc.mutate(t, fsys, dir, bs, pos, idx)
				logFile, err := fsys.Open(filepath.Join(dir, Name(0)+LogSuffix))
				require.NoError(t, err)
				mangled := logFile.Size()
				require.NoError(t, logFile.Close())

				kept := bs[:tc.keep(len(bs), idx, pos)]
				s, cut := reopen(t, fsys, dir, 0, interval, true)
				assert.Equal(t, mangled-int64(len(concat(kept))), cut, "bytes cut")
				checkReads(t, s, kept)
				ref := newSeg(t, segfs.NewMem(), "ref", 0, interval)
				appendAll(t, ref, kept)
				assert.Equal(t, ref.offIdx, s.offIdx, "offset index rebuilt")
				assert.Equal(t, ref.timeIdx, s.timeIdx, "time index rebuilt")
				assert.Equal(t, ref.LargestTimestamp(), s.LargestTimestamp())

				// The recovered segment goes on: a new batch, a roll, a sealed reopen.
				more := newTB(s.NextOffset(), 1, 1, []byte("after"))
				require.NoError(t, s.Append(more.data, more.info))
				require.NoError(t, s.Roll())
				require.NoError(t, s.Close())
				s, _ = reopen(t, fsys, dir, 0, interval, false)
				checkReads(t, s, append(kept[:len(kept):len(kept)], more))
			})
		})
	}
}

// A sealed segment whose .log lost or gained bytes is an error that names the file, never
// skipped; the same segment opened for recovery keeps its valid prefix.
func TestSegment_Sealed_Corrupt(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(t *testing.T, fsys segfs.FS, dir string, bs []tb)
	}{
		{"log cut in the last batch", func(t *testing.T, fsys segfs.FS, dir string, _ []tb) {
			mangle(t, fsys, dir, 0, LogSuffix, segfstest.CutTo(func(n int64) int64 { return n - 3 }))
		}},
		{"log cut at a batch boundary", func(t *testing.T, fsys segfs.FS, dir string, bs []tb) {
			mangle(t, fsys, dir, 0, LogSuffix, segfstest.CutTo(func(n int64) int64 { return n - int64(bs[len(bs)-1].info.Size) }))
		}},
		{"log emptied", func(t *testing.T, fsys segfs.FS, dir string, _ []tb) {
			mangle(t, fsys, dir, 0, LogSuffix, segfstest.CutTo(func(int64) int64 { return 0 }))
		}},
		{"log cut far back", func(t *testing.T, fsys segfs.FS, dir string, _ []tb) {
			mangle(t, fsys, dir, 0, LogSuffix, segfstest.CutTo(func(n int64) int64 { return n / 3 }))
		}},
		{"log grown", func(t *testing.T, fsys segfs.FS, dir string, _ []tb) {
			mangle(t, fsys, dir, 0, LogSuffix, segfstest.AppendBytes([]byte("tail")))
		}},
		{"log cut at a batch boundary and index lost", func(t *testing.T, fsys segfs.FS, dir string, bs []tb) {
			mangle(t, fsys, dir, 0, LogSuffix, segfstest.CutTo(func(n int64) int64 { return n - int64(bs[len(bs)-1].info.Size) }))
			mangle(t, fsys, dir, 0, TimeIndexSuffix, segfstest.CutTo(func(n int64) int64 { return n - 1 }))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			segfstest.ForEach(t, func(t *testing.T, fsys segfs.FS, dir string) {
				bs := genBatches(rand.New(rand.NewPCG(13, 14)), 50, 0, 120, nil)
				s := newSeg(t, fsys, dir, 0, 500)
				appendAll(t, s, bs)
				require.NoError(t, s.Roll())
				require.NoError(t, s.Close())
				tc.mutate(t, fsys, dir, bs)
				_, _, err := Open(fsys, dir, 0, tCodec(500), false)
				require.ErrorIs(t, err, ErrCorrupt)
				require.ErrorIs(t, err, sentinel.ErrCorrupt)
				assert.Contains(t, err.Error(), filepath.Join(dir, Name(0)+LogSuffix))

				s, _ = reopen(t, fsys, dir, 0, 500, true)
				data, _, err := s.Read(0, math.MaxInt32)
				require.NoError(t, err)
				assert.True(t, bytes.HasPrefix(concat(bs), data), "recovery keeps a prefix")
			})
		})
	}
}

// A sealed segment's missing or damaged .index or .timeindex is rebuilt from its .log at open,
// as Kafka rebuilds a corrupt index (LogLoader), and says why; offset and timestamp lookups
// then answer as before, and the rebuilt files are written, so the next open trusts them.
func TestSegment_Sealed_DamagedIndexIsRebuilt(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(t *testing.T, fsys segfs.FS, dir string)
	}{
		{"index lost", func(t *testing.T, fsys segfs.FS, dir string) {
			require.NoError(t, fsys.Remove(filepath.Join(dir, Name(0)+IndexSuffix)))
		}},
		{"time index lost", func(t *testing.T, fsys segfs.FS, dir string) {
			require.NoError(t, fsys.Remove(filepath.Join(dir, Name(0)+TimeIndexSuffix)))
		}},
		{"both lost", func(t *testing.T, fsys segfs.FS, dir string) {
			require.NoError(t, fsys.Remove(filepath.Join(dir, Name(0)+IndexSuffix)))
			require.NoError(t, fsys.Remove(filepath.Join(dir, Name(0)+TimeIndexSuffix)))
		}},
		{"torn index entry", func(t *testing.T, fsys segfs.FS, dir string) {
			mangle(t, fsys, dir, 0, IndexSuffix, segfstest.CutTo(func(n int64) int64 { return n - 1 }))
		}},
		{"index cut to half", func(t *testing.T, fsys segfs.FS, dir string) {
			mangle(t, fsys, dir, 0, IndexSuffix, segfstest.CutTo(func(n int64) int64 { return n / 2 / offsetEntrySize * offsetEntrySize }))
		}},
		{"index out of order", func(t *testing.T, fsys segfs.FS, dir string) {
			mangle(t, fsys, dir, 0, IndexSuffix, segfstest.Flip(offsetEntrySize+1)) // second entry's offset
		}},
		{"time index too low", func(t *testing.T, fsys segfs.FS, dir string) {
			mangle(t, fsys, dir, 0, TimeIndexSuffix, segfstest.CutTo(func(n int64) int64 { return n - timeEntrySize }))
			mangle(t, fsys, dir, 0, TimeIndexSuffix, segfstest.AppendBytes(make([]byte, timeEntrySize)))
		}},
		{"last entry points past the end", func(t *testing.T, fsys segfs.FS, dir string) {
			mangle(t, fsys, dir, 0, IndexSuffix, segfstest.FlipAt(func(n int64) int64 { return n - 4 })) // position's top byte
		}},
		{"garbage index", func(t *testing.T, fsys segfs.FS, dir string) {
			mangle(t, fsys, dir, 0, IndexSuffix, func(f segfs.File) {
				n := f.Size()
				segfstest.CutTo(func(int64) int64 { return 0 })(f)
				segfstest.AppendBytes(bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef, 0x01}, int(n)/5))(f)
			})
		}},
		{"garbage time index", func(t *testing.T, fsys segfs.FS, dir string) {
			mangle(t, fsys, dir, 0, TimeIndexSuffix, segfstest.AppendBytes([]byte("not an entry")))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			segfstest.ForEach(t, func(t *testing.T, fsys segfs.FS, dir string) {
				bs := genBatches(rand.New(rand.NewPCG(13, 14)), 50, 0, 120, nil)
				s := newSeg(t, fsys, dir, 0, 500)
				appendAll(t, s, bs)
				require.NoError(t, s.Roll())
				wantOff, wantTime := slices.Clone(s.offIdx), slices.Clone(s.timeIdx)
				wantTS, wantTSOff := s.LargestTimestamp(), s.LargestTimestampOffset()
				var byTime []int64
				for _, b := range bs {
					off, err := s.FindByTimestamp(b.info.MaxTimestamp)
					require.NoError(t, err)
					byTime = append(byTime, off)
				}
				require.NoError(t, s.Close())
				tc.mutate(t, fsys, dir)

				s, _ = reopen(t, fsys, dir, 0, 500, false)
				assert.NotEmpty(t, s.Rebuilt(), "the rebuild is reported")
				assert.Equal(t, wantOff, s.offIdx)
				assert.Equal(t, wantTime, s.timeIdx)
				assert.Equal(t, wantTS, s.LargestTimestamp())
				assert.Equal(t, wantTSOff, s.LargestTimestampOffset())
				checkReads(t, s, bs)
				for i, b := range bs {
					off, err := s.FindByTimestamp(b.info.MaxTimestamp)
					require.NoError(t, err)
					assert.Equal(t, byTime[i], off, "timestamp of batch %d", i)
				}
				require.NoError(t, s.Close())

				s, _ = reopen(t, fsys, dir, 0, 500, false)
				assert.Empty(t, s.Rebuilt(), "the rebuilt indexes were written")
				assert.Equal(t, wantOff, s.offIdx)
			})
		})
	}
}

func TestSegment_AppendRejects(t *testing.T) {
	segfstest.ForEach(t, func(t *testing.T, fsys segfs.FS, dir string) {
		s := newSeg(t, fsys, dir, 100, 0)
		a := newTB(100, 2, 5, []byte("a"))
		assert.ErrorIs(t, s.Append(a.data[:10], a.info), ErrBadBatch, "bytes and description disagree")
		assert.ErrorIs(t, s.Append(newTB(99, 1, 5, nil).data, newTB(99, 1, 5, nil).info), ErrBadBatch, "below the base")
		require.NoError(t, s.Append(a.data, a.info))
		assert.ErrorIs(t, s.Append(a.data, a.info), ErrBadBatch, "offsets going backwards")
		far := newTB(100+math.MaxInt32, 2, 5, nil)
		assert.False(t, s.fits(far.info.Size, far.info.LastOffset))
		assert.ErrorIs(t, s.Append(far.data, far.info), ErrFull)
		assert.True(t, s.fits(1000, 100+math.MaxInt32))
		require.NoError(t, s.Close())
		require.NoError(t, s.Close(), "closing twice is harmless")
		assert.ErrorIs(t, s.Append(a.data, a.info), sentinel.ErrClosed)
		_, _, err := s.Read(100, 1)
		assert.ErrorIs(t, err, sentinel.ErrClosed)
		assert.ErrorIs(t, s.Sync(), sentinel.ErrClosed)

		_, err = Create(fsys, dir, 100, tCodec(0), time.Now())
		assert.ErrorIs(t, err, fs.ErrExist, "offsets are never reused")
		e := newSeg(t, fsys, dir, 200, 0)
		require.NoError(t, e.Close())
		e = newSeg(t, fsys, dir, 200, 0) // an empty one is reused
		require.NoError(t, e.Remove())
		names, err := fsys.List(dir)
		require.NoError(t, err)
		assert.Equal(t, 3, len(names), "remove deleted the three files of 200 only")
		assert.True(t, strings.HasPrefix(names[0], Name(100)))
	})
}

// A write that fails halfway is cut back, so the segment and its files stay as they were; if
// even the cut fails, the segment refuses every later write.
func TestSegment_WriteFaults(t *testing.T) {
	segfstest.ForEach(t, func(t *testing.T, base segfs.FS, dir string) {
		fsys := &segfstest.FaultFS{FS: base}
		bs := genBatches(rand.New(rand.NewPCG(15, 16)), 40, 0, 100, nil)
		s := newSeg(t, fsys, dir, 0, 300)
		appendAll(t, s, bs[:20])
		failOn := func(suffix string, ops ...string) {
			fsys.SetHook(func(op, name string, p []byte) (int, error) {
				if strings.HasSuffix(name, suffix) && slices.Contains(ops, op) {
					return len(p) / 2, segfstest.ErrInjected
				}
				return 0, nil
			})
		}
		failOn(LogSuffix, "write")
		assert.ErrorIs(t, s.Append(bs[20].data, bs[20].info), segfstest.ErrInjected)
		fsys.SetHook(nil)
		checkReads(t, s, bs[:20])
		failOn(IndexSuffix, "write")
		assert.ErrorIs(t, s.Sync(), segfstest.ErrInjected)
		fsys.SetHook(nil)
		appendAll(t, s, bs[20:30])
		require.NoError(t, s.Sync())
		checkReads(t, s, bs[:30])

		failOn(LogSuffix, "write", "truncate")
		assert.ErrorIs(t, s.Append(bs[30].data, bs[30].info), segfstest.ErrInjected)
		fsys.SetHook(nil)
		assert.ErrorIs(t, s.Append(bs[30].data, bs[30].info), segfstest.ErrInjected, "the failure sticks")
		assert.ErrorIs(t, s.Sync(), segfstest.ErrInjected)
		require.NoError(t, s.Close())

		s, cut := reopen(t, fsys, dir, 0, 300, true)
		assert.Equal(t, int64(bs[30].info.Size/2), cut, "recovery cuts the torn write")
		checkReads(t, s, bs[:30])
	})
}

// One writer appends while readers read and search: run with -race.
func TestSegment_ConcurrentReadAppend(t *testing.T) {
	segfstest.ForEach(t, func(t *testing.T, fsys segfs.FS, dir string) {
		bs := genBatches(rand.New(rand.NewPCG(17, 18)), 1500, 0, 100, nil)
		s := newSeg(t, fsys, dir, 0, 256)
		var wg sync.WaitGroup
		done := make(chan struct{})
		errs := make(chan error, 4)
		for r := range 4 {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(r), 0))
				for {
					select {
					case <-done:
						return
					default:
					}
					next := s.NextOffset()
					if next == 0 {
						continue
					}
					data, _, err := s.Read(rng.Int64N(next), rng.IntN(2000))
					if err == nil {
						_, err = tValidate(data)
					}
					if err == nil {
						_, err = s.FindByTimestamp(rng.Int64N(2_000_000_000_000))
					}
					if err != nil {
						errs <- err
						return
					}
				}
			})
		}
		appendAll(t, s, bs)
		close(done)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
}

// Random appends, syncs, clean reopens and crashes that lose unsynced bytes, against a model:
// recovery must keep every synced batch and exactly the whole batches that survived.
func TestSegment_RandomCrashes(t *testing.T) {
	segfstest.ForEach(t, func(t *testing.T, fsys segfs.FS, dir string) {
		seed := time.Now().UnixNano()
		t.Logf("seed %d", seed)
		rng := rand.New(rand.NewPCG(uint64(seed), 0))
		s := newSeg(t, fsys, dir, 0, 200)
		var model []tb
		var synced int64
		for range 300 {
			switch op := rng.IntN(10); {
			case op < 6:
				b := genBatches(rng, 1, s.NextOffset()+int64(rng.IntN(2)), 80, nil)[0]
				require.NoError(t, s.Append(b.data, b.info))
				model = append(model, b)
			case op < 7:
				require.NoError(t, s.Sync())
				synced = s.Size()
			case op < 8:
				require.NoError(t, s.Close())
				s, _ = reopen(t, fsys, dir, 0, 200, true)
				synced = s.Size() // close writes the index after syncing the .log
			default: // crash: the handles go, unsynced bytes may be lost
				require.NoError(t, s.closeFiles())
				size := s.Size()
				lost := synced + rng.Int64N(size-synced+1)
				mangle(t, fsys, dir, 0, LogSuffix, segfstest.CutTo(func(int64) int64 { return lost }))
				var keep, sum int
				for keep < len(model) && int64(sum+model[keep].info.Size) <= lost {
					sum += model[keep].info.Size
					keep++
				}
				model = model[:keep]
				var cut int64
				s, cut = reopen(t, fsys, dir, 0, 200, true)
				require.Equal(t, lost-int64(sum), cut, "seed %d", seed)
				synced = s.Size()
			}
		}
		checkReads(t, s, model)
	})
}

func FuzzSegment_Recover(f *testing.F) {
	f.Add([]byte{}, uint16(math.MaxUint16))
	f.Add([]byte("garbage"), uint16(100))
	f.Add(make([]byte, 64), uint16(2000))
	f.Add(newTB(1000, 1, 1, []byte("forged")).data, uint16(math.MaxUint16))
	bs := genBatches(rand.New(rand.NewPCG(19, 20)), 40, 0, 100, nil)
	whole := concat(bs)
	f.Fuzz(func(t *testing.T, tail []byte, cut uint16) {
		fsys, dir := segfs.NewMem(), "p"
		s := newSeg(t, fsys, dir, 0, 256)
		appendAll(t, s, bs)
		require.NoError(t, s.Close())
		at := min(int(cut), len(whole)) // a cut past the end keeps the whole log
		mangled := append(whole[:at:at], tail...)
		mangle(t, fsys, dir, 0, LogSuffix, func(f segfs.File) {
			segfstest.CutTo(func(int64) int64 { return 0 })(f)
			segfstest.AppendBytes(mangled)(f)
		})

		// The model: walk the mangled bytes from the start, validating everything; a valid
		// batch anywhere after the first invalid one makes it corruption, not a torn tail.
		var kept []tb
		next, end := int64(0), 0
		for {
			info, err := tValidate(mangled[end:])
			if err != nil || info.BaseOffset < next {
				break
			}
			kept = append(kept, tb{mangled[end : end+info.Size], info})
			end += info.Size
			next = info.LastOffset + 1
		}
		for q := end + 1; q < len(mangled); q++ {
			if info, err := tValidate(mangled[q:]); err == nil && info.BaseOffset >= next {
				_, _, err := Open(fsys, dir, 0, tCodec(256), true)
				require.ErrorIs(t, err, ErrCorrupt)
				return
			}
		}
		s, truncated := reopen(t, fsys, dir, 0, 256, true)
		require.Equal(t, int64(len(mangled)-end), truncated)
		checkReads(t, s, kept)
		ref := newSeg(t, segfs.NewMem(), "ref", 0, 256)
		appendAll(t, ref, kept)
		require.True(t, bytes.Equal(ref.offIdx, s.offIdx), "offset index rebuilt")
		require.True(t, bytes.Equal(ref.timeIdx, s.timeIdx), "time index rebuilt")
		require.NoError(t, s.Roll())
		require.NoError(t, s.Close())
		reopen(t, fsys, dir, 0, 256, false)
	})
}

func BenchmarkSegment_Append(b *testing.B) {
	for _, fsys := range []struct {
		name string
		fs   func(b *testing.B) (segfs.FS, string)
	}{
		{"mem", func(*testing.B) (segfs.FS, string) { return segfs.NewMem(), "p" }},
		{"os", func(b *testing.B) (segfs.FS, string) { return segfs.OS(), b.TempDir() }},
	} {
		b.Run(fsys.name, func(b *testing.B) {
			files, dir := fsys.fs(b)
			// The segment reads only the description, so one batch serves every offset.
			batch := newTB(0, 1, 0, make([]byte, 1024-tHeaderLen))
			s := newSeg(b, files, dir, 0, 0)
			b.SetBytes(1024)
			b.ReportAllocs()
			var off int64
			for b.Loop() {
				if s.Size() >= 64<<20 { // a new segment now and then bounds memFS's memory
					require.NoError(b, s.Remove())
					s = newSeg(b, files, dir, off, 0)
				}
				batch.info.BaseOffset, batch.info.LastOffset, batch.info.MaxTimestamp = off, off, off
				if err := s.Append(batch.data, batch.info); err != nil {
					b.Fatal(err)
				}
				off++
			}
		})
	}
}

// BenchmarkSegment_Read reads from random offsets of 10,000 batches of 1 KiB, one batch at a
// time and 64 KiB at a time.
func BenchmarkSegment_Read(b *testing.B) {
	payload := make([]byte, 1024-tHeaderLen)
	const n = 10_000
	for _, backend := range []string{"mem", "os"} {
		files, dir := segfs.NewMem(), "p"
		if backend == "os" {
			files, dir = segfs.OS(), b.TempDir()
		}
		s := newSeg(b, files, dir, 0, 0)
		for i := range n {
			batch := newTB(int64(i), 1, int64(i), payload)
			require.NoError(b, s.Append(batch.data, batch.info))
		}
		for _, maxBytes := range []int{1, 64 << 10} {
			b.Run(fmt.Sprintf("%s/maxBytes=%d", backend, maxBytes), func(b *testing.B) {
				rng := rand.New(rand.NewPCG(1, 1))
				b.ReportAllocs()
				var read int64
				for b.Loop() {
					data, _, err := s.Read(rng.Int64N(n), maxBytes)
					if err != nil {
						b.Fatal(err)
					}
					read += int64(len(data))
				}
				b.SetBytes(read / int64(b.N))
			})
		}
	}
}

// mangle changes one file of the segment based at base behind the segment's back.
func mangle(t *testing.T, fsys segfs.FS, dir string, base int64, suffix string, fn func(f segfs.File)) {
	t.Helper()
	segfstest.Mangle(t, fsys, filepath.Join(dir, Name(base)+suffix), fn)
}
