package exchange

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A consumer that reads one delivery and is pushed the next, as one acking each message under
// a prefetch limit is, never empties its buffer; the buffer must still stay the size of what
// it holds, not of everything it was ever pushed.
func TestConsumer_BufferThatNeverEmptiesStaysTheSizeOfWhatItHolds(t *testing.T) {
	const held, pushed = 10, 100_000
	c := &Consumer{notify: make(chan struct{}, 1), done: make(chan struct{})}
	for range held {
		c.push(&Delivery{})
	}
	for i := range pushed {
		d, err := c.Next(context.Background())
		require.NoError(t, err)
		require.NotNil(t, d)
		c.push(&Delivery{DeliveryTag: uint64(i)})
	}
	assert.Equal(t, held, len(c.buf)-c.head)
	assert.LessOrEqual(t, cap(c.buf), 4*held, "the buffer grew with the deliveries pushed")
}
