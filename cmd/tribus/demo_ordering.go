package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tribusmq/tribus"
	"github.com/tribusmq/tribus/exchange"
	tlog "github.com/tribusmq/tribus/log"
)

// demoOrdering is the ordering scenario: what order each model promises. A queue delivers in
// publish order (A61); a topic keeps order within each partition and promises none across
// them (K3); a channel's subscriber gets its messages in publish order. It waits only on
// deliveries and polls, and can run again on the same broker.
func demoOrdering(ctx context.Context, w io.Writer, b *tribus.Broker) error {
	fmt.Fprintln(w, "== ordering: per queue, per partition, per channel ==")

	r := b.Router()
	const queue = "ordering.q"
	if _, err := r.QueueDelete(queue, false, false); err != nil {
		return err
	}
	if _, err := r.QueueDeclare(queue, exchange.QueueOptions{}); err != nil {
		return err
	}
	var got []string
	for i := 1; i <= 5; i++ {
		if err := r.Publish(ctx, "", queue, false, exchange.Publishing{Body: fmt.Appendf(nil, "m%d", i)}); err != nil {
			return err
		}
	}
	c, err := r.Consume(queue, exchange.ConsumeOptions{AutoAck: true})
	if err != nil {
		return err
	}
	for range 5 {
		d, err := c.Next(ctx)
		if err != nil {
			return err
		}
		got = append(got, string(d.Body))
	}
	if err := c.Cancel(); err != nil {
		return err
	}
	fmt.Fprintf(w, "queue %s: published m1..m5, one consumer receives %s\n", queue, strings.Join(got, " "))
	fmt.Fprintln(w, "why: a queue is FIFO: one consumer gets its messages in publish order (A61); requeues and several consumers can reorder them")

	l := b.Log()
	const topic = "ordering.t"
	if err := l.CreateTopic(topic, tlog.TopicConfig{Partitions: 2}); err != nil && !errors.Is(err, tlog.ErrTopicExists) {
		return err
	}
	tps := []tlog.TopicPartition{{Topic: topic, Partition: 0}, {Topic: topic, Partition: 1}}
	var starts [2]int64
	for i, tp := range tps {
		if starts[i], _, err = l.ListOffsets(topic, tp.Partition, tlog.Latest); err != nil {
			return err
		}
	}
	// Two keys' events, alternating in time: a's on partition 0, b's on partition 1.
	for i := 1; i <= 3; i++ {
		for p, key := range []string{"a", "b"} {
			rec := tlog.Record{Key: []byte(key), Value: fmt.Appendf(nil, "%s%d", key, i)}
			if _, err := l.ProduceTo(ctx, topic, int32(p), rec); err != nil {
				return err
			}
		}
	}
	fmt.Fprintf(w, "topic %s: produced a1 b1 a2 b2 a3 b3, key a to partition 0 and key b to partition 1\n", topic)
	cons := l.NewConsumer(tlog.ConsumerOptions{MaxWait: 50 * time.Millisecond})
	if err := cons.Assign(tps...); err != nil {
		return err
	}
	for i, tp := range tps {
		if err := cons.Seek(tp, starts[i]); err != nil {
			return err
		}
	}
	got = got[:0]
	for range 10 {
		if len(got) == 6 {
			break
		}
		recs, err := cons.Poll(ctx)
		if err != nil {
			return err
		}
		for _, rec := range recs {
			got = append(got, string(rec.Value))
		}
	}
	fmt.Fprintf(w, "  one consumer of both partitions reads %s\n", strings.Join(got, " "))
	fmt.Fprintln(w, "why: each partition is read in offset order, so a1 a2 a3 and b1 b2 b3 keep theirs; across partitions there is no order (K3): give events that must stay ordered the same key")

	hub := b.Hub()
	sub, err := hub.Subscribe("ordering:x", "ordering:y")
	if err != nil {
		return err
	}
	defer sub.Close()
	for _, m := range []struct{ ch, v string }{{"ordering:x", "x1"}, {"ordering:y", "y1"}, {"ordering:x", "x2"}, {"ordering:y", "y2"}} {
		hub.Publish(m.ch, []byte(m.v))
	}
	got = got[:0]
	for range 4 {
		m, err := sub.Next(ctx)
		if err != nil {
			return err
		}
		got = append(got, string(m.Payload))
	}
	fmt.Fprintf(w, "channels ordering:x and ordering:y: published x1 y1 x2 y2, one subscriber of both receives %s\n", strings.Join(got, " "))
	fmt.Fprintln(w, "why: one subscriber gets its messages in the order they were published, across its channels too: they reach it as one stream")
	fmt.Fprintln(w)
	return nil
}
