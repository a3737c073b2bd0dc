package log

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/tribusmq/tribus/log/internal/group"
)

// GroupDescription is a consumer group as DescribeGroups reports it.
type GroupDescription struct {
	ID         string
	State      GroupState
	Generation int32
	// Protocol is the assignor the group agreed on, "" when it has no members.
	Protocol string
	// Leader is the member id of the leader, "" when the group has no members.
	Leader string
	// Members are sorted by member id.
	Members []MemberDescription
}

// MemberDescription is one member of a described group.
type MemberDescription struct {
	MemberID   string
	InstanceID string
	// Topics are the existing topics the member subscribes to.
	Topics []string
	// Assignment is what the last completed rebalance gave the member.
	Assignment []TopicPartition
}

// DescribeGroup returns group id's state, generation, members and assignment. A group known
// only by its committed offsets is Empty. It fails with [ErrUnknownGroup] for a group that
// has neither members nor offsets.
func (l *Log) DescribeGroup(id string) (GroupDescription, error) {
	if err := l.checkOpen(); err != nil {
		return GroupDescription{}, err
	}
	var d GroupDescription
	var views []*memberView
	found := l.coord.Describe(id, func(g *group.Group) {
		d = GroupDescription{ID: id, State: groupStates[g.State()], Generation: g.Generation(), Protocol: g.Protocol(),
			Leader: g.Leader()}
		ms := g.Members()
		d.Members, views = make([]MemberDescription, len(ms)), make([]*memberView, len(ms))
		for i, m := range ms {
			d.Members[i] = MemberDescription{MemberID: m.ID, InstanceID: m.InstanceID}
			views[i] = viewOf(g, m)
		}
	})
	if !found {
		offs, err := l.committedOffsets(id)
		if err != nil {
			return GroupDescription{}, err
		}
		if len(offs) == 0 {
			return GroupDescription{}, fmt.Errorf("%w: %q", ErrUnknownGroup, id)
		}
		return GroupDescription{ID: id, State: GroupEmpty}, nil
	}
	for i, v := range views { // a view never changes once made: read outside the group's lock
		d.Members[i].Topics = l.existingTopics(v.topics)
		d.Members[i].Assignment = slices.Clone(v.assignment)
	}
	slices.SortFunc(d.Members, func(a, b MemberDescription) int { return cmp.Compare(a.MemberID, b.MemberID) })
	return d, nil
}

// memberView is a consumer group member's subscription and assignment, decoded from the
// consumer protocol's encoding once and kept with the member (group.Member.View) until they
// change. Its slices are never modified.
type memberView struct {
	protocol   string           // the group protocol whose metadata topics came from
	topics     []string         // subscribed, sorted, without repeats
	assignment []TopicPartition // sorted, never nil
}

var emptyView = &memberView{assignment: []TopicPartition{}}

// viewOf returns m's view, decoding it if m has none for the group's protocol. What does not
// decode (a member that is not a consumer under the consumer protocol type) reads as nothing.
// It runs under the group's lock.
func viewOf(g *group.Group, m *group.Member) *memberView {
	if v, ok := m.View.(*memberView); ok && v.protocol == g.Protocol() {
		return v
	}
	if g.ProtocolType() != consumerProtocol || len(m.Protocols) == 0 {
		return emptyView
	}
	md := m.Protocols[0].Metadata
	for _, p := range m.Protocols {
		if p.Name == g.Protocol() {
			md = p.Metadata
		}
	}
	v := &memberView{protocol: g.Protocol(), assignment: []TopicPartition{}}
	if sub, err := group.DecodeSubscription(md); err == nil {
		v.topics = slices.Compact(slices.Sorted(slices.Values(sub.Topics)))
	}
	if a, err := group.DecodeAssignment(m.Assignment); err == nil && len(a.Partitions) > 0 {
		v.assignment = toTopicPartitions(a.Partitions)
	}
	m.View = v
	return v
}

// ListGroups returns the ids of every group that has members or committed offsets, sorted.
func (l *Log) ListGroups() ([]string, error) {
	ids, err := l.offsetGroups()
	if err != nil {
		return nil, err
	}
	for _, id := range l.coord.IDs() {
		if l.groupMembers(id) > 0 {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

// groupMembers returns how many members group id has.
func (l *Log) groupMembers(id string) int {
	n := 0
	l.coord.Describe(id, func(g *group.Group) { n = len(g.Members()) })
	return n
}

// PartitionLag is a group's progress on one partition.
type PartitionLag struct {
	// Committed is the group's committed offset, -1 if it has none.
	Committed int64
	// End is the partition's end offset (high watermark).
	End int64
	// Lag is End - Committed, or End - log start offset when nothing is committed (what the
	// group would have to read from the beginning).
	Lag int64
}

// GroupLag returns, for every partition the group has committed offsets for or its members
// are assigned, how far the group is behind the end of the partition.
func (l *Log) GroupLag(id string) (map[TopicPartition]PartitionLag, error) {
	offs, err := l.committedOffsets(id)
	if err != nil {
		return nil, err
	}
	tps := map[TopicPartition]bool{}
	for tp := range offs {
		tps[tp] = true
	}
	l.coord.Describe(id, func(g *group.Group) {
		for _, m := range g.Members() {
			for _, tp := range viewOf(g, m).assignment {
				tps[tp] = true
			}
		}
	})
	out := make(map[TopicPartition]PartitionLag, len(tps))
	for tp := range tps {
		end, _, err := l.ListOffsets(tp.Topic, tp.Partition, Latest)
		if err != nil {
			continue // the topic went away
		}
		lag := PartitionLag{Committed: -1, End: end}
		if om, ok := offs[tp]; ok {
			lag.Committed = om.Offset
			lag.Lag = max(end-om.Offset, 0)
		} else {
			start, _, err := l.ListOffsets(tp.Topic, tp.Partition, Earliest)
			if err != nil {
				continue
			}
			lag.Lag = end - start
		}
		out[tp] = lag
	}
	return out, nil
}

// ResetGroupOffsets sets group id's committed offset for each of tps, as
// kafka-consumer-groups --reset-offsets does: to spec, one of [Earliest], [Latest], or a
// non-negative offset (clamped into the partition's range), or, with at non-zero, to the first
// offset whose timestamp is at or after at. The group must have no members
// ([ErrGroupNotEmpty]).
func (l *Log) ResetGroupOffsets(id string, spec int64, at time.Time, tps ...TopicPartition) error {
	if err := validGroupID(id); err != nil {
		return err
	}
	if err := l.requireEmpty(id); err != nil {
		return err
	}
	offsets := make(map[TopicPartition]OffsetAndMetadata, len(tps))
	for _, tp := range tps {
		var off int64
		var err error
		switch {
		case !at.IsZero():
			off, _, err = l.ListOffsets(tp.Topic, tp.Partition, at.UnixMilli())
			if err == nil && off < 0 { // nothing that late: the end
				off, _, err = l.ListOffsets(tp.Topic, tp.Partition, Latest)
			}
		case spec == Earliest || spec == Latest:
			off, _, err = l.ListOffsets(tp.Topic, tp.Partition, spec)
		case spec >= 0:
			var start, end int64
			if start, _, err = l.ListOffsets(tp.Topic, tp.Partition, Earliest); err == nil {
				end, _, err = l.ListOffsets(tp.Topic, tp.Partition, Latest)
			}
			off = min(max(spec, start), end)
		default:
			err = fmt.Errorf("%w: %d", ErrInvalidCommitOffset, spec)
		}
		if err != nil {
			return err
		}
		offsets[tp] = OffsetAndMetadata{Offset: off, LeaderEpoch: -1}
	}
	return l.commitOffsets(GroupMetadata{GroupID: id, Generation: -1}, offsets)
}

// DeleteGroup deletes group id and its committed offsets. The group must have no members
// ([ErrGroupNotEmpty]); a group with neither members nor offsets is [ErrUnknownGroup].
func (l *Log) DeleteGroup(id string) error {
	if err := validGroupID(id); err != nil {
		return err
	}
	if err := l.requireEmpty(id); err != nil {
		return err
	}
	offs, err := l.committedOffsets(id)
	if err != nil {
		return err
	}
	known := slices.Contains(l.coord.IDs(), id)
	if len(offs) == 0 && !known {
		return fmt.Errorf("%w: %q", ErrUnknownGroup, id)
	}
	nonEmpty, err := l.coord.Delete(id)
	switch {
	case err != nil:
		return ErrClosed
	case nonEmpty: // a member joined since requireEmpty looked
		return fmt.Errorf("%w: %q", ErrGroupNotEmpty, id)
	}
	if err := l.deleteOffsets(id, false); err != nil {
		return err
	}
	if l.observed() {
		l.emit(Event{Kind: EventGroupDeleted, Group: id, Reason: "DeleteGroups"})
	}
	return nil
}

// requireEmpty fails with ErrGroupNotEmpty if group id has members.
func (l *Log) requireEmpty(id string) error {
	if n := l.groupMembers(id); n > 0 {
		return fmt.Errorf("%w: %q has %d", ErrGroupNotEmpty, id, n)
	}
	return nil
}

// expireGroupOffsets deletes the committed offsets of groups that have been empty, and have
// not committed, for longer than the offsets retention (K18). Retention runs it.
func (l *Log) expireGroupOffsets(now time.Time) error {
	expired, err := l.expireOffsets(now, l.offsetsRetention, func(id string) (since time.Time, empty bool) {
		empty = true // a group the coordinator does not know has had no members since the log opened
		l.coord.Describe(id, func(g *group.Group) { since, empty = g.EmptySince(), len(g.Members()) == 0 })
		return since, empty
	})
	for _, id := range expired {
		_, _ = l.coord.Delete(id)
		if l.observed() {
			l.emit(Event{Kind: EventGroupDeleted, Group: id, Reason: "offsets expired"})
		}
	}
	return err
}

// ExpireSession ends the session of member in consumer group id now, as the coordinator does
// when the member sends no heartbeat for its session timeout (K23), without waiting for it:
// the group drops the member (EventMemberExpired, Reason "session timed out") and rebalances
// among the others, and the member, if it is still running, learns at its next heartbeat that
// it is out (its partitions are lost, not revoked) and joins again as a new member. It is for
// tests and demonstrations of a crash that cannot wait out a session. A member whose JoinGroup
// or SyncGroup is waiting is alive, as in Kafka, and stays. It returns [ErrUnknownGroup] for a
// group the coordinator does not have, and [ErrUnknownMember] for a member it lacks or keeps.
func (l *Log) ExpireSession(id, member string) error {
	if err := l.checkOpen(); err != nil {
		return err
	}
	if !l.coord.Describe(id, func(*group.Group) {}) {
		return fmt.Errorf("%w: %q", ErrUnknownGroup, id)
	}
	removed, err := l.coord.ExpireSession(id, member)
	if err != nil {
		return closedOr(err)
	}
	if !removed {
		return fmt.Errorf("%w: %q is not a member of group %q whose session can expire", ErrUnknownMember, member, id)
	}
	return nil
}

// RebalanceGroup makes consumer group id rebalance now, as a member's enforceRebalance
// (KIP-568) would: each member learns it at its next heartbeat, gives up its partitions as
// its assignor says (all of them under an eager one), and joins again, and the group is Stable
// again at the next generation. A group already rebalancing, or with no members, is left as it
// is. It is for tests and operators. It returns [ErrUnknownGroup] for a group the coordinator
// does not have.
func (l *Log) RebalanceGroup(id string) error {
	if err := l.checkOpen(); err != nil {
		return err
	}
	if !l.coord.Describe(id, func(*group.Group) {}) {
		return fmt.Errorf("%w: %q", ErrUnknownGroup, id)
	}
	_, err := l.coord.Rebalance(id, "requested")
	return closedOr(err)
}
