package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/tribusmq/tribus"
	"github.com/tribusmq/tribus/exchange"
	tlog "github.com/tribusmq/tribus/log"
	"github.com/tribusmq/tribus/pubsub"
)

// story is one section of the demo: a tale told on the broker, the events of its timeline,
// and the explanations of its own that its timeline needs beyond the common ones
// (timelineWhy).
type story struct {
	tell func(w io.Writer) error
	keep func(tribus.TraceEvent) bool   // nil: notable
	why  func(tribus.TraceEvent) string // nil: the common explanations alone
}

// tellStory tells s on b, then prints the timeline of what the broker traced while it did:
// the events where a delivery guarantee shows, relative to the first, each kind of
// guarantee explained once. b must be open with Options.Trace.
func tellStory(ctx context.Context, w io.Writer, b *tribus.Broker, s story) error {
	traceCtx, stop := context.WithCancel(ctx)
	defer stop()
	events := b.Trace(traceCtx)
	var (
		got  []tribus.TraceEvent
		terr error
		wg   sync.WaitGroup
	)
	wg.Go(func() {
		for e, err := range events {
			if err != nil {
				terr = err
				return
			}
			got = append(got, e)
		}
	})
	var told bytes.Buffer
	err := s.tell(&told)
	stop() // the trace still yields every event the story caused
	wg.Wait()
	if _, werr := w.Write(bytes.TrimRight(told.Bytes(), "\n")); werr != nil {
		return werr
	}
	fmt.Fprintln(w)
	if err != nil {
		return err
	}
	if terr != nil {
		return terr
	}
	keep := s.keep
	if keep == nil {
		keep = notable
	}
	printTimeline(w, got, keep, s.why)
	fmt.Fprintln(w)
	return nil
}

// timelineHead heads every story's timeline.
const timelineHead = "timeline (from the broker's trace):"

// printTimeline prints the events keep accepts, with the time since the first of them, each
// followed by its why (the story's own, else timelineWhy) the first time that why shows.
func printTimeline(w io.Writer, events []tribus.TraceEvent, keep func(tribus.TraceEvent) bool, why func(tribus.TraceEvent) string) {
	fmt.Fprintln(w, timelineHead)
	var first time.Time
	explained := make(map[string]bool)
	for _, e := range events {
		if !keep(e) {
			continue
		}
		if first.IsZero() {
			first = e.Time
		}
		fmt.Fprintf(w, "  +%-9v %v\n", e.Time.Sub(first).Round(time.Microsecond), e)
		var because string
		if why != nil {
			because = why(e)
		}
		if because == "" {
			because = timelineWhy(e)
		}
		if because != "" && !explained[because] {
			explained[because] = true
			fmt.Fprintf(w, "             why: %s\n", because)
		}
	}
	if first.IsZero() {
		fmt.Fprintln(w, "  (none: the story moved no message, record or subscriber)")
	}
}

// notable reports whether an event is one where a guarantee shows, rather than a step of
// bookkeeping (a queue declared, a consumer added, a subscription opened, a member joining
// before its group's rebalance...).
func notable(e tribus.TraceEvent) bool {
	switch ev := e.Event.(type) {
	case exchange.Event:
		switch ev.Kind {
		case exchange.EventRouted, exchange.EventReturned, exchange.EventDelivered, exchange.EventAcked,
			exchange.EventNacked, exchange.EventRequeued, exchange.EventDeadLettered, exchange.EventExpired,
			exchange.EventDropped, exchange.EventConfirmed:
			return true
		}
	case tlog.Event:
		switch ev.Kind {
		case tlog.EventAppended, tlog.EventFetched, tlog.EventCommitted, tlog.EventRebalancing, tlog.EventStable,
			tlog.EventAssigned, tlog.EventRevoked, tlog.EventLost, tlog.EventMemberExpired, tlog.EventTxnCommitted,
			tlog.EventTxnAborted, tlog.EventRecordsDeleted, tlog.EventSegmentDeleted:
			return true
		}
	case pubsub.Event:
		switch ev.Kind {
		case pubsub.EventPublished, pubsub.EventDelivered, pubsub.EventDropped:
			return true
		case pubsub.EventDisconnected:
			return ev.Reason == pubsub.ReasonSlow
		}
	}
	return false
}

// timelineWhy explains, in a line, the guarantee an event shows, or returns "".
func timelineWhy(e tribus.TraceEvent) string {
	switch ev := e.Event.(type) {
	case exchange.Event:
		return exchangeWhy(ev)
	case tlog.Event:
		return logWhy(ev)
	case pubsub.Event:
		return pubsubWhy(ev)
	}
	return ""
}

func exchangeWhy(ev exchange.Event) string {
	switch ev.Kind {
	case exchange.EventRouted:
		if len(ev.Queues) == 0 {
			return "no binding matched: without an alternate exchange (A13) or mandatory (A14), the message is dropped"
		}
		return "the exchange copies the message to every queue whose binding matches; the queues hold it, not the exchange"
	case exchange.EventReturned:
		return "mandatory and unroutable: returned to the publisher (312 NO_ROUTE) rather than dropped (A14)"
	case exchange.EventConfirmed:
		if ev.Reason == "nack" {
			return "nacked: the broker did not take it (A19), and the publisher must send it again"
		}
		return "confirmed once every queue holds it (on disk, if persistent): the publisher may forget it (A16)"
	case exchange.EventDelivered:
		if ev.Redelivered {
			return "delivered again, flagged redelivered: at-least-once, so a consumer must tolerate duplicates (A51)"
		}
		return "delivered: the message stays in the queue, unacked, until its consumer settles it"
	case exchange.EventAcked:
		return "acked: only now does the queue forget it; a crash before this would have redelivered it"
	case exchange.EventNacked:
		return "nacked or rejected without requeue: it leaves the queue, dead-lettered if the queue has a DLX (A40)"
	case exchange.EventRequeued:
		return "back in its queue, at its place, to be delivered again flagged redelivered (A50)"
	case exchange.EventDeadLettered:
		return "republished to the queue's dead-letter exchange, with an x-death entry saying why (A43)"
	case exchange.EventExpired:
		return "its TTL ran out before a consumer took it (A30)"
	case exchange.EventDropped:
		return "dropped: " + ev.Reason + ", with no dead-letter exchange to take it"
	}
	return ""
}

func logWhy(ev tlog.Event) string {
	switch ev.Kind {
	case tlog.EventAppended:
		if ev.Control {
			return "a transaction marker: it takes an offset, and no consumer ever sees it (K42)"
		}
		return "appended at its partition's end: kept for the retention, whoever reads it, so any group can replay it"
	case tlog.EventFetched:
		return "read, not removed: a fetch moves only this reader's position"
	case tlog.EventCommitted:
		return "the group's committed position: whoever owns the partition next starts here (K22)"
	case tlog.EventRebalancing:
		return "the group's members changed: every member must rejoin, and the generation goes up (K20, K21)"
	case tlog.EventStable:
		return "every member has its share of the partitions for this generation"
	case tlog.EventRevoked:
		return "a member gives partitions up before anyone else may own them: eager assignors revoke all, cooperative only what moves (K25)"
	case tlog.EventAssigned:
		return "a member owns these partitions in this generation, starting from the group's committed offsets"
	case tlog.EventLost:
		return "ownership already gone (the session expired): the member must not commit for them"
	case tlog.EventMemberExpired:
		return "no heartbeat within the session timeout: the coordinator evicts the member as crashed (K23)"
	case tlog.EventTxnCommitted:
		return "the transaction's records become visible to read_committed consumers, all at once (K43)"
	case tlog.EventTxnAborted:
		return "the transaction's records stay in the log, and read_committed consumers never see them (K43)"
	case tlog.EventRecordsDeleted, tlog.EventSegmentDeleted:
		return "retention deletes whole old segments: the log now starts later, and older offsets are gone (K31)"
	}
	return ""
}

func pubsubWhy(ev pubsub.Event) string {
	switch ev.Kind {
	case pubsub.EventPublished:
		if ev.Receivers == 0 {
			return "nobody subscribed: the message is gone, with no queue and no replay (R4)"
		}
		return "delivered to whoever is subscribed now, at most once (R1)"
	case pubsub.EventDropped:
		return "the subscriber's buffer was full: its oldest messages were evicted"
	case pubsub.EventDisconnected:
		return "the subscriber read too slowly: the hub cut it off, as Redis does at its output buffer limit (R24)"
	}
	return ""
}
