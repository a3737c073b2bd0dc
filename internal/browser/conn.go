package browser

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
)

// request is one CDP command as written to fd 3. SessionID routes it to an attached page
// (flat sessions); empty, it goes to the browser target.
type request struct {
	ID        int64  `json:"id"`
	Method    string `json:"method"`
	Params    any    `json:"params,omitempty"`
	SessionID string `json:"sessionId,omitempty"`
}

// message is anything Chromium writes to fd 4: a reply carries ID and Result or Error, an
// event carries Method and Params and no ID.
type message struct {
	ID        int64           `json:"id"`
	Method    string          `json:"method"`
	Params    json.RawMessage `json:"params"`
	SessionID string          `json:"sessionId"`
	Result    json.RawMessage `json:"result"`
	Error     *struct {
		Code    int             `json:"code"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"` // a string from Chromium, but any JSON would do
	} `json:"error"`
}

// delivery is what the reader hands a waiting caller: a reply or an event's params, or why
// neither will come.
type delivery struct {
	msg *message
	err error
}

// pending is a caller waiting for the reply to one command.
type pending struct {
	session string
	ch      chan delivery // buffered 1; the reader sends at most once
}

// eventWait is a caller waiting for one event of one session. The reader never blocks on
// ch, so a second matching event is dropped.
type eventWait struct {
	session, method string
	ch              chan delivery // buffered 1
}

// conn is one CDP connection over Chromium's pipe pair. Any goroutine may call; the reader
// goroutine (read) owns r and routes each message to the caller waiting for it.
type conn struct {
	w      *os.File      // fd 3's write end: Chromium reads commands from it
	r      *os.File      // fd 4's read end: read only by the reader goroutine
	done   chan struct{} // closed when the reader goroutine has returned
	stderr *tail         // Chromium's stderr, quoted by ErrExited errors

	closing atomic.Bool // Browser.Close has begun: public calls return ErrClosed

	writeMu sync.Mutex // serialises writes to w, so that two commands never interleave

	mu      sync.Mutex // protects the fields below
	nextID  int64
	replies map[int64]*pending // by request ID, until the reply or the caller gives up
	waits   map[*eventWait]struct{}
	gone    map[string]error // sessions whose page crashed or detached: why (ErrPageGone)
	cause   error            // why the reader stopped; set once, before done is closed
}

func newConn(w, r *os.File, stderr *tail) *conn {
	return &conn{
		w:       w,
		r:       r,
		done:    make(chan struct{}),
		stderr:  stderr,
		replies: make(map[int64]*pending),
		waits:   make(map[*eventWait]struct{}),
		gone:    make(map[string]error),
	}
}

// read is the reader goroutine: it splits fd 4 on NUL bytes, decodes each message and routes
// it, until the pipe ends or a message does not decode.
func (c *conn) read() {
	defer close(c.done)
	br := bufio.NewReaderSize(c.r, 64<<10)
	for {
		frame, err := br.ReadBytes(0)
		if err != nil {
			c.stop(fmt.Errorf("reading its pipe: %w", err))
			return
		}
		var m message
		if err := json.Unmarshal(frame[:len(frame)-1], &m); err != nil {
			c.stop(fmt.Errorf("undecodable message %.200q: %w", frame, err))
			return
		}
		c.route(&m)
	}
}

// stop records why the reader stops.
func (c *conn) stop(cause error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cause = cause
}

// route hands a reply to its caller and an event to the callers waiting for it; anything
// else (a reply nobody waits for any more, an unwanted event) is dropped. A page that crashes
// or detaches would never answer again, so its callers are told at once.
func (c *conn) route(m *message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if m.ID != 0 {
		if p, ok := c.replies[m.ID]; ok {
			delete(c.replies, m.ID)
			p.ch <- delivery{msg: m}
		}
		return
	}
	switch m.Method {
	case "Inspector.targetCrashed":
		c.markGone(m.SessionID, "its renderer crashed")
	case "Inspector.detached":
		var p struct {
			Reason string `json:"reason"`
		}
		_ = json.Unmarshal(m.Params, &p) // the reason is only quoted
		c.markGone(m.SessionID, "detached: "+p.Reason)
	case "Target.detachedFromTarget":
		var p struct {
			SessionID string `json:"sessionId"`
		}
		if json.Unmarshal(m.Params, &p) == nil {
			c.markGone(p.SessionID, "detached")
		}
	}
	for w := range c.waits {
		if w.session == m.SessionID && w.method == m.Method {
			select {
			case w.ch <- delivery{msg: m}:
			default:
			}
		}
	}
}

// markGone records that session's page will answer no more, and fails its waiting callers.
// c.mu is held.
func (c *conn) markGone(session, reason string) {
	if session == "" || c.gone[session] != nil {
		return
	}
	err := fmt.Errorf("%w: %s", ErrPageGone, reason)
	c.gone[session] = err
	for id, p := range c.replies {
		if p.session == session {
			delete(c.replies, id)
			p.ch <- delivery{err: err}
		}
	}
	for w := range c.waits {
		if w.session == session {
			select {
			case w.ch <- delivery{err: err}:
			default:
			}
		}
	}
}

// failure is the error for a call of method that found the connection gone: ErrClosed
// during Close, else ErrExited with cause (nil: the reader's) and Chromium's last words.
func (c *conn) failure(method string, cause error) error {
	if c.closing.Load() {
		return fmt.Errorf("%w: %s", ErrClosed, method)
	}
	if cause == nil {
		c.mu.Lock()
		cause = c.cause
		c.mu.Unlock()
	}
	return fmt.Errorf("%w: %s: %w%s", ErrExited, method, cause, c.stderr.quote())
}

// call sends method to session ("" for the browser) and waits for the reply, which it
// decodes into result unless result is nil. It returns when the reply comes, when the
// connection ends or when ctx does; only the write of the command itself does not heed ctx.
func (c *conn) call(ctx context.Context, session, method string, params, result any) error {
	if c.closing.Load() {
		return fmt.Errorf("%w: %s", ErrClosed, method)
	}
	return c.roundTrip(ctx, session, method, params, result)
}

// roundTrip is call without the closing check, for Close's own Browser.close.
func (c *conn) roundTrip(ctx context.Context, session, method string, params, result any) error {
	select {
	case <-c.done:
		return c.failure(method, nil)
	default:
	}
	p := &pending{session: session, ch: make(chan delivery, 1)}
	c.mu.Lock()
	if err := c.gone[session]; err != nil {
		c.mu.Unlock()
		return fmt.Errorf("%w (calling %s)", err, method)
	}
	c.nextID++
	id := c.nextID
	c.replies[id] = p
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.replies, id)
		c.mu.Unlock()
	}()

	frame, err := json.Marshal(request{ID: id, Method: method, Params: params, SessionID: session})
	if err != nil {
		return fmt.Errorf("tribus/browser: %s: encoding the command: %w", method, err)
	}
	if err := c.write(append(frame, 0)); err != nil {
		return c.failure(method, fmt.Errorf("writing the command: %w", err))
	}

	var d delivery
	select {
	case d = <-p.ch:
	case <-c.done:
		select {
		case d = <-p.ch: // it came just before the pipe ended
		default:
			return c.failure(method, nil)
		}
	case <-ctx.Done():
		return fmt.Errorf("tribus/browser: %s: %w", method, context.Cause(ctx))
	}
	if d.err != nil {
		return fmt.Errorf("%w (calling %s)", d.err, method)
	}
	m := d.msg
	if m.Error != nil {
		e := &ProtocolError{Method: method, Code: m.Error.Code, Message: m.Error.Message}
		if json.Unmarshal(m.Error.Data, &e.Data) != nil {
			e.Data = string(m.Error.Data)
		}
		return e
	}
	if result != nil {
		if err := json.Unmarshal(m.Result, result); err != nil {
			return fmt.Errorf("tribus/browser: %s: decoding the reply %.200q: %w", method, m.Result, err)
		}
	}
	return nil
}

// write writes one NUL-terminated command. A partial write leaves the stream unframed, but
// it only happens when Chromium has gone, and then every later call fails anyway.
func (c *conn) write(frame []byte) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	_, err := c.w.Write(frame)
	return err
}

// subscribe starts keeping the next event method of session; call it before the command
// that causes the event, and unsubscribe when done. A page already gone is not checked here:
// the command sent next fails.
func (c *conn) subscribe(session, method string) *eventWait {
	w := &eventWait{session: session, method: method, ch: make(chan delivery, 1)}
	c.mu.Lock()
	c.waits[w] = struct{}{}
	c.mu.Unlock()
	return w
}

func (c *conn) unsubscribe(w *eventWait) {
	c.mu.Lock()
	delete(c.waits, w)
	c.mu.Unlock()
}

// await waits for w's event, the end of its page or of the connection, or ctx.
func (c *conn) await(ctx context.Context, w *eventWait) (json.RawMessage, error) {
	select {
	case d := <-w.ch:
		if d.err != nil {
			return nil, fmt.Errorf("%w (waiting for %s)", d.err, w.method)
		}
		return d.msg.Params, nil
	case <-c.done:
		return nil, c.failure("waiting for "+w.method, nil)
	case <-ctx.Done():
		return nil, fmt.Errorf("tribus/browser: waiting for %s: %w", w.method, context.Cause(ctx))
	}
}

// isFinal reports whether err says the page or the connection has ended, so that retrying
// is pointless.
func isFinal(err error) bool {
	return errors.Is(err, ErrClosed) || errors.Is(err, ErrExited) || errors.Is(err, ErrPageGone)
}
