package log

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/tribusmq/tribus/log/internal/group"
)

// The consumer protocol's topic lists group partitions by topic, both sorted, whatever the
// order given, and convert back to the same partitions.
func TestFromTopicPartitions_GroupsByTopicSorted(t *testing.T) {
	in := []TopicPartition{{"b", 1}, {"a", 2}, {"b", 0}, {"a", 0}, {"c", 5}}
	out := fromTopicPartitions(in)
	assert.Equal(t, []group.TopicPartitions{
		{Topic: "a", Partitions: []int32{0, 2}},
		{Topic: "b", Partitions: []int32{0, 1}},
		{Topic: "c", Partitions: []int32{5}},
	}, out)
	assert.Equal(t, []TopicPartition{{"a", 0}, {"a", 2}, {"b", 0}, {"b", 1}, {"c", 5}}, toTopicPartitions(out))
	assert.Equal(t, []TopicPartition{{"b", 1}, {"a", 2}, {"b", 0}, {"a", 0}, {"c", 5}}, in, "the input is left as it was")
	assert.Nil(t, fromTopicPartitions(nil))
	out[0].Partitions = append(out[0].Partitions, 9)
	assert.Equal(t, []int32{0, 1}, out[1].Partitions, "each topic's partitions are its own")
}
