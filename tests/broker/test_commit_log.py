"""Kafka's commit log read as Burrow reads it (broker.commit_log, issue 18): the record layouts
Kafka writes, and on a real Kafka every commit of a native group recorded once at its own time,
its offsets counted as the group's consume flow, a restart that repeats nothing, and the lag
round leaving commits to the reader while it runs."""

from __future__ import annotations

import os
import struct
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from broker.choices import ActivityKind
from broker.commit_log import CommitLogReader, OffsetCommit, parse_offset_commit
from broker.models import ConsumerGroup, FlowStat, GroupActivity, GroupPartition

KAFKA = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "")


def _key(group: str, topic: str, partition: int, version: int = 1) -> bytes:
    return (
        struct.pack(">hh", version, len(group))
        + group.encode()
        + struct.pack(">h", len(topic))
        + topic.encode()
        + struct.pack(">i", partition)
    )


def _string(text: str) -> bytes:
    return struct.pack(">h", len(text)) + text.encode()


@pytest.mark.parametrize(
    ("value", "expected_ms"),
    [
        (struct.pack(">hq", 0, 42) + _string("m") + struct.pack(">q", 1_000), 1_000),
        (struct.pack(">hq", 1, 42) + _string("") + struct.pack(">qq", 2_000, 9_999), 2_000),  # with expiry
        (struct.pack(">hq", 2, 42) + _string("meta") + struct.pack(">q", 3_000), 3_000),
        (struct.pack(">hqi", 3, 42, 7) + _string("") + struct.pack(">q", 4_000), 4_000),
        # v4 (Kafka 4): flexible, a compact metadata string and a tagged field (the topic id).
        (struct.pack(">hqi", 4, 42, 0) + b"\x03ab" + struct.pack(">q", 5_000) + b"\x01\x00\x10" + bytes(16), 5_000),
    ],
)
def test_every_offset_commit_value_version_is_read(value: bytes, expected_ms: int) -> None:
    assert parse_offset_commit(_key("g", "orders", 3), value) == OffsetCommit("g", "orders", 3, 42, expected_ms)


def test_other_records_and_tombstones_are_not_commits_and_a_cut_commit_is_an_error() -> None:
    group_metadata_key = struct.pack(">hh", 2, 1) + b"g"
    assert parse_offset_commit(group_metadata_key, b"\x00\x03anything") is None
    assert parse_offset_commit(_key("g", "orders", 0), None) is None  # the offset was deleted
    assert parse_offset_commit(_key("g", "orders", 0), struct.pack(">hq", 9, 1)) is None  # a future layout
    with pytest.raises(ValueError, match="cut or garbled"):
        parse_offset_commit(_key("g", "orders", 0), struct.pack(">hq", 3, 42))


# -- on a real Kafka ----------------------------------------------------------------------------


@pytest.fixture
def kafka_topic(settings: Any, db: Any) -> Iterator[str]:
    if not KAFKA:
        pytest.skip("KAFKA_BOOTSTRAP_SERVERS is not set: start a local Kafka with `scripts/kafka.sh start`")
    settings.BROKER_BACKEND = "kafka"
    settings.KAFKA_BOOTSTRAP_SERVERS = KAFKA
    name = f"cl-{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": KAFKA})
    admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)])[name].result(timeout=30)
    from broker.services.topics import topics_sync_with_cluster

    topics_sync_with_cluster()
    producer = Producer({"bootstrap.servers": KAFKA})
    for n in range(10):
        producer.produce(name, value=b'{"n": %d}' % n, partition=0)
    assert producer.flush(30) == 0
    yield name
    for future in admin.delete_topics([name]).values():
        future.result(timeout=30)


def _commit(group: str, topic: str, offset: int) -> int:
    """A native client's commit; returns the time it was sent, in ms."""
    consumer = Consumer({"bootstrap.servers": KAFKA, "group.id": group, "enable.auto.commit": False})
    sent = int(time.time() * 1000)
    consumer.commit(offsets=[TopicPartition(topic, 0, offset)], asynchronous=False)
    consumer.close()
    return sent


def _read_until(reader: CommitLogReader, done: Any, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not done() and time.monotonic() < deadline:
        reader.run_once(timeout_s=0.2)
    assert done()


def _commits(group: str) -> list[tuple[int, int]]:
    return list(
        GroupActivity.objects.filter(group__name=group, kind=ActivityKind.COMMIT)
        .order_by("at_ms")
        .values_list("start_offset", "at_ms")
    )


def test_each_commit_is_recorded_once_at_its_own_time_with_its_flow(kafka_topic: str) -> None:
    group = f"native-{uuid.uuid4().hex[:8]}"
    first = _commit(group, kafka_topic, 3)
    time.sleep(1.2)
    _commit(group, kafka_topic, 3)  # the same offset again: not a new commit
    second = _commit(group, kafka_topic, 10)
    reader = CommitLogReader(KAFKA)
    try:
        _read_until(reader, lambda: len(_commits(group)) == 2)
    finally:
        reader.close()

    [(offset_1, at_1), (offset_2, at_2)] = _commits(group)
    assert (offset_1, offset_2) == (3, 10)
    # The coordinator's own time of each commit, not the time it was read.
    assert first <= at_1 < first + 1_000 and second <= at_2 < second + 1_000
    assert at_2 - at_1 >= 1_000
    row = GroupPartition.objects.get(group__name=group, topic__name=kafka_topic)
    assert (row.committed_offset, row.committed_ms) == (10, at_2)
    flows = FlowStat.objects.filter(role=FlowStat.ROLE_CONSUME, group_id=ConsumerGroup.objects.get(name=group).id)
    assert [(f.events, f.last_seen_ms) for f in flows] == [(7, at_2)]  # the seven offsets past 3

    # A restart reads on from the stored positions: nothing is recorded twice, a new commit is.
    _commit(group, kafka_topic, 10)  # read after the restart, and the same offset: not recorded
    restarted = CommitLogReader(KAFKA)
    try:
        _commit(group, kafka_topic, 8)  # a reset backwards is a commit too, with no flow
        _read_until(restarted, lambda: len(_commits(group)) == 3)
        restarted.run_once(timeout_s=0.5)
    finally:
        restarted.close()
    assert [offset for offset, _ in _commits(group)] == [3, 10, 8]
    assert (
        sum(
            FlowStat.objects.filter(
                role=FlowStat.ROLE_CONSUME, group_id=ConsumerGroup.objects.get(name=group).id
            ).values_list("events", flat=True)
        )
        == 7
    )


def test_the_lag_round_leaves_commits_to_a_running_reader(kafka_topic: str) -> None:
    from monitoring.lag import lag_sample_round

    group = f"native-{uuid.uuid4().hex[:8]}"
    _commit(group, kafka_topic, 2)
    reader = CommitLogReader(KAFKA)
    try:
        _read_until(reader, lambda: len(_commits(group)) == 1)
        _commit(group, kafka_topic, 6)
        lag_sample_round(now_ms=int(time.time() * 1000))  # sees offset 6 before the reader does
        assert [offset for offset, _ in _commits(group)] == [2]
        _read_until(reader, lambda: len(_commits(group)) == 2)
    finally:
        reader.close()
    assert [offset for offset, _ in _commits(group)] == [2, 6]
    flows = FlowStat.objects.filter(role=FlowStat.ROLE_CONSUME, group_id=ConsumerGroup.objects.get(name=group).id)
    assert sum(f.events for f in flows) == 4  # counted once, by the reader
    assert ConsumerGroup.objects.get(name=group).client_ids == []  # an empty group has no members to note


def test_one_reader_at_a_time_and_a_silent_one_is_taken_over_without_repeats(kafka_topic: str) -> None:
    from broker.models import CommitLogState

    group = f"native-{uuid.uuid4().hex[:8]}"
    _commit(group, kafka_topic, 2)
    first, second = CommitLogReader(KAFKA), CommitLogReader(KAFKA)
    try:
        _read_until(first, lambda: len(_commits(group)) == 1)
        _commit(group, kafka_topic, 5)
        assert second.run_once(timeout_s=0.2) == 0 and not second.leading  # the first holds the lease
        # The first falls silent (a crash): after FRESH_MS the second takes over where it stopped.
        CommitLogState.objects.filter(owner=first.owner).update(updated_ms=0)
        _read_until(second, lambda: len(_commits(group)) == 2)
        assert second.leading
        _commit(group, kafka_topic, 9)
        assert first.run_once(timeout_s=0.5) == 0 and not first.leading  # back, but no longer the holder
        _read_until(second, lambda: len(_commits(group)) == 3)
    finally:
        first.close()
        second.close()
    assert [offset for offset, _ in _commits(group)] == [2, 5, 9]


def test_commits_the_lag_round_sampled_while_no_reader_ran_are_not_recorded_again(kafka_topic: str) -> None:
    from monitoring.lag import lag_sample_round

    group = f"native-{uuid.uuid4().hex[:8]}"
    _commit(group, kafka_topic, 2)
    lag_sample_round(now_ms=int(time.time() * 1000))  # no reader: the round samples the commit
    _commit(group, kafka_topic, 6)
    lag_sample_round(now_ms=int(time.time() * 1000))
    sampled = _commits(group)
    assert [offset for offset, _ in sampled] == [2, 6]
    group_id = ConsumerGroup.objects.get(name=group).id
    assert sum(FlowStat.objects.filter(group_id=group_id).values_list("events", flat=True)) == 4

    _commit(group, kafka_topic, 10)  # after the reader (re)starts, reading the log from its start
    reader = CommitLogReader(KAFKA)
    try:
        _read_until(reader, lambda: len(_commits(group)) == 3)
        reader.run_once(timeout_s=0.5)
    finally:
        reader.close()
    assert _commits(group)[:2] == sampled and [offset for offset, _ in _commits(group)] == [2, 6, 10]
    assert sum(FlowStat.objects.filter(group_id=group_id).values_list("events", flat=True)) == 8
