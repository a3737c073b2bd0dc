package pubsub_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/internal/sentinel"
	"github.com/tribusmq/tribus/pubsub"
)

func TestHub_NilAndClosedReturnErrClosed(t *testing.T) {
	var nilHub *pubsub.Hub
	_, err := nilHub.PublishContext(context.Background(), "x", nil)
	assert.ErrorIs(t, err, pubsub.ErrClosed)
	assert.Equal(t, 0, nilHub.Publish("x", nil))
	_, err = nilHub.Subscribe("x")
	assert.ErrorIs(t, err, pubsub.ErrClosed)
	assert.NoError(t, nilHub.Close())

	h, err := pubsub.New(nil)
	require.NoError(t, err)
	s := sub(t, h)
	must(s.Subscribe("x"))
	require.NoError(t, h.Close())
	require.NoError(t, h.Close(), "Close is idempotent")

	assert.Equal(t, 0, h.Publish("x", nil))
	_, err = h.PublishContext(context.Background(), "x", nil)
	assert.ErrorIs(t, err, pubsub.ErrClosed)
	assert.True(t, errors.Is(err, sentinel.ErrClosed), "the root ErrClosed matches too")
	_, err = h.SPublishContext(context.Background(), "x", nil)
	assert.ErrorIs(t, err, pubsub.ErrClosed)
	_, err = h.Subscribe("x")
	assert.ErrorIs(t, err, pubsub.ErrClosed)
	_, err = h.Channels()
	assert.ErrorIs(t, err, pubsub.ErrClosed)
	_, err = h.NumSub("x")
	assert.ErrorIs(t, err, pubsub.ErrClosed)
	_, err = h.NumPat()
	assert.ErrorIs(t, err, pubsub.ErrClosed)
	_, err = s.Next(context.Background())
	assert.ErrorIs(t, err, pubsub.ErrClosed)
	_, err = s.Subscribe("y")
	assert.ErrorIs(t, err, pubsub.ErrClosed)
}

func TestSubscription_CloseEndsNextAndDiscards(t *testing.T) {
	h := newHub(t, nil)
	s := sub(t, h)
	must(s.Subscribe("x"))
	h.Publish("x", nil)
	require.NoError(t, s.Close())
	require.NoError(t, s.Close())
	_, err := s.Next(context.Background())
	assert.ErrorIs(t, err, pubsub.ErrClosed)
	assert.Equal(t, 0, h.Publish("x", nil))
	assert.Equal(t, 0, h.Stats().Subscriptions)
}

func TestSubscription_NextWaitsAndHonoursContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHub(t, nil)
		s := sub(t, h)
		must(s.Subscribe("x"))
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, err := s.Next(ctx)
		assert.ErrorIs(t, err, context.DeadlineExceeded)

		got := make(chan pubsub.Message)
		go func() {
			m, err := s.Next(context.Background())
			assert.NoError(t, err)
			got <- m
		}()
		synctest.Wait() // the reader is parked
		h.Publish("x", []byte("hi"))
		assert.Equal(t, "hi", string((<-got).Payload))
	})
}

func TestSubscription_CloseWakesParkedReader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHub(t, nil)
		s := sub(t, h)
		must(s.Subscribe("x"))
		errc := make(chan error)
		go func() {
			_, err := s.Next(context.Background())
			errc <- err
		}()
		synctest.Wait()
		h.Close()
		assert.ErrorIs(t, <-errc, pubsub.ErrClosed)
	})
}

func TestSubscription_AllIterates(t *testing.T) {
	h := newHub(t, nil)
	s := sub(t, h)
	must(s.Subscribe("x"))
	for i := range 3 {
		h.Publish("x", []byte{byte(i)})
	}
	var got []byte
	for m, err := range s.All(context.Background()) {
		require.NoError(t, err)
		got = append(got, m.Payload[0])
		if len(got) == 3 {
			break
		}
	}
	assert.Equal(t, []byte{0, 1, 2}, got)
	s.Close()
	for _, err := range s.All(context.Background()) {
		assert.ErrorIs(t, err, pubsub.ErrClosed)
	}
}

func TestSubscribe_RegisteredWhenCallReturns(t *testing.T) {
	h := newHub(t, nil)
	for i := range 200 {
		s, err := h.PSubscribe("p.*")
		require.NoError(t, err)
		require.Equal(t, 1, h.Publish("p.x", []byte{byte(i)}), "round %d", i)
		require.NoError(t, s.Close())
	}
}

func TestHub_ConcurrentPublishSubscribe(t *testing.T) {
	h := newHub(t, &pubsub.Options{Limits: pubsub.Limits{MaxBytes: -1, SoftBytes: -1}})
	const publishers, perPublisher = 4, 500
	readers := make([]*pubsub.Subscription, 4)
	for i := range readers {
		readers[i] = sub(t, h)
		must(readers[i].Subscribe("c"))
		must(readers[i].PSubscribe("c*"))
	}
	var wg sync.WaitGroup
	var total sync.Map
	for p := range publishers {
		wg.Go(func() {
			n := 0
			for i := range perPublisher {
				n += h.Publish("c", []byte{byte(p), byte(i)})
			}
			total.Store(p, n)
		})
	}
	// Churn other registrations while publishing.
	wg.Go(func() {
		for range 200 {
			s, err := h.Subscribe("other")
			if assert.NoError(t, err) {
				must(s.PSubscribe("o*"))
				s.Close()
			}
		}
	})
	wg.Wait()
	sum := 0
	total.Range(func(_, v any) bool { sum += v.(int); return true })
	assert.Equal(t, publishers*perPublisher*8, sum)
	for _, r := range readers {
		got := drain(t, r)
		assert.Len(t, got, publishers*perPublisher*2)
		last := map[byte]int{}
		for _, m := range got {
			if m.Kind != pubsub.KindMessage {
				continue
			}
			i := int(m.Payload[1])
			if prev, ok := last[m.Payload[0]]; ok && i != (prev+1)%256 {
				t.Fatalf("publisher %d: %d after %d", m.Payload[0], i, prev)
			}
			last[m.Payload[0]] = i
		}
	}
	st := h.Stats()
	assert.Equal(t, uint64(publishers*perPublisher), st.Published)
	assert.Equal(t, uint64(sum), st.Delivered)
}

func TestHub_Stats(t *testing.T) {
	h := newHub(t, nil)
	a := sub(t, h)
	must(a.Subscribe("x", "y"))
	must(a.PSubscribe("p*"))
	must(a.SSubscribe("s"))
	b := sub(t, h)
	must(b.PSubscribe("p*"))
	h.Publish("x", nil)
	h.Publish("nobody", nil)
	h.SPublish("s", nil)
	assert.Equal(t, pubsub.Stats{Published: 3, Delivered: 2, Subscriptions: 2, Channels: 2, Patterns: 1, ShardChannels: 1}, h.Stats())
}

func TestKind_String(t *testing.T) {
	assert.Equal(t, "pmessage", pubsub.KindPMessage.String())
	assert.Equal(t, "sunsubscribe", pubsub.KindSUnsubscribe.String())
	assert.Equal(t, "Kind(99)", pubsub.Kind(99).String())
	assert.Equal(t, "drop-oldest", pubsub.DropOldest.String())
}

func TestSubscription_TryNextAndWaitLeaveTheMessage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHub(t, nil)
		s := sub(t, h)
		must(s.Subscribe("x"))
		_, ok, err := s.TryNext()
		require.NoError(t, err)
		assert.False(t, ok, "nothing buffered: TryNext does not wait")

		woke := make(chan error)
		go func() { woke <- s.Wait(context.Background()) }()
		synctest.Wait() // parked in Wait
		h.Publish("x", []byte("a"))
		h.Publish("x", []byte("b"))
		require.NoError(t, <-woke)
		require.NoError(t, s.Wait(context.Background()), "Wait reads nothing: the messages are still there")
		for _, want := range []string{"a", "b"} {
			m, ok, err := s.TryNext()
			require.NoError(t, err)
			require.True(t, ok)
			assert.Equal(t, want, string(m.Payload))
		}
		_, ok, _ = s.TryNext()
		assert.False(t, ok)

		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		assert.ErrorIs(t, s.Wait(ctx), context.DeadlineExceeded)
		s.Close()
		assert.ErrorIs(t, s.Wait(context.Background()), pubsub.ErrClosed)
		_, _, err = s.TryNext()
		assert.ErrorIs(t, err, pubsub.ErrClosed)
	})
}

func TestSubscription_OnDisconnectIsCalledOnceWhenCutOff(t *testing.T) {
	h := newHub(t, nil)
	var calls []error
	s, err := h.NewSubscription(&pubsub.SubscriptionOptions{
		Limits:       pubsub.Limits{MaxMessages: 1},
		OnDisconnect: func(err error) { calls = append(calls, err) },
	})
	require.NoError(t, err)
	must(s.Subscribe("x"))
	h.Publish("x", nil)
	assert.Empty(t, calls)
	h.Publish("x", nil)
	h.Publish("x", nil)
	require.Len(t, calls, 1)
	assert.ErrorIs(t, calls[0], pubsub.ErrSlowSubscriber)
	s.Close()
	assert.Len(t, calls, 1, "Close does not call it")
	// Reference: R24
}

func TestSubscription_CountsByKind(t *testing.T) {
	h := newHub(t, nil)
	s := sub(t, h)
	must(s.Subscribe("a", "b"))
	must(s.PSubscribe("p*"))
	must(s.SSubscribe("s"))
	ch, pat, shard := s.Counts()
	assert.Equal(t, []int{2, 1, 1}, []int{ch, pat, shard})
}
