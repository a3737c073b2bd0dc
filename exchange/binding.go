package exchange

import (
	"fmt"
	"sync/atomic"
)

// dest is a binding's destination: a queue or an exchange (exchange-to-exchange, A9).
type dest struct {
	q *queue
	x *exchange
}

// binding is one queue.bind or exchange.bind: identified by source, destination, key and
// arguments, as in AMQP.
type binding struct {
	src  *exchange
	dst  dest
	key  string
	args Table
	hb   *headersBinding // compiled args, for a headers source
	// storeKey is the binding's key in the store, nil unless both ends are durable.
	storeKey []byte
}

// exchange is one exchange and its bindings as source. Guarded by Router.mu.
type exchange struct {
	name       string
	kind       Kind
	durable    bool
	autoDelete bool
	internal   bool
	ae         string // alternate exchange, "" for none (the default exchange cannot be one, A13)
	args       Table

	bindings   []*binding // as source
	inbound    []*binding // as destination
	everBound  bool       // for auto-delete: never deleted if it never had a binding (A10)
	direct     map[string][]dest
	fanout     []dest
	topic      *topicTrie[dest]
	topicCount map[topicPair]int // bindings per (key, dest): the trie holds each pair once
	headers    []*binding

	// Counters, updated by publishers holding Router.mu for reading.
	published, routed, unroutable atomic.Uint64
}

type topicPair struct {
	key string
	d   dest
}

func newExchange(name string, kind Kind, o ExchangeOptions) *exchange {
	ex := &exchange{name: name, kind: kind, durable: o.Durable, autoDelete: o.AutoDelete,
		internal: o.Internal, ae: o.AlternateExchange, args: o.Args.clone()}
	switch kind {
	case Direct:
		ex.direct = make(map[string][]dest)
	case Topic:
		ex.topic = newTopicTrie[dest]()
		ex.topicCount = make(map[topicPair]int)
	}
	return ex
}

func (b *binding) same(o *binding) bool {
	return b.src == o.src && b.dst == o.dst && b.key == o.key && valuesEqual(b.args, o.args)
}

// bind adds a binding from the exchange named src to d. The default exchange cannot be bound
// (A4).
func (r *Router) bind(s *Session, srcName string, d func() (dest, error), key string, args Table) error {
	if err := args.Validate(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	src, dst, err := r.bindingEndsLocked(s, srcName, d)
	if err != nil {
		return err
	}
	b := &binding{src: src, dst: dst, key: key, args: args.clone()}
	if src.kind == Headers {
		if b.hb, err = compileHeadersBinding(args); err != nil {
			return err
		}
	}
	for _, old := range src.bindings {
		if old.same(b) {
			return nil // binding twice is a no-op
		}
	}
	if err := r.saveBinding(b); err != nil {
		return err
	}
	r.addBindingLocked(b)
	return nil
}

// addBindingLocked puts b into its source's routing indexes. Callers hold r.mu.
func (r *Router) addBindingLocked(b *binding) {
	src, dst, key := b.src, b.dst, b.key
	src.bindings = append(src.bindings, b)
	src.everBound = true
	if dst.q != nil {
		dst.q.inbound = append(dst.q.inbound, b)
	} else {
		dst.x.inbound = append(dst.x.inbound, b)
	}
	switch src.kind {
	case Direct:
		src.direct[key] = append(src.direct[key], dst)
	case Fanout:
		src.fanout = append(src.fanout, dst)
	case Topic:
		p := topicPair{key, dst}
		if src.topicCount[p] == 0 {
			src.topic.add(key, dst)
		}
		src.topicCount[p]++
	case Headers:
		src.headers = append(src.headers, b)
	}
}

// bindingEndsLocked resolves a binding's source and destination for session s: the default
// exchange cannot be a source (A4), both must exist, and an exclusive queue must be s's (A22).
func (r *Router) bindingEndsLocked(s *Session, srcName string, d func() (dest, error)) (*exchange, dest, error) {
	if srcName == "" {
		return nil, dest{}, fmt.Errorf("%w: operation not permitted on the default exchange", ErrAccessRefused)
	}
	src := r.exchanges[srcName]
	if src == nil {
		return nil, dest{}, fmt.Errorf("%w: no exchange '%s'", ErrNotFound, srcName)
	}
	dst, err := d()
	if err != nil {
		return nil, dest{}, err
	}
	if dst.q != nil {
		if err := dst.q.checkOwner(s); err != nil {
			return nil, dest{}, err
		}
	}
	return src, dst, nil
}

// unbind removes the binding equal to (src, d, key, args); a missing one is not an error.
func (r *Router) unbind(s *Session, srcName string, d func() (dest, error), key string, args Table) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	src, dst, err := r.bindingEndsLocked(s, srcName, d)
	if err != nil {
		return err
	}
	want := &binding{src: src, dst: dst, key: key, args: args}
	for _, b := range src.bindings {
		if b.same(want) {
			r.unbindLocked(b)
			break
		}
	}
	return nil
}

// unbindLocked removes b from every index, and deletes its source if that was an auto-delete
// exchange's last binding (A10, including when the bound queue was deleted, §1.3b).
func (r *Router) unbindLocked(b *binding) {
	r.dropBinding(b)
	src := b.src
	src.bindings = remove(src.bindings, b)
	if b.dst.q != nil {
		b.dst.q.inbound = remove(b.dst.q.inbound, b)
	} else {
		b.dst.x.inbound = remove(b.dst.x.inbound, b)
	}
	switch src.kind {
	case Direct:
		ds := src.direct[b.key]
		for i, d := range ds {
			if d == b.dst {
				ds = append(ds[:i:i], ds[i+1:]...)
				break
			}
		}
		if len(ds) == 0 {
			delete(src.direct, b.key)
		} else {
			src.direct[b.key] = ds
		}
	case Fanout:
		for i, d := range src.fanout {
			if d == b.dst {
				src.fanout = append(src.fanout[:i:i], src.fanout[i+1:]...)
				break
			}
		}
	case Topic:
		p := topicPair{b.key, b.dst}
		if src.topicCount[p]--; src.topicCount[p] <= 0 {
			delete(src.topicCount, p)
			src.topic.remove(b.key, b.dst)
		}
	case Headers:
		src.headers = remove(src.headers, b)
	}
	if src.autoDelete && len(src.bindings) == 0 && src.everBound && r.exchanges[src.name] == src {
		r.removeExchangeLocked(src)
	}
}

// remove returns s without x, in a new array so that readers of the old slice are unaffected.
func remove[T comparable](s []T, x T) []T {
	for i, v := range s {
		if v == x {
			return append(s[:i:i], s[i+1:]...)
		}
	}
	return s
}

// queueDest and exchangeDest resolve a binding destination by name under Router.mu.
func (r *Router) queueDest(name string) func() (dest, error) {
	return func() (dest, error) {
		q := r.queues[name]
		if q == nil {
			return dest{}, fmt.Errorf("%w: no queue '%s'", ErrNotFound, name)
		}
		return dest{q: q}, nil
	}
}

func (r *Router) exchangeDest(name string) func() (dest, error) {
	return func() (dest, error) {
		if name == "" {
			return dest{}, fmt.Errorf("%w: operation not permitted on the default exchange", ErrAccessRefused)
		}
		x := r.exchanges[name]
		if x == nil {
			return dest{}, fmt.Errorf("%w: no exchange '%s'", ErrNotFound, name)
		}
		return dest{x: x}, nil
	}
}
