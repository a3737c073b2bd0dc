package exchange

import (
	"cmp"
	"container/heap"
	"slices"
	"time"
)

// This file is the queue's pure core: the ready messages in order, TTL, length limits and
// requeue positions. It has no locks, goroutines or clocks; callers pass now and act on what it
// returns (queue.go is the shell).

// qmsg is one message in one queue: the index entry a queue keeps for it, kept small because
// a long durable queue keeps one per message in memory even when the contents are paged out.
type qmsg struct {
	// c is the message's content; nil while a stored message is paged out to the store
	// (persist.go).
	c   *content
	seq uint64 // enqueue order in this queue; a requeue returns the message to this position
	// expires is when the message expires in this queue, in Unix nanoseconds, 0 for never. A
	// requeue keeps it (A29).
	expires       int64
	size          int64 // body bytes, what x-max-length-bytes counts (A33)
	deliveryCount int64 // failed deliveries counted toward x-delivery-limit (A38, A39)
	level         uint8 // priority level, 0 for a queue without x-max-priority
	redelivered   bool
	stored        bool // a record of it is in the store (persist.go)
	charged       bool // counted against the memory high watermark (alarm.go)
	// savedAt is, for a paged-out message, the store checkpoint count (low 32 bits) from which
	// its record is in the store's file, so that reading it back needs no wait (persist.go).
	savedAt uint32
}

func (m *qmsg) expired(now time.Time) bool {
	return m.expires != 0 && now.UnixNano() >= m.expires
}

// Why a message left a queue without being acked.
const (
	reasonRejected      = "rejected"
	reasonExpired       = "expired"
	reasonMaxLen        = "maxlen"
	reasonDeliveryLimit = "delivery_limit"
)

// seqHeap orders requeued messages by their original position.
type seqHeap []*qmsg

func (h seqHeap) Len() int           { return len(h) }
func (h seqHeap) Less(i, j int) bool { return h[i].seq < h[j].seq }
func (h seqHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *seqHeap) Push(x any)        { *h = append(*h, x.(*qmsg)) }
func (h *seqHeap) Pop() any {
	old := *h
	m := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return m
}

// level holds the ready messages of one priority. Messages that were never delivered sit in
// fifo in enqueue order; requeued ones go to returned, ordered by seq. A requeued message was
// taken from the head, so it is older than everything in fifo: the union is in seq order with
// returned first.
type level struct {
	returned seqHeap
	fifo     []*qmsg
	head     int // fifo[head:] are ready
}

func (l *level) len() int { return len(l.returned) + len(l.fifo) - l.head }

func (l *level) peek() *qmsg {
	if len(l.returned) > 0 {
		return l.returned[0]
	}
	if l.head < len(l.fifo) {
		return l.fifo[l.head]
	}
	return nil
}

func (l *level) pop() *qmsg {
	if len(l.returned) > 0 {
		return heap.Pop(&l.returned).(*qmsg)
	}
	m := l.fifo[l.head]
	l.fifo[l.head] = nil
	l.head++
	if l.head == len(l.fifo) {
		l.fifo, l.head = l.fifo[:0], 0
	} else if l.head > 1024 && l.head*2 > len(l.fifo) {
		n := copy(l.fifo, l.fifo[l.head:])
		clear(l.fifo[n:])
		l.fifo, l.head = l.fifo[:n], 0
	}
	return m
}

// queueState is the ready part of a queue and its limits.
type queueState struct {
	cfg     queueConfig
	levels  []level // index = priority level; one level without x-max-priority
	ready   int
	bytes   int64 // body bytes of ready messages (A33)
	nextSeq uint64
	// spare holds index entries made but not handed out yet (alloc).
	spare []qmsg
}

func newQueueState(cfg queueConfig) *queueState {
	return &queueState{cfg: cfg, levels: make([]level, cfg.maxPriority+1)}
}

// newMessage makes the queue's copy of c, arriving at now.
func (s *queueState) newMessage(c *content, now time.Time) *qmsg {
	s.nextSeq++
	m := s.alloc()
	*m = qmsg{c: c, seq: s.nextSeq, size: c.size}
	if ttl := s.ttl(c); ttl >= 0 {
		m.expires = now.Add(time.Duration(ttl) * time.Millisecond).UnixNano()
	}
	if s.cfg.maxPriority > 0 {
		m.level = uint8(min(int(c.pub.Priority), s.cfg.maxPriority)) // above the maximum counts as it (A36)
	}
	return m
}

// Index entries are made this many at a time.
const qmsgChunk = 32

// alloc returns a zero index entry. Entries are made qmsgChunk at a time, in one array: the
// garbage collector then marks one object where it would mark qmsgChunk, which matters for a
// long queue, whose index is most of the live heap. An entry kept alive keeps its chunk (1,792
// bytes) alive too, but not what the chunk's other entries pointed to: a message that leaves the queue
// drops its content (queue.forget).
func (s *queueState) alloc() *qmsg {
	if len(s.spare) == 0 {
		s.spare = make([]qmsg, qmsgChunk)
	}
	m := &s.spare[0]
	s.spare = s.spare[1:]
	return m
}

// ttl is the message's TTL in this queue in ms, the lower of the queue's and its own (A28), or
// -1 for none.
func (s *queueState) ttl(c *content) int64 {
	switch {
	case s.cfg.messageTTL < 0:
		return c.ttl
	case c.ttl < 0:
		return s.cfg.messageTTL
	}
	return min(s.cfg.messageTTL, c.ttl)
}

// full reports whether one more message of size bytes would go over a length limit.
func (s *queueState) full(size int64) bool {
	return (s.cfg.maxLength >= 0 && int64(s.ready)+1 > s.cfg.maxLength) ||
		(s.cfg.maxLengthBytes >= 0 && s.bytes+size > s.cfg.maxLengthBytes)
}

func (s *queueState) over() bool {
	return (s.cfg.maxLength >= 0 && int64(s.ready) > s.cfg.maxLength) ||
		(s.cfg.maxLengthBytes >= 0 && s.bytes > s.cfg.maxLengthBytes)
}

// push appends m at the tail and, under drop-head, returns the messages dropped from the head
// to get back under the limits (A34). Under the reject modes the caller checks full first.
func (s *queueState) push(m *qmsg) (dropped []*qmsg) {
	l := &s.levels[m.level]
	l.fifo = append(l.fifo, m)
	s.ready++
	s.bytes += m.size
	return s.trim()
}

// requeue returns m to its original position (A50, A51), redelivered. The head may then be over
// a drop-head limit, and the requeued message, back at the head, is the one dropped (§1.3b).
func (s *queueState) requeue(m *qmsg) (dropped []*qmsg) {
	m.redelivered = true
	heap.Push(&s.levels[m.level].returned, m)
	s.ready++
	s.bytes += m.size
	return s.trim()
}

func (s *queueState) trim() (dropped []*qmsg) {
	if s.cfg.overflow != DropHead {
		return nil
	}
	for s.over() && s.ready > 0 {
		dropped = append(dropped, s.popHead())
	}
	return dropped
}

// each calls fn with the ready messages, level by level from the highest priority, each level's
// requeued messages (in heap order, not position order) before its others (in order), until fn
// returns false.
func (s *queueState) each(fn func(*qmsg) bool) {
	for i := len(s.levels) - 1; i >= 0; i-- {
		l := &s.levels[i]
		for _, m := range l.returned {
			if !fn(m) {
				return
			}
		}
		for _, m := range l.fifo[l.head:] {
			if !fn(m) {
				return
			}
		}
	}
}

// eachFrom calls fn for the never-delivered ready messages at position from or later, in
// position order within each priority level (highest level first), until fn returns false.
// It reports whether it got to the end. A level's fifo is in position order, so finding the
// start is a binary search.
func (s *queueState) eachFrom(from uint64, fn func(*qmsg) bool) bool {
	for i := len(s.levels) - 1; i >= 0; i-- {
		ready := s.levels[i].fifo[s.levels[i].head:]
		start, _ := slices.BinarySearchFunc(ready, from, func(m *qmsg, seq uint64) int { return cmp.Compare(m.seq, seq) })
		for _, m := range ready[start:] {
			if !fn(m) {
				return false
			}
		}
	}
	return true
}

// ordered returns up to max ready messages (every one for max <= 0) in the order popHead would
// take them, passing over those skip reports, and changes nothing: level by level from the
// highest priority, each level's requeued messages by position before its others.
func (s *queueState) ordered(max int, skip func(*qmsg) bool) []*qmsg {
	var out []*qmsg
	for i := len(s.levels) - 1; i >= 0; i-- {
		l := &s.levels[i]
		returned := slices.Clone([]*qmsg(l.returned))
		slices.SortFunc(returned, func(a, b *qmsg) int { return cmp.Compare(a.seq, b.seq) })
		for _, part := range [2][]*qmsg{returned, l.fifo[l.head:]} {
			for _, m := range part {
				if max > 0 && len(out) == max {
					return out
				}
				if !skip(m) {
					out = append(out, m)
				}
			}
		}
	}
	return out
}

// peek returns the head: the oldest message of the highest non-empty priority, or nil.
func (s *queueState) peek() *qmsg {
	for i := len(s.levels) - 1; i >= 0; i-- {
		if m := s.levels[i].peek(); m != nil {
			return m
		}
	}
	return nil
}

func (s *queueState) popHead() *qmsg {
	for i := len(s.levels) - 1; i >= 0; i-- {
		if s.levels[i].len() > 0 {
			m := s.levels[i].pop()
			s.ready--
			s.bytes -= m.size
			return m
		}
	}
	return nil
}

// expireHead removes expired messages from the head. Only the head is checked: an expired
// message behind a live one stays, counted, until it reaches the head (A31).
func (s *queueState) expireHead(now time.Time, into []*qmsg) []*qmsg {
	for m := s.peek(); m != nil && m.expired(now); m = s.peek() {
		into = append(into, s.popHead())
	}
	return into
}

// take removes and returns the head for delivery, dropping expired messages before it and,
// once it is taken, those that became the head behind it (§1.3b, A31 refined), so that a
// basic.get-ok's message count already excludes them. expired collects what was dropped.
func (s *queueState) take(now time.Time, expired []*qmsg) (*qmsg, []*qmsg) {
	expired = s.expireHead(now, expired)
	m := s.popHead()
	if m != nil {
		expired = s.expireHead(now, expired)
	}
	return m, expired
}

// nextExpiry is when the head expires, zero if it never does or the queue is empty.
func (s *queueState) nextExpiry() time.Time {
	if m := s.peek(); m != nil && m.expires != 0 {
		return time.Unix(0, m.expires)
	}
	return time.Time{}
}

// purge removes every ready message, passing each to gone if it is not nil, and returns how
// many there were.
func (s *queueState) purge(gone func(*qmsg)) int {
	n := s.ready
	for i := range s.levels {
		if gone != nil {
			l := &s.levels[i]
			for _, m := range l.returned {
				gone(m)
			}
			for _, m := range l.fifo[l.head:] {
				gone(m)
			}
		}
		s.levels[i] = level{}
	}
	s.ready, s.bytes = 0, 0
	return n
}
