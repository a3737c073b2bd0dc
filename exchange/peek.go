package exchange

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"time"
)

// QueuedMessage is a ready message of a queue as [Router.Peek] shows it: what a consumer taking
// it next would be delivered, without the delivery.
type QueuedMessage struct {
	// Publishing is the caller's own copy: Body and Headers (nested tables and arrays
	// included) are not shared with the queue. The headers are the ones a delivery would
	// carry: x-death after a dead-lettering, x-delivery-count on a queue with a delivery
	// limit once a delivery failed (A38).
	Publishing
	Exchange    string // the exchange it was published or dead-lettered to ("" for the default)
	RoutingKey  string
	Redelivered bool // it was delivered before and requeued (A50, A51)
}

// Peek returns up to max of the named queue's ready messages (all of them when max <= 0) in the
// order the queue would deliver them, without delivering them: no counter, delivery tag,
// redelivered flag, delivery count, expiry or position changes, and a later consumer gets them
// as if Peek had not looked. Unacked messages (delivered and not settled) are not ready and not
// included; nor are messages whose TTL has run out while they wait behind a live head, which
// QueueInfo still counts as ready until they reach the head (A31) but no consumer ever gets.
// Paged-out messages (Options.MemoryBudget) are read back from the store into the returned
// copies only, so they stay paged out and the memory budget and alarm counts do not move.
//
// Peek reads any queue by name, exclusive ones included. It holds the queue's lock while it
// reads, store reads included, so the queue's publishes, deliveries and acks wait for it: it
// is meant for tests and tools, not for a consumer's path. It returns [ErrNotFound] for a
// missing queue, [ErrClosed] once the Router is closed, an error wrapping [ErrCorrupt] when a
// paged-out message's record is missing or does not decode, and the store's error when it
// cannot be read. The caller owns the returned slice. Peek is safe for concurrent use.
func (r *Router) Peek(queue string, max int) ([]QueuedMessage, error) {
	if r.isClosed() {
		return nil, ErrClosed
	}
	r.mu.RLock()
	q := r.queues[queue]
	r.mu.RUnlock()
	if q == nil {
		return nil, fmt.Errorf("%w: no queue '%s'", ErrNotFound, queue)
	}
	return q.peek(max)
}

// peek is Router.Peek on q.
func (q *queue) peek(max int) ([]QueuedMessage, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.deleted {
		return nil, fmt.Errorf("%w: no queue '%s'", ErrNotFound, q.name)
	}
	var now time.Time
	if q.timed {
		now = time.Now()
	}
	ms := q.st.ordered(max, func(m *qmsg) bool { return q.timed && m.expired(now) })
	contents, err := q.peekContentsLocked(ms)
	if err != nil {
		return nil, err
	}
	out := make([]QueuedMessage, len(ms))
	for i, m := range ms {
		c := contents[i]
		pub := c.pub
		pub.Body = bytes.Clone(c.pub.Body)
		pub.Headers = c.pub.Headers.clone()
		if q.cfg.deliveryLimit >= 0 && m.deliveryCount > 0 { // as newDelivery adds it
			if pub.Headers == nil {
				pub.Headers = Table{}
			}
			pub.Headers["x-delivery-count"] = m.deliveryCount
		}
		out[i] = QueuedMessage{Publishing: pub, Exchange: c.exchange, RoutingKey: c.routingKey, Redelivered: m.redelivered}
	}
	return out, nil
}

// peekContentsLocked returns the contents of ms, reading those paged out from the store
// without keeping them in memory: pageInLocked would keep them, and count them against the
// memory budget, until they left the queue. Callers hold q.mu.
func (q *queue) peekContentsLocked(ms []*qmsg) ([]*content, error) {
	contents := make([]*content, len(ms))
	var out []*qmsg // paged out
	for i, m := range ms {
		contents[i] = m.c
		if m.c == nil {
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		return contents, nil
	}
	slices.SortFunc(out, func(a, b *qmsg) int { return cmp.Compare(a.seq, b.seq) })
	view := q.r.st.ViewCheckpointed // never waits for the committer while every record is in the file
	if slices.ContainsFunc(out, func(m *qmsg) bool { return !q.r.saved(m) }) {
		view = q.r.st.View
	}
	read, err := q.readRecords(view, out, nil)
	if err != nil {
		return nil, fmt.Errorf("tribus/exchange: peeking at queue '%s': %w", q.name, err)
	}
	byMsg := make(map[*qmsg]*content, len(out))
	for i, m := range out {
		if read[i] == nil {
			return nil, fmt.Errorf("tribus/exchange: peeking at queue '%s': position %d: %w: record missing or unreadable",
				q.name, m.seq, ErrCorrupt)
		}
		byMsg[m] = read[i]
	}
	for i, m := range ms {
		if contents[i] == nil {
			contents[i] = byMsg[m]
		}
	}
	return contents, nil
}
