package tribus

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/tribusmq/tribus/exchange"
	"github.com/tribusmq/tribus/store"
)

// The store's checkpoint is sized from the memory budget, so that what the store holds
// between checkpoints stays a share of the budget rather than a fixed 16 MiB beside it.
func TestOptions_CheckpointSizeFollowsTheMemoryBudget(t *testing.T) {
	for _, c := range []struct {
		name   string
		budget int64
		want   int
	}{
		{"default budget takes the store's default", 0, min(exchange.DefaultMemoryBudget/4, store.DefaultCheckpointBytes)},
		{"a quarter of a mid budget", 16 << 20, 4 << 20},
		{"a tiny budget is floored", 4096, minCheckpointBytes},
		{"a huge budget is capped", 1 << 40, store.DefaultCheckpointBytes},
		{"no limit takes the store's default", -1, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := (&Options{MemoryBudget: c.budget}).withDefaults()
			assert.Equal(t, c.want, o.checkpointBytes())
			so, err := o.storeOptions()
			assert.NoError(t, err)
			assert.Equal(t, c.want, so.CheckpointBytes)
		})
	}
}
