package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tribusmq/tribus/internal/diskspace"
)

// Store is the durable state of a broker: a bbolt file ([Open]) or its in-memory stand-in
// ([OpenMemory]) behind one API. It is safe for concurrent use; see the package documentation
// for who owns what.
type Store struct {
	id     uint64 // numbers the store in this process; see nested.go
	path   string
	db     *bolt.DB     // nil for the memory backend
	logger *slog.Logger // may be nil
	mem    *memDB       // nil for the bbolt backend

	maxBatch  int
	maxUpdate int // MaxUpdateSize; tests lower it (export_test.go)

	// mu guards queue and the writes to closing. The committer goroutine waits on cond.
	mu      sync.Mutex
	cond    sync.Cond
	queue   []*batch
	closing atomic.Bool   // set once, by Close; read without mu by View
	done    chan struct{} // closed when the committer goroutine has exited

	// beforeCommit, if set, runs on the committer goroutine just before each commit.
	// Tests set it (export_test.go) before the first Update.
	beforeCommit func()

	// jr is the bbolt backend's journal (see journal.go). The committer owns it, and also wtx,
	// the open bbolt transaction holding every round since the last checkpoint, since (those
	// rounds' journal payloads, to rebuild wtx after a rollback) and sinceBytes.
	jr         *journal
	wtx        *bolt.Tx
	since      [][]byte
	sinceBytes int
	roundHint  int // capacity for the next round's journal payload: the last one's size, plus a quarter

	// crashAtClose makes Close leave the journaled rounds out of the bbolt file, as a crash
	// would. Tests set it (export_test.go).
	crashAtClose bool

	// Under mu: dirty says wtx holds answered rounds that bbolt readers cannot see, so a View
	// must borrow wtx; views are the Views waiting for it; checkpointDue is set by the timer.
	dirty         bool
	views         []*viewReq
	checkpointDue bool

	checkpointBytes    int
	checkpointInterval time.Duration
	checkpointTimer    *time.Timer // committer only
	checkpointErr      atomic.Pointer[error]

	// syncInterval > 0 defers journal flushes to a timer (Options.SyncInterval); syncMu guards
	// the timer, and syncWG waits for a running timer callback at Close.
	syncInterval time.Duration
	syncMu       sync.Mutex
	syncTimer    *time.Timer
	syncWG       sync.WaitGroup

	updates     atomic.Uint64
	commits     atomic.Uint64
	failed      atomic.Uint64
	checkpoints atomic.Uint64

	// The committer's record of the bbolt file's pages read once through the map (touch.go):
	// the map's address, the bytes from its start read, and the sum of the bytes read.
	mapBase uintptr
	mapped  int64
	touched byte

	// running is the token of the function given to Update that the committer is running, 0
	// between functions; committerID is the committer goroutine's id; fnSeq numbers the
	// functions (committer only). See nested.go.
	running     atomic.Uint64
	committerID atomic.Uint64
	fnSeq       uint64
	// viewers counts the Views running on the bbolt backend, so that a call checks whether it
	// is made from inside one only while there is one. See nested.go.
	viewers atomic.Int64

	// stopped, once set, is the ErrIO every later Update fails with: a journal fsync or a
	// checkpoint failed, so what is on disk is unknown (see stop).
	stopped atomic.Pointer[error]

	wrapJournal func(*os.File) journalFile // Options.journalFile
	beforeSync  func(string) error         // Options.BeforeSync, nil with NoSync

	guard *diskspace.Guard // Options.DiskFreeLimit; nil (off) on the memory backend

	failing bool // the committer's: the last round failed (see failAll); says each episode once
}

// viewReq is a View waiting to borrow the committer's open transaction. The committer sets btx
// (nil if every round is already in bbolt) or err and closes ready; the View closes done.
type viewReq struct {
	ready, done chan struct{}
	btx         *bolt.Tx
	err         error
}

// Stats counts what a [Store] has done since it was opened.
type Stats struct {
	// Updates is the number of Update calls whose function succeeded and was committed.
	Updates uint64
	// Commits is the number of rounds committed: on the bbolt backend, the number of journal
	// appends, each one fsync with the default options. Updates/Commits is the group-commit
	// factor.
	Commits uint64
	// Checkpoints is the number of times the bbolt backend moved journaled rounds into the bbolt
	// file (see [Options.CheckpointBytes]). Always 0 on the memory backend.
	Checkpoints uint64
	// Failed is the number of Update calls that returned an error: their function failed or
	// panicked, or the commit itself failed.
	Failed uint64
}

// Open opens the bbolt file at path, creating it (mode 0600) and any missing parent
// directories (mode 0700) if needed, and starts the goroutine that commits updates.
// A new file gets the top-level buckets and [SchemaVersion]; an existing file must carry
// SchemaVersion, or Open fails with [ErrSchemaVersion] and leaves it untouched. If another
// handle holds the file, Open fails with [ErrLocked] after [Options.LockTimeout].
// The caller must call [Store.Close].
func Open(path string, opts *Options) (*Store, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if path == "" {
		return nil, errors.New("tribus/store: Open needs a file path; use OpenMemory for no file")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, ioError("creating the directory", err)
	}
	bopts := *bolt.DefaultOptions
	bopts.Timeout = o.LockTimeout
	bopts.NoSync = o.NoSync
	bopts.OpenFile = o.OpenFile
	bopts.InitialMmapSize = initialMmapSize
	db, err := openBolt(path, &bopts)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", mapError(err), path)
	}
	// Check the schema read-only first, so that opening an existing file writes nothing to it
	// before the journal has been checked.
	err = db.View(func(btx *bolt.Tx) error { return initSchema(&Tx{btx: btx}) })
	created := errors.Is(err, errNewStore)
	if created {
		err = db.Update(func(btx *bolt.Tx) error { return initSchema(&Tx{btx: btx, writable: true}) })
	}
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	s := &Store{id: storeIDs.Add(1), path: path, db: db, maxBatch: o.MaxBatch, maxUpdate: MaxUpdateSize, done: make(chan struct{}),
		checkpointBytes: o.CheckpointBytes, checkpointInterval: o.CheckpointInterval, logger: o.Logger,
		wrapJournal: o.journalFile}
	if !o.NoSync {
		s.syncInterval = o.SyncInterval
		s.beforeSync = o.BeforeSync
	}
	if s.beforeSync != nil {
		wrap := s.wrapJournal
		s.wrapJournal = func(f *os.File) journalFile {
			var jf journalFile = f
			if wrap != nil {
				jf = wrap(f)
			}
			return hookedJournal{journalFile: jf, before: s.beforeSync}
		}
	}
	if o.diskFree != nil {
		s.guard = diskspace.NewGuardFunc(filepath.Dir(path), o.DiskFreeLimit, o.diskFree)
	} else {
		s.guard = diskspace.NewGuard(filepath.Dir(path), o.DiskFreeLimit)
	}
	jr, err := openAndRecoverJournal(s, created, o.RecoverCorruptJournal)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	jr.sync = !o.NoSync && o.SyncInterval == 0
	s.jr = jr
	s.cond.L = &s.mu
	s.touchGrown() // notes the size at Open
	go s.commitLoop(nil)
	return s, nil
}

// initialMmapSize is the address space bbolt maps the file into from the start. bbolt maps
// the file at 32 KiB and doubles the map as the file grows, and each remap first copies every
// key and value the open write transaction holds out of the old map (node.dereference): with
// the store's long write transaction between checkpoints, a store filling from empty spent
// more allocations on that than on its records. A 1 GiB map of a smaller file reserves address
// space only; no memory is used for it. The file then grows the way bbolt grows files past
// 16 MiB, in steps of bbolt's AllocSize (16 MiB) ahead of its pages, so a small store's file
// is up to 16 MiB longer than its pages (sparse where the filesystem allows). Not on Windows,
// where mapping extends the file to the mapped size, nor where the address space is 32 bits.
var initialMmapSize = func() int {
	if runtime.GOOS == "windows" || strconv.IntSize < 64 {
		return 0
	}
	return 1 << 30
}()

// openBolt is bolt.Open after checkBoltFile, with any panic of bbolt's on a damaged file turned
// into ErrCorrupt.
func openBolt(path string, bopts *bolt.Options) (db *bolt.DB, err error) {
	if err := checkBoltFile(path); err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, fmt.Errorf("%w: bbolt file: %v", ErrCorrupt, r)
		}
	}()
	return bolt.Open(path, 0o600, bopts)
}

// OpenMemory returns a Store that keeps everything in memory: no file, no goroutine, and
// nothing survives [Store.Close]. It starts with the same buckets and schema version as a new
// file, so code and tests run unchanged on either backend.
func OpenMemory() *Store {
	id := storeIDs.Add(1)
	s := &Store{id: id, mem: newMemDB(id)}
	tx := &Tx{mem: s.mem, mtx: &memTx{}, writable: true}
	if err := initSchema(tx); err != nil {
		panic("tribus/store: initialising the memory backend: " + err.Error())
	}
	return s
}

// errNewStore is initSchema's answer, through a read-only tx, for a store it must initialise.
var errNewStore = errors.New("tribus/store: new store")

// initSchema creates the top-level buckets and writes SchemaVersion (and, on the bbolt backend,
// journal sequence 0) into a new store, and checks the version of an existing one. A store is
// new when it has no top-level bucket at all. Through a read-only tx it only checks, returning
// errNewStore if it would have to write.
func initSchema(tx *Tx) error {
	meta := tx.Bucket(BucketMeta)
	if meta == nil {
		if !tx.writable && tx.isEmpty() {
			return errNewStore
		}
		if !tx.isEmpty() {
			return fmt.Errorf("%w: file has buckets but no %q bucket, this build knows %d",
				ErrSchemaVersion, BucketMeta, SchemaVersion)
		}
		for _, name := range topBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		var v [4]byte
		binary.BigEndian.PutUint32(v[:], SchemaVersion)
		if err := tx.Bucket(BucketMeta).Put([]byte(SchemaKey), v[:]); err != nil {
			return err
		}
		if tx.btx != nil {
			return writeWALSeq(tx, 0)
		}
		return nil
	}
	raw := meta.Get([]byte(SchemaKey))
	switch {
	case raw == nil:
		return fmt.Errorf("%w: file has none, this build knows %d", ErrSchemaVersion, SchemaVersion)
	case len(raw) != 4:
		return fmt.Errorf("%w: file has malformed %x, this build knows %d", ErrSchemaVersion, raw, SchemaVersion)
	}
	if got := binary.BigEndian.Uint32(raw); got != SchemaVersion {
		return fmt.Errorf("%w: file has %d, this build knows %d", ErrSchemaVersion, got, SchemaVersion)
	}
	for _, name := range topBuckets {
		if tx.Bucket(name) == nil {
			if !tx.writable {
				return errNewStore
			}
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
	}
	return nil
}

// ReserveSpace says whether n more bytes may be written under [Options.DiskFreeLimit]: nil, or
// an error matching [ErrDiskFull] that wraps a *diskspace.LimitError (the directory, the free
// bytes at the last reading, the limit). It counts n against the free space it last read, which
// it reads again at most every 250 ms (10 ms while under the limit), so it costs no system call
// on most calls. n <= 0 only checks the limit. The store does not call it for its own writes:
// callers that add data ask first, and those that free space (acknowledgements, deletes) do not.
// It never fails on the memory backend. It is safe for concurrent use, also after Close.
func (s *Store) ReserveSpace(n int64) error {
	if s.guard == nil {
		return nil
	}
	if err := s.guard.Reserve(max(n, 0)); err != nil {
		return fmt.Errorf("%w: %w", ErrDiskFull, err)
	}
	return nil
}

// Path returns the file path given to [Open], or "" for a memory store.
func (s *Store) Path() string { return s.path }

// Stats returns the counters so far. It is safe to call at any time, also after Close.
func (s *Store) Stats() Stats {
	return Stats{Updates: s.updates.Load(), Commits: s.commits.Load(), Failed: s.failed.Load(),
		Checkpoints: s.checkpoints.Load()}
}

// Update runs fn in a read-write transaction and returns once that transaction is committed
// (and, on the bbolt backend without NoSync, fsynced), or with the error fn returned, in which
// case nothing fn wrote is kept. A panic in fn is returned as [ErrPanic].
//
// On the bbolt backend, concurrent calls are group committed: fn runs on the committer
// goroutine, in one transaction together with every other fn queued meanwhile, and all of them
// share one commit. fn sees the writes of fns that ran before it in the same transaction, as
// if the calls ran one after another. If another fn of the round fails, fn is run again in a
// fresh transaction, so fn may run more than once and must depend only on tx.
//
// fn must not keep tx, its buckets or the slices they return after it returns. Update called
// from inside a function given to Update, Submit or View of s returns [ErrNestedTx] without
// running fn (see the package documentation). Update returns [ErrClosed] once Close has begun.
func (s *Store) Update(fn func(tx *Tx) error) error {
	if fn == nil {
		return ErrNilFunc
	}
	if s.mem != nil {
		return s.memUpdate(fn)
	}
	if s.inOwnView() {
		return ErrNestedTx
	}
	return s.Submit(fn)()
}

// Submit queues fn like [Store.Update] without waiting for it: the returned wait function
// blocks until fn's transaction is committed and returns what Update would have. Submitted
// functions commit in submission order, so a put submitted before a delete of the same key
// is never undone by it. Everything submitted before Close is committed by Close.
// Submit may be called from inside a function given to Update; calling the wait function there
// returns [ErrNestedTx] and withdraws fn, which then never runs.
func (s *Store) Submit(fn func(tx *Tx) error) (wait func() error) {
	if fn == nil {
		return func() error { return ErrNilFunc }
	}
	if s.mem != nil {
		err := s.memUpdate(fn)
		return func() error { return err }
	}
	if p := s.stopped.Load(); p != nil {
		return func() error { return *p }
	}
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		return func() error { return ErrClosed }
	}
	b, i := s.enqueue(fn)
	s.cond.Signal()
	s.mu.Unlock()
	tok := s.running.Load()
	return func() error {
		select {
		case <-b.done:
		default:
			if tok != 0 && s.running.Load() == tok && s.nestedWait(b, i, tok) {
				return ErrNestedTx
			}
			if s.inOwnView() && s.withdraw(b, i) {
				return ErrNestedTx
			}
			<-b.done
		}
		return b.errs[i]
	}
}

// View runs fn in a read-only transaction on a consistent snapshot, in the caller's goroutine,
// and returns fn's error. Writes through tx fail with [ErrReadOnly]. Views run concurrently
// with each other and, on the bbolt backend, with commits. A panic in fn propagates to the
// caller after the transaction is released. fn must not keep tx, its buckets or the slices they
// return after it returns. View returns [ErrClosed] once Close has begun, and [ErrNestedTx]
// when called from inside a function given to Update, Submit or View of s.
func (s *Store) View(fn func(tx *Tx) error) error { return s.view(fn, false) }

// view is View, or ViewCheckpointed when checkpointed is set.
func (s *Store) view(fn func(tx *Tx) error, checkpointed bool) error {
	if fn == nil {
		return ErrNilFunc
	}
	if s.mem != nil {
		return s.mem.view(fn)
	}
	if s.onCommitter(s.running.Load()) || s.inOwnView() {
		return ErrNestedTx
	}
	s.viewers.Add(1)
	defer s.viewers.Add(-1)
	if checkpointed {
		if s.closing.Load() {
			return ErrClosed
		}
		return s.viewFile(fn)
	}
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		return ErrClosed
	}
	if s.dirty {
		v := &viewReq{ready: make(chan struct{}), done: make(chan struct{})}
		s.views = append(s.views, v)
		s.cond.Signal()
		s.mu.Unlock()
		<-v.ready
		if v.err != nil {
			return v.err
		}
		if v.btx != nil {
			defer close(v.done)
			tx := &Tx{btx: v.btx}
			defer tx.close()
			return inTx(s.id, func() error { return fn(tx) })
		}
	} else {
		s.mu.Unlock()
	}
	return s.viewFile(fn)
}

// viewFile runs fn in a read transaction of the bbolt file, which holds what the last
// checkpoint moved there. The caller counts itself in s.viewers.
func (s *Store) viewFile(fn func(tx *Tx) error) error {
	var fnErr error
	err := s.db.View(func(btx *bolt.Tx) error {
		tx := &Tx{btx: btx}
		defer tx.close()
		fnErr = inTx(s.id, func() error { return fn(tx) })
		return fnErr
	})
	if fnErr != nil {
		return fnErr
	}
	return mapError(err)
}

// ViewCheckpointed runs fn like [Store.View], but on the state of the last checkpoint, and so
// never waits for the committer, a commit or an fsync, even while rounds not yet checkpointed
// exist (View would wait for the committer's transaction). It sees every Update that had
// returned before [Store.Checkpoints] passed the value it read after that Update returned,
// and may miss later ones. For reading back data written long enough ago, for example a
// message paged out of memory. On the memory backend, which has no checkpoints, it is View.
func (s *Store) ViewCheckpointed(fn func(tx *Tx) error) error { return s.view(fn, true) }

// Checkpoints returns how many checkpoints the bbolt backend has completed since Open; each
// moves every round answered before it into the bbolt file (see [Store.ViewCheckpointed]). It
// is 0 on the memory backend. It costs one atomic load.
func (s *Store) Checkpoints() uint64 { return s.checkpoints.Load() }

// Close waits for every queued Update to be answered and for the committer goroutine to exit,
// then closes the file, waiting for Views still running. It is idempotent: later calls, like
// every other method, return [ErrClosed]. Called from inside a function given to Update, Submit
// or View of s it returns [ErrNestedTx] and closes nothing.
func (s *Store) Close() error {
	if s.mem != nil {
		return s.mem.close()
	}
	if s.onCommitter(s.running.Load()) || s.inOwnView() {
		return ErrNestedTx
	}
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		return ErrClosed
	}
	s.closing.Store(true)
	s.cond.Broadcast()
	s.mu.Unlock()
	<-s.done
	s.stopSyncTimer()
	var err error
	if p := s.checkpointErr.Load(); p != nil && s.since != nil {
		// The last checkpoint failed too: what it held is only in the journal, so flush that.
		err = *p
		if ferr := s.jr.flush(); ferr != nil {
			err = fmt.Errorf("%w; %w", err, ferr)
		}
	}
	if cerr := s.jr.close(); cerr != nil && err == nil {
		err = ioError("closing the journal", cerr)
	}
	if cerr := s.db.Close(); cerr != nil && err == nil {
		err = mapError(cerr)
	}
	return err
}

// memUpdate is Update for the memory backend: fn runs in the caller's goroutine under the write
// lock, one commit per successful call.
func (s *Store) memUpdate(fn func(tx *Tx) error) error {
	ran, err := s.mem.update(fn)
	switch {
	case !ran:
	case err != nil:
		s.failed.Add(1)
	default:
		s.updates.Add(1)
		s.commits.Add(1)
	}
	return err
}
