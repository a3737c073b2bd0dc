package browser_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/internal/browser"
	"github.com/tribusmq/tribus/internal/leakcheck"
)

// testPage sets its title a little after load, so that WaitFor has something to wait for,
// and counts to 3 in a span.
const testPage = `<!doctype html>
<html><head><title>loading</title></head>
<body>
<h1>tribus</h1>
<span id="count">0</span>
<script>
let n = 0;
const tick = setInterval(() => {
  document.getElementById("count").textContent = String(++n);
  if (n === 3) clearInterval(tick);
}, 20);
setTimeout(() => { document.title = "ready"; }, 150);
</script>
</body></html>`

// start serves testPage and starts a browser, both ended by the test's cleanup; it skips the
// test when Chromium is not installed.
func start(t *testing.T) (context.Context, *browser.Browser, string) {
	t.Helper()
	leakcheck.Check(t)
	path, err := browser.Find()
	if err != nil {
		t.Skip("headless Chromium is not installed (apt-get install chromium): " + err.Error())
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(testPage))
	}))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	t.Cleanup(cancel)
	b, err := browser.Start(ctx, path)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, b.Close()) })
	return ctx, b, srv.URL
}

func newPage(t *testing.T) (context.Context, *browser.Page) {
	t.Helper()
	ctx, b, url := start(t)
	p, err := b.NewPage(ctx, url)
	require.NoError(t, err)
	return ctx, p
}

// evalAs evaluates expr and decodes its value into a T.
func evalAs[T any](t *testing.T, ctx context.Context, p *browser.Page, expr string) T {
	t.Helper()
	raw, err := p.Eval(ctx, expr)
	require.NoError(t, err)
	var v T
	require.NoError(t, json.Unmarshal(raw, &v), "value %s", raw)
	return v
}

// shortTMPDIR points TMPDIR, where Start makes the profile, at a fresh directory for the
// test. Not t.TempDir(): Chromium puts a socket under TMPDIR, and t.TempDir's name is too
// long for a socket path.
func shortTMPDIR(t *testing.T) string {
	t.Helper()
	tmp, err := os.MkdirTemp("", "tbr")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(tmp) })
	t.Setenv("TMPDIR", tmp)
	return tmp
}

func readDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestFind_ReturnsAnExecutableOrErrNoBrowser(t *testing.T) {
	path, err := browser.Find()
	if err != nil {
		require.ErrorIs(t, err, browser.ErrNoBrowser)
		return
	}
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.NotZero(t, info.Mode()&0o111, "%s is not executable", path)
}

func TestStart_NotABrowserIsErrExitedAndLeavesNothing(t *testing.T) {
	leakcheck.Check(t)
	path, err := exec.LookPath("false")
	if err != nil {
		t.Skip("false(1) is not on PATH: " + err.Error())
	}
	tmp := shortTMPDIR(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	_, err = browser.Start(ctx, path) // exits at once, without a word on fd 4
	require.ErrorIs(t, err, browser.ErrExited)
	assert.Empty(t, readDir(t, tmp), "the profile directory is removed")
}

func TestStart_MissingBinaryIsAnError(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-chromium") // before TMPDIR moves
	tmp := shortTMPDIR(t)
	_, err := browser.Start(t.Context(), missing)
	require.ErrorIs(t, err, fs.ErrNotExist)
	assert.Contains(t, err.Error(), missing)
	assert.Empty(t, readDir(t, tmp), "the profile directory is removed")
}

func TestBrowser_NewPage(t *testing.T) {
	ctx, b, url := start(t)

	t.Run("LoadsThePage", func(t *testing.T) {
		p, err := b.NewPage(ctx, url)
		require.NoError(t, err)
		assert.Equal(t, url+"/", evalAs[string](t, ctx, p, "location.href"))
		// The load event has fired, so the body is parsed and the script has run.
		assert.Equal(t, "tribus", evalAs[string](t, ctx, p, `document.querySelector("h1").textContent`))
	})

	t.Run("UnreachableURLIsAnError", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		dead := srv.URL
		srv.Close() // nothing listens there any more
		_, err := b.NewPage(ctx, dead)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "ERR_CONNECTION_REFUSED")
	})

	t.Run("PagesAreIndependent", func(t *testing.T) {
		p1, err := b.NewPage(ctx, url)
		require.NoError(t, err)
		p2, err := b.NewPage(ctx, url)
		require.NoError(t, err)
		_, err = p1.Eval(ctx, `window.mark = "one"`)
		require.NoError(t, err)
		assert.Equal(t, "one", evalAs[string](t, ctx, p1, "window.mark"))
		assert.Equal(t, "undefined", evalAs[string](t, ctx, p2, "typeof window.mark"))
	})
}

func TestPage_Eval(t *testing.T) {
	ctx, p := newPage(t)

	t.Run("Number", func(t *testing.T) {
		assert.Equal(t, 42, evalAs[int](t, ctx, p, "6 * 7"))
	})
	t.Run("String", func(t *testing.T) {
		assert.Equal(t, "tribus!", evalAs[string](t, ctx, p, `document.querySelector("h1").textContent + "!"`))
	})
	t.Run("AwaitsPromises", func(t *testing.T) {
		assert.Equal(t, 5, evalAs[int](t, ctx, p, "new Promise(resolve => setTimeout(() => resolve(5), 10))"))
	})
	t.Run("UndefinedIsNull", func(t *testing.T) {
		raw, err := p.Eval(ctx, "undefined")
		require.NoError(t, err)
		assert.JSONEq(t, "null", string(raw))
	})
	t.Run("ConcurrentCallsGetTheirOwnReplies", func(t *testing.T) {
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				raw, err := p.Eval(ctx, fmt.Sprintf("new Promise(r => setTimeout(() => r(%d * 2), %d))", i, 20-i))
				if assert.NoError(t, err) {
					assert.JSONEq(t, fmt.Sprint(i*2), string(raw))
				}
			})
		}
		wg.Wait()
	})
	t.Run("UnserializableIsAnError", func(t *testing.T) {
		_, err := p.Eval(ctx, "0 / 0")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "NaN")
	})

	for _, tc := range []struct{ name, expr string }{
		{"Thrown", `(() => { throw new Error("boom") })()`},
		{"Rejected", `Promise.reject(new Error("boom"))`},
		{"ThrownPrimitive", `(() => { throw "boom" })()`},
	} {
		t.Run(tc.name+"IsAnError", func(t *testing.T) {
			_, err := p.Eval(ctx, tc.expr)
			require.ErrorIs(t, err, browser.ErrException)
			assert.Contains(t, err.Error(), "boom")
		})
	}
}

func TestPage_WaitFor(t *testing.T) {
	ctx, p := newPage(t)

	t.Run("Title", func(t *testing.T) {
		require.NoError(t, p.WaitFor(ctx, `document.title === "ready"`))
		assert.Equal(t, "ready", evalAs[string](t, ctx, p, "document.title"))
		require.NoError(t, p.WaitFor(ctx, `document.getElementById("count").textContent === "3"`))
		assert.Equal(t, "3", evalAs[string](t, ctx, p, `document.getElementById("count").textContent`))
	})

	t.Run("ContextEndSaysWhatWasAwaited", func(t *testing.T) {
		short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		err := p.WaitFor(short, `document.title === "never"`)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Contains(t, err.Error(), `document.title === "never"`)
		assert.Contains(t, err.Error(), "last value false")
	})

	t.Run("ExceptionsAreRetriedAndQuoted", func(t *testing.T) {
		short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		err := p.WaitFor(short, `document.getElementById("absent").textContent === "x"`)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Contains(t, err.Error(), "TypeError")
	})
}

func TestPage_Screenshot_PNG(t *testing.T) {
	ctx, p := newPage(t)
	png, err := p.Screenshot(ctx)
	require.NoError(t, err)
	assert.True(t, bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")), "starts with %q", png[:min(len(png), 8)])
}

func TestBrowser_Close_IdempotentAndRemovesProfile(t *testing.T) {
	tmp := shortTMPDIR(t)
	ctx, b, url := start(t)
	p, err := b.NewPage(ctx, url)
	require.NoError(t, err)
	require.NotEmpty(t, readDir(t, tmp), "the profile directory is made in TMPDIR")

	require.NoError(t, b.Close())
	require.NoError(t, b.Close())
	assert.Empty(t, readDir(t, tmp), "the profile directory is removed")

	_, err = b.NewPage(ctx, url)
	require.ErrorIs(t, err, browser.ErrClosed)
	_, err = p.Eval(ctx, "1")
	require.ErrorIs(t, err, browser.ErrClosed)
	require.ErrorIs(t, p.WaitFor(ctx, "true"), browser.ErrClosed)
}
