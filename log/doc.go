// Package log emulates Kafka in process: topics of partitions, each a segmented commit log
// (in memory or in a directory), producers (idempotent and transactional), standalone
// consumers and consumer groups with Kafka's coordinator rules. The rules it follows are
// numbered K1, K2, … (the list docs/compat.md refers to); each test that checks one names it.
//
// # Basics
//
// [Open] a Log on a directory, or on "" for memory only. [Log.CreateTopic] takes a
// [TopicConfig] whose zero fields mean Kafka's defaults; [Log.Produce] and [Log.ProduceTo]
// append, [Log.Fetch] and [Log.ListOffsets] read. [Log.NewConsumer] reads partitions it is
// assigned by hand; [Log.NewGroupConsumer] joins a consumer group whose coordinator assigns
// partitions and keeps committed offsets. Bad input is refused with a sentinel of errors.go
// that names the Kafka error code it stands for, and changes nothing: a negative fetch or
// consumer option is [ErrInvalidConfig], a partition count that does not grow is
// [ErrInvalidPartitions], deleting an unknown group is [ErrUnknownGroup].
//
// # Concurrency
//
// A Log and everything it returns are safe for concurrent use, except that a
// [GroupConsumer]'s Poll and Close belong to one goroutine, as in Kafka; its other methods,
// Crash included, may be called from anywhere.
//
// Owners of state:
//   - Log.mu guards the topic map and the closed flag; Log.life guards the retention timer
//     and the callbacks in flight.
//   - partition.mu guards a partition's segments and offsets (cmu and smu, for compaction and
//     fsync, are taken before it; see partition.go). A fetch holds it to choose a segment and
//     to decode what it read, not for the file I/O: segment.mu guards a segment's size and
//     indexes, and the bytes below its size never change while it is open. A segment closed
//     during a read is looked up again.
//   - offsetState.mu numbers committed-offset writes in the store's order (offsets.go).
//   - coordinator.mu guards the map of groups only, and is never held while taking a group's
//     lock. group.mu guards everything of one group: its state, members and their session
//     timers, and the rebalance and delay timers; every timer callback takes it first.
//   - GroupConsumer.pmu is held by Poll and Close; GroupConsumer.mu guards the member id,
//     generation, owned partitions, closed flag and poll timer.
//
// Lock orders: Log.mu, then partition.mu; Log.mu, then offsetState.mu. On the group path:
// GroupConsumer.pmu, then group.mu, then GroupConsumer.mu; group.mu, then Log.mu (read, to see
// the topics a member subscribes to). Listener calls, assignment of the inner consumer and
// offset commits happen with no group lock held. Transactions: txnMeta.mu, then group.mu
// (to check a generation), then partition.mu (txn.go).
//
// # Time
//
// Every timeout is a time.Timer or time.AfterFunc on the real clock: session and poll
// timeouts, rebalance and initial-rebalance delays, transaction timeouts, retention and
// Fetch's MaxWait. Under testing/synctest they run on the bubble's fake clock, so tests
// advance minutes instantly. [Log.Close] stops the retention, transaction and group timers
// and wakes every Poll waiting on a group; no timer the Log owns changes state after Close.
//
// # Caveats
//
//   - One broker: leader epochs are kept and returned but never checked, and there is no
//     replication.
//   - Heartbeats are implicit: a group consumer heartbeats from NewGroupConsumer until Close
//     or Crash. [GroupConsumer.Crash] stops them; a Poll running in another goroutine at
//     that moment returns [ErrClosed] instead of resuming them (fixed in issue 11: it used to
//     keep the member in the group forever).
//   - [Log.NewConsumer] has no error result, so a negative MaxPollRecords or MaxWait in its
//     [ConsumerOptions] is reported by every Poll as [ErrInvalidConfig].
//   - A negative MinCleanableDirtyRatio means Kafka's 0 (compact whenever anything is dirty)
//     and a zero or negative RetentionBytes means unlimited (Kafka's -1); both are accepted.
//   - [Log.ResetGroupOffsets] accepts a group that does not exist yet and clamps an offset
//     past the log end to the end, as kafka-consumer-groups --reset-offsets does.
//   - Record timestamps are not range-checked on produce (Kafka's producer refuses a negative
//     timestamp other than -1); that belongs to the produce side and is not done here.
//   - A GroupConsumer's poll timer (max.poll.interval.ms) belongs to the consumer, not the
//     group: after Close it may still fire, but finds the group stopped and does nothing.
//   - Storage caveats (segments, recovery, CRCs) are reported separately.
package log
