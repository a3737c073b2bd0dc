// Package browser drives headless Chromium from tests, so that a test of the dashboard can
// load it in a real browser, run its JavaScript, wait for what it renders and take a
// screenshot. Only tests import it. It uses the standard library alone: it speaks the Chrome
// DevTools Protocol (CDP) itself, over a pipe rather than a websocket.
//
//	path, err := browser.Find()
//	if err != nil {
//		t.Skip("headless Chromium is not installed (apt-get install chromium): " + err.Error())
//	}
//	b, err := browser.Start(ctx, path)
//	require.NoError(t, err)
//	t.Cleanup(func() { assert.NoError(t, b.Close()) })
//	page, err := b.NewPage(ctx, srv.URL)
//	require.NoError(t, err)
//	require.NoError(t, page.WaitFor(ctx, `document.querySelectorAll("tr.queue").length === 3`))
//
// # Basics
//
// [Find] looks for a Chromium binary and returns [ErrNoBrowser] when there is none, which a
// test turns into a skip. [Start] launches it with --remote-debugging-pipe, a fresh profile
// in a temporary directory and flags that keep it off the network; [Browser.Close] ends it
// and removes the profile. [Browser.NewPage] opens a tab on a URL and returns once it has
// loaded; [Page.Eval] runs an expression and returns its value as JSON; [Page.WaitFor] polls
// an expression until it is true; [Page.Screenshot] returns a PNG.
//
// With --remote-debugging-pipe Chromium reads CDP commands from its file descriptor 3 and
// writes replies and events to descriptor 4, each a JSON message followed by a NUL byte.
// Each page is a flat session: Target.createTarget makes the tab, Target.attachToTarget with
// flatten:true gives a session ID, and the page's commands carry that ID at their top level,
// on the same pipe as the browser's own.
//
// Errors: a CDP error reply is a *[ProtocolError] naming the method; a JavaScript exception
// matches [ErrException]; a page whose renderer crashed or whose tab closed fails every call
// with [ErrPageGone]; a Chromium that died fails every call with [ErrExited], quoting the end
// of its stderr; after Close, calls return [ErrClosed].
//
// # Concurrency
//
// A [Browser] and its [Page] values are safe for concurrent use. Each Browser owns two
// goroutines, both ended and waited for by Close:
//
//   - the reader owns the read end of descriptor 4: it splits it into messages, hands each
//     reply to the caller waiting for its ID and each wanted event (a page's load event, its
//     crash) to the callers waiting for it, and drops the rest. It never blocks on a caller:
//     every hand-over goes to a channel with room for it. It stops at the end of the pipe.
//   - the reaper owns the process: it waits for it to exit (and, through exec.Cmd, for
//     the copy of its stderr into a small buffer that errors quote).
//
// Callers own their commands: each call takes the next ID, writes its message to descriptor
// 3 under a lock that keeps messages whole (conn.writeMu), and waits for its reply, the end
// of the pipe or its ctx. The table of waiting callers and events and the record of pages
// gone are behind one mutex (conn.mu), never held while writing or waiting; the stderr
// buffer has its own (tail.mu). Lock order: Browser.closeMu, held through Close, comes before
// each of those three, and no two of them are ever held together.
//
// # Time
//
// Every call that can block takes a ctx, which alone decides how long it waits; Start's ctx
// bounds only the start, not the browser's life. [Page.WaitFor] evaluates every 50 ms on a
// ticker. Close waits up to 5 s for Chromium to exit after Browser.close, then kills it.
// Nothing here works under testing/synctest: Chromium runs on the real clock.
//
// # Caveats
//
//   - TMPDIR must be short: Chromium makes a socket under it, and a socket path over about
//     100 bytes (t.TempDir() under a long test name) makes it exit at start.
//   - Debian's /usr/bin/chromium is a shell script that adds flags of its own (from
//     /etc/chromium.d) and may print a shell warning to stderr before it execs Chromium;
//     descriptors 3 and 4 pass through it.
//   - Chromium writes D-Bus and other noise to stderr in a container; errors quote only its
//     last lines, without the D-Bus ones.
//   - The write of a command does not heed ctx: it blocks only if Chromium stops reading its
//     pipe, which Close (which kills) ends.
//   - A page lives until its Browser is closed; there is no Page.Close.
//   - Serve pages as text/html: a page whose Content-Type sniffs as text/plain (an HTML
//     fragment that does not start with a tag net/http knows) shows as source, and its script
//     never runs.
//   - Page.loadEventFired is the only navigation event waited for: a page that loads more
//     after its load event needs [Page.WaitFor].
package browser
