"""Registry traffic as lineage evidence (issue 18): which services' keys asked the schema registry
for what a serializer or a deserializer asks (schemas.usage), turned into producer and consumer
candidates of topics, each marked with whether the graph's declared or observed flows back it.

A subject names its topics as Confluent's strategies do: the topic it is bound to, `<topic>-value`
or `<topic>-key` (TopicNameStrategy) and `<topic>-<record>` (TopicRecordNameStrategy); the longest
topic name that prefixes it wins. A deserializer's fetch by id names the subject when the client
sends it (`?subject=`, newer clients); else every subject holding the id counts."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db.models import Max, Sum

from broker.models import Topic
from core.timeutil import now_ms
from lineage import constants as c
from lineage.graph import EdgeKind, LineageGraph, NodeKind
from schemas.models import RegistryUse, SubjectVersion


@dataclass(frozen=True)
class RegistryEvidence:
    service: str
    role: str  # "producer" or "consumer"
    topic: str | None  # None: the subject names no topic Eventline knows
    subject: str
    schema_id: int
    requests: int
    last_seen_ms: int
    observed: bool  # the broker saw this service produce to (consume from) the topic
    declared: bool  # the catalog declares it

    @property
    def status(self) -> str:
        if self.observed and self.declared:
            return "observed and declared"
        if self.observed or self.declared:
            return "observed" if self.observed else "declared"
        return "registry only"

    def as_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "role": self.role,
            "topic": self.topic,
            "subject": self.subject,
            "schema_id": self.schema_id or None,
            "requests": self.requests,
            "last_seen_ms": self.last_seen_ms,
            "observed": self.observed,
            "declared": self.declared,
            "status": self.status,
            "evidence": "registry",
        }


def registry_evidence(graph: LineageGraph, *, window: str) -> list[RegistryEvidence]:
    """The registry's producer and consumer candidates over the window, each checked against the
    graph of the same window: services first, then topics, producers before consumers."""
    since = now_ms() - c.WINDOWS[window]
    rows = list(
        RegistryUse.objects.filter(minute_ms__gte=since)
        .values("service__name", "role", "subject", "schema_id")
        .annotate(requests=Sum("requests"), last=Max("last_seen_ms"))
        .order_by()
    )
    if not rows:
        return []
    subjects_of: dict[int, list[str]] = defaultdict(list)
    wanted_ids = {row["schema_id"] for row in rows if not row["subject"] and row["schema_id"]}
    for schema_id, subject in SubjectVersion.objects.filter(schema_id__in=wanted_ids, deleted=False).values_list(
        "schema_id", "subject__name"
    ):
        if subject not in subjects_of[schema_id]:
            subjects_of[schema_id].append(subject)
    topics = list(Topic.objects.values_list("name", "value_subject"))
    backing = _backing(graph)
    found: dict[tuple[str, str, str | None, str], RegistryEvidence] = {}
    for row in rows:
        subjects = [row["subject"]] if row["subject"] else subjects_of.get(row["schema_id"], [])
        for subject in subjects:
            topic = _topic_of(subject, topics)
            key = (row["service__name"], row["role"], topic, subject)
            before = found.get(key)
            observed, declared = backing.get((row["role"], row["service__name"], topic), (False, False))
            found[key] = RegistryEvidence(
                service=row["service__name"],
                role=row["role"],
                topic=topic,
                subject=subject,
                schema_id=row["schema_id"] or (before.schema_id if before else 0),
                requests=row["requests"] + (before.requests if before else 0),
                last_seen_ms=max(row["last"], before.last_seen_ms if before else 0),
                observed=observed,
                declared=declared,
            )
    return sorted(found.values(), key=lambda e: (e.service, e.topic or "", e.role != "producer", e.subject))


def _topic_of(subject: str, topics: list[tuple[str, str]]) -> str | None:
    bound = [name for name, value_subject in topics if value_subject == subject]
    if bound:
        return min(bound)
    prefixed = [name for name, _ in topics if subject.startswith(name + "-")]
    return max(prefixed, key=len) if prefixed else None


def _backing(graph: LineageGraph) -> dict[tuple[str, str, str | None], tuple[bool, bool]]:
    """(role, service, topic) -> (observed, declared) from the graph's edges: a service produces
    to a topic when it produces an event type published there; it consumes from one when it
    consumes an event type published there, or runs a group that reads it."""
    published: dict[str, set[str]] = defaultdict(set)  # event type key -> topic names
    runs_in: dict[str, list[tuple[str, bool]]] = defaultdict(list)  # group key -> (service, observed)
    read_by: dict[str, set[str]] = defaultdict(set)  # group key -> topic names
    for (source, target), edge in graph.edges.items():
        if edge.kind is EdgeKind.PUBLISHED_TO:
            published[source].add(graph.nodes[target].name)
        elif edge.kind is EdgeKind.RUNS_IN:
            runs_in[source].append((graph.nodes[target].name, edge.observed))
        elif edge.kind is EdgeKind.READ_BY:
            read_by[target].add(graph.nodes[source].name)
    flags: dict[tuple[str, str, str | None], list[bool]] = defaultdict(lambda: [False, False])
    for (source, target), edge in graph.edges.items():
        if edge.kind is EdgeKind.PRODUCES:
            role, service, event_type = "producer", graph.nodes[source].name, target
        elif edge.kind is EdgeKind.CONSUMES and graph.nodes[target].kind is NodeKind.SERVICE:
            role, service, event_type = "consumer", graph.nodes[target].name, source
        else:
            continue
        for topic in published.get(event_type, ()):
            flag = flags[(role, service, topic)]
            flag[0] |= edge.observed
            flag[1] |= edge.declared
    for group, services in runs_in.items():
        for service, observed in services:
            for topic in read_by.get(group, ()):
                flags[("consumer", service, topic)][0] |= observed
    return {key: (value[0], value[1]) for key, value in flags.items()}
