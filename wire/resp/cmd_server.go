package resp

import (
	"maps"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tribusmq/tribus/pubsub"
)

// The server commands: COMMAND (what clients probe on connect), INFO and CONFIG GET.

// sortedCommands is every command in name order, for COMMAND and COMMAND LIST.
func sortedCommands() []*command {
	return slices.SortedFunc(maps.Values(commands), func(a, b *command) int {
		return strings.Compare(a.name, b.name)
	})
}

func cmdCommand(c *conn, _ [][]byte) {
	all := sortedCommands()
	c.out.array(len(all))
	for _, cmd := range all {
		c.commandInfo(cmd)
	}
}

func cmdCommandCount(c *conn, _ [][]byte) { c.out.int(int64(len(commands))) }

func cmdCommandList(c *conn, args [][]byte) {
	if len(args) > 2 {
		// FILTERBY is not supported: say so rather than return an unfiltered list.
		c.out.err("ERR COMMAND LIST FILTERBY is not supported by tribus")
		return
	}
	all := sortedCommands()
	c.out.array(len(all))
	for _, cmd := range all {
		c.out.bulkString(cmd.name)
	}
}

func cmdCommandInfo(c *conn, args [][]byte) {
	if len(args) == 2 {
		cmdCommand(c, args)
		return
	}
	c.out.array(len(args) - 2)
	for _, name := range args[2:] {
		if cmd := lookupFull(name); cmd != nil {
			c.commandInfo(cmd)
		} else {
			c.out.null()
		}
	}
}

// lookupFull finds a command by name, or a subcommand by "container|sub", ignoring case.
func lookupFull(name []byte) *command {
	lower := strings.ToLower(string(name))
	parent, sub, isSub := strings.Cut(lower, "|")
	cmd := commands[parent]
	if cmd == nil || !isSub {
		return cmd
	}
	return cmd.subs[sub]
}

// commandInfo writes one command's COMMAND INFO entry: name, arity, flags, first key, last
// key, key step, ACL categories, tips, key specs and subcommands. Pub/sub commands take no
// keys, so the key fields are zero and empty.
func (c *conn) commandInfo(cmd *command) {
	c.out.array(10)
	c.out.bulkString(cmd.name)
	c.out.int(int64(cmd.arity))
	c.statusList(cmd.infoFlags)
	c.out.int(0)
	c.out.int(0)
	c.out.int(0)
	c.statusList(cmd.categories)
	c.out.array(0)
	c.out.array(0)
	c.out.array(len(cmd.subList))
	for _, sub := range cmd.subList {
		c.commandInfo(sub)
	}
}

func (c *conn) statusList(items []string) {
	if c.out.resp == 3 {
		c.out.header('~', len(items)) // a set in RESP3, as Redis sends flags
	} else {
		c.out.array(len(items))
	}
	for _, s := range items {
		c.out.simple(s)
	}
}

func cmdCommandDocs(c *conn, args [][]byte) {
	var list []*command
	if len(args) == 2 {
		list = sortedCommands()
	} else {
		for _, name := range args[2:] {
			if cmd := lookupFull(name); cmd != nil {
				list = append(list, cmd)
			}
		}
	}
	c.out.mapHeader(len(list))
	for _, cmd := range list {
		c.out.bulkString(cmd.name)
		c.commandDoc(cmd)
	}
}

// commandDoc writes a command's COMMAND DOCS map: summary, since, group, complexity and, for
// a container, its subcommands' docs.
func (c *conn) commandDoc(cmd *command) {
	n := 4
	if len(cmd.subList) > 0 {
		n++
	}
	c.out.mapHeader(n)
	c.out.bulkString("summary")
	c.out.bulkString(cmd.summary)
	c.out.bulkString("since")
	c.out.bulkString(cmd.since)
	c.out.bulkString("group")
	c.out.bulkString(cmd.group())
	c.out.bulkString("complexity")
	c.out.bulkString(cmd.complexity)
	if len(cmd.subList) > 0 {
		c.out.bulkString("subcommands")
		c.out.mapHeader(len(cmd.subList))
		for _, sub := range cmd.subList {
			c.out.bulkString(sub.name)
			c.commandDoc(sub)
		}
	}
}

// group is the command's group in COMMAND DOCS.
func (cmd *command) group() string {
	name, _, _ := strings.Cut(cmd.name, "|")
	switch name {
	case "subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe",
		"publish", "spublish", "pubsub":
		return "pubsub"
	case "command", "info", "config":
		return "server"
	}
	return "connection"
}

func cmdCommandHelp(c *conn, _ [][]byte) {
	c.help("COMMAND",
		"(no subcommand)",
		"    Describe every command.",
		"COUNT",
		"    Count the commands.",
		"DOCS [<command-name> ...]",
		"    Document the named commands, or all.",
		"INFO [<command-name> ...]",
		"    Describe the named commands, or all.",
		"LIST",
		"    List the command names.")
}

// cmdInfo writes INFO's sections: server, clients and stats, all of them by default or for
// "all", "everything" and "default", and nothing for a section it does not have.
func cmdInfo(c *conn, args [][]byte) {
	want := map[string]bool{}
	if len(args) == 1 {
		want["default"] = true
	}
	for _, a := range args[1:] {
		want[strings.ToLower(string(a))] = true
	}
	every := want["all"] || want["everything"] || want["default"]
	var b strings.Builder
	section := func(name string, lines ...string) {
		if !every && !want[strings.ToLower(name)] {
			return
		}
		if b.Len() > 0 {
			b.WriteString("\r\n")
		}
		b.WriteString("# " + name + "\r\n")
		for _, l := range lines {
			b.WriteString(l + "\r\n")
		}
	}
	s := c.srv
	up := time.Since(s.started)
	server := []string{
		"redis_version:" + RedisVersion,
		"redis_mode:standalone",
		"os:" + runtime.GOOS + " " + runtime.GOARCH,
		"arch_bits:" + strconv.Itoa(strconv.IntSize),
		"process_id:" + strconv.Itoa(os.Getpid()),
		"run_id:" + s.runID(),
		"tcp_port:" + strconv.Itoa(s.port()),
		"server_time_usec:" + strconv.FormatInt(time.Now().UnixMicro(), 10),
		"uptime_in_seconds:" + strconv.FormatInt(int64(up/time.Second), 10),
		"uptime_in_days:" + strconv.FormatInt(int64(up/(24*time.Hour)), 10),
		"go_version:" + runtime.Version(),
	}
	if s.opts.Version != "" {
		server = append(server, "tribus_version:"+s.opts.Version)
	}
	section("Server", server...)
	st := s.Stats()
	section("Clients",
		"connected_clients:"+strconv.Itoa(st.Connections),
		"maxclients:"+strconv.Itoa(s.opts.MaxClients),
		"blocked_clients:0")
	hub := s.hub.Stats()
	section("Stats",
		"total_connections_received:"+strconv.FormatInt(st.ConnectionsReceived, 10),
		"total_commands_processed:"+strconv.FormatInt(st.Commands, 10),
		"rejected_connections:"+strconv.FormatInt(st.Rejected, 10),
		"pubsub_channels:"+strconv.Itoa(hub.Channels),
		"pubsub_patterns:"+strconv.Itoa(hub.Patterns),
		"pubsubshard_channels:"+strconv.Itoa(hub.ShardChannels),
		"pubsub_messages_published:"+strconv.FormatUint(hub.Published, 10),
		"pubsub_deliveries:"+strconv.FormatUint(hub.Delivered, 10),
		"pubsub_slow_disconnects:"+strconv.FormatUint(hub.Disconnects, 10))
	c.out.verbatim(b.String())
}

func (s *Server) port() int {
	return int(s.tcpPort.Load())
}

// configParams are the parameters CONFIG GET answers: the ones the server has, with their
// values, and the fixed ones clients and redis-benchmark ask about.
func (s *Server) configParams() [][2]string {
	o := s.opts
	lim := o.Limits
	hard, soft, secs := lim.MaxBytes, lim.SoftBytes, int64(lim.SoftTime/time.Second)
	if hard == 0 {
		hard = pubsub.DefaultMaxBytes
	}
	if soft == 0 {
		soft = pubsub.DefaultSoftBytes
	}
	if secs == 0 {
		secs = int64(pubsub.DefaultSoftTime / time.Second)
	}
	return [][2]string{
		{"appendonly", "no"},
		{"client-output-buffer-limit", "normal 0 0 0 slave 0 0 0 pubsub " +
			strconv.FormatInt(max(hard, 0), 10) + " " + strconv.FormatInt(max(soft, 0), 10) + " " +
			strconv.FormatInt(secs, 10)},
		{"databases", strconv.Itoa(databases)},
		{"maxclients", strconv.Itoa(o.MaxClients)},
		{"port", strconv.Itoa(s.port())},
		{"proto-max-bulk-len", strconv.FormatInt(o.MaxBulkLen, 10)},
		{"requirepass", o.Password},
		{"save", ""},
		{"timeout", strconv.FormatInt(int64(o.IdleTimeout/time.Second), 10)},
	}
}

// cmdConfigGet answers CONFIG GET with every parameter matching one of the globs, each once.
func cmdConfigGet(c *conn, args [][]byte) {
	var found [][2]string
	for _, p := range c.srv.configParams() {
		for _, pat := range args[2:] {
			if pubsub.Match(strings.ToLower(string(pat)), p[0]) {
				found = append(found, p)
				break
			}
		}
	}
	c.out.mapHeader(len(found))
	for _, p := range found {
		c.out.bulkString(p[0])
		c.out.bulkString(p[1])
	}
}

func cmdConfigHelp(c *conn, _ [][]byte) {
	c.help("CONFIG",
		"GET <pattern> [<pattern> ...]",
		"    Return the parameters matching the glob patterns and their values.")
}
