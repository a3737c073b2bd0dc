package pubsub_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/pubsub"
)

func limited(t *testing.T, h *pubsub.Hub, lim pubsub.Limits) *pubsub.Subscription {
	t.Helper()
	s, err := h.NewSubscription(&pubsub.SubscriptionOptions{Limits: lim})
	require.NoError(t, err)
	must(s.Subscribe("ch"))
	return s
}

func TestSlow_R24_OverHardLimitIsDisconnected(t *testing.T) {
	h := newHub(t, nil)
	slow := limited(t, h, pubsub.Limits{MaxMessages: 3})
	fast := sub(t, h)
	must(fast.Subscribe("ch"))
	for range 3 {
		assert.Equal(t, 2, h.Publish("ch", []byte("m")))
	}
	// The fourth goes over: the publisher is told 2 (Redis counts the receiver before it
	// kills it), never blocks and gets no error.
	assert.Equal(t, 2, h.Publish("ch", []byte("m")))
	assert.Equal(t, 1, h.Publish("ch", []byte("m")), "a disconnected subscriber is no longer counted")

	_, err := slow.Next(context.Background())
	assert.ErrorIs(t, err, pubsub.ErrSlowSubscriber, "its buffered messages are lost")
	assert.ErrorIs(t, slow.Err(), pubsub.ErrSlowSubscriber)
	_, err = slow.Subscribe("other")
	assert.ErrorIs(t, err, pubsub.ErrSlowSubscriber)
	assert.Len(t, drain(t, fast), 5)

	st := h.Stats()
	assert.Equal(t, uint64(1), st.Disconnects)
	assert.Equal(t, uint64(4), st.DroppedSlow)
	assert.Equal(t, []pubsub.ChannelCount{{"ch", 1}}, must(h.NumSub("ch")))
	// Reference: R24, redis.conf client-output-buffer-limit
}

func TestSlow_R24_HardByteLimitCountsRESPFrames(t *testing.T) {
	h := newHub(t, nil)
	// "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$10\r\n0123456789\r\n" is 4+13+8+17 = 42 bytes.
	s := limited(t, h, pubsub.Limits{MaxBytes: 84})
	h.Publish("ch", []byte("0123456789"))
	h.Publish("ch", []byte("0123456789"))
	require.NoError(t, s.Err(), "exactly at the limit is allowed")
	h.Publish("ch", []byte("0123456789"))
	assert.ErrorIs(t, s.Err(), pubsub.ErrSlowSubscriber)
}

func TestSlow_R24_SoftLimitHeldForSoftTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHub(t, nil)
		// Each frame is 42 bytes; the soft limit is crossed by the second message.
		s := limited(t, h, pubsub.Limits{SoftBytes: 50, SoftTime: 60 * time.Second})
		h.Publish("ch", []byte("0123456789"))
		h.Publish("ch", []byte("0123456789")) // over the soft limit from now
		time.Sleep(59 * time.Second)
		h.Publish("ch", []byte("0123456789"))
		require.NoError(t, s.Err(), "59 s over the soft limit is allowed")
		time.Sleep(time.Second)
		h.Publish("ch", []byte("0123456789"))
		assert.ErrorIs(t, s.Err(), pubsub.ErrSlowSubscriber, "60 s over the soft limit is not")
	})
}

func TestSlow_R24_SoftLimitResetsWhenDrained(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHub(t, nil)
		s := limited(t, h, pubsub.Limits{SoftBytes: 50, SoftTime: 60 * time.Second})
		h.Publish("ch", []byte("0123456789"))
		h.Publish("ch", []byte("0123456789"))
		time.Sleep(59 * time.Second)
		drain(t, s) // the reader catches up: the clock starts again
		h.Publish("ch", []byte("0123456789"))
		h.Publish("ch", []byte("0123456789"))
		time.Sleep(30 * time.Second)
		h.Publish("ch", []byte("0123456789"))
		assert.NoError(t, s.Err())
	})
}

func TestSlow_DropOldestKeepsNewest(t *testing.T) {
	h := newHub(t, nil)
	s := limited(t, h, pubsub.Limits{MaxMessages: 2, Policy: pubsub.DropOldest})
	for i := range 5 {
		assert.Equal(t, 1, h.Publish("ch", []byte{byte(i)}))
	}
	got := drain(t, s)
	require.Len(t, got, 2)
	assert.Equal(t, []byte{3}, got[0].Payload)
	assert.Equal(t, []byte{4}, got[1].Payload)
	assert.Equal(t, uint64(3), h.Stats().DroppedOldest)
	assert.NoError(t, s.Err())
}

func TestSlow_BlockWaitsForRoom(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHub(t, nil)
		s := limited(t, h, pubsub.Limits{MaxMessages: 1, Policy: pubsub.Block})
		h.Publish("ch", []byte{0})
		done := make(chan int)
		go func() { done <- h.Publish("ch", []byte{1}) }()
		synctest.Wait()
		select {
		case <-done:
			t.Fatal("publish did not wait for room")
		default:
		}
		m, err := s.Next(context.Background())
		require.NoError(t, err)
		assert.Equal(t, []byte{0}, m.Payload)
		assert.Equal(t, 1, <-done)
		m, err = s.Next(context.Background())
		require.NoError(t, err)
		assert.Equal(t, []byte{1}, m.Payload)
	})
}

func TestSlow_BlockPublisherContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHub(t, nil)
		limited(t, h, pubsub.Limits{MaxMessages: 1, Policy: pubsub.Block})
		h.Publish("ch", nil)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		n, err := h.PublishContext(ctx, "ch", nil)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, 0, n)
	})
}

func TestSlow_BlockReleasedByClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHub(t, nil)
		s := limited(t, h, pubsub.Limits{MaxMessages: 1, Policy: pubsub.Block})
		h.Publish("ch", nil)
		done := make(chan int)
		go func() { done <- h.Publish("ch", nil) }()
		synctest.Wait()
		s.Close()
		assert.Equal(t, 0, <-done, "a subscription that closed while the publisher waited did not receive it")
	})
}

func TestLimits_Invalid(t *testing.T) {
	for _, lim := range []pubsub.Limits{
		{MaxMessages: -1},
		{MaxBytes: -2},
		{SoftBytes: -5},
		{SoftTime: -time.Second},
		{Policy: 9},
	} {
		_, err := pubsub.New(&pubsub.Options{Limits: lim})
		assert.ErrorIs(t, err, pubsub.ErrInvalidOptions, "%+v", lim)
	}
	h := newHub(t, nil)
	_, err := h.NewSubscription(&pubsub.SubscriptionOptions{Limits: pubsub.Limits{MaxMessages: -1}})
	assert.ErrorIs(t, err, pubsub.ErrInvalidOptions)
}
