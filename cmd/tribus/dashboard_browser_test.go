package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus"
	"github.com/tribusmq/tribus/dashboard"
	"github.com/tribusmq/tribus/internal/browser"
	tlog "github.com/tribusmq/tribus/log"
)

// openBrowser starts headless Chromium for a test, or skips the test with a line saying why.
func openBrowser(t *testing.T, ctx context.Context) *browser.Browser {
	t.Helper()
	path, err := browser.Find()
	if err != nil {
		t.Skipf("headless Chromium is not installed (apt-get install chromium; .ci/run does): %v", err)
	}
	br, err := browser.Start(ctx, path)
	require.NoError(t, err)
	t.Cleanup(func() { br.Close() })
	return br
}

// dashboardFor serves b's dashboard on a loopback test server.
func dashboardFor(t *testing.T, b *tribus.Broker) string {
	t.Helper()
	d := dashboard.New(b, nil)
	srv := httptest.NewServer(d)
	t.Cleanup(func() {
		d.Close() // first: it ends the page's timeline stream, which srv.Close waits for
		srv.Close()
	})
	return srv.URL
}

// evalString evaluates js, a JavaScript expression of a string, on the page.
func evalString(t *testing.T, ctx context.Context, p *browser.Page, js string) string {
	t.Helper()
	raw, err := p.Eval(ctx, js)
	require.NoError(t, err)
	var s string
	require.NoError(t, json.Unmarshal(raw, &s))
	return s
}

// text returns the text of the element selector matches, "" when there is none.
func text(t *testing.T, ctx context.Context, p *browser.Page, selector string) string {
	t.Helper()
	return evalString(t, ctx, p, fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ""`, selector))
}

// attr returns the attribute name of the element selector matches, "" when there is none.
func attr(t *testing.T, ctx context.Context, p *browser.Page, selector, name string) string {
	t.Helper()
	return evalString(t, ctx, p, fmt.Sprintf(`(document.querySelector(%q) || {getAttribute: () => ""}).getAttribute(%q) || ""`, selector, name))
}

// browserTest starts a browser and a traced in-memory broker for a test of a minute at most.
func browserTest(t *testing.T) (context.Context, *browser.Browser, *tribus.Broker) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	t.Cleanup(cancel)
	br := openBrowser(t, ctx)
	b, err := tribus.Open("", &tribus.Options{Trace: true})
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	return ctx, br, b
}

// The dashboard, loaded in a real browser against a broker that ran the hybrid scenario,
// shows what the engines hold: the billing queue's depth, the topic's end offset, and the
// members of a group reading it, and its timeline has the scenario's events. Screenshots go
// to the test's artifacts (go test -artifacts keeps them).
func TestDashboard_ShowsTheEnginesStateInABrowser(t *testing.T) {
	ctx, br, b := browserTest(t)
	url := dashboardFor(t, b) // before the scenario, so that its timeline keeps the scenario's events
	require.NoError(t, demoHybrid(ctx, io.Discard, b))
	watcher, err := b.Log().NewGroupConsumer(tlog.GroupConsumerOptions{GroupID: "watchers", Topics: []string{hybridTopic}, Reset: tlog.ResetEarliest})
	require.NoError(t, err)
	defer watcher.Close()
	_, err = watcher.Poll(ctx)
	require.NoError(t, err)

	page, err := br.NewPage(ctx, url+"/")
	require.NoError(t, err)
	require.NoError(t, page.WaitFor(ctx, `document.body.dataset.ready === "true"`))
	require.NoError(t, page.WaitFor(ctx, `document.querySelector('#timeline li[data-kind="committed"][data-group="`+hybridGroup+`"]') !== null`),
		"the timeline shows the bridge committing its offsets")

	billing, err := b.Router().QueueInfo(hybridBilling)
	require.NoError(t, err)
	assert.Equal(t, strconv.Itoa(billing.Ready), text(t, ctx, page, `[data-queue="`+hybridBilling+`"] [data-field="ready"]`))
	topic, err := b.Log().DescribeTopic(hybridTopic)
	require.NoError(t, err)
	assert.Equal(t, strconv.FormatInt(topic.Partitions[0].EndOffset, 10),
		text(t, ctx, page, `[data-topic="`+hybridTopic+`"][data-partition="0"] [data-field="end"]`))
	group, err := b.Log().DescribeGroup("watchers")
	require.NoError(t, err)
	require.Len(t, group.Members, 1)
	assert.Equal(t, group.Members[0].MemberID, attr(t, ctx, page, `[data-group="watchers"] [data-member]`, "data-member"))
	assert.Equal(t, string(group.State), text(t, ctx, page, `[data-group="watchers"] [data-field="state"]`))

	screenshot(t, ctx, page, "dashboard-hybrid.png")
	_, err = page.Eval(ctx, `document.getElementById("timeline").scrollIntoView()`)
	require.NoError(t, err)
	screenshot(t, ctx, page, "dashboard-hybrid-timeline.png")
}

// screenshot saves what the page shows now under the test's artifacts (go test -artifacts
// -outputdir DIR keeps them).
func screenshot(t *testing.T, ctx context.Context, p *browser.Page, name string) {
	t.Helper()
	png, err := p.Screenshot(ctx)
	require.NoError(t, err)
	path := filepath.Join(t.ArtifactDir(), name)
	require.NoError(t, os.WriteFile(path, png, 0o644))
	t.Logf("screenshot: %s (%d bytes)", path, len(png))
}

// The timeline gets a rebalance live: a page already open shows the rebalancing event of a
// group rebalanced after it loaded.
func TestDashboard_TimelineShowsARebalanceLive(t *testing.T) {
	ctx, br, b := browserTest(t)
	l := b.Log()
	require.NoError(t, l.CreateTopic("live", tlog.TopicConfig{Partitions: 2}))
	c, err := l.NewGroupConsumer(tlog.GroupConsumerOptions{GroupID: "live-group", Topics: []string{"live"}})
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Poll(ctx)
	require.NoError(t, err)

	page, err := br.NewPage(ctx, dashboardFor(t, b)+"/")
	require.NoError(t, err)
	require.NoError(t, page.WaitFor(ctx, `document.body.dataset.ready === "true"`))
	const rebalances = `document.querySelectorAll('#timeline li[data-kind="rebalancing"][data-group="live-group"]').length`
	raw, err := page.Eval(ctx, rebalances)
	require.NoError(t, err)
	var before int
	require.NoError(t, json.Unmarshal(raw, &before))

	require.NoError(t, l.RebalanceGroup("live-group"))
	require.NoError(t, page.WaitFor(ctx, fmt.Sprintf(`%s > %d`, rebalances, before)))
}
