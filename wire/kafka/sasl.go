package kafka

import (
	"bytes"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// SASL error codes.
const (
	codeUnsupportedSASLMechanism int16 = 33
	codeIllegalSASLState         int16 = 34
	codeSASLAuthenticationFailed int16 = 58
)

const mechanismPlain = "PLAIN"

// saslState is where a connection is in SASL authentication (Kafka's SaslServerAuthenticator).
type saslState uint8

const (
	saslHandshake     saslState = iota // before SaslHandshake: only ApiVersions and it are served
	saslAuthenticate                   // after a v1 handshake: SaslAuthenticate is next
	saslRawToken                       // after a v0 handshake: a raw token frame is next
	saslAuthenticated                  // or no SASL configured: every request is served
)

// serveSASLHandshake picks the mechanism. On a server without SASL, or once authenticated,
// it is ILLEGAL_SASL_STATE, as Kafka answers it outside the authenticator.
func serveSASLHandshake(c *conn, req *kmsg.SASLHandshakeRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.SASLHandshakeResponse)
	if c.sasl != saslHandshake {
		resp.ErrorCode = codeIllegalSASLState
		return resp
	}
	resp.SupportedMechanisms = []string{mechanismPlain}
	if req.Mechanism != mechanismPlain {
		resp.ErrorCode = codeUnsupportedSASLMechanism
		return resp
	}
	c.sasl = saslAuthenticate
	if req.Version == 0 {
		c.sasl = saslRawToken // KIP-152: v0 tokens go unwrapped
	}
	return resp
}

// serveSASLAuthenticate checks a PLAIN token. A failure is answered, then the connection is
// closed, as Kafka does.
func serveSASLAuthenticate(c *conn, req *kmsg.SASLAuthenticateRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.SASLAuthenticateResponse)
	if c.sasl != saslAuthenticate {
		resp.ErrorCode = codeIllegalSASLState
		resp.ErrorMessage = kmsg.StringPtr("SaslAuthenticate is not expected now")
		if c.sasl == saslHandshake {
			c.hangUp = true
		}
		return resp
	}
	if err := c.s.authenticatePlain(req.SASLAuthBytes); err != nil {
		resp.ErrorCode, resp.ErrorMessage = codeSASLAuthenticationFailed, kmsg.StringPtr(err.Error())
		c.hangUp = true
		return resp
	}
	c.sasl = saslAuthenticated
	resp.SASLAuthBytes = []byte{}
	return resp
}

// serveRawToken reads and checks the raw PLAIN token that follows a v0 handshake, answering
// an empty token on success; any failure ends the connection.
func (c *conn) serveRawToken() error {
	var size [4]byte
	if _, err := io.ReadFull(c.r, size[:]); err != nil {
		return err
	}
	n := binary.BigEndian.Uint32(size[:])
	if n > 64<<10 {
		return fmt.Errorf("SASL token of %d bytes", n)
	}
	token := make([]byte, n)
	if _, err := io.ReadFull(c.r, token); err != nil {
		return err
	}
	if err := c.s.authenticatePlain(token); err != nil {
		return err
	}
	c.sasl = saslAuthenticated
	_, err := c.nc.Write([]byte{0, 0, 0, 0})
	return err
}

// authenticatePlain checks a PLAIN token (RFC 4616: authzid NUL authcid NUL passwd) against
// the server's users. An authorization id other than the user is refused, as in Kafka.
func (s *Server) authenticatePlain(token []byte) error {
	parts := bytes.Split(token, []byte{0})
	if len(parts) != 3 {
		return fmt.Errorf("authentication failed: invalid SASL/PLAIN response: expected 3 tokens, got %d", len(parts))
	}
	authz, user, pass := string(parts[0]), string(parts[1]), parts[2]
	if user == "" || len(pass) == 0 {
		return errors.New("authentication failed: username or password is empty")
	}
	if authz != "" && authz != user {
		return errors.New("authentication failed: the authorization id differs from the user name")
	}
	want, ok := s.opts.SASLPlainUsers[user]
	// Compare whatever the user, so that the time taken does not tell which users exist.
	if subtle.ConstantTimeCompare([]byte(want), pass) != 1 || !ok {
		return errors.New("authentication failed: invalid username or password")
	}
	return nil
}
