package log

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/log/internal/segfs/segfstest"
	"github.com/tribusmq/tribus/log/internal/segment"
)

// holdFirstLogRead makes the first read of a .log file wait: reading is closed when it has
// begun, and it goes on once release is closed.
func holdFirstLogRead(fsys *segfstest.FaultFS) (reading, release chan struct{}) {
	reading, release = make(chan struct{}), make(chan struct{})
	var once sync.Once
	fsys.SetOnRead(func(name string) {
		if strings.HasSuffix(name, segment.LogSuffix) {
			once.Do(func() { close(reading); <-release })
		}
	})
	return reading, release
}

// A fetch does its file I/O without the partition's lock, as the segment allows: a produce to
// the same partition completes while a fetch waits on the disk.
func TestRead_FileIOOutsideThePartitionLock(t *testing.T) {
	l, fsys, _ := openFaulty(t, TopicConfig{Partitions: 1})
	_, err := produceValue(l, "a")
	require.NoError(t, err)
	reading, release := holdFirstLogRead(fsys)
	fetched := make(chan error, 1)
	go func() {
		recs, err := l.Fetch(context.Background(), "t", 0, 0, FetchOptions{})
		if err == nil && (len(recs) != 1 || string(recs[0].Value) != "a") {
			err = errors.New("wrong records")
		}
		fetched <- err
	}()
	<-reading // the fetch is in its ReadAt
	produced := make(chan error, 1)
	go func() { _, err := produceValue(l, "b"); produced <- err }()
	select {
	case err := <-produced:
		require.NoError(t, err)
	case <-time.After(10 * time.Second): // a failure detector only: it passes at once
		close(release)
		t.Fatal("the produce waited for the fetch's disk read")
	}
	close(release)
	require.NoError(t, <-fetched)
	requireValues(t, l, "a", "b")
}

// A segment deleted while a fetch reads it is looked up again: the fetch gets the records
// that remain, or OffsetOutOfRange, never an I/O error.
func TestRead_SegmentDeletedDuringAReadIsLookedUpAgain(t *testing.T) {
	l, fsys, _ := openFaulty(t, TopicConfig{Partitions: 1, SegmentBytes: 200})
	for i := range 20 {
		_, err := produceValue(l, strings.Repeat("x", 50)+string(rune('a'+i)))
		require.NoError(t, err)
	}
	reading, release := holdFirstLogRead(fsys)
	fetched := make(chan error, 1)
	go func() {
		_, err := l.Fetch(context.Background(), "t", 0, 0, FetchOptions{})
		fetched <- err
	}()
	<-reading
	require.NoError(t, l.DeleteRecords("t", 0, 15)) // deletes the segments below 15, the one being read too
	close(release)
	select {
	case err := <-fetched:
		var oor *OffsetOutOfRangeError
		require.ErrorAs(t, err, &oor, "offset 0 is below the new log start")
		assert.Equal(t, int64(15), oor.Start)
	case <-time.After(10 * time.Second):
		t.Fatal("the fetch did not return")
	}
}
