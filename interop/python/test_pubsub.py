#!/usr/bin/python3
"""Pub/Sub interop tests, written against real Redis 7.0.15 with redis-py 4.3.4.

The same file is run against a real redis-server and against tribus's RESP
front door, over TCP. Everything here must hold for real Redis exactly as
written; any failure against tribus is a compatibility gap.

Server address comes from the environment:
    REDIS_HOST  (default 127.0.0.1)
    REDIS_PORT  (required)

Run with Debian's interpreter (python3-redis is only importable there):
    REDIS_PORT=6379 /usr/bin/python3 -m unittest -v interop/python/test_pubsub.py
    REDIS_PORT=6379 /usr/bin/python3 interop/python/test_pubsub.py

redis-py 4.3.4 speaks RESP2 only (it never sends HELLO), so every test here
exercises the RESP2 path. RawRESP2Tests additionally checks exact wire bytes
over a plain socket, without any client library.
"""

import contextlib
import io
import json
import os
import socket
import sys
import time
import unittest
import uuid

import redis

HOST = os.environ.get("REDIS_HOST", "127.0.0.1")
_PORT = os.environ.get("REDIS_PORT")

# Upper bound for anything that *should* arrive. Against a healthy server this
# is never waited for in full; it only stops a broken server from hanging us.
ARRIVE_TIMEOUT = 2.0
# Short wait used only for negative checks ("nothing more arrives"), always
# after a PING round trip on the subscriber connection, so the server has
# already processed everything sent before it.
QUIET_TIMEOUT = 0.2
# Socket-level bound so a blocking listen()/read can never hang forever.
SOCKET_TIMEOUT = 5.0


def port():
    if not _PORT:
        # Deliberately an error, not a skip: a run without a server must not
        # look green.
        raise RuntimeError("REDIS_PORT is not set (REDIS_HOST defaults to 127.0.0.1)")
    return int(_PORT)


def unique(tag):
    """A channel-name prefix that is unique per test (no glob metacharacters)."""
    return "interop:%s:%s" % (tag, uuid.uuid4().hex)


def handle_order_notification(message):
    """The application handler of the order-notification scenario."""
    event = json.loads(message["data"])
    if event.get("event") == "status_change":
        print("Order %s is now %s" % (event["order_id"], event["new_status"]))


ORDER_CHANNEL = "order:notifications"
ORDER_PATTERN = "order:*"
ORDER_EVENT = {"order_id": "ORD-123", "event": "status_change", "new_status": "shipped"}


class PubSubTestCase(unittest.TestCase):
    """Base class: creates clients/pubsubs and guarantees they are closed."""

    def setUp(self):
        self._clients = []
        self._pubsubs = []
        self.r = self.client()
        self.r.ping()

    def tearDown(self):
        for p in self._pubsubs:
            try:
                p.close()
            except Exception:
                pass
        for c in self._clients:
            try:
                c.close()
                c.connection_pool.disconnect()
            except Exception:
                pass

    def client(self):
        c = redis.Redis(
            host=HOST,
            port=port(),
            socket_timeout=SOCKET_TIMEOUT,
            socket_connect_timeout=SOCKET_TIMEOUT,
        )
        self._clients.append(c)
        return c

    def pubsub(self, **kwargs):
        """A PubSub on its own client (so its own TCP connection)."""
        p = self.client().pubsub(**kwargs)
        self._pubsubs.append(p)
        return p

    # --- helpers -----------------------------------------------------------

    def next_message(self, p, timeout=ARRIVE_TIMEOUT):
        """Return the next parsed message, failing the test if none arrives."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.fail("no message arrived within %.1fs" % timeout)
            msg = p.get_message(timeout=remaining)
            if msg is not None:
                return msg

    def expect(self, p, mtype, channel, data, pattern=None):
        msg = self.next_message(p)
        self.assertEqual(
            msg,
            {"type": mtype, "pattern": _b(pattern), "channel": _b(channel), "data": _b(data)},
        )
        return msg

    def sync(self, p, token="sync"):
        """PING round trip on the subscriber connection.

        Returns the messages that arrived before the pong. Everything the
        server sent this connection before the pong has been read when this
        returns, so a following short get_message() is a reliable "nothing
        else is queued" check.
        """
        p.ping(token)
        before = []
        while True:
            msg = self.next_message(p)
            if msg["type"] == "pong":
                self.assertEqual(msg, {"type": "pong", "pattern": None, "channel": None, "data": _b(token)})
                return before
            before.append(msg)

    def assert_quiet(self, p):
        self.assertEqual(self.sync(p), [])
        self.assertIsNone(p.get_message(timeout=QUIET_TIMEOUT))


def _b(v):
    if v is None or isinstance(v, (bytes, int)):
        return v
    return v.encode("utf-8")


class OrderNotificationTests(PubSubTestCase):
    """The README scenario: order status changes fanned out over Pub/Sub."""

    def test_channel_subscriber_prints_order_line(self):
        p = self.pubsub()
        p.subscribe(ORDER_CHANNEL)
        self.expect(p, "subscribe", ORDER_CHANNEL, 1)

        n = self.r.publish(ORDER_CHANNEL, json.dumps(ORDER_EVENT))
        self.assertEqual(n, 1)

        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            for message in p.listen():
                if message["type"] == "message":
                    self.assertEqual(message["channel"], ORDER_CHANNEL.encode())
                    handle_order_notification(message)
                    break
        self.assertEqual(out.getvalue(), "Order ORD-123 is now shipped\n")

    def test_handler_callback_and_pattern_subscriber(self):
        # Channel subscriber with a registered handler (redis-py invokes it
        # from get_message and returns None) plus a pattern subscriber on
        # another connection: one publish counts 2 receivers.
        sub = self.pubsub()
        sub.subscribe(**{ORDER_CHANNEL: handle_order_notification})
        self.expect(sub, "subscribe", ORDER_CHANNEL, 1)
        psub = self.pubsub()
        psub.psubscribe(ORDER_PATTERN)
        self.expect(psub, "psubscribe", ORDER_PATTERN, 1)

        payload = json.dumps(ORDER_EVENT)
        self.assertEqual(self.r.publish(ORDER_CHANNEL, payload), 2)

        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            deadline = time.monotonic() + ARRIVE_TIMEOUT
            while not out.getvalue() and time.monotonic() < deadline:
                self.assertIsNone(sub.get_message(timeout=0.05))
        self.assertEqual(out.getvalue(), "Order ORD-123 is now shipped\n")

        msg = self.expect(psub, "pmessage", ORDER_CHANNEL, payload, pattern=ORDER_PATTERN)
        self.assertEqual(json.loads(msg["data"]), ORDER_EVENT)
        self.assert_quiet(sub)
        self.assert_quiet(psub)


class DeliveryTests(PubSubTestCase):

    def test_publish_with_no_subscribers_is_lost(self):
        ch = unique("lost")
        self.assertEqual(self.r.publish(ch, "into the void"), 0)
        p = self.pubsub()
        p.subscribe(ch)
        self.expect(p, "subscribe", ch, 1)
        # Fire-and-forget: nothing is stored for late subscribers.
        self.assert_quiet(p)
        # ...but new publishes do arrive.
        self.assertEqual(self.r.publish(ch, "now"), 1)
        self.expect(p, "message", ch, "now")

    def test_one_client_on_channel_and_matching_pattern_gets_two_frames(self):
        u = unique("twice")
        ch, pat = u + ":foo", u + ":f*"
        p = self.pubsub()
        p.subscribe(ch)
        self.expect(p, "subscribe", ch, 1)
        p.psubscribe(pat)
        self.expect(p, "psubscribe", pat, 2)

        # R1/R2: the same connection counts once per matching subscription.
        self.assertEqual(self.r.publish(ch, "hi"), 2)
        first = self.next_message(p)
        second = self.next_message(p)
        self.assertEqual(
            sorted([first["type"], second["type"]]), ["message", "pmessage"]
        )
        self.assert_quiet(p)

    def test_channel_frame_is_delivered_before_pattern_frame(self):
        # Real Redis delivers exact-channel frames before pattern frames.
        u = unique("order")
        ch, pat = u + ":foo", u + ":f*"
        p = self.pubsub()
        p.subscribe(ch)
        p.psubscribe(pat)
        self.expect(p, "subscribe", ch, 1)
        self.expect(p, "psubscribe", pat, 2)
        self.assertEqual(self.r.publish(ch, "x"), 2)
        self.expect(p, "message", ch, "x")
        self.expect(p, "pmessage", ch, "x", pattern=pat)

    def test_two_matching_patterns_on_one_client_give_two_pmessages(self):
        u = unique("twopat")
        ch = u + ":abc"
        p = self.pubsub()
        p.psubscribe(u + ":a*", u + ":*c")
        self.expect(p, "psubscribe", u + ":a*", 1)
        self.expect(p, "psubscribe", u + ":*c", 2)
        self.assertEqual(self.r.publish(ch, "m"), 2)
        got = {self.next_message(p)["pattern"], self.next_message(p)["pattern"]}
        self.assertEqual(got, {(u + ":a*").encode(), (u + ":*c").encode()})
        self.assert_quiet(p)

    def test_messages_arrive_in_publish_order(self):
        ch = unique("fifo")
        p = self.pubsub()
        p.subscribe(ch)
        self.expect(p, "subscribe", ch, 1)
        for i in range(50):
            self.assertEqual(self.r.publish(ch, "m%d" % i), 1)
        for i in range(50):
            self.expect(p, "message", ch, "m%d" % i)

    def test_binary_safe_payload_and_channel(self):
        u = unique("bin")
        ch = u.encode() + b":\x00\xff\r\n"
        payload = b"\x00\xff\x00binary\r\n\xfe\x00"
        p = self.pubsub()
        p.subscribe(ch)
        self.expect(p, "subscribe", ch, 1)
        self.assertEqual(self.r.publish(ch, payload), 1)
        self.expect(p, "message", ch, payload)
        # Large payload too (bigger than typical socket buffers' first read).
        big = bytes(range(256)) * 1024
        self.assertEqual(self.r.publish(ch, big), 1)
        self.expect(p, "message", ch, big)

    def test_empty_payload(self):
        ch = unique("emptypayload")
        p = self.pubsub()
        p.subscribe(ch)
        self.expect(p, "subscribe", ch, 1)
        self.assertEqual(self.r.publish(ch, ""), 1)
        self.expect(p, "message", ch, b"")

    def test_empty_channel_name(self):
        p = self.pubsub()
        p.subscribe("")
        self.expect(p, "subscribe", b"", 1)
        self.assertEqual(self.r.pubsub_numsub(""), [(b"", 1)])
        self.assertEqual(self.r.publish("", "to-empty"), 1)
        self.expect(p, "message", b"", "to-empty")
        p.unsubscribe("")
        self.expect(p, "unsubscribe", b"", 0)
        self.assertEqual(self.r.pubsub_numsub(""), [(b"", 0)])

    def test_pipelined_publishes_return_counts_in_order(self):
        u = unique("pipe")
        a, b, c = u + ":a", u + ":b", u + ":c"
        p1 = self.pubsub()
        p1.subscribe(a, b)
        self.expect(p1, "subscribe", a, 1)
        self.expect(p1, "subscribe", b, 2)
        p2 = self.pubsub()
        p2.psubscribe(u + ":b*")
        self.expect(p2, "psubscribe", u + ":b*", 1)

        pipe = self.r.pipeline(transaction=False)
        pipe.publish(a, "1")
        pipe.publish(b, "2")
        pipe.publish(c, "3")
        pipe.publish(a, "4")
        self.assertEqual(pipe.execute(), [1, 2, 0, 1])

        self.expect(p1, "message", a, "1")
        self.expect(p1, "message", b, "2")
        self.expect(p1, "message", a, "4")
        self.expect(p2, "pmessage", b, "2", pattern=u + ":b*")
        self.assert_quiet(p1)
        self.assert_quiet(p2)


class SubscriptionStateTests(PubSubTestCase):

    def test_subscribe_acks_carry_running_counts(self):
        u = unique("acks")
        a, b, c = u + ":a", u + ":b", u + ":c"
        p = self.pubsub()
        p.subscribe(a, b, c)
        self.expect(p, "subscribe", a, 1)
        self.expect(p, "subscribe", b, 2)
        self.expect(p, "subscribe", c, 3)
        # Count covers channels AND patterns of this connection.
        p.psubscribe(u + ":*")
        self.expect(p, "psubscribe", u + ":*", 4)
        # Re-subscribing is idempotent but still acknowledged.
        p.subscribe(a)
        self.expect(p, "subscribe", a, 4)
        p.psubscribe(u + ":*")
        self.expect(p, "psubscribe", u + ":*", 4)

        # UNSUBSCRIBE with no arguments drops every channel (order of the
        # acks is unspecified) and counts down; the pattern stays.
        p.unsubscribe()
        acks = [self.next_message(p) for _ in range(3)]
        self.assertEqual([m["type"] for m in acks], ["unsubscribe"] * 3)
        self.assertEqual({m["channel"] for m in acks}, {a.encode(), b.encode(), c.encode()})
        self.assertEqual([m["data"] for m in acks], [3, 2, 1])

        # Still in subscribed mode through the pattern: PING gives a pong frame.
        self.assertEqual(self.r.publish(a, "via-pattern"), 1)
        self.expect(p, "pmessage", a, "via-pattern", pattern=u + ":*")
        self.assertEqual(self.sync(p, "still-here"), [])

        p.punsubscribe()
        self.expect(p, "punsubscribe", u + ":*", 0)
        self.assertEqual(self.r.publish(a, "gone"), 0)

    def test_unsubscribe_specific_channel_counts_down(self):
        u = unique("unsub")
        a, b = u + ":a", u + ":b"
        p = self.pubsub()
        p.subscribe(a, b)
        self.expect(p, "subscribe", a, 1)
        self.expect(p, "subscribe", b, 2)
        p.unsubscribe(a)
        self.expect(p, "unsubscribe", a, 1)
        self.assertEqual(self.r.publish(a, "x"), 0)
        self.assertEqual(self.r.publish(b, "y"), 1)
        self.expect(p, "message", b, "y")
        # Unsubscribing from a channel never subscribed is still acked.
        p.unsubscribe(u + ":never")
        self.expect(p, "unsubscribe", u + ":never", 1)
        p.unsubscribe(b)
        self.expect(p, "unsubscribe", b, 0)

    def test_ping_in_subscribed_mode(self):
        ch = unique("ping")
        p = self.pubsub()
        p.subscribe(ch)
        self.expect(p, "subscribe", ch, 1)
        # redis-py's PubSub.ping() sends PING "" -> ["pong", ""].
        p.ping()
        self.assertEqual(
            self.next_message(p), {"type": "pong", "pattern": None, "channel": None, "data": b""}
        )
        p.ping("hello")
        self.assertEqual(
            self.next_message(p), {"type": "pong", "pattern": None, "channel": None, "data": b"hello"}
        )

    def test_pubsub_channels_numsub_numpat(self):
        u = unique("introspect")
        a, b, c = u + ":a", u + ":b", u + ":c"
        numpat_before = self.r.pubsub_numpat()

        p1 = self.pubsub()
        p1.subscribe(a, b)
        self.expect(p1, "subscribe", a, 1)
        self.expect(p1, "subscribe", b, 2)
        p2 = self.pubsub()
        p2.subscribe(a)
        self.expect(p2, "subscribe", a, 1)
        p2.psubscribe(u + ":*", u + ":?")
        self.expect(p2, "psubscribe", u + ":*", 2)
        self.expect(p2, "psubscribe", u + ":?", 3)
        # A second client on an already-subscribed pattern.
        p3 = self.pubsub()
        p3.psubscribe(u + ":*")
        self.expect(p3, "psubscribe", u + ":*", 1)

        # CHANNELS lists only channels (not patterns) with >= 1 subscriber.
        self.assertEqual(sorted(self.r.pubsub_channels(u + ":*")), [a.encode(), b.encode()])
        self.assertEqual(self.r.pubsub_channels(u + ":a"), [a.encode()])
        self.assertEqual(self.r.pubsub_channels(u + ":zzz*"), [])
        # NUMSUB keeps argument order, repeats, reports 0 for unknown
        # channels and ignores pattern subscriptions.
        self.assertEqual(
            self.r.pubsub_numsub(a, b, c, a),
            [(a.encode(), 2), (b.encode(), 1), (c.encode(), 0), (a.encode(), 2)],
        )
        self.assertEqual(self.r.pubsub_numsub(), [])
        # NUMPAT counts *unique* patterns server-wide (Redis >= 6.2): the
        # pattern held by two clients counts once.
        self.assertEqual(self.r.pubsub_numpat(), numpat_before + 2)

        p3.punsubscribe()
        self.expect(p3, "punsubscribe", u + ":*", 0)
        self.assertEqual(self.r.pubsub_numpat(), numpat_before + 2)
        p2.punsubscribe(u + ":?")
        self.expect(p2, "punsubscribe", u + ":?", 2)
        self.assertEqual(self.r.pubsub_numpat(), numpat_before + 1)

        # Closing the connection drops all its subscriptions.
        p1.close()
        p2.close()
        deadline = time.monotonic() + ARRIVE_TIMEOUT
        while time.monotonic() < deadline:
            if self.r.pubsub_numsub(a) == [(a.encode(), 0)] and self.r.pubsub_numpat() == numpat_before:
                break
            time.sleep(0.01)
        self.assertEqual(self.r.pubsub_numsub(a, b), [(a.encode(), 0), (b.encode(), 0)])
        self.assertEqual(self.r.pubsub_channels(u + ":*"), [])
        self.assertEqual(self.r.pubsub_numpat(), numpat_before)


class GlobTests(PubSubTestCase):

    def _pattern_hits(self, pattern, channels):
        """psubscribe pattern on a fresh connection, publish one message to
        each channel, return the list of channels that were delivered."""
        p = self.pubsub()
        p.psubscribe(pattern)
        self.expect(p, "psubscribe", pattern, 1)
        counts = [self.r.publish(ch, "probe") for ch in channels]
        hits = []
        for msg in self.sync(p):
            self.assertEqual(msg["type"], "pmessage")
            self.assertEqual(msg["pattern"], _b(pattern))
            hits.append(msg["channel"])
        hits = [h.decode("utf-8") for h in hits]
        # PUBLISH's receiver count must agree with what was delivered.
        self.assertEqual([ch for ch, n in zip(channels, counts) if n == 1], hits)
        self.assertTrue(all(n in (0, 1) for n in counts), counts)
        p.close()
        return hits

    def test_star_does_not_match_empty_channel(self):
        p = self.pubsub()
        p.psubscribe("*")
        self.expect(p, "psubscribe", "*", 1)
        ch = unique("star")
        # The only subscriber is the "*" pattern: the empty channel does not
        # match it, any non-empty channel does.
        self.assertEqual(self.r.publish("", "empty"), 0)
        self.assertEqual(self.r.publish(ch, "nonempty"), 1)
        # The "*" pattern sees every publish on the server, so skip anything
        # another client may publish concurrently; the empty channel must
        # never show up.
        got = [self.next_message(p)] + self.sync(p)
        channels = [m["channel"] for m in got]
        self.assertIn(ch.encode(), channels)
        self.assertNotIn(b"", channels)

    def test_reversed_range_matches(self):
        u = unique("range")
        hits = self._pattern_hits(
            u + ":h[b-a]llo", [u + ":hallo", u + ":hbllo", u + ":hcllo", u + ":hllo"]
        )
        self.assertEqual(hits, [u + ":hallo", u + ":hbllo"])

    def test_escaped_star_matches_only_literal_star(self):
        u = unique("escape")
        hits = self._pattern_hits(
            u + ":h\\*llo", [u + ":h*llo", u + ":hello", u + ":hllo", u + ":h\\*llo"]
        )
        self.assertEqual(hits, [u + ":h*llo"])

    def test_question_mark_class_and_negation(self):
        u = unique("glob")
        self.assertEqual(
            self._pattern_hits(u + ":h?llo", [u + ":hello", u + ":hllo", u + ":heello"]),
            [u + ":hello"],
        )
        self.assertEqual(
            self._pattern_hits(u + ":h[ae]llo", [u + ":hallo", u + ":hello", u + ":hillo"]),
            [u + ":hallo", u + ":hello"],
        )
        self.assertEqual(
            self._pattern_hits(u + ":h[^e]llo", [u + ":hallo", u + ":hello", u + ":hillo"]),
            [u + ":hallo", u + ":hillo"],
        )

    def test_trailing_star_matches_empty_suffix(self):
        u = unique("suffix")
        self.assertEqual(
            self._pattern_hits(u + ":*", [u + ":", u + ":x", u + "x"]),
            [u + ":", u + ":x"],
        )


class RawRESP2Tests(unittest.TestCase):
    """Exact RESP2 wire bytes, no client library involved."""

    def setUp(self):
        self.socks = []

    def tearDown(self):
        for s in self.socks:
            s.close()

    def conn(self):
        s = socket.create_connection((HOST, port()), timeout=SOCKET_TIMEOUT)
        self.socks.append(s)
        return s

    @staticmethod
    def cmd(*args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = _b(a)
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        return out

    def read_exact(self, s, expected):
        buf = b""
        s.settimeout(ARRIVE_TIMEOUT)
        try:
            while len(buf) < len(expected):
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
                if not expected.startswith(buf):
                    break
        except socket.timeout:
            pass
        self.assertEqual(buf, expected)

    def test_subscribe_message_and_pong_frames(self):
        ch = unique("raw")
        chb = ch.encode()
        sub = self.conn()
        sub.sendall(self.cmd("SUBSCRIBE", ch))
        self.read_exact(sub, b"*3\r\n$9\r\nsubscribe\r\n$%d\r\n%s\r\n:1\r\n" % (len(chb), chb))
        pub = self.conn()
        pub.sendall(self.cmd("PUBLISH", ch, "hi"))
        self.read_exact(pub, b":1\r\n")
        self.read_exact(sub, b"*3\r\n$7\r\nmessage\r\n$%d\r\n%s\r\n$2\r\nhi\r\n" % (len(chb), chb))
        sub.sendall(self.cmd("PING") + self.cmd("PING", "x"))
        self.read_exact(sub, b"*2\r\n$4\r\npong\r\n$0\r\n\r\n*2\r\n$4\r\npong\r\n$1\r\nx\r\n")

    def test_pmessage_frame(self):
        u = unique("rawp")
        pat, ch = (u + ":*").encode(), (u + ":x").encode()
        sub = self.conn()
        sub.sendall(self.cmd("PSUBSCRIBE", pat))
        self.read_exact(sub, b"*3\r\n$10\r\npsubscribe\r\n$%d\r\n%s\r\n:1\r\n" % (len(pat), pat))
        pub = self.conn()
        pub.sendall(self.cmd("PUBLISH", ch, "p"))
        self.read_exact(pub, b":1\r\n")
        self.read_exact(
            sub,
            b"*4\r\n$8\r\npmessage\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$1\r\np\r\n"
            % (len(pat), pat, len(ch), ch),
        )

    def test_unsubscribe_without_subscriptions_replies_nil_channel(self):
        s = self.conn()
        s.sendall(self.cmd("UNSUBSCRIBE") + self.cmd("PUNSUBSCRIBE") + self.cmd("PING"))
        self.read_exact(
            s,
            b"*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n"
            b"*3\r\n$12\r\npunsubscribe\r\n$-1\r\n:0\r\n"
            b"+PONG\r\n",
        )

    def test_ping_outside_subscribed_mode(self):
        s = self.conn()
        s.sendall(self.cmd("PING") + self.cmd("PING", "x"))
        self.read_exact(s, b"+PONG\r\n$1\r\nx\r\n")

    def test_regular_command_rejected_in_subscribed_mode(self):
        ch = unique("rawerr").encode()
        s = self.conn()
        s.sendall(self.cmd("SUBSCRIBE", ch))
        self.read_exact(s, b"*3\r\n$9\r\nsubscribe\r\n$%d\r\n%s\r\n:1\r\n" % (len(ch), ch))
        s.sendall(self.cmd("ECHO", "x"))
        s.settimeout(ARRIVE_TIMEOUT)
        line = s.recv(65536)
        self.assertTrue(line.startswith(b"-ERR "), line)
        self.assertTrue(line.endswith(b"\r\n"), line)
        # The connection is still usable and still subscribed.
        s.sendall(self.cmd("PING"))
        self.read_exact(s, b"*2\r\n$4\r\npong\r\n$0\r\n\r\n")


def main():
    if not _PORT:
        sys.stderr.write("REDIS_PORT must be set (REDIS_HOST defaults to 127.0.0.1)\n")
        return 2
    prog = unittest.main(module=__name__, argv=[sys.argv[0], "-v"] + sys.argv[1:], exit=False)
    return 0 if prog.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
