package resp

import (
	"strings"
)

// command is one entry of the dispatch table: a Redis command or subcommand, its arity and
// flags as COMMAND INFO reports them, and the handler that translates it to hub calls.
type command struct {
	name  string // lower case; "pubsub|numsub" for a subcommand, as Redis's fullname
	arity int    // Redis's arity: n means exactly n arguments with the name, -n at least n
	flags flag
	run   func(c *conn, args [][]byte) // nil for a container whose subcommands run

	// For COMMAND INFO and COMMAND DOCS.
	infoFlags  []string
	categories []string
	since      string
	summary    string
	complexity string

	subs    map[string]*command // a container's subcommands, by lower-case name
	subList []*command          // the same, in a fixed order
}

type flag uint8

const (
	noAuth       flag = 1 << iota // runs before authentication (AUTH, HELLO, QUIT, RESET)
	inSubscribed                  // allowed in RESP2 subscribed state (R11)
)

// commands is the dispatch table, by lower-case name; built once by init from commandList.
var commands map[string]*command

func init() {
	commands = make(map[string]*command, len(commandList))
	for _, cmd := range commandList {
		for _, sub := range cmd.subList {
			if cmd.subs == nil {
				cmd.subs = make(map[string]*command, len(cmd.subList))
			}
			cmd.subs[strings.TrimPrefix(sub.name, cmd.name+"|")] = sub
		}
		commands[cmd.name] = cmd
	}
}

// exec runs one request the way Redis's processCommand does: unknown command, arity,
// authentication, and the RESP2 subscribed-state restriction are checked in that order
// (SEMANTICS.md §3.3b), then the handler runs. Callers hold wmu.
func (c *conn) exec(args [][]byte) {
	c.srv.stats.commands.Add(1)
	cmd := commands[string(c.lowered(args[0]))]
	if cmd == nil {
		c.out.err(unknownCommand(args))
		return
	}
	if cmd.subs != nil && len(args) >= 2 {
		sub := cmd.subs[string(c.lowered(args[1]))]
		if sub == nil {
			c.out.err("ERR unknown subcommand '" + cString(args[1], 128) + "'. Try " +
				strings.ToUpper(cString(args[0], -1)) + " HELP.")
			return
		}
		cmd = sub
	}
	if n := len(args); cmd.arity > 0 && n != cmd.arity || cmd.arity < 0 && n < -cmd.arity {
		c.out.err("ERR wrong number of arguments for '" + cmd.name + "' command")
		return
	}
	if !c.authed && cmd.flags&noAuth == 0 {
		c.out.err("NOAUTH Authentication required.")
		return
	}
	if c.out.resp == 2 && c.subscribed() && cmd.flags&inSubscribed == 0 {
		c.out.err("ERR Can't execute '" + cmd.name + "': only (P|S)SUBSCRIBE / " +
			"(P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")
		return
	}
	c.lastCmd = cmd.name
	if cmd.run == nil { // a container called alone with an arity that allows it (COMMAND)
		return
	}
	cmd.run(c, args)
}

// lowered returns b in lower case, in the connection's scratch buffer.
func (c *conn) lowered(b []byte) []byte {
	c.lower = c.lower[:0]
	for _, ch := range b {
		if 'A' <= ch && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		c.lower = append(c.lower, ch)
	}
	return c.lower
}

// unknownCommand is Redis's reply to a command it does not have: the name and the first
// arguments, each quoted and followed by a space, together at most about 128 bytes.
func unknownCommand(args [][]byte) string {
	var b strings.Builder
	b.WriteString("ERR unknown command '")
	b.WriteString(cString(args[0], 128))
	b.WriteString("', with args beginning with: ")
	n := 0
	for _, a := range args[1:] {
		if n >= 128 {
			break
		}
		s := cString(a, 128-n)
		b.WriteString("'" + s + "' ")
		n += len(s) + 3
	}
	return b.String()
}

// cString is b as C's "%.*s" prints it: up to its first NUL byte and at most limit bytes
// (no limit when negative).
func cString(b []byte, limit int) string {
	b = beforeNUL(b)
	if limit >= 0 && len(b) > limit {
		b = b[:limit]
	}
	return string(b)
}

// equalFold reports whether b is s, ignoring ASCII case; s is lower case.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		ch := b[i]
		if 'A' <= ch && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		if ch != s[i] {
			return false
		}
	}
	return true
}
