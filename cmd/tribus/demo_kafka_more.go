package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tribusmq/tribus"
	tlog "github.com/tribusmq/tribus/log"
)

// The names of demoKafkaMore's topics, group and transactional id, apart from the other
// scenarios' on the same broker.
const (
	morePayments = "more.payments"
	moreGroup    = "more.settlement"
	moreLedger   = "more.ledger"
	moreTxnID    = "more.ledger-writer"
	moreAudit    = "more.audit"
)

// demoKafkaMore tells three more Kafka stories on b's log: a group member that crashes before
// it commits, whose records the survivor reads again once the coordinator expires it (K22,
// K23); a transaction that commits and one that aborts, as read_committed and read_uncommitted
// consumers see them (K42, K43); and a replay by offset and by timestamp (K15, K16).
//
// Each story starts where its topic ends, so a second run, on the same broker or on a durable
// directory, tells the same story on new records: only offsets and generations differ. The
// members are driven in turns from this goroutine, so what it prints does not depend on timing.
func demoKafkaMore(ctx context.Context, w io.Writer, b *tribus.Broker) error {
	for _, tell := range kafkaMoreTales {
		if err := tell(ctx, w, b.Log()); err != nil {
			return err
		}
	}
	return nil
}

// kafkaMoreTales are demoKafkaMore's stories in the order it tells them; the demo tells each
// with its own timeline.
var kafkaMoreTales = []func(context.Context, io.Writer, *tlog.Log) error{
	moreCrash, moreTransactions, moreCooperative, moreReplay, moreRetention,
}

// moreRetention is the retention story: on a topic whose segments roll at every record and
// whose retention keeps about two segments' worth, old segments are deleted whole and the log
// start offset moves up, so a replay from an old offset is out of range.
func moreRetention(ctx context.Context, w io.Writer, l *tlog.Log) error {
	fmt.Fprintln(w, "== retention (Kafka model): old segments are deleted, and replay starts later ==")
	const topic = "more.retention"
	err := l.CreateTopic(topic, tlog.TopicConfig{Partitions: 1, SegmentBytes: 100, RetentionBytes: 200, RetentionTime: -1})
	if err != nil && !errors.Is(err, tlog.ErrTopicExists) {
		return err
	}
	first, _, err := l.ListOffsets(topic, 0, tlog.Latest)
	if err != nil {
		return err
	}
	for i := range 5 {
		if _, err := l.Produce(ctx, topic, tlog.Record{Value: fmt.Appendf(nil, "EVT-%d %s", i+1, strings.Repeat(".", 40))}); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "topic %q: segment.bytes 100, retention.bytes 200; 5 records at offsets %d..%d, a segment each\n", topic, first, first+4)
	l.RunRetention() // what the periodic check (log.retention.check.interval.ms) does
	start, _, err := l.ListOffsets(topic, 0, tlog.Earliest)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "  after the retention check the log starts at offset %d\n", start)
	_, err = l.Fetch(ctx, topic, 0, first, tlog.FetchOptions{})
	var oor *tlog.OffsetOutOfRangeError
	if !errors.As(err, &oor) {
		return fmt.Errorf("a fetch below the log start offset returned %v, want an offset out of range", err)
	}
	fmt.Fprintf(w, "  Fetch from offset %d: offset out of range (the log holds %d..%d)\n", first, oor.Start, oor.End-1)
	fmt.Fprintln(w, "why: retention deletes whole segments, oldest first, while what stays is at least retention.bytes (K31); a consumer there resets by auto.offset.reset (K13)")
	fmt.Fprintln(w)
	return nil
}

// moreCrash is the crash story: settle-a and settle-b share more.payments; settle-b polls two
// payments and dies before committing them; the coordinator expires it, and settle-a, in the
// next generation, reads them again.
func moreCrash(ctx context.Context, w io.Writer, l *tlog.Log) error {
	fmt.Fprintf(w, "== consumer group crash (Kafka model): a member of %q dies before it commits ==\n", moreGroup)
	tps, err := moreTopic(l, morePayments, 2)
	if err != nil {
		return err
	}
	// Whatever earlier runs committed, the group starts where the topic ends now.
	if err := l.ResetGroupOffsets(moreGroup, tlog.Latest, time.Time{}, tps...); err != nil {
		return err
	}
	var starts []string
	for _, tp := range tps {
		end, _, err := l.ListOffsets(tp.Topic, tp.Partition, tlog.Latest)
		if err != nil {
			return err
		}
		starts = append(starts, fmt.Sprintf("%s-%d@%d", tp.Topic, tp.Partition, end))
	}
	fmt.Fprintf(w, "topic %q has 2 partitions; group %q starts where it ends: committed %s\n",
		morePayments, moreGroup, strings.Join(starts, " "))

	quiet := false // set before the members close, whose revocations are not the story
	member := func(name string) (*tlog.GroupConsumer, error) {
		return moreMember(l, w, moreGroup, morePayments, name, nil, &quiet)
	}
	a, err := member("settle-a")
	if err != nil {
		return err
	}
	b, err := member("settle-b")
	if err != nil {
		a.Close()
		return err
	}
	defer func() {
		quiet = true
		a.Close()
		b.Close() // nothing to do once it crashed
	}()

	fmt.Fprintln(w, "settle-a polls first and joins alone (auto-commit off):")
	if err := moreJoin(ctx, a, func() bool { return a.Generation() >= 0 }); err != nil {
		return err
	}
	first := a.Generation()
	fmt.Fprintln(w, "settle-b joins; the group rebalances:")
	if err := moreJoin(ctx, b, func() bool { return b.MemberID() != "" }); err != nil {
		return err
	}
	// settle-a learns of the rebalance at its heartbeat and rejoins; then settle-b takes its part.
	if err := moreJoin(ctx, a, func() bool { return a.Generation() > first }); err != nil {
		return err
	}
	if err := moreJoin(ctx, b, func() bool { return b.Generation() == a.Generation() }); err != nil {
		return err
	}
	fmt.Fprintln(w, "why: range is an eager assignor: at every rebalance each member first gives up all its partitions (revoke-all), then takes its new share (K25)")
	desc, err := l.DescribeGroup(moreGroup)
	if err != nil {
		return err
	}
	if desc.State != tlog.GroupStable || desc.Generation != a.Generation() {
		return fmt.Errorf("group %q is %s at generation %d, its members at %d", moreGroup, desc.State, desc.Generation, a.Generation())
	}
	fmt.Fprintf(w, "group %s at generation %d, assignor %s: settle-a owns %s, settle-b owns %s\n",
		desc.State, desc.Generation, desc.Protocol, partitionList(a.Assignment()), partitionList(b.Assignment()))

	var produced []string
	for i, p := range []int32{0, 1, 0, 1} {
		id := fmt.Sprintf("PAY-%d", i+1)
		res, err := l.ProduceTo(ctx, morePayments, p, tlog.Record{Key: []byte(id), Value: []byte("payment.received")})
		if err != nil {
			return err
		}
		produced = append(produced, fmt.Sprintf("%s -> %s-%d@%d", id, morePayments, res.Partition, res.Offset))
	}
	fmt.Fprintf(w, "produce %s\n", strings.Join(produced, ", "))

	recs, err := pollRecords(ctx, a, 2)
	if err != nil {
		return err
	}
	if err := a.Commit(ctx); err != nil {
		return err
	}
	fmt.Fprintf(w, "  settle-a settles %s; commits\n", moreRecords(recs))
	if recs, err = pollRecords(ctx, b, 2); err != nil {
		return err
	}
	fmt.Fprintf(w, "  settle-b polls %s, then crashes before committing them\n", moreRecords(recs))
	expired := b.MemberID()
	b.Crash()
	fmt.Fprintf(w, "settle-b sends no LeaveGroup and no more heartbeats: its session would time out after %v; the coordinator's expiry is done now\n",
		tlog.DefaultSessionTimeout)
	// What the coordinator does when the session runs out, without the wait: the member is
	// dropped, and the group rebalances among the others.
	if err := l.ExpireSession(moreGroup, expired); err != nil {
		return err
	}
	if recs, err = pollRecords(ctx, a, 2); err != nil {
		return err
	}
	if err := a.Commit(ctx); err != nil {
		return err
	}
	fmt.Fprintf(w, "  settle-a settles %s again; commits\n", moreRecords(recs))
	fmt.Fprintln(w, "why: at-least-once: settle-b polled them but never committed, so their next owner starts at the last committed offset and reads them again (K22)")
	if desc, err = l.DescribeGroup(moreGroup); err != nil {
		return err
	}
	fmt.Fprintf(w, "group %s at generation %d with %s: settle-a owns %s\n\n", desc.State, desc.Generation,
		fmt.Sprintf("%d %s", len(desc.Members), plural(len(desc.Members), "member")), partitionList(a.Assignment()))
	return nil
}

// moreTransactions is the exactly-once story: a transactional producer commits one
// transaction on more.ledger and aborts another, and consumers at both isolation levels read
// what this run wrote.
func moreTransactions(ctx context.Context, w io.Writer, l *tlog.Log) error {
	fmt.Fprintln(w, "== exactly-once (Kafka model): one transaction commits, another aborts ==")
	tp, start, err := moreTopicEnd(l, moreLedger)
	if err != nil {
		return err
	}
	pr, err := l.NewTransactionalProducer(tlog.TransactionalOptions{TransactionalID: moreTxnID})
	if err != nil {
		return err
	}
	defer pr.Close()
	if err := pr.InitTransactions(ctx); err != nil {
		return err
	}
	fmt.Fprintf(w, "producer with transactional.id %q: InitTransactions fences any older producer with that id (K41)\n", moreTxnID)

	txn := func(id string) ([]string, error) {
		if err := pr.BeginTransaction(); err != nil {
			return nil, err
		}
		var wrote []string
		for _, ev := range []string{"debit", "credit"} {
			res, err := pr.ProduceTo(ctx, tp.Topic, tp.Partition, tlog.Record{Key: []byte(id), Value: []byte(ev)})
			if err != nil {
				return nil, err
			}
			wrote = append(wrote, fmt.Sprintf("%s %s @%d", id, ev, res.Offset))
		}
		return wrote, nil
	}
	wrote, err := txn("PAY-1")
	if err != nil {
		return err
	}
	if err := pr.CommitTransaction(ctx); err != nil {
		return err
	}
	committed, _, err := l.ListOffsets(tp.Topic, tp.Partition, tlog.Latest)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "txn 1 writes %s to %s-%d; CommitTransaction\n", strings.Join(wrote, ", "), tp.Topic, tp.Partition)
	if wrote, err = txn("PAY-2"); err != nil {
		return err
	}
	hw, _, err := l.ListOffsets(tp.Topic, tp.Partition, tlog.Latest)
	if err != nil {
		return err
	}
	lso, _, err := l.ListOffsetsIsolated(tp.Topic, tp.Partition, tlog.Latest, tlog.ReadCommitted)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "txn 2 writes %s; while it is open the high watermark is %d and the last stable offset %d\n",
		strings.Join(wrote, ", "), hw, lso)
	fmt.Fprintln(w, "why: read_committed reads only below the last stable offset, the first offset of a transaction still open (K43)")
	if err := pr.AbortTransaction(ctx); err != nil {
		return err
	}
	end, _, err := l.ListOffsets(tp.Topic, tp.Partition, tlog.Latest)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "txn 2: AbortTransaction; the partition now ends at %d, its markers at offsets %d and %d\n", end, committed-1, end-1)
	fmt.Fprintln(w, "why: each commit and abort writes a control marker to the partition, which takes one offset and no consumer ever sees (K42)")

	for _, iso := range []tlog.IsolationLevel{tlog.ReadCommitted, tlog.ReadUncommitted} {
		c := l.NewConsumer(tlog.ConsumerOptions{MaxWait: 50 * time.Millisecond, Isolation: iso})
		if err := c.Assign(tp); err != nil {
			return err
		}
		if err := c.Seek(tp, start); err != nil {
			return err
		}
		recs, err := moreReadTo(ctx, c, tp, end)
		if err != nil {
			return err
		}
		var seen []string
		for _, r := range recs {
			seen = append(seen, fmt.Sprintf("%s %s @%d", r.Key, r.Value, r.Offset))
		}
		fmt.Fprintf(w, "%s consumer from offset %d reads %s: %s\n", iso, start, fmt.Sprintf("%d %s", len(recs), plural(len(recs), "record")), strings.Join(seen, ", "))
	}
	fmt.Fprintln(w, "why: exactly-once: read_committed skips the aborted transaction's records, so a reader gets each transaction whole or not at all (K43)")
	fmt.Fprintln(w, "why: read_uncommitted, Kafka's default, reads up to the high watermark, aborted records too")
	fmt.Fprintln(w)
	return nil
}

// moreReplay is the replay story: three audit records a second apart on more.audit, read again
// from an offset and from a time.
func moreReplay(ctx context.Context, w io.Writer, l *tlog.Log) error {
	fmt.Fprintln(w, "== replay (Kafka model): seek by offset and by timestamp ==")
	tp, start, err := moreTopicEnd(l, moreAudit)
	if err != nil {
		return err
	}
	// The records' timestamps go up through the topic, also across runs in the same
	// millisecond or a second apart, so a lookup by time never lands on an earlier run's.
	t0 := time.Now().Truncate(time.Millisecond)
	if off, newest, err := l.ListOffsets(tp.Topic, tp.Partition, tlog.MaxTimestamp); err != nil {
		return err
	} else if off >= 0 && !newest.Before(t0) {
		t0 = newest.Add(time.Millisecond)
	}
	var produced []string
	for i := range 3 {
		id := fmt.Sprintf("AUD-%d", i+1)
		at := t0.Add(time.Duration(i) * time.Second)
		res, err := l.ProduceTo(ctx, tp.Topic, tp.Partition, tlog.Record{Key: []byte(id), Value: []byte("refund.approved"), Timestamp: at})
		if err != nil {
			return err
		}
		produced = append(produced, fmt.Sprintf("%s @%d at t0+%v", id, res.Offset, at.Sub(t0)))
	}
	fmt.Fprintf(w, "produce to %s-%d: %s\n", tp.Topic, tp.Partition, strings.Join(produced, ", "))
	end, _, err := l.ListOffsets(tp.Topic, tp.Partition, tlog.Latest)
	if err != nil {
		return err
	}

	c := l.NewConsumer(tlog.ConsumerOptions{MaxWait: 50 * time.Millisecond})
	if err := c.Assign(tp); err != nil {
		return err
	}
	replay := func(how string) error {
		recs, err := moreReadTo(ctx, c, tp, end)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "  %s, the next Poll reads %s\n", how, moreRecords(recs))
		return nil
	}
	if err := c.Seek(tp, start); err != nil {
		return err
	}
	if err := replay(fmt.Sprintf("Seek to offset %d", start)); err != nil {
		return err
	}
	off, at, err := l.ListOffsets(tp.Topic, tp.Partition, t0.Add(500*time.Millisecond).UnixMilli())
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "  ListOffsets(t0+500ms) -> offset %d, timestamp t0+%v: the first record at or after that time (K16)\n", off, at.Sub(t0))
	if err := c.Seek(tp, off); err != nil {
		return err
	}
	if err := replay(fmt.Sprintf("Seek to offset %d", off)); err != nil {
		return err
	}
	if err := c.SeekToTime(t0.Add(2*time.Second), tp); err != nil {
		return err
	}
	if err := replay("SeekToTime(t0+2s)"); err != nil {
		return err
	}
	fmt.Fprintln(w, "why: reading consumes nothing: the log keeps every record for its retention, and a seek only moves this reader's next Poll, committing nothing (K15)")
	fmt.Fprintln(w)
	return nil
}

// moreTopic creates topic with n partitions, or finds it from an earlier run, and returns its
// partitions.
func moreTopic(l *tlog.Log, topic string, n int) ([]tlog.TopicPartition, error) {
	if err := l.CreateTopic(topic, tlog.TopicConfig{Partitions: n}); err != nil && !errors.Is(err, tlog.ErrTopicExists) {
		return nil, err
	}
	info, err := l.DescribeTopic(topic)
	if err != nil {
		return nil, err
	}
	tps := make([]tlog.TopicPartition, len(info.Partitions))
	for p := range tps {
		tps[p] = tlog.TopicPartition{Topic: topic, Partition: int32(p)}
	}
	return tps, nil
}

// moreTopicEnd creates the one-partition topic if it is missing and returns its partition
// and where it ends, where this run's story starts.
func moreTopicEnd(l *tlog.Log, topic string) (tlog.TopicPartition, int64, error) {
	tps, err := moreTopic(l, topic, 1)
	if err != nil {
		return tlog.TopicPartition{}, 0, err
	}
	end, _, err := l.ListOffsets(topic, 0, tlog.Latest)
	return tps[0], end, err
}

// moreMember returns a member of group on topic, named name, with auto-commit off, that
// prints each revoke and assignment its listener is told of unless *quiet. assignors nil
// means the default (range first).
func moreMember(l *tlog.Log, w io.Writer, group, topic, name string, assignors []tlog.Assignor, quiet *bool) (*tlog.GroupConsumer, error) {
	return l.NewGroupConsumer(tlog.GroupConsumerOptions{GroupID: group, Topics: []string{topic},
		ClientID: name, MaxWait: 50 * time.Millisecond, DisableAutoCommit: true, Assignors: assignors,
		Listener: tlog.RebalanceListener{
			Revoked: func(_ *tlog.GroupConsumer, tps []tlog.TopicPartition) {
				if !*quiet {
					fmt.Fprintf(w, "  %s revoked %s\n", name, partitionList(tps))
				}
			},
			Assigned: func(c *tlog.GroupConsumer, tps []tlog.TopicPartition) {
				if !*quiet {
					fmt.Fprintf(w, "  %s assigned %s (generation %d)\n", name, partitionList(tps), c.Generation())
				}
			},
		}})
}

// moreCooperative is the cooperative rebalance: with cooperative-sticky, a member joining
// takes partitions from the others without anyone giving up the rest, in two rebalances.
func moreCooperative(ctx context.Context, w io.Writer, l *tlog.Log) error {
	const topic, group = "more.shipments", "more.shipping"
	fmt.Fprintf(w, "== cooperative rebalance (Kafka model): %q moves only what must move ==\n", group)
	if _, err := moreTopic(l, topic, 4); err != nil {
		return err
	}
	quiet := false
	coop := []tlog.Assignor{tlog.CooperativeStickyAssignor{}}
	a, err := moreMember(l, w, group, topic, "ship-a", coop, &quiet)
	if err != nil {
		return err
	}
	b, err := moreMember(l, w, group, topic, "ship-b", coop, &quiet)
	if err != nil {
		a.Close()
		return err
	}
	defer func() {
		quiet = true
		b.Close()
		a.Close()
	}()
	fmt.Fprintln(w, "ship-a joins alone with cooperative-sticky:")
	if err := moreJoin(ctx, a, func() bool { return a.Generation() >= 0 }); err != nil {
		return err
	}
	fmt.Fprintln(w, "ship-b joins:")
	if err := moreJoin(ctx, b, func() bool { return b.MemberID() != "" }); err != nil {
		return err
	}
	// The members take turns until ship-b owns its share, which takes two rebalances.
	for range 20 {
		if len(b.Assignment()) == 2 && len(a.Assignment()) == 2 && a.Generation() == b.Generation() {
			break
		}
		for _, c := range []*tlog.GroupConsumer{a, b} {
			if _, err := c.Poll(ctx); err != nil {
				return err
			}
		}
	}
	if len(b.Assignment()) != 2 {
		return fmt.Errorf("ship-b owns %s after the rebalances, want 2 partitions", partitionList(b.Assignment()))
	}
	fmt.Fprintf(w, "ship-a owns %s, ship-b owns %s\n", partitionList(a.Assignment()), partitionList(b.Assignment()))
	fmt.Fprintln(w, "why: cooperative-sticky revokes only the partitions that move, and they reach their new owner in a second rebalance; ship-a never gave up the others, so it could go on consuming them through both (KIP-429, K25)")
	fmt.Fprintln(w)
	return nil
}

// moreJoin polls c, as its poll loop would, until done reports that it reached the group
// state the story waits for. Nothing is produced meanwhile, so it reads nothing.
func moreJoin(ctx context.Context, c *tlog.GroupConsumer, done func() bool) error {
	for range 20 {
		recs, err := c.Poll(ctx)
		if err != nil {
			return err
		}
		if len(recs) > 0 {
			return fmt.Errorf("%s read %d records while joining", c.MemberID(), len(recs))
		}
		if done() {
			return nil
		}
	}
	return fmt.Errorf("%s did not reach the expected group state", c.MemberID())
}

// moreReadTo polls c until its position on tp reaches end, so that the last Poll does not
// wait for records that will not come.
func moreReadTo(ctx context.Context, c *tlog.Consumer, tp tlog.TopicPartition, end int64) ([]tlog.Record, error) {
	var got []tlog.Record
	for range 10 {
		pos, err := c.Position(tp)
		if err != nil {
			return nil, err
		}
		if pos >= end {
			return got, nil
		}
		recs, err := c.Poll(ctx)
		if err != nil {
			return nil, err
		}
		got = append(got, recs...)
	}
	return nil, fmt.Errorf("%s-%d: the consumer did not reach offset %d", tp.Topic, tp.Partition, end)
}

// moreRecords formats records by key and place, as "PAY-1 more.payments-0@3".
func moreRecords(recs []tlog.Record) string {
	s := make([]string, len(recs))
	for i, r := range recs {
		s[i] = fmt.Sprintf("%s %s-%d@%d", r.Key, r.Topic, r.Partition, r.Offset)
	}
	return strings.Join(s, ", ")
}
