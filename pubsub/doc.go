// Package pubsub is the Redis Pub/Sub model in process: channels, glob patterns and shard
// channels with at-most-once fan-out. A [Hub] plays the Redis server and each [Subscription]
// one client connection in subscribed state.
//
// # Basics
//
//	hub, _ := pubsub.New(nil)
//	sub, _ := hub.Subscribe("order:notifications")
//	n := hub.Publish("order:notifications", payload) // n == 1: one delivery
//	msg, err := sub.Next(ctx)
//
// Publish returns the number of deliveries, counted as Redis counts them: a client holding a
// channel and two patterns that match it receives three messages and counts three (R1–R3). A
// message nobody is subscribed to is dropped; nothing is stored for later (R4). Patterns use
// Redis's own glob, ported byte for byte (SEMANTICS.md §3.1): `*` does not match the empty
// channel, `[]a]` is an empty set, `h[b-a]llo` is a reversed range. The subscribe and
// unsubscribe calls return the acknowledgements a Redis client would read, with the same
// running counts ([Reply]); [Hub.Channels], [Hub.NumSub] and [Hub.NumPat] answer the PUBSUB
// subcommands.
//
// Each subscription buffers what it has not read yet, bounded by [Limits] counted in the bytes
// of the RESP2 frames Redis would queue. By default a subscriber that goes over them is
// disconnected, as Redis does with `client-output-buffer-limit pubsub 32mb 8mb 60`: its Next
// returns [ErrSlowSubscriber], its buffered messages are lost and counted in [Hub.Stats], and
// the publisher never blocks. [DropOldest] and [Block] are opt-in alternatives for tests.
//
// # Events
//
// [Options.Observer] receives an [Event] for each step of a subscription's life (opened,
// subscribed, unsubscribed, closed by its owner, disconnected by the hub for being slow or by
// Close) and of a message's (published with its count, delivered to each receiver, dropped by
// [DropOldest]); [Subscription.ID] tells subscribers apart. The contract a waiting test relies
// on: every change to what [Hub.NumSub], [Hub.NumPat], [Hub.Channels] and [Hub.Stats] report
// is followed by at least one event, emitted once the change is visible, so that a read that
// starts after the observer returns sees it: "channel c has 3 subscribers" can be waited for
// by re-reading on each event, without polling. The observer is called synchronously; a Hub
// without one builds no event.
//
// # Concurrency
//
// Everything here is safe for concurrent use. The subscriber tables are immutable snapshots
// that publishers read without locking; Hub.mu serialises the subscribe and unsubscribe calls
// that replace them. Each subscription's buffer is owned by its own mutex: publishers append
// under it and the reader takes the whole buffer at once, so publishers to unrelated
// subscriptions never contend. A Hub starts no goroutines; its only waiting is a reader parked
// in Next and, under [Block], a publisher waiting for room.
//
// The observer runs on the goroutine that made the change: the opened, subscribe, unsubscribe,
// closed and hub-closed events with Hub.mu held, so that they come in the order of the
// changes; the publish-side events (delivered, dropped, slow disconnect, published) on the
// publisher's goroutine with no lock held, one subscription's in publish order. It must not
// call the Hub or a Subscription.
//
// # Time
//
// The soft limit's "over it for 60 seconds" reads time.Now when a message is queued, the way
// Redis checks it on each write, so inside a testing/synctest bubble the window passes on the
// fake clock. Nothing else here depends on time.
//
// # Caveats
//
//   - A message's payload is the publisher's slice, shared by every receiver: do not modify a
//     payload after publishing it, nor one you received.
//   - Only what can be seen in process is modelled here. Wire behaviour (RESP frames, the
//     commands refused in subscribed state, SELECT, PING, RESET, HELLO 3) is the RESP front
//     door's, package wire/resp, which serves a Hub to Redis clients; its rule tests live in
//     this package's wire_rules_test.go, and docs/compat.md lists it.
//   - There is no cluster: SPublish reaches every shard subscriber of the hub, as a single-node
//     Redis does.
package pubsub
