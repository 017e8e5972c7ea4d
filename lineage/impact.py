"""Impact analysis for people and for the registry: who would break when an event type (or the
registry subject holding its schema) changes, and who is downstream of them.

"Would break" is only the consumers that read a changed type on the subject's topics (declared in
the catalog, or seen reading it there); what they produce in turn is followed into a separate
downstream list, which is not counted as broken: a consumer may absorb the change.

`affected_consumers_for_subject` is the registry's impact provider: settings.EVENTLINE
["IMPACT_PROVIDER"] names it and the registry imports it by that name at run time, so the
registry never imports lineage."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from broker.constants import SUBJECT_STRATEGY_TOPIC_RECORD
from broker.models import Topic
from catalog.models import EventType
from core.errors import NotFound
from lineage import constants as c
from lineage.graph import (
    EdgeKind,
    ImpactRow,
    LineageGraph,
    NodeKind,
    affected_services,
    impact,
    node_id,
    split_impact,
)
from lineage.selectors import lineage_graph

CSV_COLUMNS = (
    "impact",
    "depth",
    "service",
    "owner_team",
    "domain",
    "event_type",
    "flow",
    "via",
    "produces",
    "groups",
    "topics",
    "events",
    "last_seen_ms",
)


@dataclass(frozen=True)
class ImpactReport:
    """Who a change to `event_types` (one, or those sharing a subject) would break, and who is
    downstream of them; `topics` are the subject's topics that bounded who would break (empty
    when any topic counts)."""

    event_types: list[str]
    subject: str | None
    window: str
    rows: list[ImpactRow]
    topics: list[str] = field(default_factory=list)

    @property
    def breaking(self) -> list[ImpactRow]:
        return split_impact(self.rows)[0]

    @property
    def downstream(self) -> list[ImpactRow]:
        return split_impact(self.rows)[1]

    @property
    def services(self) -> list[tuple[str, str | None]]:
        """(service, owner team) of each consumer that would break."""
        return affected_services(self.breaking)

    @property
    def downstream_services(self) -> list[tuple[str, str | None]]:
        """(service, owner team) of each downstream consumer that would not break itself."""
        breaking = {name for name, _ in self.services}
        return [(name, team) for name, team in affected_services(self.downstream) if name not in breaking]

    def as_dict(self) -> dict[str, Any]:
        return {
            "event_types": self.event_types,
            "subject": self.subject,
            "topics": self.topics,
            "window": self.window,
            "affected_services": len(self.services),
            "downstream_services": len(self.downstream_services),
            "max_depth": max((row.depth for row in self.rows), default=0),
            "consumers": [row.as_dict() for row in self.breaking],
            "downstream": [row.as_dict() for row in self.downstream],
        }


def _topics_under_subject(subject: str) -> list[tuple[str, str | None]]:
    """Topics whose events have their schema under `subject` by the topic's naming strategy:
    (topic, None) for `{topic}-value` (or the topic's own value subject), which covers every type
    on the topic; (topic, type) for `{topic}-{type}`."""
    found: list[tuple[str, str | None]] = []
    for topic in Topic.objects.only("name", "subject_strategy", "value_subject"):
        if topic.subject_strategy == SUBJECT_STRATEGY_TOPIC_RECORD:
            if subject.startswith(f"{topic.name}-"):
                found.append((topic.name, subject[len(topic.name) + 1 :]))
        elif (topic.value_subject or f"{topic.name}-value") == subject:
            found.append((topic.name, None))
    return found


def _types_on(graph: LineageGraph, topics: list[tuple[str, str | None]]) -> list[str]:
    names: set[str] = set()
    for topic, record in topics:
        for edge in graph.in_edges(node_id(NodeKind.TOPIC, topic), EdgeKind.PUBLISHED_TO):
            name = graph.nodes[edge.source].name
            if record is None or name == record:
                names.add(name)
    return sorted(names)


def _subject_topics(subject: str, by_naming: list[tuple[str, str | None]]) -> list[str]:
    """The topics whose events carry their schema under `subject`: those the catalog lists for
    the event types that name it, and those whose naming strategy puts a type under it."""
    listed = EventType.topics.through.objects.filter(eventtype__subject=subject).values_list("topic__name", flat=True)
    return sorted({*listed, *(topic for topic, _ in by_naming)})


def impact_for_subject(
    *, subject: str, window: str = c.GOVERNANCE_WINDOW, max_depth: int = c.DEFAULT_IMPACT_DEPTH
) -> ImpactReport:
    """Who would break when the schema under `subject` changes: the consumers that read the
    catalog's event types naming the subject (else the types that travel under it by topic
    naming) on the subject's topics; and downstream of them, who consumes what they produce.
    Reads nothing more when neither applies (the registry asks on every incompatible answer)."""
    names = sorted(EventType.objects.filter(subject=subject).values_list("name", flat=True))
    by_naming = _topics_under_subject(subject)
    if not names and not by_naming:
        return ImpactReport(event_types=[], subject=subject, window=window, rows=[])
    graph = lineage_graph(window=window)
    if not names:
        names = _types_on(graph, by_naming)
    topics = _subject_topics(subject, by_naming)
    rows = impact(graph, names, on_topics=topics or None, max_depth=max_depth)
    return ImpactReport(event_types=names, subject=subject, window=window, rows=rows, topics=topics)


def impact_for_event_type(
    *, name: str, window: str = c.GOVERNANCE_WINDOW, max_depth: int = c.DEFAULT_IMPACT_DEPTH
) -> ImpactReport:
    """Who would break when event type `name` changes, and who is downstream: bounded to its
    subject's topics when it names a subject, as the registry would answer; 404 when the catalog
    and the broker know no such type."""
    graph = lineage_graph(window=window)
    if node_id(NodeKind.EVENT_TYPE, name) not in graph.nodes:
        raise NotFound(f"Event type '{name}' does not exist.", code="event_type_not_found")
    subject = EventType.objects.filter(name=name).values_list("subject", flat=True).first() or None
    topics = _subject_topics(subject, _topics_under_subject(subject)) if subject else []
    rows = impact(graph, [name], on_topics=topics or None, max_depth=max_depth)
    return ImpactReport(event_types=[name], subject=subject, window=window, rows=rows, topics=topics)


def affected_consumers_for_subject(subject: str) -> list[dict[str, Any]]:
    """The registry's impact provider: for an incompatible change under `subject`, one dict per
    affected consumer (breaks, service, owner_team, event_type, depth, flow, produces, via...);
    `breaks` is true for who would break and false for who is downstream of them."""
    return [row.as_dict() for row in impact_for_subject(subject=subject).rows]


def impact_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    """Impact rows (as `ImpactRow.as_dict()` gives them) as CSV with a header, `impact` saying
    "breaks" or "downstream"; lists are joined with spaces."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for shown in rows:
        shown = {**shown, "impact": "breaks" if shown.get("breaks", shown["depth"] == 1) else "downstream"}
        writer.writerow(
            [
                " ".join(str(v) for v in value) if isinstance(value, list) else ("" if value is None else value)
                for value in (shown[column] for column in CSV_COLUMNS)
            ]
        )
    return out.getvalue()
