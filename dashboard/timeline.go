package dashboard

import (
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"time"

	"github.com/tribusmq/tribus"
)

// read keeps the broker's trace: each event goes into the history ring and to every timeline
// stream, which never slows it (a full stream loses the event, counted). It ends when the
// trace does: at Close, or when the broker closes.
func (s *Server) read(events iter.Seq2[tribus.TraceEvent, error]) {
	defer close(s.done)
	defer s.endStreams()
	for e, err := range events {
		if err != nil {
			return // the trace is off, or the broker is closed: nothing more will come
		}
		s.mu.Lock()
		s.remember(e)
		for sub := range s.subs {
			ev := e
			ev.Lost += sub.lost // what this stream missed since its last event
			select {
			case sub.ch <- ev:
				sub.lost = 0
			default:
				sub.lost++
			}
		}
		s.mu.Unlock()
	}
}

// remember puts e in the history ring, replacing the oldest once it is full. s.mu is held.
func (s *Server) remember(e tribus.TraceEvent) {
	switch {
	case cap(s.ring) == 0:
	case len(s.ring) < cap(s.ring):
		s.ring = append(s.ring, e)
	default:
		s.ring[s.next] = e
		s.next = (s.next + 1) % len(s.ring)
	}
}

// history returns the kept events, oldest first. s.mu is held.
func (s *Server) history() []tribus.TraceEvent {
	out := make([]tribus.TraceEvent, 0, len(s.ring))
	out = append(out, s.ring[s.next:]...)
	return append(out, s.ring[:s.next]...)
}

// endStreams ends every timeline stream, and refuses new ones.
func (s *Server) endStreams() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for sub := range s.subs {
		close(sub.ch)
	}
	clear(s.subs)
}

// timeline streams the trace as server-sent events: the kept history first, then live
// events, each as one JSON object (TraceEvent.MarshalJSON) with its Seq as the event id,
// filtered by the request's engine=, queue=, topic=, group=, channel= and exchange=.
func (s *Server) timeline(w http.ResponseWriter, r *http.Request) {
	if !s.trace {
		writeJSON(w, http.StatusConflict, map[string]string{"error": tribus.ErrTraceOff.Error()})
		return
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "the response cannot be streamed"})
		return
	}
	sub := &subscriber{ch: make(chan tribus.TraceEvent, subscriberBuffer)}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "the dashboard is closed"})
		return
	}
	past := s.history()
	s.subs[sub] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.subs, sub)
		s.mu.Unlock()
	}()

	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	filter := r.URL.Query()
	send := func(e tribus.TraceEvent) error {
		if !eventMatches(e, filter) {
			return nil
		}
		data, err := json.Marshal(e)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "id: %d\ndata: %s\n\n", e.Seq, data)
		return err
	}
	for _, e := range past {
		if send(e) != nil {
			return
		}
	}
	flusher.Flush()
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		select {
		case e, ok := <-sub.ch:
			if !ok || send(e) != nil {
				return
			}
			flusher.Flush()
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": still here\n\n"); err != nil {
				return
			}
			flusher.Flush()
		case <-r.Context().Done():
			return
		}
	}
}
