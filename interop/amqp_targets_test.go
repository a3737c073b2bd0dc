package interop

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus"
)

// The AMQP half of the suite: amqp091-go against tribus in process and over TCP, and against
// a real RabbitMQ (Debian's rabbitmq-server, started here on loopback) when it is installed.

var requireRabbitMQ = flag.Bool("require-rabbitmq", os.Getenv("TRIBUS_REQUIRE_RABBITMQ") == "1",
	"fail, rather than skip the real-RabbitMQ half, when rabbitmq-server is not installed")

// amqpTarget is one AMQP server the suite runs against.
type amqpTarget struct {
	name   string
	url    string
	dial   func(network, addr string) (net.Conn, error) // nil for TCP
	rabbit bool                                         // the real RabbitMQ
	ctl    func(args ...string) error                   // runs rabbitmqctl on the real RabbitMQ's node
}

// connect opens a connection to the target, closed when the test ends.
func (tg amqpTarget) connect(t testing.TB) *amqp.Connection {
	t.Helper()
	c, err := amqp.DialConfig(tg.url, amqp.Config{Dial: tg.dial})
	require.NoError(t, err, tg.name)
	t.Cleanup(func() { c.Close() })
	return c
}

// channel opens a connection and a channel on it.
func (tg amqpTarget) channel(t testing.TB) (*amqp.Connection, *amqp.Channel) {
	t.Helper()
	c := tg.connect(t)
	ch, err := c.Channel()
	require.NoError(t, err)
	return c, ch
}

var (
	amqpOnce                        sync.Once
	amqpInProc, amqpTCP, amqpRabbit amqpTarget
	haveRabbit                      bool
	amqpStartErr, rabbitErr         error
	stopAMQPTribus, stopRabbit      func()
)

// startAMQP starts, once, an in-memory tribus serving AMQP in process and on a loopback port,
// and the real RabbitMQ when it is installed. stopAMQP, called by TestMain, stops them.
func startAMQP() {
	amqpOnce.Do(func() {
		b, err := tribus.Open("", nil)
		if err != nil {
			amqpStartErr = err
			return
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Close()
			amqpStartErr = err
			return
		}
		go b.AMQP().Serve(ln)
		amqpInProc = amqpTarget{name: "tribus-inproc", url: "amqp://guest:guest@tribus/", dial: b.AMQP().Dial}
		amqpTCP = amqpTarget{name: "tribus-tcp", url: "amqp://guest:guest@" + ln.Addr().String() + "/"}
		stopAMQPTribus = func() { b.Close() }
		amqpRabbit, stopRabbit, rabbitErr = startRabbitMQ()
		haveRabbit = rabbitErr == nil
		if !haveRabbit {
			fmt.Fprintln(os.Stderr, "interop: no real RabbitMQ, its half of the AMQP run is skipped:", rabbitErr)
		}
	})
}

func stopAMQP() {
	if stopRabbit != nil {
		stopRabbit()
	}
	if stopAMQPTribus != nil {
		stopAMQPTribus()
	}
}

// rabbitBin is the RabbitMQ start script that runs as the calling user (Debian's
// /usr/sbin/rabbitmq-server switches to the rabbitmq user first).
const rabbitBin = "/usr/lib/rabbitmq/bin/rabbitmq-server"

// startRabbitMQ starts a throwaway RabbitMQ node on free loopback ports, with its state,
// logs and Erlang cookie in a temporary directory, and waits until it accepts AMQP.
func startRabbitMQ() (amqpTarget, func(), error) {
	if _, err := os.Stat(rabbitBin); err != nil {
		return amqpTarget{}, nil, err
	}
	dir, err := os.MkdirTemp("", "tribus-rabbitmq-")
	if err != nil {
		return amqpTarget{}, nil, err
	}
	var ports [3]int
	for i := range ports {
		if ports[i], err = freePort(); err != nil {
			return amqpTarget{}, nil, err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "enabled_plugins"), []byte("[].\n"), 0o644); err != nil {
		return amqpTarget{}, nil, err
	}
	node := "tribus-interop-" + strconv.Itoa(ports[0]) + "@localhost"
	env := append(os.Environ(), "HOME="+dir, "RABBITMQ_NODENAME="+node,
		"RABBITMQ_NODE_IP_ADDRESS=127.0.0.1", "RABBITMQ_NODE_PORT="+strconv.Itoa(ports[0]),
		"RABBITMQ_DIST_PORT="+strconv.Itoa(ports[1]), "ERL_EPMD_PORT="+strconv.Itoa(ports[2]),
		"RABBITMQ_MNESIA_BASE="+filepath.Join(dir, "mnesia"), "RABBITMQ_LOG_BASE="+filepath.Join(dir, "log"),
		"RABBITMQ_ENABLED_PLUGINS_FILE="+filepath.Join(dir, "enabled_plugins"),
		"RABBITMQ_FEATURE_FLAGS_FILE="+filepath.Join(dir, "feature_flags"),
		"RABBITMQ_PLUGINS_EXPAND_DIR="+filepath.Join(dir, "plugins-expand"))
	// An epmd of our own, in the foreground on the node's epmd port: the node finds it there
	// instead of starting a daemon that would outlive the run.
	epmd := exec.Command("epmd", "-port", strconv.Itoa(ports[2]), "-address", "127.0.0.1")
	epmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := epmd.Start(); err != nil {
		return amqpTarget{}, nil, fmt.Errorf("epmd: %w", err)
	}
	stopEpmd := func() {
		epmd.Process.Kill()
		epmd.Wait()
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(ports[2]))
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			stopEpmd()
			return amqpTarget{}, nil, fmt.Errorf("epmd did not listen on port %d", ports[2])
		}
		time.Sleep(20 * time.Millisecond) // epmd is starting in another process
	}
	cmd := exec.Command(rabbitBin)
	cmd.Env = env
	out, err := os.Create(filepath.Join(dir, "out.log"))
	if err != nil {
		return amqpTarget{}, nil, err
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // the node and its epmd go together
	if err := cmd.Start(); err != nil {
		stopEpmd()
		return amqpTarget{}, nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
		stopEpmd()
		out.Close()
		os.RemoveAll(dir)
	}
	tg := amqpTarget{name: "rabbitmq", url: "amqp://guest:guest@127.0.0.1:" + strconv.Itoa(ports[0]) + "/", rabbit: true,
		ctl: func(args ...string) error {
			ctl := exec.Command(filepath.Join(filepath.Dir(rabbitBin), "rabbitmqctl"), append([]string{"-n", node}, args...)...)
			ctl.Env = env
			if out, err := ctl.CombinedOutput(); err != nil {
				return fmt.Errorf("rabbitmqctl %v: %w: %s", args, err, out)
			}
			return nil
		}}
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := amqp.Dial(tg.url)
		if err == nil {
			c.Close()
			return tg, stop, nil
		}
		select {
		case err := <-exited:
			exited <- err
			log, _ := os.ReadFile(filepath.Join(dir, "out.log"))
			stop()
			return amqpTarget{}, nil, fmt.Errorf("rabbitmq-server exited (%v): %s", err, tail(log, 400))
		default:
		}
		if time.Now().After(deadline) {
			stop()
			return amqpTarget{}, nil, errors.New("rabbitmq-server did not accept AMQP within 60s")
		}
		time.Sleep(100 * time.Millisecond) // the external server is starting up
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// amqpTargets returns the AMQP servers to run a test against.
func amqpTargets(t testing.TB) []amqpTarget {
	t.Helper()
	startAMQP()
	require.NoError(t, amqpStartErr)
	ts := []amqpTarget{amqpInProc, amqpTCP}
	if haveRabbit {
		ts = append(ts, amqpRabbit)
	} else if *requireRabbitMQ {
		t.Fatalf("rabbitmq-server is required: %v", rabbitErr)
	}
	return ts
}

// eachAMQP runs fn as a subtest for every AMQP target.
func eachAMQP(t *testing.T, fn func(t *testing.T, tg amqpTarget)) {
	for _, tg := range amqpTargets(t) {
		t.Run(tg.name, func(t *testing.T) { fn(t, tg) })
	}
}
