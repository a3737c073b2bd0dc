package tribustest

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

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

func eventTime(e any) time.Time {
	switch e := e.(type) {
	case exchange.Event:
		return e.Time
	case tlog.Event:
		return e.Time
	case pubsub.Event:
		return e.Time
	}
	return time.Time{}
}

// formatEvent writes an event as "+1.5s exchange delivered queue=orders tag=1": its time
// since start, its engine, its kind and the fields that are set.
func formatEvent(start time.Time, e any) string {
	engine := "?"
	switch e.(type) {
	case exchange.Event:
		engine = "exchange"
	case tlog.Event:
		engine = "log"
	case pubsub.Event:
		engine = "pubsub"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "+%v %s", eventTime(e).Sub(start), engine)
	v := reflect.ValueOf(e)
	// Partition 0 and offset 0 are places, not absences, in events about a topic.
	topic := v.FieldByName("Topic")
	aboutTopic := topic.IsValid() && !topic.IsZero()
	for i := range v.NumField() {
		f, name := v.Field(i), v.Type().Field(i).Name
		if name == "Time" || (f.IsZero() && !(aboutTopic && (name == "Partition" || name == "Offset"))) {
			continue
		}
		if name == "Kind" {
			fmt.Fprintf(&b, " %v", f.Interface())
			continue
		}
		fmt.Fprintf(&b, " %s=%v", strings.ToLower(name[:1])+name[1:], f.Interface())
	}
	return b.String()
}
