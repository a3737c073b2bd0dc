package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/tribusmq/tribus"
	"github.com/tribusmq/tribus/exchange"
	tlog "github.com/tribusmq/tribus/log"
	"github.com/tribusmq/tribus/pubsub"
)

// The slow-subscriber scenario's channels and the buffer limit of its slow subscribers.
const (
	slowChannel      = "slow:prices"
	slowDropChannel  = "slow:quotes"
	slowLimitBytes   = 100
	slowPublishCount = 4
)

// demoSlowSubscriber is Redis's output-buffer limit for pub/sub clients (R24): on channel
// slow:prices a fast subscriber reads everything, while a slow one that never reads has a
// 100-byte hard limit and the Disconnect policy, so the third message cuts it off. Then, on
// slow:quotes, tribus's DropOldest policy evicts the oldest messages instead. Only the hard
// byte limit is used (the soft limit is off), so nothing depends on time.
func demoSlowSubscriber(ctx context.Context, w io.Writer, b *tribus.Broker) error {
	hub := b.Hub()
	fmt.Fprintln(w, "== slow subscriber (Redis model): a client that does not read is cut off ==")
	frame := slowFrameSize(slowChannel, "tick-1")

	fast, err := hub.Subscribe(slowChannel)
	if err != nil {
		return err
	}
	defer fast.Close()
	cut := false
	slow, err := hub.NewSubscription(&pubsub.SubscriptionOptions{
		Limits: pubsub.Limits{MaxBytes: slowLimitBytes, SoftBytes: -1, Policy: pubsub.Disconnect},
		// Called in the publisher's goroutine, inside the Publish that went over the limit.
		OnDisconnect: func(error) { cut = true },
	})
	if err != nil {
		return err
	}
	defer slow.Close()
	if _, err := slow.Subscribe(slowChannel); err != nil {
		return err
	}
	fmt.Fprintf(w, "channel %s: fast reads every message; slow never reads, its buffer limited to %d bytes (hard limit, policy %v)\n",
		slowChannel, slowLimitBytes, pubsub.Disconnect)
	fmt.Fprintf(w, "each message is a %d-byte RESP frame, as Redis counts it: %d fit in slow's buffer\n", frame, slowLimitBytes/frame)

	before := hub.Stats()
	for i := 1; i <= slowPublishCount; i++ {
		payload := "tick-" + strconv.Itoa(i)
		wasCut := cut
		n := hub.Publish(slowChannel, []byte(payload))
		line := fmt.Sprintf("PUBLISH %s %s -> %d %s", slowChannel, payload, n, plural(n, "receiver"))
		switch {
		case wasCut:
			line += ": slow is gone, only fast counts"
		case cut:
			line += fmt.Sprintf(": slow went over %d bytes and was disconnected", slowLimitBytes)
			line += "\n  why: PUBLISH counted slow before cutting it off, as Redis counts a client before it kills it"
		default:
			line += fmt.Sprintf(" (slow holds %d unread, %d bytes)", slow.Buffered(), slow.Buffered()*frame)
		}
		fmt.Fprintln(w, line)
	}
	var got []string
	for range slowPublishCount {
		m, err := fast.Next(ctx)
		if err != nil {
			return err
		}
		got = append(got, string(m.Payload))
	}
	fmt.Fprintf(w, "  fast: %s\n", strings.Join(got, " "))
	_, err = slow.Next(ctx)
	if !errors.Is(err, pubsub.ErrSlowSubscriber) {
		return fmt.Errorf("the slow subscriber's Next returned %v, want %v", err, pubsub.ErrSlowSubscriber)
	}
	after := hub.Stats()
	fmt.Fprintf(w, "  slow: Next -> %v; the %d messages it had buffered are lost\n", err, after.DroppedSlow-before.DroppedSlow)
	fmt.Fprintf(w, "stats: %d disconnect, %d dropped as slow\n", after.Disconnects-before.Disconnects, after.DroppedSlow-before.DroppedSlow)
	fmt.Fprintln(w, "why: Redis protects the server from a client that does not read (client-output-buffer-limit pubsub):")
	fmt.Fprintln(w, "     it closes the client and what it had not read is gone; the publisher never waits (at-most-once)")

	lag, err := hub.NewSubscription(&pubsub.SubscriptionOptions{
		Limits: pubsub.Limits{MaxBytes: slowLimitBytes, SoftBytes: -1, Policy: pubsub.DropOldest}})
	if err != nil {
		return err
	}
	defer lag.Close()
	if _, err := lag.Subscribe(slowDropChannel); err != nil {
		return err
	}
	fmt.Fprintf(w, "channel %s: lagging never reads while %d messages arrive, same %d-byte limit, policy %v (tribus only, not Redis)\n",
		slowDropChannel, slowPublishCount, slowLimitBytes, pubsub.DropOldest)
	before = hub.Stats()
	for i := 1; i <= slowPublishCount; i++ {
		if n := hub.Publish(slowDropChannel, []byte("tick-"+strconv.Itoa(i))); n != 1 {
			return fmt.Errorf("publish to %s reached %d receivers, want 1", slowDropChannel, n)
		}
	}
	after = hub.Stats()
	waiting := lag.Buffered()
	got = got[:0]
	for range waiting {
		m, err := lag.Next(ctx)
		if err != nil {
			return err
		}
		got = append(got, string(m.Payload))
	}
	fmt.Fprintf(w, "  lagging is still connected (err=%v) and reads the %d newest: %s; %d oldest evicted\n",
		lag.Err(), waiting, strings.Join(got, " "), after.DroppedOldest-before.DroppedOldest)
	fmt.Fprintln(w, "  why: drop-oldest keeps the subscriber and loses its oldest messages instead: at-most-once still")
	fmt.Fprintln(w)
	return nil
}

// slowFrameSize is the length of the RESP2 frame Redis queues for a message on channel,
// `*3\r\n$7\r\nmessage\r\n$<n>\r\n<channel>\r\n$<n>\r\n<payload>\r\n`: what its output-buffer
// limit counts.
func slowFrameSize(channel, payload string) int {
	bulk := func(s string) int { return 1 + len(strconv.Itoa(len(s))) + 2 + len(s) + 2 }
	return len("*3\r\n") + bulk("message") + bulk(channel) + bulk(payload)
}

// The persistence scenario's names and what each run leaves for the next.
const (
	persistQueue      = "persist.q"
	persistTopic      = "persist.t"
	persistGroup      = "persist.g"
	persistChannel    = "persist:live"
	persistPersistent = "persistent message"
	persistTransient  = "transient message"
	persistRecord     = "order ORD-1 created"
	persistLive       = "order ORD-1 is live"
)

// demoPersistence tells what survives a restart, per engine. In memory nothing does, and it
// says so. Durably (durable must match b.Dir() != "") it reports what the previous run left
// in the directory: a persistent and a transient message in the durable queue persist.q, a
// record in topic persist.t (whose existence marks an earlier run) and the offset group
// persist.g committed, and whatever was published on channel persist:live. Then it drains
// that and leaves the same state again, so every later run tells the same story.
func demoPersistence(ctx context.Context, w io.Writer, b *tribus.Broker, durable bool) error {
	fmt.Fprintln(w, "== persistence: what survives a restart, per engine ==")
	if durable != (b.Dir() != "") {
		return fmt.Errorf("demoPersistence: durable=%t on a broker in %q", durable, b.Dir())
	}
	if !durable {
		fmt.Fprintln(w, "in-memory broker: nothing survives a restart, durable queues, persistent messages and topics included")
		fmt.Fprintln(w, "run the demo twice with --dir DIR to see what each engine keeps on disk")
		fmt.Fprintln(w)
		return nil
	}
	l, hub := b.Log(), b.Hub()
	s, err := b.Router().NewSession()
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.Confirm(); err != nil {
		return err
	}
	if _, err := s.QueueDeclare(persistQueue, exchange.QueueOptions{Durable: true}); err != nil {
		return err
	}
	_, err = l.DescribeTopic(persistTopic)
	earlier := err == nil
	if err != nil && !errors.Is(err, tlog.ErrUnknownTopic) {
		return err
	}
	if earlier {
		fmt.Fprintln(w, "found what the previous run left:")
	} else {
		fmt.Fprintln(w, "first run in this directory: run again to see what survived")
	}
	if err := persistReportQueue(w, s, earlier); err != nil {
		return err
	}
	if earlier {
		if err := persistReportLog(ctx, w, l); err != nil {
			return err
		}
		// The topic goes and comes back empty, with the group's offsets on it, so that every
		// run finds its record at offset 0.
		if err := l.DeleteTopic(persistTopic); err != nil {
			return err
		}
		subs, err := hub.NumSub(persistChannel)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "  pub/sub: channel %s has %d subscribers and nothing to replay: the previous run's message is gone\n",
			persistChannel, subs[0].Subscribers)
		fmt.Fprintln(w, "    why: Redis Pub/Sub has no storage: a message goes to whoever listens at that moment, then it is gone")
	}
	return persistLeave(ctx, w, s, l, hub)
}

// persistReportQueue drains persist.q and, after an earlier run, says which of the two
// messages it left are still there.
func persistReportQueue(w io.Writer, s *exchange.Session, earlier bool) error {
	found := map[string]bool{}
	var other []string
	for {
		d, err := s.Get(persistQueue, true)
		if err != nil {
			return err
		}
		if d == nil {
			break
		}
		switch body := string(d.Body); body {
		case persistPersistent, persistTransient:
			found[body] = true
		default:
			other = append(other, strconv.Quote(body))
		}
	}
	if !earlier {
		if n := len(found) + len(other); n > 0 {
			fmt.Fprintf(w, "  queue %s: drained %d %s an interrupted run left\n", persistQueue, n, plural(n, "message"))
		}
		return nil
	}
	fmt.Fprintf(w, "  exchange: durable queue %s holds %d %s\n", persistQueue, len(found)+len(other), plural(len(found)+len(other), "message"))
	if found[persistPersistent] {
		fmt.Fprintf(w, "    %q (delivery mode 2, persistent): survived\n", persistPersistent)
		fmt.Fprintln(w, "    why: a persistent message of a durable queue is on disk before it is confirmed, as in RabbitMQ")
	} else {
		fmt.Fprintf(w, "    %q (delivery mode 2, persistent): missing\n", persistPersistent)
	}
	if found[persistTransient] {
		fmt.Fprintf(w, "    %q (delivery mode 1, transient): still here: the broker has not restarted since it was left\n", persistTransient)
	} else {
		fmt.Fprintf(w, "    %q (delivery mode 1, transient): lost at restart\n", persistTransient)
		fmt.Fprintln(w, "    why: RabbitMQ does not keep a transient message across a restart, even in a durable queue")
	}
	if len(other) > 0 {
		fmt.Fprintf(w, "    also drained: %s\n", strings.Join(other, ", "))
	}
	return nil
}

// persistReportLog says what topic persist.t and group persist.g kept.
func persistReportLog(ctx context.Context, w io.Writer, l *tlog.Log) error {
	start, _, err := l.ListOffsets(persistTopic, 0, tlog.Earliest)
	if err != nil {
		return err
	}
	recs, err := l.Fetch(ctx, persistTopic, 0, start, tlog.FetchOptions{})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "  log: topic %s holds %d %s\n", persistTopic, len(recs), plural(len(recs), "record"))
	for _, r := range recs {
		fmt.Fprintf(w, "    %q at offset %d: survived\n", r.Value, r.Offset)
	}
	if len(recs) > 0 {
		fmt.Fprintln(w, "    why: the topic is the storage: records stay until retention removes them (retention.ms=-1 here)")
	}
	committed, err := l.Requests().CommittedOffsets(persistGroup)
	if err != nil {
		return err
	}
	om, ok := committed[tlog.TopicPartition{Topic: persistTopic, Partition: 0}]
	if !ok {
		fmt.Fprintf(w, "  log: group %s has no committed offset on %s/0\n", persistGroup, persistTopic)
		return nil
	}
	end, _, err := l.ListOffsets(persistTopic, 0, tlog.Latest)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "  log: group %s committed offset %d on %s/0: survived; it resumes there, %d %s left to read\n",
		persistGroup, om.Offset, persistTopic, end-om.Offset, plural(int(end-om.Offset), "record"))
	fmt.Fprintln(w, "    why: committed offsets are stored like Kafka's __consumer_offsets, so a group resumes where it left off")
	return nil
}

// persistLeave leaves what the next run looks for.
func persistLeave(ctx context.Context, w io.Writer, s *exchange.Session, l *tlog.Log, hub *pubsub.Hub) error {
	fmt.Fprintln(w, "left for the next run:")
	for _, m := range []struct {
		body string
		mode uint8
	}{{persistPersistent, exchange.Persistent}, {persistTransient, exchange.Transient}} {
		conf, err := s.Publish(ctx, "", persistQueue, false, exchange.Publishing{DeliveryMode: m.mode, Body: []byte(m.body)})
		if err != nil {
			return err
		}
		if !conf.Ack {
			return fmt.Errorf("the broker nacked %q", m.body)
		}
		fmt.Fprintf(w, "  queue %s: %q (delivery mode %d), confirmed\n", persistQueue, m.body, m.mode)
	}
	if err := l.CreateTopic(persistTopic, tlog.TopicConfig{Partitions: 1, RetentionTime: -1}); err != nil {
		return err
	}
	res, err := l.Produce(ctx, persistTopic, tlog.Record{Value: []byte(persistRecord)})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "  topic %s: %q at offset %d\n", persistTopic, persistRecord, res.Offset)
	// A commit without group membership (generation -1), as a Kafka consumer using assign()
	// and commitSync sends it: the record is processed.
	tp := tlog.TopicPartition{Topic: persistTopic, Partition: 0}
	code, err := l.Requests().CommitOffsets(tlog.GroupMetadata{GroupID: persistGroup, Generation: -1},
		map[tlog.TopicPartition]tlog.OffsetAndMetadata{tp: {Offset: res.Offset + 1, LeaderEpoch: -1}})
	if err != nil {
		return err
	}
	if code != 0 {
		return fmt.Errorf("committing %s's offset: group code %v", persistGroup, code)
	}
	fmt.Fprintf(w, "  group %s: committed offset %d on %s/0 (the record is processed)\n", persistGroup, res.Offset+1, persistTopic)
	sub, err := hub.Subscribe(persistChannel)
	if err != nil {
		return err
	}
	defer sub.Close()
	n := hub.Publish(persistChannel, []byte(persistLive))
	fmt.Fprintf(w, "  channel %s: %q to %d %s, held only in its buffer until this run ends\n",
		persistChannel, persistLive, n, plural(n, "subscriber"))
	fmt.Fprintln(w)
	return nil
}
