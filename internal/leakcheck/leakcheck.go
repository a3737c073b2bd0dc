// Package leakcheck finds goroutines a test left running: it compares the goroutines alive
// after the test with those alive before it.
package leakcheck

import (
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// Check records the goroutines running now and registers a cleanup that fails t if, after
// the test (and the cleanups registered after Check, which run first), new goroutines whose
// stacks mention one of this module's packages are still alive. Call it first in a test, before
// opening anything.
//
// Close methods in this module wait for their goroutines, so a survivor is a leak; the check
// still lets the scheduler run for a short while, because a goroutine that has been told to
// stop may need a moment to return after the Close that waited for its signal.
func Check(t testing.TB) {
	t.Helper()
	before := ids(stacks())
	t.Cleanup(func() {
		var leaked []string
		deadline := time.Now().Add(2 * time.Second)
		for {
			leaked = leaked[:0]
			for _, g := range stacks() {
				if !slices.Contains(before, id(g)) && ours(g) {
					leaked = append(leaked, g)
				}
			}
			if len(leaked) == 0 {
				return
			}
			if time.Now().After(deadline) {
				break
			}
			runtime.Gosched()
		}
		t.Errorf("leakcheck: %d goroutine(s) left running:\n\n%s", len(leaked), strings.Join(leaked, "\n\n"))
	})
}

// stacks returns the stack of every goroutine but the caller's.
func stacks() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	gs := strings.Split(string(buf), "\n\n")
	return gs[1:] // the first is the calling goroutine
}

// id returns the "goroutine N" header of a stack.
func id(stack string) string {
	head, _, _ := strings.Cut(stack, " [")
	return head
}

func ids(stacks []string) []string {
	out := make([]string, len(stacks))
	for i, s := range stacks {
		out[i] = id(s)
	}
	return out
}

// ours reports whether a goroutine runs code of this module other than tests: testing's own
// goroutines and those of the test functions themselves are not the library's to stop.
func ours(stack string) bool {
	for line := range strings.SplitSeq(stack, "\n") {
		if strings.HasPrefix(line, "github.com/tribusmq/tribus/") && !strings.Contains(line, "_test.") &&
			!strings.Contains(line, "internal/leakcheck") {
			return true
		}
	}
	return false
}
