"""One business transaction (the events sharing a correlation id) as a graph and a waterfall.

* ``causal_order``: events with their parents, by causation id, else inferred from time order;
* ``hop_status`` / ``trace_delivery``: per-group consumption by Kafka's rule (with retries and
  dead letters), summed up as the trace's delivery;
* ``trace_outcome``: the business outcome, judged against the catalog's flow definition;
* ``critical_path``: Jaeger UI's critical-path rule on a span tree;
* ``otel_spans`` / ``otlp_export``: the trace as OpenTelemetry spans (messaging conventions), for
  Jaeger, Tempo or any OTLP/JSON reader.

"Time order" is append order: one clock (the broker's) for every event, and an effect is produced
only after its cause was appended and read, so it always appends later.
"""

from __future__ import annotations

import enum
import hashlib
import heapq
import re
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CausalEdge",
    "CriticalSegment",
    "Delivery",
    "Ending",
    "FlowDefinition",
    "HopStatus",
    "Outcome",
    "Span",
    "TraceEvent",
    "TraceOutcome",
    "causal_order",
    "critical_path",
    "end_to_end_ms",
    "hop_status",
    "otel_spans",
    "otlp_export",
    "trace_delivery",
    "trace_outcome",
]


@dataclass(frozen=True)
class TraceEvent:
    """One event of the transaction, where it sits in the log and who made it."""

    event_id: str
    topic: str
    partition: int
    offset: int
    type: str
    producer: str | None
    correlation_id: str | None
    causation_id: str | None
    event_time_ms: int
    append_ms: int


@dataclass(frozen=True)
class HopStatus:
    """One consuming group's progress on one event. Build it with ``hop_status`` to apply Kafka's rule.

    A member that fails on an event nacks it and still commits past it, so ``consumed`` alone does
    not say the group is done: ``retrying`` means a retry is still due, ``dead_lettered`` that the
    group gave up and the event went to its dead-letter topic; ``failed_attempts`` counts the
    failed deliveries so far."""

    group: str
    consumed: bool
    committed_offset: int | None
    events_ahead: int | None
    first_fetch_ms: int | None
    commit_ms: int | None
    failed_attempts: int = 0
    retrying: bool = False
    dead_lettered: bool = False
    # first_fetch_ms is estimated from the group's commits (it has no fetch log: a native client);
    # see monitoring.evaluation.latency.estimated_fetch_ms.
    fetch_estimated: bool = False

    @property
    def delivered(self) -> bool:
        """The group read the event and is done with it (no retry due, not dead-lettered)."""
        return self.consumed and not self.retrying and not self.dead_lettered


def hop_status(
    *,
    group: str,
    event_offset: int,
    committed_offset: int | None,
    first_fetch_ms: int | None = None,
    commit_ms: int | None = None,
    failed_attempts: int = 0,
    retrying: bool = False,
    dead_lettered: bool = False,
    fetch_estimated: bool = False,
) -> HopStatus:
    """Kafka's rule: the group consumed the event iff its committed offset (next to read) is past the
    event's offset. Otherwise the hop is pending and ``events_ahead`` is how many records the group
    must still get through before this one (``None`` when the group never committed). Retries and
    dead letters are the broker's own records, passed through."""
    consumed = committed_offset is not None and committed_offset > event_offset
    events_ahead = None if consumed or committed_offset is None else event_offset - committed_offset
    return HopStatus(
        group,
        consumed,
        committed_offset,
        events_ahead,
        first_fetch_ms,
        commit_ms,
        failed_attempts,
        retrying and not dead_lettered,
        dead_lettered,
        fetch_estimated and first_fetch_ms is not None,
    )


def _time_order_key(event: TraceEvent) -> tuple[int, str, int, int, str]:
    return (event.append_ms, event.topic, event.partition, event.offset, event.event_id)


class CausalEdge(tuple[TraceEvent, TraceEvent | None]):
    """``(event, parent)``, unpackable as a pair, plus ``inferred``: True when the parent was guessed
    from time order because the causation id was missing or named an event outside the trace."""

    inferred: bool

    def __new__(cls, event: TraceEvent, parent: TraceEvent | None, *, inferred: bool) -> CausalEdge:
        edge = super().__new__(cls, (event, parent))
        edge.inferred = inferred
        return edge

    @property
    def event(self) -> TraceEvent:
        return self[0]

    @property
    def parent(self) -> TraceEvent | None:
        return self[1]

    def __repr__(self) -> str:
        parent_id = None if self.parent is None else self.parent.event_id
        return f"CausalEdge({self.event.event_id!r} <- {parent_id!r}, inferred={self.inferred})"


class _Forest:
    """Union-find over event indexes, so that accepting a parent never closes a cycle."""

    def __init__(self, size: int) -> None:
        self._root = list(range(size))

    def find(self, index: int) -> int:
        while self._root[index] != index:
            self._root[index] = self._root[self._root[index]]
            index = self._root[index]
        return index

    def join(self, child: int, parent: int) -> bool:
        child_root, parent_root = self.find(child), self.find(parent)
        if child_root == parent_root:
            return False
        self._root[child_root] = parent_root
        return True


def causal_order(events: Sequence[TraceEvent]) -> list[CausalEdge]:
    """Every event with its parent, parents before children, otherwise in time order.

    The parent is the event named by the causation id when that event is in the trace; otherwise
    (no causation id, or a cause outside the trace) it is inferred: the latest earlier event, marked
    ``inferred``. Exactly one event, normally the first, is the root (parent ``None``). Bad data
    cannot make a cycle: a causation id that would close one is treated as missing, preferring to
    drop one that names a cause appended after its effect.
    """
    ordered = sorted(events, key=_time_order_key)
    index_of: dict[str, int] = {}
    for index, event in enumerate(ordered):
        index_of.setdefault(event.event_id, index)
    forest = _Forest(len(ordered))
    parent_of: list[int | None] = [None] * len(ordered)
    declared: list[bool] = [False] * len(ordered)
    claims = [
        (index, cause)
        for index, event in enumerate(ordered)
        if event.causation_id is not None and (cause := index_of.get(event.causation_id)) is not None and cause != index
    ]
    # Claims that point back in time go first, so a cycle is broken at a claim that contradicts the
    # append order (a cause appended after its effect), not at a plausible one.
    for index, cause in sorted(claims, key=lambda claim: (claim[1] > claim[0], claim[0])):
        if forest.join(index, cause):
            parent_of[index], declared[index] = cause, True
    for index in range(len(ordered)):
        if declared[index]:
            continue
        # Latest earlier event that is not already a descendant of this one.
        candidate = next(
            (earlier for earlier in range(index - 1, -1, -1) if forest.find(earlier) != forest.find(index)), None
        )
        if candidate is not None:
            forest.join(index, candidate)
            parent_of[index] = candidate

    children: dict[int, list[int]] = defaultdict(list)
    for index, parent in enumerate(parent_of):
        if parent is not None:
            children[parent].append(index)
    ready = [index for index, parent in enumerate(parent_of) if parent is None]
    heapq.heapify(ready)
    result: list[CausalEdge] = []
    while ready:
        index = heapq.heappop(ready)
        parent = parent_of[index]
        result.append(
            CausalEdge(
                ordered[index],
                None if parent is None else ordered[parent],
                inferred=parent is not None and not declared[index],
            )
        )
        for child in children[index]:
            heapq.heappush(ready, child)
    return result


class Ending(enum.StrEnum):
    """How a terminal event of a business flow ends it."""

    COMPLETED = "completed"
    COMPENSATED = "compensated"
    FAILED = "failed"


class Outcome(enum.StrEnum):
    """The business outcome of a trace: what happened to the transaction, not to its deliveries."""

    COMPLETED = "completed"
    COMPENSATED = "compensated"
    FAILED = "failed"
    IN_FLIGHT = "in flight"
    STUCK = "stuck"
    UNDEFINED = "no outcome defined"


# A trace holding terminal events of several kinds reports the worst one.
_ENDING_RANK = {Ending.FAILED: 0, Ending.COMPENSATED: 1, Ending.COMPLETED: 2}
_OUTCOME_OF_ENDING = {
    Ending.COMPLETED: Outcome.COMPLETED,
    Ending.COMPENSATED: Outcome.COMPENSATED,
    Ending.FAILED: Outcome.FAILED,
}


@dataclass(frozen=True)
class FlowDefinition:
    """A business flow as the catalog defines it: the event type that starts one, the event types
    that end it (each with its ending), and how long without a new event makes it stuck."""

    name: str
    start_type: str
    endings: Mapping[str, Ending]
    stuck_after_ms: int


@dataclass(frozen=True)
class TraceOutcome:
    """The outcome, the flow it was judged by (``None``: no flow starts with the trace's first
    event type), the terminal event that decided it, if any, and why, in words."""

    outcome: Outcome
    flow: str | None
    ended_by: str | None
    reason: str


def trace_outcome(
    events: Sequence[TraceEvent],
    flows: Iterable[FlowDefinition],
    *,
    now_ms: int,
    dead_lettered: bool = False,
) -> TraceOutcome:
    """The business outcome of the transaction, by the flow whose start type is the type of its
    first event (time order):

    * completed / compensated / failed: a terminal event of that ending is in the trace (the worst
      wins when there are several);
    * failed: no terminal event, and ``dead_lettered`` (a group gave up on one of its events, so
      the flow cannot go on by itself);
    * stuck: no terminal event and no new event for longer than the flow's threshold;
    * in flight: otherwise;
    * no outcome defined: no flow starts with the first event's type (nothing is guessed).

    Delivery (who has still to read what) is not part of the outcome: see ``trace_delivery``. An
    empty trace is an error: there is no transaction to judge.
    """
    if not events:
        raise ValueError("a trace needs at least one event")
    ordered = sorted(events, key=_time_order_key)
    first = ordered[0]
    flow = next((flow for flow in flows if flow.start_type == first.type), None)
    if flow is None:
        return TraceOutcome(Outcome.UNDEFINED, None, None, f"no business flow starts with {first.type}")
    terminal = [(flow.endings[event.type], event) for event in ordered if event.type in flow.endings]
    if terminal:
        ending, event = min(terminal, key=lambda pair: _ENDING_RANK[pair[0]])
        return TraceOutcome(_OUTCOME_OF_ENDING[ending], flow.name, event.event_id, f"{event.type} ends it {ending}")
    if dead_lettered:
        return TraceOutcome(Outcome.FAILED, flow.name, None, "an event was dead-lettered before the flow ended")
    idle_ms = now_ms - ordered[-1].append_ms
    if idle_ms > flow.stuck_after_ms:
        return TraceOutcome(
            Outcome.STUCK,
            flow.name,
            None,
            f"no new event for {idle_ms // 1000} s (threshold {flow.stuck_after_ms // 1000} s)",
        )
    return TraceOutcome(Outcome.IN_FLIGHT, flow.name, None, "no terminal event yet")


@dataclass(frozen=True)
class Delivery:
    """How far the trace's events got to the groups that read them: every hop, those still to be
    read (or waiting for a retry), those being retried, and those dead-lettered."""

    hops: int
    pending: int
    retrying: int
    dead_lettered: int
    pending_groups: tuple[str, ...]

    @property
    def settled(self) -> bool:
        return self.pending == 0


def trace_delivery(hops: Mapping[str, Sequence[HopStatus]]) -> Delivery:
    """Sum up the hops (event id -> per-group statuses): a hop is pending until the group
    committed past it with no retry due; a dead-lettered hop is not pending but failed."""
    statuses = [hop for per_event in hops.values() for hop in per_event]
    pending = [hop for hop in statuses if not hop.dead_lettered and not hop.delivered]
    return Delivery(
        hops=len(statuses),
        pending=len(pending),
        retrying=sum(1 for hop in statuses if hop.retrying),
        dead_lettered=sum(1 for hop in statuses if hop.dead_lettered),
        pending_groups=tuple(sorted({hop.group for hop in pending})),
    )


def end_to_end_ms(events: Sequence[TraceEvent], last_commit_ms: int | None) -> int | None:
    """From the earliest event time in the trace to the last commit covering any of its events;
    ``None`` with no events or no commit yet."""
    if not events or last_commit_ms is None:
        return None
    return last_commit_ms - min(event.event_time_ms for event in events)


@dataclass(frozen=True)
class Span:
    """A node of a waterfall: ``parent_id`` is a child-of reference (links are not spans' parents)."""

    span_id: str
    parent_id: str | None
    start_ms: int
    end_ms: int
    label: str


@dataclass(frozen=True)
class CriticalSegment:
    """Part of the critical path: the time ``[start_ms, end_ms)`` that ``span_id`` itself held it."""

    span_id: str
    start_ms: int
    end_ms: int


def _clip_into(child: tuple[int, int], parent: tuple[int, int]) -> tuple[int, int] | None:
    """Jaeger's ``sanitizeOverFlowingChildren``: trim a child to its parent, or drop it (``None``)
    when it lies wholly outside."""
    (child_start, child_end), (parent_start, parent_end) = child, parent
    if child_start >= parent_end or child_end <= parent_start:
        return None
    return max(child_start, parent_start), min(child_end, parent_end)


def critical_path(spans: Sequence[Span]) -> list[CriticalSegment]:
    """Jaeger UI's critical path, as segments in time order.

    From the root, take the child that finishes last; the parent owns the gap from that child's end
    to the current point; recurse into the child; when a span has no child ending before the
    current point, it owns the time back to its own start and control returns to its parent at that
    start. Children are first clipped to their parent (dropped, with their subtree, when wholly
    outside). The root is the earliest-starting span without a parent in the set; other orphans are
    not on the path (Jaeger drops them too). Segments tile the root span.
    """
    by_id: dict[str, Span] = {}
    for span in spans:
        by_id.setdefault(span.span_id, span)
    roots = [span for span in by_id.values() if span.parent_id is None or span.parent_id not in by_id]
    if not roots:
        return []
    root = min(roots, key=lambda span: (span.start_ms, -span.end_ms, span.span_id))
    children_of: dict[str, list[Span]] = defaultdict(list)
    for span in by_id.values():
        if span is not root and span.parent_id is not None and span.parent_id in by_id:
            children_of[span.parent_id].append(span)

    # Clip parents before children so each child is trimmed to its parent's trimmed extent.
    extent: dict[str, tuple[int, int]] = {root.span_id: (root.start_ms, max(root.start_ms, root.end_ms))}
    parent_of: dict[str, str] = {}
    kept_children: dict[str, list[str]] = defaultdict(list)
    pending = [root.span_id]
    while pending:
        span_id = pending.pop()
        for child in children_of[span_id]:
            # A span ending before it starts (clock trouble) is read as zero-length, not inverted.
            clipped = _clip_into((child.start_ms, max(child.start_ms, child.end_ms)), extent[span_id])
            if clipped is None or child.span_id in extent:
                continue
            extent[child.span_id] = clipped
            parent_of[child.span_id] = span_id
            kept_children[span_id].append(child.span_id)
            pending.append(child.span_id)

    # Last-finishing first; ties go to the earlier start (Jaeger's stable sort of start-ordered spans).
    by_finish: dict[str, list[str]] = {
        span_id: sorted(kids, key=lambda kid: (-extent[kid][1], extent[kid][0], kid))
        for span_id, kids in kept_children.items()
    }
    negated_ends = {span_id: [-extent[kid][1] for kid in kids] for span_id, kids in by_finish.items()}

    path: list[CriticalSegment] = []
    current, returning_from_ms = root.span_id, None
    while True:
        kids = by_finish.get(current, [])
        start_ms, end_ms = extent[current]
        point_ms = end_ms if returning_from_ms is None else returning_from_ms
        if returning_from_ms is None:
            chosen = kids[0] if kids else None
        else:
            # The last-finishing child that ends strictly before the child we came back from began.
            position = bisect_right(negated_ends[current], -returning_from_ms) if kids else 0
            chosen = kids[position] if position < len(kids) else None
        if chosen is not None:
            chosen_end = extent[chosen][1]
            if chosen_end != point_ms:
                path.append(CriticalSegment(current, chosen_end, point_ms))
            current, returning_from_ms = chosen, None
            continue
        if start_ms != point_ms:
            path.append(CriticalSegment(current, start_ms, point_ms))
        if current not in parent_of:
            break
        current, returning_from_ms = parent_of[current], start_ms
    path.reverse()
    return path


# OpenTelemetry: SpanKind values in OTLP, and the messaging attribute names (semconv 1.27+).
_SPAN_KIND_PRODUCER = 4
_SPAN_KIND_CONSUMER = 5
_NANOS_PER_MS = 1_000_000
_HEX_TRACE_ID = re.compile(r"[0-9a-f]{32}")


def _hex_id(hex_chars: int, *parts: str) -> str:
    """A stable, non-zero id of ``hex_chars`` lowercase hex digits derived from ``parts``."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:hex_chars]
    return digest if digest.strip("0") else digest[:-1] + "1"


def _trace_hex_id(trace_id: str) -> str:
    lowered = trace_id.lower()
    if _HEX_TRACE_ID.fullmatch(lowered) and lowered.strip("0"):
        return lowered
    return _hex_id(32, "trace", trace_id)


def _send_span_id(event: TraceEvent) -> str:
    return _hex_id(16, "send", event.event_id)


def _process_span_id(event: TraceEvent, group: str) -> str:
    return _hex_id(16, "process", event.event_id, group)


def _attribute(key: str, value: str | int | bool) -> dict[str, Any]:
    # OTLP/JSON follows the protobuf JSON mapping: 64-bit integers travel as strings.
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": value}}


def _message_attributes(event: TraceEvent) -> list[dict[str, Any]]:
    attributes = [
        _attribute("messaging.system", "eventline"),
        _attribute("messaging.destination.name", event.topic),
        _attribute("messaging.destination.partition.id", str(event.partition)),
        _attribute("messaging.kafka.offset", event.offset),
        _attribute("messaging.message.id", event.event_id),
        _attribute("eventline.event.type", event.type),
    ]
    if event.correlation_id is not None:
        attributes.append(_attribute("messaging.message.conversation_id", event.correlation_id))
    return attributes


def _nanos(ms: int) -> str:
    return str(ms * _NANOS_PER_MS)


def _send_parent_span_id(edge: CausalEdge, hops: Mapping[str, Sequence[HopStatus]]) -> str | None:
    """Where a send span hangs: under the processing of its declared cause by the group named like
    the producer (the service reacted to the cause), else under the cause's send span. An inferred
    cause is only a guess, so it becomes a link, never a parent."""
    event, cause = edge
    if cause is None or edge.inferred:
        return None
    for hop in hops.get(cause.event_id, ()):
        if hop.group == event.producer and hop.first_fetch_ms is not None:
            return _process_span_id(cause, hop.group)
    return _send_span_id(cause)


def otel_spans(
    events: Sequence[TraceEvent], hops: Mapping[str, Sequence[HopStatus]], *, trace_id: str
) -> list[dict[str, Any]]:
    """The trace as OTLP/JSON span objects, following the OpenTelemetry messaging conventions.

    Per event a PRODUCER span ``send <topic>`` from the event time to the append; per consuming
    group that fetched it a CONSUMER span ``process <topic>`` from the first fetch to the commit (to
    the first fetch while uncommitted), parented to and linked with the send span. Ids are stable
    lowercase hex: ``trace_id`` as given when it is already a W3C trace id, else derived from it;
    span ids derived from event id (+ group). Times are unix nanoseconds as strings.
    """
    hex_trace_id = _trace_hex_id(trace_id)
    spans: list[dict[str, Any]] = []
    for edge in causal_order(events):
        event, cause = edge
        send_id = _send_span_id(event)
        send: dict[str, Any] = {
            "traceId": hex_trace_id,
            "spanId": send_id,
            "name": f"send {event.topic}",
            "kind": _SPAN_KIND_PRODUCER,
            "startTimeUnixNano": _nanos(min(event.event_time_ms, event.append_ms)),
            "endTimeUnixNano": _nanos(event.append_ms),
            "attributes": [
                *_message_attributes(event),
                _attribute("messaging.operation.type", "send"),
                _attribute("messaging.operation.name", "send"),
                *([_attribute("messaging.client.id", event.producer)] if event.producer is not None else []),
            ],
        }
        parent_span_id = _send_parent_span_id(edge, hops)
        if parent_span_id is not None:
            send["parentSpanId"] = parent_span_id
        if cause is not None and edge.inferred:
            send["links"] = [
                {
                    "traceId": hex_trace_id,
                    "spanId": _send_span_id(cause),
                    "attributes": [_attribute("eventline.link.type", "inferred cause")],
                }
            ]
        spans.append(send)
        for hop in hops.get(event.event_id, ()):
            if hop.first_fetch_ms is None:
                continue
            end_ms = hop.commit_ms if hop.consumed and hop.commit_ms is not None else hop.first_fetch_ms
            spans.append(
                {
                    "traceId": hex_trace_id,
                    "spanId": _process_span_id(event, hop.group),
                    "parentSpanId": send_id,
                    "name": f"process {event.topic}",
                    "kind": _SPAN_KIND_CONSUMER,
                    "startTimeUnixNano": _nanos(hop.first_fetch_ms),
                    "endTimeUnixNano": _nanos(max(end_ms, hop.first_fetch_ms)),
                    "attributes": [
                        *_message_attributes(event),
                        _attribute("messaging.operation.type", "process"),
                        _attribute("messaging.operation.name", "process"),
                        _attribute("messaging.consumer.group.name", hop.group),
                        _attribute("eventline.consumed", hop.consumed),
                    ],
                    "links": [{"traceId": hex_trace_id, "spanId": send_id, "attributes": []}],
                }
            )
    return spans


def otlp_export(spans: Sequence[Mapping[str, Any]], *, service_name: str = "eventline") -> dict[str, Any]:
    """Wrap ``otel_spans`` output in the OTLP/JSON envelope that Jaeger and Tempo import."""
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [_attribute("service.name", service_name)]},
                "scopeSpans": [{"scope": {"name": "eventline.monitoring"}, "spans": [dict(span) for span in spans]}],
            }
        ]
    }
