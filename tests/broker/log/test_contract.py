"""One contract for the log interface (broker.log.base), run against every backend: the SQL log
and the Kafka log (tests/broker/log/conftest.py says when Kafka's half runs). What differs
between them by design (dense offsets on SQL, commit markers on Kafka) is asserted as the
weaker property both promise."""

from __future__ import annotations

from typing import Any

import pytest

from broker.envelope import prepare_event
from broker.partitioner import partition_for_key
from core.db import Expectation, ExpectationFailed
from core.jsonutil import loads

from .conftest import Backend, TopicRef

NOW_MS = 1_700_000_000_000


def events(topic: TopicRef, raws: list[dict[str, Any]], *, now_ms: int = NOW_MS) -> list[Any]:
    """Prepared events as the produce service hands them to the log: partition chosen (murmur2 of
    the key, or the event's own), body rendered."""
    prepared = []
    for index, raw in enumerate(raws):
        event, errors = prepare_event(
            index, raw, default_source="contract", default_type="contract.test", partition_count=topic.partitions
        )
        assert not errors, errors
        if event.partition is None:
            event.partition = partition_for_key(event.key.encode(), topic.partitions) if event.key is not None else 0
        timestamp = event.timestamp_ms if event.timestamp_ms is not None else now_ms
        event.render_body(timestamp, now_ms)
        prepared.append(event)
    return prepared


def append(backend: Backend, topic: TopicRef, raws: list[dict[str, Any]], *, now_ms: int = NOW_MS, **kwargs: Any):
    appended = backend.log.append(
        topic_id=topic.id,
        topic_name=topic.name,
        events=events(topic, raws, now_ms=now_ms),
        producer_id=None,
        now_ms=now_ms,
        **kwargs,
    )
    backend.settle(topic, appended)
    return appended


def read_all(backend: Backend, topic: TopicRef, partition: int, offset: int = 0) -> list[dict[str, Any]]:
    batch = backend.log.read(topic_id=topic.id, partition=partition, offset=offset, max_events=1000, max_bytes=1 << 30)
    return [loads(payload) for payload in batch.payloads]


def test_events_read_back_as_appended_on_the_partitions_chosen(backend: Backend) -> None:
    topic = backend.make_topic(partitions=3)
    raws = [
        {"id": "e1", "key": "21", "data": {"n": 1}, "correlationid": "c-1", "subject": "s"},
        {
            "id": "e2",
            "key": "foobar",
            "data": {"n": 2},
            "headers": [{"key": "h", "value": "1"}, {"key": "h", "value": None}],
        },
        {"id": "e3", "key": "abc", "time": "2026-01-02T03:04:05Z", "data": [1, "two", None]},
        {"id": "e4", "data_base64": "AAEC/w==", "datacontenttype": "application/octet-stream", "partition": 2},
        {"id": "e5", "key": "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"},
    ]
    appended = append(backend, topic, raws)
    # Kafka's own vectors (shared/reference/kafka-semantics.md §1): 21, foobar and abc go to 0 of 3.
    assert [(a.event_id, a.partition, a.duplicate) for a in appended] == [
        ("e1", 0, False),
        ("e2", 0, False),
        ("e3", 0, False),
        ("e4", 2, False),
        ("e5", 2, False),
    ]
    by_id = {}
    for partition in range(3):
        for document in read_all(backend, topic, partition):
            by_id[document["id"]] = document
    assert set(by_id) == {"e1", "e2", "e3", "e4", "e5"}
    for answer, event in zip(appended, events(topic, raws), strict=True):
        document = by_id[answer.event_id]
        expected = {"topic": topic.name, "partition": answer.partition, "offset": answer.offset, **loads(event.body)}
        assert document == expected
        assert list(document) == list(expected)  # the same field order as the SQL log stores
    assert by_id["e4"]["data_base64"] == "AAEC/w=="
    assert by_id["e2"]["headers"] == [{"key": "h", "value": "1"}, {"key": "h", "value": None}]


def test_events_of_one_key_keep_their_order_with_increasing_offsets(backend: Backend) -> None:
    topic = backend.make_topic(partitions=3)
    for batch in range(3):
        append(backend, topic, [{"key": key, "data": {"batch": batch, "n": n}} for n in range(4) for key in ("a", "b")])
    partition = partition_for_key(b"a", 3)
    documents = [d for d in read_all(backend, topic, partition) if d["key"] == "a"]
    assert [(d["data"]["batch"], d["data"]["n"]) for d in documents] == [(b, n) for b in range(3) for n in range(4)]
    offsets = [d["offset"] for d in documents]
    assert offsets == sorted(offsets) and len(set(offsets)) == len(offsets)


def test_a_batch_whose_expectation_fails_appends_none_of_its_events(backend: Backend) -> None:
    topic = backend.make_topic(partitions=2)
    with pytest.raises(ExpectationFailed):
        append(
            backend,
            topic,
            [{"id": "x1", "key": "a"}, {"id": "x2", "key": "b"}, {"id": "x3", "partition": 1}],
            expect=[Expectation("1 = 0", [], "the registry changed")],
        )
    assert read_all(backend, topic, 0) == [] and read_all(backend, topic, 1) == []
    # Nothing of the refused batch counts as seen: the same ids append afterwards.
    appended = append(backend, topic, [{"id": "x1", "partition": 0}, {"id": "x3", "partition": 1}])
    assert [a.duplicate for a in appended] == [False, False]
    assert [d["id"] for d in read_all(backend, topic, 0)] == ["x1"]
    assert [d["id"] for d in read_all(backend, topic, 1)] == ["x3"]


def test_a_repeated_source_and_id_returns_the_original_coordinates_and_appends_nothing(backend: Backend) -> None:
    topic = backend.make_topic(partitions=2)
    [first] = append(backend, topic, [{"id": "once", "key": "k", "data": 1}])
    retry = append(backend, topic, [{"id": "once", "key": "k", "data": 1}, {"id": "new", "key": "k"}])
    assert (retry[0].partition, retry[0].offset, retry[0].duplicate) == (first.partition, first.offset, True)
    assert retry[1].duplicate is False and retry[1].offset > first.offset
    twice = append(backend, topic, [{"id": "pair", "key": "k"}, {"id": "pair", "key": "k"}])
    assert twice[1].duplicate and (twice[1].partition, twice[1].offset) == (twice[0].partition, twice[0].offset)
    assert [d["id"] for d in read_all(backend, topic, first.partition)] == ["once", "new", "pair"]


def test_offsets_earliest_latest_and_for_times(backend: Backend) -> None:
    topic = backend.make_topic()
    empty = backend.log.offsets(topic_id=topic.id, partition=0)
    assert (empty.start, empty.end) == (0, 0)
    appended = append(backend, topic, [{"id": f"t{n}", "time": f"2026-01-01T00:00:0{n}Z"} for n in range(1, 4)])
    offsets = backend.log.offsets(topic_id=topic.id, partition=0)
    assert offsets.start == appended[0].offset == 0
    assert offsets.end > appended[-1].offset  # dense on SQL; past the commit marker on Kafka
    t2 = appended[1].timestamp_ms
    assert (
        backend.log.first_offset_at_or_after(topic_id=topic.id, partition=0, timestamp_ms=t2 - 500)
        == appended[1].offset
    )
    assert backend.log.first_offset_at_or_after(topic_id=topic.id, partition=0, timestamp_ms=0) == appended[0].offset
    assert backend.log.first_offset_at_or_after(topic_id=topic.id, partition=0, timestamp_ms=t2 + 10_000) is None
    at_end = backend.log.read(topic_id=topic.id, partition=0, offset=offsets.end, max_events=10, max_bytes=1 << 20)
    assert (at_end.payloads, at_end.next_offset) == ([], offsets.end)


def test_seek_reads_from_any_offset_within_limits_and_at_least_one_event(backend: Backend) -> None:
    topic = backend.make_topic()
    appended = append(backend, topic, [{"id": f"s{n}", "data": "x" * 100} for n in range(6)])
    middle = appended[2].offset
    batch = backend.log.read(topic_id=topic.id, partition=0, offset=middle, max_events=2, max_bytes=1 << 20)
    assert [loads(p)["id"] for p in batch.payloads] == ["s2", "s3"]
    assert (batch.first_offset, batch.next_offset) == (middle, appended[3].offset + 1)
    following = backend.log.read(topic_id=topic.id, partition=0, offset=batch.next_offset, max_events=10, max_bytes=1)
    assert [loads(p)["id"] for p in following.payloads] == ["s4"]  # over max_bytes, but never nothing


def test_reading_below_the_log_start_after_retention_begins_at_the_log_start(backend: Backend) -> None:
    topic = backend.make_topic()
    old = append(backend, topic, [{"id": "old1"}, {"id": "old2"}], now_ms=NOW_MS)
    kept = append(backend, topic, [{"id": "kept"}], now_ms=NOW_MS + 60_000)
    backend.retain_from(topic, 0, kept[0].offset, NOW_MS + 60_000)
    offsets = backend.log.offsets(topic_id=topic.id, partition=0)
    assert offsets.start == kept[0].offset > old[-1].offset
    batch = backend.log.read(topic_id=topic.id, partition=0, offset=0, max_events=10, max_bytes=1 << 20)
    assert [loads(p)["id"] for p in batch.payloads] == ["kept"]
    assert batch.first_offset == kept[0].offset
