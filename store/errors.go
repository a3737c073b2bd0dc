package store

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/tribusmq/tribus/internal/diskspace"
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

	// ErrValueTooLarge is returned by [Bucket.Put] and [Bucket.PutOwned] when the value is
	// longer than [MaxValueSize], and by [Store.Update] when its function wrote more than
	// [MaxUpdateSize] in all. Nothing is written.
	ErrValueTooLarge = errors.New("tribus/store: value too large")

	// ErrCorrupt is returned by [Open] when the journal is damaged anywhere but in its torn
	// tail (a record that fails its length or checksum check with a valid record after it, see
	// [CorruptJournalError]), holds a record that passed its checksum but cannot be applied (an
	// unknown operation, a write into a bucket that does not exist), or when the journal and the
	// bbolt file disagree about which records the file holds. It is wrapped with the detail;
	// nothing is changed. errors.Is(err, sentinel.ErrCorrupt) holds for it, so the root's
	// tribus.ErrCorrupt matches.
	ErrCorrupt = fmt.Errorf("tribus/store: %w", sentinel.ErrCorrupt)

	// [Open] also returns an error wrapping ErrCorrupt when the bbolt file itself fails bbolt's
	// checks (both meta pages invalid, a checksum or version mismatch) or is truncated so that
	// bbolt would read past its end; the file is left untouched.

	// ErrMissingJournal is returned by [Open] when the bbolt file records a journal sequence
	// number (every store created by this version does, from its first Open) but the journal
	// file beside it does not exist: the journaled rounds not yet checkpointed would be lost.
	// Nothing is created. It wraps [ErrCorrupt].
	ErrMissingJournal = fmt.Errorf("%w: journal file is missing", ErrCorrupt)

	// ErrNestedTx is returned by [Store.Update], by the wait function of [Store.Submit], and by
	// [Store.View] and [Store.Close], when they are called on the bbolt backend from inside a
	// function given to Update or Submit of the same store (which runs on the committer
	// goroutine): they would wait for the committer, which is running the caller. Nothing is
	// queued or changed; the nested Update's function never runs.
	ErrNestedTx = errors.New("tribus/store: Update, View or Close called from inside an Update function of the same store")

	// ErrNilFunc is returned by [Store.Update], [Store.Submit] (through its wait function) and
	// [Store.View] when the function given is nil. Nothing is queued.
	ErrNilFunc = errors.New("tribus/store: nil function")

	// ErrReserved is returned by [Tx.DeleteBucket] of [BucketMeta], and by a Put, PutOwned or
	// Delete of [SchemaKey] or of the journal's sequence key in BucketMeta: the store needs them
	// to open again. Nothing is changed. (An engine may delete and recreate its own top-level
	// bucket.)
	ErrReserved = errors.New("tribus/store: reserved bucket or key")

	// ErrDiskFull is returned when the file system holding the store ran out of space (ENOSPC,
	// EDQUOT) on a journal write, a checkpoint into the bbolt file, or Open's replay of the
	// journal; the failed Update's writes are not kept, and later Updates are tried again as
	// usual. It is also what [Store.ReserveSpace] returns under [Options.DiskFreeLimit] (as a
	// *diskspace.LimitError). errors.Is(err, sentinel.ErrDiskFull) holds for it, so the root's
	// tribus.ErrDiskFull matches.
	ErrDiskFull = fmt.Errorf("tribus/store: %w", sentinel.ErrDiskFull)

	// ErrIO is returned when a read, write or fsync of the store's files failed for any other
	// reason. After a failed fsync of the journal, or a failed checkpoint that was not for lack
	// of space, the store stops accepting writes: every later Update fails with ErrIO, since what
	// reached the disk is unknown (see the package documentation, # Caveats). Views go on.
	// errors.Is(err, sentinel.ErrIO) holds for it, so tribus.ErrIO matches.
	ErrIO = fmt.Errorf("tribus/store: %w", sentinel.ErrIO)

	// ErrIncompatible is returned when a key names a value where a bucket was expected, or a
	// bucket where a value was expected: Put or Delete of a bucket's name, CreateBucketIfNotExists
	// or DeleteBucket of a value's key.
	ErrIncompatible = errors.New("tribus/store: key holds a value where a bucket was expected, or the reverse")
)

// CorruptJournalError is returned by [Open] when the journal file is damaged in a way a crash
// cannot explain: a record fails its length or checksum check, or breaks the sequence, and a
// valid, newer record follows it, or the file does not start with the journal magic. Open then
// changes nothing on disk. errors.Is(err, ErrCorrupt) holds for it. See the package
// documentation (# Caveats) for what an operator does next.
type CorruptJournalError struct {
	Path   string // the journal file
	Offset int64  // byte offset of the damaged record; -1 if the file as a whole disagrees with bbolt
	Reason string // what is wrong there
}

// Error reports the file, the offset and the reason.
func (e *CorruptJournalError) Error() string {
	return fmt.Sprintf("%v: %s at offset %d: %s", ErrCorrupt, e.Path, e.Offset, e.Reason)
}

// Unwrap returns [ErrCorrupt].
func (e *CorruptJournalError) Unwrap() error { return ErrCorrupt }

// ioError classifies err, from a read, write or sync of the store's files, as [ErrDiskFull]
// (ENOSPC, EDQUOT) or [ErrIO] (anything else), naming what failed; an error that already
// carries one of the shared sentinels is returned as it is.
func ioError(what string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sentinel.ErrDiskFull), errors.Is(err, sentinel.ErrIO),
		errors.Is(err, sentinel.ErrCorrupt), errors.Is(err, sentinel.ErrClosed):
		return err
	case errors.Is(diskspace.Wrap(err), sentinel.ErrDiskFull):
		return fmt.Errorf("%w: %s: %w", ErrDiskFull, what, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrIO, what, err)
}

// isOSError reports whether err comes from the operating system (a failed system call), as
// opposed to one of bbolt's own conditions.
func isOSError(err error) bool {
	var pe *fs.PathError
	var errno syscall.Errno
	return errors.As(err, &pe) || errors.As(err, &errno)
}

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
	case errors.Is(err, bolterrors.ErrInvalid), errors.Is(err, bolterrors.ErrChecksum),
		errors.Is(err, bolterrors.ErrVersionMismatch), errors.Is(err, bolterrors.ErrInvalidMapping):
		base = ErrCorrupt
	case isOSError(err):
		return ioError("bbolt file", err)
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

// MaxValueSize is the longest value, in bytes, on both backends: 513 MiB, so that the largest
// message RabbitMQ accepts (its hard max_message_size of 512 MiB, rabbit.hrl MAX_MSG_SIZE)
// fits in one value with 1 MiB to spare for its properties. It is below bbolt's own limit
// (about 2 GiB) so that one Put always fits in a journal record ([MaxUpdateSize]). A longer
// value fails with [ErrValueTooLarge] before anything is written or journaled.
const MaxValueSize = 512<<20 + 1<<20

// MaxUpdateSize is the most one Update may write, in bytes of its journal record (each write
// costs its key, value and bucket names plus a few bytes). A function that writes more fails
// with [ErrValueTooLarge] and nothing it wrote is kept; the other functions of its round are
// not affected. Functions of one round that together exceed it are committed in several
// journal records, never refused.
const MaxUpdateSize = maxRecordLen

// MaxValueSize must stay at or below bbolt's limit: this fails to compile otherwise.
var _ [bolt.MaxValueSize - MaxValueSize]struct{}
