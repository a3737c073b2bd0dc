package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"

	"github.com/tribusmq/tribus"
	"github.com/tribusmq/tribus/bridge"
	"github.com/tribusmq/tribus/exchange"
	tlog "github.com/tribusmq/tribus/log"
)

// The hybrid scenario's names, apart from the other scenarios' on the same broker.
const (
	hybridTopic    = "hybrid.orders"
	hybridExchange = "hybrid.events"
	hybridBilling  = "hybrid.billing"
	hybridShipping = "hybrid.shipping"
	hybridChannel  = "order:status"
	hybridGroup    = "hybrid-bridge"
)

// demoHybrid is the three models in one pipeline: order events go into the topic
// hybrid.orders (the source of truth, replayable); a bridge feeds them, by routing key, to
// the work queues of a topic exchange; a second bridge turns the shipping queue into live
// updates on a pub/sub channel. It waits on the broker's trace for the pipeline to finish, so
// the broker must be open with Options.Trace; hybridWhy explains its timeline.
func demoHybrid(ctx context.Context, w io.Writer, b *tribus.Broker) error {
	fmt.Fprintln(w, "== hybrid: a topic as the source of truth, bridged to work queues and live updates ==")
	l, r, hub := b.Log(), b.Router(), b.Hub()
	if err := l.CreateTopic(hybridTopic, tlog.TopicConfig{Partitions: 1}); err != nil && !errors.Is(err, tlog.ErrTopicExists) {
		return err
	}
	if err := r.ExchangeDeclare(hybridExchange, exchange.Topic, exchange.ExchangeOptions{}); err != nil {
		return err
	}
	for q, key := range map[string]string{hybridBilling: "order.created", hybridShipping: "order.paid"} {
		if _, err := r.QueueDeclare(q, exchange.QueueOptions{}); err != nil {
			return err
		}
		if err := r.QueueBind(q, hybridExchange, key, nil); err != nil {
			return err
		}
	}
	live, err := hub.Subscribe(hybridChannel)
	if err != nil {
		return err
	}
	defer live.Close()
	start, _, err := l.ListOffsets(hybridTopic, 0, tlog.Latest)
	if err != nil {
		return err
	}

	trace, stopTrace := iter.Pull2(b.Trace(ctx))
	defer stopTrace()
	for _, ev := range []struct{ id, kind string }{{"ORD-1", "order.created"}, {"ORD-1", "order.paid"}, {"ORD-2", "order.created"}} {
		if _, err := l.Produce(ctx, hybridTopic, tlog.Record{Key: []byte(ev.kind), Value: []byte(ev.id)}); err != nil {
			return err
		}
	}
	runCtx, stop := context.WithCancel(ctx)
	feed := &bridge.LogToExchange{Log: l, Router: r, Group: hybridGroup, Topics: []string{hybridTopic},
		Exchange: hybridExchange, Reset: tlog.ResetEarliest}
	status := &bridge.QueueToPubSub{Router: r, Hub: hub, Queue: hybridShipping,
		Channel: func(*exchange.Delivery) string { return hybridChannel }}
	done := make(chan error, 2)
	go func() { done <- feed.Run(runCtx) }()
	go func() { done <- status.Run(runCtx) }()

	// The scenario is over once the bridge committed all three records and the shipping
	// update was published and acked: read the trace until both show.
	committed, acked := false, false
	for !committed || !acked {
		e, terr, ok := trace()
		if !ok || terr != nil {
			err = firstErr(terr, ctx.Err(), errors.New("the trace ended early"))
			break
		}
		switch ev := e.Event.(type) {
		case tlog.Event:
			committed = committed || (ev.Kind == tlog.EventCommitted && ev.Group == hybridGroup && ev.Offset >= start+3)
		case exchange.Event:
			acked = acked || (ev.Kind == exchange.EventAcked && ev.Queue == hybridShipping)
		}
	}
	stop()
	err = firstErr(err, <-done, <-done)
	if err != nil {
		return err
	}
	qi, err := r.QueueInfo(hybridBilling)
	if err != nil {
		return err
	}
	m, err := live.Next(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "live subscriber on %s: %s was paid (ready to ship)\n", hybridChannel, m.Payload)
	fmt.Fprintf(w, "billing queue holds %d orders to bill; the bridge forwarded %d records\n", qi.Ready, feed.Forwarded())
	return nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// hybridWhy explains the events of the hybrid scenario where the pipeline's guarantees
// show, or returns "" for the common explanation (timelineWhy).
func hybridWhy(e tribus.TraceEvent) string {
	switch e.Kind() {
	case "appended":
		return "the topic keeps it: any group can replay it later"
	case "routed":
		return "the bridge publishes by the record's key, with confirms"
	case "committed":
		return "committed only after the router confirmed: a bridge dying before this re-sends, never loses"
	case "acked":
		return "acked only after the hub took it: a crash before this redelivers it"
	case "published":
		return "pub/sub: whoever listens now gets it; nobody listening, it is gone"
	}
	return ""
}
