// Package interop runs real Redis clients against tribus and, where the real server is
// installed, against redis-server too: the same test, both servers (a differential run).
package interop

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tribusmq/tribus"
	"github.com/tribusmq/tribus/wire/resp"
)

var requireRedis = flag.Bool("require-redis", os.Getenv("TRIBUS_REQUIRE_REDIS") == "1",
	"fail, rather than skip the real-Redis half, when redis-server is not installed")

// target is one server the suite runs against.
type target struct {
	name string
	addr string                                                            // host:port for TCP targets
	dial func(ctx context.Context, network, addr string) (net.Conn, error) // nil for TCP
	pid  int                                                               // the server's process, when it has its own
}

// options returns go-redis options that reach the target.
func (tg target) options(protocol int) *redis.Options {
	return &redis.Options{Addr: tg.addr, Dialer: tg.dial, Protocol: protocol}
}

func (tg target) client(t testing.TB, protocol int) *redis.Client {
	t.Helper()
	c := redis.NewClient(tg.options(protocol))
	t.Cleanup(func() { c.Close() })
	return c
}

// conn opens a raw connection.
func (tg target) conn(ctx context.Context) (net.Conn, error) {
	if tg.dial != nil {
		return tg.dial(ctx, "tcp", tg.addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", tg.addr)
}

var (
	tribusInProc, tribusTCP, realRedis target
	haveRedis                          bool
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var stop func()
	var err error
	tribusInProc, tribusTCP, stop, err = startTribus(nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "interop: start tribus:", err)
		return 1
	}
	defer stop()
	defer stopAMQP() // started by the first AMQP test
	realRedis, stop, err = startRedis()
	switch {
	case err == nil:
		defer stop()
		haveRedis = true
	case *requireRedis:
		fmt.Fprintln(os.Stderr, "interop: the real-Redis run was required:", err)
		return 1
	default:
		fmt.Fprintln(os.Stderr, "interop: no real Redis, its half of the differential run is skipped:", err)
	}
	return m.Run()
}

// startTribus opens an in-memory broker and serves its Redis door on a free loopback port:
// the same server reached in process and over TCP.
func startTribus(opts *resp.Options) (inproc, tcp target, stop func(), err error) {
	o := &tribus.Options{}
	if opts != nil {
		o.Redis = *opts
	}
	b, err := tribus.Open("", o)
	if err != nil {
		return target{}, target{}, nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Close()
		return target{}, target{}, nil, err
	}
	go b.Redis().Serve(ln)
	inproc = target{name: "tribus-inproc", addr: "tribus:6379", dial: b.Redis().Dial}
	tcp = target{name: "tribus-tcp", addr: ln.Addr().String()}
	return inproc, tcp, func() { b.Close() }, nil
}

// startRedis starts redis-server on a free loopback port with no persistence and the extra
// arguments, and waits until it answers.
func startRedis(args ...string) (tg target, stop func(), err error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return target{}, nil, err
	}
	port, err := freePort()
	if err != nil {
		return target{}, nil, err
	}
	args = append([]string{"--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--save", "",
		"--appendonly", "no"}, args...)
	cmd := exec.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		return target{}, nil, err
	}
	stop = func() {
		cmd.Process.Kill()
		cmd.Wait()
	}
	tg = target{name: "redis", addr: "127.0.0.1:" + strconv.Itoa(port), pid: cmd.Process.Pid}
	c := redis.NewClient(tg.options(2))
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for c.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			stop()
			return target{}, nil, fmt.Errorf("redis-server on port %d did not answer", port)
		}
		time.Sleep(20 * time.Millisecond) // the external server is starting up
	}
	return tg, stop, nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// targets returns the servers to run a test against: tribus in process and over TCP, and the
// real Redis when it is installed.
func targets(t testing.TB) []target {
	t.Helper()
	ts := []target{tribusInProc, tribusTCP}
	if haveRedis {
		ts = append(ts, realRedis)
	} else if *requireRedis {
		t.Fatal("redis-server is required")
	}
	return ts
}

// each runs fn as a subtest for every target.
func each(t *testing.T, fn func(t *testing.T, tg target)) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) { fn(t, tg) })
	}
}

// unique returns a channel name no other test uses, so tests can share a server.
func unique(t testing.TB, name string) string {
	return t.Name() + ":" + name
}
