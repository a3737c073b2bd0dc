package log_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/internal/sentinel"
	tlog "github.com/tribusmq/tribus/log"
)

// captureHandler is a slog.Handler that keeps the messages of the records it handles.
type captureHandler struct {
	mu   sync.Mutex
	msgs []string
}

func (h *captureHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *captureHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *captureHandler) WithGroup(string) slog.Handler            { return h }
func (h *captureHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool { fmt.Fprintf(&b, " %s=%v", a.Key, a.Value); return true })
	h.msgs = append(h.msgs, b.String())
	return nil
}

func (h *captureHandler) find(substr string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, m := range h.msgs {
		if strings.Contains(m, substr) {
			return m
		}
	}
	return ""
}

// integrityRecords is how many records fillSegments writes, one batch each.
const integrityRecords = 40

// recordValue is the value of record i: about 1 KB, so that a segment of 12 KB holds about a
// dozen batches and has an index point every four or five (index.interval.bytes is 4096).
func recordValue(i int) []byte {
	return fmt.Appendf(nil, "value-%04d-%s", i, strings.Repeat("x", 1000+i%7))
}

// fillSegments creates topic "t" (one partition, segments of about a dozen batches) in dir and
// produces integrityRecords records, one batch each, then closes the log.
func fillSegments(t *testing.T, dir string) {
	t.Helper()
	l, err := tlog.Open(dir, nil)
	require.NoError(t, err)
	require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{SegmentBytes: 12000}))
	for i := range integrityRecords {
		res, err := l.ProduceTo(context.Background(), "t", 0, tlog.Record{Key: []byte("k"), Value: recordValue(i)})
		require.NoError(t, err)
		require.Equal(t, int64(i), res.Offset)
	}
	require.NoError(t, l.Close())
}

// segmentBatch is where one batch lies in a .log file.
type segmentBatch struct {
	pos, size int
	base      int64
}

// logFiles returns the partition's .log files in offset order, and the batches of each.
func logFiles(t *testing.T, dir string) ([]string, [][]segmentBatch) {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "t-0", "*.log"))
	require.NoError(t, err)
	slices.Sort(paths)
	var all [][]segmentBatch
	for _, p := range paths {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		var bs []segmentBatch
		for pos := 0; pos < len(b); {
			size := 12 + int(binary.BigEndian.Uint32(b[pos+8:]))
			bs = append(bs, segmentBatch{pos, size, int64(binary.BigEndian.Uint64(b[pos:]))})
			pos += size
		}
		all = append(all, bs)
	}
	require.GreaterOrEqual(t, len(paths), 3, "the test needs sealed segments and an active one")
	return paths, all
}

// flipByte flips one bit of the byte at pos of the file path.
func flipByte(t *testing.T, path string, pos int) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	b[pos] ^= 0x10
	require.NoError(t, os.WriteFile(path, b, 0o600))
}

// readAll fetches partition 0 of "t" from offset 0 until the end or an error, a few batches
// at a time, and returns the records and the error.
func readAll(t *testing.T, l *tlog.Log) ([]tlog.Record, error) {
	t.Helper()
	var out []tlog.Record
	for off := int64(0); ; {
		recs, err := l.Fetch(context.Background(), "t", 0, off, tlog.FetchOptions{MaxBytes: 3000})
		if err != nil {
			return out, err
		}
		if len(recs) == 0 {
			return out, nil
		}
		out = append(out, recs...)
		off = recs[len(recs)-1].Offset + 1
	}
}

// requireProduced checks that recs are records 0, 1, ... as fillSegments produced them.
func requireProduced(t *testing.T, recs []tlog.Record) {
	t.Helper()
	for i, r := range recs {
		require.Equal(t, int64(i), r.Offset)
		require.Equal(t, recordValue(i), r.Value, "offset %d", i)
	}
}

// requireCorruptAt checks that err is a *CorruptBatchError of t-0 at offset (or, if offset < 0,
// at any offset) that matches both corruption sentinels.
func requireCorruptAt(t *testing.T, err error, offset int64) *tlog.CorruptBatchError {
	t.Helper()
	var ce *tlog.CorruptBatchError
	require.ErrorAs(t, err, &ce)
	assert.ErrorIs(t, err, tlog.ErrCorruptBatch)
	assert.ErrorIs(t, err, sentinel.ErrCorrupt, "errors.Is(err, tribus.ErrCorrupt)")
	assert.Equal(t, "t", ce.Topic)
	assert.Equal(t, int32(0), ce.Partition)
	if offset >= 0 {
		assert.Equal(t, offset, ce.Offset)
	}
	return ce
}

// A flipped byte in a batch's records or CRC is found by the CRC-32C check on read: the fetch
// that reaches the batch returns the good batches before it, and every fetch at the batch's
// offset fails with a *CorruptBatchError naming topic, partition and offset, instead of
// returning the damaged bytes as records. Kafka's consumers check the same CRC
// (check.crcs=true, DefaultRecordBatch.ensureValid) and raise CorruptRecordException.
func TestLog_CorruptBatchIsNeverServed(t *testing.T) {
	for _, tc := range []struct {
		name string
		at   func(b segmentBatch) int
	}{
		{"record byte", func(b segmentBatch) int { return b.pos + b.size - 3 }},
		{"crc byte", func(b segmentBatch) int { return b.pos + 18 }},
		{"attributes byte", func(b segmentBatch) int { return b.pos + 22 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			fillSegments(t, dir)
			paths, batches := logFiles(t, dir)
			bad := batches[1][len(batches[1])/2] // the middle of a sealed segment
			flipByte(t, paths[1], tc.at(bad))

			l, err := tlog.Open(dir, nil)
			require.NoError(t, err, "a sealed segment's batches are checked when read")
			defer l.Close()

			// Each fetch returns whole valid batches (one segment's worth at most): the one
			// that reaches the damaged batch returns those before it, and the next fails.
			var got []tlog.Record
			next := int64(0)
			for {
				recs, err := l.FetchAppend(context.Background(), nil, "t", 0, next, tlog.FetchOptions{MaxBytes: 1 << 20})
				if err != nil {
					assert.Empty(t, recs)
					requireCorruptAt(t, err, bad.base)
					break
				}
				require.NotEmpty(t, recs)
				got = append(got, recs...)
				next = recs[len(recs)-1].Offset + 1
			}
			requireProduced(t, got)
			require.Equal(t, bad.base, next, "every record before the damaged batch came back")

			for range 2 {
				_, err := l.Fetch(context.Background(), "t", 0, bad.base, tlog.FetchOptions{})
				requireCorruptAt(t, err, bad.base) // sticky
			}
			recs, err := l.Fetch(context.Background(), "t", 0, bad.base+1, tlog.FetchOptions{})
			require.NoError(t, err, "a reader may seek past the damaged batch")
			assert.Equal(t, bad.base+1, recs[0].Offset)
		})
	}
}

// Consumers and group consumers read through the same check: their Poll fails with the
// *CorruptBatchError once it reaches the damaged batch.
func TestLog_CorruptBatchFailsConsumers(t *testing.T) {
	dir := t.TempDir()
	fillSegments(t, dir)
	paths, batches := logFiles(t, dir)
	bad := batches[0][2]
	flipByte(t, paths[0], bad.pos+bad.size-2)
	l, err := tlog.Open(dir, nil)
	require.NoError(t, err)
	defer l.Close()

	polls := map[string]func() ([]tlog.Record, error){}
	c := l.NewConsumer(tlog.ConsumerOptions{Reset: tlog.ResetEarliest})
	require.NoError(t, c.Assign(tlog.TopicPartition{Topic: "t", Partition: 0}))
	polls["consumer"] = func() ([]tlog.Record, error) { return c.Poll(context.Background()) }
	gc, err := l.NewGroupConsumer(tlog.GroupConsumerOptions{GroupID: "g", Topics: []string{"t"}, Reset: tlog.ResetEarliest})
	require.NoError(t, err)
	defer gc.Close()
	polls["group consumer"] = func() ([]tlog.Record, error) { return gc.Poll(context.Background()) }

	for name, poll := range polls {
		t.Run(name, func(t *testing.T) {
			var got []tlog.Record
			var err error
			for range 10 {
				var recs []tlog.Record
				recs, err = poll()
				got = append(got, recs...)
				if err != nil {
					break
				}
			}
			requireCorruptAt(t, err, bad.base)
			requireProduced(t, got)
			assert.Len(t, got, int(bad.base))
		})
	}
}

// Damage to a .log at its start, middle or end, in its records, CRC or length, in a sealed
// segment or the active one, is a typed error at open or at read, never records that differ
// from what was produced. The one exception is a torn tail, the last batch of the active
// segment: recovery cuts it and keeps everything before it.
func TestLog_SegmentDamage(t *testing.T) {
	type where struct {
		name string
		seg  func(n int) int // which segment of n
	}
	segs := []where{{"sealed", func(int) int { return 0 }}, {"active", func(n int) int { return n - 1 }}}
	batchesAt := []struct {
		name  string
		batch func(n int) int
	}{{"first", func(int) int { return 0 }}, {"middle", func(n int) int { return n / 2 }}, {"last", func(n int) int { return n - 1 }}}
	bytesAt := []struct {
		name string
		at   func(b segmentBatch) int
	}{
		{"record", func(b segmentBatch) int { return b.pos + b.size - 3 }},
		{"crc", func(b segmentBatch) int { return b.pos + 17 }},
		{"length", func(b segmentBatch) int { return b.pos + 10 }},
	}
	for _, sg := range segs {
		for _, bt := range batchesAt {
			for _, by := range bytesAt {
				t.Run(sg.name+"/"+bt.name+"/"+by.name, func(t *testing.T) {
					dir := t.TempDir()
					fillSegments(t, dir)
					paths, batches := logFiles(t, dir)
					si := sg.seg(len(paths))
					bi := bt.batch(len(batches[si]))
					bad := batches[si][bi]
					flipByte(t, paths[si], by.at(bad))
					torn := sg.name == "active" && bt.name == "last"

					logs := &captureHandler{}
					l, err := tlog.Open(dir, &tlog.Options{Logger: slog.New(logs)})
					if err != nil {
						require.False(t, torn, "a torn tail opens: %v", err)
						require.ErrorIs(t, err, sentinel.ErrCorrupt)
						require.ErrorIs(t, err, tlog.ErrCorruptSegment)
						return
					}
					defer l.Close()
					recs, err := readAll(t, l)
					requireProduced(t, recs)
					if torn {
						require.NoError(t, err)
						assert.Len(t, recs, int(bad.base), "everything before the torn batch survives")
						assert.NotEmpty(t, logs.find("truncated a torn tail"))
						end, _, err := l.ListOffsets("t", 0, tlog.Latest)
						require.NoError(t, err)
						assert.Equal(t, bad.base, end)
						return
					}
					require.Error(t, err, "damage is never read as records")
					ce := requireCorruptAt(t, err, -1)
					assert.LessOrEqual(t, ce.Offset, bad.base)
					assert.LessOrEqual(t, int64(len(recs)), bad.base)
					if by.name != "length" {
						assert.Equal(t, bad.base, ce.Offset, "a checksum failure names the batch")
						assert.Len(t, recs, int(bad.base))
					}
				})
			}
		}
	}
}

// A torn tail is cut; a damaged batch of the active segment followed by valid ones is not a
// torn tail, and opening refuses it rather than cut acknowledged records.
func TestLog_ActiveSegmentDamageBeforeValidBatchesIsNotTruncated(t *testing.T) {
	dir := t.TempDir()
	fillSegments(t, dir)
	paths, batches := logFiles(t, dir)
	active := len(paths) - 1
	n := len(batches[active])
	require.GreaterOrEqual(t, n, 3)
	// Lose the index, as a crash before the active segment's first roll or close would, so
	// that recovery validates every batch of the segment.
	idx := strings.TrimSuffix(paths[active], ".log")
	require.NoError(t, os.Truncate(idx+".index", 0))
	require.NoError(t, os.Truncate(idx+".timeindex", 0))
	bad := batches[active][n-2]
	flipByte(t, paths[active], bad.pos+bad.size-3)
	before, err := os.ReadFile(paths[active])
	require.NoError(t, err)

	_, err = tlog.Open(dir, nil)
	require.ErrorIs(t, err, tlog.ErrCorruptSegment)
	require.ErrorIs(t, err, sentinel.ErrCorrupt)
	assert.Contains(t, err.Error(), "not a torn tail")
	after, err := os.ReadFile(paths[active])
	require.NoError(t, err)
	assert.True(t, bytes.Equal(before, after), "nothing was cut")
}

// A missing or damaged .index or .timeindex is rebuilt from the segment at open, with a log
// line, as Kafka rebuilds corrupt indexes (LogLoader: "Found a corrupted index file ...
// rebuilding index files"); fetches by offset and lookups by time answer as before.
func TestLog_DamagedIndexIsRebuiltAtOpen(t *testing.T) {
	writeEntries := func(path string, fn func(b []byte) []byte) func(t *testing.T) {
		return func(t *testing.T) {
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(path, fn(b), 0o600))
		}
	}
	for _, tc := range []struct {
		name   string
		suffix string
		damage func(path string) func(b []byte) []byte
	}{
		{"index missing", ".index", nil},
		{"time index missing", ".timeindex", nil},
		{"index truncated", ".index", func(string) func([]byte) []byte { return func(b []byte) []byte { return b[:len(b)-3] } }},
		{"time index truncated", ".timeindex", func(string) func([]byte) []byte { return func(b []byte) []byte { return b[:len(b)-5] } }},
		{"index garbage", ".index", func(string) func([]byte) []byte {
			return func(b []byte) []byte { return bytes.Repeat([]byte{0x5a}, len(b)) }
		}},
		{"time index garbage", ".timeindex", func(string) func([]byte) []byte {
			return func(b []byte) []byte { return bytes.Repeat([]byte{0xa5}, len(b)) }
		}},
		{"index entry past the end", ".index", func(string) func([]byte) []byte {
			return func(b []byte) []byte {
				binary.BigEndian.PutUint32(b[len(b)-4:], 1<<30) // the last entry's position
				return b
			}
		}},
		{"index not monotonic", ".index", func(string) func([]byte) []byte {
			return func(b []byte) []byte {
				binary.BigEndian.PutUint32(b[8:], 0) // the second entry's offset back to 0
				return b
			}
		}},
		{"time index not monotonic", ".timeindex", func(string) func([]byte) []byte {
			return func(b []byte) []byte {
				binary.BigEndian.PutUint64(b[12:], 0) // the second entry's timestamp
				return b
			}
		}},
	} {
		for _, segName := range []string{"sealed", "active"} {
			t.Run(tc.name+"/"+segName, func(t *testing.T) {
				dir := t.TempDir()
				fillSegments(t, dir)
				l, err := tlog.Open(dir, nil)
				require.NoError(t, err)
				var times []int64
				for off := range int64(integrityRecords) {
					recs, err := l.Fetch(context.Background(), "t", 0, off, tlog.FetchOptions{MaxRecords: 1})
					require.NoError(t, err)
					times = append(times, recs[0].Timestamp.UnixMilli())
				}
				require.NoError(t, l.Close())

				paths, _ := logFiles(t, dir)
				seg := paths[0]
				if segName == "active" {
					seg = paths[len(paths)-1]
				}
				path := strings.TrimSuffix(seg, ".log") + tc.suffix
				entry := int64(8)
				if tc.suffix == ".timeindex" {
					entry = 12
				}
				st, err := os.Stat(path)
				require.NoError(t, err)
				require.GreaterOrEqual(t, st.Size(), 2*entry, "the damage needs two index entries")
				if tc.damage == nil {
					require.NoError(t, os.Remove(path))
				} else {
					writeEntries(path, tc.damage(path))(t)
				}

				logs := &captureHandler{}
				l, err = tlog.Open(dir, &tlog.Options{Logger: slog.New(logs)})
				require.NoError(t, err, "damaged indexes never stop the log from opening")
				defer l.Close()
				assert.NotEmpty(t, logs.find("rebuilt a segment's indexes"), "the rebuild is logged: %q", logs.msgs)

				for off := range int64(integrityRecords) {
					recs, err := l.Fetch(context.Background(), "t", 0, off, tlog.FetchOptions{MaxRecords: 1})
					require.NoError(t, err)
					require.Len(t, recs, 1)
					assert.Equal(t, off, recs[0].Offset)
					assert.Equal(t, recordValue(int(off)), recs[0].Value)
				}
				for _, ts := range times {
					want := slices.IndexFunc(times, func(x int64) bool { return x >= ts }) // K16
					off, _, err := l.ListOffsets("t", 0, ts)
					require.NoError(t, err)
					assert.Equal(t, int64(want), off, "ListOffsets(%d)", ts)
				}
			})
		}
	}
}

// Every single-bit flip in a batch's header, and some in its records, in a sealed segment and
// in the active one, is caught: at open, or at the read of that batch; no fetch returns a
// record whose offset or value differs from what was produced. The CRC-32C does not cover a
// batch's base offset and length, so those are checked against the index and the batches
// around them (including recovery of the active segment, whose batches are contiguous).
func TestLog_EveryFlippedHeaderBitIsCaught(t *testing.T) {
	const n = 8
	src := t.TempDir()
	l, err := tlog.Open(src, nil)
	require.NoError(t, err)
	require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{SegmentBytes: 350}))
	value := func(i int64) string { return fmt.Sprintf("value-%02d", i) }
	for i := range int64(n) {
		_, err := l.ProduceTo(context.Background(), "t", 0, tlog.Record{Value: []byte(value(i))})
		require.NoError(t, err)
	}
	require.NoError(t, l.Close())
	paths, err := filepath.Glob(filepath.Join(src, "t-0", "*.log"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(paths), 2)
	for _, seg := range []string{paths[0], paths[len(paths)-1]} {
		orig, err := os.ReadFile(seg)
		require.NoError(t, err)
		size := 12 + int(binary.BigEndian.Uint32(orig[8:]))
		at := size // the second batch: its header, then the start of its record
		for pos := at; pos < at+61+8; pos++ {
			for _, bit := range []byte{0x01, 0x80} {
				dir := t.TempDir()
				require.NoError(t, os.CopyFS(dir, os.DirFS(src)))
				b := slices.Clone(orig)
				b[pos] ^= bit
				require.NoError(t, os.WriteFile(filepath.Join(dir, "t-0", filepath.Base(seg)), b, 0o600))
				l, err := tlog.Open(dir, nil)
				if err != nil {
					require.ErrorIs(t, err, sentinel.ErrCorrupt, "byte %d bit %#x", pos, bit)
					continue
				}
				for off := range int64(n) {
					recs, err := l.Fetch(context.Background(), "t", 0, off, tlog.FetchOptions{MaxBytes: 1})
					if err != nil {
						var oor *tlog.OffsetOutOfRangeError
						if !errors.As(err, &oor) { // a torn tail cut: the end moved back
							requireCorruptAt(t, err, -1)
						}
						continue
					}
					for _, r := range recs {
						require.Less(t, r.Offset, int64(n), "%s byte %d bit %#x", filepath.Base(seg), pos, bit)
						require.Equal(t, value(r.Offset), string(r.Value), "%s byte %d bit %#x", filepath.Base(seg), pos, bit)
					}
				}
				require.NoError(t, l.Close())
			}
		}
	}
}
