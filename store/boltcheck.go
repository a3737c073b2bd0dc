package store

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// bbolt's on-disk meta page (go.etcd.io/bbolt/internal/common/meta.go), in native byte order:
// a 16-byte page header, then magic, version, page size, flags (4 bytes each), root bucket
// (pgid, sequence), freelist pgid, high-water pgid, txid, checksum (8 bytes each). The checksum
// is FNV-64a of the 56 bytes before it.
const (
	boltMagic      = 0xED0CDAED
	boltVersion    = 2
	boltPageHeader = 16
	boltMetaLen    = 64
)

// boltMeta is the part of a meta page checkBoltFile needs.
type boltMeta struct {
	pageSize uint32
	freelist uint64
	pgid     uint64
	txid     uint64
}

func readBoltMeta(b []byte) (boltMeta, bool) {
	if len(b) < boltPageHeader+boltMetaLen {
		return boltMeta{}, false
	}
	m := b[boltPageHeader : boltPageHeader+boltMetaLen]
	e := binary.NativeEndian
	h := fnv.New64a()
	_, _ = h.Write(m[:56])
	if e.Uint32(m[0:]) != boltMagic || e.Uint32(m[4:]) != boltVersion || h.Sum64() != e.Uint64(m[56:]) {
		return boltMeta{}, false
	}
	return boltMeta{pageSize: e.Uint32(m[8:]), freelist: e.Uint64(m[32:]),
		pgid: e.Uint64(m[40:]), txid: e.Uint64(m[48:])}, true
}

// checkBoltFile refuses, with ErrCorrupt, a bbolt file that bbolt would map and read past its
// end: bbolt trusts the meta page's page count, and a truncated file then faults (SIGBUS) or
// panics inside bbolt, which no recover can turn into an error. A missing or empty file is
// fine (bbolt initialises it); a file whose meta pages both fail their checks is left to bbolt,
// which reports ErrInvalid or ErrChecksum.
func checkBoltFile(path string) error {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("tribus/store: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("tribus/store: %w", err)
	}
	size := fi.Size()
	if size == 0 {
		return nil
	}
	head := make([]byte, 4096)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.ErrUnexpectedEOF {
		return fmt.Errorf("tribus/store: %w", err)
	}
	head = head[:n]
	m0, ok0 := readBoltMeta(head)
	var m1 boltMeta
	ok1 := false
	ps := int64(4096)
	if ok0 {
		ps = int64(m0.pageSize)
	}
	if ps >= boltPageHeader+boltMetaLen && ps <= 1<<20 {
		second := make([]byte, boltPageHeader+boltMetaLen)
		if _, err := f.ReadAt(second, ps); err == nil {
			m1, ok1 = readBoltMeta(second)
		}
	}
	m, ok := m0, ok0
	if ok1 && (!ok0 || m1.txid > m0.txid) {
		m, ok = m1, true
	}
	if !ok {
		if size < 2*ps {
			return fmt.Errorf("%w: bbolt file %s is %d bytes, shorter than its two meta pages", ErrCorrupt, path, size)
		}
		return nil // bbolt reports ErrInvalid or ErrChecksum
	}
	need := int64(m.pgid) * int64(m.pageSize)
	if m.pgid < 2 || m.freelist >= m.pgid || need < 0 || need > size {
		return fmt.Errorf("%w: bbolt file %s is %d bytes but its meta page (txid %d) needs %d pages of %d bytes",
			ErrCorrupt, path, size, m.txid, m.pgid, m.pageSize)
	}
	return nil
}
