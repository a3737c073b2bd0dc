// Package segfstest is what the tests of the segment layer and the log share: a file system
// that fails the operations a test picks, each test run over both backends, and changes made
// to a file behind its owner's back. It is imported by tests only.
package segfstest

import (
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/log/internal/segfs"
)

// ErrInjected is the error a test's hook returns for the faults it injects.
var ErrInjected = errors.New("injected fault")

// ForEach runs fn as a subtest on each backend of [segfs.Backends], "mem" and "os", with a
// partition directory that exists and is empty, so both backends keep one contract.
func ForEach(t *testing.T, fn func(t *testing.T, fsys segfs.FS, dir string)) {
	t.Helper()
	bs, err := segfs.Backends(t.TempDir())
	require.NoError(t, err)
	for _, b := range bs {
		t.Run(b.Name, func(t *testing.T) { fn(t, b.FS, b.Dir) })
	}
}

// FaultFS wraps a file system and fails the writes, truncations and syncs its hook picks, as a
// disk that fills up or goes away would (bbolt's Options.OpenFile serves the same purpose). It
// is safe for concurrent use; the zero hook lets every call through.
type FaultFS struct {
	segfs.FS
	mu     sync.Mutex
	hook   func(op, name string, p []byte) (n int, err error) // a nil error lets the call through
	onRead func(name string)                                  // called, without mu, before each ReadAt
}

// SetOnRead installs fn to run before every ReadAt (nil removes it); fn may block, holding back
// that read alone.
func (f *FaultFS) SetOnRead(fn func(name string)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.onRead = fn
}

// SetHook installs hook (nil removes it). It is called with the operation ("write",
// "truncate" or "sync"), the file's name and, for a write, its bytes; a non-nil error fails the
// call, and a failed write still writes its first n bytes, the torn write a short write leaves.
func (f *FaultFS) SetHook(hook func(op, name string, p []byte) (int, error)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hook = hook
}

func (f *FaultFS) check(op, name string, p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.hook == nil {
		return 0, nil
	}
	return f.hook(op, name, p)
}

// Open opens name on the wrapped file system, the handle going through the hooks.
func (f *FaultFS) Open(name string) (segfs.File, error) {
	sf, err := f.FS.Open(name)
	if err != nil {
		return nil, err
	}
	return &faultFile{File: sf, fs: f, name: name}, nil
}

// faultFile is a file of a FaultFS.
type faultFile struct {
	segfs.File
	fs   *FaultFS
	name string
}

func (f *faultFile) Write(p []byte) (int, error) {
	if n, err := f.fs.check("write", f.name, p); err != nil {
		if n > 0 {
			if _, werr := f.File.Write(p[:n]); werr != nil {
				return 0, werr
			}
		}
		return n, err
	}
	return f.File.Write(p)
}

func (f *faultFile) ReadAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	fn := f.fs.onRead
	f.fs.mu.Unlock()
	if fn != nil {
		fn(f.name)
	}
	return f.File.ReadAt(p, off)
}

func (f *faultFile) Truncate(size int64) error {
	if _, err := f.fs.check("truncate", f.name, nil); err != nil {
		return err
	}
	return f.File.Truncate(size)
}

func (f *faultFile) Sync() error {
	if _, err := f.fs.check("sync", f.name, nil); err != nil {
		return err
	}
	return f.File.Sync()
}

// Mangle changes the file at path through fsys with fn, as damage a test plants would.
func Mangle(t testing.TB, fsys segfs.FS, path string, fn func(f segfs.File)) {
	t.Helper()
	f, err := fsys.Open(path)
	require.NoError(t, err)
	fn(f)
	require.NoError(t, f.Close())
}

// CutTo truncates a file to n(its size) bytes.
func CutTo(n func(size int64) int64) func(f segfs.File) {
	return func(f segfs.File) {
		if err := f.Truncate(n(f.Size())); err != nil {
			panic(err)
		}
	}
}

// AppendBytes appends b to a file.
func AppendBytes(b []byte) func(f segfs.File) {
	return func(f segfs.File) {
		if _, err := f.Write(b); err != nil {
			panic(err)
		}
	}
}

// Flip flips one bit of the byte at pos.
func Flip(pos int64) func(f segfs.File) {
	return FlipAt(func(int64) int64 { return pos })
}

// FlipAt flips one bit of the byte at at(the file's size).
func FlipAt(at func(size int64) int64) func(f segfs.File) {
	return func(f segfs.File) {
		b, err := segfs.ReadAll(f)
		if err != nil {
			panic(err)
		}
		b[at(int64(len(b)))] ^= 0x10
		if err := f.Truncate(0); err != nil {
			panic(err)
		}
		AppendBytes(b)(f)
	}
}
