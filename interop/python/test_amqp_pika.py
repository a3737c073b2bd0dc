#!/usr/bin/python3
"""AMQP 0-9-1 interop tests, written against real RabbitMQ 3.10.8 with pika 1.2.0.

The same file is run against a real RabbitMQ node and against tribus's AMQP
front door (`tribus serve --amqp`), over TCP, as guest/guest on vhost "/".
Everything here must hold for real RabbitMQ exactly as written; any failure
against tribus is a compatibility gap.

Server address comes from the environment:
    AMQP_HOST  (default 127.0.0.1)
    AMQP_PORT  (required)

Run with Debian's interpreter (python3-pika is only importable there):
    AMQP_PORT=5672 /usr/bin/python3 -m unittest -v interop/python/test_amqp_pika.py
    AMQP_PORT=5672 /usr/bin/python3 interop/python/test_amqp_pika.py

Every test uses pika.BlockingConnection and names of its own (a random
suffix), and deletes what it declared, so the file can be re-run against one
server. Waits are bounded with pika itself (connection.call_later around
start_consuming, inactivity_timeout in channel.consume, process_data_events
with a deadline); nothing sleeps to let a result "probably" arrive.
Set PIKA_LOG=1 to see pika's own log output on stderr.
"""

import datetime
import decimal
import json
import logging
import os
import socket
import struct
import sys
import time
import unittest
import uuid

import pika
import pika.compat
import pika.exceptions
import pika.frame
import pika.spec

HOST = os.environ.get("AMQP_HOST", "127.0.0.1")
_PORT = os.environ.get("AMQP_PORT")

# Upper bound for anything that *should* arrive. Against a healthy server this
# is never waited for in full; it only stops a broken server from hanging us.
ARRIVE_TIMEOUT = 3.0
# Socket-level bound so no blocking pika call can hang forever.
SOCKET_TIMEOUT = 5.0

PERSISTENT_JSON = dict(content_type="application/json", delivery_mode=2)

if not os.environ.get("PIKA_LOG"):
    # pika logs broker-closed channels and failed connects at WARNING/ERROR;
    # the tests assert on those events themselves.
    logging.getLogger("pika").setLevel(logging.CRITICAL)


def port():
    if not _PORT:
        # Deliberately an error, not a skip: a run without a server must not
        # look green.
        raise RuntimeError("AMQP_PORT is not set (AMQP_HOST defaults to 127.0.0.1)")
    return int(_PORT)


def unique(tag):
    """A queue/exchange name that is unique per test run."""
    return "interop.%s.%s" % (tag, uuid.uuid4().hex[:12])


class AMQPTestCase(unittest.TestCase):
    """Base class: opens connections, and deletes declared entities after."""

    def setUp(self):
        self._conns = []
        self._queues = []
        self._exchanges = []

    def tearDown(self):
        for c in self._conns:
            try:
                if c.is_open:
                    c.close()
            except Exception:
                pass
        if not (self._queues or self._exchanges):
            return
        # Hygiene only (names are unique anyway): a failure here must not
        # mask the test's own result, so errors are ignored.
        try:
            c = self.connect(register=False)
        except Exception:
            return
        try:
            for name in self._queues:
                try:
                    c.channel().queue_delete(queue=name)
                except pika.exceptions.ChannelClosed:
                    pass
            for name in self._exchanges:
                try:
                    c.channel().exchange_delete(exchange=name)
                except pika.exceptions.ChannelClosed:
                    pass
        except Exception:
            pass
        finally:
            try:
                c.close()
            except Exception:
                pass

    def connect(self, register=True):
        params = pika.ConnectionParameters(
            host=HOST,
            port=port(),
            virtual_host="/",
            credentials=pika.PlainCredentials("guest", "guest"),
            connection_attempts=1,
            socket_timeout=SOCKET_TIMEOUT,
            stack_timeout=2 * SOCKET_TIMEOUT,
            blocked_connection_timeout=SOCKET_TIMEOUT,
        )
        c = pika.BlockingConnection(params)
        if register:
            self._conns.append(c)
        return c

    def queue_name(self, tag):
        name = unique(tag)
        self._queues.append(name)
        return name

    def exchange_name(self, tag):
        name = unique(tag)
        self._exchanges.append(name)
        return name

    # --- helpers -----------------------------------------------------------

    def wait_for(self, conn, cond, what, timeout=ARRIVE_TIMEOUT):
        """Dispatch pika events until cond() holds; fail after timeout."""
        deadline = time.monotonic() + timeout
        while not cond():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.fail("timed out after %.1fs waiting for %s" % (timeout, what))
            conn.process_data_events(time_limit=min(remaining, 0.05))

    def consume_one(self, ch, queue):
        """Consume a single message (manual ack) with a bounded wait, ack it,
        cancel the consumer, and return (method, properties, body)."""
        for method, props, body in ch.consume(queue, auto_ack=False, inactivity_timeout=ARRIVE_TIMEOUT):
            if method is None:
                ch.cancel()
                self.fail("no message arrived on %r within %.1fs" % (queue, ARRIVE_TIMEOUT))
            ch.basic_ack(delivery_tag=method.delivery_tag)
            self.assertEqual(ch.cancel(), 0)
            return method, props, body

    def assert_queue_counts(self, ch, queue, messages, consumers=0):
        ok = ch.queue_declare(queue=queue, passive=True)
        self.assertIsInstance(ok.method, pika.spec.Queue.DeclareOk)
        self.assertEqual(
            (ok.method.queue, ok.method.message_count, ok.method.consumer_count),
            (queue, messages, consumers),
        )

    def assert_closed_by_broker(self, cm, code, text):
        exc = cm.exception
        self.assertEqual((exc.reply_code, exc.reply_text), (code, text))


def set_props(props):
    """The BasicProperties fields that are present (not None)."""
    return {k: v for k, v in vars(props).items() if v is not None}


class OrderFlowTests(AMQPTestCase):
    """The README scenario: order events over a durable topic exchange."""

    def test_topic_binding_delivers_matching_persistent_json_in_publish_order(self):
        conn = self.connect()
        ch = conn.channel()
        exchange = self.exchange_name("orders")
        queue = self.queue_name("order_notifications")

        ok = ch.exchange_declare(exchange=exchange, exchange_type="topic", durable=True)
        self.assertIsInstance(ok.method, pika.spec.Exchange.DeclareOk)
        ok = ch.queue_declare(queue=queue, durable=True)
        self.assertIsInstance(ok.method, pika.spec.Queue.DeclareOk)
        self.assertEqual(
            (ok.method.queue, ok.method.message_count, ok.method.consumer_count), (queue, 0, 0)
        )
        ok = ch.queue_bind(queue=queue, exchange=exchange, routing_key="order.*")
        self.assertIsInstance(ok.method, pika.spec.Queue.BindOk)

        events = [
            ("order.created", {"order_id": "ORD-1", "event": "created", "total": 42.5}),
            # "*" matches exactly one word: this one is not routed.
            ("order.shipped.late", {"order_id": "ORD-1", "event": "shipped", "late": True}),
            ("order.paid", {"order_id": "ORD-1", "event": "paid"}),
        ]
        for key, event in events:
            ch.basic_publish(
                exchange=exchange,
                routing_key=key,
                body=json.dumps(event),
                properties=pika.BasicProperties(**PERSISTENT_JSON),
            )

        got = []

        def on_message(channel, method, props, body):
            got.append((method, props, body))
            channel.basic_ack(delivery_tag=method.delivery_tag)
            if len(got) == 2:
                channel.stop_consuming()

        timed_out = []

        def on_timeout():
            timed_out.append(True)
            ch.stop_consuming()

        tag = ch.basic_consume(queue=queue, on_message_callback=on_message, auto_ack=False)
        self.assertTrue(tag)
        timer = conn.call_later(ARRIVE_TIMEOUT, on_timeout)
        ch.start_consuming()
        conn.remove_timeout(timer)
        self.assertFalse(timed_out, "only %d of 2 messages arrived within %.1fs" % (len(got), ARRIVE_TIMEOUT))

        expected = [events[0], events[2]]
        self.assertEqual([m.routing_key for m, _, _ in got], [k for k, _ in expected])
        for (method, props, body), (key, event), n in zip(got, expected, (1, 2)):
            self.assertIsInstance(method, pika.spec.Basic.Deliver)
            self.assertEqual(method.consumer_tag, tag)
            self.assertEqual(method.exchange, exchange)
            self.assertEqual(method.delivery_tag, n)
            self.assertFalse(method.redelivered)
            self.assertEqual(body, json.dumps(event).encode())
            self.assertEqual(json.loads(body), event)
            self.assertEqual(props.content_type, "application/json")
            self.assertEqual(props.delivery_mode, 2)
            # Exactly what was published, nothing added.
            self.assertEqual(set_props(props), PERSISTENT_JSON)

        # Both acked, the unmatched key never routed, the consumer gone.
        self.assert_queue_counts(ch, queue, 0, 0)
        # Closing the channel requeues nothing: the acks took effect.
        ch.close()
        ch = conn.channel()
        self.assert_queue_counts(ch, queue, 0, 0)

        ok = ch.queue_delete(queue=queue)
        self.assertIsInstance(ok.method, pika.spec.Queue.DeleteOk)
        self.assertEqual(ok.method.message_count, 0)
        ok = ch.exchange_delete(exchange=exchange)
        self.assertIsInstance(ok.method, pika.spec.Exchange.DeleteOk)


class MessageFormatTests(AMQPTestCase):

    def test_every_basic_property_and_header_field_type_round_trips(self):
        conn = self.connect()
        ch = conn.channel()
        queue = self.queue_name("props")
        ch.queue_declare(queue=queue)
        stamp = datetime.datetime(2024, 5, 17, 12, 30, 45)
        headers = {
            "str": "caf\u00e9",             # S longstr
            "bytes": b"\x00\xff\x01",       # x byte array
            "true": True,                  # t boolean
            "false": False,
            "int": -7,                     # I signed 32-bit
            "long": pika.compat.long(2 ** 40),  # l signed 64-bit
            "decimal": decimal.Decimal("3.14"),  # D decimal
            "time": stamp,                 # T timestamp
            "void": None,                  # V void
            "table": {"nested": "yes", "n": 1},  # F table
            "array": ["a", 1, [True], {"k": "v"}],  # A array
        }
        props = pika.BasicProperties(
            content_type="application/octet-stream",
            content_encoding="identity",
            headers=headers,
            delivery_mode=1,
            priority=5,
            correlation_id="corr-1",
            reply_to="amq.rabbitmq.reply-to.never-used",
            expiration="60000",
            message_id="msg-1",
            timestamp=1700000000,
            type="order.created",
            user_id="guest",  # must be the connection's user
            app_id="interop",
        )
        body = bytes(range(256)) * 600  # spans several body frames (frame_max 131072)
        ch.basic_publish(exchange="", routing_key=queue, body=body, properties=props)
        method, got, got_body = ch.basic_get(queue=queue, auto_ack=True)
        self.assertIsNotNone(method, "the published message is not in the queue")
        self.assertEqual(got_body, body)
        want = set_props(props)
        self.assertEqual(set_props(got), want)
        # Same field types as sent (pika decodes each AMQP type to its own
        # Python type: int for I, compat.long for l, bytes for x, ...).
        self.assertEqual(typed(got.headers), typed(headers))


def typed(value):
    """value with every leaf paired with its exact Python type, recursively."""
    if isinstance(value, dict):
        return {k: typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [typed(v) for v in value]
    return (type(value).__name__, value)


class PublisherConfirmTests(AMQPTestCase):

    def test_confirmed_publish_to_existing_queue_succeeds(self):
        conn = self.connect()
        ch = conn.channel()
        queue = self.queue_name("confirm")
        ch.queue_declare(queue=queue)
        ch.confirm_delivery()
        # Returns normally once the broker's Basic.Ack arrived.
        self.assertIsNone(ch.basic_publish(exchange="", routing_key=queue, body=b"one"))
        self.assertIsNone(ch.basic_publish(exchange="", routing_key=queue, body=b"two", mandatory=True))
        self.assert_queue_counts(ch, queue, 2)
        method, _, body = ch.basic_get(queue=queue, auto_ack=True)
        self.assertEqual((body, method.message_count), (b"one", 1))
        method, _, body = ch.basic_get(queue=queue, auto_ack=True)
        self.assertEqual((body, method.message_count), (b"two", 0))

    def test_mandatory_publish_to_exchange_without_binding_raises_unroutable(self):
        conn = self.connect()
        ch = conn.channel()
        exchange = self.exchange_name("unbound")
        queue = self.queue_name("confirm-after")
        ch.exchange_declare(exchange=exchange, exchange_type="direct")
        ch.queue_declare(queue=queue)
        ch.confirm_delivery()

        with self.assertRaises(pika.exceptions.UnroutableError) as cm:
            ch.basic_publish(
                exchange=exchange,
                routing_key="nowhere",
                body=b"lost",
                properties=pika.BasicProperties(content_type="text/plain"),
                mandatory=True,
            )
        returned = cm.exception.messages
        self.assertEqual(len(returned), 1)
        ret = returned[0]
        self.assertIsInstance(ret.method, pika.spec.Basic.Return)
        self.assertEqual(
            (ret.method.reply_code, ret.method.reply_text, ret.method.exchange, ret.method.routing_key),
            (312, "NO_ROUTE", exchange, "nowhere"),
        )
        self.assertEqual(ret.body, b"lost")
        self.assertEqual(set_props(ret.properties), {"content_type": "text/plain"})

        # Without mandatory the same publish is confirmed and dropped.
        self.assertIsNone(ch.basic_publish(exchange=exchange, routing_key="nowhere", body=b"dropped"))
        # The default exchange with no such queue is unroutable too.
        with self.assertRaises(pika.exceptions.UnroutableError) as cm:
            ch.basic_publish(exchange="", routing_key=unique("no-such-queue"), body=b"x", mandatory=True)
        self.assertEqual(cm.exception.messages[0].method.reply_code, 312)
        # The channel stays open and confirming.
        self.assertTrue(ch.is_open)
        self.assertIsNone(ch.basic_publish(exchange="", routing_key=queue, body=b"after", mandatory=True))
        method, _, body = ch.basic_get(queue=queue, auto_ack=True)
        self.assertEqual((body, method.message_count), (b"after", 0))


class DeadLetterTests(AMQPTestCase):

    def test_nack_without_requeue_dead_letters_with_x_death_header(self):
        conn = self.connect()
        ch = conn.channel()
        dlx = self.exchange_name("dlx")
        dlq = self.queue_name("dead")
        queue = self.queue_name("work")
        ch.exchange_declare(exchange=dlx, exchange_type="fanout")
        ch.queue_declare(queue=dlq)
        ch.queue_bind(queue=dlq, exchange=dlx, routing_key="")
        ch.queue_declare(queue=queue, arguments={"x-dead-letter-exchange": dlx})

        ch.basic_publish(
            exchange="",
            routing_key=queue,
            body=b'{"order_id": "ORD-9"}',
            properties=pika.BasicProperties(**PERSISTENT_JSON),
        )
        method, _, body = ch.basic_get(queue=queue, auto_ack=False)
        self.assertIsNotNone(method, "the published message is not in the queue")
        self.assertEqual(body, b'{"order_id": "ORD-9"}')
        ch.basic_nack(delivery_tag=method.delivery_tag, multiple=False, requeue=False)

        method, props, body = self.consume_one(ch, dlq)
        self.assertEqual(body, b'{"order_id": "ORD-9"}')
        self.assertEqual(method.exchange, dlx)
        # No x-dead-letter-routing-key: the original routing key is kept.
        self.assertEqual(method.routing_key, queue)
        self.assertFalse(method.redelivered)
        self.assertEqual((props.content_type, props.delivery_mode), ("application/json", 2))

        headers = props.headers
        self.assertIsInstance(headers, dict)
        first = {"x-death", "x-first-death-exchange", "x-first-death-queue", "x-first-death-reason"}
        last = {"x-last-death-exchange", "x-last-death-queue", "x-last-death-reason"}
        # RabbitMQ 3.10 sets the x-first-death-* headers; 3.13 and later add x-last-death-*,
        # which tribus sets as they do (docs/compat.md). Either set is RabbitMQ's.
        self.assertIn(set(headers), (first, first | last))
        if "x-last-death-reason" in headers:
            self.assertEqual(headers["x-last-death-reason"], "rejected")
            self.assertEqual(headers["x-last-death-queue"], queue)
            self.assertEqual(headers["x-last-death-exchange"], "")
        self.assertEqual(headers["x-first-death-reason"], "rejected")
        self.assertEqual(headers["x-first-death-queue"], queue)
        self.assertEqual(headers["x-first-death-exchange"], "")
        deaths = headers["x-death"]
        self.assertIsInstance(deaths, list)
        self.assertEqual(len(deaths), 1)
        death = deaths[0]
        self.assertEqual(set(death), {"count", "reason", "queue", "time", "exchange", "routing-keys"})
        self.assertEqual(death["count"], 1)
        # Field type 'l' (signed 64-bit), which pika decodes as compat.long:
        # Java clients read it with a cast to Long.
        self.assertIs(type(death["count"]), pika.compat.long)
        self.assertEqual(death["reason"], "rejected")
        self.assertEqual(death["queue"], queue)
        self.assertEqual(death["exchange"], "")
        self.assertEqual(death["routing-keys"], [queue])
        self.assertIsInstance(death["time"], datetime.datetime)

        self.assert_queue_counts(ch, queue, 0)
        self.assert_queue_counts(ch, dlq, 0)

    def test_reject_without_requeue_dead_letters_with_dead_letter_routing_key(self):
        conn = self.connect()
        ch = conn.channel()
        exchange = self.exchange_name("in")
        dlx = self.exchange_name("dlx-direct")
        dlq = self.queue_name("parked")
        queue = self.queue_name("work-rk")
        ch.exchange_declare(exchange=exchange, exchange_type="direct")
        ch.exchange_declare(exchange=dlx, exchange_type="direct")
        ch.queue_declare(queue=dlq)
        ch.queue_bind(queue=dlq, exchange=dlx, routing_key="parked")
        ch.queue_declare(
            queue=queue,
            arguments={"x-dead-letter-exchange": dlx, "x-dead-letter-routing-key": "parked"},
        )
        ch.queue_bind(queue=queue, exchange=exchange, routing_key="work")

        ch.basic_publish(
            exchange=exchange,
            routing_key="work",
            body=b"payload",
            properties=pika.BasicProperties(headers={"attempt": 1}),
        )
        method, _, _ = ch.basic_get(queue=queue, auto_ack=False)
        self.assertIsNotNone(method, "the published message is not in the queue")
        ch.basic_reject(delivery_tag=method.delivery_tag, requeue=False)

        method, props, body = self.consume_one(ch, dlq)
        self.assertEqual(body, b"payload")
        self.assertEqual((method.exchange, method.routing_key), (dlx, "parked"))
        headers = props.headers
        # The publisher's own headers are kept beside the x-death ones.
        self.assertEqual(headers["attempt"], 1)
        self.assertEqual(headers["x-first-death-reason"], "rejected")
        self.assertEqual(headers["x-first-death-queue"], queue)
        self.assertEqual(headers["x-first-death-exchange"], exchange)
        self.assertEqual(len(headers["x-death"]), 1)
        death = headers["x-death"][0]
        self.assertEqual(
            {k: v for k, v in death.items() if k != "time"},
            {"count": 1, "reason": "rejected", "queue": queue, "exchange": exchange, "routing-keys": ["work"]},
        )
        self.assert_queue_counts(ch, queue, 0)


class BasicGetTests(AMQPTestCase):

    def test_basic_get_reports_remaining_message_count_then_get_empty(self):
        conn = self.connect()
        ch = conn.channel()
        queue = self.queue_name("get")
        ch.queue_declare(queue=queue)
        for i in range(3):
            ch.basic_publish(exchange="", routing_key=queue, body=b"m%d" % i)
        for i in range(3):
            method, props, body = ch.basic_get(queue=queue, auto_ack=True)
            self.assertIsInstance(method, pika.spec.Basic.GetOk)
            self.assertEqual(body, b"m%d" % i)
            self.assertEqual(
                (method.delivery_tag, method.redelivered, method.exchange, method.routing_key, method.message_count),
                (i + 1, False, "", queue, 2 - i),
            )
            self.assertEqual(set_props(props), {})
        self.assertEqual(ch.basic_get(queue=queue, auto_ack=True), (None, None, None))
        self.assertEqual(ch.basic_get(queue=queue, auto_ack=False), (None, None, None))
        self.assert_queue_counts(ch, queue, 0)

    def test_rejected_with_requeue_is_got_again_marked_redelivered(self):
        conn = self.connect()
        ch = conn.channel()
        queue = self.queue_name("requeue")
        ch.queue_declare(queue=queue)
        ch.basic_publish(exchange="", routing_key=queue, body=b"again")
        method, _, body = ch.basic_get(queue=queue, auto_ack=False)
        self.assertEqual((body, method.delivery_tag, method.redelivered, method.message_count), (b"again", 1, False, 0))
        # Unacked: not counted as ready.
        self.assert_queue_counts(ch, queue, 0)
        # (No queue.declare count here: RabbitMQ answers it ahead of pending
        # rejects, so it may still say 0. A basic.get is served in order.)
        ch.basic_reject(delivery_tag=method.delivery_tag, requeue=True)
        method, _, body = ch.basic_get(queue=queue, auto_ack=False)
        self.assertEqual((body, method.delivery_tag, method.redelivered, method.message_count), (b"again", 2, True, 0))
        ch.basic_ack(delivery_tag=method.delivery_tag)
        self.assertEqual(ch.basic_get(queue=queue), (None, None, None))
        # Nothing comes back when the channel closes: the ack took effect.
        ch.close()
        self.assert_queue_counts(conn.channel(), queue, 0)


class PrefetchTests(AMQPTestCase):

    def test_prefetch_one_holds_back_deliveries_until_ack(self):
        conn = self.connect()
        pub = conn.channel()
        queue = self.queue_name("qos")
        pub.queue_declare(queue=queue)
        # Confirmed publishes: each is in the queue when basic_publish returns,
        # so the queue.declare counts below cannot overtake a publish.
        pub.confirm_delivery()

        chans, got = [], []
        for i in range(2):
            ch = conn.channel()
            ch.basic_qos(prefetch_count=1)
            seen = []
            ch.basic_consume(
                queue=queue,
                on_message_callback=lambda c, m, p, b, seen=seen: seen.append((m.delivery_tag, b)),
                auto_ack=False,
            )
            chans.append(ch)
            got.append(seen)
        a, b = got

        for i in range(3):
            pub.basic_publish(exchange="", routing_key=queue, body=b"m%d" % i)
        self.wait_for(conn, lambda: len(a) + len(b) >= 2, "two deliveries")
        # One unacked message each; the third stays ready in the queue.
        self.assertEqual((len(a), len(b)), (1, 1))
        self.assertEqual({a[0][1], b[0][1]}, {b"m0", b"m1"})
        self.assert_queue_counts(pub, queue, 1, 2)

        # Acking on the first consumer's channel releases the third to it.
        chans[0].basic_ack(delivery_tag=a[0][0])
        self.wait_for(conn, lambda: len(a) == 2, "the third delivery after the ack")
        self.assertEqual(a[1], (2, b"m2"))
        self.assertEqual(len(b), 1)
        self.assert_queue_counts(pub, queue, 0, 2)
        chans[0].basic_ack(delivery_tag=a[1][0])
        chans[1].basic_ack(delivery_tag=b[0][0])
        for ch in chans:
            ch.close()
        self.assert_queue_counts(pub, queue, 0, 0)


class ChannelErrorTests(AMQPTestCase):

    def test_passive_declare_of_missing_queue_closes_channel_with_404(self):
        conn = self.connect()
        ch = conn.channel()
        missing = unique("missing")
        with self.assertRaises(pika.exceptions.ChannelClosedByBroker) as cm:
            ch.queue_declare(queue=missing, passive=True)
        self.assert_closed_by_broker(cm, 404, "NOT_FOUND - no queue '%s' in vhost '/'" % missing)
        self.assertTrue(ch.is_closed)

        # Only the channel is gone: the connection works on a new channel.
        self.assertTrue(conn.is_open)
        ch = conn.channel()
        queue = self.queue_name("after-404")
        ch.queue_declare(queue=queue)
        ch.basic_publish(exchange="", routing_key=queue, body=b"still here")
        method, _, body = ch.basic_get(queue=queue, auto_ack=True)
        self.assertEqual((body, method.message_count), (b"still here", 0))

    def test_passive_declare_of_missing_exchange_closes_channel_with_404(self):
        conn = self.connect()
        ch = conn.channel()
        missing = unique("missing-x")
        with self.assertRaises(pika.exceptions.ChannelClosedByBroker) as cm:
            ch.exchange_declare(exchange=missing, passive=True)
        self.assert_closed_by_broker(cm, 404, "NOT_FOUND - no exchange '%s' in vhost '/'" % missing)
        self.assertTrue(conn.is_open)

    def test_publish_to_missing_exchange_closes_channel_with_404(self):
        conn = self.connect()
        ch = conn.channel()
        ch.confirm_delivery()
        missing = unique("missing-pub")
        with self.assertRaises(pika.exceptions.ChannelClosedByBroker) as cm:
            ch.basic_publish(exchange=missing, routing_key="k", body=b"x")
        self.assert_closed_by_broker(cm, 404, "NOT_FOUND - no exchange '%s' in vhost '/'" % missing)
        self.assertTrue(conn.is_open)
        self.assertTrue(conn.channel().is_open)

    def test_redeclare_with_other_durable_flag_closes_channel_with_406(self):
        conn = self.connect()
        ch = conn.channel()
        queue = self.queue_name("durable")
        ch.queue_declare(queue=queue, durable=True)
        with self.assertRaises(pika.exceptions.ChannelClosedByBroker) as cm:
            conn.channel().queue_declare(queue=queue, durable=False)
        self.assert_closed_by_broker(
            cm,
            406,
            "PRECONDITION_FAILED - inequivalent arg 'durable' for queue '%s' in vhost '/': "
            "received 'false' but current is 'true'" % queue,
        )
        # The first channel is unaffected.
        self.assertTrue(ch.is_open)
        self.assert_queue_counts(ch, queue, 0)


class ServerNamedQueueTests(AMQPTestCase):

    def test_empty_queue_name_declares_a_server_named_amq_gen_queue(self):
        conn = self.connect()
        ch = conn.channel()
        ok = ch.queue_declare(queue="", exclusive=True)
        name = ok.method.queue
        self.assertTrue(name.startswith("amq.gen-"), name)
        self.assertEqual((ok.method.message_count, ok.method.consumer_count), (0, 0))
        # Usable by the name the server gave it.
        exchange = self.exchange_name("fan")
        ch.exchange_declare(exchange=exchange, exchange_type="fanout")
        ch.queue_bind(queue=name, exchange=exchange)
        ch.basic_publish(exchange=exchange, routing_key="ignored", body=b"to-gen")
        method, _, body = ch.basic_get(queue=name, auto_ack=True)
        self.assertEqual((body, method.routing_key, method.exchange), (b"to-gen", "ignored", exchange))
        # A second declare gets another name.
        self.assertNotEqual(ch.queue_declare(queue="", exclusive=True).method.queue, name)

    def test_declaring_a_queue_with_amq_prefix_is_refused_with_403(self):
        conn = self.connect()
        name = "amq.interop-" + uuid.uuid4().hex[:12]
        with self.assertRaises(pika.exceptions.ChannelClosedByBroker) as cm:
            conn.channel().queue_declare(queue=name)
        self.assert_closed_by_broker(
            cm, 403, "ACCESS_REFUSED - queue name '%s' contains reserved prefix 'amq.*'" % name
        )
        self.assertTrue(conn.is_open)


class ExclusiveQueueTests(AMQPTestCase):

    def locked_text(self, queue):
        return (
            "RESOURCE_LOCKED - cannot obtain exclusive access to locked queue '%s' in vhost '/'. "
            "It could be originally declared on another connection or the exclusive property "
            "value does not match that of the original declaration." % queue
        )

    def test_exclusive_queue_is_refused_to_another_connection_with_405(self):
        owner = self.connect()
        och = owner.channel()
        queue = self.queue_name("exclusive")
        ok = och.queue_declare(queue=queue, exclusive=True)
        self.assertEqual(ok.method.queue, queue)

        other = self.connect()
        with self.assertRaises(pika.exceptions.ChannelClosedByBroker) as cm:
            other.channel().queue_declare(queue=queue, exclusive=True)
        self.assert_closed_by_broker(cm, 405, self.locked_text(queue))
        with self.assertRaises(pika.exceptions.ChannelClosedByBroker) as cm:
            other.channel().basic_consume(queue=queue, on_message_callback=lambda *a: None)
        self.assert_closed_by_broker(cm, 405, self.locked_text(queue))
        self.assertTrue(other.is_open)

        # The owner keeps using it.
        och.basic_publish(exchange="", routing_key=queue, body=b"mine")
        method, _, body = och.basic_get(queue=queue, auto_ack=True)
        self.assertEqual((body, method.message_count), (b"mine", 0))


class RawFrameTests(unittest.TestCase):
    """Frames written by hand (pika's own frame codec, no client state machine): what the
    server answers to frames a client library would never send. The expected codes, texts
    and failed-method ids are RabbitMQ 3.10.8's."""

    def connect(self, channel_max=2047, frame_max=131072, heartbeat=0):
        s = socket.create_connection((HOST, port()), timeout=SOCKET_TIMEOUT)
        self.addCleanup(s.close)
        s.sendall(b"AMQP\x00\x00\x09\x01")
        self.buf = b""
        self.assertIsInstance(self.read(s).method, pika.spec.Connection.Start)
        self.send(s, 0, pika.spec.Connection.StartOk(client_properties={}, mechanism="PLAIN",
                                                     response="\x00guest\x00guest"))
        self.assertIsInstance(self.read(s).method, pika.spec.Connection.Tune)
        self.send(s, 0, pika.spec.Connection.TuneOk(channel_max=channel_max, frame_max=frame_max, heartbeat=heartbeat))
        self.send(s, 0, pika.spec.Connection.Open(virtual_host="/"))
        self.assertIsInstance(self.read(s).method, pika.spec.Connection.OpenOk)
        return s

    def send(self, s, channel, method):
        s.sendall(pika.frame.Method(channel, method).marshal())

    def read(self, s):
        """The next frame, or None once the server has closed the socket."""
        while True:
            n, f = pika.frame.decode_frame(self.buf)
            if f is not None:
                self.buf = self.buf[n:]
                return f
            try:
                data = s.recv(65536)
            except ConnectionResetError:
                return None
            if not data:
                return None
            self.buf += data

    def open_channel(self, s, channel=1):
        self.send(s, channel, pika.spec.Channel.Open())
        self.assertIsInstance(self.read(s).method, pika.spec.Channel.OpenOk)

    def assert_connection_closed(self, s, code, text, class_id, method_id):
        while True:
            f = self.read(s)
            self.assertIsNotNone(f, "the socket closed with no connection.close")
            if isinstance(f, pika.frame.Method) and isinstance(f.method, pika.spec.Connection.Close):
                break
        self.assertEqual(f.channel_number, 0)
        m = f.method
        self.assertEqual((m.reply_code, m.reply_text, m.class_id, m.method_id), (code, text, class_id, method_id))

    def test_method_on_an_unopened_channel_is_504(self):
        s = self.connect()
        self.send(s, 5, pika.spec.Queue.Declare(queue="x"))
        self.assert_connection_closed(s, 504, "CHANNEL_ERROR - expected 'channel.open'", 50, 10)

    def test_a_second_channel_open_is_504(self):
        s = self.connect()
        self.open_channel(s)
        self.send(s, 1, pika.spec.Channel.Open())
        self.assert_connection_closed(s, 504, "CHANNEL_ERROR - second 'channel.open' seen", 20, 10)

    def test_opening_beyond_channel_max_is_530(self):
        s = self.connect(channel_max=2)
        for ch in (1, 2, 3):
            self.send(s, ch, pika.spec.Channel.Open())
        self.assert_connection_closed(
            s, 530, "NOT_ALLOWED - number of channels opened (2) has reached the negotiated channel_max (2)", 0, 0)

    def test_a_frame_over_frame_max_is_501(self):
        s = self.connect(frame_max=4096)
        self.open_channel(s)
        payload = b"x" * 5000
        s.sendall(struct.pack(">BHI", 3, 1, len(payload)) + payload + b"\xce")
        self.assert_connection_closed(
            s, 501, "FRAME_ERROR - type 3, all octets = <<>>: {frame_too_large,5000,4088}", 0, 0)

    def test_a_content_header_without_publish_is_505(self):
        s = self.connect()
        self.open_channel(s)
        s.sendall(pika.frame.Header(1, 3, pika.spec.BasicProperties()).marshal())
        self.assert_connection_closed(
            s, 505, "UNEXPECTED_FRAME - expected method frame, got non method frame instead", 0, 0)

    def test_qos_with_a_prefetch_size_is_540_closing_the_connection(self):
        s = self.connect()
        self.open_channel(s)
        self.send(s, 1, pika.spec.Basic.Qos(prefetch_size=1, prefetch_count=0))
        self.assert_connection_closed(s, 540, "NOT_IMPLEMENTED - prefetch_size!=0 (1)", 60, 10)

    def test_channel_flow_active_false_is_540_closing_the_connection(self):
        s = self.connect()
        self.open_channel(s)
        self.send(s, 1, pika.spec.Channel.Flow(active=False))
        self.assert_connection_closed(s, 540, "NOT_IMPLEMENTED - active=false", 20, 20)

    def test_a_silent_client_is_dropped_after_two_to_three_heartbeats(self):
        s = self.connect(heartbeat=1)
        s.settimeout(10)
        start = time.monotonic()
        while self.read(s) is not None:
            pass  # the server's heartbeats, until it gives up on us
        elapsed = time.monotonic() - start
        self.assertGreaterEqual(elapsed, 1.8)
        self.assertLess(elapsed, 3.6)


def main():
    if not _PORT:
        sys.stderr.write("AMQP_PORT must be set (AMQP_HOST defaults to 127.0.0.1)\n")
        return 2
    prog = unittest.main(module=__name__, argv=[sys.argv[0], "-v"] + sys.argv[1:], exit=False)
    return 0 if prog.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
