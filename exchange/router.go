package exchange

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tribusmq/tribus/internal/observe"
	"github.com/tribusmq/tribus/store"
)

// Router is a RabbitMQ-style broker in process: exchanges, queues, bindings, consumers and
// dead-lettering with AMQP 0-9-1 semantics. Work through a [Session] (an AMQP channel), or
// through the Router's own convenience methods, which use a session of the router's that
// errors never close.
//
// A Router is safe for concurrent use. Close it when done.
type Router struct {
	st     *store.Store // nil: in memory only
	budget int64        // Options.MemoryBudget resolved; <0 for none
	maxMsg int64        // Options.MaxMessageSize resolved
	// resident is the estimated bytes of stored messages in memory (storedCost), contents
	// the part of it that is contents rather than index entries (budget.go).
	resident, contents atomic.Int64
	// evicting is set while an eviction runs; evictFloor is the contents an eviction that
	// found too little to page out left, so the next waits until they grow (budget.go).
	evicting   atomic.Bool
	evictFloor atomic.Int64
	al         alarms              // memory and disk alarms (alarm.go)
	obs        observe.Slot[Event] // Options.Observer, or what SetObserver set; none: emit nothing
	faults     *Faults             // Options.Faults; nil: no hook
	seed       uint64              // Options.Seed; 0: round-robins start at the first consumer
	names      atomic.Uint64       // names generated under a seed (Router.randomID)
	logger     *slog.Logger

	// mu guards the topology: exchanges, queues and every binding. Publishers hold it for
	// reading while they route. Lock order: Router.mu, then queue.mu, then the leaf locks
	// (Session.pendMu, Consumer.mu).
	mu        sync.RWMutex
	exchanges map[string]*exchange
	queues    map[string]*queue

	// life guards closed and the timer callbacks in flight (wg), so Close can wait for them.
	life   sync.Mutex
	closed bool
	wg     sync.WaitGroup

	// connMu guards conns, every open connection. A leaf lock.
	connMu sync.Mutex
	conns  map[*Connection]struct{}
	// defMu guards def, the session behind the convenience methods (on a lenient
	// connection), created on first use. It is taken before connMu.
	defMu sync.Mutex
	def   *Session
}

// New returns a Router with the default exchange and amq.direct, amq.fanout, amq.topic,
// amq.headers and amq.match declared (A4). opts may be nil. It starts no goroutine: timers
// (TTL, x-expires) run only while something is scheduled.
func New(opts *Options) (*Router, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	r := &Router{
		st:        o.Store,
		budget:    o.MemoryBudget,
		faults:    o.Faults,
		seed:      o.Seed,
		logger:    o.Logger,
		exchanges: make(map[string]*exchange),
		queues:    make(map[string]*queue),
		conns:     make(map[*Connection]struct{}),
	}
	if r.budget == 0 {
		r.budget = DefaultMemoryBudget
	}
	r.SetObserver(o.Observer)
	var err error
	if r.maxMsg, err = maxMessageSize(o.MaxMessageSize); err != nil {
		return nil, err
	}
	r.al.init(&o)
	if r.logger == nil {
		r.logger = slog.New(slog.DiscardHandler)
	}
	for name, kind := range map[string]Kind{
		"": Direct, "amq.direct": Direct, "amq.fanout": Fanout, "amq.topic": Topic,
		"amq.headers": Headers, "amq.match": Headers,
	} {
		r.exchanges[name] = newExchange(name, kind, ExchangeOptions{Durable: true})
	}
	if r.st != nil {
		if err := r.recover(); err != nil {
			return nil, fmt.Errorf("tribus/exchange: recovering from the store: %w", err)
		}
		for _, q := range r.queues {
			q.mu.Lock()
			q.armExpiryLocked()
			q.armUnusedLocked()
			q.mu.Unlock()
		}
	}
	return r, nil
}

// Close closes every connection, and so every session (requeueing their unacked deliveries,
// as a broker shutting down would before it stopped) and exclusive queue, stops every timer
// and waits for timer callbacks in flight. Later calls return ErrClosed. Close is idempotent
// and returns nil.
func (r *Router) Close() error {
	if r == nil {
		return nil
	}
	r.connMu.Lock()
	conns := make([]*Connection, 0, len(r.conns))
	for c := range r.conns {
		conns = append(conns, c)
	}
	r.connMu.Unlock()
	for _, c := range conns {
		c.closeWith(ErrClosed)
	}
	r.life.Lock()
	if r.closed {
		r.life.Unlock()
		return nil
	}
	r.closed = true
	close(r.al.quit)
	r.life.Unlock()
	r.mu.Lock()
	for _, q := range r.queues {
		q.mu.Lock()
		q.stopTimersLocked()
		q.mu.Unlock()
	}
	r.mu.Unlock()
	r.wg.Wait()
	return nil
}

func (r *Router) isClosed() bool {
	r.life.Lock()
	defer r.life.Unlock()
	return r.closed
}

// afterFunc is time.AfterFunc whose callback does nothing once the router is closed, and which
// Close waits for while it runs.
func (r *Router) afterFunc(d time.Duration, fn func()) *time.Timer {
	return time.AfterFunc(d, func() {
		r.life.Lock()
		if r.closed {
			r.life.Unlock()
			return
		}
		r.wg.Add(1)
		r.life.Unlock()
		defer r.wg.Done()
		fn()
	})
}

// observed reports whether the router has an observer. Callers check it before they build
// an event, so that a router nobody observes builds none.
func (r *Router) observed() bool { return r.obs.Observed() }

// emit calls the observer with e, stamped now if it has no time. The observer may have been
// removed since the caller checked observed; then the event goes nowhere.
func (r *Router) emit(e Event) {
	if obs := r.obs.Load(); obs != nil {
		if e.Time.IsZero() {
			e.Time = time.Now()
		}
		obs(e)
	}
}

// SetObserver replaces the router's observer ([Options.Observer]); nil removes it, and then
// the router builds no event at all. It is safe to call at any time, from any goroutine: an
// event being emitted while it runs reaches the old observer or the new one, and every event
// emitted after it returns reaches the new one. Turning an observer on at runtime this way is
// what RabbitMQ's firehose tracer (rabbitmqctl trace_on) does.
func (r *Router) SetObserver(fn func(Event)) { r.obs.Set(fn) }

// emitConfirmed emits EventConfirmed for conf, if the router has an observer.
func (r *Router) emitConfirmed(conf Confirmation, exchange, key, messageID string) {
	if !r.observed() {
		return
	}
	reason := "ack"
	if !conf.Ack {
		reason = "nack"
	}
	r.emit(Event{Kind: EventConfirmed, Exchange: exchange, RoutingKey: key, DeliveryTag: conf.DeliveryTag,
		Reason: reason, MessageID: messageID})
}

// NewSession opens a session on a connection of its own (of [DefaultUser]), which the
// session's Close closes: the simple path when one channel is all a caller needs. Exclusive
// queues it declares live until then (A22).
func (r *Router) NewSession() (*Session, error) {
	if r.isClosed() {
		return nil, ErrClosed
	}
	c, err := r.newConnection(ConnectionOptions{}, false, true)
	if err != nil {
		return nil, err
	}
	return c.NewSession()
}

// defaultSession is the session behind the Router's convenience methods; errors never close it.
func (r *Router) defaultSession() (*Session, error) {
	r.defMu.Lock()
	defer r.defMu.Unlock()
	if r.def != nil {
		return r.def, nil
	}
	c, err := r.newConnection(ConnectionOptions{}, true, false)
	if err != nil {
		return nil, err
	}
	if r.def, err = c.NewSession(); err != nil {
		return nil, err
	}
	return r.def, nil
}

// --- exchanges

func (r *Router) declareExchange(name string, kind Kind, o ExchangeOptions) error {
	if err := checkName("exchange", name); err != nil {
		return err
	}
	if err := checkTable("exchange arguments", o.Args, r.maxMsg); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.isClosed() {
		return ErrClosed
	}
	ex := r.exchanges[name]
	if o.Passive {
		if ex == nil {
			return fmt.Errorf("%w: no exchange '%s'", ErrNotFound, name)
		}
		return nil
	}
	if name == "" || (strings.HasPrefix(name, "amq.") && ex == nil) {
		return fmt.Errorf("%w: exchange name '%s' contains reserved prefix 'amq.*'", ErrAccessRefused, name)
	}
	switch kind {
	case Direct, Fanout, Topic, Headers:
	default:
		return fmt.Errorf("%w: unknown exchange type '%s'", ErrCommandInvalid, kind)
	}
	if err := o.Args.Validate(); err != nil {
		return err
	}
	if ae, ok := o.Args["alternate-exchange"]; ok && o.AlternateExchange == "" {
		s, isStr := asString(ae)
		if !isStr {
			return fmt.Errorf("%w: invalid arg 'alternate-exchange' of type %T", ErrPreconditionFailed, ae)
		}
		o.AlternateExchange = s
	}
	if ex != nil {
		// RabbitMQ compares type, durable, auto_delete and internal in that order, and names
		// the first that differs.
		for _, c := range [...]struct {
			arg            string
			received, have string
		}{
			{"type", string(kind), string(ex.kind)},
			{"durable", fmt.Sprint(o.Durable), fmt.Sprint(ex.durable)},
			{"auto_delete", fmt.Sprint(o.AutoDelete), fmt.Sprint(ex.autoDelete)},
			{"internal", fmt.Sprint(o.Internal), fmt.Sprint(ex.internal)},
		} {
			if c.received != c.have {
				return fmt.Errorf("%w: inequivalent arg '%s' for exchange '%s': received '%s' but current is '%s'",
					ErrPreconditionFailed, c.arg, name, c.received, c.have)
			}
		}
		// Of an exchange's arguments RabbitMQ compares only alternate-exchange.
		if o.AlternateExchange != ex.ae {
			return fmt.Errorf("%w: inequivalent arg 'alternate-exchange' for exchange '%s': %s", ErrPreconditionFailed,
				name, inequivalence(o.AlternateExchange, o.AlternateExchange != "", ex.ae, ex.ae != ""))
		}
		return nil
	}
	ex = newExchange(name, kind, o)
	if err := r.saveExchange(ex); err != nil {
		return err
	}
	r.exchanges[name] = ex
	return nil
}

func (r *Router) deleteExchange(name string, ifUnused bool) error {
	if err := checkShort("exchange name", name); err != nil {
		return err
	}
	if name == "" {
		return fmt.Errorf("%w: operation not permitted on the default exchange", ErrAccessRefused)
	}
	if strings.HasPrefix(name, "amq.") {
		return fmt.Errorf("%w: deletion of system exchange '%s' not allowed", ErrAccessRefused, name)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	ex := r.exchanges[name]
	if ex == nil {
		return nil // deleting a missing exchange succeeds in RabbitMQ 3.x and 4.x
	}
	if ifUnused && len(ex.bindings) > 0 {
		return fmt.Errorf("%w: exchange '%s' in use", ErrPreconditionFailed, name)
	}
	r.removeExchangeLocked(ex)
	return nil
}

// removeExchangeLocked deletes ex and every binding it is the source or destination of.
func (r *Router) removeExchangeLocked(ex *exchange) {
	delete(r.exchanges, ex.name)
	r.dropExchange(ex)
	for _, b := range append([]*binding(nil), ex.bindings...) {
		r.unbindLocked(b)
	}
	for _, b := range append([]*binding(nil), ex.inbound...) {
		r.unbindLocked(b)
	}
}

// --- queues

// declareQueue is queue.declare for session s (the owner of an exclusive queue).
func (r *Router) declareQueue(s *Session, name string, o QueueOptions) (QueueInfo, error) {
	if err := checkName("queue", name); err != nil {
		return QueueInfo{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.isClosed() {
		return QueueInfo{}, ErrClosed
	}
	q := r.queues[name]
	if o.Passive {
		if name == ReplyToQueue {
			return QueueInfo{Name: name}, nil // the direct reply-to pseudo-queue always exists
		}
		if q == nil {
			return QueueInfo{}, fmt.Errorf("%w: no queue '%s'", ErrNotFound, name)
		}
		if err := q.checkOwner(s); err != nil {
			return QueueInfo{}, err
		}
		q.touch()
		return q.info(), nil
	}
	if strings.HasPrefix(name, "amq.") {
		return QueueInfo{}, fmt.Errorf("%w: queue name '%s' contains reserved prefix 'amq.*'", ErrAccessRefused, name)
	}
	args, err := o.args()
	if err != nil {
		return QueueInfo{}, err
	}
	cfg, err := parseQueueArgs(name, args)
	if err != nil {
		return QueueInfo{}, err
	}
	if err := r.checkQueueArgs(args); err != nil {
		return QueueInfo{}, err
	}
	if cfg.quorum && (o.Exclusive || !o.Durable || o.AutoDelete) {
		return QueueInfo{}, fmt.Errorf("%w: a quorum queue must be durable, not exclusive and not auto-delete", ErrPreconditionFailed)
	}
	if o.Exclusive {
		o.Durable = false // a durable exclusive queue is a transient exclusive queue (A26)
	}
	if q != nil {
		if err := q.checkDeclaredOwner(s.conn, o.Exclusive); err != nil {
			return QueueInfo{}, err
		}
		if err := q.equivalent(o, args); err != nil {
			return QueueInfo{}, err
		}
		if !q.cfg.quorum { // redeclaring renews the x-expires lease, except on quorum queues (A32)
			q.touch()
		}
		return q.info(), nil
	}
	if name == "" {
		name = r.serverName()
	}
	q = newQueue(r, name, o, args, cfg)
	if err := r.saveQueue(q); err != nil {
		return QueueInfo{}, err
	}
	if o.Exclusive {
		if err := s.conn.ownQueue(q); err != nil {
			return QueueInfo{}, err
		}
	}
	r.queues[name] = q
	q.mu.Lock()
	q.armUnusedLocked()
	q.mu.Unlock()
	if r.observed() {
		r.emit(Event{Kind: EventQueueDeclared, Queue: name})
	}
	return q.info(), nil
}

// serverName makes a name for a server-named queue, in RabbitMQ's amq.gen- form (A21).
func (r *Router) serverName() string { return "amq.gen-" + r.randomID() }

// lookupQueue returns the queue name for session s, or why s cannot use it.
func (r *Router) lookupQueue(s *Session, name string) (*queue, error) {
	if err := checkShort("queue name", name); err != nil {
		return nil, err
	}
	r.mu.RLock()
	q := r.queues[name]
	r.mu.RUnlock()
	if q == nil {
		return nil, fmt.Errorf("%w: no queue '%s'", ErrNotFound, name)
	}
	if err := q.checkOwner(s); err != nil {
		return nil, err
	}
	return q, nil
}

func (r *Router) deleteQueue(s *Session, name string, ifUnused, ifEmpty bool) (int, error) {
	if err := checkShort("queue name", name); err != nil {
		return 0, err
	}
	r.mu.Lock()
	q := r.queues[name]
	if q == nil {
		r.mu.Unlock()
		return 0, nil // deleting a missing queue succeeds, as in RabbitMQ
	}
	if err := q.checkOwner(s); err != nil {
		r.mu.Unlock()
		return 0, err
	}
	q.mu.Lock()
	if ifUnused && len(q.consumers) > 0 {
		q.mu.Unlock()
		r.mu.Unlock()
		return 0, fmt.Errorf("%w: queue '%s' in use", ErrPreconditionFailed, name)
	}
	if ifEmpty && q.st.ready > 0 {
		q.mu.Unlock()
		r.mu.Unlock()
		return 0, fmt.Errorf("%w: queue '%s' not empty", ErrPreconditionFailed, name)
	}
	q.mu.Unlock()
	n := r.removeQueueLocked(q)
	r.mu.Unlock()
	return n, nil
}

// removeQueueLocked deletes q: its bindings go, its consumers are cancelled by the server, its
// ready messages are discarded (never dead-lettered, A46). It returns how many were ready.
func (r *Router) removeQueueLocked(q *queue) int {
	if r.queues[q.name] == q {
		delete(r.queues, q.name)
	}
	for _, b := range append([]*binding(nil), q.inbound...) {
		r.unbindLocked(b)
	}
	n := q.delete()
	r.dropQueue(q)
	if q.owner != nil {
		q.owner.disownQueue(q)
	}
	if r.observed() {
		r.emit(Event{Kind: EventQueueDeleted, Queue: q.name})
	}
	return n
}

// removeQueueIf deletes q if cond still holds with the topology locked; auto-delete and
// x-expires use it after deciding outside the lock.
func (r *Router) removeQueueIf(q *queue, cond func() bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.queues[q.name] != q {
		return
	}
	q.mu.Lock()
	ok := cond()
	q.mu.Unlock()
	if ok {
		r.removeQueueLocked(q)
	}
}
