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

// generatedNames returns the names a router with seed generates for a server-named queue and
// the tags of two consumers of it and of a direct reply-to consumer (whose hidden queue's
// name is generated between them).
func generatedNames(t *testing.T, seed uint64) []string {
	t.Helper()
	r, err := exchange.New(&exchange.Options{Seed: seed})
	require.NoError(t, err)
	defer r.Close()
	s, err := r.NewSession()
	require.NoError(t, err)
	q, err := s.QueueDeclare("", exchange.QueueOptions{Exclusive: true})
	require.NoError(t, err)
	names := []string{q.Name}
	for _, o := range []struct {
		queue string
		auto  bool
	}{{q.Name, false}, {q.Name, false}, {exchange.ReplyToQueue, true}} {
		c, err := s.Consume(o.queue, exchange.ConsumeOptions{AutoAck: o.auto})
		require.NoError(t, err)
		names = append(names, c.Tag())
	}
	return names
}

// A seed makes the generated names repeat from run to run, so that a seeded run's trace
// repeats exactly; without one they are random. Either way they are unique.
func TestSeed_GeneratedNamesFollowTheSeed(t *testing.T) {
	a := generatedNames(t, 7)
	assert.Equal(t, a, generatedNames(t, 7), "the same seed, the same names")
	assert.NotEqual(t, a, generatedNames(t, 8))
	assert.NotEqual(t, generatedNames(t, 0), generatedNames(t, 0), "unseeded names are random")
	seen := map[string]bool{}
	for _, n := range a {
		assert.False(t, seen[n], "%s generated twice", n)
		seen[n] = true
	}
}
