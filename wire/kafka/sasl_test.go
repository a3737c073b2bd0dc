package kafka

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var saslUsers = &Options{SASLPlainUsers: map[string]string{"alice": "s3cret"}}

// handshake sends a SaslHandshake for mechanism at version v.
func handshake(t *testing.T, nc net.Conn, r *bufio.Reader, mechanism string, v int16) *kmsg.SASLHandshakeResponse {
	t.Helper()
	req := kmsg.NewPtrSASLHandshakeRequest()
	req.Mechanism = mechanism
	resp := kmsg.NewPtrSASLHandshakeResponse()
	roundTrip(t, nc, r, req, v, resp)
	return resp
}

// authenticate sends a SaslAuthenticate v2 with a PLAIN token.
func authenticate(t *testing.T, nc net.Conn, r *bufio.Reader, token string) *kmsg.SASLAuthenticateResponse {
	t.Helper()
	req := kmsg.NewPtrSASLAuthenticateRequest()
	req.SASLAuthBytes = []byte(token)
	resp := kmsg.NewPtrSASLAuthenticateResponse()
	roundTrip(t, nc, r, req, 2, resp)
	return resp
}

// metadataWorks reports whether a Metadata request is answered on nc.
func metadataWorks(t *testing.T, nc net.Conn, r *bufio.Reader) {
	t.Helper()
	resp := kmsg.NewPtrMetadataResponse()
	roundTrip(t, nc, r, kmsg.NewPtrMetadataRequest(), 12, resp)
	assert.Len(t, resp.Brokers, 1)
}

// assertClosed checks that the server closed nc.
func assertClosed(t *testing.T, r *bufio.Reader) {
	t.Helper()
	_, err := r.ReadByte()
	assert.ErrorIs(t, err, io.EOF, "the server closed the connection")
}

func TestSASL_RequestBeforeAuthenticationClosesTheConnection(t *testing.T) {
	_, nc := dialTest(t, saslUsers)
	r := bufio.NewReader(nc)
	// ApiVersions is served before authentication, as Kafka serves it.
	resp := kmsg.NewPtrApiVersionsResponse()
	roundTrip(t, nc, r, kmsg.NewPtrApiVersionsRequest(), 3, resp)
	assert.Equal(t, codeNone, resp.ErrorCode)
	req := kmsg.NewPtrMetadataRequest()
	req.SetVersion(12)
	_, err := nc.Write(kmsg.NewRequestFormatter().AppendRequest(nil, req, 1))
	require.NoError(t, err)
	assertClosed(t, r)
}

func TestSASL_PlainAuthenticatesWithSaslAuthenticate(t *testing.T) {
	for _, tc := range []struct {
		name, token string
		ok          bool
	}{
		{"right password", "\x00alice\x00s3cret", true},
		{"authorization id of the user", "alice\x00alice\x00s3cret", true},
		{"wrong password", "\x00alice\x00guess", false},
		{"unknown user", "\x00bob\x00s3cret", false},
		{"another authorization id", "bob\x00alice\x00s3cret", false},
		{"malformed", "alice:s3cret", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, nc := dialTest(t, saslUsers)
			r := bufio.NewReader(nc)
			hs := handshake(t, nc, r, "PLAIN", 1)
			require.Equal(t, codeNone, hs.ErrorCode)
			assert.Equal(t, []string{"PLAIN"}, hs.SupportedMechanisms)
			auth := authenticate(t, nc, r, tc.token)
			if !tc.ok {
				assert.Equal(t, codeSASLAuthenticationFailed, auth.ErrorCode)
				assertClosed(t, r)
				return
			}
			require.Equal(t, codeNone, auth.ErrorCode)
			metadataWorks(t, nc, r)
			again := handshake(t, nc, r, "PLAIN", 1)
			assert.Equal(t, codeIllegalSASLState, again.ErrorCode, "no re-authentication")
		})
	}
}

// After a v0 handshake the token goes unwrapped, and PLAIN answers an empty one (KIP-152).
func TestSASL_PlainV0HandshakeTakesARawToken(t *testing.T) {
	_, nc := dialTest(t, saslUsers)
	r := bufio.NewReader(nc)
	require.Equal(t, codeNone, handshake(t, nc, r, "PLAIN", 0).ErrorCode)
	token := []byte("\x00alice\x00s3cret")
	_, err := nc.Write(append(binary.BigEndian.AppendUint32(nil, uint32(len(token))), token...))
	require.NoError(t, err)
	var size [4]byte
	_, err = io.ReadFull(r, size[:])
	require.NoError(t, err)
	assert.Zero(t, binary.BigEndian.Uint32(size[:]), "an empty server token")
	metadataWorks(t, nc, r)
}

func TestSASL_HandshakeErrors(t *testing.T) {
	_, nc := dialTest(t, saslUsers)
	r := bufio.NewReader(nc)
	hs := handshake(t, nc, r, "SCRAM-SHA-256", 1)
	assert.Equal(t, codeUnsupportedSASLMechanism, hs.ErrorCode)
	assert.Equal(t, []string{"PLAIN"}, hs.SupportedMechanisms, "the mechanisms it has")

	_, plain := dialTest(t, nil)
	pr := bufio.NewReader(plain)
	assert.Equal(t, codeIllegalSASLState, handshake(t, plain, pr, "PLAIN", 1).ErrorCode, "a server without SASL")
	metadataWorks(t, plain, pr)
}
