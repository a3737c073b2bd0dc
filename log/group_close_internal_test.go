package log

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
		g := l.lookupGroup("g")
		g.mu.Lock()
		before := len(g.members)
		state, gen := g.state, g.generation
		g.mu.Unlock()
		require.Equal(t, 1, before)

		require.NoError(t, l.Close())
		time.Sleep(time.Hour)
		synctest.Wait()

		g.mu.Lock()
		defer g.mu.Unlock()
		assert.Len(t, g.members, before, "no session timeout acted after Close")
		assert.Equal(t, state, g.state)
		assert.Equal(t, gen, g.generation)
		for _, m := range g.members {
			assert.Nil(t, m.sessionTimer)
		}
	})
}
