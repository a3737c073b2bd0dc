package store

import (
	"bytes"

	bolt "go.etcd.io/bbolt"
)

// Bucket is a sorted map from byte keys to byte values, with nested buckets beside the values.
// A key names either a value or a nested bucket, never both. A Bucket is valid only while its
// [Tx] is, and not after it or a parent is deleted.
type Bucket struct {
	tx *Tx
	bb *bolt.Bucket // set on the bbolt backend
	mb *memBucket   // set on the memory backend

	path []string     // the names from the top, kept only when tx records a journal
	meta bool         // the top-level BucketMeta, whose reserved keys a caller may not write
	cur  *bolt.Cursor // Delete's, made at the first and repositioned by each
}

// checkWrite returns the error a write of key into b must fail with, if any.
func (b *Bucket) checkWrite(key []byte) error {
	if err := b.tx.writeCheck(); err != nil {
		return err
	}
	if err := checkKey(key); err != nil {
		return err
	}
	if b.meta && b.tx.user && (string(key) == SchemaKey || string(key) == walKey) {
		return ErrReserved
	}
	return nil
}

// Get returns the value of key, or nil if there is none or key names a nested bucket. An empty
// value comes back as a non-nil empty slice. The returned slice belongs to the store: it is
// valid only until the transaction ends, and must not be modified.
func (b *Bucket) Get(key []byte) []byte {
	if b.tx.closed {
		return nil
	}
	if b.bb != nil {
		return b.bb.Get(key)
	}
	return b.mb.values[string(key)]
}

// Put sets key to value. It keeps neither slice: the caller may reuse both once Put returns.
// It fails with [ErrReadOnly] in View, [ErrInvalidKey], [ErrValueTooLarge], [ErrIncompatible]
// if key names a nested bucket, or [ErrReserved] for a key the store keeps in [BucketMeta].
func (b *Bucket) Put(key, value []byte) error {
	if err := b.checkWrite(key); err != nil {
		return err
	}
	if int64(len(value)) > MaxValueSize {
		return ErrValueTooLarge
	}
	v := bytes.Clone(value)
	if v == nil {
		v = []byte{}
	}
	if b.bb != nil {
		// bbolt keeps a reference to the value until commit; v is ours alone.
		return b.boltPut(key, v)
	}
	return b.mb.put(b.tx.mtx, string(key), v)
}

// PutOwned is Put without the defensive copy: the caller hands key and value over and must not
// modify them afterwards. For hot paths that build a fresh value for each write.
func (b *Bucket) PutOwned(key, value []byte) error {
	if err := b.checkWrite(key); err != nil {
		return err
	}
	if int64(len(value)) > MaxValueSize {
		return ErrValueTooLarge
	}
	if value == nil {
		value = []byte{}
	}
	if b.bb != nil {
		return b.boltPut(key, value)
	}
	return b.mb.put(b.tx.mtx, string(key), value)
}

// boltPut puts on the bbolt backend and records the write.
func (b *Bucket) boltPut(key, value []byte) error {
	if err := b.bb.Put(key, value); err != nil {
		return mapError(err)
	}
	if b.tx.wal != nil {
		b.tx.wal.put(b.path, key, value)
	}
	return nil
}

// Delete removes key. A missing key is not an error, nor is a key no value can have (empty,
// or longer than [MaxKeySize]): nothing is deleted, as in bbolt. It fails with [ErrReadOnly] in
// View, [ErrIncompatible] if key names a nested bucket, and [ErrReserved] for a key the store
// keeps in [BucketMeta].
func (b *Bucket) Delete(key []byte) error {
	if err := b.tx.writeCheck(); err != nil {
		return err
	}
	if b.meta && b.tx.user && (string(key) == SchemaKey || string(key) == walKey) {
		return ErrReserved
	}
	if b.bb != nil {
		if err := b.boltDelete(key); err != nil {
			return mapError(err)
		}
		if b.tx.wal != nil {
			b.tx.wal.delete(b.path, key)
		}
		return nil
	}
	return b.mb.delete(b.tx.mtx, string(key))
}

// ForEach calls fn for each value in ascending byte order of keys, skipping nested buckets
// (see [Bucket.ForEachBucket]), and stops at the first error fn returns, which it returns.
// k and v are valid only until the transaction ends. fn must not modify the bucket.
func (b *Bucket) ForEach(fn func(k, v []byte) error) error {
	return b.Seek(nil, func(k, v []byte) (bool, error) {
		return true, fn(k, v)
	})
}

// Seek calls fn for each value whose key is >= from, in ascending byte order of keys, skipping
// nested buckets, until fn returns more == false or an error, which Seek returns. A nil or
// empty from starts at the first key. k and v are valid only until the transaction ends.
// fn must not modify the bucket.
func (b *Bucket) Seek(from []byte, fn func(k, v []byte) (more bool, err error)) error {
	if b.tx.closed {
		return ErrTxClosed
	}
	if b.mb != nil {
		return b.mb.seek(from, fn)
	}
	c := b.bb.Cursor()
	for k, v := c.Seek(from); k != nil; k, v = c.Next() {
		if v == nil { // a nested bucket
			continue
		}
		more, err := fn(k, v)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// ForEachBucket calls fn with the name of each nested bucket, in ascending byte order, and
// stops at the first error fn returns, which it returns. fn must not modify the bucket.
func (b *Bucket) ForEachBucket(fn func(name []byte) error) error {
	if b.tx.closed {
		return ErrTxClosed
	}
	if b.mb != nil {
		return b.mb.forEachBucket(fn)
	}
	return b.bb.ForEachBucket(fn)
}

// NextSequence increments the bucket's sequence and returns it; the first call returns 1.
// The increment is rolled back with the transaction. It fails with [ErrReadOnly] in View.
func (b *Bucket) NextSequence() (uint64, error) {
	if err := b.tx.writeCheck(); err != nil {
		return 0, err
	}
	if b.bb != nil {
		n, err := b.bb.NextSequence()
		if err != nil {
			return 0, mapError(err)
		}
		if b.tx.wal != nil {
			b.tx.wal.setSequence(b.path, n)
		}
		return n, nil
	}
	return b.mb.nextSequence(b.tx.mtx), nil
}

// setSequence sets the bucket's sequence to n; journal replay uses it.
func (b *Bucket) setSequence(n uint64) error {
	if err := b.tx.writeCheck(); err != nil {
		return err
	}
	if b.bb != nil {
		return mapError(b.bb.SetSequence(n))
	}
	old := b.mb.seq
	b.mb.seq = n
	b.tx.mtx.undo = append(b.tx.mtx.undo, func() { b.mb.seq = old })
	return nil
}

// Bucket returns the nested bucket name, or nil if there is none.
func (b *Bucket) Bucket(name string) *Bucket {
	if b.tx.closed {
		return nil
	}
	if b.bb != nil {
		bb := b.bb.Bucket([]byte(name))
		if bb == nil {
			return nil
		}
		return &Bucket{tx: b.tx, bb: bb, path: b.tx.walPath(b.path, name)}
	}
	mb := b.mb.subs[name]
	if mb == nil {
		return nil
	}
	return &Bucket{tx: b.tx, mb: mb}
}

// CreateBucketIfNotExists returns the nested bucket name, creating it if needed. It fails with
// [ErrReadOnly] in View, [ErrInvalidKey], or [ErrIncompatible] if name holds a value.
func (b *Bucket) CreateBucketIfNotExists(name string) (*Bucket, error) {
	if err := b.tx.writeCheck(); err != nil {
		return nil, err
	}
	if err := checkKey([]byte(name)); err != nil {
		return nil, err
	}
	if b.bb != nil {
		if bb := b.bb.Bucket([]byte(name)); bb != nil {
			return &Bucket{tx: b.tx, bb: bb, path: b.tx.walPath(b.path, name)}, nil
		}
		bb, err := b.bb.CreateBucket([]byte(name))
		if err != nil {
			return nil, mapError(err)
		}
		nb := &Bucket{tx: b.tx, bb: bb, path: b.tx.walPath(b.path, name)}
		if b.tx.wal != nil {
			b.tx.wal.bucket(opCreateBucket, nb.path)
		}
		return nb, nil
	}
	mb, err := b.mb.createBucket(b.tx.mtx, name)
	if err != nil {
		return nil, err
	}
	return &Bucket{tx: b.tx, mb: mb}, nil
}

// DeleteBucket deletes the nested bucket name with everything in it. It fails with
// [ErrNotFound] if there is none, [ErrInvalidKey] if name is empty or longer than
// [MaxKeySize], [ErrIncompatible] if name holds a value, and [ErrReadOnly] in View.
func (b *Bucket) DeleteBucket(name string) error {
	if err := b.tx.writeCheck(); err != nil {
		return err
	}
	if err := checkKey([]byte(name)); err != nil {
		return err
	}
	if b.bb != nil {
		if err := b.bb.DeleteBucket([]byte(name)); err != nil {
			return mapError(err)
		}
		if b.tx.wal != nil {
			b.tx.wal.bucket(opDeleteBucket, b.tx.walPath(b.path, name))
		}
		return nil
	}
	return b.mb.deleteBucket(b.tx.mtx, name)
}

// boltDelete is bbolt's Bucket.Delete on one cursor for all of b's deletes: bbolt's makes a
// cursor, and grows its stack, for every key. Seek starts from the root each time, so the
// cursor stays right after the deletes before it.
func (b *Bucket) boltDelete(key []byte) error {
	if len(key) == 0 {
		return nil // no value has it; Seek would find the first key
	}
	if b.cur == nil {
		b.cur = b.bb.Cursor()
	}
	k, _ := b.cur.Seek(key)
	if !bytes.Equal(k, key) {
		return nil
	}
	return b.cur.Delete()
}

// AppendOrder tells the store that b's keys are written in ascending order, as a log's or a
// queue's positions are, so that the pages a write transaction splits are filled to the brim
// rather than half: half the pages to write, cache and read back. Keys written out of order
// still land where they belong; only the page layout changes. It lasts for b's transaction.
func (b *Bucket) AppendOrder() {
	if b != nil && b.bb != nil {
		b.bb.FillPercent = 1
	}
}
