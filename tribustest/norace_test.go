//go:build !race

package tribustest_test

// raceEnabled reports whether this test binary runs under the race detector, which shuffles
// the scheduler's choices on purpose.
const raceEnabled = false
