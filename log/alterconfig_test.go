package log_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	tlog "github.com/tribusmq/tribus/log"
)

// A changed max.message.bytes applies to the next append, and the change survives a reopen
// (Kafka's dynamic topic configs are stored and take effect without a restart).
func TestAlterTopicConfig_AppliesToTheNextAppendAndSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	l, err := tlog.Open(dir, nil)
	require.NoError(t, err)
	require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{Partitions: 2}))
	big := tlog.Record{Value: make([]byte, 500)}
	_, err = l.ProduceTo(context.Background(), "t", 1, big)
	require.NoError(t, err)

	require.NoError(t, l.AlterTopicConfig("t", func(c *tlog.TopicConfig) error {
		c.MaxMessageBytes = 200
		c.RetentionBytes = 4096
		return nil
	}))
	_, err = l.ProduceTo(context.Background(), "t", 1, big)
	assert.ErrorIs(t, err, tlog.ErrRecordTooLarge, "the lower limit applies at once, to every partition")
	_, err = l.ProduceTo(context.Background(), "t", 0, big)
	assert.ErrorIs(t, err, tlog.ErrRecordTooLarge)
	require.NoError(t, l.Close())

	l = openLog(t, dir)
	info, err := l.DescribeTopic("t")
	require.NoError(t, err)
	assert.Equal(t, 200, info.Config.MaxMessageBytes)
	assert.Equal(t, int64(4096), info.Config.RetentionBytes)
	assert.Equal(t, 2, info.Config.Partitions)
	_, err = l.ProduceTo(context.Background(), "t", 0, big)
	assert.ErrorIs(t, err, tlog.ErrRecordTooLarge)
}

// A zeroed field takes its default again, as in CreateTopic: that is how a config is
// deleted (Kafka's IncrementalAlterConfigs DELETE).
func TestAlterTopicConfig_ZeroFieldResetsToDefault(t *testing.T) {
	l := openLog(t, "")
	require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{SegmentBytes: 4096, CleanupPolicy: tlog.CleanupCompact}))
	require.NoError(t, l.AlterTopicConfig("t", func(c *tlog.TopicConfig) error {
		c.SegmentBytes, c.CleanupPolicy = 0, ""
		return nil
	}))
	info, err := l.DescribeTopic("t")
	require.NoError(t, err)
	assert.Equal(t, int64(tlog.DefaultSegmentBytes), info.Config.SegmentBytes)
	assert.Equal(t, tlog.CleanupDelete, info.Config.CleanupPolicy)
}

// A rejected change leaves the configuration as it was.
func TestAlterTopicConfig_RejectedChangeChangesNothing(t *testing.T) {
	l := openLog(t, "")
	require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{Partitions: 3, MaxMessageBytes: 1000}))
	before, err := l.DescribeTopic("t")
	require.NoError(t, err)
	errVeto := errors.New("veto")
	for _, tc := range []struct {
		name  string
		alter func(*tlog.TopicConfig) error
		want  error
	}{
		{"out of range", func(c *tlog.TopicConfig) error { c.SegmentBytes, c.MaxMessageBytes = 10, 5; return nil }, tlog.ErrInvalidConfig},
		{"unknown policy", func(c *tlog.TopicConfig) error { c.CleanupPolicy = "bogus"; return nil }, tlog.ErrInvalidConfig},
		{"partition count", func(c *tlog.TopicConfig) error { c.Partitions = 5; return nil }, tlog.ErrInvalidConfig},
		{"alter's own error", func(c *tlog.TopicConfig) error { c.MaxMessageBytes = 7; return errVeto }, errVeto},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.ErrorIs(t, l.AlterTopicConfig("t", tc.alter), tc.want)
			after, err := l.DescribeTopic("t")
			require.NoError(t, err)
			assert.Equal(t, before.Config, after.Config)
		})
	}
	assert.ErrorIs(t, l.AlterTopicConfig("nope", func(*tlog.TopicConfig) error { return nil }), tlog.ErrUnknownTopic)
}

// Config changes and partition growth race with appends on the same topic without a data
// race (run with -race), and neither undoes the other.
func TestAlterTopicConfig_ConcurrentWithAppendsAndCreatePartitions(t *testing.T) {
	l := openLog(t, "")
	require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{Partitions: 2}))
	var wg sync.WaitGroup
	wg.Go(func() {
		for range 200 {
			_, err := l.ProduceTo(context.Background(), "t", 0, tlog.Record{Value: []byte("v")})
			assert.NoError(t, err)
		}
	})
	wg.Go(func() {
		for i := range 50 {
			assert.NoError(t, l.AlterTopicConfig("t", func(c *tlog.TopicConfig) error {
				c.MaxMessageBytes = 1000 + i
				return nil
			}))
		}
	})
	wg.Go(func() {
		for n := 3; n <= 10; n++ {
			assert.NoError(t, l.CreatePartitions("t", n))
		}
	})
	wg.Wait()
	info, err := l.DescribeTopic("t")
	require.NoError(t, err)
	assert.Equal(t, 10, info.Config.Partitions)
	assert.Equal(t, 1049, info.Config.MaxMessageBytes)
	assert.Len(t, info.Partitions, 10)
	assert.Equal(t, int64(200), info.Partitions[0].EndOffset)
}
