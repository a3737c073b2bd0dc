package exchange

import "fmt"

// ReplyToQueue is the pseudo-queue of RabbitMQ's direct reply-to, the RPC pattern of its
// tutorial 6 without a reply queue per client. A client consumes from it with AutoAck on the
// session it sends requests from, and sets a request's ReplyTo to ReplyToQueue; the session
// rewrites that to a name of the form ReplyToQueue+".<token>", and a reply published to the
// default exchange with that routing key, from any session, goes to the reply consumer.
//
// As in RabbitMQ: consuming from it without AutoAck is 406 ("reply consumer cannot
// acknowledge"), as is a second reply consumer on the session; publishing with ReplyTo set to
// it on a session without a reply consumer is 406 ("fast reply consumer does not exist"); a
// passive queue.declare of it succeeds; a reply to a consumer that is gone is unroutable, and
// returned when mandatory.
//
// The reply consumer is fed by a hidden queue owned by its connection: exclusive, transient,
// deleted when the consumer is cancelled or its session closes, and not listed by
// [Router.Queues].
const ReplyToQueue = "amq.rabbitmq.reply-to"

// consumeReplyTo checks a basic.consume of ReplyToQueue and declares the hidden queue that
// will feed the reply consumer, returning its name.
func (s *Session) consumeReplyTo(o *ConsumeOptions) (string, error) {
	if !o.AutoAck {
		return "", fmt.Errorf("%w: reply consumer cannot acknowledge", ErrPreconditionFailed)
	}
	s.mu.Lock()
	busy := s.reply != nil && s.consumers[s.reply.tag] == s.reply
	s.mu.Unlock()
	if busy {
		return "", fmt.Errorf("%w: reply consumer already set", ErrPreconditionFailed)
	}
	name := ReplyToQueue + "." + s.r.randomID()
	if _, err := s.r.declareReplyQueue(s, name); err != nil {
		return "", err
	}
	return name, nil
}

// declareReplyQueue declares the hidden queue of a reply consumer on s's connection.
func (r *Router) declareReplyQueue(s *Session, name string) (*queue, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.isClosed() {
		return nil, ErrClosed
	}
	o := QueueOptions{Exclusive: true, AutoDelete: true}
	cfg, err := parseQueueArgs(ReplyToQueue, nil)
	if err != nil {
		return nil, err
	}
	q := newQueue(r, name, o, nil, cfg)
	q.reply = true
	if err := s.conn.ownQueue(q); err != nil {
		return nil, err
	}
	r.queues[name] = q
	if r.observed() {
		r.emit(Event{Kind: EventQueueDeclared, Queue: name})
	}
	return q, nil
}

// replyAddress is the ReplyTo a request published on s carries instead of ReplyToQueue: the
// name of the hidden queue of s's reply consumer.
func (s *Session) replyAddress() (string, error) {
	s.mu.Lock()
	c := s.reply
	live := c != nil && s.consumers[c.tag] == c
	s.mu.Unlock()
	if !live {
		return "", fmt.Errorf("%w: fast reply consumer does not exist", ErrPreconditionFailed)
	}
	return c.q.name, nil
}

// dropReplyQueue deletes the hidden queue of a reply consumer that failed to start.
func (s *Session) dropReplyQueue(q *queue, reply bool) {
	if reply {
		s.r.removeQueueIf(q, func() bool { return true })
	}
}
