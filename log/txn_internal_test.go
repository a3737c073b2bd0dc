package log

import (
	"context"
	"encoding/binary"
	"hash/crc32"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A crash after the commit decision (PrepareCommit and the offsets in the store) but before
// every marker is written still commits the whole transaction at the next open: the records
// on the partitions that had no marker yet become visible with the others.
// Reference: KIP-98 (the coordinator completes PrepareCommit after a failover), K42.
func TestTxn_K42_CrashAfterCommitDecisionCommitsAtOpen(t *testing.T) {
	ctx := context.Background()
	dir, crashed := t.TempDir(), t.TempDir()
	l, err := Open(dir, nil)
	require.NoError(t, err)
	defer l.Close()
	require.NoError(t, l.CreateTopic("out", TopicConfig{Partitions: 2}))
	require.NoError(t, l.CreateTopic("in", TopicConfig{}))
	pr, err := l.NewTransactionalProducer(TransactionalOptions{TransactionalID: "app"})
	require.NoError(t, err)
	require.NoError(t, pr.InitTransactions(ctx))
	require.NoError(t, pr.BeginTransaction())
	for p := range int32(2) {
		_, err := pr.ProduceTo(ctx, "out", p, Record{Value: []byte("v")})
		require.NoError(t, err)
	}
	in := TopicPartition{Topic: "in"}
	require.NoError(t, pr.SendOffsetsToTransaction(ctx, map[TopicPartition]OffsetAndMetadata{in: {Offset: 3}},
		GroupMetadata{GroupID: "g", Generation: -1}))

	// The first half of CommitTransaction: the decision, then one marker of two.
	m := pr.m
	m.mu.Lock()
	require.NoError(t, l.prepareCommitLocked(m))
	m.state = txnPrepareCommit
	p0, err := l.partition("out", 0)
	require.NoError(t, err)
	require.NoError(t, p0.writeMarker(m.pid, m.epoch, true))
	require.NoError(t, os.CopyFS(crashed, os.DirFS(dir)))
	m.mu.Unlock()

	l2, err := Open(crashed, nil)
	require.NoError(t, err)
	defer l2.Close()
	for p := range int32(2) {
		recs, err := l2.Fetch(ctx, "out", p, 0, FetchOptions{Isolation: ReadCommitted})
		require.NoError(t, err)
		assert.Len(t, recs, 1, "partition %d: committed", p)
		part, err := l2.partition("out", p)
		require.NoError(t, err)
		assert.Equal(t, part.hw.Load(), part.lastStable())
	}
	om, ok, err := l2.committedOffset("g", in)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, int64(3), om.Offset)
	assert.Equal(t, txnCompleteCommit, l2.txns.get("app").state)

	// A later transaction of the same id is not taken for the decided one.
	pr2, err := l2.NewTransactionalProducer(TransactionalOptions{TransactionalID: "app"})
	require.NoError(t, err)
	require.NoError(t, pr2.InitTransactions(ctx))
	require.NoError(t, pr2.BeginTransaction())
	_, err = pr2.ProduceTo(ctx, "out", 1, Record{Value: []byte("w")})
	require.NoError(t, err)
	require.NoError(t, pr2.AbortTransaction(ctx))
	recs, err := l2.Fetch(ctx, "out", 1, 0, FetchOptions{Isolation: ReadCommitted})
	require.NoError(t, err)
	assert.Len(t, recs, 1)
}

// A version 1 snapshot (written before transactions) still loads, with no transaction open.
func TestProducerSnapshot_ReadsVersion1(t *testing.T) {
	b := []byte{'T', 'R', 'P', 'S', 1}
	b = binary.BigEndian.AppendUint32(b, 1)
	b = binary.BigEndian.AppendUint64(b, 7)
	b = binary.BigEndian.AppendUint16(b, 2)
	b = append(b, 1)
	b = binary.BigEndian.AppendUint32(b, 0)
	b = binary.BigEndian.AppendUint32(b, 4)
	b = binary.BigEndian.AppendUint64(b, 100)
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(b, batchCRCTable))
	prods, aborted, err := decodeProducers(b)
	require.NoError(t, err)
	assert.Empty(t, aborted)
	require.Contains(t, prods, int64(7))
	assert.Equal(t, int16(2), prods[7].epoch)
	assert.Equal(t, int64(-1), prods[7].txnFirst)
	assert.Equal(t, []seqBatch{{0, 4, 100}}, prods[7].batches)

	// And version 2 round-trips, aborted transactions below the log start dropped.
	st := newProducerState(3)
	st.txnFirst = 50
	st.batches = []seqBatch{{0, 0, 50}}
	enc := encodeProducers(map[int64]*producerState{9: st},
		[]abortedTxn{{producerID: 9, first: 1, last: 2}, {producerID: 9, first: 10, last: 12}}, 5)
	prods, aborted, err = decodeProducers(enc)
	require.NoError(t, err)
	assert.Equal(t, []abortedTxn{{producerID: 9, first: 10, last: 12}}, aborted)
	assert.Equal(t, st, prods[9])

	for i := range enc {
		bad := append([]byte(nil), enc...)
		bad[i] ^= 0x40
		_, _, err := decodeProducers(bad)
		assert.ErrorIs(t, err, errBadSnapshot, "byte %d", i)
	}
}
