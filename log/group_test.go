package log_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	tlog "github.com/tribusmq/tribus/log"
)

// Consumer-group tests run in synctest bubbles on an in-memory log: session timeouts of 45 s,
// poll intervals of 5 min and Poll's max wait all pass on the fake clock, instantly.

// groupLog opens an in-memory log with one topic per entry of topics (name: partitions),
// each partition holding perPartition records "p<partition>-<i>".
func groupLog(t *testing.T, opts *tlog.Options, perPartition int, topics map[string]int) *tlog.Log {
	t.Helper()
	l, err := tlog.Open("", opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	for name, n := range topics {
		require.NoError(t, l.CreateTopic(name, tlog.TopicConfig{Partitions: n}))
		for p := range n {
			for i := range perPartition {
				_, err := l.ProduceTo(context.Background(), name, int32(p), tlog.Record{Value: fmt.Appendf(nil, "p%d-%d", p, i)})
				require.NoError(t, err)
			}
		}
	}
	return l
}

// joinGroup returns a group consumer of group "g" on topic "t" with auto-commit off, unless opts
// says otherwise.
func joinGroup(t *testing.T, l *tlog.Log, opts tlog.GroupConsumerOptions) *tlog.GroupConsumer {
	t.Helper()
	if opts.GroupID == "" {
		opts.GroupID = "g"
	}
	if opts.Topics == nil && opts.Pattern == nil {
		opts.Topics = []string{"t"}
	}
	if opts.Reset == tlog.ResetLatest {
		opts.Reset = tlog.ResetEarliest
	}
	c, err := l.NewGroupConsumer(opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// poll polls c once and returns the records' values.
func poll(t *testing.T, c *tlog.GroupConsumer) []string {
	t.Helper()
	recs, err := c.Poll(context.Background())
	require.NoError(t, err)
	return values(recs)
}

// pollN polls c until it has n records (or ten polls went by) and returns their values.
func pollN(t *testing.T, c *tlog.GroupConsumer, n int) []string {
	t.Helper()
	var got []string
	for range 10 {
		if len(got) >= n {
			break
		}
		got = append(got, poll(t, c)...)
	}
	return got
}

// settle polls every consumer in turn until each holds the group's current generation, as
// their poll loops would.
func settle(t *testing.T, l *tlog.Log, cs ...*tlog.GroupConsumer) {
	t.Helper()
	for range 10 {
		done := true
		for _, c := range cs {
			_, err := c.Poll(context.Background())
			require.NoError(t, err)
		}
		d, err := l.DescribeGroup("g")
		require.NoError(t, err)
		for _, c := range cs {
			done = done && d.State == tlog.GroupStable && c.Generation() == d.Generation
		}
		if done {
			return
		}
	}
	t.Fatal("the group did not settle")
}

func parts(topic string, ps ...int32) []tlog.TopicPartition {
	out := make([]tlog.TopicPartition, len(ps))
	for i, p := range ps {
		out[i] = tlog.TopicPartition{Topic: topic, Partition: p}
	}
	return out
}

// K19: the first member to join leads; the leader's assignor result reaches every member.
// Source: K:doc#design_consumerposition, KIP-62.
func TestGroup_K19_FirstMemberLeadsAndEveryoneGetsPartitions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := groupLog(t, nil, 0, map[string]int{"t": 4})
		a := joinGroup(t, l, tlog.GroupConsumerOptions{ClientID: "a"})
		b := joinGroup(t, l, tlog.GroupConsumerOptions{ClientID: "b"})
		settle(t, l, a, b)
		d, err := l.DescribeGroup("g")
		require.NoError(t, err)
		assert.Equal(t, a.MemberID(), d.Leader)
		assert.Equal(t, tlog.RangeName, d.Protocol, "range is first in the default list (K26)")
		assert.Equal(t, parts("t", 0, 1), a.Assignment())
		assert.Equal(t, parts("t", 2, 3), b.Assignment())
		require.Len(t, d.Members, 2)
	})
}

// K20: each completed rebalance increments the generation; a commit from a stale generation or
// an unknown member fails with a typed error. Source: KafkaConsumer.java (CommitFailedException).
func TestGroup_K20_GenerationGrowsAndStaleCommitsFail(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := groupLog(t, nil, 3, map[string]int{"t": 2})
		ctx := context.Background()
		a := joinGroup(t, l, tlog.GroupConsumerOptions{})
		settle(t, l, a)
		g1 := a.Generation()
		require.NoError(t, a.Commit(ctx))

		b := joinGroup(t, l, tlog.GroupConsumerOptions{})
		poll(t, b) // b joins: a rebalance starts, and a has not rejoined yet
		d, _ := l.DescribeGroup("g")
		assert.Equal(t, tlog.GroupPreparingRebalance, d.State)
		assert.NoError(t, a.Commit(ctx), "while the group prepares, its current generation may still commit")
		settle(t, l, a, b)
		assert.Equal(t, g1+1, a.Generation())
		assert.Equal(t, g1+1, b.Generation())

		// c joins; a rejoins; b rejoins last, which completes the rebalance, and b takes the
		// new assignment in that same poll. a has not polled since: its generation is stale.
		stale := a.Generation()
		c := joinGroup(t, l, tlog.GroupConsumerOptions{})
		poll(t, c)
		poll(t, a)
		poll(t, b)
		d, _ = l.DescribeGroup("g")
		require.Equal(t, tlog.GroupStable, d.State)
		require.Equal(t, stale+1, d.Generation)
		assert.Equal(t, stale+1, b.Generation())
		assert.Equal(t, stale, a.Generation())
		assert.ErrorIs(t, a.Commit(ctx), tlog.ErrCommitFailed, "a stale generation cannot commit")
		assert.NoError(t, b.Commit(ctx))
		settle(t, l, a, b, c)
		assert.NoError(t, a.Commit(ctx), "after rejoining, a commits again")
	})
}

// K21: a rebalance happens on join, leave, session timeout, poll-interval expiry, subscription
// change, and partition-count change. Source: ConsumerRebalanceListener.java.
func TestGroup_K21_RebalanceTriggers(t *testing.T) {
	cases := []struct {
		name    string
		trigger func(t *testing.T, l *tlog.Log, a, b *tlog.GroupConsumer) []*tlog.GroupConsumer
	}{
		{"join", func(t *testing.T, l *tlog.Log, a, b *tlog.GroupConsumer) []*tlog.GroupConsumer {
			return []*tlog.GroupConsumer{a, b, joinGroup(t, l, tlog.GroupConsumerOptions{})}
		}},
		{"leave", func(t *testing.T, l *tlog.Log, a, b *tlog.GroupConsumer) []*tlog.GroupConsumer {
			require.NoError(t, b.Close())
			return []*tlog.GroupConsumer{a}
		}},
		{"session timeout", func(t *testing.T, l *tlog.Log, a, b *tlog.GroupConsumer) []*tlog.GroupConsumer {
			b.Crash()
			time.Sleep(tlog.DefaultSessionTimeout + time.Second)
			return []*tlog.GroupConsumer{a}
		}},
		{"poll interval", func(t *testing.T, l *tlog.Log, a, b *tlog.GroupConsumer) []*tlog.GroupConsumer {
			// a keeps polling; b stops for longer than max.poll.interval.ms.
			for range 2 * int(tlog.DefaultMaxPollInterval/time.Minute) {
				time.Sleep(30 * time.Second)
				poll(t, a)
			}
			return []*tlog.GroupConsumer{a}
		}},
		{"subscription change", func(t *testing.T, l *tlog.Log, a, b *tlog.GroupConsumer) []*tlog.GroupConsumer {
			require.NoError(t, b.Subscribe("t", "u"))
			return []*tlog.GroupConsumer{a, b}
		}},
		{"partition count change", func(t *testing.T, l *tlog.Log, a, b *tlog.GroupConsumer) []*tlog.GroupConsumer {
			require.NoError(t, l.CreatePartitions("t", 6))
			return []*tlog.GroupConsumer{a, b}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := groupLog(t, nil, 0, map[string]int{"t": 4, "u": 2})
				a := joinGroup(t, l, tlog.GroupConsumerOptions{})
				b := joinGroup(t, l, tlog.GroupConsumerOptions{})
				settle(t, l, a, b)
				before, _ := l.DescribeGroup("g")
				rest := tc.trigger(t, l, a, b)
				settle(t, l, rest...)
				after, _ := l.DescribeGroup("g")
				assert.Greater(t, after.Generation, before.Generation)
				assert.Len(t, after.Members, len(rest))
				var all []tlog.TopicPartition
				for _, c := range rest {
					all = append(all, c.Assignment()...)
				}
				slices.SortFunc(all, func(x, y tlog.TopicPartition) int {
					return cmpTP(x, y)
				})
				assert.Equal(t, len(all), len(slices.Compact(slices.Clone(all))), "no partition has two owners")
			})
		})
	}
}

// K22: records polled but not committed when a partition moves are read again by its next
// owner, from the last committed offset. This duplicate is what at-least-once means.
// Source: K:doc#semantics.
func TestGroup_K22_UncommittedWorkIsReadAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := groupLog(t, nil, 10, map[string]int{"t": 1})
		a := joinGroup(t, l, tlog.GroupConsumerOptions{MaxPollRecords: 4})
		assert.Equal(t, []string{"p0-0", "p0-1", "p0-2", "p0-3"}, pollN(t, a, 4))
		require.NoError(t, a.Commit(context.Background())) // committed: next is 4
		assert.Equal(t, []string{"p0-4", "p0-5", "p0-6", "p0-7"}, poll(t, a))
		a.Crash() // processed 4..7, never committed them

		b := joinGroup(t, l, tlog.GroupConsumerOptions{MaxPollRecords: 4})
		time.Sleep(tlog.DefaultSessionTimeout + time.Second)
		assert.Equal(t, []string{"p0-4", "p0-5", "p0-6", "p0-7"}, pollN(t, b, 4), "b reads 4..7 a second time")
		assert.Equal(t, parts("t", 0), b.Assignment())
	})
}

// K23: a member that stops heartbeating is removed after session.timeout.ms (45 s by
// default), not before; the broker only accepts timeouts between 6 s and 30 min.
// Source: ConsumerConfig.java, GroupCoordinatorConfig.java.
func TestGroup_K23_SessionTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := groupLog(t, nil, 0, map[string]int{"t": 2})
		a := joinGroup(t, l, tlog.GroupConsumerOptions{})
		b := joinGroup(t, l, tlog.GroupConsumerOptions{})
		settle(t, l, a, b)
		b.Crash()
		time.Sleep(tlog.DefaultSessionTimeout - time.Second)
		d, _ := l.DescribeGroup("g")
		assert.Len(t, d.Members, 2, "still a member just before the timeout")
		time.Sleep(2 * time.Second)
		d, _ = l.DescribeGroup("g")
		assert.Len(t, d.Members, 1)
		settle(t, l, a)
		assert.Equal(t, parts("t", 0, 1), a.Assignment())

		for _, bad := range []time.Duration{5 * time.Second, 31 * time.Minute} {
			_, err := l.NewGroupConsumer(tlog.GroupConsumerOptions{GroupID: "g", Topics: []string{"t"}, SessionTimeout: bad})
			assert.ErrorIs(t, err, tlog.ErrInvalidSessionTimeout)
		}
	})
}

// K24: a member that goes longer than max.poll.interval.ms between polls leaves the group and
// its partitions are reassigned; on its next poll it finds them lost and rejoins. A static
// member instead stops heartbeating and is only dropped after the session timeout.
// Source: CommonClientConfigs.java (KIP-62, KIP-345).
func TestGroup_K24_PollIntervalExceeded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := groupLog(t, nil, 0, map[string]int{"t": 2})
		var lost []tlog.TopicPartition
		a := joinGroup(t, l, tlog.GroupConsumerOptions{})
		b := joinGroup(t, l, tlog.GroupConsumerOptions{Listener: tlog.RebalanceListener{
			Lost: func(_ *tlog.GroupConsumer, tps []tlog.TopicPartition) { lost = append(lost, tps...) },
		}})
		settle(t, l, a, b)
		owned := b.Assignment()
		for range 11 { // 5.5 minutes of a polling and b not
			time.Sleep(30 * time.Second)
			poll(t, a)
		}
		d, _ := l.DescribeGroup("g")
		assert.Len(t, d.Members, 1)
		assert.Equal(t, parts("t", 0, 1), a.Assignment())
		assert.ErrorIs(t, b.Commit(context.Background()), tlog.ErrCommitFailed, "b is an unknown member now (K20)")
		settle(t, l, a, b) // b polls again: lost, then rejoins as a new member
		assert.Equal(t, owned, lost)
		d, _ = l.DescribeGroup("g")
		assert.Len(t, d.Members, 2)

		// A static member past its poll interval keeps its place until the session timeout.
		s := joinGroup(t, l, tlog.GroupConsumerOptions{GroupID: "s", InstanceID: "i1"})
		poll(t, s)
		time.Sleep(tlog.DefaultMaxPollInterval + time.Second)
		ds, _ := l.DescribeGroup("s")
		assert.Len(t, ds.Members, 1, "a static member only stops heartbeating")
		time.Sleep(tlog.DefaultSessionTimeout)
		ds, _ = l.DescribeGroup("s")
		assert.Empty(t, ds.Members)
	})
}

// K25: eager assignors revoke everything at the start of each rebalance; cooperative-sticky
// revokes only what moves, and hands it on in a second rebalance; assigned is called once per
// rebalance even with nothing. Source: ConsumerRebalanceListener.java, KIP-429.
func TestGroup_K25_RevokedAssignedCallbacks(t *testing.T) {
	type event struct {
		kind string
		tps  []tlog.TopicPartition
	}
	listen := func(log *[]event) tlog.RebalanceListener {
		rec := func(kind string) func(*tlog.GroupConsumer, []tlog.TopicPartition) {
			return func(_ *tlog.GroupConsumer, tps []tlog.TopicPartition) { *log = append(*log, event{kind, tps}) }
		}
		return tlog.RebalanceListener{Assigned: rec("assigned"), Revoked: rec("revoked"), Lost: rec("lost")}
	}
	t.Run("eager", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			l := groupLog(t, nil, 0, map[string]int{"t": 4})
			var events []event
			a := joinGroup(t, l, tlog.GroupConsumerOptions{Listener: listen(&events), Assignors: []tlog.Assignor{tlog.RangeAssignor{}}})
			settle(t, l, a)
			b := joinGroup(t, l, tlog.GroupConsumerOptions{Assignors: []tlog.Assignor{tlog.RangeAssignor{}}})
			settle(t, l, a, b)
			assert.Equal(t, []event{
				{"assigned", parts("t", 0, 1, 2, 3)},
				{"revoked", parts("t", 0, 1, 2, 3)}, // all of them, though a keeps 0 and 1
				{"assigned", parts("t", 0, 1)},
			}, events)
		})
	})
	t.Run("cooperative-sticky", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			l := groupLog(t, nil, 0, map[string]int{"t": 4})
			var events []event
			coop := []tlog.Assignor{tlog.CooperativeStickyAssignor{}}
			a := joinGroup(t, l, tlog.GroupConsumerOptions{Listener: listen(&events), Assignors: coop})
			settle(t, l, a)
			gen := a.Generation()
			var bEvents []event
			b := joinGroup(t, l, tlog.GroupConsumerOptions{Listener: listen(&bEvents), Assignors: coop})
			settle(t, l, a, b)
			require.Len(t, events, 4)
			assert.Equal(t, event{"assigned", parts("t", 0, 1, 2, 3)}, events[0])
			assert.Equal(t, "revoked", events[1].kind)
			assert.Len(t, events[1].tps, 2, "only the two partitions that move are revoked")
			assert.Equal(t, event{"assigned", []tlog.TopicPartition{}}, events[2], "first round: a gains nothing")
			assert.Equal(t, event{"assigned", []tlog.TopicPartition{}}, events[3], "second round: nothing either, but called")
			assert.Len(t, a.Assignment(), 2)
			assert.Len(t, b.Assignment(), 2)
			assert.Equal(t, events[1].tps, b.Assignment(), "b gets exactly what a revoked")
			assert.Equal(t, gen+2, a.Generation(), "two rebalances: revoke, then hand on")
			require.Len(t, bEvents, 2)
			assert.Equal(t, event{"assigned", []tlog.TopicPartition{}}, bEvents[0], "first round: nothing yet")
			assert.Equal(t, b.Assignment(), bEvents[1].tps)
		})
	})
}

// K26: with the default strategy list [range, cooperative-sticky] the group uses range; once
// every member lists only cooperative-sticky, it uses that. Source: ConsumerConfig.java.
func TestGroup_K26_DefaultStrategyIsRange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := groupLog(t, nil, 0, map[string]int{"t": 2})
		a := joinGroup(t, l, tlog.GroupConsumerOptions{})
		settle(t, l, a)
		d, _ := l.DescribeGroup("g")
		assert.Equal(t, tlog.RangeName, d.Protocol)
		c := joinGroup(t, l, tlog.GroupConsumerOptions{GroupID: "coop", Assignors: []tlog.Assignor{tlog.CooperativeStickyAssignor{}}})
		poll(t, c)
		d, _ = l.DescribeGroup("coop")
		assert.Equal(t, tlog.CooperativeStickyName, d.Protocol)
	})
}

// K27: the first rebalance of an empty group waits group.initial.rebalance.delay.ms for more
// members. Source: GroupCoordinatorConfig.java.
func TestGroup_K27_InitialRebalanceDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := groupLog(t, &tlog.Options{GroupInitialRebalanceDelay: 3 * time.Second}, 0, map[string]int{"t": 2})
		a := joinGroup(t, l, tlog.GroupConsumerOptions{MaxWait: time.Second})
		start := time.Now()
		poll(t, a)
		d, _ := l.DescribeGroup("g")
		assert.Equal(t, tlog.GroupPreparingRebalance, d.State, "still waiting after 1 s")
		b := joinGroup(t, l, tlog.GroupConsumerOptions{MaxWait: time.Second})
		poll(t, b)
		settle(t, l, a, b)
		assert.GreaterOrEqual(t, time.Since(start), 3*time.Second)
		d, _ = l.DescribeGroup("g")
		assert.Equal(t, int32(1), d.Generation, "both members made it into the first generation")
	})
}

// K29: a static member that restarts within the session timeout gets its partitions back
// without a rebalance. Source: KIP-345.
func TestGroup_K29_StaticMemberRestartKeepsPartitions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := groupLog(t, nil, 0, map[string]int{"t": 4})
		a := joinGroup(t, l, tlog.GroupConsumerOptions{InstanceID: "a"})
		b := joinGroup(t, l, tlog.GroupConsumerOptions{InstanceID: "b"})
		settle(t, l, a, b)
		before, _ := l.DescribeGroup("g")
		owned := b.Assignment()
		require.NoError(t, b.Close()) // a static member does not leave
		time.Sleep(10 * time.Second)
		b2 := joinGroup(t, l, tlog.GroupConsumerOptions{InstanceID: "b"})
		poll(t, b2)
		poll(t, a)
		after, _ := l.DescribeGroup("g")
		assert.Equal(t, before.Generation, after.Generation, "no rebalance")
		assert.Equal(t, owned, b2.Assignment())
		assert.NotEqual(t, b.MemberID(), b2.MemberID())
	})
}

// K30: with auto-commit on, the positions returned by the previous poll are committed every
// auto.commit.interval.ms inside poll, and on close. Source: ConsumerConfig.java.
func TestGroup_K30_AutoCommitInPollAndOnClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := groupLog(t, nil, 10, map[string]int{"t": 1})
		tp := tlog.TopicPartition{Topic: "t"}
		a, err := l.NewGroupConsumer(tlog.GroupConsumerOptions{GroupID: "g", Topics: []string{"t"}, Reset: tlog.ResetEarliest, MaxPollRecords: 3})
		require.NoError(t, err)
		assert.Len(t, poll(t, a), 3)
		_, ok, _ := a.Committed(tp)
		assert.False(t, ok, "nothing committed before the interval")
		time.Sleep(tlog.DefaultAutoCommitInterval)
		assert.Len(t, poll(t, a), 3) // commits 3 (what the previous poll returned), then reads 3..5
		om, ok, _ := a.Committed(tp)
		require.True(t, ok)
		assert.Equal(t, int64(3), om.Offset)
		require.NoError(t, a.Close())
		om, _, _ = a.Committed(tp)
		assert.Equal(t, int64(6), om.Offset, "Close commits what was returned")
	})
}

// K12 for groups: a new member resumes from the committed offset, the next record to read.
func TestGroup_K12_ResumeFromCommittedOffset(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := groupLog(t, nil, 10, map[string]int{"t": 1})
		a := joinGroup(t, l, tlog.GroupConsumerOptions{MaxPollRecords: 5})
		assert.Len(t, pollN(t, a, 5), 5)
		require.NoError(t, a.Commit(context.Background()))
		require.NoError(t, a.Close())
		b := joinGroup(t, l, tlog.GroupConsumerOptions{MaxPollRecords: 1})
		assert.Equal(t, []string{"p0-5"}, pollN(t, b, 1))
	})
}

// K13 for groups: with no committed offset, the group starts where auto.offset.reset says.
func TestGroup_K13_ResetWithoutCommittedOffset(t *testing.T) {
	for _, tc := range []struct {
		reset tlog.OffsetReset
		want  []string
	}{{tlog.ResetEarliest, []string{"p0-0", "p0-1"}}, {tlog.ResetLatest, nil}} {
		synctest.Test(t, func(t *testing.T) {
			l := groupLog(t, nil, 2, map[string]int{"t": 1})
			c, err := l.NewGroupConsumer(tlog.GroupConsumerOptions{GroupID: "g", Topics: []string{"t"}, Reset: tc.reset})
			require.NoError(t, err)
			defer c.Close()
			var got []string
			for range 3 {
				got = append(got, poll(t, c)...)
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

// K14: each group reads the whole topic independently; within a group, a partition has one
// owner. Source: K:doc#intro_consumers.
func TestGroup_K14_GroupsAreIndependent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := groupLog(t, nil, 2, map[string]int{"t": 2})
		read := func(group string) []string {
			a := joinGroup(t, l, tlog.GroupConsumerOptions{GroupID: group})
			b := joinGroup(t, l, tlog.GroupConsumerOptions{GroupID: group})
			var got []string
			for range 4 {
				got = append(got, poll(t, a)...)
				got = append(got, poll(t, b)...)
			}
			slices.Sort(got)
			return got
		}
		want := []string{"p0-0", "p0-1", "p1-0", "p1-1"}
		assert.Equal(t, want, read("g1"))
		assert.Equal(t, want, read("g2"), "the second group reads everything too")
	})
}

func TestGroup_PatternSubscriptionSeesNewTopics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := groupLog(t, nil, 1, map[string]int{"orders-eu": 1})
		c := joinGroup(t, l, tlog.GroupConsumerOptions{Pattern: regexp.MustCompile(`^orders-`)})
		assert.Equal(t, []string{"p0-0"}, poll(t, c))
		require.NoError(t, l.CreateTopic("orders-us", tlog.TopicConfig{}))
		_, err := l.ProduceTo(context.Background(), "orders-us", 0, tlog.Record{Value: []byte("us")})
		require.NoError(t, err)
		var got []string
		for range 3 {
			got = append(got, poll(t, c)...)
		}
		assert.Equal(t, []string{"us"}, got)
	})
}

func TestGroup_InvalidOptions(t *testing.T) {
	l := groupLog(t, nil, 0, map[string]int{"t": 1})
	_, err := l.NewGroupConsumer(tlog.GroupConsumerOptions{Topics: []string{"t"}})
	assert.ErrorIs(t, err, tlog.ErrInvalidGroupID)
	_, err = l.NewGroupConsumer(tlog.GroupConsumerOptions{GroupID: "g"})
	assert.ErrorIs(t, err, tlog.ErrNoSubscription)
}

// A member keeps its place while it does not poll, for up to max.poll.interval.ms, however
// long that is beyond the session timeout: it heartbeats in the background (heartbeat.interval.ms).
func TestGroup_K23_HeartbeatsKeepAMemberBetweenPolls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := groupLog(t, nil, 0, map[string]int{"t": 2})
		a := joinGroup(t, l, tlog.GroupConsumerOptions{MaxPollInterval: 30 * time.Minute})
		b := joinGroup(t, l, tlog.GroupConsumerOptions{MaxPollInterval: 30 * time.Minute})
		settle(t, l, a, b)
		before, _ := l.DescribeGroup("g")
		time.Sleep(10 * time.Minute) // neither polls; each session is 45 s
		after, _ := l.DescribeGroup("g")
		assert.Len(t, after.Members, 2)
		assert.Equal(t, before.Generation, after.Generation, "no rebalance")

		_, err := l.NewGroupConsumer(tlog.GroupConsumerOptions{GroupID: "g", Topics: []string{"t"},
			HeartbeatInterval: tlog.DefaultSessionTimeout})
		assert.ErrorIs(t, err, tlog.ErrInvalidConfig, "heartbeats must come more often than the session timeout")
	})
}

// K29: once a newer consumer took a static member's group.instance.id, the older one is fenced:
// its Poll fails with ErrFencedInstanceID, and its commits fail.
func TestGroup_K29_TheOlderStaticMemberIsFenced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := groupLog(t, nil, 0, map[string]int{"t": 2})
		old := joinGroup(t, l, tlog.GroupConsumerOptions{InstanceID: "host-1"})
		settle(t, l, old)
		newer := joinGroup(t, l, tlog.GroupConsumerOptions{InstanceID: "host-1"})
		poll(t, newer)
		assert.Equal(t, parts("t", 0, 1), newer.Assignment())
		_, err := old.Poll(context.Background())
		assert.ErrorIs(t, err, tlog.ErrFencedInstanceID)
		assert.ErrorIs(t, old.Commit(context.Background()), tlog.ErrCommitFailed)
	})
}
