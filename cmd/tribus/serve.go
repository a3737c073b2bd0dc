package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/tribusmq/tribus"
	"github.com/tribusmq/tribus/dashboard"
	"github.com/tribusmq/tribus/wire/amqp"
	"github.com/tribusmq/tribus/wire/kafka"
	"github.com/tribusmq/tribus/wire/resp"
)

// The standard ports, on loopback: a door listens beyond this machine only when asked to.
const (
	defaultRedisAddr = "127.0.0.1:6379"
	defaultAMQPAddr  = "127.0.0.1:5672"
	defaultKafkaAddr = "127.0.0.1:9092"
	defaultHTTPAddr  = "127.0.0.1:15672" // where RabbitMQ's management UI listens
)

// serveConfig is what `tribus serve` was asked to do. An empty address leaves its door shut.
type serveConfig struct {
	dir           string
	redisAddr     string
	redisPassword string
	idleTimeout   time.Duration
	maxClients    int
	amqpAddr      string
	kafkaAddr     string
	kafkaUsers    map[string]string // SASL/PLAIN users of the Kafka door; nil: none required
	httpAddr      string            // the dashboard and its JSON API; "": none
	allowActions  bool              // the dashboard may purge, delete and reset offsets
}

// door is one front door being served.
type door struct {
	name   string // "redis", "amqp"
	ln     net.Listener
	serve  func(net.Listener) error
	closed error // what serve returns once the broker is closed
}

// serve opens a broker and serves its front doors until ctx ends (the CLI's ctx ends on
// SIGINT or SIGTERM), then closes everything, waiting for every connection. ready, if not
// nil, receives the address each door listens on, by name, once all of them listen.
func serve(ctx context.Context, w io.Writer, cfg serveConfig, ready func(map[string]net.Addr)) error {
	b, err := tribus.Open(cfg.dir, &tribus.Options{Redis: resp.Options{
		Password:    cfg.redisPassword,
		IdleTimeout: cfg.idleTimeout,
		MaxClients:  cfg.maxClients,
	}, Kafka: kafka.Options{SASLPlainUsers: cfg.kafkaUsers}, Trace: cfg.httpAddr != ""})
	if err != nil {
		return err
	}
	defer b.Close()
	var web *webServer
	if cfg.httpAddr != "" {
		web = newWebServer(b, cfg.allowActions)
		defer web.close()
	}
	var doors []door
	listen := func(name, addr string, serve func(net.Listener) error, closed error) error {
		if addr == "" {
			return nil
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		doors = append(doors, door{name, ln, serve, closed})
		return nil
	}
	if err := errors.Join(
		listen("redis", cfg.redisAddr, func(ln net.Listener) error { return b.Redis().Serve(ln) }, resp.ErrServerClosed),
		listen("amqp", cfg.amqpAddr, func(ln net.Listener) error { return b.AMQP().Serve(ln) }, amqp.ErrServerClosed),
		listen("kafka", cfg.kafkaAddr, func(ln net.Listener) error { return b.Kafka().Serve(ln) }, kafka.ErrServerClosed),
		listen("http", loopbackByDefault(cfg.httpAddr), func(ln net.Listener) error { return web.serve(ln) }, http.ErrServerClosed),
	); err != nil {
		for _, d := range doors {
			d.ln.Close()
		}
		return err
	}
	where := "in memory"
	if cfg.dir != "" {
		where = "durable in " + cfg.dir
	}
	fmt.Fprintf(w, "tribus %s (%s)\n", tribus.Version, where)
	addrs := make(map[string]net.Addr)
	for _, d := range doors {
		addrs[d.name] = d.ln.Addr()
		tcp, _ := d.ln.Addr().(*net.TCPAddr)
		remote := tcp != nil && !tcp.IP.IsLoopback()
		switch d.name {
		case "redis":
			fmt.Fprintf(w, "redis (RESP2/RESP3 pub/sub) listening on %s\n", d.ln.Addr())
			if remote && cfg.redisPassword == "" {
				fmt.Fprintf(w, "warning: %s is reachable from other machines and has no password (--redis-password)\n", d.ln.Addr())
			}
		case "amqp":
			fmt.Fprintf(w, "amqp (AMQP 0-9-1, RabbitMQ's model) listening on %s, user guest/guest\n", d.ln.Addr())
			if remote {
				fmt.Fprintf(w, "note: guest may log in only from loopback, as in RabbitMQ\n")
			}
		case "kafka":
			fmt.Fprintf(w, "kafka (Kafka protocol, one broker) listening on %s\n", d.ln.Addr())
		case "http":
			fmt.Fprintf(w, "dashboard on http://%s/ (JSON API under /api/)%s\n", d.ln.Addr(), actionsNote(cfg.allowActions))
			if remote {
				fmt.Fprintf(w, "warning: the dashboard on %s is reachable from other machines and has no login\n", d.ln.Addr())
			}
		}
	}
	served := make(chan error, len(doors))
	for _, d := range doors {
		go func() {
			err := d.serve(d.ln)
			if errors.Is(err, d.closed) {
				err = nil
			} else if err != nil {
				err = fmt.Errorf("%s: %w", d.name, err)
			}
			served <- err
		}()
	}
	if ready != nil {
		ready(addrs)
	}
	var failed error
	select {
	case <-ctx.Done():
		fmt.Fprintln(w, "tribus: stopping")
	case failed = <-served:
		// A listener failed on its own: report it after closing the rest.
	}
	if web != nil {
		web.close() // its streams end, and its listener's Serve returns
	}
	if err := b.Close(); err != nil {
		return err
	}
	waiting := len(doors)
	if failed != nil {
		waiting--
	}
	for range waiting {
		failed = errors.Join(failed, <-served)
	}
	if failed == nil {
		fmt.Fprintln(w, "tribus: stopped")
	}
	return failed
}

// webServer serves a broker's dashboard over HTTP.
type webServer struct {
	dash *dashboard.Server
	srv  *http.Server
	once sync.Once
}

func newWebServer(b *tribus.Broker, allowActions bool) *webServer {
	dash := dashboard.New(b, &dashboard.Options{AllowActions: allowActions})
	return &webServer{dash: dash, srv: &http.Server{Handler: dash, ReadHeaderTimeout: 10 * time.Second}}
}

func (s *webServer) serve(ln net.Listener) error { return s.srv.Serve(ln) }

// close ends the timeline streams, then shuts the server down, letting the requests in
// flight finish (a stream's last bytes included) for a few seconds before it closes what is
// left. It is idempotent.
func (s *webServer) close() {
	s.once.Do(func() {
		s.dash.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if s.srv.Shutdown(ctx) != nil {
			s.srv.Close()
		}
	})
}

// loopbackByDefault returns addr with 127.0.0.1 as its host when it names none (":15672"):
// the dashboard has no login, so it listens beyond this machine only when an address says
// so (0.0.0.0:15672).
func loopbackByDefault(addr string) string {
	if host, port, err := net.SplitHostPort(addr); err == nil && host == "" {
		return net.JoinHostPort("127.0.0.1", port)
	}
	return addr
}

func actionsNote(allowed bool) string {
	if allowed {
		return "; actions (purge, delete, reset offsets) are on"
	}
	return ", read-only"
}
