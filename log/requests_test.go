package log

import (
	"encoding/binary"
	"hash/crc32"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// producedBatch encodes n records as a producer sends them: base offset 0, the given
// producer id and sequence (-1 for none).
func producedBatch(t *testing.T, n int, pid int64, seq int32, key []byte) []byte {
	t.Helper()
	recs := make([]Record, n)
	for i := range recs {
		recs[i] = Record{Key: key, Value: []byte("v"), Timestamp: time.UnixMilli(1_700_000_000_000 + int64(i))}
	}
	h := batchHeader{ProducerID: pid, ProducerEpoch: 0, BaseSequence: seq}
	if pid < 0 {
		h.ProducerEpoch = -1
	}
	return appendBatch(nil, h, recs)
}

func openRequests(t *testing.T, topics map[string]TopicConfig) (*Log, *Requests) {
	t.Helper()
	l, err := Open("", nil)
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	for name, cfg := range topics {
		require.NoError(t, l.CreateTopic(name, cfg))
	}
	return l, l.Requests()
}

func TestAppendBatch_AssignsOffsetsAndStoresTheBatchAsSent(t *testing.T) {
	l, q := openRequests(t, map[string]TopicConfig{"t": {}})
	for i, want := range []int64{0, 3} {
		res, err := q.AppendBatch("t", 0, producedBatch(t, 3, -1, -1, nil))
		require.NoError(t, err, "batch %d", i)
		require.NoError(t, res.Wait())
		assert.Equal(t, want, res.BaseOffset)
		assert.Equal(t, int64(-1), res.LogAppendTime)
	}
	recs, err := l.Fetch(t.Context(), "t", 0, 0, FetchOptions{})
	require.NoError(t, err)
	require.Len(t, recs, 6)
	assert.Equal(t, int64(5), recs[5].Offset)
	assert.Equal(t, time.UnixMilli(1_700_000_000_002), recs[5].Timestamp)
}

func TestAppendBatch_RefusesWhatABrokerRefuses(t *testing.T) {
	_, q := openRequests(t, map[string]TopicConfig{"t": {}, "compacted": {CleanupPolicy: CleanupCompact},
		"small": {MaxMessageBytes: 64}})
	good := producedBatch(t, 2, -1, -1, nil)
	badCRC := append([]byte(nil), good...)
	badCRC[len(badCRC)-1] ^= 1
	control := producedBatch(t, 1, 7, 0, nil)
	control[22] |= byte(attrControl)
	txn := producedBatch(t, 1, 7, 0, nil)
	txn[22] |= byte(attrTransactional)
	for _, tc := range []struct {
		name, topic string
		batch       []byte
		want        error
	}{
		{"bad CRC", "t", badCRC, ErrCorruptBatch},
		{"two batches", "t", append(append([]byte(nil), good...), good...), ErrCorruptBatch},
		{"control batch", "t", fixCRC(control), ErrInvalidRecord},
		{"transactional batch without a transactional id", "t", fixCRC(txn), ErrInvalidRecord},
		{"null key on a compacted topic", "compacted", good, ErrInvalidRecord},
		{"over max.message.bytes", "small", producedBatch(t, 10, -1, -1, nil), ErrRecordTooLarge},
		{"unknown partition", "t-none", good, ErrUnknownTopic},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := q.AppendBatch(tc.topic, 0, append([]byte(nil), tc.batch...))
			require.ErrorIs(t, err, tc.want)
		})
	}
	rd, err := q.ReadBatches("t", 0, 0, 1<<20, ReadUncommitted)
	require.NoError(t, err)
	assert.Empty(t, rd.Batches, "nothing refused was written")
}

// fixCRC recomputes a batch's CRC after a test changed its attributes.
func fixCRC(b []byte) []byte {
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[batchAttributesOffset:], batchCRCTable))
	return b
}

func TestAppendBatch_IdempotentRetryIsWrittenOnce(t *testing.T) {
	_, q := openRequests(t, map[string]TopicConfig{"t": {}})
	id, _, err := q.InitProducerID()
	require.NoError(t, err)
	first, err := q.AppendBatch("t", 0, producedBatch(t, 2, id, 0, nil))
	require.NoError(t, err)
	retry, err := q.AppendBatch("t", 0, producedBatch(t, 2, id, 0, nil))
	require.NoError(t, err)
	assert.Equal(t, first.BaseOffset, retry.BaseOffset, "the retry gets the first write's offset (K39)")
	require.NoError(t, retry.Wait())
	_, err = q.AppendBatch("t", 0, producedBatch(t, 2, id, 5, nil))
	require.ErrorIs(t, err, ErrOutOfOrderSequence, "a gap in the sequence (K40)")
	rd, err := q.ReadBatches("t", 0, 0, 1<<20, ReadUncommitted)
	require.NoError(t, err)
	assert.Equal(t, int64(2), rd.HighWatermark)
}

func TestReadBatches_ReturnsWholeStoredBatchesWithinTheLimit(t *testing.T) {
	_, q := openRequests(t, map[string]TopicConfig{"t": {}})
	var sizes []int
	for range 3 {
		b := producedBatch(t, 4, -1, -1, nil)
		sizes = append(sizes, len(b))
		res, err := q.AppendBatch("t", 0, b)
		require.NoError(t, err)
		require.NoError(t, res.Wait())
	}
	rd, err := q.ReadBatches("t", 0, 5, 1, ReadUncommitted)
	require.NoError(t, err)
	assert.Len(t, rd.Batches, sizes[1], "the batch holding offset 5, whole, though over the limit (KIP-74)")
	h, err := checkBatch(rd.Batches)
	require.NoError(t, err)
	assert.Equal(t, int64(4), h.BaseOffset)
	rd, err = q.ReadBatches("t", 0, 0, 1<<20, ReadUncommitted)
	require.NoError(t, err)
	assert.Len(t, rd.Batches, sizes[0]+sizes[1]+sizes[2])
	assert.Equal(t, int64(12), rd.HighWatermark)
	_, err = q.ReadBatches("t", 0, 13, 1<<20, ReadUncommitted)
	require.ErrorIs(t, err, ErrOffsetOutOfRange)
}

func TestAppendBatch_LogAppendTimeStampsTheBatch(t *testing.T) {
	l, q := openRequests(t, map[string]TopicConfig{"t": {TimestampType: LogAppendTime}})
	before := time.Now().UnixMilli()
	res, err := q.AppendBatch("t", 0, producedBatch(t, 2, -1, -1, nil))
	require.NoError(t, err)
	require.NoError(t, res.Wait())
	assert.GreaterOrEqual(t, res.LogAppendTime, before)
	recs, err := l.Fetch(t.Context(), "t", 0, 0, FetchOptions{})
	require.NoError(t, err)
	require.Len(t, recs, 2)
	assert.Equal(t, res.LogAppendTime, recs[0].Timestamp.UnixMilli(), "K11")
	rd, err := q.ReadBatches("t", 0, 0, 1<<20, ReadUncommitted)
	require.NoError(t, err)
	_, err = checkBatch(rd.Batches)
	require.NoError(t, err, "the CRC was recomputed")
}
