package log_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	tlog "github.com/tribusmq/tribus/log"
)

var bg = context.Background()

// newTxnProducer returns an initialised transactional producer, closed with the test.
func newTxnProducer(t *testing.T, l *tlog.Log, id string, timeout time.Duration) *tlog.TransactionalProducer {
	t.Helper()
	pr, err := l.NewTransactionalProducer(tlog.TransactionalOptions{TransactionalID: id, Timeout: timeout})
	require.NoError(t, err)
	require.NoError(t, pr.InitTransactions(bg))
	t.Cleanup(func() { pr.Close() })
	return pr
}

func txnSend(t *testing.T, pr *tlog.TransactionalProducer, topic string, p int32, value string) int64 {
	t.Helper()
	res, err := pr.ProduceTo(bg, topic, p, tlog.Record{Value: []byte(value)})
	require.NoError(t, err)
	return res.Offset
}

// readIso reads a whole partition from its start at isolation iso.
func readIso(t *testing.T, l *tlog.Log, topic string, p int32, iso tlog.IsolationLevel) []tlog.Record {
	t.Helper()
	var out []tlog.Record
	from := int64(0)
	for {
		recs, err := l.Fetch(bg, topic, p, from, tlog.FetchOptions{Isolation: iso})
		require.NoError(t, err)
		if len(recs) == 0 {
			return out
		}
		out = append(out, recs...)
		from = recs[len(recs)-1].Offset + 1
	}
}

func recOffsets(recs []tlog.Record) []int64 {
	out := make([]int64, len(recs))
	for i, r := range recs {
		out[i] = r.Offset
	}
	return out
}

func lso(t *testing.T, l *tlog.Log, topic string, p int32) int64 {
	t.Helper()
	off, _, err := l.ListOffsetsIsolated(topic, p, tlog.Latest, tlog.ReadCommitted)
	require.NoError(t, err)
	return off
}

func hw(t *testing.T, l *tlog.Log, topic string, p int32) int64 {
	t.Helper()
	off, _, err := l.ListOffsets(topic, p, tlog.Latest)
	require.NoError(t, err)
	return off
}

// committedOf returns the offset group committed for tp, -1 if none.
func committedOf(t *testing.T, l *tlog.Log, group string, tp tlog.TopicPartition) int64 {
	t.Helper()
	lag, err := l.GroupLag(group)
	if err != nil {
		return -1
	}
	if pl, ok := lag[tp]; ok {
		return pl.Committed
	}
	return -1
}

// A second producer with the same transactional id bumps the epoch: the first one's open
// transaction is aborted, and everything it tries next fails with ErrProducerFenced.
// Reference: KIP-98 (InitProducerId bumps the epoch; ProducerFencedException), K41.
func TestTxn_K41_OlderEpochIsFenced(t *testing.T) {
	l := openLog(t, "")
	require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{Partitions: 2}))
	old := newTxnProducer(t, l, "app", 0)
	oldPID, oldEpoch := old.ProducerID()
	require.NoError(t, old.BeginTransaction())
	txnSend(t, old, "t", 0, "zombie")

	cur := newTxnProducer(t, l, "app", 0)
	pid, epoch := cur.ProducerID()
	assert.Equal(t, oldPID, pid, "the transactional id keeps its producer id")
	assert.Greater(t, epoch, oldEpoch, "and gets a higher epoch")
	assert.Empty(t, readIso(t, l, "t", 0, tlog.ReadCommitted), "the fenced producer's transaction was aborted")
	assert.Equal(t, hw(t, l, "t", 0), lso(t, l, "t", 0), "nothing is left open")
	assert.Equal(t, []string{"zombie"}, values(readIso(t, l, "t", 0, tlog.ReadUncommitted)))

	_, err := old.ProduceTo(bg, "t", 1, tlog.Record{Value: []byte("late")})
	assert.ErrorIs(t, err, tlog.ErrProducerFenced)
	assert.ErrorIs(t, old.CommitTransaction(bg), tlog.ErrProducerFenced)
	assert.ErrorIs(t, old.BeginTransaction(), tlog.ErrProducerFenced, "fencing is final")
	assert.NoError(t, old.Close())
	assert.Empty(t, readIso(t, l, "t", 1, tlog.ReadUncommitted), "the fenced send wrote nothing")

	require.NoError(t, cur.BeginTransaction())
	txnSend(t, cur, "t", 0, "ok")
	require.NoError(t, cur.CommitTransaction(bg))
	assert.Equal(t, []string{"ok"}, values(readIso(t, l, "t", 0, tlog.ReadCommitted)))
}

// Commit and abort markers each take one offset and are never returned: offsets have gaps.
// Reference: K42; https://kafka.apache.org/documentation/#controlbatch
func TestTxn_K42_MarkersTakeOneOffsetAndAreInvisible(t *testing.T) {
	forEachMode(t, func(t *testing.T, dir string) {
		l := openLog(t, dir)
		require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{}))
		pr := newTxnProducer(t, l, "app", 0)
		produce(t, l, "t", "", "a") // 0
		require.NoError(t, pr.BeginTransaction())
		assert.Equal(t, int64(1), txnSend(t, pr, "t", 0, "b"))
		assert.Equal(t, int64(2), txnSend(t, pr, "t", 0, "c"))
		require.NoError(t, pr.CommitTransaction(bg)) // marker at 3
		assert.Equal(t, int64(4), produce(t, l, "t", "", "d").Offset, "the commit marker took offset 3")
		require.NoError(t, pr.BeginTransaction())
		assert.Equal(t, int64(5), txnSend(t, pr, "t", 0, "e"))
		require.NoError(t, pr.AbortTransaction(bg)) // marker at 6
		assert.Equal(t, int64(7), produce(t, l, "t", "", "f").Offset, "the abort marker took offset 6")

		unc := readIso(t, l, "t", 0, tlog.ReadUncommitted)
		assert.Equal(t, []string{"a", "b", "c", "d", "e", "f"}, values(unc))
		assert.Equal(t, []int64{0, 1, 2, 4, 5, 7}, recOffsets(unc))
		com := readIso(t, l, "t", 0, tlog.ReadCommitted)
		assert.Equal(t, []string{"a", "b", "c", "d", "f"}, values(com))
		assert.Equal(t, []int64{0, 1, 2, 4, 7}, recOffsets(com))

		// Reading from a marker's offset skips it.
		recs, err := l.Fetch(bg, "t", 0, 3, tlog.FetchOptions{})
		require.NoError(t, err)
		assert.Equal(t, int64(4), recs[0].Offset)

		// A consumer's position moves past a trailing marker.
		require.NoError(t, pr.BeginTransaction())
		txnSend(t, pr, "t", 0, "g") // 8
		require.NoError(t, pr.CommitTransaction(bg))
		c := l.NewConsumer(tlog.ConsumerOptions{Reset: tlog.ResetEarliest, Isolation: tlog.ReadCommitted, MaxWait: time.Millisecond})
		tp := tlog.TopicPartition{Topic: "t"}
		require.NoError(t, c.Assign(tp))
		var got []string
		for range 5 {
			recs, err := c.Poll(bg)
			require.NoError(t, err)
			got = append(got, values(recs)...)
		}
		assert.Equal(t, []string{"a", "b", "c", "d", "f", "g"}, got)
		pos, err := c.Position(tp)
		require.NoError(t, err)
		assert.Equal(t, int64(10), pos, "past the last commit marker (9)")
	})
}

// Writes to several partitions and offsets sent to the transaction become visible together
// at commit, and none of them after an abort.
// Reference: K42; KIP-98 (sendOffsetsToTransaction, TxnOffsetCommit).
func TestTxn_K42_AtomicAcrossPartitionsWithOffsets(t *testing.T) {
	forEachMode(t, func(t *testing.T, dir string) {
		l := openLog(t, dir)
		require.NoError(t, l.CreateTopic("out", tlog.TopicConfig{Partitions: 3}))
		require.NoError(t, l.CreateTopic("other", tlog.TopicConfig{}))
		require.NoError(t, l.CreateTopic("in", tlog.TopicConfig{}))
		in := tlog.TopicPartition{Topic: "in"}
		gm := tlog.GroupMetadata{GroupID: "g", Generation: -1}
		pr := newTxnProducer(t, l, "app", 0)

		visible := func() (n int) {
			for p := range int32(3) {
				n += len(readIso(t, l, "out", p, tlog.ReadCommitted))
			}
			return n + len(readIso(t, l, "other", 0, tlog.ReadCommitted))
		}

		require.NoError(t, pr.BeginTransaction())
		for p := range int32(3) {
			txnSend(t, pr, "out", p, fmt.Sprint("v", p))
		}
		txnSend(t, pr, "other", 0, "w")
		require.NoError(t, pr.SendOffsetsToTransaction(bg, map[tlog.TopicPartition]tlog.OffsetAndMetadata{in: {Offset: 5, LeaderEpoch: -1}}, gm))
		assert.Zero(t, visible(), "nothing before the commit")
		assert.Equal(t, int64(-1), committedOf(t, l, "g", in), "no offset before the commit")
		require.NoError(t, pr.CommitTransaction(bg))
		assert.Equal(t, 4, visible(), "every partition at once")
		assert.Equal(t, int64(5), committedOf(t, l, "g", in), "with the offsets")

		require.NoError(t, pr.BeginTransaction())
		for p := range int32(3) {
			txnSend(t, pr, "out", p, "x")
		}
		require.NoError(t, pr.SendOffsetsToTransaction(bg, map[tlog.TopicPartition]tlog.OffsetAndMetadata{in: {Offset: 9}}, gm))
		require.NoError(t, pr.AbortTransaction(bg))
		assert.Equal(t, 4, visible(), "none of the aborted records")
		assert.Equal(t, int64(5), committedOf(t, l, "g", in), "nor its offsets")

		// Offsets from a member the group does not have fail as a commit would (K20), and
		// so does a bad offset; neither changes the transaction.
		require.NoError(t, pr.BeginTransaction())
		err := pr.SendOffsetsToTransaction(bg, map[tlog.TopicPartition]tlog.OffsetAndMetadata{in: {Offset: 7}},
			tlog.GroupMetadata{GroupID: "g", Generation: 3, MemberID: "ghost"})
		assert.ErrorIs(t, err, tlog.ErrCommitFailed)
		err = pr.SendOffsetsToTransaction(bg, map[tlog.TopicPartition]tlog.OffsetAndMetadata{in: {Offset: -1}}, gm)
		assert.ErrorIs(t, err, tlog.ErrInvalidCommitOffset)
		err = pr.SendOffsetsToTransaction(bg, map[tlog.TopicPartition]tlog.OffsetAndMetadata{{Topic: "nope"}: {Offset: 1}}, gm)
		assert.ErrorIs(t, err, tlog.ErrUnknownTopic)
		require.NoError(t, pr.CommitTransaction(bg))
		assert.Equal(t, int64(5), committedOf(t, l, "g", in))
	})
}

// read_committed stops at the last stable offset and drops aborted records; read_uncommitted
// reads to the high watermark, aborted records included; a waiting read_committed fetch wakes
// when the LSO moves; ListOffsets Latest and SeekToEnd use the LSO under read_committed.
// Reference: K43, K17; KafkaConsumer javadoc (Reading Transactional Messages);
// https://github.com/apache/kafka/pull/3456
func TestTxn_K43_ReadCommittedStopsAtLSOAndSkipsAborted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := openLog(t, "")
		require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{}))
		open := newTxnProducer(t, l, "open", 0)
		aborted := newTxnProducer(t, l, "aborted", 0)
		produce(t, l, "t", "", "a") // 0
		require.NoError(t, open.BeginTransaction())
		txnSend(t, open, "t", 0, "x") // 1, open
		produce(t, l, "t", "", "b")   // 2
		require.NoError(t, aborted.BeginTransaction())
		txnSend(t, aborted, "t", 0, "y") // 3
		require.NoError(t, aborted.AbortTransaction(bg))
		produce(t, l, "t", "", "c") // 5

		assert.Equal(t, int64(1), lso(t, l, "t", 0), "the LSO is the open transaction's first offset")
		assert.Equal(t, int64(6), hw(t, l, "t", 0))
		info, err := l.DescribeTopic("t")
		require.NoError(t, err)
		assert.Equal(t, int64(1), info.Partitions[0].LastStableOffset)
		assert.Equal(t, []string{"a"}, values(readIso(t, l, "t", 0, tlog.ReadCommitted)))
		assert.Equal(t, []string{"a", "x", "b", "y", "c"}, values(readIso(t, l, "t", 0, tlog.ReadUncommitted)))

		c := l.NewConsumer(tlog.ConsumerOptions{Isolation: tlog.ReadCommitted})
		tp := tlog.TopicPartition{Topic: "t"}
		require.NoError(t, c.Assign(tp))
		require.NoError(t, c.SeekToEnd())
		pos, err := c.Position(tp)
		require.NoError(t, err)
		assert.Equal(t, int64(1), pos, "SeekToEnd goes to the LSO")

		got := make(chan []tlog.Record, 1)
		go func() {
			recs, err := l.Fetch(bg, "t", 0, 1, tlog.FetchOptions{Isolation: tlog.ReadCommitted, MaxWait: time.Hour})
			assert.NoError(t, err)
			got <- recs
		}()
		synctest.Wait()
		select {
		case <-got:
			t.Fatal("a read_committed fetch at the LSO returned before the transaction ended")
		default:
		}
		start := time.Now()
		require.NoError(t, open.CommitTransaction(bg))
		recs := <-got
		assert.Zero(t, time.Since(start), "the fetch woke when the LSO moved")
		assert.Equal(t, []string{"x", "b", "c"}, values(recs), "the aborted y is skipped")
		assert.Equal(t, hw(t, l, "t", 0), lso(t, l, "t", 0))

		// Timestamp lookups under read_committed find nothing at or past the LSO.
		require.NoError(t, open.BeginTransaction())
		txnSend(t, open, "t", 0, "z")
		off, _, err := l.ListOffsetsIsolated("t", 0, time.Now().UnixMilli(), tlog.ReadCommitted)
		require.NoError(t, err)
		assert.Equal(t, int64(0), off, "every record has the same (fake) time")
		off, _, err = l.ListOffsetsIsolated("t", 0, time.Now().Add(time.Hour).UnixMilli(), tlog.ReadCommitted)
		require.NoError(t, err)
		assert.Equal(t, int64(-1), off)
		require.NoError(t, open.AbortTransaction(bg))
	})
}

// A transaction left open longer than transaction.timeout.ms is aborted by the coordinator,
// which fences the producer that left it.
// Reference: K44; KIP-98; ProducerConfig.java (transaction.timeout.ms = 60000).
func TestTxn_K44_TimeoutAborts(t *testing.T) {
	for _, tc := range []struct {
		name    string
		timeout time.Duration
		want    time.Duration
	}{{"default 60s", 0, time.Minute}, {"10s", 10 * time.Second, 10 * time.Second}} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := openLog(t, "")
				require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{}))
				pr := newTxnProducer(t, l, "app", tc.timeout)
				require.NoError(t, pr.BeginTransaction())
				txnSend(t, pr, "t", 0, "slow")
				time.Sleep(tc.want - time.Millisecond)
				synctest.Wait()
				assert.Equal(t, int64(0), lso(t, l, "t", 0), "still open just before the timeout")
				time.Sleep(2 * time.Millisecond)
				synctest.Wait()
				assert.Equal(t, hw(t, l, "t", 0), lso(t, l, "t", 0), "aborted at the timeout")
				assert.Equal(t, int64(2), hw(t, l, "t", 0), "by an abort marker")
				assert.Empty(t, readIso(t, l, "t", 0, tlog.ReadCommitted))
				assert.ErrorIs(t, pr.CommitTransaction(bg), tlog.ErrProducerFenced)

				next := newTxnProducer(t, l, "app", tc.timeout)
				require.NoError(t, next.BeginTransaction())
				txnSend(t, next, "t", 0, "fast")
				require.NoError(t, next.CommitTransaction(bg))
				time.Sleep(2 * tc.want)
				assert.Equal(t, []string{"fast"}, values(readIso(t, l, "t", 0, tlog.ReadCommitted)), "a committed transaction is not timed out")
			})
		})
	}
}

// A transaction open when the Log closes is aborted when it opens again; committed ones stay
// committed, and the transactional id keeps its producer id and epoch.
// Reference: KIP-98 (the coordinator aborts transactions left open; producer-state snapshots).
func TestTxn_ReopenAbortsOpenAndKeepsCommitted(t *testing.T) {
	dir := t.TempDir()
	l, err := tlog.Open(dir, nil)
	require.NoError(t, err)
	require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{Partitions: 2}))
	pr := newTxnProducer(t, l, "app", 0)
	pid, epoch := pr.ProducerID()
	require.NoError(t, pr.BeginTransaction())
	txnSend(t, pr, "t", 0, "kept")
	txnSend(t, pr, "t", 1, "kept")
	require.NoError(t, pr.CommitTransaction(bg))
	require.NoError(t, pr.BeginTransaction())
	txnSend(t, pr, "t", 0, "lost")
	txnSend(t, pr, "t", 1, "lost")
	assert.Equal(t, int64(2), lso(t, l, "t", 0), "kept, its commit marker, then lost")
	require.NoError(t, l.Close())

	l = openLog(t, dir)
	for p := range int32(2) {
		assert.Equal(t, []string{"kept"}, values(readIso(t, l, "t", p, tlog.ReadCommitted)))
		assert.Equal(t, []string{"kept", "lost"}, values(readIso(t, l, "t", p, tlog.ReadUncommitted)))
		assert.Equal(t, int64(4), hw(t, l, "t", p), "an abort marker was written at open")
		assert.Equal(t, int64(4), lso(t, l, "t", p))
	}
	again := newTxnProducer(t, l, "app", 0)
	pid2, epoch2 := again.ProducerID()
	assert.Equal(t, pid, pid2)
	assert.Equal(t, epoch+1, epoch2)
	require.NoError(t, again.BeginTransaction())
	txnSend(t, again, "t", 0, "new")
	require.NoError(t, again.CommitTransaction(bg))
	require.NoError(t, l.Close())

	// The aborted index survives a clean reopen too (from the snapshot written at close).
	l = openLog(t, dir)
	assert.Equal(t, []string{"kept", "new"}, values(readIso(t, l, "t", 0, tlog.ReadCommitted)))
}

// A crash (no Close: no producer-state snapshot, the state is replayed from the batches) with
// a transaction open aborts it at open.
func TestTxn_CrashAbortsOpenTransaction(t *testing.T) {
	dir, crashed := t.TempDir(), t.TempDir()
	l := openLog(t, dir)
	require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{SegmentBytes: 200}))
	pr := newTxnProducer(t, l, "app", 0)
	for i := range 3 {
		require.NoError(t, pr.BeginTransaction())
		txnSend(t, pr, "t", 0, fmt.Sprint("c", i))
		require.NoError(t, pr.CommitTransaction(bg))
		require.NoError(t, pr.BeginTransaction())
		txnSend(t, pr, "t", 0, fmt.Sprint("a", i))
		require.NoError(t, pr.AbortTransaction(bg))
	}
	require.NoError(t, pr.BeginTransaction())
	txnSend(t, pr, "t", 0, "open")
	require.NoError(t, os.CopyFS(crashed, os.DirFS(dir))) // everything acknowledged is on disk

	l2 := openLog(t, crashed)
	assert.Equal(t, []string{"c0", "c1", "c2"}, values(readIso(t, l2, "t", 0, tlog.ReadCommitted)))
	assert.Equal(t, hw(t, l2, "t", 0), lso(t, l2, "t", 0))
	_, err := os.Stat(filepath.Join(crashed, "t-0"))
	require.NoError(t, err)
}

// Bad calls fail with a sentinel and change nothing.
func TestTxn_InvalidUse(t *testing.T) {
	l := openLog(t, "")
	require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{}))
	_, err := l.NewTransactionalProducer(tlog.TransactionalOptions{})
	assert.ErrorIs(t, err, tlog.ErrInvalidConfig)
	_, err = l.NewTransactionalProducer(tlog.TransactionalOptions{TransactionalID: "x", Timeout: -time.Second})
	assert.ErrorIs(t, err, tlog.ErrInvalidTransactionTimeout)
	_, err = l.NewTransactionalProducer(tlog.TransactionalOptions{TransactionalID: "x", Timeout: time.Hour})
	assert.ErrorIs(t, err, tlog.ErrInvalidTransactionTimeout)

	pr, err := l.NewTransactionalProducer(tlog.TransactionalOptions{TransactionalID: "x"})
	require.NoError(t, err)
	assert.ErrorIs(t, pr.BeginTransaction(), tlog.ErrInvalidTxnState, "before InitTransactions")
	require.NoError(t, pr.InitTransactions(bg))
	assert.ErrorIs(t, pr.InitTransactions(bg), tlog.ErrInvalidTxnState)
	_, err = pr.ProduceTo(bg, "t", 0, tlog.Record{})
	assert.ErrorIs(t, err, tlog.ErrInvalidTxnState, "outside a transaction")
	assert.ErrorIs(t, pr.CommitTransaction(bg), tlog.ErrInvalidTxnState)
	require.NoError(t, pr.BeginTransaction())
	assert.ErrorIs(t, pr.BeginTransaction(), tlog.ErrInvalidTxnState)
	_, err = pr.ProduceTo(bg, "t", 5, tlog.Record{})
	assert.ErrorIs(t, err, tlog.ErrUnknownTopic)
	require.NoError(t, pr.CommitTransaction(bg), "an empty transaction commits nothing")
	assert.Equal(t, int64(0), hw(t, l, "t", 0))
	require.NoError(t, pr.Close())
	assert.ErrorIs(t, pr.BeginTransaction(), tlog.ErrClosed)

	_, err = l.Fetch(bg, "t", 0, 0, tlog.FetchOptions{Isolation: 7})
	assert.ErrorIs(t, err, tlog.ErrInvalidConfig)
	_, _, err = l.ListOffsetsIsolated("t", 0, tlog.Latest, 7)
	assert.ErrorIs(t, err, tlog.ErrInvalidConfig)
	_, err = l.NewGroupConsumer(tlog.GroupConsumerOptions{GroupID: "g", Topics: []string{"t"}, Isolation: 7})
	assert.ErrorIs(t, err, tlog.ErrInvalidConfig)
	_, err = l.NewConsumer(tlog.ConsumerOptions{Isolation: 7}).Poll(bg)
	assert.ErrorIs(t, err, tlog.ErrInvalidConfig)
	assert.Equal(t, "read_committed", tlog.ReadCommitted.String())
}

// Close aborts a transaction in progress.
func TestTxn_CloseAborts(t *testing.T) {
	l := openLog(t, "")
	require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{}))
	pr := newTxnProducer(t, l, "app", 0)
	require.NoError(t, pr.BeginTransaction())
	txnSend(t, pr, "t", 0, "x")
	require.NoError(t, pr.Close())
	assert.Equal(t, hw(t, l, "t", 0), lso(t, l, "t", 0))
	assert.Empty(t, readIso(t, l, "t", 0, tlog.ReadCommitted))
	require.NoError(t, pr.Close(), "idempotent")
}

// Offsets sent with a member's generation are refused once the group has rebalanced: at send
// time as a commit would be, and at commit time the whole transaction aborts instead.
// Reference: K20; KIP-447 (the generation travels with sendOffsetsToTransaction).
func TestTxn_K20_StaleGenerationAbortsCommit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := openLog(t, "")
		require.NoError(t, l.CreateTopic("in", tlog.TopicConfig{Partitions: 2}))
		require.NoError(t, l.CreateTopic("out", tlog.TopicConfig{}))
		opts := tlog.GroupConsumerOptions{GroupID: "g", Topics: []string{"in"}, DisableAutoCommit: true,
			Isolation: tlog.ReadCommitted, MaxWait: 100 * time.Millisecond}
		c1, err := l.NewGroupConsumer(opts)
		require.NoError(t, err)
		defer c1.Close()
		_, err = c1.Poll(bg)
		require.NoError(t, err)
		gm := c1.GroupMetadata()
		require.GreaterOrEqual(t, gm.Generation, int32(1))

		pr := newTxnProducer(t, l, "app", 0)
		require.NoError(t, pr.BeginTransaction())
		txnSend(t, pr, "out", 0, "x")
		in := tlog.TopicPartition{Topic: "in"}
		require.NoError(t, pr.SendOffsetsToTransaction(bg, map[tlog.TopicPartition]tlog.OffsetAndMetadata{in: {Offset: 1}}, gm))

		c2, err := l.NewGroupConsumer(opts)
		require.NoError(t, err)
		defer c2.Close()
		for range 20 {
			if c1.Generation() > gm.Generation && c2.Generation() == c1.Generation() {
				break
			}
			done := make(chan struct{})
			go func() { c2.Poll(bg); close(done) }()
			_, err := c1.Poll(bg)
			require.NoError(t, err)
			<-done
		}
		require.Greater(t, c1.Generation(), gm.Generation, "the group rebalanced")

		err = pr.CommitTransaction(bg)
		assert.ErrorIs(t, err, tlog.ErrCommitFailed)
		assert.Empty(t, readIso(t, l, "out", 0, tlog.ReadCommitted), "the transaction was aborted")
		assert.Equal(t, hw(t, l, "out", 0), lso(t, l, "out", 0))
		assert.Equal(t, int64(-1), committedOf(t, l, "g", in))
		err = pr.SendOffsetsToTransaction(bg, nil, gm)
		assert.ErrorIs(t, err, tlog.ErrInvalidTxnState, "no transaction any more")
		require.NoError(t, pr.BeginTransaction())
		err = pr.SendOffsetsToTransaction(bg, map[tlog.TopicPartition]tlog.OffsetAndMetadata{in: {Offset: 1}}, gm)
		assert.ErrorIs(t, err, tlog.ErrCommitFailed, "a stale generation is refused at send")
		require.NoError(t, pr.SendOffsetsToTransaction(bg, map[tlog.TopicPartition]tlog.OffsetAndMetadata{in: {Offset: 1}}, c1.GroupMetadata()))
		require.NoError(t, pr.CommitTransaction(bg))
		assert.Equal(t, int64(1), committedOf(t, l, "g", in))
	})
}
