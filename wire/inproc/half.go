package inproc

import "sync"

// half is one direction of a connection: the bytes one end has written and the other has not
// read yet, and the state both ends need to wait on each other.
//
// Waiting uses channels, never sync.Cond or a held lock: a goroutine waits by selecting on a
// one-slot wake-up channel and its deadline's channel, then retakes mu and checks again, so
// inside a testing/synctest bubble it is durably blocked. The other side sends a wake-up, without
// blocking, only when the matching waiters count says someone waits; a wake-up left in the slot
// after its waiter gave up only causes one spurious recheck. The channels are made by the first
// waiter, so a direction nobody waited on costs no channel.
type half struct {
	mu   sync.Mutex // protects every field below; never held with another half's or a deadline's
	ring ring       // the queued bytes

	readerClosed bool // the reading end closed: Writes fail with io.ErrClosedPipe
	writerClosed bool // the writing end closed: Reads drain ring, then return io.EOF
	writing      bool // a Write holds the turn; other Writes wait so that Writes never interleave

	readWaiters  int32 // Reads waiting on readable for bytes, or for either end to close
	writeWaiters int32 // Writes (at most the turn holder) waiting on writable for wantSpace bytes
	turnWaiters  int32 // Writes waiting on turn for writing to become false
	wantSpace    int   // free bytes the waiting Write needs before it is worth waking

	readable chan struct{} // wakes a Read: bytes queued, or an end closed
	writable chan struct{} // wakes the turn holder: room made, or an end closed
	turn     chan struct{} // wakes a Write waiting for the turn
}

// notify wakes one goroutine waiting on c, if any, without blocking; c has one slot.
func notify(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// wait releases mu, blocks until *c is signalled or dl passes, and retakes mu. The caller
// rechecks the state it waits for: a wake-up promises nothing. *waiters counts the goroutines
// inside wait on *c, for the goroutine deciding whether to signal.
func (h *half) wait(c *chan struct{}, waiters *int32, dl *deadline) {
	if *c == nil {
		*c = make(chan struct{}, 1)
	}
	ch := *c
	*waiters++
	h.mu.Unlock()
	select {
	case <-ch:
	case <-dl.channel():
	}
	h.mu.Lock()
	*waiters--
}

// wakeAll signals every waiter after an end closed; each one passes the wake-up on to the next
// as it returns.
func (h *half) wakeAll() {
	if h.readWaiters > 0 {
		notify(h.readable)
	}
	if h.writeWaiters > 0 {
		notify(h.writable)
	}
	if h.turnWaiters > 0 {
		notify(h.turn)
	}
}
