package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus"
	"github.com/tribusmq/tribus/dashboard"
	"github.com/tribusmq/tribus/exchange"
)

// inspect on the directory a durable demo left prints each engine's table: the queue the
// first story left a message in, the topics with their offsets, and the groups with the
// columns kafka-consumer-groups --describe prints.
func TestInspect_PrintsTheTablesOfADemoDirectory(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	require.Equal(t, 0, run(context.Background(), []string{"demo", "--dir", dir}, &out, &out), out.String())
	out.Reset()
	require.Equal(t, 0, run(context.Background(), []string{"inspect", "--dir", dir}, &out, &out), out.String())
	tables := out.String()
	for _, want := range []string{
		"EXCHANGE     TYPE     DURABLE",
		"orders       topic    yes",
		"QUEUE                     READY  UNACKED  CONSUMERS  DURABLE  EXCLUSIVE  DLX         ARGUMENTS\n" +
			"order_notifications       1      0        0          yes      no         orders.dlx  x-dead-letter-exchange=orders.dlx\n",
		"orders      order_notifications       queue  order.*",
		"more.retention  0          3          5        5            2",
		"GROUP            TOPIC          PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG  CONSUMER-ID\n" +
			"billing          orders         0          5               6               1    -\n",
		"CHANNEL/PATTERN  KIND  SUBSCRIBERS",
	} {
		assert.Contains(t, tables, want)
	}

	out.Reset()
	require.Equal(t, 0, run(context.Background(), []string{"inspect", "groups", "--dir", dir, "--json"}, &out, &out), out.String())
	var groups []tribus.GroupView
	require.NoError(t, json.Unmarshal(out.Bytes(), &groups), out.String())
	require.NotEmpty(t, groups)
	assert.Equal(t, "billing", groups[0].ID)
	assert.Equal(t, int64(1), groups[0].Lag)
}

// A directory a broker holds is refused with a clear message pointing at --addr, and --addr
// asks a serving broker's dashboard instead.
func TestInspect_AHeldDirectoryIsRefusedAndAddrAsksTheServer(t *testing.T) {
	dir := t.TempDir()
	b, err := tribus.Open(dir, nil)
	require.NoError(t, err)
	defer b.Close()
	_, err = b.Router().QueueDeclare("live", exchange.QueueOptions{Durable: true})
	require.NoError(t, err)

	var out, errOut bytes.Buffer
	assert.Equal(t, 1, run(context.Background(), []string{"inspect", "--dir", dir}, &out, &errOut))
	assert.Contains(t, errOut.String(), "another process holds it")
	assert.Contains(t, errOut.String(), "--addr")

	dash := dashboard.New(b, nil)
	defer dash.Close()
	srv := httptest.NewServer(dash)
	defer srv.Close()
	addr := srv.Listener.Addr().(*net.TCPAddr).String()
	out.Reset()
	require.Equal(t, 0, run(context.Background(), []string{"inspect", "queues", "--addr", addr}, &out, &errOut), errOut.String())
	assert.True(t, strings.HasPrefix(out.String(), "QUEUE"), out.String())
	assert.Contains(t, out.String(), "live   0      0        0          yes")
}

func TestInspect_UsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{"inspect"}, "give --dir DIR or --addr ADDR"},
		{[]string{"inspect", "--dir", "a", "--addr", "b"}, "give --dir DIR or --addr ADDR"},
		{[]string{"inspect", "nope", "--dir", "a"}, `unknown section "nope"`},
	} {
		var out, errOut bytes.Buffer
		assert.Equal(t, 2, run(context.Background(), tc.args, &out, &errOut), tc.args)
		assert.Contains(t, errOut.String(), tc.err)
	}
	var out, errOut bytes.Buffer
	assert.Equal(t, 1, run(context.Background(), []string{"inspect", "--dir", t.TempDir()}, &out, &errOut))
	assert.Contains(t, errOut.String(), "not a tribus directory")
}
