package tribustest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tribusmq/tribus"
	"github.com/tribusmq/tribus/exchange"
	tlog "github.com/tribusmq/tribus/log"
	"github.com/tribusmq/tribus/pubsub"
)

// ErrCrashed is what a call that hit a crash fault returns once the test is over: until
// then it never returns, as a process killed at that point never would. errors.Is(err,
// tribus.ErrClosed) holds for it.
var ErrCrashed = fmt.Errorf("tribustest: the client crashed here (an injected fault): %w", tribus.ErrClosed)

// A Fault is a failure to inject into a broker's engines with [Broker.Inject]: made by one
// of the constructors ([DropPublish], [CrashBeforeAck], [CrashAfterCommit], [DisconnectSlow]...),
// narrowed to where it applies ([Fault.Queue], [Fault.Topic], [Fault.Channel]...), and told how often to fire
// ([Fault.Times], [Fault.Skip], [Fault.Probability]). By default a fault fires once, at its
// first opportunity. Faults apply to the native API and to clients of the front doors alike
// (the hooks are in the engines), except CrashAfterCommit, which acts on the native API only
// (a remote client's process is not the broker's to stop).
//
// A Fault is a description: its modifiers return a changed copy, and one Fault may be
// injected into several brokers.
type Fault struct {
	kind     faultKind
	err      error // for the Fail kinds
	exchange string
	key      string
	queue    string
	topic    string
	group    string
	channel  string
	store    bool // FailSync of the store only
	delay    time.Duration
	times    int // how many times it fires; < 0: every time
	skip     int // opportunities it lets pass before it fires
	prob     float64
	seed     uint64
}

type faultKind uint8

const (
	dropPublish faultKind = iota + 1
	failPublish
	crashBeforeAck
	dropProduce
	failProduce
	crashAfterCommit
	failCommit
	dropMessage
	disconnectSlow
	redeliver
	duplicatePublish
	failSync
	delayDelivery
	duplicateProduce
	closeConnection
)

var faultNames = [...]string{"", "drop a publish", "fail a publish", "crash before an ack",
	"drop a produce", "fail a produce", "crash after a commit", "fail a commit",
	"drop a pub/sub message", "disconnect a subscriber as slow", "redeliver", "duplicate a publish",
	"fail an fsync", "delay a delivery", "duplicate a produce", "close a connection"}

// DropPublish loses a publish on its way to the exchange router: the publisher is told it
// succeeded (and, in confirm mode, gets its confirm), and no queue gets the message.
func DropPublish() Fault { return Fault{kind: dropPublish, times: 1} }

// FailPublish makes a publish fail with err (an exchange sentinel such as
// exchange.ErrAccessRefused, or any error) without routing it. The session stays open.
func FailPublish(err error) Fault { return Fault{kind: failPublish, err: err, times: 1} }

// CrashBeforeAck kills the consuming client just as it is about to settle a delivery: its
// connection closes before the ack, nack or reject reaches the router, so every delivery it
// had not settled goes back to its queue, redelivered, for another consumer (A51), as when a
// real client dies after its side effects and before its ack. The settling call never returns
// while the test runs (then it returns [ErrCrashed]).
func CrashBeforeAck() Fault { return Fault{kind: crashBeforeAck, times: 1} }

// DelayDelivery holds a delivery back for d on its way to the consumer, as a slow network
// would: the router counts it unacked at once, and the consumer (native, or an AMQP client of
// the front door) gets it d later, with the deliveries after it waiting behind it.
func DelayDelivery(d time.Duration) Fault { return Fault{kind: delayDelivery, delay: d, times: 1} }

// Redeliver loses a consumer's ack on its way: the consumer is told it acked, and the router
// requeues the message instead, so that it is delivered again with redelivered set, to this
// consumer or another. RabbitMQ redelivers after a lost connection rather than a lost ack;
// this is the same at-least-once duplicate, without losing the consumer.
func Redeliver() Fault { return Fault{kind: redeliver, times: 1} }

// DuplicatePublish routes a publish twice, as a publisher's retry after a lost confirm does:
// every queue it reaches gets two copies, neither marked redelivered. It applies to
// Session.Publish and Router.Publish (the copy goes first, through the router's own session),
// not to the pipelined Publisher.
func DuplicatePublish() Fault { return Fault{kind: duplicatePublish, times: 1} }

// DuplicateProduce appends a produced record twice, as a producer's retry of a produce whose
// acknowledgement was lost does: consumers read it at two offsets. It applies to Log.Produce
// and ProduceTo (the copy goes first, to the same partition) and to the Kafka front door's
// Produce, where an idempotent producer's copy (kgo's default) is recognised by its sequence
// and written once (K39): the fault shows what idempotence is for.
func DuplicateProduce() Fault { return Fault{kind: duplicateProduce, times: 1} }

// DropProduce loses a record produced to the log. A native producer is told it succeeded,
// with offset -1, and nothing is appended, as with acks=0 when the record never arrives. A
// Kafka client of the front door loses the request with its connection: nothing is appended
// and no answer comes, so the client retries on a new connection (kgo does).
func DropProduce() Fault { return Fault{kind: dropProduce, times: 1} }

// FailProduce makes a produce fail with err, appending nothing: a native producer gets err;
// a Kafka client of the front door gets its code, a [*log.KafkaError]'s Code or what the door
// maps a log sentinel to (&log.KafkaError{Code: 6}, NOT_LEADER_OR_FOLLOWER, is one clients
// retry: the produce then goes through on the retry).
func FailProduce(err error) Fault { return Fault{kind: failProduce, err: err, times: 1} }

// CrashAfterCommit kills a group consumer right after its offset commit is durable: it is
// crashed (no more heartbeats, no LeaveGroup, so the group gives its partitions to the others
// after its session timeout, K23), and the Commit call never returns while the test runs
// (then it returns [ErrCrashed]). Code that commits before it processes loses the records of
// that commit; code that processes first re-reads nothing it had not committed.
func CrashAfterCommit() Fault { return Fault{kind: crashAfterCommit, times: 1} }

// FailSync makes the next fsync of a durable broker fail, as a disk error would, and what
// waited for it fails with an error matching tribus.ErrIO; after a failed fsync a later one
// proves nothing, so what it covered refuses writes until the broker is reopened
// ([Broker.Reopen]). It fires at a fsync of a log partition (the produces waiting for it fail,
// and the partition refuses produces) or of the store that holds persistent messages, durable
// declarations and committed offsets (the publish, declaration or commit waiting for it fails,
// and every later one); the store's fsyncs at checkpoints come after the writes they hold
// were answered, so only the later ones fail. [Fault.Topic] narrows it to the partitions of a
// topic, [Fault.Store] to the store. In memory, and with tribus.SyncNever, nothing fsyncs and
// it never fires.
func FailSync() Fault {
	return Fault{kind: failSync, err: errors.New("tribustest: injected fsync failure"), times: 1}
}

// FailCommit makes a group member's commit fail with err, committing nothing: a native
// GroupConsumer gets err (log.ErrCommitFailed, as after a rebalance the member missed); a Kafka
// client's OffsetCommit gets its code, as for [FailProduce].
func FailCommit(err error) Fault { return Fault{kind: failCommit, err: err, times: 1} }

// CloseConnection closes the connection of a client as it makes a matching request, as a
// network failure or an operator closing it (RabbitMQ's management UI, Kafka's idle reaper)
// would; the request does not take effect, and the client's process lives on to reconnect,
// unlike with [CrashBeforeAck]. It fires at:
//   - a publish or an ack, nack or reject on an exchange [exchange.Connection] (native, or an
//     AMQP client's): the connection closes with 320 CONNECTION_FORCED, so its sessions end,
//     their unacked deliveries go back to their queues, redelivered (A51), and the call returns
//     an error matching exchange.ErrConnectionForced; the Router's own shared connection, on which
//     Router.Publish runs, is left alone;
//   - a Kafka client's Produce or OffsetCommit: the connection closes with no answer, nothing is
//     appended or committed, and the client retries on a new connection (a native
//     GroupConsumer's Commit returns log.ErrRequestLost; native produces are not matched).
//
// Narrow it with [Fault.Queue], [Fault.Exchange], [Fault.RoutingKey], [Fault.Topic] or
// [Fault.Group]. A Redis subscriber's connection is cut with [DisconnectSlow]; every wire
// connection at once with [Broker.DropConnections].
func CloseConnection() Fault { return Fault{kind: closeConnection, times: 1} }

// DropMessage loses a message published to the pub/sub hub before it reaches it: nobody
// receives it and the publish counts no receiver.
func DropMessage() Fault { return Fault{kind: dropMessage, times: 1} }

// DisconnectSlow cuts a subscriber off as Redis cuts off one over its output-buffer limit, at
// the next message it would receive: its buffered messages are lost and it ends with
// pubsub.ErrSlowSubscriber (R24); the others go on.
func DisconnectSlow() Fault { return Fault{kind: disconnectSlow, times: 1} }

// Exchange narrows a publish fault to publishes to exchange ("" is the default exchange).
func (f Fault) Exchange(name string) Fault { f.exchange = name; return f }

// RoutingKey narrows a publish fault to publishes with routing key key.
func (f Fault) RoutingKey(key string) Fault { f.key = key; return f }

// Queue narrows an ack fault to deliveries from queue, and a publish fault to publishes to
// the default exchange with queue as the routing key.
func (f Fault) Queue(name string) Fault { f.queue = name; return f }

// Topic narrows a produce fault to records produced to topic.
func (f Fault) Topic(name string) Fault { f.topic = name; return f }

// Group narrows a commit fault to members of consumer group id.
func (f Fault) Group(id string) Fault { f.group = id; return f }

// Channel narrows a pub/sub fault to messages published to channel.
func (f Fault) Channel(name string) Fault { f.channel = name; return f }

// Store narrows [FailSync] to the fsyncs of the store (persistent messages, durable
// declarations, committed offsets), leaving the log's partitions alone.
func (f Fault) Store() Fault { f.store = true; return f }

// Times makes the fault fire n times (n < 0: at every opportunity) instead of once.
func (f Fault) Times(n int) Fault { f.times = n; return f }

// Skip lets the first n opportunities pass before the fault fires: Skip(2) hits the third
// matching publish, ack, produce or commit.
func (f Fault) Skip(n int) Fault { f.skip = n; return f }

// Probability makes the fault fire at each opportunity with probability p, drawn from a
// generator seeded with seed, so that a run is reproducible; Times still bounds it.
func (f Fault) Probability(p float64, seed uint64) Fault { f.prob, f.seed = p, seed; return f }

// String describes the fault, as failure messages and exploration reports name it.
func (f Fault) String() string {
	s := faultNames[f.kind]
	for _, w := range []struct{ what, v string }{{"exchange", f.exchange}, {"key", f.key},
		{"queue", f.queue}, {"topic", f.topic}, {"group", f.group}, {"channel", f.channel}} {
		if w.v != "" {
			s += fmt.Sprintf(" %s=%q", w.what, w.v)
		}
	}
	if f.store {
		s += " of the store"
	}
	if f.skip > 0 {
		s += fmt.Sprintf(" after %d", f.skip)
	}
	if f.times != 1 {
		s += fmt.Sprintf(" times=%d", f.times)
	}
	if f.prob > 0 {
		s += fmt.Sprintf(" p=%g", f.prob)
	}
	return s
}

// FaultHandle is an injected fault: it counts the opportunities it saw and the times it
// fired, and [FaultHandle.Remove] takes it out. Its methods are safe for concurrent use.
type FaultHandle struct {
	f    Fault
	b    *Broker
	mu   sync.Mutex // guards the fields below
	seen int        // opportunities: matching operations while injected
	hits int
	rnd  *rand.Rand // nil without a probability
	gone bool
}

// Inject adds f to the broker and returns its handle. It applies from the next matching
// operation on.
func (b *Broker) Inject(f Fault) *FaultHandle {
	h := &FaultHandle{f: f, b: b}
	if f.prob > 0 {
		h.rnd = rand.New(rand.NewPCG(f.seed, uint64(f.kind)))
	}
	b.faults.Lock()
	b.faults.list = append(b.faults.list, h)
	b.faults.Unlock()
	return h
}

// Hits returns how many times the fault fired.
func (h *FaultHandle) Hits() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.hits
}

// Seen returns how many matching operations the fault saw, fired or not: its opportunities.
func (h *FaultHandle) Seen() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.seen
}

// Remove takes the fault out of the broker; it fires no more. Remove is idempotent.
func (h *FaultHandle) Remove() {
	h.mu.Lock()
	h.gone = true
	h.mu.Unlock()
}

// String describes the fault and its counts.
func (h *FaultHandle) String() string {
	return fmt.Sprintf("%v (fired %d of %d opportunities)", h.f, h.Hits(), h.Seen())
}

// fire counts an opportunity and reports whether the fault fires at it.
func (h *FaultHandle) fire() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.gone {
		return false
	}
	h.seen++
	if h.seen <= h.f.skip || (h.f.times >= 0 && h.hits >= h.f.times) {
		return false
	}
	if h.rnd != nil && h.rnd.Float64() >= h.f.prob {
		return false
	}
	h.hits++
	return true
}

// faultSet is a broker's injected faults. The engines' hooks read it on the goroutine of
// the operation, with no engine lock held.
type faultSet struct {
	sync.Mutex // guards list
	list       []*FaultHandle
	copying    atomic.Int32 // DuplicatePublish and DuplicateProduce copies under way
}

// firing returns the first injected fault of one of kinds that matches and fires, or nil.
func (b *Broker) firing(match func(Fault) bool, kinds ...faultKind) *FaultHandle {
	b.faults.Lock()
	list := b.faults.list
	b.faults.Unlock()
	for _, h := range list {
		for _, k := range kinds {
			if h.f.kind == k && match(h.f) && h.fire() {
				b.t.Logf("tribustest: injected fault: %v", h)
				return h
			}
		}
	}
	return nil
}

// exchangeOnly and logOnly report whether f, which may fire in several engines
// (CloseConnection), is narrowed by nothing another engine's operations would need to match.
func (f Fault) exchangeOnly() bool { return f.topic == "" && f.group == "" && f.channel == "" }
func (f Fault) logOnly() bool {
	return f.exchange == "" && f.key == "" && f.queue == "" && f.channel == ""
}

// forceClose closes c from the broker's side, as CloseConnection does, and returns the
// error the interrupted call returns.
func forceClose(c *exchange.Connection) error {
	err := fmt.Errorf("%w: the connection was closed (tribustest)", exchange.ErrConnectionForced)
	c.CloseWith(err)
	return err
}

// crashed parks the calling goroutine, as a dead process stops, until the test ends.
func (b *Broker) crashed() error {
	select {
	case <-b.t.Context().Done(): // canceled just before the test's cleanups run
	case <-b.done:
	}
	return ErrCrashed
}

// hooks returns the engines' fault hooks, which consult the injected faults.
func (b *Broker) hooks() (*exchange.Faults, *tlog.Faults, *pubsub.Faults) {
	x := &exchange.Faults{
		BeforePublish: func(s *exchange.Session, ex, key string, msg exchange.Publishing) (bool, error) {
			h := b.firing(func(f Fault) bool {
				return (f.exchange == "" || f.exchange == ex) && (f.key == "" || f.key == key) &&
					(f.queue == "" || (ex == "" && key == f.queue)) &&
					(f.kind != duplicatePublish || b.faults.copying.Load() == 0) &&
					(f.kind != closeConnection || (f.exchangeOnly() && !s.Connection().Shared()))
			}, dropPublish, failPublish, duplicatePublish, closeConnection)
			switch {
			case h == nil:
				return false, nil
			case h.f.kind == failPublish:
				return false, h.f.err
			case h.f.kind == closeConnection:
				return false, forceClose(s.Connection())
			case h.f.kind == duplicatePublish:
				// The copy passes the hooks too; while any copy is under way no duplicate
				// fires, so that one that fires every time does not copy its copies.
				b.faults.copying.Add(1)
				defer b.faults.copying.Add(-1)
				return false, b.Router().Publish(b.t.Context(), ex, key, false, msg)
			}
			return true, nil
		},
		DeliveryDelay: func(queue, _ string) time.Duration {
			if h := b.firing(func(f Fault) bool { return f.queue == "" || f.queue == queue }, delayDelivery); h != nil {
				return h.f.delay
			}
			return 0
		},
		BeforeSettle: func(s *exchange.Session, queue string, _ uint64, _ bool, op string) error {
			h := b.firing(func(f Fault) bool {
				return (f.queue == "" || f.queue == queue) && (f.kind != redeliver || op == "ack") &&
					(f.kind != closeConnection || (f.exchangeOnly() && !s.Connection().Shared()))
			}, crashBeforeAck, redeliver, closeConnection)
			switch {
			case h == nil:
				return nil
			case h.f.kind == redeliver:
				return exchange.ErrRequeueInstead
			case h.f.kind == closeConnection:
				return forceClose(s.Connection())
			}
			s.Connection().CloseWith(fmt.Errorf("%w: the client crashed (tribustest)", exchange.ErrConnectionForced))
			return b.crashed()
		},
	}
	l := &tlog.Faults{
		BeforeProduce: func(topic string, partition int32, rec tlog.Record) (bool, error) {
			h := b.firing(func(f Fault) bool {
				return (f.topic == "" || f.topic == topic) && (f.kind != duplicateProduce || b.faults.copying.Load() == 0)
			}, dropProduce, failProduce, duplicateProduce)
			switch {
			case h == nil:
				return false, nil
			case h.f.kind == failProduce:
				return false, h.f.err
			case h.f.kind == duplicateProduce: // as DuplicatePublish does
				b.faults.copying.Add(1)
				defer b.faults.copying.Add(-1)
				_, err := b.Log().ProduceTo(b.t.Context(), topic, partition, rec)
				return false, err
			}
			return true, nil
		},
		BeforeSync: func(topic string, _ int32) error {
			if h := b.firing(func(f Fault) bool { return !f.store && (f.topic == "" || f.topic == topic) }, failSync); h != nil {
				return h.f.err
			}
			return nil
		},
		BeforeBatch: func(topic string, _ int32) (bool, error) {
			h := b.firing(func(f Fault) bool {
				return (f.topic == "" || f.topic == topic) && (f.kind != closeConnection || (f.logOnly() && f.group == ""))
			}, failProduce, duplicateProduce, dropProduce, closeConnection)
			switch {
			case h == nil:
				return false, nil
			case h.f.kind == failProduce:
				return false, h.f.err
			case h.f.kind == dropProduce, h.f.kind == closeConnection:
				return false, tlog.ErrRequestLost
			}
			return true, nil
		},
		BeforeCommit: func(gm tlog.GroupMetadata, _ map[tlog.TopicPartition]tlog.OffsetAndMetadata) error {
			h := b.firing(func(f Fault) bool {
				return (f.group == "" || f.group == gm.GroupID) && (f.kind != closeConnection || (f.logOnly() && f.topic == ""))
			}, failCommit, closeConnection)
			switch {
			case h == nil:
				return nil
			case h.f.kind == closeConnection:
				return tlog.ErrRequestLost
			}
			return h.f.err
		},
		AfterCommit: func(c *tlog.GroupConsumer, _ map[tlog.TopicPartition]tlog.OffsetAndMetadata) error {
			h := b.firing(func(f Fault) bool { return f.group == "" || f.group == c.GroupMetadata().GroupID }, crashAfterCommit)
			if h == nil {
				return nil
			}
			c.Crash()
			return b.crashed()
		},
	}
	channel := func(name string) func(Fault) bool {
		return func(f Fault) bool { return f.channel == "" || f.channel == name }
	}
	p := &pubsub.Faults{
		BeforePublish: func(ch string, _ []byte) bool { return b.firing(channel(ch), dropMessage) != nil },
		BeforeDeliver: func(_ *pubsub.Subscription, m pubsub.Message) bool {
			return b.firing(channel(m.Channel), disconnectSlow) != nil
		},
	}
	return x, l, p
}

// storeSync is the store's fault hook: a FailSync not narrowed to a topic fails its fsync.
func (b *Broker) storeSync(string) error {
	if h := b.firing(func(f Fault) bool { return f.topic == "" }, failSync); h != nil {
		return h.f.err
	}
	return nil
}

// ExpireMember removes member from consumer group as its coordinator removes a member whose
// session timed out (K23), without waiting for the timeout (log.Log.ExpireSession): the group
// rebalances among the others, and the member, if it is still running, learns at its next
// heartbeat that it is out (its partitions are lost, not revoked) and joins again as a new
// member. In the trace it shows as a member that expired, "session timed out".
func (b *Broker) ExpireMember(group, member string) error {
	return b.Log().ExpireSession(group, member)
}

// Rebalance makes consumer group rebalance now (see log.Log.RebalanceGroup): its members
// rejoin at their next heartbeat and it is Stable again at the next generation, every member
// kept. A test of what a consumer does when its partitions are revoked and assigned again uses
// it.
func (b *Broker) Rebalance(group string) error { return b.Log().RebalanceGroup(group) }
