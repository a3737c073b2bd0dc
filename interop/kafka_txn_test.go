package interop

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// txnProducer returns a transactional kgo client of tg producing to topic.
func txnProducer(t *testing.T, tg kafkaTarget, id, topic string, opts ...kgo.Opt) *kgo.Client {
	return tg.client(t, append([]kgo.Opt{kgo.TransactionalID(id), kgo.DefaultProduceTopic(topic),
		kgo.TransactionTimeout(10 * time.Second)}, opts...)...)
}

// produceInTxn runs one transaction of cl producing values, ended with commit or abort.
func produceInTxn(t *testing.T, ctx context.Context, cl *kgo.Client, commit kgo.TransactionEndTry, values ...string) {
	t.Helper()
	require.NoError(t, cl.BeginTransaction())
	for _, v := range values {
		require.NoError(t, cl.ProduceSync(ctx, kgo.StringRecord(v)).FirstErr())
	}
	require.NoError(t, cl.EndTransaction(ctx, commit))
}

// values returns the records' values.
func values(recs []*kgo.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = string(r.Value)
	}
	return out
}

// A read_committed consumer sees a committed transaction's records and never an aborted
// one's; read_uncommitted sees both (K43). While a transaction is open the last stable
// offset stays at its first record, so read_committed readers wait there.
func TestKgo_ReadCommittedSeesCommittedTransactionsOnly(t *testing.T) {
	eachKafka(t, func(t *testing.T, tg kafkaTarget) {
		ctx := kctx(t)
		topic := topicName(t)
		adm := tg.admin(t)
		tg.createTopics(t, ctx, 1, topic)
		prod := txnProducer(t, tg, "txn-"+topic, topic)

		produceInTxn(t, ctx, prod, kgo.TryAbort, "a1", "a2", "a3")
		require.NoError(t, prod.BeginTransaction())
		for _, v := range []string{"c1", "c2"} {
			require.NoError(t, prod.ProduceSync(ctx, kgo.StringRecord(v)).FirstErr())
		}
		ends, err := adm.ListEndOffsets(ctx, topic)
		require.NoError(t, err)
		stable, err := adm.ListCommittedOffsets(ctx, topic)
		require.NoError(t, err)
		end, _ := ends.Lookup(topic, 0)
		lso, _ := stable.Lookup(topic, 0)
		assert.Equal(t, int64(6), end.Offset, "three aborted records, their marker, two open ones")
		assert.Equal(t, int64(4), lso.Offset, "the last stable offset is the open transaction's first record")
		require.NoError(t, prod.EndTransaction(ctx, kgo.TryCommit))

		committed := tg.client(t, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			kgo.FetchIsolationLevel(kgo.ReadCommitted()))
		assert.Equal(t, []string{"c1", "c2"}, values(consumeN(t, ctx, committed, 2)))
		uncommitted := tg.client(t, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			kgo.FetchIsolationLevel(kgo.ReadUncommitted()))
		assert.Equal(t, []string{"a1", "a2", "a3", "c1", "c2"}, values(consumeN(t, ctx, uncommitted, 5)))
	})
}

// A second producer with the same transactional id fences the first (K41): the first's
// open transaction is aborted and its commit fails; only the second's records are seen.
func TestKgo_SameTransactionalIDFencesTheOlderProducer(t *testing.T) {
	eachKafka(t, func(t *testing.T, tg kafkaTarget) {
		ctx := kctx(t)
		topic := topicName(t)
		tg.createTopics(t, ctx, 1, topic)
		id := "fence-" + topic
		old := txnProducer(t, tg, id, topic)
		require.NoError(t, old.BeginTransaction())
		require.NoError(t, old.ProduceSync(ctx, kgo.StringRecord("old")).FirstErr())

		produceInTxn(t, ctx, txnProducer(t, tg, id, topic), kgo.TryCommit, "new")

		err := old.EndTransaction(ctx, kgo.TryCommit)
		require.Error(t, err, "the fenced producer cannot commit")
		assert.True(t, errors.Is(err, kerr.ProducerFenced) || errors.Is(err, kerr.InvalidProducerEpoch), "fenced: %v", err)
		cons := tg.client(t, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			kgo.FetchIsolationLevel(kgo.ReadCommitted()))
		assert.Equal(t, []string{"new"}, values(consumeN(t, ctx, cons, 1)))
	})
}

// Consume-transform-produce with GroupTransactSession: the outputs and the input offsets
// commit together (K42), so a read_committed reader of the output sees each input once,
// and the group's committed offsets are at the input's end.
func TestKgo_GroupTransactSessionConsumeTransformProduce(t *testing.T) {
	eachKafka(t, func(t *testing.T, tg kafkaTarget) {
		ctx := kctx(t)
		in, out := topicName(t)+"-in", topicName(t)+"-out"
		adm := tg.admin(t)
		tg.createTopics(t, ctx, 2, in, out)
		const n = 40
		plain := tg.client(t, kgo.DefaultProduceTopic(in))
		for i := range n {
			require.NoError(t, plain.ProduceSync(ctx, &kgo.Record{Key: fmt.Appendf(nil, "k%d", i%7), Value: fmt.Appendf(nil, "%d", i)}).FirstErr())
		}

		group := "xform-" + in
		sess, err := kgo.NewGroupTransactSession(append(append([]kgo.Opt{}, tg.opts...),
			kgo.TransactionalID("xform-"+in), kgo.TransactionTimeout(10*time.Second),
			kgo.ConsumerGroup(group), kgo.ConsumeTopics(in), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			kgo.FetchIsolationLevel(kgo.ReadCommitted()),
			kgo.DefaultProduceTopic(out), kgo.FetchMaxWait(200*time.Millisecond))...)
		require.NoError(t, err)
		t.Cleanup(sess.Close)
		for done := 0; done < n; {
			fs := sess.PollFetches(ctx)
			require.NoError(t, ctx.Err(), "transformed %d of %d", done, n)
			fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s-%d: %v", topic, p, err) })
			recs := fs.Records()
			if len(recs) == 0 {
				continue
			}
			require.NoError(t, sess.Begin())
			for _, r := range recs {
				sess.Produce(ctx, &kgo.Record{Key: r.Key, Value: append([]byte("x"), r.Value...)}, func(_ *kgo.Record, err error) {
					assert.NoError(t, err)
				})
			}
			committed, err := sess.End(ctx, kgo.TryCommit)
			require.NoError(t, err)
			if committed {
				done += len(recs)
			}
		}

		cons := tg.client(t, kgo.ConsumeTopics(out), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			kgo.FetchIsolationLevel(kgo.ReadCommitted()))
		seen := map[string]int{}
		for _, v := range values(consumeN(t, ctx, cons, n)) {
			seen[v]++
		}
		for i := range n {
			assert.Equal(t, 1, seen[fmt.Sprintf("x%d", i)], "output of input %d", i)
		}
		offs, err := adm.FetchOffsets(ctx, group)
		require.NoError(t, err)
		ends, err := adm.ListEndOffsets(ctx, in)
		require.NoError(t, err)
		ends.Each(func(e kadm.ListedOffset) {
			o, ok := offs.Lookup(in, e.Partition)
			require.True(t, ok, "partition %d committed", e.Partition)
			assert.Equal(t, e.Offset, o.At, "partition %d committed at its end", e.Partition)
		})
	})
}
