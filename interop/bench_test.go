package interop

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus"
)

// The benchmarks compare tribus with redis-server side by side, same client, same machine,
// in one run: every benchmark has a sub-benchmark per server, so `-count=N` interleaves
// them. Commands and figures are in docs/performance.md.

var payload128 = bytes.Repeat([]byte("p"), 128)

// benchTargets are the servers a benchmark compares: redis-server first when installed.
func benchTargets(b *testing.B) []target {
	var ts []target
	if haveRedis {
		ts = append(ts, realRedis)
	}
	return append(ts, tribusTCP, tribusInProc)
}

// rawSubscriber subscribes a raw connection to channel and returns a function that waits
// until n messages of the payload have arrived on it.
func rawSubscriber(b *testing.B, tg target, channel string) (wait func(n int) error) {
	b.Helper()
	nc, err := tg.conn(context.Background())
	require.NoError(b, err)
	b.Cleanup(func() { nc.Close() })
	fmt.Fprintf(nc, "*2\r\n$9\r\nSUBSCRIBE\r\n$%d\r\n%s\r\n", len(channel), channel)
	ack := fmt.Sprintf("*3\r\n$9\r\nsubscribe\r\n$%d\r\n%s\r\n:1\r\n", len(channel), channel)
	buf := make([]byte, len(ack))
	_, err = io.ReadFull(nc, buf)
	require.NoError(b, err)
	require.Equal(b, ack, string(buf))
	frame := int64(len(fmt.Sprintf("*3\r\n$7\r\nmessage\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n",
		len(channel), channel, len(payload128), payload128)))
	rd := make([]byte, 256<<10)
	return func(n int) error {
		want := int64(n) * frame
		for got := int64(0); got < want; {
			k, err := nc.Read(rd)
			got += int64(k)
			if err != nil {
				return err
			}
		}
		return nil
	}
}

// BenchmarkPublish_Pipelined is go-redis publishing 128-byte messages in pipelines of 100 to
// one or four raw subscribers, which only count bytes: deliveries/s is what the server
// sustains.
func BenchmarkPublish_Pipelined(b *testing.B) {
	for _, subs := range []int{1, 4} {
		for _, tg := range benchTargets(b) {
			b.Run(fmt.Sprintf("1to%d/%s", subs, tg.name), func(b *testing.B) {
				ctx := context.Background()
				channel := fmt.Sprintf("bench:%s:%d", b.Name(), time.Now().UnixNano())
				waits := make([]func(int) error, subs)
				for i := range waits {
					waits[i] = rawSubscriber(b, tg, channel)
				}
				rdb := tg.client(b, 2)
				const batch = 100
				var wg sync.WaitGroup
				errs := make([]error, subs)
				b.ResetTimer()
				start := time.Now()
				for i, wait := range waits {
					wg.Add(1)
					go func() {
						defer wg.Done()
						errs[i] = wait(b.N)
					}()
				}
				for sent := 0; sent < b.N; {
					k := min(batch, b.N-sent)
					_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
						for range k {
							p.Publish(ctx, channel, payload128)
						}
						return nil
					})
					require.NoError(b, err)
					sent += k
				}
				wg.Wait()
				elapsed := time.Since(start)
				for _, err := range errs {
					require.NoError(b, err)
				}
				b.ReportMetric(float64(b.N*subs)/elapsed.Seconds(), "deliveries/s")
			})
		}
	}
}

// BenchmarkPublish_Latency is one message in flight: go-redis publishes, a raw subscriber
// reads it, and the next is published only then. It reports the median and 99th percentile of
// publish-to-receive.
func BenchmarkPublish_Latency(b *testing.B) {
	for _, tg := range benchTargets(b) {
		b.Run(tg.name, func(b *testing.B) {
			ctx := context.Background()
			channel := fmt.Sprintf("lat:%s:%d", b.Name(), time.Now().UnixNano())
			wait := rawSubscriber(b, tg, channel)
			rdb := tg.client(b, 2)
			samples := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				t0 := time.Now()
				require.NoError(b, rdb.Publish(ctx, channel, payload128).Err())
				require.NoError(b, wait(1))
				samples = append(samples, time.Since(t0))
			}
			b.StopTimer()
			slices.Sort(samples)
			b.ReportMetric(float64(samples[len(samples)/2].Nanoseconds())/1e3, "p50-µs")
			b.ReportMetric(float64(samples[len(samples)*99/100].Nanoseconds())/1e3, "p99-µs")
		})
	}
}

// BenchmarkUnitTest_GoRedis is what one unit test pays with a real client: start a server,
// connect go-redis, subscribe, publish, receive, close everything. miniredis, the usual
// in-process choice, is measured in the same run.
func BenchmarkUnitTest_GoRedis(b *testing.B) {
	b.Run("tribus-inproc", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			br, err := tribus.Open("", nil)
			require.NoError(b, err)
			rdb := redis.NewClient(&redis.Options{Dialer: br.Redis().Dial})
			unitTest(b, rdb)
			rdb.Close()
			br.Close()
		}
	})
	b.Run("miniredis", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			mr := miniredis.NewMiniRedis()
			require.NoError(b, mr.Start())
			rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
			unitTest(b, rdb)
			rdb.Close()
			mr.Close()
		}
	})
}

func unitTest(b *testing.B, rdb *redis.Client) {
	ctx := context.Background()
	sub := rdb.Subscribe(ctx, "order:notifications")
	_, err := sub.Receive(ctx)
	require.NoError(b, err)
	require.NoError(b, rdb.Publish(ctx, "order:notifications", "ORD-123 shipped").Err())
	msg, err := sub.ReceiveMessage(ctx)
	require.NoError(b, err)
	if msg.Payload != "ORD-123 shipped" {
		b.Fatalf("got %q", msg.Payload)
	}
	sub.Close()
}

// BenchmarkIdleConnections holds 10,000 idle TCP connections, each having answered a PING,
// to a server in its own process (`tribus serve`, redis-server) and reports the growth of the
// server's resident memory per connection. The in-process row is the Go heap per connection
// made with Broker.Redis().Dial.
func BenchmarkIdleConnections(b *testing.B) {
	const conns = 10000
	b.Run("redis", func(b *testing.B) {
		if !haveRedis {
			b.Skip("redis-server is not installed")
		}
		tg, stop, err := startRedis("--maxclients", strconv.Itoa(conns+100))
		require.NoError(b, err)
		defer stop()
		idleRSS(b, tg, conns)
	})
	b.Run("tribus-serve", func(b *testing.B) {
		bin := filepath.Join(b.TempDir(), "tribus")
		out, err := exec.Command("go", "build", "-o", bin, "../cmd/tribus").CombinedOutput()
		require.NoError(b, err, "%s", out)
		port, err := freePort()
		require.NoError(b, err)
		addr := "127.0.0.1:" + strconv.Itoa(port)
		cmd := exec.Command(bin, "serve", "--redis", addr, "--redis-maxclients", strconv.Itoa(conns+100))
		require.NoError(b, cmd.Start())
		defer func() {
			cmd.Process.Signal(os.Interrupt)
			cmd.Wait()
		}()
		tg := target{name: "tribus-serve", addr: addr, pid: cmd.Process.Pid}
		c := redis.NewClient(tg.options(2))
		defer c.Close()
		for c.Ping(context.Background()).Err() != nil {
			time.Sleep(10 * time.Millisecond) // the server process is starting
		}
		idleRSS(b, tg, conns)
	})
	b.Run("tribus-inproc", func(b *testing.B) {
		br, err := tribus.Open("", nil)
		require.NoError(b, err)
		defer br.Close()
		tg := target{name: "tribus-inproc", dial: br.Redis().Dial}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		held := openIdle(b, tg, conns)
		runtime.GC()
		runtime.ReadMemStats(&after)
		for _, nc := range held {
			nc.Close()
		}
		perConn := float64(after.HeapAlloc+after.StackInuse-before.HeapAlloc-before.StackInuse) / conns
		b.ReportMetric(perConn/1024, "KiB/conn")
	})
}

func idleRSS(b *testing.B, tg target, conns int) {
	before := rss(b, tg.pid)
	held := openIdle(b, tg, conns)
	after := rss(b, tg.pid)
	for _, nc := range held {
		nc.Close()
	}
	b.ReportMetric(float64(after-before)/float64(conns)/1024, "KiB/conn")
	b.ReportMetric(float64(after)/(1<<20), "MiB-rss")
}

// openIdle opens n connections and has each answer a PING, so the server has set each up.
func openIdle(b *testing.B, tg target, n int) []net.Conn {
	held := make([]net.Conn, 0, n)
	for range n {
		nc, err := tg.conn(context.Background())
		require.NoError(b, err)
		held = append(held, nc)
		_, err = nc.Write([]byte("PING\r\n"))
		require.NoError(b, err)
	}
	for _, nc := range held {
		line, err := bufio.NewReaderSize(nc, 16).ReadString('\n')
		require.NoError(b, err)
		require.Equal(b, "+PONG\r\n", line)
	}
	return held
}

// rss reads a process's resident set size in bytes from /proc.
func rss(b *testing.B, pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(b, err)
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			require.NoError(b, err)
			return kb << 10
		}
	}
	b.Fatal("no VmRSS")
	return 0
}
