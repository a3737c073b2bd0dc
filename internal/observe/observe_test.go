package observe_test

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/tribusmq/tribus/internal/observe"
)

// A slot holds none at first, then what Set put there, until Set(nil); Load and Set may race.
func TestSlot_SetReplacesAndRemoves(t *testing.T) {
	var s observe.Slot[int]
	assert.False(t, s.Observed())
	assert.Nil(t, s.Load())
	var got []int
	s.Set(func(e int) { got = append(got, e) })
	assert.True(t, s.Observed())
	s.Load()(1)
	s.Set(func(e int) { got = append(got, -e) })
	s.Load()(2)
	s.Set(nil)
	assert.False(t, s.Observed())
	assert.Equal(t, []int{1, -2}, got)

	var wg sync.WaitGroup
	wg.Go(func() {
		for range 1000 {
			if fn := s.Load(); fn != nil {
				fn(0)
			}
		}
	})
	for range 1000 {
		s.Set(func(int) {})
		s.Set(nil)
	}
	wg.Wait()
}
