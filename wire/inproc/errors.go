package inproc

import (
	"fmt"
	"net"
)

// Errors from a connection are the standard library's, wrapped in a *net.OpError (Op "read",
// "write" or "set", Net "inproc") the way a TCP connection reports them, so code written
// against sockets needs no change:
//
//   - net.ErrClosed: Read, Write and the Set*Deadline methods after this end's Close.
//   - io.ErrClosedPipe: Write after the other end closed (a socket would say EPIPE).
//   - os.ErrDeadlineExceeded: a Read or Write whose deadline passed; the *net.OpError is a
//     net.Error whose Timeout reports true.
//   - io.EOF, returned bare as io.Reader requires: Read after the other end closed and every
//     byte it wrote has been read.
var (
	// ErrListenerClosed is returned, wrapped in a *net.OpError, by [Listener.Accept] and
	// [Listener.Dial] once [Listener.Close] has been called. errors.Is(err, net.ErrClosed)
	// holds for it.
	ErrListenerClosed = fmt.Errorf("tribus/wire/inproc: listener closed: %w", net.ErrClosed)
)
