"""Estates built from a few words, for the pure graph tests: `Shape().produces("a", "A", topic="t")
.consumes("b", "A")...build()`."""

from __future__ import annotations

from dataclasses import dataclass, field

from lineage.graph import (
    ConsumedFacts,
    DeclaredFlowFacts,
    Estate,
    EventTypeFacts,
    GroupFacts,
    LineageGraph,
    ProducedFacts,
    ServiceFacts,
    build_lineage,
)

NOW = 1_700_000_000_000
HOUR = 3_600_000


@dataclass
class Shape:
    services: dict[str, ServiceFacts] = field(default_factory=dict)
    event_types: dict[str, EventTypeFacts] = field(default_factory=dict)
    declared: list[DeclaredFlowFacts] = field(default_factory=list)
    produced: list[ProducedFacts] = field(default_factory=list)
    consumed: list[ConsumedFacts] = field(default_factory=list)
    groups: dict[str, GroupFacts] = field(default_factory=dict)

    def service(self, name: str, team: str | None = None, domain: str | None = None) -> Shape:
        self.services[name] = ServiceFacts(name, owner_team=team or f"Team {name}", domain=domain or "Core")
        return self

    def event_type(self, name: str, topic: str | None = None, team: str = "Owners", domain: str = "Core") -> Shape:
        self.event_types[name] = EventTypeFacts(
            name,
            owner_team=team,
            domain=domain,
            lifecycle="active",
            subject=f"{name}-value",
            topics=(topic or name.lower(),),
        )
        return self

    def _known(self, service: str, event_type: str) -> None:
        if service not in self.services:
            self.service(service)
        if event_type not in self.event_types:
            self.event_type(event_type)

    def declares_producing(self, service: str, event_type: str) -> Shape:
        self._known(service, event_type)
        self.declared.append(DeclaredFlowFacts(service, event_type, "producer"))
        return self

    def declares_consuming(self, service: str, event_type: str) -> Shape:
        self._known(service, event_type)
        self.declared.append(DeclaredFlowFacts(service, event_type, "consumer"))
        return self

    def topic_of(self, event_type: str) -> str:
        facts = self.event_types.get(event_type)
        return facts.topics[0] if facts else event_type.lower()

    def is_seen_producing(
        self, service: str | None, event_type: str, events: int = 60, topic: str | None = None
    ) -> Shape:
        self.produced.append(ProducedFacts(topic or self.topic_of(event_type), service, event_type, events, NOW - 1000))
        return self

    def is_seen_reading(
        self,
        group: str,
        topic: str,
        service: str | None = None,
        events: int = 60,
        members: tuple[str, ...] | None = None,
    ) -> Shape:
        self.consumed.append(ConsumedFacts(topic, group, service, events, NOW - 500))
        if members is not None:
            self.groups[group] = GroupFacts(group, member_services=members)
        return self

    def subscribes(
        self, group: str, topics: tuple[str, ...], members: tuple[str, ...] = (), past: tuple[str, ...] = ()
    ) -> Shape:
        self.groups[group] = GroupFacts(group, member_services=members, subscribed_topics=topics, past_services=past)
        return self

    def produces(self, service: str, event_type: str, events: int = 60) -> Shape:
        """Declared and observed."""
        return self.declares_producing(service, event_type).is_seen_producing(service, event_type, events)

    def consumes(self, service: str, event_type: str, events: int = 60) -> Shape:
        """Declared and observed (through a group named after the service)."""
        self.declares_consuming(service, event_type)
        return self.is_seen_reading(f"{service}-group", self.topic_of(event_type), service, events)

    def build(self, window_ms: int = HOUR) -> LineageGraph:
        return build_lineage(
            Estate(
                window_ms=window_ms,
                now_ms=NOW,
                services=tuple(self.services.values()),
                event_types=tuple(self.event_types.values()),
                declared=tuple(self.declared),
                produced=tuple(self.produced),
                consumed=tuple(self.consumed),
                groups=tuple(self.groups.values()),
            )
        )


def chain() -> Shape:
    """a -A-> b -B-> c -C-> d, every flow declared and observed."""
    return (
        Shape()
        .produces("a", "A")
        .consumes("b", "A")
        .produces("b", "B")
        .consumes("c", "B")
        .produces("c", "C")
        .consumes("d", "C")
    )


def diamond() -> Shape:
    """a -A-> b and c; b -B-> d; c -C-> d."""
    return (
        Shape()
        .produces("a", "A")
        .consumes("b", "A")
        .consumes("c", "A")
        .produces("b", "B")
        .produces("c", "C")
        .consumes("d", "B")
        .consumes("d", "C")
    )


def loop() -> Shape:
    """a -A-> b -B-> a: a saga's compensation."""
    return Shape().produces("a", "A").consumes("b", "A").produces("b", "B").consumes("a", "B")
