package interop

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
)

func kctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// consumeN polls cl until n records have arrived, failing on a fetch error.
func consumeN(t *testing.T, ctx context.Context, cl *kgo.Client, n int) []*kgo.Record {
	t.Helper()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("got %d of %d records: %v", len(out), n, err)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s-%d: %v", topic, p, err) })
		out = append(out, fs.Records()...)
	}
	return out
}

func TestKgo_ProduceSyncThenConsumeDirect(t *testing.T) {
	eachKafka(t, func(t *testing.T, tg kafkaTarget) {
		ctx := kctx(t)
		topic := topicName(t)
		tg.createTopics(t, ctx, 3, topic)
		prod := tg.client(t, kgo.DefaultProduceTopic(topic))
		for i := range 30 {
			r := &kgo.Record{Key: []byte(fmt.Sprintf("k%d", i%5)), Value: []byte(fmt.Sprintf("v%d", i))}
			require.NoError(t, prod.ProduceSync(ctx, r).FirstErr())
		}
		cons := tg.client(t, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		recs := consumeN(t, ctx, cons, 30)
		require.Len(t, recs, 30)
		last := map[int32]int64{}
		byKey := map[string]int32{}
		for _, r := range recs {
			if off, ok := last[r.Partition]; ok {
				assert.Equal(t, off+1, r.Offset, "offsets of a partition are consecutive")
			}
			last[r.Partition] = r.Offset
			if p, ok := byKey[string(r.Key)]; ok {
				assert.Equal(t, p, r.Partition, "one key, one partition")
			}
			byKey[string(r.Key)] = r.Partition
		}
	})
}

func TestKgo_ProduceAsyncEachCompressionCodec(t *testing.T) {
	codecs := []struct {
		name  string
		codec kgo.CompressionCodec
	}{
		{"none", kgo.NoCompression()}, {"gzip", kgo.GzipCompression()}, {"snappy", kgo.SnappyCompression()},
		{"lz4", kgo.Lz4Compression()}, {"zstd", kgo.ZstdCompression()},
	}
	eachKafka(t, func(t *testing.T, tg kafkaTarget) {
		for _, c := range codecs {
			t.Run(c.name, func(t *testing.T) {
				ctx := kctx(t)
				topic := topicName(t)
				prod := tg.client(t, kgo.DefaultProduceTopic(topic), kgo.ProducerBatchCompression(c.codec),
					kgo.AllowAutoTopicCreation())
				const n = 500
				errs := make(chan error, n)
				for i := range n {
					prod.Produce(ctx, &kgo.Record{Value: fmt.Appendf(nil, "record %d %s", i, c.name)},
						func(_ *kgo.Record, err error) { errs <- err })
				}
				require.NoError(t, prod.Flush(ctx))
				for range n {
					require.NoError(t, <-errs)
				}
				cons := tg.client(t, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
				recs := consumeN(t, ctx, cons, n)
				seen := map[string]bool{}
				for _, r := range recs {
					seen[string(r.Value)] = true
				}
				assert.Len(t, seen, n, "every record once")
			})
		}
	})
}

// groupMember consumes topic in group until stopped, sending what it gets on out.
func groupMember(t *testing.T, tg kafkaTarget, group, topic string, out chan<- *kgo.Record, opts ...kgo.Opt) *kgo.Client {
	cl := tg.client(t, append([]kgo.Opt{kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200 * time.Millisecond)}, opts...)...)
	go func() {
		for {
			fs := cl.PollFetches(context.Background())
			if fs.IsClientClosed() {
				return
			}
			fs.EachRecord(func(r *kgo.Record) { out <- r })
		}
	}()
	return cl
}

func TestKgo_GroupConsumeSharesPartitionsAndCommits(t *testing.T) {
	balancers := []struct {
		name string
		b    kgo.GroupBalancer
	}{{"range", kgo.RangeBalancer()}, {"cooperative-sticky", kgo.CooperativeStickyBalancer()}}
	eachKafka(t, func(t *testing.T, tg kafkaTarget) {
		for _, bal := range balancers {
			t.Run(bal.name, func(t *testing.T) {
				ctx := kctx(t)
				topic := topicName(t)
				_, err := tg.admin(t).CreateTopic(ctx, 4, 1, nil, topic)
				require.NoError(t, err)
				prod := tg.client(t, kgo.DefaultProduceTopic(topic))
				const n = 200
				for i := range n {
					prod.Produce(ctx, &kgo.Record{Key: fmt.Appendf(nil, "k%d", i), Value: fmt.Appendf(nil, "%d", i)}, nil)
				}
				require.NoError(t, prod.Flush(ctx))

				out := make(chan *kgo.Record, n)
				group := "g-" + bal.name
				a := groupMember(t, tg, group, topic, out, kgo.Balancers(bal.b))
				b := groupMember(t, tg, group, topic, out, kgo.Balancers(bal.b))
				seen := map[string]int{}
				for len(seen) < n {
					select {
					case r := <-out:
						seen[string(r.Value)]++
					case <-ctx.Done():
						t.Fatalf("consumed %d of %d", len(seen), n)
					}
				}
				require.NoError(t, a.CommitUncommittedOffsets(ctx))
				require.NoError(t, b.CommitUncommittedOffsets(ctx))

				lag, err := tg.admin(t).Lag(ctx, group)
				require.NoError(t, err)
				gl := lag[group]
				require.NoError(t, gl.Error())
				assert.Equal(t, int64(0), gl.Lag.Total(), "everything consumed is committed")
				a.Close()
				b.Close()

				// A new member of the group starts from the committed offsets: nothing new.
				prod.ProduceSync(ctx, &kgo.Record{Key: []byte("late"), Value: []byte("late")})
				c := groupMember(t, tg, group, topic, out, kgo.Balancers(bal.b))
				defer c.Close()
				select {
				case r := <-out:
					assert.Equal(t, "late", string(r.Value), "only the record after the commit")
				case <-ctx.Done():
					t.Fatal("the late record never came")
				}
			})
		}
	})
}

func TestKgo_GroupRebalancesWhenAMemberJoinsAndLeaves(t *testing.T) {
	eachKafka(t, func(t *testing.T, tg kafkaTarget) {
		ctx := kctx(t)
		topic := topicName(t)
		tg.createTopics(t, ctx, 4, topic)
		owned := make(chan map[string][]int32, 16)
		opts := func() []kgo.Opt {
			return []kgo.Opt{kgo.Balancers(kgo.RangeBalancer()), kgo.HeartbeatInterval(100 * time.Millisecond), kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { owned <- m })}
		}
		out := make(chan *kgo.Record, 16)
		a := groupMember(t, tg, "rebalance", topic, out, opts()...)
		first := <-owned
		assert.Len(t, first[topic], 4, "a lone member owns every partition")
		b := groupMember(t, tg, "rebalance", topic, out, opts()...)
		deadline := time.After(20 * time.Second)
		var got []map[string][]int32
		for len(got) < 2 {
			select {
			case m := <-owned:
				got = append(got, m)
			case <-deadline:
				t.Fatalf("no rebalance after a join: %v", got)
			}
		}
		assert.Len(t, got[0][topic], 2)
		assert.Len(t, got[1][topic], 2)
		b.Close() // leaves the group
		select {
		case m := <-owned:
			assert.Len(t, m[topic], 4, "the remaining member takes every partition back")
		case <-deadline:
			t.Fatal("no rebalance after a leave")
		}
		a.Close()
	})
}
