package tribus_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	tlog "github.com/tribusmq/tribus/log"
)

const (
	logCrashEnv        = "TRIBUS_LOGCRASH_CHILD"
	logCrashTopic      = "events"
	logCrashPartitions = 3
	logCrashProducers  = 4
)

// logCrashAt is where the log acknowledged a record.
type logCrashAt struct {
	partition int32
	offset    int64
}

// TestCrash_LogKill9 re-executes this test binary as a child that produces to a log with an
// fsync per produce (the default) from several goroutines, kills it with SIGKILL at a random
// moment, reopens the directory and checks every partition from its start: every acknowledged
// record is there at the offset it was acknowledged with; offsets are contiguous; every record
// was produced by a child, at most once; and every record seen after an earlier round is still
// where it was. The log is never deleted from, so each round checks all the rounds before it.
//
// A record's value is its id, "<round>-<producer>-<n>", with n counting from 0 for each
// producer; a producer sends n only once n-1 was acknowledged, so n can be present only if
// n-1 was acknowledged. The child reports "S" once it is producing and "A <partition>
// <offset> <id>" when a produce returns. The kill comes 20–200 ms after "S"; one round in
// six it comes 0–60 ms after the child starts instead, to interrupt an open or the topic's
// creation.
//
// Long run: go test -run=TestCrash_LogKill9 -crash.rounds=50 .
func TestCrash_LogKill9(t *testing.T) {
	if dir := os.Getenv(logCrashEnv); dir != "" {
		logCrashChild(dir, os.Getenv(logCrashEnv+"_ROUND"))
		return
	}
	seed := *crashSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -crash.seed=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	dir := t.TempDir()
	known := map[string]logCrashAt{} // every id acknowledged or seen so far, and where
	lastAck := map[[2]int]int{}      // (round, producer) → last n acknowledged
	for round := range *crashRounds {
		where := fmt.Sprintf("round %d (seed %d)", round, seed)
		early := rng.IntN(6) == 0
		d := time.Duration(20+rng.IntN(181)) * time.Millisecond
		if early {
			d = time.Duration(rng.IntN(61)) * time.Millisecond
		}
		acks, producing := runLogCrashChild(t, dir, round, d, early)
		for id, at := range acks {
			r, g, n, ok := parseLogCrashID(id)
			require.True(t, ok && r == round, "%s: the child acknowledged %q", where, id)
			if prev, ok := lastAck[[2]int{r, g}]; !ok || n > prev {
				lastAck[[2]int{r, g}] = n
			}
			require.NotContains(t, known, id, "%s: %q acknowledged twice", where, id)
			known[id] = at
		}
		present, ends := readLogCrash(t, dir, where, round, lastAck)
		for id, at := range known {
			got, ok := present[id]
			require.True(t, ok, "%s: %q (%d-%d) is lost", where, id, at.partition, at.offset)
			require.Equal(t, at, got, "%s: %q moved", where, id)
		}
		for id, at := range present {
			known[id] = at // what recovery kept must stay from now on
		}
		from := "producing"
		if early {
			from = "starting"
		}
		t.Logf("round %d: killed %v after %s (produced: %v); %d acknowledged, %d records in all, partition ends %v",
			round, d, from, producing, len(acks), len(present), ends)
	}
}

// readLogCrash opens the log in dir after round and reads every partition from its start. It
// checks that offsets are contiguous from 0, and that each record was produced in a round so
// far, by a producer that had its predecessor acknowledged (lastAck), and only once. It
// returns where each id is and the partitions' end offsets; none if the child was killed
// before it created the topic.
func readLogCrash(t *testing.T, dir, where string, round int, lastAck map[[2]int]int) (map[string]logCrashAt, []int64) {
	t.Helper()
	l, err := tlog.Open(dir, nil)
	require.NoError(t, err, "%s: reopen", where)
	defer l.Close()
	present := map[string]logCrashAt{}
	info, err := l.DescribeTopic(logCrashTopic)
	if errors.Is(err, tlog.ErrUnknownTopic) {
		require.NoError(t, l.Close())
		return present, nil
	}
	require.NoError(t, err)
	require.Len(t, info.Partitions, logCrashPartitions)
	var ends []int64
	for _, pi := range info.Partitions {
		p := pi.Partition
		require.Equal(t, int64(0), pi.StartOffset, "%s: partition %d lost its start", where, p)
		next := pi.StartOffset
		for next < pi.EndOffset {
			recs, err := l.Fetch(context.Background(), logCrashTopic, p, next, tlog.FetchOptions{})
			require.NoError(t, err, "%s: fetch %d-%d", where, p, next)
			require.NotEmpty(t, recs, "%s: nothing at %d-%d below the end %d", where, p, next, pi.EndOffset)
			for _, r := range recs {
				require.Equal(t, next, r.Offset, "%s: partition %d skips from %d", where, p, next)
				id := string(r.Value)
				rr, g, n, ok := parseLogCrashID(id)
				require.True(t, ok && rr <= round, "%s: %d-%d holds %q, which no child produced", where, p, r.Offset, id)
				last, acked := lastAck[[2]int{rr, g}]
				require.True(t, n == 0 || acked && n <= last+1,
					"%s: %d-%d holds %q, which its producer never sent (last acknowledged: %d)", where, p, r.Offset, id, last)
				if r.Key != nil {
					require.Equal(t, id, string(r.Key), "%s: %d-%d", where, p, r.Offset)
				}
				prev, dup := present[id]
				require.False(t, dup, "%s: %q at %d-%d and %d-%d", where, id, prev.partition, prev.offset, p, r.Offset)
				present[id] = logCrashAt{p, r.Offset}
				next++
			}
		}
		ends = append(ends, pi.EndOffset)
	}
	require.NoError(t, l.Close())
	return present, ends
}

// parseLogCrashID splits "<round>-<producer>-<n>".
func parseLogCrashID(id string) (round, producer, n int, ok bool) {
	f := strings.Split(id, "-")
	if len(f) != 3 {
		return 0, 0, 0, false
	}
	var errs [3]error
	round, errs[0] = strconv.Atoi(f[0])
	producer, errs[1] = strconv.Atoi(f[1])
	n, errs[2] = strconv.Atoi(f[2])
	ok = errors.Join(errs[:]...) == nil && round >= 0 && producer >= 0 && producer < logCrashProducers && n >= 0
	return round, producer, n, ok
}

// runLogCrashChild runs one child for round and kills it d after it reports "S" (or after it
// starts, if early). It returns what the child acknowledged and whether it began producing. The
// child must die of the SIGKILL and write nothing to stderr (a race report, a panic).
func runLogCrashChild(t *testing.T, dir string, round int, d time.Duration, early bool) (map[string]logCrashAt, bool) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrash_LogKill9$", "-test.count=1")
	cmd.Env = append(os.Environ(), logCrashEnv+"="+dir, logCrashEnv+"_ROUND="+strconv.Itoa(round))
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	kill := func() { _ = cmd.Process.Signal(syscall.SIGKILL) }
	// A child that never gets to produce is killed anyway, and the test fails below.
	safety := time.AfterFunc(time.Minute, kill)
	defer safety.Stop()
	var timer *time.Timer
	if early {
		timer = time.AfterFunc(d, kill)
	}
	acks := map[string]logCrashAt{}
	ready := false
	sc := bufio.NewScanner(out)
	for sc.Scan() { // ends when the child dies and the pipe closes
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 1 && f[0] == "S":
			ready = true
			if timer == nil {
				timer = time.AfterFunc(d, kill)
			}
		case len(f) == 4 && f[0] == "A":
			p, err1 := strconv.ParseInt(f[1], 10, 32)
			off, err2 := strconv.ParseInt(f[2], 10, 64)
			if err := errors.Join(err1, err2); err != nil {
				t.Errorf("round %d: child line %q: %v", round, sc.Text(), err)
				continue
			}
			acks[f[3]] = logCrashAt{int32(p), off}
		default:
			t.Errorf("round %d: unexpected child line %q", round, sc.Text())
		}
	}
	if timer != nil {
		timer.Stop()
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	killed := errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signaled() &&
		ee.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL
	require.True(t, killed, "round %d: the child ended by itself (%v); stderr:\n%s", round, err, stderr.String())
	require.Empty(t, stderr.String(), "round %d: the child wrote to stderr", round)
	require.True(t, early || ready, "round %d: the child never began producing", round)
	return acks, ready
}

// logCrashChild produces to the log in dir until it is killed.
func logCrashChild(dir, round string) {
	fail := func(what string, err error) {
		fmt.Fprintf(os.Stderr, "child: %s: %v\n", what, err)
		os.Exit(3)
	}
	l, err := tlog.Open(dir, nil)
	if err != nil {
		fail("open", err)
	}
	// Small segments, so that produces roll them and a kill can land on a roll.
	err = l.CreateTopic(logCrashTopic, tlog.TopicConfig{Partitions: logCrashPartitions, SegmentBytes: 8 << 10})
	if err != nil && !errors.Is(err, tlog.ErrTopicExists) {
		fail("create topic", err)
	}
	var mu sync.Mutex
	say := func(format string, args ...any) {
		mu.Lock()
		fmt.Fprintf(os.Stdout, format, args...) // unbuffered: one write per line
		mu.Unlock()
	}
	say("S\n")
	var wg sync.WaitGroup
	for g := range logCrashProducers {
		wg.Go(func() {
			for n := 0; ; n++ {
				id := fmt.Sprintf("%s-%d-%d", round, g, n)
				rec := tlog.Record{Key: []byte(id), Value: []byte(id)}
				if g == 0 {
					rec.Key = nil // keyless: the sticky partitioner's choice
				}
				res, err := l.Produce(context.Background(), logCrashTopic, rec)
				if err != nil {
					fail("produce", err)
				}
				say("A %d %d %s\n", res.Partition, res.Offset, id)
			}
		})
	}
	wg.Wait()
}
