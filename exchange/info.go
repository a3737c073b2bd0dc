package exchange

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
)

// QueueInfo describes a queue at one moment.
type QueueInfo struct {
	Name       string
	Durable    bool
	Exclusive  bool
	AutoDelete bool
	Args       Table // as declared, typed options merged in

	Ready     int // messages ready for delivery: what message-count reports (A24)
	Unacked   int // delivered and not yet settled
	Consumers int

	Published    uint64 // messages that reached the queue (refused ones included)
	Delivered    uint64 // deliveries, pushed and fetched, redeliveries included
	Acked        uint64 // acknowledged, or delivered with auto-ack
	Redelivered  uint64 // deliveries with the redelivered flag
	DeadLettered uint64 // sent to the dead-letter exchange
	// Dropped counts messages that left without a dead-letter exchange to take them, by
	// reason: rejected, expired, maxlen, delivery_limit, reject-publish (refused at the door),
	// no-dlx (the dead-letter exchange did not exist, A42).
	Dropped map[string]uint64
}

func (q *queue) info() QueueInfo {
	q.mu.Lock()
	defer q.mu.Unlock()
	return QueueInfo{Name: q.name, Durable: q.durable, Exclusive: q.exclusive, AutoDelete: q.autoDelete,
		Args: q.args.clone(), Ready: q.st.ready, Unacked: q.unacked, Consumers: len(q.consumers),
		Published: q.stats.published, Delivered: q.stats.delivered, Acked: q.stats.acked,
		Redelivered: q.stats.redelivered, DeadLettered: q.stats.deadLettered, Dropped: maps.Clone(q.stats.dropped)}
}

// ExchangeInfo describes an exchange at one moment.
type ExchangeInfo struct {
	Name              string
	Kind              Kind
	Durable           bool
	AutoDelete        bool
	Internal          bool
	AlternateExchange string
	Bindings          int // bindings with this exchange as the source

	Published  uint64 // messages published to it directly
	Routed     uint64 // of those, reaching at least one queue (alternate exchanges included)
	Unroutable uint64 // of those, reaching none
}

// ExchangeInfo returns the named exchange's state, or ErrNotFound.
func (r *Router) ExchangeInfo(name string) (ExchangeInfo, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	ex := r.exchanges[name]
	if ex == nil {
		return ExchangeInfo{}, fmt.Errorf("%w: no exchange '%s'", ErrNotFound, name)
	}
	return ExchangeInfo{Name: ex.name, Kind: ex.kind, Durable: ex.durable, AutoDelete: ex.autoDelete,
		Internal: ex.internal, AlternateExchange: ex.ae, Bindings: len(ex.bindings),
		Published: ex.published.Load(), Routed: ex.routed.Load(), Unroutable: ex.unroutable.Load()}, nil
}

// QueueInfo returns the named queue's state, or ErrNotFound.
func (r *Router) QueueInfo(name string) (QueueInfo, error) {
	r.mu.RLock()
	q := r.queues[name]
	r.mu.RUnlock()
	if q == nil {
		return QueueInfo{}, fmt.Errorf("%w: no queue '%s'", ErrNotFound, name)
	}
	return q.info(), nil
}

// Queues returns the names of every queue, sorted. The hidden queues of direct reply-to
// consumers ([ReplyToQueue]) are not queues to RabbitMQ, and are left out.
func (r *Router) Queues() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.queues))
	for name, q := range r.queues {
		if !q.reply {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// BindingInfo is one binding: messages routed by the Source exchange with RoutingKey (and, to
// a headers exchange, Args) go to Destination, a queue or, exchange-to-exchange (A9), an
// exchange.
type BindingInfo struct {
	Source          string
	Destination     string
	DestinationKind string // "queue" or "exchange"
	RoutingKey      string
	Args            Table
}

// Bindings returns every binding, sorted by source, destination kind, destination and key.
// Like RabbitMQ's list_bindings, it includes the default exchange's implicit binding of each
// queue under its own name (A4), which no queue.bind made and none can remove.
func (r *Router) Bindings() []BindingInfo {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []BindingInfo
	for name, q := range r.queues {
		if !q.reply {
			out = append(out, BindingInfo{Destination: name, DestinationKind: "queue", RoutingKey: name})
		}
	}
	for _, ex := range r.exchanges {
		for _, b := range ex.bindings {
			bi := BindingInfo{Source: ex.name, RoutingKey: b.key, Args: b.args.clone()}
			if b.dst.q != nil {
				bi.Destination, bi.DestinationKind = b.dst.q.name, "queue"
			} else {
				bi.Destination, bi.DestinationKind = b.dst.x.name, "exchange"
			}
			out = append(out, bi)
		}
	}
	slices.SortFunc(out, func(a, b BindingInfo) int {
		return cmp.Or(cmp.Compare(a.Source, b.Source), cmp.Compare(a.DestinationKind, b.DestinationKind),
			cmp.Compare(a.Destination, b.Destination), cmp.Compare(a.RoutingKey, b.RoutingKey))
	})
	return out
}

// Exchanges returns the names of every exchange, the default "" included, sorted.
func (r *Router) Exchanges() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return slices.Sorted(maps.Keys(r.exchanges))
}
