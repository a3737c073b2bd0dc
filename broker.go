package tribus

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/tribusmq/tribus/exchange"
	"github.com/tribusmq/tribus/internal/diskspace"
	tlog "github.com/tribusmq/tribus/log"
	"github.com/tribusmq/tribus/pubsub"
	"github.com/tribusmq/tribus/store"
	"github.com/tribusmq/tribus/wire/amqp"
	"github.com/tribusmq/tribus/wire/kafka"
	"github.com/tribusmq/tribus/wire/resp"
)

// Broker is one embedded tribus: the engines and the store they share. Open it once per
// process and directory, and Close it when done. A Broker is safe for concurrent use.
type Broker struct {
	dir   string
	opts  Options
	hub   *pubsub.Hub
	redis *resp.Server
	lock  *os.File // dir/LOCK, nil in memory

	// In memory the router and the log (with the store it keeps offsets in) are built on
	// first use, so a test that only needs one engine pays for that one; a durable broker
	// builds them in Open, where recovering their state can fail. The pointers are written
	// once, under mu, and read without it.
	store  atomic.Pointer[store.Store] // dir/tribus.db, or the in-memory backend
	router atomic.Pointer[exchange.Router]
	log    atomic.Pointer[tlog.Log]
	amqp   atomic.Pointer[amqp.Server]  // built on first use, over the router
	kafka  atomic.Pointer[kafka.Server] // built on first use, over the log

	tracer *tracer // Options.Trace; nil when off

	mu     sync.Mutex // guards closed and the first build of each engine
	closed bool
}

// Open starts a broker. With dir == "" it lives in memory and never touches the file system;
// otherwise its durable state is kept in dir (created 0700 if missing) as dir/tribus.db. A
// directory another open Broker holds is refused at once with [ErrLocked]. opts may be nil.
//
// An in-memory broker builds each engine on its first use and starts no goroutine. A durable
// one recovers every engine's state here, so that damage is reported by Open, and owns one
// store committer, which Close stops.
func Open(dir string, opts *Options) (*Broker, error) {
	o := opts.withDefaults()
	if o.TraceBuffer < 0 {
		return nil, fmt.Errorf("%w: TraceBuffer %d is negative", ErrInvalidOptions, o.TraceBuffer)
	}
	var tr *tracer
	if o.Trace {
		tr = newTracer(o.TraceBuffer)
		tr.chain(&o)
	}
	hub, err := pubsub.New(&o.PubSub)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidOptions, err)
	}
	redis, err := resp.NewServer(hub, o.redisOptions())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidOptions, err)
	}
	if err := o.AMQP.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidOptions, err)
	}
	if err := o.Kafka.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidOptions, err)
	}
	if o.MaxMessageSize < 0 || o.MaxMessageSize > exchange.MaxMessageSizeLimit {
		return nil, fmt.Errorf("%w: MaxMessageSize %d is not within [0, %d]", ErrInvalidOptions, o.MaxMessageSize, exchange.MaxMessageSizeLimit)
	}
	b := &Broker{dir: dir, opts: o, hub: hub, redis: redis, tracer: tr}
	tr.attach(nil, nil, hub)
	if dir == "" {
		return b, nil
	}
	sopts, err := o.storeOptions()
	if err != nil {
		return nil, err
	}
	if err := makeDir(dir); err != nil {
		return nil, err
	}
	if b.lock, err = lockDir(dir); err != nil {
		return nil, err
	}
	st, err := store.Open(filepath.Join(dir, "tribus.db"), sopts)
	if err != nil {
		unlockDir(b.lock)
		if errors.Is(err, store.ErrLocked) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, dir)
		}
		return nil, fmt.Errorf("tribus: open %s: %w", dir, err)
	}
	xopts := o.exchangeOptions()
	xopts.Store, xopts.MemoryBudget, xopts.DiskFree = st, o.MemoryBudget, st.ReserveSpace
	router, err := exchange.New(&xopts)
	if err != nil {
		st.Close()
		unlockDir(b.lock)
		return nil, fmt.Errorf("tribus: open %s: %w", dir, err)
	}
	l, err := tlog.Open(filepath.Join(dir, "log"), &tlog.Options{Store: st, NoSync: o.Sync != SyncAlways,
		DiskFreeLimit: o.DiskFreeLimit, Logger: o.engineLogger("engine", "log"), Observer: o.LogObserver, Faults: o.LogFaults, Seed: o.Seed})
	if err != nil {
		router.Close()
		st.Close()
		unlockDir(b.lock)
		return nil, fmt.Errorf("tribus: open %s: %w", dir, err)
	}
	b.store.Store(st)
	b.router.Store(router)
	b.log.Store(l)
	tr.attach(router, l, nil)
	o.Logger.Debug("tribus: opened", "dir", dir)
	return b, nil
}

// built returns the engine in p, building it with build on first use. An engine built after
// Close is returned closed, so that its every call fails with ErrClosed as documented.
func built[T any](b *Broker, p *atomic.Pointer[T], build func() *T, closeIt func(*T)) *T {
	if v := p.Load(); v != nil {
		return v
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if v := p.Load(); v != nil {
		return v
	}
	v := build()
	if b.closed {
		closeIt(v)
	}
	p.Store(v)
	return v
}

// memStore is the in-memory store the log keeps offsets in. Called with b.mu held.
func (b *Broker) memStore() *store.Store {
	if st := b.store.Load(); st != nil {
		return st
	}
	st := store.OpenMemory()
	b.store.Store(st)
	return st
}

// makeDir creates dir (0700) if it is missing, refusing with ErrInvalidDir a path that cannot
// name a directory.
func makeDir(dir string) error {
	if strings.IndexByte(dir, 0) >= 0 {
		return fmt.Errorf("%w: %q contains a NUL byte", ErrInvalidDir, dir)
	}
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return fmt.Errorf("%w: %s is a file", ErrInvalidDir, dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		if errors.Is(err, syscall.ENOTDIR) {
			return fmt.Errorf("%w: %s: a parent is a file", ErrInvalidDir, dir)
		}
		return fmt.Errorf("tribus: open %s: %w", dir, diskspace.Wrap(err))
	}
	return nil
}

// Dir returns the directory the broker keeps its state in, or "" for an in-memory broker.
func (b *Broker) Dir() string { return b.dir }

// Hub returns the Redis-style pub/sub hub. After Close it returns the closed hub, whose every
// call returns an error for which errors.Is(err, [ErrClosed]) holds.
func (b *Broker) Hub() *pubsub.Hub { return b.hub }

// Redis returns the RESP front door to the pub/sub hub: Redis clients reach it through
// [resp.Server.Serve] on a listener, or with no socket through [resp.Server.Dial], which is
// go-redis's Options.Dialer:
//
//	go b.Redis().Serve(ln)
//	rdb := redis.NewClient(&redis.Options{Dialer: b.Redis().Dial})
//
// Close closes its listeners and connections and waits for them.
func (b *Broker) Redis() *resp.Server { return b.redis }

// AMQP returns the AMQP 0-9-1 front door to the exchange router, the virtual host "/":
// RabbitMQ clients reach it through [amqp.Server.Serve] on a listener, or with no socket
// through [amqp.Server.Dial], which is amqp091-go's Config.Dial:
//
//	go b.AMQP().Serve(ln)
//	conn, err := amqp091.DialConfig("amqp://guest:guest@tribus/", amqp091.Config{Dial: b.AMQP().Dial})
//
// It is built, with the router, on first use. After Close it returns a closed server, which
// refuses every connection with [amqp.ErrServerClosed].
func (b *Broker) AMQP() *amqp.Server {
	r := b.Router()
	return built(b, &b.amqp, func() *amqp.Server {
		srv, err := amqp.NewServer(r, b.opts.amqpOptions())
		if err != nil { // the options were validated by Open
			panic("tribus: building the AMQP front door: " + err.Error())
		}
		return srv
	}, func(s *amqp.Server) { s.Close() })
}

// Kafka returns the Kafka protocol front door to the commit log, a cluster of one broker:
// Kafka clients reach it through [kafka.Server.Serve] on a listener, or with no socket through
// [kafka.Server.Dial], which is franz-go's kgo.Dialer:
//
//	go b.Kafka().Serve(ln)
//	cl, err := kgo.NewClient(kgo.SeedBrokers("tribus:9092"), kgo.Dialer(b.Kafka().Dial))
//
// It is built, with the log, on first use. After Close it returns a closed server, which
// refuses every connection with [kafka.ErrServerClosed].
func (b *Broker) Kafka() *kafka.Server {
	l := b.Log()
	return built(b, &b.kafka, func() *kafka.Server {
		srv, err := kafka.NewServer(l, b.opts.kafkaOptions())
		if err != nil { // the options were validated by Open
			panic("tribus: building the Kafka front door: " + err.Error())
		}
		return srv
	}, func(s *kafka.Server) { s.Close() })
}

// Router returns the RabbitMQ-style exchange router. After Close it returns the closed router,
// whose every call returns an error for which errors.Is(err, [ErrClosed]) holds.
func (b *Broker) Router() *exchange.Router {
	return built(b, &b.router, func() *exchange.Router {
		xopts := b.opts.exchangeOptions()
		r, err := exchange.New(&xopts) // in memory: nothing to recover, options checked by Open
		if err != nil {
			panic("tribus: building the in-memory router: " + err.Error())
		}
		b.tracer.attach(r, nil, nil)
		return r
	}, func(r *exchange.Router) { r.Close() })
}

// Log returns the Kafka-style commit log. After Close it returns the closed log, whose every
// call returns an error for which errors.Is(err, [ErrClosed]) holds.
func (b *Broker) Log() *tlog.Log {
	return built(b, &b.log, func() *tlog.Log {
		l, err := tlog.Open("", &tlog.Options{Store: b.memStore(), Logger: b.opts.engineLogger("engine", "log"),
			Observer: b.opts.LogObserver, Faults: b.opts.LogFaults, Seed: b.opts.Seed})
		if err != nil { // in memory there is no file to fail and no option to refuse
			panic("tribus: opening the in-memory log: " + err.Error())
		}
		b.tracer.attach(nil, l, nil)
		return l
	}, func(l *tlog.Log) { l.Close() })
}

// Close shuts every engine down, waits for every goroutine the broker started, flushes and
// closes its files, and releases the directory lock. It is idempotent: later calls return nil.
func (b *Broker) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	// The front doors close first, so that no remote client acts on an engine being closed.
	errs := []error{b.redis.Close()}
	if s := b.amqp.Load(); s != nil {
		errs = append(errs, s.Close())
	}
	if s := b.kafka.Load(); s != nil {
		errs = append(errs, s.Close())
	}
	if r := b.router.Load(); r != nil {
		errs = append(errs, r.Close())
	}
	if l := b.log.Load(); l != nil {
		errs = append(errs, l.Close())
	}
	errs = append(errs, b.hub.Close())
	if st := b.store.Load(); st != nil {
		errs = append(errs, st.Close())
	}
	if b.lock != nil {
		errs = append(errs, unlockDir(b.lock))
	}
	if b.tracer != nil {
		b.tracer.close() // after the engines, whose last events it carries
	}
	return errors.Join(errs...)
}
