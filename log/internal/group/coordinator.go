package group

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tribusmq/tribus/internal/seed"
)

// ErrClosed is returned by a [Coordinator]'s requests after [Coordinator.Close], including to
// those that were waiting.
var ErrClosed = errors.New("tribus/log: group coordinator closed")

// Coordinator is the shell around the groups' cores: it owns each group's lock, its timers
// and its waiting requests, and turns the core's effects into them. A JoinGroup or SyncGroup
// that Kafka would park (a JoinGroup until the join phase ends, a follower's SyncGroup until
// the leader's) is answered later: [Coordinator.JoinAsync] and [Coordinator.SyncAsync] call
// their done function then, on whichever goroutine completed them (the request that ended
// the join phase, the leader's SyncGroup, a timer, or Close), with no lock held. Join and Sync
// are the same requests waiting for that answer.
//
// A Coordinator is safe for concurrent use. Lock order: c.mu, then a group's mu; a group's
// timers run their expiry under its mu alone. Nothing but the observer is called out under
// either lock: done functions run after they are released, and may send further requests.
type Coordinator struct {
	cfg     Config
	observe func(group string, n Note) // see NewCoordinator; nil when nobody observes
	notes   atomic.Bool                // the groups make notes for observe (SetNotes)
	// boot is random, drawn at NewCoordinator; with incarnations (guarded by mu) it makes
	// each group's MemberIDPrefix unique across groups, deletions and restarts.
	boot         string
	incarnations uint64

	mu     sync.RWMutex // guards groups and closed; read-held to look a group up
	groups map[string]*shell
	closed bool
	done   chan struct{} // closed by Close
}

// shell is one group with its lock, timers and waiters. Every field is guarded by mu.
type shell struct {
	mu      sync.Mutex
	observe func(group string, n Note) // the coordinator's; set at creation
	notes   *atomic.Bool               // the coordinator's: whether the core makes notes now
	g       *Group
	timers  map[Timer]*armed
	joins   map[string][]JoinFunc // waiting JoinGroups by member id
	syncs   map[string][]SyncFunc // waiting SyncGroups by member id
	closed  bool
	changed chan struct{} // closed and replaced when the group's state or generation changes
	// seen is the group's state and generation as of the last change (state<<32 | generation),
	// for Peek, which reads it without the lock.
	seen atomic.Uint64
}

// armed is one of a group's timers. Moving a deadline later (every heartbeat moves a session's)
// changes want only: when t fires before want, it is set again for want. So a heartbeat costs
// no timer operation, and t fires at most once per session timeout.
type armed struct {
	t    *time.Timer
	at   time.Time // when t fires
	want time.Time // the deadline the core asked for last
}

// JoinFunc receives the answer to a JoinGroup: the response, or ErrClosed.
type JoinFunc func(JoinResponse, error)

// SyncFunc receives the answer to a SyncGroup: the response, or ErrClosed.
type SyncFunc func(SyncResponse, error)

// NewCoordinator returns a coordinator whose groups follow cfg. observe, if not nil, is told
// of every change to a group, as the core's [Note]s report them (cfg.Notes is then set), and
// of each group the coordinator creates (NoteCreated). It is called synchronously, with the
// group's lock held (the coordinator's too for NoteCreated), after the change: a Describe
// that starts after it returns sees the change. It must be quick and must not call the
// coordinator. nil costs nothing: the groups make no notes.
func NewCoordinator(cfg Config, observe func(group string, n Note)) *Coordinator {
	var b [6]byte
	if cfg.IDSeed != 0 {
		binary.BigEndian.PutUint32(b[:], uint32(seed.Mix(cfg.IDSeed)))
	} else {
		_, _ = rand.Read(b[:]) // crypto/rand's Read never fails
	}
	c := &Coordinator{cfg: cfg, observe: observe, boot: hex.EncodeToString(b[:]), groups: make(map[string]*shell),
		done: make(chan struct{})}
	c.notes.Store(observe != nil)
	return c
}

// SetNotes says whether the groups make notes for the observer from now on: an observer that
// is switched off costs the groups nothing. With no observer it changes nothing.
func (c *Coordinator) SetNotes(on bool) { c.notes.Store(on && c.observe != nil) }

// core returns the group's core, told whether to make notes for this call. s.mu is held.
func (s *shell) core() *Group {
	s.g.cfg.Notes = s.notes.Load()
	return s.g
}

// Done returns a channel closed by Close.
func (c *Coordinator) Done() <-chan struct{} { return c.done }

// shell returns the group id's shell, creating the group (Empty) on first use.
func (c *Coordinator) shell(id string) (*shell, error) {
	c.mu.RLock()
	s, closed := c.groups[id], c.closed
	c.mu.RUnlock()
	if closed {
		return nil, ErrClosed
	}
	if s != nil {
		return s, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	s = c.groups[id]
	if s == nil {
		c.incarnations++
		cfg := c.cfg
		cfg.MemberIDPrefix = c.boot + "-" + strconv.FormatUint(c.incarnations, 10) + "-"
		s = &shell{observe: c.observe, notes: &c.notes, g: New(id, cfg, time.Now()), timers: make(map[Timer]*armed),
			joins: make(map[string][]JoinFunc), syncs: make(map[string][]SyncFunc), changed: make(chan struct{})}
		c.groups[id] = s
		if c.observe != nil {
			c.observe(id, Note{Kind: NoteCreated})
		}
	}
	return s, nil
}

// Create makes group id known, Empty, if the coordinator does not have it; a consumer that
// names its group before its first request makes it describable.
func (c *Coordinator) Create(id string) error {
	_, err := c.shell(id)
	return err
}

// lookup returns the group id's shell, or nil if the coordinator has no such group.
func (c *Coordinator) lookup(id string) *shell {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.groups[id]
}

// JoinAsync runs a JoinGroup for group id; done gets its answer, at once or when the core
// completes it.
func (c *Coordinator) JoinAsync(id string, req JoinRequest, done JoinFunc) {
	ask(c, id, done, func(s *shell) (JoinResponse, bool, []Effect) {
		resp, waits, effects := s.core().Join(time.Now(), req)
		if waits {
			s.joins[resp.MemberID] = append(s.joins[resp.MemberID], done)
		}
		return resp, waits, effects
	})
}

// SyncAsync runs a SyncGroup for group id; done gets its answer, at once or, for a follower
// ahead of its leader, when the leader's arrives.
func (c *Coordinator) SyncAsync(id string, req SyncRequest, done SyncFunc) {
	ask(c, id, done, func(s *shell) (SyncResponse, bool, []Effect) {
		resp, waits, effects := s.core().Sync(time.Now(), req)
		if waits {
			s.syncs[req.MemberID] = append(s.syncs[req.MemberID], done)
		}
		return resp, waits, effects
	})
}

// ask runs one request the core may park. step calls the core under the group's lock and,
// when the core parks the request, records done among the group's waiters; otherwise done
// gets the answer once the lock is released, before the answers step's effects produced.
func ask[R any](c *Coordinator, id string, done func(R, error), step func(*shell) (R, bool, []Effect)) {
	var zero R
	s, err := c.shell(id)
	if err != nil {
		done(zero, err)
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		done(zero, ErrClosed)
		return
	}
	st, gen := s.g.state, s.g.generation
	resp, parked, effects := step(s)
	answers := s.apply(st, gen, effects)
	s.mu.Unlock()
	if !parked {
		done(resp, nil)
	}
	run(answers)
}

// Join runs a JoinGroup for group id and waits for its answer, until ctx ends.
func (c *Coordinator) Join(ctx context.Context, id string, req JoinRequest) (JoinResponse, error) {
	return wait(ctx, func(done func(JoinResponse, error)) { c.JoinAsync(id, req, done) })
}

// Sync runs a SyncGroup for group id and waits for its answer, until ctx ends.
func (c *Coordinator) Sync(ctx context.Context, id string, req SyncRequest) (SyncResponse, error) {
	return wait(ctx, func(done func(SyncResponse, error)) { c.SyncAsync(id, req, done) })
}

// wait sends a request with send and waits for the answer it is given, until ctx ends.
func wait[R any](ctx context.Context, send func(done func(R, error))) (R, error) {
	type answer struct {
		resp R
		err  error
	}
	ch := make(chan answer, 1)
	send(func(resp R, err error) { ch <- answer{resp, err} })
	select {
	case a := <-ch:
		return a.resp, a.err
	case <-ctx.Done():
		var zero R
		return zero, ctx.Err()
	}
}

// run calls the answers apply collected, after the group's lock is released.
func run(answers []func()) {
	for _, a := range answers {
		a()
	}
}

// Heartbeat runs a Heartbeat for group id.
func (c *Coordinator) Heartbeat(id, memberID, instanceID string, generation int32) (Code, error) {
	return c.run(id, func(s *shell) (Code, []Effect) {
		return s.core().Heartbeat(time.Now(), memberID, instanceID, generation)
	})
}

// HeartbeatWatch runs a Heartbeat for group id and returns, with its answer, a channel
// closed at the group's next change of state or generation (a rebalance starting or
// completing, the group emptying), taken under the same lock: a member that waits on it
// learns of the next change at once, without missing one in between.
func (c *Coordinator) HeartbeatWatch(id, memberID, instanceID string, generation int32) (Code, <-chan struct{}, error) {
	s, err := c.shell(id)
	if err != nil {
		return 0, nil, err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return 0, nil, ErrClosed
	}
	watch := s.changed
	code, effects := s.core().Heartbeat(time.Now(), memberID, instanceID, generation)
	answers := s.apply(s.g.state, s.g.generation, effects) // a heartbeat moves neither
	s.mu.Unlock()
	run(answers)
	return code, watch, nil
}

// Rebalance starts a rebalance of group id ([Group.Rebalance]) and reports whether one began;
// it creates no group.
func (c *Coordinator) Rebalance(id, why string) (bool, error) {
	return c.runExisting(id, func(g *Group, now time.Time) (bool, []Effect) { return g.Rebalance(now, why) })
}

// ExpireSession ends the session of memberID in group id now, as its session timer would
// ([Group.ExpireSession]), and reports whether the member was removed; it creates no group.
func (c *Coordinator) ExpireSession(id, memberID string) (bool, error) {
	return c.runExisting(id, func(g *Group, now time.Time) (bool, []Effect) { return g.ExpireSession(now, memberID) })
}

// runExisting runs fn on group id, if the coordinator has it, and returns what fn reported:
// false for a group it does not have.
func (c *Coordinator) runExisting(id string, fn func(*Group, time.Time) (bool, []Effect)) (bool, error) {
	if c.lookup(id) == nil {
		return false, nil
	}
	var done bool
	_, err := c.run(id, func(s *shell) (Code, []Effect) {
		var effects []Effect
		done, effects = fn(s.core(), time.Now())
		return None, effects
	})
	return done, err
}

// Peek returns group id's state and generation as of its last change, without taking its
// lock, and whether the coordinator has the group: what a member may read to learn that a
// rebalance began without a Heartbeat (which would answer REBALANCE_IN_PROGRESS). It may be a
// moment old, as a Heartbeat's answer is by the time the member reads it.
func (c *Coordinator) Peek(id string) (State, int32, bool) {
	s := c.lookup(id)
	if s == nil {
		return 0, 0, false
	}
	v := s.seen.Load()
	return State(v >> 32), int32(uint32(v)), true
}

// Leave runs a LeaveGroup of one member for group id.
func (c *Coordinator) Leave(id, memberID, instanceID string) (Code, error) {
	return c.run(id, func(s *shell) (Code, []Effect) { return s.core().Leave(time.Now(), memberID, instanceID) })
}

// Commit checks that memberID of generation may commit group id's offsets now (see
// [Group.Commit]). The caller stores the offsets after a None: the check and the write are
// not one step, so a rebalance may begin in between, as it may between a Kafka broker's check
// and its append.
func (c *Coordinator) Commit(id, memberID, instanceID string, generation int32) (Code, error) {
	return c.run(id, func(s *shell) (Code, []Effect) { return s.core().Commit(time.Now(), memberID, instanceID, generation) })
}

// run runs a request that never waits under the group's lock.
func (c *Coordinator) run(id string, fn func(*shell) (Code, []Effect)) (Code, error) {
	s, err := c.shell(id)
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return 0, ErrClosed
	}
	st, gen := s.g.state, s.g.generation
	code, effects := fn(s)
	answers := s.apply(st, gen, effects)
	s.mu.Unlock()
	run(answers)
	return code, nil
}

// Describe calls fn with group id's core under its lock, for reading its state (and setting
// members' View), and reports whether the coordinator has the group; it creates none. After
// Close it shows the groups as Close left them.
func (c *Coordinator) Describe(id string, fn func(*Group)) bool {
	s := c.lookup(id)
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s.g)
	return true
}

// IDs returns the ids of the groups the coordinator has, in no order.
func (c *Coordinator) IDs() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	ids := make([]string, 0, len(c.groups))
	for id := range c.groups {
		ids = append(ids, id)
	}
	return ids
}

// Delete removes group id if it has no members, as DeleteGroups does (the group turns Dead:
// a request in flight for it finds it unknown), and reports whether it had members.
func (c *Coordinator) Delete(id string) (nonEmpty bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false, ErrClosed
	}
	s := c.groups[id]
	if s == nil {
		return false, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, gen := s.g.state, s.g.generation
	if !s.g.Delete() {
		return true, nil
	}
	s.apply(st, gen, nil) // an empty group has no waiters: nothing to answer
	for _, a := range s.timers {
		a.t.Stop()
	}
	clear(s.timers)
	delete(c.groups, id)
	return false, nil
}

// apply carries out the core's effects, and wakes the watchers if the state or generation
// moved from st and gen. It returns the answers to waiting requests, for the caller to run
// once s.mu is released. Called with s.mu held.
func (s *shell) apply(st State, gen int32, effects []Effect) (answers []func()) {
	for _, e := range effects {
		switch e.Kind {
		case ArmTimer:
			if a := s.timers[e.Timer]; a != nil {
				a.want = e.At
				if e.At.Before(a.at) {
					a.t.Reset(time.Until(e.At))
					a.at = e.At
				}
				break
			}
			key, a := e.Timer, &armed{at: e.At, want: e.At}
			a.t = time.AfterFunc(time.Until(e.At), func() { s.expire(key, a) })
			s.timers[key] = a
		case StopTimer:
			if a := s.timers[e.Timer]; a != nil {
				a.t.Stop()
				delete(s.timers, e.Timer)
			}
		case CompleteJoin:
			resp := e.Join // the closure copies only the response, not the whole effect
			for _, f := range s.joins[e.Member] {
				answers = append(answers, func() { f(resp, nil) })
			}
			delete(s.joins, e.Member)
		case CompleteSync:
			resp := e.Sync
			for _, f := range s.syncs[e.Member] {
				answers = append(answers, func() { f(resp, nil) })
			}
			delete(s.syncs, e.Member)
		case Notify:
			if s.observe != nil {
				s.observe(s.g.ID, *e.Note)
			}
		}
	}
	if s.g.state != st || s.g.generation != gen {
		close(s.changed)
		s.changed = make(chan struct{})
		s.seen.Store(uint64(s.g.state)<<32 | uint64(uint32(s.g.generation)))
	}
	return answers
}

// expire runs the firing of timer k, armed as a. A firing before the deadline sets the timer
// again; one after Close, of a timer stopped or replaced since, or one the core finds stale
// does nothing.
func (s *shell) expire(k Timer, a *armed) {
	s.mu.Lock()
	if s.closed || s.timers[k] != a {
		s.mu.Unlock()
		return
	}
	now := time.Now()
	if now.Before(a.want) {
		a.t.Reset(a.want.Sub(now))
		a.at = a.want
		s.mu.Unlock()
		return
	}
	delete(s.timers, k)
	st, gen := s.g.state, s.g.generation
	answers := s.apply(st, gen, s.core().Expire(now, k))
	s.mu.Unlock()
	run(answers)
}

// Close stops every timer and answers every waiting request with ErrClosed; later requests
// return ErrClosed, and no timer acts after it returns. It is idempotent.
func (c *Coordinator) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	close(c.done)
	var answers []func()
	for _, s := range c.groups {
		s.mu.Lock()
		s.closed = true
		for _, a := range s.timers {
			a.t.Stop()
		}
		clear(s.timers)
		for _, fs := range s.joins {
			for _, f := range fs {
				answers = append(answers, func() { f(JoinResponse{}, ErrClosed) })
			}
		}
		for _, fs := range s.syncs {
			for _, f := range fs {
				answers = append(answers, func() { f(SyncResponse{}, ErrClosed) })
			}
		}
		clear(s.joins)
		clear(s.syncs)
		s.mu.Unlock()
	}
	c.mu.Unlock()
	run(answers)
}
