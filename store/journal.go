package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The journal is the bbolt backend's write-ahead log. A bbolt commit flushes twice (the data
// pages, then the meta page that points at them), so committing every round to bbolt would
// cost a caller two fsyncs. Instead each round's writes are appended to the journal as one
// record and flushed once; that append is the round's commit point. The bbolt transaction the
// round ran in stays open, gathering later rounds, and is committed (a checkpoint) only every
// Options.CheckpointBytes or Options.CheckpointInterval and at Close. The checkpoint stores the
// last journal sequence number it contains under walKey, then the journal is emptied.
//
// On open, the records after that sequence number are applied to bbolt again. Records are
// idempotent writes (put, delete, create or delete a bucket, set a sequence), so applying one
// twice is harmless, and bbolt itself is only ever changed by whole, fsynced commits.
//
// File layout: an 8-byte magic, then records of
//
//	length  uint32  (of the payload)
//	crc     uint32  (CRC-32C of lsn and payload)
//	lsn     uint64  (sequence number; consecutive within a file)
//	payload []op
//
// An op is a kind byte, then its fields: a path is a uvarint count of names, each a uvarint
// length and bytes; a key or value is a uvarint length and bytes; a sequence is a uvarint.

// journalMagic starts every journal file; its last byte is the format version.
var journalMagic = [8]byte{'t', 'r', 'i', 'b', 'W', 'A', 'L', 1}

const (
	recordHeaderLen = 16
	// maxRecordLen bounds one record's payload, so a corrupt length cannot ask for a huge read.
	maxRecordLen = 1 << 30
)

// walKey is the key in BucketMeta holding, as a big-endian uint64, the sequence number of the
// last journal record that bbolt contains.
const walKey = "wal-lsn"

// Op kinds.
const (
	opPut byte = iota + 1
	opDelete
	opCreateBucket
	opDeleteBucket
	opSetSequence
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// opLog collects the writes of one round, encoded as journal ops.
type opLog struct{ b []byte }

func (w *opLog) put(path []string, key, value []byte) {
	w.b = append(w.b, opPut)
	w.b = appendPath(w.b, path)
	w.b = appendBytes(w.b, key)
	w.b = appendBytes(w.b, value)
}

func (w *opLog) delete(path []string, key []byte) {
	w.b = append(w.b, opDelete)
	w.b = appendPath(w.b, path)
	w.b = appendBytes(w.b, key)
}

func (w *opLog) bucket(kind byte, path []string) {
	w.b = append(w.b, kind)
	w.b = appendPath(w.b, path)
}

func (w *opLog) setSequence(path []string, n uint64) {
	w.b = append(w.b, opSetSequence)
	w.b = appendPath(w.b, path)
	w.b = binary.AppendUvarint(w.b, n)
}

func appendPath(b []byte, path []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(path)))
	for _, name := range path {
		b = binary.AppendUvarint(b, uint64(len(name)))
		b = append(b, name...)
	}
	return b
}

func appendBytes(b, p []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

// opReader decodes a payload; every read is bounds-checked and a short or malformed payload
// becomes ErrCorrupt.
type opReader struct {
	b   []byte
	err error
}

func (r *opReader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: journal record: %s", ErrCorrupt, what)
	}
	r.b = nil
}

func (r *opReader) uvarint(what string) uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("bad " + what)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *opReader) bytes(what string) []byte {
	n := r.uvarint(what + " length")
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.fail(what + " runs past the record")
		return nil
	}
	p := r.b[:n:n]
	r.b = r.b[n:]
	return p
}

func (r *opReader) path() []string {
	n := r.uvarint("path length")
	if r.err != nil {
		return nil
	}
	if n == 0 || n > uint64(len(r.b)) { // each name takes at least one byte
		r.fail("bad path length")
		return nil
	}
	path := make([]string, 0, n)
	for range n {
		name := r.bytes("bucket name")
		if r.err != nil {
			return nil
		}
		path = append(path, string(name))
	}
	return path
}

// applyOps performs the writes encoded in payload through tx, which must be writable and must
// not record into a journal itself.
func applyOps(tx *Tx, payload []byte) error {
	r := &opReader{b: payload}
	for len(r.b) > 0 {
		kind := r.b[0]
		r.b = r.b[1:]
		path := r.path()
		if r.err != nil {
			return r.err
		}
		var err error
		switch kind {
		case opPut, opDelete, opSetSequence:
			var key, value []byte
			var seq uint64
			switch kind {
			case opSetSequence:
				seq = r.uvarint("sequence")
			default:
				key = r.bytes("key")
				if kind == opPut {
					value = r.bytes("value")
				}
			}
			if r.err != nil {
				return r.err
			}
			b := tx.Bucket(path...)
			if b == nil {
				return fmt.Errorf("%w: journal record writes into missing bucket %q", ErrCorrupt, path)
			}
			switch kind {
			case opPut:
				err = b.Put(key, value)
			case opDelete:
				err = b.Delete(key)
			default:
				err = b.setSequence(seq)
			}
		case opCreateBucket:
			_, err = tx.CreateBucketIfNotExists(path...)
		case opDeleteBucket:
			err = tx.DeleteBucket(path...)
		default:
			return fmt.Errorf("%w: journal record has unknown op %d", ErrCorrupt, kind)
		}
		if err != nil {
			return fmt.Errorf("%w: journal op %d on %q: %w", ErrCorrupt, kind, path, err)
		}
	}
	return nil
}

// journalFile is what the journal needs from its file: *os.File, or a test's wrapper of it
// that injects faults (Options.journalFile, export_test.go).
type journalFile interface {
	WriteAt(p []byte, off int64) (int, error)
	Sync() error
	Truncate(size int64) error
	Close() error
}

// hookedJournal calls Options.BeforeSync before each fsync of the journal, and fails it with
// what the hook returns.
type hookedJournal struct {
	journalFile
	before func(string) error
}

func (h hookedJournal) Sync() error {
	if err := h.before("journal"); err != nil {
		return err
	}
	return h.journalFile.Sync()
}

// journal is the open journal file. Only the committer goroutine uses it after Open, except
// that the SyncInterval timer calls flush.
type journal struct {
	f    journalFile
	off  int64  // where the next record goes
	lsn  uint64 // sequence number of the last record written (or checkpointed)
	sync bool   // flush after every append
	hdr  [recordHeaderLen]byte
}

// openJournal opens the journal at path and returns it with the file's contents. It creates
// the file only if create is set: a store whose bbolt file records a journal sequence number
// must find its journal, or Open fails with [ErrMissingJournal] rather than start empty.
func openJournal(path string, create bool, wrap func(*os.File) journalFile) (*journal, []byte, error) {
	flag := os.O_RDWR
	if create {
		flag |= os.O_CREATE
	}
	f, err := os.OpenFile(path, flag, 0o600)
	if errors.Is(err, fs.ErrNotExist) && !create {
		return nil, nil, fmt.Errorf("%w: %s", ErrMissingJournal, path)
	}
	if err != nil {
		return nil, nil, ioError("journal", err)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		_ = f.Close()
		return nil, nil, ioError("journal", err)
	}
	if wrap != nil {
		return &journal{f: wrap(f)}, data, nil
	}
	return &journal{f: f}, data, nil
}

// journalRecord is one decoded record; payload aliases the file's bytes, and end is the offset
// just past the record in its file.
type journalRecord struct {
	lsn     uint64
	payload []byte
	end     int64
}

// recordAt decodes the record whose header starts at rest[0], or reports ok == false if the
// bytes there are not a whole record with a matching checksum.
func recordAt(rest []byte) (rec journalRecord, size int, ok bool) {
	if len(rest) < recordHeaderLen {
		return rec, 0, false
	}
	n := binary.BigEndian.Uint32(rest[0:4])
	sum := binary.BigEndian.Uint32(rest[4:8])
	if n > maxRecordLen || uint64(n) > uint64(len(rest)-recordHeaderLen) {
		return rec, 0, false
	}
	body := rest[8 : recordHeaderLen+int(n)]
	if crc32.Checksum(body, crcTable) != sum {
		return rec, 0, false
	}
	return journalRecord{lsn: binary.BigEndian.Uint64(body[:8]), payload: body[8:]}, recordHeaderLen + int(n), true
}

// parseJournal returns the valid, consecutive records of a journal file's contents and the
// offset where the next record goes. after is the sequence number bbolt already holds: a record
// at or below it is stale (a checkpoint covers it, and the unflushed truncation that followed
// the checkpoint may not have reached the disk), never a loss.
//
// Reading stops at the first record that is torn, fails its checksum, or does not follow its
// predecessor. That is a torn tail, and only then may the rest be cut, when no later record
// with a newer sequence number can be found anywhere after it (scanning byte by byte for a
// header whose checksum matches). If one can, the damage is in the middle of the journal and
// parseJournal returns a *CorruptJournalError naming the damaged offset.
func parseJournal(data []byte, after uint64) ([]journalRecord, int64, error) {
	if len(data) < len(journalMagic) {
		if string(data) != string(journalMagic[:len(data)]) {
			return nil, 0, &CorruptJournalError{Offset: 0, Reason: "not a journal of this version"}
		}
		return nil, 0, nil // a new journal whose magic was torn
	}
	if [8]byte(data[:8]) != journalMagic {
		return nil, 0, &CorruptJournalError{Offset: 0, Reason: "not a journal of this version"}
	}
	var recs []journalRecord
	off := punchedPrefix(data, after)
	last := after
	reason := ""
	for off < len(data) {
		rec, size, ok := recordAt(data[off:])
		if !ok {
			reason = "record is torn or fails its checksum"
			break
		}
		rec.end = int64(off + size)
		if len(recs) > 0 && rec.lsn != recs[len(recs)-1].lsn+1 {
			if rec.lsn > recs[len(recs)-1].lsn {
				reason = fmt.Sprintf("record %d follows record %d", rec.lsn, recs[len(recs)-1].lsn)
			}
			break // else a stale record from before the last checkpoint: the end
		}
		recs = append(recs, rec)
		last = max(last, rec.lsn)
		off += size
	}
	if off >= len(data) {
		return recs, int64(off), nil
	}
	if later, at := findNewerRecord(data, off+1, last); later != nil {
		if reason == "" {
			reason = "record is torn or fails its checksum"
		}
		return nil, 0, &CorruptJournalError{Offset: int64(off),
			Reason: fmt.Sprintf("%s, but record %d at offset %d follows it", reason, later.lsn, at)}
	}
	return recs, int64(off), nil
}

// findNewerRecord returns the first whole record at or after data[from] whose sequence number is
// above last and plausible (no more records fit in the file than that), and its offset.
func findNewerRecord(data []byte, from int, last uint64) (*journalRecord, int) {
	for p := from; p+recordHeaderLen <= len(data); p++ {
		lsn := binary.BigEndian.Uint64(data[p+8 : p+16])
		if lsn <= last || lsn-last > uint64(len(data)/recordHeaderLen) {
			continue // checked first, so garbage rarely costs a checksum
		}
		if rec, _, ok := recordAt(data[p:]); ok {
			return &rec, p
		}
	}
	return nil, 0
}

// append writes payload as the next record and, if j.sync, flushes it. On error the record is
// not counted: the next append overwrites whatever part of it reached the file. synced reports
// whether the error came from the flush, after which nothing written is sure to be on disk.
func (j *journal) append(payload []byte) (synced bool, err error) {
	if len(payload) > maxRecordLen {
		return false, fmt.Errorf("%w: a round of %d bytes is more than a journal record holds", ErrValueTooLarge, len(payload))
	}
	lsn := j.lsn + 1
	binary.BigEndian.PutUint32(j.hdr[0:4], uint32(len(payload)))
	binary.BigEndian.PutUint64(j.hdr[8:16], lsn)
	crc := crc32.Update(crc32.Checksum(j.hdr[8:16], crcTable), crcTable, payload)
	binary.BigEndian.PutUint32(j.hdr[4:8], crc)
	if _, err := j.f.WriteAt(j.hdr[:], j.off); err != nil {
		return false, ioError("journal", err)
	}
	if _, err := j.f.WriteAt(payload, j.off+recordHeaderLen); err != nil {
		return false, ioError("journal", err)
	}
	if j.sync {
		if err := j.f.Sync(); err != nil {
			return true, ioError("journal fsync", err)
		}
	}
	j.off += recordHeaderLen + int64(len(payload))
	j.lsn = lsn
	return false, nil
}

// reset empties the journal after a checkpoint, leaving only the magic. The truncation need not
// be flushed: records a crash might leave behind carry sequence numbers the checkpoint already
// covers, and a new record written over them breaks their sequence.
func (j *journal) reset() error {
	if err := j.f.Truncate(int64(len(journalMagic))); err != nil {
		return ioError("journal", err)
	}
	if _, err := j.f.WriteAt(journalMagic[:], 0); err != nil {
		return ioError("journal", err)
	}
	j.off = int64(len(journalMagic))
	return nil
}

// flush makes every appended record durable.
func (j *journal) flush() error {
	if err := j.f.Sync(); err != nil {
		return ioError("journal fsync", err)
	}
	return nil
}

func (j *journal) close() error { return j.f.Close() }

// readWALSeq returns the journal sequence number bbolt contains, and whether one is stored at
// all. A new store stores 0 at once, so a stored number means the journal file must exist.
func readWALSeq(tx *Tx) (uint64, bool, error) {
	raw := tx.Bucket(BucketMeta).Get([]byte(walKey))
	switch len(raw) {
	case 0:
		return 0, raw != nil, nil
	case 8:
		return binary.BigEndian.Uint64(raw), true, nil
	}
	return 0, false, fmt.Errorf("%w: malformed %q %x", ErrCorrupt, walKey, raw)
}

func writeWALSeq(tx *Tx, lsn uint64) error {
	return tx.Bucket(BucketMeta).Put([]byte(walKey), binary.BigEndian.AppendUint64(nil, lsn))
}

// openAndRecoverJournal opens the journal of the store at s.path, applies the records newer
// than bbolt's checkpoint in one fsynced commit and empties the journal, leaving the journal's
// lsn at the last sequence number bbolt now holds. If the journal is corrupt it changes nothing
// and returns a *CorruptJournalError, unless recoverCorrupt is set: then it keeps the records
// before the damage, moves the damaged file aside and starts a new one.
func openAndRecoverJournal(s *Store, created, recoverCorrupt bool) (*journal, error) {
	var (
		ckpt    uint64
		present bool
	)
	if err := s.db.View(func(btx *bolt.Tx) error {
		var err error
		ckpt, present, err = readWALSeq(&Tx{btx: btx})
		return err
	}); err != nil {
		return nil, err
	}
	path := s.path + JournalSuffix
	// A file from before the journal sequence was stored at creation has none: create it then.
	j, data, err := openJournal(path, created || !present, s.wrapJournal)
	if err != nil {
		return nil, err
	}
	recs, _, err := parseJournal(data, ckpt)
	var cerr *CorruptJournalError
	punch := true // recs are in j's file
	if errors.As(err, &cerr) {
		punch = false
		cerr.Path = path
		if !recoverCorrupt {
			_ = j.close()
			return nil, cerr
		}
		if j, recs, err = moveCorruptAside(s, j, data, ckpt, cerr); err != nil {
			return nil, err
		}
	}
	if err := replayJournal(s, j, recs, ckpt, punch); err != nil {
		_ = j.close()
		return nil, err
	}
	return j, nil
}

// moveCorruptAside renames the damaged journal to path.corrupt-<time>, opens a new journal at
// path, and returns it with the records of the damaged file that precede the damage.
func moveCorruptAside(s *Store, j *journal, data []byte, ckpt uint64, cerr *CorruptJournalError) (*journal, []journalRecord, error) {
	good, _, err := parseJournal(data[:cerr.Offset], ckpt)
	if err != nil {
		_ = j.close()
		return nil, nil, err
	}
	_ = j.close()
	aside := fmt.Sprintf("%s.corrupt-%s", cerr.Path, time.Now().UTC().Format("20060102T150405.000000000Z"))
	if err := os.Rename(cerr.Path, aside); err != nil {
		return nil, nil, ioError("moving the corrupt journal aside", err)
	}
	if s.logger != nil {
		s.logger.Warn("tribus/store: journal is corrupt; kept the records before the damage and moved the file aside",
			"journal", cerr.Path, "offset", cerr.Offset, "reason", cerr.Reason, "moved_to", aside, "records_kept", len(good))
	}
	nj, _, err := openJournal(cerr.Path, true, s.wrapJournal)
	if err != nil {
		return nil, nil, err
	}
	// good aliases data, which stays reachable through it: nothing reads the old file again.
	return nj, good, nil
}
