package group

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// notes returns the notes among effects.
func notes(effects []Effect) []Note {
	var out []Note
	for _, e := range effects {
		if e.Kind == Notify {
			out = append(out, *e.Note)
		}
	}
	return out
}

// lifecycle drives g through two members joining, a sync, a leave, a session expiry and a
// rebalance timeout, and returns every effect of every call.
func lifecycle(t *testing.T, g *Group) []Effect {
	t.Helper()
	var all []Effect
	keep := func(effects []Effect) { all = append(all, effects...) }
	a, effects := member(t, g, t0, "range")
	keep(effects)
	_, _, effects = g.Sync(t0, SyncRequest{MemberID: a, Generation: 1, Assignments: map[string][]byte{a: nil}})
	keep(effects)
	resp, _, effects := g.Join(t0, joinReq("", "range"))
	keep(effects)
	b := resp.MemberID
	_, _, effects = g.Join(t0, joinReq(a, "range"))
	keep(effects)
	_, _, effects = g.Sync(t0, SyncRequest{MemberID: a, Generation: 2, Assignments: map[string][]byte{a: aAssigned, b: nil}})
	keep(effects)
	_, effects = g.Leave(t0, b, "")
	keep(effects)
	// a does not rejoin: the rebalance timeout drops it and the group empties.
	keep(g.Expire(t0.Add(5*time.Minute), Timer{Kind: RebalanceTimer}))
	require.Equal(t, Empty, g.State())
	return all
}

// aAssigned is what lifecycle's second SyncGroup gives its first member.
var aAssigned = Assignment{Partitions: []TopicPartitions{{Topic: "t", Partitions: []int32{0, 1}}}}.Encode()

func TestNotes_OnlyWhenConfigAsks(t *testing.T) {
	assert.Empty(t, notes(lifecycle(t, newGroup())), "a group without Notes makes none")
}

// The notes follow the group's changes in order, each with the generation and member count
// the change left.
func TestNotes_ReportEachChangeInOrder(t *testing.T) {
	g := New("g", Config{MinSessionTimeout: 6 * time.Second, MaxSessionTimeout: 30 * time.Minute, Notes: true}, t0)
	got := notes(lifecycle(t, g))
	for i := range got {
		got[i].Member = "" // ids are the group's to make
	}
	assert.Equal(t, []Note{
		{Kind: NoteJoined, Members: 1},
		{Kind: NoteRebalancing, Members: 1, Reason: ReasonNewMember},
		{Kind: NoteJoinCompleted, Generation: 1, Members: 1, Protocol: "range"},
		{Kind: NoteStable, Generation: 1, Members: 1},
		{Kind: NoteSynced, Generation: 1, Members: 1},
		{Kind: NoteJoined, Generation: 1, Members: 2},
		{Kind: NoteRebalancing, Generation: 1, Members: 2, Reason: ReasonNewMember},
		{Kind: NoteRejoined, Generation: 1, Members: 2},
		{Kind: NoteJoinCompleted, Generation: 2, Members: 2, Protocol: "range"},
		{Kind: NoteStable, Generation: 2, Members: 2},
		{Kind: NoteSynced, Generation: 2, Members: 2, Assignment: aAssigned},
		{Kind: NoteSynced, Generation: 2, Members: 2},
		{Kind: NoteLeft, Generation: 2, Members: 1, Reason: ReasonLeaveGroup},
		{Kind: NoteRebalancing, Generation: 2, Members: 1, Reason: ReasonLeaveGroup},
		{Kind: NoteExpired, Generation: 2, Reason: ReasonRebalanceTimeout},
		{Kind: NoteEmpty, Generation: 3},
	}, got)
	assert.Equal(t, "join-completed", NoteJoinCompleted.String())
	assert.Equal(t, "unknown", NoteKind(99).String())
}
