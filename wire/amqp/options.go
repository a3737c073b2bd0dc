package amqp

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/tribusmq/tribus/exchange"
	"github.com/tribusmq/tribus/wire"
)

// RabbitMQ's defaults for what a connection negotiates (rabbit.app: channel_max,
// frame_max, heartbeat).
const (
	DefaultChannelMax = 2047
	DefaultFrameMax   = 131072
	DefaultHeartbeat  = 60 * time.Second
)

// Options configures a [Server]. The zero value, and nil, give RabbitMQ's defaults: the
// single user guest/guest, allowed only from loopback (and in-process) connections, and the
// single virtual host "/".
type Options struct {
	// Users maps each user name to its password. nil means {"guest": "guest"}.
	Users map[string]string
	// LoopbackUsers may connect only over loopback or in process, as RabbitMQ's
	// loopback_users. nil means ["guest"]; an empty non-nil slice lifts the restriction.
	LoopbackUsers []string
	// VHosts are the virtual hosts beyond "/", each with its own router: names, queues and
	// exchanges of one are not seen from another. "/" is always the router given to NewServer.
	VHosts map[string]*exchange.Router
	// ChannelMax, FrameMax and Heartbeat are what the server proposes in connection.tune; 0
	// means RabbitMQ's defaults, and a negative Heartbeat proposes none. A client may lower
	// them, not raise them.
	ChannelMax uint16
	FrameMax   uint32
	Heartbeat  time.Duration
	// MaxConnections refuses connections beyond it; 0 means no limit.
	MaxConnections int
	// Version, if set, is reported in the server properties.
	Version string
	// Logger receives connection errors at Debug level. nil discards them.
	Logger *slog.Logger
	// Observer, if set, is called when a client's connection opens and when it closes
	// (wire.ConnEvent), on the connection's goroutine with none of the server's locks held;
	// it must be quick. nil costs nothing.
	Observer func(wire.ConnEvent)
}

// Validate reports, as [ErrInvalidOptions], what [NewServer] would refuse in o. nil is valid.
func (o *Options) Validate() error {
	_, err := o.resolve(nil)
	return err
}

// resolve checks o and fills in the defaults; root is the router of "/".
func (o *Options) resolve(root *exchange.Router) (Options, error) {
	var v Options
	if o != nil {
		v = *o
	}
	if v.MaxConnections < 0 {
		return v, fmt.Errorf("%w: MaxConnections must not be negative", ErrInvalidOptions)
	}
	if v.FrameMax != 0 && v.FrameMax < 4096 {
		return v, fmt.Errorf("%w: FrameMax %d is below AMQP's frame-min-size 4096", ErrInvalidOptions, v.FrameMax)
	}
	if v.Users == nil {
		v.Users = map[string]string{exchange.DefaultUser: exchange.DefaultUser}
	}
	if v.LoopbackUsers == nil {
		v.LoopbackUsers = []string{exchange.DefaultUser}
	}
	vhosts := map[string]*exchange.Router{"/": root}
	for name, r := range v.VHosts {
		if name == "/" || r == nil {
			return v, fmt.Errorf("%w: virtual host %q needs a router of its own", ErrInvalidOptions, name)
		}
		vhosts[name] = r
	}
	v.VHosts = vhosts
	if v.ChannelMax == 0 {
		v.ChannelMax = DefaultChannelMax
	}
	if v.FrameMax == 0 {
		v.FrameMax = DefaultFrameMax
	}
	switch {
	case v.Heartbeat == 0:
		v.Heartbeat = DefaultHeartbeat
	case v.Heartbeat < 0:
		v.Heartbeat = 0
	}
	if v.Logger == nil {
		v.Logger = slog.New(slog.DiscardHandler)
	}
	return v, nil
}
