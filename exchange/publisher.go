package exchange

import (
	"context"
	"fmt"
	"sync"
)

// Publisher pipelines publishes on a session in confirm mode, like an AMQP client with many
// unconfirmed publishes in flight: Publish returns as soon as the message is routed and its
// store write is queued, and onConfirm is called for each publish, in publish order, once it
// is safe (persistent copies on disk). Concurrent publishers, pipelined publishes and acks all
// share the store's group commit, so one fsync confirms many messages.
//
// At most window publishes are unconfirmed at once; Publish waits for room. A Publisher is
// safe for concurrent use; Close it to wait for the last confirms.
//
// A Publisher from [Session.NewPipeline] pipelines the publishes of a session that is not in
// confirm mode, as an AMQP channel without confirms does: nothing is numbered or confirmed.
type Publisher struct {
	s         *Session
	confirms  bool // made by NewPublisher: publishes are numbered and confirmed
	onConfirm func(Confirmation)
	sem       chan struct{}      // one token per unconfirmed publish
	items     chan pendingReturn // to the confirmer, in publish order
	done      chan struct{}      // closed when the confirmer has exited
	closeOnce sync.Once
	mu        sync.Mutex // guards closed against Publish
	closed    bool
}

type pendingReturn struct {
	seq   uint64
	ack   bool
	waits []pendingWrite
	// exchange, key and messageID name the publish in its EventConfirmed, set only while
	// the router has an observer.
	exchange, key, messageID string
}

// NewPublisher puts the session in confirm mode and returns a Publisher with at most window
// unconfirmed publishes (window ≥ 1). onConfirm runs on the Publisher's own goroutine; it may
// be nil.
func (s *Session) NewPublisher(window int, onConfirm func(Confirmation)) (*Publisher, error) {
	if window < 1 {
		return nil, fmt.Errorf("%w: publisher window %d, want at least 1", ErrInvalidOptions, window)
	}
	if err := s.Confirm(); err != nil {
		return nil, err
	}
	return s.newPublisher(window, true, onConfirm), nil
}

// NewPipeline returns a Publisher for a session that is not in confirm mode, with at most
// window publishes (window ≥ 1) whose store writes are not yet done: Publish returns once a
// message is routed and its writes queued, without numbering it or waiting for the disk, and
// the session does not enter confirm mode. On a transactional session its publishes are held
// for the commit, as [Session.Publish]'s are. It is what a wire front door uses for a channel
// without confirms, so that a persistent publish does not hold the channel for an fsync.
func (s *Session) NewPipeline(window int) (*Publisher, error) {
	if window < 1 {
		return nil, fmt.Errorf("%w: pipeline window %d, want at least 1", ErrInvalidOptions, window)
	}
	if err := s.state(); err != nil {
		return nil, err
	}
	return s.newPublisher(window, false, nil), nil
}

func (s *Session) newPublisher(window int, confirms bool, onConfirm func(Confirmation)) *Publisher {
	p := &Publisher{s: s, confirms: confirms, onConfirm: onConfirm, sem: make(chan struct{}, window),
		items: make(chan pendingReturn, window), done: make(chan struct{})}
	go p.confirmer()
	return p
}

// Publish routes and enqueues msg like [Session.Publish] and returns its confirm number (0 from
// a pipeline) without waiting for the disk. A mandatory message that reaches no queue also returns a
// [*ReturnedError], before its confirmation is delivered (A17). It waits while window publishes
// are unconfirmed and while a memory or disk alarm is on (see [Session.Publish]), until ctx
// ends.
func (p *Publisher) Publish(ctx context.Context, exchange, key string, mandatory bool, msg Publishing) (uint64, error) {
	var drop bool
	if f := p.s.r.faults; f != nil && f.BeforePublish != nil {
		var err error
		if drop, err = f.BeforePublish(p.s, exchange, key, msg); err != nil {
			return 0, err
		}
	}
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	if err := p.s.r.admit(ctx); err != nil { // before p.mu: Close must not wait for an alarm
		<-p.sem
		return 0, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		<-p.sem
		return 0, ErrClosed
	}
	s := p.s
	s.pubMu.Lock()
	defer s.pubMu.Unlock()
	if err := s.state(); err != nil {
		<-p.sem
		return 0, err
	}
	if drop { // lost on its way: confirmed in its turn, routed nowhere
		var seq uint64
		if p.confirms {
			s.pubSeq++
			seq = s.pubSeq
		}
		p.items <- pendingReturn{seq: seq, ack: true}
		return seq, nil
	}
	if err := s.checkPublish(exchange, key, &msg); err != nil {
		<-p.sem
		return 0, s.fail(err)
	}
	if !p.confirms && s.txMode.Load() {
		<-p.sem // held for the commit, which routes it
		if err := s.r.checkTarget(exchange); err != nil {
			return 0, s.fail(err)
		}
		if s.txPublish(exchange, key, mandatory, msg) {
			return 0, nil
		}
	}
	queues, accepted, waits, err := s.r.publish(ctx, exchange, key, msg)
	if err != nil {
		<-p.sem
		return 0, s.fail(err)
	}
	var seq uint64
	if p.confirms {
		s.pubSeq++
		seq = s.pubSeq
	}
	var ret error
	if mandatory && queues == 0 {
		r := &ReturnedError{ReplyCode: 312, ReplyText: "NO_ROUTE", Exchange: exchange, RoutingKey: key, Message: msg}
		if s.r.observed() {
			s.r.emit(Event{Kind: EventReturned, Exchange: exchange, RoutingKey: key, MessageID: msg.MessageID})
		}
		if s.onReturn != nil {
			s.onReturn(r)
		}
		ret = r
	}
	it := pendingReturn{seq: seq, ack: accepted, waits: waits}
	if s.r.observed() {
		it.exchange, it.key, it.messageID = exchange, key, msg.MessageID
	}
	p.items <- it
	return seq, ret
}

// confirmer waits for each publish's store writes in order and reports its confirmation.
func (p *Publisher) confirmer() {
	defer close(p.done)
	for it := range p.items {
		ack := it.ack
		for _, w := range it.waits {
			if err := w.done(); err != nil {
				ack = false // not on disk: nack, as a broker does when it cannot store a message
			}
		}
		conf := Confirmation{DeliveryTag: it.seq, Ack: ack}
		p.s.r.emitConfirmed(conf, it.exchange, it.key, it.messageID)
		if p.onConfirm != nil {
			p.onConfirm(conf)
		}
		<-p.sem
	}
}

// Close waits until every publish has been confirmed and stops the Publisher; later Publish
// calls return ErrClosed. It does not close the session. Close is idempotent.
func (p *Publisher) Close() error {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		close(p.items)
		p.mu.Unlock()
	})
	<-p.done
	return nil
}
