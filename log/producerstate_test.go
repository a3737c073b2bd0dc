package log_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	tlog "github.com/tribusmq/tribus/log"
)

// K39 across a restart: a retried batch still gets its original offset, and a gap is still
// refused, whether the idempotence state comes from the snapshot written at Close, from the
// one written at a segment roll plus the batches after it, or from the batches alone.
// Source: KIP-98 (the broker rebuilds producer state from snapshots and the log).
func TestIdempotence_K39_SurvivesReopen(t *testing.T) {
	batch := func(vals ...string) []tlog.Record {
		out := make([]tlog.Record, len(vals))
		for i, v := range vals {
			out[i] = tlog.Record{Value: []byte(v)}
		}
		return out
	}
	for _, tc := range []struct {
		name string
		keep func(name string) bool // which snapshot files survive before the reopen
	}{
		{"snapshot at close", func(string) bool { return true }},
		{"snapshot at roll plus replay", func(name string) bool { return !strings.HasPrefix(name, "00000000000000000004") }},
		{"replay only", func(string) bool { return false }},
		{"corrupt snapshot ignored", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			l, err := tlog.Open(dir, nil)
			require.NoError(t, err)
			// Segments of at most ~one batch, so the second batch rolls the first segment.
			require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{SegmentBytes: 100}))
			base, err := l.AppendIdempotent("t", 0, 9, 0, 0, batch("a", "b"))
			require.NoError(t, err)
			require.Equal(t, int64(0), base)
			base, err = l.AppendIdempotent("t", 0, 9, 0, 2, batch("c", "d"))
			require.NoError(t, err)
			require.Equal(t, int64(2), base)
			require.NoError(t, l.Close())

			pdir := filepath.Join(dir, "t-0")
			names, err := os.ReadDir(pdir)
			require.NoError(t, err)
			var snaps []string
			for _, e := range names {
				if strings.HasSuffix(e.Name(), ".snapshot") {
					snaps = append(snaps, e.Name())
				}
			}
			require.Equal(t, []string{"00000000000000000002.snapshot", "00000000000000000004.snapshot"}, snaps,
				"one at the roll, one at close")
			for _, n := range snaps {
				switch {
				case tc.keep == nil:
					require.NoError(t, os.WriteFile(filepath.Join(pdir, n), []byte("garbage"), 0o600))
				case !tc.keep(n):
					require.NoError(t, os.Remove(filepath.Join(pdir, n)))
				}
			}

			l, err = tlog.Open(dir, nil)
			require.NoError(t, err)
			defer l.Close()
			again, err := l.AppendIdempotent("t", 0, 9, 0, 2, batch("c", "d"))
			require.NoError(t, err)
			assert.Equal(t, int64(2), again, "the retry gets its original offset")
			_, err = l.AppendIdempotent("t", 0, 9, 0, 9, batch("z"))
			assert.ErrorIs(t, err, tlog.ErrOutOfOrderSequence, "a gap is still a gap")
			next, err := l.AppendIdempotent("t", 0, 9, 0, 4, batch("e"))
			require.NoError(t, err)
			assert.Equal(t, int64(4), next)
			end, _, err := l.ListOffsets("t", 0, tlog.Latest)
			require.NoError(t, err)
			assert.Equal(t, int64(5), end, "nothing written twice")
		})
	}
}

func TestFetch_CloseWakesWaitingFetch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, err := tlog.Open("", nil)
		require.NoError(t, err)
		require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{}))
		done := make(chan error, 1)
		go func() {
			_, err := l.Fetch(context.Background(), "t", 0, 0, tlog.FetchOptions{MaxWait: time.Hour})
			done <- err
		}()
		synctest.Wait()
		start := time.Now()
		require.NoError(t, l.Close())
		err = <-done
		assert.ErrorIs(t, err, tlog.ErrClosed)
		assert.Zero(t, time.Since(start), "no waiting for the hour")
	})
}
