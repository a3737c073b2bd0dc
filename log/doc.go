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
// # Events
//
// [Options.Observer] receives an [Event] for each step of the log's life: topics created,
// altered and deleted; each batch once it is readable ([EventAppended]); log start offsets
// moved by DeleteRecords or retention, segments rolled and deleted, compaction passes; each
// consumer group's members joining, rejoining, leaving and expiring and its states
// (Rebalancing, JoinCompleted, Stable, Empty, deleted); each partition's offset commit and
// deletion; each transaction's commit or abort. The contract a waiting test relies on: every
// change to what [Log.DescribeGroup], [Log.GroupLag], [Log.ListOffsets] and a Fetch report is
// followed by at least one event, emitted once the change is visible, so that a read that
// starts after the observer returns sees it. A test can therefore wait for "group g is Stable
// with 3 members" or "group g has lag zero" by re-reading on each event, without polling.
// The events of one partition, one group and one transactional id come in the order of their
// changes: a batch's EventAppended when the high watermark passes it (a transactional batch
// reaches read_committed readers with its commit marker's), a commit's EventCommitted once it
// is durable (a transaction's offsets when it commits), EventStable when the leader's
// SyncGroup hands out the assignment. The observer is called synchronously, on whichever
// goroutine made the change (a producer, the fsync that covered a batch, a coordinator
// request, a timer), and a Log without one builds no event.
//
// # Concurrency
//
// A Log and everything it returns are safe for concurrent use, except that a
// [GroupConsumer]'s Poll and Close belong to one goroutine, as in Kafka; its other methods,
// Crash included, may be called from anywhere.
//
//	state                                        owner (guarded by)
//	---------------------------------------------------------------------------------------
//	topic map, closed flag                       Log.mu
//	a topic's configuration                      Log.mu to change (a new topic value, copy on
//	                                               write); partitions read it lock-free (cfg)
//	retention timer, Log timers' callbacks       Log.life (+ Log.wg, waited for by Close)
//	a partition's segments, offsets, producers   partition.mu (cmu, smu taken before it)
//	a segment's size and indexes                 segment.Segment.mu; bytes below the size never change
//	committed offsets' write order               offsetState.mu
//	the map of groups                            group.Coordinator.mu
//	one group: state, members, generation,       the group's shell mu (log/internal/group);
//	  its timers and waiting Join/Sync requests    timer expiries take it, nothing else
//	a GroupConsumer's member id, generations,    GroupConsumer.mu, never held across a
//	  owned partitions, join in flight, flags      coordinator request
//	no request after Crash                       GroupConsumer.gate (a count of requests
//	                                               in flight; Crash shuts it and waits)
//	Poll and Close against each other            GroupConsumer.pmu
//	a transaction                                txnMeta.mu
//	the batches above the high watermark, for    partition.nmu (taken under partition.mu
//	  the observer's EventAppended                 by an append)
//	the observer                                 an atomic pointer (SetObserver swaps it; an
//	                                               event in flight may reach the old one)
//	a group's state and generation for Peek      one atomic word, written under the group's
//	                                               mu at each change, read with no lock
//
// Lock orders (each arrow: the first may be held while taking the second, never the reverse):
//
//	Log.mu → partition.cmu → partition.mu;  partition.smu → partition.mu;  Log.mu → offsetState.mu
//	group.Coordinator.mu → a group's mu   (Close and Delete; requests take them one at a time)
//	GroupConsumer.pmu → GroupConsumer.mu → Log.mu (read: the topics a subscription matches)
//	GroupConsumer.pmu → group.Coordinator.mu → a group's mu (a request; GroupConsumer.mu is
//	  never held across one)
//	txnMeta.mu → group.Coordinator.mu → a group's mu (checking a generation);  txnMeta.mu → partition.mu
//	partition.mu → partition.nmu;  partition.smu → partition.nmu
//
// The observer runs with the lock of the change it reports held, so that its events come in
// order: Log.mu (topics), partition.mu (rolls, segment and record deletions), partition.cmu
// (compaction passes), partition.nmu (EventAppended), offsetState.mu (commits and offset
// deletions), a group's mu (the group's events; group.Coordinator.mu too for
// EventGroupCreated), txnMeta.mu (transactions); EventGroupDeleted comes with none held. It
// takes no lock itself and must not call the Log, which could wait for one of them.
//
// Storage is two rooms under the partitions: log/internal/segment (segments, their indexes
// and recovery; batches are opaque bytes read through a codec the partition injects, batch.go's
// RecordBatch v2) over log/internal/segfs (the files, on disk or in memory for Open("")). A
// segment has one writer and any number of readers below its size. A fetch holds partition.mu
// to choose a segment and to decode what it read, not for the file I/O; a segment closed during
// a read is looked up again.
//
// A GroupConsumer is a client of the coordinator and never takes a group's lock itself: it sends JoinGroup, SyncGroup,
// Heartbeat, LeaveGroup and OffsetCommit checks through group.Coordinator, whose core
// (group.Group) is a pure state machine the shell calls under the group's lock. A parked
// JoinGroup or SyncGroup is answered on the goroutine that completed it (another member's
// request, a timer, Close) after the group's lock is released; the consumer's answer handlers
// (groupjoin.go) take GroupConsumer.mu and Log.mu (read) and may send the next request. Listener
// calls, assignment of the inner consumer and offset writes happen with no lock of the group
// held.
//
// # Time
//
// Every timeout is a time.Timer, time.Ticker or time.AfterFunc on the real clock; under
// testing/synctest they run on the bubble's fake clock, so tests advance minutes instantly.
//   - The Log's own timers (retention, transaction timeouts, each GroupConsumer's
//     max.poll.interval.ms) are armed by Log.afterFunc: after Close their callbacks do nothing,
//     and Close waits for one that is running.
//   - The group coordinator's timers (session timeouts, unused member ids, the rebalance
//     timeout, the initial rebalance delay) belong to group.Coordinator. The core asks for them
//     as effects with deadlines and recognises a stale firing by its deadline; Close stops
//     them all and answers every waiting JoinGroup and SyncGroup with ErrClosed.
//   - A GroupConsumer heartbeats every HeartbeatInterval on its own goroutine from its first
//     Poll until Close, Crash or the Log's Close; Fetch's MaxWait and Poll's waits end early at
//     Close.
//
// No timer the Log owns changes state after Close.
//
// # Caveats
//
//   - One broker: leader epochs are kept and returned but never checked, and there is no
//     replication.
//   - A group consumer's session is kept by heartbeats, as in Kafka: one per Poll and one
//     every HeartbeatInterval between them. [GroupConsumer.Crash] stops them and, once it
//     returns, no request of the consumer's reaches the coordinator; the group drops it when
//     its session timeout has passed since its last heartbeat.
//   - The leader notices a topic's partition count change, and a pattern subscriber a new
//     matching topic, at its next Poll (or while one waits), and rejoins; Kafka's consumers
//     notice at their next metadata refresh. A group whose leader does not poll does not
//     rebalance for it.
//   - An offset commit is checked by the coordinator and then written; a rebalance that
//     begins between the two does not undo the write, as on a Kafka broker, where the check
//     and the append are not one step either.
//   - [Log.NewConsumer] has no error result, so a negative MaxPollRecords or MaxWait in its
//     [ConsumerOptions] is reported by every Poll as [ErrInvalidConfig].
//   - A negative MinCleanableDirtyRatio means Kafka's 0 (compact whenever anything is dirty)
//     and a zero or negative RetentionBytes means unlimited (Kafka's -1); both are accepted.
//   - [Log.ResetGroupOffsets] accepts a group that does not exist yet and clamps an offset
//     past the log end to the end, as kafka-consumer-groups --reset-offsets does.
//   - Record timestamps are not range-checked on produce (Kafka's producer refuses a negative
//     timestamp other than -1); that belongs to the produce side and is not done here.
//   - Storage caveats (segments, recovery, CRCs) are reported separately.
package log
