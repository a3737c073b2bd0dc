package log

import (
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/tribusmq/tribus/log/internal/group"
)

// This file joins the Log to its group coordinator (log/internal/group): the coordinator
// decides membership, generations and leaders from JoinGroup, SyncGroup, Heartbeat, LeaveGroup
// and OffsetCommit requests, as Kafka's does (K19–K29); the Log adds what only it knows
// (topics, committed offsets) and maps the coordinator's error codes to this package's
// sentinels. A [GroupConsumer] is a client of the same requests.

// GroupState is a consumer group's state, as Kafka's DescribeGroups reports it.
type GroupState string

// Group states. A group with no members is Empty; a rebalance moves it to PreparingRebalance
// until every member has rejoined (or been dropped), then to CompletingRebalance with a new
// generation until the leader's SyncGroup hands out the assignment, then to Stable.
const (
	GroupEmpty               GroupState = "Empty"
	GroupPreparingRebalance  GroupState = "PreparingRebalance"
	GroupCompletingRebalance GroupState = "CompletingRebalance"
	GroupStable              GroupState = "Stable"
	GroupDead                GroupState = "Dead"
)

// Group timing defaults and limits (Kafka 3.9, §2.5).
const (
	DefaultSessionTimeout     = 45 * time.Second // session.timeout.ms (K23)
	DefaultHeartbeatInterval  = 3 * time.Second  // heartbeat.interval.ms
	DefaultMaxPollInterval    = 5 * time.Minute  // max.poll.interval.ms (K24)
	DefaultAutoCommitInterval = 5 * time.Second  // auto.commit.interval.ms (K30)
	MinSessionTimeout         = 6 * time.Second  // group.min.session.timeout.ms
	MaxSessionTimeout         = 30 * time.Minute // group.max.session.timeout.ms
)

// consumerProtocol is the protocol type of consumer groups.
const consumerProtocol = group.ConsumerProtocolType

// newCoordinator returns the coordinator of a Log whose new groups wait delay for more
// members before their first rebalance; observe is told of their changes (nil: nobody).
func newCoordinator(delay time.Duration, idSeed uint64, observe func(string, group.Note)) *group.Coordinator {
	return group.NewCoordinator(group.Config{MinSessionTimeout: MinSessionTimeout, MaxSessionTimeout: MaxSessionTimeout,
		InitialRebalanceDelay: delay, IDSeed: idSeed}, observe)
}

var groupStates = [...]GroupState{group.Empty: GroupEmpty, group.PreparingRebalance: GroupPreparingRebalance,
	group.CompletingRebalance: GroupCompletingRebalance, group.Stable: GroupStable, group.Dead: GroupDead}

// codeError returns the error of a group request answered with code, nil for None.
func codeError(code group.Code, groupID string) error {
	switch code {
	case group.None:
		return nil
	case group.UnknownMemberID:
		return fmt.Errorf("%w: unknown member in group %q", ErrUnknownMember, groupID)
	case group.InconsistentGroupProtocol:
		return fmt.Errorf("%w: no assignor every member of %q supports", ErrInconsistentGroupProtocol, groupID)
	case group.InvalidSessionTimeout:
		return fmt.Errorf("%w: refused by group %q", ErrInvalidSessionTimeout, groupID)
	case group.FencedInstanceID:
		return fmt.Errorf("%w: in group %q", ErrFencedInstanceID, groupID)
	}
	return fmt.Errorf("tribus/log: group %q answered error code %d", groupID, code)
}

// checkGroup checks that gm may commit for its group now (K20), as OffsetCommit and
// TxnOffsetCommit do: a member of the current generation, or, for a group with no members, a
// committer outside any generation (no member id, a negative generation).
func (l *Log) checkGroup(gm GroupMetadata) error {
	code, err := l.coord.Commit(gm.GroupID, gm.MemberID, gm.GroupInstanceID, gm.Generation)
	if err != nil {
		return ErrClosed
	}
	switch code {
	case group.None:
		return nil
	case group.UnknownMemberID:
		if gm.MemberID == "" {
			return fmt.Errorf("%w: group %q has members; commit as one of them", ErrCommitFailed, gm.GroupID)
		}
		return fmt.Errorf("%w: unknown member %q in group %q", ErrCommitFailed, gm.MemberID, gm.GroupID)
	case group.IllegalGeneration:
		return fmt.Errorf("%w: generation %d is not group %q's", ErrCommitFailed, gm.Generation, gm.GroupID)
	case group.RebalanceInProgress:
		return fmt.Errorf("%w: group %q is completing a rebalance", ErrCommitFailed, gm.GroupID)
	}
	return fmt.Errorf("%w: %w", ErrCommitFailed, codeError(code, gm.GroupID))
}

// metadata returns a channel closed at the next change of the topics or their partition
// counts: a consumer compares what it subscribed to, or assigned, once it is closed.
func (l *Log) metadata() <-chan struct{} {
	return *l.meta.Load()
}

// topicsChanged tells consumers that topics or partitions were created or deleted (K21).
func (l *Log) topicsChanged() {
	ch := make(chan struct{})
	close(*l.meta.Swap(&ch))
}

// newMetadata returns the value of Log.meta for a new Log.
func newMetadata() *atomic.Pointer[chan struct{}] {
	var p atomic.Pointer[chan struct{}]
	ch := make(chan struct{})
	p.Store(&ch)
	return &p
}

// partitionCounts returns the partition count of each of topics that exists.
func (l *Log) partitionCounts(topics []string) map[string]int32 {
	out := make(map[string]int32, len(topics))
	for _, name := range topics {
		if t, err := l.topic(name); err == nil {
			out[name] = int32(len(t.parts))
		}
	}
	return out
}

// existingTopics returns the topics of names that exist, sorted, without repeats.
func (l *Log) existingTopics(names []string) []string {
	var out []string
	for _, name := range names {
		if _, err := l.topic(name); err == nil {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// toTopicPartitions converts the consumer protocol's topic lists to TopicPartitions, sorted.
func toTopicPartitions(in []group.TopicPartitions) []TopicPartition {
	n := 0
	for _, tp := range in {
		n += len(tp.Partitions)
	}
	if n == 0 {
		return nil
	}
	out := make([]TopicPartition, 0, n)
	for _, tp := range in {
		for _, p := range tp.Partitions {
			out = append(out, TopicPartition{Topic: tp.Topic, Partition: p})
		}
	}
	slices.SortFunc(out, compareTP)
	return out
}

// fromTopicPartitions converts TopicPartitions to the consumer protocol's topic lists.
func fromTopicPartitions(in []TopicPartition) []group.TopicPartitions {
	if len(in) == 0 {
		return nil
	}
	sorted := slices.Clone(in)
	slices.SortFunc(sorted, compareTP)
	topics := 1
	for i := 1; i < len(sorted); i++ {
		if sorted[i].Topic != sorted[i-1].Topic {
			topics++
		}
	}
	// Three allocations whatever the size: the sorted copy, the topics, and one array that
	// every topic's partitions are a piece of.
	out := make([]group.TopicPartitions, 0, topics)
	parts := make([]int32, len(sorted))
	start := 0
	for i, tp := range sorted {
		parts[i] = tp.Partition
		if i+1 == len(sorted) || sorted[i+1].Topic != tp.Topic {
			out = append(out, group.TopicPartitions{Topic: tp.Topic, Partitions: parts[start : i+1 : i+1]})
			start = i + 1
		}
	}
	return out
}
