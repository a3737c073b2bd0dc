#!/usr/bin/python3
"""Kafka interop tests with Debian's kafka-python 2.0.2 (python3-kafka).

The same file is run against tribus's Kafka front door (`tribus serve
--kafka`) and against franz-go's kfake (interop/cmd/kfake), over TCP, one
broker each. There is no real Kafka to run it against: every expectation is
Kafka's documented behaviour (the protocol guide, the message specs under
clients/src/main/resources/common/message, the consumer and producer
configuration docs), and kfake is a second opinion, not the reference.

Server address comes from the environment:
    KAFKA_HOST  (default 127.0.0.1)
    KAFKA_PORT  (required)

Run with Debian's interpreter (python3-kafka is only importable there):
    KAFKA_PORT=9092 /usr/bin/python3 -m unittest -v interop/python/test_kafka_python.py
    KAFKA_PORT=9092 /usr/bin/python3 interop/python/test_kafka_python.py

kafka-python is left to detect the broker's version itself (api_version
unset: it sends ApiVersions v0 and infers a Kafka release from the versions
advertised), as an application would. Every test creates topics of its own (a
random suffix) with KafkaAdminClient and deletes them after, so the file can
be re-run against one server. Waits are bounded: consumers poll with
timeout_ms in a deadline loop, futures are waited for with a timeout; nothing
sleeps to let a result "probably" arrive. Set KAFKA_LOG=1 to see
kafka-python's own log output on stderr.
"""

import json
import logging
import os
import sys
import threading
import time
import unittest
import uuid

import kafka
import kafka.errors
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.structs import OffsetAndMetadata

HOST = os.environ.get("KAFKA_HOST", "127.0.0.1")
_PORT = os.environ.get("KAFKA_PORT")

# Upper bound for anything that *should* arrive. Against a healthy server this
# is never waited for in full; it only stops a broken server from hanging us.
ARRIVE_TIMEOUT = 10.0
# Bound on every blocking client call (metadata, produce futures, admin).
REQUEST_TIMEOUT_MS = 10000

if not os.environ.get("KAFKA_LOG"):
    # kafka-python logs retriable metadata errors and coordinator moves at
    # WARNING/ERROR; the tests assert on outcomes themselves.
    logging.getLogger("kafka").setLevel(logging.CRITICAL)
else:
    logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)


def bootstrap():
    if not _PORT:
        # Deliberately an error, not a skip: a run without a server must not
        # look green.
        raise RuntimeError("KAFKA_PORT is not set (KAFKA_HOST defaults to 127.0.0.1)")
    return "%s:%d" % (HOST, int(_PORT))


def unique(tag):
    """A topic or group name that is unique per test run."""
    return "interop.%s.%s" % (tag, uuid.uuid4().hex[:12])


def json_bytes(value):
    return json.dumps(value, sort_keys=True).encode()


class KafkaTestCase(unittest.TestCase):
    """Base class: makes clients and topics, and closes and deletes them after."""

    def setUp(self):
        self._clients = []
        self._topics = []
        self._admin = None

    def tearDown(self):
        for c in reversed(self._clients):
            try:
                c.close()
            except Exception:
                pass
        # Hygiene only (names are unique anyway): a failure here must not
        # mask the test's own result, so errors are ignored.
        for name in self._topics:
            try:
                self.admin().delete_topics([name], timeout_ms=REQUEST_TIMEOUT_MS)
            except Exception:
                pass
        if self._admin is not None:
            try:
                self._admin.close()
            except Exception:
                pass

    def admin(self):
        if self._admin is None:
            self._admin = KafkaAdminClient(bootstrap_servers=bootstrap(), request_timeout_ms=REQUEST_TIMEOUT_MS)
        return self._admin

    def producer(self, **config):
        config.setdefault("request_timeout_ms", REQUEST_TIMEOUT_MS)
        config.setdefault("max_block_ms", REQUEST_TIMEOUT_MS)
        p = KafkaProducer(bootstrap_servers=bootstrap(), **config)
        self._clients.append(p)
        return p

    def consumer(self, *topics, **config):
        config.setdefault("request_timeout_ms", 30000)  # must exceed session_timeout_ms
        config.setdefault("session_timeout_ms", 10000)
        config.setdefault("heartbeat_interval_ms", 1000)
        config.setdefault("fetch_max_wait_ms", 100)
        c = KafkaConsumer(*topics, bootstrap_servers=bootstrap(), **config)
        self._clients.append(c)
        return c

    def create_topic(self, tag, partitions=1):
        """A new topic of its own, created with the admin client; returns its name."""
        name = unique(tag)
        resp = self.admin().create_topics(
            [NewTopic(name, partitions, 1)], timeout_ms=REQUEST_TIMEOUT_MS)
        self._topics.append(name)
        self.assertEqual([(t[0], t[1]) for t in resp.topic_errors], [(name, 0)])
        return name

    # --- helpers -----------------------------------------------------------

    def poll_records(self, consumer, count, timeout=ARRIVE_TIMEOUT, on_record=None):
        """Poll until count records arrived (in arrival order); fail on timeout,
        and fail if more than count arrive."""
        got = []
        deadline = time.monotonic() + timeout
        while len(got) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.fail("timed out after %.1fs with %d of %d records: %r"
                          % (timeout, len(got), count, [(r.partition, r.offset) for r in got]))
            batch = consumer.poll(timeout_ms=int(min(remaining, 0.5) * 1000))
            for tp in sorted(batch):
                for r in batch[tp]:
                    got.append(r)
                    if on_record is not None:
                        on_record(r)
        self.assertEqual(len(got), count, "more records than produced")
        return got

    def wait_assigned(self, consumer, partitions, timeout=ARRIVE_TIMEOUT):
        """Poll a subscribed consumer until the group gave it partitions (set of
        TopicPartition); returns the records that arrived meanwhile."""
        got = []
        deadline = time.monotonic() + timeout
        while consumer.assignment() != partitions:
            if time.monotonic() >= deadline:
                self.fail("no assignment %r within %.1fs (have %r)" % (partitions, timeout, consumer.assignment()))
            for recs in consumer.poll(timeout_ms=200).values():
                got.extend(recs)
        return got

    def produce(self, producer, topic, items, **send):
        """Send (key, value) pairs in order and wait for each ack; returns the
        RecordMetadata of each, in order."""
        futures = [producer.send(topic, key=k, value=v, **send) for k, v in items]
        producer.flush(timeout=ARRIVE_TIMEOUT)
        return [f.get(timeout=ARRIVE_TIMEOUT) for f in futures]


class VersionTests(KafkaTestCase):

    def test_api_version_is_detected_as_a_release_with_record_batches_and_headers(self):
        p = self.producer()
        # ApiVersions v0 told the client which release it talks to; record
        # headers (KIP-82) need 0.11 or later, everything below needs them.
        detected = p.config["api_version"]
        print("\n    kafka-python detected api_version %s" % (detected,), file=sys.stderr)
        self.assertGreaterEqual(detected, (0, 11))


class OrderFlowTests(KafkaTestCase):
    """The issue's scenario: order events published with acks=all, gzip and JSON
    values keyed by order id, consumed by the notification service's group
    with manual commits after each message."""

    ORDERS = [
        ("ORD-1", {"order_id": "ORD-1", "event": "created", "total": 42.5}),
        ("ORD-2", {"order_id": "ORD-2", "event": "created", "total": 7.0}),
        ("ORD-1", {"order_id": "ORD-1", "event": "paid"}),
        ("ORD-3", {"order_id": "ORD-3", "event": "created", "total": 19.99}),
        ("ORD-2", {"order_id": "ORD-2", "event": "cancelled"}),
        ("ORD-1", {"order_id": "ORD-1", "event": "shipped"}),
    ]

    def order_producer(self):
        return self.producer(
            acks="all",
            compression_type="gzip",
            key_serializer=str.encode,
            value_serializer=json_bytes,
        )

    def test_keyed_gzip_json_orders_consumed_by_group_with_a_commit_after_each(self):
        topic = self.create_topic("orders", partitions=3)
        producer = self.order_producer()
        sent = self.produce(producer, topic, self.ORDERS)

        # One key, one partition (the default partitioner hashes the key), and
        # offsets in each partition are 0, 1, ... in send order.
        by_key = {}
        for (key, _), md in zip(self.ORDERS, sent):
            self.assertEqual(md.topic, topic)
            by_key.setdefault(key, set()).add(md.partition)
        self.assertEqual({k: len(p) for k, p in by_key.items()}, {"ORD-1": 1, "ORD-2": 1, "ORD-3": 1})
        per_partition = {}
        for md in sent:
            per_partition.setdefault(md.partition, []).append(md.offset)
        for partition, offsets in per_partition.items():
            self.assertEqual(offsets, list(range(len(offsets))), "partition %d" % partition)

        group = "notification-service"
        consumer = self.consumer(
            topic,
            group_id=group,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            key_deserializer=bytes.decode,
            value_deserializer=json.loads,
        )
        tps = {TopicPartition(topic, p) for p in range(3)}
        committed_log = []

        def commit_one(r):
            tp = TopicPartition(r.topic, r.partition)
            consumer.commit({tp: OffsetAndMetadata(r.offset + 1, None)})
            committed = consumer.committed(tp)
            committed_log.append((r.partition, r.offset, committed))
            self.assertEqual(committed, r.offset + 1)

        early = self.wait_assigned(consumer, tps)
        for r in early:
            commit_one(r)
        got = early + self.poll_records(consumer, len(self.ORDERS) - len(early), on_record=commit_one)
        print("\n    committed after each message (partition, offset, committed): %s"
              % committed_log, file=sys.stderr)

        # Everything arrived once, decoded, with its key; each partition in
        # offset order, as sent.
        self.assertEqual(sorted((r.key, json.dumps(r.value, sort_keys=True)) for r in got),
                         sorted((k, json.dumps(v, sort_keys=True)) for k, v in self.ORDERS))
        for key, partitions in by_key.items():
            self.assertEqual({r.partition for r in got if r.key == key}, partitions)
        for partition, offsets in per_partition.items():
            self.assertEqual([r.offset for r in got if r.partition == partition], offsets)
        for key in by_key:
            self.assertEqual([r.value for r in got if r.key == key],
                             [v for k, v in self.ORDERS if k == key], key)

        # The group's committed offsets are the end of each partition.
        end = consumer.end_offsets(sorted(tps))
        committed = {tp: consumer.committed(tp) for tp in tps}
        print("    committed offsets of %s: %s" % (group, {tp.partition: o for tp, o in sorted(committed.items())}),
              file=sys.stderr)
        self.assertEqual({tp: committed[tp] or 0 for tp in tps}, {tp: end[tp] for tp in tps})
        self.assertEqual(sum(end.values()), len(self.ORDERS))
        consumer.close()

        # A new member of the group starts where the group committed.
        again = self.consumer(group_id=group, enable_auto_commit=False, auto_offset_reset="earliest")
        again.assign(sorted(tps))
        self.assertEqual({tp: again.position(tp) for tp in tps}, {tp: end[tp] for tp in tps})
        # And the admin client reads the same offsets for the group.
        offsets = self.admin().list_consumer_group_offsets(group)
        self.assertEqual({tp: o.offset for tp, o in offsets.items() if tp.topic == topic},
                         {tp: end[tp] for tp in tps if end[tp] > 0})

    def test_a_second_consumer_replays_everything_from_earliest(self):
        topic = self.create_topic("replay", partitions=2)
        producer = self.order_producer()
        sent = self.produce(producer, topic, self.ORDERS)
        want = sorted((md.partition, md.offset) for md in sent)

        # The first group reads and commits everything.
        first = self.consumer(topic, group_id=unique("first"), auto_offset_reset="earliest",
                              enable_auto_commit=False)
        got = self.poll_records(first, len(self.ORDERS))
        first.commit()
        self.assertEqual(sorted((r.partition, r.offset) for r in got), want)

        # Another group has no committed offsets: earliest replays all of it.
        other = self.consumer(topic, group_id=unique("other"), auto_offset_reset="earliest",
                              enable_auto_commit=False, value_deserializer=json.loads)
        replay = self.poll_records(other, len(self.ORDERS))
        self.assertEqual(sorted((r.partition, r.offset) for r in replay), want)
        self.assertEqual(sorted(json.dumps(r.value, sort_keys=True) for r in replay),
                         sorted(json.dumps(v, sort_keys=True) for _, v in self.ORDERS))

        # And so does a consumer without a group, assigned the partitions.
        loner = self.consumer(group_id=None, auto_offset_reset="earliest", enable_auto_commit=False)
        loner.assign([TopicPartition(topic, p) for p in range(2)])
        replay = self.poll_records(loner, len(self.ORDERS))
        self.assertEqual(sorted((r.partition, r.offset) for r in replay), want)


class GroupTests(KafkaTestCase):

    def test_two_members_split_the_partitions_and_together_read_everything(self):
        topic = self.create_topic("split", partitions=4)
        producer = self.producer(acks="all")
        for p in range(4):
            for i in range(3):
                producer.send(topic, value=b"p%d-%d" % (p, i), partition=p)
        producer.flush(timeout=ARRIVE_TIMEOUT)

        group = unique("split")
        members = [self.consumer(topic, group_id=group, auto_offset_reset="earliest",
                                 enable_auto_commit=False) for _ in range(2)]
        got = [[] for _ in members]
        errors = []
        done = threading.Event()

        def settled():
            a = [m.assignment() for m in members]
            return all(len(x) == 2 for x in a) and not (a[0] & a[1]) and sum(len(g) for g in got) == 12

        def run(i):
            # A consumer is not safe for concurrent use; each thread polls
            # its own, since a member's poll blocks while the group rebalances.
            try:
                deadline = time.monotonic() + 2 * ARRIVE_TIMEOUT
                while not done.is_set() and time.monotonic() < deadline:
                    for recs in members[i].poll(timeout_ms=200).values():
                        got[i].extend((r.partition, r.offset, r.value) for r in recs)
                    members[i].commit()
            except Exception as e:  # reported by the main thread
                errors.append(e)
            finally:
                done.set()

        threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(2)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 2 * ARRIVE_TIMEOUT
        while not settled() and not errors and time.monotonic() < deadline:
            done.wait(0.05)  # the members poll in their threads; this only watches them
        ok = settled()
        done.set()
        for t in threads:
            t.join(ARRIVE_TIMEOUT + 1)
        self.assertEqual(errors, [])
        self.assertTrue(ok, "assignments %r, %d records" % ([m.assignment() for m in members],
                                                           sum(len(g) for g in got)))
        # The range assignor gives each of two members two of four partitions.
        owned = [{tp.partition for tp in m.assignment()} for m in members]
        self.assertEqual(owned[0] | owned[1], {0, 1, 2, 3})
        # Each record was read once: whichever member owned its partition when
        # it was read (the first to join may read all before the second joins)
        # committed it before the group moved the partition on.
        self.assertEqual(sorted(got[0] + got[1]),
                         sorted((p, i, b"p%d-%d" % (p, i)) for p in range(4) for i in range(3)))

    def test_commit_metadata_round_trips(self):
        topic = self.create_topic("meta")
        tp = TopicPartition(topic, 0)
        group = unique("meta")
        c = self.consumer(group_id=group, enable_auto_commit=False)
        c.assign([tp])
        self.assertIsNone(c.committed(tp))
        c.commit({tp: OffsetAndMetadata(42, "checkpoint-1")})
        self.assertEqual(c.committed(tp), 42)
        offsets = self.admin().list_consumer_group_offsets(group)
        self.assertEqual(offsets[tp], OffsetAndMetadata(42, "checkpoint-1"))


class OffsetTests(KafkaTestCase):

    def test_assign_and_seek_reads_from_that_offset(self):
        topic = self.create_topic("seek")
        producer = self.producer(acks="all")
        sent = self.produce(producer, topic, [(None, b"m%d" % i) for i in range(10)])
        self.assertEqual([md.offset for md in sent], list(range(10)))

        tp = TopicPartition(topic, 0)
        c = self.consumer(group_id=None, enable_auto_commit=False)
        c.assign([tp])
        c.seek(tp, 6)
        self.assertEqual(c.position(tp), 6)
        got = self.poll_records(c, 4)
        self.assertEqual([(r.offset, r.value) for r in got], [(i, b"m%d" % i) for i in range(6, 10)])
        self.assertEqual(c.position(tp), 10)

        # Seeking back re-reads; seek_to_beginning goes to the log start.
        c.seek(tp, 2)
        self.assertEqual([r.offset for r in self.poll_records(c, 8)], list(range(2, 10)))
        c.seek_to_beginning(tp)
        self.assertEqual(c.position(tp), 0)
        c.seek_to_end(tp)
        self.assertEqual(c.position(tp), 10)

    def test_beginning_and_end_offsets_follow_the_log(self):
        topic = self.create_topic("ends", partitions=2)
        tps = [TopicPartition(topic, 0), TopicPartition(topic, 1)]
        c = self.consumer(group_id=None)
        self.assertEqual(c.beginning_offsets(tps), {tps[0]: 0, tps[1]: 0})
        self.assertEqual(c.end_offsets(tps), {tps[0]: 0, tps[1]: 0})

        producer = self.producer(acks="all")
        for i in range(5):
            producer.send(topic, value=b"p0-%d" % i, partition=0)
        for i in range(3):
            producer.send(topic, value=b"p1-%d" % i, partition=1)
        producer.flush(timeout=ARRIVE_TIMEOUT)
        self.assertEqual(c.beginning_offsets(tps), {tps[0]: 0, tps[1]: 0})
        self.assertEqual(c.end_offsets(tps), {tps[0]: 5, tps[1]: 3})

    def test_offsets_for_times_finds_the_first_record_at_or_after_a_timestamp(self):
        topic = self.create_topic("times")
        tp = TopicPartition(topic, 0)
        base = 1700000000000
        producer = self.producer(acks="all")
        sent = [producer.send(topic, value=b"t%d" % i, timestamp_ms=base + 1000 * i) for i in range(5)]
        producer.flush(timeout=ARRIVE_TIMEOUT)
        self.assertEqual([f.get(timeout=ARRIVE_TIMEOUT).offset for f in sent], list(range(5)))

        c = self.consumer(group_id=None, auto_offset_reset="earliest")
        cases = [
            (base - 1, 0, base),               # before everything: the first record
            (base, 0, base),                   # exactly a record's timestamp
            (base + 1500, 2, base + 2000),     # between records: the next one
            (base + 4000, 4, base + 4000),     # the last record
        ]
        for ts, offset, found in cases:
            with self.subTest(timestamp=ts):
                got = c.offsets_for_times({tp: ts})[tp]
                self.assertIsNotNone(got)
                self.assertEqual((got.offset, got.timestamp), (offset, found))
        # After the last record: no such offset (Kafka answers offset -1, which
        # kafka-python reports as None).
        self.assertIsNone(c.offsets_for_times({tp: base + 4001})[tp])

        # The records keep their producer timestamps (CreateTime).
        c.assign([tp])
        got = self.poll_records(c, 5)
        self.assertEqual([(r.offset, r.timestamp, r.timestamp_type) for r in got],
                         [(i, base + 1000 * i, 0) for i in range(5)])


class RecordTests(KafkaTestCase):

    def test_headers_keys_and_null_values_round_trip_compressed_and_not(self):
        # Every codec kafka-python has: snappy, lz4 and zstd need python3-snappy,
        # python3-lz4 and python3-zstandard (.ci/run installs them).
        for compression in (None, "gzip", "snappy", "lz4", "zstd"):
            with self.subTest(compression=compression):
                topic = self.create_topic("records")
                producer = self.producer(acks="all", compression_type=compression)
                items = [
                    (b"k1", b"v1", [("trace", b"abc"), ("empty", b"")]),
                    (None, b"no key", []),
                    (b"tombstone", None, [("why", b"deleted")]),
                    (b"", b"", [("dup", b"1"), ("dup", b"2")]),
                ]
                for k, v, h in items:
                    producer.send(topic, key=k, value=v, headers=h)
                producer.flush(timeout=ARRIVE_TIMEOUT)
                c = self.consumer(group_id=None, auto_offset_reset="earliest")
                c.assign([TopicPartition(topic, 0)])
                got = self.poll_records(c, len(items))
                self.assertEqual([(r.key, r.value, list(r.headers)) for r in got],
                                 [(k, v, h) for k, v, h in items])

    def test_a_producer_send_to_a_missing_topic_auto_creates_it_with_one_partition(self):
        # auto.create.topics.enable and num.partitions=1 are Kafka's defaults; a
        # Metadata request below v4 has no AllowAutoTopicCreation field, which
        # the spec defaults to true.
        topic = unique("auto")
        self._topics.append(topic)
        producer = self.producer(acks="all")
        md = producer.send(topic, value=b"first").get(timeout=ARRIVE_TIMEOUT)
        self.assertEqual((md.topic, md.partition, md.offset), (topic, 0, 0))
        self.assertEqual(producer.partitions_for(topic), {0})


class AdminTests(KafkaTestCase):

    def test_create_list_and_delete_topics(self):
        admin = self.admin()
        name = unique("admin")
        self._topics.append(name)
        resp = admin.create_topics([NewTopic(name, 3, 1)], timeout_ms=REQUEST_TIMEOUT_MS)
        self.assertEqual([(t[0], t[1]) for t in resp.topic_errors], [(name, 0)])
        self.assertIn(name, admin.list_topics())
        c = self.consumer(group_id=None)
        self.assertEqual(c.partitions_for_topic(name), {0, 1, 2})

        # kafka-python raises the first topic error of a CreateTopics or
        # DeleteTopics response as its exception type.
        # Creating it again: TOPIC_ALREADY_EXISTS (36).
        with self.assertRaises(kafka.errors.TopicAlreadyExistsError):
            admin.create_topics([NewTopic(name, 3, 1)], timeout_ms=REQUEST_TIMEOUT_MS)
        # Zero partitions: INVALID_PARTITIONS (37), and nothing is created.
        bad = unique("admin-bad")
        with self.assertRaises(kafka.errors.InvalidPartitionsError):
            admin.create_topics([NewTopic(bad, 0, 1)], timeout_ms=REQUEST_TIMEOUT_MS)
        self.assertNotIn(bad, admin.list_topics())

        resp = admin.delete_topics([name], timeout_ms=REQUEST_TIMEOUT_MS)
        self.assertEqual([tuple(t[:2]) for t in resp.topic_error_codes], [(name, 0)])
        self.assertNotIn(name, admin.list_topics())
        # Deleting it again: UNKNOWN_TOPIC_OR_PARTITION (3).
        with self.assertRaises(kafka.errors.UnknownTopicOrPartitionError):
            admin.delete_topics([name], timeout_ms=REQUEST_TIMEOUT_MS)

    def test_describe_and_list_consumer_groups(self):
        topic = self.create_topic("groups")
        group = unique("described")
        producer = self.producer(acks="all")
        self.produce(producer, topic, [(None, b"x")])
        c = self.consumer(topic, group_id=group, auto_offset_reset="earliest", enable_auto_commit=False)
        self.poll_records(c, 1)
        c.commit()

        admin = self.admin()
        self.assertIn((group, "consumer"), admin.list_consumer_groups())
        [desc] = admin.describe_consumer_groups([group])
        self.assertEqual((desc.group, desc.state, desc.protocol_type, desc.protocol),
                         (group, "Stable", "consumer", "range"))
        self.assertEqual(len(desc.members), 1)
        self.assertEqual(admin.list_consumer_group_offsets(group)[TopicPartition(topic, 0)].offset, 1)


def main():
    if not _PORT:
        sys.stderr.write("KAFKA_PORT must be set (KAFKA_HOST defaults to 127.0.0.1)\n")
        return 2
    sys.stderr.write("kafka-python %s against %s\n" % (kafka.__version__, bootstrap()))
    prog = unittest.main(module=__name__, argv=[sys.argv[0], "-v"] + sys.argv[1:], exit=False)
    return 0 if prog.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
