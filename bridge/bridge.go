package bridge

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"

	"github.com/tribusmq/tribus/exchange"
	tlog "github.com/tribusmq/tribus/log"
	"github.com/tribusmq/tribus/pubsub"
)

// ErrNacked is what [LogToExchange.Run] returns when the router nacks a forwarded record's
// publish (a reject-publish queue is full, A19): the record is not committed, so a later run
// forwards it again.
var ErrNacked = errors.New("tribus/bridge: the router nacked a forwarded publish")

// ErrInvalidBridge is what Run returns for a bridge missing an engine, a consumer group, a
// topic, a queue or an exchange; nothing is read.
var ErrInvalidBridge = errors.New("tribus/bridge: invalid bridge")

// Header names a forwarded record carries in the exchange: where it came from, so that a
// consumer can dedupe (the topic, partition and offset name a record uniquely).
const (
	HeaderTopic     = "x-tribus-topic"
	HeaderPartition = "x-tribus-partition"
	HeaderOffset    = "x-tribus-offset"
)

// counter counts what a bridge forwarded.
type counter struct{ n atomic.Uint64 }

// Forwarded returns how many messages the bridge has forwarded, duplicates of an earlier run
// included, since it was made.
func (c *counter) Forwarded() uint64 { return c.n.Load() }

// LogToExchange forwards the records of Topics, read as consumer group Group, to the exchange
// Exchange of Router as persistent publishes, each with the routing key RoutingKey gives it
// (by default the record's key) and the record's origin in its headers ([HeaderTopic],
// [HeaderPartition], [HeaderOffset]); its message id is "topic/partition/offset". It publishes
// in confirm mode and commits the group's offsets only after every record of a poll is
// confirmed, so the group's committed offset is the bridge's progress: a run resumes there.
type LogToExchange struct {
	Log      *tlog.Log
	Router   *exchange.Router
	Group    string
	Topics   []string
	Exchange string
	// RoutingKey maps a record to its routing key; nil uses string(record.Key).
	RoutingKey func(tlog.Record) string
	// Reset is where the group starts on a partition it has no offset for; the zero value,
	// tlog.ResetLatest, is Kafka's default; a bridge that must forward what is already there
	// sets tlog.ResetEarliest.
	Reset tlog.OffsetReset
	counter
}

// Run forwards records until ctx ends (it then returns nil) or a step fails: a nacked publish
// ([ErrNacked]), a publish or commit error, or the engines closing. What it forwarded and did
// not commit is forwarded again by the next run.
func (b *LogToExchange) Run(ctx context.Context) error {
	if b.Log == nil || b.Router == nil {
		return fmt.Errorf("%w: LogToExchange needs a Log and a Router", ErrInvalidBridge)
	}
	s, err := b.Router.NewSession()
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.Confirm(); err != nil {
		return err
	}
	key := b.RoutingKey
	if key == nil {
		key = func(r tlog.Record) string { return string(r.Key) }
	}
	return fromLog(ctx, b.Log, b.Group, b.Topics, b.Reset, &b.counter, func(r tlog.Record) error {
		headers := exchange.Table{HeaderTopic: r.Topic, HeaderPartition: r.Partition, HeaderOffset: r.Offset}
		for _, h := range r.Headers {
			headers[h.Key] = string(h.Value)
		}
		conf, err := s.Publish(ctx, b.Exchange, key(r), false, exchange.Publishing{
			DeliveryMode: exchange.Persistent, Body: r.Value, Headers: headers, Timestamp: r.Timestamp,
			MessageID: r.Topic + "/" + strconv.Itoa(int(r.Partition)) + "/" + strconv.FormatInt(r.Offset, 10)})
		if err != nil {
			return err
		}
		if !conf.Ack {
			return fmt.Errorf("%w: %s/%d at offset %d", ErrNacked, r.Topic, r.Partition, r.Offset)
		}
		return nil
	})
}

// LogToPubSub forwards the records of Topics, read as consumer group Group, to the pub/sub
// Hub, each to the channel Channel gives it (by default the record's topic), and commits the
// group's offsets once every record of a poll is published. Subscribers get what the hub
// gets while they listen (at-most-once from the hub on); a run resumes at the committed
// offset.
type LogToPubSub struct {
	Log    *tlog.Log
	Hub    *pubsub.Hub
	Group  string
	Topics []string
	// Channel maps a record to its channel; nil uses the record's topic.
	Channel func(tlog.Record) string
	// Reset is as for [LogToExchange].
	Reset tlog.OffsetReset
	counter
}

// Run forwards records until ctx ends (it then returns nil) or a step fails: a commit error,
// or the engines closing.
func (b *LogToPubSub) Run(ctx context.Context) error {
	if b.Log == nil || b.Hub == nil {
		return fmt.Errorf("%w: LogToPubSub needs a Log and a Hub", ErrInvalidBridge)
	}
	channel := b.Channel
	if channel == nil {
		channel = func(r tlog.Record) string { return r.Topic }
	}
	return fromLog(ctx, b.Log, b.Group, b.Topics, b.Reset, &b.counter, func(r tlog.Record) error {
		_, err := b.Hub.PublishContext(ctx, channel(r), r.Value)
		return err
	})
}

// fromLog polls topics as group, forwards each record, and commits each poll's records once
// all of them were forwarded. A commit refused because the group rebalanced
// (tlog.ErrCommitFailed) is not an error: the partitions' new owner reads those records again.
func fromLog(ctx context.Context, l *tlog.Log, group string, topics []string, reset tlog.OffsetReset,
	n *counter, forward func(tlog.Record) error) error {
	if group == "" || len(topics) == 0 {
		return fmt.Errorf("%w: a bridge from the log needs a consumer group and topics", ErrInvalidBridge)
	}
	c, err := l.NewGroupConsumer(tlog.GroupConsumerOptions{GroupID: group, Topics: topics, Reset: reset, DisableAutoCommit: true})
	if err != nil {
		return err
	}
	defer c.Close()
	for {
		recs, err := c.Poll(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			continue
		}
		next := make(map[tlog.TopicPartition]tlog.OffsetAndMetadata)
		for _, r := range recs {
			if err := forward(r); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			n.n.Add(1)
			next[tlog.TopicPartition{Topic: r.Topic, Partition: r.Partition}] = tlog.OffsetAndMetadata{Offset: r.Offset + 1}
		}
		if err := c.CommitOffsets(ctx, next); err != nil && !errors.Is(err, tlog.ErrCommitFailed) {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
}

// QueueToPubSub forwards the messages of queue Queue of Router to the pub/sub Hub, each to the
// channel Channel gives it (by default its routing key), and acks each delivery once it is
// published. A run that dies before an ack leaves that delivery to be redelivered (A51) and
// forwarded again.
type QueueToPubSub struct {
	Router *exchange.Router
	Hub    *pubsub.Hub
	Queue  string
	// Channel maps a delivery to its channel; nil uses its routing key.
	Channel func(*exchange.Delivery) string
	// Prefetch is the consumer's prefetch count; 0 means 100.
	Prefetch int
	counter
}

// Run forwards deliveries until ctx ends (it then returns nil; the deliveries it had not
// acked go back to the queue) or a step fails: an ack error, or the engines closing.
func (b *QueueToPubSub) Run(ctx context.Context) error {
	if b.Router == nil || b.Hub == nil || b.Queue == "" {
		return fmt.Errorf("%w: QueueToPubSub needs a Router, a Hub and a queue", ErrInvalidBridge)
	}
	channel := b.Channel
	if channel == nil {
		channel = func(d *exchange.Delivery) string { return d.RoutingKey }
	}
	prefetch := b.Prefetch
	if prefetch == 0 {
		prefetch = 100
	}
	s, err := b.Router.NewSession()
	if err != nil {
		return err
	}
	defer s.Close()
	c, err := s.Consume(b.Queue, exchange.ConsumeOptions{Prefetch: prefetch})
	if err != nil {
		return err
	}
	for {
		d, err := c.Next(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := b.Hub.PublishContext(ctx, channel(d), d.Body); err != nil {
			return err
		}
		b.n.Add(1)
		if err := d.Ack(); err != nil {
			return err
		}
	}
}
