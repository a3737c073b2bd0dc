package pubsub

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/tribusmq/tribus/internal/observe"
)

// Hub is a Redis-style pub/sub server in process: channels, glob patterns and shard channels,
// at-most-once fan-out. A message nobody is subscribed to is gone (R4).
//
// A Hub is safe for concurrent use. The zero value is not usable; call [New].
type Hub struct {
	limits Limits // resolved defaults for subscriptions
	logger *slog.Logger
	obs    observe.Slot[Event] // Options.Observer, or what SetObserver set; none: emit nothing
	faults *Faults             // Options.Faults; nil: no hook

	closed atomic.Bool

	channels chanIndex              // SUBSCRIBE
	shards   chanIndex              // SSUBSCRIBE
	patterns atomic.Pointer[patSet] // PSUBSCRIBE

	// mu serialises every change to the tables above and to the subscriptions' registration
	// sets. Lock order: Hub.mu, then Subscription.mu. Publishers take neither Hub.mu nor a
	// lock shared by unrelated subscriptions.
	mu     sync.Mutex
	subs   map[*Subscription]struct{} // every open subscription
	lastID uint64                     // the last Subscription.ID handed out

	// deadMu guards dead: subscriptions a publisher disconnected, whose table entries the
	// next writer under mu removes (a publisher never waits for mu).
	deadMu sync.Mutex
	dead   []*Subscription

	stats hubCounters
}

type hubCounters struct {
	published, delivered    atomic.Uint64
	droppedSlow, droppedOld atomic.Uint64
	disconnects             atomic.Uint64
}

// New returns a Hub with the given options; nil means Redis's defaults. It starts no
// goroutines: a Hub costs nothing until used.
func New(opts *Options) (*Hub, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	lim, err := o.Limits.resolve()
	if err != nil {
		return nil, err
	}
	h := &Hub{limits: lim, logger: o.Logger, faults: o.Faults, subs: make(map[*Subscription]struct{})}
	h.SetObserver(o.Observer)
	if h.logger == nil {
		h.logger = slog.New(slog.DiscardHandler)
	}
	h.channels.init()
	h.shards.init()
	h.patterns.Store(&patSet{})
	return h, nil
}

// Close disconnects every subscription (their Next returns [ErrClosed]) and makes every later
// call return ErrClosed. It is idempotent and returns nil; the Hub owns no goroutines.
func (h *Hub) Close() error {
	if h == nil || h.closed.Swap(true) {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		if lost, ended := h.dropLocked(s, ErrClosed); ended && h.observed() {
			h.emit(Event{Kind: EventDisconnected, Subscription: s.id, Reason: ReasonHubClosed, Count: lost})
		}
	}
	return nil
}

// Publish sends payload to every subscriber of channel and of every pattern matching it, and
// returns the number of deliveries: one per channel subscriber plus one per (matching pattern,
// subscriber) pair, so a client holding both `foo` and `f*` counts twice (R1–R3). A message
// nobody listens for is dropped and Publish returns 0 (R4). Publish never blocks unless a
// receiver opted into the [Block] policy, and it does not copy payload (see [Message]).
// On a closed or nil Hub it delivers nothing and returns 0.
func (h *Hub) Publish(channel string, payload []byte) int {
	n, _ := h.PublishContext(context.Background(), channel, payload)
	return n
}

// PublishContext is [Hub.Publish] with an error: [ErrClosed] on a closed Hub, or ctx's error
// when ctx ends while a [Block] subscriber makes the publisher wait (the count then says how
// many deliveries were made before that).
func (h *Hub) PublishContext(ctx context.Context, channel string, payload []byte) (int, error) {
	if h == nil || h.closed.Load() {
		return 0, ErrClosed
	}
	if f := h.faults; f != nil && f.BeforePublish != nil && f.BeforePublish(channel, payload) {
		return 0, nil
	}
	e := h.channels.get(channel)
	n := 0
	var err error
	if e != nil {
		m := Message{Kind: KindMessage, Channel: channel, Payload: payload}
		n, err = h.deliverAll(ctx, e.subs, &m)
	}
	if ps := h.patterns.Load(); len(ps.list) > 0 && err == nil {
		m := Message{Kind: KindPMessage, Channel: channel, Payload: payload}
		// With an entry, its cache says which patterns match; without one, each pattern is
		// tried in turn, as Redis does for every publish.
		pats, filter := ps.list, true
		if e != nil {
			c := e.pats.Load()
			if c == nil || c.set != ps {
				c = &patCache{set: ps, matched: ps.matching(channel)}
				e.pats.Store(c)
			}
			pats, filter = c.matched, false
		}
		for _, p := range pats {
			if filter && !p.match(channel) {
				continue
			}
			m.Pattern = p.pattern
			k, perr := h.deliverAll(ctx, p.subs, &m)
			if n += k; perr != nil {
				err = perr
				break
			}
		}
	}
	h.count(n)
	if h.observed() {
		h.emitPublished(channel, false, n, err)
	}
	return n, err
}

// SPublish sends payload to the subscribers of shard channel channel only: patterns are never
// checked and plain subscribers never receive it (R20). It returns the number of deliveries.
func (h *Hub) SPublish(channel string, payload []byte) int {
	n, _ := h.SPublishContext(context.Background(), channel, payload)
	return n
}

// SPublishContext is [Hub.SPublish] with an error, as [Hub.PublishContext].
func (h *Hub) SPublishContext(ctx context.Context, channel string, payload []byte) (int, error) {
	if h == nil || h.closed.Load() {
		return 0, ErrClosed
	}
	if f := h.faults; f != nil && f.BeforePublish != nil && f.BeforePublish(channel, payload) {
		return 0, nil
	}
	n := 0
	var err error
	if e := h.shards.get(channel); e != nil {
		m := Message{Kind: KindSMessage, Channel: channel, Payload: payload}
		n, err = h.deliverAll(ctx, e.subs, &m)
	}
	h.count(n)
	if h.observed() {
		h.emitPublished(channel, true, n, err)
	}
	return n, err
}

func (h *Hub) emitPublished(channel string, shard bool, n int, err error) {
	e := Event{Kind: EventPublished, Channel: channel, Shard: shard, Receivers: n}
	if err != nil {
		e.Reason = err.Error()
	}
	h.emit(e)
}

func (h *Hub) count(n int) {
	h.stats.published.Add(1)
	if n > 0 {
		h.stats.delivered.Add(uint64(n))
	}
}

func (h *Hub) deliverAll(ctx context.Context, subs []*Subscription, m *Message) (int, error) {
	n := 0
	size := frameSize(m)
	for _, s := range subs {
		ok, err := s.deliver(ctx, m, size)
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// markDead queues s, which a publisher just disconnected, for removal from the tables.
func (h *Hub) markDead(s *Subscription) {
	h.deadMu.Lock()
	h.dead = append(h.dead, s)
	h.deadMu.Unlock()
}

// reapLocked removes disconnected subscriptions from the tables. Callers hold h.mu.
func (h *Hub) reapLocked() {
	h.deadMu.Lock()
	dead := h.dead
	h.dead = nil
	h.deadMu.Unlock()
	for _, s := range dead {
		h.unregisterAllLocked(s)
	}
}

// unregisterAllLocked removes every registration of s from the tables. Callers hold h.mu.
func (h *Hub) unregisterAllLocked(s *Subscription) {
	for ch := range s.channels {
		h.channels.update(ch, removing(s))
	}
	for ch := range s.shardChans {
		h.shards.update(ch, removing(s))
	}
	if len(s.patterns) > 0 {
		ps := h.patterns.Load()
		for p := range s.patterns {
			ps = ps.with(p, removing(s))
		}
		h.patterns.Store(ps)
	}
	clear(s.channels)
	clear(s.patterns)
	clear(s.shardChans)
	delete(h.subs, s)
}

// dropLocked closes s with reason err and removes it from the hub. It reports whether s
// ended now (rather than before) and how many unread messages it discarded then. Callers
// hold h.mu.
func (h *Hub) dropLocked(s *Subscription, err error) (lost int, ended bool) {
	lost, ended = s.shut(err)
	h.unregisterAllLocked(s)
	return lost, ended
}
