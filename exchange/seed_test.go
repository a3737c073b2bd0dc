package exchange_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/exchange"
)

// firstConsumer publishes one message to a queue with two consumers, on a router with seed,
// and returns which consumer (0 or 1, in the order they started) got it.
func firstConsumer(t *testing.T, seed uint64) int {
	t.Helper()
	r, err := exchange.New(&exchange.Options{Seed: seed})
	require.NoError(t, err)
	defer r.Close()
	_, err = r.QueueDeclare("work", exchange.QueueOptions{})
	require.NoError(t, err)
	var cs [2]*exchange.Consumer
	for i := range cs {
		cs[i], err = r.Consume("work", exchange.ConsumeOptions{})
		require.NoError(t, err)
	}
	require.NoError(t, r.Publish(t.Context(), "", "work", false, exchange.Publishing{Body: []byte("m")}))
	qi, err := r.QueueInfo("work")
	require.NoError(t, err)
	require.Equal(t, uint64(1), qi.Delivered)
	ctx, cancel := context.WithCancel(t.Context())
	cancel() // Next returns what is buffered before it looks at ctx
	for i, c := range cs {
		if _, err := c.Next(ctx); err == nil {
			return i
		}
	}
	t.Fatal("no consumer got the message")
	return -1
}

// Seed chooses where a queue's round-robin starts (A57): the same seed, the same consumer;
// across seeds, either; without one, the first consumer.
func TestSeed_A57_RoundRobinStartFollowsTheSeed(t *testing.T) {
	assert.Equal(t, 0, firstConsumer(t, 0), "unseeded: the first consumer first")
	got := map[int]bool{}
	for s := uint64(1); s <= 16; s++ {
		first := firstConsumer(t, s)
		assert.Equal(t, first, firstConsumer(t, s), "seed %d chose differently twice", s)
		got[first] = true
	}
	assert.Len(t, got, 2, "some seeds start at each consumer")
}
