"""Produce: check a batch, pick partitions, append atomically, wake waiting consumers."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from django.db import connection, transaction
from django.db.models import F

from broker.access import PRODUCE, TopicAccess, topic_access_load
from broker.constants import (
    ACCESS_OPEN,
    SUBJECT_STRATEGY_TOPIC_RECORD,
    TOPIC_METADATA_CACHE_S,
    VALIDATION_OFF,
    VALIDATION_WARN,
)
from broker.correlation import correlation_ids_locate
from broker.envelope import EventError, PreparedEvent, prepare_event
from broker.log import AppendedEvent, get_log
from broker.models import Topic
from broker.partitioner import RoundRobin, partition_for_key
from broker.wakeups import hub
from core.auth import Principal
from core.db import Expectation, ExpectationFailed
from core.errors import NotFound, Unavailable, ValidationFailed
from core.timeutil import now_ms
from eventline.ids import uuid7_batch
from schemas.cache import registry_cache
from schemas.validation import registry_guard, resolve_schema_id, resolve_subject, validator_for

_round_robin = RoundRobin()
REGISTRY_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class ProduceTarget:
    id: int
    name: str
    partition_count: int
    max_message_bytes: int
    subject_strategy: str
    value_subject: str
    validation_mode: str
    access: TopicAccess

    def subject_for(self, event_type: str) -> str:
        if self.subject_strategy == SUBJECT_STRATEGY_TOPIC_RECORD:
            return f"{self.name}-{event_type}"
        return self.value_subject or f"{self.name}-value"


# Per process, a topic's produce settings are reused for TOPIC_METADATA_CACHE_S: this runs on
# every produce (and its access policy on every consume). Changes made in this process
# (broker.services.topics, and catalog edits, which may change who a `declared` topic admits)
# clear them at once; other processes see them within that time, as a Kafka producer sees new topic metadata only after its
# next metadata refresh. An append to a topic deleted meanwhile finds its partitions gone (404).
_targets: dict[str, tuple[float, ProduceTarget]] = {}


def produce_targets_forget(name: str | None = None) -> None:
    """Forget the cached produce settings of topic `name` (every topic when None)."""
    if name is None:
        _targets.clear()
    else:
        _targets.pop(name, None)


def topic_for_produce(name: str) -> ProduceTarget:
    """The few topic settings an append needs: from this process's cache, or one indexed read."""
    cached = _targets.get(name)
    now = time.monotonic()
    if cached is not None and now - cached[0] < TOPIC_METADATA_CACHE_S:
        return cached[1]
    target = _topic_for_produce_read(name)
    _targets[name] = (now, target)
    return target


def _topic_for_produce_read(name: str) -> ProduceTarget:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, partition_count, max_message_bytes, subject_strategy, value_subject, validation_mode, "
            "access_policy, access_producers, access_consumers FROM broker_topic WHERE name = %s",
            [name],
        )
        row = cursor.fetchone()
    if row is None:
        from broker.services.topics import topic_adopt

        if topic_adopt(name=name) is None:  # a cluster topic another client created is adopted on sight
            raise NotFound(f"Topic '{name}' does not exist.", code="topic_not_found")
        return _topic_for_produce_read(name)
    policy, producers, consumers = row[6:9]
    access = (
        TopicAccess()
        if policy == ACCESS_OPEN
        else topic_access_load(
            topic_name=name, policy=policy, producers=_json_list(producers), consumers=_json_list(consumers)
        )
    )
    return ProduceTarget(row[0], name, *row[1:6], access)


def _json_list(value: Any) -> list[str]:
    """A JSON column read by a raw cursor: text on SQLite, text or already parsed on PostgreSQL."""
    if isinstance(value, str):
        value = json.loads(value)
    return list(value or [])


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
    principal.require(PRODUCE, topic.name)
    if not topic.access.allows(principal, PRODUCE):
        raise topic.access.refusal(topic.name, principal, PRODUCE)
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
        body = _render(event, append_time_ms)
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
    flagged, guard = 0, None
    if not errors:
        correlation_ids_locate(prepared)
        errors, flagged, guard = _validate(topic, prepared, append_time_ms)
    if errors:
        raise refused(errors, len(raw_events))

    for event in prepared:
        if event.partition is None:
            if event.key is not None:
                event.partition = partition_for_key(event.key.encode(), topic.partition_count)
            else:
                event.partition = _round_robin.next(topic.id, topic.partition_count)

    for attempt in range(REGISTRY_ATTEMPTS):
        try:
            results = get_log().append(
                topic_id=topic.id,
                topic_name=topic.name,
                events=prepared,
                producer_id=principal.service_id,
                now_ms=append_time_ms,
                expect=[guard] if guard is not None else [],
            )
            break
        except NotFound:
            produce_targets_forget(topic.name)  # deleted (or re-created) since it was cached
            raise
        except ExpectationFailed:
            # The registry moved since this process's cache last looked: nothing was appended.
            # Validate again against the registry as it is now.
            if attempt == REGISTRY_ATTEMPTS - 1:
                raise Unavailable(
                    "The schema registry kept changing while the events were checked; nothing was appended. "
                    "Send them again.",
                    code="registry_busy",
                ) from None
            errors, flagged, guard = _validate(topic, prepared, append_time_ms, fresh=True)
            if errors:
                raise refused(errors, len(raw_events)) from None
    topic_id = topic.id
    if flagged:
        Topic.objects.filter(pk=topic_id).update(validation_failures=F("validation_failures") + flagged)
    transaction.on_commit(lambda: hub().notify([topic_id]))
    return results


def _validate(
    topic: ProduceTarget, events: Sequence[PreparedEvent], append_time_ms: int, *, fresh: bool = False
) -> tuple[list[EventError], int, Expectation | None]:
    """Check `events` against the registry (check_schemas) and return the refusals, the number
    flagged under `warn`, and the registry_guard the append must hold to. This answers from the
    process's registry cache without reading the database (`fresh` reads it first): the guard
    makes the append fail if the registry moved since, and a refusal is only ever decided on
    the registry as it is now."""
    if topic.validation_mode == VALIDATION_OFF:
        return [], 0, None
    if fresh:
        registry_cache.sync()
    state = registry_cache.known_state()
    for event in events:
        event.schema_id = None
        if event.schema_errors:
            event.schema_errors = None
            _render(event, append_time_ms)
    try:
        errors, flagged = check_schemas(topic, events)
    except LookupError:  # a cached schema id another process deleted for good since
        if fresh:
            raise
        return _validate(topic, events, append_time_ms, fresh=True)
    if errors and not fresh:
        return _validate(topic, events, append_time_ms, fresh=True)
    for event in events:
        if event.schema_errors:  # the flag travels in the stored event
            _render(event, append_time_ms)
    return errors, flagged, registry_guard(state)


def _render(event: PreparedEvent, append_time_ms: int) -> bytes:
    return event.render_body(event.timestamp_ms if event.timestamp_ms is not None else append_time_ms, append_time_ms)


_DATASCHEMA = re.compile(
    r"/subjects/(?P<subject>[^/]+)/versions/(?P<version>\d+|latest)/?$|/schemas/ids/(?P<id>\d+)/?$"
)


def _pinned(dataschema: str) -> tuple[str | None, int | None, int | None] | None:
    """A `dataschema` naming a registry schema: .../subjects/{s}/versions/{v} or .../schemas/ids/{id}."""
    match = _DATASCHEMA.search(dataschema)
    if match is None:
        return None
    if match.group("id"):
        return None, None, int(match.group("id"))
    version = match.group("version")
    return unquote(match.group("subject")), None if version == "latest" else int(version), None


def check_schemas(topic: ProduceTarget, events: Sequence[PreparedEvent]) -> tuple[list[EventError], int]:
    """Validate each event's data against its subject's schema (latest version, or the one its
    `dataschema` pins) and record the schema id used. Under `enforce` every failure is returned
    with the JSON pointer of the failing value; under `warn` the event is kept, flagged with its
    failures, and counted (the count comes back for the caller to add once the append commits).
    Answers from the process's registry cache without syncing it: `_validate` decides when to
    read the registry, and the append's registry_guard holds it to the state validated against."""
    errors: list[EventError] = []
    resolved_cache: dict[tuple[str | None, int | None, int | None], Any] = {}
    failures = 0
    for event in events:
        pinned = _pinned(event.dataschema) if event.dataschema else None
        key = pinned or (topic.subject_for(event.type), None, None)
        if key not in resolved_cache:
            subject, version, schema_id = key
            resolved_cache[key] = (
                resolve_schema_id(schema_id, sync=False)
                if schema_id is not None
                else resolve_subject(subject or "", version, sync=False)
            )
        resolved = resolved_cache[key]
        if resolved is None:
            if pinned is not None:
                errors.append(
                    EventError(event.index, "dataschema", f"names no live schema in the registry: {event.dataschema}")
                )
            continue  # no subject registered for this event: nothing to validate against
        event.schema_id = resolved.schema_id
        if isinstance(event.data, bytes):
            issues = [("", "binary data cannot be checked against a JSON schema")]
        else:
            issues = [(issue.pointer, issue.reason) for issue in validator_for(resolved.schema_id).validate(event.data)]
        if not issues:
            continue
        failures += 1
        where = f"{resolved.subject} version {resolved.version} (schema id {resolved.schema_id})"
        if topic.validation_mode == VALIDATION_WARN:
            event.schema_errors = [{"pointer": f"/data{pointer}", "reason": reason} for pointer, reason in issues]
        else:
            errors.extend(
                EventError(event.index, "data", f"{reason} (schema {where})", pointer=f"/data{pointer}")
                for pointer, reason in issues
            )
    return errors, failures if topic.validation_mode == VALIDATION_WARN else 0
