package log_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	tlog "github.com/tribusmq/tribus/log"
)

// transform is one step of a consume-transform-produce loop: poll "in", write each record
// upper-cased to "out" and send the consumer's offsets in the same transaction, then commit
// unless crash is set, in which case it returns with the transaction open. It reports how
// many records it handled.
func transform(ctx context.Context, c *tlog.GroupConsumer, pr *tlog.TransactionalProducer, crash bool) (int, error) {
	recs, err := c.Poll(ctx)
	if err != nil || len(recs) == 0 {
		return 0, err
	}
	if err := pr.BeginTransaction(); err != nil {
		return 0, err
	}
	next := map[tlog.TopicPartition]tlog.OffsetAndMetadata{}
	for _, r := range recs {
		out := tlog.Record{Key: r.Key, Value: []byte(strings.ToUpper(string(r.Value)))}
		if _, err := pr.ProduceTo(ctx, "out", r.Partition, out); err != nil {
			return 0, err
		}
		next[tlog.TopicPartition{Topic: r.Topic, Partition: r.Partition}] = tlog.OffsetAndMetadata{Offset: r.Offset + 1, LeaderEpoch: -1}
	}
	if err := pr.SendOffsetsToTransaction(ctx, next, c.GroupMetadata()); err != nil {
		return 0, err
	}
	if crash {
		return len(recs), nil
	}
	return len(recs), pr.CommitTransaction(ctx)
}

// Effectively-once consume-transform-produce (K42, K43): a read_committed group consumer
// reads "in", a transactional producer writes the transformed records to "out" and commits
// the consumer's offsets in the same transaction. The process "crashes" in the middle of a
// transaction (the Log is closed under it and the producer abandoned); after a restart the
// open transaction is aborted, the group resumes from the offsets of the last committed
// transaction, and "out" read at read_committed holds every input transformed exactly once.
func ExampleTransactionalProducer_consumeTransformProduce() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "tribus-txn-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	start := func() (*tlog.Log, *tlog.GroupConsumer, *tlog.TransactionalProducer) {
		l, err := tlog.Open(dir, nil)
		if err != nil {
			panic(err)
		}
		c, err := l.NewGroupConsumer(tlog.GroupConsumerOptions{GroupID: "upper", Topics: []string{"in"},
			Reset: tlog.ResetEarliest, Isolation: tlog.ReadCommitted, DisableAutoCommit: true,
			MaxPollRecords: 4, MaxWait: 50 * time.Millisecond})
		if err != nil {
			panic(err)
		}
		pr, err := l.NewTransactionalProducer(tlog.TransactionalOptions{TransactionalID: "upper-1"})
		if err != nil {
			panic(err)
		}
		if err := pr.InitTransactions(ctx); err != nil {
			panic(err)
		}
		return l, c, pr
	}

	l, err := tlog.Open(dir, nil)
	if err != nil {
		panic(err)
	}
	_ = l.CreateTopic("in", tlog.TopicConfig{})
	_ = l.CreateTopic("out", tlog.TopicConfig{})
	for i := range 10 {
		_, _ = l.Produce(ctx, "in", tlog.Record{Value: []byte(fmt.Sprint("order-", i))})
	}
	_ = l.Close()

	// First run: one transaction commits, the second is cut short by a crash.
	l, c, pr := start()
	n, err := transform(ctx, c, pr, false)
	fmt.Println("committed:", n, err)
	n, err = transform(ctx, c, pr, true)
	fmt.Println("in flight at the crash:", n, err)
	c.Crash()
	_ = l.Close() // the producer is abandoned with its transaction open

	// Restart: the open transaction is aborted at open; the group resumes at offset 4.
	l, c, pr = start()
	for {
		n, err := transform(ctx, c, pr, false)
		if err != nil {
			panic(err)
		}
		if n == 0 {
			break
		}
		fmt.Println("committed:", n)
	}

	var got []string
	for _, iso := range []tlog.IsolationLevel{tlog.ReadCommitted, tlog.ReadUncommitted} {
		got = got[:0]
		for from := int64(0); ; {
			recs, err := l.Fetch(ctx, "out", 0, from, tlog.FetchOptions{Isolation: iso})
			if err != nil {
				panic(err)
			}
			if len(recs) == 0 {
				break
			}
			for _, r := range recs {
				got = append(got, string(r.Value))
			}
			from = recs[len(recs)-1].Offset + 1
		}
		fmt.Printf("%s: %d records\n", iso, len(got))
		if iso == tlog.ReadCommitted {
			fmt.Println(strings.Join(got, " "))
		}
	}
	_ = c.Close()
	_ = pr.Close()
	_ = l.Close()
	// Output:
	// committed: 4 <nil>
	// in flight at the crash: 4 <nil>
	// committed: 4
	// committed: 2
	// read_committed: 10 records
	// ORDER-0 ORDER-1 ORDER-2 ORDER-3 ORDER-4 ORDER-5 ORDER-6 ORDER-7 ORDER-8 ORDER-9
	// read_uncommitted: 14 records
}
