package store

import (
	"encoding/binary"
	"hash/crc32"
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
