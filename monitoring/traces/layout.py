"""How the trace page draws a trace: the waterfall's rows and bars on a time axis, the flow graph's
nodes and edges, badges. Geometry only; the facts come from ``selectors``."""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from monitoring.evaluation import Delivery, Outcome
from monitoring.traces import constants as c
from monitoring.traces.selectors import Trace, TraceHop, TraceItem

OUTCOME_BADGES = {
    Outcome.COMPLETED: ("success", "bi-check-circle-fill"),
    Outcome.COMPENSATED: ("info", "bi-arrow-counterclockwise"),
    Outcome.FAILED: ("danger", "bi-x-octagon-fill"),
    Outcome.IN_FLIGHT: ("primary", "bi-arrow-repeat"),
    Outcome.STUCK: ("warning", "bi-hourglass-split"),
    Outcome.UNDEFINED: ("light", "bi-question-circle"),
}
HOP_CHIPS = {
    "consumed": "success",
    "processing": "info",
    "pending": "warning",
    "retrying": "warning",
    "dead-lettered": "danger",
}
_MIN_BAR_PCT = 0.35


def duration(ms: int | None) -> str:
    """850 ms, 1.25 s, 3 min 4 s, 2 h 5 min."""
    if ms is None:
        return "–"
    if ms < 1000:
        return f"{ms} ms"
    if ms < 10_000:
        return f"{ms / 1000:.2f} s"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    seconds = ms // 1000
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def outcome_badge(outcome: Outcome) -> dict[str, str]:
    colour, icon = OUTCOME_BADGES[outcome]
    return {"label": outcome.value, "colour": colour, "icon": icon, "value": outcome.value}


def delivery_label(delivery: Delivery) -> str:
    """ "delivered", or "N pending" (plus retrying and dead-lettered counts when there are any)."""
    parts = [] if delivery.settled else [f"{delivery.pending:,} pending"]
    if delivery.retrying:
        parts.append(f"{delivery.retrying:,} retrying")
    if delivery.dead_lettered:
        parts.append(f"{delivery.dead_lettered:,} dead-lettered")
    return " · ".join(parts) or "delivered"


def hop_chip(hop: TraceHop) -> dict[str, str]:
    if hop.state == "pending":
        ahead = hop.status.events_ahead
        if ahead is None:
            label = "pending"
        elif ahead == 0:
            label = "pending · next to read"
        else:
            label = f"pending · {ahead:,} ahead"
    elif hop.state in ("retrying", "dead-lettered"):
        attempts = hop.status.failed_attempts
        label = f"{hop.state} · {attempts} failed attempt{'s' if attempts != 1 else ''}" if attempts else hop.state
    else:
        label = hop.state
    return {"label": label, "colour": HOP_CHIPS[hop.state]}


@dataclass
class Bar:
    left: float
    width: float
    kind: str
    title: str


@dataclass
class Row:
    kind: str  # "event" or "hop"
    position: str
    depth: int
    label: str
    detail: str
    timing: str
    bars: list[Bar] = field(default_factory=list)
    critical: list[Bar] = field(default_factory=list)
    chip: dict[str, str] | None = None
    failed: bool = False
    on_path: bool = False


def _nice_step(span_ms: int, target_ticks: int = 6) -> int:
    raw = max(1, span_ms // target_ticks)
    magnitude: int = 10 ** (len(str(raw)) - 1)
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= raw:
            return factor * magnitude
    return 10 * magnitude


def _is_failure(item: TraceItem) -> bool:
    return any(fnmatchcase(item.event.type, pattern) for pattern in c.FAILURE_TYPES)


def waterfall(trace: Trace) -> dict[str, Any]:
    """One row per event (publish -> append) and one per consuming group under it (in broker from
    append to first fetch, processing from fetch to commit; pending hops wait to the axis end),
    on an axis from first seen to last activity; critical-path segments overlaid."""
    start = trace.first_seen_ms
    span_ms = max(1, trace.last_activity_ms - start)

    def bar(begin: int, end: int, kind: str, title: str) -> Bar:
        left = max(0.0, min(100.0, (begin - start) * 100 / span_ms))
        width = max(_MIN_BAR_PCT, min(100.0 - left, (end - begin) * 100 / span_ms))
        return Bar(round(left, 3), round(width, 3), kind, title)

    segments: dict[str, list[Bar]] = {}
    for segment in trace.critical_path:
        segments.setdefault(segment.span_id, []).append(
            bar(
                segment.start_ms,
                segment.end_ms,
                "critical",
                f"critical path: {duration(segment.end_ms - segment.start_ms)}",
            )
        )
    on_path = trace.critical_spans
    rows: list[Row] = []
    for item in trace.items:
        event = item.event
        producer = event.producer or "unknown producer"
        rows.append(
            Row(
                kind="event",
                position=item.position,
                depth=item.depth,
                label=event.type,
                detail=f"{producer} → {item.position}",
                timing=f"+{duration(event.append_ms - start)}",
                bars=[
                    bar(
                        item.publish_ms,
                        event.append_ms,
                        "send",
                        f"publish → append {duration(event.append_ms - item.publish_ms)}",
                    )
                ],
                critical=segments.get(item.span_id, []),
                failed=_is_failure(item),
                on_path=item.span_id in on_path,
            )
        )
        for hop in item.hops:
            status = hop.status
            fetch, commit = status.first_fetch_ms, status.commit_ms
            bars = []
            if fetch is not None:
                bars.append(bar(event.append_ms, fetch, "queued", f"in broker {duration(fetch - event.append_ms)}"))
                if status.consumed:
                    end = commit if commit is not None else fetch
                    bars.append(bar(fetch, end, "processing", f"processing {duration(end - fetch)} (fetch → commit)"))
                    timing = f"{duration(fetch - event.append_ms)} + {duration(end - fetch)}"
                else:
                    bars.append(bar(fetch, trace.last_activity_ms, "processing-open", "fetched, not committed yet"))
                    timing = f"{duration(fetch - event.append_ms)} + …"
            elif status.consumed:
                end = commit if commit is not None else event.append_ms
                bars.append(
                    bar(event.append_ms, end, "queued", f"committed past it after {duration(end - event.append_ms)}")
                )
                timing = duration(end - event.append_ms)
            else:
                bars.append(bar(event.append_ms, trace.last_activity_ms, "waiting", "not consumed yet"))
                timing = "waiting"
            rows.append(
                Row(
                    kind="hop",
                    position=item.position,
                    depth=item.depth + 1,
                    label=hop.group,
                    detail=hop.service or "",
                    timing=timing,
                    bars=bars,
                    critical=segments.get(hop.span_id, []),
                    chip=hop_chip(hop),
                    on_path=hop.span_id in on_path,
                )
            )
    step = _nice_step(span_ms)
    ticks = [
        {"left": round(offset * 100 / span_ms, 3), "label": "0" if offset == 0 else f"+{duration(offset)}"}
        for offset in range(0, span_ms + 1, step)
    ]
    return {"rows": rows, "ticks": ticks, "step_pct": round(step * 100 / span_ms, 4), "span": duration(span_ms)}


def flow_graph(trace: Trace) -> dict[str, list[dict[str, Any]]]:
    """Cytoscape elements for this one transaction: producing service -> event (on its topic) ->
    consuming group -> the event that group's service produced next; where no group led to an
    effect, the cause points at it directly (dashed when the link is inferred from time order)."""
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []
    critical = trace.critical_spans
    services: set[str] = set()

    def edge(source: str, target: str, label: str, kind: str) -> None:
        edges.append(
            {"data": {"id": f"{source}->{target}", "source": source, "target": target, "label": label, "kind": kind}}
        )

    for item in trace.items:
        event = item.event
        nodes.append(
            {
                "data": {
                    "id": item.span_id,
                    "label": f"{event.type}\n{item.position}",
                    "kind": "event",
                    "position": item.position,
                    "failed": _is_failure(item),
                    "critical": item.span_id in critical,
                }
            }
        )
        producer = event.producer or "unknown producer"
        if item.parent is None:
            if producer not in services:
                services.add(producer)
                nodes.append({"data": {"id": f"service:{producer}", "label": producer, "kind": "service"}})
            edge(f"service:{producer}", item.span_id, "send", "send")
        elif item.via_group is not None:
            edge(f"{item.parent.span_id}:{item.via_group}", item.span_id, producer, "send")
        elif item.parent_inferred:
            edge(item.parent.span_id, item.span_id, f"{producer} · inferred", "inferred")
        else:
            edge(item.parent.span_id, item.span_id, producer, "caused")
        for hop in item.hops:
            status = hop.status
            nodes.append(
                {
                    "data": {
                        "id": hop.span_id,
                        "label": hop.group,
                        "kind": "group",
                        "state": hop.state,
                        "position": item.position,
                        "critical": hop.span_id in critical,
                    }
                }
            )
            if status.consumed:
                done = status.commit_ms or status.first_fetch_ms or event.append_ms
                label = duration(done - event.append_ms)
            else:
                label = hop_chip(hop)["label"]
            edge(item.span_id, hop.span_id, label, hop.state)
    return {"nodes": nodes, "edges": edges}
