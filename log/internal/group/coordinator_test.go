package group

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The shell driven as Kafka clients drive a coordinator, concurrently, on synctest's clock.

// changes returns group id's change channel: closed at its next change of state or generation.
func changes(c *Coordinator, id string) <-chan struct{} {
	s := c.lookup(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// joinAsync runs a JoinGroup in a goroutine and returns where its answer arrives.
func joinAsync(c *Coordinator, req JoinRequest) <-chan JoinResponse {
	out := make(chan JoinResponse, 1)
	go func() {
		resp, err := c.Join(context.Background(), "g", req)
		if err != nil {
			resp.Code = -1
		}
		out <- resp
	}()
	return out
}

// Two members join the group's first generation together (the initial delay holds the first),
// the follower syncs before the leader and gets its assignment when the leader's arrives.
func TestCoordinator_TwoMembersJoinAndSync(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := NewCoordinator(DefaultConfig, nil)
		defer c.Close()
		first, second := joinAsync(c, joinReq("", "range")), joinAsync(c, joinReq("", "range"))
		synctest.Wait()
		select {
		case <-first:
			t.Fatal("answered during the initial delay")
		default:
		}
		time.Sleep(3 * time.Second) // group.initial.rebalance.delay.ms
		a, b := <-first, <-second
		require.Equal(t, a.Leader, b.Leader)
		leader, follower := a, b
		if b.MemberID == b.Leader {
			leader, follower = b, a
		}
		require.Len(t, leader.Members, 2)

		got := make(chan SyncResponse, 1)
		go func() {
			resp, err := c.Sync(context.Background(), "g", SyncRequest{MemberID: follower.MemberID, Generation: follower.Generation})
			require.NoError(t, err)
			got <- resp
		}()
		synctest.Wait()
		require.Empty(t, got, "waits for the leader")
		resp, err := c.Sync(context.Background(), "g", SyncRequest{MemberID: leader.MemberID, Generation: leader.Generation,
			Assignments: map[string][]byte{leader.MemberID: []byte("L"), follower.MemberID: []byte("F")}})
		require.NoError(t, err)
		assert.Equal(t, []byte("L"), resp.Assignment)
		assert.Equal(t, []byte("F"), (<-got).Assignment)
	})
}

// Peek shows each change of state and generation without the group's lock: what the
// Heartbeat of a member would answer (a rebalance in progress) is visible at once.
func TestCoordinator_PeekFollowsStateAndGeneration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := NewCoordinator(DefaultConfig, nil)
		defer c.Close()
		_, _, ok := c.Peek("g")
		assert.False(t, ok, "no such group")
		first := joinAsync(c, joinReq("", "range"))
		synctest.Wait()
		st, gen, ok := c.Peek("g")
		require.True(t, ok)
		assert.Equal(t, PreparingRebalance, st)
		assert.Equal(t, int32(0), gen)
		time.Sleep(3 * time.Second) // group.initial.rebalance.delay.ms
		a := <-first
		st, gen, _ = c.Peek("g")
		assert.Equal(t, CompletingRebalance, st)
		assert.Equal(t, int32(1), gen)
		_, err := c.Sync(context.Background(), "g", SyncRequest{MemberID: a.MemberID, Generation: 1, Assignments: map[string][]byte{a.MemberID: nil}})
		require.NoError(t, err)
		st, gen, _ = c.Peek("g")
		assert.Equal(t, Stable, st)
		assert.Equal(t, int32(1), gen)
		began, err := c.Rebalance("g", "requested")
		require.NoError(t, err)
		require.True(t, began)
		code, err := c.Heartbeat("g", a.MemberID, "", 1)
		require.NoError(t, err)
		st, _, _ = c.Peek("g")
		assert.Equal(t, RebalanceInProgress, code)
		assert.Equal(t, PreparingRebalance, st, "what the heartbeat said")
	})
}

// A member that stops heartbeating is dropped at its session timeout by the shell's timer,
// and the other's heartbeat then asks it to rejoin.
func TestCoordinator_SessionTimerDropsASilentMember(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := NewCoordinator(Config{MinSessionTimeout: 6 * time.Second, MaxSessionTimeout: 30 * time.Minute}, nil)
		defer c.Close()
		ra := <-joinAsync(c, joinReq("", "range")) // alone: its join completes at once
		b := joinAsync(c, joinReq("", "range"))    // starts the next generation
		synctest.Wait()
		ra = <-joinAsync(c, joinReq(ra.MemberID, "range"))
		rb := <-b
		require.Equal(t, ra.Generation, rb.Generation)
		for range 20 { // b heartbeats every 3 s for a minute; a is silent
			time.Sleep(3 * time.Second)
			code, err := c.Heartbeat("g", rb.MemberID, "", rb.Generation)
			require.NoError(t, err)
			if code != None {
				assert.Equal(t, RebalanceInProgress, code, "a was dropped: b must rejoin")
				require.True(t, c.Describe("g", func(g *Group) { assert.Nil(t, g.Member(ra.MemberID)) }))
				return
			}
		}
		t.Fatal("a was never dropped")
	})
}

// Close answers waiting requests with ErrClosed, stops every timer, and refuses what follows.
func TestCoordinator_CloseWakesWaitersAndStopsTimers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := NewCoordinator(DefaultConfig, nil)
		waiting := make(chan error, 1)
		go func() {
			_, err := c.Join(context.Background(), "g", joinReq("", "range"))
			waiting <- err
		}()
		synctest.Wait() // parked in the initial delay, its timer armed
		c.Close()
		assert.ErrorIs(t, <-waiting, ErrClosed)
		time.Sleep(time.Hour) // past every deadline: a stopped timer never runs its expiry
		synctest.Wait()
		_, err := c.Join(context.Background(), "g", joinReq("", "range"))
		assert.ErrorIs(t, err, ErrClosed)
		c.Describe("g", func(g *Group) {
			assert.Equal(t, PreparingRebalance, g.State(), "as Close left it")
		})
	})
}

// stableGroup brings two dynamic members to Stable through the shell (no initial delay) and
// returns their join responses.
func stableGroup(t *testing.T, c *Coordinator) (leader, follower JoinResponse) {
	t.Helper()
	first := joinAsync(c, joinReq("", "range"))
	synctest.Wait()
	a := <-first // alone: the first generation completes at once
	second := joinAsync(c, joinReq("", "range"))
	synctest.Wait()
	again := joinAsync(c, joinReq(a.MemberID, "range"))
	leader, follower = <-again, <-second
	require.Equal(t, leader.MemberID, leader.Leader)
	_, err := c.Sync(context.Background(), "g", SyncRequest{MemberID: leader.MemberID, Generation: leader.Generation,
		Assignments: map[string][]byte{leader.MemberID: []byte("L"), follower.MemberID: []byte("F")}})
	require.NoError(t, err)
	resp, err := c.Sync(context.Background(), "g", SyncRequest{MemberID: follower.MemberID, Generation: follower.Generation})
	require.NoError(t, err)
	require.Equal(t, []byte("F"), resp.Assignment)
	return leader, follower
}

// K20 through the shell: an unknown member id and a stale generation are refused with their
// codes, and change nothing.
func TestCoordinator_K20_UnknownMemberAndIllegalGeneration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := NewCoordinator(Config{MinSessionTimeout: 6 * time.Second, MaxSessionTimeout: 30 * time.Minute}, nil)
		defer c.Close()
		leader, _ := stableGroup(t, c)
		watch := changes(c, "g")
		code, err := c.Heartbeat("g", "nobody", "", leader.Generation)
		require.NoError(t, err)
		assert.Equal(t, UnknownMemberID, code)
		code, _ = c.Heartbeat("g", leader.MemberID, "", leader.Generation-1)
		assert.Equal(t, IllegalGeneration, code)
		code, _ = c.Commit("g", leader.MemberID, "", leader.Generation-1)
		assert.Equal(t, IllegalGeneration, code)
		sresp, err := c.Sync(context.Background(), "g", SyncRequest{MemberID: "nobody", Generation: leader.Generation})
		require.NoError(t, err)
		assert.Equal(t, UnknownMemberID, sresp.Code)
		code, _ = c.Leave("g", "nobody", "")
		assert.Equal(t, UnknownMemberID, code)
		assert.Empty(t, watch, "no change of state or generation")
		code, _ = c.Commit("g", leader.MemberID, "", leader.Generation)
		assert.Equal(t, None, code)
	})
}

// K29 through the shell: a static member restarting within its session timeout joins with no
// member id and is answered at once with the current generation; the group does not move.
func TestCoordinator_K29_StaticMemberRejoinsWithoutARebalance(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := NewCoordinator(Config{MinSessionTimeout: 6 * time.Second, MaxSessionTimeout: 30 * time.Minute}, nil)
		defer c.Close()
		static := joinReq("", "range")
		static.InstanceID = "host-1"
		first := joinAsync(c, static)
		synctest.Wait()
		s := <-first
		_, err := c.Sync(context.Background(), "g", SyncRequest{MemberID: s.MemberID, InstanceID: "host-1",
			Generation: s.Generation, Assignments: map[string][]byte{s.MemberID: []byte("S")}})
		require.NoError(t, err)
		watch := changes(c, "g")

		time.Sleep(10 * time.Second) // the process restarts; it had not heartbeated since
		resp, err := c.Join(context.Background(), "g", static)
		require.NoError(t, err)
		assert.Equal(t, s.Generation, resp.Generation)
		assert.True(t, resp.SkipAssignment)
		sresp, err := c.Sync(context.Background(), "g", SyncRequest{MemberID: resp.MemberID, InstanceID: "host-1",
			Generation: resp.Generation})
		require.NoError(t, err)
		assert.Equal(t, []byte("S"), sresp.Assignment, "its old assignment")
		assert.Empty(t, watch, "no rebalance")
		code, _ := c.Heartbeat("g", s.MemberID, "host-1", s.Generation)
		assert.Equal(t, FencedInstanceID, code, "the old incarnation is fenced")
	})
}

// A rebalance that a member never rejoins ends at the rebalance timeout (the largest
// max.poll.interval.ms of the members) with the member expelled; the others' parked JoinGroups
// are answered then.
func TestCoordinator_RebalanceTimeoutExpelsAMemberThatNeverRejoined(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := NewCoordinator(Config{MinSessionTimeout: 6 * time.Second, MaxSessionTimeout: 30 * time.Minute}, nil)
		defer c.Close()
		leader, follower := stableGroup(t, c)
		stop := make(chan struct{})
		defer close(stop)
		go func() { // the follower keeps its session alive but never rejoins
			for {
				select {
				case <-stop:
					return
				case <-time.After(3 * time.Second):
					_, _ = c.Heartbeat("g", follower.MemberID, "", follower.Generation)
				}
			}
		}()
		start := time.Now()
		newcomer := joinAsync(c, joinReq("", "range"))
		synctest.Wait()
		rejoin := joinAsync(c, joinReq(leader.MemberID, "range"))
		synctest.Wait()
		require.Empty(t, rejoin, "waits for the follower")
		a := <-rejoin
		assert.Equal(t, 5*time.Minute, time.Since(start), "the rebalance timeout")
		n := <-newcomer
		assert.Equal(t, leader.Generation+1, a.Generation)
		assert.Len(t, a.Members, 2, "the follower is gone")
		assert.Equal(t, a.Generation, n.Generation)
		code, _ := c.Heartbeat("g", follower.MemberID, "", follower.Generation)
		assert.Equal(t, UnknownMemberID, code)
	})
}

// K26 through the shell: two members with different protocol lists join one generation (the
// initial delay gathers them); both are told the protocol every member supports that the
// leader lists first on a tie, and the leader gets each member's metadata for it.
func TestCoordinator_K26_TwoMembersWithDifferentProtocolLists(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := NewCoordinator(DefaultConfig, nil)
		defer c.Close()
		first := joinAsync(c, joinReq("", "range", "cooperative-sticky"))
		synctest.Wait()
		second := joinAsync(c, joinReq("", "cooperative-sticky", "roundrobin"))
		synctest.Wait()
		time.Sleep(3 * time.Second) // group.initial.rebalance.delay.ms
		a, b := <-first, <-second
		assert.Equal(t, "cooperative-sticky", a.Protocol, "the only protocol both support")
		assert.Equal(t, a.Protocol, b.Protocol)
		assert.Equal(t, a.Generation, b.Generation)
		require.Equal(t, a.MemberID, a.Leader, "the first to join leads")
		require.Len(t, a.Members, 2)
		for _, m := range a.Members {
			assert.Equal(t, []byte("cooperative-sticky-meta"), m.Metadata)
		}
		third, err := c.Join(context.Background(), "g", joinReq("", "roundrobin"))
		require.NoError(t, err)
		assert.Equal(t, InconsistentGroupProtocol, third.Code, "no protocol in common with the group")
	})
}

// A member id names one member for good: after its group is deleted and made again, or after
// a restart (a new coordinator), an old id is not handed out again, and a heartbeat with it is
// UNKNOWN_MEMBER_ID, as with Kafka's UUIDs.
func TestCoordinator_MemberIDsAreNotReusedAcrossDeletesAndRestarts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := DefaultConfig
		cfg.InitialRebalanceDelay = 0
		member := func(c *Coordinator) JoinResponse {
			t.Helper()
			resp, err := c.Join(context.Background(), "g", joinReq("", "range"))
			require.NoError(t, err)
			if resp.Code == MemberIDRequired { // KIP-394's first join
				resp, err = c.Join(context.Background(), "g", joinReq(resp.MemberID, "range"))
				require.NoError(t, err)
			}
			require.Equal(t, None, resp.Code)
			return resp
		}
		c := NewCoordinator(cfg, nil)
		defer c.Close()
		old := member(c)
		code, err := c.Leave("g", old.MemberID, "")
		require.NoError(t, err)
		require.Equal(t, None, code)
		nonEmpty, err := c.Delete("g")
		require.NoError(t, err)
		require.False(t, nonEmpty)

		again := member(c)
		assert.NotEqual(t, old.MemberID, again.MemberID, "a deleted group's ids are not handed out again")
		code, err = c.Heartbeat("g", old.MemberID, "", again.Generation)
		require.NoError(t, err)
		assert.Equal(t, UnknownMemberID, code)

		restarted := NewCoordinator(cfg, nil)
		defer restarted.Close()
		assert.NotEqual(t, old.MemberID, member(restarted).MemberID, "nor after a restart")
	})
}
