// This file is the core: one group's state machine, a pure value (see doc.go).

package group

import (
	"slices"
	"strconv"
	"time"

	"github.com/tribusmq/tribus/internal/seed"
)

// State is a group's state, as DescribeGroups reports it.
type State uint8

// The states of Kafka's classic group (GroupMetadata.scala).
const (
	Empty               State = iota // no members
	PreparingRebalance               // waiting for every member to rejoin
	CompletingRebalance              // joined; waiting for the leader's SyncGroup
	Stable                           // every member has its assignment
	Dead                             // removed
)

var stateNames = [...]string{"Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead"}

// String returns the state's name as DescribeGroups spells it.
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// Code is a Kafka error code, as the responses carry it.
type Code int16

// The error codes the group requests answer with (Kafka's Errors.java).
const (
	None                      Code = 0
	IllegalGeneration         Code = 22
	InconsistentGroupProtocol Code = 23
	UnknownMemberID           Code = 25
	InvalidSessionTimeout     Code = 26
	RebalanceInProgress       Code = 27
	MemberIDRequired          Code = 79
	FencedInstanceID          Code = 82
)

// Config is what the broker configures for every group (GroupCoordinatorConfig).
type Config struct {
	MinSessionTimeout     time.Duration // group.min.session.timeout.ms, 6 s
	MaxSessionTimeout     time.Duration // group.max.session.timeout.ms, 30 min
	InitialRebalanceDelay time.Duration // group.initial.rebalance.delay.ms, 3 s (K27)
	// MemberIDPrefix, if set, goes into every member id the group hands out, after the client
	// id: the shell gives each group it creates one of its own, so that an id from before a
	// restart, or from a deleted group of the same name, never names a new member. Kafka
	// gets the same from a UUID per member.
	MemberIDPrefix string
	// IDSeed, if not 0, puts a token drawn from it and the member's number in each member id,
	// before the number: members then sort (and the range and round-robin assignors take them)
	// in an order that differs from seed to seed and repeats for the same seed and joins,
	// instead of in the order they joined. The shell derives its MemberIDPrefix from it too.
	IDSeed uint64
	// Notes makes the group return a [Notify] effect after each change of its members or
	// state, for the shell's observer. Off, it returns none, so that a shell nobody observes
	// pays nothing for them.
	Notes bool
}

// DefaultConfig is Kafka's.
var DefaultConfig = Config{MinSessionTimeout: 6 * time.Second, MaxSessionTimeout: 30 * time.Minute,
	InitialRebalanceDelay: 3 * time.Second}

// Protocol is one assignment protocol a member supports, with its metadata (for a consumer,
// its subscription and owned partitions, opaque here).
type Protocol struct {
	Name     string
	Metadata []byte
}

// Member is one member of the group.
type Member struct {
	ID               string
	InstanceID       string // group.instance.id: a static member (KIP-345), "" if dynamic
	ClientID         string
	Protocols        []Protocol // in the member's order of preference
	SessionTimeout   time.Duration
	RebalanceTimeout time.Duration
	Assignment       []byte // from the last SyncGroup of the leader
	// View is the caller's own reading of Protocols and Assignment (a decoded subscription,
	// say), kept with the member so it is worked out once. The core never reads it, and
	// clears it whenever either changes.
	View any

	joining bool      // has rejoined the rebalance in progress; its JoinGroup waits
	syncing bool      // its SyncGroup waits for the leader's
	session time.Time // when its session expires without a heartbeat
}

// metadata returns the member's metadata for protocol, and whether it supports it.
func (m *Member) metadata(protocol string) ([]byte, bool) {
	for _, p := range m.Protocols {
		if p.Name == protocol {
			return p.Metadata, true
		}
	}
	return nil, false
}

// TimerKind names what a timer is for.
type TimerKind uint8

const (
	// SessionTimer expires a member that has not heartbeated (K23).
	SessionTimer TimerKind = iota
	// PendingTimer expires a member id handed out by MEMBER_ID_REQUIRED and not used to rejoin
	// within the session timeout (KIP-394).
	PendingTimer
	// RebalanceTimer ends the join phase: members that have not rejoined are dropped.
	RebalanceTimer
	// InitialDelayTimer ends the wait of an empty group's first rebalance for more members
	// (group.initial.rebalance.delay.ms, K27).
	InitialDelayTimer
)

// Timer identifies one timer of a group; Member is "" for the group's own.
type Timer struct {
	Kind   TimerKind
	Member string
}

// EffectKind says what an [Effect] asks of the shell.
type EffectKind uint8

const (
	// ArmTimer asks for Timer to fire at At (re-arming it if it is armed).
	ArmTimer EffectKind = iota
	// StopTimer asks for Timer to be stopped.
	StopTimer
	// CompleteJoin answers Member's waiting JoinGroup with Join.
	CompleteJoin
	// CompleteSync answers Member's waiting SyncGroup with Sync.
	CompleteSync
	// Notify reports a change, Note, for the shell's observer; the shell changes nothing for
	// it. Only a group whose Config has Notes returns it.
	Notify
)

// Effect is one thing the shell must do after a call.
type Effect struct {
	Kind   EffectKind
	Timer  Timer
	At     time.Time
	Member string
	Join   JoinResponse
	Sync   SyncResponse
	Note   *Note // Notify only
}

// JoinRequest is a JoinGroup request.
type JoinRequest struct {
	MemberID         string // "" for a first join
	InstanceID       string
	ClientID         string
	ProtocolType     string // "consumer" for consumers
	Protocols        []Protocol
	SessionTimeout   time.Duration
	RebalanceTimeout time.Duration
	// RequireKnownMemberID is set by JoinGroup v4 and later: a first join is answered with
	// MEMBER_ID_REQUIRED and a member id to rejoin with (KIP-394).
	RequireKnownMemberID bool
}

// JoinResponse is a JoinGroup response.
type JoinResponse struct {
	Code       Code
	Generation int32
	Protocol   string
	Leader     string
	MemberID   string
	// Members is the members with their metadata for Protocol, sent to the leader only.
	Members []JoinMember
	// SkipAssignment tells a static leader that rejoined without a rebalance not to compute
	// an assignment (KIP-814): the group keeps the one it has.
	SkipAssignment bool
}

// JoinMember is one member as the leader's JoinGroup response lists it.
type JoinMember struct {
	ID         string
	InstanceID string
	Metadata   []byte
}

// SyncRequest is a SyncGroup request; Assignments (member id to assignment) come from the
// leader only.
type SyncRequest struct {
	MemberID    string
	InstanceID  string
	Generation  int32
	Assignments map[string][]byte
}

// SyncResponse is a SyncGroup response.
type SyncResponse struct {
	Code       Code
	Assignment []byte
}

// Group is one consumer group's state. The zero value is not usable; call [New]. The effects
// a method returns are the caller's until its next call on the group, which may reuse them.
type Group struct {
	ID           string
	cfg          Config
	state        State
	generation   int32
	protocolType string
	protocol     string
	leader       string
	members      map[string]*Member
	order        []string             // member ids in the order they joined: the leader is the first
	pending      map[string]time.Time // ids handed out by MEMBER_ID_REQUIRED, and their expiry
	static       map[string]string    // instance id to member id
	nextID       uint64

	emptySince time.Time // when the group last became Empty (offset expiry counts from it)

	rebalanceAt time.Time // the join phase's end, while PreparingRebalance
	delayUntil  time.Time // the initial delay's end, while it runs
	delayLimit  time.Time // the initial delay may not be extended beyond it

	one [1]Effect // the effects of [Group.only]
	buf []Effect  // the effects of completeJoin, reused from one join phase to the next
}

// New returns an empty group, created at now.
func New(id string, cfg Config, now time.Time) *Group {
	return &Group{ID: id, cfg: cfg, members: make(map[string]*Member), pending: make(map[string]time.Time),
		static: make(map[string]string), emptySince: now}
}

// EmptySince returns when the group last became Empty; it means nothing while it has members.
func (g *Group) EmptySince() time.Time { return g.emptySince }

// ProtocolType returns the protocol type of the members ("consumer" for consumers), "" when
// the group has none.
func (g *Group) ProtocolType() string { return g.protocolType }

// Delete marks an empty group Dead, as DeleteGroups does, and reports whether it did: a group
// with members is not deleted (NON_EMPTY_GROUP).
func (g *Group) Delete() bool {
	if len(g.members) > 0 {
		return false
	}
	g.state = Dead
	return true
}

// State returns the group's state.
func (g *Group) State() State { return g.state }

// Generation returns the generation of the last completed join.
func (g *Group) Generation() int32 { return g.generation }

// Protocol returns the protocol the last completed join selected.
func (g *Group) Protocol() string { return g.protocol }

// Leader returns the leader's member id, "" with no members.
func (g *Group) Leader() string { return g.leader }

// Member returns the member with id, or nil.
func (g *Group) Member(id string) *Member { return g.members[id] }

// Members returns the members in the order they joined.
func (g *Group) Members() []*Member {
	ms := make([]*Member, 0, len(g.order))
	for _, id := range g.order {
		ms = append(ms, g.members[id])
	}
	return ms
}

// newMemberID makes a member id as Kafka does, the client id and a suffix unique to the
// member: Kafka's is a UUID; here the group's MemberIDPrefix and a counter, so that the core
// stays deterministic.
func (g *Group) newMemberID(clientID string) string {
	g.nextID++
	n := strconv.FormatUint(g.nextID, 10)
	if g.cfg.IDSeed != 0 {
		n = strconv.FormatUint(seed.Mix(g.cfg.IDSeed^g.nextID)>>40, 16) + "-" + n
	}
	return clientID + "-" + g.cfg.MemberIDPrefix + n
}

// Join handles a JoinGroup request. It returns the response when it is answered at once, or
// waits=true when the response will come as a CompleteJoin effect for resp.MemberID (the id
// the member has, or was just given), the only field set then.
func (g *Group) Join(now time.Time, req JoinRequest) (resp JoinResponse, waits bool, effects []Effect) {
	fail := func(c Code) (JoinResponse, bool, []Effect) {
		return JoinResponse{Code: c, MemberID: req.MemberID}, false, nil
	}
	if req.SessionTimeout < g.cfg.MinSessionTimeout || req.SessionTimeout > g.cfg.MaxSessionTimeout {
		return fail(InvalidSessionTimeout)
	}
	if g.state == Dead {
		return fail(UnknownMemberID)
	}
	if !g.supports(req.ProtocolType, req.Protocols) {
		return fail(InconsistentGroupProtocol)
	}
	if req.MemberID == "" {
		return g.joinNew(now, req)
	}
	if _, ok := g.pending[req.MemberID]; ok {
		delete(g.pending, req.MemberID)
		effects = append(effects, Effect{Kind: StopTimer, Timer: Timer{PendingTimer, req.MemberID}})
		m := g.add(req, req.MemberID)
		effects = g.note(effects, NoteJoined, m, "")
		return JoinResponse{MemberID: req.MemberID}, true, append(effects, g.rebalance(now, ReasonNewMember, m)...)
	}
	if code := g.validate(req.MemberID, req.InstanceID); code != None {
		return fail(code)
	}
	m := g.members[req.MemberID]
	changed := !slices.EqualFunc(m.Protocols, req.Protocols, sameProtocol)
	m.Protocols, m.SessionTimeout, m.RebalanceTimeout, m.View = req.Protocols, req.SessionTimeout, req.RebalanceTimeout, nil
	switch g.state {
	case PreparingRebalance:
		m.joining = true
		return JoinResponse{MemberID: m.ID}, true, g.noted(NoteRejoined, m, "", func() []Effect { return g.maybeCompleteJoin(now) })
	case CompletingRebalance, Stable:
		if !changed && (g.state == CompletingRebalance || m.ID != g.leader) {
			// Nothing new: the member is told the current generation again (it may have
			// missed the response), and no rebalance starts.
			return g.joinResponse(m, false), false, []Effect{g.heartbeat(now, m)}
		}
		m.joining = true
		why := ReasonMetadataChanged
		if !changed {
			why = ReasonLeaderRejoined
		}
		return JoinResponse{MemberID: m.ID}, true, g.rebalance(now, why, m)
	}
	return fail(UnknownMemberID) // Empty with a member id it does not have
}

// joinNew handles a first JoinGroup, with no member id.
func (g *Group) joinNew(now time.Time, req JoinRequest) (JoinResponse, bool, []Effect) {
	if req.InstanceID != "" {
		if old, ok := g.static[req.InstanceID]; ok {
			return g.replaceStatic(now, g.members[old], req)
		}
		m := g.add(req, g.newMemberID(req.ClientID))
		return JoinResponse{MemberID: m.ID}, true, g.noted(NoteJoined, m, "", func() []Effect { return g.rebalance(now, ReasonNewMember, m) })
	}
	id := g.newMemberID(req.ClientID)
	if req.RequireKnownMemberID {
		at := now.Add(req.SessionTimeout)
		g.pending[id] = at
		return JoinResponse{Code: MemberIDRequired, MemberID: id}, false,
			[]Effect{{Kind: ArmTimer, Timer: Timer{PendingTimer, id}, At: at}}
	}
	m := g.add(req, id)
	return JoinResponse{MemberID: id}, true, g.noted(NoteJoined, m, "", func() []Effect { return g.rebalance(now, ReasonNewMember, m) })
}

// replaceStatic gives a static member that rejoined with no member id (a restart) a new id,
// fencing the old one, which keeps its place, metadata and assignment. In a Stable group whose
// selected protocol would not change, no rebalance follows (K29): the member is answered with
// the current generation at once, and a leader is told to skip the assignment (KIP-814).
// Otherwise the group rebalances: in CompletingRebalance the leader may already hold the old
// id in its assignment, so that one is started over too.
func (g *Group) replaceStatic(now time.Time, old *Member, req JoinRequest) (JoinResponse, bool, []Effect) {
	id := g.newMemberID(req.ClientID)
	m := *old
	m.ID, m.ClientID, m.SessionTimeout, m.RebalanceTimeout = id, req.ClientID, req.SessionTimeout, req.RebalanceTimeout
	m.Protocols, m.joining, m.syncing, m.View = req.Protocols, false, false, nil
	var effects []Effect
	if old.joining {
		effects = append(effects, Effect{Kind: CompleteJoin, Member: old.ID, Join: JoinResponse{Code: FencedInstanceID, MemberID: old.ID}})
	}
	if old.syncing {
		effects = append(effects, Effect{Kind: CompleteSync, Member: old.ID, Sync: SyncResponse{Code: FencedInstanceID}})
	}
	effects = append(effects, Effect{Kind: StopTimer, Timer: Timer{SessionTimer, old.ID}})
	delete(g.members, old.ID)
	effects = g.note(effects, NoteLeft, old, ReasonFenced)
	nm := &m
	g.members[id] = nm
	g.order[slices.Index(g.order, old.ID)] = id
	g.static[req.InstanceID] = id
	if g.leader == old.ID {
		g.leader = id
	}
	effects = g.note(effects, NoteJoined, nm, ReasonStaticRejoined)
	why := ReasonStaticRejoined
	switch g.state {
	case Stable:
		if g.selectProtocol() == g.protocol {
			resp := g.joinResponse(nm, nm.ID == g.leader)
			resp.SkipAssignment = nm.ID == g.leader
			return resp, false, append(effects, g.heartbeat(now, nm))
		}
		why = ReasonStaticProtocols
	case PreparingRebalance:
		nm.joining = true
		return JoinResponse{MemberID: id}, true, append(effects, g.maybeCompleteJoin(now)...)
	}
	nm.joining = true
	return JoinResponse{MemberID: id}, true, append(effects, g.rebalance(now, why, nm)...)
}

// add makes a member of req with id; it joins the rebalance to come.
func (g *Group) add(req JoinRequest, id string) *Member {
	m := &Member{ID: id, InstanceID: req.InstanceID, ClientID: req.ClientID, Protocols: req.Protocols,
		SessionTimeout: req.SessionTimeout, RebalanceTimeout: req.RebalanceTimeout, joining: true}
	if len(g.members) == 0 {
		g.protocolType = req.ProtocolType
	}
	g.members[id] = m
	g.order = append(g.order, id)
	if req.InstanceID != "" {
		g.static[req.InstanceID] = id
	}
	if g.leader == "" {
		g.leader = id
	}
	return m
}

// supports reports whether a member with these protocols may join: the group's protocol type,
// and at least one protocol every member supports.
func (g *Group) supports(protocolType string, protocols []Protocol) bool {
	if len(protocols) == 0 || protocolType == "" {
		return false
	}
	if len(g.members) == 0 {
		return true
	}
	if protocolType != g.protocolType {
		return false
	}
	for _, p := range protocols {
		if g.allSupport(p.Name, "") {
			return true
		}
	}
	return false
}

// allSupport reports whether every member but except supports protocol.
func (g *Group) allSupport(protocol, except string) bool {
	for id, m := range g.members {
		if id == except {
			continue
		}
		if _, ok := m.metadata(protocol); !ok {
			return false
		}
	}
	return true
}

// rebalance moves the group to PreparingRebalance (if it is not there) and arms the join
// phase's timer, or the initial delay's for an empty group. why and who say what started it,
// for the note.
func (g *Group) rebalance(now time.Time, why string, who *Member) []Effect {
	var effects []Effect
	if g.state == Empty && g.cfg.InitialRebalanceDelay > 0 {
		// The first rebalance of an empty group waits for more members (K27), up to the
		// rebalance timeout, each new member extending the wait.
		g.state = PreparingRebalance
		g.delayLimit = now.Add(g.maxRebalanceTimeout())
		g.delayUntil = minTime(now.Add(g.cfg.InitialRebalanceDelay), g.delayLimit)
		effects = g.note(effects, NoteRebalancing, who, why)
		return append(effects, Effect{Kind: ArmTimer, Timer: Timer{Kind: InitialDelayTimer}, At: g.delayUntil})
	}
	if !g.delayUntil.IsZero() {
		g.delayUntil = minTime(now.Add(g.cfg.InitialRebalanceDelay), g.delayLimit)
		return []Effect{{Kind: ArmTimer, Timer: Timer{Kind: InitialDelayTimer}, At: g.delayUntil}}
	}
	if g.state == CompletingRebalance {
		// Members waiting for the leader's assignment learn that a new rebalance began.
		for _, m := range g.members {
			if m.syncing {
				m.syncing = false
				effects = append(effects, Effect{Kind: CompleteSync, Member: m.ID, Sync: SyncResponse{Code: RebalanceInProgress}})
			}
		}
	}
	if g.state != PreparingRebalance {
		g.state = PreparingRebalance
		g.rebalanceAt = now.Add(g.maxRebalanceTimeout())
		effects = g.note(effects, NoteRebalancing, who, why)
		effects = append(effects, Effect{Kind: ArmTimer, Timer: Timer{Kind: RebalanceTimer}, At: g.rebalanceAt})
	}
	return append(effects, g.maybeCompleteJoin(now)...)
}

// Rebalance starts a rebalance of a group with members, for why (an operator's or a test's
// request, as a member's enforceRebalance, KIP-568, starts one): every member learns it at its
// next heartbeat (REBALANCE_IN_PROGRESS) and joins again. A group already preparing a
// rebalance is left as it is; an Empty or Dead group has nothing to rebalance. It reports
// whether a rebalance began.
func (g *Group) Rebalance(now time.Time, why string) (bool, []Effect) {
	if g.state != Stable && g.state != CompletingRebalance {
		return false, nil
	}
	return true, g.rebalance(now, why, nil)
}

// maxRebalanceTimeout is the longest rebalance timeout of the members: the join phase's length.
func (g *Group) maxRebalanceTimeout() time.Duration {
	var d time.Duration
	for _, m := range g.members {
		d = max(d, m.RebalanceTimeout)
	}
	return d
}

// maybeCompleteJoin completes the join phase once every member has rejoined and no initial
// delay runs.
func (g *Group) maybeCompleteJoin(now time.Time) []Effect {
	if g.state != PreparingRebalance || !g.delayUntil.IsZero() {
		return nil
	}
	for _, m := range g.members {
		if !m.joining {
			return nil
		}
	}
	return g.completeJoin(now)
}

// completeJoin ends the join phase: a new generation, the protocol the members vote for, the
// leader, and a JoinGroup response to every member; their sessions start.
func (g *Group) completeJoin(now time.Time) []Effect {
	n := 1 + 2*len(g.order)
	if g.cfg.Notes {
		n++
	}
	if cap(g.buf) < n {
		g.buf = make([]Effect, 0, n)
	}
	clear(g.buf[:cap(g.buf)]) // what the last join phase left there is no one's now
	effects := append(g.buf[:0], Effect{Kind: StopTimer, Timer: Timer{Kind: RebalanceTimer}})
	g.rebalanceAt = time.Time{}
	g.generation++
	if len(g.members) == 0 {
		g.state, g.protocol, g.protocolType, g.leader = Empty, "", "", ""
		g.emptySince = now
		return g.note(effects, NoteEmpty, nil, "")
	}
	g.protocol = g.selectProtocol()
	if g.members[g.leader] == nil {
		g.leader = g.order[0]
	}
	g.state = CompletingRebalance
	effects = g.note(effects, NoteJoinCompleted, nil, "")
	for _, id := range g.order {
		m := g.members[id]
		m.joining = false
		effects = append(effects, Effect{Kind: CompleteJoin, Member: id, Join: g.joinResponse(m, id == g.leader)})
		effects = append(effects, g.heartbeat(now, m))
	}
	return effects
}

// selectProtocol picks the protocol every member supports that the most members prefer, each
// member voting for the first of its protocols that all support (GroupMetadata.selectProtocol);
// a tie goes to the candidate the leader lists first.
func (g *Group) selectProtocol() string {
	var candidates []string
	for _, p := range g.members[g.leaderOrFirst()].Protocols {
		if g.allSupport(p.Name, "") {
			candidates = append(candidates, p.Name)
		}
	}
	votes := make(map[string]int)
	for _, m := range g.members {
		for _, p := range m.Protocols {
			if slices.Contains(candidates, p.Name) {
				votes[p.Name]++
				break
			}
		}
	}
	best := ""
	for _, c := range candidates {
		if best == "" || votes[c] > votes[best] {
			best = c
		}
	}
	return best
}

func (g *Group) leaderOrFirst() string {
	if g.members[g.leader] != nil {
		return g.leader
	}
	return g.order[0]
}

// joinResponse is the JoinGroup response of m at the current generation; the leader's lists
// the members with their metadata for the selected protocol.
func (g *Group) joinResponse(m *Member, leader bool) JoinResponse {
	resp := JoinResponse{Generation: g.generation, Protocol: g.protocol, Leader: g.leader, MemberID: m.ID}
	if leader {
		for _, id := range g.order {
			m := g.members[id]
			md, _ := m.metadata(g.protocol)
			resp.Members = append(resp.Members, JoinMember{ID: id, InstanceID: m.InstanceID, Metadata: md})
		}
	}
	return resp
}

// heartbeat starts m's session over.
func (g *Group) heartbeat(now time.Time, m *Member) Effect {
	m.session = now.Add(m.SessionTimeout)
	return Effect{Kind: ArmTimer, Timer: Timer{SessionTimer, m.ID}, At: m.session}
}

// only returns e as the whole of a request's effects, in a buffer the group reuses: the
// heartbeat of every Heartbeat and OffsetCommit would otherwise allocate one.
func (g *Group) only(e Effect) []Effect {
	g.one[0] = e
	return g.one[:1:1]
}

// validate checks that a request comes from a member the group has (UNKNOWN_MEMBER_ID
// otherwise) and, when it names a group.instance.id, from the member id that instance id has
// now: an older incarnation of a static member is fenced (KIP-345), as Kafka's
// ClassicGroup.validateMember decides.
func (g *Group) validate(memberID, instanceID string) Code {
	if instanceID != "" {
		id, ok := g.static[instanceID]
		switch {
		case !ok:
			return UnknownMemberID
		case id != memberID:
			return FencedInstanceID
		}
	}
	if g.members[memberID] == nil {
		return UnknownMemberID
	}
	return None
}

// check validates a request's member, instance and generation.
func (g *Group) check(memberID, instanceID string, generation int32) (*Member, Code) {
	if code := g.validate(memberID, instanceID); code != None {
		return nil, code
	}
	m := g.members[memberID]
	if g.state == Dead {
		return nil, UnknownMemberID
	}
	if generation != g.generation {
		return nil, IllegalGeneration
	}
	return m, None
}

// Sync handles a SyncGroup request. It returns the response when it is answered at once, or
// waits=true when it will come as a CompleteSync effect (a follower ahead of its leader).
func (g *Group) Sync(now time.Time, req SyncRequest) (resp SyncResponse, waits bool, effects []Effect) {
	m, code := g.check(req.MemberID, req.InstanceID, req.Generation)
	if code != None {
		return SyncResponse{Code: code}, false, nil
	}
	switch g.state {
	case PreparingRebalance:
		return SyncResponse{Code: RebalanceInProgress}, false, nil
	case Stable:
		return SyncResponse{Assignment: m.Assignment}, false, g.only(g.heartbeat(now, m))
	case CompletingRebalance:
	default:
		return SyncResponse{Code: UnknownMemberID}, false, nil
	}
	effects = []Effect{g.heartbeat(now, m)}
	if m.ID != g.leader {
		m.syncing = true
		return SyncResponse{}, true, effects
	}
	for _, id := range g.order {
		o := g.members[id]
		o.Assignment, o.View = req.Assignments[id], nil
	}
	g.state = Stable
	effects = g.note(effects, NoteStable, nil, "")
	if g.cfg.Notes && g.protocolType == ConsumerProtocolType {
		for _, id := range g.order {
			o := g.members[id]
			effects = append(effects, Effect{Kind: Notify, Note: &Note{Kind: NoteSynced, Member: o.ID, InstanceID: o.InstanceID,
				Generation: g.generation, Members: len(g.members), Assignment: o.Assignment}})
		}
	}
	for _, id := range g.order {
		if o := g.members[id]; o.syncing {
			o.syncing = false
			effects = append(effects, Effect{Kind: CompleteSync, Member: id, Sync: SyncResponse{Assignment: o.Assignment}})
		}
	}
	return SyncResponse{Assignment: m.Assignment}, false, effects
}

// Heartbeat handles a Heartbeat request: it starts the member's session over, and answers
// REBALANCE_IN_PROGRESS while a rebalance wants the member to rejoin.
func (g *Group) Heartbeat(now time.Time, memberID, instanceID string, generation int32) (Code, []Effect) {
	if code := g.validate(memberID, instanceID); code != None {
		return code, nil
	}
	m := g.members[memberID]
	if g.state == Dead || g.state == Empty {
		return UnknownMemberID, nil
	}
	if g.state == PreparingRebalance {
		return RebalanceInProgress, g.only(g.heartbeat(now, m))
	}
	if generation != g.generation {
		return IllegalGeneration, nil
	}
	return None, g.only(g.heartbeat(now, m))
}

// Commit checks an OffsetCommit of the group's offsets by memberID at generation, and starts
// the member's session over as a heartbeat would. A commit outside any generation (no member
// id, generation < 0) is accepted only while the group has no members. While the group
// completes a rebalance, its members wait for their assignment before committing
// (REBALANCE_IN_PROGRESS); while it prepares one, the current generation may still commit.
func (g *Group) Commit(now time.Time, memberID, instanceID string, generation int32) (Code, []Effect) {
	if memberID == "" && instanceID == "" && generation < 0 {
		if len(g.members) > 0 {
			return UnknownMemberID, nil
		}
		return None, nil
	}
	m, code := g.check(memberID, instanceID, generation)
	if code != None {
		return code, nil
	}
	if g.state == CompletingRebalance {
		return RebalanceInProgress, nil
	}
	return None, g.only(g.heartbeat(now, m))
}

// Leave handles a LeaveGroup for one member (by member id, or by instance id for a static
// member leaving with no member id).
func (g *Group) Leave(now time.Time, memberID, instanceID string) (Code, []Effect) {
	if memberID == "" && instanceID != "" {
		memberID = g.static[instanceID]
	}
	if _, ok := g.pending[memberID]; ok {
		delete(g.pending, memberID)
		return None, []Effect{{Kind: StopTimer, Timer: Timer{PendingTimer, memberID}}}
	}
	if code := g.validate(memberID, instanceID); code != None {
		return code, nil
	}
	return None, g.remove(now, g.members[memberID], UnknownMemberID, NoteLeft, ReasonLeaveGroup)
}

// remove drops m, answering its waiting requests with code, and rebalances the rest; kind
// and why are the note's (NoteLeft or NoteExpired).
func (g *Group) remove(now time.Time, m *Member, code Code, kind NoteKind, why string) []Effect {
	effects := []Effect{{Kind: StopTimer, Timer: Timer{SessionTimer, m.ID}}}
	if m.joining && g.state == PreparingRebalance {
		effects = append(effects, Effect{Kind: CompleteJoin, Member: m.ID, Join: JoinResponse{Code: code, MemberID: m.ID}})
	}
	if m.syncing {
		effects = append(effects, Effect{Kind: CompleteSync, Member: m.ID, Sync: SyncResponse{Code: code}})
	}
	delete(g.members, m.ID)
	g.order = slices.DeleteFunc(g.order, func(id string) bool { return id == m.ID })
	if m.InstanceID != "" && g.static[m.InstanceID] == m.ID {
		delete(g.static, m.InstanceID)
	}
	if g.leader == m.ID {
		g.leader = ""
		if len(g.order) > 0 {
			g.leader = g.order[0]
		}
	}
	effects = g.note(effects, kind, m, why)
	switch g.state {
	case Stable, CompletingRebalance:
		return append(effects, g.rebalance(now, why, m)...)
	case PreparingRebalance:
		if len(g.members) == 0 && !g.delayUntil.IsZero() {
			g.delayUntil = time.Time{}
			effects = append(effects, Effect{Kind: StopTimer, Timer: Timer{Kind: InitialDelayTimer}})
		}
		return append(effects, g.maybeCompleteJoin(now)...)
	}
	return effects
}

// ExpireSession ends member's session at now as if its deadline had passed: what Expire does
// when its session timer fires, without waiting for it. It reports whether the member was
// removed: not when it is unknown, or alive because its JoinGroup or SyncGroup is parked.
func (g *Group) ExpireSession(now time.Time, member string) (bool, []Effect) {
	m := g.members[member]
	if m == nil || m.joining && g.state == PreparingRebalance || m.syncing {
		return false, nil
	}
	return true, g.remove(now, m, UnknownMemberID, NoteExpired, ReasonSessionTimeout)
}

// Expire handles the firing of timer t at now. A firing that is stale, because the timer was
// stopped or moved later since it was armed, changes nothing.
func (g *Group) Expire(now time.Time, t Timer) []Effect {
	switch t.Kind {
	case SessionTimer:
		m := g.members[t.Member]
		if m == nil || m.session.IsZero() || now.Before(m.session) {
			return nil
		}
		if m.joining && g.state == PreparingRebalance || m.syncing {
			// A member whose JoinGroup or SyncGroup is parked is alive: it is waiting for us
			// (GroupCoordinator's shouldKeepAlive).
			return []Effect{g.heartbeat(now, m)}
		}
		return g.remove(now, m, UnknownMemberID, NoteExpired, ReasonSessionTimeout)
	case PendingTimer:
		if at, ok := g.pending[t.Member]; ok && !now.Before(at) {
			delete(g.pending, t.Member)
		}
		return nil
	case InitialDelayTimer:
		if g.delayUntil.IsZero() || now.Before(g.delayUntil) {
			return nil
		}
		g.delayUntil, g.delayLimit = time.Time{}, time.Time{}
		g.rebalanceAt = now.Add(g.maxRebalanceTimeout())
		effects := []Effect{{Kind: ArmTimer, Timer: Timer{Kind: RebalanceTimer}, At: g.rebalanceAt}}
		return append(effects, g.maybeCompleteJoin(now)...)
	case RebalanceTimer:
		if g.state != PreparingRebalance || g.rebalanceAt.IsZero() || now.Before(g.rebalanceAt) {
			return nil
		}
		// Members that did not rejoin in time are dropped, and the join completes without them.
		var effects []Effect
		for _, id := range slices.Clone(g.order) {
			if m := g.members[id]; !m.joining {
				effects = append(effects, Effect{Kind: StopTimer, Timer: Timer{SessionTimer, id}})
				delete(g.members, id)
				g.order = slices.DeleteFunc(g.order, func(o string) bool { return o == id })
				if m.InstanceID != "" && g.static[m.InstanceID] == id {
					delete(g.static, m.InstanceID)
				}
				effects = g.note(effects, NoteExpired, m, ReasonRebalanceTimeout)
			}
		}
		if g.members[g.leader] == nil {
			g.leader = ""
			if len(g.order) > 0 {
				g.leader = g.order[0]
			}
		}
		return append(effects, g.completeJoin(now)...)
	}
	return nil
}

func sameProtocol(a, b Protocol) bool {
	return a.Name == b.Name && string(a.Metadata) == string(b.Metadata)
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
