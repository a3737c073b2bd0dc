package log

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/tribusmq/tribus/internal/sentinel"
	"github.com/tribusmq/tribus/log/internal/segfs"
	"github.com/tribusmq/tribus/log/internal/segment"
)

// Idempotence must survive a restart: a producer that retries a batch after the broker came
// back must still get its original offset (K39), and a gap must still be refused (K40). As a
// Kafka broker does, a partition writes a producer-state snapshot, <offset>.snapshot, holding
// every producer's epoch and last batches as of that offset, whenever it rolls a segment and
// when it closes. On open it loads the newest snapshot at or below the end of the log and
// replays only the batch headers after it, which is at most the active segment after a clean
// shutdown or a crash. A missing or unreadable snapshot only makes the replay longer.
//
// Layout, version 2: magic "TRPS", version byte 2, producer count (uint32), then per producer,
// sorted by id: id (int64), epoch (int16), the first offset of its open transaction (int64, -1
// for none), batch count (uint8), and per batch firstSeq, lastSeq (int32) and baseOffset
// (int64); then the aborted transactions the partition still holds (uint32 count, then
// producer id, first offset and last offset, int64 each, in the order their markers were
// written); a CRC-32C (Castagnoli) of everything before it ends the file. Version 1 (written
// before transactions existed) has neither the transaction offset nor the aborted list, and is
// still read.

const snapshotSuffix = ".snapshot"

var snapshotMagic = [4]byte{'T', 'R', 'P', 'S'}

const (
	snapshotV1 = 1
	snapshotV2 = 2
)

// snapshotsKept is how many snapshots a partition keeps; older ones are removed.
const snapshotsKept = 2

// snapshotPath is the path of the snapshot for offset in dir.
func (p *partition) snapshotPath(offset int64) string {
	return filepath.Join(p.dir, segment.Name(offset)+snapshotSuffix)
}

// encodeProducers returns the snapshot file contents (version 2) for producers and the
// aborted transactions at or after from.
func encodeProducers(producers map[int64]*producerState, aborted []abortedTxn, from int64) []byte {
	b := append([]byte(nil), snapshotMagic[:]...)
	b = append(b, snapshotV2)
	b = binary.BigEndian.AppendUint32(b, uint32(len(producers)))
	for _, id := range slices.Sorted(maps.Keys(producers)) {
		st := producers[id]
		b = binary.BigEndian.AppendUint64(b, uint64(id))
		b = binary.BigEndian.AppendUint16(b, uint16(st.epoch))
		b = binary.BigEndian.AppendUint64(b, uint64(st.txnFirst))
		b = append(b, byte(len(st.batches)))
		for _, sb := range st.batches {
			b = binary.BigEndian.AppendUint32(b, uint32(sb.firstSeq))
			b = binary.BigEndian.AppendUint32(b, uint32(sb.lastSeq))
			b = binary.BigEndian.AppendUint64(b, uint64(sb.baseOffset))
		}
	}
	n := 0
	for _, a := range aborted {
		if a.last >= from {
			n++
		}
	}
	b = binary.BigEndian.AppendUint32(b, uint32(n))
	for _, a := range aborted {
		if a.last >= from {
			b = binary.BigEndian.AppendUint64(b, uint64(a.producerID))
			b = binary.BigEndian.AppendUint64(b, uint64(a.first))
			b = binary.BigEndian.AppendUint64(b, uint64(a.last))
		}
	}
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, batchCRCTable))
}

var errBadSnapshot = errors.New("malformed producer-state snapshot")

// decodeProducers parses a snapshot of version 1 or 2; any damage, or another version, is
// errBadSnapshot.
func decodeProducers(b []byte) (map[int64]*producerState, []abortedTxn, error) {
	if len(b) < len(snapshotMagic)+1+8 || [4]byte(b[:4]) != snapshotMagic {
		return nil, nil, errBadSnapshot
	}
	version := b[4]
	if version != snapshotV1 && version != snapshotV2 {
		return nil, nil, errBadSnapshot
	}
	body, sum := b[:len(b)-4], binary.BigEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, batchCRCTable) != sum {
		return nil, nil, errBadSnapshot
	}
	r := body[len(snapshotMagic)+1:]
	if len(r) < 4 {
		return nil, nil, errBadSnapshot
	}
	n := binary.BigEndian.Uint32(r)
	r = r[4:]
	fixed := 11 // id, epoch, batch count
	if version == snapshotV2 {
		fixed += 8 // the open transaction's first offset
	}
	out := make(map[int64]*producerState, min(n, 1<<16))
	for range n {
		if len(r) < fixed {
			return nil, nil, errBadSnapshot
		}
		id := int64(binary.BigEndian.Uint64(r))
		st := newProducerState(int16(binary.BigEndian.Uint16(r[8:])))
		r = r[10:]
		if version == snapshotV2 {
			st.txnFirst = int64(binary.BigEndian.Uint64(r))
			r = r[8:]
			if st.txnFirst < -1 {
				return nil, nil, errBadSnapshot
			}
		}
		nb := int(r[0])
		r = r[1:]
		if nb > dedupWindow || len(r) < nb*16 {
			return nil, nil, errBadSnapshot
		}
		for range nb {
			st.batches = append(st.batches, seqBatch{firstSeq: int32(binary.BigEndian.Uint32(r)),
				lastSeq: int32(binary.BigEndian.Uint32(r[4:])), baseOffset: int64(binary.BigEndian.Uint64(r[8:]))})
			r = r[16:]
		}
		if len(st.batches) > 0 || version == snapshotV2 {
			out[id] = st
		}
	}
	var aborted []abortedTxn
	if version == snapshotV2 {
		if len(r) < 4 {
			return nil, nil, errBadSnapshot
		}
		na := binary.BigEndian.Uint32(r)
		r = r[4:]
		if uint64(len(r)) < uint64(na)*24 {
			return nil, nil, errBadSnapshot
		}
		for range na {
			a := abortedTxn{producerID: int64(binary.BigEndian.Uint64(r)), first: int64(binary.BigEndian.Uint64(r[8:])),
				last: int64(binary.BigEndian.Uint64(r[16:]))}
			if a.first < 0 || a.last < a.first {
				return nil, nil, errBadSnapshot
			}
			aborted = append(aborted, a)
			r = r[24:]
		}
	}
	if len(r) != 0 {
		return nil, nil, errBadSnapshot
	}
	return out, aborted, nil
}

// writeSnapshotLocked writes the producer state as of the end of the log, crash-safely (a
// temporary file renamed into place), and removes all but the newest snapshots. A partition
// with no idempotent producer writes none. Callers hold mu.
func (p *partition) writeSnapshotLocked() error {
	if len(p.producers) == 0 && len(p.txn.aborted) == 0 {
		return nil
	}
	final := p.snapshotPath(p.leo)
	tmp := final + ".tmp"
	_ = p.l.fs.Remove(tmp)
	f, err := p.l.fs.Open(tmp)
	if err != nil {
		return err
	}
	_, err = f.Write(encodeProducers(p.producers, p.txn.abortedList(), p.logStart))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = p.l.fs.Rename(tmp, final)
	}
	if err != nil {
		_ = p.l.fs.Remove(tmp)
		return err
	}
	offs, _ := p.snapshotOffsets()
	for len(offs) > snapshotsKept {
		_ = p.l.fs.Remove(p.snapshotPath(offs[0]))
		offs = offs[1:]
	}
	return nil
}

// snapshotOffsets lists the offsets of the partition's snapshots, ascending, removing
// leftover temporary files.
func (p *partition) snapshotOffsets() ([]int64, error) {
	names, err := p.l.fs.List(p.dir)
	if err != nil {
		return nil, err
	}
	var offs []int64
	for _, n := range names {
		if strings.HasSuffix(n, snapshotSuffix+".tmp") {
			_ = p.l.fs.Remove(filepath.Join(p.dir, n))
			continue
		}
		b, ok := strings.CutSuffix(n, snapshotSuffix)
		if !ok || len(b) != 20 {
			continue
		}
		if off, err := strconv.ParseInt(b, 10, 64); err == nil {
			offs = append(offs, off)
		}
	}
	slices.Sort(offs)
	return offs, nil
}

// loadProducers rebuilds the idempotence state at open: the newest readable snapshot at or
// below the end of the log, then the headers of the batches after it. Called before the
// partition is shared.
func (p *partition) loadProducers() error {
	offs, err := p.snapshotOffsets()
	if err != nil {
		return err
	}
	from := int64(-1)
	for i := len(offs) - 1; i >= 0 && from < 0; i-- {
		if offs[i] > p.leo {
			continue // written for records a crash took back
		}
		data, err := readFile(p.l.fs, p.snapshotPath(offs[i]))
		var aborted []abortedTxn
		if err == nil {
			p.producers, aborted, err = decodeProducers(data)
		}
		if err != nil {
			p.l.logger.Warn("tribus/log: ignoring a producer-state snapshot", "partition", p.name(), "offset", offs[i], "err", err)
			p.producers = nil
			continue
		}
		from = offs[i]
		p.txn = partitionTxns{}
		for id, st := range p.producers {
			bumpProducerID(id)
			if st.txnFirst >= 0 {
				p.openTxnLocked(id, st, st.txnFirst)
			}
		}
		for _, a := range aborted {
			p.txn.addAborted(a)
		}
	}
	if from < 0 {
		from = 0
	}
	for _, s := range p.segs {
		if s.NextOffset() <= from {
			continue
		}
		err := eachBatch(s, func(b []byte) error {
			h, err := readBatchHeader(b)
			if err != nil {
				return err
			}
			if h.ProducerID < 0 || h.BaseOffset < from {
				return nil
			}
			meta := batchMeta{producerID: h.ProducerID, producerEpoch: h.ProducerEpoch,
				baseSequence: h.BaseSequence, attrs: h.Attributes & (attrTransactional | attrControl)}
			if h.Attributes&attrControl != 0 {
				return p.replayMarkerLocked(meta, b, h.BaseOffset)
			}
			p.recordSequenceLocked(meta, int(h.LastOffsetDelta)+1, h.BaseOffset)
			return nil
		})
		if errors.Is(err, sentinel.ErrCorrupt) {
			// Fetches of the damaged batch fail loudly; the log still opens, without the
			// producer state of the rest of this segment (retries of those batches are
			// no longer recognised as duplicates).
			p.l.logger.Error("tribus/log: rebuilding producer state: skipped the rest of a segment at a corrupt batch",
				"partition", p.name(), "segment", s.Base(), "err", err)
			continue
		}
		if err != nil {
			return fmt.Errorf("rebuilding producer state: %w", err)
		}
	}
	return nil
}

// readFile returns the content of the file name.
func readFile(fsys segfs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return segfs.ReadAll(f)
}
