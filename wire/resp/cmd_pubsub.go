package resp

import (
	"github.com/tribusmq/tribus/pubsub"
)

// The pub/sub commands: each translates its arguments to one hub or subscription call and
// its result to frames (SEMANTICS.md §3.2).

func cmdSubscribe(c *conn, args [][]byte)  { c.subscribe(pubsub.KindSubscribe, args[1:]) }
func cmdPSubscribe(c *conn, args [][]byte) { c.subscribe(pubsub.KindPSubscribe, args[1:]) }
func cmdSSubscribe(c *conn, args [][]byte) { c.subscribe(pubsub.KindSSubscribe, args[1:]) }

func cmdUnsubscribe(c *conn, args [][]byte)  { c.unsubscribe(pubsub.KindUnsubscribe, args[1:]) }
func cmdPUnsubscribe(c *conn, args [][]byte) { c.unsubscribe(pubsub.KindPUnsubscribe, args[1:]) }
func cmdSUnsubscribe(c *conn, args [][]byte) { c.unsubscribe(pubsub.KindSUnsubscribe, args[1:]) }

func (c *conn) subscribe(k pubsub.Kind, names [][]byte) {
	s, err := c.subscriptionLocked()
	if err != nil {
		c.hubGone()
		return
	}
	var replies []pubsub.Reply
	switch k {
	case pubsub.KindSubscribe:
		replies, err = s.Subscribe(toStrings(names)...)
	case pubsub.KindPSubscribe:
		replies, err = s.PSubscribe(toStrings(names)...)
	default:
		replies, err = s.SSubscribe(toStrings(names)...)
	}
	c.acks(replies, err)
}

func (c *conn) unsubscribe(k pubsub.Kind, names [][]byte) {
	if c.sub == nil {
		// Nothing is held: the acknowledgements say so without a subscription (R8, R9), and
		// the client does not enter subscribed state.
		if len(names) == 0 {
			c.out.ack(pubsub.Reply{Kind: k, Nil: true})
		}
		for _, name := range names {
			c.out.ack(pubsub.Reply{Kind: k, Name: string(name)})
		}
		return
	}
	var replies []pubsub.Reply
	var err error
	switch k {
	case pubsub.KindUnsubscribe:
		replies, err = c.sub.Unsubscribe(toStrings(names)...)
	case pubsub.KindPUnsubscribe:
		replies, err = c.sub.PUnsubscribe(toStrings(names)...)
	default:
		replies, err = c.sub.SUnsubscribe(toStrings(names)...)
	}
	c.acks(replies, err)
}

// acks writes the acknowledgements and keeps the counts that decide subscribed state.
func (c *conn) acks(replies []pubsub.Reply, err error) {
	if err != nil {
		// The hub closed, or cut this client off as a slow subscriber and is closing the
		// connection: Redis would have closed it already.
		c.hubGone()
		return
	}
	for _, r := range replies {
		c.out.ack(r)
	}
	if len(replies) > 0 {
		last := replies[len(replies)-1]
		if last.Kind == pubsub.KindSSubscribe || last.Kind == pubsub.KindSUnsubscribe {
			c.nshard = last.Count
		} else {
			c.nsub = last.Count
		}
	}
}

// hubGone closes a connection whose hub or subscription has ended.
func (c *conn) hubGone() {
	c.quit = true
	c.out.b = c.out.b[:0]
	c.nc.Close()
}

func toStrings(b [][]byte) []string {
	s := make([]string, len(b))
	for i, v := range b {
		s[i] = string(v)
	}
	return s
}

func cmdPublish(c *conn, args [][]byte) {
	n := c.srv.hub.Publish(c.channel(args[1]), c.keep(args[2]))
	// A client publishing to a channel it is subscribed to reads the message before the
	// count, as Redis queues both in its output buffer in that order (R17).
	c.drainAllLocked()
	c.out.int(int64(n))
}

func cmdSPublish(c *conn, args [][]byte) {
	n := c.srv.hub.SPublish(c.channel(args[1]), c.keep(args[2]))
	c.drainAllLocked()
	c.out.int(int64(n))
}

func cmdPubSubChannels(c *conn, args [][]byte) { c.channels(c.srv.hub.Channels, args) }
func cmdPubSubShardChannels(c *conn, args [][]byte) {
	c.channels(c.srv.hub.ShardChannels, args)
}

func (c *conn) channels(list func(...string) ([]string, error), args [][]byte) {
	if len(args) > 3 {
		c.out.err("ERR unknown subcommand or wrong number of arguments for '" + cString(args[1], -1) +
			"'. Try PUBSUB HELP.")
		return
	}
	names, err := list(toStrings(args[2:])...)
	if err != nil {
		c.hubGone()
		return
	}
	c.out.array(len(names))
	for _, n := range names {
		c.out.bulkString(n)
	}
}

func cmdPubSubNumSub(c *conn, args [][]byte) { c.numSub(c.srv.hub.NumSub, args) }
func cmdPubSubShardNumSub(c *conn, args [][]byte) {
	c.numSub(c.srv.hub.ShardNumSub, args)
}

func (c *conn) numSub(count func(...string) ([]pubsub.ChannelCount, error), args [][]byte) {
	counts, err := count(toStrings(args[2:])...)
	if err != nil {
		c.hubGone()
		return
	}
	c.out.array(2 * len(counts))
	for _, cc := range counts {
		c.out.bulkString(cc.Channel)
		c.out.int(int64(cc.Subscribers))
	}
}

func cmdPubSubNumPat(c *conn, _ [][]byte) {
	n, err := c.srv.hub.NumPat()
	if err != nil {
		c.hubGone()
		return
	}
	c.out.int(int64(n))
}

func cmdPubSubHelp(c *conn, _ [][]byte) {
	c.help("PUBSUB",
		"CHANNELS [<pattern>]",
		"    List the channels that have a subscriber, optionally only those matching a glob.",
		"NUMPAT",
		"    Count the distinct patterns subscribed to.",
		"NUMSUB [<channel> ...]",
		"    Count each channel's subscribers; pattern subscribers are not counted.",
		"SHARDCHANNELS [<pattern>]",
		"    As CHANNELS, for shard channels.",
		"SHARDNUMSUB [<shardchannel> ...]",
		"    As NUMSUB, for shard channels.")
}

// help writes a HELP subcommand's reply: status lines, headed as Redis heads them.
func (c *conn) help(name string, lines ...string) {
	c.out.array(len(lines) + 3)
	c.out.simple(name + " <subcommand> [<arg> ...]. The subcommands:")
	for _, l := range lines {
		c.out.simple(l)
	}
	c.out.simple("HELP")
	c.out.simple("    Show this list.")
}
