package resp_test

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/internal/resptest"
	"github.com/tribusmq/tribus/wire/resp"
)

// Requests and Redis 7.0.15's exact replies to them, including the malformed ones after which
// it closes the connection.
var protocolCases = []struct {
	name   string
	in     string
	want   string
	closed bool
}{
	{"inline", "PING\r\n", "+PONG\r\n", false},
	{"inline lower case with LF only", "ping\n", "+PONG\r\n", false},
	{"inline double quotes", "PING \"a b\"\r\n", "$3\r\na b\r\n", false},
	{"inline escapes", "ECHO \"\\x41\\n\\t\"\r\n", "$3\r\nA\n\t\r\n", false},
	{"inline single quotes", "ECHO 'it\\'s'\r\n", "$4\r\nit's\r\n", false},
	{"inline extra spaces", "  ECHO    hi   \r\n", "$2\r\nhi\r\n", false},
	{"inline empty quoted argument", "ECHO \"\"\r\n", "$0\r\n\r\n", false},
	{"empty lines are skipped", "\r\n\r\nPING\r\n", "+PONG\r\n", false},
	{"inline quote must end the argument", "ECHO \"a\"b\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n", true},
	{"inline unbalanced quotes", "ECHO \"unbal\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n", true},
	{"inline too big", strings.Repeat("A", 70000), "-ERR Protocol error: too big inline request\r\n", true},
	{"multibulk", "*1\r\n$4\r\nPING\r\n", "+PONG\r\n", false},
	{"empty and null arrays are skipped", "*0\r\n*-1\r\nPING\r\n", "+PONG\r\n", false},
	{"multibulk length not a number", "*x\r\n", "-ERR Protocol error: invalid multibulk length\r\n", true},
	{"multibulk length over INT_MAX", "*3000000000\r\n", "-ERR Protocol error: invalid multibulk length\r\n", true},
	{"multibulk length with plus", "*+1\r\n", "-ERR Protocol error: invalid multibulk length\r\n", true},
	{"multibulk count line too long", "*" + strings.Repeat("1", 70000), "-ERR Protocol error: too big mbulk count string\r\n", true},
	{"not a bulk", "*1\r\n+PING\r\n", "-ERR Protocol error: expected '$', got '+'\r\n", true},
	{"negative bulk length", "*1\r\n$-1\r\n", "-ERR Protocol error: invalid bulk length\r\n", true},
	{"bulk over proto-max-bulk-len", "*1\r\n$600000000\r\n", "-ERR Protocol error: invalid bulk length\r\n", true},
	{"bulk length not a number", "*1\r\n$x\r\n", "-ERR Protocol error: invalid bulk length\r\n", true},
	{"bulk length with leading zero", "*1\r\n$04\r\nPING\r\n", "-ERR Protocol error: invalid bulk length\r\n", true},
	{"bulk count line too long", "*1\r\n$" + strings.Repeat("1", 70000), "-ERR Protocol error: too big bulk count string\r\n", true},
	{"earlier pipelined replies are sent first", "PING\r\n*1\r\n+x\r\n", "+PONG\r\n-ERR Protocol error: expected '$', got '+'\r\n", true},
	{"unknown command", "FOO a b\r\n", "-ERR unknown command 'FOO', with args beginning with: 'a' 'b' \r\n", false},
	{"unknown command alone", "FOO\r\n", "-ERR unknown command 'FOO', with args beginning with: \r\n", false},
	{"data command of Redis", "GET x\r\n", "-ERR unknown command 'GET', with args beginning with: 'x' \r\n", false},
	{"arity", "SUBSCRIBE\r\n", "-ERR wrong number of arguments for 'subscribe' command\r\n", false},
	{"container arity", "PUBSUB\r\n", "-ERR wrong number of arguments for 'pubsub' command\r\n", false},
	{"unknown subcommand", "PUBSUB FOO\r\n", "-ERR unknown subcommand 'FOO'. Try PUBSUB HELP.\r\n", false},
	{"subcommand arity", "PUBSUB NUMPAT x\r\n", "-ERR wrong number of arguments for 'pubsub|numpat' command\r\n", false},
	{"echo arity", "ECHO\r\nECHO a\r\nPING a b\r\n", "-ERR wrong number of arguments for 'echo' command\r\n$1\r\na\r\n-ERR wrong number of arguments for 'ping' command\r\n", false},
	{"quit", "QUIT\r\nPING\r\n", "+OK\r\n", true},
	{"quit with arguments", "QUIT x\r\n", "+OK\r\n", true},
	{"hello unsupported version", "HELLO 4\r\n", "-NOPROTO unsupported protocol version\r\n", false},
	{"hello version not a number", "HELLO x\r\n", "-ERR Protocol version is not an integer or out of range\r\n", false},
	{"hello bad option", "HELLO 3 FOO\r\n", "-ERR Syntax error in HELLO option 'FOO'\r\n", false},
	{"hello setname without name", "HELLO 3 SETNAME\r\n", "-ERR Syntax error in HELLO option 'SETNAME'\r\n", false},
	{"auth without requirepass", "AUTH x\r\n", "-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n", false},
	{"auth unknown user", "AUTH a b\r\n", "-WRONGPASS invalid username-password pair or user is disabled.\r\n", false},
	{"auth syntax", "AUTH a b c\r\n", "-ERR syntax error\r\n", false},
	{"client names", "CLIENT GETNAME\r\nCLIENT SETNAME \"a b\"\r\nCLIENT SETNAME ab\r\nCLIENT GETNAME\r\nCLIENT SETNAME \"\"\r\nCLIENT GETNAME\r\n",
		"$-1\r\n-ERR Client names cannot contain spaces, newlines or special characters.\r\n+OK\r\n$2\r\nab\r\n+OK\r\n$-1\r\n", false},
	{"client arity", "CLIENT\r\n", "-ERR wrong number of arguments for 'client' command\r\n", false},
	{"client unknown subcommand", "CLIENT FOO\r\n", "-ERR unknown subcommand 'FOO'. Try CLIENT HELP.\r\n", false},
}

func TestProtocol_RepliesAsRedis(t *testing.T) {
	srv, _ := resptest.NewServer(t, nil)
	for _, tc := range protocolCases {
		t.Run(tc.name, func(t *testing.T) {
			c := resptest.Dial(t, srv)
			c.Send(tc.in)
			c.Expect(tc.want)
			if tc.closed {
				c.ExpectClosed()
			}
		})
	}
}

func TestProtocol_PipelinedRequestsAreAnsweredInOrder(t *testing.T) {
	srv, _ := resptest.NewServer(t, nil)
	c := resptest.Dial(t, srv)
	var in, want strings.Builder
	for i := range 2000 {
		if i%2 == 0 {
			in.WriteString(resptest.Multibulk("ECHO", strings.Repeat("x", i%50)))
			want.WriteString("$" + strconv.Itoa(i%50) + "\r\n" + strings.Repeat("x", i%50) + "\r\n")
		} else {
			in.WriteString("PING\r\n")
			want.WriteString("+PONG\r\n")
		}
	}
	go c.Send(in.String()) // the server answers while the client is still writing
	c.Expect(want.String())
}

func TestProtocol_LargeBulkArrivesWhole(t *testing.T) {
	srv, hub := resptest.NewServer(t, nil)
	sub, err := hub.Subscribe("big")
	require.NoError(t, err)
	payload := bytes.Repeat([]byte("0123456789"), 300_000) // 3 MB, read in many pieces
	c := resptest.Dial(t, srv)
	go c.Do("PUBLISH", "big", string(payload))
	c.Expect(":1\r\n")
	m, err := sub.Next(t.Context())
	require.NoError(t, err)
	assert.Equal(t, payload, m.Payload)
}

func TestAuth_RequirePass(t *testing.T) {
	srv, _ := resptest.NewServer(t, &resp.Options{Password: "sekret"})
	for _, tc := range []struct {
		name, in, want string
		closed         bool
	}{
		{"commands need auth", "PING\r\nSUBSCRIBE a\r\nCLIENT ID\r\n",
			"-NOAUTH Authentication required.\r\n-NOAUTH Authentication required.\r\n-NOAUTH Authentication required.\r\n", false},
		{"unknown and arity come first", "FOO\r\nECHO\r\n",
			"-ERR unknown command 'FOO', with args beginning with: \r\n-ERR wrong number of arguments for 'echo' command\r\n", false},
		{"hello without auth", "HELLO 3\r\n", "-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time\r\n", false},
		{"wrong password", "AUTH x\r\n", "-WRONGPASS invalid username-password pair or user is disabled.\r\n", false},
		{"password", "AUTH sekret\r\nPING\r\n", "+OK\r\n+PONG\r\n", false},
		{"user and password", "AUTH default sekret\r\nPING\r\n", "+OK\r\n+PONG\r\n", false},
		{"other user", "AUTH bob sekret\r\n", "-WRONGPASS invalid username-password pair or user is disabled.\r\n", false},
		{"hello auth wrong", "HELLO 3 AUTH default x\r\n", "-WRONGPASS invalid username-password pair or user is disabled.\r\n", false},
		{"reset forgets auth", "AUTH sekret\r\nRESET\r\nPING\r\n", "+OK\r\n+RESET\r\n-NOAUTH Authentication required.\r\n", false},
		{"quit needs no auth", "QUIT\r\n", "+OK\r\n", true},
		{"unauthenticated multibulk length", "*20\r\n", "-ERR Protocol error: unauthenticated multibulk length\r\n", true},
		{"unauthenticated bulk length", "*1\r\n$20000\r\n", "-ERR Protocol error: unauthenticated bulk length\r\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := resptest.Dial(t, srv)
			c.Send(tc.in)
			c.Expect(tc.want)
			if tc.closed {
				c.ExpectClosed()
			}
		})
	}
	c := resptest.Dial(t, srv)
	c.Send("HELLO 3 AUTH default sekret SETNAME app\r\n")
	hello, ok := c.Reply().([]any)
	require.True(t, ok)
	assert.Equal(t, []any{"server", "redis", "version", resp.RedisVersion, "proto", int64(3)}, hello[:6])
	c.Send("CLIENT GETNAME\r\n")
	c.Expect("$3\r\napp\r\n")
	// Reference: redis.conf requirepass; https://redis.io/docs/latest/commands/auth/
}

func TestServer_MaxClientsRefusesTheNextConnection(t *testing.T) {
	srv, _ := resptest.NewServer(t, &resp.Options{MaxClients: 2})
	a, b := resptest.Dial(t, srv), resptest.Dial(t, srv)
	a.Do("PING")
	a.Expect("+PONG\r\n")
	b.Do("PING")
	b.Expect("+PONG\r\n")
	c := resptest.Dial(t, srv)
	c.Expect("-ERR max number of clients reached\r\n")
	c.ExpectClosed()
	assert.Equal(t, int64(1), srv.Stats().Rejected)
	a.Do("QUIT")
	a.Expect("+OK\r\n")
	a.ExpectClosed()
	assert.Equal(t, 1, srv.Stats().Connections, "a closed connection has left before its client sees EOF")
	d := resptest.Dial(t, srv)
	d.Do("PING")
	d.Expect("+PONG\r\n")
	// Reference: redis.conf maxclients
}

func TestServer_NewServerRefusesBadOptions(t *testing.T) {
	_, hub := resptest.NewServer(t, nil)
	for _, o := range []resp.Options{{MaxClients: -1}, {MaxBulkLen: -1}, {IdleTimeout: -1}} {
		_, err := resp.NewServer(hub, &o)
		assert.ErrorIs(t, err, resp.ErrInvalidOptions)
	}
	_, err := resp.NewServer(nil, nil)
	assert.ErrorIs(t, err, resp.ErrInvalidOptions)
}

func TestProtocolError_IsTyped(t *testing.T) {
	err := error(&resp.ProtocolError{Reason: "invalid bulk length"})
	assert.True(t, errors.Is(err, resp.ErrProtocol))
	assert.Equal(t, "Protocol error: invalid bulk length", err.Error())
}
