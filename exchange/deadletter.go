package exchange

import (
	"errors"
	"fmt"
	"time"
)

// death is one entry of a message's x-death history (§1.4), kept by the router: a client's own
// x-death header is never read (RabbitMQ 4.x).
type death struct {
	queue              string
	reason             string
	count              int64
	time               time.Time // the first death for this {queue, reason}
	exchange           string
	routingKeys        []string
	originalExpiration string
}

// deadLetter sends messages that left their queues unacked to their queues' dead-letter
// exchanges (A40–A46), or counts them dropped. Deaths caused on the way (a full target queue)
// are handled in turn. Callers hold no lock.
func (r *Router) deadLetter(items []dead, now time.Time) {
	for len(items) > 0 {
		var next []dead
		for _, it := range items {
			next = r.deadLetterOne(it, now, next)
		}
		items = next
	}
}

func (r *Router) deadLetterOne(it dead, now time.Time, out []dead) []dead {
	q, m := it.q, it.m
	var old *content
	// Under q's lock, like every other read of m's content and flags: the confirmer of m's
	// publish may be paging it out right now (pageOut).
	q.mu.Lock()
	if q.cfg.hasDLX {
		old = q.content(m) // read back a paged-out message before its record goes
	}
	id := m.messageID()
	q.forget(m)
	q.mu.Unlock()
	if now.IsZero() {
		now = time.Now()
	}
	if r.observed() && it.reason == reasonExpired {
		r.emit(Event{Kind: EventExpired, Time: now, Queue: q.name, MessageID: id})
	}
	if !q.cfg.hasDLX {
		q.mu.Lock()
		q.countDrop(it.reason)
		q.mu.Unlock()
		return out
	}
	c := deadContent(old, q, it.reason, now)
	keys := []string{c.routingKey}
	if !q.cfg.hasDLRK {
		// Without an override the copy is routed by all its original keys, BCC included,
		// though x-death does not list BCC (§1.3b).
		keys = append(append(keys, senderKeys(c.pub.Headers, "CC")...), old.bcc...)
	}
	r.mu.RLock()
	dlx := r.exchanges[q.cfg.dlx]
	var targets []*queue
	if dlx != nil {
		var rs routeSet
		r.route(&rs, dlx, keys, c.pub.Headers)
		targets = rs.queues
	}
	r.mu.RUnlock()
	q.mu.Lock()
	if dlx == nil {
		q.countDrop("no-dlx") // A42: silently dropped
		q.mu.Unlock()
		return out
	}
	q.stats.deadLettered++
	q.mu.Unlock()
	if r.observed() {
		r.emit(Event{Kind: EventDeadLettered, Time: now, Queue: q.name, Exchange: c.exchange, RoutingKey: c.routingKey,
			Reason: it.reason, MessageID: c.pub.MessageID})
	}
	for _, t := range targets {
		if cycles(c, t) {
			continue
		}
		_, out, _ = t.enqueue(c, now, out, nil) // nobody waits for a dead letter's write
	}
	return out
}

// cycles reports whether delivering c to t would close a dead-letter cycle that RabbitMQ
// drops: the message already died in t and no death since then, that one included, was a
// rejection (A45). Deaths before the cycle do not count (rabbit_dead_letter:is_cycle).
func cycles(c *content, t *queue) bool {
	for _, d := range c.deaths { // newest first
		if d.reason == reasonRejected {
			return false
		}
		if d.queue == t.name {
			return true
		}
	}
	return false
}

// deadContent makes the dead-lettered copy of a message (content old) leaving q for reason: x-death updated (§1.4),
// expiration removed and recorded (A44), BCC removed, and CC removed when a dead-letter routing
// key replaces the routing key.
func deadContent(old *content, q *queue, reason string, now time.Time) *content {
	c := &content{pub: old.pub, exchange: q.cfg.dlx, routingKey: old.routingKey, size: old.size, ttl: -1}
	if q.cfg.hasDLRK {
		c.routingKey = q.cfg.dlrk
	}
	c.pub.Expiration = ""

	deaths := make([]death, 0, len(old.deaths)+1)
	found := -1
	for i, d := range old.deaths {
		if d.queue == q.name && d.reason == reason {
			found = i
		}
	}
	if found >= 0 {
		d := old.deaths[found]
		d.count++
		deaths = append(deaths, d)
		for i, d := range old.deaths {
			if i != found {
				deaths = append(deaths, d)
			}
		}
	} else {
		deaths = append(deaths, death{queue: q.name, reason: reason, count: 1, time: now,
			exchange: old.exchange, routingKeys: old.routingKeys(), originalExpiration: old.pub.Expiration})
		deaths = append(deaths, old.deaths...)
	}
	c.deaths = deaths
	c.cost = old.cost + int64(len(deaths))*256 // the x-death header it will carry

	h := old.pub.Headers.clone()
	if h == nil {
		h = Table{}
	}
	delete(h, "BCC")
	if q.cfg.hasDLRK {
		delete(h, "CC")
	}
	xdeath := make([]any, len(deaths))
	for i, d := range deaths {
		keys := make([]any, len(d.routingKeys))
		for j, k := range d.routingKeys {
			keys[j] = k
		}
		e := Table{
			"queue":        d.queue,
			"reason":       d.reason,
			"count":        d.count,
			"time":         d.time.Truncate(time.Second),
			"exchange":     d.exchange,
			"routing-keys": keys,
		}
		if d.originalExpiration != "" {
			e["original-expiration"] = d.originalExpiration
		}
		xdeath[i] = e
	}
	h["x-death"] = xdeath
	if len(old.deaths) == 0 { // set at the first death, never changed after (A43)
		h["x-first-death-queue"] = q.name
		h["x-first-death-reason"] = reason
		h["x-first-death-exchange"] = old.exchange
	}
	h["x-last-death-queue"] = q.name
	h["x-last-death-reason"] = reason
	h["x-last-death-exchange"] = old.exchange
	c.pub.Headers = h
	return c
}

// routingKeys are the message's routing key plus its CC keys, without BCC: what x-death
// records (§1.4). A dead-letter routing key removed CC, so it is then the key alone.
func (c *content) routingKeys() []string {
	return append([]string{c.routingKey}, senderKeys(c.pub.Headers, "CC")...)
}

// Death is one entry of a message's x-death header, the dead-letter history RabbitMQ writes
// and the router writes the same way (§1.4): one entry per {queue, reason} the message died
// in, the most recent first. Read them with [Deaths] or [Delivery.Deaths].
type Death struct {
	Queue string // the queue the message died in
	// Reason is why it died there: "rejected" (nacked or rejected without requeue),
	// "expired" (its TTL ran out, A27–A29), "maxlen" (a length limit dropped or refused it,
	// A34–A35) or "delivery_limit" (a quorum queue's x-delivery-limit, A38).
	Reason string
	// Count is how many times it died in Queue for Reason: each death there again adds one
	// and moves the entry to the front.
	Count int64
	// Time is when it first died in Queue for Reason, in whole seconds (an AMQP timestamp).
	Time time.Time
	// Exchange is the exchange it had been published to when it died there: the publisher's
	// for its first death, the dead-letter exchange it came through for a later one.
	Exchange string
	// RoutingKeys are its routing key when it died there followed by its CC keys; BCC keys
	// are never listed (A12).
	RoutingKeys []string
	// OriginalExpiration is the per-message expiration it carried when it died there, which
	// dead-lettering removes (A44); "" if it had none.
	OriginalExpiration string
	// First marks the entry of the message's first death: the one the x-first-death-queue
	// and x-first-death-reason headers name, which are set at the first death and never
	// changed (A43). The most recent death, which the x-last-death-* headers name, is always
	// the first entry.
	First bool
}

// Deaths parses the x-death header of h (a message's headers) into its entries, in the
// header's order: the most recent death first. It returns nil, nil when h has no x-death
// (or an empty one), and an error matching [ErrMalformedHeader] when the header is not what
// RabbitMQ writes (only a publisher can have put such a header there: the router replaces
// x-death whenever it dead-letters). Integers of any AMQP width are taken as the count, and
// byte arrays as strings. The caller owns the returned slice; h is not modified.
func Deaths(h Table) ([]Death, error) {
	v := h["x-death"]
	if v == nil {
		return nil, nil
	}
	entries, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%w: x-death is %T, not an array", ErrMalformedHeader, v)
	}
	var out []Death
	for i, e := range entries {
		t, ok := e.(Table)
		if !ok {
			return nil, fmt.Errorf("%w: x-death[%d] is %T, not a table", ErrMalformedHeader, i, e)
		}
		d, err := parseDeath(t)
		if err != nil {
			return nil, fmt.Errorf("%w: x-death[%d]: %w", ErrMalformedHeader, i, err)
		}
		out = append(out, d)
	}
	firstQueue, _ := asString(h["x-first-death-queue"])
	firstReason, _ := asString(h["x-first-death-reason"])
	for i := range out {
		if out[i].Queue == firstQueue && out[i].Reason == firstReason {
			out[i].First = true
			break
		}
	}
	return out, nil
}

// parseDeath reads one x-death entry; queue, reason and count must be there.
func parseDeath(t Table) (Death, error) {
	var d Death
	for _, f := range [...]struct {
		key      string
		dst      *string
		required bool
	}{{"queue", &d.Queue, true}, {"reason", &d.Reason, true}, {"exchange", &d.Exchange, false},
		{"original-expiration", &d.OriginalExpiration, false}} {
		v, ok := t[f.key]
		if !ok {
			if f.required {
				return Death{}, fmt.Errorf("no %s", f.key)
			}
			continue
		}
		if *f.dst, ok = asString(v); !ok {
			return Death{}, fmt.Errorf("%s is %T, not a string", f.key, v)
		}
	}
	v, ok := t["count"]
	if !ok {
		return Death{}, errors.New("no count")
	}
	if d.Count, ok = asInt64(v); !ok {
		return Death{}, fmt.Errorf("count is %T, not an integer", v)
	}
	if v, ok := t["time"]; ok {
		if d.Time, ok = v.(time.Time); !ok {
			return Death{}, fmt.Errorf("time is %T, not a timestamp", v)
		}
	}
	if v, ok := t["routing-keys"]; ok {
		keys, isArr := v.([]any)
		if !isArr {
			return Death{}, fmt.Errorf("routing-keys is %T, not an array", v)
		}
		d.RoutingKeys = make([]string, len(keys))
		for i, k := range keys {
			if d.RoutingKeys[i], ok = asString(k); !ok {
				return Death{}, fmt.Errorf("routing-keys[%d] is %T, not a string", i, k)
			}
		}
	}
	return d, nil
}

// Deaths returns the entries of the delivery's x-death header, most recent first (see
// [Deaths]); nil when it has none or the header is malformed (a publisher's own). The caller
// owns the slice.
func (d *Delivery) Deaths() []Death {
	if d == nil || d.Publishing == nil {
		return nil
	}
	deaths, err := Deaths(d.Headers)
	if err != nil {
		return nil
	}
	return deaths
}
