// This file is the core's account of what a call changed, for an observer of the shell: notes
// are effects like the others, returned only when Config.Notes asks for them.

package group

// NoteKind says what a [Note] reports.
type NoteKind uint8

// The notes. Each is returned after the change it reports, in the order the changes happened
// within the call.
const (
	// NoteCreated: the shell created the group, Empty, on its first request or
	// [Coordinator.Create]. The core never returns it.
	NoteCreated NoteKind = iota + 1
	// NoteJoined: Member became a member of the group, by its first JoinGroup or, for a
	// static member, by rejoining with a new member id (Reason says so).
	NoteJoined
	// NoteRejoined: Member's JoinGroup joined the rebalance in progress; Members counts the
	// members, Reason is empty.
	NoteRejoined
	// NoteLeft: Member is no longer a member: it sent LeaveGroup, or a newer incarnation of
	// its group.instance.id took its place (Reason says which).
	NoteLeft
	// NoteExpired: the group dropped Member: its session timed out, or it did not rejoin
	// before the rebalance timeout (Reason says which).
	NoteExpired
	// NoteRebalancing: the group entered PreparingRebalance; Member and Reason say what
	// started it, Generation is the generation being replaced.
	NoteRebalancing
	// NoteJoinCompleted: the join phase ended with members: the group is
	// CompletingRebalance at a new Generation with Protocol, Member is the leader, whose
	// SyncGroup comes next.
	NoteJoinCompleted
	// NoteStable: the leader's SyncGroup handed out the assignment of Generation; the group is
	// Stable with Members members.
	NoteStable
	// NoteEmpty: the join phase ended with no member left: the group is Empty at Generation.
	NoteEmpty
	// NoteSynced: in a group of the "consumer" protocol type, the leader's SyncGroup gave
	// Member the Assignment of Generation (its ConsumerProtocolAssignment bytes). One for
	// each member, after the NoteStable.
	NoteSynced
)

var noteNames = [...]string{"", "created", "joined", "rejoined", "left", "expired", "rebalancing",
	"join-completed", "stable", "empty", "synced"}

// String returns the note's name.
func (k NoteKind) String() string {
	if int(k) < len(noteNames) {
		return noteNames[k]
	}
	return "unknown"
}

// Note is what a [Notify] effect reports. Fields that do not apply are zero.
type Note struct {
	Kind       NoteKind
	Member     string // the member concerned; the leader for NoteJoinCompleted
	InstanceID string // Member's group.instance.id, "" for a dynamic member
	Generation int32  // the group's generation when the note was made
	Members    int    // the group's member count when the note was made
	Protocol   string // NoteJoinCompleted: the protocol the members agreed on
	Reason     string // why, for NoteJoined, NoteLeft, NoteExpired and NoteRebalancing
	Assignment []byte // NoteSynced: the member's assignment, shared with the group: read only
}

// Reasons the core gives in its notes.
const (
	ReasonNewMember        = "a new member joined"
	ReasonMetadataChanged  = "a member rejoined with new metadata"
	ReasonLeaderRejoined   = "the leader rejoined"
	ReasonStaticRejoined   = "a static member rejoined with a new member id"
	ReasonStaticProtocols  = "a static member rejoined with other protocols"
	ReasonFenced           = "fenced: its group.instance.id rejoined with a new member id"
	ReasonLeaveGroup       = "LeaveGroup"
	ReasonSessionTimeout   = "session timed out"
	ReasonRebalanceTimeout = "did not rejoin before the rebalance timeout"
)

// note returns effects with a Notify effect of kind about m appended, or effects unchanged
// when the group makes no notes. It reads the group as it is now.
func (g *Group) note(effects []Effect, kind NoteKind, m *Member, reason string) []Effect {
	if !g.cfg.Notes {
		return effects
	}
	n := Note{Kind: kind, Generation: g.generation, Members: len(g.members), Reason: reason}
	if m != nil {
		n.Member, n.InstanceID = m.ID, m.InstanceID
	}
	if kind == NoteJoinCompleted {
		n.Member, n.Protocol = g.leader, g.protocol
	}
	return append(effects, Effect{Kind: Notify, Note: &n})
}

// noted returns rest preceded by a note of kind about m made now, or rest unchanged when the
// group makes no notes. Its caller computes rest after the note: the note reads the group
// before rest's changes.
func (g *Group) noted(kind NoteKind, m *Member, reason string, rest func() []Effect) []Effect {
	if !g.cfg.Notes {
		return rest()
	}
	return append(g.note(nil, kind, m, reason), rest()...)
}
