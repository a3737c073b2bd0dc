package exchange

import (
	"errors"
	"fmt"

	"github.com/tribusmq/tribus/internal/sentinel"
)

// The sentinels below are AMQP 0-9-1 reply codes; [ReplyCode] maps an error back to its code,
// so a wire front door is a table lookup. An error that closes an AMQP channel closes the
// [Session] it happened on, one that closes an AMQP connection (503, 530, 502, 540) closes
// its [Connection]; the text says why, as RabbitMQ's close reason does.
var (
	// ErrClosed is returned by every call on a closed Router or Session.
	// errors.Is(err, tribus.ErrClosed) holds for it.
	ErrClosed = fmt.Errorf("tribus/exchange: %w", sentinel.ErrClosed)

	// ErrNotFound (404 NOT_FOUND): the exchange or queue does not exist.
	ErrNotFound = errors.New("tribus/exchange: NOT_FOUND")

	// ErrPreconditionFailed (406 PRECONDITION_FAILED): a redeclaration that differs from the
	// existing entity, an argument of the wrong type or value, an unknown or already-settled
	// delivery tag, a delete with if-unused or if-empty that does not hold.
	ErrPreconditionFailed = errors.New("tribus/exchange: PRECONDITION_FAILED")

	// ErrResourceLocked (405 RESOURCE_LOCKED): an exclusive queue used from a connection other
	// than the one that declared it, a declaration whose exclusive flag differs from the
	// queue's, or an exclusive consume on a single-active-consumer queue.
	ErrResourceLocked = errors.New("tribus/exchange: RESOURCE_LOCKED")

	// ErrAccessRefused (403 ACCESS_REFUSED): a reserved `amq.` name, a publish to an internal
	// exchange, or a consume refused because the queue has an exclusive consumer or, for an
	// exclusive consume, any consumer (A59).
	ErrAccessRefused = errors.New("tribus/exchange: ACCESS_REFUSED")

	// ErrInvalidOptions is returned by [New] for options out of range.
	ErrInvalidOptions = errors.New("tribus/exchange: invalid options")

	// ErrSyntaxError (502 SYNTAX_ERROR): a value the AMQP 0-9-1 wire cannot carry: a short
	// string (name, routing or binding key, consumer tag, table field name, string property
	// of a Publishing) over [MaxShortString] bytes, or a prefetch count over [MaxPrefetch].
	// RabbitMQ never sees such a frame (amqp091-go refuses to encode it, and its own
	// unsupported-type error carries 502), so the code the spec gives a frame with illegal
	// field values is the honest one; it closes the session, as 502 closes a connection.
	ErrSyntaxError = errors.New("tribus/exchange: SYNTAX_ERROR")

	// ErrMessageTooLarge (406 PRECONDITION_FAILED, which it wraps): a published body larger
	// than Options.MaxMessageSize, as RabbitMQ's max_message_size check refuses it.
	ErrMessageTooLarge = fmt.Errorf("%w: message too large", ErrPreconditionFailed)

	// ErrTableTooLarge (406 PRECONDITION_FAILED, which it wraps): a headers or arguments table
	// over [MaxTableFields] fields, nested deeper than [MaxTableDepth], or whose AMQP encoding
	// exceeds Options.MaxMessageSize.
	ErrTableTooLarge = fmt.Errorf("%w: table too large", ErrPreconditionFailed)
)

// ErrMalformedHeader is returned by [Deaths] for an x-death header that is not what RabbitMQ
// writes: not an array of tables, or an entry without its queue, reason or count, or with a
// field of the wrong type. Such a header can only come from a publisher, since the router
// replaces x-death whenever it dead-letters a message. It is no AMQP reply code and closes
// nothing.
var ErrMalformedHeader = errors.New("tribus/exchange: malformed header")

// ErrConnectionForced is the reason to give [Connection.CloseWith] for a connection closed
// from outside its client's requests, by an operator or by a test's injected crash: reply 320
// CONNECTION_FORCED, which the AMQP front door sends its client, as rabbitmqctl
// close_connection makes RabbitMQ do. Wrap it to add an explanation.
var ErrConnectionForced = errors.New("tribus/exchange: CONNECTION_FORCED")

// ReplyCode returns the AMQP reply code of err: 404, 406, 405, 403, 503, 530, 502, 540, 312 for a
// [*ReturnedError], 504 (CHANNEL_ERROR) for ErrClosed, 320 for ErrConnectionForced, 0 for nil
// and 541 (INTERNAL_ERROR) otherwise.
func ReplyCode(err error) int {
	var ret *ReturnedError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ret):
		return ret.ReplyCode
	case errors.Is(err, ErrNotFound):
		return 404
	case errors.Is(err, ErrPreconditionFailed):
		return 406
	case errors.Is(err, ErrResourceLocked):
		return 405
	case errors.Is(err, ErrAccessRefused):
		return 403
	case errors.Is(err, ErrCommandInvalid):
		return 503
	case errors.Is(err, ErrNotAllowed):
		return 530
	case errors.Is(err, ErrSyntaxError):
		return 502
	case errors.Is(err, ErrNotImplemented):
		return 540
	case errors.Is(err, ErrClosed):
		return 504
	case errors.Is(err, ErrConnectionForced):
		return 320
	}
	return 541
}

// ReturnedError is the error [Session.Publish] returns for a mandatory message that reached no
// queue: RabbitMQ's basic.return with 312 NO_ROUTE (A14). The publish itself succeeded (in
// confirm mode it is acked, after the return: A17) and the session stays open.
type ReturnedError struct {
	ReplyCode  int    // 312
	ReplyText  string // "NO_ROUTE"
	Exchange   string
	RoutingKey string
	Message    Publishing
}

func (e *ReturnedError) Error() string {
	return fmt.Sprintf("tribus/exchange: message returned: %d %s (exchange %q, routing key %q)",
		e.ReplyCode, e.ReplyText, e.Exchange, e.RoutingKey)
}

// ErrCommandInvalid (503 COMMAND_INVALID): an unknown exchange type. A connection error: it
// closes the session's connection.
var ErrCommandInvalid = errors.New("tribus/exchange: COMMAND_INVALID")

// ErrNotImplemented (540 NOT_IMPLEMENTED): a method RabbitMQ does not implement either, such
// as basic.recover without requeue. A connection error.
var ErrNotImplemented = errors.New("tribus/exchange: NOT_IMPLEMENTED")

// Errors of the resource alarms (alarm.go). They are not channel errors: the session stays
// open.
var (
	// ErrMemoryAlarm is returned by a publish while the memory alarm is on
	// (Options.MemoryHighWatermark): at once with Options.FailFastOnAlarm, else together with
	// ctx's error when ctx ended while the publish waited.
	ErrMemoryAlarm = errors.New("tribus/exchange: memory alarm: low on memory")

	// ErrDiskFull is returned by a publish while the disk alarm is on (Options.DiskFree
	// refused): at once with Options.FailFastOnAlarm, else together with ctx's error when ctx
	// ended while the publish waited. errors.Is(err, tribus.ErrDiskFull) holds for it.
	ErrDiskFull = fmt.Errorf("tribus/exchange: disk alarm: %w", sentinel.ErrDiskFull)

	// ErrRequeueInstead is for a [Faults].BeforeSettle hook to return: the settle becomes a
	// nack with requeue, and the caller is told it succeeded.
	ErrRequeueInstead = errors.New("tribus/exchange: requeue instead (a fault hook's verdict)")
)
