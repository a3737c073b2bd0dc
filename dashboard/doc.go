// Package dashboard serves a live picture of a broker over HTTP: a web page embedded in the
// binary (no build step, no external fetch), the JSON API it reads, and a timeline of the
// broker's trace as server-sent events. `tribus serve --http ADDR` and `tribus demo --http
// ADDR` mount it; an application embedding tribus can mount [New]'s handler on a listener of
// its own.
//
// The API (docs/cli.md lists it with examples):
//
//	GET    /api/config                     version, whether the trace and the actions are on
//	GET    /api/snapshot                   tribus.Snapshot: every engine's state now
//	GET    /api/{section}                  exchanges, queues, bindings, topics, groups or pubsub
//	GET    /api/trace                      the timeline: server-sent events, one TraceEvent's JSON each;
//	                                       ?engine=, queue=, topic=, group=, channel=, exchange= filter it
//	POST   /api/queues/{name}/purge        with Options.AllowActions only
//	DELETE /api/queues/{name}              with Options.AllowActions only
//	POST   /api/groups/{id}/reset-offsets  ?to=earliest|latest, a group with no members; AllowActions only
//
// It is read-only unless Options.AllowActions: the other requests only read the broker
// (Broker.Inspect), and the page offers the actions, each behind a confirmation, only when the
// server allows them.
//
// # Concurrency
//
// One goroutine, started by New and ended by Close (or by the broker's Close), reads the
// broker's trace: it owns the order of events and hands each to the history ring and to every
// timeline stream under Server.mu, never waiting for a stream (one that falls subscriberBuffer
// events behind loses events, counted in the next one's "lost"). Each timeline request's
// goroutine owns its connection and its subscriber's channel for reading; the reader goroutine
// alone sends on and closes that channel. Snapshot and action requests run on their own request
// goroutines and only call the broker, which is safe for concurrent use.
package dashboard
