package tribus

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/tribusmq/tribus/exchange"
	"github.com/tribusmq/tribus/internal/diskspace"
	tlog "github.com/tribusmq/tribus/log"
	"github.com/tribusmq/tribus/pubsub"
	"github.com/tribusmq/tribus/store"
	"github.com/tribusmq/tribus/wire/resp"
)

// Broker is one embedded tribus: the engines and the store they share. Open it once per
// process and directory, and Close it when done. A Broker is safe for concurrent use.
type Broker struct {
	dir  string
	opts Options

	lock   *os.File     // dir/LOCK, nil in memory
	store  *store.Store // dir/tribus.db, or the in-memory backend
	hub    *pubsub.Hub
	router *exchange.Router
	log    *tlog.Log
	redis  *resp.Server

	mu     sync.Mutex
	closed bool
}

// Open starts a broker. With dir == "" it lives in memory and never touches the file system;
// otherwise its durable state is kept in dir (created 0700 if missing) as dir/tribus.db. A
// directory another open Broker holds is refused at once with [ErrLocked]. opts may be nil.
//
// Open starts no goroutine for an in-memory broker; a durable one owns one store committer,
// which Close stops.
func Open(dir string, opts *Options) (*Broker, error) {
	o := opts.withDefaults()
	hub, err := pubsub.New(&o.PubSub)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidOptions, err)
	}
	xopts := exchange.Options{Observer: o.ExchangeObserver, Logger: o.Logger.With("engine", "exchange")}
	ropts := o.Redis
	if ropts.Version == "" {
		ropts.Version = Version
	}
	if ropts.Logger == nil {
		ropts.Logger = o.Logger.With("wire", "resp")
	}
	redis, err := resp.NewServer(hub, &ropts)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidOptions, err)
	}
	b := &Broker{dir: dir, opts: o, hub: hub, redis: redis}
	if dir == "" {
		b.store = store.OpenMemory()
		if b.router, err = exchange.New(&xopts); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidOptions, err)
		}
		if b.log, err = tlog.Open("", &tlog.Options{Store: b.store, Logger: o.Logger.With("engine", "log")}); err != nil {
			b.router.Close()
			return nil, err
		}
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
	b.store, err = store.Open(filepath.Join(dir, "tribus.db"), sopts)
	if err != nil {
		unlockDir(b.lock)
		if errors.Is(err, store.ErrLocked) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, dir)
		}
		return nil, fmt.Errorf("tribus: open %s: %w", dir, err)
	}
	xopts.Store, xopts.MemoryBudget = b.store, o.MemoryBudget
	if b.router, err = exchange.New(&xopts); err != nil {
		b.store.Close()
		unlockDir(b.lock)
		return nil, fmt.Errorf("tribus: open %s: %w", dir, err)
	}
	b.log, err = tlog.Open(filepath.Join(dir, "log"), &tlog.Options{Store: b.store, NoSync: o.Sync != SyncAlways, DiskFreeLimit: o.DiskFreeLimit,
		Logger: o.Logger.With("engine", "log")})
	if err != nil {
		b.router.Close()
		b.store.Close()
		unlockDir(b.lock)
		return nil, fmt.Errorf("tribus: open %s: %w", dir, err)
	}
	o.Logger.Debug("tribus: opened", "dir", dir)
	return b, nil
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

// Router returns the RabbitMQ-style exchange router. After Close it returns the closed router,
// whose every call returns an error for which errors.Is(err, [ErrClosed]) holds.
func (b *Broker) Router() *exchange.Router { return b.router }

// Log returns the Kafka-style commit log. After Close it returns the closed log, whose every
// call returns an error for which errors.Is(err, [ErrClosed]) holds.
func (b *Broker) Log() *tlog.Log { return b.log }

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
	errs := []error{b.redis.Close(), b.router.Close(), b.log.Close(), b.hub.Close(), b.store.Close()}
	if b.lock != nil {
		errs = append(errs, unlockDir(b.lock))
	}
	return errors.Join(errs...)
}
