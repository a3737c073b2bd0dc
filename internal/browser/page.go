package browser

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

const (
	// pollEvery is how often WaitFor evaluates its expression.
	pollEvery = 50 * time.Millisecond

	// abandonGrace bounds the closing of a target that NewPage gave up on.
	abandonGrace = 5 * time.Second
)

// Page is one browser tab, attached as a flat CDP session. It is safe for concurrent use;
// Chromium runs a page's commands in the order it receives them. A Page lives until its
// [Browser] is closed.
type Page struct {
	conn      *conn
	targetID  string
	sessionID string
}

// NewPage opens a tab, attaches to it, enables the Page and Runtime domains, navigates to url
// and returns once the page has fired its load event (scripts run, images loaded; timers the
// page set may still be pending). It returns an error if Chromium cannot reach url or ctx
// ends first; then the tab is closed again.
func (b *Browser) NewPage(ctx context.Context, url string) (*Page, error) {
	var target struct {
		TargetID string `json:"targetId"`
	}
	if err := b.conn.call(ctx, "", "Target.createTarget", map[string]any{"url": "about:blank"}, &target); err != nil {
		return nil, err
	}
	p, err := b.open(ctx, target.TargetID, url)
	if err != nil {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abandonGrace)
		defer cancel()
		// Best effort: the browser may be what failed.
		_ = b.conn.call(ctx, "", "Target.closeTarget", map[string]any{"targetId": target.TargetID}, nil)
		return nil, err
	}
	return p, nil
}

// open attaches to a fresh target and loads url in it.
func (b *Browser) open(ctx context.Context, targetID, url string) (*Page, error) {
	var attached struct {
		SessionID string `json:"sessionId"`
	}
	params := map[string]any{"targetId": targetID, "flatten": true}
	if err := b.conn.call(ctx, "", "Target.attachToTarget", params, &attached); err != nil {
		return nil, err
	}
	p := &Page{conn: b.conn, targetID: targetID, sessionID: attached.SessionID}
	for _, method := range []string{"Page.enable", "Runtime.enable"} {
		if err := p.call(ctx, method, nil, nil); err != nil {
			return nil, err
		}
	}

	// Subscribed before navigating, so that the event cannot slip past.
	load := b.conn.subscribe(p.sessionID, "Page.loadEventFired")
	defer b.conn.unsubscribe(load)
	var nav struct {
		ErrorText string `json:"errorText"`
	}
	if err := p.call(ctx, "Page.navigate", map[string]any{"url": url}, &nav); err != nil {
		return nil, err
	}
	if nav.ErrorText != "" {
		return nil, fmt.Errorf("tribus/browser: navigating to %s: %s", url, nav.ErrorText)
	}
	if _, err := b.conn.await(ctx, load); err != nil {
		return nil, fmt.Errorf("%w (loading %s)", err, url)
	}
	return p, nil
}

func (p *Page) call(ctx context.Context, method string, params, result any) error {
	return p.conn.call(ctx, p.sessionID, method, params, result)
}

// remoteObject is the part of CDP's Runtime.RemoteObject that Eval reads.
type remoteObject struct {
	Type                string          `json:"type"`
	Value               json.RawMessage `json:"value"`
	UnserializableValue string          `json:"unserializableValue"`
	Description         string          `json:"description"`
}

// Eval evaluates the JavaScript expression expr in the page's main frame, awaits the promise
// it returns if any, and returns the value as JSON, which the caller owns. undefined comes
// back as null. A value JSON cannot carry (NaN, Infinity, -0, a BigInt) is an error, as is a
// thrown exception or a rejected promise, which matches [ErrException] and quotes the
// exception's text and description. Eval blocks until Chromium answers or ctx ends.
func (p *Page) Eval(ctx context.Context, expr string) (json.RawMessage, error) {
	params := map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true}
	var reply struct {
		Result           remoteObject `json:"result"`
		ExceptionDetails *struct {
			Text      string        `json:"text"`
			Exception *remoteObject `json:"exception"`
		} `json:"exceptionDetails"`
	}
	if err := p.call(ctx, "Runtime.evaluate", params, &reply); err != nil {
		return nil, err
	}
	if ex := reply.ExceptionDetails; ex != nil {
		what := ""
		if o := ex.Exception; o != nil {
			what = o.Description
			if what == "" {
				what = string(o.Value) // a thrown primitive: throw "no"
			}
		}
		return nil, fmt.Errorf("%w: evaluating %q: %s %s", ErrException, expr, ex.Text, what)
	}
	r := reply.Result
	switch {
	case r.UnserializableValue != "":
		return nil, fmt.Errorf("tribus/browser: evaluating %q: %s has no JSON form", expr, r.UnserializableValue)
	case r.Type == "undefined" || len(r.Value) == 0:
		return json.RawMessage("null"), nil
	}
	return r.Value, nil
}

// WaitFor evaluates expr, a boolean JavaScript expression, at once and then every 50 ms,
// until it yields true; any other value, or an exception, means "not yet". It returns nil
// when expr is true, and an error when ctx ends first, which names expr and quotes its last
// value or error; it returns sooner if the page or the browser is gone. ctx decides the deadline:
// without one WaitFor waits as long as ctx lives.
func (p *Page) WaitFor(ctx context.Context, expr string) error {
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	last := "nothing yet"
	for {
		v, err := p.Eval(ctx, expr)
		switch {
		case err == nil && string(v) == "true":
			return nil
		case err == nil:
			last = "value " + string(v)
		case isFinal(err):
			return fmt.Errorf("%w (waiting for %s)", err, expr)
		case ctx.Err() == nil: // an interrupted Eval says nothing about expr
			last = "error " + err.Error()
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("tribus/browser: waiting for %s: %w; last %s", expr, context.Cause(ctx), last)
		}
	}
}

// Screenshot returns a PNG of the page's viewport (1280×900 CSS pixels unless the page
// changed it), which the caller owns. It blocks until Chromium has rendered it or ctx ends.
func (p *Page) Screenshot(ctx context.Context) ([]byte, error) {
	var shot struct {
		Data string `json:"data"`
	}
	if err := p.call(ctx, "Page.captureScreenshot", map[string]any{"format": "png"}, &shot); err != nil {
		return nil, err
	}
	png, err := base64.StdEncoding.DecodeString(shot.Data)
	if err != nil {
		return nil, fmt.Errorf("tribus/browser: Page.captureScreenshot: decoding the image: %w", err)
	}
	if len(png) == 0 {
		return nil, errors.New("tribus/browser: Page.captureScreenshot: empty image")
	}
	return png, nil
}
