"""Counting observed flows (who produced what to which topic, which group consumed it) per minute,
inside the transaction of the append or fetch being counted."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from broker.models import FlowStat

FLOW_RETENTION_MS = 7 * 24 * 3600 * 1000

_UPSERT_INTO = (
    "INSERT INTO broker_flowstat (topic_id, role, service_id, group_id, event_type, minute_ms, events, last_seen_ms) "
    "VALUES "
)
_UPSERT_ROW = "(%s, %s, %s, %s, %s, %s, %s, %s)"
_UPSERT_CONFLICT = (
    " ON CONFLICT (topic_id, role, service_id, group_id, event_type, minute_ms) DO UPDATE SET "
    "events = broker_flowstat.events + excluded.events, "
    "last_seen_ms = CASE WHEN excluded.last_seen_ms > broker_flowstat.last_seen_ms "
    "THEN excluded.last_seen_ms ELSE broker_flowstat.last_seen_ms END"
)

FlowKey = tuple[int, int, int, int, str]  # topic_id, role, service_id, group_id, event_type


def minute_of(at_ms: int) -> int:
    return at_ms - at_ms % 60_000


def record_flows(cursor: Any, counts: Counter[FlowKey], at_ms: int) -> None:
    """Add `counts` to this minute's rows, in one statement."""
    sql, params = flows_upsert(counts, at_ms)
    if sql:
        cursor.execute(sql, params)


def flows_upsert(counts: Counter[FlowKey], at_ms: int) -> tuple[str, list[Any]]:
    """The statement record_flows runs and its parameters, for a caller that sends it together
    with other statements; ("", []) when there is nothing to count. Rows are sorted, so concurrent
    writers lock them in one order."""
    if not counts:
        return "", []
    minute = minute_of(at_ms)
    params = [value for key, count in sorted(counts.items()) for value in (*key, minute, count, at_ms)]
    return _UPSERT_INTO + ", ".join([_UPSERT_ROW] * len(counts)) + _UPSERT_CONFLICT, params


def produced(topic_id: int, service_id: int | None, event_types: Iterable[str]) -> Counter[FlowKey]:
    return produced_counts({(topic_id, service_id, event_type): n for event_type, n in Counter(event_types).items()})


def produced_counts(counts: Mapping[tuple[int, int | None, str], int]) -> Counter[FlowKey]:
    """produced() of many events at once, from their counts per (topic, service, event type)."""
    return Counter(
        {
            (topic_id, FlowStat.ROLE_PRODUCE, service_id or 0, 0, event_type): events
            for (topic_id, service_id, event_type), events in counts.items()
        }
    )


def consumed(topic_id: int, service_id: int | None, group_id: int, events: int) -> Counter[FlowKey]:
    return Counter({consume_key(topic_id, service_id, group_id): events})


def consume_key(topic_id: int, service_id: int | None, group_id: int) -> FlowKey:
    return (topic_id, FlowStat.ROLE_CONSUME, service_id or 0, group_id, "")


def flows_upsert_selected(select: str) -> str:
    """The upsert of flows_upsert with its rows from `select` (the columns of broker_flowstat in
    _UPSERT_INTO's order), for a statement that works the counts out itself."""
    return _UPSERT_INTO.removesuffix("VALUES ") + select + _UPSERT_CONFLICT


def flow_stats_prune(*, now_ms: int) -> int:
    """Forget flow counts older than seven days."""
    deleted, _ = FlowStat.objects.filter(minute_ms__lt=now_ms - FLOW_RETENTION_MS).delete()
    return deleted
