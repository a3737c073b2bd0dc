package log_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	tlog "github.com/tribusmq/tribus/log"
)

// The model of one topic: per partition, every record ever produced (recs[o] has offset o)
// and the log start offset. The end offset is len(recs).
type modelPartition struct {
	start int64
	recs  []tlog.Record
}

const (
	modelTopic      = "m"
	modelPartitions = 2
	modelSegment    = 400  // bytes: a segment holds a few records, so they roll often
	modelRetention  = 1500 // retention.bytes: RunRetention deletes a few segments at a time
	modelBaseMillis = 1_700_000_000_000
)

// TestLog_RandomOperationsAgainstModel runs seeded random produces, fetches, ListOffsets,
// DeleteRecords, retention runs and (on disk) reopens against a slice model of one topic,
// checking every answer and the start and end offsets after each step. Retention is checked by
// its invariants only: the start moves forward to some point, and what stays is unchanged.
//
// A failure logs its seed, step and the last operations; every run uses the same seeds.
func TestLog_RandomOperationsAgainstModel(t *testing.T) {
	forEachMode(t, func(t *testing.T, dir string) {
		for seed := uint64(1); seed <= 8; seed++ {
			t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
				t.Parallel()
				d := dir
				if d != "" {
					d = t.TempDir()
				}
				runModel(t, d, seed, 400)
			})
		}
	})
}

type modelRun struct {
	t     *testing.T
	rng   *rand.Rand
	dir   string
	l     *tlog.Log
	parts [modelPartitions]*modelPartition
	ts    int64    // the timestamp of the last record produced, in ms
	ops   []string // the last operations, for the failure message
}

func runModel(t *testing.T, dir string, seed uint64, steps int) {
	m := &modelRun{t: t, rng: rand.New(rand.NewPCG(seed, 0x5eed)), dir: dir, ts: modelBaseMillis}
	step := 0
	defer func() {
		if t.Failed() {
			t.Logf("seed %d failed at step %d of %d; last operations:\n\t%s", seed, step, steps, strings.Join(m.ops, "\n\t"))
		}
	}()
	m.open()
	t.Cleanup(func() { m.l.Close() })
	require.NoError(t, m.l.CreateTopic(modelTopic, tlog.TopicConfig{Partitions: modelPartitions,
		SegmentBytes: modelSegment, RetentionBytes: modelRetention, RetentionTime: -1}))
	for i := range m.parts {
		m.parts[i] = &modelPartition{}
	}
	for step = range steps {
		switch n := m.rng.IntN(100); {
		case n < 45:
			m.produce()
		case n < 70:
			m.fetch()
		case n < 82:
			m.listOffsets()
		case n < 88:
			m.deleteRecords()
		case n < 94:
			m.retention()
		default:
			if dir != "" {
				m.reopen()
			}
		}
		m.checkOffsets()
	}
	for p := range m.parts {
		m.checkContents(int32(p))
	}
}

// open opens the log without a sync per produce: a reopen follows a Close, which syncs, and
// the run stays fast on a busy disk.
func (m *modelRun) open() {
	l, err := tlog.Open(m.dir, &tlog.Options{NoSync: true})
	require.NoError(m.t, err)
	m.l = l
}

func (m *modelRun) log(format string, args ...any) {
	m.ops = append(m.ops, fmt.Sprintf(format, args...))
	if len(m.ops) > 20 {
		m.ops = m.ops[1:]
	}
}

// bytes returns nil sometimes, empty sometimes, else up to max random bytes.
func (m *modelRun) bytes(max int) []byte {
	switch m.rng.IntN(10) {
	case 0, 1:
		return nil
	case 2:
		return []byte{}
	}
	b := make([]byte, m.rng.IntN(max+1))
	for i := range b {
		b[i] = byte(m.rng.UintN(256))
	}
	return b
}

func (m *modelRun) produce() {
	// Timestamps mostly grow, sometimes step back, now and then far back.
	switch m.rng.IntN(10) {
	case 0:
		m.ts -= int64(m.rng.IntN(60_000))
	default:
		m.ts += int64(m.rng.IntN(2_000)) - 300
	}
	// Values are mostly small, a few records to a segment; now and then one outgrows a
	// segment on its own.
	valueMax := 100
	if m.rng.IntN(10) == 0 {
		valueMax = 500
	}
	rec := tlog.Record{Key: m.bytes(20), Value: m.bytes(valueMax), Timestamp: time.UnixMilli(m.ts)}
	for range m.rng.IntN(3) {
		rec.Headers = append(rec.Headers, tlog.Header{Key: strconv.Itoa(m.rng.IntN(3)), Value: m.bytes(8)})
	}
	want := rec
	ctx := context.Background()
	var res tlog.ProduceResult
	var err error
	if rec.Key != nil && m.rng.IntN(3) == 0 {
		// The key's hash picks the partition, and the model follows. (Not keyless records:
		// the sticky partitioner is seeded from the clock, and a seed must replay a run.)
		m.log("Produce(key %d bytes, value %d bytes, ts %d)", len(rec.Key), len(rec.Value), m.ts)
		res, err = m.l.Produce(ctx, modelTopic, rec)
	} else {
		p := int32(m.rng.IntN(modelPartitions))
		m.log("ProduceTo(%d, key %d bytes, value %d bytes, ts %d)", p, len(rec.Key), len(rec.Value), m.ts)
		res, err = m.l.ProduceTo(ctx, modelTopic, p, rec)
		require.Equal(m.t, p, res.Partition)
	}
	require.NoError(m.t, err)
	require.GreaterOrEqual(m.t, res.Partition, int32(0))
	require.Less(m.t, res.Partition, int32(modelPartitions))
	mp := m.parts[res.Partition]
	require.Equal(m.t, int64(len(mp.recs)), res.Offset, "produce returns the next offset of its partition")
	want.Offset, want.Topic, want.Partition = res.Offset, modelTopic, res.Partition
	mp.recs = append(mp.recs, want)
}

// fetch reads from a random offset in [start, end] with random limits: the records must be
// the model's from that offset on, at least one unless at the end, within the limits.
func (m *modelRun) fetch() {
	p := int32(m.rng.IntN(modelPartitions))
	mp := m.parts[p]
	end := int64(len(mp.recs))
	if m.rng.IntN(10) == 0 { // out of range, below the start or past the end
		off := end + 1 + int64(m.rng.IntN(3))
		if mp.start > 0 && m.rng.IntN(2) == 0 {
			off = m.rng.Int64N(mp.start)
		}
		m.log("Fetch(%d, %d) out of range [%d, %d]", p, off, mp.start, end)
		_, err := m.l.Fetch(context.Background(), modelTopic, p, off, tlog.FetchOptions{})
		var oor *tlog.OffsetOutOfRangeError
		require.ErrorAs(m.t, err, &oor)
		require.Equal(m.t, tlog.OffsetOutOfRangeError{Topic: modelTopic, Partition: p, Offset: off, Start: mp.start, End: end}, *oor)
		return
	}
	off := mp.start + m.rng.Int64N(end-mp.start+1)
	var o tlog.FetchOptions
	if m.rng.IntN(2) == 0 {
		o.MaxBytes = 1 + m.rng.IntN(1500)
	}
	if m.rng.IntN(2) == 0 {
		o.MaxRecords = 1 + m.rng.IntN(8)
	}
	m.log("Fetch(%d, %d, %+v) in [%d, %d]", p, off, o, mp.start, end)
	recs, err := m.l.Fetch(context.Background(), modelTopic, p, off, o)
	require.NoError(m.t, err)
	if off == end {
		require.Empty(m.t, recs, "nothing at the end offset")
		return
	}
	require.NotEmpty(m.t, recs, "at least one record below the end, whatever MaxBytes")
	if o.MaxRecords > 0 {
		require.LessOrEqual(m.t, len(recs), o.MaxRecords)
	}
	require.LessOrEqual(m.t, off+int64(len(recs)), end)
	for i, r := range recs {
		requireSameRecord(m.t, mp.recs[off+int64(i)], r)
	}
}

// listOffsets asks for a random timestamp around the ones produced, and the special ones.
func (m *modelRun) listOffsets() {
	p := int32(m.rng.IntN(modelPartitions))
	mp := m.parts[p]
	live := mp.recs[mp.start:]
	switch m.rng.IntN(6) {
	case 0:
		off, _, err := m.l.ListOffsets(modelTopic, p, tlog.Earliest)
		require.NoError(m.t, err)
		require.Equal(m.t, mp.start, off, "Earliest")
		off, _, err = m.l.ListOffsets(modelTopic, p, tlog.Latest)
		require.NoError(m.t, err)
		require.Equal(m.t, int64(len(mp.recs)), off, "Latest")
		return
	case 1:
		// MaxTimestamp: the first live record with the largest live timestamp.
		want, wantTS := int64(-1), int64(-1)
		for _, r := range live {
			if ms := r.Timestamp.UnixMilli(); ms > wantTS {
				want, wantTS = r.Offset, ms
			}
		}
		m.log("ListOffsets(%d, MaxTimestamp) want %d (ts %d)", p, want, wantTS)
		off, at, err := m.l.ListOffsets(modelTopic, p, tlog.MaxTimestamp)
		require.NoError(m.t, err)
		require.Equal(m.t, want, off, "MaxTimestamp offset")
		if want >= 0 {
			require.Equal(m.t, wantTS, at.UnixMilli(), "MaxTimestamp timestamp")
		}
		return
	}
	lo, hi := int64(modelBaseMillis), int64(modelBaseMillis)
	for _, r := range mp.recs {
		lo, hi = min(lo, r.Timestamp.UnixMilli()), max(hi, r.Timestamp.UnixMilli())
	}
	ts := lo - 100 + m.rng.Int64N(hi-lo+200)
	want, wantTS := int64(-1), int64(0)
	for _, r := range live {
		if r.Timestamp.UnixMilli() >= ts {
			want, wantTS = r.Offset, r.Timestamp.UnixMilli()
			break
		}
	}
	m.log("ListOffsets(%d, %d) want %d", p, ts, want)
	off, at, err := m.l.ListOffsets(modelTopic, p, ts)
	require.NoError(m.t, err)
	require.Equal(m.t, want, off, "first live offset with timestamp ≥ %d", ts)
	if want >= 0 {
		require.Equal(m.t, wantTS, at.UnixMilli())
	}
}

func (m *modelRun) deleteRecords() {
	p := int32(m.rng.IntN(modelPartitions))
	mp := m.parts[p]
	end := int64(len(mp.recs))
	if m.rng.IntN(8) == 0 {
		before := end + 1
		if mp.start > 0 && m.rng.IntN(2) == 0 {
			before = mp.start - 1
		}
		m.log("DeleteRecords(%d, %d) out of range [%d, %d]", p, before, mp.start, end)
		require.ErrorIs(m.t, m.l.DeleteRecords(modelTopic, p, before), tlog.ErrOffsetOutOfRange)
		return
	}
	// Mostly small steps, so that the log keeps something to read.
	before := mp.start + m.rng.Int64N(min(end-mp.start, 10)+1)
	if m.rng.IntN(10) == 0 {
		before = mp.start + m.rng.Int64N(end-mp.start+1)
	}
	m.log("DeleteRecords(%d, %d) in [%d, %d]", p, before, mp.start, end)
	require.NoError(m.t, m.l.DeleteRecords(modelTopic, p, before))
	mp.start = before
}

// retention runs size retention, which the model does not predict: the start may only move
// forward, to no further than the end, the end stays, the log stays at least retention.bytes
// if it was, and the records from the new start are unchanged.
func (m *modelRun) retention() {
	before := m.describe()
	m.log("RunRetention")
	m.l.RunRetention()
	after := m.describe()
	for p, mp := range m.parts {
		b, a := before.Partitions[p], after.Partitions[p]
		require.GreaterOrEqual(m.t, a.StartOffset, b.StartOffset, "partition %d: retention moved the start back", p)
		require.Equal(m.t, b.EndOffset, a.EndOffset, "partition %d: retention moved the end", p)
		require.LessOrEqual(m.t, a.StartOffset, a.EndOffset, "partition %d", p)
		if b.Size >= modelRetention {
			require.GreaterOrEqual(m.t, a.Size, int64(modelRetention), "partition %d: retention went below retention.bytes", p)
		} else {
			require.Equal(m.t, b.Size, a.Size, "partition %d: retention deleted from a log below retention.bytes", p)
		}
		if a.StartOffset != mp.start {
			m.log("  partition %d start %d -> %d", p, mp.start, a.StartOffset)
		}
		mp.start = a.StartOffset
		m.checkContents(int32(p))
	}
}

// reopen closes the log and opens it again: everything must be as it was.
func (m *modelRun) reopen() {
	before := m.describe()
	m.log("reopen")
	require.NoError(m.t, m.l.Close())
	m.open()
	after := m.describe()
	require.Equal(m.t, before, after, "the topic is described the same after a reopen")
	for p := range m.parts {
		m.checkContents(int32(p))
	}
}

func (m *modelRun) describe() tlog.TopicInfo {
	info, err := m.l.DescribeTopic(modelTopic)
	require.NoError(m.t, err)
	require.Len(m.t, info.Partitions, modelPartitions)
	return info
}

// checkOffsets compares every partition's start and end offsets with the model.
func (m *modelRun) checkOffsets() {
	info := m.describe()
	for p, mp := range m.parts {
		pi := info.Partitions[p]
		require.Equal(m.t, int32(p), pi.Partition)
		require.Equal(m.t, mp.start, pi.StartOffset, "partition %d start offset", p)
		require.Equal(m.t, int64(len(mp.recs)), pi.EndOffset, "partition %d end offset", p)
		require.GreaterOrEqual(m.t, pi.Segments, 1, "partition %d keeps an active segment", p)
	}
}

// checkContents reads a partition from its start to its end and compares every record.
func (m *modelRun) checkContents(p int32) {
	mp := m.parts[p]
	got := fetchAll(m.t, m.l, modelTopic, p, mp.start)
	require.Len(m.t, got, len(mp.recs)-int(mp.start), "partition %d from %d", p, mp.start)
	for i, r := range got {
		requireSameRecord(m.t, mp.recs[mp.start+int64(i)], r)
	}
}

// requireSameRecord compares two records field by field, telling nil from empty.
func requireSameRecord(t *testing.T, want, got tlog.Record) {
	t.Helper()
	require.Equal(t, recordView(want), recordView(got), "record at offset %d", want.Offset)
}

func recordView(r tlog.Record) string {
	q := func(b []byte) string {
		if b == nil {
			return "nil"
		}
		return strconv.Quote(string(b))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s-%d@%d ts=%d key=%s value=%s", r.Topic, r.Partition, r.Offset, r.Timestamp.UnixMilli(), q(r.Key), q(r.Value))
	for _, h := range r.Headers {
		fmt.Fprintf(&b, " %q:%s", h.Key, q(h.Value))
	}
	return b.String()
}
