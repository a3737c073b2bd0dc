package exchange

import (
	"errors"
	"fmt"
	"sync"
)

// Connection plays an AMQP connection. It owns its sessions (the connection's channels), the
// exclusive queues declared on any of them (A22), and the user its publishes are checked
// against (A64).
//
// Errors come in RabbitMQ's two kinds. A channel error (404, 403, 405, 406) closes only the
// session it happened on: the connection, its other sessions and its exclusive queues live on.
// A connection error (503 COMMAND_INVALID, 530 NOT_ALLOWED, 502 SYNTAX_ERROR, and the frame
// errors a wire front door reports through [Connection.CloseWith]) closes the connection and
// everything on it. Closing a connection closes each of its sessions, which puts their unacked
// deliveries back in their queues (A51), and then deletes its exclusive queues.
//
// A Connection is safe for concurrent use.
type Connection struct {
	r       *Router
	user    string
	lenient bool // the Router's own connection: errors close nothing
	private bool // opened by Router.NewSession for one session, and closed with it

	// mu guards the state below. It is taken after Router.mu (an exclusive queue is owned
	// while the topology is locked) and never held while a session or queue lock is taken.
	mu       sync.Mutex
	err      error         // why the connection closed; nil while open
	done     chan struct{} // closed with err set
	sessions map[*Session]struct{}
	owned    []*queue // exclusive queues declared on the connection
}

// ConnectionOptions configures [Router.NewConnection]. The zero value is a connection of
// [DefaultUser].
type ConnectionOptions struct {
	// User is the connection's authenticated user: a publish whose UserID property is set to
	// anything else is refused with 406 (A64). "" means DefaultUser.
	User string
}

// NewConnection opens a connection, on which [Connection.NewSession] opens sessions.
func (r *Router) NewConnection(o ConnectionOptions) (*Connection, error) {
	return r.newConnection(o, false, false)
}

func (r *Router) newConnection(o ConnectionOptions, lenient, private bool) (*Connection, error) {
	if o.User == "" {
		o.User = DefaultUser
	}
	if err := checkShort("user", o.User); err != nil {
		return nil, err
	}
	c := &Connection{r: r, user: o.User, lenient: lenient, private: private, done: make(chan struct{}),
		sessions: make(map[*Session]struct{})}
	r.connMu.Lock()
	defer r.connMu.Unlock()
	if r.isClosed() {
		return nil, ErrClosed
	}
	r.conns[c] = struct{}{}
	return c, nil
}

// User returns the connection's authenticated user.
func (c *Connection) User() string { return c.user }

// NewSession opens a session (an AMQP channel) on the connection. It fails with the
// connection's error once the connection is closed.
func (c *Connection) NewSession() (*Session, error) {
	s := newSession(c.r, c)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return nil, c.err
	}
	c.sessions[s] = struct{}{}
	return s, nil
}

// Err returns nil while the connection is open, else why it closed: [ErrClosed] after Close,
// or the connection error that closed it.
func (c *Connection) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Shared reports whether c is the Router's own connection, on which its convenience methods
// (Router.Publish, Router.QueueDeclare...) run. Errors there close nothing, and closing it would
// break them, so a fault-injection hook that closes connections leaves it alone.
func (c *Connection) Shared() bool { return c.lenient }

// Done returns a channel closed once the connection is closed, whoever closed it: its
// Close, a connection error, or the Router's Close. [Connection.Err] then says why. A front
// door watches it to tell its client of a close from the router's side.
func (c *Connection) Done() <-chan struct{} { return c.done }

// Close closes the connection: every session on it is closed, which requeues their unacked
// deliveries in their original positions with redelivered set (A51), and then its exclusive
// queues are deleted with their messages (A22). Close is idempotent and returns nil.
func (c *Connection) Close() error {
	c.closeWith(ErrClosed)
	return nil
}

// CloseWith closes the connection as [Connection.Close] does, for a connection error found
// outside the router (a wire front door's frame error, a missed heartbeat): later calls on the
// connection and its sessions return reason, wrapped. A connection already closed keeps the
// error it closed with.
func (c *Connection) CloseWith(reason error) {
	if reason == nil {
		reason = ErrClosed
	}
	c.closeWith(reason)
}

func (c *Connection) closeWith(reason error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	if reason != ErrClosed {
		reason = fmt.Errorf("%w (connection closed)", reason)
	}
	c.err = reason
	close(c.done)
	sessions := make([]*Session, 0, len(c.sessions))
	for s := range c.sessions {
		sessions = append(sessions, s)
	}
	clear(c.sessions)
	owned := c.owned
	c.owned = nil
	c.mu.Unlock()

	for _, s := range sessions {
		s.closeWith(reason)
	}
	for _, q := range owned {
		c.r.removeQueueIf(q, func() bool { return true })
	}
	c.r.connMu.Lock()
	delete(c.r.conns, c)
	c.r.connMu.Unlock()
}

// forgetSession drops a closed session from the connection.
func (c *Connection) forgetSession(s *Session) {
	c.mu.Lock()
	delete(c.sessions, s)
	c.mu.Unlock()
}

// ownQueue makes c the owner of the exclusive queue q, which is being declared; it fails once
// c is closed, so that no exclusive queue outlives its connection. Callers hold Router.mu.
func (c *Connection) ownQueue(q *queue) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	c.owned = append(c.owned, q)
	q.owner = c
	return nil
}

func (c *Connection) disownQueue(q *queue) {
	c.mu.Lock()
	c.owned = remove(c.owned, q)
	c.mu.Unlock()
}

// isConnectionError reports whether err is one RabbitMQ answers by closing the connection
// (the AMQP 0-9-1 hard errors) rather than the channel.
func isConnectionError(err error) bool {
	return errors.Is(err, ErrCommandInvalid) || errors.Is(err, ErrNotAllowed) ||
		errors.Is(err, ErrSyntaxError) || errors.Is(err, ErrNotImplemented)
}

// isChannelError reports whether err is one RabbitMQ answers by closing the channel.
func isChannelError(err error) bool {
	return errors.Is(err, ErrNotFound) || errors.Is(err, ErrPreconditionFailed) ||
		errors.Is(err, ErrResourceLocked) || errors.Is(err, ErrAccessRefused)
}
