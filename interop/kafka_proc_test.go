package interop

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The "-proc" benchmark targets run the server in a process of its own (tribus serve
// --kafka, and interop/cmd/kfake), as a real deployment does: then the client's garbage
// collector runs on the client's heap alone. In one process the client and the server share
// a heap, and how often the client's allocations trigger a collection depends on how much
// the server keeps live (kfake keeps every record in RAM), which no deployment sees.

var procBins struct {
	once          sync.Once
	tribus, kfake string
	err           error
}

// serverBinaries builds tribus and the kfake runner once per test binary.
func serverBinaries(tb testing.TB) (tribus, kfake string) {
	tb.Helper()
	procBins.once.Do(func() {
		dir, err := os.MkdirTemp("", "tribus-bench-bin-")
		if err != nil {
			procBins.err = err
			return
		}
		procBins.tribus, procBins.kfake = filepath.Join(dir, "tribus"), filepath.Join(dir, "kfake")
		for _, c := range [][]string{{"-C", "..", "-o", procBins.tribus, "./cmd/tribus"}, {"-o", procBins.kfake, "./cmd/kfake"}} {
			out, err := exec.Command("go", append([]string{"build"}, c...)...).CombinedOutput()
			if err != nil {
				procBins.err = &buildError{string(out), err}
				return
			}
		}
	})
	require.NoError(tb, procBins.err)
	return procBins.tribus, procBins.kfake
}

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return e.err.Error() + ": " + e.out }

// startServerProcess runs bin with args, waits for its "listening on ADDR" line and
// returns a target dialing ADDR; the process is interrupted and waited for at cleanup.
func startServerProcess(tb testing.TB, name, bin string, args ...string) kafkaTarget {
	tb.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(tb, err)
	require.NoError(tb, cmd.Start())
	tb.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGINT)
		cmd.Wait()
	})
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if _, addr, ok := strings.Cut(sc.Text(), "listening on "); ok {
			go func() { // drain the rest, so the process never blocks on a full pipe
				for sc.Scan() {
				}
			}()
			return kafkaTarget{name: name, opts: []kgo.Opt{kgo.SeedBrokers(strings.TrimSpace(addr))}}
		}
	}
	tb.Fatalf("%s exited before listening: %v", bin, sc.Err())
	return kafkaTarget{}
}

// startProcTarget starts "tribus-proc" (a durable log in a temp dir) or "kfake-proc".
func startProcTarget(tb testing.TB, name string) kafkaTarget {
	tb.Helper()
	tribus, kfake := serverBinaries(tb)
	if name == "kfake-proc" {
		return startServerProcess(tb, name, kfake, "--port", "0")
	}
	return startServerProcess(tb, name, tribus, "serve", "--dir", tb.TempDir(), "--kafka", "127.0.0.1:0")
}
