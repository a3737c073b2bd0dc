// Package door is what the wire front doors share: the set of listeners and connections a
// server owns, the accept loop that fills it, the in-process dial, and the Close that ends
// them all.
//
// # Concurrency
//
// A [Set] is safe for concurrent use. Its mutex guards the listener and connection sets and
// the closed flag, and is never held while calling out (admit, refuse and serve run without
// it), so a caller may hold its own locks when it calls [Set.Remove]: Set's lock is always
// taken last. Every goroutine [Set.Serve] and [Set.Admit] start is counted, and [Set.Close]
// waits for all of them.
package door

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/tribusmq/tribus/wire"
	"github.com/tribusmq/tribus/wire/inproc"
)

// Set holds a server's listeners and connections. The zero value is an empty, open set.
type Set struct {
	mu        sync.Mutex
	conns     map[net.Conn]struct{}
	listeners map[net.Listener]struct{}
	closed    bool

	wg sync.WaitGroup // Serve loops and connection goroutines

	// Observe, if set before the set is used, is called after a connection joins the set
	// (opened) and after it leaves it, with the count of connections then, without the lock.
	Observe func(opened bool, nc net.Conn, count int)
}

// Observer returns a [Set.Observe] that calls observe with door's [wire.ConnEvent]s, or nil
// when observe is nil, so that a door nobody observes does nothing per connection.
func Observer(door string, observe func(wire.ConnEvent)) func(opened bool, nc net.Conn, count int) {
	if observe == nil {
		return nil
	}
	return func(opened bool, nc net.Conn, count int) {
		kind := wire.ConnClosed
		if opened {
			kind = wire.ConnOpened
		}
		observe(wire.ConnEvent{Kind: kind, Time: time.Now(), Door: door, Remote: nc.RemoteAddr().String(), Count: count})
	}
}

// Serve accepts connections on ln and hands each to admit, until ln fails or the set is
// closed. Failures that pass on their own (timeouts, running out of file descriptors) are
// retried after a growing pause, as net/http does. It returns closedErr once the set is
// closed, else the listener's error, and closes ln when it returns.
func (s *Set) Serve(ln net.Listener, closedErr error, log *slog.Logger, admit func(net.Conn)) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return closedErr
	}
	if s.listeners == nil {
		s.listeners = make(map[net.Listener]struct{})
	}
	s.listeners[ln] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
		ln.Close()
	}()
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.Closed() {
				return closedErr
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				log.Debug("accept", "listener", ln.Addr(), "err", err, "retry", backoff)
				time.Sleep(backoff) // nothing to wait on: the descriptors free up elsewhere
				continue
			}
			return err
		}
		backoff = 0
		admit(nc)
	}
}

// Admit adds nc to the set and runs serve in a goroutine the set waits for; nc leaves the
// set when serve returns, if [Set.Remove] has not taken it out before. When the set already
// holds max connections (max > 0), refuse is called with nc instead, and is responsible for
// closing it. Admit reports false, having closed nc, when the set is closed.
func (s *Set) Admit(nc net.Conn, max int, refuse func(net.Conn), serve func()) bool {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		nc.Close()
		return false
	}
	if max > 0 && len(s.conns) >= max {
		s.mu.Unlock()
		refuse(nc)
		return true
	}
	if s.conns == nil {
		s.conns = make(map[net.Conn]struct{})
	}
	s.conns[nc] = struct{}{}
	n := len(s.conns)
	s.wg.Add(1)
	s.mu.Unlock()
	if s.Observe != nil {
		s.Observe(true, nc, n)
	}
	go func() {
		defer s.wg.Done()
		defer s.Remove(nc)
		serve()
	}()
	return true
}

// Dial makes an in-process connection, with no socket, and hands its server end to admit,
// which reports whether it was taken (see [Set.Admit]). It returns ctx's error if ctx has
// ended, and closedErr when admit refuses.
func (s *Set) Dial(ctx context.Context, closedErr error, admit func(net.Conn) bool) (net.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.Closed() {
		return nil, closedErr
	}
	client, server := inproc.Pipe()
	if !admit(server) {
		client.Close()
		return nil, closedErr
	}
	return client, nil
}

// Remove takes nc out of the set, so that it no longer counts towards the limit.
func (s *Set) Remove(nc net.Conn) {
	s.mu.Lock()
	_, held := s.conns[nc]
	delete(s.conns, nc)
	n := len(s.conns)
	s.mu.Unlock()
	if held && s.Observe != nil {
		s.Observe(false, nc, n)
	}
}

// Len is the number of connections in the set.
func (s *Set) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Closed reports whether [Set.Close] has been called.
func (s *Set) Closed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Shut closes every listener and refuses new connections, leaving those in the set open: a
// server that says goodbye to its clients does so between Shut and [Set.Close]. It is
// idempotent.
func (s *Set) Shut() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.shutLocked()
}

func (s *Set) shutLocked() {
	if !s.closed {
		s.closed = true
		for ln := range s.listeners {
			ln.Close()
		}
	}
}

// Drop closes every connection in the set at once, as a network failure would, and returns
// how many there were; the listeners stay open and new connections are taken. Each
// connection's goroutine sees its socket fail and cleans up as for a client that vanished.
func (s *Set) Drop() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for nc := range s.conns {
		nc.Close()
	}
	return len(s.conns)
}

// Close closes every listener and connection in the set, refuses new ones, and waits for
// every goroutine the set started. It is idempotent.
func (s *Set) Close() {
	s.mu.Lock()
	s.shutLocked()
	for nc := range s.conns {
		nc.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}
