package pubsub_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/internal/resptest"
)

// The rules of SEMANTICS.md §3.3 that only a connection shows (R11, R12, R17–R19) and the
// counts a client reads, checked byte for byte through the RESP front door (wire/resp), which
// serves this package's Hub. Each expected reply is the one Redis 7.0.15 sent for the same
// bytes; the differential suite in interop/ sends the same kind of scripts to both.

func TestWire_R11_RESP2AllowsOnlyListedCommands(t *testing.T) {
	srv, _ := resptest.NewServer(t, nil)
	c := resptest.Dial(t, srv)
	c.Do("SUBSCRIBE", "a")
	c.Expect(resptest.Frame('*', "subscribe", "a", 1))
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
		{[]string{"PSUBSCRIBE", "p*"}, resptest.Frame('*', "psubscribe", "p*", 2)},
		{[]string{"SSUBSCRIBE", "s"}, resptest.Frame('*', "ssubscribe", "s", 1)},
		{[]string{"PUNSUBSCRIBE", "p*"}, resptest.Frame('*', "punsubscribe", "p*", 1)},
		{[]string{"SUNSUBSCRIBE", "s"}, resptest.Frame('*', "sunsubscribe", "s", 0)},
	} {
		c.Do(tc.args...)
		c.Expect(tc.want)
	}
	c.Do("UNSUBSCRIBE", "a")
	c.Expect(resptest.Frame('*', "unsubscribe", "a", 0))
	c.Do("ECHO", "x")
	c.Expect("$1\r\nx\r\n") // out of subscribed state, everything runs again
	// Reference: R11, §3.3b; https://redis.io/docs/latest/commands/subscribe/
}

func TestWire_R10_ShardChannelKeepsSubscribedState(t *testing.T) {
	srv, _ := resptest.NewServer(t, nil)
	c := resptest.Dial(t, srv)
	c.Do("SSUBSCRIBE", "s")
	c.Expect(resptest.Frame('*', "ssubscribe", "s", 1))
	c.Do("UNSUBSCRIBE")
	c.Expect(resptest.Frame('*', "unsubscribe", nil, 0))
	c.Do("ECHO", "x")
	c.Expect("-ERR Can't execute 'echo': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n")
	// Reference: R10, R21, §3.3b
}

func TestWire_R12_PublishReachesEveryDatabase(t *testing.T) {
	srv, _ := resptest.NewServer(t, nil)
	sub := resptest.Dial(t, srv)
	sub.Do("SUBSCRIBE", "news")
	sub.Expect(resptest.Frame('*', "subscribe", "news", 1))
	pub := resptest.Dial(t, srv)
	pub.Do("SELECT", "5")
	pub.Expect("+OK\r\n")
	pub.Do("PUBLISH", "news", "hi")
	pub.Expect(":1\r\n")
	sub.Expect(resptest.Frame('*', "message", "news", "hi"))
	pub.Do("SELECT", "16")
	pub.Expect("-ERR DB index is out of range\r\n")
	pub.Do("SELECT", "x")
	pub.Expect("-ERR value is not an integer or out of range\r\n")
	// Reference: R12, https://redis.io/docs/latest/develop/interact/pubsub/#database--scoping
}

func TestWire_R17_PushFramesAndCommandsWhileSubscribed(t *testing.T) {
	srv, _ := resptest.NewServer(t, nil)
	c := resptest.Dial(t, srv)
	c.Do("HELLO", "3")
	hello, ok := c.Reply().([]any)
	require.True(t, ok)
	assert.Equal(t, []any{"server", "redis", "version", "7.2.0", "proto", int64(3)}, hello[:6])
	c.Do("SUBSCRIBE", "a", "b")
	c.Expect(resptest.Frame('>', "subscribe", "a", 1) + resptest.Frame('>', "subscribe", "b", 2))
	// Its own publish: the message push comes before the count.
	c.Do("PUBLISH", "a", "x")
	c.Expect(resptest.Frame('>', "message", "a", "x") + ":1\r\n")
	c.Do("PING")
	c.Expect("+PONG\r\n")
	c.Do("ECHO", "y")
	c.Expect("$1\r\ny\r\n")
	c.Do("UNSUBSCRIBE", "zz")
	c.Expect(resptest.Frame('>', "unsubscribe", "zz", 2))
	c.Do("PUNSUBSCRIBE")
	c.Expect(resptest.Frame('>', "punsubscribe", nil, 2))
	// Reference: R17, §3.3b; https://redis.io/docs/latest/commands/hello/
}

func TestWire_R18_RESP2SubscribedRepliesPongArray(t *testing.T) {
	srv, _ := resptest.NewServer(t, nil)
	c := resptest.Dial(t, srv)
	c.Do("PING", "x")
	c.Expect("$1\r\nx\r\n")
	c.Do("SUBSCRIBE", "a")
	c.Expect(resptest.Frame('*', "subscribe", "a", 1))
	c.Do("PING")
	c.Expect("*2\r\n$4\r\npong\r\n$0\r\n\r\n")
	c.Do("PING", "x")
	c.Expect("*2\r\n$4\r\npong\r\n$1\r\nx\r\n")
	c.Do("PING", "")
	c.Expect("*2\r\n$4\r\npong\r\n$0\r\n\r\n")
	c.Do("PING", "a", "b")
	c.Expect("-ERR wrong number of arguments for 'ping' command\r\n")
	// Reference: R18, https://redis.io/docs/latest/commands/ping/
}

func TestWire_R19_LeavesSubscribedStateAndRESP3(t *testing.T) {
	srv, hub := resptest.NewServer(t, nil)
	c := resptest.Dial(t, srv)
	c.Do("HELLO", "3")
	c.Reply()
	c.Do("SUBSCRIBE", "a")
	c.Do("PSUBSCRIBE", "p*")
	c.Do("SSUBSCRIBE", "s")
	c.Expect(resptest.Frame('>', "subscribe", "a", 1) + resptest.Frame('>', "psubscribe", "p*", 2) + resptest.Frame('>', "ssubscribe", "s", 1))
	c.Do("RESET")
	c.Expect("+RESET\r\n") // no unsubscribe acks
	c.Do("PUBSUB", "NUMPAT")
	c.Expect(":0\r\n")
	c.Do("CLIENT", "GETNAME")
	c.Expect("$-1\r\n") // RESP2 again: a null bulk, not RESP3's null
	assert.Equal(t, 0, hub.Publish("a", []byte("x")))
	assert.Equal(t, 0, hub.SPublish("s", []byte("x")))
	// Reference: R19, §3.3b; https://redis.io/docs/latest/commands/reset/
}

func TestWire_R9_UnsubscribeWithNothingRepliesNil(t *testing.T) {
	srv, _ := resptest.NewServer(t, nil)
	c := resptest.Dial(t, srv)
	c.Do("UNSUBSCRIBE")
	c.Expect(resptest.Frame('*', "unsubscribe", nil, 0))
	c.Do("PUNSUBSCRIBE", "x", "y")
	c.Expect(resptest.Frame('*', "punsubscribe", "x", 0) + resptest.Frame('*', "punsubscribe", "y", 0))
	c.Do("ECHO", "e")
	c.Expect("$1\r\ne\r\n") // still not in subscribed state
	c.Do("PSUBSCRIBE", "p*")
	c.Expect(resptest.Frame('*', "psubscribe", "p*", 1))
	c.Do("UNSUBSCRIBE")
	c.Expect(resptest.Frame('*', "unsubscribe", nil, 1)) // only a pattern is left: its count
	// Reference: R8, R9, §3.3b
}

func TestWire_R1_CountsAsAClientReadsThem(t *testing.T) {
	srv, _ := resptest.NewServer(t, nil)
	a, b, p := resptest.Dial(t, srv), resptest.Dial(t, srv), resptest.Dial(t, srv)
	a.Do("SUBSCRIBE", "foo")
	a.Do("PSUBSCRIBE", "f*")
	a.Expect(resptest.Frame('*', "subscribe", "foo", 1) + resptest.Frame('*', "psubscribe", "f*", 2))
	b.Do("PSUBSCRIBE", "*")
	b.Expect(resptest.Frame('*', "psubscribe", "*", 1))
	p.Do("PUBLISH", "foo", "m")
	p.Expect(":3\r\n")
	a.Expect(resptest.Frame('*', "message", "foo", "m") + resptest.Frame('*', "pmessage", "f*", "foo", "m"))
	b.Expect(resptest.Frame('*', "pmessage", "*", "foo", "m"))
	p.Do("PUBSUB", "NUMSUB", "foo", "f*", "foo")
	p.Expect("*6\r\n$3\r\nfoo\r\n:1\r\n$2\r\nf*\r\n:0\r\n$3\r\nfoo\r\n:1\r\n")
	p.Do("PUBSUB", "NUMPAT")
	p.Expect(":2\r\n")
	p.Do("PUBSUB", "CHANNELS")
	p.Expect("*1\r\n$3\r\nfoo\r\n")
	// Reference: R1, R2, R14, R15, R16
}

func TestWire_R20_OnlyShardSubscribers(t *testing.T) {
	srv, _ := resptest.NewServer(t, nil)
	s, p := resptest.Dial(t, srv), resptest.Dial(t, srv)
	s.Do("SSUBSCRIBE", "ord")
	s.Expect(resptest.Frame('*', "ssubscribe", "ord", 1))
	p.Do("PUBLISH", "ord", "x")
	p.Expect(":0\r\n")
	p.Do("SPUBLISH", "ord", "y")
	p.Expect(":1\r\n")
	s.Expect(resptest.Frame('*', "smessage", "ord", "y"))
	p.Do("PUBSUB", "SHARDCHANNELS", "o*")
	p.Expect("*1\r\n$3\r\nord\r\n")
	p.Do("PUBSUB", "SHARDNUMSUB", "ord")
	p.Expect("*2\r\n$3\r\nord\r\n:1\r\n")
	// Reference: R20, R21, R22
}
