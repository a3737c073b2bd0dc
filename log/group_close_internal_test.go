package log

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/log/internal/group"
)

// Close stops every timer the Log's groups own: a crashed member's session timer armed before
// Close does not fire afterwards and change the group (issue 11). The bubble would also fail
// on a goroutine left behind.
func TestGroup_CloseStopsGroupTimers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, err := Open("", nil)
		require.NoError(t, err)
		require.NoError(t, l.CreateTopic("t", TopicConfig{Partitions: 2}))
		c, err := l.NewGroupConsumer(GroupConsumerOptions{GroupID: "g", Topics: []string{"t"}})
		require.NoError(t, err)
		for range 3 {
			_, err := c.Poll(context.Background())
			require.NoError(t, err)
		}
		c.Crash()
		type snapshot struct {
			members int
			state   group.State
			gen     int32
		}
		look := func() (s snapshot) {
			require.True(t, l.coord.Describe("g", func(g *group.Group) {
				s = snapshot{len(g.Members()), g.State(), g.Generation()}
			}))
			return s
		}
		before := look()
		require.Equal(t, 1, before.members)

		require.NoError(t, l.Close())
		time.Sleep(time.Hour) // past the crashed member's session timeout
		synctest.Wait()
		assert.Equal(t, before, look(), "no session timeout acted after Close")
	})
}
