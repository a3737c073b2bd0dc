package store

import (
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Replaying the journal at Open copies its writes into the bbolt file, so for a moment the
// data is on disk twice. After a disk-full event the journal may hold most of what the file
// system has room for, and a replay in one transaction then needs as much free space again,
// so Open failed with ErrDiskFull even after space had been freed. Instead the records are
// applied in chunks of at most replayChunk payload bytes, each one bbolt commit (fsynced) that
// also records its last sequence number, and after each commit the journal's bytes it covered
// are punched out of the file (fallocate PUNCH_HOLE, where the file system has it), which
// gives their space back before the next chunk needs it. A chunk that does not fit is halved
// and tried again; only a single record that does not fit fails Open, with ErrDiskFull.
//
// Every state this leaves on disk is consistent: the bbolt file holds the rounds up to its
// recorded sequence number, whole, and the journal the rounds after it, behind a run of zero
// bytes where the punched ones were (see punchedPrefix). A failed Open changes nothing else,
// and the next Open goes on from there.

// When even one record does not fit, Open does not fail: the records left stay in the journal,
// where they are already durable, and become the rounds the committer's open transaction holds
// until a checkpoint succeeds (deferReplay), exactly as if they had been committed since the
// last checkpoint. So a store opens after a disk-full event whatever space is free, serves
// reads and acks, and moves the records into the bbolt file once there is room.

// replayChunk is the most journal payload one replay commit applies.
const replayChunk = 1 << 20

// replayJournal applies the records of recs newer than ckpt, in chunks (see above), and
// empties the journal, leaving j.lsn at the last sequence number bbolt now holds. punch says
// whether recs were read from j's file, so that their bytes may be punched out of it.
func replayJournal(s *Store, j *journal, recs []journalRecord, ckpt uint64, punch bool) error {
	var todo []journalRecord
	for _, r := range recs {
		if r.lsn > ckpt {
			todo = append(todo, r)
		}
	}
	j.lsn = ckpt
	if len(todo) > 0 && todo[0].lsn != ckpt+1 {
		return &CorruptJournalError{Path: s.path + JournalSuffix, Offset: -1,
			Reason: fmt.Sprintf("journal starts at record %d but the bbolt file holds up to %d", todo[0].lsn, ckpt)}
	}
	limit := replayChunk
	for len(todo) > 0 {
		n, size := 0, 0
		for n < len(todo) && (n == 0 || size+len(todo[n].payload) <= limit) {
			size += len(todo[n].payload)
			n++
		}
		err := mapError(s.db.Update(func(btx *bolt.Tx) error {
			tx := &Tx{btx: btx, writable: true}
			for _, r := range todo[:n] {
				if err := applyOps(tx, r.payload); err != nil {
					return fmt.Errorf("record %d: %w", r.lsn, err)
				}
			}
			return writeWALSeq(tx, todo[n-1].lsn)
		}))
		if errors.Is(err, ErrDiskFull) && n > 1 {
			limit = size / 2
			continue
		}
		if errors.Is(err, ErrDiskFull) && punch {
			return deferReplay(s, j, todo)
		}
		if err != nil {
			return fmt.Errorf("tribus/store: replaying the journal (record %d of %d to go): %w",
				todo[0].lsn, todo[len(todo)-1].lsn, err)
		}
		j.lsn = todo[n-1].lsn
		if punch {
			// Best effort: where holes are not supported the space comes back at reset.
			_ = punchHole(j.f, int64(len(journalMagic)), todo[n-1].end-int64(len(journalMagic)))
		}
		todo = todo[n:]
	}
	return j.reset()
}

// punchedPrefix returns where the records of a journal's contents start: right after the magic,
// or, when a replay punched out the records it had applied and stopped (or crashed) before
// emptying the journal, after the run of zero bytes the punch left. The run counts as punched
// only if a whole record whose sequence number the bbolt file's checkpoint (after) covers or
// directly follows starts right after it; anything else is left to parseJournal, which then
// reports the zeros as damage.
func punchedPrefix(data []byte, after uint64) int {
	start := len(journalMagic)
	z := start
	for z < len(data) && data[z] == 0 {
		z++
	}
	if z-start < recordHeaderLen {
		return start // no punched record, or the leading zero bytes of a record's length
	}
	if z == len(data) {
		return z // every record was punched
	}
	// A record's length field is big-endian and never 0, so its first non-zero byte is one of
	// the four bytes of the length.
	for p := max(start, z-3); p <= z; p++ {
		if rec, _, ok := recordAt(data[p:]); ok && rec.lsn <= after+1 {
			return p
		}
	}
	return start
}

// deferReplay hands the records of todo, which did not fit in the bbolt file, to the committer
// as rounds journaled since the last checkpoint: they stay in the journal (cut just after them,
// which frees space rather than using it), the first transaction replays them in memory, and
// the next checkpoint that fits moves them into the bbolt file. Views see them from the start.
func deferReplay(s *Store, j *journal, todo []journalRecord) error {
	last := todo[len(todo)-1]
	if err := j.f.Truncate(last.end); err != nil {
		return ioError("journal", err)
	}
	for _, r := range todo {
		s.since = append(s.since, r.payload)
		s.sinceBytes += len(r.payload)
	}
	j.off, j.lsn = last.end, last.lsn
	s.dirty = true
	s.scheduleCheckpoint()
	if s.logger != nil {
		s.logger.Warn("tribus/store: no room to replay the journal into the bbolt file; its records stay in the journal until a checkpoint fits",
			"journal", s.path+JournalSuffix, "records", len(todo), "bytes", s.sinceBytes)
	}
	return nil
}
