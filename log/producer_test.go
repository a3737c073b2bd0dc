package log_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	tlog "github.com/tribusmq/tribus/log"
)

func TestProducer_BatchesAndReportsOffsetsInOrder(t *testing.T) {
	forEachMode(t, func(t *testing.T, dir string) {
		l := openLog(t, dir)
		require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{Partitions: 2}))
		pr, err := l.NewProducer(tlog.ProducerOptions{})
		require.NoError(t, err)
		var mu sync.Mutex
		got := map[int32][]int64{}
		for i := range 1000 {
			err := pr.ProduceToAsync(context.Background(), "t", int32(i%2), tlog.Record{Value: []byte(fmt.Sprint(i))},
				func(r tlog.ProduceResult, err error) {
					assert.NoError(t, err)
					mu.Lock()
					got[r.Partition] = append(got[r.Partition], r.Offset)
					mu.Unlock()
				})
			require.NoError(t, err)
		}
		require.NoError(t, pr.Close())
		for p := range int32(2) {
			require.Len(t, got[p], 500)
			for i, off := range got[p] {
				assert.Equal(t, int64(i), off, "callbacks run in produce order per partition")
			}
			recs := fetchAll(t, l, "t", p, 0)
			require.Len(t, recs, 500)
			assert.Equal(t, fmt.Sprint(998+int(p)), string(recs[499].Value))
		}
		_, err = pr.Produce(context.Background(), "t", tlog.Record{})
		assert.ErrorIs(t, err, tlog.ErrClosed)
	})
}

func TestProducer_K39_RetriedBatchWrittenOnce(t *testing.T) {
	l := openLog(t, "")
	require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{}))
	batch := []tlog.Record{{Value: []byte("a")}, {Value: []byte("b")}}
	first, err := l.AppendIdempotent("t", 0, 42, 0, 0, batch)
	require.NoError(t, err)
	second, err := l.AppendIdempotent("t", 0, 42, 0, 2, []tlog.Record{{Value: []byte("c")}})
	require.NoError(t, err)
	retry, err := l.AppendIdempotent("t", 0, 42, 0, 0, batch) // the first batch again, as after a lost ack
	require.NoError(t, err)
	assert.Equal(t, first, retry, "a duplicate returns the original offset")
	assert.Equal(t, int64(2), second)
	assert.Equal(t, []string{"a", "b", "c"}, values(fetchAll(t, l, "t", 0, 0)), "and is written once")
	// Reference: K39, KIP-98
}

func TestProducer_K40_SequenceGapIsOutOfOrder(t *testing.T) {
	l := openLog(t, "")
	require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{}))
	_, err := l.AppendIdempotent("t", 0, 7, 0, 0, []tlog.Record{{Value: []byte("a")}})
	require.NoError(t, err)
	_, err = l.AppendIdempotent("t", 0, 7, 0, 2, []tlog.Record{{Value: []byte("gap")}})
	assert.ErrorIs(t, err, tlog.ErrOutOfOrderSequence)
	_, err = l.AppendIdempotent("t", 0, 8, 0, 5, []tlog.Record{{Value: []byte("new producer")}})
	assert.ErrorIs(t, err, tlog.ErrOutOfOrderSequence, "a producer starts at sequence 0")
	_, err = l.AppendIdempotent("t", 0, 7, 1, 0, []tlog.Record{{Value: []byte("new epoch")}})
	assert.NoError(t, err, "a new epoch starts over at 0")
	_, err = l.AppendIdempotent("t", 0, 7, 0, 1, []tlog.Record{{Value: []byte("old epoch")}})
	assert.ErrorIs(t, err, tlog.ErrProducerFenced, "an older epoch is fenced: INVALID_PRODUCER_EPOCH, as in Kafka since 2.7")
	_, err = l.NewProducer(tlog.ProducerOptions{MaxInFlight: 6})
	assert.ErrorIs(t, err, tlog.ErrInvalidConfig, "idempotence allows at most 5 in flight")
	// Reference: K40, KIP-98
}

// A batch's completion sends what accumulated meanwhile; it must let the batches after it
// finish first, or the partition's in-flight slots deadlock (seen with 8 partitions producing
// flat out).
func TestProducer_CompletionSendsWithoutDeadlock(t *testing.T) {
	l, err := tlog.Open(t.TempDir(), &tlog.Options{NoSync: true})
	require.NoError(t, err)
	defer l.Close()
	require.NoError(t, l.CreateTopic("events", tlog.TopicConfig{Partitions: 8}))
	pr, err := l.NewProducer(tlog.ProducerOptions{BatchBytes: 4 << 10})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		rec := tlog.Record{Value: make([]byte, 128)}
		for range 20 {
			for p := range 8 {
				for range 2000 {
					if err := pr.ProduceToAsync(context.Background(), "events", int32(p), rec, nil); err != nil {
						done <- err
						return
					}
				}
			}
		}
		done <- pr.Close()
	}()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(2 * time.Minute): // a watchdog for the deadlock, not a wait for a result
		t.Fatal("producer deadlocked")
	}
	end, _, err := l.ListOffsets("events", 3, tlog.Latest)
	require.NoError(t, err)
	assert.Equal(t, int64(40_000), end)
}
