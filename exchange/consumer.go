package exchange

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"
	"time"
)

// ErrConsumerCancelled is returned by [Consumer.Next] once the consumer has been cancelled, by
// [Consumer.Cancel] or by the server because its queue was deleted, and every delivery pushed
// before that has been read.
var ErrConsumerCancelled = errors.New("tribus/exchange: consumer cancelled")

// ErrCancelledByServer, which wraps ErrConsumerCancelled, is what [Consumer.Next] returns for
// a consumer the server cancelled because its queue was deleted: what RabbitMQ tells a client
// with the consumer_cancel_notify capability by sending it basic.cancel. The consumer's tag is
// free for reuse on its session from then on.
var ErrCancelledByServer = fmt.Errorf("%w by the server: queue deleted", ErrConsumerCancelled)

// ConsumeOptions are the flags and arguments of basic.consume.
type ConsumeOptions struct {
	// Tag names the consumer within its session; "" makes a unique amq.ctag- name.
	Tag string
	// AutoAck (no-ack) settles every message as it is delivered: it is never redelivered (A53)
	// and prefetch does not apply.
	AutoAck bool
	// Exclusive succeeds only on a queue with no consumer and keeps others out (A59).
	Exclusive bool
	// Prefetch is the most unacked deliveries this consumer holds (A54); 0 uses the session's
	// [Session.Qos] per-consumer setting, which defaults to unlimited.
	Prefetch int
	// Priority is the consumer priority (the x-priority argument): higher-priority consumers
	// with room get messages first; equal ones share round-robin.
	Priority int
	Args     Table
}

// Consumer receives the deliveries a queue pushes to it, in queue order. Read them with Next
// or All. It is safe for concurrent use.
type Consumer struct {
	s         *Session
	q         *queue
	tag       string
	autoAck   bool
	exclusive bool
	prefetch  int
	priority  int

	inflight int // unacked deliveries it holds; guarded by q.mu

	// mu guards the buffer of deliveries pushed and not yet read. A leaf lock.
	mu      sync.Mutex
	buf     []*Delivery
	head    int
	starved bool // an auto-ack consumer refused a delivery with autoAckWindow unread
	waiting bool
	notify  chan struct{}
	done    chan struct{}
	err     error
}

// Tag returns the consumer tag.
func (c *Consumer) Tag() string { return c.tag }

// Queue returns the name of the queue consumed from ([ReplyToQueue] for a reply consumer).
func (c *Consumer) Queue() string {
	if c.q.reply {
		return ReplyToQueue
	}
	return c.q.name
}

// autoAckWindow bounds the deliveries an auto-ack consumer holds unread, which no prefetch
// limits: beyond it the queue keeps its messages until the reader catches up, as RabbitMQ's
// queues stop at 200 deliveries unsent to a channel, so that a consumer that reads slowly
// (a wire client that stopped reading) never makes the broker buffer its whole backlog.
const autoAckWindow = 200

func (c *Consumer) hasRoomLocked() bool {
	if c.autoAck {
		return c.autoAckRoom()
	}
	return (c.prefetch == 0 || c.inflight < c.prefetch) && c.s.hasRoom()
}

// autoAckRoom reports whether an auto-ack consumer may take another delivery, noting when it
// may not so that Next resumes the queue. Called with q.mu held.
func (c *Consumer) autoAckRoom() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.buf)-c.head < autoAckWindow {
		return true
	}
	c.starved = true
	return false
}

// reserveLocked takes room for one delivery, including a slot of the session-wide prefetch.
func (c *Consumer) reserveLocked() bool {
	if c.autoAck {
		return c.autoAckRoom()
	}
	if c.prefetch != 0 && c.inflight >= c.prefetch {
		return false
	}
	return c.s.reserve()
}

// push appends a delivery for Next. Called with q.mu held.
func (c *Consumer) push(d *Delivery) {
	c.mu.Lock()
	if len(c.buf) == cap(c.buf) && c.head >= len(c.buf)/2 {
		// Move the unread deliveries down over the read ones rather than grow the buffer: a
		// consumer whose every read lets one more delivery in never empties it, and would
		// otherwise grow it by a slot per delivery for as long as it consumes.
		n := copy(c.buf, c.buf[c.head:])
		clear(c.buf[n:])
		c.buf, c.head = c.buf[:n], 0
	}
	c.buf = append(c.buf, d)
	wake := c.waiting
	c.waiting = false
	c.mu.Unlock()
	if wake {
		select {
		case c.notify <- struct{}{}:
		default:
		}
	}
}

// end stops the consumer with err. Deliveries already pushed stay readable unless discard is
// set (their session closed and requeued them).
func (c *Consumer) end(err error) { c.endWith(err, false) }

func (c *Consumer) endWith(err error, discard bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Auto-ack deliveries left in the buffer stop counting against the memory high watermark:
	// nothing may ever read them.
	var held int64
	for _, d := range c.buf[c.head:] {
		held += d.held
		d.held = 0
	}
	if held != 0 {
		c.q.r.subHeld(held)
	}
	if discard {
		clear(c.buf)
		c.buf, c.head = nil, 0
	}
	if c.err != nil {
		return
	}
	c.err = err
	close(c.done)
}

// Next returns the next delivery, waiting until one arrives or ctx ends. After the consumer is
// cancelled it returns what had been pushed, then [ErrConsumerCancelled] (as
// [ErrCancelledByServer] when its queue was deleted); after its session closed, the session's
// error.
func (c *Consumer) Next(ctx context.Context) (*Delivery, error) {
	for {
		c.mu.Lock()
		if c.head < len(c.buf) && !c.buf[c.head].visibleAt.IsZero() {
			if wait := time.Until(c.buf[c.head].visibleAt); wait > 0 { // a delayed delivery (Faults)
				c.mu.Unlock()
				if err := c.waitDelayed(ctx, wait); err != nil {
					return nil, err
				}
				continue
			}
		}
		if c.head < len(c.buf) {
			d := c.buf[c.head]
			c.buf[c.head] = nil
			c.head++
			if c.head == len(c.buf) {
				c.buf, c.head = c.buf[:0], 0
			}
			held := d.held
			d.held = 0
			resume := c.starved && len(c.buf)-c.head <= autoAckWindow/2
			if resume {
				c.starved = false
			}
			c.mu.Unlock()
			if held != 0 {
				c.q.r.subHeld(held)
			}
			if resume {
				c.q.resume()
			}
			return d, nil
		}
		if c.err != nil {
			err := c.err
			c.mu.Unlock()
			return nil, err
		}
		c.waiting = true
		c.mu.Unlock()
		select {
		case <-c.notify:
		case <-c.done:
		case <-ctx.Done():
			c.mu.Lock()
			c.waiting = false
			c.mu.Unlock()
			return nil, ctx.Err()
		}
	}
}

// waitDelayed waits out the delay of the delivery at the head of the buffer, or ctx.
func (c *Consumer) waitDelayed(ctx context.Context, wait time.Duration) error {
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C: // even if the consumer ended meanwhile: what was on its way still arrives
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// All iterates over the deliveries; it ends after yielding the first error.
func (c *Consumer) All(ctx context.Context) iter.Seq2[*Delivery, error] {
	return func(yield func(*Delivery, error) bool) {
		for {
			d, err := c.Next(ctx)
			if !yield(d, err) || err != nil {
				return
			}
		}
	}
}

// Cancel is basic.cancel: the queue stops pushing to the consumer. Deliveries already pushed
// stay unacked until settled or their session closes (A52); Next still returns them. An
// auto-delete queue whose last consumer this was is deleted (A23). Cancelling twice is a no-op.
func (c *Consumer) Cancel() error {
	if !c.s.forgetConsumer(c) {
		return nil
	}
	c.detach(ReasonCancel)
	c.end(ErrConsumerCancelled)
	return nil
}

// detach removes c from its queue, for reason (an [EventConsumerCancelled] reason), and
// auto-deletes the queue if that was its last consumer.
func (c *Consumer) detach(reason string) {
	var now time.Time
	autoDelete, out := c.q.removeConsumer(c, reason, now)
	c.s.r.deadLetter(out, now)
	if autoDelete {
		q := c.q
		c.s.r.removeQueueIf(q, func() bool { return len(q.consumers) == 0 })
	}
}
