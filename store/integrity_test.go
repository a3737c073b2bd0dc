package store_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/internal/sentinel"
	"github.com/tribusmq/tribus/store"
)

// Tests of issue 11 on the bbolt backend's journal: damage is refused loudly, and only a torn
// tail (nothing valid after it) is cut.

const journalRecords = 5

// crashedStore leaves a store whose journal holds one record per key k1..k5 (none checkpointed),
// and returns the bbolt path and the byte offset of each record in the journal.
func crashedStore(t *testing.T) (string, []int) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tribus.db")
	s, err := store.Open(path, noCheckpoint)
	require.NoError(t, err)
	for i := 1; i <= journalRecords; i++ {
		put(t, s, q, fmt.Sprintf("k%d", i), "v")
	}
	require.NoError(t, store.CloseAsCrash(s))
	data, err := os.ReadFile(store.JournalPath(path))
	require.NoError(t, err)
	var offs []int
	for off := 8; off < len(data); off += 16 + int(binary.BigEndian.Uint32(data[off:])) {
		offs = append(offs, off)
	}
	require.Len(t, offs, journalRecords)
	return path, offs
}

func TestJournal_DamageIsAnErrorUnlessItIsATornTail(t *testing.T) {
	type damage func(data []byte, offs []int) []byte
	flip := func(rec, at int) damage {
		return func(data []byte, offs []int) []byte { data[offs[rec]+at] ^= 0x40; return data }
	}
	setLen := func(rec int, n uint32) damage {
		return func(data []byte, offs []int) []byte {
			binary.BigEndian.PutUint32(data[offs[rec]:], n)
			return data
		}
	}
	last := journalRecords - 1
	for _, tc := range []struct {
		name    string
		damage  damage
		corrupt int // index of the record reported damaged; -1: a torn tail, -2: the magic
		kept    int // for a torn tail, how many records survive
	}{
		{"magic", func(d []byte, _ []int) []byte { d[3] ^= 1; return d }, -2, 0},
		{"first record, data byte", flip(0, 20), 0, 0},
		{"first record, checksum byte", flip(0, 5), 0, 0},
		{"middle record, data byte", flip(2, 20), 2, 0},
		{"middle record, checksum byte", flip(2, 4), 2, 0},
		{"middle record, sequence number", flip(2, 15), 2, 0},
		{"middle record, length one more", func(d []byte, o []int) []byte {
			return setLen(2, binary.BigEndian.Uint32(d[o[2]:])+1)(d, o)
		}, 2, 0},
		{"middle record, length past the end", setLen(2, 1<<20), 2, 0},
		{"middle record, length past the limit", setLen(2, 1<<31), 2, 0},
		{"last record, data byte (torn tail)", flip(last, 20), -1, last},
		{"last record, checksum byte (torn tail)", flip(last, 6), -1, last},
		{"last record cut short (torn tail)", func(d []byte, o []int) []byte { return d[:o[last]+20] }, -1, last},
		{"last header cut short (torn tail)", func(d []byte, o []int) []byte { return d[:o[last]+7] }, -1, last},
		{"garbage after the last record (torn tail)", func(d []byte, _ []int) []byte {
			return append(d, "not a record, just bytes"...)
		}, -1, journalRecords},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, offs := crashedStore(t)
			jpath := store.JournalPath(path)
			orig, err := os.ReadFile(jpath)
			require.NoError(t, err)
			damaged := tc.damage(append([]byte(nil), orig...), offs)
			require.NoError(t, os.WriteFile(jpath, damaged, 0o600))
			dbBefore, err := os.ReadFile(path)
			require.NoError(t, err)

			s, err := store.Open(path, noCheckpoint)
			if tc.corrupt == -1 {
				require.NoError(t, err, "a torn tail is cut")
				t.Cleanup(func() { _ = s.Close() })
				for i := 1; i <= journalRecords; i++ {
					_, ok := get(t, s, q, fmt.Sprintf("k%d", i))
					assert.Equal(t, i <= tc.kept, ok, "k%d", i)
				}
				return
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, store.ErrCorrupt)
			assert.ErrorIs(t, err, sentinel.ErrCorrupt)
			var cerr *store.CorruptJournalError
			require.ErrorAs(t, err, &cerr)
			assert.Equal(t, jpath, cerr.Path)
			want := int64(0)
			if tc.corrupt >= 0 {
				want = int64(offs[tc.corrupt])
			}
			assert.Equal(t, want, cerr.Offset)
			assert.Contains(t, err.Error(), jpath)

			after, err := os.ReadFile(jpath)
			require.NoError(t, err)
			assert.Equal(t, damaged, after, "the journal is left as it was")
			dbAfter, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, dbBefore, dbAfter, "the bbolt file is left as it was")
		})
	}
}

func TestJournal_RecoverCorruptJournalKeepsThePrefixAndMovesTheFileAside(t *testing.T) {
	path, offs := crashedStore(t)
	jpath := store.JournalPath(path)
	data, err := os.ReadFile(jpath)
	require.NoError(t, err)
	data[offs[2]+20] ^= 0x40
	require.NoError(t, os.WriteFile(jpath, data, 0o600))

	opts := *noCheckpoint
	opts.RecoverCorruptJournal = true
	s := openFile(t, path, &opts)
	for i := 1; i <= journalRecords; i++ {
		_, ok := get(t, s, q, fmt.Sprintf("k%d", i))
		assert.Equal(t, i <= 2, ok, "k%d: only the records before the damage are kept", i)
	}
	aside, err := filepath.Glob(jpath + ".corrupt-*")
	require.NoError(t, err)
	require.Len(t, aside, 1)
	kept, err := os.ReadFile(aside[0])
	require.NoError(t, err)
	assert.Equal(t, data, kept, "the damaged journal is kept, unchanged, for inspection")

	// The store goes on working and survives a reopen.
	put(t, s, q, "after", "v")
	require.NoError(t, s.Close())
	s = openFile(t, path, nil)
	_, ok := get(t, s, q, "after")
	assert.True(t, ok)
}

func TestJournal_MissingJournalIsAnError(t *testing.T) {
	path, _ := crashedStore(t)
	require.NoError(t, os.Remove(store.JournalPath(path)))
	dbBefore, err := os.ReadFile(path)
	require.NoError(t, err)

	_, err = store.Open(path, nil)
	require.ErrorIs(t, err, store.ErrMissingJournal)
	assert.ErrorIs(t, err, sentinel.ErrCorrupt)
	assert.NoFileExists(t, store.JournalPath(path), "Open does not create the missing journal")
	dbAfter, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, dbBefore, dbAfter)
}

func TestJournal_NewStoreCreatesItsJournal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tribus.db")
	s := openFile(t, path, nil)
	require.NoError(t, s.Close())
	assert.FileExists(t, store.JournalPath(path))
	s = openFile(t, path, nil)
	require.NoError(t, s.Close())
}

func TestOpen_DamagedBboltFileIsErrCorrupt(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func([]byte) []byte
	}{
		// bbolt extends the file in steps ahead of its pages, so half of the file may hold
		// them all: the cut is at half of what the file holds up to its last written byte.
		{"truncated to half", func(d []byte) []byte {
			end := len(bytes.TrimRight(d, "\x00"))
			return d[:end/2]
		}},
		{"truncated to one page", func(d []byte) []byte { return d[:4096] }},
		{"garbage bytes", func(d []byte) []byte {
			for i := range d {
				d[i] = byte(i*7 + 3)
			}
			return d
		}},
		{"flipped bytes in both meta pages", func(d []byte) []byte {
			d[20] ^= 0xff
			d[4096+20] ^= 0xff
			return d
		}},
		{"flipped magic in both meta pages", func(d []byte) []byte {
			d[16] ^= 0xff
			d[4096+16] ^= 0xff
			return d
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, _ := crashedStore(t)
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			damaged := tc.damage(data)
			require.NoError(t, os.WriteFile(path, damaged, 0o600))
			s, err := store.Open(path, nil)
			if err == nil {
				_ = s.Close()
			}
			require.ErrorIs(t, err, store.ErrCorrupt)
			assert.ErrorIs(t, err, sentinel.ErrCorrupt)
			after, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, damaged, after, "the file is left as it was")
		})
	}
}

func TestOpen_EmptyBboltFileIsANewStore(t *testing.T) {
	// bbolt initialises a zero-length file as a new database; tribus keeps that, since a crash
	// between creating the file and bbolt's first write leaves exactly this.
	path := filepath.Join(t.TempDir(), "tribus.db")
	require.NoError(t, os.WriteFile(path, nil, 0o600))
	s := openFile(t, path, nil)
	put(t, s, q, "k", "v")
	require.NoError(t, s.Close())
	s = openFile(t, path, nil)
	_, ok := get(t, s, q, "k")
	assert.True(t, ok)
}
