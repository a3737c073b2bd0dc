package log

import (
	"cmp"
	"errors"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tribusmq/tribus/log/internal/group"
)

// This file is a GroupConsumer's side of the group protocol, as a Kafka consumer's network
// client runs it: the JoinGroup and SyncGroup exchange (the leader's assignment included),
// heartbeats, and the gate that keeps a crashed consumer silent. groupconsumer.go has the
// public API and the Poll loop that drives it; the coordinator is log/internal/group.

// joinCall is one JoinGroup and SyncGroup exchange. Its steps run as the coordinator answers,
// on whichever goroutine completes each request, as a Kafka consumer's network client runs
// them: the leader's assignment is sent even while the consumer's owner is not polling.
// done is closed when res and err are set. req and joined belong to the step running: one
// request of the exchange is in flight at a time, and each step starts the next.
type joinCall struct {
	done   chan struct{}
	req    group.JoinRequest // the JoinGroup, with the member id the coordinator handed out
	joined joinedAs          // what the JoinGroup's answer made the member, for the SyncGroup's step
	lv     *leaderView       // what the leader assigned from; nil for a follower
	res    joinResult
	err    error
}

// joinedAs is what a JoinGroup's answer made the member: its id, generation and protocol.
type joinedAs struct {
	memberID   string
	generation int32
	protocol   string
}

// finish records the exchange's outcome.
func (jc *joinCall) finish(res joinResult, err error) {
	jc.res, jc.err = res, err
	close(jc.done)
}

// joinResult is a completed exchange: the generation, protocol and assignment it gave.
type joinResult struct {
	gen        int32
	protocol   string
	assignment []TopicPartition
	leader     *leaderView
}

// leaderView is what the leader computed an assignment from: every member's subscription and
// those topics' partition counts. When the counts change the leader rejoins, which rebalances
// the group (K21), as a Kafka leader does when its metadata changes.
type leaderView struct {
	topics []string
	parts  map[string]int32
}

// request runs fn, one request to the coordinator, unless the consumer crashed.
func (c *GroupConsumer) request(fn func() error) error {
	if !c.gate.enter() {
		return ErrClosed
	}
	defer c.gate.exit()
	return closedOr(fn())
}

// requestGate counts the requests in flight. Once shut, it lets none in, and close returns
// when the last one is out. Requests may nest (an answer that sends the next request runs
// inside the request that completed it), which a counter allows and a lock would not.
type requestGate struct {
	inflight atomic.Int64
	shut     atomic.Bool
	mu       sync.Mutex // with idle, for close to wait for the last request
	idle     *sync.Cond
}

func (g *requestGate) enter() bool {
	g.inflight.Add(1)
	if g.shut.Load() {
		g.exit()
		return false
	}
	return true
}

func (g *requestGate) exit() {
	if g.inflight.Add(-1) == 0 && g.shut.Load() {
		g.mu.Lock()
		if g.idle != nil {
			g.idle.Broadcast()
		}
		g.mu.Unlock()
	}
}

// close lets no more requests in and waits for those in flight.
func (g *requestGate) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.idle == nil {
		g.idle = sync.NewCond(&g.mu)
	}
	g.shut.Store(true)
	for g.inflight.Load() > 0 {
		g.idle.Wait()
	}
}

// heartbeat sends a Heartbeat as member id of generation gen. watch is closed at the group's
// next change, taken before the heartbeat so that no change between the two is missed.
func (c *GroupConsumer) heartbeat(id string, gen int32) (watch <-chan struct{}, code group.Code, err error) {
	if !c.gate.enter() {
		return nil, 0, ErrClosed
	}
	code, watch, err = c.l.coord.HeartbeatWatch(c.opts.GroupID, id, c.opts.InstanceID, gen)
	c.gate.exit()
	return watch, code, closedOr(err)
}

// metadataChanged reports whether the topics changed since the last join in a way this member
// must rejoin for: the topics its pattern matches, or, for the leader, the partition counts of
// the group's topics. c.mu is held; it reads the Log's topics under the Log's lock.
func (c *GroupConsumer) metadataChanged() bool {
	if c.meta == nil {
		return false
	}
	select {
	case <-c.meta:
	default:
		return false
	}
	meta := c.l.metadata()
	if c.opts.Pattern != nil && !slices.Equal(c.subscription(), c.topics) {
		return true
	}
	if c.leader != nil && !maps.Equal(c.l.partitionCounts(c.leader.topics), c.leader.parts) {
		return true
	}
	c.meta = meta
	return false
}

// subscription returns the topics the consumer subscribes to now, sorted: its Topics, or the
// existing topics its Pattern matches. c.mu is held.
func (c *GroupConsumer) subscription() []string {
	var out []string
	if re := c.opts.Pattern; re != nil {
		for _, name := range c.l.Topics() {
			if re.MatchString(name) {
				out = append(out, name)
			}
		}
		return out
	}
	out = slices.Clone(c.opts.Topics)
	slices.Sort(out)
	return slices.Compact(out)
}

// startJoin starts a JoinGroup and SyncGroup exchange with the consumer's subscription, owned
// partitions and generation as its metadata (the consumer protocol's subscription), once for
// each of its assignors.
func (c *GroupConsumer) startJoin() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	meta := c.l.metadata()
	topics := c.subscription()
	md := group.Subscription{Topics: topics, Owned: fromTopicPartitions(c.owned), Generation: c.gen}.Encode()
	protocols := make([]group.Protocol, len(c.opts.Assignors))
	for i, a := range c.opts.Assignors {
		protocols[i] = group.Protocol{Name: a.Name(), Metadata: md}
	}
	jc := &joinCall{done: make(chan struct{}), req: group.JoinRequest{MemberID: c.memberID, InstanceID: c.opts.InstanceID,
		ClientID: c.opts.ClientID, ProtocolType: consumerProtocol, Protocols: protocols, SessionTimeout: c.opts.SessionTimeout,
		RebalanceTimeout: c.opts.MaxPollInterval, RequireKnownMemberID: true}}
	c.join, c.topics, c.meta = jc, topics, meta
	c.mu.Unlock() // the answer may come at once, and takes c.mu
	c.sendJoin(jc)
}

// sendJoin sends the exchange's JoinGroup; onJoin takes the answer.
func (c *GroupConsumer) sendJoin(jc *joinCall) {
	err := c.request(func() error {
		c.l.coord.JoinAsync(c.opts.GroupID, jc.req, func(resp group.JoinResponse, err error) { c.onJoin(jc, resp, err) })
		return nil
	})
	if err != nil {
		jc.finish(joinResult{}, err)
	}
}

// onJoin takes a JoinGroup's answer: it joins again with the member id KIP-394 hands out, or,
// with a generation, runs the assignment if the member leads and sends SyncGroup.
func (c *GroupConsumer) onJoin(jc *joinCall, resp group.JoinResponse, err error) {
	if err != nil {
		jc.finish(joinResult{}, closedOr(err))
		return
	}
	switch resp.Code {
	case group.None:
	case group.MemberIDRequired:
		jc.req.MemberID = resp.MemberID
		c.setMember(jc, resp.MemberID, -1)
		c.sendJoin(jc)
		return
	default:
		jc.finish(joinResult{}, codeError(resp.Code, c.opts.GroupID))
		return
	}
	jc.req.MemberID = resp.MemberID
	c.setMember(jc, resp.MemberID, -1)
	var assignments map[string][]byte
	jc.lv = nil
	if resp.Leader == resp.MemberID {
		assignments, jc.lv = c.assign(resp)
	}
	jc.joined = joinedAs{memberID: resp.MemberID, generation: resp.Generation, protocol: resp.Protocol}
	sreq := group.SyncRequest{MemberID: resp.MemberID, InstanceID: jc.req.InstanceID, Generation: resp.Generation,
		Assignments: assignments}
	err = c.request(func() error {
		c.l.coord.SyncAsync(c.opts.GroupID, sreq, func(sresp group.SyncResponse, err error) { c.onSync(jc, sresp, err) })
		return nil
	})
	if err != nil {
		jc.finish(joinResult{}, err)
	}
}

// onSync takes a SyncGroup's answer: the assignment ends the exchange; a rebalance that began
// meanwhile sends the member back to JoinGroup.
func (c *GroupConsumer) onSync(jc *joinCall, resp group.SyncResponse, err error) {
	if err != nil {
		jc.finish(joinResult{}, closedOr(err))
		return
	}
	switch resp.Code {
	case group.None:
	case group.RebalanceInProgress, group.IllegalGeneration:
		c.sendJoin(jc)
		return
	default:
		jc.finish(joinResult{}, codeError(resp.Code, c.opts.GroupID))
		return
	}
	a, err := group.DecodeAssignment(resp.Assignment)
	if err != nil {
		jc.finish(joinResult{}, err)
		return
	}
	joined := jc.joined
	c.setMember(jc, joined.memberID, joined.generation)
	assignment := toTopicPartitions(a.Partitions)
	if assignment == nil {
		assignment = []TopicPartition{}
	}
	jc.finish(joinResult{gen: joined.generation, protocol: joined.protocol, assignment: assignment, leader: jc.lv}, nil)
}

// closedOr maps the coordinator's ErrClosed to this package's.
func closedOr(err error) error {
	if errors.Is(err, group.ErrClosed) {
		return ErrClosed
	}
	return err
}

// setMember records the member id (and, when gen >= 0, the generation) an exchange obtained,
// unless a newer exchange replaced jc.
func (c *GroupConsumer) setMember(jc *joinCall, id string, gen int32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.join != jc {
		return
	}
	c.memberID = id
	if gen >= 0 {
		c.syncedGen = gen
	}
}

// assign runs, as the group's leader, the assignor the group chose over the members'
// subscriptions and the partition counts of their topics, and encodes each member's share
// (K19, K28). An assignor that refuses leaves every member empty-handed until the membership
// changes, as when the members cannot agree; the reason is logged. A leader told to skip the
// assignment (a static leader that rejoined, KIP-814) computes nothing but still watches the
// group's topics.
func (c *GroupConsumer) assign(resp group.JoinResponse) (map[string][]byte, *leaderView) {
	members := make([]GroupMember, 0, len(resp.Members))
	topics := make([]string, 0, len(resp.Members))
	for _, m := range resp.Members {
		sub, err := group.DecodeSubscription(m.Metadata)
		if err != nil {
			c.l.logger.Warn("consumer group member sent a subscription that does not decode", "group", c.opts.GroupID,
				"member", m.ID, "err", err)
		}
		topics = append(topics, sub.Topics...)
		members = append(members, GroupMember{ID: m.ID, InstanceID: m.InstanceID, Topics: c.l.existingTopics(sub.Topics),
			Owned: toTopicPartitions(sub.Owned), Generation: sub.Generation})
	}
	slices.Sort(topics)
	lv := &leaderView{topics: slices.Compact(topics)}
	lv.parts = c.l.partitionCounts(lv.topics)
	if resp.SkipAssignment {
		return nil, lv
	}
	slices.SortFunc(members, func(a, b GroupMember) int { return cmp.Compare(a.ID, b.ID) })
	assignment, err := c.assignor(resp.Protocol).Assign(members, lv.parts)
	if err != nil {
		c.l.logger.Warn("consumer group rebalance produced no assignment", "group", c.opts.GroupID, "err", err)
		assignment = nil
	}
	out := make(map[string][]byte, len(members))
	for _, m := range members {
		out[m.ID] = group.Assignment{Partitions: fromTopicPartitions(assignment[m.ID])}.Encode()
	}
	return out, lv
}

// startHeartbeats starts the background heartbeats at the first Poll.
func (c *GroupConsumer) startHeartbeats() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.heartbeating || c.closed {
		return
	}
	c.heartbeating = true
	c.bg.Add(1)
	go c.heartbeats()
}

// heartbeats sends a Heartbeat every HeartbeatInterval while the consumer is a member and not
// paused, until Close, Crash or the Log's Close. What the answers say, Poll learns from its
// own heartbeat.
func (c *GroupConsumer) heartbeats() {
	defer c.bg.Done()
	t := time.NewTicker(c.opts.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-c.stopped:
			return
		case <-c.l.coord.Done():
			return
		}
		c.mu.Lock()
		id, gen, skip := c.memberID, c.syncedGen, c.paused || c.dropped
		c.mu.Unlock()
		if id == "" || skip {
			continue
		}
		err := c.request(func() error {
			_, err := c.l.coord.Heartbeat(c.opts.GroupID, id, c.opts.InstanceID, gen)
			return err
		})
		if err != nil {
			return
		}
	}
}
