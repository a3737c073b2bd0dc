package store

import (
	"errors"
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

// takeBatch removes the oldest batch from the queue and returns it, or nil if there is none.
// The caller holds s.mu.
func (s *Store) takeBatch() *batch {
	if len(s.queue) == 0 {
		return nil
	}
	b := s.queue[0]
	s.queue[0] = nil
	s.queue = s.queue[1:]
	return b
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
// serves the Views waiting for that transaction, takes the oldest batch, runs it, appends its
// writes to the journal and answers its callers; it checkpoints when one is due. It returns
// after Close, once the queue is empty, with a last checkpoint. resume, if not nil, is a batch a
// previous committer left half done.
func (s *Store) commitLoop(resume *batch) {
	var (
		b      *batch
		normal bool
	)
	defer func() {
		if normal {
			close(s.done)
			return
		}
		// A fn called runtime.Goexit (t.FailNow, for example) on this goroutine. Nothing can
		// stop the goroutine from ending, so answer that fn, roll back (the journal keeps the
		// rounds already answered, and the next transaction replays them), and hand the rest of
		// the round to a new committer.
		s.rollback()
		b.errs[b.cur] = fmt.Errorf("%w: runtime.Goexit", ErrPanic)
		s.failed.Add(1)
		b.live = slices.DeleteFunc(b.live, func(i int) bool { return i == b.cur })
		go s.commitLoop(b)
	}()

	s.committerID.Store(goid())
	b = resume
	for {
		if b == nil {
			s.mu.Lock()
			for len(s.queue) == 0 && len(s.views) == 0 && !s.checkpointDue && !s.closing.Load() {
				s.cond.Wait()
			}
			views := s.views
			s.views = nil
			due := s.checkpointDue
			s.checkpointDue = false
			if len(views) == 0 {
				b = s.takeBatch()
			}
			s.mu.Unlock()

			if len(views) > 0 {
				// Views first, and only then the batch: a View that waits on a Submit (a
				// nested wait) then finds its fn still queued and withdraws it (nested.go).
				s.serveViews(views)
				s.mu.Lock()
				b = s.takeBatch()
				s.mu.Unlock()
			}
			if due {
				s.checkpoint()
			}
			if b == nil {
				if len(views) == 0 && !due { // closing, and nothing left
					if s.crashAtClose {
						s.rollback()
					} else {
						s.checkpoint()
					}
					normal = true
					return
				}
				continue
			}
			b.errs = make([]error, len(b.fns))
			b.live = make([]int, 0, len(b.fns))
			for i, fn := range b.fns {
				if fn == nil { // withdrawn by a nested wait (nested.go)
					b.errs[i] = ErrNestedTx
					continue
				}
				b.live = append(b.live, i)
			}
		}
		s.commitBatch(b)
		close(b.done)
		b = nil
	}
}

// commitBatch runs the live fns of b in the open transaction and appends what they wrote to the
// journal as one record. A fn that fails is answered with its error and dropped, and the others
// run again in a fresh transaction, since the rollback undid what they wrote. When the fns
// together write more than one record holds, the transaction is rolled back and run again with
// the fns that fit; the rest follow in the next record.
func (s *Store) commitBatch(b *batch) {
	n := len(b.live) // how many of the live fns this transaction runs
	for len(b.live) > 0 {
		if p := s.stopped.Load(); p != nil {
			s.failAll(b, *p)
			return
		}
		tx, err := s.openTx()
		if err != nil {
			s.failAll(b, err)
			return
		}
		w := &opLog{b: make([]byte, 0, s.roundHint)}
		failed, over := -1, -1
		for j, i := range b.live[:n] {
			b.cur = i
			s.fnSeq++
			s.running.Store(s.fnSeq)
			mark := len(w.b)
			err := runFn(b.fns[i], &Tx{btx: tx, writable: true, wal: w, user: true})
			if err == nil && len(w.b)-mark > s.maxUpdate {
				err = fmt.Errorf("%w: an Update wrote %d bytes, more than MaxUpdateSize (%d)",
					ErrValueTooLarge, len(w.b)-mark, s.maxUpdate)
			}
			if err != nil {
				b.errs[i] = err
				failed = j
				break
			}
			if len(w.b) > s.maxUpdate {
				over = j // fns before j fit in one record; j starts the next one
				break
			}
		}
		s.running.Store(0)
		if failed >= 0 || over >= 0 {
			s.rollback()
			if failed >= 0 {
				s.failed.Add(1)
				b.live = slices.Delete(b.live, failed, failed+1)
				n = len(b.live)
			} else {
				n = over
			}
			continue
		}
		if s.beforeCommit != nil {
			s.beforeCommit()
		}
		if len(w.b) > 0 {
			if synced, err := s.jr.append(w.b); err != nil {
				s.rollback()
				if synced || errors.Is(err, ErrIO) {
					s.stop(err)
				}
				s.failAll(b, err)
				return
			}
			s.roundHint = min(len(w.b)+len(w.b)/4, s.maxUpdate)
			s.since = append(s.since, w.b)
			s.sinceBytes += len(w.b)
			s.mu.Lock()
			s.dirty = true
			s.mu.Unlock()
			s.scheduleSync()
			s.scheduleCheckpoint()
		}
		s.commits.Add(1)
		s.updates.Add(uint64(n))
		s.recovered()
		b.live = b.live[n:]
		n = len(b.live)
		if s.sinceBytes >= s.checkpointBytes {
			s.checkpoint()
		}
	}
}

// openTx returns the open bbolt transaction, beginning one if needed. A new transaction first
// replays the rounds journaled since the last checkpoint, which a rollback undid.
func (s *Store) openTx() (*bolt.Tx, error) {
	if s.wtx != nil {
		return s.wtx, nil
	}
	tx, err := s.db.Begin(true)
	if err != nil {
		return nil, mapError(err)
	}
	for _, p := range s.since {
		if err := applyOps(&Tx{btx: tx, writable: true}, p); err != nil {
			_ = tx.Rollback()
			return nil, fmt.Errorf("tribus/store: replaying journaled rounds: %w", err)
		}
	}
	s.wtx = tx
	return tx, nil
}

// rollback abandons the open transaction, if any.
func (s *Store) rollback() {
	if s.wtx != nil {
		_ = s.wtx.Rollback()
		s.wtx = nil
	}
}

// checkpoint commits the open transaction to bbolt (with bbolt's own fsyncs), recording the
// journal sequence number it contains, and then empties the journal. If the commit fails, the
// rounds stay in the journal and in s.since, and the next checkpoint tries again.
func (s *Store) checkpoint() {
	s.stopCheckpointTimer()
	if len(s.since) == 0 {
		s.rollback() // only reads ran in it
		return
	}
	tx, err := s.openTx()
	if err == nil {
		err = writeWALSeq(&Tx{btx: tx, writable: true}, s.jr.lsn)
	}
	if err == nil && s.beforeSync != nil {
		err = s.beforeSync("checkpoint")
	}
	if err == nil {
		err = mapError(tx.Commit())
		s.wtx = nil
	}
	if err != nil {
		s.rollback()
		err = ioError("checkpoint", err)
		s.checkpointErr.Store(&err)
		if !errors.Is(err, ErrDiskFull) {
			s.stop(err)
		}
		s.scheduleCheckpoint()
		return
	}
	s.checkpoints.Add(1)
	s.touchGrown()
	s.since = nil
	s.sinceBytes = 0
	s.mu.Lock()
	s.dirty = false
	s.mu.Unlock()
	if err := s.jr.reset(); err != nil {
		// The journal keeps old records; their sequence numbers are covered by the checkpoint,
		// so they are skipped on open. Appends go on after them.
		s.checkpointErr.Store(&err)
	}
}

// serveViews hands the open transaction to each waiting View in turn and waits for it to
// finish. A View that found unsaved rounds must see them, and only this transaction holds them.
func (s *Store) serveViews(views []*viewReq) {
	for _, v := range views {
		if len(s.since) > 0 {
			tx, err := s.openTx()
			v.btx, v.err = tx, err
		}
		close(v.ready)
		if v.btx != nil {
			<-v.done
		}
	}
}

// failAll answers every live fn of b with err.
func (s *Store) failAll(b *batch, err error) {
	for _, i := range b.live {
		b.errs[i] = err
	}
	s.failed.Add(uint64(len(b.live)))
	if !s.failing && s.logger != nil && (errors.Is(err, ErrDiskFull) || errors.Is(err, ErrIO)) {
		// Callers that Submit without waiting (deletes, acks) never see this error: say it once
		// per episode, so that a write that failed is never silent.
		s.logger.Warn("tribus/store: writes are failing", "err", err, "updates", len(b.live))
	}
	s.failing = true
	b.live = b.live[:0]
}

// recovered notes a committed round after failed ones, and says so once.
func (s *Store) recovered() {
	if s.failing {
		s.failing = false
		if s.logger != nil {
			s.logger.Info("tribus/store: writes succeed again")
		}
	}
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

// scheduleSync arranges the deferred journal flush of Options.SyncInterval after a round,
// unless one is already scheduled.
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
		if err := s.jr.flush(); err != nil {
			s.stop(err)
		}
	})
}

// stop makes every later Update fail with ErrIO, after err from a journal fsync or a
// checkpoint. Once an fsync has failed, the kernel may have dropped the dirty pages it could
// not write and marked them clean, so a later fsync can succeed without them (PostgreSQL's
// "fsyncgate", 2018): nothing written since the last good fsync is known to be on disk. The
// cause is kept as text only, so that a later Update matches ErrIO and not ErrDiskFull, which
// would invite a retry. The first cause wins.
func (s *Store) stop(err error) {
	e := fmt.Errorf("%w: the store stopped accepting writes after: %v", ErrIO, err)
	if s.stopped.CompareAndSwap(nil, &e) && s.logger != nil {
		s.logger.Error("tribus/store: stopped accepting writes until it is closed and opened again", "err", err)
	}
}

// stopSyncTimer cancels a scheduled flush (Close does a final one) and waits for one running.
func (s *Store) stopSyncTimer() {
	s.syncMu.Lock()
	if s.syncTimer != nil && s.syncTimer.Stop() {
		s.syncTimer = nil
		s.syncWG.Done()
	}
	s.syncMu.Unlock()
	s.syncWG.Wait()
}

// scheduleCheckpoint arms the timer that makes a checkpoint due CheckpointInterval after the
// first round since the last one. Only the committer calls it.
func (s *Store) scheduleCheckpoint() {
	if s.checkpointTimer != nil || s.checkpointInterval <= 0 {
		return
	}
	s.checkpointTimer = time.AfterFunc(s.checkpointInterval, func() {
		s.mu.Lock()
		s.checkpointDue = true
		s.cond.Signal()
		s.mu.Unlock()
	})
}

// stopCheckpointTimer disarms the checkpoint timer. Only the committer calls it.
func (s *Store) stopCheckpointTimer() {
	if s.checkpointTimer != nil {
		s.checkpointTimer.Stop()
		s.checkpointTimer = nil
	}
}
