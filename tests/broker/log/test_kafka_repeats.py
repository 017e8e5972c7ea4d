"""Repeats on the Kafka log across processes and races (broker.log.claims): a retry that reaches
another process, or two retries at once, get the original coordinates and append nothing; a
failed append leaves no claim behind; ids out of the repeat window are forgotten. Each KafkaLog
here stands for a process of its own (its in-process memory is not shared)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection

from broker.log.kafka import KafkaLog
from broker.models import ProducedId
from core.db import Expectation, ExpectationFailed

from .conftest import KAFKA_BOOTSTRAP_SERVERS, TopicRef
from .test_contract import NOW_MS, events


@pytest.fixture
def kafka_topic(kafka_log: KafkaLog) -> Iterator[TopicRef]:
    from broker.services.topics import topic_create

    topic = topic_create(name=f"repeats-{uuid.uuid4().hex[:12]}", partitions=2)
    kafka_log.topic_create(name=topic.name, partitions=2)
    yield TopicRef(topic.id, topic.name, 2)
    kafka_log.topic_delete(name=topic.name)


def _process() -> KafkaLog:
    return KafkaLog(KAFKA_BOOTSTRAP_SERVERS, timeout_s=20.0)


def _append(log: KafkaLog, topic: TopicRef, raws: list[dict[str, Any]], **kwargs: Any) -> Any:
    return log.append(
        topic_id=topic.id, topic_name=topic.name, events=events(topic, raws), producer_id=None, now_ms=NOW_MS, **kwargs
    )


def _count(log: KafkaLog, topic: TopicRef, appended: Any) -> int:
    assert log.wait_visible(topic_id=topic.id, appended=appended, timeout_s=10.0)
    return sum(
        len(log.read(topic_id=topic.id, partition=p, offset=0, max_events=100, max_bytes=1 << 20).payloads)
        for p in range(topic.partitions)
    )


@pytest.mark.django_db
def test_a_retry_reaching_another_process_gets_the_original_coordinates(kafka_topic: TopicRef) -> None:
    first, second = _process(), _process()
    [original] = _append(first, kafka_topic, [{"id": "o-1", "source": "/shop", "key": "k", "data": {"n": 1}}])
    [retry, fresh] = _append(
        second,
        kafka_topic,
        [{"id": "o-1", "source": "/shop", "key": "k", "data": {"n": 1}}, {"id": "o-2", "source": "/shop", "data": 2}],
    )
    assert (retry.duplicate, retry.partition, retry.offset) == (True, original.partition, original.offset)
    assert fresh.duplicate is False
    assert _count(second, kafka_topic, [original, fresh]) == 2


@pytest.mark.django_db
def test_a_failed_append_leaves_no_claim_and_its_retry_appends(kafka_topic: TopicRef) -> None:
    log = _process()
    refused = Expectation("1 = 0", [], "never holds")
    with pytest.raises(ExpectationFailed):
        _append(log, kafka_topic, [{"id": "f-1", "source": "/shop", "data": 1}], expect=[refused])
    assert not ProducedId.objects.filter(topic=kafka_topic.name).exists()
    [retried] = _append(_process(), kafka_topic, [{"id": "f-1", "source": "/shop", "data": 1}])
    assert retried.duplicate is False
    assert _count(log, kafka_topic, [retried]) == 1


@pytest.mark.django_db
def test_ids_out_of_the_repeat_window_are_forgotten(kafka_topic: TopicRef, settings: Any) -> None:
    log = _process()
    [first] = _append(log, kafka_topic, [{"id": "w-1", "source": "/shop", "data": 1}])
    claimed_ms = ProducedId.objects.get(topic=kafka_topic.name, event_id="w-1").claimed_ms
    window_ms = settings.EVENTLINE["KAFKA_REPEAT_WINDOW_S"] * 1000
    log.apply_retention(topic_id=kafka_topic.id, retention_ms=-1, retention_bytes=-1, now_ms=claimed_ms + window_ms)
    assert ProducedId.objects.filter(topic=kafka_topic.name).exists(), "still inside the window"
    log.apply_retention(topic_id=kafka_topic.id, retention_ms=-1, retention_bytes=-1, now_ms=claimed_ms + window_ms + 1)
    assert not ProducedId.objects.filter(topic=kafka_topic.name).exists()
    [again] = _append(_process(), kafka_topic, [{"id": "w-1", "source": "/shop", "data": 1}])
    assert again.duplicate is False and again.offset > first.offset


@pytest.mark.django_db(transaction=True)
def test_retries_racing_in_several_processes_append_once(kafka_topic: TopicRef) -> None:
    racers = 6
    logs = [_process() for _ in range(racers)]
    start = threading.Barrier(racers)
    answers: list[Any] = [None] * racers

    def race(n: int) -> None:
        try:
            start.wait()
            answers[n] = _append(
                logs[n], kafka_topic, [{"id": "r-1", "source": "/shop", "key": "k", "data": {"n": n}}]
            )[0]
        finally:
            connection.close()

    threads = [threading.Thread(target=race, args=(n,)) for n in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert all(answer is not None for answer in answers), answers
    assert sum(not answer.duplicate for answer in answers) == 1
    assert len({(answer.partition, answer.offset) for answer in answers}) == 1, "every racer got the same coordinates"
    assert _count(logs[0], kafka_topic, answers) == 1
