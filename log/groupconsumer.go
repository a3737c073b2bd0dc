package log

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/tribusmq/tribus/log/internal/group"
)

// GroupConsumerOptions configure a [GroupConsumer]. GroupID and a subscription (Topics or
// Pattern) are required; every other zero value means Kafka's default.
type GroupConsumerOptions struct {
	// GroupID is the consumer group (group.id).
	GroupID string
	// Topics are the subscribed topics. Topics that do not exist yet are ignored until they do.
	Topics []string
	// Pattern, if set, subscribes to every topic whose name it matches, now and later; it
	// replaces Topics.
	Pattern *regexp.Regexp
	// InstanceID makes the consumer a static member (group.instance.id, K29): it does not
	// leave the group on Close, and a consumer with the same InstanceID that joins within the
	// session timeout takes its place and partitions without a rebalance.
	InstanceID string
	// ClientID prefixes the member id the coordinator gives out; default "consumer".
	ClientID string
	// Assignors lists the assignment strategies in order of preference
	// (partition.assignment.strategy); nil means [DefaultAssignors] (K26).
	Assignors []Assignor
	// Reset applies when the group has no committed offset for a partition, or it is out of
	// range (auto.offset.reset, K13). Default ResetLatest.
	Reset OffsetReset
	// MaxPollRecords caps one Poll (max.poll.records); 0 means 500.
	MaxPollRecords int
	// Isolation is ReadUncommitted (the default) or ReadCommitted (isolation.level, K43), as
	// for [ConsumerOptions].Isolation. An unknown level is ErrInvalidConfig.
	Isolation IsolationLevel
	// MaxWait is how long Poll waits for records, or for a rebalance to finish; 0 means 500 ms.
	MaxWait time.Duration
	// SessionTimeout is how long the group keeps a member that stopped heartbeating
	// (session.timeout.ms, K23); 0 means 45 s. It must be within 6 s and 30 min. The consumer
	// heartbeats in the background from its first Poll until Close or Crash, and in every Poll.
	SessionTimeout time.Duration
	// HeartbeatInterval is how often the consumer heartbeats between Polls
	// (heartbeat.interval.ms); 0 means 3 s, or a third of SessionTimeout if that is shorter.
	// It must be below SessionTimeout.
	HeartbeatInterval time.Duration
	// MaxPollInterval is the longest the consumer may go between Polls before it leaves the
	// group (max.poll.interval.ms, K24), and how long a rebalance waits for it to rejoin; 0
	// means 5 min.
	MaxPollInterval time.Duration
	// DisableAutoCommit turns off enable.auto.commit (on by default, K30).
	DisableAutoCommit bool
	// AutoCommitInterval is auto.commit.interval.ms; 0 means 5 s.
	AutoCommitInterval time.Duration
	// Listener is told about rebalances, always on the goroutine calling Poll (or Close), never
	// concurrently with it.
	Listener RebalanceListener
}

// RebalanceListener is a ConsumerRebalanceListener: functions called during Poll when the
// consumer's partitions change (K25). Any of them may be nil. They may call the consumer's
// Commit, CommitOffsets, Seek and Position, but not Poll or Close.
type RebalanceListener struct {
	// Assigned receives the partitions the consumer now reads: all of them under an eager
	// assignor, the newly added ones under a cooperative one. It runs once per rebalance the
	// consumer takes part in, even with none.
	Assigned func(c *GroupConsumer, tps []TopicPartition)
	// Revoked receives the partitions the consumer gives up: all it owns at the start of every
	// rebalance under an eager assignor (commit their progress here), only those that move
	// under a cooperative one, and all of them on Close.
	Revoked func(c *GroupConsumer, tps []TopicPartition)
	// Lost receives partitions the consumer found were already taken from it: it was dropped
	// from the group (session or poll timeout). They may already be read by another member,
	// so committing for them fails. Nil means Revoked is called instead, as in Kafka.
	Lost func(c *GroupConsumer, tps []TopicPartition)
}

// GroupConsumer is a member of a consumer group: the group's coordinator assigns it
// partitions, it reads them from the group's committed offsets, and commits its progress.
// It is a client of the coordinator's requests, as a Kafka consumer is: it joins at its first
// Poll (JoinGroup, then SyncGroup; as the group's leader it runs the assignor and sends the
// assignment), heartbeats in the background and in every Poll, and leaves on Close. Poll
// belongs to one goroutine (as in Kafka); Close and Crash may be called from any, and end a
// Poll in progress (as franz-go's Close does), so a test's cleanup can close a consumer whose
// loop runs elsewhere. The other methods are safe anywhere, including from the listener.
type GroupConsumer struct {
	l     *Log
	opts  GroupConsumerOptions
	inner *Consumer // positions and fetching of the assigned partitions

	pmu  sync.Mutex // held by Poll and Close
	wait waitTimer  // Poll's waits; guarded by pmu
	// stepWaits is the room step returns its waits in, so that a Poll of a member in a stable
	// group allocates nothing for them; guarded by pmu.
	stepWaits [4]<-chan struct{}

	gate        requestGate   // no request once Crash returns
	stopped     chan struct{} // closed at Close or Crash: wakes a Poll and the heartbeats
	closing     chan struct{} // closed as Close begins: a Poll in progress returns, releasing pmu
	closingOnce sync.Once
	bg          sync.WaitGroup // the heartbeat goroutine

	mu             sync.Mutex // guards the fields below
	memberID       string
	syncedGen      int32            // generation of the last completed JoinGroup and SyncGroup, -1 before
	gen            int32            // generation of the assignment in use; -1 before the first
	owned          []TopicPartition // the assignment in use
	cooperative    bool             // the group's protocol at the last assignment
	closed         bool             // Close or Crash began
	rejoin         bool             // the next Poll joins again
	dropped        bool             // the group no longer has this member: its partitions are lost
	paused         bool             // a static member past its poll interval: no heartbeats until Poll
	heartbeating   bool             // the heartbeat goroutine runs
	join           *joinCall        // a JoinGroup and SyncGroup in flight, or done and not yet taken
	topics         []string         // the subscription the last JoinGroup sent, a pattern resolved
	leader         *leaderView      // what this member's last assignment as leader was made from
	meta           <-chan struct{}  // the Log's metadata channel when topics and leader were read
	pollTimer      *time.Timer
	pollDeadline   time.Time
	nextAutoCommit time.Time
}

// NewGroupConsumer returns a consumer of group opts.GroupID; it joins at its first Poll.
// Invalid options fail with [ErrInvalidGroupID], [ErrNoSubscription],
// [ErrInvalidSessionTimeout] or, for a negative MaxPollRecords, MaxWait, MaxPollInterval or
// AutoCommitInterval, or a HeartbeatInterval not below the session timeout,
// [ErrInvalidConfig]; nothing changes.
func (l *Log) NewGroupConsumer(opts GroupConsumerOptions) (*GroupConsumer, error) {
	if err := validGroupID(opts.GroupID); err != nil {
		return nil, err
	}
	if len(opts.Topics) == 0 && opts.Pattern == nil {
		return nil, ErrNoSubscription
	}
	if err := opts.Isolation.validate(); err != nil {
		return nil, err
	}
	if opts.MaxPollRecords < 0 || opts.MaxWait < 0 || opts.MaxPollInterval < 0 || opts.AutoCommitInterval < 0 ||
		opts.HeartbeatInterval < 0 {
		// Kafka's ConsumerConfig: max.poll.records atLeast(1), fetch.max.wait.ms,
		// max.poll.interval.ms, heartbeat.interval.ms and auto.commit.interval.ms atLeast(0).
		return nil, fmt.Errorf("%w: negative group consumer option", ErrInvalidConfig)
	}
	if opts.SessionTimeout == 0 {
		opts.SessionTimeout = DefaultSessionTimeout
	}
	if opts.SessionTimeout < MinSessionTimeout || opts.SessionTimeout > MaxSessionTimeout {
		return nil, fmt.Errorf("%w: %v is not within %v and %v", ErrInvalidSessionTimeout,
			opts.SessionTimeout, MinSessionTimeout, MaxSessionTimeout)
	}
	if opts.HeartbeatInterval == 0 {
		opts.HeartbeatInterval = min(DefaultHeartbeatInterval, opts.SessionTimeout/3)
	}
	if opts.HeartbeatInterval >= opts.SessionTimeout {
		return nil, fmt.Errorf("%w: heartbeat interval %v is not below the session timeout %v", ErrInvalidConfig,
			opts.HeartbeatInterval, opts.SessionTimeout)
	}
	if opts.MaxPollInterval <= 0 {
		opts.MaxPollInterval = DefaultMaxPollInterval
	}
	if opts.AutoCommitInterval <= 0 {
		opts.AutoCommitInterval = DefaultAutoCommitInterval
	}
	if opts.Assignors == nil {
		opts.Assignors = DefaultAssignors()
	}
	if opts.ClientID == "" {
		opts.ClientID = "consumer"
	}
	opts.Topics = slices.Clone(opts.Topics)
	if err := l.checkOpen(); err != nil {
		return nil, err
	}
	if err := l.coord.Create(opts.GroupID); err != nil {
		return nil, ErrClosed
	}
	c := &GroupConsumer{l: l, opts: opts, gen: -1, syncedGen: -1, stopped: make(chan struct{}), closing: make(chan struct{}),
		inner: l.NewConsumer(ConsumerOptions{Reset: opts.Reset, MaxPollRecords: opts.MaxPollRecords, MaxWait: opts.MaxWait,
			Isolation: opts.Isolation})}
	c.opts.MaxWait = c.inner.opts.MaxWait
	c.nextAutoCommit = time.Now().Add(opts.AutoCommitInterval)
	return c, nil
}

// Poll returns the next records of the consumer's partitions, waiting up to MaxWait for
// records or for a rebalance to finish. On the way it joins the group, takes part in
// rebalances (calling the listener), and auto-commits what the previous Poll returned (K30).
// It returns an empty result when the wait ends, [ErrClosed] after Close or Crash,
// [ErrFencedInstanceID] once a newer consumer took this static member's place,
// [ErrInconsistentGroupProtocol] when the group's members share no assignor, and an
// *OffsetOutOfRangeError under ResetNone.
func (c *GroupConsumer) Poll(ctx context.Context) ([]Record, error) {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	if err := c.usable(); err != nil {
		return nil, err
	}
	c.armPollTimer()
	c.startHeartbeats()
	deadline := time.Now().Add(c.opts.MaxWait)
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		select {
		case <-c.closing: // Close waits for pmu, and does the committing and leaving itself
			return nil, ErrClosed
		default:
		}
		c.maybeAutoCommit(false)
		ready, waits, err := c.step()
		if err != nil {
			return nil, err
		}
		if ready {
			recs, w, err := c.inner.pollOnce()
			if err != nil || len(recs) > 0 {
				return recs, err
			}
			waits = append(w, waits...) // w has room for these and the two below
		}
		waits = append(waits, c.stopped, c.closing)
		left := time.Until(deadline)
		if left <= 0 {
			return nil, nil
		}
		if err := waitAny(ctx, waits, left, &c.wait); err != nil {
			return nil, err
		}
	}
}

// usable returns ErrClosed once the consumer or the Log is closed.
func (c *GroupConsumer) usable() error {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return ErrClosed
	}
	return c.l.checkOpen()
}

// step brings the consumer in line with its group, one request at a time, until it holds the
// group's current assignment (ready) or must wait for the coordinator (waits lists what to
// wait on before looking again; it may be c.stepWaits, with room for two more). Listener calls
// happen here, without locks held. Callers hold pmu.
func (c *GroupConsumer) step() (ready bool, waits []<-chan struct{}, err error) {
	for {
		c.mu.Lock()
		if c.closed {
			// Crash (or Close) from another goroutine while this Poll ran: it must not
			// heartbeat or join again.
			c.mu.Unlock()
			return false, nil, ErrClosed
		}
		c.paused = false // a static member polling again after its poll timeout: heartbeats resume
		switch {
		case c.dropped:
			// The group dropped the member (a session or poll timeout, or it did not rejoin
			// in time): whatever it owned is lost (K25). It joins again as a new member.
			lost := c.owned
			was := GroupMetadata{GroupID: c.opts.GroupID, Generation: c.gen, MemberID: c.memberID, GroupInstanceID: c.opts.InstanceID}
			c.memberID, c.syncedGen, c.gen, c.owned, c.dropped, c.join, c.leader = "", -1, -1, nil, false, nil, nil
			c.mu.Unlock()
			if err := c.inner.Assign(); err != nil {
				return false, nil, err
			}
			if len(lost) > 0 {
				c.callLost(lost, was)
			}
			continue

		case c.join != nil:
			jc := c.join
			select {
			case <-jc.done:
			default:
				c.mu.Unlock()
				return false, []<-chan struct{}{jc.done}, nil
			}
			c.join = nil
			c.mu.Unlock()
			if err := c.joined(jc); err != nil {
				return false, nil, err
			}
			continue

		case c.memberID == "" || c.rejoin || c.metadataChanged():
			c.rejoin = false
			hadGen, cooperative, owned := c.gen >= 0, c.cooperative, c.owned
			c.mu.Unlock()
			if hadGen && !cooperative {
				// Eager: give everything up before rejoining (K25), committing first when
				// auto-commit is on, as Kafka's consumer does.
				c.maybeAutoCommit(true)
				c.callRevoked(owned)
				c.mu.Lock()
				c.owned = nil
				c.mu.Unlock()
				if err := c.inner.Assign(); err != nil {
					return false, nil, err
				}
			}
			c.startJoin()
			continue
		}
		id, gen := c.memberID, c.syncedGen
		if st, _, ok := c.l.coord.Peek(c.opts.GroupID); ok && st == group.PreparingRebalance {
			// A rebalance began: rejoin at once, as the Heartbeat's REBALANCE_IN_PROGRESS
			// would have said, without taking the group's lock to hear it.
			c.rejoin = true
			c.mu.Unlock()
			continue
		}
		c.mu.Unlock()

		watch, code, err := c.heartbeat(id, gen)
		if err != nil {
			return false, nil, err
		}
		c.mu.Lock()
		switch code {
		case group.None:
			waits = append(c.stepWaits[:0], watch)
			if c.meta != nil && (c.opts.Pattern != nil || c.leader != nil) {
				waits = append(waits, c.meta)
			}
			c.mu.Unlock()
			return true, waits, nil
		case group.RebalanceInProgress, group.IllegalGeneration:
			c.rejoin = true
		case group.UnknownMemberID:
			c.dropped = true
		default:
			c.mu.Unlock()
			return false, nil, codeError(code, c.opts.GroupID)
		}
		c.mu.Unlock()
	}
}

// joined takes the outcome of a finished exchange.
func (c *GroupConsumer) joined(jc *joinCall) error {
	switch {
	case jc.err == nil:
		return c.takeAssignment(jc.res)
	case errors.Is(jc.err, ErrUnknownMember):
		c.mu.Lock()
		c.dropped = true
		c.mu.Unlock()
		return nil
	case errors.Is(jc.err, ErrClosed):
		return ErrClosed
	}
	return jc.err
}

// takeAssignment switches the consumer to the assignment of a completed exchange and tells the
// listener. Under a cooperative protocol, partitions the consumer keeps are never revoked,
// and if it had to give some up it rejoins at once so the follow-up rebalance can hand them
// on (KIP-429).
func (c *GroupConsumer) takeAssignment(res joinResult) error {
	cooperative := res.protocol != "" && c.assignor(res.protocol).Cooperative()
	c.mu.Lock()
	owned := c.owned
	c.mu.Unlock()
	var revoked, added []TopicPartition
	for _, tp := range owned {
		if !slices.Contains(res.assignment, tp) {
			revoked = append(revoked, tp)
		}
	}
	for _, tp := range res.assignment {
		if !slices.Contains(owned, tp) {
			added = append(added, tp)
		}
	}
	if cooperative && len(revoked) > 0 {
		c.callRevoked(revoked)
	}
	if err := c.inner.Assign(res.assignment...); err != nil {
		return err
	}
	for _, tp := range added {
		om, ok, err := c.l.committedOffset(c.opts.GroupID, tp)
		if err != nil {
			return err
		}
		if ok { // resume where the group left off (K12); otherwise auto.offset.reset (K13)
			if err := c.inner.Seek(tp, om.Offset); err != nil {
				return err
			}
		}
	}
	c.mu.Lock()
	c.owned, c.gen, c.cooperative, c.leader = res.assignment, res.gen, cooperative, res.leader
	if cooperative && len(revoked) > 0 {
		c.rejoin = true
	}
	c.mu.Unlock()
	if cooperative {
		c.callAssigned(added)
	} else {
		c.callAssigned(res.assignment)
	}
	return nil
}

// assignor returns the consumer's assignor called name (one every member supports).
func (c *GroupConsumer) assignor(name string) Assignor {
	for _, a := range c.opts.Assignors {
		if a.Name() == name {
			return a
		}
	}
	return RangeAssignor{}
}

func (c *GroupConsumer) callAssigned(tps []TopicPartition) {
	c.emitOwnership(EventAssigned, tps, nil)
	if f := c.opts.Listener.Assigned; f != nil {
		f(c, append([]TopicPartition{}, tps...))
	}
}

func (c *GroupConsumer) callRevoked(tps []TopicPartition) {
	c.emitOwnership(EventRevoked, tps, nil)
	if f := c.opts.Listener.Revoked; f != nil {
		f(c, append([]TopicPartition{}, tps...))
	}
}

// callLost tells the listener that tps are lost; was is the membership they were lost with.
func (c *GroupConsumer) callLost(tps []TopicPartition, was GroupMetadata) {
	c.emitOwnership(EventLost, tps, &was)
	f := c.opts.Listener.Lost
	if f == nil {
		f = c.opts.Listener.Revoked
	}
	if f != nil {
		f(c, append([]TopicPartition{}, tps...))
	}
}

// emitOwnership emits kind for tps, what the consumer's listener is told, if the Log has an
// observer: as the member was (nil: as it is now). Called without c.mu, as the listener is.
func (c *GroupConsumer) emitOwnership(kind EventKind, tps []TopicPartition, was *GroupMetadata) {
	if !c.l.observed() {
		return
	}
	gm := c.GroupMetadata()
	if was != nil {
		gm = *was
	}
	c.l.emit(Event{Kind: kind, Group: gm.GroupID, Member: gm.MemberID, InstanceID: gm.GroupInstanceID,
		Generation: gm.Generation, Count: len(tps), Partitions: slices.Clone(tps)})
}

// armPollTimer restarts the max.poll.interval.ms clock (K24). When it runs out, a dynamic
// member leaves the group, which rebalances; a static member stops heartbeating, so it is
// dropped only if it stays silent for its session timeout.
func (c *GroupConsumer) armPollTimer() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.pollDeadline = time.Now().Add(c.opts.MaxPollInterval)
	if c.pollTimer == nil { // armed once: a later Poll moves the deadline, and the timer follows it
		c.pollTimer = c.l.afterFunc(c.opts.MaxPollInterval, c.pollTimedOut)
	}
}

// pollTimedOut runs when the poll timer fires. Before the deadline (a Poll moved it), it sets
// the timer for the deadline.
func (c *GroupConsumer) pollTimedOut() {
	c.mu.Lock()
	if left := time.Until(c.pollDeadline); left > 0 && c.pollTimer != nil {
		c.pollTimer.Reset(left)
		c.mu.Unlock()
		return
	}
	if c.closed || c.memberID == "" || c.dropped {
		c.mu.Unlock()
		return
	}
	id := c.memberID
	if c.opts.InstanceID != "" {
		c.paused = true
		c.mu.Unlock()
		return
	}
	c.dropped = true
	c.mu.Unlock()
	_ = c.request(func() error {
		_, err := c.l.coord.Leave(c.opts.GroupID, id, "")
		return err
	})
}

// maybeAutoCommit commits the positions after the previous Poll when auto-commit is on and
// its interval has passed (or force). Failures are dropped, as Kafka's consumer logs and
// drops them: the next owner of a partition re-reads from the last successful commit.
func (c *GroupConsumer) maybeAutoCommit(force bool) {
	if c.opts.DisableAutoCommit {
		return
	}
	now := time.Now()
	c.mu.Lock()
	due := force || !now.Before(c.nextAutoCommit)
	if due {
		c.nextAutoCommit = now.Add(c.opts.AutoCommitInterval)
	}
	c.mu.Unlock()
	if due {
		// Close's last commit is no fault point: a crash there would have to park Close.
		_ = c.commit(context.Background(), c.positions(), !force)
	}
}

// Commit commits, for every partition the consumer owns, its position: the offset after the
// last record Poll returned, or where Seek put it (K12). It returns once the commit is durable.
// It fails with [ErrCommitFailed] if the consumer is no longer part of the group's current
// generation (K20); the records since the last successful commit will then be read again by
// whoever owns their partitions next (K22).
func (c *GroupConsumer) Commit(ctx context.Context) error {
	return c.commit(ctx, c.positions(), true)
}

// positions returns the position of every partition the consumer owns, as offsets to commit.
func (c *GroupConsumer) positions() map[TopicPartition]OffsetAndMetadata {
	c.mu.Lock()
	owned := c.owned
	c.mu.Unlock()
	offsets := make(map[TopicPartition]OffsetAndMetadata, len(owned))
	for _, tp := range owned {
		c.inner.mu.Lock()
		off, ok := c.inner.pos[tp]
		c.inner.mu.Unlock()
		if ok {
			offsets[tp] = OffsetAndMetadata{Offset: off, LeaderEpoch: -1}
		}
	}
	return offsets
}

// CommitOffsets commits offsets for the group as this member (OffsetCommit): each offset is
// the next one to read (K12). It fails as [GroupConsumer.Commit] does, and with the errors of
// invalid offsets ([ErrInvalidCommitOffset], [ErrUnknownTopic], [ErrOffsetMetadataTooLarge]);
// a failed commit changes nothing.
func (c *GroupConsumer) CommitOffsets(ctx context.Context, offsets map[TopicPartition]OffsetAndMetadata) error {
	return c.commit(ctx, offsets, true)
}

// commit is CommitOffsets; faulty says whether Options.Faults.AfterCommit applies.
func (c *GroupConsumer) commit(ctx context.Context, offsets map[TopicPartition]OffsetAndMetadata, faulty bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := c.usable(); err != nil {
		return err
	}
	f := c.l.faults
	gm := c.GroupMetadata()
	if faulty && f != nil && f.BeforeCommit != nil {
		// The hooks get copies, so that the caller's map never escapes to them: a map the
		// caller built for one commit can stay on its stack.
		if err := f.BeforeCommit(gm, copyOffsets(offsets)); err != nil {
			return err
		}
	}
	if err := c.checkCommitAs(gm); err != nil {
		return err
	}
	if err := c.l.commitOffsets(gm, offsets); err != nil {
		return err
	}
	if faulty && f != nil && f.AfterCommit != nil {
		return f.AfterCommit(c, copyOffsets(offsets))
	}
	return nil
}

// copyOffsets copies offsets for a fault hook. It is not maps.Clone, whose conversion to an
// interface would let the caller's map escape all the same.
func copyOffsets(offsets map[TopicPartition]OffsetAndMetadata) map[TopicPartition]OffsetAndMetadata {
	out := make(map[TopicPartition]OffsetAndMetadata, len(offsets))
	for tp, om := range offsets {
		out[tp] = om
	}
	return out
}

// checkCommit asks the coordinator whether this member may commit now.
func (c *GroupConsumer) checkCommit() error { return c.checkCommitAs(c.GroupMetadata()) }

// checkCommitAs asks the coordinator whether gm, this member as it is now, may commit.
func (c *GroupConsumer) checkCommitAs(gm GroupMetadata) error {
	var err error
	if rerr := c.request(func() error { err = c.l.checkGroup(gm); return nil }); rerr != nil {
		return rerr
	}
	return err
}

// Committed returns what the group has committed for tp, and false if nothing.
func (c *GroupConsumer) Committed(tp TopicPartition) (OffsetAndMetadata, bool, error) {
	return c.l.committedOffset(c.opts.GroupID, tp)
}

// Assignment returns the partitions the consumer reads now, sorted.
func (c *GroupConsumer) Assignment() []TopicPartition {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.owned)
}

// MemberID returns the id the coordinator gave the consumer, "" before it joined.
func (c *GroupConsumer) MemberID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.memberID
}

// GroupMetadata identifies this consumer to [TransactionalProducer.SendOffsetsToTransaction]:
// its group, the generation of its current assignment, its member id and group.instance.id,
// as Kafka's consumer.groupMetadata() does. Offsets sent with it are checked as
// [GroupConsumer.CommitOffsets] checks its own (K20).
func (c *GroupConsumer) GroupMetadata() GroupMetadata {
	c.mu.Lock()
	defer c.mu.Unlock()
	return GroupMetadata{GroupID: c.opts.GroupID, Generation: c.gen, MemberID: c.memberID, GroupInstanceID: c.opts.InstanceID}
}

// Generation returns the generation of the consumer's current assignment, -1 before the first.
func (c *GroupConsumer) Generation() int32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// Seek sets the position of tp, an owned partition, for the next Poll; it commits nothing (K15).
func (c *GroupConsumer) Seek(tp TopicPartition, offset int64) error {
	return c.inner.Seek(tp, offset)
}

// Position returns the offset the next Poll reads from tp, an owned partition.
func (c *GroupConsumer) Position(tp TopicPartition) (int64, error) {
	return c.inner.Position(tp)
}

// Subscribe replaces the subscription with topics; the consumer rejoins at its next Poll,
// which rebalances the group (K21).
func (c *GroupConsumer) Subscribe(topics ...string) error {
	if len(topics) == 0 {
		return ErrNoSubscription
	}
	return c.resubscribe(slices.Clone(topics), nil)
}

// SubscribePattern replaces the subscription with every topic re matches, as Subscribe does.
func (c *GroupConsumer) SubscribePattern(re *regexp.Regexp) error {
	if re == nil {
		return ErrNoSubscription
	}
	return c.resubscribe(nil, re)
}

func (c *GroupConsumer) resubscribe(topics []string, re *regexp.Regexp) error {
	if err := c.usable(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.opts.Topics, c.opts.Pattern = topics, re
	c.rejoin = true
	return nil
}

// Close commits (with auto-commit on), revokes its partitions through the listener, and
// leaves the group (LeaveGroup), which rebalances the rest (K21). A static member does not
// leave: its partitions wait for it, or for its session timeout (K29). Close is idempotent.
// Called while Poll runs on another goroutine, it makes that Poll return ErrClosed, without
// records, as soon as it looks (at once when it is waiting), then commits what the Polls
// before returned.
func (c *GroupConsumer) Close() error {
	c.closingOnce.Do(func() { close(c.closing) })
	c.mu.Lock()
	crashed := c.closed // a crashed consumer's Poll may never return its lock: do not wait for it
	c.mu.Unlock()
	if crashed {
		return nil
	}
	c.pmu.Lock()
	defer c.pmu.Unlock()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	hadGen, owned := c.gen >= 0, c.owned
	c.mu.Unlock()
	if hadGen && c.l.checkOpen() == nil {
		c.maybeAutoCommit(true)
		if c.checkCommit() == nil {
			c.callRevoked(owned)
		} else if len(owned) > 0 {
			c.callLost(owned, c.GroupMetadata())
		}
	}
	c.mu.Lock()
	id, dropped := c.memberID, c.dropped
	c.shutdown()
	c.mu.Unlock()
	if id != "" && !dropped && c.opts.InstanceID == "" {
		_ = c.request(func() error {
			_, err := c.l.coord.Leave(c.opts.GroupID, id, "")
			return err
		})
	}
	c.gate.close()
	c.bg.Wait()
	return nil
}

// Crash stops the consumer as if its process had been killed: no commit, no listener, no
// LeaveGroup, and no request of any kind once it returns. Its heartbeats stop, so the group
// drops it after its session timeout (K23) and gives its partitions to the others, who
// re-read what it had not committed (K22). Later calls return ErrClosed. It may be called
// from any goroutine whatever the consumer is doing, including while Poll runs in another:
// that Poll returns ErrClosed. It is for tests and demonstrations.
func (c *GroupConsumer) Crash() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.shutdown()
	c.mu.Unlock()
	c.gate.close() // waits out a request in flight; none follows
	c.bg.Wait()
}

// shutdown marks the consumer closed, stops its poll timer and wakes a Poll and the
// heartbeats. An exchange in flight goes on until its next request, which the closed gate
// refuses. c.mu is held.
func (c *GroupConsumer) shutdown() {
	c.closed = true
	if c.pollTimer != nil {
		c.pollTimer.Stop()
		c.pollTimer = nil
	}
	close(c.stopped)
}
