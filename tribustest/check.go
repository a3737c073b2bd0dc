package tribustest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing/synctest"

	"github.com/tribusmq/tribus/exchange"
	tlog "github.com/tribusmq/tribus/log"
	"github.com/tribusmq/tribus/pubsub"
)

// The Check methods assert what the broker holds now, without waiting: each reports a
// mismatch with t.Errorf (the test goes on) and returns whether the check passed. Wait for
// a state first with [Broker.Wait] when it comes from another goroutine.

// CheckQueue checks that queue holds exactly these ready messages, by body, in the order
// they would be delivered. It reads them with [exchange.Router.Peek], which delivers
// nothing and changes no counter or flag, so the check does not disturb the test.
func (b *Broker) CheckQueue(queue string, bodies ...string) bool {
	b.t.Helper()
	msgs, err := b.Router().Peek(queue, 0)
	if err != nil {
		b.t.Errorf("tribustest: queue %q: %v", queue, err)
		return false
	}
	got := make([]string, len(msgs))
	for i, m := range msgs {
		got[i] = string(m.Body)
	}
	if !slices.Equal(got, bodies) {
		b.t.Errorf("tribustest: queue %q holds %s, want %s", queue, quoteAll(got), quoteAll(bodies))
		return false
	}
	return true
}

// CheckDeadLettered checks that d was dead-lettered as want says: its x-death header's most
// recent entry (the one for the last queue it left) has want's Queue, Reason and Count, and,
// when they are set in want, its Exchange and RoutingKeys. Reasons are RabbitMQ's: "rejected",
// "expired", "maxlen", "delivery_limit".
func (b *Broker) CheckDeadLettered(d *exchange.Delivery, want exchange.Death) bool {
	b.t.Helper()
	deaths, err := exchange.Deaths(d.Headers)
	if err != nil {
		b.t.Errorf("tribustest: delivery %d: %v", d.DeliveryTag, err)
		return false
	}
	if len(deaths) == 0 {
		b.t.Errorf("tribustest: delivery %d (body %q) was not dead-lettered: it has no x-death header", d.DeliveryTag, d.Body)
		return false
	}
	got := deaths[0]
	var diffs []string
	if got.Queue != want.Queue {
		diffs = append(diffs, fmt.Sprintf("queue %q, want %q", got.Queue, want.Queue))
	}
	if got.Reason != want.Reason {
		diffs = append(diffs, fmt.Sprintf("reason %q, want %q", got.Reason, want.Reason))
	}
	if got.Count != want.Count {
		diffs = append(diffs, fmt.Sprintf("count %d, want %d", got.Count, want.Count))
	}
	if want.Exchange != "" && got.Exchange != want.Exchange {
		diffs = append(diffs, fmt.Sprintf("exchange %q, want %q", got.Exchange, want.Exchange))
	}
	if want.RoutingKeys != nil && !slices.Equal(got.RoutingKeys, want.RoutingKeys) {
		diffs = append(diffs, fmt.Sprintf("routing keys %q, want %q", got.RoutingKeys, want.RoutingKeys))
	}
	if len(diffs) > 0 {
		b.t.Errorf("tribustest: delivery %d (body %q) was dead-lettered with %s", d.DeliveryTag, d.Body, strings.Join(diffs, ", "))
		return false
	}
	return true
}

// CheckCommitted checks that consumer group has committed exactly these offsets for these
// partitions (other partitions are not looked at). An offset of -1 checks that the group
// has committed nothing for that partition.
func (b *Broker) CheckCommitted(group string, want map[tlog.TopicPartition]int64) bool {
	b.t.Helper()
	lag, err := b.Log().GroupLag(group)
	if err != nil {
		b.t.Errorf("tribustest: group %q: %v", group, err)
		return false
	}
	var diffs []string
	for _, tp := range slices.SortedFunc(maps.Keys(want), compareTP) {
		got := int64(-1)
		if pl, ok := lag[tp]; ok {
			got = pl.Committed
		}
		if got != want[tp] {
			diffs = append(diffs, fmt.Sprintf("%s committed %d, want %d", tp.String(), got, want[tp]))
		}
	}
	if len(diffs) > 0 {
		b.t.Errorf("tribustest: group %q: %s", group, strings.Join(diffs, "; "))
		return false
	}
	return true
}

// CheckNoDelivery checks that c has been given nothing it has not read: it must be called
// inside a testing/synctest bubble, where it first waits (synctest.Wait) until every other
// goroutine of the bubble is blocked, so that "nothing more arrives" is proved rather than
// hoped for after a timeout. A delivery that did arrive is reported and requeued.
func (b *Broker) CheckNoDelivery(c *exchange.Consumer) bool {
	b.t.Helper()
	if !b.settle("CheckNoDelivery") {
		return false
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // Next returns what is buffered before it looks at ctx
	d, err := c.Next(ctx)
	if err != nil {
		return true
	}
	_ = d.Nack(true)
	b.t.Errorf("tribustest: consumer %q of queue %q was delivered %q (tag %d, redelivered %v), want nothing more",
		c.Tag(), c.Queue(), d.Body, d.DeliveryTag, d.Redelivered)
	return false
}

// CheckNoMessage checks, as [Broker.CheckNoDelivery] does, that s has no unread message once
// the bubble is idle. A message that did arrive is reported and consumed.
func (b *Broker) CheckNoMessage(s *pubsub.Subscription) bool {
	b.t.Helper()
	if !b.settle("CheckNoMessage") {
		return false
	}
	m, ok, _ := s.TryNext()
	if !ok {
		return true
	}
	b.t.Errorf("tribustest: subscription got %q on channel %q, want nothing more", m.Payload, m.Channel)
	return false
}

// settle runs synctest.Wait, failing the test with an explanation outside a bubble.
func (b *Broker) settle(who string) (ok bool) {
	b.t.Helper()
	defer func() {
		if r := recover(); r != nil {
			b.t.Errorf("tribustest: %s must run inside synctest.Test, to prove that nothing more arrives: %v", who, r)
			ok = false
		}
	}()
	synctest.Wait()
	return true
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, " ") + "]"
}
