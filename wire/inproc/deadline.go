package inproc

import (
	"sync"
	"sync/atomic"
	"time"
)

// deadline is one of a connection's two deadlines (read or write), with the semantics of
// [net.Conn.SetDeadline]. A call checks expired before doing anything and, when it has to wait,
// selects on channel() as well as on its own wake-up channel: closing c wakes every call waiting
// on this deadline at once.
//
// Nothing is allocated until a deadline is set or a call waits, so an idle connection pays only
// for the struct. The timer is made on the first future deadline and reused by later ones, so a
// client that sets a deadline before every command (go-redis does) allocates once.
type deadline struct {
	mu      sync.Mutex    // protects timer, c and when; never held with a half's mutex
	timer   *time.Timer   // runs fire at when; nil until the first future deadline
	c       chan struct{} // closed when the deadline passes; nil until a call waits on it
	when    time.Time     // the deadline; zero for none
	expired atomic.Bool   // the deadline has passed: calls fail at once. Written under mu.
}

// set replaces the deadline with t. A zero t clears it; a t in the past expires it at once, which
// wakes the calls waiting on it. A call already waiting keeps waiting on the same channel, so a
// deadline moved later (or cleared) while it waits applies to it.
func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil {
		d.timer.Stop() // if fire is already running it rechecks when under mu
	}
	d.when = t
	if t.IsZero() {
		d.unexpireLocked()
		return
	}
	dur := time.Until(t)
	if dur <= 0 {
		d.expireLocked()
		return
	}
	d.unexpireLocked()
	if d.timer == nil {
		d.timer = time.AfterFunc(dur, d.fire)
	} else {
		d.timer.Reset(dur)
	}
}

// fire runs on the timer's goroutine when the deadline may have passed.
func (d *deadline) fire() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.when.IsZero() || d.expired.Load() {
		return // cleared, or expired by set, after the timer was armed
	}
	if dur := time.Until(d.when); dur > 0 {
		// Moved later after the timer was armed, or the wall clock stepped back under a
		// deadline without a monotonic reading: wait for the rest.
		d.timer.Reset(dur)
		return
	}
	d.expireLocked()
}

func (d *deadline) expireLocked() {
	if d.expired.Load() {
		return
	}
	d.expired.Store(true)
	if d.c != nil {
		close(d.c)
	}
}

func (d *deadline) unexpireLocked() {
	if d.expired.Load() {
		d.expired.Store(false)
		d.c = nil // closed; every call that waited on it has seen that and returned
	}
}

// channel returns the channel to select on while waiting: it is closed once the deadline
// passes, and never closed while there is no deadline.
func (d *deadline) channel() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.c == nil {
		d.c = make(chan struct{})
		if d.expired.Load() {
			close(d.c)
		}
	}
	return d.c
}

// stop releases the timer; the connection is closed and set is no longer called.
func (d *deadline) stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil {
		d.timer.Stop()
	}
}
