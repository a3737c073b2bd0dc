// Package amqp is the RabbitMQ front door of tribus: it serves an [exchange.Router] to
// unmodified AMQP 0-9-1 clients (amqp091-go, pika, the Java and .NET clients), so code
// written against RabbitMQ runs against an embedded tribus, and against a real RabbitMQ by
// changing the URL.
//
// # Basics
//
//	srv, _ := amqp.NewServer(router, nil)
//	go srv.ListenAndServe("127.0.0.1:5672")   // or srv.Serve(ln) on any net.Listener
//	conn, _ := amqp091.DialConfig("amqp://guest:guest@tribus/", amqp091.Config{Dial: srv.Dial}) // in process
//	defer srv.Close()
//
// A tribus Broker has one, Broker.AMQP, over its router; the broker's Close closes it.
//
// The server translates; it does not decide. Each AMQP connection is an
// [exchange.Connection] and each channel an [exchange.Session] on it, so exclusive queues,
// consumer tags, user-id checks and what is requeued when a channel or connection closes are
// the router's, as are routing, dead-lettering, TTLs and limits. Each method becomes one
// router call, and an engine error becomes channel.close or connection.close with the reply
// code the router gave it ([exchange.ReplyCode]) and RabbitMQ's reply text, the resource named
// with its virtual host ("NOT_FOUND - no exchange 'x' in vhost '/'"); the router says whether
// an error is a channel's or the connection's. The frames, methods, content and field tables
// are the internal proto package's, which reads field tables as RabbitMQ reads them.
//
// The handshake is RabbitMQ's: PLAIN and AMQPLAIN against [Options.Users] (guest/guest by
// default, only from loopback or in process), tune with channel_max 2047, frame_max 131072
// and a 60-second heartbeat that a client may lower, and connection.open of a virtual host in
// [Options.VHosts]. A failed login is told with connection.close 403 only to a client that
// has the authentication_failure_close capability; others are disconnected, as RabbitMQ does.
// The server properties advertise the capabilities RabbitMQ does and this package serves:
// publisher_confirms, exchange_exchange_bindings, basic.nack, consumer_cancel_notify,
// connection.blocked, per_consumer_qos, direct_reply_to, authentication_failure_close.
//
// # Flow
//
// Nothing in the door grows without bound. A consumer is held back by its prefetch (an
// auto-ack one by the router's window of 200 unread), and its deliveries wait in the
// connection's output, which holds at most 256 KiB besides the buffer the writer is writing
// before the consumer waits too, so a client that stops reading stops its consumers as TCP
// would; one that reads nothing for 15 s while frames wait for it is dropped, as RabbitMQ's
// send_timeout drops it. A
// publish is read only once the one before it was handed to the router, which holds a
// publisher while a resource alarm is on; the connection is then told connection.blocked,
// and connection.unblocked when the alarm clears. Confirm-mode publishes are pipelined up to
// 8,192 in flight per channel.
//
// # Concurrency
//
// A Server is safe for concurrent use. Its listeners and sockets are a door.Set, whose lock
// is taken last; its mu guards the set of running connections that Close says goodbye to.
// Each connection has a serving goroutine that reads frames and runs methods, and owns the
// connection's channels and their state; a writer goroutine that alone writes to the socket;
// a heartbeat goroutine, when a heartbeat was negotiated; an alarm watcher, when the client
// has the connection.blocked capability; and one goroutine per consumer, which writes its
// deliveries. All of them append to the connection's output under its wmu, one frame
// sequence at a time, so the frames of one delivery are never interleaved with another's.
// Confirm callbacks, run by the router, append acks the same way. No lock is held while
// calling into the router, except that a consumer goroutine's append waits for room while
// holding nothing else. [Server.Close] sends connection.close 320 to every running
// connection, closes every socket and waits for every goroutine.
//
// # Time
//
// Heartbeats, the missed-heartbeat check (a client silent for three intervals is dropped) and
// the handshake timeout use the time package and deadlines, so a server and in-process
// connections made inside a testing/synctest bubble run on its clock.
//
// # Caveats
//
// docs/compat.md lists every method and property and each difference from RabbitMQ. The
// main ones: channel.flow with active=false and basic.qos with a prefetch size are refused
// with 540 NOT_IMPLEMENTED; a refused login is answered at once, without RabbitMQ's
// three-second delay.
package amqp
