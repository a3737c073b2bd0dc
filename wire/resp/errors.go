package resp

import (
	"errors"
)

var (
	// ErrServerClosed is returned by [Server.Serve] and [Server.Dial] after [Server.Close].
	ErrServerClosed = errors.New("tribus/resp: server closed")

	// ErrProtocol is matched (errors.Is) by every [*ProtocolError]: a request that is not
	// valid RESP. The connection that sent it is closed after the error reply, as in Redis.
	ErrProtocol = errors.New("tribus/resp: protocol error")

	// ErrInvalidOptions is returned by [NewServer] for options out of range.
	ErrInvalidOptions = errors.New("tribus/resp: invalid options")
)
