// Package tribus is an embedded, in-process message broker that emulates the three models
// event-driven systems are built on, faithfully enough to test against and to ship with:
//
//   - the exchange router (RabbitMQ, AMQP 0-9-1): exchanges, queues, acks, dead-lettering;
//   - the commit log (Kafka): partitioned, segmented, replayable topics and consumer groups;
//   - the pub/sub hub (Redis Pub/Sub): channels and glob patterns, at-most-once fan-out.
//
// When a program outgrows one process it moves to real RabbitMQ, Kafka or Redis, so each
// engine keeps the real system's rules (SEMANTICS.md in the project) and says where it
// differs (docs/compat.md).
//
// # Basics
//
// [Open] starts a [Broker]; an empty directory name keeps everything in memory, which is what
// a unit test wants:
//
//	b, err := tribus.Open("", nil)
//	if err != nil { ... }
//	defer b.Close()
//	sub, _ := b.Hub().Subscribe("order:notifications")
//	b.Hub().Publish("order:notifications", []byte(`{"order_id":"ORD-123"}`))
//	msg, _ := sub.Next(ctx)
//
// Each engine is also usable on its own (pubsub.New) without a Broker.
//
// # Guarantees
//
// Every engine settles deliveries with the same words ([Acker], [Guarantee]); what they can
// promise differs, as it does between the real systems:
//
//	engine     model                 guarantee          why
//	pubsub/    Redis Pub/Sub         at-most-once       no storage: a message nobody is
//	                                                    subscribed to, or that a cut-off
//	                                                    subscriber had buffered, is gone
//	exchange/  RabbitMQ              at-least-once      unacked deliveries are requeued and
//	                                                    redelivered; consumers must dedupe
//	log/       Kafka                 at-least-once,     uncommitted records are re-read;
//	                                 effectively-once   transactions commit output and offsets
//	                                 with transactions  together
//
// # Concurrency
//
// A Broker and every engine value it returns are safe for concurrent use. Each piece of
// mutable state has one owner, named in the engine's package documentation. Close waits for
// every goroutine the broker started and closes every file it opened.
//
// An in-memory broker builds the exchange router and the commit log on the first call of
// [Broker.Router] or [Broker.Log], under the Broker's mutex, so that a test using only the
// hub pays only for the hub; every caller gets the same engine, and one first asked for after
// Close comes back closed. A durable broker builds them all in Open, where recovery can fail.
// The Redis front door ([Broker.Redis]) is built in Open; the AMQP one ([Broker.AMQP]) on its
// first use, with the router it serves. Close closes the front doors first, so that no remote
// client acts on an engine being closed.
//
// # Time
//
// The engines use the time package only (timers and time.Now), never a polling loop, so a
// broker opened inside a testing/synctest bubble runs on the bubble's fake clock: a 60-second
// slow-subscriber window or a message TTL passes instantly and deterministically in a test.
//
// # Durability
//
// Open(dir, ...) keeps durable state in dir/tribus.db (bbolt), with files 0600 and
// directories 0700, and takes dir/LOCK so that a second Open of the same directory fails at
// once with [ErrLocked]. Writes from many goroutines share one transaction and one fsync
// (group commit). What a caller was told is durable survives a crash of the process; the
// pub/sub hub keeps nothing, by design.
package tribus
