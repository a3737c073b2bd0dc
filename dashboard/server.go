package dashboard

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/tribusmq/tribus"
	"github.com/tribusmq/tribus/exchange"
	tlog "github.com/tribusmq/tribus/log"
)

//go:embed assets
var assets embed.FS

// DefaultHistory is how many recent trace events a new timeline gets first when
// [Options.History] is 0.
const DefaultHistory = 2000

// subscriberBuffer is how many live events a timeline stream may fall behind by before it
// loses them (and is told how many, in the next event's "lost").
const subscriberBuffer = 1024

// heartbeat is how often an idle timeline stream gets a comment, so that proxies and the
// browser keep it open.
const heartbeat = 15 * time.Second

// ErrActionsOff is what an action request gets on a server without [Options.AllowActions].
var ErrActionsOff = errors.New("tribus/dashboard: actions are off (serve with --allow-actions)")

// Options configures a [Server]. The zero value (and nil) is read-only, with DefaultHistory.
type Options struct {
	// AllowActions turns on the requests that change the broker: purging and deleting a
	// queue, resetting a group's offsets. Off, they answer 403 with ErrActionsOff.
	AllowActions bool
	// History is how many recent trace events the server keeps for a timeline that connects
	// later: 0 means DefaultHistory, negative keeps none.
	History int
}

// Server is the dashboard of one broker: the web page, its JSON API and the live timeline.
// It is an http.Handler; mount it at the root of a server of its own (the page uses absolute
// paths). It never changes the broker unless Options.AllowActions.
type Server struct {
	b       *tribus.Broker
	actions bool
	mux     *http.ServeMux
	trace   bool // the broker's trace is on: the timeline has something to show
	stop    context.CancelFunc
	done    chan struct{} // closed when the trace reader has ended

	mu     sync.Mutex // guards ring, subs and closed
	ring   []tribus.TraceEvent
	next   int // where the next event goes in ring, once it is full
	subs   map[*subscriber]struct{}
	closed bool
}

// subscriber is one timeline stream's queue of live events.
type subscriber struct {
	ch   chan tribus.TraceEvent
	lost uint64 // events that did not fit in ch; reported with the next one (guarded by Server.mu)
}

// New returns the dashboard of b. On a broker opened with Options.Trace it reads the trace
// from now on, keeping the last Options.History events for timelines that connect later;
// Close stops it. opts may be nil.
func New(b *tribus.Broker, opts *Options) *Server {
	var o Options
	if opts != nil {
		o = *opts
	}
	history := o.History
	if history == 0 {
		history = DefaultHistory
	}
	ctx, stop := context.WithCancel(context.Background())
	s := &Server{b: b, actions: o.AllowActions, mux: http.NewServeMux(), stop: stop,
		done: make(chan struct{}), subs: make(map[*subscriber]struct{}), ring: make([]tribus.TraceEvent, 0, max(history, 0))}
	s.trace = b.Tracing()
	events := b.Trace(ctx) // reading from now on, before New returns
	go s.read(events)
	s.routes()
	return s
}

// ServeHTTP serves the page, the API and the timeline.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Close stops reading the trace and ends every timeline stream. It does not close the
// broker. It is idempotent. Call it before an http.Server's Shutdown (or an httptest.Server's
// Close), which wait for open requests: a timeline stream ends only with its client, Close, or
// the broker's Close.
func (s *Server) Close() error {
	s.stop()
	<-s.done
	return nil
}

func (s *Server) routes() {
	static, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // the embedded directory is part of the binary
	}
	files := http.FileServerFS(static)
	s.mux.Handle("GET /{$}", files)
	s.mux.Handle("GET /app.js", files)
	s.mux.Handle("GET /style.css", files)
	s.mux.HandleFunc("GET /api/config", s.config)
	s.mux.HandleFunc("GET /api/snapshot", s.snapshot)
	s.mux.HandleFunc("GET /api/{section}", s.section)
	s.mux.HandleFunc("GET /api/trace", s.timeline)
	s.mux.HandleFunc("POST /api/queues/{name}/purge", s.action(s.purge))
	s.mux.HandleFunc("DELETE /api/queues/{name}", s.action(s.deleteQueue))
	s.mux.HandleFunc("POST /api/groups/{id}/reset-offsets", s.action(s.resetOffsets))
}

func (s *Server) config(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"version": tribus.Version, "trace": s.trace, "actions": s.actions})
}

func (s *Server) snapshot(w http.ResponseWriter, _ *http.Request) {
	snap, err := s.b.Inspect()
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, snap)
}

// section serves one part of the snapshot: /api/queues, /api/topics...
func (s *Server) section(w http.ResponseWriter, r *http.Request) {
	snap, err := s.b.Inspect()
	if err != nil {
		writeError(w, err)
		return
	}
	parts := map[string]any{"exchanges": snap.Exchanges, "queues": snap.Queues, "bindings": snap.Bindings,
		"topics": snap.Topics, "groups": snap.Groups, "pubsub": snap.PubSub}
	part, ok := parts[r.PathValue("section")]
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("no section %q: exchanges, queues, bindings, topics, groups or pubsub", r.PathValue("section"))})
		return
	}
	writeJSON(w, http.StatusOK, part)
}

// action wraps a request that changes the broker: refused unless actions are on.
func (s *Server) action(h func(*http.Request) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.actions {
			writeJSON(w, http.StatusForbidden, map[string]string{"error": ErrActionsOff.Error()})
			return
		}
		out, err := h(r)
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, out)
	}
}

func (s *Server) purge(r *http.Request) (any, error) {
	sess, err := s.b.Router().NewSession()
	if err != nil {
		return nil, err
	}
	defer sess.Close()
	n, err := sess.QueuePurge(r.PathValue("name"))
	return map[string]int{"purged": n}, err
}

// deleteQueue deletes a queue with its messages. A queue that does not exist is a 404, as in
// RabbitMQ's management API (queue.delete itself is idempotent there).
func (s *Server) deleteQueue(r *http.Request) (any, error) {
	name := r.PathValue("name")
	if _, err := s.b.Router().QueueInfo(name); err != nil {
		return nil, err
	}
	n, err := s.b.Router().QueueDelete(name, false, false)
	return map[string]int{"deleted": n}, err
}

// resetOffsets moves a group without members to the earliest or latest offset of every
// partition it has committed, as kafka-consumer-groups --reset-offsets --all-topics does.
func (s *Server) resetOffsets(r *http.Request) (any, error) {
	id := r.PathValue("id")
	var spec int64
	switch to := r.URL.Query().Get("to"); to {
	case "earliest":
		spec = tlog.Earliest
	case "latest":
		spec = tlog.Latest
	default:
		return nil, fmt.Errorf("%w: to=%q: earliest or latest", errBadRequest, to)
	}
	l := s.b.Log()
	lags, err := l.GroupLag(id)
	if err != nil {
		return nil, err
	}
	tps := make([]tlog.TopicPartition, 0, len(lags))
	for tp := range lags {
		tps = append(tps, tp)
	}
	if err := l.ResetGroupOffsets(id, spec, time.Time{}, tps...); err != nil {
		return nil, err
	}
	return map[string]int{"partitions": len(tps)}, nil
}

var errBadRequest = errors.New("tribus/dashboard: bad request")

// writeError answers err with the status that fits it: 404 for what does not exist, 409 for
// a state that forbids the action, 400 for a bad request, 503 for a closed broker, 500 else.
func writeError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, exchange.ErrNotFound), errors.Is(err, tlog.ErrUnknownGroup), errors.Is(err, tlog.ErrUnknownTopic):
		status = http.StatusNotFound
	case errors.Is(err, tlog.ErrGroupNotEmpty), errors.Is(err, exchange.ErrResourceLocked), errors.Is(err, exchange.ErrPreconditionFailed):
		status = http.StatusConflict
	case errors.Is(err, errBadRequest), errors.Is(err, tlog.ErrInvalidGroupID):
		status = http.StatusBadRequest
	case errors.Is(err, tribus.ErrClosed):
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	_ = enc.Encode(v) // the client went away: nothing to do
}

// eventMatches reports whether e passes the timeline's filters: engine=, and queue=, topic=,
// group=, channel=, exchange= each equal to the event's field of that name.
func eventMatches(e tribus.TraceEvent, q map[string][]string) bool {
	if v := first(q["engine"]); v != "" && v != e.Engine.String() {
		return false
	}
	for _, name := range []string{"queue", "topic", "group", "channel", "exchange"} {
		want := first(q[name])
		if want == "" {
			continue
		}
		found := false
		for _, f := range e.Fields() {
			if f.Name == name && fmt.Sprint(f.Value) == want {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func first(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return strings.TrimSpace(vs[0])
}
