package exchange

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tribusmq/tribus/internal/seed"
)

// queue is the shell around a queueState: its consumers, unacked count, timers and stats.
type queue struct {
	r          *Router
	name       string
	durable    bool
	exclusive  bool
	autoDelete bool
	owner      *Connection // the declaring connection of an exclusive queue
	reply      bool        // the hidden queue of a direct reply-to consumer (replyto.go)
	args       Table       // as declared, for equivalence checks and QueueInfo
	cfg        queueConfig

	inbound []*binding // bindings to this queue; guarded by Router.mu

	// mu guards everything below. It is taken after Router.mu and before Session.pendMu and
	// Consumer.mu.
	mu          sync.Mutex
	st          *queueState
	consumers   []*Consumer // in registration order
	rr          int         // round-robin cursor into consumers (A57)
	unacked     int
	hadConsumer bool
	deleted     bool
	expiryTimer *time.Timer // fires when the head expires
	expiryAt    time.Time
	unusedTimer *time.Timer // x-expires (A32)
	lastUsed    time.Time
	// timed is set once the queue may hold a message that expires; until then it reads no
	// clock, which is most of what an untimed publish → ack round costs otherwise.
	timed bool
	stats queueCounters
	// evictFrom is the position from which the next eviction looks for contents to page out
	// (budget.go); 0 for the head.
	evictFrom uint64
	// puts counts the message writes queued for this queue (persist.go), so that a batch of
	// deletes takes only messages whose last write was queued before it.
	puts uint64

	deliveredMark atomic.Uint64 // the highest stored position delivered (persist.go)
	markPending   atomic.Bool   // a write of deliveredMark is queued

	// delMu guards deletes, the batch of record deletes queued for the committer and not yet
	// taken by it (persist.go). It is taken after mu; the committer takes only it.
	delMu   sync.Mutex
	deletes *deleteBatch
}

type queueCounters struct {
	published, delivered, acked, redelivered, deadLettered uint64
	dropped                                                map[string]uint64
}

func newQueue(r *Router, name string, o QueueOptions, args Table, cfg queueConfig) *queue {
	q := &queue{r: r, name: name, durable: o.Durable, exclusive: o.Exclusive, autoDelete: o.AutoDelete,
		args: args, cfg: cfg, st: newQueueState(cfg), lastUsed: time.Now(), timed: cfg.messageTTL >= 0}
	if r.seed != 0 { // Options.Seed: a seeded start for the round-robin, kept small and positive
		q.rr = int(seed.Of(r.seed, name) % (1 << 16))
	}
	return q
}

// clock returns now, or the current time when now is zero and the queue needs one: for expiry
// or for x-expires. Callers that did not read the clock pass zero. Callers hold mu.
func (q *queue) clock(now time.Time) time.Time {
	if now.IsZero() && (q.timed || q.cfg.expires >= 0) {
		return time.Now()
	}
	return now
}

// checkOwner refuses an exclusive queue to every connection but its owner (A22).
func (q *queue) checkOwner(s *Session) error {
	if q.exclusive && q.owner != s.conn {
		return q.lockedError()
	}
	return nil
}

// checkDeclaredOwner is RabbitMQ's strict check of a queue.declare of an existing queue, made
// before any equivalence (§1.3b): the owner the declaration asks for (the declaring
// connection when exclusive, none otherwise) must be the queue's. So another connection cannot
// declare an exclusive queue, nor anyone redeclare a shared queue as exclusive, nor the owner
// redeclare its exclusive queue as shared: each is 405.
func (q *queue) checkDeclaredOwner(c *Connection, exclusive bool) error {
	var want, have *Connection
	if exclusive {
		want = c
	}
	if q.exclusive {
		have = q.owner
	}
	if want != have {
		return q.lockedError()
	}
	return nil
}

// lockedError is 405 with RabbitMQ's text, which clients and tests may read.
func (q *queue) lockedError() error {
	//lint:ignore ST1005 RabbitMQ's reply text ends with a full stop
	return fmt.Errorf("%w: cannot obtain exclusive access to locked queue '%s'. It could be originally declared on another connection or the exclusive property value does not match that of the original declaration.", ErrResourceLocked, q.name)
}

// equivalent checks a redeclaration against the queue (A20, §1.3b); exclusivity was checked
// first (checkDeclaredOwner).
func (q *queue) equivalent(o QueueOptions, args Table) error {
	// RabbitMQ compares durable, then auto_delete, then the arguments it knows, and names the
	// first that differs.
	for _, c := range [...]struct {
		arg            string
		received, have bool
	}{{"durable", o.Durable, q.durable}, {"auto_delete", o.AutoDelete, q.autoDelete}} {
		if c.received != c.have {
			return fmt.Errorf("%w: inequivalent arg '%s' for queue '%s': received '%t' but current is '%t'",
				ErrPreconditionFailed, c.arg, q.name, c.received, c.have)
		}
	}
	for _, k := range knownQueueArgs {
		a, inOld := q.args[k]
		b, inNew := args[k]
		if inOld != inNew || (inOld && !valuesEqual(a, b)) {
			return fmt.Errorf("%w: inequivalent arg '%s' for queue '%s': %s",
				ErrPreconditionFailed, k, q.name, inequivalence(b, inNew, a, inOld))
		}
	}
	return nil
}

// touch records a use of the queue for x-expires: a redeclaration or a Get (A32).
func (q *queue) touch() {
	q.mu.Lock()
	q.lastUsed = time.Now()
	q.armUnusedLocked()
	q.mu.Unlock()
}

// dead is a message leaving a queue unacked, for the dead-letter step outside the locks.
type dead struct {
	q      *queue
	m      *qmsg
	reason string
}

// enqueue is one routed message arriving. It reports false if the queue refused it
// (reject-publish, A35), and returns the messages that died on the way.
// A persistent message's store write is queued before the message becomes visible; its wait
// is appended to waits.
func (q *queue) enqueue(c *content, now time.Time, out []dead, waits []pendingWrite) (bool, []dead, []pendingWrite) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.deleted {
		return true, out, waits
	}
	if c.ttl >= 0 {
		q.timed = true
	}
	now = q.clock(now)
	q.stats.published++
	if q.cfg.overflow != DropHead && q.st.full(c.size) {
		if q.cfg.overflow == RejectPublishDLX {
			// Dead-lettered with reason maxlen; counted as dropped only if no DLX takes it.
			return false, append(out, dead{q, q.newMessageLocked(c, now), reasonMaxLen}), waits
		}
		q.countDrop("reject-publish")
		return false, out, waits
	}
	m := q.newMessageLocked(c, now)
	if m.expired(now) {
		// TTL 0: it lives only if a consumer can take it at once (A30).
		if q.st.ready == 0 {
			if cons := q.nextConsumerLocked(); cons != nil {
				if q.persistent(c) && !cons.autoAck {
					waits = append(waits, pendingWrite{wait: q.storeLocked(m)})
				}
				q.emitEnqueuedLocked(c, now)
				q.deliverLocked(cons, m, now)
				return true, out, waits
			}
		}
		return true, append(out, dead{q, m, reasonExpired}), waits
	}
	if q.persistent(c) {
		w := pendingWrite{wait: q.storeLocked(m)}
		if q.r.overBudget() {
			w.q, w.m = q, m // paged out once the write is committed
		}
		waits = append(waits, w)
	}
	for _, d := range q.st.push(m) {
		out = append(out, dead{q, d, reasonMaxLen})
	}
	q.emitEnqueuedLocked(c, now)
	out = q.dispatchLocked(now, out)
	q.armExpiryLocked()
	return true, out, waits
}

// emitEnqueuedLocked reports that a message of content c entered the queue, once its state
// shows it. Callers hold mu.
func (q *queue) emitEnqueuedLocked(c *content, now time.Time) {
	if q.r.observed() {
		q.r.emit(Event{Kind: EventEnqueued, Time: now, Queue: q.name, Exchange: c.exchange, RoutingKey: c.routingKey,
			MessageID: c.pub.MessageID})
	}
}

// newMessageLocked makes the queue's copy of c and counts it against the memory high watermark.
func (q *queue) newMessageLocked(c *content, now time.Time) *qmsg {
	m := q.st.newMessage(c, now)
	q.chargeLocked(m)
	return m
}

// dispatchLocked pushes ready messages to consumers with room, round-robin (A57), dropping
// expired heads on the way (A31).
func (q *queue) dispatchLocked(now time.Time, out []dead) []dead {
	var expired []*qmsg
	for q.st.ready > 0 {
		c := q.nextConsumerLocked()
		if c == nil {
			break
		}
		var m *qmsg
		m, expired = q.st.take(now, expired[:0])
		for _, e := range expired {
			out = append(out, dead{q, e, reasonExpired})
		}
		if m == nil {
			if !c.autoAck {
				c.s.release(c)
			}
			break
		}
		q.deliverLocked(c, m, now)
	}
	return out
}

// nextConsumerLocked picks the consumer for the next message and reserves its room: the next
// one round-robin among those of the highest priority that have room; under single active
// consumer, only the first (A37). It returns nil if none has room.
func (q *queue) nextConsumerLocked() *Consumer {
	n := len(q.consumers)
	if n == 0 {
		return nil
	}
	if q.cfg.singleActive {
		c := q.consumers[0]
		if c.reserveLocked() {
			return c
		}
		return nil
	}
	best := -1
	for i := range n {
		c := q.consumers[(q.rr+i)%n]
		if c.hasRoomLocked() && (best < 0 || c.priority > q.consumers[best].priority) {
			best = (q.rr + i) % n
		}
	}
	if best < 0 {
		return nil
	}
	c := q.consumers[best]
	if !c.reserveLocked() {
		return nil
	}
	q.rr = (best + 1) % n
	return c
}

// deliverLocked hands m to c, whose room is reserved.
func (q *queue) deliverLocked(c *Consumer, m *qmsg, now time.Time) {
	d := q.newDelivery(c.s, m, c.tag)
	q.stats.delivered++
	if m.redelivered {
		q.stats.redelivered++
	}
	if c.autoAck {
		q.stats.acked++
		if m.charged { // counted until the consumer reads it (Consumer.Next)
			d.held, m.charged = m.heldBytes(), false
		}
		q.forget(m)
	} else {
		q.unacked++
		c.inflight++
		d.pend = pending{q: q, m: m, c: c, slot: true}
		c.s.track(d, &d.pend)
		q.markDeliveredLocked(m)
	}
	if f := q.r.faults; f != nil && f.DeliveryDelay != nil {
		if wait := f.DeliveryDelay(q.name, c.tag); wait > 0 {
			d.visibleAt = time.Now().Add(wait)
		}
	}
	if q.r.observed() {
		q.r.emit(Event{Kind: EventDelivered, Time: now, Queue: q.name, Exchange: d.Exchange, RoutingKey: d.RoutingKey,
			DeliveryTag: d.DeliveryTag, Redelivered: d.Redelivered, MessageID: d.MessageID})
		if c.autoAck {
			q.r.emit(Event{Kind: EventAcked, Time: now, Queue: q.name, DeliveryTag: d.DeliveryTag, MessageID: d.MessageID})
		}
	}
	c.push(d)
}

// newDelivery makes the Delivery of m for session s, with the next delivery tag (A47). A
// paged-out message is read back from the store.
func (q *queue) newDelivery(s *Session, m *qmsg, consumerTag string) *Delivery {
	c := q.content(m)
	d := &Delivery{Publishing: &c.pub, DeliveryTag: s.nextTag(), Redelivered: m.redelivered,
		Exchange: c.exchange, RoutingKey: c.routingKey, ConsumerTag: consumerTag}
	if q.cfg.deliveryLimit >= 0 && m.deliveryCount > 0 {
		pub := c.pub // this delivery's own copy: its headers differ
		pub.Headers = pub.Headers.clone()
		if pub.Headers == nil {
			pub.Headers = Table{}
		}
		pub.Headers["x-delivery-count"] = m.deliveryCount // A38
		d.Publishing = &pub
	}
	return d
}

// get is basic.get (A24, A56, A58): the head, without regard to prefetch, or nil.
func (q *queue) get(s *Session, autoAck bool, now time.Time) (*Delivery, []dead, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.deleted {
		return nil, nil, fmt.Errorf("%w: no queue '%s'", ErrNotFound, q.name)
	}
	now = q.clock(now)
	q.lastUsed = now
	q.armUnusedLocked()
	var out []dead
	m, expired := q.st.take(now, nil)
	for _, e := range expired {
		out = append(out, dead{q, e, reasonExpired})
	}
	defer q.armExpiryLocked()
	if m == nil {
		return nil, out, nil
	}
	d := q.newDelivery(s, m, "")
	d.MessageCount = q.st.ready
	q.stats.delivered++
	if m.redelivered {
		q.stats.redelivered++
	}
	if autoAck {
		q.stats.acked++
		q.forget(m)
	} else {
		q.unacked++
		d.pend = pending{q: q, m: m}
		s.track(d, &d.pend)
		q.markDeliveredLocked(m)
	}
	if q.r.observed() {
		q.r.emit(Event{Kind: EventDelivered, Time: now, Queue: q.name, Exchange: d.Exchange, RoutingKey: d.RoutingKey,
			DeliveryTag: d.DeliveryTag, Redelivered: d.Redelivered, MessageID: d.MessageID})
		if autoAck {
			q.r.emit(Event{Kind: EventAcked, Time: now, Queue: q.name, DeliveryTag: d.DeliveryTag, MessageID: d.MessageID})
		}
	}
	return d, out, nil
}

// settle applies an ack, nack or reject of one delivery of this queue. countFailure says
// whether a requeue counts toward the delivery limit (A39).
func (q *queue) settle(p *pending, op settleOp, requeue, countFailure bool, now time.Time, out []dead) []dead {
	q.mu.Lock()
	defer q.mu.Unlock()
	if p.c != nil {
		p.c.inflight--
	}
	if q.deleted {
		q.goneLocked(p.m)
		return out
	}
	q.unacked--
	now = q.clock(now)
	switch {
	case op == settleAck:
		q.stats.acked++
		q.forget(p.m)
	case requeue:
		out = q.requeueLocked(p.m, countFailure, now, out)
	default:
		out = append(out, dead{q, p.m, reasonRejected})
	}
	out = q.dispatchLocked(now, out)
	q.armExpiryLocked()
	return out
}

// requeueLocked puts m back in its original position, or dead-letters it past the delivery
// limit (A38).
func (q *queue) requeueLocked(m *qmsg, countFailure bool, now time.Time, out []dead) []dead {
	if countFailure && q.cfg.deliveryLimit >= 0 {
		m.deliveryCount++
		if m.deliveryCount > q.cfg.deliveryLimit {
			return append(out, dead{q, m, reasonDeliveryLimit})
		}
		if m.stored {
			q.storeLocked(m) // the count survives a restart
		}
	}
	for _, d := range q.st.requeue(m) {
		out = append(out, dead{q, d, reasonMaxLen})
	}
	if q.r.observed() { // once Ready counts it (Options.Observer)
		q.r.emit(Event{Kind: EventRequeued, Time: now, Queue: q.name, MessageID: m.messageID()})
	}
	return out
}

// armExpiryLocked makes the expiry timer fire when the head expires, if it does.
func (q *queue) armExpiryLocked() {
	at := q.st.nextExpiry()
	if at.IsZero() || q.deleted {
		return
	}
	if q.expiryTimer != nil && !q.expiryAt.IsZero() && !q.expiryAt.After(at) {
		return // already due no later than that
	}
	if q.expiryTimer != nil {
		q.expiryTimer.Stop()
	}
	q.expiryAt = at
	q.expiryTimer = q.r.afterFunc(time.Until(at), q.expire)
}

// expire runs when the head's expiry is due: it drops expired heads and re-arms.
func (q *queue) expire() {
	q.mu.Lock()
	q.expiryTimer, q.expiryAt = nil, time.Time{}
	if q.deleted {
		q.mu.Unlock()
		return
	}
	now := time.Now()
	var out []dead
	for _, m := range q.st.expireHead(now, nil) {
		out = append(out, dead{q, m, reasonExpired})
	}
	out = q.dispatchLocked(now, out)
	q.armExpiryLocked()
	q.mu.Unlock()
	q.r.deadLetter(out, now)
}

// resume pushes ready messages to consumers again, for an auto-ack consumer that has read
// down its window.
func (q *queue) resume() {
	q.mu.Lock()
	if q.deleted {
		q.mu.Unlock()
		return
	}
	now := q.clock(time.Time{})
	out := q.dispatchLocked(now, nil)
	q.armExpiryLocked()
	q.mu.Unlock()
	q.r.deadLetter(out, now)
}

// armUnusedLocked schedules the x-expires deletion for when the queue will have been unused
// for that long, if it has no consumers (A32).
func (q *queue) armUnusedLocked() {
	if q.cfg.expires < 0 || q.deleted {
		return
	}
	if q.unusedTimer != nil {
		q.unusedTimer.Stop()
		q.unusedTimer = nil
	}
	if len(q.consumers) > 0 {
		return
	}
	due := q.lastUsed.Add(time.Duration(q.cfg.expires) * time.Millisecond)
	q.unusedTimer = q.r.afterFunc(time.Until(due), func() {
		q.r.removeQueueIf(q, func() bool {
			return len(q.consumers) == 0 && !time.Now().Before(due) && !q.lastUsed.Add(time.Duration(q.cfg.expires)*time.Millisecond).After(time.Now())
		})
	})
}

func (q *queue) stopTimersLocked() {
	if q.expiryTimer != nil {
		q.expiryTimer.Stop()
		q.expiryTimer = nil
	}
	if q.unusedTimer != nil {
		q.unusedTimer.Stop()
		q.unusedTimer = nil
	}
}

// delete marks the queue deleted, cancels its consumers and discards its ready messages. The
// caller holds Router.mu and has removed the queue from the topology.
func (q *queue) delete() int {
	q.mu.Lock()
	q.deleted = true
	q.stopTimersLocked()
	n := q.st.purge(q.goneLocked) // the store drops the whole queue
	consumers := q.consumers
	q.consumers = nil
	if q.r.observed() {
		for _, c := range consumers {
			q.r.emit(Event{Kind: EventConsumerCancelled, Queue: q.name, ConsumerTag: c.tag, Reason: ReasonQueueDeleted})
		}
	}
	q.mu.Unlock()
	for _, c := range consumers {
		c.s.forgetConsumer(c)
		c.end(ErrCancelledByServer)
	}
	return n
}

// purge is queue.purge: it removes the ready messages, not the unacked ones, and returns how
// many there were.
func (q *queue) purge() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := q.st.purge(q.forget)
	if q.r.observed() {
		q.r.emit(Event{Kind: EventPurged, Queue: q.name, Count: n})
	}
	return n
}

func (q *queue) countDrop(reason string) {
	if q.stats.dropped == nil {
		q.stats.dropped = make(map[string]uint64)
	}
	q.stats.dropped[reason]++
	if q.r.observed() {
		q.r.emit(Event{Kind: EventDropped, Queue: q.name, Reason: reason})
	}
}

// addConsumer registers c (A59: an exclusive consumer needs an empty list and blocks others).
func (q *queue) addConsumer(c *Consumer, now time.Time) ([]dead, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.deleted {
		return nil, fmt.Errorf("%w: no queue '%s'", ErrNotFound, q.name)
	}
	if c.exclusive && len(q.consumers) > 0 {
		return nil, fmt.Errorf("%w: queue '%s' in exclusive use", ErrAccessRefused, q.name)
	}
	if len(q.consumers) > 0 && q.consumers[0].exclusive {
		return nil, fmt.Errorf("%w: queue '%s' in exclusive use", ErrAccessRefused, q.name)
	}
	if c.exclusive && q.cfg.singleActive {
		return nil, fmt.Errorf("%w: exclusive consume is unavailable on single active consumer queue '%s'", ErrResourceLocked, q.name)
	}
	now = q.clock(now)
	q.consumers = append(q.consumers, c)
	q.hadConsumer = true
	q.armUnusedLocked()
	if q.r.observed() {
		q.r.emit(Event{Kind: EventConsumerAdded, Time: now, Queue: q.name, ConsumerTag: c.tag})
	}
	out := q.dispatchLocked(now, nil)
	q.armExpiryLocked()
	return out, nil
}

// removeConsumer unregisters c, for reason (ReasonCancel or ReasonSessionClosed), and reports
// whether the queue should now auto-delete (A23).
func (q *queue) removeConsumer(c *Consumer, reason string, now time.Time) (autoDelete bool, out []dead) {
	q.mu.Lock()
	defer q.mu.Unlock()
	i := -1
	for j, have := range q.consumers {
		if have == c {
			i = j
		}
	}
	if i < 0 {
		return false, nil
	}
	q.consumers = append(q.consumers[:i:i], q.consumers[i+1:]...)
	if q.rr > i {
		q.rr--
	}
	if len(q.consumers) > 0 {
		q.rr %= len(q.consumers)
	} else {
		q.rr = 0
	}
	now = q.clock(now)
	q.lastUsed = now
	q.armUnusedLocked()
	if q.r.observed() {
		q.r.emit(Event{Kind: EventConsumerCancelled, Time: now, Queue: q.name, ConsumerTag: c.tag, Reason: reason})
	}
	// Under single active consumer the next one takes over at once (A37).
	out = q.dispatchLocked(now, nil)
	q.armExpiryLocked()
	return q.autoDelete && q.hadConsumer && len(q.consumers) == 0, out
}
