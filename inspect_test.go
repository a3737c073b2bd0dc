package tribus_test

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus"
	"github.com/tribusmq/tribus/exchange"
	tlog "github.com/tribusmq/tribus/log"
)

// A snapshot shows each engine's objects as the engines report them: a queue's depth and its
// dead-letter exchange, the bindings, a topic's offsets, a group's members, committed offsets
// and lag per partition, and the pub/sub channels with their subscribers.
func TestInspect_ShowsEveryEnginesState(t *testing.T) {
	b := openTraced(t, 0)
	r := b.Router()
	require.NoError(t, r.ExchangeDeclare("orders", exchange.Topic, exchange.ExchangeOptions{Durable: true}))
	_, err := r.QueueDeclare("work", exchange.QueueOptions{Durable: true, Args: exchange.Table{"x-dead-letter-exchange": "dlx"}})
	require.NoError(t, err)
	require.NoError(t, r.QueueBind("work", "orders", "order.*", nil))
	for range 3 {
		require.NoError(t, r.Publish(t.Context(), "orders", "order.created", false, exchange.Publishing{Body: []byte("o")}))
	}
	l := b.Log()
	require.NoError(t, l.CreateTopic("events", tlog.TopicConfig{Partitions: 2}))
	for range 5 {
		_, err := l.ProduceTo(t.Context(), "events", 1, tlog.Record{Value: []byte("e")})
		require.NoError(t, err)
	}
	c, err := l.NewGroupConsumer(tlog.GroupConsumerOptions{GroupID: "billing", Topics: []string{"events"}, Reset: tlog.ResetEarliest, MaxPollRecords: 2})
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Poll(t.Context())
	require.NoError(t, err)
	require.NoError(t, c.Commit(t.Context()))
	sub, err := b.Hub().Subscribe("news")
	require.NoError(t, err)
	defer sub.Close()
	_, err = sub.PSubscribe("news:*")
	require.NoError(t, err)

	s, err := b.Inspect()
	require.NoError(t, err)
	var work tribus.QueueView
	for _, q := range s.Queues {
		if q.Name == "work" {
			work = q
		}
	}
	assert.Equal(t, 3, work.Ready)
	assert.Equal(t, "dlx", work.DeadLetterExchange)
	assert.True(t, work.Durable)
	assert.Contains(t, s.Bindings, tribus.BindingView{Source: "orders", Destination: "work", DestinationType: "queue", RoutingKey: "order.*"})
	assert.Contains(t, s.Exchanges, tribus.ExchangeView{Name: "orders", Type: "topic", Durable: true, Bindings: 1, Published: 3, Routed: 3})

	require.Len(t, s.Topics, 1)
	events := s.Topics[0]
	assert.Equal(t, "events", events.Name)
	assert.Equal(t, int64(5), events.Records)
	assert.Equal(t, tribus.PartitionView{Partition: 1, EndOffset: 5, LastStableOffset: 5, Segments: 1, Size: events.Partitions[1].Size}, events.Partitions[1])
	assert.Positive(t, events.Size)

	require.Len(t, s.Groups, 1)
	g := s.Groups[0]
	assert.Equal(t, "billing", g.ID)
	assert.Equal(t, "Stable", g.State)
	require.Len(t, g.Members, 1)
	assert.Equal(t, []string{"events-0", "events-1"}, g.Members[0].Assignment)
	assert.Equal(t, []tribus.GroupOffsetView{
		{Topic: "events", Partition: 0, Committed: 0, End: 0, Lag: 0, Owner: c.MemberID()},
		{Topic: "events", Partition: 1, Committed: 2, End: 5, Lag: 3, Owner: c.MemberID()},
	}, g.Offsets)
	assert.Equal(t, int64(3), g.Lag)

	assert.Equal(t, []tribus.ChannelView{{Name: "news", Subscribers: 1}}, s.PubSub.Channels)
	assert.Equal(t, []tribus.ChannelView{{Name: "news:*", Subscribers: 1}}, s.PubSub.Patterns)

	require.NoError(t, b.Close())
	_, err = b.Inspect()
	assert.ErrorIs(t, err, tribus.ErrClosed)
}

// dirState is every file under dir with its size, mode and modification time, and a hash of
// its bytes: what a read-only inspection must leave as it found it.
func dirState(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		fi, err := d.Info()
		require.NoError(t, err)
		sum := ""
		if d.Type().IsRegular() {
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			sum = fmt.Sprintf("%x", sha256.Sum256(data))
		}
		out[path] = fmt.Sprint(fi.Size(), fi.Mode(), fi.ModTime().UnixNano(), sum)
		return nil
	}))
	return out
}

// InspectDir reads a directory no process holds without writing to it; a held directory is
// ErrLocked and a directory that is not a broker's ErrInvalidDir, both changing nothing.
func TestInspectDir_ReadsWithoutChangingTheDirectory(t *testing.T) {
	dir := t.TempDir()
	b, err := tribus.Open(dir, nil)
	require.NoError(t, err)
	_, err = b.Router().QueueDeclare("jobs", exchange.QueueOptions{Durable: true})
	require.NoError(t, err)
	for range 2 {
		require.NoError(t, b.Router().Publish(t.Context(), "", "jobs", false, exchange.Publishing{DeliveryMode: 2, Body: []byte("j")}))
	}
	require.NoError(t, b.Log().CreateTopic("events", tlog.TopicConfig{Partitions: 1}))
	_, err = b.Log().Produce(t.Context(), "events", tlog.Record{Value: []byte("e")})
	require.NoError(t, err)
	code, err := b.Log().Requests().CommitOffsets(tlog.GroupMetadata{GroupID: "readers", Generation: -1},
		map[tlog.TopicPartition]tlog.OffsetAndMetadata{{Topic: "events"}: {Offset: 0}})
	require.NoError(t, err)
	require.Zero(t, code)

	_, err = tribus.InspectDir(dir)
	assert.ErrorIs(t, err, tribus.ErrLocked, "an open broker holds it")
	require.NoError(t, b.Close())
	before := dirState(t, dir)

	s, err := tribus.InspectDir(dir)
	require.NoError(t, err)
	assert.Equal(t, before, dirState(t, dir), "inspecting wrote nothing")
	var jobs tribus.QueueView
	for _, q := range s.Queues {
		if q.Name == "jobs" {
			jobs = q
		}
	}
	assert.Equal(t, 2, jobs.Ready)
	require.Len(t, s.Topics, 1)
	assert.Equal(t, int64(1), s.Topics[0].Partitions[0].EndOffset)
	require.Len(t, s.Groups, 1)
	assert.Equal(t, []tribus.GroupOffsetView{{Topic: "events", Committed: 0, End: 1, Lag: 1}}, s.Groups[0].Offsets)

	other := t.TempDir()
	_, err = tribus.InspectDir(other)
	assert.ErrorIs(t, err, tribus.ErrInvalidDir)
	entries, err := os.ReadDir(other)
	require.NoError(t, err)
	assert.Empty(t, entries, "nothing created in a directory that is not a broker's")
	_, err = tribus.InspectDir(filepath.Join(other, "missing"))
	assert.ErrorIs(t, err, tribus.ErrInvalidDir)
}
