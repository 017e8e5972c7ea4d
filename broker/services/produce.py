"""Produce: check a batch, pick partitions, append atomically, wake waiting consumers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from broker.envelope import EventError, PreparedEvent, prepare_event
from broker.log import AppendedEvent, get_log
from broker.partitioner import RoundRobin, partition_for_key
from broker.wakeups import hub
from core.auth import Principal
from core.errors import NotFound, ValidationFailed
from core.timeutil import now_ms
from eventline.ids import uuid7_batch

_round_robin = RoundRobin()


@dataclass(frozen=True, slots=True)
class ProduceTarget:
    id: int
    name: str
    partition_count: int
    max_message_bytes: int


def topic_for_produce(name: str) -> ProduceTarget:
    """The few topic settings an append needs, in one indexed read (this runs on every produce)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, partition_count, max_message_bytes FROM broker_topic WHERE name = %s", [name])
        row = cursor.fetchone()
    if row is None:
        raise NotFound(f"Topic '{name}' does not exist.", code="topic_not_found")
    return ProduceTarget(row[0], name, row[1], row[2])


def refused(errors: Sequence[EventError], total: int) -> ValidationFailed:
    refused_indexes = {error.index for error in errors}
    return ValidationFailed(
        f"{len(refused_indexes)} of {total} event(s) refused; nothing was appended.",
        code="events_refused",
        details={"errors": [error.as_dict() for error in errors]},
    )


def events_produce(*, topic_name: str, raw_events: Sequence[Any], principal: Principal) -> list[AppendedEvent]:
    """Append one event or a batch to a topic, all or nothing.

    Every event is checked before anything is written; if any is refused the whole batch is and
    the error lists each refused event with its index, field and reason. An event whose
    (source, id) is already in the topic is not appended again: its original coordinates come back
    marked as a duplicate.
    """
    topic = topic_for_produce(topic_name)
    principal.require("produce", topic.name)
    if not raw_events:
        raise ValidationFailed("The request holds no events.", code="no_events")

    default_source = principal.service_name or principal.username or "eventline"
    append_time_ms = now_ms()
    prepared: list[PreparedEvent] = []
    errors: list[EventError] = []
    generated_ids = uuid7_batch(len(raw_events))
    for index, raw in enumerate(raw_events):
        event, event_errors = prepare_event(
            index,
            raw,
            default_source=default_source,
            default_type=topic.name,
            partition_count=topic.partition_count,
            generated_id=generated_ids[index],
        )
        if event is None:
            errors.extend(event_errors)
            continue
        body = event.render_body(
            event.timestamp_ms if event.timestamp_ms is not None else append_time_ms, append_time_ms
        )
        if len(body) > topic.max_message_bytes:
            errors.append(
                EventError(
                    index,
                    "",
                    f"the event is {len(body)} bytes, over the topic's max.message.bytes of {topic.max_message_bytes}",
                )
            )
            continue
        prepared.append(event)
    if errors:
        raise refused(errors, len(raw_events))

    for event in prepared:
        if event.partition is None:
            if event.key is not None:
                event.partition = partition_for_key(event.key.encode(), topic.partition_count)
            else:
                event.partition = _round_robin.next(topic.id, topic.partition_count)

    results = get_log().append(
        topic_id=topic.id,
        topic_name=topic.name,
        events=prepared,
        producer_id=principal.service_id,
        now_ms=append_time_ms,
    )
    topic_id = topic.id
    transaction.on_commit(lambda: hub().notify([topic_id]))
    return results
