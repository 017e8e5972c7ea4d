"""A trace as JSON: the facts the API returns and the trace page hands its script."""

from __future__ import annotations

from typing import Any

from core.timeutil import ms_to_iso
from monitoring.evaluation import Delivery, TraceOutcome
from monitoring.traces.selectors import Trace, TraceHop, TraceItem, TraceSummary

# Attributes shown apart from the rest of the stored event.
_NOT_ATTRIBUTES = {"headers", "data", "data_base64"}


def _difference(later: int | None, earlier: int | None) -> int | None:
    return None if later is None or earlier is None else later - earlier


def hop_document(item: TraceItem, hop: TraceHop, critical: set[str]) -> dict[str, Any]:
    status = hop.status
    return {
        "group": hop.group,
        "service": hop.service,
        "state": hop.state,
        "consumed": status.consumed,
        "failed_attempts": status.failed_attempts,
        "retrying": status.retrying,
        "dead_lettered": status.dead_lettered,
        "committed_offset": status.committed_offset,
        "events_ahead": status.events_ahead,
        "first_fetch_ms": status.first_fetch_ms,
        "fetch_estimated": status.fetch_estimated,
        "commit_ms": status.commit_ms,
        "time_in_broker_ms": _difference(status.first_fetch_ms, item.event.append_ms),
        "processing_ms": _difference(status.commit_ms, status.first_fetch_ms),
        "span_id": hop.span_id,
        "on_critical_path": hop.span_id in critical,
    }


def event_document(item: TraceItem, critical: set[str]) -> dict[str, Any]:
    event = item.event
    document: dict[str, Any] = {
        "position": item.position,
        "event_id": event.event_id,
        "type": event.type,
        "source": item.source,
        "topic": event.topic,
        "partition": event.partition,
        "offset": event.offset,
        "key": item.key,
        "producer": event.producer,
        "correlation_id": event.correlation_id,
        "causation_id": event.causation_id,
        "trace_id": item.trace_id,
        "parent": None if item.parent is None else item.parent.position,
        "parent_inferred": item.parent_inferred,
        "via_group": item.via_group,
        "depth": item.depth,
        "event_time_ms": event.event_time_ms,
        "append_time_ms": event.append_ms,
        "schema_id": item.schema_id,
        "span_id": item.span_id,
        "on_critical_path": item.span_id in critical,
        "hops": [hop_document(item, hop, critical) for hop in item.hops],
    }
    if item.document is not None:
        stored = item.document
        document["traceparent"] = stored.get("traceparent")
        document["schema"] = item.schema_versions[0] if item.schema_versions else None
        document["attributes"] = {name: value for name, value in stored.items() if name not in _NOT_ATTRIBUTES}
        document["headers"] = stored.get("headers", [])
        if "data" in stored:
            document["data"] = stored["data"]
        if "data_base64" in stored:
            document["data_base64"] = stored["data_base64"]
    return document


def outcome_document(outcome: TraceOutcome) -> dict[str, Any]:
    return {
        "outcome": outcome.outcome.value,
        "flow": outcome.flow,
        "ended_by": outcome.ended_by,
        "reason": outcome.reason,
    }


def delivery_document(delivery: Delivery) -> dict[str, Any]:
    return {
        "hops": delivery.hops,
        "pending": delivery.pending,
        "retrying": delivery.retrying,
        "dead_lettered": delivery.dead_lettered,
        "pending_groups": list(delivery.pending_groups),
    }


def trace_document(trace: Trace) -> dict[str, Any]:
    critical = trace.critical_spans
    return {
        "query": trace.query,
        "matched_by": trace.matched_by,
        "correlation_ids": trace.correlation_ids,
        "trace_ids": trace.trace_ids,
        "outcome": trace.outcome.outcome.value,
        "flow": outcome_document(trace.outcome),
        "delivery": delivery_document(trace.delivery),
        "incomplete": trace.incomplete,
        "incomplete_reasons": trace.incomplete_reasons,
        "hidden_events": trace.hidden_events,
        "first_seen": ms_to_iso(trace.first_seen_ms),
        "first_seen_ms": trace.first_seen_ms,
        "last_activity": ms_to_iso(trace.last_activity_ms),
        "last_activity_ms": trace.last_activity_ms,
        "end_to_end_ms": trace.end_to_end_ms,
        "services": trace.services,
        "topics": trace.topics,
        "groups": trace.groups,
        "event_count": len(trace.items),
        "hop_count": trace.hop_count,
        "pending_hops": trace.pending_hops,
        "events": [event_document(item, critical) for item in trace.items],
        "critical_path": [
            {"span_id": segment.span_id, "start_ms": segment.start_ms, "end_ms": segment.end_ms}
            for segment in trace.critical_path
        ],
    }


def summary_document(summary: TraceSummary) -> dict[str, Any]:
    return {
        "correlation_id": summary.correlation_id,
        "outcome": summary.outcome.outcome.value,
        "flow": outcome_document(summary.outcome),
        "delivery": delivery_document(summary.delivery),
        "first_seen": ms_to_iso(summary.first_seen_ms),
        "last_activity": ms_to_iso(summary.last_activity_ms),
        "end_to_end_ms": summary.end_to_end_ms,
        "event_count": summary.event_count,
        "root_type": summary.root_type,
        "services": summary.services,
        "topics": summary.topics,
        "incomplete": summary.incomplete,
    }
