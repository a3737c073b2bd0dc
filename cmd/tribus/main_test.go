package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRun_Commands(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		code     int
		out, err string
	}{
		{args: []string{"demo"}, code: 0, out: "-> 0 receivers"},
		{args: []string{"version"}, code: 0, out: "tribus "},
		{args: []string{"help"}, code: 0, out: "Usage:"},
		{args: nil, code: 2, err: "Usage:"},
		{args: []string{"nope"}, code: 2, err: `unknown command "nope"`},
		{args: []string{"demo", "extra"}, code: 2, err: "unexpected argument"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			assert.Equal(t, tc.code, run(context.Background(), tc.args, &out, &errOut))
			assert.Contains(t, out.String(), tc.out)
			assert.Contains(t, errOut.String(), tc.err)
		})
	}
}

func TestDemo_ExchangeStory(t *testing.T) {
	var out bytes.Buffer
	assert.Equal(t, 0, run(context.Background(), []string{"demo"}, &out, &out))
	for _, want := range []string{
		"confirm #1 ack=true",
		"notify USR-456 about ORD-123 (1 items): ack",
		"ORD-124 has a negative total: nack",
		"x-death queue=order_notifications reason=rejected count=1 exchange=orders routing-keys=[order.created]",
		"order_notifications: 0 ready, 0 unacked, 2 delivered, 1 acked, 1 dead-lettered",
	} {
		assert.Contains(t, out.String(), want)
	}
}

func TestDemo_LogStory(t *testing.T) {
	var out bytes.Buffer
	assert.Equal(t, 0, run(context.Background(), []string{"demo"}, &out, &out))
	for _, want := range []string{
		`topic "orders": 3 partitions, retention 168h0m0s, cleanup.policy delete`,
		"produce key=ORD-123 order.created -> partition",
		"a second reader replays the same events",
		"analytics seeks partition",
	} {
		assert.Contains(t, out.String(), want)
	}
}

func TestDemo_PubSubStory(t *testing.T) {
	var out bytes.Buffer
	assert.Equal(t, 0, run(context.Background(), []string{"demo"}, &out, &out))
	for _, want := range []string{
		"-> 3 receivers",
		"audit  (pattern order:*): Order ORD-123 is now shipped",
		"-> 1 receiver\n",
		"mobile missed it",
		"-> 0 receivers",
		"has 0 messages waiting",
	} {
		assert.Contains(t, out.String(), want)
	}
}

func TestDemo_DirKeepsWhatWasLeftUnacked(t *testing.T) {
	dir := t.TempDir()
	var first, second bytes.Buffer
	assert.Equal(t, 0, run(context.Background(), []string{"demo", "--dir", dir}, &first, &first))
	assert.Contains(t, first.String(), "ORD-125 received and not acked")
	assert.NotContains(t, first.String(), "earlier run")
	assert.Equal(t, 0, run(context.Background(), []string{"demo", "--dir", dir}, &second, &second))
	assert.Contains(t, second.String(), "found 1 message(s) an earlier run left unacked:\n  ORD-125 (redelivered=true): ack")
	var errOut bytes.Buffer
	assert.Equal(t, 2, run(context.Background(), []string{"demo", "--bogus"}, &errOut, &errOut))
}
