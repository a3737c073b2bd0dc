// Package wire holds what the front doors (wire/resp, wire/amqp, wire/kafka) share with their
// users: the events of their connections, for an observer such as the broker's trace.
//
// # Concurrency
//
// It has no state. A door calls its observer on the goroutine that admitted or ended the
// connection, with none of the door's locks held.
package wire

import "time"

// ConnEventKind says what happened to a front door's connection.
type ConnEventKind uint8

// The events of a front door's connections.
const (
	// ConnOpened: a client's connection was accepted (or dialled in process) and is being
	// served; it counts towards the door's connection limit.
	ConnOpened ConnEventKind = iota + 1
	// ConnClosed: the connection ended, whoever ended it: the client, the server after an
	// error or a limit, a dropped connection, or the door's Close.
	ConnClosed
)

var connEventNames = [...]string{"", "connection-opened", "connection-closed"}

// String returns the kind's name: "connection-opened" or "connection-closed".
func (k ConnEventKind) String() string {
	if int(k) < len(connEventNames) && k != 0 {
		return connEventNames[k]
	}
	return "unknown"
}

// ConnEvent is a connection of a front door opening or closing.
type ConnEvent struct {
	Kind   ConnEventKind
	Time   time.Time
	Door   string // "redis", "amqp" or "kafka"
	Remote string // the client's address ("pipe" for an in-process dial)
	Count  int    // the door's connections once the event happened
}
