package log_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	tlog "github.com/tribusmq/tribus/log"
)

// forEachMode runs body against an in-memory log and one on disk.
func forEachMode(t *testing.T, body func(t *testing.T, dir string)) {
	t.Run("memory", func(t *testing.T) { body(t, "") })
	t.Run("disk", func(t *testing.T) { body(t, t.TempDir()) })
}

func openLog(t *testing.T, dir string) *tlog.Log {
	t.Helper()
	l, err := tlog.Open(dir, nil)
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	return l
}

func produce(t *testing.T, l *tlog.Log, topic string, key, value string) tlog.ProduceResult {
	t.Helper()
	rec := tlog.Record{Value: []byte(value)}
	if key != "" {
		rec.Key = []byte(key)
	}
	res, err := l.Produce(context.Background(), topic, rec)
	require.NoError(t, err)
	return res
}

func values(recs []tlog.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = string(r.Value)
	}
	return out
}

func fetchAll(t *testing.T, l *tlog.Log, topic string, p int32, from int64) []tlog.Record {
	t.Helper()
	var out []tlog.Record
	for {
		recs, err := l.Fetch(context.Background(), topic, p, from, tlog.FetchOptions{})
		require.NoError(t, err)
		if len(recs) == 0 {
			return out
		}
		out = append(out, recs...)
		from = recs[len(recs)-1].Offset + 1
	}
}

func TestTopic_K1_NameRules(t *testing.T) {
	l := openLog(t, "")
	for _, bad := range []string{"", ".", "..", strings.Repeat("a", 250), "a/b", "a b", "ä", "../etc", "a\x00"} {
		assert.ErrorIs(t, l.CreateTopic(bad, tlog.TopicConfig{}), tlog.ErrInvalidTopic, "%q", bad)
	}
	for _, good := range []string{"orders", "a.b_c-d", "A1", strings.Repeat("x", 249), "..."} {
		assert.NoError(t, l.CreateTopic(good, tlog.TopicConfig{}), "%q", good)
	}
	assert.ErrorIs(t, l.CreateTopic("orders", tlog.TopicConfig{}), tlog.ErrTopicExists)
	// Reference: K1, Kafka Topic.java
}

func TestTopic_K2_DotUnderscoreCollide(t *testing.T) {
	l := openLog(t, "")
	require.NoError(t, l.CreateTopic("my.topic", tlog.TopicConfig{}))
	assert.ErrorIs(t, l.CreateTopic("my_topic", tlog.TopicConfig{}), tlog.ErrInvalidTopic)
	// Reference: K2, Topic.hasCollision
}

func TestTopic_K8_InternalNamesReserved(t *testing.T) {
	l := openLog(t, "")
	for _, name := range []string{"__consumer_offsets", "__transaction_state"} {
		assert.ErrorIs(t, l.CreateTopic(name, tlog.TopicConfig{}), tlog.ErrInvalidTopic)
	}
	// Reference: K8, Topic.java
}

func TestPartition_K3_OffsetsFromZeroInOrder(t *testing.T) {
	forEachMode(t, func(t *testing.T, dir string) {
		l := openLog(t, dir)
		require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{Partitions: 2}))
		for i := range 10 {
			res, err := l.ProduceTo(context.Background(), "t", int32(i%2), tlog.Record{Value: []byte(fmt.Sprint(i))})
			require.NoError(t, err)
			assert.Equal(t, int64(i/2), res.Offset, "offsets start at 0 and grow by 1 per partition")
		}
		recs := fetchAll(t, l, "t", 0, 0)
		assert.Equal(t, []string{"0", "2", "4", "6", "8"}, values(recs))
		for i, r := range recs {
			assert.Equal(t, int64(i), r.Offset)
			assert.Equal(t, "t", r.Topic)
			assert.Equal(t, int32(0), r.Partition)
		}
		assert.Equal(t, []string{"1", "3", "5", "7", "9"}, values(fetchAll(t, l, "t", 1, 0)))
		// Reference: K3, kafka.apache.org/documentation/#intro_concepts_and_terms
	})
}

func TestPartitioner_K4_KeysHashToMurmur2Partition(t *testing.T) {
	l := openLog(t, "")
	require.NoError(t, l.CreateTopic("t3", tlog.TopicConfig{Partitions: 3}))
	require.NoError(t, l.CreateTopic("t12", tlog.TopicConfig{Partitions: 12}))
	for _, tc := range []struct {
		key     string
		p3, p12 int32
	}{{"21", 0, 0}, {"foobar", 0, 6}, {"abc", 0, 3}, {"a", 1, 4}, {"key", 1, 1}, {"foo", 2, 8}} {
		assert.Equal(t, tc.p3, produce(t, l, "t3", tc.key, "v").Partition, "key %q n=3", tc.key)
		assert.Equal(t, tc.p12, produce(t, l, "t12", tc.key, "v").Partition, "key %q n=12", tc.key)
	}
	res, err := l.Produce(context.Background(), "t12", tlog.Record{Key: []byte{}, Value: []byte("empty key")})
	require.NoError(t, err)
	assert.Equal(t, int32(9), res.Partition, "an empty key is hashed, not sticky")
	// Reference: K4, SEMANTICS.md §2.1 test vectors
}

func TestPartitioner_K5_ExplicitPartitionOverridesKey(t *testing.T) {
	l := openLog(t, "")
	require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{Partitions: 3}))
	res, err := l.ProduceTo(context.Background(), "t", 2, tlog.Record{Key: []byte("21"), Value: []byte("v")})
	require.NoError(t, err)
	assert.Equal(t, int32(2), res.Partition)
	_, err = l.ProduceTo(context.Background(), "t", 3, tlog.Record{Value: []byte("v")})
	assert.ErrorIs(t, err, tlog.ErrUnknownTopic)
	// Reference: K5, KafkaProducer.partition
}

func TestPartitioner_K6_KeylessRecordsStick(t *testing.T) {
	l := openLog(t, "")
	require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{Partitions: 6}))
	first := produce(t, l, "t", "", "x").Partition
	for range 20 {
		assert.Equal(t, first, produce(t, l, "t", "", "x").Partition, "small keyless records stick to one partition")
	}
	// Reference: K6, KIP-480
}

func TestTopic_K7_PartitionsOnlyIncrease(t *testing.T) {
	forEachMode(t, func(t *testing.T, dir string) {
		l := openLog(t, dir)
		require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{Partitions: 2}))
		before := produce(t, l, "t", "foo", "old")
		assert.ErrorIs(t, l.CreatePartitions("t", 2), tlog.ErrInvalidPartitions)
		assert.ErrorIs(t, l.CreatePartitions("t", 1), tlog.ErrInvalidPartitions)
		require.NoError(t, l.CreatePartitions("t", 12))
		after := produce(t, l, "t", "foo", "new")
		assert.Equal(t, int32(8), after.Partition, "keys hash over the new count")
		assert.Equal(t, []string{"old"}, values(fetchAll(t, l, "t", before.Partition, 0)), "records already written stay")
		info, err := l.DescribeTopic("t")
		require.NoError(t, err)
		assert.Len(t, info.Partitions, 12)
		// Reference: K7, kafka.apache.org/documentation/#basic_ops_modify_topic
	})
}

func TestRecord_K9_KeyValueHeadersTimestamp(t *testing.T) {
	forEachMode(t, func(t *testing.T, dir string) {
		l := openLog(t, dir)
		require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{}))
		ts := time.UnixMilli(1_700_000_000_123)
		recs := []tlog.Record{
			{Key: nil, Value: nil, Timestamp: ts},
			{Key: []byte{}, Value: []byte{}, Timestamp: ts},
			{Key: []byte("k"), Value: []byte("v"), Timestamp: ts, Headers: []tlog.Header{
				{Key: "h", Value: []byte("1")}, {Key: "h", Value: []byte("2")}, {Key: "nil", Value: nil}}},
		}
		for _, r := range recs {
			_, err := l.ProduceTo(context.Background(), "t", 0, r)
			require.NoError(t, err)
		}
		got := fetchAll(t, l, "t", 0, 0)
		require.Len(t, got, 3)
		assert.Nil(t, got[0].Key)
		assert.Nil(t, got[0].Value)
		assert.NotNil(t, got[1].Key)
		assert.Empty(t, got[1].Key)
		assert.NotNil(t, got[1].Value)
		assert.Equal(t, []tlog.Header{{Key: "h", Value: []byte("1")}, {Key: "h", Value: []byte("2")}, {Key: "nil", Value: nil}},
			got[2].Headers, "headers keep order and may repeat")
		assert.True(t, ts.Equal(got[2].Timestamp))
		// Reference: K9, kafka.apache.org/documentation/#record
	})
}

func TestTimestamp_K11_CreateTimeKeptLogAppendTimeReplaced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := openLog(t, "")
		require.NoError(t, l.CreateTopic("create", tlog.TopicConfig{}))
		require.NoError(t, l.CreateTopic("append", tlog.TopicConfig{TimestampType: tlog.LogAppendTime}))
		old := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
		for _, topic := range []string{"create", "append"} {
			_, err := l.ProduceTo(context.Background(), topic, 0, tlog.Record{Value: []byte("v"), Timestamp: old})
			require.NoError(t, err)
		}
		assert.True(t, old.Equal(fetchAll(t, l, "create", 0, 0)[0].Timestamp), "CreateTime keeps the producer's timestamp")
		assert.True(t, time.Now().Truncate(time.Millisecond).Equal(fetchAll(t, l, "append", 0, 0)[0].Timestamp),
			"LogAppendTime is the broker's clock")
		// Reference: K11, message.timestamp.type
	})
}

func TestConsumer_K13_ResetEarliestLatestNone(t *testing.T) {
	l := openLog(t, "")
	require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{}))
	for i := range 3 {
		produce(t, l, "t", "", fmt.Sprint(i))
	}
	tp := tlog.TopicPartition{Topic: "t", Partition: 0}
	ctx := context.Background()
	for _, tc := range []struct {
		reset tlog.OffsetReset
		want  int64
		polls []string
	}{{tlog.ResetEarliest, 0, []string{"0", "1", "2"}}, {tlog.ResetLatest, 3, []string{}}} {
		c := l.NewConsumer(tlog.ConsumerOptions{Reset: tc.reset, MaxWait: time.Millisecond})
		require.NoError(t, c.Assign(tp))
		pos, err := c.Position(tp)
		require.NoError(t, err)
		assert.Equal(t, tc.want, pos)
		require.NoError(t, c.Seek(tp, 99)) // out of range: the reset applies again
		recs, err := c.Poll(ctx)
		require.NoError(t, err)
		if len(recs) == 0 { // the first poll may only have reset the position
			recs, err = c.Poll(ctx)
			require.NoError(t, err)
		}
		assert.Equal(t, tc.polls, values(recs))
	}
	c := l.NewConsumer(tlog.ConsumerOptions{Reset: tlog.ResetNone, MaxWait: time.Millisecond})
	require.NoError(t, c.Assign(tp))
	_, err := c.Poll(ctx)
	assert.ErrorIs(t, err, tlog.ErrOffsetOutOfRange, "none: no position is an error")
	// Reference: K13, ConsumerConfig auto.offset.reset
}

func TestConsumer_K15_SeekMovesNextPoll(t *testing.T) {
	l := openLog(t, "")
	require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{}))
	for i := range 5 {
		produce(t, l, "t", "", fmt.Sprint(i))
	}
	tp := tlog.TopicPartition{Topic: "t", Partition: 0}
	c := l.NewConsumer(tlog.ConsumerOptions{Reset: tlog.ResetEarliest, MaxWait: time.Millisecond})
	require.NoError(t, c.Assign(tp))
	recs, err := c.Poll(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []string{"0", "1", "2", "3", "4"}, values(recs))
	require.NoError(t, c.Seek(tp, 2))
	recs, err = c.Poll(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []string{"2", "3", "4"}, values(recs), "replay from any offset")
	require.NoError(t, c.SeekToBeginning())
	recs, _ = c.Poll(context.Background())
	assert.Len(t, recs, 5)
	require.NoError(t, c.SeekToEnd())
	recs, _ = c.Poll(context.Background())
	assert.Empty(t, recs)
	// Reference: K15, KafkaConsumer.seek
}

// A new assignment keeps the positions of the partitions that stay assigned and forgets the
// others: one assigned again later starts from the reset policy, not from where it was.
func TestConsumer_ReassignKeepsOnlyStillAssignedPositions(t *testing.T) {
	for _, parts := range []int32{4, 40} { // few partitions, and more than a scan is used for
		t.Run(fmt.Sprint(parts), func(t *testing.T) {
			l := openLog(t, "")
			require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{Partitions: int(parts)}))
			all := make([]tlog.TopicPartition, parts)
			for p := range parts {
				all[p] = tlog.TopicPartition{Topic: "t", Partition: p}
				for range 3 {
					_, err := l.ProduceTo(context.Background(), "t", p, tlog.Record{Value: []byte("v")})
					require.NoError(t, err)
				}
			}
			c := l.NewConsumer(tlog.ConsumerOptions{Reset: tlog.ResetEarliest, MaxWait: time.Millisecond})
			require.NoError(t, c.Assign(all...))
			for _, tp := range all {
				require.NoError(t, c.Seek(tp, 2))
			}
			even := []tlog.TopicPartition{}
			for _, tp := range all {
				if tp.Partition%2 == 0 {
					even = append(even, tp)
				}
			}
			require.NoError(t, c.Assign(even...))
			assert.Equal(t, even, c.Assignment())
			require.NoError(t, c.Assign(all...))
			for _, tp := range all {
				pos, err := c.Position(tp)
				require.NoError(t, err)
				want := int64(2) // kept
				if tp.Partition%2 == 1 {
					want = 0 // forgotten, then reset to the earliest
				}
				assert.Equal(t, want, pos, "partition %d", tp.Partition)
			}
		})
	}
}

func TestListOffsets_K16_FirstAtOrAfterInOffsetOrder(t *testing.T) {
	forEachMode(t, func(t *testing.T, dir string) {
		l := openLog(t, dir)
		require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{}))
		for _, ms := range []int64{1000, 3000, 2000, 5000, 4000} { // not monotonic
			_, err := l.ProduceTo(context.Background(), "t", 0, tlog.Record{Value: []byte("v"), Timestamp: time.UnixMilli(ms)})
			require.NoError(t, err)
		}
		for _, tc := range []struct{ ts, off, at int64 }{
			{0, 0, 1000}, {1000, 0, 1000}, {1500, 1, 3000}, {2500, 1, 3000}, {3500, 3, 5000}, {4500, 3, 5000}, {5000, 3, 5000},
		} {
			off, at, err := l.ListOffsets("t", 0, tc.ts)
			require.NoError(t, err)
			assert.Equal(t, tc.off, off, "ts %d", tc.ts)
			assert.Equal(t, tc.at, at.UnixMilli(), "ts %d", tc.ts)
		}
		off, _, err := l.ListOffsets("t", 0, 6000)
		require.NoError(t, err)
		assert.Equal(t, int64(-1), off, "no record that recent")
		c := l.NewConsumer(tlog.ConsumerOptions{MaxWait: time.Millisecond})
		tp := tlog.TopicPartition{Topic: "t", Partition: 0}
		require.NoError(t, c.Assign(tp))
		require.NoError(t, c.SeekToTime(time.UnixMilli(2500)))
		pos, _ := c.Position(tp)
		assert.Equal(t, int64(1), pos)
		// Reference: K16, franz-go#1431 (first offset with timestamp >= target, in offset order)
	})
}

func TestListOffsets_K17_SpecialTimestamps(t *testing.T) {
	l := openLog(t, "")
	require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{}))
	for _, ms := range []int64{1000, 9000, 2000} {
		_, err := l.ProduceTo(context.Background(), "t", 0, tlog.Record{Value: []byte("v"), Timestamp: time.UnixMilli(ms)})
		require.NoError(t, err)
	}
	off, _, _ := l.ListOffsets("t", 0, tlog.Latest)
	assert.Equal(t, int64(3), off)
	off, _, _ = l.ListOffsets("t", 0, tlog.Earliest)
	assert.Equal(t, int64(0), off)
	off, at, _ := l.ListOffsets("t", 0, tlog.MaxTimestamp)
	assert.Equal(t, int64(1), off)
	assert.Equal(t, int64(9000), at.UnixMilli())
	// Reference: K17, ListOffsetsRequest.java
}

func TestFetch_MaxWaitOnFakeClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := openLog(t, "")
		require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{}))
		start := time.Now()
		recs, err := l.Fetch(context.Background(), "t", 0, 0, tlog.FetchOptions{MaxWait: 500 * time.Millisecond})
		require.NoError(t, err)
		assert.Empty(t, recs)
		assert.Equal(t, 500*time.Millisecond, time.Since(start), "waits exactly fetch.max.wait")

		got := make(chan []tlog.Record)
		go func() {
			recs, _ := l.Fetch(context.Background(), "t", 0, 0, tlog.FetchOptions{MaxWait: time.Hour})
			got <- recs
		}()
		synctest.Wait()
		produce(t, l, "t", "", "arrived")
		assert.Equal(t, []string{"arrived"}, values(<-got), "a waiting fetch returns as soon as a record arrives")
	})
}

func TestFetch_K32_OutOfRange(t *testing.T) {
	l := openLog(t, "")
	require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{}))
	for range 3 {
		produce(t, l, "t", "", "v")
	}
	_, err := l.Fetch(context.Background(), "t", 0, 4, tlog.FetchOptions{})
	var oor *tlog.OffsetOutOfRangeError
	require.ErrorAs(t, err, &oor)
	assert.Equal(t, tlog.OffsetOutOfRangeError{Topic: "t", Partition: 0, Offset: 4, Start: 0, End: 3}, *oor)
	assert.ErrorIs(t, err, tlog.ErrOffsetOutOfRange)
	recs, err := l.Fetch(context.Background(), "t", 0, 3, tlog.FetchOptions{})
	require.NoError(t, err, "reading at the end is empty, not an error")
	assert.Empty(t, recs)
	require.NoError(t, l.DeleteRecords("t", 0, 2))
	_, err = l.Fetch(context.Background(), "t", 0, 1, tlog.FetchOptions{})
	assert.ErrorIs(t, err, tlog.ErrOffsetOutOfRange, "below the log start offset")
	assert.ErrorIs(t, l.DeleteRecords("t", 0, 1), tlog.ErrOffsetOutOfRange, "the log start only moves forward")
	produce(t, l, "t", "", "next")
	off, _, _ := l.ListOffsets("t", 0, tlog.Latest)
	assert.Equal(t, int64(4), off, "offsets are never reused")
	// Reference: K32, UnifiedLog.scala
}

func TestReopen_RecordsAndConfigComeBack(t *testing.T) {
	dir := t.TempDir()
	l, err := tlog.Open(dir, nil)
	require.NoError(t, err)
	require.NoError(t, l.CreateTopic("orders", tlog.TopicConfig{Partitions: 2, SegmentBytes: 300}))
	for i := range 20 {
		_, err := l.ProduceTo(context.Background(), "orders", 0, tlog.Record{Value: []byte(fmt.Sprintf("order-%02d", i))})
		require.NoError(t, err)
	}
	require.NoError(t, l.DeleteRecords("orders", 0, 5))
	require.NoError(t, l.Close())
	l = openLog(t, dir)
	info, err := l.DescribeTopic("orders")
	require.NoError(t, err)
	assert.Equal(t, 2, info.Config.Partitions)
	assert.Equal(t, int64(300), info.Config.SegmentBytes)
	assert.Greater(t, info.Partitions[0].Segments, 1, "small segments rolled")
	assert.Equal(t, int64(5), info.Partitions[0].StartOffset, "the log start offset is kept")
	assert.Equal(t, int64(20), info.Partitions[0].EndOffset)
	recs := fetchAll(t, l, "orders", 0, 5)
	assert.Len(t, recs, 15)
	assert.Equal(t, "order-05", string(recs[0].Value))
}

func TestTopic_InvalidConfigs(t *testing.T) {
	l := openLog(t, "")
	for _, cfg := range []tlog.TopicConfig{
		{Partitions: -1}, {SegmentBytes: 10}, {MaxMessageBytes: 128 << 20}, {CleanupPolicy: "bogus"}, {TimestampType: "Now"},
	} {
		assert.ErrorIs(t, l.CreateTopic("t", cfg), tlog.ErrInvalidConfig, "%+v", cfg)
	}
	require.NoError(t, l.CreateTopic("small", tlog.TopicConfig{MaxMessageBytes: 200}))
	_, err := l.ProduceTo(context.Background(), "small", 0, tlog.Record{Value: make([]byte, 300)})
	assert.ErrorIs(t, err, tlog.ErrRecordTooLarge)
}

func TestFetchAppend_AppendsAndReuses(t *testing.T) {
	forEachMode(t, func(t *testing.T, dir string) {
		l := openLog(t, dir)
		require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{}))
		for _, v := range []string{"a", "b", "c"} {
			produce(t, l, "t", "", v)
		}
		ctx := context.Background()
		prior := []tlog.Record{{Value: []byte("kept")}}
		got, err := l.FetchAppend(ctx, prior, "t", 0, 1, tlog.FetchOptions{})
		require.NoError(t, err)
		assert.Equal(t, []string{"kept", "b", "c"}, values(got), "appended after what dst held")
		again, err := l.FetchAppend(ctx, got[:0], "t", 0, 0, tlog.FetchOptions{MaxRecords: 2})
		require.NoError(t, err)
		assert.Equal(t, []string{"a", "b"}, values(again))
		assert.Same(t, &got[0], &again[0], "the slice was reused")
		none, err := l.FetchAppend(ctx, again[:1], "t", 0, 3, tlog.FetchOptions{})
		require.NoError(t, err)
		assert.Len(t, none, 1, "nothing new: dst comes back as it was")
		_, err = l.FetchAppend(ctx, nil, "nope", 0, 0, tlog.FetchOptions{})
		assert.ErrorIs(t, err, tlog.ErrUnknownTopic)
	})
}
