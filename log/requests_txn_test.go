package log

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// txnBatch encodes n transactional records of producer pid/epoch from sequence seq.
func txnBatch(n int, pid int64, epoch int16, seq int32) []byte {
	recs := make([]Record, n)
	for i := range recs {
		recs[i] = Record{Value: []byte("v"), Timestamp: time.UnixMilli(1_700_000_000_000)}
	}
	return appendBatch(nil, batchHeader{ProducerID: pid, ProducerEpoch: epoch, BaseSequence: seq, Attributes: attrTransactional}, recs)
}

// initTxnID opens a log with topic "t" (two partitions) and initialises transactional id
// "tx" on it.
func initTxnID(t *testing.T) (*Log, *Requests, int64, int16) {
	t.Helper()
	l, q := openRequests(t, map[string]TopicConfig{"t": {Partitions: 2}})
	pid, epoch, err := q.InitTransactionalID("tx", time.Minute, -1, -1)
	require.NoError(t, err)
	return l, q, pid, epoch
}

func TestTxnRequests_PartitionMustBeAddedBeforeTransactionalProduce(t *testing.T) {
	_, q, pid, epoch := initTxnID(t)
	_, err := q.AppendTransactionalBatch("tx", "t", 0, txnBatch(1, pid, epoch, 0))
	require.ErrorIs(t, err, ErrInvalidTxnState, "no transaction yet")
	require.NoError(t, q.AddPartitionsToTxn("tx", pid, epoch, []TopicPartition{{"t", 0}}))
	_, err = q.AppendTransactionalBatch("tx", "t", 1, txnBatch(1, pid, epoch, 0))
	require.ErrorIs(t, err, ErrInvalidTxnState, "partition 1 was not added")
	res, err := q.AppendTransactionalBatch("tx", "t", 0, txnBatch(2, pid, epoch, 0))
	require.NoError(t, err)
	require.NoError(t, res.Wait())
	assert.Equal(t, int64(0), res.BaseOffset)
}

func TestTxnRequests_UnknownProducerOrEpochIsRefused(t *testing.T) {
	_, q, pid, epoch := initTxnID(t)
	tps := []TopicPartition{{"t", 0}}
	for _, tc := range []struct {
		name  string
		id    string
		pid   int64
		epoch int16
		want  error
	}{
		{"never initialised id", "other", pid, epoch, ErrInvalidProducerIDMapping},
		{"another producer id", "tx", pid + 100, epoch, ErrInvalidProducerIDMapping},
		{"an older epoch", "tx", pid, epoch - 1, ErrProducerFenced},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorIs(t, q.AddPartitionsToTxn(tc.id, tc.pid, tc.epoch, tps), tc.want)
			require.ErrorIs(t, q.AddOffsetsToTxn(tc.id, tc.pid, tc.epoch, "g"), tc.want)
			require.ErrorIs(t, q.EndTxn(tc.id, tc.pid, tc.epoch, true), tc.want)
		})
	}
	require.ErrorIs(t, q.AddPartitionsToTxn("tx", pid, epoch, []TopicPartition{{"t", 0}, {"t", 9}}), ErrUnknownTopic)
	require.ErrorIs(t, q.EndTxn("tx", pid, epoch, false), ErrInvalidTxnState, "the unknown partition began nothing")
}

// InitProducerId with the producer id and epoch a producer holds (KIP-360): the current pair
// bumps the epoch, the pair just before it is a retry answered with the current one, and
// anything else is fenced.
func TestTxnRequests_InitWithHeldEpochBumpsOrIsFenced(t *testing.T) {
	_, q, pid, epoch := initTxnID(t)
	p2, e2, err := q.InitTransactionalID("tx", time.Minute, pid, epoch)
	require.NoError(t, err)
	assert.Equal(t, pid, p2)
	assert.Equal(t, epoch+1, e2)
	p3, e3, err := q.InitTransactionalID("tx", time.Minute, pid, epoch)
	require.NoError(t, err, "a retry of the bump")
	assert.Equal(t, [2]int64{p2, int64(e2)}, [2]int64{p3, int64(e3)})
	_, _, err = q.InitTransactionalID("tx", time.Minute, pid+1, e2)
	require.ErrorIs(t, err, ErrProducerFenced)
	_, _, err = q.InitTransactionalID("tx", time.Hour, -1, -1)
	require.ErrorIs(t, err, ErrInvalidTransactionTimeout)
}

// EndTxn as Kafka's coordinator answers it: a retry of the end just done succeeds, the
// opposite end or an end with no transaction is INVALID_TXN_STATE.
func TestTxnRequests_EndTxnRetryIsIdempotent(t *testing.T) {
	_, q, pid, epoch := initTxnID(t)
	require.ErrorIs(t, q.EndTxn("tx", pid, epoch, true), ErrInvalidTxnState, "nothing to commit")
	require.NoError(t, q.AddPartitionsToTxn("tx", pid, epoch, []TopicPartition{{"t", 0}}))
	require.NoError(t, q.EndTxn("tx", pid, epoch, true))
	require.NoError(t, q.EndTxn("tx", pid, epoch, true), "a retry")
	require.ErrorIs(t, q.EndTxn("tx", pid, epoch, false), ErrInvalidTxnState)
}

// Offsets sent with TxnOffsetCommit are committed with the transaction and never if it
// aborts (K42); the group must be added with AddOffsetsToTxn first.
func TestTxnRequests_TxnOffsetsCommitOnlyWithTheTransaction(t *testing.T) {
	_, q, pid, epoch := initTxnID(t)
	gm := GroupMetadata{GroupID: "g", Generation: -1}
	offs := map[TopicPartition]OffsetAndMetadata{{"t", 0}: {Offset: 5}}
	_, err := q.TxnOffsetCommit("tx", pid, epoch, gm, offs)
	require.ErrorIs(t, err, ErrInvalidTxnState, "group not added")

	for _, commit := range []bool{false, true} {
		require.NoError(t, q.AddOffsetsToTxn("tx", pid, epoch, "g"))
		code, err := q.TxnOffsetCommit("tx", pid, epoch, gm, offs)
		require.NoError(t, err)
		require.Zero(t, code)
		got, err := q.CommittedOffsets("g")
		require.NoError(t, err)
		assert.Empty(t, got, "nothing committed before the end")
		require.NoError(t, q.EndTxn("tx", pid, epoch, commit))
		got, err = q.CommittedOffsets("g")
		require.NoError(t, err)
		if commit {
			assert.Equal(t, int64(5), got[TopicPartition{"t", 0}].Offset)
		} else {
			assert.Empty(t, got, "an aborted transaction commits no offsets")
		}
	}
}

// A transactional batch is hidden from read_committed readers until its transaction
// commits, and an aborted one is listed for them to skip (K43).
func TestTxnRequests_ReadCommittedWaitsForTheMarker(t *testing.T) {
	_, q, pid, epoch := initTxnID(t)
	require.NoError(t, q.AddPartitionsToTxn("tx", pid, epoch, []TopicPartition{{"t", 0}}))
	res, err := q.AppendTransactionalBatch("tx", "t", 0, txnBatch(3, pid, epoch, 0))
	require.NoError(t, err)
	require.NoError(t, res.Wait())
	rd, err := q.ReadBatches("t", 0, 0, 1<<20, ReadCommitted)
	require.NoError(t, err)
	assert.Nil(t, rd.Batches)
	assert.Equal(t, int64(0), rd.LastStableOffset)
	require.NoError(t, q.EndTxn("tx", pid, epoch, false))
	rd, err = q.ReadBatches("t", 0, 0, 1<<20, ReadCommitted)
	require.NoError(t, err)
	assert.Equal(t, int64(4), rd.LastStableOffset)
	assert.Equal(t, []AbortedTransaction{{ProducerID: pid, FirstOffset: 0}}, rd.Aborted)
}
