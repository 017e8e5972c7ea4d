"""Retention: delete what is past retention.ms or beyond retention.bytes, as Kafka does, and move
the log start offset up. Groups whose committed offset falls below the new log start follow their
reset policy at their next fetch (see services/fetch.py), as Kafka consumers do."""

from __future__ import annotations

from dataclasses import dataclass

from broker.log import get_log, get_topic_admin
from broker.models import Topic
from core.timeutil import now_ms


@dataclass(frozen=True)
class TopicRetention:
    topic: str
    partition: int
    new_log_start_offset: int
    deleted_events: int
    deleted_bytes: int


def retention_apply(*, at_ms: int | None = None) -> list[TopicRetention]:
    """One retention pass over every topic."""
    at_ms = at_ms if at_ms is not None else now_ms()
    results = []
    log = get_log()
    on_kafka = get_topic_admin() is not None  # where the pass has index rows and repeat ids to forget as well
    for topic in Topic.objects.only("id", "name", "retention_ms", "retention_bytes"):
        if topic.retention_ms < 0 and topic.retention_bytes < 0 and not on_kafka:
            continue
        for result in log.apply_retention(
            topic_id=topic.id, retention_ms=topic.retention_ms, retention_bytes=topic.retention_bytes, now_ms=at_ms
        ):
            results.append(
                TopicRetention(
                    topic.name,
                    result.partition,
                    result.new_log_start_offset,
                    result.deleted_events,
                    result.deleted_bytes,
                )
            )
    return results
