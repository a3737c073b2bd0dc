// Package resp is the Redis front door of tribus: it serves a [pubsub.Hub] to unmodified
// Redis clients (go-redis, redis-py, redis-cli, redis-benchmark) over RESP2 and RESP3, so code
// written against Redis Pub/Sub runs against an embedded tribus, and against a real Redis by
// changing an address.
//
// # Basics
//
//	srv, _ := resp.NewServer(hub, nil)
//	go srv.Serve(ln)                                        // any net.Listener
//	rdb := redis.NewClient(&redis.Options{Dialer: srv.Dial}) // or in process, no socket
//	defer srv.Close()
//
// A tribus Broker has one, Broker.Redis, which the broker's Close closes.
//
// The server is a translator, not a second implementation: each command is parsed, checked as
// Redis checks it (unknown command, arity, authentication, the RESP2 subscribed-state rule, in
// that order), turned into one hub or subscription call, and its result written back as the
// frames Redis sends (SEMANTICS.md §3.2). Delivery, counts, glob matching and the
// slow-subscriber limit are the hub's. The commands are the pub/sub family (SUBSCRIBE,
// PSUBSCRIBE, SSUBSCRIBE and their UN- forms, PUBLISH, SPUBLISH, PUBSUB), the connection
// commands (PING, ECHO, QUIT, RESET, HELLO, AUTH, SELECT, CLIENT ID|GETNAME|SETNAME|SETINFO|
// INFO) and what clients probe (COMMAND, COMMAND COUNT|INFO|DOCS|LIST, INFO, CONFIG GET). Any
// other command, including Redis's data commands, gets Redis's exact unknown-command error;
// docs/compat.md lists each command and each difference.
//
// Requests may be pipelined and may be inline (what telnet and redis-cli's inline mode send).
// Limits are Redis's defaults: bulk strings up to proto-max-bulk-len (512 MB), inline lines up
// to 64 KiB, 10,000 clients, and the tighter limits before AUTH when a password is set. A
// malformed request gets "-ERR Protocol error: ..." and the connection is closed after it, as
// Redis closes it; nothing else is affected.
//
// # Concurrency
//
// A Server is safe for concurrent use. Its listener and connection sets are a door.Set,
// whose own lock guards them. Each connection has one goroutine that reads and runs its
// requests and, once the client has subscribed, a pump goroutine that writes the messages
// published to it. Both append to the connection's output under its wmu, and a command runs
// with wmu held, so the client reads replies and messages in the order Redis would queue
// them: a subscribe's acknowledgement before the messages it lets in, and a message published
// before a command is read before that command's reply. Lock order: a connection's wmu, then
// the hub's locks (taken inside hub calls), then the door.Set's lock (a connection leaves the
// set while it holds its wmu, and a publisher that cuts a slow subscriber off removes it from
// inside a hub call); while the door.Set's lock is held, no other lock is taken. No goroutine
// holds two connections' wmu. [Server.Close] closes every listener and connection and waits
// for every goroutine.
//
// # Time
//
// The idle timeout is a read deadline, and the hub's soft output limit reads time.Now, so a
// server and in-process connections made inside a testing/synctest bubble run on its clock.
//
// # Caveats
//
//   - There are no keys, databases or data commands: SELECT is accepted and ignored, as
//     pub/sub ignores it (R12).
//   - The output limit counts the RESP2 frames of messages not yet written to the connection
//     (the hub's buffer), not Redis's reply blocks; a subscriber is cut off at about the same
//     point, not the same byte. A cut-off client's connection is closed, as in Redis.
//   - HELLO and INFO report Redis [RedisVersion], so clients that switch on the version see
//     one they support; INFO server adds tribus_version.
package resp
