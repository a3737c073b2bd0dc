package tribustest

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/tribusmq/tribus"
)

var (
	exploreRuns = flag.Int("tribustest.runs", 0, "runs of each tribustest.Explore (0: the ExploreOptions' Runs, or 100)")
	exploreSeed = flag.Uint64("tribustest.seed", 0, "replay tribustest.Explore runs with this seed only (0: explore)")
)

// DefaultRuns is how many runs [Explore] makes when neither ExploreOptions.Runs nor the
// -tribustest.runs flag says.
const DefaultRuns = 100

// ExploreOptions configure [Explore].
type ExploreOptions struct {
	// Runs is how many seeded runs to make after the first, fault-free one. 0 means the
	// -tribustest.runs flag, or [DefaultRuns].
	Runs int
	// Faults is the fault space: each Fault may fire once, at any one of its opportunities
	// (a publish, an ack, a produce or a commit that it matches), or not at all. Each run's
	// seed chooses, for each of them, which opportunity it hits, out of those the fault-free
	// run counted. Their own Times and Skip are ignored; a Probability is kept.
	Faults []Fault
	// Options are the brokers' options (nil: the defaults). Each run opens a new in-memory
	// broker with them, its Seed set to the run's.
	Options *tribus.Options
}

// Run is one run of an [Explore] scenario: a test inside its own testing/synctest bubble, a
// broker opened for it with the run's faults injected, and the run's seed.
type Run struct {
	*Broker
	// T is the run's test: fail it to fail the exploration.
	T *testing.T
	// Seed is the seed that chose the run's faults; -tribustest.seed=Seed replays it.
	Seed uint64
	// Faults are the faults injected in this run, with where they fire.
	Faults []*FaultHandle

	rand   *rand.Rand
	starts [][]int // the order of each Start call's actors, for the report
}

// Rand returns the run's generator, seeded with Seed, for choices the scenario makes itself
// (how many orders, which key), so that a replay makes the same ones.
func (r *Run) Rand() *rand.Rand { return r.rand }

// Start runs actors (a consumer's loop, a group member's, a publisher's) each on a goroutine
// of its own, started one at a time in an order the run's seed chooses; each runs until it
// blocks (synctest.Wait) before the next starts. So their first steps (registering a
// consumer, joining a group) happen in the seed's order, which a replay of the seed repeats,
// and different seeds try different orders: which consumer is first in a queue's
// round-robin, which member joins first and leads the group.
func (r *Run) Start(actors ...func()) {
	order := r.rand.Perm(len(actors))
	r.starts = append(r.starts, order)
	for _, i := range order {
		go actors[i]()
		synctest.Wait()
	}
}

// Explore runs scenario many times, each time in a testing/synctest bubble of its own with a
// new broker, so that time-outs and timers cost no wall time: once without faults, counting
// each fault's opportunities, then once per seed with each fault of the space placed where
// the seed says (at one of its opportunities, or nowhere), and the broker opened with the
// seed as its tribus.Options.Seed, so that queues' round-robins start and group members sort
// (and are assigned partitions) as the seed says. It stops at the first run that
// fails, and reports its seed, its faults and the broker's last events; rerunning the test
// with -tribustest.seed=N replays that run. The scenario must be deterministic given the
// run's seed and faults: it may use [Run.Rand], not the global generator.
//
// Each run is a subtest named "seed=N" ("baseline" for the first). A scenario checks what
// it must (every order charged once, every record processed) with the Run's T.
//
// While it explores, the test binary runs on one thread (runtime.GOMAXPROCS(1), restored
// after), so that the goroutines of a run take turns in an order the seed and the scenario
// decide rather than one two threads race to: a replayed seed then repeats its run event for
// event, consumer tags and member ids included. Go does not promise that order, but on one
// thread it repeats (TestExplore_FindsThePlantedBugs compares a replay's report with the
// first). Parallel tests in the same binary share that thread meanwhile.
func Explore(t *testing.T, opts ExploreOptions, scenario func(r *Run)) {
	t.Helper()
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	runs := opts.Runs
	if *exploreRuns > 0 {
		runs = *exploreRuns
	}
	if runs <= 0 {
		runs = DefaultRuns
	}
	var opportunities []int
	if !t.Run("baseline", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := newRun(t, 0, opts, nil)
			scenario(r)
			opportunities = make([]int, len(r.Faults))
			for i, h := range r.Faults {
				opportunities[i] = h.Seen()
			}
		})
	}) {
		t.Fatalf("tribustest: the scenario fails with no fault injected: fix that first")
		return
	}
	first, last := uint64(1), uint64(runs)
	if *exploreSeed != 0 {
		first, last = *exploreSeed, *exploreSeed
	}
	for seed := first; seed <= last; seed++ {
		var report string
		ok := t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRun(t, seed, opts, opportunities)
				t.Cleanup(func() { // before the broker's own cleanup: the run's last state
					if t.Failed() {
						report = r.report()
					}
				})
				scenario(r)
			})
		})
		if !ok {
			t.Errorf("tribustest: exploration failed at seed %d (replay it with -tribustest.seed=%d):\n%s", seed, seed, report)
			return
		}
	}
}

// newRun opens the run's broker and injects its faults: unplaced (counting only) for the
// baseline, else each at the opportunity the seed picks out of those the baseline saw.
func newRun(t *testing.T, seed uint64, opts ExploreOptions, opportunities []int) *Run {
	r := &Run{T: t, Seed: seed, rand: rand.New(rand.NewPCG(seed, 0x7472696275730a))}
	var o tribus.Options
	if opts.Options != nil {
		o = *opts.Options
	}
	o.Seed = seed // the engines' own choices: round-robin starts, member ids and so assignments
	r.Broker = Open(t, "", &o)
	for i, f := range opts.Faults {
		f.times = 1
		if opportunities == nil {
			f.times = 0 // counts its opportunities, fires at none
		} else if n := opportunities[i]; n > 0 {
			// One in n+1 runs leaves the fault out; the others place it uniformly.
			f.skip = r.rand.IntN(n + 1)
			if f.skip == n {
				f.times = 0
			}
		} else {
			f.times = 0
		}
		r.Faults = append(r.Faults, r.Inject(f))
	}
	return r
}

// report describes a failed run: its seed, where its faults fired, and the last events.
func (r *Run) report() string {
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d\n", r.Seed)
	for i, order := range r.starts {
		fmt.Fprintf(&b, "Start %d ran its actors in the order %v\n", i+1, order)
	}
	b.WriteString("faults:\n")
	for _, h := range r.Faults {
		fmt.Fprintf(&b, "\t%v\n", h)
	}
	b.WriteString("last events, oldest first:\n")
	for _, e := range r.Events() {
		fmt.Fprintf(&b, "\t%s\n", e)
	}
	return b.String()
}
