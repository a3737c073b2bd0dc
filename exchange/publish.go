package exchange

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

var routeSets = sync.Pool{New: func() any { return new(routeSet) }}

// errDiskRetry says the disk alarm refused a publish that should wait and try again.
var errDiskRetry = errors.New("disk alarm: retry")

// publish routes msg from the named exchange and enqueues it. It returns the number of queues
// reached and whether every one of them accepted it (false: a reject-publish queue was full,
// A19).
// The waits are those of the persistent copies' store writes, for a publish confirm.
// While an alarm is on it waits until ctx ends (alarm.go).
func (r *Router) publish(ctx context.Context, exName, key string, msg Publishing) (int, bool, []pendingWrite, error) {
	if err := msg.Headers.Validate(); err != nil {
		return 0, false, nil, err
	}
	ttl, err := parseExpiration(msg.Expiration)
	if err != nil {
		return 0, false, nil, err
	}
	for {
		if err := r.admit(ctx); err != nil {
			return 0, false, nil, err
		}
		n, accepted, waits, err := r.publishOnce(exName, key, msg, ttl)
		if err != errDiskRetry {
			return n, accepted, waits, err
		}
	}
}

// checkTarget refuses a publish to exName as routing would: a missing exchange (404) or an
// internal one (403).
func (r *Router) checkTarget(exName string) error {
	r.mu.RLock()
	ex := r.exchanges[exName]
	r.mu.RUnlock()
	return targetError(ex, exName)
}

// targetError is why a publish cannot go to ex, looked up by exName, or nil.
func targetError(ex *exchange, exName string) error {
	switch {
	case ex == nil:
		return fmt.Errorf("%w: no exchange '%s'", ErrNotFound, exName)
	case ex.internal:
		return fmt.Errorf("%w: cannot publish to internal exchange '%s'", ErrAccessRefused, exName)
	}
	return nil
}

func (r *Router) publishOnce(exName, key string, msg Publishing, ttl int64) (int, bool, []pendingWrite, error) {
	cc := senderKeys(msg.Headers, "CC")
	bcc := senderKeys(msg.Headers, "BCC")
	rs := routeSets.Get().(*routeSet)
	defer func() {
		rs.reset()
		routeSets.Put(rs)
	}()
	keys := append(append(append(rs.keys[:0], key), cc...), bcc...)
	rs.keys = keys
	r.mu.RLock()
	ex := r.exchanges[exName]
	if err := targetError(ex, exName); err != nil {
		r.mu.RUnlock()
		return 0, false, nil, err
	}
	r.route(rs, ex, keys, msg.Headers)
	r.mu.RUnlock()
	if need := r.diskNeed(rs.queues, &msg); need > 0 {
		if err := r.reserveDisk(need); err != nil {
			if r.al.failFast {
				return 0, false, nil, err
			}
			return 0, false, nil, errDiskRetry
		}
	}
	ex.published.Add(1)
	if len(rs.queues) > 0 {
		ex.routed.Add(1)
	} else {
		ex.unroutable.Add(1)
	}

	var now time.Time // each queue reads the clock if it needs it
	if r.observed() {
		now = time.Now()
		names := make([]string, len(rs.queues))
		for i, q := range rs.queues {
			names[i] = q.name
		}
		r.emit(Event{Kind: EventRouted, Time: now, Exchange: exName, RoutingKey: key, Queues: names, MessageID: msg.MessageID})
	}
	if len(rs.queues) == 0 {
		return 0, true, nil, nil
	}
	c := &content{pub: msg, exchange: exName, routingKey: key, size: int64(len(msg.Body)), cost: contentCost(&msg), ttl: ttl, bcc: bcc}
	if _, ok := msg.Headers["BCC"]; ok {
		c.pub.Headers = msg.Headers.clone()
		delete(c.pub.Headers, "BCC") // A12; a table left empty stays a table (§1.3b)
	}
	accepted := true
	var out []dead
	var waits []pendingWrite
	for _, q := range rs.queues {
		var ok bool
		if ok, out, waits = q.enqueue(c, now, out, waits); !ok {
			accepted = false
		}
	}
	n := len(rs.queues)
	r.deadLetter(out, now)
	return n, accepted, waits, nil
}
