package pubsub

import (
	"context"
	"iter"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Subscription is one Redis client in subscribed state: the channels, patterns and shard
// channels it holds, and the buffer of messages published to them that it has not read yet.
//
// Registration is complete when a subscribe call returns: a publish that starts after it is
// received. Messages arrive in publish order (R5). A Subscription is safe for concurrent use;
// concurrent [Subscription.Next] callers split the messages between them.
type Subscription struct {
	hub *Hub
	id  uint64 // see ID; set once at creation
	lim Limits
	// The limits as plain thresholds, math.MaxInt64 for "none", so that the publisher's check
	// is one or two comparisons. softBytes is the lower of the soft and hard byte limits.
	maxMsgs             int
	maxBytes, softBytes int64

	// Registration sets, guarded by hub.mu.
	channels   map[string]struct{}
	patterns   map[string]struct{}
	shardChans map[string]struct{}

	// mu guards the buffer state below. Publishers append under it; readers swap the whole
	// queue out under it, so a reader takes mu once per batch, not once per message.
	mu        sync.Mutex
	q         []Message // q[qhead:] are buffered, oldest first
	qhead     int
	bytes     int64         // frame bytes in q[qhead:]
	softSince time.Time     // when bytes went over the soft limit; zero while under it
	waiting   bool          // a reader is parked on notify
	err       error         // why the subscription ended; nil while open
	space     chan struct{} // closed and replaced when room is made, for Block publishers
	notify    chan struct{} // capacity 1: wakes a parked reader
	done      chan struct{} // closed when err is set
	over      atomic.Bool   // err is set; read without mu by Next

	onDisconnect func(error) // SubscriptionOptions.OnDisconnect; set once at creation

	// rmu guards the reader's batch: messages taken out of q and not yet returned.
	rmu   sync.Mutex
	local []Message
	lpos  int
}

// NewSubscription returns a subscription holding nothing yet; opts nil uses the hub's limits.
func (h *Hub) NewSubscription(opts *SubscriptionOptions) (*Subscription, error) {
	lim := h.limitsOrNil()
	var onDisconnect func(error)
	if opts != nil {
		onDisconnect = opts.OnDisconnect
	}
	if opts != nil {
		var err error
		if lim, err = opts.Limits.resolve(); err != nil {
			return nil, err
		}
	}
	if h == nil || h.closed.Load() {
		return nil, ErrClosed
	}
	s := &Subscription{
		hub:        h,
		lim:        lim,
		maxMsgs:    math.MaxInt,
		maxBytes:   math.MaxInt64,
		softBytes:  math.MaxInt64,
		channels:   make(map[string]struct{}),
		patterns:   make(map[string]struct{}),
		shardChans: make(map[string]struct{}),
		notify:     make(chan struct{}, 1),
		done:       make(chan struct{}),

		onDisconnect: onDisconnect,
	}
	if lim.MaxMessages >= 0 {
		s.maxMsgs = lim.MaxMessages
	}
	if lim.MaxBytes >= 0 {
		s.maxBytes = lim.MaxBytes
	}
	s.softBytes = s.maxBytes
	if lim.Policy == Disconnect && lim.SoftBytes >= 0 {
		s.softBytes = min(s.softBytes, lim.SoftBytes)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed.Load() {
		return nil, ErrClosed
	}
	h.lastID++
	s.id = h.lastID
	h.subs[s] = struct{}{}
	if h.observed() {
		h.emit(Event{Kind: EventOpened, Subscription: s.id})
	}
	return s, nil
}

// ID returns the subscription's number, unique within its hub: 1 for the first subscription
// the hub created, then in creation order, like Redis's client ids. Observer events name
// subscriptions by it. It is 0 for a nil Subscription.
func (s *Subscription) ID() uint64 {
	if s == nil {
		return 0
	}
	return s.id
}

func (h *Hub) limitsOrNil() Limits {
	if h == nil {
		return Limits{}
	}
	return h.limits
}

// Subscribe returns a new subscription to channels, with the hub's limits.
func (h *Hub) Subscribe(channels ...string) (*Subscription, error) {
	return h.newWith(func(s *Subscription) ([]Reply, error) { return s.Subscribe(channels...) })
}

// PSubscribe returns a new subscription to patterns, with the hub's limits.
func (h *Hub) PSubscribe(patterns ...string) (*Subscription, error) {
	return h.newWith(func(s *Subscription) ([]Reply, error) { return s.PSubscribe(patterns...) })
}

// SSubscribe returns a new subscription to shard channels, with the hub's limits.
func (h *Hub) SSubscribe(channels ...string) (*Subscription, error) {
	return h.newWith(func(s *Subscription) ([]Reply, error) { return s.SSubscribe(channels...) })
}

func (h *Hub) newWith(sub func(*Subscription) ([]Reply, error)) (*Subscription, error) {
	s, err := h.NewSubscription(nil)
	if err != nil {
		return nil, err
	}
	if _, err := sub(s); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Subscribe adds channels, like SUBSCRIBE: one [Reply] per argument in order, each with the
// running count of channels + patterns (R6). A channel already held is still acknowledged,
// with the count unchanged (R7). No argument is [ErrArity].
func (s *Subscription) Subscribe(channels ...string) ([]Reply, error) {
	return s.add(KindSubscribe, channels)
}

// PSubscribe adds glob patterns (SEMANTICS.md §3.1), like PSUBSCRIBE; replies as Subscribe.
// Any byte string is a valid pattern.
func (s *Subscription) PSubscribe(patterns ...string) ([]Reply, error) {
	return s.add(KindPSubscribe, patterns)
}

// SSubscribe adds shard channels, like SSUBSCRIBE; each reply's count is shard channels only
// (R21).
func (s *Subscription) SSubscribe(channels ...string) ([]Reply, error) {
	return s.add(KindSSubscribe, channels)
}

// Unsubscribe removes channels, like UNSUBSCRIBE: one reply per argument, also for channels
// not held (R8). With no argument it removes every channel, one reply each, or gives a single
// reply with Nil set when there were none (R9). Patterns are left alone (R10).
func (s *Subscription) Unsubscribe(channels ...string) ([]Reply, error) {
	return s.remove(KindUnsubscribe, channels)
}

// PUnsubscribe removes patterns, like PUNSUBSCRIBE; replies as Unsubscribe. Channels are left
// alone (R10).
func (s *Subscription) PUnsubscribe(patterns ...string) ([]Reply, error) {
	return s.remove(KindPUnsubscribe, patterns)
}

// SUnsubscribe removes shard channels, like SUNSUBSCRIBE; replies as Unsubscribe with the
// shard-only count (R21).
func (s *Subscription) SUnsubscribe(channels ...string) ([]Reply, error) {
	return s.remove(KindSUnsubscribe, channels)
}

func (s *Subscription) set(k Kind) map[string]struct{} {
	switch k {
	case KindSubscribe, KindUnsubscribe:
		return s.channels
	case KindPSubscribe, KindPUnsubscribe:
		return s.patterns
	}
	return s.shardChans
}

// countLocked is the count Redis puts in an ack of kind k. Callers hold hub.mu.
func (s *Subscription) countLocked(k Kind) int {
	if k == KindSSubscribe || k == KindSUnsubscribe {
		return len(s.shardChans)
	}
	return len(s.channels) + len(s.patterns)
}

// lockHub takes hub.mu for a registration change and returns why s can't change, if so.
func (s *Subscription) lockHub() error {
	if s == nil {
		return ErrClosed
	}
	h := s.hub
	h.mu.Lock()
	h.reapLocked()
	s.mu.Lock()
	err := s.err
	s.mu.Unlock()
	if err != nil {
		h.mu.Unlock()
	}
	return err
}

func (s *Subscription) add(k Kind, names []string) ([]Reply, error) {
	if len(names) == 0 {
		return nil, ErrArity
	}
	return s.change(k, names, adding(s))
}

func (s *Subscription) remove(k Kind, names []string) ([]Reply, error) {
	return s.change(k, names, removing(s))
}

// change adds (edit = adding(s)) or removes (edit = removing(s)) the names of kind k, and
// returns one reply per name. No name on a removal means every name s holds of that kind, or a
// single nil reply when it holds none (R9).
func (s *Subscription) change(k Kind, names []string, edit func([]*Subscription) []*Subscription) ([]Reply, error) {
	if err := s.lockHub(); err != nil {
		return nil, err
	}
	h := s.hub
	defer h.mu.Unlock()
	set := s.set(k)
	if len(names) == 0 {
		if len(set) == 0 {
			return []Reply{{Kind: k, Nil: true, Count: s.countLocked(k)}}, nil
		}
		for name := range set {
			names = append(names, name)
		}
	}
	subscribing := k == KindSubscribe || k == KindPSubscribe || k == KindSSubscribe
	before := s.countLocked(k)
	replies := make([]Reply, len(names))
	var ps *patSet
	for i, name := range names {
		if _, held := set[name]; held != subscribing {
			if subscribing {
				set[name] = struct{}{}
			} else {
				delete(set, name)
			}
			switch k {
			case KindSubscribe, KindUnsubscribe:
				h.channels.update(name, edit)
			case KindSSubscribe, KindSUnsubscribe:
				h.shards.update(name, edit)
			default:
				if ps == nil {
					ps = h.patterns.Load()
				}
				ps = ps.with(name, edit)
			}
		}
		replies[i] = Reply{Kind: k, Name: name, Count: s.countLocked(k)}
	}
	if ps != nil {
		h.patterns.Store(ps)
	}
	if h.observed() {
		s.reportLocked(k, subscribing, before, replies)
	}
	return replies, nil
}

// reportLocked emits EventSubscribed or EventUnsubscribed for each reply whose name changed
// what s holds: those whose running count moved. The tables are already updated. Callers
// hold hub.mu.
func (s *Subscription) reportLocked(k Kind, subscribing bool, before int, replies []Reply) {
	kind := EventUnsubscribed
	if subscribing {
		kind = EventSubscribed
	}
	for _, r := range replies {
		if r.Count == before {
			continue
		}
		before = r.Count
		e := Event{Kind: kind, Subscription: s.id, Channel: r.Name, Count: r.Count}
		switch k {
		case KindPSubscribe, KindPUnsubscribe:
			e.Channel, e.Pattern = "", r.Name
		case KindSSubscribe, KindSUnsubscribe:
			e.Shard = true
		}
		s.hub.emit(e)
	}
}

// Subscribed reports whether s still holds any channel, pattern or shard channel: Redis keeps
// a client in subscribed state until all three reach zero (R10).
func (s *Subscription) Subscribed() bool {
	if s == nil {
		return false
	}
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	return len(s.channels)+len(s.patterns)+len(s.shardChans) > 0
}

// Counts returns how many channels, patterns and shard channels s holds, as CLIENT INFO's
// sub, psub and ssub fields report them.
func (s *Subscription) Counts() (channels, patterns, shardChannels int) {
	if s == nil {
		return 0, 0, 0
	}
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	return len(s.channels), len(s.patterns), len(s.shardChans)
}

// Err returns nil while s is open, [ErrClosed] after a Close, or [ErrSlowSubscriber] after the
// hub disconnected it.
func (s *Subscription) Err() error {
	if s == nil {
		return ErrClosed
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close unsubscribes from everything and discards what is buffered; later calls return
// [ErrClosed] (or [ErrSlowSubscriber] if the hub had disconnected s). Close is idempotent and
// returns nil.
func (s *Subscription) Close() error {
	if s == nil {
		return nil
	}
	h := s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if lost, ended := h.dropLocked(s, ErrClosed); ended && h.observed() {
		h.emit(Event{Kind: EventClosed, Subscription: s.id, Count: lost})
	}
	return nil
}

// Next returns the oldest unread message, waiting for one until ctx ends. It returns the
// reason once s is over: [ErrClosed] or [ErrSlowSubscriber]; a disconnected subscription's
// buffered messages are lost, as Redis loses a killed client's output buffer.
func (s *Subscription) Next(ctx context.Context) (Message, error) {
	if s == nil {
		return Message{}, ErrClosed
	}
	spins := 0
	for {
		s.rmu.Lock()
		if s.over.Load() {
			clear(s.local)
			s.local, s.lpos = s.local[:0], 0
			s.rmu.Unlock()
			return Message{}, s.Err()
		}
		if s.lpos < len(s.local) {
			m := s.local[s.lpos]
			s.local[s.lpos] = Message{} // let the payload go
			s.lpos++
			s.rmu.Unlock()
			return m, nil
		}
		s.mu.Lock()
		if s.err != nil {
			err := s.err
			s.mu.Unlock()
			s.rmu.Unlock()
			return Message{}, err
		}
		if s.qhead < len(s.q) {
			s.takeLocked()
			s.mu.Unlock()
			s.rmu.Unlock()
			continue
		}
		if spins < 8 {
			// A publisher that is mid-burst usually refills the queue within a few
			// scheduling rounds; parking costs far more than looking again.
			spins++
			s.mu.Unlock()
			s.rmu.Unlock()
			runtime.Gosched()
			continue
		}
		spins = 0
		s.rmu.Unlock()
		if err := s.parkLocked(ctx); err != nil {
			return Message{}, err
		}
	}
}

// parkLocked marks a reader as waiting, releases mu, and blocks until a publisher signals, s
// ends, or ctx ends, whose error it returns. Callers hold mu and no other lock of s.
func (s *Subscription) parkLocked(ctx context.Context) error {
	s.waiting = true
	s.mu.Unlock()
	select {
	case <-s.notify:
	case <-s.done:
	case <-ctx.Done():
		s.mu.Lock()
		s.waiting = false
		s.mu.Unlock()
		return ctx.Err()
	}
	return nil
}

// TryNext returns the oldest unread message without waiting: ok is false when none is
// buffered. Once s is over it returns the reason, as [Subscription.Next] does. A front door
// that writes messages and replies to one connection in order uses it to move what is
// buffered into its output before it answers the next command.
func (s *Subscription) TryNext() (m Message, ok bool, err error) {
	if s == nil {
		return Message{}, false, ErrClosed
	}
	s.rmu.Lock()
	defer s.rmu.Unlock()
	if s.lpos >= len(s.local) {
		s.mu.Lock()
		if s.err != nil {
			err := s.err
			s.mu.Unlock()
			return Message{}, false, err
		}
		if s.qhead == len(s.q) {
			s.mu.Unlock()
			return Message{}, false, nil
		}
		s.takeLocked()
		s.mu.Unlock()
	} else if s.over.Load() {
		clear(s.local)
		s.local, s.lpos = s.local[:0], 0
		return Message{}, false, s.Err()
	}
	m = s.local[s.lpos]
	s.local[s.lpos] = Message{}
	s.lpos++
	return m, true, nil
}

// Wait blocks until s has a message to read, s is over, or ctx ends, and reads nothing: the
// message stays for [Subscription.TryNext] or Next. It returns nil when a message is
// buffered, the reason once s is over ([ErrClosed] or [ErrSlowSubscriber]), or ctx's error.
// Wait and Next share one wake-up signal: call them from one goroutine.
func (s *Subscription) Wait(ctx context.Context) error {
	if s == nil {
		return ErrClosed
	}
	for {
		s.rmu.Lock()
		pending := s.lpos < len(s.local)
		s.rmu.Unlock()
		s.mu.Lock()
		if s.err != nil {
			err := s.err
			s.mu.Unlock()
			return err
		}
		if pending || s.qhead < len(s.q) {
			s.mu.Unlock()
			return nil
		}
		if err := s.parkLocked(ctx); err != nil {
			return err
		}
	}
}

// takeLocked moves the whole queue into the reader's batch and gives the queue the batch's
// emptied array. Callers hold rmu and mu.
func (s *Subscription) takeLocked() {
	spare := s.local[:0]
	s.local, s.lpos = s.q, s.qhead
	s.q, s.qhead = spare, 0
	s.bytes = 0
	s.softSince = time.Time{}
	s.wakeBlockedLocked()
}

// All returns an iterator over s's messages; it ends after yielding the first error (ctx's,
// [ErrClosed] or [ErrSlowSubscriber]) or when the loop breaks.
func (s *Subscription) All(ctx context.Context) iter.Seq2[Message, error] {
	return func(yield func(Message, error) bool) {
		for {
			m, err := s.Next(ctx)
			if !yield(m, err) || err != nil {
				return
			}
		}
	}
}

// Buffered returns the number of messages published to s that it has not read yet.
func (s *Subscription) Buffered() int {
	if s == nil {
		return 0
	}
	s.rmu.Lock()
	defer s.rmu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.local) - s.lpos + len(s.q) - s.qhead
}
