package log_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	tlog "github.com/tribusmq/tribus/log"
)

var codecs = []tlog.Compression{tlog.CompressionGzip, tlog.CompressionSnappy, tlog.CompressionLZ4, tlog.CompressionZstd}

// produceBatch writes recs to partition 0 of topic as one batch of a Producer with codec c.
func produceBatch(t *testing.T, l *tlog.Log, topic string, c tlog.Compression, recs ...tlog.Record) {
	t.Helper()
	pr, err := l.NewProducer(tlog.ProducerOptions{Compression: c, Linger: time.Hour, BatchBytes: 1 << 20})
	require.NoError(t, err)
	ctx := context.Background()
	for _, r := range recs {
		require.NoError(t, pr.ProduceToAsync(ctx, topic, 0, r, func(_ tlog.ProduceResult, err error) { assert.NoError(t, err) }))
	}
	require.NoError(t, pr.Flush(ctx))
	require.NoError(t, pr.Close())
}

// A producer's compressed batches are stored compressed (the partition holds far fewer bytes
// than the records) and read back, also after the Log is reopened, as the records sent.
func TestProducer_K10_CompressedBatchesReadBackAsSent(t *testing.T) {
	for _, c := range codecs {
		t.Run(c.String(), func(t *testing.T) {
			dir := t.TempDir()
			l := openLog(t, dir)
			require.NoError(t, l.CreateTopic("orders", tlog.TopicConfig{Partitions: 1}))
			var recs []tlog.Record
			for i := range 50 {
				recs = append(recs, tlog.Record{Key: []byte(fmt.Sprint("order-", i)),
					Value:   bytes.Repeat([]byte(`{"status":"paid","amount":100}`), 10),
					Headers: []tlog.Header{{Key: "source", Value: []byte("checkout")}}})
			}
			produceBatch(t, l, "orders", c, recs...)
			info, err := l.DescribeTopic("orders")
			require.NoError(t, err)
			assert.Less(t, info.Partitions[0].Size, int64(50*300/4), "stored compressed")

			check := func(l *tlog.Log) {
				got := fetchAll(t, l, "orders", 0, 0)
				require.Len(t, got, 50)
				for i, r := range got {
					assert.Equal(t, int64(i), r.Offset)
					assert.Equal(t, recs[i].Key, r.Key)
					assert.Equal(t, recs[i].Value, r.Value)
					assert.Equal(t, recs[i].Headers, r.Headers)
				}
			}
			check(l)
			require.NoError(t, l.Close())
			check(openLog(t, dir))
		})
	}
	// Reference: SEMANTICS.md K10 (compression codec in the batch attributes)
}

// Compacting a topic whose batches are compressed keeps what compaction keeps, readable and
// at its own offsets: a partly cleaned batch is written again with its codec.
func TestCompaction_K35_CompressedBatchesStayReadable(t *testing.T) {
	for _, c := range codecs {
		t.Run(c.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := openManual(t, t.TempDir())
				cfg := compactConfig(tlog.CleanupCompact)
				cfg.SegmentBytes = 1 << 20 // one segment: the batches below are cleaned in place
				require.NoError(t, l.CreateTopic("t", cfg))
				var ops []kv
				var recs []tlog.Record
				for i := range 30 {
					op := put(fmt.Sprint("k", i%4), fmt.Sprint("v", i))
					ops = append(ops, op)
					recs = append(recs, tlog.Record{Key: []byte(op.key), Value: []byte(*op.val)})
				}
				produceBatch(t, l, "t", c, recs[:15]...)
				produceBatch(t, l, "t", c, recs[15:]...)
				rollAndRun(l)
				assert.Equal(t, newestPerKey(ops, false), readKept(t, l, "t", 0))
			})
		})
	}
	// Reference: SEMANTICS.md K35; Kafka's cleaner recompresses a batch with its own codec
}

// A transaction's compressed batches are read by read_committed consumers once it commits.
func TestTransactionalProducer_K42_CompressedBatchesCommit(t *testing.T) {
	l := openLog(t, "")
	require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{Partitions: 1}))
	pr, err := l.NewTransactionalProducer(tlog.TransactionalOptions{TransactionalID: "tx", Compression: tlog.CompressionZstd})
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, pr.InitTransactions(ctx))
	require.NoError(t, pr.BeginTransaction())
	for i := range 3 {
		_, err := pr.ProduceTo(ctx, "t", 0, tlog.Record{Value: []byte(fmt.Sprint("v", i))})
		require.NoError(t, err)
	}
	require.NoError(t, pr.CommitTransaction(ctx))
	recs, err := l.Fetch(ctx, "t", 0, 0, tlog.FetchOptions{Isolation: tlog.ReadCommitted})
	require.NoError(t, err)
	require.Len(t, recs, 3)
	assert.Equal(t, []byte("v2"), recs[2].Value)
}

// A codec Kafka does not define is refused when the producer is made.
func TestProducer_UndefinedCompressionIsInvalidConfig(t *testing.T) {
	l := openLog(t, "")
	_, err := l.NewProducer(tlog.ProducerOptions{Compression: 5})
	assert.ErrorIs(t, err, tlog.ErrInvalidConfig)
	_, err = l.NewTransactionalProducer(tlog.TransactionalOptions{TransactionalID: "x", Compression: -1})
	assert.ErrorIs(t, err, tlog.ErrInvalidConfig)
}
