package tribus_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus"
	"github.com/tribusmq/tribus/exchange"
	"github.com/tribusmq/tribus/internal/testfs"
	tlog "github.com/tribusmq/tribus/log"
)

// TestBroker_DiskFullIsTypedAndFreedSpaceReopens fills a small file system with the free-disk
// limit off, so that the engines meet ENOSPC itself: the exchange router's durable publish and
// the log's produce fail with errors matching ErrDiskFull; the broker opens again with every
// confirmed message at once, with no space freed (what the bbolt file has no room for stays in
// the journal), and again after a filler file is removed (issue 11).
func TestBroker_DiskFullIsTypedAndFreedSpaceReopens(t *testing.T) {
	fs := testfs.Tmpfs(t, "8m")
	filler := filepath.Join(fs, "filler")
	require.NoError(t, os.WriteFile(filler, make([]byte, 1<<20), 0o600))
	dir := filepath.Join(fs, "broker")
	opts := &tribus.Options{DiskFreeLimit: -1}
	b, err := tribus.Open(dir, opts)
	require.NoError(t, err)
	ctx := context.Background()

	s, err := b.Router().NewSession()
	require.NoError(t, err)
	_, err = s.QueueDeclare("q", exchange.QueueOptions{Durable: true})
	require.NoError(t, err)
	body := make([]byte, 32<<10)
	confirmed := 0
	for {
		_, err = s.Publish(ctx, "", "q", false, exchange.Publishing{DeliveryMode: exchange.Persistent, Body: body})
		if err != nil {
			break
		}
		confirmed++
		require.Less(t, confirmed, 1000, "an 8 MiB file system cannot hold this much")
	}
	assert.ErrorIs(t, err, tribus.ErrDiskFull, "the router's publish: %v", err)

	require.NoError(t, b.Log().CreateTopic("t", tlog.TopicConfig{}))
	_, err = b.Log().ProduceTo(ctx, "t", 0, tlog.Record{Value: body})
	assert.ErrorIs(t, err, tribus.ErrDiskFull, "the log's produce: %v", err)
	_ = b.Close() // may fail to checkpoint; the journal keeps what was confirmed

	for _, freed := range []bool{false, true} {
		if freed {
			require.NoError(t, os.Remove(filler))
		}
		b, err = tribus.Open(dir, opts)
		require.NoError(t, err, "Open succeeds (space freed: %v)", freed)
		info, err := b.Router().QueueInfo("q")
		require.NoError(t, err)
		assert.GreaterOrEqual(t, info.Ready, confirmed, "every confirmed message is still there (space freed: %v)", freed)
		_ = b.Close()
	}
}
