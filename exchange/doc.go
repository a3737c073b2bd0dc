// Package exchange is the RabbitMQ model (AMQP 0-9-1) in process: exchanges, queues, bindings,
// consumers with prefetch and acknowledgements, TTL, length limits and dead-lettering, with the
// rules of SEMANTICS.md §1 (A1–A64).
//
// # Basics
//
// A [Router] is the broker. A [Connection] plays an AMQP connection and a [Session] one of its
// channels: declare exchanges and queues, bind, publish, consume, get and settle through it.
// [Router.NewSession] is the short way, a session on a connection of its own.
//
//	r, _ := exchange.New(nil)
//	s, _ := r.NewSession()
//	s.ExchangeDeclare("orders", exchange.Topic, exchange.ExchangeOptions{Durable: true})
//	s.QueueDeclare("order_notifications", exchange.QueueOptions{DeadLetterExchange: "dlx"})
//	s.QueueBind("order_notifications", "orders", "order.*", nil)
//	s.Publish(ctx, "orders", "order.created", false, exchange.Publishing{Body: body})
//	c, _ := s.Consume("order_notifications", exchange.ConsumeOptions{Prefetch: 10})
//	d, _ := c.Next(ctx)
//	d.Ack()
//
// Errors are the AMQP reply codes as sentinels ([ErrNotFound] 404, [ErrPreconditionFailed]
// 406, [ErrResourceLocked] 405, [ErrAccessRefused] 403, [ErrSyntaxError] 502, [ReplyCode]). An
// error that closes an AMQP channel closes the Session it happened on, and one that closes an
// AMQP connection (503, 530, 502, 540) closes its Connection, as RabbitMQ does: a test that
// keeps using a channel after a 404 fails here as it would there, and the connection's
// exclusive queues outlive a channel error as they do there. The Router's own methods
// (QueueDeclare, Publish, Consume, Get...) use a session that errors never close, for code
// that does not care.
//
// For tests and tools: [Router.QueueInfo] counts a queue's messages, consumers and
// settlements; [Router.Peek] shows its ready messages in delivery order without delivering
// them; [Deaths] and [Delivery.Deaths] read a dead-lettered message's x-death history as
// [Death] values; and Options.Observer receives every lifecycle [Event] (see # Concurrency for
// what it may rely on).
//
// Routing: direct, fanout, topic (a trie over words, §1.1 exactly: `#` matches zero words,
// `""` is zero words) and headers (§1.2) exchanges; the default exchange and the amq.*
// exchanges; exchange-to-exchange bindings; alternate exchanges; CC and BCC. Every queue gets
// one copy of a message however many bindings match. Queues keep publish order; a requeued
// message goes back to its original position with redelivered set.
//
// # Concurrency
//
// Everything is safe for concurrent use. Router.mu guards the topology (exchanges, queues,
// bindings); publishers hold it for reading while they route, so publishes do not wait for each
// other. Each queue's state (ready messages, consumers, unacked count, timers) is owned by its
// own mutex, so unrelated queues never contend. A session's unacked deliveries and each
// consumer's buffer have leaf locks. Lock order: Router.mu, queue.mu, then a leaf lock.
// A connection's lock guards its sessions and exclusive queues; it is taken after Router.mu
// (an exclusive queue is owned as it is declared) and held while taking nothing else; closing
// a connection closes its sessions and deletes its queues with it released.
// Dead-lettering happens after the queue locks are released.
//
// Options.Observer is called synchronously, on the goroutine that made the change and
// sometimes with Router.mu or a queue's mutex held, so it must not call into the Router. It may
// rely on one rule: every change to what [Router.QueueInfo] reports of a queue (its
// existence, Ready, Unacked, Consumers and its counters) is followed by at least one event
// naming the queue, emitted once the change is visible, so that a QueueInfo call that starts
// after the observer returns sees it. Events come after their change, under the lock that
// made it ([EventEnqueued] once the message is ready, [EventRequeued] once it is back,
// [EventQueueDeclared] once the queue is in the topology) or after that lock is released (an
// ack's [EventAcked], dead-lettering's events). A waiter that an observer wakes, and that then
// re-reads QueueInfo, therefore never sleeps through the state it waits for; [EventRouted]
// comes before the message is enqueued and is not such an event on its own.
//
// The alarms (alarm.go) belong to the Router: the bytes held by queued messages are one atomic
// counter that enqueues add to and acks, deliveries to auto-ack consumers as they are read,
// expiry, dead-lettering, purges and deletes subtract from, and the alarm bits are one atomic
// word that a publish reads before it routes. The alarms' own mutex, a leaf below every other
// lock, orders the alarms going on and off (and their events) and guards the disk alarm's last
// answer; a blocked publish waits on a channel it closes, holding only its session's publish
// lock.
//
// # Time
//
// TTL, per-message expiration and x-expires use time.AfterFunc timers, armed only while
// something can expire, never a polling loop: a Router created inside a testing/synctest bubble
// expires messages and queues on the bubble's fake clock. A queue with no TTL reads no clock on
// its publish → deliver → ack path. A publish blocked by the disk alarm asks Options.DiskFree
// again every 50 ms of the clock it runs on (the bubble's, under testing/synctest).
//
// # Memory and disk alarms
//
// Like RabbitMQ, the router stops publishers rather than running out of memory or disk.
// Options.MemoryHighWatermark (default [DefaultMemoryHighWatermark], 512 MiB) bounds the bytes
// held by queued messages, transient and persistent, ready and unacked, including auto-ack
// deliveries pushed to a consumer and not yet read: the body, properties and headers of each
// message (a message routed to n queues counts n times) plus about 256 bytes of bookkeeping,
// [Router.Alarms] shows the count. Options.DiskFree, if set, is asked before each publish that
// writes persistent messages to the store. When either says no, that alarm is on: an
// [EventBlocked] with Reason [ReasonLowMemory] or [ReasonLowDisk] (what an AMQP front door
// sends as connection.blocked), and every publish, of any message to any exchange, waits until
// no alarm is on or its ctx ends (ctx's error returned with [ErrMemoryAlarm] or [ErrDiskFull];
// with Options.FailFastOnAlarm that error comes at once). Consumers, acks, nacks, gets, purges
// and deletes go on, so memory can fall; the memory alarm clears at 7/8 of the watermark,
// the disk alarm when DiskFree agrees again, each with an [EventUnblocked]. A publish already
// admitted completes, so the count can pass the watermark by one publish.
//
// Persistent messages of durable queues page out under Options.MemoryBudget, and a paged-out
// message counts only its bookkeeping, so they raise the memory alarm only once their index
// alone is large (about 1.5 million messages at the defaults). Transient messages never page
// out: they stay in memory until consumed, and the watermark is what bounds them.
//
// # Caveats
//
//   - Without Options.Store everything is in memory. With one (tribus.Open(dir) gives one),
//     durable declarations and persistent messages in durable queues survive restarts and
//     crashes; see # Durability in package tribus.
//   - A Publishing (headers and body included) is shared by every queue and delivery of the
//     message: treat what you received as read-only.
//   - Limits (see docs/compat.md): short strings (names, keys, consumer tags, table field
//     names, string properties) up to [MaxShortString] bytes and prefetch up to [MaxPrefetch],
//     else [ErrSyntaxError] (502); bodies up to Options.MaxMessageSize (16 MiB by default,
//     RabbitMQ 4.x's max_message_size), else [ErrMessageTooLarge] (406); tables up to
//     [MaxTableFields] fields, [MaxTableDepth] levels and MaxMessageSize encoded bytes, else
//     [ErrTableTooLarge] (406); TTLs and expirations up to ten years, as RabbitMQ. A refused
//     call changes nothing and closes its session.
//   - The memory count is an estimate of what queues hold, not the process's heap: with Go's
//     default GOGC=100 the heap can reach about twice the live data before a collection, so
//     allow about twice the watermark (a 30 s soak with a 64 MiB watermark peaked at 104 MiB
//     of heap in use). Memory held by the program's own copies of bodies is not counted.
//   - A publish that the disk alarm stops after routing is routed again once the alarm clears
//     (bindings may have changed meanwhile), and goes through even if its session closed while
//     it waited.
//   - No AMQP transactions, no consumer acknowledgement timeout, one user ("guest"); see
//     docs/compat.md.
package exchange
