package interop

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestKadm_CreateGrowListAndDeleteTopics(t *testing.T) {
	eachKafka(t, func(t *testing.T, tg kafkaTarget) {
		ctx := kctx(t)
		adm := tg.admin(t)
		topic := topicName(t)
		created, err := adm.CreateTopics(ctx, 2, 1, map[string]*string{"retention.ms": kmsg.StringPtr("3600000")}, topic)
		require.NoError(t, err)
		require.NoError(t, created.Error())
		dup, err := adm.CreateTopics(ctx, 2, 1, nil, topic)
		require.NoError(t, err)
		assert.ErrorIs(t, dup.Error(), kerr.TopicAlreadyExists)

		grown, err := adm.UpdatePartitions(ctx, 5, topic)
		require.NoError(t, err)
		require.NoError(t, grown.Error())
		shrunk, err := adm.UpdatePartitions(ctx, 3, topic)
		require.NoError(t, err)
		assert.ErrorIs(t, shrunk.Error(), kerr.InvalidPartitions, "partitions only increase")

		topics, err := adm.ListTopics(ctx, topic)
		require.NoError(t, err)
		require.True(t, topics.Has(topic))
		assert.Len(t, topics[topic].Partitions, 5)

		deleted, err := adm.DeleteTopics(ctx, topic)
		require.NoError(t, err)
		require.NoError(t, deleted.Error())
		topics, err = adm.ListTopics(ctx)
		require.NoError(t, err)
		assert.False(t, topics.Has(topic))
	})
}

// configOf returns a topic config's value and source as DescribeTopicConfigs reports them.
func configOf(t *testing.T, adm *kadm.Client, topic, name string) (string, kmsg.ConfigSource) {
	t.Helper()
	rcs, err := adm.DescribeTopicConfigs(kctx(t), topic)
	require.NoError(t, err)
	rc, err := rcs.On(topic, nil)
	require.NoError(t, err)
	require.NoError(t, rc.Err)
	for _, c := range rc.Configs {
		if c.Key == name {
			require.NotNil(t, c.Value, name)
			return *c.Value, c.Source
		}
	}
	t.Fatalf("topic %s: config %s not described", topic, name)
	return "", 0
}

func TestKadm_DescribeAndAlterTopicConfigs(t *testing.T) {
	eachKafka(t, func(t *testing.T, tg kafkaTarget) {
		ctx := kctx(t)
		adm := tg.admin(t)
		topic := topicName(t)
		tg.createTopics(t, ctx, 1, topic)

		v, src := configOf(t, adm, topic, "retention.ms")
		assert.Equal(t, "604800000", v, "Kafka's default: 7 days")
		assert.Equal(t, kmsg.ConfigSourceDefaultConfig, src)

		set := []kadm.AlterConfig{
			{Op: kadm.SetConfig, Name: "retention.ms", Value: kmsg.StringPtr("60000")},
			{Op: kadm.SetConfig, Name: "cleanup.policy", Value: kmsg.StringPtr("compact")},
		}
		validated, err := adm.ValidateAlterTopicConfigs(ctx, set, topic)
		require.NoError(t, err)
		_, err = validated.On(topic, func(r *kadm.AlterConfigsResponse) error { return r.Err })
		require.NoError(t, err)
		v, _ = configOf(t, adm, topic, "retention.ms")
		assert.Equal(t, "604800000", v, "validate only: nothing changed")

		altered, err := adm.AlterTopicConfigs(ctx, set, topic)
		require.NoError(t, err)
		_, err = altered.On(topic, func(r *kadm.AlterConfigsResponse) error { return r.Err })
		require.NoError(t, err)
		v, src = configOf(t, adm, topic, "retention.ms")
		assert.Equal(t, "60000", v)
		assert.Equal(t, kmsg.ConfigSourceDynamicTopicConfig, src)
		v, _ = configOf(t, adm, topic, "cleanup.policy")
		assert.Equal(t, "compact", v)

		reset, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.DeleteConfig, Name: "retention.ms"}}, topic)
		require.NoError(t, err)
		_, err = reset.On(topic, func(r *kadm.AlterConfigsResponse) error { return r.Err })
		require.NoError(t, err)
		v, src = configOf(t, adm, topic, "retention.ms")
		assert.Equal(t, "604800000", v, "deleted: back to the default")
		assert.Equal(t, kmsg.ConfigSourceDefaultConfig, src)
		v, _ = configOf(t, adm, topic, "cleanup.policy")
		assert.Equal(t, "compact", v, "an incremental change leaves the others")

		bad, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.ms", Value: kmsg.StringPtr("soon")}}, topic)
		require.NoError(t, err)
		_, err = bad.On(topic, func(r *kadm.AlterConfigsResponse) error { return r.Err })
		if tg.isKfake() {
			// kfake stores any string; Kafka parses retention.ms as a long and refuses.
			assert.NoError(t, err)
			return
		}
		assert.ErrorIs(t, err, kerr.InvalidConfig)
	})
}

func TestKadm_OffsetsLagDeleteRecordsAndGroups(t *testing.T) {
	eachKafka(t, func(t *testing.T, tg kafkaTarget) {
		ctx := kctx(t)
		adm := tg.admin(t)
		topic := topicName(t)
		group := topic + ".g"
		tg.createTopics(t, ctx, 2, topic)
		prod := tg.client(t, kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
		for i := range 10 {
			r := &kgo.Record{Partition: int32(i % 2), Value: []byte(fmt.Sprintf("v%d", i))}
			require.NoError(t, prod.ProduceSync(ctx, r).FirstErr())
		}

		ends, err := adm.ListEndOffsets(ctx, topic)
		require.NoError(t, err)
		for p := range int32(2) {
			o, ok := ends.Lookup(topic, p)
			require.True(t, ok)
			require.NoError(t, o.Err)
			assert.Equal(t, int64(5), o.Offset, "partition %d", p)
		}

		var commit kadm.Offsets
		commit.AddOffset(topic, 0, 3, -1)
		commit.AddOffset(topic, 1, 5, -1)
		committed, err := adm.CommitOffsets(ctx, group, commit)
		require.NoError(t, err)
		require.NoError(t, committed.Error())
		fetched, err := adm.FetchOffsets(ctx, group)
		require.NoError(t, err)
		require.NoError(t, fetched.Error())
		o, ok := fetched.Lookup(topic, 0)
		require.True(t, ok)
		assert.Equal(t, int64(3), o.At)

		lags, err := adm.Lag(ctx, group)
		require.NoError(t, err)
		gl := lags[group]
		require.NoError(t, gl.Error())
		assert.Equal(t, "Empty", gl.State)
		l0, ok := gl.Lag.Lookup(topic, 0)
		require.True(t, ok)
		assert.Equal(t, int64(2), l0.Lag)
		assert.Equal(t, int64(2), gl.Lag.Total(), "partition 1 is caught up")

		var before kadm.Offsets
		before.AddOffset(topic, 0, 4, -1)
		dr, err := adm.DeleteRecords(ctx, before)
		require.NoError(t, err)
		require.NoError(t, dr[topic][0].Err)
		assert.Equal(t, int64(4), dr[topic][0].LowWatermark)
		starts, err := adm.ListStartOffsets(ctx, topic)
		require.NoError(t, err)
		s0, _ := starts.Lookup(topic, 0)
		assert.Equal(t, int64(4), s0.Offset, "the log start offset moved")

		do, err := adm.DeleteOffsets(ctx, group, kadm.TopicsSet{topic: {1: {}}})
		require.NoError(t, err)
		require.NoError(t, do.Error())
		fetched, err = adm.FetchOffsets(ctx, group)
		require.NoError(t, err)
		_, ok = fetched.Lookup(topic, 1)
		assert.False(t, ok, "the deleted offset is gone")

		groups, err := adm.ListGroups(ctx)
		require.NoError(t, err)
		assert.Contains(t, groups.Groups(), group)
		dg, err := adm.DeleteGroups(ctx, group)
		require.NoError(t, err)
		require.NoError(t, dg.Error())
		fetched, err = adm.FetchOffsets(ctx, group)
		if tg.isKfake() {
			// kfake answers GROUP_ID_NOT_FOUND; Kafka answers an unknown group's OffsetFetch
			// with no offsets and no error, as a group that never committed.
			assert.ErrorIs(t, err, kerr.GroupIDNotFound)
			return
		}
		require.NoError(t, err)
		assert.Empty(t, fetched.Offsets(), "a deleted group has no offsets")
	})
}
