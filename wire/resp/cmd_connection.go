package resp

import (
	"crypto/subtle"
	"strconv"
	"strings"
	"time"
)

// The connection commands: PING, ECHO, QUIT, RESET, HELLO, AUTH, SELECT and CLIENT.

func cmdPing(c *conn, args [][]byte) {
	if len(args) > 2 {
		c.out.err("ERR wrong number of arguments for 'ping' command")
		return
	}
	// In RESP2 subscribed state a reply would be read as a push, so Redis answers with a
	// push-shaped array (R18); RESP3 can tell them apart and answers normally.
	if c.out.resp == 2 && c.subscribed() {
		c.out.array(2)
		c.out.bulkString("pong")
		if len(args) == 2 {
			c.out.bulk(args[1])
		} else {
			c.out.bulkString("")
		}
		return
	}
	if len(args) == 2 {
		c.out.bulk(args[1])
		return
	}
	c.out.simple("PONG")
}

func cmdEcho(c *conn, args [][]byte) { c.out.bulk(args[1]) }

func cmdQuit(c *conn, _ [][]byte) {
	c.out.simple("OK")
	c.quit = true
}

// cmdReset returns the connection to its state after connecting (R19): no subscriptions,
// RESP2, database 0, no name, and unauthenticated again when the server has a password. Messages
// already published to it are written first, as they were already in its output in Redis.
func cmdReset(c *conn, _ [][]byte) {
	c.drainAllLocked()
	c.endSubscriptionLocked()
	c.out.resp = 2
	c.db = 0
	c.name = ""
	c.authed = c.srv.opts.Password == ""
	c.out.simple("RESET")
}

func cmdSelect(c *conn, args [][]byte) {
	db, ok := parseInt(args[1])
	if !ok || db < -1<<31 || db > 1<<31-1 {
		c.out.err("ERR value is not an integer or out of range")
		return
	}
	if db < 0 || db >= databases {
		c.out.err("ERR DB index is out of range")
		return
	}
	// Pub/sub ignores the database (R12); the number is kept only to be reported.
	c.db = int(db)
	c.out.simple("OK")
}

// databases is Redis's default number of databases, the range SELECT accepts.
const databases = 16

func cmdAuth(c *conn, args [][]byte) {
	if len(args) > 3 {
		c.out.err("ERR syntax error")
		return
	}
	if len(args) == 2 && c.srv.opts.Password == "" {
		c.out.err("ERR AUTH <password> called without any password configured for the default user. " +
			"Are you sure your configuration is correct?")
		return
	}
	user := []byte("default")
	if len(args) == 3 {
		user = args[1]
	}
	if !c.checkPassword(user, args[len(args)-1]) {
		c.out.err(wrongPass)
		return
	}
	c.authed = true
	c.out.simple("OK")
}

const wrongPass = "WRONGPASS invalid username-password pair or user is disabled."

// checkPassword reports whether user and password log in: the only user is "default", and
// with no password configured any password is accepted for it, as Redis's nopass user.
func (c *conn) checkPassword(user, password []byte) bool {
	if string(user) != "default" {
		return false
	}
	want := c.srv.opts.Password
	if want == "" {
		return true
	}
	return subtle.ConstantTimeCompare(password, []byte(want)) == 1
}

// cmdHello switches the protocol version, optionally authenticating and naming the
// connection, and describes the server: HELLO [protover [AUTH user pass] [SETNAME name]].
func cmdHello(c *conn, args [][]byte) {
	ver := int64(c.out.resp)
	if len(args) >= 2 {
		v, ok := parseInt(args[1])
		if !ok || v < -1<<31 || v > 1<<31-1 {
			c.out.err("ERR Protocol version is not an integer or out of range")
			return
		}
		if v < 2 || v > 3 {
			c.out.err("NOPROTO unsupported protocol version")
			return
		}
		ver = v
	}
	var user, pass, name []byte
	for i := 2; i < len(args); i++ {
		more := len(args) - i - 1
		switch {
		case equalFold(args[i], "auth") && more >= 2:
			user, pass = args[i+1], args[i+2]
			i += 2
		case equalFold(args[i], "setname") && more >= 1:
			name = args[i+1]
			i++
		default:
			c.out.err("ERR Syntax error in HELLO option '" + cString(args[i], -1) + "'")
			return
		}
	}
	if user != nil {
		if !c.checkPassword(user, pass) {
			c.out.err(wrongPass)
			return
		}
		c.authed = true
	}
	if !c.authed {
		c.out.err("NOAUTH HELLO must be called with the client already authenticated, otherwise the " +
			"HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP " +
			"protocol version at the same time")
		return
	}
	if name != nil && !c.setName(name, "Client names") {
		return
	}
	c.out.resp = int(ver)
	c.out.mapHeader(7)
	c.out.bulkString("server")
	c.out.bulkString("redis")
	c.out.bulkString("version")
	c.out.bulkString(RedisVersion)
	c.out.bulkString("proto")
	c.out.int(ver)
	c.out.bulkString("id")
	c.out.int(c.id)
	c.out.bulkString("mode")
	c.out.bulkString("standalone")
	c.out.bulkString("role")
	c.out.bulkString("master")
	c.out.bulkString("modules")
	c.out.array(0)
}

// setName validates and sets the connection's name, or writes Redis's error and reports
// false. An empty name clears it.
func (c *conn) setName(name []byte, what string) bool {
	if !validAttr(name) {
		c.out.err("ERR " + what + " cannot contain spaces, newlines or special characters.")
		return false
	}
	c.name = string(name)
	return true
}

// validAttr reports whether b is made of printable ASCII other than space, as Redis requires
// of client names and library names.
func validAttr(b []byte) bool {
	for _, ch := range b {
		if ch < '!' || ch > '~' {
			return false
		}
	}
	return true
}

func cmdClientID(c *conn, _ [][]byte) { c.out.int(c.id) }

func cmdClientGetName(c *conn, _ [][]byte) {
	if c.name == "" {
		c.out.null()
		return
	}
	c.out.bulkString(c.name)
}

func cmdClientSetName(c *conn, args [][]byte) {
	if c.setName(args[2], "Client names") {
		c.out.simple("OK")
	}
}

// cmdClientSetInfo records the client library's name or version (Redis 7.2), as go-redis
// sends them on connect.
func cmdClientSetInfo(c *conn, args [][]byte) {
	var dst *string
	switch {
	case equalFold(args[2], "lib-name"):
		dst = &c.libName
	case equalFold(args[2], "lib-ver"):
		dst = &c.libVer
	default:
		c.out.err("ERR Unrecognized option '" + cString(args[2], -1) + "'")
		return
	}
	if !validAttr(args[3]) {
		c.out.err("ERR " + cString(args[2], -1) + " cannot contain spaces, newlines or special characters.")
		return
	}
	*dst = string(args[3])
	c.out.simple("OK")
}

func cmdClientInfo(c *conn, _ [][]byte) { c.out.verbatim(c.info()) }

// info is the connection's line in CLIENT INFO's format: the fields Redis prints, with the
// values tribus knows and zero for the memory accounting it does not do.
func (c *conn) info() string {
	channels, patterns, shards := c.sub.Counts()
	flags := "N"
	if c.subscribed() {
		flags = "P"
	}
	now := time.Now()
	var b strings.Builder
	field := func(k, v string) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(v)
	}
	num := func(k string, v int64) { field(k, strconv.FormatInt(v, 10)) }
	num("id", c.id)
	field("addr", c.nc.RemoteAddr().String())
	field("laddr", c.nc.LocalAddr().String())
	num("fd", -1)
	field("name", c.name)
	num("age", int64(now.Sub(c.created)/time.Second))
	num("idle", 0)
	field("flags", flags)
	num("db", int64(c.db))
	num("sub", int64(channels))
	num("psub", int64(patterns))
	num("ssub", int64(shards))
	num("multi", -1)
	num("qbuf", int64(c.rd.w-c.rd.r))
	num("qbuf-free", int64(len(c.rd.buf)-c.rd.w))
	num("argv-mem", 0)
	num("multi-mem", 0)
	num("rbs", int64(len(c.rd.buf)))
	num("rbp", 0)
	num("obl", 0)
	num("oll", 0)
	num("omem", int64(len(c.out.b)))
	num("tot-mem", 0)
	field("events", "r")
	field("cmd", c.lastCmd)
	field("user", "default")
	num("redir", -1)
	num("resp", int64(c.out.resp))
	field("lib-name", c.libName)
	field("lib-ver", c.libVer)
	b.WriteByte('\n')
	return b.String()
}

func cmdClientHelp(c *conn, _ [][]byte) {
	c.help("CLIENT",
		"GETNAME",
		"    The connection's name, or nil.",
		"ID",
		"    The connection's id.",
		"INFO",
		"    A line describing this connection.",
		"SETINFO <LIB-NAME|LIB-VER> <value>",
		"    Record the client library's name or version.",
		"SETNAME <name>",
		"    Name the connection.")
}
