"""The log backends the contract runs against: the SQL log always, the Kafka log when
KAFKA_BOOTSTRAP_SERVERS names a cluster (`scripts/kafka.sh start`; `.ci/run` starts one), else its
tests are skipped with the reason."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from broker.log.base import Log

KAFKA_BOOTSTRAP_SERVERS = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "")


@dataclass
class TopicRef:
    id: int
    name: str
    partitions: int


@dataclass
class Backend:
    """A log and what the contract needs around it: topics made for one test (unique names,
    dropped afterwards) and a way to move a partition's log start as retention does."""

    name: str
    log: Log
    make_topic: Callable[..., TopicRef]
    retain_from: Callable[[TopicRef, int, int, int], None]  # (topic, partition, first kept offset, its append time)
    # Returns once the appended events are readable: at once on SQL; on Kafka once the
    # transaction's markers are written (broker.log.base, "Visibility").
    settle: Callable[[TopicRef, list[Any]], None] = lambda topic, appended: None


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def kafka_log() -> Iterator[Any]:
    if not KAFKA_BOOTSTRAP_SERVERS:
        pytest.skip(
            "KAFKA_BOOTSTRAP_SERVERS is not set: start a local Kafka with `scripts/kafka.sh start` and export it"
        )
    from broker.log.kafka import KafkaLog

    yield KafkaLog(KAFKA_BOOTSTRAP_SERVERS, timeout_s=20.0)


@pytest.fixture(params=["sql", "kafka"])
def backend(request: pytest.FixtureRequest, db: None) -> Iterator[Backend]:
    from broker.services.topics import topic_create

    if request.param == "sql":
        from broker.log.sql import SQLLog

        log = SQLLog()

        def make_sql(partitions: int = 1) -> TopicRef:
            topic = topic_create(name=_unique("contract"), partitions=partitions)  # rolled back with the test
            return TopicRef(topic.id, topic.name, partitions)

        def retain_sql(topic: TopicRef, partition: int, offset: int, kept_append_time_ms: int) -> None:
            log.apply_retention(topic_id=topic.id, retention_ms=1, retention_bytes=-1, now_ms=kept_append_time_ms + 1)

        yield Backend("sql", log, make_sql, retain_sql)
        return

    log = request.getfixturevalue("kafka_log")
    created: list[str] = []

    def make_kafka(partitions: int = 1) -> TopicRef:
        topic = topic_create(name=_unique("contract"), partitions=partitions)  # the id -> name row
        log.topic_create(name=topic.name, partitions=partitions)
        created.append(topic.name)
        return TopicRef(topic.id, topic.name, partitions)

    def retain_kafka(topic: TopicRef, partition: int, offset: int, kept_append_time_ms: int) -> None:
        log.delete_before(topic_id=topic.id, partition=partition, offset=offset)

    def settle_kafka(topic: TopicRef, appended: list[Any]) -> None:
        assert log.wait_visible(topic_id=topic.id, appended=appended, timeout_s=10.0), "not readable within 10 s"

    yield Backend("kafka", log, make_kafka, retain_kafka, settle_kafka)
    for name in created:
        log.topic_delete(name=name)
