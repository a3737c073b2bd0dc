package store

import (
	bolt "go.etcd.io/bbolt"
	"slices"
)

// Tx is a transaction, handed to the function given to [Store.Update] (read-write) or
// [Store.View] (read-only). It is valid only until that function returns and must not be used
// from more than one goroutine.
//
// Buckets are addressed by a path of names from the top: tx.Bucket("exchange", "queues", "q1").
type Tx struct {
	btx      *bolt.Tx // set on the bbolt backend
	mem      *memDB   // set on the memory backend
	mtx      *memTx   // the memory backend's undo log; nil in View
	wal      *opLog   // records this round's writes for the journal; nil when not journaling
	writable bool
	closed   bool
	user     bool // handed to a caller's function: reserved buckets and keys are refused
}

// Writable reports whether tx was handed out by Update.
func (tx *Tx) Writable() bool { return tx.writable }

func (tx *Tx) close() { tx.closed = true }

// Bucket returns the bucket at path, or nil if path is empty or any bucket along it is missing.
func (tx *Tx) Bucket(path ...string) *Bucket {
	if len(path) == 0 || tx.closed {
		return nil
	}
	if tx.btx != nil && len(path) > 1 {
		// bbolt's buckets are walked directly: one Bucket and one copy of path, rather than
		// one of each per level (a delete of a queue's record looks up three levels).
		bb := tx.btx.Bucket([]byte(path[0]))
		for _, name := range path[1:] {
			if bb == nil {
				return nil
			}
			bb = bb.Bucket([]byte(name))
		}
		if bb == nil {
			return nil
		}
		b := &Bucket{tx: tx, bb: bb}
		if tx.wal != nil {
			b.path = slices.Clone(path)
		}
		return b
	}
	b := tx.top(path[0])
	for _, name := range path[1:] {
		if b == nil {
			return nil
		}
		b = b.Bucket(name)
	}
	return b
}

// CreateBucketIfNotExists returns the bucket at path, creating it and any missing parents.
// It fails with [ErrReadOnly] in View, [ErrInvalidKey] for an empty path or name, and
// [ErrIncompatible] if a name along path holds a value.
func (tx *Tx) CreateBucketIfNotExists(path ...string) (*Bucket, error) {
	if err := tx.writeCheck(); err != nil {
		return nil, err
	}
	if len(path) == 0 {
		return nil, ErrInvalidKey
	}
	for _, name := range path { // all first, so that a bad name creates no parent
		if err := checkKey([]byte(name)); err != nil {
			return nil, err
		}
	}
	b, err := tx.createTop(path[0])
	for _, name := range path[1:] {
		if err != nil {
			return nil, err
		}
		b, err = b.CreateBucketIfNotExists(name)
	}
	return b, err
}

// DeleteBucket deletes the bucket at path with everything in it. It fails with [ErrNotFound] if
// the bucket or a parent is missing, [ErrInvalidKey] for an empty path or a name that is empty
// or longer than [MaxKeySize], [ErrReserved] for [BucketMeta],
// [ErrIncompatible] if the last name holds a value, and [ErrReadOnly] in View. Handles to the deleted bucket or its children must not be used after.
func (tx *Tx) DeleteBucket(path ...string) error {
	if err := tx.writeCheck(); err != nil {
		return err
	}
	if len(path) == 0 {
		return ErrInvalidKey
	}
	for _, name := range path {
		if err := checkKey([]byte(name)); err != nil {
			return err
		}
	}
	last := path[len(path)-1]
	if len(path) == 1 && tx.user && last == BucketMeta {
		return ErrReserved
	}
	if len(path) > 1 {
		parent := tx.Bucket(path[:len(path)-1]...)
		if parent == nil {
			return ErrNotFound
		}
		return parent.DeleteBucket(last)
	}
	if tx.btx != nil {
		if err := tx.btx.DeleteBucket([]byte(last)); err != nil {
			return mapError(err)
		}
		if tx.wal != nil {
			tx.wal.bucket(opDeleteBucket, path)
		}
		return nil
	}
	return tx.memRoot().DeleteBucket(last)
}

// top returns the top-level bucket name, or nil.
func (tx *Tx) top(name string) *Bucket {
	var b *Bucket
	if tx.btx == nil {
		b = tx.memRoot().Bucket(name)
	} else if bb := tx.btx.Bucket([]byte(name)); bb != nil {
		b = &Bucket{tx: tx, bb: bb, path: tx.walPath(nil, name)}
	}
	if b != nil {
		b.meta = name == BucketMeta
	}
	return b
}

// walPath returns the path of bucket name under parent when tx records a journal, else nil.
// The result never shares parent's backing array.
func (tx *Tx) walPath(parent []string, name string) []string {
	if tx.wal == nil {
		return nil
	}
	p := make([]string, len(parent)+1)
	copy(p, parent)
	p[len(parent)] = name
	return p
}

// createTop returns the top-level bucket name, creating it if needed.
func (tx *Tx) createTop(name string) (*Bucket, error) {
	if b := tx.top(name); b != nil {
		return b, nil
	}
	if tx.btx == nil {
		return tx.memRoot().CreateBucketIfNotExists(name)
	}
	if err := checkKey([]byte(name)); err != nil {
		return nil, err
	}
	bb, err := tx.btx.CreateBucket([]byte(name))
	if err != nil {
		return nil, mapError(err)
	}
	b := &Bucket{tx: tx, bb: bb, path: tx.walPath(nil, name)}
	if tx.wal != nil {
		tx.wal.bucket(opCreateBucket, b.path)
	}
	return b, nil
}

// memRoot returns the memory backend's root, the bucket whose children are the top-level
// buckets.
func (tx *Tx) memRoot() *Bucket { return &Bucket{tx: tx, mb: tx.mem.root} }

// isEmpty reports whether the store has no top-level bucket at all.
func (tx *Tx) isEmpty() bool {
	if tx.btx == nil {
		return len(tx.mem.root.subs) == 0
	}
	k, _ := tx.btx.Cursor().First()
	return k == nil
}

// writeCheck returns the error a write through tx must fail with, if any.
func (tx *Tx) writeCheck() error {
	switch {
	case tx.closed:
		return ErrTxClosed
	case !tx.writable:
		return ErrReadOnly
	}
	return nil
}
