package store

import "unsafe"

// touchGrown reads one byte of each page the last checkpoint added at the end of the bbolt
// file. bbolt writes pages with pwrite and reads them through its memory map, and the first
// read of a page through the map costs more than every later one: a page fault, and on a
// virtual machine the first access through the page's table entry, about 1.2 µs here against
// 20 ns after (docs/performance.md). Left to the readers, that first read falls on whoever
// reads the page first, typically a consumer reading a paged-out backlog back, one message
// after another; made here, it costs the committer the same once per page written and the
// readers nothing. Mapping the pages with madvise(MADV_POPULATE_READ) was tried and does not
// help: the first access is what costs. Only pages added while the store is open are read:
// the file's older pages are left for their first use, since reading a large file through
// would load it all from disk. After bbolt remaps the file (it outgrew its map) the count
// starts over from the size at the remap. Committer only (and Open, before the committer
// starts).
func (s *Store) touchGrown() {
	tx, err := s.db.Begin(false)
	if err != nil {
		return
	}
	defer func() { _ = tx.Rollback() }()
	size := tx.Size()
	info := s.db.Info() // read while tx holds the map in place
	if info.Data != s.mapBase {
		s.mapBase, s.mapped = info.Data, size // at Open, or after a remap: from here on
		return
	}
	// The map is not Go memory, so the garbage collector never moves or frees it; the
	// conversion goes through memory so that it is not taken for pointer arithmetic.
	start := *(*unsafe.Pointer)(unsafe.Pointer(&info.Data))
	var sum byte
	for off := s.mapped; off < size; off += int64(info.PageSize) {
		sum += *(*byte)(unsafe.Add(start, off))
	}
	s.touched += sum // kept, so that the reads are not optimised away
	s.mapped = max(s.mapped, size)
}
