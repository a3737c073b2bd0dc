package exchange

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tribusmq/tribus/internal/seed"
	"github.com/tribusmq/tribus/internal/sentinel"
)

// DefaultUser is the user a connection is authenticated as unless ConnectionOptions.User says
// otherwise, RabbitMQ's default "guest": a publish whose UserID is set to anything else is
// refused (A64).
const DefaultUser = "guest"

// ErrNotAllowed (530 NOT_ALLOWED): a consumer tag already used on the session. A connection
// error, as in RabbitMQ: it closes the session's connection.
var ErrNotAllowed = errors.New("tribus/exchange: NOT_ALLOWED")

// Session plays an AMQP channel: it numbers deliveries (A47) and publishes in confirm mode
// (A16), and holds the unacked deliveries of its consumers and Gets. It belongs to a
// [Connection], which owns the exclusive queues declared on it (A22). A channel error (404,
// 403, 405, 406) closes the session, as RabbitMQ closes the channel, and later calls return
// that error; a connection error closes the whole connection (see [Connection]). Closing a
// session requeues its unacked deliveries in their original positions (A51); its exclusive
// queues live until their connection closes.
//
// A Session is safe for concurrent use; publishes on one session are serialised, like frames
// on a channel.
type Session struct {
	r    *Router
	conn *Connection

	tags     atomic.Uint64 // last delivery tag
	global   atomic.Int64  // session-wide prefetch (basic.qos global=true), 0 = unlimited
	inflight atomic.Int64  // unacked deliveries counted against global

	// mu guards the session's state below.
	mu        sync.Mutex
	err       error // why the session closed; nil while open
	prefetch  int   // basic.qos global=false: the default for new consumers
	consumers map[string]*Consumer
	reply     *Consumer // the direct reply-to consumer (replyto.go), live while in consumers

	// pubMu serialises publishes, so confirm numbers and callbacks follow publish order.
	pubMu     sync.Mutex
	confirm   bool
	pubSeq    uint64
	onReturn  func(*ReturnedError)
	onConfirm func(Confirmation)

	// pendMu guards pending: the unacked deliveries by tag. A leaf lock.
	pendMu  sync.Mutex
	pending pendingTags

	// txMu guards tx, the open transaction of a transactional session (tx.go), nil otherwise.
	// It is taken after pubMu and before nothing. txMode is set once tx.select has been made.
	txMu   sync.Mutex
	tx     *txState
	txMode atomic.Bool
}

// pending is one unacked delivery.
type pending struct {
	q *queue
	m *qmsg
	c *Consumer // nil for Get
	d *Delivery
	// slot says the delivery holds a slot of the session-wide prefetch (Get's do not, A56).
	slot bool
}

type settleOp uint8

const (
	settleAck settleOp = iota
	settleNack
	settleReject
)

// String returns the AMQP method's name: "ack", "nack" or "reject".
func (op settleOp) String() string {
	return [...]string{"ack", "nack", "reject"}[op]
}

func newSession(r *Router, c *Connection) *Session {
	return &Session{r: r, conn: c, consumers: make(map[string]*Consumer)}
}

// Connection returns the connection the session is a channel of.
func (s *Session) Connection() *Connection { return s.conn }

func (s *Session) nextTag() uint64 { return s.tags.Add(1) }

func (s *Session) hasRoom() bool {
	g := s.global.Load()
	return g == 0 || s.inflight.Load() < g
}

// reserve takes one slot of the session-wide prefetch, if there is one.
func (s *Session) reserve() bool {
	g := s.global.Load()
	for {
		n := s.inflight.Load()
		if g != 0 && n >= g {
			return false
		}
		if s.inflight.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// release gives back a slot taken by reserve that no unacked delivery holds.
func (s *Session) release(*Consumer) { s.inflight.Add(-1) }

// track records an unacked delivery.
func (s *Session) track(d *Delivery, p *pending) {
	d.session = s
	p.d = d
	s.pendMu.Lock()
	s.pending.add(d.DeliveryTag, p)
	s.pendMu.Unlock()
}

// state returns the error the session closed with, or nil.
func (s *Session) state() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Err returns nil while the session is open, else why it closed: [ErrClosed] after Close, or
// the channel error that closed it.
func (s *Session) Err() error { return s.state() }

// fail closes the session for a channel error, or its connection for a connection error
// (unless it is the Router's own session, which errors never close), and returns err.
func (s *Session) fail(err error) error {
	switch {
	case s.conn.lenient:
	case isConnectionError(err):
		s.conn.closeWith(err)
	case isChannelError(err):
		s.closeWith(err)
	}
	return err
}

// do runs op unless the session is closed, closing it if op fails with a channel error.
func (s *Session) do(op func() error) error {
	if err := s.state(); err != nil {
		return err
	}
	if err := op(); err != nil {
		return s.fail(err)
	}
	return nil
}

// Close closes the session: its consumers are cancelled and its unacked deliveries go back to
// their queues in their original positions with redelivered set (A51). A session from
// [Router.NewSession] is the one channel of a connection of its own, which Close closes too,
// deleting the exclusive queues declared on it. Close is idempotent and returns nil, also on a
// nil *Session (as Router.Close does), so that a deferred Close after a failed NewSession is
// safe.
func (s *Session) Close() error {
	if s == nil {
		return nil
	}
	s.closeWith(ErrClosed)
	if s.conn.private {
		s.conn.closeWith(ErrClosed)
	}
	return nil
}

// closeWith closes the session for reason, which later calls return (wrapped, unless it is
// ErrClosed or already says the connection closed).
func (s *Session) closeWith(reason error) {
	s.mu.Lock()
	if s.err != nil {
		s.mu.Unlock()
		return
	}
	if reason != ErrClosed && (s.conn.Err() == nil) {
		reason = fmt.Errorf("%w (session closed)", reason)
	}
	s.err = reason
	consumers := make([]*Consumer, 0, len(s.consumers))
	for _, c := range s.consumers {
		consumers = append(consumers, c)
	}
	clear(s.consumers)
	s.mu.Unlock()

	for _, c := range consumers {
		c.detach(ReasonSessionClosed)
		c.endWith(reason, true)
	}
	s.pendMu.Lock()
	ps := s.pending.takeUpTo(0, nil)
	s.pendMu.Unlock()
	ps = append(ps, s.dropTx()...) // settled by a transaction never committed
	s.requeueAll(ps)               // a connection loss counts (A39)
	s.conn.forgetSession(s)
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (s *Session) forgetConsumer(c *Consumer) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.consumers[c.tag] != c {
		return false
	}
	delete(s.consumers, c.tag)
	return true
}

func unknownTag(tag uint64) error {
	return fmt.Errorf("%w: unknown delivery tag %d (%w)", ErrPreconditionFailed, tag, sentinel.ErrAlreadySettled)
}

// settle acks, nacks or rejects tag, or with multiple every outstanding tag up to it (tag 0
// with multiple means all, A48).
func (s *Session) settle(tag uint64, multiple bool, op settleOp, requeue bool) error {
	if err := s.state(); err != nil {
		return err
	}
	if f := s.r.faults; f != nil && f.BeforeSettle != nil {
		if err := f.BeforeSettle(s, s.queueOf(tag), tag, multiple, op.String()); errors.Is(err, ErrRequeueInstead) {
			op, requeue = settleNack, true
		} else if err != nil {
			return err
		}
	}
	var one [1]*pending // a single settle allocates nothing
	ps := one[:0]
	s.pendMu.Lock()
	if multiple {
		ps = s.pending.takeUpTo(tag, ps)
		if len(ps) == 0 && tag != 0 {
			s.pendMu.Unlock()
			return s.fail(unknownTag(tag))
		}
	} else {
		p := s.pending.take(tag)
		if p == nil {
			s.pendMu.Unlock()
			return s.fail(unknownTag(tag))
		}
		ps = append(ps, p)
	}
	s.pendMu.Unlock()
	if s.txMode.Load() && s.txSettle(ps, op, requeue) {
		return nil // at commit
	}
	s.apply(ps, op, requeue)
	return nil
}

// queueOf returns the queue of the unacked delivery tagged tag, "" if there is none.
func (s *Session) queueOf(tag uint64) string {
	s.pendMu.Lock()
	defer s.pendMu.Unlock()
	if p := s.pending.peek(tag); p != nil {
		return p.q.name
	}
	return ""
}

// apply settles deliveries taken from the session's unacked ones.
func (s *Session) apply(ps []*pending, op settleOp, requeue bool) {
	var now time.Time // each queue reads the clock if it needs it
	var out []dead
	for _, p := range ps {
		p.d.once.Do(func() error { return nil })
		out = p.q.settle(p, op, requeue, op == settleReject, now, out)
		if p.slot {
			s.inflight.Add(-1)
		}
		if s.r.observed() {
			kind := EventAcked
			switch {
			case op != settleAck && !requeue:
				kind = EventNacked
			case op != settleAck:
				kind = EventRequeued
			}
			if kind != EventRequeued { // the queue reports requeues itself
				s.r.emit(Event{Kind: kind, Time: now, Queue: p.q.name, DeliveryTag: p.d.DeliveryTag, MessageID: p.d.MessageID})
			}
		}
	}
	s.r.deadLetter(out, now)
}

// Ack acknowledges delivery tag, or with multiple every outstanding tag up to and including
// it (A48). An unknown or already-settled tag is ErrPreconditionFailed and closes the session
// (A49).
func (s *Session) Ack(tag uint64, multiple bool) error {
	return s.settle(tag, multiple, settleAck, false)
}

// Nack rejects tag (or every outstanding tag up to it, with multiple); with requeue the messages
// go back to their original positions (A50), else they are dead-lettered or discarded.
func (s *Session) Nack(tag uint64, multiple, requeue bool) error {
	return s.settle(tag, multiple, settleNack, requeue)
}

// Reject is basic.reject of one tag; see [Delivery.Reject].
func (s *Session) Reject(tag uint64, requeue bool) error {
	return s.settle(tag, false, settleReject, requeue)
}

// Recover is basic.recover with requeue: every unacked delivery of the session goes back to
// its queue, in its original position and marked redelivered, as if the channel had closed
// (a quorum queue counts it against x-delivery-limit, A39), and the session stays open.
// Without requeue it is ErrNotImplemented, a connection error, as in RabbitMQ, which never
// implemented redelivering to the same consumer.
func (s *Session) Recover(requeue bool) error {
	if err := s.state(); err != nil {
		return err
	}
	if !requeue {
		return s.fail(fmt.Errorf("%w: requeue=false", ErrNotImplemented))
	}
	s.pendMu.Lock()
	ps := s.pending.takeUpTo(0, nil)
	s.pendMu.Unlock()
	s.requeueAll(ps)
	return nil
}

// requeueAll puts taken unacked deliveries back in their queues, redelivered, counting as a
// failed delivery.
func (s *Session) requeueAll(ps []*pending) {
	var now time.Time // each queue reads the clock if it needs it
	var out []dead
	for _, p := range ps {
		p.d.once.Do(func() error { return nil })
		out = p.q.settle(p, settleNack, true, true, now, out)
		if p.slot {
			s.inflight.Add(-1)
		}
	}
	s.r.deadLetter(out, now)
}

// Qos is basic.qos: with global false, prefetch applies to each consumer started on the session
// afterwards; with global true, to all the session's consumers together. Both may be set, and
// both then apply (A55). 0 means unlimited (A54).
func (s *Session) Qos(prefetch int, global bool) error {
	if prefetch < 0 {
		return s.fail(fmt.Errorf("%w: negative prefetch %d", ErrPreconditionFailed, prefetch))
	}
	if err := checkPrefetch(prefetch); err != nil {
		return s.fail(err)
	}
	if err := s.state(); err != nil {
		return err
	}
	if global {
		s.global.Store(int64(prefetch))
		return nil
	}
	s.mu.Lock()
	s.prefetch = prefetch
	s.mu.Unlock()
	return nil
}

// Consume is basic.consume on queue.
func (s *Session) Consume(queue string, o ConsumeOptions) (*Consumer, error) {
	if err := s.state(); err != nil {
		return nil, err
	}
	if o.Prefetch < 0 {
		return nil, s.fail(fmt.Errorf("%w: negative prefetch %d", ErrPreconditionFailed, o.Prefetch))
	}
	if err := s.r.checkConsume(queue, &o); err != nil {
		return nil, s.fail(err)
	}
	if err := o.Args.Validate(); err != nil {
		return nil, s.fail(err)
	}
	if v, ok := o.Args["x-priority"]; ok && o.Priority == 0 {
		n, isInt := asInt64(v)
		if !isInt {
			return nil, s.fail(fmt.Errorf("%w: invalid arg 'x-priority' of type %T", ErrPreconditionFailed, v))
		}
		o.Priority = int(n)
	}
	name, reply := queue, queue == ReplyToQueue
	if reply {
		var err error
		if name, err = s.consumeReplyTo(&o); err != nil {
			return nil, s.fail(err)
		}
	}
	q, err := s.r.lookupQueue(s, name)
	if err != nil {
		return nil, s.fail(err)
	}
	c := &Consumer{s: s, q: q, tag: o.Tag, autoAck: o.AutoAck, exclusive: o.Exclusive, prefetch: o.Prefetch,
		priority: o.Priority, notify: make(chan struct{}, 1), done: make(chan struct{})}
	s.mu.Lock()
	if s.err != nil {
		s.mu.Unlock()
		s.dropReplyQueue(q, reply)
		return nil, s.err
	}
	if c.prefetch == 0 {
		c.prefetch = s.prefetch
	}
	if c.tag == "" {
		c.tag = "amq.ctag-" + s.r.randomID()
	}
	if _, dup := s.consumers[c.tag]; dup {
		s.mu.Unlock()
		s.dropReplyQueue(q, reply)
		return nil, s.fail(fmt.Errorf("%w: attempt to reuse consumer tag '%s'", ErrNotAllowed, c.tag))
	}
	if reply && s.reply != nil && s.consumers[s.reply.tag] == s.reply {
		s.mu.Unlock() // a reply consumer started since consumeReplyTo looked
		s.dropReplyQueue(q, reply)
		return nil, s.fail(fmt.Errorf("%w: reply consumer already set", ErrPreconditionFailed))
	}
	s.consumers[c.tag] = c
	if reply {
		s.reply = c
	}
	s.mu.Unlock()
	var now time.Time
	out, err := q.addConsumer(c, now)
	if err != nil {
		s.forgetConsumer(c)
		s.dropReplyQueue(q, reply)
		return nil, s.fail(err)
	}
	s.r.deadLetter(out, now)
	return c, nil
}

func (r *Router) randomID() string {
	var b [16]byte
	if r.seed == 0 {
		_, _ = rand.Read(b[:]) // crypto/rand's Read never fails
	} else {
		// Options.Seed: the n-th name under a seed, unique since Mix is a bijection.
		x := seed.Mix(r.seed ^ r.names.Add(1))
		binary.BigEndian.PutUint64(b[:8], x)
		binary.BigEndian.PutUint64(b[8:], seed.Mix(x))
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Get is basic.get: the head of queue, or nil when it is empty (get-empty, A58). Prefetch does
// not apply (A56). Without autoAck the delivery must be settled like a pushed one.
func (s *Session) Get(queue string, autoAck bool) (*Delivery, error) {
	if err := s.state(); err != nil {
		return nil, err
	}
	q, err := s.r.lookupQueue(s, queue)
	if err != nil {
		return nil, s.fail(err)
	}
	var now time.Time
	d, out, err := q.get(s, autoAck, now)
	s.r.deadLetter(out, now)
	if err != nil {
		return nil, s.fail(err)
	}
	return d, nil
}

// Confirm puts the session in confirm mode (confirm.select): from now on its publishes are
// numbered 1, 2, 3, … and each is confirmed once, with an ack or a nack (A16). On a
// transactional session it is ErrPreconditionFailed, which closes the session (A18).
func (s *Session) Confirm() error {
	if err := s.state(); err != nil {
		return err
	}
	s.pubMu.Lock()
	tx := s.txMode.Load()
	if !tx {
		s.confirm = true
	}
	s.pubMu.Unlock()
	if tx {
		return s.fail(fmt.Errorf("%w: cannot switch from tx to confirm mode", ErrPreconditionFailed))
	}
	return nil
}

// NotifyReturn sets a function called with every mandatory message that could not be routed,
// before the publish's confirmation (A17). It runs on the publishing goroutine.
func (s *Session) NotifyReturn(fn func(*ReturnedError)) {
	s.pubMu.Lock()
	s.onReturn = fn
	s.pubMu.Unlock()
}

// NotifyConfirm sets a function called with every confirmation in confirm mode, in publish
// order, on the publishing goroutine.
func (s *Session) NotifyConfirm(fn func(Confirmation)) {
	s.pubMu.Lock()
	s.onConfirm = fn
	s.pubMu.Unlock()
}

// Confirmation is the broker's settlement of one publish in confirm mode (A16).
type Confirmation struct {
	DeliveryTag uint64 // the publish's number on its session, from 1
	Ack         bool   // false: nacked, because a reject-publish queue was full (A19)
}

// Publish sends msg to exchange with routing key key and returns once it is routed and
// enqueued. In confirm mode the Confirmation says whether the broker took it; outside it is
// zero. A mandatory message that reaches no queue also returns a [*ReturnedError] (reply 312,
// A14), after which the session stays open. Publishing to a missing exchange is ErrNotFound
// and closes the session (A6); to an internal exchange, ErrAccessRefused. ctx is for
// waiting on durable storage and for waiting while a memory or disk alarm is on: a publish
// waits until no alarm is on, as RabbitMQ blocks a publishing connection, and if ctx ends
// first returns ctx's error together with [ErrMemoryAlarm] or [ErrDiskFull] (with
// Options.FailFastOnAlarm it returns that error at once). Otherwise an in-memory publish
// never waits.
func (s *Session) Publish(ctx context.Context, exchange, key string, mandatory bool, msg Publishing) (Confirmation, error) {
	if err := ctx.Err(); err != nil {
		return Confirmation{}, err
	}
	if f := s.r.faults; f != nil && f.BeforePublish != nil {
		drop, err := f.BeforePublish(s, exchange, key, msg)
		if err != nil {
			return Confirmation{}, err
		}
		if drop {
			return s.dropped(), nil
		}
	}
	s.pubMu.Lock()
	defer s.pubMu.Unlock()
	if err := s.r.admit(ctx); err != nil {
		return Confirmation{}, err
	}
	if err := s.state(); err != nil {
		return Confirmation{}, err
	}
	if err := s.checkPublish(exchange, key, &msg); err != nil {
		return Confirmation{}, s.fail(err)
	}
	if s.txMode.Load() {
		// RabbitMQ looks the exchange up as the publish arrives, and enqueues at commit.
		if err := s.r.checkTarget(exchange); err != nil {
			return Confirmation{}, s.fail(err)
		}
		if s.txPublish(exchange, key, mandatory, msg) {
			return Confirmation{}, nil
		}
	}
	return s.route(ctx, exchange, key, mandatory, msg)
}

// dropped is the outcome of a publish a fault dropped: success, and in confirm mode an ack.
func (s *Session) dropped() Confirmation {
	s.pubMu.Lock()
	defer s.pubMu.Unlock()
	var conf Confirmation
	if s.confirm {
		s.pubSeq++
		conf = Confirmation{DeliveryTag: s.pubSeq, Ack: true}
		s.r.emitConfirmed(conf, "", "", "")
		if s.onConfirm != nil {
			s.onConfirm(conf)
		}
	}
	return conf
}

// route routes and enqueues a checked publish, waits for its store writes, and confirms or
// returns it. Callers hold pubMu.
func (s *Session) route(ctx context.Context, exchange, key string, mandatory bool, msg Publishing) (Confirmation, error) {
	queues, accepted, waits, err := s.r.publish(ctx, exchange, key, msg)
	if err != nil {
		return Confirmation{}, s.fail(err)
	}
	for _, w := range waits { // a persistent message is confirmed once it is on disk
		if err := w.done(); err != nil {
			return Confirmation{}, fmt.Errorf("tribus/exchange: persisting the message: %w", err)
		}
	}
	var conf Confirmation
	if s.confirm {
		s.pubSeq++
		conf = Confirmation{DeliveryTag: s.pubSeq, Ack: accepted}
	}
	var ret *ReturnedError
	if mandatory && queues == 0 {
		ret = &ReturnedError{ReplyCode: 312, ReplyText: "NO_ROUTE", Exchange: exchange, RoutingKey: key, Message: msg}
		if s.r.observed() {
			s.r.emit(Event{Kind: EventReturned, Exchange: exchange, RoutingKey: key, MessageID: msg.MessageID})
		}
		if s.onReturn != nil {
			s.onReturn(ret)
		}
	}
	if s.confirm {
		s.r.emitConfirmed(conf, exchange, key, msg.MessageID)
		if s.onConfirm != nil {
			s.onConfirm(conf)
		}
	}
	if ret != nil {
		return conf, ret
	}
	return conf, nil
}
