package pubsub

import (
	"context"
	"time"
)

// deliver queues m for s under s's policy and reports whether it counts as a delivery. A
// message that makes a Disconnect subscriber go over its limit still counts, as in Redis,
// where PUBLISH has counted the receiver before the client is killed (R24). The error is
// ctx's, for a Block publisher whose context ended while waiting.
// size is frameSize(m), computed once per publish by the caller.
func (s *Subscription) deliver(ctx context.Context, m *Message, size int64) (bool, error) {
	cut := false
	if f := s.hub.faults; f != nil && f.BeforeDeliver != nil {
		cut = f.BeforeDeliver(s, *m) // a copy: a pointer would make every publish allocate its message
	}
	s.mu.Lock()
	if s.err != nil {
		s.mu.Unlock()
		return false, nil
	}
	dropped := 0
	switch s.lim.Policy {
	case DropOldest:
		for s.qhead < len(s.q) && s.wouldOverflowLocked(size) {
			s.bytes -= frameSize(&s.q[s.qhead])
			s.q[s.qhead] = Message{}
			s.qhead++
			dropped++
		}
		if dropped > 0 {
			s.hub.stats.droppedOld.Add(uint64(dropped))
		}
	case Block:
		for s.qhead < len(s.q) && s.wouldOverflowLocked(size) {
			space := s.space
			if space == nil {
				space = make(chan struct{})
				s.space = space
			}
			s.mu.Unlock()
			select {
			case <-space:
			case <-s.done:
			case <-ctx.Done():
				return false, ctx.Err()
			}
			s.mu.Lock()
			if s.err != nil {
				s.mu.Unlock()
				return false, nil
			}
		}
	}
	s.q = append(s.q, *m)
	s.bytes += size
	if cut || (s.lim.Policy == Disconnect && s.overLimitLocked()) {
		lost := s.disconnectLocked()
		s.mu.Unlock()
		if h := s.hub; h.observed() {
			h.emit(Event{Kind: EventDisconnected, Subscription: s.id, Channel: m.Channel, Pattern: m.Pattern,
				Shard: m.Kind == KindSMessage, Reason: ReasonSlow, Count: lost})
		}
		if s.onDisconnect != nil {
			s.onDisconnect(ErrSlowSubscriber)
		}
		return true, nil
	}
	wake := s.waiting
	s.waiting = false
	s.mu.Unlock()
	if wake {
		select {
		case s.notify <- struct{}{}:
		default:
		}
	}
	if h := s.hub; h.observed() {
		shard := m.Kind == KindSMessage
		if dropped > 0 {
			h.emit(Event{Kind: EventDropped, Subscription: s.id, Channel: m.Channel, Pattern: m.Pattern, Shard: shard,
				Count: dropped})
		}
		h.emit(Event{Kind: EventDelivered, Subscription: s.id, Channel: m.Channel, Pattern: m.Pattern, Shard: shard})
	}
	return true, nil
}

// wouldOverflowLocked reports whether adding a message of size bytes would go over a hard
// limit. Callers hold mu.
func (s *Subscription) wouldOverflowLocked(size int64) bool {
	return len(s.q)-s.qhead+1 > s.maxMsgs || s.bytes+size > s.maxBytes
}

// overLimitLocked applies Redis's client-output-buffer-limit check after a message was queued:
// over the hard limit, or over the soft limit for at least SoftTime without dropping below it.
// Callers hold mu.
func (s *Subscription) overLimitLocked() bool {
	if s.bytes <= s.softBytes && len(s.q)-s.qhead <= s.maxMsgs {
		return false // the common case: one comparison against the lower byte limit
	}
	if len(s.q)-s.qhead > s.maxMsgs || s.bytes > s.maxBytes {
		return true
	}
	if s.bytes <= s.lim.SoftBytes || s.lim.SoftBytes < 0 {
		return false
	}
	now := time.Now()
	if s.softSince.IsZero() {
		s.softSince = now
		return false
	}
	return now.Sub(s.softSince) >= s.lim.SoftTime
}

// disconnectLocked cuts s off as a slow subscriber: its buffer is lost and counted, and it is
// queued for removal from the hub's tables. It returns the messages lost. Callers hold mu
// (not hub.mu).
func (s *Subscription) disconnectLocked() int {
	lost := len(s.q) - s.qhead
	s.endLocked(ErrSlowSubscriber)
	h := s.hub
	h.stats.droppedSlow.Add(uint64(lost))
	h.stats.disconnects.Add(1)
	h.logger.Info("pubsub: slow subscriber disconnected", "lost", lost)
	h.markDead(s)
	return lost
}

// shut ends s with err unless it already ended, and reports whether it did and how many
// unread messages it discarded. Callers hold hub.mu.
func (s *Subscription) shut(err error) (lost int, ended bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return 0, false
	}
	lost = len(s.q) - s.qhead
	s.endLocked(err)
	return lost, true
}

// endLocked records why s ended, drops its buffer and wakes everyone waiting on it.
func (s *Subscription) endLocked(err error) {
	s.err = err
	s.over.Store(true)
	clear(s.q)
	s.q, s.qhead, s.bytes = nil, 0, 0
	close(s.done)
	s.wakeBlockedLocked()
}

// wakeBlockedLocked releases Block publishers waiting for room. Callers hold mu.
func (s *Subscription) wakeBlockedLocked() {
	if s.space != nil {
		close(s.space)
		s.space = nil
	}
}
