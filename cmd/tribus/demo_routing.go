package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tribusmq/tribus"
	"github.com/tribusmq/tribus/exchange"
)

// The routing scenario's exchanges and queues, all non-durable and prefixed "routing.", apart
// from the other scenarios' on the same broker.
const (
	routingDirect   = "routing.direct"
	routingUnrouted = "routing.unrouted" // the direct exchange's alternate exchange, and its queue
	routingTopic    = "routing.topic"
	routingFanout   = "routing.fanout"
	routingHeaders  = "routing.headers"
	routingDLX      = "routing.dlx"

	routingEU     = "routing.eu"
	routingUS     = "routing.us"
	routingStar   = "routing.star"
	routingHash   = "routing.hash"
	routingAudit  = "routing.audit"
	routingSearch = "routing.search"
	routingAll    = "routing.all"
	routingAny    = "routing.any"
	routingWork   = "routing.work"
	routingTTL    = "routing.ttl"
	routingCapped = "routing.capped"
	routingDead   = "routing.dead"
)

// routingNotable keeps of the routing scenario's events those notable ones that are not the
// auto-acked gets with which it looks where each message went (the redelivery's deliveries
// and acks stay).
func routingNotable(e tribus.TraceEvent) bool {
	ev, ok := e.Event.(exchange.Event)
	if ok && (ev.Kind == exchange.EventDelivered || ev.Kind == exchange.EventAcked) && ev.Queue != routingWork {
		return false
	}
	return notable(e)
}

// routingBinding binds queue to exchange with key and args.
type routingBinding struct {
	queue, exchange, key string
	args                 exchange.Table
}

// demoRouting is the RabbitMQ routing scenario: what each exchange type does with a routing
// key or headers, an alternate exchange taking what nothing routes, a delivery redelivered
// after its consumer's session closed unacked and one requeued by a nack, and messages
// dead-lettered by a TTL of 0 and by a length limit, with their x-death. It waits only on
// deliveries and gets, never on the clock. Each run deletes and redeclares its objects, so it
// can run again on the same broker.
func demoRouting(ctx context.Context, w io.Writer, b *tribus.Broker) error {
	fmt.Fprintln(w, "== exchange routing (RabbitMQ model): exchange types, redelivery, dead letters ==")
	r := b.Router()
	s, err := r.NewSession()
	if err != nil {
		return err
	}
	defer s.Close()
	if err := routingTopology(s); err != nil {
		return err
	}

	fmt.Fprintf(w, "direct %q: binding \"eu\" -> %s, \"us\" -> %s; alternate exchange %q -> %s\n",
		routingDirect, routingEU, routingUS, routingUnrouted, routingUnrouted)
	for _, key := range []string{"eu", "us", "asia"} {
		if err := routeLine(ctx, w, s, routingDirect, key, nil, routingEU, routingUS, routingUnrouted); err != nil {
			return err
		}
	}
	fmt.Fprintln(w, "  why: the key must equal a binding key byte for byte (A2); what nothing matches goes to the alternate exchange, not nowhere (A13)")

	fmt.Fprintf(w, "topic %q: binding \"order.*\" -> %s, \"order.#\" -> %s\n", routingTopic, routingStar, routingHash)
	for _, key := range []string{"order.created", "order.eu.created", "order"} {
		if err := routeLine(ctx, w, s, routingTopic, key, nil, routingStar, routingHash); err != nil {
			return err
		}
	}
	fmt.Fprintln(w, "  why: * matches exactly one word, # zero or more words (A3)")

	fmt.Fprintf(w, "fanout %q: -> %s, %s\n", routingFanout, routingAudit, routingSearch)
	if err := routeLine(ctx, w, s, routingFanout, "any.key", nil, routingAudit, routingSearch); err != nil {
		return err
	}
	fmt.Fprintln(w, "  why: a fanout ignores the key: one copy to every bound queue (A1)")

	fmt.Fprintf(w, "headers %q: x-match=all format=pdf type=report -> %s; x-match=any format=pdf type=report -> %s\n",
		routingHeaders, routingAll, routingAny)
	for _, h := range []exchange.Table{{"format": "pdf", "type": "report"}, {"format": "pdf", "type": "log"}, {"format": "csv"}} {
		if err := routeLine(ctx, w, s, routingHeaders, "", h, routingAll, routingAny); err != nil {
			return err
		}
	}
	fmt.Fprintln(w, "  why: the key plays no part; all needs every bound header to match, any one of them (A8)")

	if err := routingRedelivery(ctx, w, r, s); err != nil {
		return err
	}
	if err := routingDeadLetters(ctx, w, s); err != nil {
		return err
	}
	fmt.Fprintln(w)
	return nil
}

// routingTopology deletes what an earlier run left and declares the scenario's exchanges,
// queues and bindings afresh. Deleting a missing queue or exchange succeeds, as in RabbitMQ.
func routingTopology(s *exchange.Session) error {
	queues := map[string]exchange.QueueOptions{
		routingEU: {}, routingUS: {}, routingUnrouted: {}, routingStar: {}, routingHash: {},
		routingAudit: {}, routingSearch: {}, routingAll: {}, routingAny: {}, routingWork: {}, routingDead: {},
		// A per-queue TTL of a minute: the per-message expiration "0" is lower, and wins (A28).
		routingTTL:    {MessageTTL: time.Minute, DeadLetterExchange: routingDLX},
		routingCapped: {MaxLength: 1, Overflow: exchange.DropHead, DeadLetterExchange: routingDLX},
	}
	exchanges := []struct {
		name string
		kind exchange.Kind
		o    exchange.ExchangeOptions
	}{
		{routingUnrouted, exchange.Fanout, exchange.ExchangeOptions{}},
		{routingDirect, exchange.Direct, exchange.ExchangeOptions{AlternateExchange: routingUnrouted}},
		{routingTopic, exchange.Topic, exchange.ExchangeOptions{}},
		{routingFanout, exchange.Fanout, exchange.ExchangeOptions{}},
		{routingHeaders, exchange.Headers, exchange.ExchangeOptions{}},
		{routingDLX, exchange.Fanout, exchange.ExchangeOptions{}},
	}
	bindings := []routingBinding{
		{routingEU, routingDirect, "eu", nil},
		{routingUS, routingDirect, "us", nil},
		{routingUnrouted, routingUnrouted, "", nil},
		{routingStar, routingTopic, "order.*", nil},
		{routingHash, routingTopic, "order.#", nil},
		{routingAudit, routingFanout, "", nil},
		{routingSearch, routingFanout, "", nil},
		{routingAll, routingHeaders, "", exchange.Table{"x-match": "all", "format": "pdf", "type": "report"}},
		{routingAny, routingHeaders, "", exchange.Table{"x-match": "any", "format": "pdf", "type": "report"}},
		{routingDead, routingDLX, "", nil},
	}
	for name := range queues {
		if _, err := s.QueueDelete(name, false, false); err != nil {
			return err
		}
	}
	for _, x := range exchanges {
		if err := s.ExchangeDelete(x.name, false); err != nil {
			return err
		}
	}
	for _, x := range exchanges {
		if err := s.ExchangeDeclare(x.name, x.kind, x.o); err != nil {
			return err
		}
	}
	for name, o := range queues {
		if _, err := s.QueueDeclare(name, o); err != nil {
			return err
		}
	}
	for _, bd := range bindings {
		if err := s.QueueBind(bd.queue, bd.exchange, bd.key, bd.args); err != nil {
			return err
		}
	}
	return nil
}

// routeLine publishes one message to ex with key and headers, then takes it, with a get, from
// each of the candidate queues it reached (they are empty before), and prints which.
func routeLine(ctx context.Context, w io.Writer, s *exchange.Session, ex, key string, headers exchange.Table, candidates ...string) error {
	if _, err := s.Publish(ctx, ex, key, false, exchange.Publishing{Headers: headers, Body: []byte(key)}); err != nil {
		return err
	}
	var reached []string
	for _, q := range candidates {
		d, err := s.Get(q, true)
		if err != nil {
			return err
		}
		if d != nil {
			reached = append(reached, q)
		}
	}
	what := fmt.Sprintf("key %q", key)
	if headers != nil {
		what = "headers " + formatHeaders(headers)
	}
	to := strings.Join(reached, ", ")
	if to == "" {
		to = "nowhere"
	}
	fmt.Fprintf(w, "  %-32s -> %s\n", what, to)
	return nil
}

// formatHeaders prints h's format and type headers, in that order.
func formatHeaders(h exchange.Table) string {
	var parts []string
	for _, k := range []string{"format", "type"} {
		if v, ok := h[k]; ok {
			parts = append(parts, fmt.Sprintf("%s=%v", k, v))
		}
	}
	return "{" + strings.Join(parts, " ") + "}"
}

// routingRedelivery shows a delivery coming back after a crash before its ack, and after a
// nack with requeue.
func routingRedelivery(ctx context.Context, w io.Writer, r *exchange.Router, s *exchange.Session) error {
	fmt.Fprintf(w, "redelivery on %q (manual acks):\n", routingWork)
	crashed, err := r.NewSession()
	if err != nil {
		return err
	}
	defer crashed.Close()
	a, err := crashed.Consume(routingWork, exchange.ConsumeOptions{Tag: "worker-a", Prefetch: 1})
	if err != nil {
		return err
	}
	if _, err := s.Publish(ctx, "", routingWork, false, exchange.Publishing{MessageID: "job-1", Body: []byte("job-1")}); err != nil {
		return err
	}
	d, err := a.Next(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "  worker-a: tag %d %s redelivered=%t; its session closes before the ack (a crash)\n",
		d.DeliveryTag, d.MessageID, d.Redelivered)
	if err := crashed.Close(); err != nil {
		return err
	}

	other, err := r.NewSession()
	if err != nil {
		return err
	}
	defer other.Close()
	bc, err := other.Consume(routingWork, exchange.ConsumeOptions{Tag: "worker-b", Prefetch: 1})
	if err != nil {
		return err
	}
	if err := routingTake(ctx, w, bc, "ack", (*exchange.Delivery).Ack); err != nil {
		return err
	}
	fmt.Fprintln(w, "  why: what a closed session left unacked goes back to its queue, redelivered (A51): at-least-once, so consumers must dedupe")

	if _, err := s.Publish(ctx, "", routingWork, false, exchange.Publishing{MessageID: "job-2", Body: []byte("job-2")}); err != nil {
		return err
	}
	requeue := func(d *exchange.Delivery) error { return d.Nack(true) }
	if err := routingTake(ctx, w, bc, "nack, requeue", requeue); err != nil {
		return err
	}
	if err := routingTake(ctx, w, bc, "ack", (*exchange.Delivery).Ack); err != nil {
		return err
	}
	fmt.Fprintln(w, "  why: a nack with requeue puts it back at its place, flagged redelivered, with a new tag (A50, A47)")
	return other.Close()
}

// routingTake takes c's next delivery, says what its consumer does with it, and does it.
func routingTake(ctx context.Context, w io.Writer, c *exchange.Consumer, what string, settle func(*exchange.Delivery) error) error {
	d, err := c.Next(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "  %s: tag %d %s redelivered=%t: %s\n", c.Tag(), d.DeliveryTag, d.MessageID, d.Redelivered, what)
	return settle(d)
}

// routingDeadLetters dead-letters one message by a TTL of 0 and one by a length limit, and
// reads their x-death from the dead-letter queue.
func routingDeadLetters(ctx context.Context, w io.Writer, s *exchange.Session) error {
	fmt.Fprintf(w, "dead letters: %s and %s dead-letter to %q -> %s\n", routingTTL, routingCapped, routingDLX, routingDead)
	if _, err := s.Publish(ctx, "", routingTTL, false, exchange.Publishing{MessageID: "ttl-1", Expiration: "0", Body: []byte("ttl-1")}); err != nil {
		return err
	}
	fmt.Fprintf(w, "  publish ttl-1 to %s (x-message-ttl=60000) with expiration \"0\": no consumer takes it at once, so it expires\n", routingTTL)
	for _, id := range []string{"capped-1", "capped-2"} {
		if _, err := s.Publish(ctx, "", routingCapped, false, exchange.Publishing{MessageID: id, Body: []byte(id)}); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "  publish capped-1, capped-2 to %s (x-max-length=1, x-overflow=drop-head)\n", routingCapped)
	for range 2 {
		d, err := s.Get(routingDead, false)
		if err != nil {
			return err
		}
		if d == nil {
			return fmt.Errorf("%s is missing a dead letter", routingDead)
		}
		deaths := d.Deaths()
		if len(deaths) == 0 {
			return fmt.Errorf("dead letter %s has no x-death", d.MessageID)
		}
		fmt.Fprintf(w, "  %s: %s x-death reason=%s count=%d queue=%s\n",
			routingDead, d.MessageID, deaths[0].Reason, deaths[0].Count, deaths[0].Queue)
		if err := d.Ack(); err != nil {
			return err
		}
	}
	d, err := s.Get(routingCapped, false)
	if err != nil {
		return err
	}
	if d == nil {
		return fmt.Errorf("%s is empty", routingCapped)
	}
	fmt.Fprintf(w, "  %s keeps %s\n", routingCapped, d.MessageID)
	if err := d.Ack(); err != nil {
		return err
	}
	fmt.Fprintln(w, "  why: a TTL of 0 expires a message unless a consumer takes it at once (A30); drop-head pushes the oldest out (A34); both leave through the DLX with x-death (A40, A43)")
	return nil
}
