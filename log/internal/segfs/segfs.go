// This file is the whole file layer: the interfaces, the disk and the in-memory file systems.

package segfs

import (
	"errors"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// File is what a segment needs from a file. The segment appends and never rewrites in
// place, so a file needs no seek or positional write: one writer appends (and truncates only
// to cut a torn or failed tail) while any number of readers use ReadAt on bytes below the size
// they were told about.
type File interface {
	// ReadAt reads len(p) bytes at off, as [io.ReaderAt] does (n < len(p) only with an error,
	// io.EOF at the end).
	ReadAt(p []byte, off int64) (int, error)
	// Write appends p at the end of the file, even after a Truncate.
	Write(p []byte) (int, error)
	// Truncate cuts (or zero-extends) the file to size bytes.
	Truncate(size int64) error
	// Sync makes what was written durable; a no-op in memory.
	Sync() error
	// Size is the file's length in bytes, kept by the handle so that it costs no system call.
	Size() int64
	// Close releases the handle; later calls fail with an error that wraps [fs.ErrClosed].
	Close() error
}

// FS opens, lists and removes the files of partition directories. It exists so that
// the same segment code runs on disk ([OS]), in memory ([NewMem]) for an in-memory broker,
// and under tests that wrap either one to inject faults. Names are paths as [filepath.Join]
// builds them.
type FS interface {
	// Open opens name read-write, creating it (empty) if it is missing; its directory must exist.
	Open(name string) (File, error)
	// List returns the names (not paths) of the regular files in dir, sorted.
	List(dir string) ([]string, error)
	// Remove deletes the file name; an error wrapping fs.ErrNotExist if there is none.
	Remove(name string) error
	// Rename moves the file oldname to newname in the same directory, atomically replacing
	// any file already there; handles opened before keep the file they had. An error wraps
	// fs.ErrNotExist if oldname is missing. The move is durable after SyncDir.
	Rename(oldname, newname string) error
	// MkdirAll creates dir and its missing parents.
	MkdirAll(dir string) error
	// RemoveAll deletes dir and everything under it; nil if it does not exist.
	RemoveAll(dir string) error
	// SyncDir makes the creation and removal of names in dir durable (fsync of the directory,
	// which POSIX requires before a new file is sure to survive a crash); a no-op in memory.
	SyncDir(dir string) error
}

// Permissions of what OS creates: the data is the user's messages, so nobody else reads it.
const (
	filePerm = 0o600
	dirPerm  = 0o700
)

// Backend is a file system with an empty directory on it.
type Backend struct {
	Name string // "mem" or "os"
	FS   FS
	Dir  string
}

// Backends returns one in-memory file system and the disk's (under tmp), each with an empty
// partition directory. Code above this layer is tested on both, so that both keep one
// contract, as nats-server runs each store test as Memory and File.
func Backends(tmp string) ([]Backend, error) {
	mem, disk := NewMem(), OS()
	bs := []Backend{{"mem", mem, filepath.Join("data", "orders-0")}, {"os", disk, filepath.Join(tmp, "orders-0")}}
	for _, b := range bs {
		if err := b.FS.MkdirAll(b.Dir); err != nil {
			return nil, err
		}
	}
	return bs, nil
}

// OS returns the file system of the operating system.
func OS() FS { return diskFS{} }

// diskFS is the [FS] of real files.
type diskFS struct{}

func (diskFS) Open(name string) (File, error) {
	// O_APPEND makes Write land at the end even after Truncate moved the end back, which is
	// what File promises; without it the file offset would stay past the cut and leave a hole.
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_APPEND, filePerm)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	of := &osFile{f: f}
	of.size.Store(st.Size())
	return of, nil
}

func (diskFS) List(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

func (diskFS) Remove(name string) error   { return os.Remove(name) }
func (diskFS) Rename(o, n string) error   { return os.Rename(o, n) }
func (diskFS) MkdirAll(dir string) error  { return os.MkdirAll(dir, dirPerm) }
func (diskFS) RemoveAll(dir string) error { return os.RemoveAll(dir) }
func (diskFS) SyncDir(dir string) error   { return syncDir(dir) }

// syncDir fsyncs the directory dir.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// osFile is a real file whose size is tracked by the handle: segments ask for it on every
// append and read, and a Stat each time would be a system call.
type osFile struct {
	f    *os.File
	size atomic.Int64 // written by the one writer, read by readers
}

func (f *osFile) ReadAt(p []byte, off int64) (int, error) { return f.f.ReadAt(p, off) }
func (f *osFile) Size() int64                             { return f.size.Load() }
func (f *osFile) Sync() error                             { return f.f.Sync() }
func (f *osFile) Close() error                            { return f.f.Close() }

func (f *osFile) Write(p []byte) (int, error) {
	n, err := f.f.Write(p)
	f.size.Add(int64(n))
	return n, err
}

func (f *osFile) Truncate(size int64) error {
	if err := f.f.Truncate(size); err != nil {
		return err
	}
	f.size.Store(size)
	return nil
}

// NewMem returns an empty in-memory file system. It behaves as a POSIX one where the
// segment code can tell: Open needs the directory to exist, a removed file stays readable
// through handles opened before, and a closed handle fails. It is safe for concurrent use,
// and each file for concurrent readers with one writer.
func NewMem() FS {
	return &memFS{dirs: map[string]bool{".": true, "/": true}, files: map[string]*memData{}, inDir: map[string]map[string]bool{}}
}

// memFS keeps files as byte slices in a map. mu guards the maps; each file's bytes have their
// own lock so that readers of one partition never wait for a writer of another.
type memFS struct {
	mu    sync.Mutex
	dirs  map[string]bool
	files map[string]*memData
	// inDir indexes files by directory (directory → its files' base names), so that List
	// costs what the directory holds, not what the whole file system holds.
	inDir map[string]map[string]bool
}

// add records a new file name (clean) with data d.
func (m *memFS) add(name string, d *memData) {
	m.files[name] = d
	dir := filepath.Dir(name)
	if m.inDir[dir] == nil {
		m.inDir[dir] = map[string]bool{}
	}
	m.inDir[dir][filepath.Base(name)] = true
}

// drop forgets file name (clean).
func (m *memFS) drop(name string) {
	delete(m.files, name)
	dir := filepath.Dir(name)
	delete(m.inDir[dir], filepath.Base(name))
	if len(m.inDir[dir]) == 0 {
		delete(m.inDir, dir)
	}
}

// memData is the content of one in-memory file, shared by all its handles. It is kept in
// chunks of memChunk bytes so that appending to a large file never copies what it holds, and a
// file never holds more than one partly used chunk of spare capacity.
type memData struct {
	mu     sync.RWMutex
	chunks [][]byte // all full but the last
	size   int64
}

const memChunk = 1 << 20

func (d *memData) write(p []byte) {
	d.size += int64(len(p))
	for len(p) > 0 {
		if n := len(d.chunks); n == 0 || len(d.chunks[n-1]) == memChunk {
			d.chunks = append(d.chunks, nil)
		}
		c := d.chunks[len(d.chunks)-1]
		k := min(len(p), memChunk-len(c))
		if len(c)+k > cap(c) {
			// The first chunk doubles, so that a small file stays small and its copies add
			// up to one chunk's worth (append's gentler growth would copy several times
			// that); a file past one chunk is large, and later chunks come whole.
			newCap := memChunk
			if len(d.chunks) == 1 {
				newCap = min(memChunk, max(2*cap(c), len(c)+k, 512))
			}
			nc := make([]byte, len(c), newCap)
			copy(nc, c)
			c = nc
		}
		d.chunks[len(d.chunks)-1] = append(c, p[:k]...)
		p = p[k:]
	}
}

func (d *memData) readAt(p []byte, off int64) int {
	n := 0
	for n < len(p) && off < d.size {
		k := copy(p[n:], d.chunks[off/memChunk][off%memChunk:])
		n += k
		off += int64(k)
	}
	return n
}

func (d *memData) truncate(size int64) {
	if size >= d.size {
		d.write(make([]byte, size-d.size))
		return
	}
	// Readers copy under the lock, so no one holds the cut bytes: reusing the arrays is safe.
	keep := int((size + memChunk - 1) / memChunk)
	clear(d.chunks[keep:])
	d.chunks = d.chunks[:keep]
	if keep > 0 {
		d.chunks[keep-1] = d.chunks[keep-1][:size-int64(keep-1)*memChunk]
	}
	d.size = size
}

func (m *memFS) Open(name string) (File, error) {
	name = filepath.Clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.dirs[filepath.Dir(name)] {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	if m.dirs[name] {
		return nil, &fs.PathError{Op: "open", Path: name, Err: errors.New("is a directory")}
	}
	d := m.files[name]
	if d == nil {
		d = &memData{}
		m.add(name, d)
	}
	return &memFile{name: name, d: d}, nil
}

func (m *memFS) List(dir string) ([]string, error) {
	dir = filepath.Clean(dir)
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.dirs[dir] {
		return nil, &fs.PathError{Op: "open", Path: dir, Err: fs.ErrNotExist}
	}
	names := slices.Sorted(maps.Keys(m.inDir[dir]))
	return names, nil
}

func (m *memFS) Remove(name string) error {
	name = filepath.Clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.files[name]; !ok {
		return &fs.PathError{Op: "remove", Path: name, Err: fs.ErrNotExist}
	}
	m.drop(name)
	return nil
}

func (m *memFS) Rename(oldname, newname string) error {
	oldname, newname = filepath.Clean(oldname), filepath.Clean(newname)
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.files[oldname]
	if !ok {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: fs.ErrNotExist}
	}
	if !m.dirs[filepath.Dir(newname)] {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: fs.ErrNotExist}
	}
	if m.dirs[newname] {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: errors.New("is a directory")}
	}
	if oldname == newname {
		return nil
	}
	// Handles on a replaced file keep its data, as they keep the old inode on disk.
	m.drop(oldname)
	m.add(newname, d)
	return nil
}

func (m *memFS) MkdirAll(dir string) error {
	dir = filepath.Clean(dir)
	m.mu.Lock()
	defer m.mu.Unlock()
	for d := dir; !m.dirs[d]; d = filepath.Dir(d) {
		if _, ok := m.files[d]; ok {
			return &fs.PathError{Op: "mkdir", Path: d, Err: errors.New("not a directory")}
		}
		m.dirs[d] = true
	}
	return nil
}

func (m *memFS) RemoveAll(dir string) error {
	dir = filepath.Clean(dir)
	prefix := dir + string(filepath.Separator)
	m.mu.Lock()
	defer m.mu.Unlock()
	for name := range m.files {
		if name == dir || strings.HasPrefix(name, prefix) {
			m.drop(name)
		}
	}
	if dir == "." || dir == "/" {
		return nil // the root stays, as it does on disk
	}
	for d := range m.dirs {
		if d == dir || strings.HasPrefix(d, prefix) {
			delete(m.dirs, d)
		}
	}
	return nil
}

func (m *memFS) SyncDir(string) error { return nil }

// memFile is one handle on a memData.
type memFile struct {
	name   string
	d      *memData
	closed atomic.Bool
}

// errIfClosed returns the error a closed *os.File gives, so both backends fail alike.
func (f *memFile) errIfClosed(op string) error {
	if f.closed.Load() {
		return &fs.PathError{Op: op, Path: f.name, Err: fs.ErrClosed}
	}
	return nil
}

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	if err := f.errIfClosed("read"); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, &fs.PathError{Op: "read", Path: f.name, Err: errors.New("negative offset")}
	}
	f.d.mu.RLock()
	n := f.d.readAt(p, off)
	f.d.mu.RUnlock()
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *memFile) Write(p []byte) (int, error) {
	if err := f.errIfClosed("write"); err != nil {
		return 0, err
	}
	f.d.mu.Lock()
	f.d.write(p)
	f.d.mu.Unlock()
	return len(p), nil
}

func (f *memFile) Truncate(size int64) error {
	if err := f.errIfClosed("truncate"); err != nil {
		return err
	}
	if size < 0 {
		return &fs.PathError{Op: "truncate", Path: f.name, Err: errors.New("negative size")}
	}
	f.d.mu.Lock()
	f.d.truncate(size)
	f.d.mu.Unlock()
	return nil
}

func (f *memFile) Sync() error { return f.errIfClosed("sync") }

func (f *memFile) Size() int64 {
	f.d.mu.RLock()
	defer f.d.mu.RUnlock()
	return f.d.size
}

func (f *memFile) Close() error {
	if f.closed.Swap(true) {
		return &fs.PathError{Op: "close", Path: f.name, Err: fs.ErrClosed}
	}
	return nil
}

// ReadFull reads len(p) bytes of f at off; fewer is an error, io.ErrUnexpectedEOF if the file
// ends first.
func ReadFull(f File, p []byte, off int64) error {
	n, err := f.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// ReadAll returns the whole content of f, in a new slice the caller owns.
func ReadAll(f File) ([]byte, error) {
	b := make([]byte, f.Size())
	if err := ReadFull(f, b, 0); err != nil {
		return nil, err
	}
	return b, nil
}
