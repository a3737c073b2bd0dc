package resp_test

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

// newServer returns a server on a fresh hub, both closed when the test ends.
func newServer(t testing.TB, opts *resp.Options) (*resp.Server, *pubsub.Hub) {
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

// client is a raw RESP connection for tests that check bytes.
type client struct {
	t  testing.TB
	nc net.Conn
	br *bufio.Reader
}

func dial(t testing.TB, srv *resp.Server) *client {
	t.Helper()
	nc, err := srv.Dial(context.Background(), "", "")
	require.NoError(t, err)
	t.Cleanup(func() { nc.Close() })
	return &client{t: t, nc: nc, br: bufio.NewReader(nc)}
}

// send writes raw bytes.
func (c *client) send(raw string) {
	c.t.Helper()
	_, err := c.nc.Write([]byte(raw))
	require.NoError(c.t, err)
}

// do sends one command as a multibulk request.
func (c *client) do(args ...string) {
	c.t.Helper()
	c.send(multibulk(args...))
}

func multibulk(args ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return b.String()
}

// expect reads exactly len(want) bytes and requires them to be want. The deadline only keeps
// a broken server from hanging the test; the reply is already on its way when expect is called.
func (c *client) expect(want string) {
	c.t.Helper()
	require.NoError(c.t, c.nc.SetReadDeadline(time.Now().Add(10*time.Second)))
	got := make([]byte, len(want))
	n, err := io.ReadFull(c.br, got)
	require.NoError(c.t, err, "read %q so far, want %q", got[:n], want)
	require.Equal(c.t, want, string(got))
}

// expectClosed requires the server to have closed the connection, with nothing more to read.
func (c *client) expectClosed() {
	c.t.Helper()
	require.NoError(c.t, c.nc.SetReadDeadline(time.Now().Add(10*time.Second)))
	rest, err := io.ReadAll(c.br)
	require.NoError(c.t, err)
	require.Empty(c.t, string(rest))
}

// reply reads one RESP2 or RESP3 value: strings, errors ("-..." kept with the dash), ints,
// nil, and slices for arrays, maps (flattened), sets and pushes.
func (c *client) reply() any {
	c.t.Helper()
	require.NoError(c.t, c.nc.SetReadDeadline(time.Now().Add(10*time.Second)))
	v, err := readValue(c.br)
	require.NoError(c.t, err)
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

// ack is the bytes of a pub/sub acknowledgement or message in RESP2 (typ '*') or RESP3 ('>').
func frame(typ byte, kind string, parts ...any) string {
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

func newReader(nc net.Conn) *bufio.Reader { return bufio.NewReader(nc) }
