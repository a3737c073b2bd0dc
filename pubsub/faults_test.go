package pubsub_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/pubsub"
)

// A dropped publish reaches nobody and counts no receiver; a subscriber the hook cuts off
// ends as a slow one does, and the message it was cut off at still counts (R24).
func TestFaults_DropAndDisconnect(t *testing.T) {
	var drop bool
	var cut *pubsub.Subscription
	h, err := pubsub.New(&pubsub.Options{Faults: &pubsub.Faults{
		BeforePublish: func(string, []byte) bool { return drop },
		BeforeDeliver: func(s *pubsub.Subscription, _ pubsub.Message) bool { return s == cut },
	}})
	require.NoError(t, err)
	defer h.Close()
	a, err := h.Subscribe("news")
	require.NoError(t, err)
	b, err := h.Subscribe("news")
	require.NoError(t, err)

	drop = true
	assert.Equal(t, 0, h.Publish("news", []byte("lost")))
	assert.Equal(t, 0, h.SPublish("news", []byte("lost")))
	drop, cut = false, b
	assert.Equal(t, 2, h.Publish("news", []byte("m")))
	m, err := a.Next(t.Context())
	require.NoError(t, err)
	assert.Equal(t, "m", string(m.Payload), "the dropped message never arrived")
	_, err = b.Next(t.Context())
	assert.ErrorIs(t, err, pubsub.ErrSlowSubscriber)
	counts, err := h.NumSub("news")
	require.NoError(t, err)
	assert.Equal(t, 1, counts[0].Subscribers)
}
