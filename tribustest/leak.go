package tribustest

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"
)

// labelKey is the goroutine label (runtime/pprof) that marks the goroutines started on behalf
// of one test's brokers; its value is the test's id.
const labelKey = "tribustest"

// leakGrace bounds how long the goroutine check lets the scheduler run before it reports a
// survivor: Close waits for every goroutine it stops, but a goroutine that has signalled
// that it is done may still be returning through its last frames.
const leakGrace = time.Second

// leftGoroutines describes the goroutines labelled id that still run tribus code, or returns
// "" when there are none. Goroutines whose every tribus frame is a test or this package are
// the test's own and are not counted.
func leftGoroutines(id string) string {
	want := `"` + labelKey + `":"` + id + `"`
	var left []string
	for wait := time.Millisecond; ; wait *= 2 {
		left = left[:0]
		var buf bytes.Buffer
		_ = pprof.Lookup("goroutine").WriteTo(&buf, 1) // writing to a buffer cannot fail
		for group := range strings.SplitSeq(buf.String(), "\n\n") {
			if strings.Contains(group, want) && runsTribus(group) {
				left = append(left, group)
			}
		}
		if len(left) == 0 {
			return ""
		}
		if wait > leakGrace {
			return strings.Join(left, "\n\n")
		}
		// Under testing/synctest this is the bubble's clock, which moves only once every
		// goroutine in the bubble is blocked: what is left then has had its chance to end.
		runtime.Gosched()
		time.Sleep(wait)
	}
}

// runsTribus reports whether a goroutine profile group has a frame of the tribus module that
// is neither a test file nor this package.
func runsTribus(group string) bool {
	for line := range strings.SplitSeq(group, "\n") {
		// A frame line is "#\t0x4b1a2c\tpkg.Func+0x1c\t/path/file.go:123".
		fields := strings.Split(line, "\t")
		if len(fields) < 4 || fields[0] != "#" {
			continue
		}
		fn, file := fields[2], fields[3]
		if strings.HasPrefix(fn, "github.com/tribusmq/tribus/") &&
			!strings.HasPrefix(fn, "github.com/tribusmq/tribus/tribustest") &&
			!strings.Contains(file, "_test.go:") {
			return true
		}
	}
	return false
}

// openFilesUnder lists the files under dir that this process still has open, as far as the
// operating system tells (Linux's /proc/self/fd); elsewhere it finds none.
func openFilesUnder(dir string) []string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil
	}
	var open []string
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err != nil {
			continue // closed since the directory was read
		}
		if strings.HasPrefix(target, abs+string(filepath.Separator)) {
			open = append(open, target)
		}
	}
	return open
}
