"""Impact analysis for people and for the registry: who is affected, transitively, when an event
type (or the registry subject holding its schema) changes.

`affected_consumers_for_subject` is the registry's impact provider: settings.EVENTLINE
["IMPACT_PROVIDER"] names it and the registry imports it by that name at run time, so the
registry never imports lineage."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from broker.constants import SUBJECT_STRATEGY_TOPIC_RECORD
from broker.models import Topic
from catalog.models import EventType
from core.errors import NotFound
from lineage import constants as c
from lineage.graph import EdgeKind, ImpactRow, LineageGraph, NodeKind, affected_services, impact, node_id
from lineage.selectors import lineage_graph

CSV_COLUMNS = (
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
    """The affected consumers of a change to `event_types` (one, or those sharing a subject)."""

    event_types: list[str]
    subject: str | None
    window: str
    rows: list[ImpactRow]

    @property
    def services(self) -> list[tuple[str, str | None]]:
        return affected_services(self.rows)

    def as_dict(self) -> dict[str, Any]:
        return {
            "event_types": self.event_types,
            "subject": self.subject,
            "window": self.window,
            "affected_services": len(self.services),
            "max_depth": max((row.depth for row in self.rows), default=0),
            "consumers": [row.as_dict() for row in self.rows],
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


def impact_for_subject(
    *, subject: str, window: str = c.GOVERNANCE_WINDOW, max_depth: int = c.DEFAULT_IMPACT_DEPTH
) -> ImpactReport:
    """Who is affected when the schema under `subject` changes: the consumers of the catalog's
    event types that name the subject, else of the types that travel under it by topic naming.
    Reads nothing more when neither applies (the registry asks on every incompatible answer)."""
    names = sorted(EventType.objects.filter(subject=subject).values_list("name", flat=True))
    topics = [] if names else _topics_under_subject(subject)
    if not names and not topics:
        return ImpactReport(event_types=[], subject=subject, window=window, rows=[])
    graph = lineage_graph(window=window)
    if not names:
        names = _types_on(graph, topics)
    return ImpactReport(
        event_types=names, subject=subject, window=window, rows=impact(graph, names, max_depth=max_depth)
    )


def impact_for_event_type(
    *, name: str, window: str = c.GOVERNANCE_WINDOW, max_depth: int = c.DEFAULT_IMPACT_DEPTH
) -> ImpactReport:
    """Who is affected when event type `name` changes; 404 when the catalog and the broker know
    no such type."""
    graph = lineage_graph(window=window)
    if node_id(NodeKind.EVENT_TYPE, name) not in graph.nodes:
        raise NotFound(f"Event type '{name}' does not exist.", code="event_type_not_found")
    subject = EventType.objects.filter(name=name).values_list("subject", flat=True).first() or None
    return ImpactReport(
        event_types=[name], subject=subject, window=window, rows=impact(graph, [name], max_depth=max_depth)
    )


def affected_consumers_for_subject(subject: str) -> list[dict[str, Any]]:
    """The registry's impact provider: for an incompatible change under `subject`, every
    affected consumer (service, owner_team, event_type, depth, flow, produces, via...)."""
    return [row.as_dict() for row in impact_for_subject(subject=subject).rows]


def impact_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    """Impact rows (as `ImpactRow.as_dict()` gives them) as CSV with a header; lists are joined
    with spaces."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for shown in rows:
        writer.writerow(
            [
                " ".join(str(v) for v in value) if isinstance(value, list) else ("" if value is None else value)
                for value in (shown[column] for column in CSV_COLUMNS)
            ]
        )
    return out.getvalue()
