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
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import orjson

from bench.broker import event_document
from bench.harness import Database, Figure, Report, Server, django_setup, wrk_available, wrk_post

ROUNDS = 3


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
    documents = [event_document(i) for i in range(batch)]
    records = [
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
        for i, document in enumerate(documents)
    ]
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--quick", action="store_true")
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
        try:
            bench_produce(report, server, token, bootstrap, args.quick)
        finally:
            server.stop()
        Path(var_dir / "report.json").write_text(json.dumps([f.__dict__ for f in report.figures]))


if __name__ == "__main__":
    main()
