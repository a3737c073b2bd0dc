package tribus

import (
	"fmt"

	"github.com/tribusmq/tribus/internal/settle"
)

// Acker is the settlement contract every engine's deliveries keep: a consumer tells the broker
// it has processed a message (Ack) or has not (Nack). Settling is once-only: a second Ack or
// Nack returns [ErrAlreadySettled] and changes nothing. Implementations are safe to call from
// any goroutine and never panic.
type Acker interface {
	// Ack settles the delivery as processed; the broker forgets it.
	Ack() error
	// Nack settles the delivery as not processed. With requeue the broker delivers it again
	// (redelivered); without, it dead-letters or discards it, per the engine's rules.
	Nack(requeue bool) error
}

// NewAcker returns an [Acker] that calls ack or nack for the first settlement only and returns
// [ErrAlreadySettled] for every later one. It adapts a message source of your own to the
// contract; the engines' deliveries keep it themselves. A nil func settles without doing
// anything.
func NewAcker(ack func() error, nack func(requeue bool) error) Acker {
	return &funcAcker{ack: ack, nack: nack}
}

type funcAcker struct {
	once settle.Once
	ack  func() error
	nack func(requeue bool) error
}

func (a *funcAcker) Ack() error {
	return a.once.Do(func() error {
		if a.ack == nil {
			return nil
		}
		return a.ack()
	})
}

func (a *funcAcker) Nack(requeue bool) error {
	return a.once.Do(func() error {
		if a.nack == nil {
			return nil
		}
		return a.nack(requeue)
	})
}

// Guarantee names a delivery guarantee: how many times a published message can reach a
// consumer's processing when things fail.
type Guarantee uint8

const (
	// AtMostOnce: a message is processed once or never. Nothing is redelivered; a message
	// sent while nobody listens, or to a consumer that crashes, is gone (Redis Pub/Sub).
	AtMostOnce Guarantee = iota + 1
	// AtLeastOnce: a message is processed once or more. What is not acknowledged is delivered
	// again, so consumers must tolerate duplicates (RabbitMQ with acks, Kafka with commits).
	AtLeastOnce
	// EffectivelyOnce: the effects of processing are applied exactly once, though delivery may
	// repeat: reads, writes and offset commits go in one transaction (Kafka transactions).
	EffectivelyOnce
)

// String returns the guarantee's usual name, such as "at-least-once".
func (g Guarantee) String() string {
	switch g {
	case AtMostOnce:
		return "at-most-once"
	case AtLeastOnce:
		return "at-least-once"
	case EffectivelyOnce:
		return "effectively-once"
	}
	return fmt.Sprintf("Guarantee(%d)", uint8(g))
}
