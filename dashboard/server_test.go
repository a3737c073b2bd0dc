package dashboard_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus"
	"github.com/tribusmq/tribus/dashboard"
	"github.com/tribusmq/tribus/exchange"
	tlog "github.com/tribusmq/tribus/log"
)

// serve opens a traced in-memory broker and its dashboard behind an httptest server.
func serve(t *testing.T, o *dashboard.Options) (*tribus.Broker, *httptest.Server) {
	t.Helper()
	b, err := tribus.Open("", &tribus.Options{Trace: true})
	require.NoError(t, err)
	d := dashboard.New(b, o)
	srv := httptest.NewServer(d)
	t.Cleanup(func() {
		d.Close() // first: it ends the timeline streams, which srv.Close waits for
		srv.Close()
		b.Close()
	})
	return b, srv
}

// call makes a request and decodes its JSON answer into out (when not nil).
func call(t *testing.T, method, url string, out any) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	if out != nil {
		require.NoError(t, json.NewDecoder(resp.Body).Decode(out))
	}
	return resp.StatusCode
}

// The page and its assets are served from the binary, and the API serves the snapshot whole
// and by section.
func TestServer_ServesThePageAndTheSnapshot(t *testing.T) {
	b, srv := serve(t, nil)
	_, err := b.Router().QueueDeclare("jobs", exchange.QueueOptions{})
	require.NoError(t, err)
	require.NoError(t, b.Router().Publish(t.Context(), "", "jobs", false, exchange.Publishing{}))

	for _, path := range []string{"/", "/app.js", "/style.css"} {
		resp, err := http.Get(srv.URL + path)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, path)
		assert.NotEmpty(t, body, path)
	}
	var cfg struct {
		Trace, Actions bool
		Version        string
	}
	require.Equal(t, http.StatusOK, call(t, "GET", srv.URL+"/api/config", &cfg))
	assert.True(t, cfg.Trace)
	assert.False(t, cfg.Actions)
	assert.Equal(t, tribus.Version, cfg.Version)

	var snap tribus.Snapshot
	require.Equal(t, http.StatusOK, call(t, "GET", srv.URL+"/api/snapshot", &snap))
	require.Len(t, snap.Queues, 1)
	assert.Equal(t, 1, snap.Queues[0].Ready)
	var queues []tribus.QueueView
	require.Equal(t, http.StatusOK, call(t, "GET", srv.URL+"/api/queues", &queues))
	assert.Equal(t, snap.Queues[0].Name, queues[0].Name)
	var e struct{ Error string }
	assert.Equal(t, http.StatusNotFound, call(t, "GET", srv.URL+"/api/nope", &e))
	assert.Contains(t, e.Error, `no section "nope"`)
}

// Actions are refused unless the server allows them; allowed, they purge and delete a queue
// and reset the offsets of a group with no members, and refuse one with members (409).
func TestServer_ActionsOnlyWhenAllowed(t *testing.T) {
	_, ro := serve(t, nil)
	var e struct{ Error string }
	assert.Equal(t, http.StatusForbidden, call(t, "POST", ro.URL+"/api/queues/jobs/purge", &e))
	assert.Contains(t, e.Error, dashboard.ErrActionsOff.Error())

	b, srv := serve(t, &dashboard.Options{AllowActions: true})
	_, err := b.Router().QueueDeclare("jobs", exchange.QueueOptions{})
	require.NoError(t, err)
	for range 2 {
		require.NoError(t, b.Router().Publish(t.Context(), "", "jobs", false, exchange.Publishing{}))
	}
	var purged struct{ Purged int }
	require.Equal(t, http.StatusOK, call(t, "POST", srv.URL+"/api/queues/jobs/purge", &purged))
	assert.Equal(t, 2, purged.Purged)
	require.Equal(t, http.StatusOK, call(t, "DELETE", srv.URL+"/api/queues/jobs", nil))
	assert.Equal(t, http.StatusNotFound, call(t, "DELETE", srv.URL+"/api/queues/jobs", &e))

	l := b.Log()
	require.NoError(t, l.CreateTopic("t", tlog.TopicConfig{}))
	for range 3 {
		_, err := l.Produce(t.Context(), "t", tlog.Record{Value: []byte("r")})
		require.NoError(t, err)
	}
	c, err := l.NewGroupConsumer(tlog.GroupConsumerOptions{GroupID: "g", Topics: []string{"t"}, Reset: tlog.ResetEarliest})
	require.NoError(t, err)
	_, err = c.Poll(t.Context())
	require.NoError(t, err)
	require.NoError(t, c.Commit(t.Context()))
	assert.Equal(t, http.StatusConflict, call(t, "POST", srv.URL+"/api/groups/g/reset-offsets?to=earliest", &e), "a member is there")
	require.NoError(t, c.Close())
	require.Equal(t, http.StatusOK, call(t, "POST", srv.URL+"/api/groups/g/reset-offsets?to=earliest", nil))
	lag, err := l.GroupLag("g")
	require.NoError(t, err)
	assert.Equal(t, int64(0), lag[tlog.TopicPartition{Topic: "t"}].Committed)
	assert.Equal(t, http.StatusBadRequest, call(t, "POST", srv.URL+"/api/groups/g/reset-offsets?to=yesterday", &e))
}

// timelineEvents reads n events of the server-sent stream at url.
func timelineEvents(t *testing.T, url string, n int, during func()) []map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	if during != nil {
		during()
	}
	var out []map[string]any
	sc := bufio.NewScanner(resp.Body)
	for len(out) < n && sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var e map[string]any
		require.NoError(t, json.Unmarshal([]byte(data), &e))
		out = append(out, e)
	}
	require.Len(t, out, n, "the stream ended: %v", sc.Err())
	return out
}

// The timeline stream replays the events the server kept, then goes on live, filtered by the
// request's parameters.
func TestServer_TimelineReplaysThenStreamsLive(t *testing.T) {
	b, srv := serve(t, nil)
	b.Hub().Publish("before", nil)
	got := timelineEvents(t, srv.URL+"/api/trace", 2, func() { b.Hub().Publish("after", nil) })
	assert.Equal(t, "before", got[0]["channel"])
	assert.Equal(t, "after", got[1]["channel"])
	assert.Equal(t, "published", got[1]["kind"])

	got = timelineEvents(t, srv.URL+"/api/trace?engine=pubsub&channel=after", 1, nil)
	assert.Equal(t, "after", got[0]["channel"])
}

// Without the broker's trace the timeline says so (409) and the rest still works.
func TestServer_TimelineNeedsTheTrace(t *testing.T) {
	b, err := tribus.Open("", nil)
	require.NoError(t, err)
	defer b.Close()
	d := dashboard.New(b, nil)
	defer d.Close()
	srv := httptest.NewServer(d)
	defer srv.Close()
	var e struct{ Error string }
	assert.Equal(t, http.StatusConflict, call(t, "GET", srv.URL+"/api/trace", &e))
	assert.Contains(t, e.Error, tribus.ErrTraceOff.Error())
	assert.Equal(t, http.StatusOK, call(t, "GET", srv.URL+"/api/snapshot", nil))
}
