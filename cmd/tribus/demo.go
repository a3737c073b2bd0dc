package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net"
	"time"

	"github.com/tribusmq/tribus"
	"github.com/tribusmq/tribus/pubsub"
)

// demoScenarios are the scenarios demo tells: each engine's model, the order each promises,
// the three together, what survives a restart (run twice with --dir), or all of them in that
// order.
var demoScenarios = []string{"rabbitmq", "kafka", "redis", "ordering", "hybrid", "persistence", "all"}

// demoConfig is what `tribus demo` was asked to do.
type demoConfig struct {
	scenario string
	dir      string // "": in memory
	asJSON   bool   // print the trace as JSON lines instead of the stories
	httpAddr string // serve the broker's dashboard there, until ctx ends; "": none
}

// demo tells the scenario on one broker, in memory or durable in cfg.dir: each of its stories,
// then the story's timeline from the broker's trace. With asJSON it prints the broker's whole
// trace instead, one JSON object a line. With httpAddr it serves the broker's dashboard while
// it tells them, and after, until ctx ends, so that its timeline can be watched.
func demo(ctx context.Context, w io.Writer, cfg demoConfig) (err error) {
	scenario, dir, asJSON := cfg.scenario, cfg.dir, cfg.asJSON
	b, err := tribus.Open(dir, &tribus.Options{Trace: true})
	if err != nil {
		return err
	}
	var web *webServer
	if cfg.httpAddr != "" {
		ln, err := net.Listen("tcp", loopbackByDefault(cfg.httpAddr))
		if err != nil {
			b.Close()
			return fmt.Errorf("dashboard: %w", err)
		}
		web = newWebServer(b, false)
		go web.serve(ln)
		fmt.Fprintf(w, "dashboard on http://%s/\n\n", ln.Addr())
	}
	stopped := ctx // what ends the dashboard once the stories are told
	var traced chan error
	if asJSON {
		events := b.Trace(ctx)
		out := w
		w = io.Discard
		traced = make(chan error, 1)
		go func() { traced <- writeTrace(out, events) }()
	}
	defer func() {
		err = errors.Join(err, b.Close())
		if traced != nil {
			err = errors.Join(err, <-traced) // Close ended the trace after the demo's last events
		}
	}()
	if web != nil {
		defer web.close() // before the broker closes
	}
	if dir != "" {
		fmt.Fprintf(w, "durable broker in %s\n\n", dir)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	all := scenario == "all"
	var stories []story
	tale := func(tell func(io.Writer) error) story { return story{tell: tell} }
	if all || scenario == "rabbitmq" {
		stories = append(stories,
			tale(func(w io.Writer) error { return demoExchange(ctx, w, b.Router(), dir != "") }),
			story{tell: func(w io.Writer) error { return demoRouting(ctx, w, b) }, keep: routingNotable})
	}
	if all || scenario == "kafka" {
		stories = append(stories,
			tale(func(w io.Writer) error { return demoLog(ctx, w, b.Log()) }),
			tale(func(w io.Writer) error { return demoGroup(ctx, w, b.Log()) }))
		for _, more := range kafkaMoreTales {
			stories = append(stories, tale(func(w io.Writer) error { return more(ctx, w, b.Log()) }))
		}
	}
	if all || scenario == "redis" {
		stories = append(stories,
			tale(func(w io.Writer) error { return demoPubSub(ctx, w, b.Hub()) }),
			tale(func(w io.Writer) error { return demoSlowSubscriber(ctx, w, b) }))
	}
	if all || scenario == "ordering" {
		stories = append(stories, tale(func(w io.Writer) error { return demoOrdering(ctx, w, b) }))
	}
	if all || scenario == "hybrid" {
		stories = append(stories, story{tell: func(w io.Writer) error { return demoHybrid(ctx, w, b) }, why: hybridWhy})
	}
	if all || scenario == "persistence" {
		stories = append(stories, tale(func(w io.Writer) error { return demoPersistence(ctx, w, b, dir != "") }))
	}
	for _, s := range stories {
		if err := tellStory(ctx, w, b, s); err != nil {
			return err
		}
	}
	if web != nil {
		fmt.Fprintln(w, "the stories are told; the dashboard stays up until Ctrl-C")
		<-stopped.Done()
	}
	return nil
}

// statusChange is the Redis scenario's message.
type statusChange struct {
	OrderID   string `json:"order_id"`
	Event     string `json:"event"`
	NewStatus string `json:"new_status"`
}

// demoPubSub is the Redis scenario: live order-status notifications on channel
// order:notifications, at-most-once.
func demoPubSub(ctx context.Context, w io.Writer, hub *pubsub.Hub) error {
	const channel = "order:notifications"
	fmt.Fprintln(w, "== pub/sub (Redis model): live order notifications, at-most-once ==")

	web, err := hub.Subscribe(channel)
	if err != nil {
		return err
	}
	defer web.Close()
	mobile, err := hub.Subscribe(channel)
	if err != nil {
		return err
	}
	audit, err := hub.PSubscribe("order:*")
	if err != nil {
		return err
	}
	defer audit.Close()
	fmt.Fprintf(w, "subscribers: web and mobile on %q, audit on pattern %q\n", channel, "order:*")

	publish := func(status string) (int, error) {
		payload, err := json.Marshal(statusChange{OrderID: "ORD-123", Event: "status_change", NewStatus: status})
		if err != nil {
			return 0, err
		}
		n := hub.Publish(channel, payload)
		fmt.Fprintf(w, "PUBLISH %s %s -> %d %s\n", channel, payload, n, plural(n, "receiver"))
		return n, nil
	}
	say := func(who string, s *pubsub.Subscription) error {
		m, err := s.Next(ctx)
		if err != nil {
			return err
		}
		var ev statusChange
		if err := json.Unmarshal(m.Payload, &ev); err != nil {
			return err
		}
		via := "channel " + m.Channel
		if m.Pattern != "" {
			via = "pattern " + m.Pattern
		}
		fmt.Fprintf(w, "  %-6s (%s): Order %s is now %s\n", who, via, ev.OrderID, ev.NewStatus)
		return nil
	}

	if _, err := publish("shipped"); err != nil {
		return err
	}
	for _, r := range []struct {
		who string
		s   *pubsub.Subscription
	}{{"web", web}, {"mobile", mobile}, {"audit", audit}} {
		if err := say(r.who, r.s); err != nil {
			return err
		}
	}

	fmt.Fprintln(w, "mobile disconnects; audit unsubscribes from its pattern")
	mobile.Close()
	if _, err := audit.PUnsubscribe(); err != nil {
		return err
	}
	if _, err := publish("out_for_delivery"); err != nil {
		return err
	}
	if err := say("web", web); err != nil {
		return err
	}
	fmt.Fprintln(w, "  mobile missed it: no queue, no replay")

	web.Close()
	fmt.Fprintln(w, "web disconnects too; nobody is listening now")
	n, err := publish("delivered")
	if err != nil {
		return err
	}
	if n != 0 {
		return fmt.Errorf("publish with no subscriber reached %d receivers", n)
	}
	late, err := hub.Subscribe(channel)
	if err != nil {
		return err
	}
	defer late.Close()
	fmt.Fprintf(w, "a subscriber that joins afterwards has %d messages waiting: the update is lost\n", late.Buffered())
	st := hub.Stats()
	fmt.Fprintf(w, "stats: %d published, %d delivered, %d dropped\n\n", st.Published, st.Delivered, st.DroppedSlow+st.DroppedOldest)
	return nil
}

// writeTrace writes each event of a trace as a line of JSON until the trace ends.
func writeTrace(w io.Writer, events iter.Seq2[tribus.TraceEvent, error]) error {
	enc := json.NewEncoder(w)
	for e, err := range events {
		if err != nil {
			return err
		}
		if err := enc.Encode(e); err != nil {
			return err
		}
	}
	return nil
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
