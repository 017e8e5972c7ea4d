"""Offsets stay dense and per-key order holds under many concurrent producers: threads in one
process and several processes, on whichever database the run uses."""

import os
import subprocess
import sys
import threading
from collections import defaultdict
from pathlib import Path

import pytest
from django.db import connection

from broker.models import Event
from broker.services.produce import events_produce
from core.auth import Principal
from core.jsonutil import loads

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]


def assert_log_is_dense_and_ordered(topic: str, expected_total: int) -> None:
    rows = list(
        Event.objects.filter(topic__name=topic)
        .order_by("partition", "offset")
        .values_list("partition", "offset", "key", "payload")
    )
    assert len(rows) == expected_total
    per_partition = defaultdict(list)
    per_key = defaultdict(list)
    for partition, offset, key, payload in rows:
        per_partition[partition].append(offset)
        per_key[key].append(loads(payload)["data"]["seq"])
    for offsets in per_partition.values():
        assert offsets == list(range(len(offsets))), "offsets must be dense from 0"
    for key, sequence in per_key.items():
        assert sequence == sorted(sequence), f"events of key {key} are out of order"


def produce_from_threads(topic: str, threads: int, batches: int) -> None:
    """`threads` producers at once, each sending `batches` batches of 4 events over two keys of
    its own (`data.seq` counts up per producer); fails if any of them failed."""
    principal = Principal(scopes=frozenset({"admin"}))
    errors = []

    def worker(name: str) -> None:
        try:
            for batch in range(batches):
                events = [
                    {"id": f"{name}-{batch}-{i}", "partitionkey": f"{name}-{i % 2}", "data": {"seq": batch * 4 + i}}
                    for i in range(4)
                ]
                events_produce(topic_name=topic, raw_events=events, principal=principal)
        except Exception as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    started = [threading.Thread(target=worker, args=(f"t{n}",)) for n in range(threads)]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join()
    assert errors == []


def test_threads_producing_at_once_get_dense_offsets_and_keep_key_order(make_topic):
    make_topic("busy", partitions=2)
    produce_from_threads("busy", threads=8, batches=15)
    assert_log_is_dense_and_ordered("busy", 8 * 15 * 4)


def produce_from_processes(topic: str, processes: int, batches: int, size: int) -> None:
    """`processes` producer processes at once (tests/broker/producer_process.py) on this run's
    database, each sending `batches` batches of `size` events; fails if any of them failed."""
    env = {**os.environ, "EVENTLINE_TEST_DB_NAME": str(connection.settings_dict["NAME"]), "PYTHONPATH": str(ROOT)}
    workers = [
        subprocess.Popen(
            [sys.executable, str(ROOT / "tests/broker/producer_process.py"), topic, f"p{n}", str(batches), str(size)],
            env=env,
            cwd=ROOT,
            stderr=subprocess.PIPE,
        )
        for n in range(processes)
    ]
    for worker in workers:
        _, stderr = worker.communicate(timeout=120)
        assert worker.returncode == 0, stderr.decode()


def test_processes_producing_at_once_get_dense_offsets_and_keep_key_order(make_topic):
    make_topic("busy", partitions=3)
    produce_from_processes("busy", processes=4, batches=25, size=6)
    assert_log_is_dense_and_ordered("busy", 4 * 25 * 6)


def test_concurrent_retries_of_the_same_event_append_it_once(make_topic):
    make_topic("orders")
    principal = Principal(scopes=frozenset({"admin"}))
    barrier = threading.Barrier(6)
    results = []

    def retry() -> None:
        try:
            barrier.wait()
            results.append(
                events_produce(
                    topic_name="orders", raw_events=[{"id": "same", "source": "s", "data": 1}], principal=principal
                )[0]
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=retry) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Event.objects.count() == 1
    assert len(results) == 6
    assert {(r.partition, r.offset) for r in results} == {(0, 0)}
    assert sum(not r.duplicate for r in results) == 1
