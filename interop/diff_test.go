package interop

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The byte-level differential run: each script sends the same requests, in the same order,
// over the same number of connections, to redis-server and to tribus, and the bytes every
// connection reads must be the same. After each step every connection is synchronised with a
// PING carrying a marker, which both servers answer after everything already queued for that
// connection (a pong array in RESP2 subscribed state, a bulk string otherwise), so what a
// connection reads between two markers is exactly what the step made the server send it.

type step struct {
	conn int    // which connection sends
	send string // raw bytes, inline or multibulk
}

var scripts = []struct {
	name  string
	conns int
	steps []step
}{
	{"subscribe acks and counts", 1, []step{
		{0, "SUBSCRIBE a b a\r\n"}, {0, "UNSUBSCRIBE zz\r\n"}, {0, "PSUBSCRIBE a* a*\r\n"},
		{0, "UNSUBSCRIBE b\r\n"}, {0, "PUNSUBSCRIBE\r\n"}, {0, "UNSUBSCRIBE\r\n"}, {0, "UNSUBSCRIBE\r\n"},
		{0, "PUNSUBSCRIBE x\r\n"}, {0, "ECHO back\r\n"},
	}},
	{"channel and patterns count every match", 3, []step{
		{0, "SUBSCRIBE foo\r\nPSUBSCRIBE f* *o\r\n"}, {1, "PSUBSCRIBE *\r\n"},
		{2, "PUBLISH foo m\r\n"}, {2, "PUBLISH bar m\r\n"}, {2, "PUBLISH nobody-at-all m\r\n"},
		{2, "PUBSUB NUMSUB foo f* nothing foo\r\n"}, {2, "PUBSUB NUMPAT\r\n"},
		{2, "PUBSUB CHANNELS\r\n"}, {2, "PUBSUB CHANNELS f?o\r\n"}, {2, "PUBSUB CHANNELS x*\r\n"},
		{2, "PUBSUB NUMSUB\r\n"}, {2, "PUBSUB CHANNELS a b\r\n"},
	}},
	{"RESP2 subscribed state", 1, []step{
		{0, "SUBSCRIBE a\r\n"}, {0, "PUBLISH a b\r\n"}, {0, "PING\r\n"}, {0, "PING x\r\n"},
		{0, "PUBSUB NUMSUB\r\n"}, {0, "NOSUCH x\r\n"}, {0, "ECHO\r\n"}, {0, "SELECT 1\r\n"},
		{0, "HELLO 3\r\n"}, {0, "CLIENT GETNAME\r\n"}, {0, "RESET\r\n"}, {0, "ECHO free\r\n"},
	}},
	{"shard channels keep subscribed state", 2, []step{
		{0, "SSUBSCRIBE s t\r\n"}, {0, "UNSUBSCRIBE\r\n"}, {0, "PUNSUBSCRIBE p\r\n"},
		{1, "PUBLISH s x\r\n"}, {1, "SPUBLISH s y\r\n"}, {1, "PUBSUB SHARDCHANNELS s\r\n"},
		{1, "PUBSUB SHARDNUMSUB s t u\r\n"}, {0, "ECHO no\r\n"}, {0, "SUNSUBSCRIBE s\r\n"},
		{0, "SUNSUBSCRIBE t\r\n"}, {0, "ECHO yes\r\n"}, {0, "SUNSUBSCRIBE\r\n"},
	}},
	{"RESP3 pushes and commands while subscribed", 2, []step{
		{0, "HELLO 3\r\n"}, {0, "SUBSCRIBE a b\r\n"}, {0, "PUBLISH a x\r\n"}, {0, "PING\r\n"},
		{0, "PING y\r\n"}, {0, "ECHO z\r\n"}, {1, "PUBLISH b from-other\r\n"},
		{0, "PSUBSCRIBE a*\r\n"}, {1, "PUBLISH a both\r\n"}, {0, "CLIENT GETNAME\r\n"},
		{0, "UNSUBSCRIBE a\r\n"}, {0, "PUNSUBSCRIBE\r\n"}, {0, "PUNSUBSCRIBE\r\n"},
		{0, "RESET\r\n"}, {0, "CLIENT GETNAME\r\n"}, {0, "PUBSUB NUMSUB b\r\n"},
	}},
	{"RESET forgets the name and the subscriptions", 1, []step{
		{0, "CLIENT SETNAME n\r\n"}, {0, "SUBSCRIBE a\r\n"}, {0, "PSUBSCRIBE p*\r\n"},
		{0, "RESET\r\n"}, {0, "CLIENT GETNAME\r\n"}, {0, "PUBSUB NUMSUB a\r\n"}, {0, "PUBSUB NUMPAT\r\n"},
	}},
	{"SELECT is ignored by pub/sub", 2, []step{
		{0, "SELECT 3\r\nSUBSCRIBE news\r\n"}, {1, "SELECT 9\r\n"}, {1, "PUBLISH news hi\r\n"},
		{1, "SELECT 16\r\n"}, {1, "SELECT -1\r\n"}, {1, "SELECT x\r\n"}, {1, "SELECT\r\n"},
	}},
	{"glob edge cases", 2, []step{
		{0, "PSUBSCRIBE * ? a* news.* h?llo h[ae]llo h[^e]llo h[a-b]llo h[b-a]llo h\\*llo [\\]] []a] a[ a[b A* \\\\\r\n"},
		{1, "*2\r\n$7\r\nPUBLISH\r\n$0\r\n\r\n"}, // the empty channel: * does not match it
		{1, "PUBLISH a x\r\nPUBLISH news. x\r\nPUBLISH news x\r\nPUBLISH hllo x\r\n"},
		{1, "PUBLISH hello x\r\nPUBLISH hallo x\r\nPUBLISH hbllo x\r\nPUBLISH h*llo x\r\n"},
		{1, "PUBLISH ] x\r\nPUBLISH a[ x\r\nPUBLISH ab x\r\nPUBLISH abc x\r\nPUBLISH \\\\ x\r\n"},
	}},
	{"binary-safe names and payloads", 2, []step{
		{0, "*2\r\n$9\r\nSUBSCRIBE\r\n$4\r\na\x00\r\n\r\n"},
		{1, "*3\r\n$7\r\nPUBLISH\r\n$4\r\na\x00\r\n\r\n$6\r\n\x00\xff\r\n*$\r\n"},
		{1, "*3\r\n$7\r\nPUBLISH\r\n$1\r\na\r\n$0\r\n\r\n"},
	}},
	{"inline forms", 1, []step{
		{0, "PING\n"}, {0, "ECHO \"a b\"\r\n"}, {0, "ECHO 'c\\'d'\r\n"}, {0, "ECHO \"\\x41\\x42\\n\"\r\n"},
		{0, "  ECHO   spaced  \r\n"}, {0, "\r\n\r\nECHO after-blank\r\n"}, {0, "ECHO \"\"\r\n"},
		{0, "ECHO a\"b c\"\r\n"},
	}},
	{"errors as Redis words them", 1, []step{
		{0, "NOSUCH\r\n"}, {0, "NOSUCH a b c\r\n"}, {0, "nosuch " + strings.Repeat("x", 200) + "\r\n"},
		{0, "SUBSCRIBE\r\n"}, {0, "PUBLISH a\r\n"}, {0, "PUBSUB\r\n"}, {0, "PUBSUB nope\r\n"},
		{0, "PUBSUB NUMPAT x\r\n"}, {0, "CLIENT\r\n"}, {0, "CLIENT nope\r\n"}, {0, "CLIENT SETNAME\r\n"},
		{0, "CLIENT SETNAME \"a b\"\r\n"}, {0, "CLIENT GETNAME x\r\n"}, {0, "ECHO a b\r\n"},
		{0, "PING a b\r\n"}, {0, "HELLO 1\r\n"}, {0, "HELLO x\r\n"}, {0, "HELLO 3 FOO\r\n"},
		{0, "HELLO 2 SETNAME\r\n"}, {0, "HELLO 2 AUTH a\r\n"}, {0, "AUTH x\r\n"}, {0, "AUTH a b\r\n"},
		{0, "AUTH a b c\r\n"}, {0, "AUTH default whatever\r\n"}, {0, "SPUBLISH a\r\n"},
		{0, "CONFIG\r\n"}, {0, "CONFIG GET\r\n"}, {0, "CONFIG GET save\r\n"}, {0, "CONFIG GET appendonly\r\n"},
		{0, "CONFIG GET maxclients\r\n"}, {0, "CONFIG GET nonexistent-thing\r\n"},
	}},
	{"names", 1, []step{
		{0, "CLIENT GETNAME\r\n"}, {0, "CLIENT SETNAME w1\r\n"}, {0, "CLIENT GETNAME\r\n"},
		{0, "HELLO 2 SETNAME w2\r\n"}, {0, "CLIENT GETNAME\r\n"}, {0, "CLIENT SETNAME \"\"\r\n"},
		{0, "CLIENT GETNAME\r\n"},
	}},
	{"empty requests are skipped", 1, []step{{0, "*0\r\n*-1\r\nPING\r\n"}}},
	{"quit", 1, []step{{0, "QUIT\r\nPING\r\n"}}},
	{"quit in subscribed state", 2, []step{{0, "SUBSCRIBE q\r\n"}, {0, "QUIT\r\n"}, {1, "PUBLISH q x\r\n"}}},
	{"protocol error: unbalanced quotes", 1, []step{{0, "PING\r\nECHO \"x\r\n"}}},
	{"protocol error: not a bulk", 1, []step{{0, "*1\r\n+PING\r\n"}}},
	{"protocol error: multibulk length", 1, []step{{0, "*+1\r\n"}}},
	{"protocol error: bulk length", 1, []step{{0, "*1\r\n$04\r\nPING\r\n"}}},
	{"protocol error: big bulk", 1, []step{{0, "*1\r\n$536870913\r\n"}}},
	{"protocol error closes only that connection", 2, []step{
		{0, "SUBSCRIBE z\r\n"}, {1, "*1\r\n$x\r\n"}, {0, "PING\r\n"},
	}},
}

func TestDifferential_RawRESP(t *testing.T) {
	if !haveRedis {
		if *requireRedis {
			t.Fatal("redis-server is required")
		}
		t.Skip("redis-server is not installed: no reference to compare with")
	}
	for _, sc := range scripts {
		t.Run(sc.name, func(t *testing.T) {
			want := transcript(t, realRedis, sc.conns, sc.steps)
			for _, tg := range []target{tribusInProc, tribusTCP} {
				got := transcript(t, tg, sc.conns, sc.steps)
				assert.Equal(t, want, got, "%s differs from redis-server", tg.name)
			}
		})
	}
}

// transcript runs the steps and returns, for each step and connection, what it read. It
// starts once no subscription of an earlier test is left on the server, since the scripts
// count subscribers.
func transcript(t *testing.T, tg target, conns int, steps []step) []string {
	ctx := ctxT(t)
	quiesce(t, tg)
	cs := make([]*rawConn, conns)
	for i := range cs {
		nc, err := tg.conn(ctx)
		require.NoError(t, err)
		defer nc.Close()
		cs[i] = &rawConn{nc: nc, br: bufio.NewReader(nc)}
	}
	var out []string
	for n, st := range steps {
		c := cs[st.conn]
		if !c.closed {
			_, err := c.nc.Write([]byte(st.send))
			require.NoError(t, err)
		}
		// The sender first: once its replies are read, its commands have run, and what they
		// sent the others is queued ahead of the others' markers.
		got := make([]string, len(cs))
		got[st.conn] = c.sync(t, fmt.Sprintf("sync-%d", n))
		for i, other := range cs {
			if i != st.conn {
				got[i] = other.sync(t, fmt.Sprintf("sync-%d", n))
			}
		}
		for i, g := range got {
			out = append(out, fmt.Sprintf("step %d conn %d: %q", n, i, mask(unorderPatterns(g))))
		}
	}
	return out
}

type rawConn struct {
	nc     net.Conn
	br     *bufio.Reader
	closed bool
}

// sync sends PING marker and returns what arrives before its answer, or everything up to the
// close, followed by "<closed>", once the server has closed the connection.
func (c *rawConn) sync(t *testing.T, marker string) string {
	if c.closed {
		return "<closed>"
	}
	c.nc.Write([]byte("PING " + marker + "\r\n")) // fails once the server closed: read says so
	require.NoError(t, c.nc.SetReadDeadline(time.Now().Add(10*time.Second)))
	// Both answers end in the marker's bulk string, $len\r\nmarker\r\n; the RESP2 subscribed
	// one is *2\r\n$4\r\npong\r\n before it.
	tail := fmt.Sprintf("$%d\r\n%s\r\n", len(marker), marker)
	var got []byte
	buf := make([]byte, 4096)
	for !bytes.HasSuffix(got, []byte(tail)) {
		n, err := c.br.Read(buf)
		got = append(got, buf[:n]...)
		if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || isReset(err) {
			c.closed = true
			return string(got) + "<closed>"
		}
		require.NoError(t, err, "waiting for %q, read %q", marker, got)
	}
	got = got[:len(got)-len(tail)]
	got = bytes.TrimSuffix(got, []byte("*2\r\n$4\r\npong\r\n"))
	return string(got)
}

func isReset(err error) bool {
	return err != nil && strings.Contains(err.Error(), "connection reset")
}

// unorderPatterns sorts each run of pmessage frames that one publish produced: Redis leaves
// the order among matching patterns unspecified (R5), and its dictionary order is not
// tribus's.
func unorderPatterns(s string) string {
	frames := splitFrames(s)
	for i := 0; i < len(frames); {
		j := i
		for j < len(frames) && samePublish(frames[i], frames[j]) {
			j++
		}
		if j == i {
			j++
		}
		slices.Sort(frames[i:j])
		i = j
	}
	return strings.Join(frames, "")
}

var pmessage = regexp.MustCompile(`^[*>]4\r\n\$8\r\npmessage\r\n\$\d+\r\n(?s:.*?)\r\n(\$\d+\r\n(?s:.*))$`)

// samePublish reports whether a and b are pmessage frames with the same channel and payload.
func samePublish(a, b string) bool {
	ma, mb := pmessage.FindStringSubmatch(a), pmessage.FindStringSubmatch(b)
	return ma != nil && mb != nil && ma[1] == mb[1]
}

// splitFrames splits RESP output into its top-level values, each kept as raw bytes.
func splitFrames(s string) []string {
	var frames []string
	for len(s) > 0 {
		n := frameLen(s)
		if n <= 0 || n > len(s) {
			return append(frames, s)
		}
		frames = append(frames, s[:n])
		s = s[n:]
	}
	return frames
}

// frameLen is the length of the RESP value at the start of s, or 0 if it is incomplete.
func frameLen(s string) int {
	nl := strings.Index(s, "\r\n")
	if nl < 1 {
		return 0
	}
	head, body := s[0], s[1:nl]
	pos := nl + 2
	switch head {
	case '$', '=':
		n, err := strconv.Atoi(body)
		if err != nil {
			return 0
		}
		if n < 0 {
			return pos
		}
		return pos + n + 2
	case '*', '>', '~', '%':
		n, err := strconv.Atoi(body)
		if err != nil {
			return 0
		}
		if head == '%' {
			n *= 2
		}
		for range max(n, 0) {
			k := frameLen(s[pos:])
			if k == 0 {
				return 0
			}
			pos += k
		}
		return pos
	}
	return pos
}

// mask hides what differs by design: HELLO's connection id and server version.
var (
	helloID      = regexp.MustCompile(`\$2\r\nid\r\n:\d+\r\n`)
	helloVersion = regexp.MustCompile(`\$7\r\nversion\r\n\$\d+\r\n[0-9.]+\r\n`)
)

func mask(s string) string {
	s = helloID.ReplaceAllString(s, "$$2\r\nid\r\n:<id>\r\n")
	return helloVersion.ReplaceAllString(s, "$$7\r\nversion\r\n<version>\r\n")
}

// quiesce waits until the server holds no subscription: a closed connection's are removed
// asynchronously by both servers. The external server gives no signal to wait on, so this
// polls, boundedly.
func quiesce(t *testing.T, tg target) {
	ctx := ctxT(t)
	rdb := tg.client(t, 2)
	for {
		pats, err1 := rdb.PubSubNumPat(ctx).Result()
		chans, err2 := rdb.PubSubChannels(ctx, "*").Result()
		shards, err3 := rdb.PubSubShardChannels(ctx, "*").Result()
		require.NoError(t, errors.Join(err1, err2, err3))
		// The empty channel is not matched by "*": ask for it by name.
		empty, err := rdb.PubSubNumSub(ctx, "").Result()
		require.NoError(t, err)
		if pats == 0 && len(chans) == 0 && len(shards) == 0 && empty[""] == 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s still has subscriptions: %d patterns, channels %q, shard channels %q", tg.name, pats, chans, shards)
		case <-time.After(5 * time.Millisecond):
		}
	}
}
