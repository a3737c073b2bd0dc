package store

import (
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/tribusmq/tribus/internal/sentinel"
)

var (
	// ErrClosed is returned by [Store.Update] and [Store.View] once [Store.Close] has begun, and
	// by Close itself after the first call. errors.Is(err, sentinel.ErrClosed) holds for it.
	ErrClosed = fmt.Errorf("tribus/store: %w", sentinel.ErrClosed)

	// ErrReadOnly is returned by a write (Put, Delete, CreateBucketIfNotExists, DeleteBucket,
	// NextSequence) made through a [Tx] that [Store.View] handed out.
	ErrReadOnly = errors.New("tribus/store: read-only transaction")

	// ErrNotFound is returned by DeleteBucket when the bucket, or one of its parents, does not
	// exist.
	ErrNotFound = errors.New("tribus/store: not found")

	// ErrSchemaVersion is returned by [Open] when the file has no schema version or one this
	// build does not know. It is wrapped with the version found; the file is left untouched.
	ErrSchemaVersion = errors.New("tribus/store: unknown schema version")

	// ErrLocked is returned by [Open] when another handle, in this process or another one, holds
	// the file's lock for longer than [Options.LockTimeout].
	ErrLocked = errors.New("tribus/store: database file is locked by another handle")

	// ErrPanic is returned by [Store.Update] when its function panicked (or, on the bbolt
	// backend, called runtime.Goexit). It is wrapped with the panic value; nothing the function
	// wrote is kept.
	ErrPanic = errors.New("tribus/store: update function panicked")

	// ErrTxClosed is returned when a [Tx] or [Bucket] is used after the function it was handed
	// to has returned.
	ErrTxClosed = errors.New("tribus/store: transaction used after its function returned")

	// ErrInvalidKey is returned when a key or bucket name is empty or longer than [MaxKeySize].
	ErrInvalidKey = errors.New("tribus/store: key or bucket name is empty or too long")

	// ErrValueTooLarge is returned by [Bucket.Put] when the value is longer than [MaxValueSize].
	ErrValueTooLarge = errors.New("tribus/store: value too large")

	// ErrCorrupt is returned by [Open] when the journal holds a record that passed its checksum
	// but cannot be applied (an unknown operation, a write into a bucket that does not exist),
	// or when the journal and the bbolt file disagree about which records the file holds. It is
	// wrapped with the detail; nothing is changed.
	ErrCorrupt = errors.New("tribus/store: corrupt journal")

	// ErrIncompatible is returned when a key names a value where a bucket was expected, or a
	// bucket where a value was expected: Put or Delete of a bucket's name, CreateBucketIfNotExists
	// or DeleteBucket of a value's key.
	ErrIncompatible = errors.New("tribus/store: key holds a value where a bucket was expected, or the reverse")
)

// mapError turns a bbolt error into this package's sentinel, keeping bbolt's text as detail.
func mapError(err error) error {
	var base error
	switch {
	case err == nil:
		return nil
	case errors.Is(err, bolterrors.ErrTimeout):
		base = ErrLocked
	case errors.Is(err, bolterrors.ErrDatabaseNotOpen):
		return ErrClosed
	case errors.Is(err, bolterrors.ErrTxNotWritable), errors.Is(err, bolterrors.ErrDatabaseReadOnly):
		return ErrReadOnly
	case errors.Is(err, bolterrors.ErrTxClosed):
		return ErrTxClosed
	case errors.Is(err, bolterrors.ErrBucketNotFound):
		return ErrNotFound
	case errors.Is(err, bolterrors.ErrKeyRequired), errors.Is(err, bolterrors.ErrKeyTooLarge),
		errors.Is(err, bolterrors.ErrBucketNameRequired):
		base = ErrInvalidKey
	case errors.Is(err, bolterrors.ErrValueTooLarge):
		return ErrValueTooLarge
	case errors.Is(err, bolterrors.ErrIncompatibleValue):
		return ErrIncompatible
	default:
		return fmt.Errorf("tribus/store: %w", err)
	}
	return fmt.Errorf("%w: %w", base, err)
}

// checkKey enforces bbolt's key rules on both backends, so they fail alike.
func checkKey(key []byte) error {
	if len(key) == 0 || len(key) > MaxKeySize {
		return ErrInvalidKey
	}
	return nil
}

// MaxKeySize is the longest key or bucket name, in bytes (bbolt's limit, kept by both backends).
const MaxKeySize = bolt.MaxKeySize

// MaxValueSize is the longest value, in bytes (bbolt's limit, kept by both backends).
const MaxValueSize = bolt.MaxValueSize
