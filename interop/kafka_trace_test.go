package interop

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	tlog "github.com/tribusmq/tribus/log"
)

// What the coordinator hands a Kafka client's members in SyncGroup is in the log's events,
// one synced event a member with its partitions, as it is for a native GroupConsumer: a
// trace shows a remote group's assignments too.
func TestKgo_GroupAssignmentsAreEvents(t *testing.T) {
	var mu sync.Mutex
	var synced []tlog.Event
	observe := func(e tlog.Event) {
		if e.Kind == tlog.EventSynced {
			mu.Lock()
			synced = append(synced, e)
			mu.Unlock()
		}
	}
	_, tg := startKafkaTribusWith(t, "", &tlog.Options{Observer: observe}, nil)
	ctx := kctx(t)
	topic := topicName(t)
	tg.createTopics(t, ctx, 3, topic)
	owned := make(chan map[string][]int32, 4)
	out := make(chan *kgo.Record, 16)
	m := groupMember(t, tg, "traced", topic, out, kgo.Balancers(kgo.RangeBalancer()),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { owned <- m }))
	select {
	case got := <-owned:
		require.Len(t, got[topic], 3)
	case <-time.After(20 * time.Second):
		t.Fatal("the member was never assigned its partitions")
	}
	member, _ := m.GroupMetadata()
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, synced)
	last := synced[len(synced)-1]
	assert.Equal(t, "traced", last.Group)
	assert.Equal(t, member, last.Member)
	assert.Equal(t, 3, last.Count)
	parts := make([]int32, 0, 3)
	for _, tp := range last.Partitions {
		assert.Equal(t, topic, tp.Topic)
		parts = append(parts, tp.Partition)
	}
	slices.Sort(parts)
	assert.Equal(t, []int32{0, 1, 2}, parts)
}
