"""Correlation-ID traces: every event of one business transaction, found through the indexes the
append path keeps (correlation id, event id, W3C trace id, position), never by scanning a topic.

From the events the query finds, causation links are followed both ways (children name a cause,
parents are named as one) and every other correlation id reached is pulled in, until nothing new
turns up or a bound is hit (then the trace says it is incomplete). Each consuming group's progress
on each event comes from Kafka's rule on its committed offset; when it first fetched the event and
when it committed past it come from the broker's fetch and commit log, one indexed lookup per hop
(batched into one statement); retries still due and dead letters come from the broker's retry
tables. The business outcome is judged by the catalog's business flow whose start type is the
trace's first event type. The maths (causal order, delivery, outcome, critical path, OTel spans)
is the pure package ``monitoring.evaluation``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from broker.business_keys import business_key_find, key_names, positions_filter
from broker.choices import ActivityKind
from broker.constants import SUBJECT_STRATEGY_TOPIC_RECORD
from broker.envelope import parse_traceparent
from broker.flows import minute_of
from broker.masking import hidden_fields, mask_document
from broker.models import DeadLetter, Event, FlowStat, GroupMember, GroupPartition, PendingRetry, Topic
from broker.selectors import STORED_EVENT_COLUMNS, event_documents, scalar_lookups
from catalog.models import BusinessFlow
from catalog.selectors import group_services
from core.auth import Principal
from core.errors import NotFound
from core.models import Service
from core.timeutil import now_ms as clock_now_ms
from monitoring.evaluation import (
    CriticalSegment,
    Delivery,
    Ending,
    FlowDefinition,
    HopStatus,
    Outcome,
    Span,
    TraceEvent,
    TraceOutcome,
    causal_order,
    critical_path,
    end_to_end_ms,
    estimated_fetch_ms,
    hop_status,
    otel_spans,
    otlp_export,
    trace_delivery,
    trace_outcome,
)
from monitoring.traces import constants as c

_COLUMNS = (
    "id",
    "topic_id",
    "partition",
    "offset",
    "event_id",
    "source",
    "type",
    "key",
    "correlation_id",
    "causation_id",
    "trace_id",
    "producer_id",
    "schema_id",
    "timestamp_ms",
    "append_time_ms",
)
# Many databases cap the number of bound parameters per statement (SQLite: 32,766; old builds 999).
_IN_CHUNK = 500


# -- what a trace is made of -------------------------------------------------------------------


@dataclass(frozen=True)
class TraceHop:
    """One consuming group's progress on one event (Kafka's rule, in ``status``), with the service
    behind the group and what the fetch and commit log says about timing."""

    status: HopStatus
    service: str | None
    span_id: str

    @property
    def group(self) -> str:
        return self.status.group

    @property
    def consumed(self) -> bool:
        return self.status.consumed

    @property
    def state(self) -> str:
        """dead-lettered (the group gave up on it), retrying (nacked, a retry is due), consumed
        (committed past it), processing (fetched, not committed yet) or pending."""
        if self.status.dead_lettered:
            return "dead-lettered"
        if self.status.retrying:
            return "retrying"
        if self.status.consumed:
            return "consumed"
        return "processing" if self.status.first_fetch_ms is not None else "pending"


@dataclass
class TraceItem:
    """One event of the trace, where it sits in the causal tree, and its hops."""

    pk: int
    event: TraceEvent
    source: str
    key: str | None
    trace_id: str | None
    schema_id: int | None
    parent: TraceItem | None = None
    parent_inferred: bool = False
    # The consuming group (of the producing service) whose processing of the parent led here.
    via_group: str | None = None
    depth: int = 0
    hops: list[TraceHop] = field(default_factory=list)
    # Filled for the page and the API (not for list summaries): the stored event, personal data
    # masked, and the registry subject/version of its schema.
    document: dict[str, Any] | None = None
    schema_versions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def position(self) -> str:
        return f"{self.event.topic}/{self.event.partition}/{self.event.offset}"

    @property
    def span_id(self) -> str:
        return f"e{self.pk}"

    @property
    def publish_ms(self) -> int:
        return min(self.event.event_time_ms, self.event.append_ms)


@dataclass
class Trace:
    """Everything the trace page and API say about one transaction."""

    query: str
    matched_by: str
    items: list[TraceItem]  # depth first along causation, siblings in append order
    outcome: TraceOutcome
    delivery: Delivery
    now_ms: int
    first_seen_ms: int
    last_activity_ms: int
    end_to_end_ms: int | None
    correlation_ids: list[str]
    trace_ids: list[str]
    services: list[str]
    topics: list[str]
    groups: list[str]
    spans: list[Span]  # finished ones: send (publish -> append) and consumed hops (append -> commit)
    critical_path: list[CriticalSegment]
    incomplete_reasons: list[str] = field(default_factory=list)
    hidden_events: int = 0

    @property
    def critical_spans(self) -> set[str]:
        """Spans the critical path runs through: those holding a segment of it and their
        ancestors (a send span that takes no time still carries the path to its hops)."""
        parents = {span.span_id: span.parent_id for span in self.spans}
        on_path: set[str] = set()
        for segment in self.critical_path:
            span_id: str | None = segment.span_id
            while span_id is not None and span_id not in on_path:
                on_path.add(span_id)
                span_id = parents.get(span_id)
        return on_path

    @property
    def incomplete(self) -> bool:
        return bool(self.incomplete_reasons)

    @property
    def hop_count(self) -> int:
        return sum(len(item.hops) for item in self.items)

    @property
    def pending_hops(self) -> int:
        return self.delivery.pending

    @property
    def otel_trace_id(self) -> str:
        """The W3C trace id every event shares, else the correlation id (OTel derives a hex id)."""
        if len(self.trace_ids) == 1:
            return self.trace_ids[0]
        return self.correlation_ids[0] if self.correlation_ids else self.items[0].event.event_id

    @property
    def title(self) -> str:
        return self.correlation_ids[0] if self.correlation_ids else self.items[0].event.event_id


@dataclass(frozen=True)
class TraceSummary:
    """A line of the recent and slowest lists."""

    correlation_id: str
    outcome: TraceOutcome
    delivery: Delivery
    first_seen_ms: int
    last_activity_ms: int
    end_to_end_ms: int | None
    event_count: int
    root_type: str
    services: list[str]
    topics: list[str]
    incomplete: bool


# -- finding the events ------------------------------------------------------------------------


def _rows(**lookup: Any) -> list[dict[str, Any]]:
    return list(Event.objects.filter(**lookup).values(*_COLUMNS)[: c.MAX_TRACE_EVENTS + 1])


def _rows_in(column: str, values: Iterable[str]) -> list[dict[str, Any]]:
    wanted = sorted(set(values))
    found: list[dict[str, Any]] = []
    for start in range(0, len(wanted), _IN_CHUNK):
        chunk = wanted[start : start + _IN_CHUNK]
        found.extend(Event.objects.filter(**{f"{column}__in": chunk}).values(*_COLUMNS)[: c.MAX_TRACE_EVENTS + 1])
    return found


def _documents(pks: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The events, read only for the events a trace keeps and shows (from Kafka, for what the
    indexer indexed: broker.selectors.event_documents)."""
    rows: list[dict[str, Any]] = []
    for start in range(0, len(pks), _IN_CHUNK):
        rows.extend(Event.objects.filter(id__in=pks[start : start + _IN_CHUNK]).values("id", *STORED_EVENT_COLUMNS))
    return {row["id"]: document for row, document in zip(rows, event_documents(rows), strict=True)}


def trace_resolve(query: str) -> tuple[str, list[dict[str, Any]]]:
    """What the search box was given and the events it names directly: a correlation id, else an
    event id, else a W3C trace id (or a whole traceparent), else ``topic/partition/offset``, else
    a business key (``order_id=42``, or ``42`` when only one key has that value). Each is one
    lookup on an index (the append path's, or the business-key index); ``NotFound`` when none
    matches, or when a bare value is ambiguous (its details name the candidates)."""
    query = query.strip()
    if query:
        rows = _rows(correlation_id=query)
        if rows:
            return c.MATCHED_BY_CORRELATION, rows
        rows = _rows(event_id=query)
        if rows:
            return c.MATCHED_BY_EVENT, rows
        trace_id = query.lower() if c.W3C_TRACE_ID.match(query) else parse_traceparent(query)
        if trace_id:
            rows = _rows(trace_id=trace_id)
            if rows:
                return c.MATCHED_BY_TRACE, rows
        position = c.POSITION.match(query)
        if position:
            topic_id = Topic.objects.filter(name=position["topic"]).values_list("id", flat=True).first()
            if topic_id is not None:
                rows = _rows(topic_id=topic_id, partition=int(position["partition"]), offset=int(position["offset"]))
                if rows:
                    return c.MATCHED_BY_POSITION, rows
        matches = business_key_find(query)
        names = key_names(matches)
        if len(names) > 1:
            raise NotFound(
                f"'{query}' is the value of more than one business key; search one of: {', '.join(names)}.",
                code="ambiguous_business_key",
                details={"query": query, "candidates": names},
            )
        if matches:
            rows = list(Event.objects.filter(positions_filter(matches)).values(*_COLUMNS)[: c.MAX_TRACE_EVENTS + 1])
            if rows:
                return c.MATCHED_BY_BUSINESS_KEY, rows
    raise _not_found(query)


def _expand(seeds: list[dict[str, Any]], *, matched_by: str) -> tuple[dict[int, dict[str, Any]], list[str]]:
    """Follow causation links both ways, and correlation ids, until closure or a bound."""
    reasons: list[str] = []
    if len(seeds) > c.MAX_TRACE_EVENTS:
        reasons.append(f"more than {c.MAX_TRACE_EVENTS:,} events match; the first {c.MAX_TRACE_EVENTS:,} are shown")
        seeds = seeds[: c.MAX_TRACE_EVENTS]
    rows: dict[int, dict[str, Any]] = {}
    known_ids: set[str] = set()
    seen_correlations: set[str] = set()
    if matched_by == c.MATCHED_BY_CORRELATION:
        seen_correlations = {row["correlation_id"] for row in seeds}
    frontier = seeds
    for row in seeds:
        rows[row["id"]] = row
        known_ids.add(row["event_id"])
    rounds = 0
    while frontier and not reasons:
        if rounds == c.MAX_EXPANSION_ROUNDS:
            reasons.append(f"causation links go deeper than {c.MAX_EXPANSION_ROUNDS} steps from the events found")
            break
        rounds += 1
        new_ids = {row["event_id"] for row in frontier}
        causes = {row["causation_id"] for row in frontier if row["causation_id"]} - known_ids
        correlations = {row["correlation_id"] for row in frontier if row["correlation_id"]} - seen_correlations
        seen_correlations |= correlations
        found = _rows_in("causation_id", new_ids)
        found += _rows_in("event_id", causes)
        found += _rows_in("correlation_id", correlations)
        frontier = []
        for row in found:
            if row["id"] in rows:
                continue
            if len(rows) >= c.MAX_TRACE_EVENTS:
                reasons.append(f"the transaction has more than {c.MAX_TRACE_EVENTS:,} events; the rest are left out")
                break
            rows[row["id"]] = row
            known_ids.add(row["event_id"])
            frontier.append(row)
    return rows, reasons


# -- hops: Kafka's rule and the fetch and commit log -------------------------------------------

_FETCH_LOOKUP = (
    "(SELECT at_ms FROM broker_groupactivity WHERE group_id = %s AND topic_id = %s AND partition = %s "
    f"AND at_ms >= %s AND kind = {int(ActivityKind.FETCH)} AND start_offset <= %s AND end_offset > %s "
    "ORDER BY at_ms LIMIT 1)"
)
_COMMIT_LOOKUP = (
    "(SELECT at_ms FROM broker_groupactivity WHERE group_id = %s AND topic_id = %s AND partition = %s "
    f"AND at_ms >= %s AND kind = {int(ActivityKind.COMMIT)} AND start_offset > %s "
    "ORDER BY at_ms LIMIT 1)"
)
_PREVIOUS_COMMIT_LOOKUP = (
    "(SELECT at_ms FROM broker_groupactivity WHERE group_id = %s AND topic_id = %s AND partition = %s "
    f"AND at_ms < %s AND kind = {int(ActivityKind.COMMIT)} ORDER BY at_ms DESC LIMIT 1)"
)


def _group_services(group_ids: set[int], topic_ids: set[int], since_ms: int, until_ms: int) -> dict[int, int]:
    """The service behind each group: from the per-minute consume counts around the trace (who was
    consuming then), else from the group's live members, else the catalog service that lists the
    group or its client ids (a native Kafka client's group)."""
    services: dict[int, int] = {}
    if not group_ids:
        return services
    for group_id, service_id in GroupMember.objects.filter(group_id__in=group_ids, service__isnull=False).values_list(
        "group_id", "service_id"
    ):
        services.setdefault(group_id, service_id)
    observed = (
        FlowStat.objects.filter(
            role=FlowStat.ROLE_CONSUME,
            topic_id__in=topic_ids,
            group_id__in=group_ids,
            minute_ms__gte=minute_of(since_ms),
            minute_ms__lte=until_ms,
        )
        .exclude(service_id=0)
        .values_list("group_id", "service_id")
        .order_by("minute_ms")
    )
    for group_id, service_id in observed:
        services[group_id] = service_id
    # A native client's group (no member, no service in its flows): the service that lists it.
    for group_id, service_id in group_services(group_ids - services.keys()).items():
        services.setdefault(group_id, service_id)
    return services


@dataclass
class _Consumer:
    group_id: int
    group: str
    committed_offset: int | None
    position: int | None


def _failures(
    rows: list[dict[str, Any]],
) -> tuple[dict[tuple[str, int, int, int], int], dict[tuple[str, int, int, int], int]]:
    """Failed deliveries per (group, topic id, partition, offset): retries still due and open
    (unresolved) dead letters, each with its count of failed attempts. Two queries: nacks are rare,
    so the rows of the trace's topics at its offsets are few."""
    topic_ids = {row["topic_id"] for row in rows}
    offsets = {row["offset"] for row in rows}
    wanted = {(row["topic_id"], row["partition"], row["offset"]) for row in rows}
    retries: dict[tuple[str, int, int, int], int] = {}
    for group, topic_id, partition, offset, attempts in PendingRetry.objects.filter(
        topic_id__in=topic_ids, offset__in=offsets
    ).values_list("group", "topic_id", "partition", "offset", "attempts"):
        if (topic_id, partition, offset) in wanted:
            retries[(group, topic_id, partition, offset)] = attempts
    dead_letters: dict[tuple[str, int, int, int], int] = {}
    topic_of = dict(Topic.objects.filter(id__in=topic_ids).values_list("name", "id"))
    for group, topic, partition, offset, attempts in DeadLetter.objects.filter(
        event_id__in={row["event_id"] for row in rows}, resolved_ms__isnull=True
    ).values_list("group", "topic", "partition", "offset", "attempts"):
        topic_id = topic_of.get(topic)
        if topic_id is not None and (topic_id, partition, offset) in wanted:
            dead_letters[(group, topic_id, partition, offset)] = attempts
    return retries, dead_letters


def _hop_statuses(
    rows: list[dict[str, Any]], principal: Principal
) -> tuple[dict[int, list[tuple[_Consumer, HopStatus]]], set[int]]:
    """Per event row: each group the principal may describe with a committed offset or a position
    on its partition, with Kafka's rule applied and the first fetch and commit found in the log."""
    pairs = {(row["topic_id"], row["partition"]) for row in rows}
    consumers: dict[tuple[int, int], list[_Consumer]] = defaultdict(list)
    for gp in GroupPartition.objects.filter(topic_id__in={topic for topic, _ in pairs}).values(
        "group_id", "group__name", "topic_id", "partition", "committed_offset", "position"
    ):
        if (
            (gp["topic_id"], gp["partition"]) in pairs
            and (gp["committed_offset"] is not None or gp["position"] is not None)
            and principal.may_use_group(gp["group__name"])
        ):
            consumers[(gp["topic_id"], gp["partition"])].append(
                _Consumer(gp["group_id"], gp["group__name"], gp["committed_offset"], gp["position"])
            )
    fetch_lookups: list[tuple[Any, tuple[Any, ...]]] = []
    for row in rows:
        offset = row["offset"]
        for consumer in consumers[(row["topic_id"], row["partition"])]:
            consumed = consumer.committed_offset is not None and consumer.committed_offset > offset
            # A group whose position and commit are both at or before the event has not fetched it
            # (no lookup, so a pending hop costs nothing however long the group's history).
            if consumed or (consumer.position is not None and consumer.position > offset):
                since = row["append_time_ms"] - c.CLOCK_SKEW_MS
                params = (consumer.group_id, row["topic_id"], row["partition"], since, offset, offset)
                fetch_lookups.append(((row["id"], consumer.group_id), params))
    fetched = scalar_lookups(_FETCH_LOOKUP, fetch_lookups)
    commit_lookups: list[tuple[Any, tuple[Any, ...]]] = []
    for row in rows:
        offset = row["offset"]
        for consumer in consumers[(row["topic_id"], row["partition"])]:
            if consumer.committed_offset is not None and consumer.committed_offset > offset:
                first_fetch = fetched.get((row["id"], consumer.group_id))
                since = first_fetch if first_fetch is not None else row["append_time_ms"] - c.CLOCK_SKEW_MS
                commit_lookups.append(
                    (
                        (row["id"], consumer.group_id),
                        (consumer.group_id, row["topic_id"], row["partition"], since, offset),
                    )
                )
    committed = scalar_lookups(_COMMIT_LOOKUP, commit_lookups)
    # No fetch logged for a consumed event: a group known by its commits only (a native client),
    # whose fetch is estimated from the commit before the one that covers the event.
    estimated: dict[Any, int] = {}
    previous_lookups: list[tuple[Any, tuple[Any, ...]]] = []
    for row in rows:
        for consumer in consumers[(row["topic_id"], row["partition"])]:
            key = (row["id"], consumer.group_id)
            if fetched.get(key) is None and committed.get(key) is not None:
                params = (consumer.group_id, row["topic_id"], row["partition"], committed[key])
                previous_lookups.append((key, params))
    appended = {row["id"]: row["append_time_ms"] for row in rows}
    for key, previous in scalar_lookups(_PREVIOUS_COMMIT_LOOKUP, previous_lookups).items():
        fetch_ms = estimated_fetch_ms(appended[key[0]], previous, committed[key])
        if fetch_ms is not None:
            estimated[key] = fetch_ms
    retries, dead_letters = _failures(rows)
    statuses: dict[int, list[tuple[_Consumer, HopStatus]]] = defaultdict(list)
    group_ids: set[int] = set()
    for row in rows:
        for consumer in sorted(consumers[(row["topic_id"], row["partition"])], key=lambda item: item.group):
            key = (row["id"], consumer.group_id)
            where = (consumer.group, row["topic_id"], row["partition"], row["offset"])
            failed_attempts = dead_letters.get(where, retries.get(where, 0))
            status = hop_status(
                group=consumer.group,
                event_offset=row["offset"],
                committed_offset=consumer.committed_offset,
                first_fetch_ms=estimated[key] if key in estimated else fetched.get(key),
                commit_ms=committed.get(key),
                fetch_estimated=key in estimated,
                failed_attempts=failed_attempts,
                retrying=where in retries,
                dead_lettered=where in dead_letters,
            )
            statuses[row["id"]].append((consumer, status))
            group_ids.add(consumer.group_id)
    return statuses, group_ids


# -- inspector details -------------------------------------------------------------------------


def _schema_versions(schema_ids: set[int]) -> dict[int, list[dict[str, Any]]]:
    from schemas.models import SubjectVersion

    versions: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if not schema_ids:
        return versions
    for schema_id, subject, version in (
        SubjectVersion.objects.filter(schema_id__in=schema_ids, deleted=False)
        .order_by("subject__name", "version")
        .values_list("schema_id", "subject__name", "version")
    ):
        versions[schema_id].append({"subject": subject, "version": version})
    return versions


def _expected_subject(topic: Topic, event_type: str) -> str:
    if topic.subject_strategy == SUBJECT_STRATEGY_TOPIC_RECORD:
        return f"{topic.name}-{event_type}"
    return topic.value_subject or f"{topic.name}-value"


def _add_details(
    items: list[TraceItem],
    topics: dict[int, Topic],
    topic_of: dict[int, int],
    documents: dict[int, dict[str, Any]],
    principal: Principal,
) -> None:
    """The stored event for the inspector, personal-data fields masked by its catalog type unless
    the principal may see them, and the subject/version its schema id has in the registry (the
    subject the topic binds first)."""
    versions = _schema_versions({item.schema_id for item in items if item.schema_id is not None})
    for item in items:
        document = documents[item.pk]
        pointers = hidden_fields(principal, item.event.type)
        if pointers:
            mask_document(document, pointers)
        item.document = document
        if item.schema_id is not None:
            expected = _expected_subject(topics[topic_of[item.pk]], item.event.type)
            pairs = versions.get(item.schema_id, [])
            # The topic's own subject first, then one naming the record by its full name (what
            # Confluent's TopicRecordNameStrategy registers: `<topic>-<namespace>.<type>`).
            record = f".{item.event.type}"
            item.schema_versions = sorted(
                pairs, key=lambda pair: (pair["subject"] != expected, not pair["subject"].endswith(record))
            )


# -- putting it together -----------------------------------------------------------------------


def _depth_first(items: list[TraceItem]) -> list[TraceItem]:
    children: dict[int, list[TraceItem]] = defaultdict(list)
    roots = []
    for item in items:
        if item.parent is None:
            roots.append(item)
        else:
            children[item.parent.pk].append(item)
    ordered: list[TraceItem] = []
    stack = list(reversed(roots))
    while stack:
        item = stack.pop()
        item.depth = 0 if item.parent is None else item.parent.depth + 1
        ordered.append(item)
        stack.extend(reversed(children[item.pk]))
    return ordered


def _via_group(item: TraceItem) -> str | None:
    """Which group's processing of the parent produced this event: one of the producing service's
    groups that had fetched the parent by the time this event was appended (the latest such)."""
    parent = item.parent
    if parent is None or item.event.producer is None:
        return None
    candidates = [
        hop
        for hop in parent.hops
        if hop.service == item.event.producer
        and hop.status.first_fetch_ms is not None
        and hop.status.first_fetch_ms <= item.event.append_ms + c.CLOCK_SKEW_MS
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda hop: hop.status.first_fetch_ms or 0).group


def _finished_spans(items: list[TraceItem]) -> list[Span]:
    """The spans the critical path runs through: a send span per event (publish -> append) and a
    hop span per group that committed past it (append -> commit). A hop still pending has no end,
    so it cannot have made the transaction take as long as it did: it is left out. An effect hangs
    under the hop that produced it, else (or when that hop is unfinished) under its cause's send."""
    finished = {hop.span_id for item in items for hop in item.hops if hop.consumed}
    spans: list[Span] = []
    for item in items:
        parent_span = None
        if item.parent is not None:
            via = f"{item.parent.span_id}:{item.via_group}" if item.via_group else None
            parent_span = via if via in finished else item.parent.span_id
        spans.append(Span(item.span_id, parent_span, item.publish_ms, item.event.append_ms, f"send {item.event.topic}"))
        for hop in item.hops:
            if hop.span_id not in finished:
                continue
            status = hop.status
            end = status.commit_ms if status.commit_ms is not None else status.first_fetch_ms
            end = item.event.append_ms if end is None else max(end, item.event.append_ms)
            spans.append(Span(hop.span_id, item.span_id, item.event.append_ms, end, hop.group))
    return spans


def _covering(spans: list[Span]) -> list[Span]:
    """Jaeger's rule trims children to their parent; a message flow's effects outlive the hop that
    caused them, so each span is stretched over its descendants first (its own time is unchanged:
    the path still leaves it when its last child ends)."""
    children: dict[str, list[Span]] = defaultdict(list)
    for span in spans:
        if span.parent_id is not None:
            children[span.parent_id].append(span)
    ends: dict[str, int] = {}

    def end_of(span: Span) -> int:
        # Iterative post-order, so a deep chain cannot exhaust the recursion limit.
        stack = [(span, False)]
        while stack:
            current, done = stack.pop()
            if current.span_id in ends:
                continue
            if done:
                kids = children[current.span_id]
                ends[current.span_id] = max([current.end_ms, *(ends[kid.span_id] for kid in kids)])
            else:
                stack.append((current, True))
                stack.extend((kid, False) for kid in children[current.span_id] if kid.span_id not in ends)
        return ends[span.span_id]

    return [Span(span.span_id, span.parent_id, span.start_ms, end_of(span), span.label) for span in spans]


def _visible(found: dict[int, dict[str, Any]], principal: Principal) -> tuple[dict[int, Topic], list[dict[str, Any]]]:
    topics = {topic.id: topic for topic in Topic.objects.filter(id__in={row["topic_id"] for row in found.values()})}
    visible = [
        row
        for row in found.values()
        if row["topic_id"] in topics and principal.allows("consume", topics[row["topic_id"]].name)
    ]
    return topics, visible


def _items(rows: list[dict[str, Any]], topics: dict[int, Topic], principal: Principal) -> dict[int, TraceItem]:
    """The events with their hops and the services behind producers and groups, for any number of
    traces at once (a fixed number of queries). Hops of groups the principal may not describe are
    left out, with the services behind them."""
    statuses, group_ids = _hop_statuses(rows, principal)
    # The services consuming while these events were read: the window from the first append to
    # the last fetch or commit of them (not to now, so an old trace costs no more than a new one).
    first_ms = min(row["append_time_ms"] for row in rows)
    last_ms = max(
        [row["append_time_ms"] for row in rows]
        + [
            moment
            for pairs in statuses.values()
            for _, status in pairs
            for moment in (status.first_fetch_ms, status.commit_ms)
            if moment is not None
        ]
    )
    group_services = _group_services(group_ids, {row["topic_id"] for row in rows}, first_ms, last_ms)
    service_names = dict(
        Service.objects.filter(
            id__in={row["producer_id"] for row in rows if row["producer_id"]} | set(group_services.values())
        ).values_list("id", "name")
    )
    items: dict[int, TraceItem] = {}
    for row in rows:
        event = TraceEvent(
            event_id=row["event_id"],
            topic=topics[row["topic_id"]].name,
            partition=row["partition"],
            offset=row["offset"],
            type=row["type"],
            producer=service_names.get(row["producer_id"]),
            correlation_id=row["correlation_id"],
            causation_id=row["causation_id"],
            event_time_ms=row["timestamp_ms"],
            append_ms=row["append_time_ms"],
        )
        item = TraceItem(row["id"], event, row["source"], row["key"], row["trace_id"], row["schema_id"])
        item.hops = [
            TraceHop(
                status, service_names.get(group_services.get(consumer.group_id, 0)), f"{item.span_id}:{status.group}"
            )
            for consumer, status in statuses.get(row["id"], [])
        ]
        items[row["id"]] = item
    return items


def _components(rows: Iterable[dict[str, Any]]) -> list[list[int]]:
    """Rows split into transactions: linked by a shared correlation id or a causation link."""
    rows = list(rows)
    root = {row["id"]: row["id"] for row in rows}

    def find(pk: int) -> int:
        while root[pk] != pk:
            root[pk] = root[root[pk]]
            pk = root[pk]
        return pk

    def join(first: int, second: int) -> None:
        root[find(first)] = find(second)

    by_correlation: dict[str, int] = {}
    by_event_id: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        by_event_id[row["event_id"]].append(row["id"])
        if row["correlation_id"]:
            join(row["id"], by_correlation.setdefault(row["correlation_id"], row["id"]))
    for row in rows:
        for cause in by_event_id.get(row["causation_id"] or "", []):
            join(row["id"], cause)
    groups: dict[int, list[int]] = defaultdict(list)
    for row in rows:
        groups[find(row["id"])].append(row["id"])
    return list(groups.values())


def flow_definitions() -> list[FlowDefinition]:
    """The catalog's business flows as the pure evaluation takes them (two queries)."""
    return [
        FlowDefinition(
            name=flow.name,
            start_type=flow.start_event_type.name,
            endings={terminal.event_type.name: Ending(terminal.ending) for terminal in flow.terminals.all()},
            stuck_after_ms=flow.stuck_after_seconds * 1000,
        )
        for flow in BusinessFlow.objects.select_related("start_event_type").prefetch_related("terminals__event_type")
    ]


def _assemble(
    query: str,
    matched_by: str,
    items: list[TraceItem],
    now_ms: int,
    reasons: list[str],
    hidden_events: int,
    flows: list[FlowDefinition],
) -> Trace:
    """One transaction's events, hops already known: causal tree, state, critical path, summary."""
    items_by_event = {item.event: item for item in items}
    for edge in causal_order(list(items_by_event)):
        item = items_by_event[edge.event]
        item.parent = None if edge.parent is None else items_by_event[edge.parent]
        item.parent_inferred = edge.inferred
    for item in items:
        item.via_group = _via_group(item)
    items = _depth_first(items)

    hops_by_event: dict[str, list[HopStatus]] = defaultdict(list)
    for item in items:
        hops_by_event[item.event.event_id].extend(hop.status for hop in item.hops)
    moments = [item.event.append_ms for item in items] + [
        moment
        for item in items
        for hop in item.hops
        for moment in (hop.status.first_fetch_ms, hop.status.commit_ms)
        if moment is not None
    ]
    commits = [hop.status.commit_ms for item in items for hop in item.hops if hop.status.commit_ms is not None]
    events = [item.event for item in items]
    delivery = trace_delivery(hops_by_event)
    # A dead letter the broker recorded for a hop, or a dead-letter copy (named as most teams name
    # dead-letter topics) among the trace's events, when it came from elsewhere.
    dead_lettered = delivery.dead_lettered > 0 or any(c.DEAD_LETTER_TOPIC.search(event.topic) for event in events)
    outcome = trace_outcome(events, flows, now_ms=now_ms, dead_lettered=dead_lettered)
    spans = _finished_spans(items)

    def unique(values: Iterable[str | None]) -> list[str]:
        return list(dict.fromkeys(value for value in values if value))

    return Trace(
        query=query,
        matched_by=matched_by,
        items=items,
        outcome=outcome,
        delivery=delivery,
        now_ms=now_ms,
        first_seen_ms=min(item.publish_ms for item in items),
        last_activity_ms=max(moments),
        end_to_end_ms=end_to_end_ms(events, max(commits) if commits else None),
        correlation_ids=unique(event.correlation_id for event in events),
        trace_ids=sorted(unique(item.trace_id for item in items)),
        services=sorted(
            set(unique(event.producer for event in events))
            | set(unique(hop.service for item in items for hop in item.hops))
        ),
        topics=unique(event.topic for event in events),
        groups=sorted(set(unique(hop.group for item in items for hop in item.hops))),
        spans=spans,
        critical_path=critical_path(_covering(spans)),
        incomplete_reasons=reasons,
        hidden_events=hidden_events,
    )


def _not_found(query: str) -> NotFound:
    return NotFound(
        f"No event has the correlation id, event id, trace id, position or business key '{query}'.",
        code="trace_not_found",
        details={"query": query},
    )


def trace_get(*, query: str, principal: Principal, now_ms: int | None = None, details: bool = True) -> Trace:
    """The transaction the search box names, as the principal may see it (events of topics it may
    not consume are left out and counted; hops of groups it may not describe are left out).
    ``NotFound`` for an id never seen (or nothing visible). ``details`` reads and masks the stored
    events for the inspector."""
    now_ms = clock_now_ms() if now_ms is None else now_ms
    query = query.strip()
    matched_by, seeds = trace_resolve(query)
    found, reasons = _expand(seeds, matched_by=matched_by)
    topics, visible = _visible(found, principal)
    if not visible:
        raise _not_found(query)
    items = _items(visible, topics, principal)
    trace = _assemble(
        query, matched_by, list(items.values()), now_ms, reasons, len(found) - len(visible), flow_definitions()
    )
    if details:
        topic_of = {row["id"]: row["topic_id"] for row in visible}
        _add_details(trace.items, topics, topic_of, _documents(list(items)), principal)
    return trace


def trace_otlp(trace: Trace) -> dict[str, Any]:
    """The trace as OTLP/JSON (OpenTelemetry messaging conventions), for Jaeger or Tempo."""
    hops: dict[str, list[HopStatus]] = defaultdict(list)
    for item in trace.items:
        hops[item.event.event_id].extend(hop.status for hop in item.hops)
    return otlp_export(otel_spans([item.event for item in trace.items], hops, trace_id=trace.otel_trace_id))


def trace_list(
    *,
    principal: Principal,
    limit: int = c.RECENT_TRACES,
    now_ms: int | None = None,
    outcome: Outcome | None = None,
) -> tuple[list[TraceSummary], list[TraceSummary]]:
    """Recent traces (the distinct correlation ids of the newest events the principal may read,
    walking the log newest first by primary key, at most ``RECENT_SCAN_EVENTS`` events) and, among
    them, the slowest by end-to-end duration. With ``outcome``, only the recent traces with that
    business outcome, found among the newest ``limit * FILTERED_CANDIDATES_FACTOR`` traces (at most
    ``MAX_FILTERED_CANDIDATES``): an outcome is known only once a trace is assembled, so the filter
    looks at a bounded number of candidates rather than walking the whole log."""
    now_ms = clock_now_ms() if now_ms is None else now_ms
    allowed = {
        topic_id for topic_id, name in Topic.objects.values_list("id", "name") if principal.allows("consume", name)
    }
    wanted = limit if outcome is None else min(limit * c.FILTERED_CANDIDATES_FACTOR, c.MAX_FILTERED_CANDIDATES)
    correlations: list[str] = []
    seen: set[str] = set()
    scanned = 0
    below: int | None = None
    while scanned < c.RECENT_SCAN_EVENTS and len(correlations) < wanted:
        newest = Event.objects.order_by("-id")
        if below is not None:
            newest = newest.filter(id__lt=below)
        chunk = list(newest.values_list("id", "correlation_id", "topic_id")[: min(500, c.RECENT_SCAN_EVENTS - scanned)])
        if not chunk:
            break
        scanned += len(chunk)
        below = chunk[-1][0]
        for _pk, correlation_id, topic_id in chunk:
            if correlation_id and correlation_id not in seen and topic_id in allowed:
                seen.add(correlation_id)
                correlations.append(correlation_id)
                if len(correlations) == wanted:
                    break
    if not correlations:
        return [], []
    # All of them at once: one expansion, one pass over hops, then split into transactions.
    found, reasons = _expand(_rows_in("correlation_id", correlations), matched_by=c.MATCHED_BY_CORRELATION)
    topics, visible = _visible(found, principal)
    items = _items(visible, topics, principal) if visible else {}
    flows = flow_definitions()
    summaries: list[TraceSummary] = []
    listed: set[str] = set()
    traces: dict[str, Trace] = {}
    for component in _components(found.values()):
        shown = [items[pk] for pk in component if pk in items]
        if not shown:
            continue
        trace = _assemble("", c.MATCHED_BY_CORRELATION, shown, now_ms, reasons, len(component) - len(shown), flows)
        for correlation_id in trace.correlation_ids:
            traces.setdefault(correlation_id, trace)
    for correlation_id in correlations:
        found_trace = traces.get(correlation_id)
        if found_trace is None or found_trace.correlation_ids[0] in listed:
            continue
        trace = found_trace
        listed.add(trace.correlation_ids[0])
        if outcome is not None and trace.outcome.outcome is not outcome:
            continue
        summaries.append(
            TraceSummary(
                correlation_id=correlation_id,
                outcome=trace.outcome,
                delivery=trace.delivery,
                first_seen_ms=trace.first_seen_ms,
                last_activity_ms=trace.last_activity_ms,
                end_to_end_ms=trace.end_to_end_ms,
                event_count=len(trace.items),
                root_type=trace.items[0].event.type,
                services=trace.services,
                topics=trace.topics,
                incomplete=trace.incomplete,
            )
        )
        if len(summaries) == limit:
            break
    slowest = sorted(
        (summary for summary in summaries if summary.end_to_end_ms is not None),
        key=lambda summary: -(summary.end_to_end_ms or 0),
    )[: c.SLOWEST_TRACES]
    return summaries, slowest
