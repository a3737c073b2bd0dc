package inproc

import "strconv"

// Network is the network name of every in-process address, returned by [Addr.Network].
const Network = "inproc"

// Addr is the address of a [Listener] or of one end of an in-process connection. It is a plain
// value: two Addrs are equal when their fields are.
//
// A Listener's address is its name with ID 0. A connection dialled through it has, like a TCP
// connection, the listener's address on the server end and its own numbered address on the
// client end: the client's [net.Conn.LocalAddr] and the server's [net.Conn.RemoteAddr] are
// {Name, ID} with ID counting the listener's dials from 1, so NewListener("") hands out
// "inproc:1", "inproc:2", and so on. Both ends of a [Pipe] have the address {"pipe", 0}: Pipe
// keeps no counter, so that the package holds no mutable state.
type Addr struct {
	// Name is the listener's name, or "pipe" for a connection made by [Pipe] or [PipeSize].
	Name string
	// ID numbers the connections dialled through one listener, from 1. It is 0 for the
	// listener itself, for the server end's local address and for both ends of a Pipe.
	ID uint64
}

// Network returns [Network], "inproc".
func (Addr) Network() string { return Network }

// String returns the name alone when ID is 0 and "name:ID" otherwise, such as "inproc:1".
func (a Addr) String() string {
	if a.ID == 0 {
		return a.Name
	}
	return a.Name + ":" + strconv.FormatUint(a.ID, 10)
}
