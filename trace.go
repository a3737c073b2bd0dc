package tribus

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tribusmq/tribus/exchange"
	tlog "github.com/tribusmq/tribus/log"
	"github.com/tribusmq/tribus/pubsub"
	"github.com/tribusmq/tribus/wire"
)

// ErrTraceOff is what [Broker.Trace] yields on a broker opened without [Options.Trace].
var ErrTraceOff = errors.New("tribus: the trace is off (open the broker with Options.Trace)")

// DefaultTraceBuffer is how many events a trace reader may fall behind by when
// [Options.TraceBuffer] is 0.
const DefaultTraceBuffer = 4096

// Engine names the engine a [TraceEvent] comes from.
type Engine uint8

// The engines of a broker.
const (
	EngineExchange Engine = iota + 1 // the RabbitMQ-style exchange router
	EngineLog                        // the Kafka-style commit log
	EnginePubSub                     // the Redis-style pub/sub hub
	EngineWire                       // the front doors: their clients' connections
)

var engineNames = [...]string{"", "exchange", "log", "pubsub", "wire"}

// String returns the engine's name: "exchange", "log", "pubsub" or "wire".
func (e Engine) String() string {
	if int(e) < len(engineNames) && e != 0 {
		return engineNames[e]
	}
	return "unknown"
}

// TraceEvent is one lifecycle event of a broker's engines, in the one stream [Broker.Trace]
// reads: a message routed, delivered, acked, dead-lettered or dropped; a record appended,
// fetched or an offset committed; a group rebalanced; a pub/sub message published, delivered
// or lost with a slow subscriber; a client's connection to a front door opened or closed...
// Event holds the engine's own event, with every field it documents.
type TraceEvent struct {
	// Seq numbers the events the trace carried, from 1 in the order they were emitted
	// (events emitted while nobody read the trace are not numbered): across engines, a later
	// Seq was emitted later. A reader sees increasing numbers, with gaps where it lost
	// events (Lost counts them).
	Seq    uint64
	Time   time.Time
	Engine Engine
	// Lost is how many events this reader missed just before this one because it fell more
	// than [Options.TraceBuffer] events behind.
	Lost uint64
	// Event is the engine's event: an exchange.Event, a log.Event, a pubsub.Event, or a
	// wire.ConnEvent of a front door's connection.
	Event any
}

// Kind returns the name of the event's kind within its engine ("routed", "appended",
// "published"...).
func (e TraceEvent) Kind() string {
	switch ev := e.Event.(type) {
	case exchange.Event:
		return ev.Kind.String()
	case tlog.Event:
		return ev.Kind.String()
	case pubsub.Event:
		return ev.Kind.String()
	case wire.ConnEvent:
		return ev.Kind.String()
	}
	return "unknown"
}

// TraceField is one field of an event that is set: its name as [TraceEvent.Fields] gives it
// ("queue", "deliveryTag"...) and its value.
type TraceField struct {
	Name  string
	Value any
}

// Fields returns the fields of the engine's event that are set, in the order the event type
// declares them, without its kind and time. A partition and an offset are kept when zero in
// an event about a topic, where zero is a place rather than an absence, and so are a pub/sub
// publish's receivers, where zero is the message lost.
func (e TraceEvent) Fields() []TraceField {
	v := reflect.ValueOf(e.Event)
	if v.Kind() != reflect.Struct {
		return nil
	}
	topic := v.FieldByName("Topic")
	aboutTopic := topic.IsValid() && !topic.IsZero()
	ps, isPubSub := e.Event.(pubsub.Event)
	published := isPubSub && ps.Kind == pubsub.EventPublished
	out := make([]TraceField, 0, 4)
	for i := range v.NumField() {
		f, name := v.Field(i), v.Type().Field(i).Name
		zeroMeans := aboutTopic && (name == "Partition" || name == "Offset") || published && name == "Receivers"
		if name == "Kind" || name == "Time" || (f.IsZero() && !zeroMeans) {
			continue
		}
		out = append(out, TraceField{Name: strings.ToLower(name[:1]) + name[1:], Value: f.Interface()})
	}
	return out
}

// String writes the event as "exchange delivered queue=orders deliveryTag=1": its engine, its
// kind and the fields that are set.
func (e TraceEvent) String() string {
	var b strings.Builder
	b.WriteString(e.Engine.String())
	b.WriteByte(' ')
	b.WriteString(e.Kind())
	for _, f := range e.Fields() {
		fmt.Fprintf(&b, " %s=%v", f.Name, f.Value)
	}
	if e.Lost > 0 {
		fmt.Fprintf(&b, " (%d events lost before it)", e.Lost)
	}
	return b.String()
}

// MarshalJSON writes the event as one flat object: seq, time (RFC 3339 with nanoseconds),
// engine, kind, lost when not zero, then the fields that are set, as [TraceEvent.Fields] names them.
func (e TraceEvent) MarshalJSON() ([]byte, error) {
	var b []byte
	b = fmt.Appendf(b, `{"seq":%d,"time":%q,"engine":%q,"kind":%q`, e.Seq, e.Time.Format(time.RFC3339Nano), e.Engine, e.Kind())
	if e.Lost > 0 {
		b = fmt.Appendf(b, `,"lost":%d`, e.Lost)
	}
	for _, f := range e.Fields() {
		v, err := json.Marshal(f.Value)
		if err != nil {
			return nil, err
		}
		b = fmt.Appendf(b, `,%q:%s`, f.Name, v)
	}
	return append(b, '}'), nil
}

// tracer fans the engines' events out to the broker's trace readers. Its observers run on the
// engines' goroutines, under their locks: they take only the tracer's and each reader's
// mutex, and never wait for a reader.
//
// While nobody reads, the engines do not even build their events: the tracer gives them the
// user's observers alone (often none), and swaps its own in when the first reader comes.
type tracer struct {
	seq    atomic.Uint64
	active atomic.Int32 // len(readers): with none, an event is not even boxed
	buffer int

	// The user's observers (Options), and the ones that call them and then the tracer.
	userX, tracedX func(exchange.Event)
	userL, tracedL func(tlog.Event)
	userP, tracedP func(pubsub.Event)

	mu      sync.Mutex // guards readers, closed and the engines attached
	readers map[*traceReader]struct{}
	closed  bool
	x       *exchange.Router
	l       *tlog.Log
	h       *pubsub.Hub
}

func newTracer(buffer int) *tracer {
	if buffer <= 0 {
		buffer = DefaultTraceBuffer
	}
	return &tracer{buffer: buffer, readers: make(map[*traceReader]struct{})}
}

// attach hands the tracer engines the broker has built (nil for those it has not), whose
// observers it tunes from then on. It does nothing on a broker without a trace.
func (t *tracer) attach(x *exchange.Router, l *tlog.Log, h *pubsub.Hub) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.x, t.l, t.h = cmp.Or(x, t.x), cmp.Or(l, t.l), cmp.Or(h, t.h)
	t.tuneLocked()
}

// tuneLocked gives each attached engine the tracing observers while anyone reads, and the
// user's alone while nobody does. t.mu is held.
func (t *tracer) tuneLocked() {
	reading := len(t.readers) > 0
	t.active.Store(int32(len(t.readers)))
	if t.x != nil {
		t.x.SetObserver(pick(reading, t.tracedX, t.userX))
	}
	if t.l != nil {
		t.l.SetObserver(pick(reading, t.tracedL, t.userL))
	}
	if t.h != nil {
		t.h.SetObserver(pick(reading, t.tracedP, t.userP))
	}
}

// pick returns traced if reading, else user.
func pick[F any](reading bool, traced, user F) F {
	if reading {
		return traced
	}
	return user
}

// add numbers an event and hands it to every reader.
func (t *tracer) add(engine Engine, at time.Time, ev any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := TraceEvent{Seq: t.seq.Add(1), Time: at, Engine: engine, Event: ev}
	for r := range t.readers {
		r.push(e)
	}
}

// chain builds the observers that call the user's (in o) and then the tracer's. The engines
// get them from tuneLocked while anyone reads; the front doors, whose events are few, get
// them in o, for good.
func (t *tracer) chain(o *Options) {
	userX, userL, userP := o.ExchangeObserver, o.LogObserver, o.PubSub.Observer
	t.userX, t.userL, t.userP = userX, userL, userP
	t.tracedX = func(e exchange.Event) {
		if userX != nil {
			userX(e)
		}
		if t.active.Load() == 0 {
			return
		}
		if userX != nil {
			if e.Queues != nil { // the user's observer owns it now; the trace keeps its own
				e.Queues = append([]string(nil), e.Queues...)
			}
		}
		t.add(EngineExchange, e.Time, e)
	}
	t.tracedL = func(e tlog.Event) {
		if userL != nil {
			userL(e)
		}
		if t.active.Load() > 0 {
			t.add(EngineLog, e.Time, e)
		}
	}
	t.tracedP = func(e pubsub.Event) {
		if userP != nil {
			userP(e)
		}
		if t.active.Load() > 0 {
			t.add(EnginePubSub, e.Time, e)
		}
	}
	for _, door := range []*func(wire.ConnEvent){&o.Redis.Observer, &o.AMQP.Observer, &o.Kafka.Observer} {
		user := *door
		*door = func(e wire.ConnEvent) {
			if user != nil {
				user(e)
			}
			if t.active.Load() > 0 {
				t.add(EngineWire, e.Time, e)
			}
		}
	}
}

// close ends every reader once it has read what it holds.
func (t *tracer) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	for r := range t.readers {
		r.end()
	}
	clear(t.readers)
	t.tuneLocked()
}

// traceReader is one reader's bounded queue of events.
type traceReader struct {
	mu    sync.Mutex // guards the fields below
	ring  []TraceEvent
	head  int // the next event to read
	n     int // events held
	lost  uint64
	ended bool
	wake  chan struct{} // capacity 1: something was pushed, or the reader ended
}

func (r *traceReader) push(e TraceEvent) {
	r.mu.Lock()
	switch {
	case r.ended:
	case r.n == len(r.ring):
		r.lost++
	default:
		e.Lost, r.lost = r.lost, 0
		r.ring[(r.head+r.n)%len(r.ring)] = e
		r.n++
	}
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *traceReader) end() {
	r.mu.Lock()
	r.ended = true
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// next returns the next event, waiting for one until ctx ends or the reader ends; either way
// it returns the events it holds first.
func (r *traceReader) next(ctx context.Context) (TraceEvent, bool) {
	for {
		r.mu.Lock()
		if r.n > 0 {
			e := r.ring[r.head]
			r.ring[r.head] = TraceEvent{}
			r.head = (r.head + 1) % len(r.ring)
			r.n--
			r.mu.Unlock()
			return e, true
		}
		ended := r.ended
		r.mu.Unlock()
		if ended || ctx.Err() != nil {
			return TraceEvent{}, false
		}
		select {
		case <-r.wake:
		case <-ctx.Done():
		}
	}
}

// Tracing reports whether the broker was opened with [Options.Trace], so that [Broker.Trace]
// has events to yield.
func (b *Broker) Tracing() bool { return b.tracer != nil }

// Trace returns the broker's events from now on, across its engines, in the order they were
// emitted, until ctx ends or the broker closes. Either way the loop first gets every event
// emitted before that end (and maybe a few emitted while the reader is released), so that a
// caller who cancels ctx once its work is done reads all of the work's events. It starts reading when Trace is called, not when the loop starts, so that nothing done between
// the two is missed; a loop must follow, or ctx be cancelled, to release the reader. The
// sequence is read once: leaving the loop (break) releases the reader, and a second loop over
// it ends at once.
//
// Reading never slows the engines: each reader holds up to [Options.TraceBuffer] events, and
// one that falls further behind loses the events that do not fit, counted in the Lost field of
// the next event it gets. On a broker opened without [Options.Trace] it yields one
// [ErrTraceOff] and ends; a broker that is closed yields [ErrClosed].
func (b *Broker) Trace(ctx context.Context) iter.Seq2[TraceEvent, error] {
	t := b.tracer
	if t == nil {
		return func(yield func(TraceEvent, error) bool) { yield(TraceEvent{}, ErrTraceOff) }
	}
	r := &traceReader{ring: make([]TraceEvent, t.buffer), wake: make(chan struct{}, 1)}
	t.mu.Lock()
	closed := t.closed
	if !closed {
		t.readers[r] = struct{}{}
		t.tuneLocked()
	}
	t.mu.Unlock()
	if closed {
		return func(yield func(TraceEvent, error) bool) { yield(TraceEvent{}, ErrClosed) }
	}
	release := func() {
		t.mu.Lock()
		delete(t.readers, r)
		t.tuneLocked()
		t.mu.Unlock()
		r.end()
	}
	stop := context.AfterFunc(ctx, release)
	return func(yield func(TraceEvent, error) bool) {
		defer func() {
			stop()
			release()
		}()
		for {
			e, ok := r.next(ctx)
			if !ok || !yield(e, nil) {
				return
			}
		}
	}
}
