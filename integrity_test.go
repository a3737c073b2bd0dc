package tribus_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus"
	"github.com/tribusmq/tribus/pubsub"
	"github.com/tribusmq/tribus/store"
	"github.com/tribusmq/tribus/wire/resp"
)

// Issue 11 at the root: a directory or options Open cannot use are refused with a typed error
// before anything is created, and the store's recovery choice reaches it.

func TestBroker_BadInputRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		dir  func(t *testing.T) string // the directory to open; its parent is checked unchanged
		opts *tribus.Options
		want []error
	}{
		{"dir is a file", aFile, nil, []error{tribus.ErrInvalidDir}},
		{"a parent of dir is a file", func(t *testing.T) string { return filepath.Join(aFile(t), "d") }, nil,
			[]error{tribus.ErrInvalidDir}},
		{"dir contains NUL", func(t *testing.T) string { return filepath.Join(t.TempDir(), "a\x00b") }, nil,
			[]error{tribus.ErrInvalidDir}},
		{"unknown sync policy", subdir, &tribus.Options{Sync: 9}, []error{tribus.ErrInvalidOptions}},
		{"negative sync interval", subdir, &tribus.Options{Sync: tribus.SyncBatch, SyncInterval: -time.Millisecond},
			[]error{tribus.ErrInvalidOptions}},
		{"negative pub/sub buffer limit", subdir, &tribus.Options{PubSub: pubsub.Options{Limits: pubsub.Limits{MaxMessages: -1}}},
			[]error{tribus.ErrInvalidOptions, pubsub.ErrInvalidOptions}},
		{"MaxMessageSize over 512 MiB", subdir, &tribus.Options{MaxMessageSize: 513 << 20}, []error{tribus.ErrInvalidOptions}},
		{"negative maxclients", subdir, &tribus.Options{Redis: resp.Options{MaxClients: -1}},
			[]error{tribus.ErrInvalidOptions, resp.ErrInvalidOptions}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.dir(t)
			parent := filepath.Dir(dir)
			if fi, err := os.Stat(parent); err == nil && !fi.IsDir() {
				parent = filepath.Dir(parent)
			}
			before := listing(t, parent)
			b, err := tribus.Open(dir, tc.opts)
			if err == nil {
				b.Close()
			}
			for _, want := range tc.want {
				assert.ErrorIs(t, err, want)
			}
			assert.Equal(t, before, listing(t, parent), "nothing was created")
		})
	}
}

// TestBroker_AcceptsWhatTheOptionsDocument: the negative values the options give a meaning
// (RabbitMQ's "no limit" and "off") are not refused.
func TestBroker_AcceptsWhatTheOptionsDocument(t *testing.T) {
	for _, o := range []tribus.Options{{MemoryBudget: -1}, {DiskFreeLimit: -1}, {Sync: tribus.SyncBatch}} {
		b, err := tribus.Open(t.TempDir(), &o)
		require.NoError(t, err, "%+v", o)
		require.NoError(t, b.Close())
	}
}

func TestBroker_RecoverCorruptJournalReachesTheStore(t *testing.T) {
	dir := t.TempDir()
	b, err := tribus.Open(dir, nil)
	require.NoError(t, err)
	require.NoError(t, b.Close())
	jpath := filepath.Join(dir, "tribus.db"+store.JournalSuffix)
	data, err := os.ReadFile(jpath)
	require.NoError(t, err)
	data[0] ^= 0x20 // the journal's magic: the whole file is damage
	require.NoError(t, os.WriteFile(jpath, data, 0o600))

	_, err = tribus.Open(dir, nil)
	require.ErrorIs(t, err, tribus.ErrCorrupt, "the default refuses")
	after, err := os.ReadFile(jpath)
	require.NoError(t, err)
	assert.Equal(t, data, after, "and changes nothing")

	b, err = tribus.Open(dir, &tribus.Options{RecoverCorruptJournal: true})
	require.NoError(t, err, "the option recovers")
	require.NoError(t, b.Close())
	aside, err := filepath.Glob(jpath + ".corrupt-*")
	require.NoError(t, err)
	assert.Len(t, aside, 1, "the damaged journal is kept aside")
}

// aFile returns the path of a new regular file.
func aFile(t *testing.T) string {
	path := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(path, []byte("not a directory"), 0o600))
	return path
}

// subdir returns a missing directory inside a new temporary one.
func subdir(t *testing.T) string { return filepath.Join(t.TempDir(), "broker") }

// listing names what dir holds, with the size of each entry.
func listing(t *testing.T, dir string) map[string]int64 {
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	out := map[string]int64{}
	for _, e := range entries {
		fi, err := e.Info()
		require.NoError(t, err)
		out[e.Name()] = fi.Size()
	}
	return out
}
