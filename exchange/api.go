package exchange

import "context"

// ExchangeDeclare is exchange.declare. Declaring an existing exchange with the same type and
// flags is a no-op; with different ones it is ErrPreconditionFailed (A20). Names starting with
// "amq." are reserved (ErrAccessRefused, A11); an unknown type is ErrCommandInvalid.
func (s *Session) ExchangeDeclare(name string, kind Kind, o ExchangeOptions) error {
	return s.do(func() error { return s.r.declareExchange(name, kind, o) })
}

// ExchangeDelete is exchange.delete; with ifUnused it fails (ErrPreconditionFailed) while the
// exchange has bindings as a source. The default and amq.* exchanges cannot be deleted.
func (s *Session) ExchangeDelete(name string, ifUnused bool) error {
	return s.do(func() error { return s.r.deleteExchange(name, ifUnused) })
}

// QueueDeclare is queue.declare. An empty name makes a server-named queue (A21); the returned
// QueueInfo names it and counts ready messages only (A24). Redeclaring with equal flags and
// arguments is a no-op, with different ones ErrPreconditionFailed (A20). An exclusive queue of
// another connection, or a redeclaration whose exclusive flag differs from the queue's, is
// ErrResourceLocked, checked before the other flags (A22, §1.3b).
func (s *Session) QueueDeclare(name string, o QueueOptions) (QueueInfo, error) {
	var info QueueInfo
	err := s.do(func() (err error) {
		info, err = s.r.declareQueue(s, name, o)
		return err
	})
	return info, err
}

// QueueDelete is queue.delete and returns the number of ready messages deleted with the queue;
// they are not dead-lettered (A46). ifUnused refuses a queue with consumers, ifEmpty one with
// ready messages (ErrPreconditionFailed). Consumers of a deleted queue are cancelled.
func (s *Session) QueueDelete(name string, ifUnused, ifEmpty bool) (int, error) {
	var n int
	err := s.do(func() (err error) {
		n, err = s.r.deleteQueue(s, name, ifUnused, ifEmpty)
		return err
	})
	return n, err
}

// QueuePurge removes the queue's ready messages (not the unacked ones) and returns how many.
func (s *Session) QueuePurge(name string) (int, error) {
	var n int
	err := s.do(func() error {
		q, err := s.r.lookupQueue(s, name)
		if err != nil {
			return err
		}
		n = q.purge()
		return nil
	})
	return n, err
}

// QueueBind binds queue to exchange with a binding key and arguments (the headers exchange
// reads x-match and the values to match from args). Binding twice is a no-op; the default
// exchange cannot be bound to (A4).
func (s *Session) QueueBind(queue, exchange, key string, args Table) error {
	return s.do(func() error {
		if err := s.r.checkBind(exchange, queue, key, args); err != nil {
			return err
		}
		return s.r.bind(s, exchange, s.r.queueDest(queue), key, args)
	})
}

// QueueUnbind removes the binding equal to (exchange, queue, key, args); a missing one is fine.
func (s *Session) QueueUnbind(queue, exchange, key string, args Table) error {
	return s.do(func() error {
		if err := s.r.checkBind(exchange, queue, key, args); err != nil {
			return err
		}
		return s.r.unbind(s, exchange, s.r.queueDest(queue), key, args)
	})
}

// ExchangeBind binds destination to source (exchange.bind): messages routed by source with a
// matching key flow on through destination with its own type (A9).
func (s *Session) ExchangeBind(destination, source, key string, args Table) error {
	return s.do(func() error {
		if err := s.r.checkBind(source, destination, key, args); err != nil {
			return err
		}
		return s.r.bind(s, source, s.r.exchangeDest(destination), key, args)
	})
}

// ExchangeUnbind removes an exchange-to-exchange binding.
func (s *Session) ExchangeUnbind(destination, source, key string, args Table) error {
	return s.do(func() error {
		if err := s.r.checkBind(source, destination, key, args); err != nil {
			return err
		}
		return s.r.unbind(s, source, s.r.exchangeDest(destination), key, args)
	})
}

// --- convenience methods, on the Router's own session, which errors never close.

// ExchangeDeclare declares an exchange; see [Session.ExchangeDeclare].
func (r *Router) ExchangeDeclare(name string, kind Kind, o ExchangeOptions) error {
	return r.with(func(s *Session) error { return s.ExchangeDeclare(name, kind, o) })
}

// QueueDeclare declares a queue; see [Session.QueueDeclare]. An exclusive queue declared here
// belongs to the Router's own connection and lives until the Router closes.
func (r *Router) QueueDeclare(name string, o QueueOptions) (QueueInfo, error) {
	var info QueueInfo
	err := r.with(func(s *Session) (err error) {
		info, err = s.QueueDeclare(name, o)
		return err
	})
	return info, err
}

// QueueDelete deletes a queue; see [Session.QueueDelete].
func (r *Router) QueueDelete(name string, ifUnused, ifEmpty bool) (int, error) {
	var n int
	err := r.with(func(s *Session) (err error) {
		n, err = s.QueueDelete(name, ifUnused, ifEmpty)
		return err
	})
	return n, err
}

// QueueBind binds a queue; see [Session.QueueBind].
func (r *Router) QueueBind(queue, exchange, key string, args Table) error {
	return r.with(func(s *Session) error { return s.QueueBind(queue, exchange, key, args) })
}

// Publish publishes without confirm mode; see [Session.Publish].
func (r *Router) Publish(ctx context.Context, exchange, key string, mandatory bool, msg Publishing) error {
	return r.with(func(s *Session) error {
		_, err := s.Publish(ctx, exchange, key, mandatory, msg)
		return err
	})
}

// Consume starts a consumer on a session of its own, which its Cancel does not close; see
// [Session.Consume].
func (r *Router) Consume(queue string, o ConsumeOptions) (*Consumer, error) {
	var c *Consumer
	err := r.with(func(s *Session) (err error) {
		c, err = s.Consume(queue, o)
		return err
	})
	return c, err
}

// Get fetches one message; see [Session.Get].
func (r *Router) Get(queue string, autoAck bool) (*Delivery, error) {
	var d *Delivery
	err := r.with(func(s *Session) (err error) {
		d, err = s.Get(queue, autoAck)
		return err
	})
	return d, err
}

func (r *Router) with(fn func(*Session) error) error {
	if r == nil {
		return ErrClosed
	}
	s, err := r.defaultSession()
	if err != nil {
		return err
	}
	return fn(s)
}
