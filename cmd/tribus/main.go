// Command tribus runs the tribus demo and small tools around an embedded broker.
//
// Usage:
//
//	tribus demo [rabbitmq|kafka|redis|ordering|hybrid|persistence|all] [--dir DIR] [--json]   tell a scenario, in memory or in DIR
//	tribus serve [--dir DIR] [--redis ADDR] [--amqp ADDR] [--kafka ADDR] [--http ADDR]   serve the engines to real clients
//	tribus inspect [exchanges|queues|bindings|topics|groups|pubsub|all] (--dir DIR | --addr ADDR) [--json]   look inside a broker
//	tribus version   print the version
//	tribus help      print this help
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/tribusmq/tribus"
)

const usage = `tribus: an embedded message broker with RabbitMQ, Kafka and Redis semantics

Usage:
  tribus demo [rabbitmq|kafka|redis|ordering|hybrid|persistence|all] [--dir DIR] [--json] [--http ADDR]
                   tell a scenario (all of them by default), in memory or durably in DIR;
                   with --json, print the broker's trace as JSON lines instead; with
                   --http, serve its dashboard and keep it up until SIGINT or SIGTERM
  tribus serve [--dir DIR] [--redis ADDR] [--amqp ADDR] [--kafka ADDR] [--http ADDR] [--allow-actions] [--redis-password PASS] [--redis-timeout D] [--kafka-user USER:PASS]
                   serve the engines to Redis, RabbitMQ (AMQP 0-9-1) and Kafka clients
                   until SIGINT or SIGTERM; with no door's address given, all three on
                   their standard ports on loopback (127.0.0.1:6379, 127.0.0.1:5672 and
                   127.0.0.1:9092), else only those given; --http serves the dashboard
                   and its JSON API (read-only unless --allow-actions)
  tribus inspect [exchanges|queues|bindings|topics|groups|pubsub|all] (--dir DIR | --addr ADDR) [--json]
                   print what a broker holds, as tables or JSON: read from DIR, which no
                   process may hold (it is never written), or asked of the dashboard of a
                   serving tribus at ADDR
  tribus version   print the version
  tribus help      print this help
`

func main() {
	// The CLI, not the library, handles signals: serve stops cleanly on SIGINT and SIGTERM.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command and returns the process exit code: 0 on success, 1 when the command
// failed, 2 for a usage error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "demo":
		fs := newFlagSet("demo")
		dir := fs.String("dir", "", "keep the broker's state in `DIR` (durable); a second run finds what the first left")
		asJSON := fs.Bool("json", false, "print the broker's trace as JSON lines, one event each, instead of the story")
		httpAddr := fs.String("http", "", "serve the demo broker's dashboard on `ADDR` (for example "+defaultHTTPAddr+") until SIGINT or SIGTERM")
		rest, scenario := args[1:], "all"
		if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") { // the scenario first, then flags
			scenario, rest = rest[0], rest[1:]
		}
		if code, ok := parse(fs, rest, 1, stdout, stderr); !ok {
			return code
		}
		if fs.NArg() == 1 {
			if scenario != "all" {
				fmt.Fprintf(stderr, "tribus demo: unexpected argument %q\n\n", fs.Arg(0))
				printUsage(stderr, fs)
				return 2
			}
			scenario = fs.Arg(0)
		}
		if !slices.Contains(demoScenarios, scenario) {
			fmt.Fprintf(stderr, "tribus demo: unknown scenario %q (want one of %s)\n\n", scenario, strings.Join(demoScenarios, ", "))
			printUsage(stderr, fs)
			return 2
		}
		if err := demo(ctx, stdout, demoConfig{scenario: scenario, dir: *dir, asJSON: *asJSON, httpAddr: *httpAddr}); err != nil {
			fmt.Fprintf(stderr, "tribus demo: %v\n", err)
			return 1
		}
		return 0
	case "serve":
		return runServe(ctx, args[1:], stdout, stderr, nil)
	case "inspect":
		return runInspect(ctx, args[1:], stdout, stderr)
	case "version", "-version", "--version":
		fmt.Fprintf(stdout, "tribus %s\n", tribus.Version)
		return 0
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "tribus: unknown command %q\n\n%s", args[0], usage)
	return 2
}

// newFlagSet returns a flag set for command that prints nothing itself: parse does.
func newFlagSet(command string) *flag.FlagSet {
	fs := flag.NewFlagSet(command, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// printUsage writes the usage and the flags of fs's command to w.
func printUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "%s\nFlags of %s:\n", usage, fs.Name())
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// parse parses args into fs. It reports false with the exit code when the command must not
// run: 0 after -help (the usage printed once, to stdout), 2 after a usage error or an argument
// no command takes (the error and the usage printed to stderr).
func parse(fs *flag.FlagSet, args []string, maxArgs int, stdout, stderr io.Writer) (int, bool) {
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		printUsage(stdout, fs)
		return 0, false
	case err != nil:
		fmt.Fprintf(stderr, "tribus %s: %v\n\n", fs.Name(), err)
	case fs.NArg() > maxArgs:
		fmt.Fprintf(stderr, "tribus %s: unexpected argument %q\n\n", fs.Name(), fs.Arg(maxArgs))
	default:
		return 0, true
	}
	printUsage(stderr, fs)
	return 2, false
}

// runInspect parses inspect's flags and runs it.
func runInspect(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("inspect")
	var cfg inspectConfig
	fs.StringVar(&cfg.dir, "dir", "", "read the broker kept in `DIR`, which no process may hold; it is never written")
	fs.StringVar(&cfg.addr, "addr", "", "ask the dashboard of a serving tribus (serve --http) at `ADDR` instead")
	fs.BoolVar(&cfg.asJSON, "json", false, "print JSON (the dashboard's /api/snapshot, or one section of it) instead of tables")
	rest, section := args, "all"
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		section, rest = rest[0], rest[1:]
	}
	if code, ok := parse(fs, rest, 0, stdout, stderr); !ok {
		return code
	}
	cfg.section = section
	var bad string
	switch {
	case !slices.Contains(inspectSections, section):
		bad = fmt.Sprintf("unknown section %q (want one of %s)", section, strings.Join(inspectSections, ", "))
	case (cfg.dir == "") == (cfg.addr == ""):
		bad = "give --dir DIR or --addr ADDR (one of them)"
	}
	if bad != "" {
		fmt.Fprintf(stderr, "tribus inspect: %s\n\n", bad)
		printUsage(stderr, fs)
		return 2
	}
	if err := inspect(ctx, stdout, cfg); err != nil {
		fmt.Fprintf(stderr, "tribus inspect: %v\n", err)
		return 1
	}
	return 0
}

// runServe parses serve's flags and runs it; ready is passed to serve (tests use it).
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer, ready func(map[string]net.Addr)) int {
	fs := newFlagSet("serve")
	var cfg serveConfig
	fs.StringVar(&cfg.dir, "dir", "", "keep the broker's state in `DIR` (durable); in memory if empty")
	fs.StringVar(&cfg.redisAddr, "redis", "", "serve Redis clients (RESP) on `ADDR` (default "+defaultRedisAddr+")")
	fs.StringVar(&cfg.amqpAddr, "amqp", "", "serve RabbitMQ clients (AMQP 0-9-1) on `ADDR` (default "+defaultAMQPAddr+")")
	fs.StringVar(&cfg.kafkaAddr, "kafka", "", "serve Kafka clients (the Kafka protocol) on `ADDR` (default "+defaultKafkaAddr+")")
	fs.StringVar(&cfg.httpAddr, "http", "", "serve the dashboard and its JSON API on `ADDR` (for example "+defaultHTTPAddr+"; a bare :PORT is on loopback, 0.0.0.0:PORT on every interface)")
	fs.BoolVar(&cfg.allowActions, "allow-actions", false, "let the dashboard purge and delete queues and reset group offsets")
	fs.StringVar(&cfg.redisPassword, "redis-password", "", "require AUTH with `PASS` (requirepass)")
	fs.DurationVar(&cfg.idleTimeout, "redis-timeout", 0, "close connections idle for `D` (Redis's timeout; 0 = never)")
	fs.IntVar(&cfg.maxClients, "redis-maxclients", 0, "refuse connections beyond `N` (0 = 10000)")
	fs.Func("kafka-user", "require SASL/PLAIN on the Kafka door and accept `USER:PASS` (repeatable)", func(v string) error {
		user, pass, ok := strings.Cut(v, ":")
		if !ok || user == "" || pass == "" {
			return fmt.Errorf("want USER:PASS, got %q", v)
		}
		if cfg.kafkaUsers == nil {
			cfg.kafkaUsers = map[string]string{}
		}
		cfg.kafkaUsers[user] = pass
		return nil
	})
	if code, ok := parse(fs, args, 0, stdout, stderr); !ok {
		return code
	}
	if cfg.redisAddr == "" && cfg.amqpAddr == "" && cfg.kafkaAddr == "" {
		cfg.redisAddr, cfg.amqpAddr, cfg.kafkaAddr = defaultRedisAddr, defaultAMQPAddr, defaultKafkaAddr
	}
	if err := serve(ctx, stdout, cfg, ready); err != nil {
		fmt.Fprintf(stderr, "tribus serve: %v\n", err)
		return 1
	}
	return 0
}
