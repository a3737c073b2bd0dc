package exchange

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// This file holds the router's resource alarms, RabbitMQ's memory high watermark and
// disk_free_limit: while one is on, every publish waits (or, with Options.FailFastOnAlarm,
// fails) and everything that lets memory fall (consumers, acks, nacks, gets, purges, deletes)
// goes on.

// DefaultMemoryHighWatermark is Options.MemoryHighWatermark's default: 512 MiB held by queued
// messages. RabbitMQ's default is 0.6 of the machine's RAM, which suits a broker that owns its
// machine; an embedded router shares its process with the program around it, so the default
// is a fixed figure: four times [DefaultMemoryBudget], so that persistent messages of durable
// queues page out (at 128 MiB) long before they can raise the alarm.
const DefaultMemoryHighWatermark = 512 << 20

// Reasons carried by [EventBlocked] and [EventUnblocked], RabbitMQ's connection.blocked
// reasons.
const (
	ReasonLowMemory = "low on memory"
	ReasonLowDisk   = "low on disk"
)

// msgOverhead is what a queued message costs beyond its content: its index entry and queue
// slot, and while it is unacked its Delivery and pending entry. A paged-out message costs only
// this.
const msgOverhead = 256

// contentOverhead is the fixed part of a message's content: the content and Publishing
// structs and the allocation rounding of its body.
const contentOverhead = 320

// diskRecheck is how often a publish blocked by the disk alarm asks Options.DiskFree again.
const diskRecheck = 50 * time.Millisecond

// Alarm bits of alarms.on.
const (
	alarmMemory uint32 = 1 << iota
	alarmDisk
)

// alarms is the router's alarm state. held and on are atomics so that the publish and ack
// paths touch no lock; mu orders the transitions of on and guards the fields below it.
type alarms struct {
	// held has a cache line of its own: consumers and acks write it all the time, and the
	// fields around it are read by every publish.
	_        [64]byte
	held     atomic.Int64 // bytes charged by queued messages (see chargeLocked)
	_        [56]byte
	on       atomic.Uint32 // alarm bits; publishes read only this while no alarm is on
	high     int64         // MemoryHighWatermark resolved; <0 for none
	low      int64         // the memory alarm clears once held falls to this
	failFast bool
	diskFree func(need int64) error
	quit     chan struct{} // closed by Router.Close: blocked publishes return ErrClosed

	mu          sync.Mutex
	cleared     chan struct{} // closed when on falls to 0; a new one when it rises from 0
	changed     chan struct{} // closed at the next change of on, made by AlarmWatch; nil when unwatched
	diskNeed    int64         // the need DiskFree last refused, asked again on recheck
	diskCause   error         // what DiskFree last said
	diskChecked time.Time     // when DiskFree was last asked while the disk alarm was on
}

func (a *alarms) init(o *Options) {
	a.high = o.MemoryHighWatermark
	if a.high == 0 {
		a.high = DefaultMemoryHighWatermark
	}
	a.low = a.high - a.high/8
	a.failFast = o.FailFastOnAlarm
	a.diskFree = o.DiskFree
	a.quit = make(chan struct{})
	a.cleared = make(chan struct{})
	close(a.cleared)
}

// contentCost estimates the bytes one message's content holds: body, properties and headers.
func contentCost(p *Publishing) int64 {
	n := int64(len(p.Body)) + contentOverhead
	n += int64(len(p.ContentType) + len(p.ContentEncoding) + len(p.CorrelationID) + len(p.ReplyTo) +
		len(p.Expiration) + len(p.MessageID) + len(p.Type) + len(p.UserID) + len(p.AppID) + len(p.ClusterID))
	if p.Headers != nil {
		n += tableCost(p.Headers)
	}
	return n
}

// tableCost estimates a header table's bytes: a map entry per field plus what its values hold.
func tableCost(t Table) int64 {
	n := int64(48)
	for k, v := range t {
		n += int64(len(k)) + 48 + valueCost(v)
	}
	return n
}

func valueCost(v any) int64 {
	switch v := v.(type) {
	case string:
		return int64(len(v))
	case []byte:
		return int64(len(v))
	case Table:
		return tableCost(v)
	case []any:
		n := int64(24)
		for _, e := range v {
			n += 16 + valueCost(e)
		}
		return n
	}
	return 16
}

// heldBytes is what m counts as against the memory high watermark while charged: its content
// (a message routed to several queues counts once in each) and its overhead, or only the
// overhead while it is paged out.
func (m *qmsg) heldBytes() int64 {
	if m.c != nil {
		return m.c.cost + msgOverhead
	}
	return msgOverhead
}

// chargeLocked counts m, just made by q, against the memory high watermark. Callers hold q.mu.
func (q *queue) chargeLocked(m *qmsg) {
	m.charged = true
	q.r.addHeld(m.heldBytes())
}

// addHeld adds n bytes held by queues and raises the memory alarm if that goes over the
// watermark.
func (r *Router) addHeld(n int64) {
	a := &r.al
	if v := a.held.Add(n); a.high >= 0 && v > a.high && a.on.Load()&alarmMemory == 0 {
		r.raise(alarmMemory)
	}
}

// subHeld takes n bytes off, clearing the memory alarm if that brings it down to the low mark.
func (r *Router) subHeld(n int64) {
	a := &r.al
	if v := a.held.Add(-n); a.on.Load()&alarmMemory != 0 && v <= a.low {
		r.clear(alarmMemory)
	}
}

// release stops counting m: it left its queue for good. Releasing twice is harmless. The
// caller owns m: it holds q.mu, or took m out of its queue.
func (r *Router) release(m *qmsg) {
	if m.charged {
		m.charged = false
		r.subHeld(m.heldBytes())
	}
}

// unchargeContent stops counting m's content before it is paged out; its overhead stays.
// Callers hold q.mu.
func (r *Router) unchargeContent(m *qmsg) {
	if m.charged && m.c != nil {
		r.subHeld(m.c.cost)
	}
}

func reasonOf(bit uint32) string {
	if bit == alarmDisk {
		return ReasonLowDisk
	}
	return ReasonLowMemory
}

// raise turns an alarm on (if its condition still holds) and emits EventBlocked.
func (r *Router) raise(bit uint32) {
	a := &r.al
	a.mu.Lock()
	defer a.mu.Unlock()
	on := a.on.Load()
	if on&bit != 0 || (bit == alarmMemory && a.held.Load() <= a.high) {
		return
	}
	if on == 0 {
		a.cleared = make(chan struct{})
	}
	a.on.Store(on | bit)
	// A release that ran before the bit was set did not see it: look again, now that it is.
	if bit == alarmMemory && a.held.Load() <= a.low {
		a.on.Store(on)
		if on == 0 {
			close(a.cleared)
		}
		return
	}
	a.changedLocked()
	if r.observed() {
		r.emit(Event{Kind: EventBlocked, Reason: reasonOf(bit)})
	}
}

// changedLocked wakes the AlarmWatch callers waiting for a change of on. Callers hold mu.
func (a *alarms) changedLocked() {
	if a.changed != nil {
		close(a.changed)
		a.changed = nil
	}
}

// AlarmWatch returns the alarms' state and a channel that is closed at the next change of
// Memory or Disk, for a front door that tells its clients, as RabbitMQ's connection.blocked and
// connection.unblocked do: call it again after each close to follow every change, in order.
// Publishers pay nothing for it; each call allocates at most one channel.
func (r *Router) AlarmWatch() (AlarmStatus, <-chan struct{}) {
	a := &r.al
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.changed == nil {
		a.changed = make(chan struct{})
	}
	return r.Alarms(), a.changed
}

// AlarmReason returns the reason RabbitMQ gives in connection.blocked for st: ReasonLowMemory
// when the memory alarm is on, else ReasonLowDisk when the disk alarm is, else "".
func (st AlarmStatus) AlarmReason() string {
	switch {
	case st.Memory:
		return ReasonLowMemory
	case st.Disk:
		return ReasonLowDisk
	}
	return ""
}

// clear turns an alarm off (if its condition no longer holds), emits EventUnblocked and, once
// no alarm is on, wakes the blocked publishes.
func (r *Router) clear(bit uint32) {
	a := &r.al
	a.mu.Lock()
	defer a.mu.Unlock()
	on := a.on.Load()
	if on&bit == 0 || (bit == alarmMemory && a.held.Load() > a.low) {
		return
	}
	on &^= bit
	a.on.Store(on)
	if on == 0 {
		close(a.cleared)
	}
	a.changedLocked()
	if r.observed() {
		r.emit(Event{Kind: EventUnblocked, Reason: reasonOf(bit)})
	}
}

// diskNeed estimates the store bytes a publish of msg to queues will write: one record per
// durable queue it stores the message in, 0 if it stores none or no DiskFree is set.
func (r *Router) diskNeed(queues []*queue, msg *Publishing) int64 {
	if r.al.diskFree == nil || r.st == nil || msg.DeliveryMode != Persistent {
		return 0
	}
	var n int64
	for _, q := range queues {
		if q.durable {
			n += int64(len(msg.Body)) + 256
		}
	}
	return n
}

// reserveDisk asks DiskFree for need bytes; a refusal raises the disk alarm and is returned
// as ErrDiskFull.
func (r *Router) reserveDisk(need int64) error {
	err := r.al.diskFree(need)
	if err == nil {
		return nil
	}
	a := &r.al
	a.mu.Lock()
	a.diskNeed, a.diskCause, a.diskChecked = need, err, time.Now()
	a.mu.Unlock()
	r.raise(alarmDisk)
	return fmt.Errorf("%w: %w", ErrDiskFull, err)
}

// recheckDisk asks DiskFree again, at most every diskRecheck, and clears the disk alarm once
// it agrees.
func (r *Router) recheckDisk() {
	a := &r.al
	a.mu.Lock()
	now := time.Now()
	if now.Sub(a.diskChecked) < diskRecheck {
		a.mu.Unlock()
		return
	}
	a.diskChecked = now
	need := a.diskNeed
	a.mu.Unlock()
	if err := a.diskFree(need); err != nil {
		a.mu.Lock()
		a.diskCause = err
		a.mu.Unlock()
		return
	}
	r.clear(alarmDisk)
}

// alarmErr is the error of a publish refused while the alarms in on are on.
func (r *Router) alarmErr(on uint32) error {
	if on&alarmMemory != 0 {
		return fmt.Errorf("%w: queued messages hold %d bytes, over the high watermark of %d",
			ErrMemoryAlarm, r.al.held.Load(), r.al.high)
	}
	r.al.mu.Lock()
	cause := r.al.diskCause
	r.al.mu.Unlock()
	return fmt.Errorf("%w: %w", ErrDiskFull, cause)
}

// admit lets a publish through once no alarm is on. It waits for that, asking DiskFree again
// every diskRecheck while the disk alarm is on, until ctx ends (its error is returned with the
// alarm's) or the router closes; with FailFastOnAlarm it returns the alarm's error at once.
func (r *Router) admit(ctx context.Context) error {
	if r.al.on.Load() == 0 {
		return nil
	}
	return r.admitSlow(ctx)
}

func (r *Router) admitSlow(ctx context.Context) error {
	a := &r.al
	var tick *time.Timer
	defer func() {
		if tick != nil {
			tick.Stop()
		}
	}()
	for {
		on := a.on.Load()
		if on&alarmDisk != 0 {
			r.recheckDisk()
			on = a.on.Load()
		}
		if on == 0 {
			return nil
		}
		if a.failFast {
			return r.alarmErr(on)
		}
		a.mu.Lock()
		cleared := a.cleared
		a.mu.Unlock()
		var recheck <-chan time.Time
		if on&alarmDisk != 0 {
			if tick == nil {
				tick = time.NewTimer(diskRecheck)
			} else {
				tick.Reset(diskRecheck)
			}
			recheck = tick.C
		}
		select {
		case <-cleared:
		case <-recheck:
		case <-a.quit:
			return ErrClosed
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", r.alarmErr(on), ctx.Err())
		}
	}
}

// AlarmStatus is a snapshot of a router's resource alarms, for monitoring and tests.
type AlarmStatus struct {
	// MemoryHeld is the estimated bytes held by queued messages, ready and unacked, and by
	// auto-ack deliveries pushed to a consumer and not yet read: bodies, properties, headers and
	// a per-message overhead; a paged-out message counts only its overhead.
	MemoryHeld int64
	// MemoryHighWatermark is the bound the memory alarm compares MemoryHeld with; negative when
	// the memory alarm is off.
	MemoryHighWatermark int64
	// Resident is what the persistent messages of durable queues count against
	// Options.MemoryBudget, which bounds it by paging out: contents in memory, and the index
	// entries of the paged-out ones.
	Resident int64
	// Memory and Disk say which alarms are on; publishes wait (or fail) while either is.
	Memory, Disk bool
}

// Alarms returns the current state of the router's alarms. It takes no lock that a publish
// holds and is safe for concurrent use.
func (r *Router) Alarms() AlarmStatus {
	on := r.al.on.Load()
	return AlarmStatus{MemoryHeld: r.al.held.Load(), MemoryHighWatermark: r.al.high, Resident: r.resident.Load(),
		Memory: on&alarmMemory != 0, Disk: on&alarmDisk != 0}
}
