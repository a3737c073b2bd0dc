// Package settle is the once-only settlement state every engine's delivery embeds, so that
// acking or nacking twice returns ErrAlreadySettled from any goroutine and never panics.
package settle

import (
	"sync/atomic"

	"github.com/tribusmq/tribus/internal/sentinel"
)

// Once records whether a delivery has been settled. The zero value is unsettled. It is safe
// for concurrent use.
type Once struct {
	done atomic.Bool
}

// Do runs fn if this is the first settlement and returns its error; every later call returns
// sentinel.ErrAlreadySettled without running fn. The first caller claims the settlement even
// if fn fails: a failed ack cannot be retried on a delivery, as in AMQP, where the failure
// closes the channel and the broker requeues the message itself.
func (o *Once) Do(fn func() error) error {
	if !o.done.CompareAndSwap(false, true) {
		return sentinel.ErrAlreadySettled
	}
	return fn()
}

// Settled reports whether Do has been called.
func (o *Once) Settled() bool { return o.done.Load() }
