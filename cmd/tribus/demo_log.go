package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	tlog "github.com/tribusmq/tribus/log"
)

// orderEvent is the Kafka scenario's event.
type orderEvent struct {
	EventType string `json:"event_type"`
	OrderID   string `json:"order_id"`
	Timestamp string `json:"timestamp"`
}

// demoLog is the Kafka scenario: keyed JSON order events on topic "orders", read in order per
// partition, then replayed from the earliest offset by a second reader, then from a sought
// offset. A durable run finds the events of earlier runs still there.
func demoLog(ctx context.Context, w io.Writer, l *tlog.Log) error {
	fmt.Fprintln(w, "== commit log (Kafka model): order events, replayable ==")
	err := l.CreateTopic("orders", tlog.TopicConfig{Partitions: 3})
	if err != nil && !errors.Is(err, tlog.ErrTopicExists) {
		return err
	}
	info, err := l.DescribeTopic("orders")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "topic %q: %d partitions, retention %v, cleanup.policy %s\n", info.Name, info.Config.Partitions,
		info.Config.RetentionTime, info.Config.CleanupPolicy)
	var earlier int64
	for _, p := range info.Partitions {
		earlier += p.EndOffset - p.StartOffset
	}
	if earlier > 0 {
		fmt.Fprintf(w, "the log already holds %d events from earlier runs\n", earlier)
	}

	events := []orderEvent{
		{"order.created", "ORD-123", "2026-06-23T12:00:00Z"},
		{"order.created", "ORD-124", "2026-06-23T12:00:05Z"},
		{"order.paid", "ORD-123", "2026-06-23T12:01:00Z"},
		{"order.shipped", "ORD-123", "2026-06-23T14:30:00Z"},
		{"order.paid", "ORD-124", "2026-06-23T12:02:00Z"},
	}
	for _, ev := range events {
		value, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		at, _ := time.Parse(time.RFC3339, ev.Timestamp)
		res, err := l.Produce(ctx, "orders", tlog.Record{Key: []byte(ev.OrderID), Value: value, Timestamp: at})
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "produce key=%s %s -> partition %d offset %d (acks=all)\n", ev.OrderID, ev.EventType, res.Partition, res.Offset)
	}
	fmt.Fprintln(w, "equal keys land on the same partition, so each order's events stay in order")

	read := func(name string, c *tlog.Consumer) ([]tlog.Record, error) {
		var all []tlog.Record
		for {
			recs, err := c.Poll(ctx)
			if err != nil {
				return nil, err
			}
			if len(recs) == 0 {
				return all, nil
			}
			for _, r := range recs {
				var ev orderEvent
				if err := json.Unmarshal(r.Value, &ev); err != nil {
					return nil, err
				}
				fmt.Fprintf(w, "  %s: partition %d offset %d %s %s\n", name, r.Partition, r.Offset, ev.OrderID, ev.EventType)
			}
			all = append(all, recs...)
		}
	}
	assign := func() (*tlog.Consumer, error) {
		c := l.NewConsumer(tlog.ConsumerOptions{Reset: tlog.ResetEarliest, MaxWait: 10 * time.Millisecond})
		var tps []tlog.TopicPartition
		for p := range info.Partitions {
			tps = append(tps, tlog.TopicPartition{Topic: "orders", Partition: int32(p)})
		}
		return c, c.Assign(tps...)
	}
	notifier, err := assign()
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "reader notification-service, auto.offset.reset=earliest:")
	first, err := read("notification-service", notifier)
	if err != nil {
		return err
	}
	analytics, err := assign()
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "a second reader replays the same events from the earliest offset; nothing was consumed away:")
	second, err := read("analytics", analytics)
	if err != nil {
		return err
	}
	if len(first) != len(second) {
		return fmt.Errorf("replay read %d events, the first reader %d", len(second), len(first))
	}
	last := first[len(first)-1]
	tp := tlog.TopicPartition{Topic: "orders", Partition: last.Partition}
	if err := analytics.Seek(tp, last.Offset); err != nil {
		return err
	}
	fmt.Fprintf(w, "analytics seeks partition %d back to offset %d and reads it again:\n", last.Partition, last.Offset)
	if _, err := read("analytics", analytics); err != nil {
		return err
	}
	fmt.Fprintln(w)
	return nil
}
