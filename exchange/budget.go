package exchange

import (
	"github.com/tribusmq/tribus/store"
)

// The memory budget (Options.MemoryBudget) bounds what the persistent messages of durable
// queues take in memory. Every stored message counts: one whose content is in memory its
// residentCost, one paged out its indexCost. A message stored while the router is over the
// budget is paged out once its write commits; and when that still leaves the router over the
// budget, contents already in memory are paged out too (evictIfOverBudget), so that a long
// backlog in one queue does not leave another queue's old contents holding the budget.

// DefaultMemoryBudget is Options.MemoryBudget's default: 128 MiB of persistent messages in
// memory across durable queues.
const DefaultMemoryBudget = 128 << 20

// residentCost is what a stored message whose content is in memory is counted as against the
// memory budget: its body plus an estimate of its properties and bookkeeping.
func residentCost(m *qmsg) int64 { return m.size + 512 }

// indexCost is what a paged-out message is counted as against the memory budget: its index
// entry (a qmsg, 48 bytes, and its slot in the queue). Counting it keeps a long backlog within
// the budget: the longer the queue, the fewer contents stay in memory, until only the index is
// left, which grows with the queue.
const indexCost = 64

// storedCost is what a stored message is counted as against the memory budget now.
func storedCost(m *qmsg) int64 {
	if m.c == nil {
		return indexCost
	}
	return residentCost(m)
}

func (r *Router) overBudget() bool { return r.budget >= 0 && r.resident.Load() > r.budget }

// countStored counts m, which becomes stored (sign 1) or stops being stored (sign -1), against
// the budget. Callers hold m's queue's mu.
func (r *Router) countStored(m *qmsg, sign int64) {
	r.resident.Add(sign * storedCost(m))
	if m.c != nil {
		r.contents.Add(sign * residentCost(m))
	}
}

// countPaging counts a stored message read back into memory (sign 1) or paged out (sign -1,
// called while its content is still set). Callers hold m's queue's mu.
func (r *Router) countPaging(m *qmsg, sign int64) {
	r.resident.Add(sign * (residentCost(m) - indexCost))
	r.contents.Add(sign * residentCost(m))
}

// evictSlack is the share of the budget (1/evictSlack) an eviction brings the router under
// the budget by, so that evictions come in batches rather than one message at a time.
const evictSlack = 16

// evictIfOverBudget pages out contents held in memory while the router is over its budget by
// more than the slack, from every durable queue. One eviction runs at a time; while one runs,
// or when the last one walked every queue to its end, found too little to page out, and the
// contents in memory have not grown by the slack since, it returns at once. It must be called
// with no lock held.
func (r *Router) evictIfOverBudget() {
	slack := r.budget / evictSlack
	over := r.resident.Load() - (r.budget - slack)
	if r.budget < 0 || over <= slack || r.contents.Load() <= r.evictFloor.Load()+slack {
		return
	}
	if !r.evicting.CompareAndSwap(false, true) {
		return
	}
	defer r.evicting.Store(false)
	r.mu.RLock()
	queues := make([]*queue, 0, len(r.queues))
	for _, q := range r.queues {
		if q.durable {
			queues = append(queues, q)
		}
	}
	r.mu.RUnlock()
	// Candidates: ready messages whose content is in memory. Each queue is walked from where
	// its last eviction stopped, at most evictWalk messages, so that a long paged-out queue
	// costs little per eviction. In a queue with consumers the next readAheadMessages to be
	// delivered are passed over (a read-back may just have brought them in).
	type victim struct {
		q *queue
		m *qmsg
	}
	var victims []victim
	want, scanned := over, true
	for _, q := range queues {
		if want <= 0 {
			break
		}
		q.mu.Lock()
		from := q.evictFrom
		if len(q.consumers) > 0 {
			skip := 0
			q.st.each(func(m *qmsg) bool {
				from = max(from, m.seq+1)
				skip++
				return skip < readAheadMessages
			})
		}
		visited := 0
		end := q.st.eachFrom(from, func(m *qmsg) bool {
			if visited++; visited > evictWalk {
				return false
			}
			q.evictFrom = m.seq + 1
			if m.c != nil && m.stored {
				victims = append(victims, victim{q, m})
				want -= residentCost(m) - indexCost
			}
			return want > 0
		})
		if end {
			q.evictFrom = 0 // from the head next time
		} else {
			scanned = false
		}
		q.mu.Unlock()
	}
	if len(victims) == 0 {
		if scanned {
			r.evictFloor.Store(r.contents.Load())
		}
		return
	}
	// Every victim's write was submitted before it became visible, so once a write submitted
	// now commits, theirs have: the store commits in order.
	if err := r.st.Update(func(*store.Tx) error { return nil }); err != nil {
		return
	}
	savedAt := r.savedAfter()
	for i := 0; i < len(victims); {
		q := victims[i].q
		q.mu.Lock()
		for ; i < len(victims) && victims[i].q == q; i++ {
			q.pageOutLocked(victims[i].m, savedAt)
		}
		q.mu.Unlock()
	}
	if want > 0 && scanned {
		r.evictFloor.Store(r.contents.Load())
	} else {
		r.evictFloor.Store(0)
	}
}

// evictWalk bounds the messages an eviction looks at in each queue.
const evictWalk = 4 * readAheadMessages
