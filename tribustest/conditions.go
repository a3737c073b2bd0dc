package tribustest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/tribusmq/tribus"
	"github.com/tribusmq/tribus/exchange"
	tlog "github.com/tribusmq/tribus/log"
)

// QueueReady holds when queue has exactly n messages ready for delivery (what
// queue.declare's message-count reports; unacked deliveries are not counted).
func QueueReady(queue string, n int) Condition {
	return queueCond(fmt.Sprintf("queue %q to hold %d ready message(s)", queue, n),
		queue, func(qi exchange.QueueInfo) bool { return qi.Ready == n })
}

// QueueUnacked holds when queue has exactly n deliveries that are not settled yet.
func QueueUnacked(queue string, n int) Condition {
	return queueCond(fmt.Sprintf("queue %q to have %d unacked deliveries", queue, n),
		queue, func(qi exchange.QueueInfo) bool { return qi.Unacked == n })
}

// QueueDrained holds when queue has no message left: none ready and none unacked.
func QueueDrained(queue string) Condition {
	return queueCond(fmt.Sprintf("queue %q to be drained (nothing ready, nothing unacked)", queue),
		queue, func(qi exchange.QueueInfo) bool { return qi.Ready == 0 && qi.Unacked == 0 })
}

// QueueConsumers holds when queue has exactly n consumers.
func QueueConsumers(queue string, n int) Condition {
	return queueCond(fmt.Sprintf("queue %q to have %d consumer(s)", queue, n),
		queue, func(qi exchange.QueueInfo) bool { return qi.Consumers == n })
}

// QueueDelivered holds once queue has made at least n deliveries since it was declared,
// pushed or fetched, redeliveries included.
func QueueDelivered(queue string, n uint64) Condition {
	return queueCond(fmt.Sprintf("queue %q to have made at least %d deliveries", queue, n),
		queue, func(qi exchange.QueueInfo) bool { return qi.Delivered >= n })
}

// QueueAcked holds once at least n deliveries of queue have been acknowledged (auto-ack
// deliveries included).
func QueueAcked(queue string, n uint64) Condition {
	return queueCond(fmt.Sprintf("queue %q to have had at least %d deliveries acked", queue, n),
		queue, func(qi exchange.QueueInfo) bool { return qi.Acked >= n })
}

// QueueDeadLettered holds once at least n messages of queue have been dead-lettered (sent to
// its dead-letter exchange, whether or not that routed them anywhere).
func QueueDeadLettered(queue string, n uint64) Condition {
	return queueCond(fmt.Sprintf("queue %q to have dead-lettered at least %d message(s)", queue, n),
		queue, func(qi exchange.QueueInfo) bool { return qi.DeadLettered >= n })
}

// QueueGone holds when no queue named queue exists: deleted, expired (x-expires), or
// auto-deleted.
func QueueGone(queue string) Condition {
	return Func(fmt.Sprintf("queue %q to be gone", queue), func(b *tribus.Broker) (bool, string, error) {
		qi, err := b.Router().QueueInfo(queue)
		if errors.Is(err, exchange.ErrNotFound) {
			return true, "", nil
		}
		if err != nil {
			return false, "", err
		}
		return false, describeQueue(qi), nil
	})
}

// queueCond holds when queue exists and ok(its info) holds. A queue that does not exist yet
// is waited for.
func queueCond(desc, queue string, ok func(exchange.QueueInfo) bool) Condition {
	return Func(desc, func(b *tribus.Broker) (bool, string, error) {
		qi, err := b.Router().QueueInfo(queue)
		if errors.Is(err, exchange.ErrNotFound) {
			return false, "no such queue", nil
		}
		if err != nil {
			return false, "", err
		}
		return ok(qi), describeQueue(qi), nil
	})
}

func describeQueue(qi exchange.QueueInfo) string {
	return fmt.Sprintf("%d ready, %d unacked, %d consumer(s), %d delivered, %d acked, %d dead-lettered",
		qi.Ready, qi.Unacked, qi.Consumers, qi.Delivered, qi.Acked, qi.DeadLettered)
}

// GroupStable holds when consumer group is Stable with exactly members members: a rebalance
// has completed and every member has its assignment.
func GroupStable(group string, members int) Condition {
	return groupCond(fmt.Sprintf("group %q to be Stable with %d member(s)", group, members), group,
		func(d tlog.GroupDescription) bool { return d.State == tlog.GroupStable && len(d.Members) == members })
}

// GroupStableAt holds when consumer group is Stable with exactly members members at
// generation: after that many rebalances, counting from 1 for the first.
func GroupStableAt(group string, members int, generation int32) Condition {
	return groupCond(fmt.Sprintf("group %q to be Stable with %d member(s) at generation %d", group, members, generation), group,
		func(d tlog.GroupDescription) bool {
			return d.State == tlog.GroupStable && len(d.Members) == members && d.Generation == generation
		})
}

// GroupEmpty holds when consumer group exists with no members (its committed offsets kept).
func GroupEmpty(group string) Condition {
	return groupCond(fmt.Sprintf("group %q to be Empty", group), group,
		func(d tlog.GroupDescription) bool { return d.State == tlog.GroupEmpty })
}

func groupCond(desc, group string, ok func(tlog.GroupDescription) bool) Condition {
	return Func(desc, func(b *tribus.Broker) (bool, string, error) {
		d, err := b.Log().DescribeGroup(group)
		if errors.Is(err, tlog.ErrUnknownGroup) {
			return false, "no such group", nil
		}
		if err != nil {
			return false, "", err
		}
		return ok(d), describeGroup(d), nil
	})
}

func describeGroup(d tlog.GroupDescription) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v at generation %d with %d member(s)", d.State, d.Generation, len(d.Members))
	for _, m := range d.Members {
		owns := make([]string, len(m.Assignment))
		for i, tp := range m.Assignment {
			owns[i] = tp.String()
		}
		fmt.Fprintf(&b, "; %s owns [%s]", m.MemberID, strings.Join(owns, " "))
	}
	return b.String()
}

// Committed holds once consumer group has committed at least offset (the next offset it
// will read, as Kafka commits) for partition of topic.
func Committed(group, topic string, partition int32, offset int64) Condition {
	tp := tlog.TopicPartition{Topic: topic, Partition: partition}
	return Func(fmt.Sprintf("group %q to commit offset %d or beyond on %s", group, offset, tp.String()),
		func(b *tribus.Broker) (bool, string, error) {
			lag, err := groupLag(b, group)
			if err != nil || lag == nil {
				return false, "no such group", err
			}
			pl, ok := lag[tp]
			if !ok || pl.Committed < 0 {
				return false, "no offset committed for " + tp.String(), nil
			}
			return pl.Committed >= offset, fmt.Sprintf("committed %d", pl.Committed), nil
		})
}

// LagZero holds when consumer group has committed the end offset of every partition it has
// offsets for or is assigned: it has nothing left to read.
func LagZero(group string) Condition {
	return Func(fmt.Sprintf("group %q to have lag 0 on every partition", group),
		func(b *tribus.Broker) (bool, string, error) {
			lag, err := groupLag(b, group)
			if err != nil || lag == nil {
				return false, "no such group", err
			}
			if len(lag) == 0 {
				return false, "no partition assigned or committed", nil
			}
			var behind []string
			for _, tp := range slices.SortedFunc(maps.Keys(lag), compareTP) {
				if l := lag[tp]; l.Lag != 0 {
					behind = append(behind, fmt.Sprintf("%s lag %d (committed %d, end %d)", tp.String(), l.Lag, l.Committed, l.End))
				}
			}
			if len(behind) == 0 {
				return true, "", nil
			}
			return false, strings.Join(behind, "; "), nil
		})
}

// groupLag returns the group's lag, nil for a group that does not exist.
func groupLag(b *tribus.Broker, group string) (map[tlog.TopicPartition]tlog.PartitionLag, error) {
	lag, err := b.Log().GroupLag(group)
	if errors.Is(err, tlog.ErrUnknownGroup) {
		return nil, nil
	}
	return lag, err
}

func compareTP(a, b tlog.TopicPartition) int {
	if c := strings.Compare(a.Topic, b.Topic); c != 0 {
		return c
	}
	return int(a.Partition) - int(b.Partition)
}

// TopicEnd holds once partition of topic has an end offset (high watermark) of at least
// offset: that many records, counting from the start of the partition, were appended and are
// readable.
func TopicEnd(topic string, partition int32, offset int64) Condition {
	tp := tlog.TopicPartition{Topic: topic, Partition: partition}
	return Func(fmt.Sprintf("%s to reach end offset %d", tp.String(), offset), func(b *tribus.Broker) (bool, string, error) {
		end, _, err := b.Log().ListOffsets(topic, partition, tlog.Latest)
		if errors.Is(err, tlog.ErrUnknownTopic) {
			return false, "no such topic or partition", nil
		}
		if err != nil {
			return false, "", err
		}
		return end >= offset, fmt.Sprintf("end offset %d", end), nil
	})
}

// Subscribers holds when exactly n subscriptions are subscribed to channel itself (what
// PUBSUB NUMSUB counts: pattern subscriptions are not included).
func Subscribers(channel string, n int) Condition {
	return Func(fmt.Sprintf("channel %q to have %d subscriber(s)", channel, n), func(b *tribus.Broker) (bool, string, error) {
		counts, err := b.Hub().NumSub(channel)
		if err != nil {
			return false, "", err
		}
		got := counts[0].Subscribers
		return got == n, fmt.Sprintf("%d subscriber(s)", got), nil
	})
}

// Patterns holds when exactly n distinct patterns have subscribers (what PUBSUB NUMPAT
// counts).
func Patterns(n int) Condition {
	return Func(fmt.Sprintf("%d pattern(s) to have subscribers", n), func(b *tribus.Broker) (bool, string, error) {
		got, err := b.Hub().NumPat()
		if err != nil {
			return false, "", err
		}
		return got == n, fmt.Sprintf("%d pattern(s)", got), nil
	})
}
