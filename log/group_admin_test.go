package log_test

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	tlog "github.com/tribusmq/tribus/log"
)

func TestGroupAdmin_DescribeListLag(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := groupLog(t, nil, 10, map[string]int{"t": 2})
		_, err := l.DescribeGroup("g")
		assert.ErrorIs(t, err, tlog.ErrUnknownGroup)

		a := joinGroup(t, l, tlog.GroupConsumerOptions{MaxPollRecords: 4, InstanceID: "host-a"})
		pollN(t, a, 4)
		require.NoError(t, a.Commit(context.Background()))
		d, err := l.DescribeGroup("g")
		require.NoError(t, err)
		assert.Equal(t, tlog.GroupStable, d.State)
		require.Len(t, d.Members, 1)
		assert.Equal(t, "host-a", d.Members[0].InstanceID)
		assert.Equal(t, []string{"t"}, d.Members[0].Topics)
		assert.Equal(t, parts("t", 0, 1), d.Members[0].Assignment)

		groups, err := l.ListGroups()
		require.NoError(t, err)
		assert.Equal(t, []string{"g"}, groups)

		lag, err := l.GroupLag("g")
		require.NoError(t, err)
		var committed, lagSum int64
		for _, pl := range lag {
			assert.Equal(t, int64(10), pl.End)
			if pl.Committed >= 0 {
				committed += pl.Committed
			}
			lagSum += pl.Lag
		}
		assert.Equal(t, int64(4), committed, "four records read and committed")
		assert.Equal(t, int64(16), lagSum, "20 records, 4 committed")
	})
}

func TestGroupAdmin_ResetAndDeleteNeedAnEmptyGroup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := groupLog(t, nil, 10, map[string]int{"t": 1})
		tp := tlog.TopicPartition{Topic: "t"}
		a := joinGroup(t, l, tlog.GroupConsumerOptions{})
		pollN(t, a, 10)
		assert.ErrorIs(t, l.ResetGroupOffsets("g", tlog.Earliest, time.Time{}, tp), tlog.ErrGroupNotEmpty)
		assert.ErrorIs(t, l.DeleteGroup("g"), tlog.ErrGroupNotEmpty)
		require.NoError(t, a.Close())

		committed := func() int64 {
			lag, err := l.GroupLag("g")
			require.NoError(t, err)
			return lag[tp].Committed
		}
		require.NoError(t, l.ResetGroupOffsets("g", tlog.Earliest, time.Time{}, tp))
		assert.Equal(t, int64(0), committed())
		require.NoError(t, l.ResetGroupOffsets("g", tlog.Latest, time.Time{}, tp))
		assert.Equal(t, int64(10), committed())
		require.NoError(t, l.ResetGroupOffsets("g", 7, time.Time{}, tp))
		assert.Equal(t, int64(7), committed())
		require.NoError(t, l.ResetGroupOffsets("g", 99, time.Time{}, tp))
		assert.Equal(t, int64(10), committed(), "clamped to the end")
		require.NoError(t, l.ResetGroupOffsets("g", 0, time.Now().Add(-time.Hour), tp))
		assert.Equal(t, int64(0), committed(), "every record is newer than an hour ago")

		b := joinGroup(t, l, tlog.GroupConsumerOptions{MaxPollRecords: 1})
		assert.Equal(t, []string{"p0-0"}, pollN(t, b, 1), "the group resumes from the reset offset")
		require.NoError(t, b.Close())

		require.NoError(t, l.DeleteGroup("g"))
		_, err := l.DescribeGroup("g")
		assert.ErrorIs(t, err, tlog.ErrUnknownGroup)
		assert.ErrorIs(t, l.DeleteGroup("g"), tlog.ErrUnknownGroup)
		assert.ErrorIs(t, l.DeleteGroup(""), tlog.ErrInvalidGroupID)
	})
}

// K18: the committed offsets of an empty group expire after offsets.retention.minutes (7
// days), and the group then starts over by auto.offset.reset. Source: KIP-211.
func TestGroup_K18_EmptyGroupOffsetsExpireOnRetention(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := groupLog(t, &tlog.Options{RetentionCheckInterval: 24 * time.Hour}, 0, nil)
		require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{RetentionTime: -1})) // records stay
		for i := range 5 {
			_, err := l.ProduceTo(context.Background(), "t", 0, tlog.Record{Value: fmt.Appendf(nil, "p0-%d", i)})
			require.NoError(t, err)
		}
		a := joinGroup(t, l, tlog.GroupConsumerOptions{})
		pollN(t, a, 5)
		require.NoError(t, a.Commit(context.Background()))
		time.Sleep(6 * 24 * time.Hour) // a member: nothing expires, however old the commit
		require.NoError(t, a.Close())
		l.RunRetention()
		_, err := l.DescribeGroup("g")
		require.NoError(t, err, "empty for a moment only")
		time.Sleep(tlog.DefaultOffsetsRetention + 24*time.Hour) // the timer runs retention daily
		_, err = l.DescribeGroup("g")
		assert.ErrorIs(t, err, tlog.ErrUnknownGroup)
		b := joinGroup(t, l, tlog.GroupConsumerOptions{MaxPollRecords: 1})
		assert.Equal(t, []string{"p0-0"}, pollN(t, b, 1), "no offsets: back to auto.offset.reset (earliest here)")
	})
}

// RebalanceGroup rebalances a Stable group at once: its members rejoin and it is Stable
// again at the next generation, with no member lost (KIP-568's enforceRebalance).
func TestRebalanceGroup_MembersRejoinAtTheNextGeneration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := groupLog(t, nil, 0, map[string]int{"t": 2})
		a := joinGroup(t, l, tlog.GroupConsumerOptions{})
		b := joinGroup(t, l, tlog.GroupConsumerOptions{})
		settle(t, l, a, b)
		before, err := l.DescribeGroup("g")
		require.NoError(t, err)

		require.NoError(t, l.RebalanceGroup("g"))
		d, err := l.DescribeGroup("g")
		require.NoError(t, err)
		assert.Equal(t, tlog.GroupPreparingRebalance, d.State)
		settle(t, l, a, b)
		d, err = l.DescribeGroup("g")
		require.NoError(t, err)
		assert.Equal(t, tlog.GroupStable, d.State)
		assert.Equal(t, before.Generation+1, d.Generation)
		assert.Len(t, d.Members, 2)
		assert.ErrorIs(t, l.RebalanceGroup("nobody"), tlog.ErrUnknownGroup)
	})
}

// ExpireSession drops a crashed member as its session timeout would, without the wait: the
// group reports it expired and rebalances among the others (K23).
func TestExpireSession_K23_DropsTheMemberAsItsSessionTimeoutWould(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &recorder{}
		l := groupLog(t, &tlog.Options{Observer: r.observe}, 0, map[string]int{"t": 2})
		a := joinGroup(t, l, tlog.GroupConsumerOptions{})
		b := joinGroup(t, l, tlog.GroupConsumerOptions{})
		settle(t, l, a, b)
		crashed := b.MemberID()
		b.Crash()
		r.take(t)

		require.NoError(t, l.ExpireSession("g", crashed))
		settle(t, l, a)
		d, err := l.DescribeGroup("g")
		require.NoError(t, err)
		require.Len(t, d.Members, 1)
		assert.Equal(t, a.MemberID(), d.Members[0].MemberID)
		expired := r.take(t, tlog.EventMemberExpired)
		require.Len(t, expired, 1)
		assert.Equal(t, crashed, expired[0].Member)
		assert.Equal(t, "session timed out", expired[0].Reason)

		assert.ErrorIs(t, l.ExpireSession("g", crashed), tlog.ErrUnknownMember, "already gone")
		assert.ErrorIs(t, l.ExpireSession("nobody", crashed), tlog.ErrUnknownGroup)
	})
}
