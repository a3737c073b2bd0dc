package browser

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"
)

const (
	// closeGrace is how long Close waits for Chromium to exit after Browser.close before it
	// kills the process.
	closeGrace = 5 * time.Second

	// stderrDrain is how long, once Chromium has exited, a child process that inherited its
	// stderr may keep the pipe open before Close stops reading it (exec.Cmd.WaitDelay).
	stderrDrain = 2 * time.Second

	// keepSize is how much of Chromium's stderr Browser keeps, and quoteSize how much of
	// that errors quote, in bytes.
	keepSize  = 16 << 10
	quoteSize = 1 << 10
)

// flags are Chromium's command line apart from --user-data-dir. The network of a test machine
// may be closed: without the background-networking, component-update and sync flags Chromium
// keeps dialling Google and logs every refused connection.
var flags = []string{
	"--headless",
	"--no-sandbox",
	"--disable-gpu",
	"--disable-quic",
	"--no-first-run",
	"--disable-background-networking",
	"--disable-component-update",
	"--disable-sync",
	"--disable-extensions",
	"--remote-debugging-pipe",
	"--window-size=1280,900",
}

// Browser is a headless Chromium process driven over its DevTools pipe. It is safe for
// concurrent use; [Browser.Close] must be called to end the process and remove its profile.
type Browser struct {
	conn    *conn
	cmd     *exec.Cmd
	dir     string        // the fresh --user-data-dir, removed by Close
	exited  chan struct{} // closed when cmd.Wait has returned
	waitErr error         // cmd.Wait's result; read only after exited is closed

	closeMu sync.Mutex // serialises Close, so that a second Close returns after the first
	closed  bool       // protected by closeMu
}

// Start launches the Chromium binary at path (see [Find]) headless, with a fresh temporary
// profile and the DevTools protocol on a pipe pair, and returns once Chromium answers a first
// command. ctx bounds only that start: the browser runs until [Browser.Close]. On error
// nothing is left behind: the process is ended and the profile removed.
func Start(ctx context.Context, path string) (*Browser, error) {
	dir, err := os.MkdirTemp("", "tribus-browser-")
	if err != nil {
		return nil, fmt.Errorf("tribus/browser: creating the profile directory: %w", err)
	}
	// Chromium reads commands from fd 3 and writes replies and events to fd 4.
	cmdR, cmdW, err := os.Pipe()
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("tribus/browser: creating the command pipe: %w", err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		cmdR.Close()
		cmdW.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("tribus/browser: creating the reply pipe: %w", err)
	}

	stderr := &tail{}
	cmd := exec.Command(path, slices.Concat(flags, []string{"--user-data-dir=" + dir})...)
	cmd.ExtraFiles = []*os.File{cmdR, outW}
	cmd.Stderr = stderr
	cmd.WaitDelay = stderrDrain
	err = cmd.Start()
	// Chromium has its own copies now; keeping ours would hide its exit from the reader.
	cmdR.Close()
	outW.Close()
	if err != nil {
		cmdW.Close()
		outR.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("tribus/browser: starting %s: %w", path, err)
	}

	b := &Browser{
		conn:   newConn(cmdW, outR, stderr),
		cmd:    cmd,
		dir:    dir,
		exited: make(chan struct{}),
	}
	go b.reap()
	go b.conn.read()

	if err := b.conn.call(ctx, "", "Browser.getVersion", nil, nil); err != nil {
		return nil, errors.Join(fmt.Errorf("tribus/browser: starting %s: %w", path, err), b.shutdown(false))
	}
	return b, nil
}

// reap is the goroutine that waits for the process to exit.
func (b *Browser) reap() {
	b.waitErr = b.cmd.Wait()
	close(b.exited)
}

// Close ends the browser: it asks Chromium to quit (Browser.close), waits for the process,
// killing it if it has not exited within a few seconds, waits for the goroutines reading its
// pipe and stderr, and removes the profile directory. Calls in flight and every later call on
// the Browser or its pages return [ErrClosed]. Close is idempotent: a second call waits for the
// first and returns nil. Its error reports a kill, an unclean exit or a profile left behind.
func (b *Browser) Close() error {
	b.closeMu.Lock()
	defer b.closeMu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	return b.shutdown(true)
}

// shutdown ends the process (politely first if polite), then everything Start made.
func (b *Browser) shutdown(polite bool) error {
	b.conn.closing.Store(true)
	var errs []error
	killed := false
	if polite {
		ctx, cancel := context.WithTimeout(context.Background(), closeGrace)
		// Chromium may exit before it answers; the exit is what counts.
		_ = b.conn.roundTrip(ctx, "", "Browser.close", nil, nil)
		cancel()
		grace := time.NewTimer(closeGrace)
		select {
		case <-b.exited:
		case <-grace.C:
			killed = true
		}
		grace.Stop()
	} else {
		killed = true
	}
	if killed {
		if err := b.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			errs = append(errs, fmt.Errorf("tribus/browser: killing chromium: %w", err))
		}
	}
	<-b.exited
	if polite && killed {
		errs = append(errs, fmt.Errorf("tribus/browser: chromium did not exit within %v of Browser.close and was killed%s",
			closeGrace, b.conn.stderr.quote()))
	} else if polite && b.waitErr != nil {
		errs = append(errs, fmt.Errorf("tribus/browser: chromium: %w%s", b.waitErr, b.conn.stderr.quote()))
	}

	// Closing the read end unblocks the reader should a leftover child still hold fd 4.
	b.conn.w.Close()
	b.conn.r.Close()
	<-b.conn.done
	if err := os.RemoveAll(b.dir); err != nil {
		errs = append(errs, fmt.Errorf("tribus/browser: removing the profile: %w", err))
	}
	return errors.Join(errs...)
}

// tail keeps the end of what is written to it: Chromium's stderr, for errors to quote.
type tail struct {
	mu      sync.Mutex // protects the fields below; exec's copier writes while callers quote
	buf     []byte
	trimmed bool // buf starts mid-stream, perhaps mid-line
}

// Write keeps the last keepSize bytes of everything written, trimming in bulk.
func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2*keepSize {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-keepSize:]...)
		t.trimmed = true
	}
	return len(p), nil
}

// quote returns "; chromium's stderr ends with:" and the last whole lines kept, up to
// quoteSize bytes, or "" when there are none. Lines about D-Bus are left out: Chromium logs
// one for every service a container lacks, and they would crowd out the line that matters.
func (t *tail) quote() string {
	t.mu.Lock()
	kept, trimmed := string(t.buf), t.trimmed
	t.mu.Unlock()
	lines := strings.Split(kept, "\n")
	if trimmed {
		lines = lines[1:]
	}
	var out []string
	size := 0
	for _, line := range slices.Backward(lines) {
		if strings.TrimSpace(line) == "" || strings.Contains(line, "dbus") {
			continue
		}
		if size += len(line) + 1; size > quoteSize && len(out) > 0 {
			break
		}
		out = append(out, line)
	}
	if len(out) == 0 {
		return ""
	}
	slices.Reverse(out)
	return "; chromium's stderr ends with:\n" + strings.Join(out, "\n")
}
