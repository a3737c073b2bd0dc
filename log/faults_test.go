package log_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	tlog "github.com/tribusmq/tribus/log"
)

// A dropped produce succeeds with offset -1 and appends nothing; a failed one returns the
// hook's error.
func TestFaults_BeforeProduceDropsOrFails(t *testing.T) {
	boom := errors.New("boom")
	var drop bool
	var err0 error
	l, err := tlog.Open("", &tlog.Options{Faults: &tlog.Faults{
		BeforeProduce: func(topic string, partition int32, rec tlog.Record) (bool, error) { return drop, err0 }}})
	require.NoError(t, err)
	defer l.Close()
	require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{Partitions: 1}))

	drop = true
	res, err := l.Produce(t.Context(), "t", tlog.Record{Value: []byte("lost")})
	require.NoError(t, err)
	assert.Equal(t, int64(-1), res.Offset)
	drop, err0 = false, boom
	_, err = l.ProduceTo(t.Context(), "t", 0, tlog.Record{Value: []byte("refused")})
	assert.ErrorIs(t, err, boom)
	err0 = nil
	res, err = l.Produce(t.Context(), "t", tlog.Record{Value: []byte("kept")})
	require.NoError(t, err)
	assert.Equal(t, int64(0), res.Offset, "nothing was appended before it")
}

// AfterCommit runs once the commit is durable, and what it returns is Commit's result; the
// commit itself stands.
func TestFaults_AfterCommitSeesADurableCommit(t *testing.T) {
	boom := errors.New("boom")
	var l *tlog.Log
	var seen map[tlog.TopicPartition]int64
	l, err := tlog.Open("", &tlog.Options{Faults: &tlog.Faults{
		AfterCommit: func(c *tlog.GroupConsumer, offsets map[tlog.TopicPartition]tlog.OffsetAndMetadata) error {
			lag, err := l.GroupLag("g")
			require.NoError(t, err)
			seen = map[tlog.TopicPartition]int64{}
			for tp := range offsets {
				seen[tp] = lag[tp].Committed
			}
			return boom
		}}})
	require.NoError(t, err)
	defer l.Close()
	require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{Partitions: 1}))
	c, err := l.NewGroupConsumer(tlog.GroupConsumerOptions{GroupID: "g", Topics: []string{"t"}, DisableAutoCommit: true})
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Poll(t.Context())
	require.NoError(t, err)
	tp := tlog.TopicPartition{Topic: "t", Partition: 0}
	err = c.CommitOffsets(t.Context(), map[tlog.TopicPartition]tlog.OffsetAndMetadata{tp: {Offset: 0, LeaderEpoch: -1}})
	assert.ErrorIs(t, err, boom)
	assert.Equal(t, map[tlog.TopicPartition]int64{tp: 0}, seen, "the hook saw the commit already readable")
}

// A commit the hook fails commits nothing.
func TestFaults_BeforeCommitFailureCommitsNothing(t *testing.T) {
	l, err := tlog.Open("", &tlog.Options{Faults: &tlog.Faults{
		BeforeCommit: func(tlog.GroupMetadata, map[tlog.TopicPartition]tlog.OffsetAndMetadata) error {
			return tlog.ErrCommitFailed
		}}})
	require.NoError(t, err)
	defer l.Close()
	require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{Partitions: 1}))
	_, err = l.Produce(t.Context(), "t", tlog.Record{Value: []byte("v")})
	require.NoError(t, err)
	c, err := l.NewGroupConsumer(tlog.GroupConsumerOptions{GroupID: "g", Topics: []string{"t"},
		Reset: tlog.ResetEarliest, DisableAutoCommit: true})
	require.NoError(t, err)
	defer c.Close()
	recs, err := c.Poll(t.Context())
	require.NoError(t, err)
	require.Len(t, recs, 1)
	assert.ErrorIs(t, c.Commit(t.Context()), tlog.ErrCommitFailed)
	lag, err := l.GroupLag("g")
	require.NoError(t, err)
	assert.Equal(t, int64(-1), lag[tlog.TopicPartition{Topic: "t", Partition: 0}].Committed)
}

// The Kafka front door's produce and commit requests pass the same hooks.
func TestFaults_RequestsPassTheHooks(t *testing.T) {
	refused := &tlog.KafkaError{Code: 6, Message: "not the leader"}
	l, err := tlog.Open("", &tlog.Options{Faults: &tlog.Faults{
		BeforeBatch: func(topic string, partition int32) (bool, error) { return false, refused },
		BeforeCommit: func(gm tlog.GroupMetadata, _ map[tlog.TopicPartition]tlog.OffsetAndMetadata) error {
			return &tlog.KafkaError{Code: 27}
		}}})
	require.NoError(t, err)
	defer l.Close()
	require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{Partitions: 1}))
	_, err = l.Requests().AppendBatch("t", 0, []byte("not even a batch"))
	assert.ErrorIs(t, err, refused, "refused before the batch is looked at")
	_, err = l.Requests().CommitOffsets(tlog.GroupMetadata{GroupID: "g", Generation: -1},
		map[tlog.TopicPartition]tlog.OffsetAndMetadata{{Topic: "t", Partition: 0}: {Offset: 0, LeaderEpoch: -1}})
	var ke *tlog.KafkaError
	require.ErrorAs(t, err, &ke)
	assert.Equal(t, int16(27), ke.Code)
	assert.Equal(t, "tribus/log: Kafka error 27", ke.Error())
}

// An error from BeforeSync is a failed fsync: the produce fails with ErrIO wrapping it, and
// so does every later one (the sticky sync error of a real failure).
func TestFaults_BeforeSyncFailureIsAFailedFsync(t *testing.T) {
	boom := errors.New("boom")
	l, err := tlog.Open("", &tlog.Options{Faults: &tlog.Faults{
		BeforeSync: func(string, int32) error { return boom }}})
	require.NoError(t, err)
	defer l.Close()
	require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{Partitions: 1}))
	for range 2 {
		_, err = l.Produce(t.Context(), "t", tlog.Record{Value: []byte("v")})
		assert.ErrorIs(t, err, tlog.ErrIO)
		assert.ErrorIs(t, err, boom)
	}
	end, _, err := l.ListOffsets("t", 0, tlog.Latest)
	require.NoError(t, err)
	assert.Zero(t, end, "nothing unsynced is served")
}
