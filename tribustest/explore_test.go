package tribustest_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"

	"github.com/tribusmq/tribus/exchange"
	tlog "github.com/tribusmq/tribus/log"
	"github.com/tribusmq/tribus/tribustest"
)

// Two deliberately naive handlers, and their fixed versions, explored under the faults that
// break them. The naive explorations are planted bugs: they run only in a child process that
// TestExplore_FindsThePlantedBugs starts, and must fail there.

// ledger is the order service's database: what each order was charged.
type ledger struct {
	mu      sync.Mutex
	charges map[string]int
}

func (l *ledger) charge(order string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.charges[order]++
}

// chargeOnce charges order unless it was charged before, in one step, as a unique key in a
// database would.
func (l *ledger) chargeOnce(order string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.charges[order] == 0 {
		l.charges[order]++
	}
}

// chargeWorker consumes orders: charge, then ack. idempotent chooses the fixed handler.
func chargeWorker(c *exchange.Consumer, db *ledger, idempotent bool) {
	for d, err := range c.All(context.Background()) {
		if err != nil {
			return
		}
		if idempotent {
			db.chargeOnce(string(d.Body))
		} else {
			db.charge(string(d.Body)) // a redelivery charges again
		}
		d.Ack()
	}
}

// orders is the scenario: two workers share the orders queue; three orders are published;
// each must be charged exactly once, whatever happens to a worker before its ack.
func orders(idempotent bool) func(r *tribustest.Run) {
	return func(r *tribustest.Run) {
		t := r.T
		_, err := r.Router().QueueDeclare("orders", exchange.QueueOptions{})
		must(t, err)
		db := &ledger{charges: map[string]int{}}
		worker := func() {
			c, err := r.Session().Consume("orders", exchange.ConsumeOptions{Prefetch: 1})
			if err != nil {
				t.Error(err)
				return
			}
			chargeWorker(c, db, idempotent)
		}
		r.Start(worker, worker) // which registers first is the seed's choice
		ids := []string{"ORD-1", "ORD-2", "ORD-3"}
		for _, id := range ids {
			must(t, r.Router().Publish(t.Context(), "", "orders", false, exchange.Publishing{Body: []byte(id)}))
		}
		r.Wait(tribustest.QueueDrained("orders"))
		for _, id := range ids {
			if n := db.charges[id]; n != 1 {
				t.Errorf("%s was charged %d times, want once", id, n)
			}
		}
	}
}

// auditor makes a member of the "audit" group and returns its loop, for Run.Start: it
// consumes the audit topic one record per Poll. commitFirst is the naive handler: it commits,
// then processes.
func auditor(t *testing.T, r *tribustest.Run, processed *sync.Map, commitFirst bool) func() {
	c, err := r.Log().NewGroupConsumer(tlog.GroupConsumerOptions{GroupID: "audit", Topics: []string{"audit"},
		Reset: tlog.ResetEarliest, DisableAutoCommit: true, MaxPollRecords: 1})
	must(t, err)
	t.Cleanup(func() { c.Close() })
	return func() {
		for {
			recs, err := c.Poll(context.Background())
			if err != nil {
				return
			}
			if len(recs) == 0 {
				continue
			}
			if commitFirst {
				if c.Commit(context.Background()) != nil {
					return
				}
			}
			for _, rec := range recs {
				processed.Store(string(rec.Value), true)
			}
			if !commitFirst {
				if c.Commit(context.Background()) != nil {
					return
				}
			}
		}
	}
}

// audit is the scenario: two members of a group read four records of a one-partition topic;
// every record must be processed, whatever happens to a member after a commit.
func audit(commitFirst bool) func(r *tribustest.Run) {
	return func(r *tribustest.Run) {
		t := r.T
		must(t, r.Log().CreateTopic("audit", tlog.TopicConfig{Partitions: 1}))
		var want []string
		for i := range 4 {
			v := fmt.Sprintf("event-%d", i)
			want = append(want, v)
			_, err := r.Log().Produce(t.Context(), "audit", tlog.Record{Value: []byte(v)})
			must(t, err)
		}
		var processed sync.Map
		r.Start(auditor(t, r, &processed, commitFirst), auditor(t, r, &processed, commitFirst)) // the seed picks who joins first
		r.Wait(tribustest.LagZero("audit"))
		synctest.Wait() // whatever was handed out has been processed
		for _, v := range want {
			if _, ok := processed.Load(v); !ok {
				t.Errorf("%s was never processed", v)
			}
		}
	}
}

var ackSpace = tribustest.ExploreOptions{Faults: []tribustest.Fault{tribustest.CrashBeforeAck().Queue("orders")}}
var commitSpace = tribustest.ExploreOptions{Faults: []tribustest.Fault{tribustest.CrashAfterCommit().Group("audit")}}

func TestExplore_IdempotentOrderHandlerPassesEverySeed(t *testing.T) {
	tribustest.Explore(t, ackSpace, orders(true))
}

func TestExplore_ProcessThenCommitPassesEverySeed(t *testing.T) {
	tribustest.Explore(t, commitSpace, audit(false))
}

// plantedEnv marks the child process that runs the planted bugs.
const plantedEnv = "TRIBUSTEST_PLANTED"

func TestPlanted_NaiveOrderHandlerDoubleCharges(t *testing.T) {
	if os.Getenv(plantedEnv) == "" {
		t.Skip("a planted bug: run by TestExplore_FindsThePlantedBugs, which expects it to fail")
	}
	tribustest.Explore(t, ackSpace, orders(false))
}

func TestPlanted_CommitBeforeProcessingLosesARecord(t *testing.T) {
	if os.Getenv(plantedEnv) == "" {
		t.Skip("a planted bug: run by TestExplore_FindsThePlantedBugs, which expects it to fail")
	}
	tribustest.Explore(t, commitSpace, audit(true))
}

// Explore finds each planted bug within its default number of runs, says which seed, and
// replaying that seed fails the same way.
func TestExplore_FindsThePlantedBugs(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the test binary twice per planted bug")
	}
	seedRE := regexp.MustCompile(`exploration failed at seed (\d+) \(replay it with -tribustest\.seed=(\d+)\)`)
	for _, tc := range []struct{ test, symptom string }{
		{"TestPlanted_NaiveOrderHandlerDoubleCharges", "charged 2 times, want once"},
		{"TestPlanted_CommitBeforeProcessingLosesARecord", "was never processed"},
	} {
		t.Run(tc.test, func(t *testing.T) {
			out := runPlanted(t, "-test.run=^"+tc.test+"$")
			m := seedRE.FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("the exploration did not report a failing seed:\n%s", out)
			}
			if !strings.Contains(out, tc.symptom) || !strings.Contains(out, "fired 1 of") {
				t.Fatalf("the report lacks the symptom %q or the fault that fired:\n%s", tc.symptom, out)
			}
			t.Logf("first exploration:\n%s", out)
			replay := runPlanted(t, "-test.run=^"+tc.test+"$", "-tribustest.seed="+m[1])
			if r := seedRE.FindStringSubmatch(replay); r == nil || r[1] != m[1] || !strings.Contains(replay, tc.symptom) {
				t.Fatalf("replaying seed %s did not fail the same way:\n%s", m[1], replay)
			}
			// A replay repeats the run event for event on one thread; the race detector
			// shuffles the scheduler on purpose, so under it the comparison runs in a copy of
			// this test binary built without it.
			bin := os.Args[0]
			if raceEnabled {
				bin = filepath.Join(t.TempDir(), "tribustest.test")
				build := exec.Command("go", "test", "-c", "-o", bin, ".")
				if b, err := build.CombinedOutput(); err != nil {
					t.Fatalf("building the test binary without the race detector: %v\n%s", err, b)
				}
			}
			first := runPlantedIn(t, bin, "-test.run=^"+tc.test+"$", "-tribustest.seed="+m[1])
			again := runPlantedIn(t, bin, "-test.run=^"+tc.test+"$", "-tribustest.seed="+m[1])
			if got, want := exploreReport(again), exploreReport(first); got != want || want == "" {
				t.Fatalf("replaying seed %s did not repeat the run exactly:\n%s\nwant:\n%s", m[1], got, want)
			}
		})
	}
}

// exploreReport is the report of a failed exploration in a test binary's output: from the
// line naming the seed to the end of its last event, without the file and line prefix.
func exploreReport(out string) string {
	_, report, _ := strings.Cut(out, "exploration failed at seed")
	var lines []string
	for _, l := range strings.Split(report, "\n") {
		if strings.HasPrefix(l, "---") || strings.HasPrefix(l, "FAIL") || strings.HasPrefix(l, "=== ") {
			break
		}
		lines = append(lines, l)
	}
	return strings.Join(lines, "\n")
}

// runPlanted runs this test binary with args and the planted bugs enabled, expects it to
// fail, and returns its output.
func runPlanted(t *testing.T, args ...string) string {
	t.Helper()
	return runPlantedIn(t, os.Args[0], args...)
}

// runPlantedIn is runPlanted with the test binary bin.
func runPlantedIn(t *testing.T, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, slices.Concat(args, []string{"-test.v"})...)
	cmd.Env = append(os.Environ(), plantedEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the planted bug was not found:\n%s", out)
	}
	return string(out)
}

// Run.Start starts its actors in an order the seed chooses, the same for the same seed, and
// different seeds try every order of two.
func TestRun_StartOrderFollowsTheSeed(t *testing.T) {
	orders := func() map[uint64]string {
		got := map[uint64]string{}
		var mu sync.Mutex
		tribustest.Explore(t, tribustest.ExploreOptions{Runs: 10}, func(r *tribustest.Run) {
			var order []string
			actor := func(name string) func() {
				return func() {
					mu.Lock()
					order = append(order, name)
					mu.Unlock()
				}
			}
			r.Start(actor("a"), actor("b"))
			mu.Lock()
			got[r.Seed] = strings.Join(order, "")
			mu.Unlock()
		})
		return got
	}
	first := orders()
	assert.Equal(t, first, orders(), "each seed starts its actors in the same order again")
	seen := map[string]bool{}
	for _, o := range first {
		seen[o] = true
	}
	assert.Equal(t, map[string]bool{"ab": true, "ba": true}, seen)
}
