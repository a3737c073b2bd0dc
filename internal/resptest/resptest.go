package resptest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/pubsub"
	"github.com/tribusmq/tribus/wire/resp"
)

// NewServer returns a server on a fresh hub, both closed when the test ends.
func NewServer(t testing.TB, opts *resp.Options) (*resp.Server, *pubsub.Hub) {
	t.Helper()
	hub, err := pubsub.New(nil)
	require.NoError(t, err)
	srv, err := resp.NewServer(hub, opts)
	require.NoError(t, err)
	t.Cleanup(func() {
		srv.Close()
		hub.Close()
	})
	return srv, hub
}

// Client is a raw RESP connection for tests that check bytes: T fails the test, NC is the
// connection, BR reads from it.
type Client struct {
	T  testing.TB
	NC net.Conn
	BR *bufio.Reader
}

// Dial connects to srv in process; the connection is closed when the test ends.
func Dial(t testing.TB, srv *resp.Server) *Client {
	t.Helper()
	nc, err := srv.Dial(context.Background(), "", "")
	require.NoError(t, err)
	t.Cleanup(func() { nc.Close() })
	return &Client{T: t, NC: nc, BR: bufio.NewReader(nc)}
}

// Send writes raw bytes.
func (c *Client) Send(raw string) {
	c.T.Helper()
	_, err := c.NC.Write([]byte(raw))
	require.NoError(c.T, err)
}

// Do sends one command as a multibulk request.
func (c *Client) Do(args ...string) {
	c.T.Helper()
	c.Send(Multibulk(args...))
}

// Multibulk is args as a RESP array of bulk strings, the way clients send commands.
func Multibulk(args ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return b.String()
}

// Expect reads exactly len(want) bytes and requires them to be want. The deadline only keeps
// a broken server from hanging the test; the reply is already on its way when expect is called.
func (c *Client) Expect(want string) {
	c.T.Helper()
	require.NoError(c.T, c.NC.SetReadDeadline(time.Now().Add(10*time.Second)))
	got := make([]byte, len(want))
	n, err := io.ReadFull(c.BR, got)
	require.NoError(c.T, err, "read %q so far, want %q", got[:n], want)
	require.Equal(c.T, want, string(got))
}

// ExpectClosed requires the server to have closed the connection, with nothing more to read.
func (c *Client) ExpectClosed() {
	c.T.Helper()
	require.NoError(c.T, c.NC.SetReadDeadline(time.Now().Add(10*time.Second)))
	rest, err := io.ReadAll(c.BR)
	require.NoError(c.T, err)
	require.Empty(c.T, string(rest))
}

// Reply reads one RESP2 or RESP3 value: strings, errors ("-..." kept with the dash), ints,
// nil, and slices for arrays, maps (flattened), sets and pushes.
func (c *Client) Reply() any {
	c.T.Helper()
	require.NoError(c.T, c.NC.SetReadDeadline(time.Now().Add(10*time.Second)))
	v, err := readValue(c.BR)
	require.NoError(c.T, err)
	return v
}

func readValue(br *bufio.Reader) (any, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return nil, fmt.Errorf("empty line")
	}
	body := line[1:]
	switch line[0] {
	case '+':
		return body, nil
	case '-':
		return line, nil
	case ':':
		return strconv.ParseInt(body, 10, 64)
	case '_':
		return nil, nil
	case '$', '=':
		n, err := strconv.Atoi(body)
		if err != nil || n < 0 {
			return nil, err
		}
		b := make([]byte, n+2)
		if _, err := io.ReadFull(br, b); err != nil {
			return nil, err
		}
		return string(b[:n]), nil
	case '*', '>', '~', '%':
		n, err := strconv.Atoi(body)
		if err != nil || n < 0 {
			return nil, err
		}
		if line[0] == '%' {
			n *= 2
		}
		out := make([]any, n)
		for i := range out {
			if out[i], err = readValue(br); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown type %q", line)
}

// Frame is the bytes of a pub/sub acknowledgement or message in RESP2 (typ '*') or RESP3
// ('>'): kind, then each part as an integer (int), a null (nil) or a bulk string (string).
func Frame(typ byte, kind string, parts ...any) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%c%d\r\n$%d\r\n%s\r\n", typ, len(parts)+1, len(kind), kind)
	for _, p := range parts {
		switch v := p.(type) {
		case int:
			fmt.Fprintf(&b, ":%d\r\n", v)
		case nil:
			if typ == '>' {
				b.WriteString("_\r\n")
			} else {
				b.WriteString("$-1\r\n")
			}
		case string:
			fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(v), v)
		}
	}
	return b.String()
}
