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
