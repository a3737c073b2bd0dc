package exchange

// routeSet collects the queues a message reaches, each once (A5), and the exchanges already
// visited, so exchange-to-exchange cycles and alternate-exchange loops end (A9, A13).
type routeSet struct {
	queues  []*queue
	visited []*exchange
	seen    map[*queue]struct{} // used instead of a scan once queues grows
	keys    []string            // scratch for the routing keys, reused with the set
}

func (rs *routeSet) addQueue(q *queue) {
	if rs.seen != nil {
		if _, ok := rs.seen[q]; ok {
			return
		}
		rs.seen[q] = struct{}{}
		rs.queues = append(rs.queues, q)
		return
	}
	for _, have := range rs.queues {
		if have == q {
			return
		}
	}
	rs.queues = append(rs.queues, q)
	if len(rs.queues) > 16 {
		rs.seen = make(map[*queue]struct{}, 2*len(rs.queues))
		for _, q := range rs.queues {
			rs.seen[q] = struct{}{}
		}
	}
}

func (rs *routeSet) visit(x *exchange) bool {
	for _, v := range rs.visited {
		if v == x {
			return false
		}
	}
	rs.visited = append(rs.visited, x)
	return true
}

func (rs *routeSet) reset() {
	clear(rs.queues)
	rs.queues = rs.queues[:0]
	clear(rs.visited)
	clear(rs.keys)
	rs.visited = rs.visited[:0]
	rs.seen = nil
}

// route adds to rs every queue that ex and the exchanges bound to it route keys to, trying
// alternate exchanges when ex reaches no queue (A13: the message keeps its exchange and
// routing key). Callers hold r.mu for reading.
func (r *Router) route(rs *routeSet, ex *exchange, keys []string, headers Table) {
	before := len(rs.queues)
	r.routeOne(rs, ex, keys, headers)
	for len(rs.queues) == before && ex.ae != "" {
		ae := r.exchanges[ex.ae]
		if ae == nil || !rs.visit(ae) {
			return
		}
		r.routeVia(rs, ae, keys, headers)
		ex = ae
	}
}

func (r *Router) routeOne(rs *routeSet, ex *exchange, keys []string, headers Table) {
	if !rs.visit(ex) {
		return
	}
	r.routeVia(rs, ex, keys, headers)
}

// routeVia routes through ex, already marked visited, and the exchanges bound to it.
func (r *Router) routeVia(rs *routeSet, ex *exchange, keys []string, headers Table) {
	deliver := func(d dest) {
		if d.q != nil {
			rs.addQueue(d.q)
		} else if rs.visit(d.x) {
			r.routeVia(rs, d.x, keys, headers)
		}
	}
	switch {
	case ex.name == "":
		for _, k := range keys {
			if q := r.queues[k]; q != nil {
				rs.addQueue(q)
			}
		}
	case ex.kind == Direct:
		for _, k := range keys {
			for _, d := range ex.direct[k] {
				deliver(d)
			}
		}
	case ex.kind == Fanout:
		for _, d := range ex.fanout {
			deliver(d)
		}
	case ex.kind == Topic:
		for _, k := range keys {
			ex.topic.match(k, deliver)
		}
	case ex.kind == Headers:
		for _, b := range ex.headers {
			if b.hb.match(headers) {
				deliver(b.dst)
			}
		}
	}
}

// senderKeys returns the CC and BCC routing keys of a message's headers (A12): arrays whose
// string elements are extra routing keys. Other types are ignored, as RabbitMQ ignores them.
func senderKeys(h Table, name string) []string {
	arr, ok := h[name].([]any)
	if !ok {
		return nil
	}
	out := make([]string, 0, len(arr))
	for _, v := range arr {
		if s, ok := asString(v); ok {
			out = append(out, s)
		}
	}
	return out
}
