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
