package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// Each model's ordering promise, shown twice on one broker: a queue in publish order (A61),
// each partition in offset order with none across them (K3), a subscriber's channels in
// publish order.
func TestDemo_OrderingStory(t *testing.T) {
	_, outs := tellTwice(t, demoOrdering)
	for _, want := range []string{
		"queue ordering.q: published m1..m5, one consumer receives m1 m2 m3 m4 m5\n",
		"topic ordering.t: produced a1 b1 a2 b2 a3 b3, key a to partition 0 and key b to partition 1\n" +
			"  one consumer of both partitions reads a1 a2 a3 b1 b2 b3\n",
		"one subscriber of both receives x1 y1 x2 y2\n",
	} {
		assert.Contains(t, outs[0], want)
	}
	assert.Equal(t, outs[0], outs[1], "a second run on the same broker tells the same story")
}
