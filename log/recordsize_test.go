package log_test

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	tlog "github.com/tribusmq/tribus/log"
)

// produceOnce sends rec to partition 0 of topic "t" through one of the produce paths.
type produceOnce func(t *testing.T, l *tlog.Log, rec tlog.Record) error

var idempotentSeqs sync.Map // *tlog.Log → *atomic.Int32

var producePaths = []struct {
	name    string
	produce produceOnce
}{
	{"Log.Produce", func(t *testing.T, l *tlog.Log, rec tlog.Record) error {
		_, err := l.Produce(context.Background(), "t", rec)
		return err
	}},
	{"Log.ProduceTo", func(t *testing.T, l *tlog.Log, rec tlog.Record) error {
		_, err := l.ProduceTo(context.Background(), "t", 0, rec)
		return err
	}},
	{"Log.AppendIdempotent", func(t *testing.T, l *tlog.Log, rec tlog.Record) error {
		// The producer's next sequence is how many of its batches the Log acknowledged.
		v, _ := idempotentSeqs.LoadOrStore(l, new(atomic.Int32))
		seq := v.(*atomic.Int32)
		_, err := l.AppendIdempotent("t", 0, 4242, 0, seq.Load(), []tlog.Record{rec})
		if err == nil {
			seq.Add(1)
		}
		return err
	}},
	{"Producer.Produce", func(t *testing.T, l *tlog.Log, rec tlog.Record) error {
		pr, err := l.NewProducer(tlog.ProducerOptions{})
		require.NoError(t, err)
		defer pr.Close()
		_, err = pr.Produce(context.Background(), "t", rec)
		return err
	}},
	{"Producer.ProduceToAsync", func(t *testing.T, l *tlog.Log, rec tlog.Record) error {
		pr, err := l.NewProducer(tlog.ProducerOptions{DisableIdempotence: true})
		require.NoError(t, err)
		done := make(chan error, 1)
		require.NoError(t, pr.ProduceToAsync(context.Background(), "t", 0, rec, func(_ tlog.ProduceResult, err error) { done <- err }))
		require.NoError(t, pr.Close())
		return <-done
	}},
	{"TransactionalProducer.Produce", func(t *testing.T, l *tlog.Log, rec tlog.Record) error {
		pr, err := l.NewTransactionalProducer(tlog.TransactionalOptions{TransactionalID: "tx"})
		require.NoError(t, err)
		defer pr.Close()
		require.NoError(t, pr.InitTransactions(context.Background()))
		require.NoError(t, pr.BeginTransaction())
		_, err = pr.Produce(context.Background(), "t", rec)
		require.NoError(t, pr.AbortTransaction(context.Background()))
		return err
	}},
}

// A record too large for the topic's max.message.bytes fails with ErrRecordTooLarge on every
// produce path and writes nothing; it used to make the encoder panic once the batch passed
// 64 MiB, whatever max.message.bytes said, because the batch was encoded before its size was
// checked. Kafka answers MESSAGE_TOO_LARGE (RecordTooLargeException) for a batch over
// max.message.bytes.
func TestLog_RecordTooLargeOnEveryProducePath(t *testing.T) {
	huge := make([]byte, 64<<20+1)
	for _, cfg := range []struct {
		name string
		max  int
	}{{"default", 0}, {"max.message.bytes of 64 MiB", 64 << 20}} {
		for _, path := range producePaths {
			t.Run(cfg.name+"/"+path.name, func(t *testing.T) {
				l, err := tlog.Open("", nil)
				require.NoError(t, err)
				defer l.Close()
				require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{MaxMessageBytes: cfg.max}))
				var perr error
				require.NotPanics(t, func() { perr = path.produce(t, l, tlog.Record{Key: []byte("k"), Value: huge}) })
				require.ErrorIs(t, perr, tlog.ErrRecordTooLarge)

				// Nothing was written: the partition takes the next record at offset 0 (the
				// transactional path's abort marker aside).
				res, err := l.ProduceTo(context.Background(), "t", 0, tlog.Record{Value: []byte("small")})
				require.NoError(t, err)
				recs, err := l.Fetch(context.Background(), "t", 0, 0, tlog.FetchOptions{})
				require.NoError(t, err)
				require.Len(t, recs, 1)
				assert.Equal(t, []byte("small"), recs[0].Value)
				assert.Equal(t, res.Offset, recs[0].Offset)
			})
		}
	}
}

// max.message.bytes up to the 64 MiB the batch format here can hold is accepted and honoured:
// a record that fits is written and read back whole; one byte more is refused. Above that,
// the config is ErrInvalidConfig. (Kafka allows max.message.bytes up to 2^31-1; tribus caps
// a batch at 64 MiB so that a corrupt length cannot make recovery allocate gigabytes.)
func TestLog_MaxMessageBytesUpToTheBatchLimitIsHonoured(t *testing.T) {
	l, err := tlog.Open("", nil)
	require.NoError(t, err)
	defer l.Close()
	require.ErrorIs(t, l.CreateTopic("over", tlog.TopicConfig{MaxMessageBytes: 64<<20 + 1}), tlog.ErrInvalidConfig)
	require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{MaxMessageBytes: 64 << 20}))

	// A one-record batch is the 61-byte header, the record's length varint (4 bytes here) and
	// its body: attributes, two 1-byte deltas, key -1 (1 byte), value length (4 bytes) and
	// value, header count 0.
	fits := 64<<20 - 61 - 4 - (1 + 1 + 1 + 1 + 4 + 1)
	value := make([]byte, fits)
	value[len(value)-1] = 7
	_, err = l.ProduceTo(context.Background(), "t", 0, tlog.Record{Value: value})
	require.NoError(t, err)
	_, err = l.ProduceTo(context.Background(), "t", 0, tlog.Record{Value: make([]byte, fits+1)})
	require.ErrorIs(t, err, tlog.ErrRecordTooLarge)
	recs, err := l.Fetch(context.Background(), "t", 0, 0, tlog.FetchOptions{})
	require.NoError(t, err)
	require.Len(t, recs, 1)
	assert.Equal(t, value, recs[0].Value)
}

// segment.bytes is Kafka's int config, at least 14 (LogConfig: atLeast(RECORD_OVERHEAD_V0)):
// 2^31-1 is accepted, one more is ErrInvalidConfig, where it used to be accepted and make
// every produce fail once the segment passed 2 GiB, which its 32-bit index positions cannot
// address.
func TestLog_SegmentBytesIsAnInt(t *testing.T) {
	l, err := tlog.Open("", nil)
	require.NoError(t, err)
	defer l.Close()
	require.NoError(t, l.CreateTopic("max", tlog.TopicConfig{SegmentBytes: math.MaxInt32}))
	require.ErrorIs(t, l.CreateTopic("over", tlog.TopicConfig{SegmentBytes: math.MaxInt32 + 1}), tlog.ErrInvalidConfig)
	require.ErrorIs(t, l.CreateTopic("small", tlog.TopicConfig{SegmentBytes: 13}), tlog.ErrInvalidConfig)
}
