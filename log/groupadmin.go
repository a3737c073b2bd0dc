package log

import (
	"cmp"
	"fmt"
	"slices"
	"time"
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
	g := l.lookupGroup(id)
	if g == nil {
		offs, err := l.committedOffsets(id)
		if err != nil {
			return GroupDescription{}, err
		}
		if len(offs) == 0 {
			return GroupDescription{}, fmt.Errorf("%w: %q", ErrUnknownGroup, id)
		}
		return GroupDescription{ID: id, State: GroupEmpty}, nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	d := GroupDescription{ID: id, State: g.state, Generation: g.generation, Protocol: g.protocol, Leader: g.leader}
	for _, m := range g.members {
		d.Members = append(d.Members, MemberDescription{MemberID: m.id, InstanceID: m.instanceID,
			Topics: g.subscribedTopics(m), Assignment: slices.Clone(m.assignment)})
	}
	slices.SortFunc(d.Members, func(a, b MemberDescription) int { return cmp.Compare(a.MemberID, b.MemberID) })
	return d, nil
}

// ListGroups returns the ids of every group that has members or committed offsets, sorted.
func (l *Log) ListGroups() ([]string, error) {
	ids, err := l.offsetGroups()
	if err != nil {
		return nil, err
	}
	for _, g := range l.allGroups() {
		g.mu.Lock()
		if len(g.members) > 0 {
			ids = append(ids, g.id)
		}
		g.mu.Unlock()
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
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
	if g := l.lookupGroup(id); g != nil {
		g.mu.Lock()
		for _, m := range g.members {
			for _, tp := range m.assignment {
				tps[tp] = true
			}
		}
		g.mu.Unlock()
	}
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
	return l.commitOffsets(id, offsets)
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
	g := l.lookupGroup(id)
	if len(offs) == 0 && g == nil {
		return fmt.Errorf("%w: %q", ErrUnknownGroup, id)
	}
	if err := l.deleteOffsets(id); err != nil {
		return err
	}
	l.forgetGroup(id)
	return nil
}

// requireEmpty fails with ErrGroupNotEmpty if group id has members.
func (l *Log) requireEmpty(id string) error {
	g := l.lookupGroup(id)
	if g == nil {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.members) > 0 {
		return fmt.Errorf("%w: %q has %d", ErrGroupNotEmpty, id, len(g.members))
	}
	return nil
}

// forgetGroup drops an empty group from the coordinator.
func (l *Log) forgetGroup(id string) {
	c := &l.coord
	c.mu.Lock()
	defer c.mu.Unlock()
	if g := c.groups[id]; g != nil {
		g.mu.Lock()
		if len(g.members) == 0 {
			g.state = GroupDead
			delete(c.groups, id)
		}
		g.mu.Unlock()
	}
}

// expireGroupOffsets deletes the committed offsets of groups that have been empty, and have
// not committed, for longer than the offsets retention (K18). Retention runs it.
func (l *Log) expireGroupOffsets(now time.Time) error {
	expired, err := l.expireOffsets(now, l.offsetsRetention, func(id string) (time.Time, bool) {
		g := l.lookupGroup(id)
		if g == nil {
			return time.Time{}, true // never had members since the log opened
		}
		g.mu.Lock()
		defer g.mu.Unlock()
		return g.emptySince, len(g.members) == 0
	})
	for _, id := range expired {
		l.forgetGroup(id)
	}
	return err
}
