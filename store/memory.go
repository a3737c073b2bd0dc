package store

import (
	"slices"
	"sync"
	"sync/atomic"
)

// memDB is the memory backend. mu is held for writing by an Update (while fn runs and until it
// is committed or undone) and for reading by each View, so a View never sees half an update.
type memDB struct {
	id uint64 // the store's number, spelled on the stack while a transaction runs (nested.go)
	mu sync.RWMutex
	// viewers counts running views, so that a view checks whether it is nested in another only
	// while there is one.
	viewers atomic.Int64
	root    *memBucket // its subs are the top-level buckets; it holds no values
	closed  bool
}

// memBucket is a bucket of the memory backend. keys is values' key set, kept sorted so that
// ForEach and Seek need no sort; stored values are never modified, only replaced.
type memBucket struct {
	values map[string][]byte
	keys   []string
	subs   map[string]*memBucket
	seq    uint64
}

// memTx records how to undo each write of an Update, newest last. Rollback replays it backwards.
type memTx struct {
	undo []func()
}

func newMemDB(id uint64) *memDB { return &memDB{id: id, root: newMemBucket()} }

// lock takes the write lock, or returns ErrNestedTx when the caller is inside a transaction of
// this store and so holds a lock that keeps it from ever getting it.
func (m *memDB) lock() error {
	if !m.mu.TryLock() {
		if callerInTx(m.id) {
			return ErrNestedTx
		}
		m.mu.Lock()
	}
	return nil
}

func newMemBucket() *memBucket {
	return &memBucket{values: map[string][]byte{}, subs: map[string]*memBucket{}}
}

// update runs fn under the write lock and undoes its writes if it fails. ran is false when the
// store was closed and fn did not run.
func (m *memDB) update(fn func(*Tx) error) (ran bool, err error) {
	if err := m.lock(); err != nil {
		return false, err
	}
	if m.closed {
		m.mu.Unlock()
		return false, ErrClosed
	}
	mtx := &memTx{}
	ok := false
	// Deferred so that a fn calling runtime.Goexit still leaves the store as it found it.
	defer func() {
		if !ok {
			mtx.rollback()
		}
		m.mu.Unlock()
	}()
	err = inTx(m.id, func() error { return runFn(fn, &Tx{mem: m, mtx: mtx, writable: true, user: true}) })
	ok = err == nil
	return true, err
}

// view runs fn under the read lock. A read lock the caller asks for while it already holds one
// would wait behind any waiting writer, which waits for the first read lock, so a view nested
// in a view is refused like any other nested call, as on the bbolt backend.
func (m *memDB) view(fn func(*Tx) error) error {
	if !m.mu.TryRLock() {
		if callerInTx(m.id) {
			return ErrNestedTx
		}
		m.mu.RLock()
	} else if m.viewers.Load() > 0 && callerInTx(m.id) {
		m.mu.RUnlock()
		return ErrNestedTx
	}
	m.viewers.Add(1)
	defer m.viewers.Add(-1)
	defer m.mu.RUnlock()
	if m.closed {
		return ErrClosed
	}
	tx := &Tx{mem: m}
	defer tx.close()
	return inTx(m.id, func() error { return fn(tx) })
}

// close waits for running Updates and Views, then drops the data.
func (m *memDB) close() error {
	if err := m.lock(); err != nil {
		return err
	}
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	m.closed = true
	m.root = newMemBucket()
	return nil
}

func (t *memTx) rollback() {
	for i := len(t.undo) - 1; i >= 0; i-- {
		t.undo[i]()
	}
	t.undo = nil
}

// put sets k to v, which the bucket now owns.
func (b *memBucket) put(t *memTx, k string, v []byte) error {
	if _, ok := b.subs[k]; ok {
		return ErrIncompatible
	}
	old, had := b.values[k]
	b.set(k, v)
	t.undo = append(t.undo, func() {
		if had {
			b.set(k, old)
		} else {
			b.unset(k)
		}
	})
	return nil
}

func (b *memBucket) delete(t *memTx, k string) error {
	if _, ok := b.subs[k]; ok {
		return ErrIncompatible
	}
	old, had := b.values[k]
	if !had {
		return nil
	}
	b.unset(k)
	t.undo = append(t.undo, func() { b.set(k, old) })
	return nil
}

func (b *memBucket) createBucket(t *memTx, name string) (*memBucket, error) {
	if _, ok := b.values[name]; ok {
		return nil, ErrIncompatible
	}
	if sub, ok := b.subs[name]; ok {
		return sub, nil
	}
	sub := newMemBucket()
	b.subs[name] = sub
	t.undo = append(t.undo, func() { delete(b.subs, name) })
	return sub, nil
}

func (b *memBucket) deleteBucket(t *memTx, name string) error {
	if _, ok := b.values[name]; ok {
		return ErrIncompatible
	}
	sub, ok := b.subs[name]
	if !ok {
		return ErrNotFound
	}
	delete(b.subs, name)
	t.undo = append(t.undo, func() { b.subs[name] = sub })
	return nil
}

func (b *memBucket) nextSequence(t *memTx) uint64 {
	old := b.seq
	b.seq++
	t.undo = append(t.undo, func() { b.seq = old })
	return b.seq
}

// set stores v under k, adding k to keys if new. Keys usually arrive in ascending order
// (sequence numbers, offsets), so appending is the common case.
func (b *memBucket) set(k string, v []byte) {
	if _, ok := b.values[k]; !ok {
		if n := len(b.keys); n == 0 || b.keys[n-1] < k {
			b.keys = append(b.keys, k)
		} else {
			i, _ := slices.BinarySearch(b.keys, k)
			b.keys = slices.Insert(b.keys, i, k)
		}
	}
	b.values[k] = v
}

func (b *memBucket) unset(k string) {
	if _, ok := b.values[k]; !ok {
		return
	}
	delete(b.values, k)
	if i, found := slices.BinarySearch(b.keys, k); found {
		b.keys = slices.Delete(b.keys, i, i+1)
	}
}

// seek walks keys from the first >= from. It finds its place again after each call to fn, so
// a fn that does modify the bucket still sees every remaining key once.
func (b *memBucket) seek(from []byte, fn func(k, v []byte) (bool, error)) error {
	i, _ := slices.BinarySearch(b.keys, string(from))
	for i < len(b.keys) {
		k := b.keys[i]
		more, err := fn([]byte(k), b.values[k])
		if err != nil || !more {
			return err
		}
		if i < len(b.keys) && b.keys[i] == k {
			i++
			continue
		}
		j, found := slices.BinarySearch(b.keys, k)
		if found {
			j++
		}
		i = j
	}
	return nil
}

func (b *memBucket) forEachBucket(fn func(name []byte) error) error {
	names := make([]string, 0, len(b.subs))
	for name := range b.subs {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if _, ok := b.subs[name]; !ok {
			continue
		}
		if err := fn([]byte(name)); err != nil {
			return err
		}
	}
	return nil
}
