"""What governance looks for in the graph: orphan events, ghost consumers and drift between the
catalog and what runs."""

from __future__ import annotations

from dataclasses import dataclass

from lineage.graph.lineage import LineageGraph
from lineage.graph.model import Edge, EdgeKind, Node, NodeKind


@dataclass(frozen=True)
class Orphan:
    """An event type that is produced (declared or observed) and that no one consumes."""

    event_type: str
    documented: bool
    owner_team: str | None
    domain: str | None
    producers: list[tuple[str, str]]  # (service, flow)
    topics: list[str]
    events: int
    last_seen_ms: int | None


@dataclass(frozen=True)
class Ghost:
    """A consumer waiting for events no one sends.

    basis "subscription": a consumer group subscribed to (or holding offsets on) a topic to which
    nothing was produced in the window. basis "declaration": a service declares it consumes an
    event type that no one declares or was seen producing."""

    basis: str
    group: str | None
    services: list[str]
    owner_teams: list[str]
    topic: str | None
    event_type: str | None
    declared_producers: list[str]


@dataclass(frozen=True)
class DriftItem:
    """A flow the catalog and the broker disagree about."""

    kind: str  # "produces" | "consumes"
    service: str | None  # None: a consumer group whose service is unknown (see `groups`)
    event_type: str
    documented: bool
    owner_team: str | None
    topics: list[str]
    groups: list[str]
    events: int
    last_seen_ms: int | None

    @property
    def sentence(self) -> str:
        who = self.service or f"group {', '.join(self.groups)}"
        return f"{who} {self.kind} {self.event_type}"


@dataclass(frozen=True)
class Drift:
    undeclared: list[DriftItem]  # observed, not declared
    unobserved: list[DriftItem]  # declared, not observed in the window


def _team_of(graph: LineageGraph, key: str) -> str | None:
    node = graph.node(key)
    return node.owner_team if node else None


def orphan_events(graph: LineageGraph) -> list[Orphan]:
    """Event types produced (declared or observed) that no one consumes, by name."""
    found = []
    for key, node in sorted(graph.nodes.items()):
        if node.kind is not NodeKind.EVENT_TYPE or graph.out_edges(key, EdgeKind.CONSUMES):
            continue
        producing = graph.in_edges(key, EdgeKind.PRODUCES)
        published = [edge for edge in graph.out_edges(key, EdgeKind.PUBLISHED_TO) if edge.observed]
        if not producing and not published:
            continue
        seen = [edge.last_seen_ms for edge in published if edge.last_seen_ms is not None]
        found.append(
            Orphan(
                event_type=node.name,
                documented=node.documented,
                owner_team=node.owner_team,
                domain=node.domain,
                producers=[(graph.nodes[edge.source].name, edge.flow.value) for edge in producing],
                topics=[graph.nodes[edge.target].name for edge in graph.out_edges(key, EdgeKind.PUBLISHED_TO)],
                events=sum(edge.events for edge in published),
                last_seen_ms=max(seen, default=None),
            )
        )
    return found


def _written_in_window(graph: LineageGraph, topic: str) -> bool:
    return any(edge.observed and edge.events > 0 for edge in graph.in_edges(topic, EdgeKind.PUBLISHED_TO))


def _teams(graph: LineageGraph, services: list[str]) -> list[str]:
    teams = {_team_of(graph, f"{NodeKind.SERVICE.value}:{name}") for name in services}
    return sorted(team for team in teams if team)


def ghost_consumers(graph: LineageGraph) -> list[Ghost]:
    """Groups reading topics nothing was produced to in the window, then services declaring they
    consume event types no one produces."""
    found = []
    for key, node in sorted(graph.nodes.items()):
        if node.kind is not NodeKind.GROUP:
            continue
        for reading in graph.in_edges(key, EdgeKind.READ_BY):
            if _written_in_window(graph, reading.source):
                continue
            types = [edge.source for edge in graph.in_edges(reading.source, EdgeKind.PUBLISHED_TO)]
            producers = {
                graph.nodes[edge.source].name
                for event_type in types
                for edge in graph.in_edges(event_type, EdgeKind.PRODUCES)
                if edge.declared
            }
            services = list(node.services)
            found.append(
                Ghost(
                    basis="subscription",
                    group=node.name,
                    services=services,
                    owner_teams=_teams(graph, services),
                    topic=graph.nodes[reading.source].name,
                    event_type=None,
                    declared_producers=sorted(producers),
                )
            )
    for key, node in sorted(graph.nodes.items()):
        if node.kind is not NodeKind.EVENT_TYPE or graph.in_edges(key, EdgeKind.PRODUCES):
            continue
        if any(edge.observed for edge in graph.out_edges(key, EdgeKind.PUBLISHED_TO)):
            continue
        for consuming in graph.out_edges(key, EdgeKind.CONSUMES):
            consumer = graph.nodes[consuming.target]
            services = [consumer.name] if consumer.kind is NodeKind.SERVICE else list(consumer.services)
            found.append(
                Ghost(
                    basis="declaration",
                    group=None if consumer.kind is NodeKind.SERVICE else consumer.name,
                    services=services,
                    owner_teams=_teams(graph, services),
                    topic=None,
                    event_type=node.name,
                    declared_producers=[],
                )
            )
    return found


def _drift_item(graph: LineageGraph, edge: Edge) -> DriftItem:
    if edge.kind is EdgeKind.PRODUCES:
        actor: Node = graph.nodes[edge.source]
        event_type = graph.nodes[edge.target]
    else:
        actor, event_type = graph.nodes[edge.target], graph.nodes[edge.source]
    is_service = actor.kind is NodeKind.SERVICE
    return DriftItem(
        kind=edge.kind.value,
        service=actor.name if is_service else None,
        event_type=event_type.name,
        documented=event_type.documented,
        owner_team=actor.owner_team if is_service else None,
        topics=list(edge.topics),
        groups=list(edge.groups),
        events=edge.events,
        last_seen_ms=edge.last_seen_ms,
    )


def drift(graph: LineageGraph) -> Drift:
    """Observed but undeclared flows, and declared flows not observed in the window, each sorted
    by event type, producers before consumers, then service."""
    undeclared, unobserved = [], []
    for edge in graph.edges.values():
        if edge.kind not in (EdgeKind.PRODUCES, EdgeKind.CONSUMES):
            continue
        if edge.observed and not edge.declared:
            undeclared.append(_drift_item(graph, edge))
        elif edge.declared and not edge.observed:
            unobserved.append(_drift_item(graph, edge))

    def order(item: DriftItem) -> tuple[str, bool, str]:
        return (item.event_type, item.kind != EdgeKind.PRODUCES.value, item.service or ",".join(item.groups))

    return Drift(undeclared=sorted(undeclared, key=order), unobserved=sorted(unobserved, key=order))
