package store

import (
	"encoding/binary"
	"hash/crc32"
	"io/fs"
	"os"
	"sync"
)

// SetBeforeCommit installs f to run on the committer goroutine just before each commit. It must
// be called before the first Update.
func SetBeforeCommit(s *Store, f func()) { s.beforeCommit = f }

// QueueLen reports how many Update functions are queued and not yet taken by the committer.
func QueueLen(s *Store) int { return s.queueLen() }

// CloseAsCrash closes s without its final checkpoint, so the bbolt file lacks every round since
// the last one, exactly as after a crash, and only the journal holds them.
func CloseAsCrash(s *Store) error {
	s.crashAtClose = true
	return s.Close()
}

// JournalPath returns the path of the journal of the bbolt file at path.
func JournalPath(path string) string { return path + JournalSuffix }

// ApplyJournal parses data as a journal file and applies its records through tx, for the fuzzer.
func ApplyJournal(tx *Tx, data []byte) error {
	recs, _, err := parseJournal(data, 0)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if err := applyOps(tx, r.payload); err != nil {
			return err
		}
	}
	return nil
}

// EncodeJournal returns a journal file holding one record per payload, numbered from 1.
func EncodeJournal(payloads ...[]byte) []byte {
	out := append([]byte(nil), journalMagic[:]...)
	for i, p := range payloads {
		var hdr [recordHeaderLen]byte
		binary.BigEndian.PutUint32(hdr[0:4], uint32(len(p)))
		binary.BigEndian.PutUint64(hdr[8:16], uint64(i+1))
		crc := crc32.Update(crc32.Checksum(hdr[8:16], crcTable), crcTable, p)
		binary.BigEndian.PutUint32(hdr[4:8], crc)
		out = append(append(out, hdr[:]...), p...)
	}
	return out
}

// EncodePut returns the journal payload of one put of key=value into the bucket at path.
func EncodePut(path []string, key, value string) []byte {
	w := &opLog{}
	w.put(path, []byte(key), []byte(value))
	return w.b
}

// MakeCheckpointDue does what the CheckpointInterval timer does when it fires.
func MakeCheckpointDue(s *Store) {
	s.mu.Lock()
	s.checkpointDue = true
	s.cond.Signal()
	s.mu.Unlock()
}

// SetMaxUpdateSize lowers MaxUpdateSize for s, so that tests need not write a GiB. It must be
// called before the first Update.
func SetMaxUpdateSize(s *Store, n int) { s.maxUpdate = n }

// JournalFaults makes the journal file of a store fail on demand: while an op's error is set,
// every call of that op returns it (a write returns it without writing anything).
type JournalFaults struct {
	mu                 sync.Mutex
	write, sync, trunc error
}

// Fail sets the error op ("write", "sync" or "truncate") returns from now on; nil heals it.
func (jf *JournalFaults) Fail(op string, err error) {
	jf.mu.Lock()
	defer jf.mu.Unlock()
	switch op {
	case "write":
		jf.write = err
	case "sync":
		jf.sync = err
	case "truncate":
		jf.trunc = err
	default:
		panic("JournalFaults.Fail: unknown op " + op)
	}
}

// WithJournalFaults returns a copy of o (nil allowed) whose store's journal file goes through jf.
func WithJournalFaults(o *Options, jf *JournalFaults) *Options {
	var out Options
	if o != nil {
		out = *o
	}
	out.journalFile = func(f *os.File) journalFile { return &faultyJournal{f: f, jf: jf} }
	return &out
}

type faultyJournal struct {
	f  *os.File
	jf *JournalFaults
}

func (j *faultyJournal) fault(op string) error {
	j.jf.mu.Lock()
	defer j.jf.mu.Unlock()
	var err error
	switch op {
	case "write":
		err = j.jf.write
	case "sync":
		err = j.jf.sync
	case "truncate":
		err = j.jf.trunc
	}
	if err != nil {
		return &fs.PathError{Op: op, Path: j.f.Name(), Err: err}
	}
	return nil
}

func (j *faultyJournal) WriteAt(p []byte, off int64) (int, error) {
	if err := j.fault("write"); err != nil {
		return 0, err
	}
	return j.f.WriteAt(p, off)
}

func (j *faultyJournal) Sync() error {
	if err := j.fault("sync"); err != nil {
		return err
	}
	return j.f.Sync()
}

func (j *faultyJournal) Truncate(n int64) error {
	if err := j.fault("truncate"); err != nil {
		return err
	}
	return j.f.Truncate(n)
}

func (j *faultyJournal) Close() error { return j.f.Close() }

func (j *faultyJournal) Fd() uintptr { return j.f.Fd() }

// ParseJournal returns the sequence numbers of the records Open would read from a journal
// holding data, for a bbolt file whose checkpoint holds up to after.
func ParseJournal(data []byte, after uint64) ([]uint64, error) {
	recs, _, err := parseJournal(data, after)
	var lsns []uint64
	for _, r := range recs {
		lsns = append(lsns, r.lsn)
	}
	return lsns, err
}

// WithDiskFree returns a copy of o (nil allowed) whose store reads the free disk space with free
// instead of statfs.
func WithDiskFree(o *Options, free func(dir string) (int64, error)) *Options {
	var out Options
	if o != nil {
		out = *o
	}
	out.diskFree = free
	return &out
}

// InTx runs fn below the stack marks of the store numbered id (nested.go).
func InTx(id uint64, fn func() error) error { return inTx(id, fn) }

// CallerInTx reports whether the caller runs below the stack marks of the store numbered id.
func CallerInTx(id uint64) bool { return callerInTx(id) }

// BytesTouched returns how many bytes from the start of the bbolt file's map the committer has
// read once (touch.go). Call it before the first Update or after Close, when the committer
// cannot be changing it.
func BytesTouched(s *Store) int64 { return s.mapped }
