package resp_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The wire-only rules of SEMANTICS.md §3.3, checked byte for byte. Each expected reply is the
// one Redis 7.0.15 sent for the same bytes (the differential suite in interop/ sends them to
// both).

func TestSubscribed_R11_RESP2AllowsOnlyListedCommands(t *testing.T) {
	srv, _ := newServer(t, nil)
	c := dial(t, srv)
	c.do("SUBSCRIBE", "a")
	c.expect(frame('*', "subscribe", "a", 1))
	refused := "only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"PUBLISH", "a", "b"}, "-ERR Can't execute 'publish': " + refused},
		{[]string{"PUBSUB", "NUMSUB"}, "-ERR Can't execute 'pubsub|numsub': " + refused},
		{[]string{"ECHO", "x"}, "-ERR Can't execute 'echo': " + refused},
		{[]string{"SELECT", "1"}, "-ERR Can't execute 'select': " + refused},
		{[]string{"HELLO", "3"}, "-ERR Can't execute 'hello': " + refused},
		// Unknown commands and arity are checked first (§3.3b).
		{[]string{"NOSUCH", "x"}, "-ERR unknown command 'NOSUCH', with args beginning with: 'x' \r\n"},
		{[]string{"ECHO"}, "-ERR wrong number of arguments for 'echo' command\r\n"},
		// The allowed ones run.
		{[]string{"PSUBSCRIBE", "p*"}, frame('*', "psubscribe", "p*", 2)},
		{[]string{"SSUBSCRIBE", "s"}, frame('*', "ssubscribe", "s", 1)},
		{[]string{"PUNSUBSCRIBE", "p*"}, frame('*', "punsubscribe", "p*", 1)},
		{[]string{"SUNSUBSCRIBE", "s"}, frame('*', "sunsubscribe", "s", 0)},
	} {
		c.do(tc.args...)
		c.expect(tc.want)
	}
	c.do("UNSUBSCRIBE", "a")
	c.expect(frame('*', "unsubscribe", "a", 0))
	c.do("ECHO", "x")
	c.expect("$1\r\nx\r\n") // out of subscribed state, everything runs again
	// Reference: R11, §3.3b; https://redis.io/docs/latest/commands/subscribe/
}

func TestSubscribed_R10_ShardChannelKeepsSubscribedState(t *testing.T) {
	srv, _ := newServer(t, nil)
	c := dial(t, srv)
	c.do("SSUBSCRIBE", "s")
	c.expect(frame('*', "ssubscribe", "s", 1))
	c.do("UNSUBSCRIBE")
	c.expect(frame('*', "unsubscribe", nil, 0))
	c.do("ECHO", "x")
	c.expect("-ERR Can't execute 'echo': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n")
	// Reference: R10, R21, §3.3b
}

func TestSelect_R12_PublishReachesEveryDatabase(t *testing.T) {
	srv, _ := newServer(t, nil)
	sub := dial(t, srv)
	sub.do("SUBSCRIBE", "news")
	sub.expect(frame('*', "subscribe", "news", 1))
	pub := dial(t, srv)
	pub.do("SELECT", "5")
	pub.expect("+OK\r\n")
	pub.do("PUBLISH", "news", "hi")
	pub.expect(":1\r\n")
	sub.expect(frame('*', "message", "news", "hi"))
	pub.do("SELECT", "16")
	pub.expect("-ERR DB index is out of range\r\n")
	pub.do("SELECT", "x")
	pub.expect("-ERR value is not an integer or out of range\r\n")
	// Reference: R12, https://redis.io/docs/latest/develop/interact/pubsub/#database--scoping
}

func TestRESP3_R17_PushFramesAndCommandsWhileSubscribed(t *testing.T) {
	srv, _ := newServer(t, nil)
	c := dial(t, srv)
	c.do("HELLO", "3")
	hello, ok := c.reply().([]any)
	require.True(t, ok)
	assert.Equal(t, []any{"server", "redis", "version", "7.2.0", "proto", int64(3)}, hello[:6])
	c.do("SUBSCRIBE", "a", "b")
	c.expect(frame('>', "subscribe", "a", 1) + frame('>', "subscribe", "b", 2))
	// Its own publish: the message push comes before the count.
	c.do("PUBLISH", "a", "x")
	c.expect(frame('>', "message", "a", "x") + ":1\r\n")
	c.do("PING")
	c.expect("+PONG\r\n")
	c.do("ECHO", "y")
	c.expect("$1\r\ny\r\n")
	c.do("UNSUBSCRIBE", "zz")
	c.expect(frame('>', "unsubscribe", "zz", 2))
	c.do("PUNSUBSCRIBE")
	c.expect(frame('>', "punsubscribe", nil, 2))
	// Reference: R17, §3.3b; https://redis.io/docs/latest/commands/hello/
}

func TestPing_R18_RESP2SubscribedRepliesPongArray(t *testing.T) {
	srv, _ := newServer(t, nil)
	c := dial(t, srv)
	c.do("PING", "x")
	c.expect("$1\r\nx\r\n")
	c.do("SUBSCRIBE", "a")
	c.expect(frame('*', "subscribe", "a", 1))
	c.do("PING")
	c.expect("*2\r\n$4\r\npong\r\n$0\r\n\r\n")
	c.do("PING", "x")
	c.expect("*2\r\n$4\r\npong\r\n$1\r\nx\r\n")
	c.do("PING", "")
	c.expect("*2\r\n$4\r\npong\r\n$0\r\n\r\n")
	c.do("PING", "a", "b")
	c.expect("-ERR wrong number of arguments for 'ping' command\r\n")
	// Reference: R18, https://redis.io/docs/latest/commands/ping/
}

func TestReset_R19_LeavesSubscribedStateAndRESP3(t *testing.T) {
	srv, hub := newServer(t, nil)
	c := dial(t, srv)
	c.do("HELLO", "3")
	c.reply()
	c.do("SUBSCRIBE", "a")
	c.do("PSUBSCRIBE", "p*")
	c.do("SSUBSCRIBE", "s")
	c.expect(frame('>', "subscribe", "a", 1) + frame('>', "psubscribe", "p*", 2) + frame('>', "ssubscribe", "s", 1))
	c.do("RESET")
	c.expect("+RESET\r\n") // no unsubscribe acks
	c.do("PUBSUB", "NUMPAT")
	c.expect(":0\r\n")
	c.do("CLIENT", "GETNAME")
	c.expect("$-1\r\n") // RESP2 again: a null bulk, not RESP3's null
	assert.Equal(t, 0, hub.Publish("a", []byte("x")))
	assert.Equal(t, 0, hub.SPublish("s", []byte("x")))
	// Reference: R19, §3.3b; https://redis.io/docs/latest/commands/reset/
}

func TestAcks_R9_UnsubscribeWithNothingRepliesNil(t *testing.T) {
	srv, _ := newServer(t, nil)
	c := dial(t, srv)
	c.do("UNSUBSCRIBE")
	c.expect(frame('*', "unsubscribe", nil, 0))
	c.do("PUNSUBSCRIBE", "x", "y")
	c.expect(frame('*', "punsubscribe", "x", 0) + frame('*', "punsubscribe", "y", 0))
	c.do("ECHO", "e")
	c.expect("$1\r\ne\r\n") // still not in subscribed state
	c.do("PSUBSCRIBE", "p*")
	c.expect(frame('*', "psubscribe", "p*", 1))
	c.do("UNSUBSCRIBE")
	c.expect(frame('*', "unsubscribe", nil, 1)) // only a pattern is left: its count
	// Reference: R8, R9, §3.3b
}

func TestPublish_R1_CountsOverTheWire(t *testing.T) {
	srv, _ := newServer(t, nil)
	a, b, p := dial(t, srv), dial(t, srv), dial(t, srv)
	a.do("SUBSCRIBE", "foo")
	a.do("PSUBSCRIBE", "f*")
	a.expect(frame('*', "subscribe", "foo", 1) + frame('*', "psubscribe", "f*", 2))
	b.do("PSUBSCRIBE", "*")
	b.expect(frame('*', "psubscribe", "*", 1))
	p.do("PUBLISH", "foo", "m")
	p.expect(":3\r\n")
	a.expect(frame('*', "message", "foo", "m") + frame('*', "pmessage", "f*", "foo", "m"))
	b.expect(frame('*', "pmessage", "*", "foo", "m"))
	p.do("PUBSUB", "NUMSUB", "foo", "f*", "foo")
	p.expect("*6\r\n$3\r\nfoo\r\n:1\r\n$2\r\nf*\r\n:0\r\n$3\r\nfoo\r\n:1\r\n")
	p.do("PUBSUB", "NUMPAT")
	p.expect(":2\r\n")
	p.do("PUBSUB", "CHANNELS")
	p.expect("*1\r\n$3\r\nfoo\r\n")
	// Reference: R1, R2, R14, R15, R16
}

func TestSPublish_R20_OnlyShardSubscribers(t *testing.T) {
	srv, _ := newServer(t, nil)
	s, p := dial(t, srv), dial(t, srv)
	s.do("SSUBSCRIBE", "ord")
	s.expect(frame('*', "ssubscribe", "ord", 1))
	p.do("PUBLISH", "ord", "x")
	p.expect(":0\r\n")
	p.do("SPUBLISH", "ord", "y")
	p.expect(":1\r\n")
	s.expect(frame('*', "smessage", "ord", "y"))
	p.do("PUBSUB", "SHARDCHANNELS", "o*")
	p.expect("*1\r\n$3\r\nord\r\n")
	p.do("PUBSUB", "SHARDNUMSUB", "ord")
	p.expect("*2\r\n$3\r\nord\r\n:1\r\n")
	// Reference: R20, R21, R22
}
