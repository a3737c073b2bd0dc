package log_test

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	tlog "github.com/tribusmq/tribus/log"
)

// tps parses "t0p1"-style names into partitions: the topic, "p", the partition number.
func tps(names ...string) []tlog.TopicPartition {
	out := []tlog.TopicPartition{}
	for _, n := range names {
		var tp tlog.TopicPartition
		for i := len(n) - 1; i >= 0; i-- {
			if n[i] == 'p' {
				tp.Topic = n[:i]
				_, err := fmt.Sscan(n[i+1:], &tp.Partition)
				if err != nil {
					panic(n)
				}
				break
			}
		}
		out = append(out, tp)
	}
	return out
}

func member(id string, topics ...string) tlog.GroupMember {
	return tlog.GroupMember{ID: id, Topics: topics}
}

func TestK28_RangeExample(t *testing.T) {
	got, err := tlog.RangeAssignor{}.Assign(
		[]tlog.GroupMember{member("C1", "t0", "t1"), member("C0", "t0", "t1")},
		map[string]int32{"t0": 3, "t1": 3})
	require.NoError(t, err)
	assert.Equal(t, map[string][]tlog.TopicPartition{
		"C0": tps("t0p0", "t0p1", "t1p0", "t1p1"),
		"C1": tps("t0p2", "t1p2"),
	}, got)
	// Reference: K28, SEMANTICS.md §2.2, RangeAssignor.java
}

func TestK28_RoundRobinExample(t *testing.T) {
	got, err := tlog.RoundRobinAssignor{}.Assign(
		[]tlog.GroupMember{member("C1", "t0", "t1"), member("C0", "t0", "t1")},
		map[string]int32{"t0": 3, "t1": 3})
	require.NoError(t, err)
	assert.Equal(t, map[string][]tlog.TopicPartition{
		"C0": tps("t0p0", "t0p2", "t1p1"),
		"C1": tps("t0p1", "t1p0", "t1p2"),
	}, got)
	// Reference: K28, SEMANTICS.md §2.2, RoundRobinAssignor.java
}

func TestK28_AssignorsTable(t *testing.T) {
	static := func(id, instance string, topics ...string) tlog.GroupMember {
		return tlog.GroupMember{ID: id, InstanceID: instance, Topics: topics}
	}
	for _, tc := range []struct {
		name       string
		members    []tlog.GroupMember
		partitions map[string]int32
		rng, rr    map[string][]tlog.TopicPartition
	}{
		{
			name:       "uneven: the first P%C members get one more",
			members:    []tlog.GroupMember{member("c", "t"), member("a", "t"), member("b", "t")},
			partitions: map[string]int32{"t": 7},
			rng:        map[string][]tlog.TopicPartition{"a": tps("tp0", "tp1", "tp2"), "b": tps("tp3", "tp4"), "c": tps("tp5", "tp6")},
			rr:         map[string][]tlog.TopicPartition{"a": tps("tp0", "tp3", "tp6"), "b": tps("tp1", "tp4"), "c": tps("tp2", "tp5")},
		},
		{
			name:       "range is per topic, so the first member gets the extra of every topic",
			members:    []tlog.GroupMember{member("a", "x", "y"), member("b", "x", "y")},
			partitions: map[string]int32{"x": 1, "y": 1},
			rng:        map[string][]tlog.TopicPartition{"a": tps("xp0", "yp0"), "b": {}},
			rr:         map[string][]tlog.TopicPartition{"a": tps("xp0"), "b": tps("yp0")},
		},
		{
			name: "different subscriptions: round-robin passes over members not subscribed",
			members: []tlog.GroupMember{member("C0", "t0"), member("C1", "t0", "t1"),
				member("C2", "t0", "t1", "t2")},
			partitions: map[string]int32{"t0": 1, "t1": 2, "t2": 3},
			rng: map[string][]tlog.TopicPartition{"C0": tps("t0p0"), "C1": tps("t1p0"),
				"C2": tps("t1p1", "t2p0", "t2p1", "t2p2")},
			// Kafka's own example from the RoundRobinAssignor javadoc.
			rr: map[string][]tlog.TopicPartition{"C0": tps("t0p0"), "C1": tps("t1p0"),
				"C2": tps("t1p1", "t2p0", "t2p1", "t2p2")},
		},
		{
			name: "static members sort by instance id, before dynamic ones",
			members: []tlog.GroupMember{member("a", "t"), static("z", "i2", "t"), static("y", "i1", "t"),
				static("x", "i3", "t")},
			partitions: map[string]int32{"t": 4},
			rng:        map[string][]tlog.TopicPartition{"y": tps("tp0"), "z": tps("tp1"), "x": tps("tp2"), "a": tps("tp3")},
			rr:         map[string][]tlog.TopicPartition{"y": tps("tp0"), "z": tps("tp1"), "x": tps("tp2"), "a": tps("tp3")},
		},
		{
			name:       "zero partitions",
			members:    []tlog.GroupMember{member("a", "t"), member("b", "t")},
			partitions: map[string]int32{"t": 0},
			rng:        map[string][]tlog.TopicPartition{"a": {}, "b": {}},
			rr:         map[string][]tlog.TopicPartition{"a": {}, "b": {}},
		},
		{
			name:       "more members than partitions",
			members:    []tlog.GroupMember{member("a", "t"), member("b", "t"), member("c", "t"), member("d", "t")},
			partitions: map[string]int32{"t": 2},
			rng:        map[string][]tlog.TopicPartition{"a": tps("tp0"), "b": tps("tp1"), "c": {}, "d": {}},
			rr:         map[string][]tlog.TopicPartition{"a": tps("tp0"), "b": tps("tp1"), "c": {}, "d": {}},
		},
		{
			name:       "unknown topics and unsubscribed topics are left alone",
			members:    []tlog.GroupMember{member("a", "t", "missing"), member("b")},
			partitions: map[string]int32{"t": 2, "other": 5},
			rng:        map[string][]tlog.TopicPartition{"a": tps("tp0", "tp1"), "b": {}},
			rr:         map[string][]tlog.TopicPartition{"a": tps("tp0", "tp1"), "b": {}},
		},
		{
			name:       "no members",
			partitions: map[string]int32{"t": 2},
			rng:        map[string][]tlog.TopicPartition{},
			rr:         map[string][]tlog.TopicPartition{},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tlog.RangeAssignor{}.Assign(tc.members, tc.partitions)
			require.NoError(t, err)
			assert.Equal(t, tc.rng, got, "range")
			got, err = tlog.RoundRobinAssignor{}.Assign(tc.members, tc.partitions)
			require.NoError(t, err)
			assert.Equal(t, tc.rr, got, "roundrobin")
		})
	}
	// Reference: K28, RangeAssignor.java, RoundRobinAssignor.java, AbstractPartitionAssignor.MemberInfo
}

func TestAssign_BadInput(t *testing.T) {
	for _, a := range allAssignors() {
		for name, tc := range map[string]struct {
			members    []tlog.GroupMember
			partitions map[string]int32
		}{
			"empty member id":          {[]tlog.GroupMember{member("", "t")}, map[string]int32{"t": 1}},
			"repeated member id":       {[]tlog.GroupMember{member("a", "t"), member("a", "t")}, map[string]int32{"t": 1}},
			"negative partition count": {[]tlog.GroupMember{member("a", "t")}, map[string]int32{"t": -1}},
		} {
			got, err := a.Assign(tc.members, tc.partitions)
			assert.ErrorIs(t, err, tlog.ErrInvalidGroupMember, "%s: %s", a.Name(), name)
			assert.Nil(t, got)
		}
	}
}

func TestK26_DefaultAssignorsAndProtocolChoice(t *testing.T) {
	var names []string
	for _, a := range tlog.DefaultAssignors() {
		names = append(names, a.Name())
	}
	assert.Equal(t, []string{"range", "cooperative-sticky"}, names)
	assert.Equal(t, "roundrobin", tlog.RoundRobinAssignor{}.Name())
	assert.False(t, tlog.RangeAssignor{}.Cooperative())
	assert.False(t, tlog.RoundRobinAssignor{}.Cooperative())
	assert.True(t, tlog.CooperativeStickyAssignor{}.Cooperative())

	def := names
	coop := []string{"cooperative-sticky"}
	for _, tc := range []struct {
		name  string
		prefs [][]string
		want  string
	}{
		{"every member on the default list: range", [][]string{def, def, def}, "range"},
		{"a member that only knows range holds the group on range", [][]string{{"range"}, def}, "range"},
		{"half way through dropping range: cooperative-sticky is the only common one",
			[][]string{coop, def, coop}, "cooperative-sticky"},
		{"everyone dropped range", [][]string{coop, coop}, "cooperative-sticky"},
		{"the majority's first choice wins", [][]string{def, {"cooperative-sticky", "range"},
			{"cooperative-sticky", "range"}}, "cooperative-sticky"},
		{"a tie goes to the leader's preference", [][]string{{"roundrobin", "range"}, {"range", "roundrobin"}},
			"roundrobin"},
	} {
		got, err := tlog.SelectProtocol(tc.prefs)
		require.NoError(t, err, tc.name)
		assert.Equal(t, tc.want, got, tc.name)
	}
	_, err := tlog.SelectProtocol([][]string{{"range"}, coop})
	assert.ErrorIs(t, err, tlog.ErrInconsistentGroupProtocol)
	_, err = tlog.SelectProtocol(nil)
	assert.ErrorIs(t, err, tlog.ErrInconsistentGroupProtocol)
	// Reference: K26, ConsumerConfig.java (partition.assignment.strategy), GroupMetadata.selectProtocol
}

func TestK25_CooperativeStickyRevokesOnlyMovedPartitions(t *testing.T) {
	a := tlog.CooperativeStickyAssignor{}
	parts := map[string]int32{"t0": 3, "t1": 3}

	// C0 alone owns everything.
	first, err := a.Assign([]tlog.GroupMember{member("C0", "t0", "t1")}, parts)
	require.NoError(t, err)
	require.Equal(t, tps("t0p0", "t0p1", "t0p2", "t1p0", "t1p1", "t1p2"), first["C0"])

	// C1 joins. Round one: C0 keeps half and revokes only the other half, which nobody gets yet.
	c0 := tlog.GroupMember{ID: "C0", Topics: []string{"t0", "t1"}, Owned: first["C0"], Generation: 1}
	c1 := member("C1", "t0", "t1")
	round1, err := a.Assign([]tlog.GroupMember{c1, c0}, parts)
	require.NoError(t, err)
	assert.Equal(t, tps("t0p0", "t0p1", "t0p2"), round1["C0"])
	assert.Equal(t, []tlog.TopicPartition{}, round1["C1"], "moved partitions are not handed over in the same round")
	revoked := tlog.Revocations([]tlog.GroupMember{c0, c1}, round1)
	assert.Equal(t, map[string][]tlog.TopicPartition{"C0": tps("t1p0", "t1p1", "t1p2")}, revoked)
	assert.True(t, tlog.NeedsFollowUp([]tlog.GroupMember{c0, c1}, round1))

	// Round two, after C0 revoked: the freed partitions go to C1 and nobody revokes anything.
	c0.Owned, c0.Generation = round1["C0"], 2
	c1.Owned, c1.Generation = round1["C1"], 2
	round2, err := a.Assign([]tlog.GroupMember{c0, c1}, parts)
	require.NoError(t, err)
	assert.Equal(t, tps("t0p0", "t0p1", "t0p2"), round2["C0"])
	assert.Equal(t, tps("t1p0", "t1p1", "t1p2"), round2["C1"])
	assert.Empty(t, tlog.Revocations([]tlog.GroupMember{c0, c1}, round2))
	assert.False(t, tlog.NeedsFollowUp([]tlog.GroupMember{c0, c1}, round2))

	// An eager assignor in the same spot moves partitions without a second round: every member
	// revoked everything before joining.
	eager, err := tlog.RangeAssignor{}.Assign([]tlog.GroupMember{member("C0", "t0", "t1"), c1}, parts)
	require.NoError(t, err)
	assert.NotEmpty(t, eager["C1"])
	// Reference: K25, KIP-429, CooperativeStickyAssignor.java
}

func TestAssign_CooperativeSticky_Cases(t *testing.T) {
	a := tlog.CooperativeStickyAssignor{}
	owning := func(id string, gen int32, owned []tlog.TopicPartition, topics ...string) tlog.GroupMember {
		return tlog.GroupMember{ID: id, Topics: topics, Owned: owned, Generation: gen}
	}
	t.Run("fresh group deals partitions out round the members", func(t *testing.T) {
		got, err := a.Assign([]tlog.GroupMember{member("b", "t"), member("a", "t")}, map[string]int32{"t": 5})
		require.NoError(t, err)
		assert.Equal(t, map[string][]tlog.TopicPartition{"a": tps("tp0", "tp2", "tp4"), "b": tps("tp1", "tp3")}, got)
	})
	t.Run("a member leaving frees its partitions at once", func(t *testing.T) {
		got, err := a.Assign([]tlog.GroupMember{owning("a", 3, tps("tp0", "tp2"), "t")}, map[string]int32{"t": 4})
		require.NoError(t, err)
		assert.Equal(t, tps("tp0", "tp1", "tp2", "tp3"), got["a"], "b left: nobody has to revoke tp1, tp3")
	})
	t.Run("balanced owners keep everything", func(t *testing.T) {
		ms := []tlog.GroupMember{owning("a", 3, tps("tp3", "tp1"), "t"), owning("b", 3, tps("tp0", "tp2"), "t")}
		got, err := a.Assign(ms, map[string]int32{"t": 4})
		require.NoError(t, err)
		assert.Equal(t, map[string][]tlog.TopicPartition{"a": tps("tp1", "tp3"), "b": tps("tp0", "tp2")}, got)
		assert.False(t, tlog.NeedsFollowUp(ms, got))
	})
	t.Run("unsubscribing revokes, and the other subscriber waits for it", func(t *testing.T) {
		ms := []tlog.GroupMember{owning("a", 3, tps("xp0", "yp0"), "x"), owning("b", 3, tps("xp1"), "x", "y")}
		got, err := a.Assign(ms, map[string]int32{"x": 2, "y": 1})
		require.NoError(t, err)
		assert.Equal(t, map[string][]tlog.TopicPartition{"a": tps("xp0"), "b": tps("xp1")}, got)
		assert.Equal(t, map[string][]tlog.TopicPartition{"a": tps("yp0")}, tlog.Revocations(ms, got))
	})
	t.Run("the higher generation's claim stands", func(t *testing.T) {
		ms := []tlog.GroupMember{owning("a", 2, tps("tp0"), "t"), owning("b", 3, tps("tp0", "tp1"), "t")}
		got, err := a.Assign(ms, map[string]int32{"t": 2})
		require.NoError(t, err)
		assert.Equal(t, tps("tp0"), got["b"], "b keeps tp0 and gives up tp1, which must move")
		assert.Equal(t, []tlog.TopicPartition{}, got["a"], "tp1 waits for b to revoke it")
		assert.True(t, tlog.NeedsFollowUp(ms, got))
	})
	t.Run("claims of the same generation void each other", func(t *testing.T) {
		ms := []tlog.GroupMember{owning("a", 3, tps("tp0"), "t"), owning("b", 3, tps("tp0"), "t")}
		got, err := a.Assign(ms, map[string]int32{"t": 2})
		require.NoError(t, err)
		assert.Equal(t, map[string][]tlog.TopicPartition{"a": {}, "b": tps("tp1")}, got,
			"tp0 is held back until both have revoked it")
		assert.Equal(t, map[string][]tlog.TopicPartition{"a": tps("tp0"), "b": tps("tp0")}, tlog.Revocations(ms, got))
	})
	t.Run("owned partitions of a deleted topic are revoked", func(t *testing.T) {
		ms := []tlog.GroupMember{owning("a", 3, tps("gonep0", "tp0"), "t", "gone")}
		got, err := a.Assign(ms, map[string]int32{"t": 1})
		require.NoError(t, err)
		assert.Equal(t, tps("tp0"), got["a"])
		assert.True(t, tlog.NeedsFollowUp(ms, got))
	})
	t.Run("a chain of members balances mixed subscriptions", func(t *testing.T) {
		// a can only take x, c only y; b takes both. c's surplus reaches a through b.
		ms := []tlog.GroupMember{
			owning("a", 1, nil, "x"),
			owning("b", 1, tps("xp0", "xp1"), "x", "y"),
			owning("c", 1, tps("yp0", "yp1", "yp2", "yp3"), "y"),
		}
		got, err := a.Assign(ms, map[string]int32{"x": 2, "y": 4})
		require.NoError(t, err)
		// Two each is the only balance: a can take only x, so b hands both x over and takes
		// two of c's y instead.
		assert.Equal(t, map[string][]tlog.TopicPartition{"a": {}, "b": {}, "c": tps("yp0", "yp1")}, got)
		assert.Equal(t, map[string][]tlog.TopicPartition{"b": tps("xp0", "xp1"), "c": tps("yp2", "yp3")},
			tlog.Revocations(ms, got))
		next := nextRound(ms, got)
		got, err = a.Assign(next, map[string]int32{"x": 2, "y": 4})
		require.NoError(t, err)
		assert.Equal(t, map[string][]tlog.TopicPartition{"a": tps("xp0", "xp1"), "b": tps("yp2", "yp3"),
			"c": tps("yp0", "yp1")}, got)
		assert.False(t, tlog.NeedsFollowUp(next, got))
	})
}

// nextRound returns members as they join the next rebalance: owning what assignment gave them,
// one generation on.
func nextRound(members []tlog.GroupMember, assignment map[string][]tlog.TopicPartition) []tlog.GroupMember {
	out := slices.Clone(members)
	for i := range out {
		out[i].Owned = slices.Clone(assignment[out[i].ID])
		out[i].Generation++
	}
	return out
}

func allAssignors() []tlog.Assignor {
	return []tlog.Assignor{tlog.RangeAssignor{}, tlog.RoundRobinAssignor{}, tlog.CooperativeStickyAssignor{}}
}

// fuzzGroup turns bytes into a group: topics with partition counts, and members with
// subscriptions, optional instance ids, owned partitions and generations. Missing bytes read
// as zero.
func fuzzGroup(data []byte) ([]tlog.GroupMember, map[string]int32) {
	next := func() int {
		if len(data) == 0 {
			return 0
		}
		b := data[0]
		data = data[1:]
		return int(b)
	}
	parts := map[string]int32{}
	var all []tlog.TopicPartition
	nt := 1 + next()%4
	for i := range nt {
		name := fmt.Sprintf("t%d", i)
		parts[name] = int32(next() % 13)
		for p := range parts[name] {
			all = append(all, tlog.TopicPartition{Topic: name, Partition: p})
		}
	}
	// A topic owned but gone.
	all = append(all, tlog.TopicPartition{Topic: "gone", Partition: 0})
	nm := 1 + next()%8
	members := make([]tlog.GroupMember, nm)
	for i := range members {
		m := &members[i]
		m.ID = fmt.Sprintf("m%d", next()%4*10+i) // ids unique, not in index order
		mask := next()
		for k := range nt + 1 {
			if mask&(1<<k) != 0 {
				m.Topics = append(m.Topics, fmt.Sprintf("t%d", k)) // t<nt> does not exist
			}
		}
		if inst := next(); inst%2 == 1 {
			m.InstanceID = fmt.Sprintf("i%d", inst/2%5) // may repeat
		}
		m.Generation = int32(next() % 3)
		for range next() % 7 {
			m.Owned = append(m.Owned, all[next()%len(all)])
		}
	}
	return members, parts
}

// FuzzAssignors checks every assignor's guarantees on random groups; the seeds are in
// testdata/fuzz/FuzzAssignors.
func FuzzAssignors(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		members, parts := fuzzGroup(data)
		for _, a := range allAssignors() {
			got, err := a.Assign(members, parts)
			require.NoError(t, err, a.Name())
			checkAssignment(t, a.Name(), members, parts, got)

			reversed := slices.Clone(members)
			slices.Reverse(reversed)
			again, err := a.Assign(reversed, parts)
			require.NoError(t, err)
			require.Equal(t, got, again, "%s depends on the order of members", a.Name())

			if !a.Cooperative() {
				requireComplete(t, a.Name(), members, parts, got)
				continue
			}
			// One follow-up round settles it (KIP-429): then nobody revokes, and the
			// assignment is complete and balanced.
			cur := members
			if tlog.NeedsFollowUp(cur, got) {
				cur = nextRound(cur, got)
				got, err = a.Assign(cur, parts)
				require.NoError(t, err)
				checkAssignment(t, a.Name(), cur, parts, got)
				require.False(t, tlog.NeedsFollowUp(cur, got), "a second follow-up round is needed: %v", got)
			}
			requireComplete(t, a.Name(), cur, parts, got)
			requireBalanced(t, cur, got)
		}
	})
}

// checkAssignment checks what every assignment must be: each member present with a sorted,
// non-nil slice; each partition existing, given at most once, only to a subscriber; and, for a
// cooperative assignor, never to a member while another one's claim on it stands.
func checkAssignment(t *testing.T, name string, members []tlog.GroupMember, parts map[string]int32,
	got map[string][]tlog.TopicPartition) {
	t.Helper()
	byID := map[string]tlog.GroupMember{}
	for _, m := range members {
		byID[m.ID] = m
	}
	require.ElementsMatch(t, slices.Collect(maps.Keys(byID)), slices.Collect(maps.Keys(got)), "%s: members", name)
	given := map[tlog.TopicPartition]string{}
	for id, list := range got {
		require.NotNil(t, list, "%s: %s", name, id)
		require.True(t, slices.IsSortedFunc(list, func(a, b tlog.TopicPartition) int {
			return cmpTP(a, b)
		}), "%s: %s's partitions are not sorted: %v", name, id, list)
		for _, tp := range list {
			require.True(t, tp.Partition >= 0 && tp.Partition < parts[tp.Topic], "%s: %v does not exist", name, tp)
			require.Contains(t, byID[id].Topics, tp.Topic, "%s: %s got %v without subscribing", name, id, tp)
			prev, dup := given[tp]
			require.False(t, dup, "%s: %v given to %s and %s", name, tp, prev, id)
			given[tp] = id
			if name != tlog.CooperativeStickyName {
				continue
			}
			// The claim that stands: the highest generation, if only one member makes it.
			var top []string
			var gen int32
			for _, m := range members {
				if !slices.Contains(m.Owned, tp) {
					continue
				}
				switch {
				case len(top) == 0 || m.Generation > gen:
					top, gen = []string{m.ID}, m.Generation
				case m.Generation == gen:
					top = append(top, m.ID)
				}
			}
			require.True(t, len(top) == 0 || (len(top) == 1 && top[0] == id),
				"%s: %v given to %s while %v claim it", name, tp, id, top)
		}
	}
}

// requireComplete checks that every partition of a topic some member subscribes to is given.
func requireComplete(t *testing.T, name string, members []tlog.GroupMember, parts map[string]int32,
	got map[string][]tlog.TopicPartition) {
	t.Helper()
	n := 0
	for _, list := range got {
		n += len(list)
	}
	want := 0
	for topic, count := range parts {
		if slices.ContainsFunc(members, func(m tlog.GroupMember) bool { return slices.Contains(m.Topics, topic) }) {
			want += int(count)
		}
	}
	require.Equal(t, want, n, "%s: partitions left unassigned", name)
}

// requireBalanced checks that no member holds a partition that a member with two fewer could
// take; so members with the same subscription are within one partition of each other.
func requireBalanced(t *testing.T, members []tlog.GroupMember, got map[string][]tlog.TopicPartition) {
	t.Helper()
	for _, a := range members {
		for _, b := range members {
			if len(got[a.ID]) <= len(got[b.ID])+1 {
				continue
			}
			for _, tp := range got[a.ID] {
				require.NotContains(t, b.Topics, tp.Topic, "%s holds %d, %s holds %d and could take %v",
					a.ID, len(got[a.ID]), b.ID, len(got[b.ID]), tp)
			}
		}
	}
}

func cmpTP(a, b tlog.TopicPartition) int {
	if a.Topic != b.Topic {
		if a.Topic < b.Topic {
			return -1
		}
		return 1
	}
	return int(a.Partition - b.Partition)
}
