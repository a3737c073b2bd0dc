package log

import (
	"cmp"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"time"
)

// This file is the group coordinator: one per Log, it keeps every consumer group's members,
// generation and assignment, and runs the classic rebalance protocol in process (K19–K29).
// Where Kafka exchanges JoinGroup, SyncGroup, Heartbeat and LeaveGroup requests, a
// [GroupConsumer] calls the coordinator directly under the group's lock; what the protocol
// decides (who leads, which generation, who owns what, when a member is dropped) is the same.

// GroupState is a consumer group's state, as Kafka's DescribeGroups reports it.
type GroupState string

// Group states. A group with no members is Empty; a rebalance moves it to PreparingRebalance
// until every member has rejoined (or been dropped), then to Stable with a new generation.
// CompletingRebalance (waiting for the leader's SyncGroup) does not occur in process: the
// assignment is computed the moment the last member rejoins.
const (
	GroupEmpty              GroupState = "Empty"
	GroupPreparingRebalance GroupState = "PreparingRebalance"
	GroupStable             GroupState = "Stable"
	GroupDead               GroupState = "Dead"
)

// Group timing defaults and limits (Kafka 3.9, §2.5).
const (
	DefaultSessionTimeout     = 45 * time.Second // session.timeout.ms (K23)
	DefaultMaxPollInterval    = 5 * time.Minute  // max.poll.interval.ms (K24)
	DefaultAutoCommitInterval = 5 * time.Second  // auto.commit.interval.ms (K30)
	MinSessionTimeout         = 6 * time.Second  // group.min.session.timeout.ms
	MaxSessionTimeout         = 30 * time.Minute // group.max.session.timeout.ms
)

// coordinator holds the groups of one Log.
type coordinator struct {
	mu     sync.Mutex
	groups map[string]*group
}

// group is one consumer group. Every field is guarded by mu.
type group struct {
	l  *Log
	id string

	mu         sync.Mutex
	state      GroupState
	generation int32
	protocol   string
	leader     string
	members    map[string]*member
	joinOrder  []string // member ids in the order they first joined; the earliest is leader
	nextID     uint64
	changed    chan struct{} // closed and replaced on every change members must look at
	emptySince time.Time

	rebalanceTimer *time.Timer // drops members that do not rejoin in time
	delayTimer     *time.Timer // group.initial.rebalance.delay.ms of a new group (K27)
	delaying       bool
	stopped        bool // the Log is closed: no timer is armed again and none acts

	parts map[string]int32 // partition counts the current assignment was computed from
}

// member is one member as the coordinator sees it.
type member struct {
	id         string
	instanceID string
	topics     []string
	pattern    *regexp.Regexp
	assignors  []Assignor

	sessionTimeout   time.Duration
	rebalanceTimeout time.Duration

	joined     bool             // has rejoined the rebalance in progress
	owned      []TopicPartition // what it reported owning when it joined
	ownedGen   int32
	assignment []TopicPartition // from the last completed rebalance
	generation int32            // the generation of assignment

	sessionTimer *time.Timer // armed while the member does not heartbeat
}

// group returns the group id, creating it (Empty) if needed.
func (l *Log) group(id string) *group {
	c := &l.coord
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.groups == nil {
		c.groups = map[string]*group{}
	}
	g := c.groups[id]
	if g == nil {
		g = &group{l: l, id: id, state: GroupEmpty, members: map[string]*member{},
			changed: make(chan struct{}), emptySince: time.Now()}
		c.groups[id] = g
	}
	return g
}

// lookupGroup returns the group id if the coordinator has it.
func (l *Log) lookupGroup(id string) *group {
	c := &l.coord
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.groups[id]
}

// allGroups returns the coordinator's groups.
func (l *Log) allGroups() []*group {
	c := &l.coord
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Collect(maps.Values(c.groups))
}

// stopGroups stops every timer of every group (session, rebalance and delay timers) and wakes
// every Poll waiting on one, for Log.Close: nothing a group owns fires after Close.
func (l *Log) stopGroups() {
	for _, g := range l.allGroups() {
		g.mu.Lock()
		g.stopped = true
		stopTimer(&g.rebalanceTimer)
		stopTimer(&g.delayTimer)
		for _, m := range g.members {
			stopTimer(&m.sessionTimer)
		}
		g.notify()
		g.mu.Unlock()
	}
}

// notify wakes every member waiting on the group. g.mu is held.
func (g *group) notify() {
	close(g.changed)
	g.changed = make(chan struct{})
}

// newMemberID returns a member id the way Kafka builds one: the client id, a dash, a unique
// suffix. g.mu is held.
func (g *group) newMemberID(clientID string) string {
	g.nextID++
	return clientID + "-" + strconv.FormatUint(g.nextID, 10)
}

// join adds m to the group, or marks it rejoined, and starts or advances a rebalance. It
// handles a static member replacing its previous incarnation (K29). g.mu is held.
func (g *group) join(m *member) {
	if old := g.members[m.id]; old == nil {
		if m.instanceID != "" {
			if prev := g.staticMember(m.instanceID); prev != nil {
				g.replaceStatic(prev, m)
				return
			}
		}
		g.members[m.id] = m
		g.joinOrder = append(g.joinOrder, m.id)
	}
	m.joined = true
	if g.state != GroupPreparingRebalance {
		g.prepareRebalance()
		m.joined = true
	}
	g.maybeComplete()
}

// staticMember returns the member with group.instance.id instanceID, if any. g.mu is held.
func (g *group) staticMember(instanceID string) *member {
	for _, m := range g.members {
		if m.instanceID == instanceID {
			return m
		}
	}
	return nil
}

// replaceStatic hands prev's place to m, a restart of the same static member: same
// assignment and generation, no rebalance while the group is stable (K29). prev is fenced:
// its id is gone, so its commits fail. g.mu is held.
func (g *group) replaceStatic(prev, m *member) {
	stopTimer(&prev.sessionTimer)
	delete(g.members, prev.id)
	g.members[m.id] = m
	if i := slices.Index(g.joinOrder, prev.id); i >= 0 {
		g.joinOrder[i] = m.id
	}
	if g.leader == prev.id {
		g.leader = m.id
	}
	m.assignment, m.generation = prev.assignment, prev.generation
	sameSubscription := slices.Equal(prev.topics, m.topics) && patternString(prev.pattern) == patternString(m.pattern)
	switch {
	case g.state == GroupPreparingRebalance:
		m.joined = true
		g.maybeComplete()
	case !sameSubscription:
		g.prepareRebalance()
		m.joined = true
		g.maybeComplete()
	}
	g.notify()
}

func patternString(re *regexp.Regexp) string {
	if re == nil {
		return ""
	}
	return re.String()
}

// prepareRebalance starts a rebalance: every member must rejoin within the largest
// rebalance timeout (max.poll.interval.ms) among them, or be dropped. A new group first waits
// its initial rebalance delay (K27). g.mu is held.
func (g *group) prepareRebalance() {
	wasEmpty := g.state == GroupEmpty
	g.state = GroupPreparingRebalance
	var timeout time.Duration
	for _, m := range g.members {
		m.joined = false
		timeout = max(timeout, m.rebalanceTimeout)
	}
	delay := g.l.groupDelay
	stopTimer(&g.rebalanceTimer)
	if g.stopped {
		g.notify()
		return
	}
	if timeout > 0 {
		g.rebalanceTimer = time.AfterFunc(timeout, g.rebalanceTimedOut)
	}
	if wasEmpty && delay > 0 {
		g.delaying = true
		stopTimer(&g.delayTimer)
		g.delayTimer = time.AfterFunc(delay, func() {
			g.mu.Lock()
			defer g.mu.Unlock()
			if g.stopped {
				return
			}
			g.delaying = false
			g.maybeComplete()
		})
	}
	g.notify()
}

// rebalanceTimedOut completes a rebalance some members did not rejoin: they are dropped.
func (g *group) rebalanceTimedOut() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.state == GroupPreparingRebalance && !g.stopped {
		g.delaying = false
		g.complete()
	}
}

// maybeComplete completes the rebalance once every member has rejoined. g.mu is held.
func (g *group) maybeComplete() {
	if g.state != GroupPreparingRebalance || g.delaying {
		return
	}
	for _, m := range g.members {
		if !m.joined {
			return
		}
	}
	g.complete()
}

// complete ends a rebalance: members that did not rejoin are dropped, the generation grows
// (K20), the leader (the earliest member to join, K19) is confirmed, the assignor every
// member supports is chosen (K26) and run, and every member is woken to take its assignment.
// g.mu is held.
func (g *group) complete() {
	stopTimer(&g.rebalanceTimer)
	stopTimer(&g.delayTimer)
	g.delaying = false
	for id, m := range g.members {
		if !m.joined {
			g.drop(id, m)
		}
	}
	g.generation++
	if len(g.members) == 0 {
		g.state, g.protocol, g.leader = GroupEmpty, "", ""
		g.emptySince = time.Now()
		g.parts = nil
		g.notify()
		return
	}
	if g.members[g.leader] == nil {
		g.leader = ""
		for _, id := range g.joinOrder {
			if g.members[id] != nil {
				g.leader = id
				break
			}
		}
	}
	leader := g.members[g.leader]
	prefs := [][]string{assignorNames(leader.assignors)}
	var members []GroupMember
	for _, id := range g.joinOrder {
		m := g.members[id]
		if m == nil {
			continue
		}
		if id != g.leader {
			prefs = append(prefs, assignorNames(m.assignors))
		}
	}
	for _, m := range g.members {
		members = append(members, GroupMember{ID: m.id, InstanceID: m.instanceID,
			Topics: g.subscribedTopics(m), Owned: m.owned, Generation: m.ownedGen})
	}
	slices.SortFunc(members, func(a, b GroupMember) int { return cmp.Compare(a.ID, b.ID) })
	g.parts = g.partitionCounts()
	assignment := map[string][]TopicPartition{}
	name, err := SelectProtocol(prefs)
	if err == nil {
		g.protocol = name
		a := leader.assignors[slices.IndexFunc(leader.assignors, func(a Assignor) bool { return a.Name() == name })]
		assignment, err = a.Assign(members, g.parts)
	}
	if err != nil {
		// The members cannot agree (INCONSISTENT_GROUP_PROTOCOL) or the assignor refused:
		// nobody gets anything until the membership changes. The reason is logged.
		g.l.logger.Warn("consumer group rebalance produced no assignment", "group", g.id, "err", err)
		g.protocol = ""
		assignment = map[string][]TopicPartition{}
	}
	for id, m := range g.members {
		m.assignment = assignment[id]
		if m.assignment == nil {
			m.assignment = []TopicPartition{}
		}
		m.generation = g.generation
		m.joined = false
	}
	g.state = GroupStable
	g.notify()
}

// drop removes member id without a rebalance of its own; the caller rebalances. g.mu is held.
func (g *group) drop(id string, m *member) {
	stopTimer(&m.sessionTimer)
	delete(g.members, id)
	g.joinOrder = slices.DeleteFunc(g.joinOrder, func(s string) bool { return s == id })
}

// leave removes member id (LeaveGroup, a session timeout, or a poll timeout) and rebalances
// the others (K21). g.mu is held.
func (g *group) leave(id string) {
	m := g.members[id]
	if m == nil {
		return
	}
	g.drop(id, m)
	if g.state != GroupPreparingRebalance {
		g.prepareRebalance()
	}
	g.maybeComplete() // at once if everyone left has rejoined, or nobody is left
	g.notify()
}

// stopHeartbeats starts member id's session clock: unless it heartbeats again (a static
// member restarting), it is removed after its session timeout (K23). g.mu is held.
func (g *group) stopHeartbeats(id string) {
	m := g.members[id]
	if m == nil {
		return
	}
	stopTimer(&m.sessionTimer)
	if g.stopped {
		return
	}
	m.sessionTimer = time.AfterFunc(m.sessionTimeout, func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.members[id] == m && !g.stopped {
			g.leave(id)
		}
	})
}

// subscribedTopics returns the existing topics m subscribes to, sorted.
func (g *group) subscribedTopics(m *member) []string {
	var out []string
	if m.pattern != nil {
		for _, name := range g.l.Topics() {
			if m.pattern.MatchString(name) {
				out = append(out, name)
			}
		}
		return out
	}
	for _, name := range m.topics {
		if _, err := g.l.topic(name); err == nil {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// partitionCounts returns the partition count of every topic a member subscribes to.
func (g *group) partitionCounts() map[string]int32 {
	out := map[string]int32{}
	for _, m := range g.members {
		for _, name := range g.subscribedTopics(m) {
			if t, err := g.l.topic(name); err == nil {
				out[name] = int32(len(t.parts))
			}
		}
	}
	return out
}

// topicsChanged rebalances every stable group whose subscribed partitions changed: a topic
// created that a pattern matches, partitions added, a topic deleted (K21).
func (l *Log) topicsChanged() {
	for _, g := range l.allGroups() {
		g.mu.Lock()
		if g.state == GroupStable && !maps.Equal(g.parts, g.partitionCounts()) {
			g.prepareRebalance()
		}
		g.mu.Unlock()
	}
}

// checkCommit reports whether member memberID of generation gen may commit (K20): it must be
// a member, and gen must be the group's generation. A group with no members accepts commits
// from outside any generation (gen < 0 and no member id), as Kafka accepts a standalone
// consumer's commits to an empty group. g.mu is held.
func (g *group) checkCommit(memberID string, gen int32) error {
	if memberID == "" && gen < 0 {
		if len(g.members) > 0 {
			return fmt.Errorf("%w: group %q has members; commit as one of them", ErrCommitFailed, g.id)
		}
		return nil
	}
	if g.members[memberID] == nil {
		return fmt.Errorf("%w: unknown member %q in group %q", ErrCommitFailed, memberID, g.id)
	}
	if gen != g.generation {
		return fmt.Errorf("%w: generation %d, the group is at %d", ErrCommitFailed, gen, g.generation)
	}
	return nil
}

func assignorNames(as []Assignor) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.Name()
	}
	return out
}

func stopTimer(t **time.Timer) {
	if *t != nil {
		(*t).Stop()
		*t = nil
	}
}
