package pubsub_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/pubsub"
)

// TestHub_BadInputRefused is the hub's bad-input table: each row is a call Redis (or the
// hub's own options) refuses, the sentinel it must return, and a check that the hub's
// registrations and counters are what they were before the call.
func TestHub_BadInputRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		call func(h *pubsub.Hub, s *pubsub.Subscription) error
		want error
	}{
		// Redis: SUBSCRIBE, PSUBSCRIBE and SSUBSCRIBE need at least one argument
		// ("ERR wrong number of arguments for 'subscribe' command").
		{"subscribe nothing", func(_ *pubsub.Hub, s *pubsub.Subscription) error { _, err := s.Subscribe(); return err }, pubsub.ErrArity},
		{"psubscribe nothing", func(_ *pubsub.Hub, s *pubsub.Subscription) error { _, err := s.PSubscribe(); return err }, pubsub.ErrArity},
		{"ssubscribe nothing", func(_ *pubsub.Hub, s *pubsub.Subscription) error { _, err := s.SSubscribe(); return err }, pubsub.ErrArity},
		{"hub subscribe nothing", func(h *pubsub.Hub, _ *pubsub.Subscription) error { _, err := h.Subscribe(); return err }, pubsub.ErrArity},
		{"hub psubscribe nothing", func(h *pubsub.Hub, _ *pubsub.Subscription) error { _, err := h.PSubscribe(); return err }, pubsub.ErrArity},
		// Redis: SUNSUBSCRIBE with no argument leaves every shard channel, which is valid, so
		// only options and closed objects remain as bad input there.
		{"negative MaxMessages", newSubWith(pubsub.Limits{MaxMessages: -1}), pubsub.ErrInvalidOptions},
		{"MaxBytes below -1", newSubWith(pubsub.Limits{MaxBytes: -2}), pubsub.ErrInvalidOptions},
		{"SoftBytes below -1", newSubWith(pubsub.Limits{SoftBytes: -5}), pubsub.ErrInvalidOptions},
		{"negative SoftTime", newSubWith(pubsub.Limits{SoftTime: -1}), pubsub.ErrInvalidOptions},
		{"unknown policy", newSubWith(pubsub.Limits{Policy: pubsub.Block + 1}), pubsub.ErrInvalidOptions},
		{"closed subscription subscribes", func(_ *pubsub.Hub, s *pubsub.Subscription) error {
			require.NoError(t, s.Close())
			_, err := s.Subscribe("a")
			return err
		}, pubsub.ErrClosed},
		{"closed subscription reads", func(_ *pubsub.Hub, s *pubsub.Subscription) error {
			require.NoError(t, s.Close())
			_, err := s.Next(context.Background())
			return err
		}, pubsub.ErrClosed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHub(t, nil)
			other := sub(t, h)
			_, err := other.Subscribe("kept")
			require.NoError(t, err)
			_, err = other.PSubscribe("kept.*")
			require.NoError(t, err)
			s := sub(t, h)
			before := h.Stats()

			err = tc.call(h, s)
			require.ErrorIs(t, err, tc.want)

			after := h.Stats()
			if tc.name == "closed subscription subscribes" || tc.name == "closed subscription reads" {
				before.Subscriptions-- // the row's own Close
			}
			assert.Equal(t, before, after, "a refused call changes nothing")
			assert.Equal(t, 1, h.Publish("kept", []byte("x")), "the other subscriber is untouched")
		})
	}
	for _, opts := range []pubsub.Options{
		{Limits: pubsub.Limits{MaxMessages: -1}},
		{Limits: pubsub.Limits{Policy: 9}},
	} {
		_, err := pubsub.New(&opts)
		assert.ErrorIs(t, err, pubsub.ErrInvalidOptions)
	}
}

func newSubWith(l pubsub.Limits) func(*pubsub.Hub, *pubsub.Subscription) error {
	return func(h *pubsub.Hub, _ *pubsub.Subscription) error {
		_, err := h.NewSubscription(&pubsub.SubscriptionOptions{Limits: l})
		return err
	}
}

// TestHub_AcceptsWhatRedisAccepts lists inputs that look odd but that Redis 7 takes, so the
// hub takes them too: a zero-byte payload and a 1 MiB channel name (Redis bounds names only by
// proto-max-bulk-len, 512 MB). Empty and binary names are R26's test.
func TestHub_AcceptsWhatRedisAccepts(t *testing.T) {
	h := newHub(t, nil)
	s := sub(t, h)
	long := strings.Repeat("c", 1<<20)
	_, err := s.Subscribe(long, "empty")
	require.NoError(t, err)
	assert.Equal(t, 1, h.Publish("empty", nil))
	assert.Equal(t, 1, h.Publish(long, []byte("x")))
	got := drain(t, s)
	require.Len(t, got, 2)
	assert.Empty(t, got[0].Payload)
	assert.Equal(t, long, got[1].Channel)
}
