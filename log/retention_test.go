package log_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	tlog "github.com/tribusmq/tribus/log"
)

func produceAt(t *testing.T, l *tlog.Log, topic string, ts time.Time, value string) int64 {
	t.Helper()
	res, err := l.ProduceTo(context.Background(), topic, 0, tlog.Record{Value: []byte(value), Timestamp: ts})
	require.NoError(t, err)
	return res.Offset
}

func startEnd(t *testing.T, l *tlog.Log, topic string) (int64, int64, int) {
	t.Helper()
	info, err := l.DescribeTopic(topic)
	require.NoError(t, err)
	p := info.Partitions[0]
	return p.StartOffset, p.EndOffset, p.Segments
}

func TestRetention_K31_WholeSegmentsOnly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := openLog(t, "")
		// About three records a segment.
		require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{SegmentBytes: 250, RetentionTime: time.Hour}))
		now := time.Now()
		for i := range 9 {
			produceAt(t, l, "t", now.Add(time.Duration(i)*time.Minute), fmt.Sprintf("r%d", i))
		}
		_, _, segs := startEnd(t, l, "t")
		require.Greater(t, segs, 2)
		time.Sleep(time.Hour + 1*time.Minute + time.Second) // r0 and r1 are past retention, r2 is not
		l.RunRetention()
		start, end, _ := startEnd(t, l, "t")
		assert.Equal(t, int64(9), end)
		recs := fetchAll(t, l, "t", 0, start)
		assert.Equal(t, "r"+fmt.Sprint(start), string(recs[0].Value))
		assert.LessOrEqual(t, start, int64(2), "a segment goes only when its newest record has expired")
		old, err := l.Fetch(context.Background(), "t", 0, start, tlog.FetchOptions{})
		require.NoError(t, err)
		assert.NotEmpty(t, old, "an expired record whose segment is not yet eligible stays readable")
		// Reference: K31, §2.3 (UnifiedLog.deleteRetentionMsBreachedSegments)
	})
}

func TestRetention_K33_LargestTimestampDecides(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := openLog(t, "")
		require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{SegmentBytes: 250, RetentionTime: time.Hour}))
		now := time.Now()
		// First segment: old records plus one from the future; it must outlive retention.
		produceAt(t, l, "t", now.Add(-48*time.Hour), "old")
		produceAt(t, l, "t", now.Add(-48*time.Hour), "old")
		produceAt(t, l, "t", now.Add(24*time.Hour), "future")
		for range 6 {
			produceAt(t, l, "t", now.Add(-48*time.Hour), "old too")
		}
		l.RunRetention()
		start, _, _ := startEnd(t, l, "t")
		assert.Equal(t, int64(0), start, "a future timestamp keeps the first segment, and retention stops at it")
		// Reference: K33, §2.3
	})
}

func TestRetention_K34_EverythingEligibleRollsAndKeepsOffsets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := openLog(t, "")
		require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{SegmentBytes: 250, RetentionTime: time.Minute}))
		for i := range 7 {
			produceAt(t, l, "t", time.Now(), fmt.Sprint(i))
		}
		time.Sleep(2 * time.Minute)
		l.RunRetention()
		start, end, segs := startEnd(t, l, "t")
		assert.Equal(t, int64(7), start, "log start = end offset")
		assert.Equal(t, int64(7), end)
		assert.Equal(t, 1, segs, "one empty active segment is left")
		assert.Equal(t, int64(7), produceAt(t, l, "t", time.Now(), "next"), "no offset is reused")
		// Reference: K34, §2.3
	})
}

func TestRetention_SizeKeepsAtLeastRetentionBytes(t *testing.T) {
	l := openLog(t, "")
	require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{SegmentBytes: 250, RetentionBytes: 500, RetentionTime: -1}))
	for i := range 20 {
		produceAt(t, l, "t", time.Now(), fmt.Sprint(i))
	}
	before, err := l.DescribeTopic("t")
	require.NoError(t, err)
	l.RunRetention()
	after, err := l.DescribeTopic("t")
	require.NoError(t, err)
	assert.Less(t, after.Partitions[0].Segments, before.Partitions[0].Segments)
	assert.GreaterOrEqual(t, after.Partitions[0].Size, int64(500), "deletes only while the rest stays at least retention.bytes")
	// Reference: §2.3 size retention
}

func TestRetention_RunsOnItsTimer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, err := tlog.Open("", &tlog.Options{RetentionCheckInterval: time.Minute})
		require.NoError(t, err)
		defer l.Close()
		require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{SegmentBytes: 250, RetentionTime: time.Minute}))
		for i := range 7 {
			produceAt(t, l, "t", time.Now(), fmt.Sprint(i))
		}
		time.Sleep(3 * time.Minute)
		synctest.Wait()
		start, _, _ := startEnd(t, l, "t")
		assert.Equal(t, int64(7), start, "the periodic check deleted the expired segments")
	})
}

func TestRecovery_TornTailIsTruncated(t *testing.T) {
	dir := t.TempDir()
	l, err := tlog.Open(dir, nil)
	require.NoError(t, err)
	require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{}))
	for i := range 5 {
		produceAt(t, l, "t", time.Now(), fmt.Sprint(i))
	}
	require.NoError(t, l.Close())
	seg := filepath.Join(dir, "t-0", fmt.Sprintf("%020d.log", 0))
	fi, err := os.Stat(seg)
	require.NoError(t, err)
	f, err := os.OpenFile(seg, os.O_RDWR, 0)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(fi.Size()-7)) // tear the last batch
	require.NoError(t, f.Close())

	l = openLog(t, dir)
	_, end, _ := startEnd(t, l, "t")
	assert.Equal(t, int64(4), end, "the torn batch is cut, the four before it stay")
	assert.Equal(t, []string{"0", "1", "2", "3"}, values(fetchAll(t, l, "t", 0, 0)))
	assert.Equal(t, int64(4), produceAt(t, l, "t", time.Now(), "again"), "the next record takes the torn one's offset: it was never acknowledged")
}
