package log

import (
	"cmp"
	"fmt"
	"slices"
)

// This file is the assignment core of consumer groups: pure functions from a group's members
// and the partition counts of their topics to who reads what (§2.2 of SEMANTICS.md). No locks,
// no clock, no I/O; the group coordinator calls them and acts on the answer.

// GroupMember is one member of a consumer group as an assignor sees it.
type GroupMember struct {
	// ID is the member id the coordinator gave the member. It must be non-empty and unique in
	// the group; the assignment is keyed by it.
	ID string
	// InstanceID is the group.instance.id of a static member (KIP-345), or "" for a dynamic
	// one. Assignors order static members first, by instance id, then dynamic ones by member
	// id, as Kafka's do.
	InstanceID string
	// Topics are the topics the member subscribes to; order and repeats do not matter. A topic
	// missing from the partition counts given to Assign is ignored.
	Topics []string
	// Owned are the partitions the member holds as it joins this rebalance (the cooperative
	// protocol's owned partitions). Only [CooperativeStickyAssignor] reads it; a member of an
	// eager group, which revoked everything before joining, leaves it empty.
	Owned []TopicPartition
	// Generation is the group generation in which the member was given Owned. When two members
	// claim the same partition, the claim with the higher generation stands; claims of equal
	// generation void each other.
	Generation int32
}

// Assignor decides which member of a consumer group reads which partition
// (partition.assignment.strategy). Implementations are pure and deterministic: the same
// members, in any order, and the same partition counts always give the same answer.
type Assignor interface {
	// Name is the protocol name members advertise when they join: "range", "roundrobin",
	// "cooperative-sticky".
	Name() string
	// Cooperative reports whether the assignor follows the cooperative protocol (KIP-429): a
	// member keeps its partitions through a rebalance and revokes only those that move,
	// instead of revoking everything when the rebalance starts (K25).
	Cooperative() bool
	// Assign maps each member id to its partitions for this round. partitions maps a topic to
	// its partition count. Every member appears in the result, with an empty (non-nil) slice
	// if it gets nothing; each slice is sorted by topic, then partition; a partition goes to at
	// most one member, and only to a member subscribed to its topic. An empty or repeated
	// member id, or a negative partition count, is an error wrapping [ErrInvalidGroupMember],
	// and nothing is assigned. The caller owns the returned map and slices.
	Assign(members []GroupMember, partitions map[string]int32) (map[string][]TopicPartition, error)
}

// Protocol names of the built-in assignors, as Kafka's clients advertise them.
const (
	RangeName             = "range"
	RoundRobinName        = "roundrobin"
	CooperativeStickyName = "cooperative-sticky"
)

// DefaultAssignors returns Kafka's default partition.assignment.strategy, range first and
// cooperative-sticky second (K26), in a new slice the caller owns.
func DefaultAssignors() []Assignor {
	return []Assignor{RangeAssignor{}, CooperativeStickyAssignor{}}
}

// SelectProtocol chooses the assignor a group uses, the way Kafka's group coordinator does.
// prefs holds each member's assignor names in its order of preference, the leader's first.
// Only a name every member lists is a candidate; each member votes for the first candidate in
// its own list, and the candidate with the most votes wins, ties going to the one the leader
// prefers. So under the default [range, cooperative-sticky] the group uses range, and
// cooperative-sticky only once every member supports it and prefers it or lists nothing else
// in common (K26). With no members, or no name common to all, it returns
// [ErrInconsistentGroupProtocol].
func SelectProtocol(prefs [][]string) (string, error) {
	if len(prefs) == 0 {
		return "", fmt.Errorf("%w: no members", ErrInconsistentGroupProtocol)
	}
	common := map[string]bool{}
	for _, name := range prefs[0] {
		common[name] = true
	}
	for _, list := range prefs[1:] {
		for name := range common {
			if !slices.Contains(list, name) {
				delete(common, name)
			}
		}
	}
	if len(common) == 0 {
		return "", fmt.Errorf("%w: no assignor every member supports", ErrInconsistentGroupProtocol)
	}
	votes := map[string]int{}
	for _, list := range prefs {
		for _, name := range list {
			if common[name] {
				votes[name]++
				break
			}
		}
	}
	best := -1
	for i, name := range prefs[0] { // the leader's order breaks ties
		if common[name] && (best < 0 || votes[name] > votes[prefs[0][best]]) {
			best = i
		}
	}
	return prefs[0][best], nil
}

// Revocations returns, for each member that must give up partitions, the partitions it owns
// (GroupMember.Owned) that assignment no longer gives it, sorted. Members with nothing to
// revoke are left out. Under the cooperative protocol these are the only partitions a member
// revokes (K25). The caller owns the result.
func Revocations(members []GroupMember, assignment map[string][]TopicPartition) map[string][]TopicPartition {
	out := map[string][]TopicPartition{}
	for _, m := range members {
		var gone []TopicPartition
		for _, tp := range m.Owned {
			if !slices.Contains(assignment[m.ID], tp) && !slices.Contains(gone, tp) {
				gone = append(gone, tp)
			}
		}
		if len(gone) > 0 {
			slices.SortFunc(gone, compareTP)
			out[m.ID] = gone
		}
	}
	return out
}

// NeedsFollowUp reports whether a cooperative rebalance that produced assignment must be
// followed by another one: true when some member revokes a partition it owns
// ([Revocations] is not empty). Such a member rejoins once it has revoked, and the follow-up
// rebalance hands the revoked partitions to their new owners (KIP-429).
func NeedsFollowUp(members []GroupMember, assignment map[string][]TopicPartition) bool {
	return len(Revocations(members, assignment)) > 0
}

// RangeAssignor is Kafka's RangeAssignor ("range"): topic by topic, the partitions are cut
// into contiguous ranges, one per subscribed member in sorted order, and the first P%C members
// get one partition more (§2.2, K28). It is eager.
type RangeAssignor struct{}

// Name returns "range".
func (RangeAssignor) Name() string { return RangeName }

// Cooperative returns false: range is an eager assignor.
func (RangeAssignor) Cooperative() bool { return false }

// Assign implements [Assignor]: for each topic with P partitions and C subscribed members,
// member i (in sorted order) gets the q+1 or q partitions starting at i*q+min(i,r), where
// q = P/C and r = P%C.
func (RangeAssignor) Assign(members []GroupMember, partitions map[string]int32) (map[string][]TopicPartition, error) {
	ms, out, err := prepareAssign(members, partitions)
	if err != nil {
		return nil, err
	}
	for _, topic := range subscribedTopics(ms, partitions) {
		var subs []*assignee
		for _, m := range ms {
			if m.subscribes(topic) {
				subs = append(subs, m)
			}
		}
		p, c := int(partitions[topic]), len(subs)
		q, r := p/c, p%c
		for i, m := range subs {
			start, n := i*q+min(i, r), q
			if i < r {
				n++
			}
			for k := start; k < start+n; k++ {
				out[m.ID] = append(out[m.ID], TopicPartition{Topic: topic, Partition: int32(k)})
			}
		}
	}
	return out, nil
}

// RoundRobinAssignor is Kafka's RoundRobinAssignor ("roundrobin"): every partition of every
// subscribed topic, sorted by topic and partition, is dealt to the sorted members in turn,
// passing over a member not subscribed to the partition's topic (§2.2, K28). It is eager.
type RoundRobinAssignor struct{}

// Name returns "roundrobin".
func (RoundRobinAssignor) Name() string { return RoundRobinName }

// Cooperative returns false: round-robin is an eager assignor.
func (RoundRobinAssignor) Cooperative() bool { return false }

// Assign implements [Assignor] by dealing partitions round the members as described on
// [RoundRobinAssignor]; the turn carries on from one topic to the next.
func (RoundRobinAssignor) Assign(members []GroupMember, partitions map[string]int32) (map[string][]TopicPartition, error) {
	ms, out, err := prepareAssign(members, partitions)
	if err != nil {
		return nil, err
	}
	next := 0
	for _, topic := range subscribedTopics(ms, partitions) {
		for k := range partitions[topic] {
			// Some member subscribes to topic, so this stops within one turn round the group.
			for !ms[next].subscribes(topic) {
				next = (next + 1) % len(ms)
			}
			id := ms[next].ID
			out[id] = append(out[id], TopicPartition{Topic: topic, Partition: k})
			next = (next + 1) % len(ms)
		}
	}
	return out, nil
}

// CooperativeStickyAssignor is Kafka's CooperativeStickyAssignor ("cooperative-sticky",
// KIP-429): a balanced assignment that leaves as many partitions as it can with the members
// that own them, used with the cooperative protocol.
//
// Balance: no partition can be handed, directly or along a chain of members, from a member to
// one holding two fewer partitions. Members with the same subscription therefore end within
// one partition of each other, each with the floor or ceiling of their fair share; when all
// subscriptions are equal, that is P/C or P/C+1 partitions each.
//
// Cooperation: a partition the balanced assignment moves from its owner to another member is
// not given to anyone in this round. Assign leaves it out, so its owner revokes it
// ([Revocations]) while keeping everything else, and [NeedsFollowUp] reports that a second
// rebalance is due; in that one nobody owns the partition any more and it goes to its new
// member (K25). A partition two members claim in the same generation is treated the same way:
// both revoke it first.
type CooperativeStickyAssignor struct{}

// Name returns "cooperative-sticky".
func (CooperativeStickyAssignor) Name() string { return CooperativeStickyName }

// Cooperative returns true.
func (CooperativeStickyAssignor) Cooperative() bool { return true }

// Assign implements [Assignor] as described on [CooperativeStickyAssignor]: it returns the
// partitions each member holds for this round, which leaves out the partitions on their way
// from one member to another.
func (CooperativeStickyAssignor) Assign(members []GroupMember, partitions map[string]int32) (map[string][]TopicPartition, error) {
	ms, out, err := prepareAssign(members, partitions)
	if err != nil {
		return nil, err
	}
	s := newStickyPlan(ms, partitions)
	s.placeFree()
	s.balance()
	for i, m := range ms {
		for _, tp := range s.hold[i] {
			if o, owned := s.owner[tp]; (owned && o != i) || s.contested[tp] {
				continue // moving: its owner revokes it first
			}
			out[m.ID] = append(out[m.ID], tp)
		}
	}
	return out, nil
}

// stickyPlan is the working state of [CooperativeStickyAssignor.Assign]. Members are referred
// to by their index in ms, which is in Kafka's member order.
type stickyPlan struct {
	ms         []*assignee
	partitions map[string]int32
	// subscribers lists, per topic, the indexes of the members subscribed to it, in order.
	subscribers map[string][]int
	// owner is the member whose claim on a partition stands (subscribed to its topic or not).
	owner map[TopicPartition]int
	// contested are the partitions claimed by several members in the same, highest generation.
	contested map[TopicPartition]bool
	// hold is, per member, the partitions the plan gives it, sorted; foreign counts those of
	// them the member does not own.
	hold    [][]TopicPartition
	foreign []int
}

// newStickyPlan settles the ownership claims and starts every member off with the partitions
// it owns and still subscribes to.
func newStickyPlan(ms []*assignee, partitions map[string]int32) *stickyPlan {
	s := &stickyPlan{ms: ms, partitions: partitions, subscribers: map[string][]int{},
		owner: map[TopicPartition]int{}, contested: map[TopicPartition]bool{},
		hold: make([][]TopicPartition, len(ms)), foreign: make([]int, len(ms))}
	for i, m := range ms {
		for _, t := range m.subs {
			if _, ok := partitions[t]; ok {
				s.subscribers[t] = append(s.subscribers[t], i)
			}
		}
	}
	for t := range s.subscribers {
		slices.Sort(s.subscribers[t])
	}
	gen := map[TopicPartition]int32{}
	for i, m := range ms {
		for _, tp := range m.Owned {
			if n, ok := partitions[tp.Topic]; !ok || tp.Partition < 0 || tp.Partition >= n {
				continue // gone: nothing to keep and nothing to wait for
			}
			prev, claimed := s.owner[tp]
			switch {
			case claimed && prev == i: // listed twice by the same member
			case !claimed && !s.contested[tp]:
				s.owner[tp], gen[tp] = i, m.Generation
			case m.Generation > gen[tp]:
				delete(s.contested, tp)
				s.owner[tp], gen[tp] = i, m.Generation
			case m.Generation == gen[tp]:
				delete(s.owner, tp)
				s.contested[tp] = true
			}
		}
	}
	for tp, i := range s.owner {
		if s.ms[i].subscribes(tp.Topic) {
			s.hold[i] = append(s.hold[i], tp)
		}
	}
	for i := range s.hold {
		slices.SortFunc(s.hold[i], compareTP)
	}
	return s
}

// placeFree gives each partition that nobody keeps to the subscribed member holding the
// fewest, the earliest in member order on a tie. With nothing owned that deals partitions out
// round the members, like round-robin.
func (s *stickyPlan) placeFree() {
	held := map[TopicPartition]bool{}
	for _, h := range s.hold {
		for _, tp := range h {
			held[tp] = true
		}
	}
	topics := make([]string, 0, len(s.subscribers))
	for t := range s.subscribers {
		topics = append(topics, t)
	}
	slices.Sort(topics)
	for _, t := range topics {
		for k := range s.partitions[t] {
			tp := TopicPartition{Topic: t, Partition: k}
			if held[tp] {
				continue
			}
			best := -1
			for _, i := range s.subscribers[t] {
				if best < 0 || len(s.hold[i]) < len(s.hold[best]) {
					best = i
				}
			}
			s.hold[best] = insertTP(s.hold[best], tp)
			s.foreign[best]++ // nobody kept it, so best does not own it
		}
	}
}

// balance shifts partitions from fuller members to emptier ones until no member can pass one,
// directly or along a chain, to a member holding two fewer. Each shift lowers the sum of the
// squares of the members' counts, so it ends; where it ends, the assignment is as even as the
// subscriptions allow (an optimal semi-matching). Shifts that move only partitions their
// holder does not own are tried first, to keep what members own.
func (s *stickyPlan) balance() {
	order := make([]int, len(s.ms))
	for i := range order {
		order[i] = i
	}
	for {
		slices.SortStableFunc(order, func(a, b int) int {
			if c := cmp.Compare(len(s.hold[b]), len(s.hold[a])); c != 0 {
				return c
			}
			return cmp.Compare(a, b)
		})
		// No member can go below the emptiest member that could take something.
		floor := -1
		for i, m := range s.ms {
			if (floor < 0 || len(s.hold[i]) < floor) && s.canTake(m) {
				floor = len(s.hold[i])
			}
		}
		shifted := false
	passes:
		for _, anyPartition := range []bool{false, true} {
			// A member that a failed search reached cannot succeed either in this pass:
			// it reaches no more than the source did, and holds no more.
			dead := make([]bool, len(s.ms))
			for _, src := range order {
				if len(s.hold[src])-2 < floor {
					break
				}
				if !dead[src] && s.shift(src, anyPartition, dead) {
					shifted = true
					break passes
				}
			}
		}
		if !shifted {
			return
		}
	}
}

// canTake reports whether m subscribes to a topic that has partitions.
func (s *stickyPlan) canTake(m *assignee) bool {
	for _, t := range m.subs {
		if s.partitions[t] > 0 {
			return true
		}
	}
	return false
}

// shift looks, breadth first, for a chain of members from src to one holding at most
// len(hold[src])-2 partitions, in which each member can take a partition of the one before,
// and applies it: src loses one partition, the last member gains one, the others keep their
// count. Unless anyPartition, it moves no partition that its holder owns. It reports whether
// it found a chain; if not, it marks every member it reached in dead.
func (s *stickyPlan) shift(src int, anyPartition bool, dead []bool) bool {
	type step struct {
		from int
		tp   TopicPartition
	}
	limit := len(s.hold[src]) - 2
	prev := make([]step, len(s.ms))
	seen := make([]bool, len(s.ms))
	seen[src] = true
	queue := []int{src}
	for len(queue) > 0 {
		x := queue[0]
		queue = queue[1:]
		hx := s.hold[x]
		if !anyPartition && s.foreign[x] == 0 {
			continue
		}
		// Topic by topic (hold is sorted, so each topic is a run), the highest partition x may
		// give away; from the end, so members keep their lowest partitions.
		for k := len(hx) - 1; k >= 0; {
			topic, found := hx[k].Topic, false
			var tp TopicPartition
			for ; k >= 0 && hx[k].Topic == topic; k-- {
				if o, owned := s.owner[hx[k]]; !found && (anyPartition || !owned || o != x) {
					tp, found = hx[k], true
				}
			}
			if !found {
				continue
			}
			for _, y := range s.subscribers[topic] {
				if seen[y] {
					continue
				}
				seen[y], prev[y] = true, step{x, tp}
				if len(s.hold[y]) > limit {
					queue = append(queue, y)
					continue
				}
				for z := y; z != src; z = prev[z].from {
					s.move(prev[z].tp, prev[z].from, z)
				}
				return true
			}
		}
	}
	for i, ok := range seen {
		if ok {
			dead[i] = true
		}
	}
	return false
}

// move hands tp from member from to member to.
func (s *stickyPlan) move(tp TopicPartition, from, to int) {
	o, owned := s.owner[tp]
	if !owned || o != from {
		s.foreign[from]--
	}
	if !owned || o != to {
		s.foreign[to]++
	}
	s.hold[from] = removeTP(s.hold[from], tp)
	s.hold[to] = insertTP(s.hold[to], tp)
}

// insertTP adds tp to the sorted tps, keeping it sorted.
func insertTP(tps []TopicPartition, tp TopicPartition) []TopicPartition {
	i, _ := slices.BinarySearchFunc(tps, tp, compareTP)
	return slices.Insert(tps, i, tp)
}

// removeTP deletes tp from the sorted tps.
func removeTP(tps []TopicPartition, tp TopicPartition) []TopicPartition {
	if i, ok := slices.BinarySearchFunc(tps, tp, compareTP); ok {
		return slices.Delete(tps, i, i+1)
	}
	return tps
}

// assignee is a validated member: subs is its subscription, sorted and without repeats (a
// member subscribes to a few topics, so a slice costs less than a set).
type assignee struct {
	GroupMember
	subs []string
}

// subscribes reports whether a subscribes to topic.
func (a *assignee) subscribes(topic string) bool {
	_, ok := slices.BinarySearch(a.subs, topic)
	return ok
}

// prepareAssign validates the input of Assign and returns the members in Kafka's order
// (static members by instance id, then dynamic ones by member id) and a result holding an
// empty slice for each member.
func prepareAssign(members []GroupMember, partitions map[string]int32) ([]*assignee, map[string][]TopicPartition, error) {
	for topic, n := range partitions {
		if n < 0 {
			return nil, nil, fmt.Errorf("%w: topic %q has %d partitions", ErrInvalidGroupMember, topic, n)
		}
	}
	out := make(map[string][]TopicPartition, len(members))
	ms := make([]*assignee, 0, len(members))
	for _, m := range members {
		if m.ID == "" {
			return nil, nil, fmt.Errorf("%w: empty member id", ErrInvalidGroupMember)
		}
		if _, dup := out[m.ID]; dup {
			return nil, nil, fmt.Errorf("%w: member id %q appears twice", ErrInvalidGroupMember, m.ID)
		}
		out[m.ID] = []TopicPartition{}
		a := &assignee{GroupMember: m, subs: slices.Compact(slices.Sorted(slices.Values(m.Topics)))}
		ms = append(ms, a)
	}
	slices.SortFunc(ms, func(a, b *assignee) int { return compareMembers(&a.GroupMember, &b.GroupMember) })
	return ms, out, nil
}

// compareMembers orders members as Kafka's assignors do (MemberInfo.compareTo): static members
// first, by instance id, then dynamic members by member id. Kafka compares Java strings
// (UTF-16 units) where Go compares bytes; the two differ only for characters outside the Basic
// Multilingual Plane. Member ids break ties between repeated instance ids.
func compareMembers(a, b *GroupMember) int {
	switch {
	case a.InstanceID != "" && b.InstanceID != "":
		if c := cmp.Compare(a.InstanceID, b.InstanceID); c != 0 {
			return c
		}
	case a.InstanceID != "":
		return -1
	case b.InstanceID != "":
		return 1
	}
	return cmp.Compare(a.ID, b.ID)
}

// subscribedTopics returns the topics of partitions that some member subscribes to, sorted.
func subscribedTopics(ms []*assignee, partitions map[string]int32) []string {
	var topics []string
	for topic := range partitions {
		for _, m := range ms {
			if m.subscribes(topic) {
				topics = append(topics, topic)
				break
			}
		}
	}
	slices.Sort(topics)
	return topics
}

// compareTP orders partitions by topic, then partition number.
func compareTP(a, b TopicPartition) int {
	if c := cmp.Compare(a.Topic, b.Topic); c != 0 {
		return c
	}
	return cmp.Compare(a.Partition, b.Partition)
}
