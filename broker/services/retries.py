"""Retries and dead-letter topics for events a group's consumer fails on.

A member that fails on an event nacks it (with the error's class, message and stack). The event
is then retried for that group only: the other groups of the topic never see the retry, and the
partition is not blocked (the member commits past the event as usual, and the retry travels
beside the partition's new events, in the `retries` of a later fetch). Deliveries are spaced by
exponential backoff (initial delay, multiplier, ceiling) up to the policy's number of attempts;
the nack of the last one appends the event to the group's dead-letter topic
(`{topic}.{group}.dlq` unless the policy names another), on the same partition number as Spring
Kafka does, with the headers Kafka Connect and Spring Kafka write there so existing tools read
them. A retried event is leased to the member it was handed to until that member acks or nacks
it, or for RETRY_LEASE_MS (then it is handed out again without counting an attempt).

Dead-lettering is idempotent: the dead-letter event's id is `{original id}@{group}`, so a nack
repeated after an unclear answer finds the event already there and records it once.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Count, Min

from broker.constants import (
    DEFAULT_RETRY_INITIAL_DELAY_MS,
    DEFAULT_RETRY_MAX_ATTEMPTS,
    DEFAULT_RETRY_MAX_DELAY_MS,
    DEFAULT_RETRY_MULTIPLIER,
    MAX_ERROR_TEXT,
    MAX_RETRY_ATTEMPTS,
    MAX_RETRY_DELAY_MS,
    RETRY_LEASE_MS,
    TOPIC_NAME_MAX_LENGTH,
    TOPIC_NAME_PATTERN,
)
from broker.log import get_log
from broker.masking import mask_payloads
from broker.models import DeadLetter, GroupMember, PendingRetry, RetryPolicy, Topic
from broker.services.groups import require_member_owner, validate_group_name
from core.auth import Principal
from core.constants import SCOPE_ADMIN
from core.errors import NotFound, ValidationFailed, field_error
from core.jsonutil import dumps, loads
from core.timeutil import now_ms

#: Who appends to dead-letter topics and redrives: the broker itself, on a group's behalf.
RETRIES_PRINCIPAL = Principal(scopes=frozenset({SCOPE_ADMIN}), username="eventline-retries")
#: How long a process trusts what it last read of a group's earliest due retry.
_DUE_CHECK_S = 1.0
_MAX_RETRIES_PER_FETCH = 100
_MAX_EVENT_READ_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Backoff:
    """A group's retry policy for one topic, with Spring Kafka's defaults where it set none."""

    initial_delay_ms: int = DEFAULT_RETRY_INITIAL_DELAY_MS
    multiplier: float = DEFAULT_RETRY_MULTIPLIER
    max_delay_ms: int = DEFAULT_RETRY_MAX_DELAY_MS
    max_attempts: int = DEFAULT_RETRY_MAX_ATTEMPTS
    dead_letter_topic: str = ""

    def delay_ms(self, failures: int) -> int:
        """The wait before the next delivery after `failures` failed ones (1, 2, ...)."""
        delay = self.initial_delay_ms * self.multiplier ** (failures - 1)
        return int(min(delay, self.max_delay_ms)) if math.isfinite(delay) else self.max_delay_ms

    def as_dict(self) -> dict[str, Any]:
        return {
            "initial_delay_ms": self.initial_delay_ms,
            "multiplier": self.multiplier,
            "max_delay_ms": self.max_delay_ms,
            "max_attempts": self.max_attempts,
            "dead_letter_topic": self.dead_letter_topic or None,
        }


def dead_letter_topic_name(topic: str, group: str, policy: Backoff) -> str:
    return policy.dead_letter_topic or f"{topic}.{group}.dlq"


def retry_policy_get(*, group_name: str, topic: str = "") -> Backoff:
    """The policy for `topic` in `group_name`: the topic's own, else the group's, else defaults."""
    rows = {row.topic: row for row in RetryPolicy.objects.filter(group=group_name, topic__in={topic, ""})}
    row = rows.get(topic) or rows.get("")
    if row is None:
        return Backoff()
    return Backoff(row.initial_delay_ms, row.multiplier, row.max_delay_ms, row.max_attempts, row.dead_letter_topic)


def retry_policy_set(*, group_name: str, principal: Principal, topic: str, values: Any) -> Backoff:
    """Set a group's retry policy for one topic ("" for every topic); unset fields keep defaults."""
    validate_group_name(group_name)
    principal.require_group(group_name)
    if not isinstance(values, dict):
        raise ValidationFailed("The body must be a JSON object.")
    if topic:
        principal.require("consume", topic)
    defaults = Backoff()
    policy = Backoff(
        initial_delay_ms=_integer(values, "initial_delay_ms", defaults.initial_delay_ms, 0, MAX_RETRY_DELAY_MS),
        multiplier=_multiplier(values.get("multiplier", defaults.multiplier)),
        max_delay_ms=_integer(values, "max_delay_ms", defaults.max_delay_ms, 0, MAX_RETRY_DELAY_MS),
        max_attempts=_integer(values, "max_attempts", defaults.max_attempts, 1, MAX_RETRY_ATTEMPTS),
        dead_letter_topic=_topic_name_or_empty(values.get("dead_letter_topic")),
    )
    RetryPolicy.objects.update_or_create(
        group=group_name,
        topic=topic,
        defaults={key: value for key, value in policy.as_dict().items() if key != "dead_letter_topic"}
        | {"dead_letter_topic": policy.dead_letter_topic},
    )
    return policy


def event_nack(
    *, group_name: str, member_id: str, principal: Principal, topic: Any, partition: Any, offset: Any, error: Any
) -> dict[str, Any]:
    """A member failed on an event: schedule its next delivery to this group, or dead-letter it
    after the policy's last attempt. Returns what happened."""
    principal.require_group(group_name)
    topic_name, partition, offset = _coordinates(topic, partition, offset)
    principal.require("consume", topic_name)
    error_class, error_message, error_stack = _error(error)
    at_ms = now_ms()
    with transaction.atomic():
        member = _member(group_name, member_id, principal)
        topic_row = _topic(topic_name)
        retry = (
            PendingRetry.objects.select_for_update()
            .filter(group=group_name, topic=topic_row, partition=partition, offset=offset)
            .first()
        )
        if retry is None and [topic_name, partition] not in member.assignment:
            raise ValidationFailed(
                f"Member '{member_id}' is not assigned {topic_name}/{partition}: only the partition's "
                "member may nack its events.",
                code="not_assigned",
            )
        payload = _read_event(topic_row, partition, offset)
        policy = retry_policy_get(group_name=group_name, topic=topic_name)
        failures = (retry.attempts if retry is not None else 0) + 1
        if failures < policy.max_attempts:
            due_ms = at_ms + policy.delay_ms(failures)
            fields = {
                "attempts": failures,
                "due_ms": due_ms,
                "leased_to": "",
                "error_class": error_class,
                "error_message": error_message,
                "error_stack": error_stack,
                "last_failed_ms": at_ms,
            }
            if retry is None:
                PendingRetry.objects.create(
                    group=group_name, topic=topic_row, partition=partition, offset=offset, first_failed_ms=at_ms, **fields
                )
            else:
                for name, value in fields.items():
                    setattr(retry, name, value)
                retry.save(update_fields=list(fields))
            _due_cache.lower(group_name, due_ms)
            return {"outcome": "retry", "attempts": failures, "next_attempt_ms": due_ms}
    # The last attempt failed: append to the dead-letter topic (outside the transaction: the
    # append may go through the append writer), then record it and drop the pending retry.
    event = loads(payload)
    target = _dead_letter_target(topic_row, group_name, policy)
    appended = _append_dead_letter(
        target, event, group_name, failures, (error_class, error_message, error_stack)
    )
    with transaction.atomic():
        PendingRetry.objects.filter(group=group_name, topic=topic_row, partition=partition, offset=offset).delete()
        DeadLetter.objects.update_or_create(
            group=group_name,
            topic=topic_name,
            partition=partition,
            offset=offset,
            defaults={
                "event_id": str(event.get("id", "")),
                "event_type": str(event.get("type", "")),
                "dead_letter_topic": target.name,
                "dead_letter_partition": appended.partition,
                "dead_letter_offset": appended.offset,
                "attempts": failures,
                "error_class": error_class,
                "error_message": error_message,
                "error_stack": error_stack,
                "dead_lettered_ms": at_ms,
                "resolved_ms": None,
                "resolved_by": "",
            },
        )
    return {
        "outcome": "dead_lettered",
        "attempts": failures,
        "dead_letter": {"topic": target.name, "partition": appended.partition, "offset": appended.offset},
    }


def event_ack(
    *, group_name: str, member_id: str, principal: Principal, topic: Any, partition: Any, offset: Any
) -> dict[str, Any]:
    """A member handled a retried event: it is not delivered again."""
    principal.require_group(group_name)
    topic_name, partition, offset = _coordinates(topic, partition, offset)
    principal.require("consume", topic_name)
    with transaction.atomic():
        _member(group_name, member_id, principal)
        deleted, _ = PendingRetry.objects.filter(
            group=group_name, topic__name=topic_name, partition=partition, offset=offset, leased_to=member_id
        ).delete()
    return {"acknowledged": bool(deleted)}


def retries_due(*, group_name: str, member_id: str, principal: Principal) -> list[str]:
    """The group's retries that are due on the member's partitions, leased to it, each as
    `{"attempt": n, "error": {...}, "event": <the event>}` JSON. Costs nothing (no query) while
    this process knows the group has none due."""
    principal.require_group(group_name)
    at_ms = now_ms()
    if not _due_cache.might_be_due(group_name, at_ms):
        return []
    answers: list[str] = []
    with transaction.atomic():
        member = _member(group_name, member_id, principal)
        assigned = {(topic, partition) for topic, partition in member.assignment}
        rows = list(
            PendingRetry.objects.select_for_update()
            .filter(group=group_name, due_ms__lte=at_ms)
            .select_related("topic")
            .order_by("due_ms", "id")[: _MAX_RETRIES_PER_FETCH * 4]
        )
        for row in rows:
            if (row.topic.name, row.partition) not in assigned or not principal.allows("consume", row.topic.name):
                continue
            try:
                payload = _read_event(row.topic, row.partition, row.offset)
            except NotFound:
                row.delete()  # retention took it before its retry: nothing is left to deliver
                continue
            row.due_ms, row.leased_to = at_ms + RETRY_LEASE_MS, member_id
            row.save(update_fields=["due_ms", "leased_to"])
            payload = mask_payloads([payload], principal)[0]
            error = dumps({"class": row.error_class, "message": row.error_message}).decode()
            answers.append(f'{{"attempt":{row.attempts + 1},"error":{error},"event":{payload}}}')
            if len(answers) >= _MAX_RETRIES_PER_FETCH:
                break
    _due_cache.refresh(group_name)
    return answers


def dead_letters_count(*, group_names: list[str]) -> dict[str, int]:
    """Unresolved dead letters per group."""
    counts: dict[str, int] = dict.fromkeys(group_names, 0)
    rows = DeadLetter.objects.filter(group__in=group_names, resolved_ms__isnull=True).values("group").order_by()
    for row in rows.annotate(n=Count("id")):
        counts[row["group"]] = row["n"]
    return counts


# -- helpers -----------------------------------------------------------------------------------


class _DueCache:
    """Per process: each group's earliest due retry as last read, so a fetch of a group with
    none due asks the database at most once a second."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._earliest: dict[str, tuple[float, int | None]] = {}

    def might_be_due(self, group: str, at_ms: int) -> bool:
        known = self._earliest.get(group)
        if known is None or time.monotonic() - known[0] >= _DUE_CHECK_S:
            earliest = self.refresh(group)
        else:
            earliest = known[1]
        return earliest is not None and earliest <= at_ms

    def refresh(self, group: str) -> int | None:
        earliest = PendingRetry.objects.filter(group=group).aggregate(due=Min("due_ms"))["due"]
        with self._lock:
            self._earliest[group] = (time.monotonic(), earliest)
        return earliest

    def lower(self, group: str, due_ms: int) -> None:
        with self._lock:
            checked, earliest = self._earliest.get(group, (time.monotonic(), None))
            self._earliest[group] = (checked, due_ms if earliest is None else min(earliest, due_ms))

    def clear(self) -> None:
        with self._lock:
            self._earliest.clear()


_due_cache = _DueCache()


def _coordinates(topic: Any, partition: Any, offset: Any) -> tuple[str, int, int]:
    if not isinstance(topic, str) or not topic:
        raise field_error("topic", "must be a topic name")
    if type(partition) is not int or partition < 0:
        raise field_error("partition", "must be a partition number")
    if type(offset) is not int or offset < 0:
        raise field_error("offset", "must be an offset (an integer, 0 or more)")
    return topic, partition, offset


def _error(error: Any) -> tuple[str, str, str]:
    if error is None:
        return "", "", ""
    if not isinstance(error, dict):
        raise field_error("error", 'must be an object: {"class": ..., "message": ..., "stack": ...}')
    parts = []
    for name in ("class", "message", "stack"):
        value = error.get(name, "")
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise field_error(f"error.{name}", "must be a string")
        if "\x00" in value:
            raise field_error(f"error.{name}", "must not contain NUL characters")
        parts.append(value[:MAX_ERROR_TEXT])
    return parts[0], parts[1], parts[2]


def _integer(values: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = values.get(name, default)
    if type(value) is not int or not low <= value <= high:
        raise field_error(name, f"must be an integer from {low} to {high}")
    return value


def _multiplier(value: Any) -> float:
    if type(value) not in (int, float) or not 1.0 <= value <= 100.0:
        raise field_error("multiplier", "must be a number from 1 to 100")
    return float(value)


def _topic_name_or_empty(value: Any) -> str:
    if value in (None, ""):
        return ""
    if not isinstance(value, str) or len(value) > TOPIC_NAME_MAX_LENGTH or not TOPIC_NAME_PATTERN.match(value):
        raise field_error("dead_letter_topic", "must be a topic name (a-z, A-Z, 0-9, '.', '_', '-')")
    return value


def _member(group_name: str, member_id: str, principal: Principal) -> GroupMember:
    member = GroupMember.objects.filter(group__name=group_name, member_id=member_id).first()
    if member is None:
        raise NotFound(f"Member '{member_id}' is not in group '{group_name}'.", code="unknown_member")
    require_member_owner(member, principal)
    return member


def _topic(name: str) -> Topic:
    topic = Topic.objects.filter(name=name).first()
    if topic is None:
        raise NotFound(f"Topic '{name}' does not exist.")
    return topic


def _read_event(topic: Topic, partition: int, offset: int) -> str:
    if partition >= topic.partition_count:
        raise field_error("partition", f"the topic has partitions 0..{topic.partition_count - 1}")
    batch = get_log().read(
        topic_id=topic.id, partition=partition, offset=offset, max_events=1, max_bytes=_MAX_EVENT_READ_BYTES
    )
    if not batch.payloads or batch.first_offset != offset:
        raise NotFound(f"No event at {topic.name}/{partition}@{offset} (never written, or past retention).")
    return batch.payloads[0]


def _dead_letter_target(topic: Topic, group: str, policy: Backoff) -> Topic:
    from broker.services.topics import topic_create

    name = dead_letter_topic_name(topic.name, group, policy)
    if len(name) > TOPIC_NAME_MAX_LENGTH:
        raise ValidationFailed(
            f"The dead-letter topic name '{name[:60]}...' is longer than {TOPIC_NAME_MAX_LENGTH} characters: "
            "set dead_letter_topic in the group's retry policy.",
            code="dead_letter_topic_name",
        )
    existing = Topic.objects.filter(name=name).first()
    if existing is not None:
        return existing
    try:
        return topic_create(name=name, partitions=topic.partition_count, config={"validation.mode": "off"})
    except Exception:  # noqa: BLE001 - a racing nack created it first
        found = Topic.objects.filter(name=name).first()
        if found is None:
            raise
        return found


def dead_letter_headers(
    event: dict[str, Any], group: str, attempts: int, error: tuple[str, str, str]
) -> list[dict[str, str]]:
    """Kafka Connect's and Spring Kafka's dead-letter headers, as strings."""
    error_class, error_message, error_stack = error
    origin = {
        "topic": str(event.get("topic", "")),
        "partition": str(event.get("partition", "")),
        "offset": str(event.get("offset", "")),
        "timestamp": str(event.get("timestamp", "")),
    }
    pairs = [
        ("__connect.errors.topic", origin["topic"]),
        ("__connect.errors.partition", origin["partition"]),
        ("__connect.errors.offset", origin["offset"]),
        ("__connect.errors.exception.class.name", error_class),
        ("__connect.errors.exception.message", error_message),
        ("__connect.errors.exception.stacktrace", error_stack),
        ("kafka_dlt-original-topic", origin["topic"]),
        ("kafka_dlt-original-partition", origin["partition"]),
        ("kafka_dlt-original-offset", origin["offset"]),
        ("kafka_dlt-original-timestamp", origin["timestamp"]),
        ("kafka_dlt-original-timestamp-type", "CreateTime"),
        ("kafka_dlt-original-consumer-group", group),
        ("kafka_dlt-exception-fqcn", error_class),
        ("kafka_dlt-exception-message", error_message),
        ("kafka_dlt-exception-stacktrace", error_stack),
        ("retry_topic-attempts", str(attempts)),
    ]
    return [{"key": key, "value": value} for key, value in pairs]


_COPIED_ATTRIBUTES = (
    "source",
    "type",
    "time",
    "subject",
    "datacontenttype",
    "dataschema",
    "correlationid",
    "causationid",
    "traceparent",
    "key",
    "data",
)


def _append_dead_letter(
    target: Topic, event: dict[str, Any], group: str, attempts: int, error: tuple[str, str, str]
) -> Any:
    from broker.services.produce import events_produce

    raw = {name: event[name] for name in _COPIED_ATTRIBUTES if event.get(name) is not None}
    raw["id"] = f"{event.get('id', '')}@{group}"[:255]
    raw["partition"] = int(event.get("partition", 0)) % target.partition_count
    raw["headers"] = list(event.get("headers") or []) + dead_letter_headers(event, group, attempts, error)
    return events_produce(topic_name=target.name, raw_events=[raw], principal=RETRIES_PRINCIPAL)[0]
