package log_test

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	tlog "github.com/tribusmq/tribus/log"
)

// logState is what a refused call must leave alone: the topics with their configuration and
// partitions, the groups, and group g's committed offsets and lag.
func logState(t *testing.T, l *tlog.Log) string {
	t.Helper()
	var s string
	for _, name := range l.Topics() {
		info, err := l.DescribeTopic(name)
		require.NoError(t, err)
		s += fmt.Sprintf("%+v\n", info)
	}
	groups, err := l.ListGroups()
	require.NoError(t, err)
	lag, err := l.GroupLag("g")
	require.NoError(t, err)
	return s + fmt.Sprintf("%v %+v", groups, lag)
}

// TestLog_BadInputRefused: each bad input gets its sentinel and changes nothing (issue 11).
// Kafka's clients refuse negative consumer settings with a ConfigException (ConsumerConfig:
// max.poll.records atLeast(1); fetch.max.wait.ms, max.partition.fetch.bytes,
// auto.commit.interval.ms atLeast(0)); its admin API answers INVALID_PARTITIONS (37) to a
// partition count that does not grow and GROUP_ID_NOT_FOUND to deleting an unknown group.
func TestLog_BadInputRefused(t *testing.T) {
	ctx := context.Background()
	tp := tlog.TopicPartition{Topic: "t", Partition: 0}
	fetch := func(o tlog.FetchOptions) func(*tlog.Log) error {
		return func(l *tlog.Log) error { _, err := l.Fetch(ctx, "t", 0, 0, o); return err }
	}
	poll := func(o tlog.ConsumerOptions) func(*tlog.Log) error {
		return func(l *tlog.Log) error {
			c := l.NewConsumer(o)
			require.NoError(t, c.Assign(tp))
			_, err := c.Poll(ctx)
			return err
		}
	}
	member := func(o tlog.GroupConsumerOptions) func(*tlog.Log) error {
		return func(l *tlog.Log) error {
			o.GroupID, o.Topics = "fresh", []string{"t"}
			_, err := l.NewGroupConsumer(o)
			return err
		}
	}
	topic := func(cfg tlog.TopicConfig) func(*tlog.Log) error {
		return func(l *tlog.Log) error { return l.CreateTopic("u", cfg) }
	}
	rows := []struct {
		name string
		call func(*tlog.Log) error
		want error
	}{
		{"fetch negative MaxBytes", fetch(tlog.FetchOptions{MaxBytes: -1}), tlog.ErrInvalidConfig},
		{"fetch negative MaxRecords", fetch(tlog.FetchOptions{MaxRecords: -1}), tlog.ErrInvalidConfig},
		{"fetch negative MaxWait", fetch(tlog.FetchOptions{MaxWait: -time.Second}), tlog.ErrInvalidConfig},
		{"consumer negative MaxPollRecords", poll(tlog.ConsumerOptions{MaxPollRecords: -1}), tlog.ErrInvalidConfig},
		{"consumer negative MaxWait", poll(tlog.ConsumerOptions{MaxWait: -time.Second}), tlog.ErrInvalidConfig},
		{"group consumer negative MaxPollRecords", member(tlog.GroupConsumerOptions{MaxPollRecords: -1}), tlog.ErrInvalidConfig},
		{"group consumer negative MaxWait", member(tlog.GroupConsumerOptions{MaxWait: -time.Second}), tlog.ErrInvalidConfig},
		{"group consumer negative MaxPollInterval", member(tlog.GroupConsumerOptions{MaxPollInterval: -time.Second}), tlog.ErrInvalidConfig},
		{"group consumer negative AutoCommitInterval", member(tlog.GroupConsumerOptions{AutoCommitInterval: -time.Second}), tlog.ErrInvalidConfig},
		{"CreatePartitions to the same count", func(l *tlog.Log) error { return l.CreatePartitions("t", 2) }, tlog.ErrInvalidPartitions},
		{"CreatePartitions to fewer", func(l *tlog.Log) error { return l.CreatePartitions("t", 1) }, tlog.ErrInvalidPartitions},
		{"DeleteGroup of an unknown group", func(l *tlog.Log) error { return l.DeleteGroup("nope") }, tlog.ErrUnknownGroup},
		{"ResetGroupOffsets to a negative offset", func(l *tlog.Log) error { return l.ResetGroupOffsets("g", -7, time.Time{}, tp) }, tlog.ErrInvalidCommitOffset},
		{"min.cleanable.dirty.ratio above 1", topic(tlog.TopicConfig{CleanupPolicy: tlog.CleanupCompact, MinCleanableDirtyRatio: 1.5}), tlog.ErrInvalidConfig},
		{"negative segment.ms", topic(tlog.TopicConfig{SegmentAge: -time.Millisecond}), tlog.ErrInvalidConfig},
		{"segment.bytes below 14", topic(tlog.TopicConfig{SegmentBytes: 13}), tlog.ErrInvalidConfig},
		{"segment.ms below Kafka's 1 ms", topic(tlog.TopicConfig{SegmentAge: time.Microsecond}), tlog.ErrInvalidConfig},
		{"retention.ms below -1", topic(tlog.TopicConfig{RetentionTime: -2 * time.Millisecond}), tlog.ErrInvalidConfig},
		{"retention.ms -1 hour", topic(tlog.TopicConfig{RetentionTime: -time.Hour}), tlog.ErrInvalidConfig},
		{"timestamp before the epoch", func(l *tlog.Log) error {
			_, err := l.ProduceTo(ctx, "t", 0, tlog.Record{Timestamp: time.UnixMilli(-1), Value: []byte("v")})
			return err
		}, tlog.ErrInvalidTimestamp},
		{"timestamp past int64 milliseconds", func(l *tlog.Log) error {
			_, err := l.ProduceTo(ctx, "t", 0, tlog.Record{Timestamp: time.UnixMilli(math.MaxInt64).Add(time.Millisecond), Value: []byte("v")})
			return err
		}, tlog.ErrInvalidTimestamp},
		{"producer batch with one bad timestamp", func(l *tlog.Log) error {
			_, err := l.AppendIdempotent("t", 0, 1, 0, 0, []tlog.Record{{Value: []byte("ok")}, {Timestamp: time.Unix(-86400, 0), Value: []byte("v")}})
			return err
		}, tlog.ErrInvalidTimestamp},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			l := openLog(t, "")
			require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{Partitions: 2}))
			for i := range 3 {
				produce(t, l, "t", "", fmt.Sprint(i))
			}
			require.NoError(t, l.ResetGroupOffsets("g", 1, time.Time{}, tp))
			before := logState(t, l)

			err := row.call(l)
			require.ErrorIs(t, err, row.want)
			assert.Equal(t, before, logState(t, l), "a refused call changes nothing")
		})
	}
}

// TestLog_PartitionCountNotIncreasingIsNotInvalidConfig: Kafka tells INVALID_PARTITIONS (37)
// from INVALID_CONFIG (40), so tribus does too.
func TestLog_PartitionCountNotIncreasingIsNotInvalidConfig(t *testing.T) {
	l := openLog(t, "")
	require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{Partitions: 2}))
	assert.NotErrorIs(t, l.CreatePartitions("t", 2), tlog.ErrInvalidConfig)
}

// TestLog_ResetGroupOffsetsAcceptedAsKafkaDoes: kafka-consumer-groups --reset-offsets works on
// a group that does not exist yet (it creates its offsets), and clamps an offset past the log
// end to the end with a warning (ConsumerGroupCommand's checkOffsetRange: "New offset (…) is
// higher than latest offset … Value will be set to …"; cited from the Kafka source as known,
// not fetched). tribus accepts both the same way.
func TestLog_ResetGroupOffsetsAcceptedAsKafkaDoes(t *testing.T) {
	l := openLog(t, "")
	require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{}))
	for i := range 3 {
		produce(t, l, "t", "", fmt.Sprint(i))
	}
	tp := tlog.TopicPartition{Topic: "t", Partition: 0}
	require.NoError(t, l.ResetGroupOffsets("new", 1000, time.Time{}, tp))
	lag, err := l.GroupLag("new")
	require.NoError(t, err)
	assert.Equal(t, int64(3), lag[tp].Committed, "clamped to the log end")
}

// TestLog_AcceptsKafkasEdgeValues: retention.ms -1 is Kafka's "unlimited" (atLeast(-1) in its
// LogConfig), segment.ms 1 ms its minimum, and timestamps 0 and MaxInt64 ms lie in the range
// its record batches carry.
func TestLog_AcceptsKafkasEdgeValues(t *testing.T) {
	l := openLog(t, "")
	for i, cfg := range []tlog.TopicConfig{{RetentionTime: -1}, {RetentionTime: -time.Millisecond}, {SegmentAge: time.Millisecond}} {
		require.NoError(t, l.CreateTopic(fmt.Sprint("t", i), cfg), "%+v", cfg)
	}
	info, err := l.DescribeTopic("t1")
	require.NoError(t, err)
	assert.Equal(t, time.Duration(-1), info.Config.RetentionTime, "-1 ms is stored as -1, unlimited")
	for _, ts := range []time.Time{time.UnixMilli(0), time.UnixMilli(math.MaxInt64)} {
		res, err := l.ProduceTo(context.Background(), "t0", 0, tlog.Record{Timestamp: ts, Value: []byte("v")})
		require.NoError(t, err, ts)
		recs, err := l.Fetch(context.Background(), "t0", 0, res.Offset, tlog.FetchOptions{MaxRecords: 1})
		require.NoError(t, err)
		require.Len(t, recs, 1)
		assert.Equal(t, ts.UnixMilli(), recs[0].Timestamp.UnixMilli())
	}
}
