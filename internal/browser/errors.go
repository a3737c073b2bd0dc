package browser

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tribusmq/tribus/internal/sentinel"
)

var (
	// ErrNoBrowser is returned by [Find] when no Chromium binary is installed: neither
	// /usr/bin/chromium nor chromium, chromium-browser or google-chrome on PATH.
	ErrNoBrowser = errors.New("tribus/browser: no Chromium binary found")

	// ErrClosed is returned by every call on a [Browser], or on one of its pages, once
	// [Browser.Close] has begun. errors.Is(err, tribus.ErrClosed) holds for it.
	ErrClosed = fmt.Errorf("tribus/browser: %w", sentinel.ErrClosed)

	// ErrExited is returned by every call once Chromium has ended or broken its pipe without
	// being closed (a crash, a kill, an undecodable message). Its text quotes the end of
	// Chromium's stderr. The Browser is unusable after it; Close still has to be called.
	ErrExited = errors.New("tribus/browser: chromium exited")

	// ErrPageGone is returned by every call on a [Page] whose renderer crashed or whose tab
	// Chromium closed: such a page never answers again. Calls in flight when it happens
	// return it too. The Browser and its other pages go on.
	ErrPageGone = errors.New("tribus/browser: page crashed or closed")

	// ErrException is returned by [Page.Eval] (and recorded by [Page.WaitFor]) when the
	// expression throws or the promise it returns rejects. Its text quotes the exception.
	ErrException = errors.New("tribus/browser: JavaScript exception")
)

// ProtocolError is a CDP error reply: Chromium refused a command, such as a call on a
// session that no longer exists.
type ProtocolError struct {
	Method  string // the CDP method called, such as "Page.navigate"
	Code    int    // the JSON-RPC error code, such as -32000
	Message string // Chromium's text
	Data    string // Chromium's extra detail, often empty
}

// Error names the method and quotes Chromium's reply.
func (e *ProtocolError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "tribus/browser: %s: %s (code %d)", e.Method, e.Message, e.Code)
	if e.Data != "" {
		fmt.Fprintf(&b, ": %s", e.Data)
	}
	return b.String()
}
