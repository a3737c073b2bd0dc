package tribus_test

import (
	"bufio"
	"context"
	"flag"
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

	"github.com/tribusmq/tribus"
	"github.com/tribusmq/tribus/exchange"
)

var (
	crashRounds = flag.Int("crash.rounds", 5, "SIGKILL rounds of TestCrash_ExchangeKill9 (the long run uses 50 or more)")
	crashSeed   = flag.Uint64("crash.seed", 0, "seed of TestCrash_ExchangeKill9; 0 picks one from the clock")
	crashBudget = flag.Int64("crash.budget", 0, "MemoryBudget of TestCrash_ExchangeKill9 in bytes; 0 alternates the default with 4 KiB round by round")
)

// crashSmallBudget keeps about eight messages' contents in memory: the rest are paged out, so
// that recovery with most messages on disk only is covered.
const crashSmallBudget = 4 << 10

// crashBudgetOf is the memory budget of a round.
func crashBudgetOf(round int) int64 {
	switch {
	case *crashBudget != 0:
		return *crashBudget
	case round%2 == 1:
		return crashSmallBudget
	}
	return 0
}

const crashEnv = "TRIBUS_CRASH_CHILD"

// TestCrash_ExchangeKill9 re-executes this test binary as a child that publishes persistent
// messages with confirms and consumes them with acks on a durable broker, kills it with SIGKILL
// at a random moment, reopens the directory and checks: every confirmed message is still in the
// queue unless it was acked; nothing is there that was never published; the queue is in
// publish order. The child reports "P id" before publishing, "C id" when confirmed and "A id"
// just before it acks (an ack may commit before the child could report it afterwards), on its
// stdout, which the parent reads.
//
// Odd rounds run with a 4 KiB memory budget, so that most messages are paged out when the
// child dies (-crash.budget=N fixes one budget for every round).
//
// Long run: go test -run=TestCrash_ExchangeKill9 -crash.rounds=50 .
func TestCrash_ExchangeKill9(t *testing.T) {
	if dir := os.Getenv(crashEnv); dir != "" {
		crashChild(dir, os.Getenv(crashEnv+"_START"), os.Getenv(crashEnv+"_BUDGET"))
		return
	}
	seed := *crashSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -crash.seed=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	dir := t.TempDir()
	next := 1
	for round := range *crashRounds {
		budget := crashBudgetOf(round)
		confirmed, acked, attempted := runCrashChild(t, dir, next, budget, time.Duration(20+rng.IntN(200))*time.Millisecond)
		b, err := tribus.Open(dir, &tribus.Options{MemoryBudget: budget})
		require.NoError(t, err, "round %d: reopen", round)
		s, err := b.Router().NewSession()
		require.NoError(t, err)
		// A child killed before it declared the queue (a slow start under -race) leaves none.
		_, err = s.QueueDeclare("crash", exchange.QueueOptions{Durable: true})
		require.NoError(t, err)
		present := map[int]bool{}
		last := 0
		for {
			d, err := s.Get("crash", true)
			require.NoError(t, err)
			if d == nil {
				break
			}
			id, err := strconv.Atoi(string(d.Body))
			require.NoError(t, err)
			require.Greater(t, id, last, "round %d (seed %d): %d after %d: the queue is out of order", round, seed, id, last)
			require.LessOrEqual(t, id, attempted, "round %d (seed %d): message %d was never published", round, seed, id)
			last = id
			present[id] = true
		}
		for id := range confirmed {
			require.True(t, present[id] || acked[id], "round %d (seed %d): confirmed message %d is lost", round, seed, id)
		}
		require.NoError(t, b.Close())
		t.Logf("round %d (memory budget %d): %d attempted, %d confirmed, %d acked, %d were in the queue",
			round, budget, attempted-next+1, len(confirmed), len(acked), len(present))
		next = attempted + 1
	}
}

// runCrashChild runs one child from message id start with the given memory budget, kills it
// after d, and returns what it reported.
func runCrashChild(t *testing.T, dir string, start int, budget int64, d time.Duration) (confirmed, acked map[int]bool, attempted int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrash_ExchangeKill9$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+dir, crashEnv+"_START="+strconv.Itoa(start),
		crashEnv+"_BUDGET="+strconv.FormatInt(budget, 10))
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	confirmed, acked, attempted = map[int]bool{}, map[int]bool{}, start-1
	var wg sync.WaitGroup
	wg.Go(func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			kind, num, ok := strings.Cut(sc.Text(), " ")
			id, err := strconv.Atoi(num)
			if !ok || err != nil {
				continue
			}
			switch kind {
			case "P":
				attempted = max(attempted, id)
			case "C":
				confirmed[id] = true
			case "A":
				acked[id] = true
			}
		}
	})
	timer := time.AfterFunc(d, func() { _ = cmd.Process.Signal(syscall.SIGKILL) })
	wg.Wait() // the pipe ends when the child dies
	timer.Stop()
	_ = cmd.Wait()
	return confirmed, acked, attempted
}

// crashChild publishes and consumes until it is killed.
func crashChild(dir, startArg, budgetArg string) {
	start, _ := strconv.Atoi(startArg)
	budget, _ := strconv.ParseInt(budgetArg, 10, 64)
	b, err := tribus.Open(dir, &tribus.Options{MemoryBudget: budget})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(3)
	}
	s, _ := b.Router().NewSession()
	if _, err := s.QueueDeclare("crash", exchange.QueueOptions{Durable: true}); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(3)
	}
	var outMu sync.Mutex
	say := func(kind string, id int) {
		outMu.Lock()
		fmt.Fprintf(os.Stdout, "%s %d\n", kind, id)
		outMu.Unlock()
	}
	pub, _ := b.Router().NewSession()
	p, err := pub.NewPublisher(256, func(c exchange.Confirmation) {
		if c.Ack {
			say("C", start+int(c.DeliveryTag)-1)
		}
	})
	if err != nil {
		os.Exit(3)
	}
	cs, _ := b.Router().NewSession()
	c, err := cs.Consume("crash", exchange.ConsumeOptions{Prefetch: 50})
	if err != nil {
		os.Exit(3)
	}
	go func() {
		rng := rand.New(rand.NewPCG(uint64(start), 1))
		for {
			d, err := c.Next(context.Background())
			if err != nil {
				return
			}
			id, _ := strconv.Atoi(string(d.Body))
			if rng.IntN(5) == 0 {
				_ = d.Nack(true) // back to its position, redelivered
				continue
			}
			say("A", id) // before the ack: its delete may commit before a report after it
			_ = d.Ack()
		}
	}()
	for id := start; ; id++ {
		say("P", id)
		if _, err := p.Publish(context.Background(), "", "crash", false, exchange.Publishing{
			DeliveryMode: exchange.Persistent, Body: []byte(strconv.Itoa(id))}); err != nil {
			os.Exit(3)
		}
	}
}
