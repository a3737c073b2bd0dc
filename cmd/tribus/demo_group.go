package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	tlog "github.com/tribusmq/tribus/log"
)

// demoGroup is the Kafka consumer-group scenario, on the topic demoLog created: two members of
// group "billing" share the partitions of "orders"; one leaves without committing what it
// read, and the other, after the rebalance, reads that work again (at-least-once, K22).
//
// Both members are driven in turns from this goroutine, so what it prints does not depend on
// timing. The group starts at the end of each partition: on a durable broker the offsets an
// earlier run committed are reset first, so every run bills only the orders it produces.
func demoGroup(ctx context.Context, w io.Writer, l *tlog.Log) error {
	const topic, group = "orders", "billing"
	fmt.Fprintf(w, "== consumer group (Kafka model): %q shares the partitions of %q ==\n", group, topic)
	info, err := l.DescribeTopic(topic)
	if err != nil {
		return err
	}
	var all []tlog.TopicPartition
	for p := range info.Partitions {
		all = append(all, tlog.TopicPartition{Topic: topic, Partition: int32(p)})
	}
	switch _, err := l.DescribeGroup(group); {
	case err == nil:
		if err := l.ResetGroupOffsets(group, tlog.Latest, time.Time{}, all...); err != nil {
			return err
		}
		fmt.Fprintf(w, "group %q has offsets from an earlier run: reset to the end of each partition\n", group)
	case !errors.Is(err, tlog.ErrUnknownGroup):
		return err
	}

	// Members are called by their client ids: their member ids carry a suffix unique to the
	// broker's run, which would make the story differ from run to run.
	names := map[*tlog.GroupConsumer]string{}
	name := func(c *tlog.GroupConsumer) string { return names[c] }
	// The listener narrates only once both members are in, not the rebalance b's arrival caused.
	narrate := false
	listener := tlog.RebalanceListener{
		Revoked: func(c *tlog.GroupConsumer, tps []tlog.TopicPartition) {
			if narrate {
				fmt.Fprintf(w, "  %s revoked %s\n", name(c), partitionList(tps))
			}
		},
		Assigned: func(c *tlog.GroupConsumer, tps []tlog.TopicPartition) {
			if narrate {
				fmt.Fprintf(w, "  %s assigned %s (generation %d)\n", name(c), partitionList(tps), c.Generation())
			}
		},
	}
	member := func(clientID string, listener tlog.RebalanceListener) (*tlog.GroupConsumer, error) {
		return l.NewGroupConsumer(tlog.GroupConsumerOptions{GroupID: group, Topics: []string{topic},
			ClientID: clientID, MaxPollRecords: 2, MaxWait: 50 * time.Millisecond,
			DisableAutoCommit: true, Listener: listener})
	}
	a, err := member("billing-a", listener)
	if err != nil {
		return err
	}
	defer a.Close()
	b, err := member("billing-b", tlog.RebalanceListener{})
	if err != nil {
		return err
	}
	defer b.Close()
	names[a], names[b] = "billing-a", "billing-b"

	// Poll both in turns until each holds the group's current generation, as their poll loops
	// would. Nothing has been produced since the group's start offsets, so nothing is read.
	var desc tlog.GroupDescription
	for i := 0; ; i++ {
		if i == 10 {
			return fmt.Errorf("group %q did not settle: %+v", group, desc)
		}
		for _, c := range []*tlog.GroupConsumer{a, b} {
			recs, err := c.Poll(ctx)
			if err != nil {
				return err
			}
			if len(recs) > 0 {
				return fmt.Errorf("%s read %d records while joining", name(c), len(recs))
			}
		}
		if desc, err = l.DescribeGroup(group); err != nil {
			return err
		}
		if desc.State == tlog.GroupStable && a.Generation() == desc.Generation && b.Generation() == desc.Generation {
			break
		}
	}
	narrate = true
	fmt.Fprintf(w, "%s and %s joined: generation %d, assignor %s, max.poll.records 2, auto-commit off\n",
		name(a), name(b), desc.Generation, desc.Protocol)
	for _, c := range []*tlog.GroupConsumer{a, b} {
		fmt.Fprintf(w, "  %s owns %s\n", name(c), partitionList(c.Assignment()))
	}

	var parts []string
	for i := 125; i <= 131; i++ {
		p, err := produceOrder(ctx, l, topic, fmt.Sprintf("ORD-%d", i))
		if err != nil {
			return err
		}
		parts = append(parts, fmt.Sprint(p))
	}
	fmt.Fprintf(w, "produce order.created ORD-125..ORD-131 -> partitions %s\n", strings.Join(parts, " "))

	// bill polls c until it has read n records, and prints them in partition and offset order.
	bill := func(c *tlog.GroupConsumer, n int, tail string) error {
		got, err := pollRecords(ctx, c, n)
		if err != nil {
			return err
		}
		slices.SortFunc(got, func(x, y tlog.Record) int {
			return cmp.Or(cmp.Compare(x.Partition, y.Partition), cmp.Compare(x.Offset, y.Offset))
		})
		var items []string
		for _, r := range got {
			var ev orderEvent
			if err := json.Unmarshal(r.Value, &ev); err != nil {
				return err
			}
			items = append(items, fmt.Sprintf("%s %s-%d@%d", ev.OrderID, r.Topic, r.Partition, r.Offset))
		}
		fmt.Fprintf(w, "  %s bills %s%s\n", name(c), strings.Join(items, ", "), tail)
		return nil
	}
	if err := bill(a, 3, "; commits"); err != nil {
		return err
	}
	if err := a.Commit(ctx); err != nil {
		return err
	}
	if err := bill(b, 2, "; commits"); err != nil {
		return err
	}
	if err := b.Commit(ctx); err != nil {
		return err
	}
	if err := bill(b, 2, ", then leaves the group before committing them"); err != nil {
		return err
	}
	if err := b.Close(); err != nil {
		return err
	}
	if err := bill(a, 2, " again; commits"); err != nil {
		return err
	}
	if err := a.Commit(ctx); err != nil {
		return err
	}
	fmt.Fprintln(w, "at-least-once: records polled but not committed are delivered again after a rebalance")

	p, err := produceOrder(ctx, l, topic, "ORD-132")
	if err != nil {
		return err
	}
	lag, err := l.GroupLag(group)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "ORD-132 arrives on partition %d; lag of group %q:\n", p, group)
	for _, tp := range slices.SortedFunc(maps.Keys(lag), func(x, y tlog.TopicPartition) int {
		return cmp.Or(cmp.Compare(x.Topic, y.Topic), cmp.Compare(x.Partition, y.Partition))
	}) {
		pl := lag[tp]
		fmt.Fprintf(w, "  %s-%d: committed %d, end %d, lag %d\n", tp.Topic, tp.Partition, pl.Committed, pl.End, pl.Lag)
	}
	narrate = false
	if err := a.Close(); err != nil {
		return err
	}
	fmt.Fprintf(w, "%s leaves too; the group is empty and keeps its committed offsets\n\n", name(a))
	return nil
}

// produceOrder produces an order.created event keyed by the order id and returns its partition.
func produceOrder(ctx context.Context, l *tlog.Log, topic, orderID string) (int32, error) {
	value, err := json.Marshal(orderEvent{EventType: "order.created", OrderID: orderID, Timestamp: "2026-06-23T15:00:00Z"})
	if err != nil {
		return 0, err
	}
	res, err := l.Produce(ctx, topic, tlog.Record{Key: []byte(orderID), Value: value})
	if err != nil {
		return 0, err
	}
	return res.Partition, nil
}

// partitionList formats partitions as Kafka's tools do, topic-partition.
func partitionList(tps []tlog.TopicPartition) string {
	if len(tps) == 0 {
		return "nothing"
	}
	s := make([]string, len(tps))
	for i, tp := range tps {
		s[i] = tp.String()
	}
	return strings.Join(s, " ")
}

// pollRecords polls c, ten times at most, until it has read n records.
func pollRecords(ctx context.Context, c *tlog.GroupConsumer, n int) ([]tlog.Record, error) {
	var got []tlog.Record
	for range 10 {
		if len(got) >= n {
			break
		}
		recs, err := c.Poll(ctx)
		if err != nil {
			return nil, err
		}
		got = append(got, recs...)
	}
	if len(got) != n {
		return nil, fmt.Errorf("%s read %d records, want %d", c.MemberID(), len(got), n)
	}
	return got, nil
}
