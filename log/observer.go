package log

import (
	"time"

	"github.com/tribusmq/tribus/log/internal/group"
)

// EventKind names a step in the life of a topic, a partition's records, a consumer group or a
// transaction. See [Options.Observer].
type EventKind uint8

// The events an observer receives. Each is emitted after the change it reports is visible
// (see [Options.Observer]); the fields each sets are listed with it, and the others are zero.
const (
	// EventTopicCreated: Topic was created with Count partitions.
	EventTopicCreated EventKind = iota + 1
	// EventTopicDeleted: Topic and its records were deleted, with every group's committed
	// offsets for it; Count is the partitions it had.
	EventTopicDeleted
	// EventPartitionsCreated: Topic grew to Count partitions; Partition is the first new one.
	EventPartitionsCreated
	// EventTopicConfigChanged: Topic's configuration was altered ([Log.AlterTopicConfig]).
	EventTopicConfigChanged
	// EventAppended: a batch of Count records at Offset (its first offset) in Topic/Partition
	// became readable: the high watermark passed it, so ListOffsets(Latest) and a
	// read_uncommitted Fetch see it. One per batch, in offset order, whichever goroutine
	// moved the high watermark. ProducerID is the idempotent or transactional producer's
	// (0 for none). Transactional batches set Transactional: read_committed readers see
	// them only once their commit marker is appended. A marker is a batch of one control
	// record with Control set and Reason "commit" or "abort": it moves the last stable offset
	// and Fetch never returns it.
	EventAppended
	// EventRecordsDeleted: the log start offset of Topic/Partition moved up to Offset, by
	// DeleteRecords or retention (Reason "DeleteRecords" or "retention"): records below it
	// can no longer be read.
	EventRecordsDeleted
	// EventSegmentRolled: Topic/Partition sealed its active segment and started one at
	// Offset; Reason is "segment.bytes", "segment.ms" or "retention" (an empty active segment
	// rolled so that retention may delete the last one).
	EventSegmentRolled
	// EventSegmentDeleted: the segment of Topic/Partition based at Offset was deleted; Reason
	// is "retention", "DeleteRecords" or "compaction" (the pass emptied it).
	EventSegmentDeleted
	// EventCompacted: a compaction pass over Topic/Partition ended (K35); Count records were
	// removed, and the log is clean below Offset (the cleaner checkpoint). Reason is set when
	// the pass failed part way; the segments it had cleaned stay cleaned.
	EventCompacted
	// EventGroupCreated: consumer group Group became known to the coordinator, Empty, on its
	// first request or at [Log.NewGroupConsumer].
	EventGroupCreated
	// EventMemberJoined: Member (InstanceID for a static member) joined Group, which has
	// Count members. A static member that rejoins under a new member id is EventMemberLeft
	// for the old id then EventMemberJoined for the new, with Reason saying so.
	EventMemberJoined
	// EventMemberRejoined: Member's JoinGroup joined the rebalance in progress in Group;
	// Count is the members.
	EventMemberRejoined
	// EventMemberLeft: Member left Group by LeaveGroup (Reason "LeaveGroup"), or was fenced
	// by a newer incarnation of its group.instance.id; Count members remain.
	EventMemberLeft
	// EventMemberExpired: Group dropped Member: Reason "session timed out" (K23), or it did
	// not rejoin before the rebalance timeout; Count members remain.
	EventMemberExpired
	// EventRebalancing: Group entered PreparingRebalance, replacing Generation; Reason and
	// Member say what started it (a member joining, leaving, expiring, rejoining with new
	// metadata, the leader rejoining). Count is the members.
	EventRebalancing
	// EventJoinCompleted: the join phase of Group ended: CompletingRebalance at a new
	// Generation of Count members with Protocol; Member is the leader, whose SyncGroup comes
	// next.
	EventJoinCompleted
	// EventStable: Group became Stable at Generation with Count members: the leader's
	// SyncGroup handed out the assignment DescribeGroup now shows.
	EventStable
	// EventGroupEmpty: Group's join phase ended with no member left: it is Empty at
	// Generation.
	EventGroupEmpty
	// EventGroupDeleted: Group and its committed offsets were deleted: Reason
	// "DeleteGroups", or "offsets expired" (K18).
	EventGroupDeleted
	// EventCommitted: Group committed Offset for Topic/Partition (one event per partition of
	// a commit), durably: DescribeGroup, GroupLag and OffsetFetch see it. Member and
	// Generation are the committer's (Generation -1 outside any generation);
	// TransactionalID is set for offsets committed by a transaction, emitted when it commits.
	EventCommitted
	// EventOffsetDeleted: Group's committed offset for Topic/Partition, Offset, was deleted
	// by an OffsetDelete ([Requests.DeleteOffsets]).
	EventOffsetDeleted
	// EventTxnCommitted: the transaction of TransactionalID (ProducerID) committed: its
	// markers are durable in its Count partitions and its offsets committed. Reason is set
	// when another step than EndTxn finished it.
	EventTxnCommitted
	// EventTxnAborted: the transaction of TransactionalID (ProducerID) aborted: its abort
	// markers are durable in its Count partitions. Reason says why ("AbortTransaction", a
	// failed commit, a timeout, a new producer with the same id).
	EventTxnAborted
	// EventFetched: Count records of Topic/Partition from Offset were read from the log: by
	// [Log.Fetch], by a [Consumer] or [GroupConsumer] filling its fetch buffer (which Poll
	// then hands out max.poll.records at a time), or by the Kafka front door's Fetch (Count
	// counts the records of the stored batches it sends, control records included). A read
	// that finds nothing is not an event.
	EventFetched
	// EventAssigned, EventRevoked, EventLost: a native [GroupConsumer], Member of Group at
	// Generation, was assigned, gave up, or lost (its ownership was already gone, as after a
	// session expiry) the Count partitions in Partitions, as its [RebalanceListener] is told
	// at the same point, whether or not it has one. With an eager assignor a rebalance revokes
	// every owned partition and assigns the new share; with cooperative-sticky only the
	// partitions that move are revoked, and Assigned lists only those added (KIP-429). A
	// Kafka client's own steps are its own and give no such event; what the coordinator
	// handed it is EventSynced.
	EventAssigned
	EventRevoked
	EventLost
	// EventSynced: in a group of Kafka consumers, the leader's SyncGroup gave Member its
	// assignment for Generation: the Count partitions in Partitions, in the leader's order.
	// One per member, after the group's EventStable, whatever the member's client: a Kafka
	// client through the front door as well as a native GroupConsumer, which reports
	// EventAssigned (and, cooperative, what it keeps) on its side once it takes them. Reason
	// is "malformed assignment" when the leader's bytes are not a consumer assignment.
	EventSynced
)

var eventNames = [...]string{"", "topic-created", "topic-deleted", "partitions-created", "topic-config-changed",
	"appended", "records-deleted", "segment-rolled", "segment-deleted", "compacted", "group-created",
	"member-joined", "member-rejoined", "member-left", "member-expired", "rebalancing", "join-completed",
	"stable", "group-empty", "group-deleted", "committed", "offset-deleted", "txn-committed", "txn-aborted",
	"fetched", "assigned", "revoked", "lost", "synced"}

// String returns the event's name, such as "appended".
func (k EventKind) String() string {
	if int(k) < len(eventNames) {
		return eventNames[k]
	}
	return "unknown"
}

// Event is one lifecycle event of a [Log]; see [EventKind] for the fields each kind sets.
// Fields that do not apply are zero.
type Event struct {
	Kind      EventKind
	Time      time.Time // when it was emitted
	Topic     string
	Partition int32
	// Offset is the first offset of an appended batch, the committed offset of a commit, the
	// new log start offset, or a segment's base offset.
	Offset int64
	// Count is the records appended or removed, the partitions of a topic or a transaction,
	// or the members of a group.
	Count      int
	Group      string
	Member     string // the member concerned, the committer, or the leader (EventJoinCompleted)
	InstanceID string // the member's group.instance.id, for a static member
	// Generation is, for a group's events, its generation when the event was made (the one
	// being replaced, for EventRebalancing); for EventCommitted, the committer's.
	Generation      int32
	Protocol        string // EventJoinCompleted: the assignor the members agreed on
	Reason          string // why, for the kinds that give one
	TransactionalID string
	ProducerID      int64 // the idempotent or transactional producer, 0 for none
	Transactional   bool  // EventAppended: a transactional batch
	Control         bool  // EventAppended: a transaction marker
	// Partitions are the partitions of EventAssigned, EventRevoked and EventLost; the
	// observer owns the slice.
	Partitions []TopicPartition
}

// observed reports whether the log has an observer. Callers check it before they build an
// event, so that a Log nobody observes builds none.
func (l *Log) observed() bool { return l.obs.Observed() }

// emit calls the observer with e, stamped now if it has no time. The observer may have been
// removed since the caller checked observed; then the event goes nowhere.
func (l *Log) emit(e Event) {
	if obs := l.obs.Load(); obs != nil {
		if e.Time.IsZero() {
			e.Time = time.Now()
		}
		obs(e)
	}
}

// SetObserver replaces the log's observer ([Options.Observer]); nil removes it, and then the
// log builds no event at all. It is safe to call at any time, from any goroutine: an event
// being emitted while it runs reaches the old observer or the new one, and every event
// emitted after it returns reaches the new one.
func (l *Log) SetObserver(fn func(Event)) {
	l.obs.Set(fn)
	if l.coord != nil { // nil only while Open builds the Log
		l.coord.SetNotes(fn != nil) // groups nobody observes make no notes
	}
}

// emitFetched emits EventFetched for n records of p from offset, if n > 0.
func (l *Log) emitFetched(p *partition, offset int64, n int) {
	if n > 0 {
		l.emit(Event{Kind: EventFetched, Topic: p.topic, Partition: p.id, Offset: offset, Count: n})
	}
}

// groupEvents maps the coordinator's notes to event kinds.
var groupEvents = [...]EventKind{group.NoteCreated: EventGroupCreated, group.NoteJoined: EventMemberJoined,
	group.NoteRejoined: EventMemberRejoined, group.NoteLeft: EventMemberLeft, group.NoteExpired: EventMemberExpired,
	group.NoteRebalancing: EventRebalancing, group.NoteJoinCompleted: EventJoinCompleted, group.NoteStable: EventStable,
	group.NoteEmpty: EventGroupEmpty, group.NoteSynced: EventSynced}

// syncedPartitions decodes an assignment for EventSynced: its partitions and their count, or
// a reason when the leader sent bytes that are not a consumer assignment.
func syncedPartitions(data []byte) (int, []TopicPartition, string) {
	a, err := group.DecodeAssignment(data)
	if err != nil {
		return 0, nil, "malformed assignment"
	}
	var tps []TopicPartition
	for _, t := range a.Partitions {
		for _, p := range t.Partitions {
			tps = append(tps, TopicPartition{Topic: t.Topic, Partition: p})
		}
	}
	return len(tps), tps, ""
}

// observeGroups returns the coordinator's observer: it emits the groups' notes as events
// while the Log has an observer (SetObserver switches the notes on and off).
func (l *Log) observeGroups() func(id string, n group.Note) {
	return func(id string, n group.Note) {
		if !l.observed() || int(n.Kind) >= len(groupEvents) || groupEvents[n.Kind] == 0 {
			return
		}
		e := Event{Kind: groupEvents[n.Kind], Group: id, Member: n.Member, InstanceID: n.InstanceID,
			Generation: n.Generation, Count: n.Members, Protocol: n.Protocol, Reason: n.Reason}
		if n.Kind == group.NoteSynced {
			e.Count, e.Partitions, e.Reason = syncedPartitions(n.Assignment)
		}
		l.emit(e)
	}
}
