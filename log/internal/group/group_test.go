package group

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The core driven with Kafka's request sequences. now is explicit: nothing here sleeps.

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func newGroup() *Group {
	return New("g", Config{MinSessionTimeout: 6 * time.Second, MaxSessionTimeout: 30 * time.Minute}, t0)
}

func joinReq(id string, protocols ...string) JoinRequest {
	req := JoinRequest{MemberID: id, ClientID: "c", ProtocolType: "consumer", SessionTimeout: 45 * time.Second,
		RebalanceTimeout: 5 * time.Minute}
	for _, p := range protocols {
		req.Protocols = append(req.Protocols, Protocol{Name: p, Metadata: []byte(p + "-meta")})
	}
	return req
}

// joins collects the CompleteJoin effects by member.
func joins(effects []Effect) map[string]JoinResponse {
	return completions(effects, CompleteJoin, func(e Effect) JoinResponse { return e.Join })
}

// syncs collects the CompleteSync effects by member.
func syncs(effects []Effect) map[string]SyncResponse {
	return completions(effects, CompleteSync, func(e Effect) SyncResponse { return e.Sync })
}

func completions[R any](effects []Effect, kind EffectKind, answer func(Effect) R) map[string]R {
	out := make(map[string]R)
	for _, e := range effects {
		if e.Kind == kind {
			out[e.Member] = answer(e)
		}
	}
	return out
}

// armedAt returns the deadline of timer t among the effects, if armed there.
func armedAt(effects []Effect, t Timer) (time.Time, bool) {
	for _, e := range effects {
		if e.Kind == ArmTimer && e.Timer == t {
			return e.At, true
		}
	}
	return time.Time{}, false
}

// member joins with KIP-394's two steps and returns its id and the effects of the second.
func member(t *testing.T, g *Group, now time.Time, protocols ...string) (string, []Effect) {
	t.Helper()
	req := joinReq("", protocols...)
	req.RequireKnownMemberID = true
	resp, waits, _ := g.Join(now, req)
	require.False(t, waits)
	require.Equal(t, MemberIDRequired, resp.Code)
	req.MemberID = resp.MemberID
	_, waits, effects := g.Join(now, req)
	require.True(t, waits)
	return resp.MemberID, effects
}

// stable brings two members a and b to Stable and returns their ids. a's join completes a
// generation on its own (no initial delay here), and b's starts the next: the group is Stable
// at generation 2.
func stable(t *testing.T, g *Group) (a, b string) {
	t.Helper()
	a, _ = member(t, g, t0, "range")
	_, waits, _ := g.Join(t0, joinReq("", "range"))
	require.True(t, waits)
	b = g.order[1]
	_, waits, effects := g.Join(t0, joinReq(a, "range"))
	require.True(t, waits)
	require.Len(t, joins(effects), 2)
	_, _, _ = g.Sync(t0, SyncRequest{MemberID: a, Generation: g.Generation(), Assignments: map[string][]byte{a: []byte("A"), b: []byte("B")}})
	require.Equal(t, Stable, g.State())
	return a, b
}

// K19/KIP-394: a first JoinGroup (v4+) gets MEMBER_ID_REQUIRED and an id; the join with it
// completes the group's first generation with the member as leader, holding the member list.
func TestJoin_K19_MemberIDRequiredThenFirstMemberLeads(t *testing.T) {
	g := newGroup()
	id, effects := member(t, g, t0, "range")
	j := joins(effects)
	require.Contains(t, j, id)
	assert.Equal(t, JoinResponse{Generation: 1, Protocol: "range", Leader: id, MemberID: id,
		Members: []JoinMember{{ID: id, Metadata: []byte("range-meta")}}}, j[id])
	assert.Equal(t, CompletingRebalance, g.State())
	at, ok := armedAt(effects, Timer{SessionTimer, id})
	require.True(t, ok, "the session starts at the join's end")
	assert.Equal(t, t0.Add(45*time.Second), at)
}

// A member id handed out by MEMBER_ID_REQUIRED and never used expires with the session
// timeout, and is unknown after.
func TestJoin_PendingMemberIDExpires(t *testing.T) {
	g := newGroup()
	req := joinReq("", "range")
	req.RequireKnownMemberID = true
	resp, _, effects := g.Join(t0, req)
	at, ok := armedAt(effects, Timer{PendingTimer, resp.MemberID})
	require.True(t, ok)
	assert.Empty(t, g.Expire(at.Add(-time.Second), Timer{PendingTimer, resp.MemberID}), "early: stale")
	g.Expire(at, Timer{PendingTimer, resp.MemberID})
	req.MemberID = resp.MemberID
	resp, _, _ = g.Join(at, req)
	assert.Equal(t, UnknownMemberID, resp.Code)
}

// The members vote: each for the first of its protocols that every member supports, and the
// most votes win; a member that supports none of the group's protocols is refused.
func TestJoin_ProtocolSelectionAcrossMembers(t *testing.T) {
	g := New("g", Config{MinSessionTimeout: 6 * time.Second, MaxSessionTimeout: 30 * time.Minute,
		InitialRebalanceDelay: 3 * time.Second}, t0) // the three join the same generation
	_, _, _ = g.Join(t0, joinReq("", "range", "cooperative-sticky"))
	_, _, _ = g.Join(t0, joinReq("", "range", "cooperative-sticky"))
	_, _, _ = g.Join(t0, joinReq("", "cooperative-sticky", "range"))
	resp, _, _ := g.Join(t0, joinReq("", "roundrobin"))
	assert.Equal(t, InconsistentGroupProtocol, resp.Code)
	j := joins(g.Expire(t0.Add(3*time.Second), Timer{Kind: InitialDelayTimer}))
	require.Len(t, j, 3)
	for _, r := range j {
		assert.Equal(t, "range", r.Protocol, "two votes against one")
	}
	leader := j[g.Leader()]
	require.Len(t, leader.Members, 3)
	assert.Equal(t, []byte("range-meta"), leader.Members[2].Metadata, "each member's metadata for the chosen protocol")

	// Protocols not every member supports are not candidates, whatever the votes.
	g = New("g", Config{MinSessionTimeout: 6 * time.Second, MaxSessionTimeout: 30 * time.Minute,
		InitialRebalanceDelay: 3 * time.Second}, t0)
	_, _, _ = g.Join(t0, joinReq("", "range", "cooperative-sticky"))
	_, _, _ = g.Join(t0, joinReq("", "range", "cooperative-sticky"))
	_, _, _ = g.Join(t0, joinReq("", "cooperative-sticky"))
	g.Expire(t0.Add(3*time.Second), Timer{Kind: InitialDelayTimer})
	assert.Equal(t, "cooperative-sticky", g.Protocol())
}

// The leader's SyncGroup delivers each member its assignment; a follower that synced first
// waits for the leader's.
func TestSync_K19_FollowerWaitsForTheLeadersAssignment(t *testing.T) {
	g := newGroup()
	a, _ := member(t, g, t0, "range")
	_, _, _ = g.Join(t0, joinReq("", "range"))
	b := g.order[1]
	_, _, effects := g.Join(t0, joinReq(a, "range"))
	j := joins(effects)
	require.Len(t, j, 2)
	assert.Len(t, j[a].Members, 2, "the leader gets the members")
	assert.Empty(t, j[b].Members, "a follower does not")

	gen := g.Generation()
	resp, waits, _ := g.Sync(t0, SyncRequest{MemberID: b, Generation: gen})
	require.True(t, waits, "the follower is ahead of its leader")
	assert.Equal(t, SyncResponse{}, resp)
	resp, waits, effects = g.Sync(t0, SyncRequest{MemberID: a, Generation: gen,
		Assignments: map[string][]byte{a: []byte("p0"), b: []byte("p1")}})
	require.False(t, waits)
	assert.Equal(t, []byte("p0"), resp.Assignment)
	assert.Equal(t, map[string]SyncResponse{b: {Assignment: []byte("p1")}}, syncs(effects))
	assert.Equal(t, Stable, g.State())

	resp, waits, _ = g.Sync(t0, SyncRequest{MemberID: b, Generation: gen})
	assert.False(t, waits)
	assert.Equal(t, []byte("p1"), resp.Assignment, "Stable: answered at once")
}

// K20: a request from an unknown member, or with a generation that is not the group's, fails.
func TestRequests_K20_UnknownMemberAndIllegalGeneration(t *testing.T) {
	g := newGroup()
	a, _ := stable(t, g)
	gen := g.Generation()
	resp, _, _ := g.Sync(t0, SyncRequest{MemberID: "nobody", Generation: gen})
	assert.Equal(t, UnknownMemberID, resp.Code)
	resp, _, _ = g.Sync(t0, SyncRequest{MemberID: a, Generation: gen + 5})
	assert.Equal(t, IllegalGeneration, resp.Code)
	code, _ := g.Heartbeat(t0, "nobody", "", gen)
	assert.Equal(t, UnknownMemberID, code)
	code, _ = g.Heartbeat(t0, a, "", gen-1)
	assert.Equal(t, IllegalGeneration, code)
	code, _ = g.Heartbeat(t0, a, "", gen)
	assert.Equal(t, None, code)
	jresp, _, _ := g.Join(t0, joinReq("nobody", "range"))
	assert.Equal(t, UnknownMemberID, jresp.Code)
}

// K21: a new member's join moves a Stable group to PreparingRebalance; heartbeats then say
// REBALANCE_IN_PROGRESS until the members rejoin, and the generation moves on.
func TestJoin_K21_NewMemberRebalancesAStableGroup(t *testing.T) {
	g := newGroup()
	a, b := stable(t, g)
	gen := g.Generation()
	_, waits, _ := g.Join(t0, joinReq("", "range"))
	require.True(t, waits)
	assert.Equal(t, PreparingRebalance, g.State())
	code, _ := g.Heartbeat(t0, a, "", gen)
	assert.Equal(t, RebalanceInProgress, code)
	_, _, _ = g.Join(t0, joinReq(a, "range"))
	_, _, effects := g.Join(t0, joinReq(b, "range"))
	j := joins(effects)
	require.Len(t, j, 3)
	assert.Equal(t, gen+1, j[a].Generation)
	assert.Equal(t, a, j[b].Leader, "the leader stays the leader")
}

// A member that does not rejoin within the rebalance timeout is dropped, and the join
// completes without it.
func TestExpire_RebalanceTimeoutExpelsAMemberThatNeverRejoined(t *testing.T) {
	g := newGroup()
	a, b := stable(t, g)
	gen := g.Generation()
	_, _, effects := g.Join(t0, joinReq("", "range")) // c joins: a rebalance
	at, ok := armedAt(effects, Timer{Kind: RebalanceTimer})
	require.True(t, ok)
	assert.Equal(t, t0.Add(5*time.Minute), at)
	c := g.order[2]
	_, _, _ = g.Join(t0, joinReq(a, "range")) // b never rejoins
	assert.Empty(t, g.Expire(at.Add(-time.Millisecond), Timer{Kind: RebalanceTimer}), "early: stale")
	effects = g.Expire(at, Timer{Kind: RebalanceTimer})
	j := joins(effects)
	assert.Len(t, j, 2)
	assert.Contains(t, j, a)
	assert.Contains(t, j, c)
	assert.Nil(t, g.Member(b))
	assert.Equal(t, gen+1, g.Generation())
}

// K23: a member that stops heartbeating is removed at its session timeout, and the others
// rebalance; a heartbeat in time moves the deadline.
func TestExpire_K23_SessionTimeoutRemovesTheMember(t *testing.T) {
	g := newGroup()
	a, b := stable(t, g)
	later := t0.Add(30 * time.Second)
	_, effects := g.Heartbeat(later, b, "", g.Generation())
	at, ok := armedAt(effects, Timer{SessionTimer, b})
	require.True(t, ok)
	assert.Equal(t, later.Add(45*time.Second), at)
	assert.Empty(t, g.Expire(t0.Add(45*time.Second), Timer{SessionTimer, b}), "b heartbeated: stale")
	_, ok = armedAt(g.Expire(t0.Add(45*time.Second), Timer{SessionTimer, a}), Timer{Kind: RebalanceTimer})
	assert.True(t, ok, "the others rebalance")
	assert.Nil(t, g.Member(a))
	assert.Equal(t, PreparingRebalance, g.State())
	assert.Equal(t, b, g.Leader(), "the next member leads")
}

// K29: a static member that restarts (joins with its instance id and no member id) within the
// session timeout takes its old place and assignment with no rebalance; the old id is fenced.
func TestJoin_K29_StaticMemberRejoinsWithoutARebalance(t *testing.T) {
	g := newGroup()
	req := joinReq("", "range")
	req.InstanceID = "worker-1"
	_, _, _ = g.Join(t0, req)
	s := g.order[0]
	_, _, _ = g.Join(t0, joinReq("", "range"))
	other := g.order[1]
	req.MemberID = s
	_, _, _ = g.Join(t0, req)
	gen := g.Generation()
	_, _, _ = g.Sync(t0, SyncRequest{MemberID: s, InstanceID: "worker-1", Generation: gen,
		Assignments: map[string][]byte{s: []byte("S"), other: []byte("O")}})
	require.Equal(t, Stable, g.State())

	req.MemberID = "" // restarted: it lost its member id
	resp, waits, _ := g.Join(t0.Add(10*time.Second), req)
	require.False(t, waits, "answered at once")
	assert.Equal(t, Stable, g.State(), "no rebalance")
	assert.Equal(t, gen, resp.Generation)
	assert.NotEqual(t, s, resp.MemberID)
	assert.True(t, resp.SkipAssignment, "it was the leader: the group keeps its assignment")
	sresp, _, _ := g.Sync(t0, SyncRequest{MemberID: resp.MemberID, InstanceID: "worker-1", Generation: gen})
	assert.Equal(t, []byte("S"), sresp.Assignment)

	code, _ := g.Heartbeat(t0, s, "worker-1", gen)
	assert.Equal(t, FencedInstanceID, code, "the old incarnation is fenced")
	code, _ = g.Heartbeat(t0, s, "", gen)
	assert.Equal(t, UnknownMemberID, code, "the old id is gone")
	code, _ = g.Heartbeat(t0, resp.MemberID, "other-instance", gen)
	assert.Equal(t, UnknownMemberID, code, "an instance id the group does not have")
}

// LeaveGroup removes a member at once and rebalances the rest; leaving by instance id works
// for a static member.
func TestLeave_RemovesAndRebalances(t *testing.T) {
	g := newGroup()
	a, b := stable(t, g)
	code, _ := g.Leave(t0, a, "")
	assert.Equal(t, None, code)
	assert.Equal(t, PreparingRebalance, g.State())
	_, _, effects := g.Join(t0, joinReq(b, "range"))
	j := joins(effects)
	require.Len(t, j, 1)
	assert.Equal(t, b, j[b].Leader)
	code, _ = g.Leave(t0, "nobody", "")
	assert.Equal(t, UnknownMemberID, code)
}

// A session timeout outside the broker's bounds is refused (K23).
func TestJoin_K23_SessionTimeoutOutOfRange(t *testing.T) {
	g := newGroup()
	for _, d := range []time.Duration{5 * time.Second, 31 * time.Minute} {
		req := joinReq("", "range")
		req.SessionTimeout = d
		resp, _, _ := g.Join(t0, req)
		assert.Equal(t, InvalidSessionTimeout, resp.Code, d)
	}
}

// K27: the first rebalance of an empty group waits group.initial.rebalance.delay.ms for more
// members, each new one extending the wait, before the join completes.
func TestJoin_K27_InitialRebalanceDelay(t *testing.T) {
	g := New("g", DefaultConfig, t0)
	_, _, effects := g.Join(t0, joinReq("", "range"))
	at, ok := armedAt(effects, Timer{Kind: InitialDelayTimer})
	require.True(t, ok)
	assert.Equal(t, t0.Add(3*time.Second), at)
	_, _, effects = g.Join(t0.Add(2*time.Second), joinReq("", "range"))
	at, ok = armedAt(effects, Timer{Kind: InitialDelayTimer})
	require.True(t, ok)
	assert.Equal(t, t0.Add(5*time.Second), at, "extended by the second member")
	assert.Empty(t, g.Expire(t0.Add(3*time.Second), Timer{Kind: InitialDelayTimer}), "stale")
	effects = g.Expire(at, Timer{Kind: InitialDelayTimer})
	assert.Len(t, joins(effects), 2, "both joined: the first generation completes")
	assert.Equal(t, int32(1), g.Generation())
}

// A member whose JoinGroup is parked is alive: its session does not expire while it waits
// for the others, however long the join phase lasts (GroupCoordinator's shouldKeepAlive).
func TestExpire_ParkedJoinKeepsTheSessionAlive(t *testing.T) {
	g := newGroup()
	a, b := stable(t, g)
	_, _, _ = g.Join(t0, joinReq(a, "range")) // a rejoins: a rebalance; b does not yet
	at := t0.Add(45 * time.Second)
	effects := g.Expire(at, Timer{SessionTimer, a})
	assert.NotNil(t, g.Member(a), "waiting in JoinGroup")
	next, ok := armedAt(effects, Timer{SessionTimer, a})
	require.True(t, ok, "the session starts over")
	assert.Equal(t, at.Add(45*time.Second), next)
	g.Expire(at, Timer{SessionTimer, b})
	assert.Nil(t, g.Member(b), "silent and not waiting: dropped")
}

// OffsetCommit: a member of the current generation may commit, also while the group prepares
// a rebalance; not while it completes one (REBALANCE_IN_PROGRESS), not from an old generation
// or an unknown member; a commit outside any generation only to a group with no members.
func TestCommit_K20_WhoMayCommit(t *testing.T) {
	g := newGroup()
	code, _ := g.Commit(t0, "", "", -1)
	assert.Equal(t, None, code, "an empty group takes a standalone commit")
	a, _ := stable(t, g)
	gen := g.Generation()
	for _, tc := range []struct {
		member string
		gen    int32
		want   Code
	}{{a, gen, None}, {a, gen - 1, IllegalGeneration}, {"nobody", gen, UnknownMemberID}, {"", -1, UnknownMemberID}} {
		code, _ := g.Commit(t0, tc.member, "", tc.gen)
		assert.Equal(t, tc.want, code, "%q at %d", tc.member, tc.gen)
	}
	_, _, _ = g.Join(t0, joinReq("", "range")) // a newcomer: PreparingRebalance
	code, _ = g.Commit(t0, a, "", gen)
	assert.Equal(t, None, code, "while preparing, the current generation commits")
	_, _, _ = g.Join(t0, joinReq(a, "range"))
	_, _, _ = g.Join(t0, joinReq(g.order[1], "range"))
	require.Equal(t, CompletingRebalance, g.State())
	code, _ = g.Commit(t0, a, "", g.Generation())
	assert.Equal(t, RebalanceInProgress, code)
}

// A static member that restarts while the group completes a rebalance makes it start over:
// the leader may have assigned to the old member id.
func TestJoin_K29_StaticRestartDuringCompletingRebalanceRebalances(t *testing.T) {
	g := newGroup()
	req := joinReq("", "range")
	req.InstanceID = "host-1"
	_, _, effects := g.Join(t0, req)
	require.Len(t, joins(effects), 1)
	require.Equal(t, CompletingRebalance, g.State())
	gen := g.Generation()
	resp, waits, effects := g.Join(t0, req) // restarted before the leader's SyncGroup
	assert.True(t, waits)
	assert.Equal(t, gen+1, g.Generation(), "a new generation (alone, its join completes at once)")
	assert.Equal(t, gen+1, joins(effects)[resp.MemberID].Generation)
	assert.Equal(t, []*Member{g.Member(resp.MemberID)}, g.Members(), "the old id is replaced")
}

// DeleteGroups: only an empty group is deleted; it turns Dead.
func TestDelete_OnlyAnEmptyGroup(t *testing.T) {
	g := newGroup()
	stable(t, g)
	assert.False(t, g.Delete())
	assert.Equal(t, Stable, g.State())
	empty := New("e", DefaultConfig, t0)
	assert.True(t, empty.Delete())
	assert.Equal(t, Dead, empty.State())
}
