"""HTTP produce on the Kafka backend beside a native producer, same broker, same run (issue 17):

* batch 1 and batch 100 of ~1 KB CloudEvents through `POST /api/v1/topics/{t}/events` with
  BROKER_BACKEND=kafka (each request one Kafka transaction, acks=all, idempotent);
* beside `confluent-kafka` writing the same events (binary content mode: `ce_*` headers, the
  data as the value, murmur2 on the key) to another topic of the same broker, committed in
  transactions of the same size with the same producer settings, so both pay for the same
  durability.

    python -m bench.kafka --db sqlite|postgres [--quick]

Needs KAFKA_BOOTSTRAP_SERVERS (`scripts/kafka.sh start` prints it).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import orjson

from bench.broker import event_document
from bench.harness import ROOT, Database, Figure, Http, Report, Server, django_setup, wrk_available, wrk_post

ROUNDS = 3


def native_records(count: int) -> list[tuple[bytes, bytes, list[tuple[str, bytes]]]]:
    """`count` ~1 KB events as records in binary content mode: (key, value, headers)."""
    return [
        (
            document["partitionkey"].encode(),
            orjson.dumps(document["data"]),
            [
                ("ce_id", f"n-{i}".encode()),
                ("ce_source", document["source"].encode()),
                ("ce_type", document["type"].encode()),
                ("ce_specversion", b"1.0"),
                ("ce_correlationid", document["correlationid"].encode()),
                ("content-type", b"application/json"),
            ],
        )
        for i, document in enumerate(event_document(i) for i in range(count))
    ]


def native_rate(bootstrap: str, topic: str, batch: int, seconds: float, *, transactional: bool = True) -> float:
    """Events/s of one confluent-kafka producer committing `batch` events per transaction, as the
    Kafka log does per request; or, not transactional, producing without pause (librdkafka's own
    batching, linger 5 ms) and flushing at the end: the ceiling with no batch boundary at all."""
    from confluent_kafka import Producer

    config = {
        "bootstrap.servers": bootstrap,
        "enable.idempotence": True,
        "acks": "all",
        "partitioner": "murmur2_random",
        "linger.ms": 0 if transactional else 5,
    }
    if transactional:
        config["transactional.id"] = f"bench-native-{os.getpid()}-{time.monotonic_ns()}"
    producer = Producer(config)
    if transactional:
        producer.init_transactions(30)
    records = native_records(batch)
    sent, began = 0, time.perf_counter()
    while time.perf_counter() - began < seconds:
        if transactional:
            producer.begin_transaction()
        for key, value, headers in records:
            while True:
                try:
                    producer.produce(topic, value=value, key=key, headers=headers)
                    break
                except BufferError:  # the local queue is full: let deliveries drain it
                    producer.poll(0.05)
            producer.poll(0)
        if transactional:
            producer.commit_transaction(30)
        sent += batch
    producer.flush(30)
    return sent / (time.perf_counter() - began)


def bench_produce(report: Report, server: Server, token: str, bootstrap: str, quick: bool) -> None:
    from broker.services.topics import topic_create

    run = f"{os.getpid()}-{int(time.time())}"  # the cluster outlives the run's database
    http_topic, native_topic = f"bench-kafka-http-{run}", f"bench-kafka-native-{run}"
    topic_create(name=http_topic, partitions=3)
    topic_create(name=native_topic, partitions=3)
    try:
        _produce_figures(report, server, token, bootstrap, quick, http_topic, native_topic)
    finally:
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": bootstrap})  # kept alive until its futures resolve
        for future in admin.delete_topics([http_topic, native_topic]).values():
            future.result(timeout=30)


def _produce_figures(
    report: Report, server: Server, token: str, bootstrap: str, quick: bool, http_topic: str, native_topic: str
) -> None:
    seconds = 4 if quick else 8
    for batch, connections in ((1, 16), (100, 8)):
        body = orjson.dumps([event_document(i) for i in range(batch)]) if batch > 1 else orjson.dumps(event_document(0))
        content_type = "application/cloudevents-batch+json" if batch > 1 else "application/cloudevents+json"
        http_rates, native_rates = [], []
        for _ in range(ROUNDS):  # alternating, the machine being shared
            result = wrk_post(
                server.url, f"/api/v1/topics/{http_topic}/events", body, token, content_type, connections, seconds
            )
            assert result["non2xx"] == 0 and result["errors"] == 0, result
            http_rates.append(result["rps"] * batch)
            native_rates.append(native_rate(bootstrap, native_topic, batch, seconds))
        http, native = statistics.median(http_rates), statistics.median(native_rates)
        if batch == 100:
            ceiling = native_rate(bootstrap, native_topic, batch, seconds, transactional=False)
            print(f"  (native without transactions, librdkafka batching: {ceiling:,.0f} ev/s)", flush=True)
        print(
            f"  (batch {batch}: HTTP {', '.join(f'{r:,.0f}' for r in http_rates)} ev/s; "
            f"native {', '.join(f'{r:,.0f}' for r in native_rates)} ev/s)",
            flush=True,
        )
        report.add(
            Figure(
                f"HTTP produce on Kafka, batch {batch}, {connections} producers (events/s)",
                http,
                "ev/s",
                f"native confluent-kafka, {batch} per transaction",
                native,
                ">= 0.5x native" if batch == 100 else "",
                http >= 0.5 * native if batch == 100 else None,
            )
        )


# --- group fetch: an HTTP member beside a native consumer -----------------------------------------


def _fill(bootstrap: str, topic: str, count: int, *, transactional_id: str = "") -> None:
    """`count` ~1 KB events written natively (the readers are what is measured); with a
    `transactional_id`, all in one transaction, which read_committed readers see at once."""
    from confluent_kafka import Producer

    config = {"bootstrap.servers": bootstrap, "linger.ms": 5, "enable.idempotence": True}
    if transactional_id:
        config |= {"transactional.id": transactional_id, "transaction.timeout.ms": 600_000}
    producer = Producer(config)
    if transactional_id:
        producer.init_transactions(30)
        producer.begin_transaction()
    records = native_records(1000)
    for n in range(count):
        key, value, headers = records[n % len(records)]
        headers = [("ce_id", f"{topic}-{n}".encode()), *headers[1:]]  # every event its own id
        while True:
            try:
                producer.produce(topic, value=value, key=key, headers=headers)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    producer.flush(60)
    if transactional_id:
        producer.commit_transaction(60)


def http_group_rate(url: str, token: str, group: str, topic: str, count: int) -> float:
    """Events/s one HTTP member fetches (long polls of up to 1,000 events), from its join's answer
    until `count` events came; the answers are parsed, as a client must."""
    http = Http(url, token)
    member = http.json("POST", f"/api/v1/groups/{group}/members", {"topics": [topic], "auto_offset_reset": "earliest"})
    assert isinstance(member, dict)
    path = f"/api/v1/groups/{group}/members/{member['member_id']}/events?max_wait_ms=1000&max_events=1000"
    got, began = 0, time.perf_counter()
    while got < count:
        status, raw = http.request("GET", path)
        assert status == 200, raw[:300]
        got += len(orjson.loads(raw)["events"])
    rate = got / (time.perf_counter() - began)
    http.request("DELETE", f"/api/v1/groups/{group}/members/{member['member_id']}")
    return rate


def native_group_rate(bootstrap: str, group: str, topic: str, count: int) -> float:
    """Events/s one confluent-kafka consumer (read_committed, batches of 1,000) reads, from its
    first assignment until `count` events came."""
    from confluent_kafka import Consumer

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
        }
    )
    began: list[float] = []
    consumer.subscribe([topic], on_assign=lambda c, partitions: began.append(time.perf_counter()))
    got = 0
    try:
        while got < count:
            got += sum(1 for m in consumer.consume(1000, timeout=1.0) if m.error() is None)
        return got / (time.perf_counter() - began[0])
    finally:
        consumer.close()


def bench_group_fetch(report: Report, server: Server, token: str, bootstrap: str, quick: bool, run: str) -> None:
    from broker.services.topics import topic_create

    topic = f"bench-kafka-fetch-{run}"
    count = 20_000 if quick else 100_000
    topic_create(name=topic, partitions=3)
    _fill(bootstrap, topic, count)
    http_rates, native_rates = [], []
    for round_ in range(2 if quick else ROUNDS):
        http_rates.append(http_group_rate(server.url, token, f"bench-http-{run}-{round_}", topic, count))
        native_rates.append(native_group_rate(bootstrap, f"bench-native-{run}-{round_}", topic, count))
    print(
        f"  (group fetch of {count:,} events: HTTP {', '.join(f'{r:,.0f}' for r in http_rates)} ev/s; "
        f"native {', '.join(f'{r:,.0f}' for r in native_rates)} ev/s)",
        flush=True,
    )
    report.add(
        Figure(
            "HTTP group fetch on Kafka, one member (events/s)",
            statistics.median(http_rates),
            "ev/s",
            "native confluent-kafka consumer",
            statistics.median(native_rates),
        )
    )


# --- produce-to-consume latency at 1,000 events/s -------------------------------------------------


RATE = 1000  # events/s
STEP = 10  # events per request (or per transaction), so a request every 10 ms


def _latencies_http(url: str, token: str, topic: str, group: str, seconds: float) -> list[float]:
    """ms from just before the produce request to the event in a member's long poll."""
    joined = Http(url, token).json(
        "POST", f"/api/v1/groups/{group}/members", {"topics": [topic], "auto_offset_reset": "earliest"}
    )
    assert isinstance(joined, dict)
    path = f"/api/v1/groups/{group}/members/{joined['member_id']}/events?max_wait_ms=500&max_events=1000"
    latencies: list[float] = []
    stop = threading.Event()

    def consume() -> None:
        http = Http(url, token)
        while not stop.is_set():
            status, raw = http.request("GET", path)
            now = time.time_ns()
            assert status == 200, raw[:300]
            latencies.extend((now - e["data"]["sent_ns"]) / 1e6 for e in orjson.loads(raw)["events"])

    def send(http: Http, batch: list[dict[str, Any]]) -> None:
        status, raw = http.request(
            "POST", f"/api/v1/topics/{topic}/events", orjson.dumps(batch), "application/cloudevents-batch+json"
        )
        assert status == 200, raw[:300]

    consumer = threading.Thread(target=consume, daemon=True)
    consumer.start()
    _paced(seconds, lambda http, stamp: send(http, _stamped(stamp)), lambda: Http(url, token))
    time.sleep(1)
    stop.set()
    consumer.join(5)
    return latencies


def _stamped(sent_ns: int) -> list[dict[str, Any]]:
    documents = [event_document(i) for i in range(STEP)]
    for document in documents:
        document["data"]["sent_ns"] = sent_ns
    return documents


def _paced(seconds: float, send: Any, connect: Any) -> None:
    """Calls send(client, sent_ns) every STEP / RATE s for `seconds`, from 4 threads taking turns,
    so a slow request does not hold the pace back."""
    interval = STEP / RATE
    began = time.perf_counter()
    ticks = iter(range(int(seconds / interval)))
    lock = threading.Lock()

    def worker() -> None:
        client = connect()
        while True:
            with lock:
                tick = next(ticks, None)
            if tick is None:
                return
            delay = began + tick * interval - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            send(client, time.time_ns())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _latencies_native(bootstrap: str, topic: str, group: str, seconds: float) -> list[float]:
    """The same through native clients: a transactional producer (STEP events per transaction,
    as the Kafka log writes a request) and a read_committed consumer."""
    from confluent_kafka import Consumer, Producer

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "auto.offset.reset": "latest",
            "isolation.level": "read_committed",
        }
    )
    assigned = threading.Event()
    consumer.subscribe([topic], on_assign=lambda c, partitions: assigned.set())
    latencies: list[float] = []
    stop = threading.Event()

    def consume() -> None:
        while not stop.is_set():
            first = consumer.poll(0.1)  # consume() would wait its timeout out for a full batch
            for message in [first, *consumer.consume(999, timeout=0)] if first is not None else []:
                if message.error() is None:
                    latencies.append((time.time_ns() - int(orjson.loads(message.value())["sent_ns"])) / 1e6)

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    assigned.wait(30)
    records = native_records(STEP)
    numbers = itertools.count()

    def connect() -> Any:
        producer = Producer(
            {
                "bootstrap.servers": bootstrap,
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": 0,
                "transactional.id": f"bench-latency-{os.getpid()}-{next(numbers)}",
            }
        )
        producer.init_transactions(30)
        return producer

    def send(producer: Any, sent_ns: int) -> None:
        producer.begin_transaction()
        for key, value, headers in records:
            data = orjson.loads(value)
            data["sent_ns"] = sent_ns
            producer.produce(topic, value=orjson.dumps(data), key=key, headers=headers)
        producer.commit_transaction(30)

    _paced(seconds, send, connect)
    time.sleep(1)
    stop.set()
    thread.join(5)
    consumer.close()
    return latencies


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bench_latency(report: Report, server: Server, token: str, bootstrap: str, quick: bool, run: str) -> None:
    from broker.services.topics import topic_create

    seconds = 5 if quick else 15
    http_topic, native_topic = f"bench-kafka-latency-http-{run}", f"bench-kafka-latency-native-{run}"
    topic_create(name=http_topic, partitions=3)
    topic_create(name=native_topic, partitions=3)
    http = _latencies_http(server.url, token, http_topic, f"bench-latency-http-{run}", seconds)
    native = _latencies_native(bootstrap, native_topic, f"bench-latency-native-{run}", seconds)
    expected = int(seconds * RATE)
    print(f"  (latency: {len(http):,} of {expected:,} events through HTTP, {len(native):,} native)", flush=True)
    for q, target in ((0.5, 10.0), (0.99, 50.0)):
        value = _percentile(http, q)
        report.add(
            Figure(
                f"Produce-to-consume latency on Kafka at {RATE:,} ev/s, HTTP both ways, p{int(q * 100)} (ms)",
                value,
                "ms",
                f"native producer (transactions of {STEP}) and consumer",
                _percentile(native, q),
                f"<= {target:.0f} ms",
                value <= target and len(http) >= expected * 0.99,
            )
        )


# --- lag of 1,000 groups -----------------------------------------------------------------------


def bench_lag(report: Report, bootstrap: str, quick: bool, run: str) -> None:
    """1,000 groups with 10 partitions each, at spread offsets: their lag on the Kafka backend
    (every group's commits and the log ends read from Kafka and mirrored, then lag and exact time
    lag per partition, from the record at each commit), beside reading the same commits one group
    at a time, as a tool looping over the groups does. The whole sampling round (adding Burrow
    status, the sparkline and a history row per group) is printed beside it."""
    from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
    from confluent_kafka.admin import AdminClient

    from broker.services.topics import topic_create
    from core.timeutil import now_ms
    from monitoring.kafka_groups import cluster_groups_mirror
    from monitoring.lag import lag_sample_round, partition_lags

    groups, partitions = (200 if quick else 1000), 10
    topic = f"bench-kafka-lag-{run}"
    topic_create(name=topic, partitions=partitions)
    _fill(bootstrap, topic, partitions * 200)
    admin = AdminClient({"bootstrap.servers": bootstrap})
    names = [f"bench-lag-{run}-{n}" for n in range(groups)]
    commits = [
        admin.alter_consumer_group_offsets(
            [
                ConsumerGroupTopicPartitions(
                    name, [TopicPartition(topic, p, (n * 7 + p) % 150) for p in range(partitions)]
                )
            ]
        )
        for n, name in enumerate(names)
    ]
    for futures in commits:
        for future in futures.values():
            future.result(timeout=60)
    try:
        lag_sample_round(now_ms=now_ms())  # the first round creates the mirror's rows
        began = time.perf_counter()
        cluster_groups_mirror(now_ms=now_ms())
        lags = partition_lags(now_ms=now_ms())
        lag_s = time.perf_counter() - began
        began = time.perf_counter()
        sampled = lag_sample_round(now_ms=now_ms())
        round_s = time.perf_counter() - began
        began = time.perf_counter()
        for name in names:  # one group at a time
            [future] = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(name)]).values()
            future.result(timeout=30)
        sequential_s = time.perf_counter() - began
        timed = sum(1 for rows in lags.values() for row in rows if row.time_lag_ms is not None)
        print(
            f"  (lag of {sum(len(rows) for rows in lags.values()):,} group partitions, {timed:,} with a time lag; "
            f"the whole sampling round, with Burrow status and history for {sampled.groups:,} groups: "
            f"{round_s:.2f} s)",
            flush=True,
        )
        report.add(
            Figure(
                f"Lag on Kafka of {groups:,} groups x {partitions} partitions: offsets, lag, time lag (s)",
                lag_s,
                "s",
                "reading their commits one group at a time",
                sequential_s,
                "< 1 s",
                lag_s < 1.0,
            )
        )
    finally:
        for future in admin.delete_consumer_groups(names, request_timeout=30).values():
            future.result(timeout=60)
        for future in admin.delete_topics([topic]).values():
            future.result(timeout=30)


# --- the indexer -------------------------------------------------------------------------------


def bench_indexer(report: Report, bootstrap: str, quick: bool, run: str) -> None:
    """Records indexed per second by the indexer's loop as `manage.py run_indexer` runs it
    (broker.indexer.run: extraction beside the writer thread's index rows, observed flows and
    the commit log, then Kafka's commits), on a backlog, next to the rate a native producer wrote
    them at, same broker, same run."""
    from broker.commit_log import CommitLogReader
    from broker.indexer import Indexer, IndexerConfig
    from broker.models import Event
    from broker.services.topics import topic_create

    count = 50_000 if quick else 200_000
    topic = f"bench-kafka-index-{run}"
    topic_create(name=topic, partitions=3)
    began = time.perf_counter()
    _fill(bootstrap, topic, count)
    produce_rate = count / (time.perf_counter() - began)
    commit_log = CommitLogReader(bootstrap)
    while commit_log.run_once(timeout_s=2) > 0:
        pass  # the cluster's commit history before this run: not what is measured
    indexer = Indexer(bootstrap, config=IndexerConfig(include=[topic]), group=f"bench-indexer-{run}")
    try:
        index_rate = _index_rate(indexer, count, commit_log=commit_log)
    finally:
        indexer.close()
        commit_log.close()
    assert Event.objects.filter(topic__name=topic).count() == count
    report.add(
        Figure(
            "Indexer, one member, records indexed per second",
            index_rate,
            "rec/s",
            "native producer writing them",
            produce_rate,
            ">= 50,000 rec/s",
            index_rate >= 50_000,
        )
    )
    # The other way to deploy it on this machine: one `run_indexer` a core, sharing the
    # partitions (one group). On PostgreSQL the two write side by side; on SQLite they take turns.
    members = 2
    topic = f"bench-kafka-members-{run}"
    topic_create(name=topic, partitions=4)
    members_rate, produce_rate = _members_rate(bootstrap, topic, count, members, f"bench-members-{run}")
    report.add(
        Figure(
            f"Indexer, {members} members (run_indexer processes), records indexed per second",
            members_rate,
            "rec/s",
            "native producer writing them",
            produce_rate,
            ">= 50,000 rec/s",
            members_rate >= 50_000,
        )
    )


def _index_rate(indexer: Any, count: int, *, commit_log: Any = None, timeout_s: float = 1800) -> float:
    """Run the indexer's loop until `count` records are indexed; records/s from the first indexed
    batch (the group's first assignment is not counted) to the last."""
    from broker.indexer import run

    stop = threading.Event()
    marks: list[tuple[float, int]] = []

    def watch() -> None:
        deadline = time.monotonic() + timeout_s
        while indexer.counts.indexed == 0 and time.monotonic() < deadline:
            time.sleep(0.002)
        marks.append((time.perf_counter(), indexer.counts.indexed))
        while indexer.counts.indexed < count and time.monotonic() < deadline:
            time.sleep(0.002)
        marks.append((time.perf_counter(), indexer.counts.indexed))
        stop.set()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    run(indexer, stop, commit_log=commit_log)
    watcher.join()
    (began, first), (ended, last) = marks
    return (last - first) / (ended - began)


def _members_rate(
    bootstrap: str, topic: str, count: int, members: int, group: str, timeout_s: float = 600
) -> tuple[float, float]:
    """Records/s of `members` `manage.py run_indexer` processes in one group on a backlog of
    `count` records of `topic`, and the rate a native producer wrote them at. The group forms
    first; the backlog is then written in one transaction, which the indexer (read_committed)
    sees at once when it commits. Timed from that commit to the last record indexed, counted by
    the observed flows, which are written in the transaction of the rows they count."""
    from confluent_kafka import ConsumerGroupState
    from confluent_kafka.admin import AdminClient
    from django.db.models import Sum

    from broker.models import Event, FlowStat, Topic

    topic_id = Topic.objects.get(name=topic).id
    produced = FlowStat.objects.filter(topic_id=topic_id, role=FlowStat.ROLE_PRODUCE)

    def indexed() -> int:
        return produced.aggregate(n=Sum("events"))["n"] or 0

    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "EVENTLINE_INDEXER_INCLUDE": topic,
        "EVENTLINE_INDEXER_GROUP": group,
    }
    processes = [
        subprocess.Popen([sys.executable, "manage.py", "run_indexer"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
        for _ in range(members)
    ]
    admin = AdminClient({"bootstrap.servers": bootstrap})
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            [future] = admin.describe_consumer_groups([group]).values()
            described = future.result(timeout=10)
            if (
                described.state == ConsumerGroupState.STABLE
                and len(described.members) == members
                and all(member.assignment.topic_partitions for member in described.members)
            ):
                break
            if any(process.poll() is not None for process in processes):
                raise RuntimeError("an indexer process stopped")
            time.sleep(0.02)
        else:
            raise RuntimeError(f"the group of {members} indexers did not form")
        began = time.perf_counter()
        _fill(bootstrap, topic, count, transactional_id=f"{group}-fill")
        committed = time.perf_counter()
        while (last := indexed()) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        ended = time.perf_counter()
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=60)
        for future in admin.delete_consumer_groups([group], request_timeout=30).values():
            future.result(timeout=60)
    assert Event.objects.filter(topic_id=topic_id).count() == count == last
    return last / (ended - committed), count / (committed - began)


# --- the commit log ------------------------------------------------------------------------------


def bench_commit_log(report: Report, bootstrap: str, quick: bool, run: str) -> None:
    """Reading Kafka's commit log for 1,000 groups x 10 partitions (broker.commit_log): each group
    commits new offsets on every partition, then the time until the reader has recorded all of
    them (GroupActivity rows at their commit times, committed offsets, consume flows), beside
    reading the same commits one group at a time, as a poller does."""
    from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
    from confluent_kafka.admin import AdminClient

    from broker.commit_log import CommitLogReader
    from broker.models import GroupActivity
    from broker.services.topics import topic_create

    groups, partitions = (200 if quick else 1000), 10
    topic = f"bench-kafka-commits-{run}"
    topic_create(name=topic, partitions=partitions)
    _fill(bootstrap, topic, partitions * 200)
    admin = AdminClient({"bootstrap.servers": bootstrap})
    names = [f"bench-commits-{run}-{n}" for n in range(groups)]

    def commit_all(shift: int) -> None:
        futures = [
            admin.alter_consumer_group_offsets(
                [
                    ConsumerGroupTopicPartitions(
                        name, [TopicPartition(topic, p, shift + (n + p) % 50) for p in range(partitions)]
                    )
                ]
            )
            for n, name in enumerate(names)
        ]
        for pending in futures:
            for future in pending.values():
                future.result(timeout=60)

    reader = CommitLogReader(bootstrap)
    try:
        while reader.run_once(timeout_s=1) >= reader.batch or reader.run_once(timeout_s=1):
            pass  # what the cluster's commit log held before this run
        commit_all(0)  # the groups' first commits: their rows are created
        wanted = groups * partitions
        while GroupActivity.objects.filter(topic__name=topic).count() < wanted:
            reader.run_once(timeout_s=1)
        commit_all(100)
        began = time.perf_counter()
        while GroupActivity.objects.filter(topic__name=topic).count() < 2 * wanted:
            reader.run_once(timeout_s=0.2)
        read_s = time.perf_counter() - began
        began = time.perf_counter()
        for name in names:
            [future] = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(name)]).values()
            future.result(timeout=30)
        sequential_s = time.perf_counter() - began
    finally:
        reader.close()
        for future in admin.delete_consumer_groups(names, request_timeout=30).values():
            future.result(timeout=60)
        for future in admin.delete_topics([topic]).values():
            future.result(timeout=30)
    print(f"  ({wanted:,} commits recorded in {read_s:.2f} s: {wanted / read_s:,.0f} commits/s)", flush=True)
    report.add(
        Figure(
            f"Commit log: a round of commits of {groups:,} groups x {partitions} partitions recorded (s)",
            read_s,
            "s",
            "reading the commits one group at a time",
            sequential_s,
            "< 1 s",
            read_s < 1.0,
        )
    )


# --- trace lookup on an indexed estate --------------------------------------------------------------


def bench_trace_lookup(report: Report, bootstrap: str, quick: bool, run: str) -> None:
    """Trace lookup by correlation id on a Kafka-backed estate of 1,000,000 records (100,000 with
    --quick): native records of five-event transactions written to Kafka and indexed by the
    indexer, then the trace API's work for 300 random correlation ids (trace_get: the index, the
    transaction's events, hops, outcome, details), beside the single indexed query for the same
    ids' rows."""
    from confluent_kafka import Producer

    from broker.indexer import Indexer, IndexerConfig
    from broker.models import Event
    from broker.services.topics import topic_create
    from core.auth import Principal
    from monitoring.traces.selectors import trace_get

    count = 100_000 if quick else 1_000_000
    topic = f"bench-kafka-traces-{run}"
    topic_create(name=topic, partitions=6)
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "enable.idempotence": True})
    types = ["OrderPlaced", "StockReserved", "PaymentCompleted", "OrderShipped", "OrderDelivered"]
    value = orjson.dumps(
        {"order_id": "ord-0000000000", "lines": [{"sku": f"SKU-{n}", "quantity": n} for n in range(12)]}
    )
    began = time.perf_counter()
    for n in range(count):
        saga = n // 5
        headers = [
            ("ce_id", f"{run}-{n}".encode()),
            ("ce_source", b"/services/bench"),
            ("ce_type", types[n % 5].encode()),
            ("ce_specversion", b"1.0"),
            ("ce_correlationid", f"{run}-c{saga}".encode()),
        ]
        while True:
            try:
                producer.produce(topic, value=value, key=f"ord-{saga}".encode(), headers=headers)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    producer.flush(120)
    produce_s = time.perf_counter() - began
    indexer = Indexer(bootstrap, config=IndexerConfig(include=[topic]), group=f"bench-traces-{run}")
    try:
        index_rate = _index_rate(indexer, count)
    finally:
        indexer.close()
    assert Event.objects.filter(topic__name=topic).count() == count
    print(f"  ({count:,} records written in {produce_s:.1f} s, indexed at {index_rate:,.0f} rec/s)", flush=True)
    principal = Principal(scopes=frozenset({"admin"}), username="bench")
    picks = [f"{run}-c{n}" for n in random.Random(7).sample(range(count // 5), 300)]
    trace_get(query=picks[0], principal=principal)  # warm the process's caches
    lookups, floors = [], []
    for pick in picks:
        began = time.perf_counter()
        trace = trace_get(query=pick, principal=principal)
        lookups.append((time.perf_counter() - began) * 1000)
        assert len(trace.items) == 5, (pick, len(trace.items))
        began = time.perf_counter()
        rows = list(Event.objects.filter(correlation_id=pick).values_list("id", "payload"))
        floors.append((time.perf_counter() - began) * 1000)
        assert len(rows) == 5
    p50, p99 = _percentile(lookups, 0.5), _percentile(lookups, 0.99)
    print(f"  (trace lookup p50 {p50:.1f} ms, p99 {p99:.1f} ms over {len(picks)} ids)", flush=True)
    report.add(
        Figure(
            f"Trace lookup on {count:,} indexed Kafka records, p99 (ms)",
            p99,
            "ms",
            "the ids' rows in one indexed query, p99",
            _percentile(floors, 0.99),
            "< 50 ms",
            p99 < 50,
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--only", default="produce,fetch,latency,lag,indexer,commitlog,traces", help="comma-separated sections"
    )
    args = parser.parse_args()
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "")
    if not bootstrap:
        raise SystemExit("KAFKA_BOOTSTRAP_SERVERS is not set: `scripts/kafka.sh start` prints it.")
    if not wrk_available():
        raise SystemExit("bench.kafka needs wrk (apt-get install wrk).")
    os.environ["BROKER_BACKEND"] = "kafka"
    with Database.fresh(args.db) as database, tempfile.TemporaryDirectory() as var:
        var_dir = Path(var)
        django_setup(database, var_dir)
        from core.services import api_key_create

        token = api_key_create(service_name="bench", scopes=["admin"])[1]
        report = Report(f"Kafka backend ({bootstrap}) on {database.label}")
        print(f"\n== {report.title} ({'quick' if args.quick else 'full'}; load from wrk) ==", flush=True)
        server = Server(database, var_dir)
        run = f"{os.getpid()}-{int(time.time())}"  # the cluster outlives the run's database
        sections = set(args.only.split(","))
        try:
            if "produce" in sections:
                bench_produce(report, server, token, bootstrap, args.quick)
            if "fetch" in sections:
                bench_group_fetch(report, server, token, bootstrap, args.quick, run)
            if "latency" in sections:
                bench_latency(report, server, token, bootstrap, args.quick, run)
        finally:
            server.stop()
        if "lag" in sections:
            bench_lag(report, bootstrap, args.quick, run)
        if "indexer" in sections:
            bench_indexer(report, bootstrap, args.quick, run)
        if "commitlog" in sections:
            bench_commit_log(report, bootstrap, args.quick, run)
        if "traces" in sections:
            bench_trace_lookup(report, bootstrap, args.quick, run)
        Path(var_dir / "report.json").write_text(json.dumps([f.__dict__ for f in report.figures]))


if __name__ == "__main__":
    main()
