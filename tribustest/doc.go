// Package tribustest is the toolkit for testing event-driven code against an in-process
// tribus: a broker per test, closed for you, waits that never sleep or poll, and checks that
// say what was expected and what was there. A test of a 30-second TTL takes no wall time:
//
//	func TestOrderExpiresToTheDeadLetterQueue(t *testing.T) {
//		synctest.Test(t, func(t *testing.T) {
//			b := tribustest.New(t)
//			s := b.Session()
//			s.ExchangeDeclare("orders.dlx", exchange.Fanout, exchange.ExchangeOptions{})
//			s.QueueDeclare("orders.dead", exchange.QueueOptions{})
//			s.QueueBind("orders.dead", "orders.dlx", "", nil)
//			s.QueueDeclare("orders", exchange.QueueOptions{
//				MessageTTL: 30 * time.Second, DeadLetterExchange: "orders.dlx"})
//
//			s.Publish(t.Context(), "", "orders", false, exchange.Publishing{Body: []byte("ORD-1")})
//			b.Wait(tribustest.QueueReady("orders.dead", 1)) // 30 s pass on the bubble's clock
//
//			d, _ := s.Get("orders.dead", true)
//			b.CheckDeadLettered(d, exchange.Death{Queue: "orders", Reason: "expired", Count: 1})
//		})
//	}
//
// # Basics
//
// [New] opens an in-memory broker for a test and closes it in t.Cleanup; [NewDurable] keeps
// its state in t.TempDir(), and [Broker.Reopen] restarts it on the same directory. The
// cleanup fails the test if Close fails, if a goroutine the broker started still runs after
// it, or if a file in its directory is still open. A [Broker] is a *tribus.Broker: Router,
// Log, Hub and the wire front doors (Redis, AMQP, Kafka, each with an in-process Dial for real
// clients) are all there. New takes a [T], the part of testing.TB it uses, so it works with
// *testing.T, *testing.B and *testing.F.
//
// [Broker.Wait] waits until conditions hold ([QueueReady], [QueueUnacked], [QueueConsumers],
// [QueueDelivered], [GroupStable], [Committed], [LagZero], [Subscribers], or your own with
// [Func]) and fails the test with what it expected, what it saw and the broker's last events
// if they do not within [Broker.WaitTimeout]. [Broker.WaitContext] returns the same failure
// as a *[WaitError] for use off the test's goroutine.
//
// The Check methods assert what is there now: [Broker.CheckQueue] (these bodies, in this
// order, read without delivering), [Broker.CheckDeadLettered] (x-death's reason, queue and
// count, through [exchange.Deaths]), [Broker.CheckCommitted] (a group's offsets), and
// [Broker.CheckNoDelivery] and [Broker.CheckNoMessage], which prove that nothing more
// arrives by waiting for a synctest bubble to be idle rather than for a timeout.
//
// # Faults
//
// [Broker.Inject] adds a [Fault] to the broker's engines and returns a [FaultHandle] that
// counts its opportunities and hits, and removes it:
//
//   - exchange router: [DropPublish], [FailPublish], [DuplicatePublish] (a publisher's retry),
//     [DelayDelivery] (a delivery held back on its way), [Redeliver] (an ack lost on its way:
//     the message comes back, redelivered), [CrashBeforeAck] (the consuming client dies before
//     its ack reaches the router, so its deliveries go to others, redelivered);
//   - commit log: [DropProduce], [FailProduce], [DuplicateProduce] (a retried produce without
//     idempotence), [FailCommit], [CrashAfterCommit] (a group member dies right after its
//     commit is durable);
//   - pub/sub hub: [DropMessage], [DisconnectSlow];
//   - connections: [CloseConnection] (the connection of the client making a matching publish,
//     ack, produce or offset commit is closed from the broker's side, and the client lives on
//     to reconnect);
//   - the disk: [FailSync] (the next fsync of a log partition or of the store that holds
//     persistent messages and committed offsets fails, as a disk error would; what it covered
//     refuses writes until [Broker.Reopen]).
//
// A fault is narrowed by queue, exchange, routing key, topic, group or channel, and fires once
// by default, or [Fault.Times], after [Fault.Skip] opportunities, or with a seeded
// [Fault.Probability]. A crash parks the call that reached it until the test ends, as a killed
// process never returns from it; the broker sees what a real broker would: a connection gone,
// a member whose session times out. The faults reach clients of the front doors too: a crashed
// AMQP client's connection is closed with 320 CONNECTION_FORCED; a go-redis subscriber cut off
// as slow loses its connection; a kgo producer retries a FailProduce with a retriable
// [log.KafkaError] code, and has a DuplicateProduce copy dropped by its idempotence (K39).
// A DropProduce or CloseConnection loses a Kafka client's request with its connection, and
// kgo retries it on a new one; a CloseConnection closes an AMQP client's connection with 320.
// CrashAfterCommit acts on the native API only. Three actions complete them:
// [Broker.ExpireMember] removes a group member at once, as its session timing out would;
// [Broker.Rebalance] makes a group rebalance with every member kept; [Broker.DropConnections]
// cuts every wire client off, as a network failure would.
//
// # Exploration
//
// [Explore] runs a scenario many times, each in a synctest bubble with a new broker: once
// without faults, counting each fault's opportunities in a declared fault space ("any ack of
// the orders queue may be the one its client dies before"), then once per seed with each fault
// placed at the opportunity the seed picks. The first failing run is reported with its seed,
// where its faults fired and the broker's last events, and -tribustest.seed=N replays it,
// event for event: an exploration runs the binary on one thread, where the goroutines of a run
// take turns in the order the seed and the scenario decide. Under the race detector, which
// shuffles that order on purpose, a replay has the same seed, start order and fault placement,
// and may interleave the rest differently. -tribustest.runs=N changes how many runs are made. explore_test.go plants two bugs it
// finds: an order handler that charges twice when a delivery is redelivered, and a consumer
// that commits before processing and loses a record when it crashes; their fixed versions pass
// every seed.
//
// # Concurrency
//
// A Broker is safe for concurrent use. Wait and the constructors stop the test with Fatalf on
// failure, so they belong on the test's goroutine; WaitContext and the Check methods may be
// called from any. The engines call this package's observers synchronously, under their own
// locks; the observers only record the event (trace.go, its own mutex) and wake the waits
// (wait.go, a mutex around one channel), and call nothing else.
//
// The goroutine check tells a test's brokers apart from those of tests running in parallel by
// a runtime/pprof goroutine label that New sets on the test's goroutine and the cleanup
// clears: goroutines inherit it from the goroutine that starts them. A test that sets its
// own goroutine labels loses them to New.
//
// # Time
//
// Inside a testing/synctest bubble everything runs on the bubble's fake clock: TTLs,
// x-expires, session and rebalance timeouts, the slow-subscriber window, and Wait's own
// timeout, so a wait for a state 45 seconds away returns at once and a wait that can never
// succeed fails at once. Outside a bubble the same tests run in real time.
//
// # Caveats
//
// Exploration's seed chooses where faults fire, the orders the engines may choose either way
// (where each queue's round-robin among its consumers starts, and the member ids a group hands
// out, so which member the assignors give which partitions: tribus.Options.Seed), and, through
// [Run.Start], the order the scenario's actors take their first steps (which consumer
// registers first, which member joins first and leads). Beyond those first steps the
// goroutines interleave as the scheduler runs them, so a replayed seed repeats its faults and
// these orders while the rest of the run may differ.
//
// A wait checks its conditions after every event of the engines; a custom [Func] that reads
// something no engine event follows (a value in your own code) is checked only when some
// other event happens. The goroutine check cannot see goroutines started by a runtime timer
// (time.AfterFunc) that outlive the test; the engines' Close stops those timers.
package tribustest
