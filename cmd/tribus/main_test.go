package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus"
)

func TestRun_Commands(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		code     int
		out, err string
	}{
		{args: []string{"demo"}, code: 0, out: "-> 0 receivers"},
		{args: []string{"version"}, code: 0, out: "tribus "},
		{args: []string{"help"}, code: 0, out: "Usage:"},
		{args: nil, code: 2, err: "Usage:"},
		{args: []string{"nope"}, code: 2, err: `unknown command "nope"`},
		{args: []string{"demo", "extra"}, code: 2, err: `unknown scenario "extra"`},
		{args: []string{"demo", "redis", "extra"}, code: 2, err: `unexpected argument "extra"`},
		{args: []string{"demo", "redis"}, code: 0, out: "== pub/sub (Redis model)"},
		{args: []string{"demo", "--json", "hybrid"}, code: 0, out: `"group":"hybrid-bridge"`},
		{args: []string{"demo", "--help"}, code: 0, out: "Flags of demo:"},
		{args: []string{"serve", "-h"}, code: 0, out: "Flags of serve:"},
		{args: []string{"demo", "--bogus"}, code: 2, err: "flag provided but not defined: -bogus"},
		{args: []string{"demo", "--json"}, code: 0, out: `"engine":"pubsub","kind":"published","channel":"order:notifications"`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			assert.Equal(t, tc.code, run(context.Background(), tc.args, &out, &errOut))
			assert.Contains(t, out.String(), tc.out)
			assert.Contains(t, errOut.String(), tc.err)
		})
	}
}

func TestDemo_ExchangeStory(t *testing.T) {
	var out bytes.Buffer
	assert.Equal(t, 0, run(context.Background(), []string{"demo"}, &out, &out))
	for _, want := range []string{
		"confirm #1 ack=true",
		"notify USR-456 about ORD-123 (1 items): ack",
		"ORD-124 has a negative total: nack",
		"x-death queue=order_notifications reason=rejected count=1 exchange=orders routing-keys=[order.created]",
		"order_notifications: 0 ready, 0 unacked, 2 delivered, 1 acked, 1 dead-lettered",
	} {
		assert.Contains(t, out.String(), want)
	}
}

func TestDemo_LogStory(t *testing.T) {
	var out bytes.Buffer
	assert.Equal(t, 0, run(context.Background(), []string{"demo"}, &out, &out))
	for _, want := range []string{
		`topic "orders": 3 partitions, retention 168h0m0s, cleanup.policy delete`,
		"produce key=ORD-123 order.created -> partition",
		"a second reader replays the same events",
		"analytics seeks partition",
	} {
		assert.Contains(t, out.String(), want)
	}
}

// The group story: two members share "orders", one leaves with work it read but did not
// commit, and the other reads that work again after the rebalance (K22).
func TestDemo_GroupStory(t *testing.T) {
	var out bytes.Buffer
	require.Equal(t, 0, run(context.Background(), []string{"demo"}, &out, &out))
	story := groupSection(t, out.String())
	for _, want := range []string{
		"billing-a and billing-b joined: generation 2, assignor range",
		"  billing-a owns orders-0 orders-1\n  billing-b owns orders-2\n",
		"  billing-b bills ORD-125 orders-2@0, ORD-126 orders-2@1; commits\n" +
			"  billing-b bills ORD-128 orders-2@2, ORD-131 orders-2@3, then leaves the group before committing them\n" +
			"  billing-a revoked orders-0 orders-1\n" +
			"  billing-a assigned orders-0 orders-1 orders-2 (generation 3)\n" +
			"  billing-a bills ORD-128 orders-2@2, ORD-131 orders-2@3 again; commits\n" +
			"at-least-once: records polled but not committed are delivered again after a rebalance\n",
		"  orders-0: committed 5, end 6, lag 1\n  orders-1: committed 3, end 3, lag 0\n  orders-2: committed 4, end 4, lag 0\n",
	} {
		assert.Contains(t, story, want)
	}
	assert.NotContains(t, story, "earlier run")
}

// A second durable run finds the group's offsets, resets them to the end, and tells the same
// story on the new records: only the offsets differ.
func TestDemo_GroupStoryRunsAgainOnDir(t *testing.T) {
	dir := t.TempDir()
	var first, second bytes.Buffer
	require.Equal(t, 0, run(context.Background(), []string{"demo", "--dir", dir}, &first, &first))
	require.Equal(t, 0, run(context.Background(), []string{"demo", "--dir", dir}, &second, &second), second.String())
	again := groupSection(t, second.String())
	const reset = "group \"billing\" has offsets from an earlier run: reset to the end of each partition\n"
	assert.Contains(t, again, reset)
	assert.Contains(t, again, "  billing-a bills ORD-128 orders-2@6, ORD-131 orders-2@7 again; commits\n")
	assert.Contains(t, again, "  orders-2: committed 8, end 8, lag 0\n")
	offsets := regexp.MustCompile(`@\d+|committed \d+, end \d+`)
	assert.Equal(t, offsets.ReplaceAllString(groupSection(t, first.String()), "#"),
		offsets.ReplaceAllString(strings.Replace(again, reset, "", 1), "#"))
}

// groupSection returns the consumer-group part of the demo's output, without its timeline
// (whose times and member ids differ from run to run).
func groupSection(t *testing.T, out string) string {
	t.Helper()
	_, story, ok := strings.Cut(out, "== consumer group (Kafka model)")
	require.True(t, ok, out)
	story, _, _ = strings.Cut(story, "\n== ")
	return storyLines(story)
}

// storyLines returns out without its timelines: the tale the stories told.
func storyLines(out string) string {
	var b strings.Builder
	inTimeline := false
	for line := range strings.SplitAfterSeq(out, "\n") {
		switch {
		case strings.HasPrefix(line, timelineHead):
			inTimeline = true
		case inTimeline && strings.HasPrefix(line, " "):
		default:
			inTimeline = false
			b.WriteString(line)
		}
	}
	return b.String()
}

// Every story the demo tells ends with its timeline from the trace, each guarantee explained
// once: the crash story shows the coordinator expiring the member that crashed (K23) and the
// survivor reading its work again (K22); the transaction story the markers and the abort.
func TestDemo_EveryStoryEndsWithItsTimeline(t *testing.T) {
	var out bytes.Buffer
	require.Equal(t, 0, run(context.Background(), []string{"demo"}, &out, &out))
	all := out.String()
	stories := strings.Split(strings.TrimPrefix(all, "== "), "\n== ")
	require.Greater(t, len(stories), 10)
	for _, s := range stories {
		head, _, _ := strings.Cut(s, "\n")
		assert.Equal(t, 1, strings.Count(s, "\n"+timelineHead+"\n"), "the story %q", head)
	}
	crash := section(t, all, "== consumer group crash")
	for _, want := range []string{
		"log member-expired count=1 group=more.settlement member=settle-b-",
		"reason=session timed out",
		"why: no heartbeat within the session timeout: the coordinator evicts the member as crashed (K23)",
		"why: the group's committed position: whoever owns the partition next starts here (K22)",
	} {
		assert.Contains(t, crash, want)
	}
	assert.NotContains(t, crash, "reason=LeaveGroup\n  ", "settle-b crashed: it never sent a LeaveGroup")
	txn := section(t, all, "== exactly-once")
	for _, want := range []string{
		"log appended topic=more.ledger partition=0 offset=2 count=1 reason=commit producerID=",
		"why: a transaction marker: it takes an offset, and no consumer ever sees it (K42)",
		"log txn-aborted count=1 reason=AbortTransaction transactionalID=more.ledger-writer",
	} {
		assert.Contains(t, txn, want)
	}
	assert.Equal(t, 1, strings.Count(txn, "why: a transaction marker"), "each why once a timeline")
	lost := section(t, all, "== pub/sub (Redis model)")
	assert.Contains(t, lost, "pubsub published channel=order:notifications receivers=0\n             why: nobody subscribed: the message is gone")
}

// section returns the story of the demo's output whose head starts with head.
func section(t *testing.T, out, head string) string {
	t.Helper()
	_, s, ok := strings.Cut(out, head)
	require.True(t, ok, "no story %q", head)
	s, _, _ = strings.Cut(s, "\n== ")
	return s
}

func TestDemo_PubSubStory(t *testing.T) {
	var out bytes.Buffer
	assert.Equal(t, 0, run(context.Background(), []string{"demo"}, &out, &out))
	for _, want := range []string{
		"-> 3 receivers",
		"audit  (pattern order:*): Order ORD-123 is now shipped",
		"-> 1 receiver\n",
		"mobile missed it",
		"-> 0 receivers",
		"has 0 messages waiting",
	} {
		assert.Contains(t, out.String(), want)
	}
}

func TestDemo_DirKeepsWhatWasLeftUnacked(t *testing.T) {
	dir := t.TempDir()
	var first, second bytes.Buffer
	assert.Equal(t, 0, run(context.Background(), []string{"demo", "--dir", dir}, &first, &first))
	assert.Contains(t, first.String(), "ORD-125 received and not acked")
	assert.NotContains(t, first.String(), "earlier run")
	assert.Equal(t, 0, run(context.Background(), []string{"demo", "--dir", dir}, &second, &second))
	assert.Contains(t, second.String(), "found 1 message(s) an earlier run left unacked:\n  ORD-125 (redelivered=true): ack")
	var errOut bytes.Buffer
	assert.Equal(t, 2, run(context.Background(), []string{"demo", "--bogus"}, &errOut, &errOut))
}

func TestServe_RedisUntilContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	addrs := make(chan net.Addr, 1)
	code := make(chan int, 1)
	go func() {
		code <- runServe(ctx, []string{"--redis", "127.0.0.1:0"}, &out, &errOut, func(a map[string]net.Addr) {
			assert.NotContains(t, a, "amqp", "only the door asked for")
			addrs <- a["redis"]
		})
	}()
	addr := <-addrs
	nc, err := net.Dial("tcp", addr.String())
	require.NoError(t, err)
	defer nc.Close()
	_, err = nc.Write([]byte("PING\r\nPUBLISH order:notifications x\r\n"))
	require.NoError(t, err)
	reply := make([]byte, len("+PONG\r\n:0\r\n"))
	_, err = io.ReadFull(nc, reply)
	require.NoError(t, err)
	assert.Equal(t, "+PONG\r\n:0\r\n", string(reply))

	cancel() // what SIGINT does in main
	assert.Equal(t, 0, <-code, errOut.String())
	assert.Contains(t, out.String(), "redis (RESP2/RESP3 pub/sub) listening on "+addr.String())
	assert.Contains(t, out.String(), "tribus: stopped")
	_, err = io.ReadAll(nc)
	assert.NoError(t, err, "the connection was closed by the shutdown")
}

// serving is a runServe running in the background until stop.
type serving struct {
	addrs       map[string]net.Addr
	out, errOut syncBuffer
	cancel      context.CancelFunc
	code        chan int
}

// startServe runs `tribus serve args...` and returns once every door listens.
func startServe(t *testing.T, args ...string) *serving {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &serving{cancel: cancel, code: make(chan int, 1)}
	t.Cleanup(cancel)
	addrs := make(chan map[string]net.Addr, 1)
	go func() { s.code <- runServe(ctx, args, &s.out, &s.errOut, func(a map[string]net.Addr) { addrs <- a }) }()
	s.addrs = <-addrs
	return s
}

// stop ends the serve as SIGINT does and checks it exited 0.
func (s *serving) stop(t *testing.T) {
	t.Helper()
	s.cancel()
	assert.Equal(t, 0, <-s.code, s.errOut.String())
}

func TestServe_AMQPUntilContextEnds(t *testing.T) {
	srv := startServe(t, "--amqp", "127.0.0.1:0", "--redis", "127.0.0.1:0")
	a := srv.addrs
	require.Contains(t, a, "redis")
	nc, err := net.Dial("tcp", a["amqp"].String())
	require.NoError(t, err)
	defer nc.Close()
	_, err = nc.Write([]byte("AMQP\x00\x00\x09\x01"))
	require.NoError(t, err)
	// connection.start: a method frame (type 1) on channel 0, class 10, method 10.
	head := make([]byte, 7+4)
	_, err = io.ReadFull(nc, head)
	require.NoError(t, err)
	assert.Equal(t, []byte{1, 0, 0}, head[:3])
	assert.Equal(t, []byte{0, 10, 0, 10}, head[7:11])

	srv.stop(t)
	assert.Contains(t, srv.out.String(), "amqp (AMQP 0-9-1, RabbitMQ's model) listening on "+a["amqp"].String())
	assert.Contains(t, srv.out.String(), "tribus: stopped")
}

// serve --http serves the dashboard's API (read-only unless --allow-actions) with the doors,
// and stops with them, a timeline stream open included.
func TestServe_HTTPDashboardUntilContextEnds(t *testing.T) {
	srv := startServe(t, "--http", "127.0.0.1:0", "--redis", "127.0.0.1:0")
	base := "http://" + srv.addrs["http"].String()
	resp, err := http.Get(base + "/api/config")
	require.NoError(t, err)
	var cfg struct{ Trace, Actions bool }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&cfg))
	resp.Body.Close()
	assert.True(t, cfg.Trace, "serve --http turns the trace on for the timeline")
	assert.False(t, cfg.Actions)
	stream, err := http.Get(base + "/api/trace")
	require.NoError(t, err)
	defer stream.Body.Close()

	srv.stop(t)
	_, err = io.ReadAll(stream.Body)
	assert.NoError(t, err, "the stream ends cleanly")
	assert.Contains(t, srv.out.String(), "dashboard on "+base+"/ (JSON API under /api/), read-only")
	assert.Contains(t, srv.out.String(), "tribus: stopped")
}

func TestServe_BadAddressFails(t *testing.T) {
	var out, errOut bytes.Buffer
	assert.Equal(t, 1, runServe(context.Background(), []string{"--redis", "256.0.0.1:1"}, &out, &errOut, nil))
	assert.Contains(t, errOut.String(), "tribus serve: redis:")
	assert.Equal(t, 2, run(context.Background(), []string{"serve", "extra"}, &out, &errOut))
}

// syncBuffer is a bytes.Buffer safe for the serving goroutine and the test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestServe_KafkaUntilContextEnds(t *testing.T) {
	srv := startServe(t, "--kafka", "127.0.0.1:0")
	a := srv.addrs
	nc, err := net.Dial("tcp", a["kafka"].String())
	require.NoError(t, err)
	defer nc.Close()
	// ApiVersions v0, correlation id 9, no client id: the answer echoes the correlation id.
	_, err = nc.Write([]byte{0, 0, 0, 10, 0, 18, 0, 0, 0, 0, 0, 9, 0xff, 0xff})
	require.NoError(t, err)
	head := make([]byte, 8)
	_, err = io.ReadFull(nc, head)
	require.NoError(t, err)
	assert.Equal(t, []byte{0, 0, 0, 9}, head[4:8])

	srv.stop(t)
	assert.Contains(t, srv.out.String(), "kafka (Kafka protocol, one broker) listening on "+a["kafka"].String())
	assert.Contains(t, srv.out.String(), "tribus: stopped")
}

// --kafka-user turns on SASL/PLAIN: a Metadata request before authenticating closes the
// connection, as Kafka's SASL listener does.
func TestServe_KafkaUserRequiresSASL(t *testing.T) {
	srv := startServe(t, "--kafka", "127.0.0.1:0", "--kafka-user", "alice:s3cret")
	a := srv.addrs
	nc, err := net.Dial("tcp", a["kafka"].String())
	require.NoError(t, err)
	defer nc.Close()
	// Metadata v0, correlation id 9, no client id, all topics.
	_, err = nc.Write([]byte{0, 0, 0, 14, 0, 3, 0, 0, 0, 0, 0, 9, 0xff, 0xff, 0, 0, 0, 0})
	require.NoError(t, err)
	_, err = nc.Read(make([]byte, 1))
	assert.ErrorIs(t, err, io.EOF)
	srv.stop(t)
}

func TestServe_KafkaUserNeedsUserAndPassword(t *testing.T) {
	var out, errOut syncBuffer
	code := runServe(context.Background(), []string{"--kafka-user", "alice"}, &out, &errOut, nil)
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut.String(), "want USER:PASS")
}

// -help prints the usage once, to stdout, and exits 0.
func TestRun_HelpPrintsTheUsageOnce(t *testing.T) {
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(context.Background(), []string{"demo", "--help"}, &out, &errOut))
	assert.Equal(t, 1, strings.Count(out.String(), "Usage:"))
	assert.Empty(t, errOut.String())
}

// demo --json prints the trace alone, one JSON object a line, numbered without gaps.
func TestDemo_JSONIsTheTraceAsLines(t *testing.T) {
	var out bytes.Buffer
	require.Equal(t, 0, run(context.Background(), []string{"demo", "--json"}, &out, io.Discard))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Greater(t, len(lines), 20)
	for i, line := range lines {
		var e struct {
			Seq    int    `json:"seq"`
			Engine string `json:"engine"`
			Kind   string `json:"kind"`
		}
		require.NoError(t, json.Unmarshal([]byte(line), &e), line)
		assert.Equal(t, i+1, e.Seq)
		assert.NotEmpty(t, e.Engine)
		assert.NotEmpty(t, e.Kind)
	}
}

// The hybrid scenario: the bridge forwards the topic's records by key, commits after the
// confirms, and the shipping update reaches the live subscriber; its timeline comes from the
// trace, with the why of each guarantee.
func TestDemo_HybridStory(t *testing.T) {
	var out bytes.Buffer
	require.Equal(t, 0, run(context.Background(), []string{"demo"}, &out, &out))
	for _, want := range []string{
		"live subscriber on order:status: ORD-1 was paid (ready to ship)",
		"billing queue holds 2 orders to bill; the bridge forwarded 3 records",
		"log committed topic=hybrid.orders partition=0 offset=3 group=hybrid-bridge",
		"why: committed only after the router confirmed",
		"exchange acked queue=hybrid.shipping",
	} {
		assert.Contains(t, out.String(), want)
	}
}

// A second durable run resumes the bridge at the offset the first committed: it forwards only
// the records the second run produced.
func TestDemo_HybridResumesFromTheCommittedOffset(t *testing.T) {
	dir := t.TempDir()
	for range 2 {
		var out bytes.Buffer
		require.Equal(t, 0, run(context.Background(), []string{"demo", "--dir", dir}, &out, &out), out.String())
		assert.Contains(t, out.String(), "the bridge forwarded 3 records")
	}
}

// Each scenario tells only its own story.
func TestDemo_ScenarioTellsOnlyItsOwnStory(t *testing.T) {
	heads := map[string]string{"rabbitmq": "== exchange router", "kafka": "== commit log", "redis": "== pub/sub", "hybrid": "== hybrid"}
	for scenario, own := range heads {
		t.Run(scenario, func(t *testing.T) {
			var out bytes.Buffer
			require.Equal(t, 0, run(context.Background(), []string{"demo", scenario}, &out, &out), out.String())
			for other, head := range heads {
				if other == scenario {
					assert.Contains(t, out.String(), own)
				} else {
					assert.NotContains(t, out.String(), head)
				}
			}
		})
	}
}

// tellTwice tells a scenario twice on one in-memory broker with the trace on, as the demo
// opens it, and returns the broker and what each run printed: a scenario must run again on
// the broker it left.
func tellTwice(t *testing.T, tell func(context.Context, io.Writer, *tribus.Broker) error) (*tribus.Broker, [2]string) {
	t.Helper()
	b, err := tribus.Open("", &tribus.Options{Trace: true})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, b.Close()) })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var outs [2]string
	for run := range outs {
		var out bytes.Buffer
		require.NoError(t, tell(ctx, &out, b), "run %d:\n%s", run+1, out.String())
		outs[run] = out.String()
	}
	return b, outs
}

// demo --http serves the demo broker's dashboard and keeps it up after the stories, until
// its context ends: the snapshot then shows what the scenario left.
func TestDemo_HTTPKeepsTheDashboardUpAfterTheStories(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	pr, pw := io.Pipe()
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"demo", "hybrid", "--http", "127.0.0.1:0"}, pw, io.Discard)
		pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	var base string
	for lines.Scan() {
		if rest, ok := strings.CutPrefix(lines.Text(), "dashboard on "); ok {
			base = strings.TrimSuffix(rest, "/")
		}
		if strings.HasPrefix(lines.Text(), "the stories are told") {
			break
		}
	}
	require.NotEmpty(t, base, "the demo printed no dashboard address")
	go io.Copy(io.Discard, pr)
	resp, err := http.Get(base + "/api/queues")
	require.NoError(t, err)
	var queues []tribus.QueueView
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&queues))
	resp.Body.Close()
	names := []string{}
	for _, q := range queues {
		names = append(names, q.Name)
	}
	assert.Contains(t, names, hybridBilling)
	cancel()
	assert.Equal(t, 0, <-code)
}

// The dashboard has no login: an address without a host listens on loopback.
func TestLoopbackByDefault(t *testing.T) {
	for addr, want := range map[string]string{
		":15672":          "127.0.0.1:15672",
		"0.0.0.0:15672":   "0.0.0.0:15672",
		"10.0.0.1:80":     "10.0.0.1:80",
		"[::1]:15672":     "[::1]:15672",
		"localhost:15672": "localhost:15672",
		"nonsense":        "nonsense",
	} {
		assert.Equal(t, want, loopbackByDefault(addr), addr)
	}
}
