// Package exchange is the RabbitMQ model (AMQP 0-9-1) in process: exchanges, queues, bindings,
// consumers with prefetch and acknowledgements, TTL, length limits and dead-lettering, with the
// rules of SEMANTICS.md §1 (A1–A64).
//
// # Basics
//
// A [Router] is the broker. A [Session] plays an AMQP channel on its own connection: declare
// exchanges and queues, bind, publish, consume, get and settle through it.
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
// 406, [ErrResourceLocked] 405, [ErrAccessRefused] 403, [ErrSyntaxError] 502, [ReplyCode]). An error that closes an
// AMQP channel closes the Session it happened on, as RabbitMQ does: a test that keeps using a
// channel after a 404 fails here as it would there. The Router's own methods (QueueDeclare,
// Publish, Consume, Get...) use a session that errors never close, for code that does not care.
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
// Dead-lettering happens after the queue locks are released.
//
// # Time
//
// TTL, per-message expiration and x-expires use time.AfterFunc timers, armed only while
// something can expire, never a polling loop: a Router created inside a testing/synctest bubble
// expires messages and queues on the bubble's fake clock. A queue with no TTL reads no clock on
// its publish → deliver → ack path.
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
//   - No AMQP transactions, no consumer acknowledgement timeout, one user ("guest"); see
//     docs/compat.md.
package exchange
