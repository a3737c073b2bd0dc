package browser

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/internal/leakcheck"
)

// These tests reach CDP methods the API does not offer, to check how replies and events that
// the API cannot provoke are routed.

func startPage(t *testing.T) (context.Context, *Browser, *Page) {
	t.Helper()
	leakcheck.Check(t)
	path, err := Find()
	if err != nil {
		t.Skip("headless Chromium is not installed (apt-get install chromium): " + err.Error())
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("<p>tribus</p>"))
	}))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	t.Cleanup(cancel)
	b, err := Start(ctx, path)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, b.Close()) })
	p, err := b.NewPage(ctx, srv.URL)
	require.NoError(t, err)
	return ctx, b, p
}

func TestConn_ErrorReplyIsProtocolError(t *testing.T) {
	ctx, b, _ := startPage(t)
	err := b.conn.call(ctx, "", "No.such", nil, nil)
	var pe *ProtocolError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "No.such", pe.Method)
	assert.Equal(t, -32601, pe.Code) // JSON-RPC: method not found
	assert.Contains(t, err.Error(), "No.such")
}

func TestConn_CrashedPageFailsItsCalls(t *testing.T) {
	ctx, b, p := startPage(t)
	// Page.crash is never answered: the renderer dies first. Its caller must hear of it.
	crashed := make(chan error, 1)
	go func() { crashed <- p.call(ctx, "Page.crash", nil, nil) }()
	select {
	case err := <-crashed:
		require.ErrorIs(t, err, ErrPageGone)
	case <-ctx.Done():
		t.Fatal("Page.crash's caller was not told the page crashed")
	}

	_, err := p.Eval(ctx, "1")
	require.ErrorIs(t, err, ErrPageGone)
	require.ErrorIs(t, p.WaitFor(ctx, "true"), ErrPageGone)
	_, err = p.Screenshot(ctx)
	require.ErrorIs(t, err, ErrPageGone)

	// The browser and its other pages go on.
	other, err := b.NewPage(ctx, "about:blank")
	require.NoError(t, err)
	_, err = other.Eval(ctx, "1")
	require.NoError(t, err)
}

func TestConn_ClosedTargetFailsItsCalls(t *testing.T) {
	ctx, b, p := startPage(t)
	require.NoError(t, b.conn.call(ctx, "", "Target.closeTarget", map[string]any{"targetId": p.targetID}, nil))
	require.Eventually(t, func() bool {
		_, err := p.Eval(ctx, "1")
		return err != nil
	}, 10*time.Second, 10*time.Millisecond)
	_, err := p.Eval(ctx, "1")
	require.ErrorIs(t, err, ErrPageGone)
}

func TestTail_QuotesLastLinesWithoutDBus(t *testing.T) {
	var tl tail
	assert.Empty(t, tl.quote())

	fmt.Fprintf(&tl, "[1:1:ERROR:dbus/bus.cc:405] Failed to connect to the bus\n")
	assert.Empty(t, tl.quote(), "D-Bus noise alone is not worth quoting")

	for i := range 3 * keepSize / 10 {
		fmt.Fprintf(&tl, "line %04d\n", i%10000)
	}
	fmt.Fprintf(&tl, "[1:1:ERROR:dbus/bus.cc:405] Failed to connect to the bus\n")
	fmt.Fprintf(&tl, "[1:1:FATAL:process_singleton_posix.cc:315] Socket path too long\n")
	q := tl.quote()
	assert.True(t, strings.HasPrefix(q, "; chromium's stderr ends with:\n"), q)
	assert.True(t, strings.HasSuffix(q, "Socket path too long"), q)
	assert.NotContains(t, q, "dbus")
	assert.LessOrEqual(t, len(q), quoteSize+64)
	assert.LessOrEqual(t, len(tl.buf), 2*keepSize)
	for line := range strings.Lines(strings.TrimPrefix(q, "; chromium's stderr ends with:\n")) {
		assert.Regexp(t, `^(line \d{4}|\[1:1:FATAL.*)\n?$`, line, "whole lines only")
	}
}
