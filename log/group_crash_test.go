package log_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	tlog "github.com/tribusmq/tribus/log"
)

// Crash called from another goroutine while the member's Poll is blocked is still a crash:
// the in-flight Poll must not resume the member's heartbeats, so its session times out and
// the group rebalances without it (K23, issue 11).
func TestGroupConsumer_CrashDuringPollDropsTheMember(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := groupLog(t, nil, 0, map[string]int{"t": 2})
		a := joinGroup(t, l, tlog.GroupConsumerOptions{SessionTimeout: tlog.MinSessionTimeout, MaxWait: time.Second})
		b := joinGroup(t, l, tlog.GroupConsumerOptions{})
		settle(t, l, a, b)

		done := make(chan error, 1)
		go func() {
			_, err := a.Poll(context.Background())
			done <- err
		}()
		synctest.Wait() // a's Poll is blocked waiting for records
		a.Crash()
		assert.ErrorIs(t, <-done, tlog.ErrClosed, "the in-flight Poll ends as the consumer is crashed")

		time.Sleep(time.Minute) // well past a's session timeout
		settle(t, l, b)
		d, err := l.DescribeGroup("g")
		require.NoError(t, err)
		require.Len(t, d.Members, 1, "the crashed member is gone")
		assert.Equal(t, b.MemberID(), d.Members[0].MemberID)
		assert.Equal(t, parts("t", 0, 1), b.Assignment())
	})
}

// Close called from another goroutine while the member's Poll waits for records ends that
// Poll at once (as franz-go's Close does), then leaves the group, which rebalances the rest
// without waiting for a session timeout (K21). Under synctest a Close that waited for the
// Poll's lock would never return: a goroutine blocked on a mutex keeps the bubble's clock still.
func TestGroupConsumer_CloseDuringPollEndsItAndLeaves(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := groupLog(t, nil, 0, map[string]int{"t": 2})
		a := joinGroup(t, l, tlog.GroupConsumerOptions{MaxWait: time.Hour})
		b := joinGroup(t, l, tlog.GroupConsumerOptions{})
		settle(t, l, a, b)

		done := make(chan error, 1)
		go func() {
			_, err := a.Poll(context.Background())
			done <- err
		}()
		synctest.Wait() // a's Poll is blocked waiting for records, for up to an hour
		start := time.Now()
		require.NoError(t, a.Close())
		assert.Zero(t, time.Since(start), "Close did not wait out the Poll")
		assert.ErrorIs(t, <-done, tlog.ErrClosed, "the in-flight Poll ends as the consumer closes")

		settle(t, l, b)
		assert.Equal(t, parts("t", 0, 1), b.Assignment(), "a left: b owns both partitions")
	})
}

// A consumer crashed while its JoinGroup is parked sends nothing more: when the join phase
// ends, it never sends its SyncGroup, and its session then times out and the group rebalances
// without it. If it were the leader, the others wait (as in Kafka) until that happens.
func TestGroupConsumer_CrashDuringJoinSendsNothingMore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := groupLog(t, nil, 0, map[string]int{"t": 2})
		a := joinGroup(t, l, tlog.GroupConsumerOptions{SessionTimeout: tlog.MinSessionTimeout})
		b := joinGroup(t, l, tlog.GroupConsumerOptions{})
		settle(t, l, a, b)
		c := joinGroup(t, l, tlog.GroupConsumerOptions{})
		poll(t, c) // c joins: a rebalance; its JoinGroup is parked
		poll(t, a) // a rejoins, parked too
		a.Crash()  // the leader, crashed mid-rebalance
		poll(t, b) // b rejoins: the join phase ends, a's answer arrives after its crash
		d, err := l.DescribeGroup("g")
		require.NoError(t, err)
		assert.Equal(t, tlog.GroupCompletingRebalance, d.State, "the crashed leader never sends its assignment")

		time.Sleep(tlog.MinSessionTimeout + time.Second)
		settle(t, l, b, c)
		d, _ = l.DescribeGroup("g")
		require.Len(t, d.Members, 2)
		assert.NotContains(t, []string{d.Members[0].MemberID, d.Members[1].MemberID}, a.MemberID())
		assert.ElementsMatch(t, parts("t", 0, 1), append(b.Assignment(), c.Assignment()...))
	})
}
