package tribus_test

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/tribusmq/tribus"
)

func TestAcker_SettlesOnce(t *testing.T) {
	var acks, nacks atomic.Int32
	var requeued atomic.Bool
	newAcker := func() tribus.Acker {
		return tribus.NewAcker(
			func() error { acks.Add(1); return nil },
			func(requeue bool) error { nacks.Add(1); requeued.Store(requeue); return nil })
	}

	a := newAcker()
	assert.NoError(t, a.Ack())
	assert.ErrorIs(t, a.Ack(), tribus.ErrAlreadySettled)
	assert.ErrorIs(t, a.Nack(true), tribus.ErrAlreadySettled)
	assert.Equal(t, int32(1), acks.Load())
	assert.Equal(t, int32(0), nacks.Load())

	n := newAcker()
	assert.NoError(t, n.Nack(true))
	assert.True(t, requeued.Load())
	assert.ErrorIs(t, n.Ack(), tribus.ErrAlreadySettled)
	assert.Equal(t, int32(1), acks.Load())
}

func TestAcker_ConcurrentSettleHasOneWinner(t *testing.T) {
	var calls atomic.Int32
	a := tribus.NewAcker(func() error { calls.Add(1); return nil }, func(bool) error { calls.Add(1); return nil })
	var wg sync.WaitGroup
	var wins atomic.Int32
	for i := range 16 {
		wg.Go(func() {
			var err error
			if i%2 == 0 {
				err = a.Ack()
			} else {
				err = a.Nack(false)
			}
			if err == nil {
				wins.Add(1)
			} else {
				assert.ErrorIs(t, err, tribus.ErrAlreadySettled)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(1), wins.Load())
	assert.Equal(t, int32(1), calls.Load())
}

func TestAcker_FirstErrorIsReturnedAndStillSettles(t *testing.T) {
	boom := errors.New("boom")
	a := tribus.NewAcker(func() error { return boom }, nil)
	assert.ErrorIs(t, a.Ack(), boom)
	assert.ErrorIs(t, a.Nack(false), tribus.ErrAlreadySettled)
	assert.NoError(t, tribus.NewAcker(nil, nil).Nack(true))
}

func TestGuarantee_String(t *testing.T) {
	for g, want := range map[tribus.Guarantee]string{
		tribus.AtMostOnce:      "at-most-once",
		tribus.AtLeastOnce:     "at-least-once",
		tribus.EffectivelyOnce: "effectively-once",
		tribus.Guarantee(0):    "Guarantee(0)",
	} {
		assert.Equal(t, want, g.String())
	}
}
