package kafka

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// conn is one client connection. Its goroutine reads a request, runs it and writes its
// response before it reads the next, as a Kafka broker serves a connection: responses go
// out in request order, and a request that waits (a Fetch's max.wait.ms, a JoinGroup) holds
// back the ones pipelined behind it on the same connection.
type conn struct {
	s  *Server
	nc net.Conn
	r  *bufio.Reader
	w  []byte // the response being written, reused

	clientID string
	// closing ends the connection after the request being served, with no response: how
	// Kafka tells an acks=0 producer that a produce failed.
	closing bool
	// hangUp ends the connection after the response to the request being served (a failed
	// SASL authentication).
	hangUp bool
	// sasl is the connection's authentication state (sasl.go).
	sasl saslState
}

func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{s: s, nc: nc, r: bufio.NewReaderSize(nc, 64<<10), sasl: saslAuthenticated}
	if s.opts.SASLPlainUsers != nil {
		c.sasl = saslHandshake
	}
	return c
}

// header is a request header (v1, or v2 with tagged fields for flexible versions).
type header struct {
	key, version int16
	correlation  int32
}

// errClose ends a connection without a response, as Kafka closes one that sent a request
// it cannot parse.
var errClose = errors.New("tribus/kafka: closing the connection")

func (c *conn) serve() {
	defer c.s.doors.Remove(c.nc)
	defer c.nc.Close()
	for {
		_ = c.nc.SetReadDeadline(time.Now().Add(idle))
		if c.sasl == saslRawToken {
			if err := c.serveRawToken(); err != nil {
				c.s.opts.Logger.Debug("tribus/kafka: SASL", "remote", c.nc.RemoteAddr().String(), "err", err)
				return
			}
			continue
		}
		h, body, err := c.read()
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				c.s.opts.Logger.Debug("tribus/kafka: read", "remote", c.nc.RemoteAddr().String(), "err", err)
			}
			return
		}
		resp, err := c.handle(h, body)
		if err != nil {
			c.s.opts.Logger.Debug("tribus/kafka: request", "key", kmsg.NameForKey(h.key), "version", h.version, "err", err)
			return
		}
		c.s.stats.requests.Add(1)
		if c.closing {
			return
		}
		if resp == nil {
			continue // acks=0: Kafka sends nothing back
		}
		if err := c.write(h, resp); err != nil || c.hangUp {
			return
		}
	}
}

// read reads one request: its size, header and body.
func (c *conn) read() (header, []byte, error) {
	var h header
	var size [4]byte
	if _, err := io.ReadFull(c.r, size[:]); err != nil {
		return h, nil, err
	}
	n := int32(binary.BigEndian.Uint32(size[:]))
	if n < 8 || n > c.s.opts.MaxRequestSize {
		return h, nil, fmt.Errorf("request of %d bytes, socket.request.max.bytes is %d", n, c.s.opts.MaxRequestSize)
	}
	// A new buffer per request: what a request carries (group metadata, assignments) may be
	// kept after it is answered.
	buf := make([]byte, n)
	if _, err := io.ReadFull(c.r, buf); err != nil {
		return h, nil, err
	}
	be := binary.BigEndian
	h.key = int16(be.Uint16(buf[0:]))
	h.version = int16(be.Uint16(buf[2:]))
	h.correlation = int32(be.Uint32(buf[4:]))
	rest := buf[8:]
	if h.key == controlledShutdownKey && h.version == 0 {
		return h, rest, nil // the one request with header v0, without a client id
	}
	if len(rest) < 2 {
		return h, nil, fmt.Errorf("request header truncated")
	}
	idLen := int(int16(be.Uint16(rest)))
	rest = rest[2:]
	if idLen > 0 {
		if idLen > len(rest) {
			return h, nil, fmt.Errorf("client id of %d bytes in %d", idLen, len(rest))
		}
		if c.clientID == "" {
			c.clientID = string(rest[:idLen])
		}
		rest = rest[idLen:]
	}
	return h, rest, nil
}

const controlledShutdownKey = 7

// skipTags skips the tagged fields at the start of b (KIP-482).
func skipTags(b []byte) ([]byte, error) {
	n, w := binary.Uvarint(b)
	if w <= 0 {
		return nil, fmt.Errorf("bad tagged field count")
	}
	b = b[w:]
	for range n {
		_, w := binary.Uvarint(b)
		if w <= 0 {
			return nil, fmt.Errorf("bad tag")
		}
		b = b[w:]
		size, w := binary.Uvarint(b)
		if w <= 0 || size > uint64(len(b)-w) {
			return nil, fmt.Errorf("bad tagged field size")
		}
		b = b[w+int(size):]
	}
	return b, nil
}

// handle parses and runs one request, returning its response (nil for none).
func (c *conn) handle(h header, body []byte) (kmsg.Response, error) {
	a := apiFor(h.key)
	if a == nil {
		return nil, fmt.Errorf("%w: unknown API key %d", errClose, h.key)
	}
	if c.sasl != saslAuthenticated && h.key != int16(kmsg.ApiVersions) && h.key != int16(kmsg.SASLHandshake) &&
		h.key != int16(kmsg.SASLAuthenticate) {
		// Kafka's authenticator closes a connection that sends anything else first.
		return nil, fmt.Errorf("%w: %s before SASL authentication", errClose, kmsg.NameForKey(h.key))
	}
	req := kmsg.RequestForKey(h.key)
	if h.version < 0 || h.version > req.MaxVersion() || (h.key == int16(kmsg.ApiVersions) && h.version > a.max) {
		if h.key == int16(kmsg.ApiVersions) {
			return c.unsupportedAPIVersions(), nil
		}
		return nil, fmt.Errorf("%w: %s version %d is unknown", errClose, kmsg.NameForKey(h.key), h.version)
	}
	req.SetVersion(h.version)
	if req.IsFlexible() {
		var err error
		if body, err = skipTags(body); err != nil {
			return nil, fmt.Errorf("%w: request header: %w", errClose, err)
		}
	}
	if err := req.ReadFrom(body); err != nil {
		if h.key == int16(kmsg.ApiVersions) {
			// KIP-511: an ApiVersions the broker cannot parse still gets the versions, so
			// that a newer client can fall back.
			return c.unsupportedAPIVersions(), nil
		}
		return nil, fmt.Errorf("%w: %s v%d: %w", errClose, kmsg.NameForKey(h.key), h.version, err)
	}
	if h.version < a.min || h.version > a.max {
		if a.refuse == nil {
			return nil, fmt.Errorf("%w: %s version %d is not served", errClose, kmsg.NameForKey(h.key), h.version)
		}
		return a.refuse(req, codeUnsupportedVersion), nil
	}
	return a.serve(c, req), nil
}

// write sends resp for the request h.
func (c *conn) write(h header, resp kmsg.Response) error {
	b := append(c.w[:0], 0, 0, 0, 0)
	b = binary.BigEndian.AppendUint32(b, uint32(h.correlation))
	if resp.IsFlexible() && h.key != int16(kmsg.ApiVersions) { // ApiVersions keeps header v0 (KIP-511)
		b = append(b, 0)
	}
	b = resp.AppendTo(b)
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	c.w = b
	if cap(c.w) > 1<<20 {
		c.w = nil // do not keep a large fetch's buffer for the connection's life
	}
	_, err := c.nc.Write(b)
	return err
}
