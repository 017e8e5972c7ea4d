"""What people do with dead letters (issue 13): redrive them to their original topic, send an
edited copy as a new event, or mark them resolved.

A redrive appends a copy of the dead-lettered event to its original topic with the original key,
data and CloudEvents attributes and a new id, `{original id}.redrive-{n}` (n: the row's redrive
count + 1). A request repeated after an unclear answer therefore finds the copy already in the
topic (the broker dedupes on (source, id)) and appends nothing; a row already resolved is skipped.
Appends run as the broker (RETRIES_PRINCIPAL) after the actor's own rights are checked here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from broker.log import get_log
from broker.masking import mask_data, personal_data_fields
from broker.models import DeadLetter, Topic
from broker.services.produce import events_produce
from broker.services.retries import _COPIED_ATTRIBUTES, RETRIES_PRINCIPAL
from core.auth import ROLE_EDITOR, Principal
from core.choices import AuditAction
from core.errors import EventlineError, Forbidden, NotFound, ValidationFailed, field_error
from core.jsonutil import loads
from core.services import audit_record
from core.timeutil import now_ms

#: Default and ceiling of the redrive rate (events per second).
DEFAULT_REDRIVE_RATE_PER_S = 50.0
MAX_REDRIVE_RATE_PER_S = 1000.0
#: At most this many rows are redriven in one request; the answer says how many are left.
MAX_REDRIVE_PER_REQUEST = 500
REDRIVE_OF_HEADER = "eventline-redrive-of"
#: Headers the dead-lettering added; the redriven copy carries only the event's own.
_DEAD_LETTER_HEADER_PREFIXES = ("__connect.errors.", "kafka_dlt-", "retry_topic-")
_MAX_EVENT_READ_BYTES = 64 * 1024 * 1024


@dataclass
class RedriveResult:
    """What a redrive request did: `total` rows asked for, `done` appended (or found already
    appended), `skipped` already resolved, `failed` with a reason, `remaining` past the cap."""

    total: int = 0
    done: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    remaining: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "done": len(self.done),
            "redriven": self.done,
            "skipped": self.skipped,
            "failed": self.failed,
            "remaining": self.remaining,
        }


def dead_letter_redrive(
    *,
    ids: Sequence[int] | None = None,
    group: str = "",
    actor: Principal,
    rate_per_s: float = DEFAULT_REDRIVE_RATE_PER_S,
    limit: int = MAX_REDRIVE_PER_REQUEST,
    sleep: Callable[[float], None] = time.sleep,
) -> RedriveResult:
    """Redrive the rows `ids`, or (ids None) every unresolved row of `group`, at most `limit` of
    them at `rate_per_s`, oldest first. Synchronous: a caller with more than `limit` rows calls
    again until `remaining` is 0."""
    if not 0 < rate_per_s <= MAX_REDRIVE_RATE_PER_S:
        raise field_error("rate_per_s", f"must be a number above 0 and at most {MAX_REDRIVE_RATE_PER_S:g}")
    if ids is None:
        if not group:
            raise field_error("group", "name the group whose dead letters to redrive, or give ids")
        actor.require_group(group)
        rows = DeadLetter.objects.filter(group=group, resolved_ms__isnull=True)
    else:
        rows = DeadLetter.objects.filter(id__in=_ids(ids))
    rows = list(rows.order_by("dead_lettered_ms", "id"))
    if ids is not None and len(rows) != len(set(ids)):
        missing = sorted(set(ids) - {row.id for row in rows})
        raise NotFound(f"No dead letter with id {', '.join(map(str, missing))}.")
    for row in rows:
        _require_redrive(actor, row)
    result = RedriveResult(total=len(rows))
    interval = 1.0 / rate_per_s
    started = time.monotonic()
    for row in rows:
        if row.resolved_ms is not None:
            result.skipped.append(row.id)
            continue
        if len(result.done) + len(result.failed) >= limit:
            result.remaining += 1
            continue
        # Pace from the start, so slow appends do not add to the wait.
        wait = started + (len(result.done) + len(result.failed)) * interval - time.monotonic()
        if wait > 0:
            sleep(wait)
        try:
            result.done.append(_redrive_one(row, actor))
        except EventlineError as error:
            result.failed.append({"id": row.id, "error": error.message})
    return result


def dead_letter_edit_and_redrive(*, id: int, data: Any, actor: Principal) -> dict[str, Any]:
    """Send edited `data` to the dead letter's original topic as a new event (new id, chosen by
    the broker) with the original key and attributes; the row is resolved. Editors and admins."""
    if not (actor.is_admin or ROLE_EDITOR in actor.roles):
        raise Forbidden("Editing and redriving a dead letter needs the editor role or the admin scope.")
    row = _row(id)
    actor.require_group(row.group)
    event = _read_dead_letter(row)
    # Asked before the append: a provider that cannot answer refuses the edit rather than audit
    # personal data unmasked.
    pointers = personal_data_fields().get(event.get("type") or row.event_type, ())
    if pointers and not actor.may_see_personal_data:
        # Someone who sees the classified fields masked would send "***" back into them.
        raise Forbidden(
            "This event holds personal data, which you see masked: editing and redriving it needs the "
            "right to see personal data (the pii:read scope, or the pii group).",
            code="personal_data_hidden",
        )
    raw = _copy(event, row)
    raw.pop("id")
    raw["data"] = data
    appended = events_produce(topic_name=row.topic, raw_events=[raw], principal=RETRIES_PRINCIPAL)[0]
    at_ms = now_ms()
    with transaction.atomic():
        row = DeadLetter.objects.select_for_update().get(id=row.id)
        before = _state(row)
        row.redrive_count += 1
        row.redriven_ms = at_ms
        if row.resolved_ms is None:
            row.resolved_ms, row.resolved_by = at_ms, actor.display_name
        row.save(update_fields=["redrive_count", "redriven_ms", "resolved_ms", "resolved_by"])
        answer = {
            "id": row.id,
            "event_id": appended.event_id,
            "partition": appended.partition,
            "offset": appended.offset,
        }
        audit_record(
            principal=actor,
            action=AuditAction.DEAD_LETTER_EDITED_REDRIVEN,
            target_type="dead_letter",
            target=_target(row),
            before=before | _audited_data(event.get("data"), pointers),
            after=_state(row) | _audited_data(data, pointers) | {"event": answer},
        )
    return answer


def dead_letter_resolve(*, ids: Sequence[int], actor: Principal) -> list[int]:
    """Mark dead letters resolved (handled some other way); returns the ids newly resolved."""
    wanted = _ids(ids)
    at_ms = now_ms()
    resolved = []
    with transaction.atomic():
        rows = list(DeadLetter.objects.select_for_update().filter(id__in=wanted).order_by("id"))
        if len(rows) != len(set(wanted)):
            missing = sorted(set(wanted) - {row.id for row in rows})
            raise NotFound(f"No dead letter with id {', '.join(map(str, missing))}.")
        for row in rows:
            actor.require_group(row.group)
            if row.resolved_ms is not None:
                continue
            before = _state(row)
            row.resolved_ms, row.resolved_by = at_ms, actor.display_name
            row.save(update_fields=["resolved_ms", "resolved_by"])
            audit_record(
                principal=actor,
                action=AuditAction.DEAD_LETTER_RESOLVED,
                target_type="dead_letter",
                target=_target(row),
                before=before,
                after=_state(row),
            )
            resolved.append(row.id)
    return resolved


def dead_letter_event(*, row: DeadLetter) -> dict[str, Any]:
    """The event as it stands in the dead-letter topic (headers, data, attributes)."""
    return _read_dead_letter(row)


# -- helpers -----------------------------------------------------------------------------------


def _ids(ids: Any) -> list[int]:
    if not isinstance(ids, (list, tuple)) or not ids or any(type(i) is not int for i in ids):
        raise field_error("ids", "must be a non-empty list of dead-letter ids")
    if len(ids) > MAX_REDRIVE_PER_REQUEST:
        raise field_error("ids", f"at most {MAX_REDRIVE_PER_REQUEST} per request")
    return list(ids)


def _row(id: Any) -> DeadLetter:
    row = DeadLetter.objects.filter(id=id).first() if type(id) is int else None
    if row is None:
        raise NotFound(f"No dead letter with id {id}.")
    return row


def _require_redrive(actor: Principal, row: DeadLetter) -> None:
    """A redrive writes to the original topic: a key needs produce on it; a person (whose
    session grants no produce scopes) needs the editor role. Both need the group."""
    actor.require_group(row.group)
    if actor.roles and not actor.is_admin:
        if ROLE_EDITOR not in actor.roles:
            raise Forbidden("Redriving dead letters needs the editor role.")
    else:
        actor.require("produce", row.topic)


def _read_dead_letter(row: DeadLetter) -> dict[str, Any]:
    topic = Topic.objects.filter(name=row.dead_letter_topic).first()
    if topic is None:
        raise NotFound(f"The dead-letter topic '{row.dead_letter_topic}' no longer exists.")
    batch = get_log().read(
        topic_id=topic.id,
        partition=row.dead_letter_partition,
        offset=row.dead_letter_offset,
        max_events=1,
        max_bytes=_MAX_EVENT_READ_BYTES,
    )
    if not batch.payloads or batch.first_offset != row.dead_letter_offset:
        raise NotFound(
            f"No event at {row.dead_letter_topic}/{row.dead_letter_partition}@{row.dead_letter_offset} "
            "(past retention)."
        )
    return loads(batch.payloads[0])


def _copy(event: dict[str, Any], row: DeadLetter) -> dict[str, Any]:
    raw = {name: event[name] for name in _COPIED_ATTRIBUTES if event.get(name) is not None}
    raw["id"] = f"{row.event_id}.redrive-{row.redrive_count + 1}"[:255]
    topic = Topic.objects.filter(name=row.topic).first()
    if topic is None:
        raise NotFound(f"The original topic '{row.topic}' no longer exists.")
    # Back to the partition it failed on, so it keeps its place among its key's events.
    raw["partition"] = row.partition % topic.partition_count
    headers = [
        header
        for header in event.get("headers") or []
        if not str(header.get("key", "")).startswith(_DEAD_LETTER_HEADER_PREFIXES)
    ]
    coordinates = f"{row.dead_letter_topic}/{row.dead_letter_partition}@{row.dead_letter_offset}"
    raw["headers"] = [*headers, {"key": REDRIVE_OF_HEADER, "value": coordinates}]
    return raw


def _redrive_one(row: DeadLetter, actor: Principal) -> dict[str, Any]:
    raw = _copy(_read_dead_letter(row), row)
    appended = events_produce(topic_name=row.topic, raw_events=[raw], principal=RETRIES_PRINCIPAL)[0]
    at_ms = now_ms()
    with transaction.atomic():
        locked = DeadLetter.objects.select_for_update().get(id=row.id)
        if locked.resolved_ms is not None:
            raise ValidationFailed("Resolved meanwhile.", code="resolved")
        before = _state(locked)
        locked.redrive_count += 1
        locked.redriven_ms = at_ms
        locked.resolved_ms, locked.resolved_by = at_ms, actor.display_name
        locked.save(update_fields=["redrive_count", "redriven_ms", "resolved_ms", "resolved_by"])
        answer = {
            "id": locked.id,
            "event_id": appended.event_id,
            "partition": appended.partition,
            "offset": appended.offset,
            "duplicate": appended.duplicate,
        }
        audit_record(
            principal=actor,
            action=AuditAction.DEAD_LETTER_REDRIVEN,
            target_type="dead_letter",
            target=_target(locked),
            before=before,
            after=_state(locked) | {"event": answer},
        )
    return answer


def _audited_data(data: Any, pointers: Sequence[str]) -> dict[str, Any]:
    """Event data as the audit keeps it: classified fields masked for everyone. Audit rows are
    never updated or deleted, so personal data written there could never be erased nor leave with
    the topic's retention; the unmasked event stays in the topic the entry points to, where reads
    mask it for callers without the right."""
    if not pointers:
        return {"data": data}
    return {"data": mask_data(data, pointers), "data_masked": list(pointers)}


def _target(row: DeadLetter) -> str:
    return f"{row.group}:{row.topic}/{row.partition}@{row.offset}"


def _state(row: DeadLetter) -> dict[str, Any]:
    return {
        "redrive_count": row.redrive_count,
        "redriven_ms": row.redriven_ms,
        "resolved_ms": row.resolved_ms,
        "resolved_by": row.resolved_by,
    }
