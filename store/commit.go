package store

import (
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// batch is one round of group commit: the Update functions that share a transaction.
// Callers append to it under Store.mu until the committer takes it; from then on only the
// committer touches it, until it closes done, after which the callers read their errs.
type batch struct {
	fns  []func(*Tx) error
	errs []error
	done chan struct{}

	// live holds the indexes of fns still to commit; cur is the one running. They let a
	// replacement committer resume the round if a fn ends the committer with runtime.Goexit.
	live []int
	cur  int
}

// enqueue adds fn to the newest batch that is not full and returns the batch and fn's index
// in it. The caller holds s.mu.
func (s *Store) enqueue(fn func(*Tx) error) (*batch, int) {
	var b *batch
	if n := len(s.queue); n > 0 && len(s.queue[n-1].fns) < s.maxBatch {
		b = s.queue[n-1]
	} else {
		b = &batch{done: make(chan struct{})}
		s.queue = append(s.queue, b)
	}
	b.fns = append(b.fns, fn)
	return b, len(b.fns) - 1
}

// queueLen is the number of Update functions queued and not yet taken by the committer.
func (s *Store) queueLen() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, b := range s.queue {
		n += len(b.fns)
	}
	return n
}

// commitLoop is the committer goroutine: it owns the bbolt read-write transaction. Each round it
// takes the oldest batch, commits it and answers its callers, until Close is called and the
// queue is empty. resume, if not nil, is a batch a previous committer left half done.
func (s *Store) commitLoop(resume *batch) {
	var (
		b      *batch
		btx    *bolt.Tx
		normal bool
	)
	defer func() {
		if normal {
			close(s.done)
			return
		}
		// A fn called runtime.Goexit (t.FailNow, for example) on this goroutine. Nothing can
		// stop the goroutine from ending, so answer that fn, roll back, and hand the rest of the
		// round to a new committer.
		if btx != nil {
			_ = btx.Rollback()
		}
		b.errs[b.cur] = fmt.Errorf("%w: runtime.Goexit", ErrPanic)
		s.failed.Add(1)
		b.live = slices.DeleteFunc(b.live, func(i int) bool { return i == b.cur })
		go s.commitLoop(b)
	}()

	b = resume
	for {
		if b == nil {
			s.mu.Lock()
			for len(s.queue) == 0 && !s.closing.Load() {
				s.cond.Wait()
			}
			if len(s.queue) == 0 {
				s.mu.Unlock()
				normal = true
				return
			}
			b = s.queue[0]
			s.queue[0] = nil
			s.queue = s.queue[1:]
			s.mu.Unlock()

			b.errs = make([]error, len(b.fns))
			b.live = make([]int, len(b.fns))
			for i := range b.live {
				b.live[i] = i
			}
		}
		s.commitBatch(b, &btx)
		close(b.done)
		b = nil
	}
}

// commitBatch runs the live fns of b in one transaction and commits it. A fn that fails is
// answered with its error and dropped, and the others run again in a fresh transaction, since
// the rollback undid what they wrote. *btx is the open transaction, for commitLoop's cleanup.
func (s *Store) commitBatch(b *batch, btx **bolt.Tx) {
	for len(b.live) > 0 {
		tx, err := s.db.Begin(true)
		if err != nil {
			s.failAll(b, mapError(err))
			return
		}
		*btx = tx
		failed := -1
		for j, i := range b.live {
			b.cur = i
			if err := runFn(b.fns[i], &Tx{btx: tx, writable: true}); err != nil {
				b.errs[i] = err
				failed = j
				break
			}
		}
		if failed >= 0 {
			_ = tx.Rollback()
			*btx = nil
			s.failed.Add(1)
			b.live = slices.Delete(b.live, failed, failed+1)
			continue
		}
		if s.beforeCommit != nil {
			s.beforeCommit()
		}
		err = tx.Commit()
		*btx = nil
		if err != nil {
			s.failAll(b, fmt.Errorf("tribus/store: commit: %w", err))
			return
		}
		s.commits.Add(1)
		s.scheduleSync()
		s.updates.Add(uint64(len(b.live)))
		b.live = b.live[:0]
	}
}

// failAll answers every live fn of b with err.
func (s *Store) failAll(b *batch, err error) {
	for _, i := range b.live {
		b.errs[i] = err
	}
	s.failed.Add(uint64(len(b.live)))
	b.live = b.live[:0]
}

// runFn calls fn with tx, turns a panic into ErrPanic, and closes tx whatever happens, so a tx
// kept by fn cannot write into a later caller's transaction.
func runFn(fn func(*Tx) error, tx *Tx) (err error) {
	defer func() {
		tx.close()
		if r := recover(); r != nil {
			if e, ok := r.(error); ok {
				err = fmt.Errorf("%w: %w", ErrPanic, e)
			} else {
				err = fmt.Errorf("%w: %v", ErrPanic, r)
			}
		}
	}()
	return fn(tx)
}

// scheduleSync arranges the deferred fsync of Options.SyncInterval after a commit, unless one
// is already scheduled.
func (s *Store) scheduleSync() {
	if s.syncInterval <= 0 {
		return
	}
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	if s.syncTimer != nil {
		return
	}
	s.syncWG.Add(1)
	s.syncTimer = time.AfterFunc(s.syncInterval, func() {
		defer s.syncWG.Done()
		s.syncMu.Lock()
		s.syncTimer = nil
		s.syncMu.Unlock()
		_ = s.db.Sync() // an error here resurfaces at the next sync or at Close
	})
}

// stopSyncTimer cancels a scheduled fsync (Close does a final one) and waits for one running.
func (s *Store) stopSyncTimer() {
	s.syncMu.Lock()
	if s.syncTimer != nil && s.syncTimer.Stop() {
		s.syncTimer = nil
		s.syncWG.Done()
	}
	s.syncMu.Unlock()
	s.syncWG.Wait()
}
