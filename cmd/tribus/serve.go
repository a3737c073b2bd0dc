package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/tribusmq/tribus"
	"github.com/tribusmq/tribus/wire/resp"
)

// serveConfig is what `tribus serve` was asked to do.
type serveConfig struct {
	dir           string
	redisAddr     string
	redisPassword string
	idleTimeout   time.Duration
	maxClients    int
}

// serve opens a broker and serves its front doors until ctx ends (the CLI's ctx ends on
// SIGINT or SIGTERM), then closes everything, waiting for every connection. ready, if not
// nil, receives the address each door listens on, once all of them listen.
func serve(ctx context.Context, w io.Writer, cfg serveConfig, ready func(redis net.Addr)) error {
	b, err := tribus.Open(cfg.dir, &tribus.Options{Redis: resp.Options{
		Password:    cfg.redisPassword,
		IdleTimeout: cfg.idleTimeout,
		MaxClients:  cfg.maxClients,
	}})
	if err != nil {
		return err
	}
	defer b.Close()
	ln, err := net.Listen("tcp", cfg.redisAddr)
	if err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	where := "in memory"
	if cfg.dir != "" {
		where = "durable in " + cfg.dir
	}
	fmt.Fprintf(w, "tribus %s (%s)\n", tribus.Version, where)
	fmt.Fprintf(w, "redis (RESP2/RESP3 pub/sub) listening on %s\n", ln.Addr())
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && !tcp.IP.IsLoopback() && cfg.redisPassword == "" {
		fmt.Fprintf(w, "warning: %s is reachable from other machines and has no password (--redis-password)\n", ln.Addr())
	}
	served := make(chan error, 1)
	go func() { served <- b.Redis().Serve(ln) }()
	if ready != nil {
		ready(ln.Addr())
	}
	select {
	case <-ctx.Done():
		fmt.Fprintln(w, "tribus: stopping")
	case err = <-served:
		// The listener failed on its own: report it after closing the rest.
	}
	if cerr := b.Close(); cerr != nil {
		return cerr
	}
	if err == nil {
		err = <-served
	}
	if errors.Is(err, resp.ErrServerClosed) {
		err = nil
	}
	if err == nil {
		fmt.Fprintln(w, "tribus: stopped")
	}
	return err
}
