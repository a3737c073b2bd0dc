package tribustest

import (
	"fmt"
	"sync"
	"time"

	"github.com/tribusmq/tribus"
	"github.com/tribusmq/tribus/exchange"
	tlog "github.com/tribusmq/tribus/log"
	"github.com/tribusmq/tribus/pubsub"
)

// TraceLength is how many of its last engine events a [Broker] keeps for [Broker.Events] and
// failure reports.
const TraceLength = 64

// trace keeps the last TraceLength events of a broker's engines, unformatted: formatting
// happens only when a report needs it. add is called by the engines' observers, under their
// locks, so it takes only its own.
type trace struct {
	mu    sync.Mutex // guards the fields below
	start time.Time  // the first event's time; events are shown relative to it
	ring  [TraceLength]any
	next  int    // where the next event goes
	total uint64 // events seen
}

func (tr *trace) add(e any) {
	tr.mu.Lock()
	if tr.total == 0 {
		tr.start = eventTime(e)
	}
	tr.ring[tr.next] = e
	tr.next = (tr.next + 1) % TraceLength
	tr.total++
	tr.mu.Unlock()
}

func (tr *trace) lines() []string {
	tr.mu.Lock()
	n := min(tr.total, TraceLength)
	events := make([]any, 0, n)
	for i := range int(n) {
		events = append(events, tr.ring[(tr.next-int(n)+i+TraceLength)%TraceLength])
	}
	start, total := tr.start, tr.total
	tr.mu.Unlock()
	out := make([]string, 0, len(events)+1)
	if total > TraceLength {
		out = append(out, fmt.Sprintf("(%d earlier events not kept)", total-TraceLength))
	}
	for _, e := range events {
		out = append(out, formatEvent(start, e))
	}
	return out
}

// traceEvent wraps an engine's event as the broker's trace shows it.
func traceEvent(e any) tribus.TraceEvent {
	switch e := e.(type) {
	case exchange.Event:
		return tribus.TraceEvent{Time: e.Time, Engine: tribus.EngineExchange, Event: e}
	case tlog.Event:
		return tribus.TraceEvent{Time: e.Time, Engine: tribus.EngineLog, Event: e}
	case pubsub.Event:
		return tribus.TraceEvent{Time: e.Time, Engine: tribus.EnginePubSub, Event: e}
	}
	return tribus.TraceEvent{Event: e}
}

func eventTime(e any) time.Time { return traceEvent(e).Time }

// formatEvent writes an event as "+1.5s exchange delivered queue=orders deliveryTag=1": its
// time since start, then as tribus.TraceEvent.String writes it.
func formatEvent(start time.Time, e any) string {
	te := traceEvent(e)
	return fmt.Sprintf("+%v %v", te.Time.Sub(start), te)
}
