package log

import (
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/log/internal/segfs"
)

// forEachFS runs fn as a subtest on each file system, "mem" and "os", with a partition
// directory that exists and is empty. Every segment test goes through it, so both backends
// keep one contract (as nats-server runs each store test as Memory and File).
func forEachFS(t *testing.T, fn func(t *testing.T, fsys fileSystem, dir string)) {
	t.Helper()
	bs, err := segfs.Backends(t.TempDir())
	require.NoError(t, err)
	for _, b := range bs {
		t.Run(b.Name, func(t *testing.T) { fn(t, b.FS, b.Dir) })
	}
}

// faultFS wraps a file system and fails the writes, truncations and syncs its hook picks, as
// a disk that fills up or goes away would; bbolt's Options.OpenFile serves the same purpose.
type faultFS struct {
	fileSystem
	mu     sync.Mutex
	hook   func(op, name string, p []byte) (n int, err error) // a nil error lets the call through
	onRead func(name string)                                  // called, without mu, before each ReadAt
}

// setOnRead installs fn to run before every ReadAt (nil removes it); fn may block, holding
// back that read alone.
func (f *faultFS) setOnRead(fn func(name string)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.onRead = fn
}

// setHook installs hook (nil removes it).
func (f *faultFS) setHook(hook func(op, name string, p []byte) (int, error)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hook = hook
}

func (f *faultFS) check(op, name string, p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.hook == nil {
		return 0, nil
	}
	return f.hook(op, name, p)
}

func (f *faultFS) Open(name string) (segFile, error) {
	sf, err := f.fileSystem.Open(name)
	if err != nil {
		return nil, err
	}
	return &faultFile{segFile: sf, fs: f, name: name}, nil
}

// faultFile is a file of a faultFS. A failed Write still writes the first n bytes, so tests
// see the torn write a real short write leaves.
type faultFile struct {
	segFile
	fs   *faultFS
	name string
}

func (f *faultFile) Write(p []byte) (int, error) {
	if n, err := f.fs.check("write", f.name, p); err != nil {
		if n > 0 {
			if _, werr := f.segFile.Write(p[:n]); werr != nil {
				return 0, werr
			}
		}
		return n, err
	}
	return f.segFile.Write(p)
}

func (f *faultFile) ReadAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	fn := f.fs.onRead
	f.fs.mu.Unlock()
	if fn != nil {
		fn(f.name)
	}
	return f.segFile.ReadAt(p, off)
}

func (f *faultFile) Truncate(size int64) error {
	if _, err := f.fs.check("truncate", f.name, nil); err != nil {
		return err
	}
	return f.segFile.Truncate(size)
}

func (f *faultFile) Sync() error {
	if _, err := f.fs.check("sync", f.name, nil); err != nil {
		return err
	}
	return f.segFile.Sync()
}

var errInjected = errors.New("injected fault")

func TestFile_FaultFS(t *testing.T) {
	forEachFS(t, func(t *testing.T, base fileSystem, dir string) {
		fsys := &faultFS{fileSystem: base}
		f, err := fsys.Open(filepath.Join(dir, "a.log"))
		require.NoError(t, err)
		defer f.Close()
		fsys.setHook(func(op, _ string, p []byte) (int, error) {
			if op == "write" {
				return len(p) / 2, errInjected
			}
			return 0, errInjected
		})
		n, err := f.Write([]byte("abcd"))
		assert.ErrorIs(t, err, errInjected)
		assert.Equal(t, 2, n)
		assert.Equal(t, int64(2), f.Size(), "a torn write leaves its prefix")
		assert.ErrorIs(t, f.Sync(), errInjected)
		assert.ErrorIs(t, f.Truncate(0), errInjected)
		fsys.setHook(nil)
		require.NoError(t, f.Truncate(0))
		assert.Equal(t, int64(0), f.Size())
	})
}

// mangle changes one file of the segment based at base through the file system.
func mangle(t *testing.T, fsys fileSystem, dir string, base int64, suffix string, fn func(f segFile)) {
	t.Helper()
	f, err := fsys.Open(filepath.Join(dir, segmentName(base)+suffix))
	require.NoError(t, err)
	fn(f)
	require.NoError(t, f.Close())
}

func cutTo(n func(size int64) int64) func(f segFile) {
	return func(f segFile) {
		if err := f.Truncate(n(f.Size())); err != nil {
			panic(err)
		}
	}
}

func appendBytes(b []byte) func(f segFile) {
	return func(f segFile) {
		if _, err := f.Write(b); err != nil {
			panic(err)
		}
	}
}

// flip flips one bit of the byte at pos.
func flip(pos int64) func(f segFile) {
	return flipAt(func(int64) int64 { return pos })
}

// flipAt flips one bit of the byte at at(file size).
func flipAt(at func(size int64) int64) func(f segFile) {
	return func(f segFile) {
		b, err := readAll(f)
		if err != nil {
			panic(err)
		}
		b[at(int64(len(b)))] ^= 0x10
		if err := f.Truncate(0); err != nil {
			panic(err)
		}
		appendBytes(b)(f)
	}
}
