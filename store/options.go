package store

import (
	"fmt"
	"log/slog"
	"os"
	"time"
)

// Top-level buckets, one per engine plus meta. Open and OpenMemory create them; engines nest
// their own buckets inside.
const (
	// BucketMeta holds store-wide keys such as [SchemaKey].
	BucketMeta = "meta"
	// BucketExchange belongs to the exchange router: declarations and durable messages.
	BucketExchange = "exchange"
	// BucketLog belongs to the commit log: topic configs and committed offsets.
	BucketLog = "log"
	// BucketPubSub belongs to the pub/sub hub.
	BucketPubSub = "pubsub"
)

// topBuckets lists the buckets created at open, in creation order.
var topBuckets = []string{BucketMeta, BucketExchange, BucketLog, BucketPubSub}

// SchemaKey is the key in [BucketMeta] whose value is the schema version as a 4-byte
// big-endian uint32.
const SchemaKey = "schema"

// SchemaVersion is the layout version this build writes into new files and accepts in existing
// ones. Any other version is refused with [ErrSchemaVersion], never guessed.
const SchemaVersion = 1

// Defaults for the zero value of [Options] fields.
const (
	// DefaultLockTimeout is used when [Options.LockTimeout] is zero.
	DefaultLockTimeout = 100 * time.Millisecond
	// DefaultMaxBatch is used when [Options.MaxBatch] is zero.
	DefaultMaxBatch = 1000
	// DefaultCheckpointBytes is used when [Options.CheckpointBytes] is zero.
	DefaultCheckpointBytes = 16 << 20
	// DefaultCheckpointInterval is used when [Options.CheckpointInterval] is zero.
	DefaultCheckpointInterval = time.Second
)

// JournalSuffix is appended to the bbolt file's path to name its journal, which [Open] creates
// beside it. The two files belong together: copy or delete both.
const JournalSuffix = "-journal"

// Options configures [Open]. The zero value, and a nil *Options, mean defaults.
// OpenMemory takes none: it has no file, and nothing to tune.
type Options struct {
	// NoSync skips the fsync after each commit (the journal's, and bbolt's at checkpoints).
	// Default false.
	// A commit then reaches only the operating system's page cache: a process crash
	// (kill -9) loses nothing, but an OS crash or power loss can lose transactions that
	// Update reported as committed and can leave the file corrupt. Use it for tests and bulk
	// loads that can be redone, never for data a caller was told is durable.
	NoSync bool

	// SyncInterval, when positive, replaces the journal fsync after every commit by one fsync
	// at most SyncInterval after a commit (and one at Close). Commits are then acknowledged
	// before they are on disk: a process crash loses nothing, but an OS crash or power loss can
	// lose what was committed in the last SyncInterval. Checkpoints into the bbolt file keep
	// bbolt's own fsyncs, so the file is never left corrupt. Zero means an fsync per commit;
	// negative is invalid. Ignored with NoSync.
	SyncInterval time.Duration

	// CheckpointBytes is how many bytes of journaled writes accumulate before they are
	// committed into the bbolt file (a checkpoint: bbolt's two fsyncs, then the journal is
	// emptied). It bounds the journal's size, the replay work on open, and the memory of the
	// open bbolt transaction. Zero means DefaultCheckpointBytes (16 MiB); negative is invalid.
	CheckpointBytes int

	// CheckpointInterval is the longest a journaled write waits for its checkpoint. Zero means
	// DefaultCheckpointInterval (1s); negative is invalid.
	CheckpointInterval time.Duration

	// LockTimeout is how long Open waits for the file's lock when another handle holds it,
	// before failing with ErrLocked. Zero means DefaultLockTimeout (100ms); negative is invalid.
	LockTimeout time.Duration

	// MaxBatch caps how many Update functions share one transaction (one fsync), which bounds
	// the latency of a round. Zero means DefaultMaxBatch (1000); negative is invalid; 1 turns
	// group commit off.
	MaxBatch int

	// RecoverCorruptJournal makes Open go on when the journal is corrupt (a
	// [CorruptJournalError]): it keeps the records before the damage, renames the damaged file
	// to <journal>.corrupt-<UTC time> (kept for inspection, never deleted), starts a new
	// journal, and logs a warning to Logger. The rounds recorded after the damage are lost.
	// Default false: Open fails and changes nothing, so an operator decides.
	RecoverCorruptJournal bool

	// Logger receives the warning of RecoverCorruptJournal. Nil means no logging.
	Logger *slog.Logger

	// OpenFile opens the database file, for fault-injection tests (bbolt's Options.OpenFile).
	// Nil means os.OpenFile.
	OpenFile func(name string, flag int, perm os.FileMode) (*os.File, error)

	// DiskFreeLimit is the free disk space, in bytes, below which [Store.ReserveSpace] refuses,
	// like RabbitMQ's disk_free_limit (whose default it shares: 0 means 50 MB,
	// diskspace.DefaultLimit); negative turns the check off. The store never refuses its own
	// writes under the limit, so that acknowledgements and deletes go on freeing space; callers
	// that add data (the exchange's durable publishes) ask ReserveSpace first.
	DiskFreeLimit int64

	// BeforeSync, if set, is called before each fsync that makes commits durable: the
	// journal's ("journal", after a commit round or at the SyncInterval flush) and a
	// checkpoint's ("checkpoint", before bbolt commits into its file). An error is taken as
	// that fsync failing, as a disk error would: the commits waiting for it fail with an error
	// matching [ErrIO] that wraps it, and the store refuses every later Update until it is
	// reopened (see the package doc on failed fsyncs). Never called with NoSync. For test
	// toolkits that inject faults (tribustest's FailSync); it is called on the committer's
	// goroutine and must not call the store.
	BeforeSync func(what string) error

	// journalFile, if set, wraps the journal's file, for fault-injection tests (export_test.go).
	journalFile func(*os.File) journalFile
	// diskFree, if set, reads the free disk space instead of statfs (export_test.go).
	diskFree func(dir string) (int64, error)
}

// withDefaults returns a copy of o (nil allowed) with zero fields replaced by defaults, or an
// error if a field is out of range.
func (o *Options) withDefaults() (Options, error) {
	var out Options
	if o != nil {
		out = *o
	}
	if out.SyncInterval < 0 {
		return out, fmt.Errorf("tribus/store: Options.SyncInterval is negative (%v)", out.SyncInterval)
	}
	if out.LockTimeout < 0 {
		return out, fmt.Errorf("tribus/store: Options.LockTimeout is negative (%v)", out.LockTimeout)
	}
	if out.MaxBatch < 0 {
		return out, fmt.Errorf("tribus/store: Options.MaxBatch is negative (%d)", out.MaxBatch)
	}
	if out.CheckpointBytes < 0 {
		return out, fmt.Errorf("tribus/store: Options.CheckpointBytes is negative (%d)", out.CheckpointBytes)
	}
	if out.CheckpointInterval < 0 {
		return out, fmt.Errorf("tribus/store: Options.CheckpointInterval is negative (%v)", out.CheckpointInterval)
	}
	if out.CheckpointBytes == 0 {
		out.CheckpointBytes = DefaultCheckpointBytes
	}
	if out.CheckpointInterval == 0 {
		out.CheckpointInterval = DefaultCheckpointInterval
	}
	if out.LockTimeout == 0 {
		out.LockTimeout = DefaultLockTimeout
	}
	if out.MaxBatch == 0 {
		out.MaxBatch = DefaultMaxBatch
	}
	return out, nil
}
