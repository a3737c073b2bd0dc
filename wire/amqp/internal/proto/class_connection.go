package proto

import "github.com/tribusmq/tribus/exchange"

// The connection class (10): the handshake, tuning, closing, flow alarms and secret update,
// all on channel 0.

func newConnectionMethod(id uint16) Method {
	switch id {
	case 10:
		return &ConnectionStart{}
	case 11:
		return &ConnectionStartOk{}
	case 20:
		return &ConnectionSecure{}
	case 21:
		return &ConnectionSecureOk{}
	case 30:
		return &ConnectionTune{}
	case 31:
		return &ConnectionTuneOk{}
	case 40:
		return &ConnectionOpen{}
	case 41:
		return &ConnectionOpenOk{}
	case 50:
		return &ConnectionClose{}
	case 51:
		return &ConnectionCloseOk{}
	case 60:
		return &ConnectionBlocked{}
	case 61:
		return &ConnectionUnblocked{}
	case 70:
		return &ConnectionUpdateSecret{}
	case 71:
		return &ConnectionUpdateSecretOk{}
	}
	return nil
}

// ConnectionStart is connection.start (10/10), the server's first method: the protocol
// version (0, 9), the server's properties, and space-separated lists of SASL mechanisms and
// locales.
type ConnectionStart struct {
	VersionMajor, VersionMinor uint8
	ServerProperties           exchange.Table
	Mechanisms, Locales        string // longstr
}

func (*ConnectionStart) ClassID() uint16  { return ClassConnection }
func (*ConnectionStart) MethodID() uint16 { return 10 }
func (*ConnectionStart) HasContent() bool { return false }
func (*ConnectionStart) name() string     { return "connection.start" }

func (m *ConnectionStart) appendArgs(b []byte) []byte {
	b = append(b, m.VersionMajor, m.VersionMinor)
	b = AppendTable(b, m.ServerProperties)
	b = appendLongstr(b, m.Mechanisms)
	return appendLongstr(b, m.Locales)
}

func (m *ConnectionStart) decode(args []byte) error {
	d := decoder{b: args}
	m.VersionMajor = d.u8()
	m.VersionMinor = d.u8()
	m.ServerProperties = d.table(0)
	m.Mechanisms = d.longstr()
	m.Locales = d.longstr()
	return d.end()
}

// ConnectionStartOk is connection.start-ok (10/11): the client's properties, its chosen
// mechanism and locale, and the SASL response (for PLAIN, "\x00user\x00password").
type ConnectionStartOk struct {
	ClientProperties exchange.Table
	Mechanism        string
	Response         string // longstr
	Locale           string
}

func (*ConnectionStartOk) ClassID() uint16  { return ClassConnection }
func (*ConnectionStartOk) MethodID() uint16 { return 11 }
func (*ConnectionStartOk) HasContent() bool { return false }
func (*ConnectionStartOk) name() string     { return "connection.start-ok" }

func (m *ConnectionStartOk) appendArgs(b []byte) []byte {
	b = AppendTable(b, m.ClientProperties)
	b = appendShortstr(b, m.Mechanism)
	b = appendLongstr(b, m.Response)
	return appendShortstr(b, m.Locale)
}

func (m *ConnectionStartOk) decode(args []byte) error {
	d := decoder{b: args}
	m.ClientProperties = d.table(0)
	m.Mechanism = d.shortstr()
	m.Response = d.longstr()
	m.Locale = d.shortstr()
	return d.end()
}

// ConnectionSecure is connection.secure (10/20): a SASL challenge.
type ConnectionSecure struct {
	Challenge string // longstr
}

func (*ConnectionSecure) ClassID() uint16  { return ClassConnection }
func (*ConnectionSecure) MethodID() uint16 { return 20 }
func (*ConnectionSecure) HasContent() bool { return false }
func (*ConnectionSecure) name() string     { return "connection.secure" }

func (m *ConnectionSecure) appendArgs(b []byte) []byte { return appendLongstr(b, m.Challenge) }

func (m *ConnectionSecure) decode(args []byte) error {
	d := decoder{b: args}
	m.Challenge = d.longstr()
	return d.end()
}

// ConnectionSecureOk is connection.secure-ok (10/21): the answer to a SASL challenge.
type ConnectionSecureOk struct {
	Response string // longstr
}

func (*ConnectionSecureOk) ClassID() uint16  { return ClassConnection }
func (*ConnectionSecureOk) MethodID() uint16 { return 21 }
func (*ConnectionSecureOk) HasContent() bool { return false }
func (*ConnectionSecureOk) name() string     { return "connection.secure-ok" }

func (m *ConnectionSecureOk) appendArgs(b []byte) []byte { return appendLongstr(b, m.Response) }

func (m *ConnectionSecureOk) decode(args []byte) error {
	d := decoder{b: args}
	m.Response = d.longstr()
	return d.end()
}

// ConnectionTune is connection.tune (10/30): the server's limits. FrameMax counts the 8
// bytes of framing; 0 in any field means no limit (Heartbeat 0: no heartbeats).
type ConnectionTune struct {
	ChannelMax uint16
	FrameMax   uint32
	Heartbeat  uint16 // seconds
}

func (*ConnectionTune) ClassID() uint16  { return ClassConnection }
func (*ConnectionTune) MethodID() uint16 { return 30 }
func (*ConnectionTune) HasContent() bool { return false }
func (*ConnectionTune) name() string     { return "connection.tune" }

func (m *ConnectionTune) appendArgs(b []byte) []byte {
	return appendTune(b, m.ChannelMax, m.FrameMax, m.Heartbeat)
}

func (m *ConnectionTune) decode(args []byte) error {
	var err error
	m.ChannelMax, m.FrameMax, m.Heartbeat, err = decodeTune(args)
	return err
}

// ConnectionTuneOk is connection.tune-ok (10/31): the values the client chose, as
// [ConnectionTune] counts them.
type ConnectionTuneOk struct {
	ChannelMax uint16
	FrameMax   uint32
	Heartbeat  uint16 // seconds
}

func (*ConnectionTuneOk) ClassID() uint16  { return ClassConnection }
func (*ConnectionTuneOk) MethodID() uint16 { return 31 }
func (*ConnectionTuneOk) HasContent() bool { return false }
func (*ConnectionTuneOk) name() string     { return "connection.tune-ok" }

func (m *ConnectionTuneOk) appendArgs(b []byte) []byte {
	return appendTune(b, m.ChannelMax, m.FrameMax, m.Heartbeat)
}

func (m *ConnectionTuneOk) decode(args []byte) error {
	var err error
	m.ChannelMax, m.FrameMax, m.Heartbeat, err = decodeTune(args)
	return err
}

func appendTune(b []byte, channelMax uint16, frameMax uint32, heartbeat uint16) []byte {
	return appendUint16(appendUint32(appendUint16(b, channelMax), frameMax), heartbeat)
}

func decodeTune(args []byte) (channelMax uint16, frameMax uint32, heartbeat uint16, err error) {
	d := decoder{b: args}
	channelMax = d.u16()
	frameMax = d.u32()
	heartbeat = d.u16()
	return channelMax, frameMax, heartbeat, d.end()
}

// ConnectionOpen is connection.open (10/40): the virtual host to open. Its reserved
// capabilities and insist arguments are written empty and ignored when read.
type ConnectionOpen struct {
	VirtualHost string
}

func (*ConnectionOpen) ClassID() uint16  { return ClassConnection }
func (*ConnectionOpen) MethodID() uint16 { return 40 }
func (*ConnectionOpen) HasContent() bool { return false }
func (*ConnectionOpen) name() string     { return "connection.open" }

func (m *ConnectionOpen) appendArgs(b []byte) []byte {
	b = appendShortstr(b, m.VirtualHost)
	return append(b, 0, 0) // reserved-1 capabilities "", reserved-2 insist false
}

func (m *ConnectionOpen) decode(args []byte) error {
	d := decoder{b: args}
	m.VirtualHost = d.shortstr()
	d.skipShortstr()
	d.u8()
	return d.end()
}

// ConnectionOpenOk is connection.open-ok (10/41). Its reserved known-hosts argument is
// written empty.
type ConnectionOpenOk struct{}

func (*ConnectionOpenOk) ClassID() uint16            { return ClassConnection }
func (*ConnectionOpenOk) MethodID() uint16           { return 41 }
func (*ConnectionOpenOk) HasContent() bool           { return false }
func (*ConnectionOpenOk) name() string               { return "connection.open-ok" }
func (*ConnectionOpenOk) appendArgs(b []byte) []byte { return append(b, 0) }

func (*ConnectionOpenOk) decode(args []byte) error {
	d := decoder{b: args}
	d.skipShortstr()
	return d.end()
}

// ConnectionClose is connection.close (10/50): a reply code and text and, when a method
// caused it, that method's ids (0 otherwise). The spec calls the last two class-id and
// method-id; they are FailedClassID and FailedMethodID here because every method has
// [Method.ClassID] and [Method.MethodID].
type ConnectionClose struct {
	ReplyCode                     uint16
	ReplyText                     string
	FailedClassID, FailedMethodID uint16
}

func (*ConnectionClose) ClassID() uint16  { return ClassConnection }
func (*ConnectionClose) MethodID() uint16 { return 50 }
func (*ConnectionClose) HasContent() bool { return false }
func (*ConnectionClose) name() string     { return "connection.close" }

func (m *ConnectionClose) appendArgs(b []byte) []byte {
	return appendClose(b, m.ReplyCode, m.ReplyText, m.FailedClassID, m.FailedMethodID)
}

func (m *ConnectionClose) decode(args []byte) error {
	var err error
	m.ReplyCode, m.ReplyText, m.FailedClassID, m.FailedMethodID, err = decodeClose(args)
	return err
}

func appendClose(b []byte, code uint16, text string, classID, methodID uint16) []byte {
	b = appendShortstr(appendUint16(b, code), text)
	return appendUint16(appendUint16(b, classID), methodID)
}

func decodeClose(args []byte) (code uint16, text string, classID, methodID uint16, err error) {
	d := decoder{b: args}
	code = d.u16()
	text = d.shortstr()
	classID = d.u16()
	methodID = d.u16()
	return code, text, classID, methodID, d.end()
}

// ConnectionCloseOk is connection.close-ok (10/51).
type ConnectionCloseOk struct{ noArgs }

func (*ConnectionCloseOk) ClassID() uint16  { return ClassConnection }
func (*ConnectionCloseOk) MethodID() uint16 { return 51 }
func (*ConnectionCloseOk) HasContent() bool { return false }
func (*ConnectionCloseOk) name() string     { return "connection.close-ok" }

// ConnectionBlocked is connection.blocked (10/60): the server stopped reading publishes,
// for the reason given (RabbitMQ: "low on memory", "low on disk").
type ConnectionBlocked struct {
	Reason string
}

func (*ConnectionBlocked) ClassID() uint16  { return ClassConnection }
func (*ConnectionBlocked) MethodID() uint16 { return 60 }
func (*ConnectionBlocked) HasContent() bool { return false }
func (*ConnectionBlocked) name() string     { return "connection.blocked" }

func (m *ConnectionBlocked) appendArgs(b []byte) []byte { return appendShortstr(b, m.Reason) }

func (m *ConnectionBlocked) decode(args []byte) error {
	d := decoder{b: args}
	m.Reason = d.shortstr()
	return d.end()
}

// ConnectionUnblocked is connection.unblocked (10/61).
type ConnectionUnblocked struct{ noArgs }

func (*ConnectionUnblocked) ClassID() uint16  { return ClassConnection }
func (*ConnectionUnblocked) MethodID() uint16 { return 61 }
func (*ConnectionUnblocked) HasContent() bool { return false }
func (*ConnectionUnblocked) name() string     { return "connection.unblocked" }

// ConnectionUpdateSecret is connection.update-secret (10/70): a new credential, such as a
// refreshed OAuth token, and why.
type ConnectionUpdateSecret struct {
	NewSecret string // longstr
	Reason    string
}

func (*ConnectionUpdateSecret) ClassID() uint16  { return ClassConnection }
func (*ConnectionUpdateSecret) MethodID() uint16 { return 70 }
func (*ConnectionUpdateSecret) HasContent() bool { return false }
func (*ConnectionUpdateSecret) name() string     { return "connection.update-secret" }

func (m *ConnectionUpdateSecret) appendArgs(b []byte) []byte {
	return appendShortstr(appendLongstr(b, m.NewSecret), m.Reason)
}

func (m *ConnectionUpdateSecret) decode(args []byte) error {
	d := decoder{b: args}
	m.NewSecret = d.longstr()
	m.Reason = d.shortstr()
	return d.end()
}

// ConnectionUpdateSecretOk is connection.update-secret-ok (10/71).
type ConnectionUpdateSecretOk struct{ noArgs }

func (*ConnectionUpdateSecretOk) ClassID() uint16  { return ClassConnection }
func (*ConnectionUpdateSecretOk) MethodID() uint16 { return 71 }
func (*ConnectionUpdateSecretOk) HasContent() bool { return false }
func (*ConnectionUpdateSecretOk) name() string     { return "connection.update-secret-ok" }
