package segfs

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// forEachFS runs fn as a subtest on each file system, with a partition directory that exists
// and is empty (see Backends).
func forEachFS(t *testing.T, fn func(t *testing.T, fsys FS, dir string)) {
	t.Helper()
	bs, err := Backends(t.TempDir())
	require.NoError(t, err)
	for _, b := range bs {
		t.Run(b.Name, func(t *testing.T) { fn(t, b.FS, b.Dir) })
	}
}

func TestFS_WriteReadTruncate(t *testing.T) {
	forEachFS(t, func(t *testing.T, fsys FS, dir string) {
		name := filepath.Join(dir, "a.log")
		f, err := fsys.Open(name)
		require.NoError(t, err)
		assert.Equal(t, int64(0), f.Size())

		_, err = f.Write([]byte("hello, "))
		require.NoError(t, err)
		_, err = f.Write([]byte("world"))
		require.NoError(t, err)
		assert.Equal(t, int64(12), f.Size())

		p := make([]byte, 5)
		n, err := f.ReadAt(p, 7)
		require.NoError(t, err)
		assert.Equal(t, "world", string(p[:n]))
		// A read past the end is short and says io.EOF, as io.ReaderAt requires.
		n, err = f.ReadAt(p, 10)
		assert.Equal(t, 2, n)
		assert.ErrorIs(t, err, io.EOF)

		// Write appends at the new end after a truncation, never past a hole.
		require.NoError(t, f.Truncate(5))
		_, err = f.Write([]byte("!"))
		require.NoError(t, err)
		assert.Equal(t, int64(6), f.Size())
		require.NoError(t, f.Truncate(8)) // growing zero-fills
		got := make([]byte, 8)
		_, err = f.ReadAt(got, 0)
		require.NoError(t, err)
		assert.Equal(t, []byte("hello!\x00\x00"), got)
		require.NoError(t, f.Sync())
		require.NoError(t, f.Close())

		// Closed handles fail the way *os.File does; the data stays.
		_, err = f.ReadAt(p, 0)
		assert.ErrorIs(t, err, fs.ErrClosed)
		_, err = f.Write(p)
		assert.ErrorIs(t, err, fs.ErrClosed)
		assert.ErrorIs(t, f.Close(), fs.ErrClosed)

		f, err = fsys.Open(name)
		require.NoError(t, err)
		defer f.Close()
		assert.Equal(t, int64(8), f.Size())
	})
}

func TestFS_ListRemove(t *testing.T) {
	forEachFS(t, func(t *testing.T, fsys FS, dir string) {
		for _, n := range []string{"b.index", "a.log", "c.timeindex"} {
			f, err := fsys.Open(filepath.Join(dir, n))
			require.NoError(t, err)
			require.NoError(t, f.Close())
		}
		require.NoError(t, fsys.MkdirAll(filepath.Join(dir, "sub", "deeper")))
		names, err := fsys.List(dir)
		require.NoError(t, err)
		assert.Equal(t, []string{"a.log", "b.index", "c.timeindex"}, names, "sorted, files only")

		require.NoError(t, fsys.Remove(filepath.Join(dir, "b.index")))
		assert.ErrorIs(t, fsys.Remove(filepath.Join(dir, "b.index")), fs.ErrNotExist)
		names, err = fsys.List(dir)
		require.NoError(t, err)
		assert.Equal(t, []string{"a.log", "c.timeindex"}, names)
		require.NoError(t, fsys.SyncDir(dir))

		_, err = fsys.Open(filepath.Join(dir, "missing", "x.log"))
		assert.ErrorIs(t, err, fs.ErrNotExist, "Open does not create directories")
		_, err = fsys.List(filepath.Join(dir, "missing"))
		assert.ErrorIs(t, err, fs.ErrNotExist)

		require.NoError(t, fsys.RemoveAll(dir))
		_, err = fsys.List(dir)
		assert.ErrorIs(t, err, fs.ErrNotExist)
		_, err = fsys.List(filepath.Join(dir, "sub"))
		assert.ErrorIs(t, err, fs.ErrNotExist)
		assert.NoError(t, fsys.RemoveAll(dir), "removing what is gone is fine")
	})
}

// A segment removed by retention may still be read through a handle a fetch opened before:
// the bytes must stay readable, as they do on POSIX.
func TestFS_RemovedFileStaysReadable(t *testing.T) {
	forEachFS(t, func(t *testing.T, fsys FS, dir string) {
		name := filepath.Join(dir, "a.log")
		f, err := fsys.Open(name)
		require.NoError(t, err)
		defer f.Close()
		_, err = f.Write([]byte("kept"))
		require.NoError(t, err)
		require.NoError(t, fsys.Remove(name))
		p := make([]byte, 4)
		_, err = f.ReadAt(p, 0)
		require.NoError(t, err)
		assert.Equal(t, "kept", string(p))

		g, err := fsys.Open(name)
		require.NoError(t, err)
		defer g.Close()
		assert.Equal(t, int64(0), g.Size(), "a new file, not the removed one")
	})
}

// Readers use ReadAt below the size they saw while one writer appends: run with -race.
func TestFS_ConcurrentReadersOneWriter(t *testing.T) {
	forEachFS(t, func(t *testing.T, fsys FS, dir string) {
		f, err := fsys.Open(filepath.Join(dir, "a.log"))
		require.NoError(t, err)
		defer f.Close()
		const blocks, blockSize = 200, 64
		block := func(i int) []byte { return bytes.Repeat([]byte{byte(i)}, blockSize) }
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for range 4 {
			wg.Go(func() {
				p := make([]byte, blockSize)
				for done := false; !done; {
					done = f.Size() == blocks*blockSize
					n := int(f.Size() / blockSize)
					for i := range n {
						if _, err := f.ReadAt(p, int64(i*blockSize)); err != nil {
							errs <- err
							return
						}
						if !bytes.Equal(p, block(i)) {
							errs <- errors.New("read bytes that were not written")
							return
						}
					}
				}
			})
		}
		for i := range blocks {
			_, err := f.Write(block(i))
			require.NoError(t, err)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
}

// DESIGN §6: files 0600, directories 0700.
func TestFS_OSPermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	fsys := OS()
	require.NoError(t, fsys.MkdirAll(dir))
	f, err := fsys.Open(filepath.Join(dir, "x.log"))
	require.NoError(t, err)
	require.NoError(t, f.Close())
	st, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), st.Mode().Perm())
	st, err = os.Stat(filepath.Join(dir, "x.log"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
}

// Random writes, truncations and reads across the in-memory file's chunk boundaries agree with a byte slice.
func TestFS_RandomOps(t *testing.T) {
	forEachFS(t, func(t *testing.T, fsys FS, dir string) {
		rng := rand.New(rand.NewPCG(1, 2))
		f, err := fsys.Open(filepath.Join(dir, "a.log"))
		require.NoError(t, err)
		defer f.Close()
		var model []byte
		for range 200 {
			switch rng.IntN(4) {
			case 0, 1:
				p := make([]byte, rng.IntN(100_000))
				for i := range p {
					p[i] = byte(rng.Uint32())
				}
				_, err := f.Write(p)
				require.NoError(t, err)
				model = append(model, p...)
			case 2:
				size := rng.Int64N(int64(len(model)) + 50_000)
				require.NoError(t, f.Truncate(size))
				if size <= int64(len(model)) {
					model = model[:size]
				} else {
					model = append(model, make([]byte, size-int64(len(model)))...)
				}
			default:
				off := rng.Int64N(int64(len(model)) + 1)
				p := make([]byte, rng.IntN(3<<20)) // up to three of the in-memory file's 1 MiB chunks
				n, err := f.ReadAt(p, off)
				want := model[off:min(off+int64(len(p)), int64(len(model)))]
				if n < len(p) {
					require.ErrorIs(t, err, io.EOF)
				}
				require.True(t, bytes.Equal(want, p[:n]), "read %d bytes at %d", len(p), off)
			}
			require.Equal(t, int64(len(model)), f.Size())
		}
	})
}

// List names a directory's files whatever other directories hold, after renames into and
// out of it, removals and a sibling's RemoveAll, on both backends alike.
func TestFS_ListSeesOnlyItsDirectoryThroughRenamesAndRemoves(t *testing.T) {
	forEachFS(t, func(t *testing.T, fsys FS, dir string) {
		a, b := filepath.Join(dir, "t-0"), filepath.Join(dir, "t-1")
		require.NoError(t, fsys.MkdirAll(a))
		require.NoError(t, fsys.MkdirAll(b))
		for _, p := range []string{filepath.Join(a, "0.log"), filepath.Join(a, "0.index"), filepath.Join(b, "0.log")} {
			f, err := fsys.Open(p)
			require.NoError(t, err)
			require.NoError(t, f.Close())
		}
		list := func(d string) []string {
			t.Helper()
			names, err := fsys.List(d)
			require.NoError(t, err)
			return names
		}
		assert.Equal(t, []string{"0.index", "0.log"}, list(a))
		assert.Equal(t, []string{"0.log"}, list(b))

		require.NoError(t, fsys.Rename(filepath.Join(a, "0.index"), filepath.Join(b, "7.index")))
		assert.Equal(t, []string{"0.log"}, list(a), "renamed out")
		assert.Equal(t, []string{"0.log", "7.index"}, list(b), "renamed in")
		require.NoError(t, fsys.Rename(filepath.Join(b, "0.log"), filepath.Join(b, "7.index")))
		assert.Equal(t, []string{"7.index"}, list(b), "a rename over a file replaces it")

		require.NoError(t, fsys.Remove(filepath.Join(a, "0.log")))
		assert.Empty(t, list(a))
		require.NoError(t, fsys.RemoveAll(b))
		assert.Empty(t, list(a), "a sibling's RemoveAll leaves it")
		require.NoError(t, fsys.MkdirAll(b))
		assert.Empty(t, list(b), "a directory made again starts empty")
	})
}

// BenchmarkMemFS_ListAmongManyDirectories lists one partition directory of an in-memory file
// system that holds 10,000 others: the cost follows the directory, not the file system
// (opening a topic of n partitions was O(n²) when List scanned every file).
func BenchmarkMemFS_ListAmongManyDirectories(b *testing.B) {
	fsys := NewMem()
	for i := range 10_000 {
		d := filepath.Join("data", "t-"+strconv.Itoa(i))
		require.NoError(b, fsys.MkdirAll(d))
		for _, n := range []string{"00000000000000000000.log", "00000000000000000000.index"} {
			f, err := fsys.Open(filepath.Join(d, n))
			require.NoError(b, err)
			require.NoError(b, f.Close())
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		names, err := fsys.List(filepath.Join("data", "t-5000"))
		if err != nil || len(names) != 2 {
			b.Fatal(names, err)
		}
	}
}
