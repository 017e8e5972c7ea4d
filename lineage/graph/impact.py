"""Impact analysis: who would break when an event type changes (its direct consumers), and who
is downstream of them (consumers of what they produce in turn, transitively)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from lineage.graph.lineage import LineageGraph
from lineage.graph.model import Edge, EdgeKind, NodeKind, node_id


@dataclass(frozen=True)
class ImpactRow:
    """One way a consumer is affected: it consumes `event_type`, which is the changed type
    (depth 1: it would break) or is produced by a consumer affected at depth - 1 (named in `via`:
    it is downstream, and breaks only if that consumer passes the change on)."""

    consumer: str  # node id: "service:x", or "group:g" when the group's service is unknown
    service: str  # the service's name (the group's name when unknown)
    consumer_kind: str
    owner_team: str | None
    domain: str | None
    event_type: str
    depth: int
    flow: str  # declared | observed | both
    via: list[str]
    produces: list[str]
    groups: list[str]
    topics: list[str]
    events: int
    last_seen_ms: int | None

    @property
    def breaks(self) -> bool:
        """Reads the changed type itself, so the change reaches its code unmediated."""
        return self.depth == 1

    def as_dict(self) -> dict[str, object]:
        return {
            "breaks": self.breaks,
            "service": self.service,
            "consumer_kind": self.consumer_kind,
            "owner_team": self.owner_team,
            "domain": self.domain,
            "event_type": self.event_type,
            "depth": self.depth,
            "flow": self.flow,
            "via": list(self.via),
            "produces": list(self.produces),
            "groups": list(self.groups),
            "topics": list(self.topics),
            "events": self.events,
            "last_seen_ms": self.last_seen_ms,
        }


def impact(
    graph: LineageGraph,
    event_types: Sequence[str],
    *,
    on_topics: Collection[str] | None = None,
    max_depth: int = 10,
) -> list[ImpactRow]:
    """Consumers of `event_types` (depth 1, who would break), then consumers of what those
    consumers produce (depth 2, downstream), and so on.

    With `on_topics` (the topics a registry subject governs), depth 1 keeps only consumers that
    declare the type or were seen reading it on one of those topics: a reader of the same type
    on another topic reads another subject's schema and is not touched, nor is what it produces.
    Each consumer is listed at the first depth it is reached, once per event type by which it is
    reached there; its `produces` is everything it produces, and the event types not yet seen
    among them are followed to the next depth. Sorted by depth, event type, consumer."""
    frontier: dict[str, set[str]] = {}
    for name in event_types:
        key = node_id(NodeKind.EVENT_TYPE, name)
        if key in graph.nodes:
            frontier[key] = set()
    seen_types = set(frontier)
    first_depth: dict[str, int] = {}
    rows: list[ImpactRow] = []
    depth = 1
    while frontier and depth <= max_depth:
        reached: list[str] = []
        for type_key in sorted(frontier):
            for edge in graph.out_edges(type_key, EdgeKind.CONSUMES):
                if depth == 1 and on_topics is not None:
                    edge = _on_topics(edge, on_topics)
                    if not edge.declared and not edge.observed:
                        continue
                consumer = edge.target
                if first_depth.get(consumer, depth) < depth:
                    continue
                if consumer not in first_depth:
                    first_depth[consumer] = depth
                    reached.append(consumer)
                node = graph.nodes[consumer]
                produces = [graph.nodes[out.target].name for out in graph.out_edges(consumer, EdgeKind.PRODUCES)]
                rows.append(
                    ImpactRow(
                        consumer=consumer,
                        service=node.name,
                        consumer_kind=node.kind.value,
                        owner_team=node.owner_team,
                        domain=node.domain,
                        event_type=graph.nodes[type_key].name,
                        depth=depth,
                        flow=edge.flow.value,
                        via=sorted(frontier[type_key]),
                        produces=produces,
                        groups=list(edge.groups),
                        topics=list(edge.topics),
                        events=edge.events,
                        last_seen_ms=edge.last_seen_ms,
                    )
                )
        next_frontier: dict[str, set[str]] = {}
        for consumer in reached:
            for out in graph.out_edges(consumer, EdgeKind.PRODUCES):
                if out.target not in seen_types:
                    next_frontier.setdefault(out.target, set()).add(graph.nodes[consumer].name)
        seen_types.update(next_frontier)
        frontier = next_frontier
        depth += 1
    return rows


def _on_topics(edge: Edge, topics: Collection[str]) -> Edge:
    """`edge` as far as it runs over `topics`: observed only if it was seen reading one of them.
    Its traffic stays whole when it is (the graph does not split a consumer's reads by topic)."""
    kept = tuple(topic for topic in edge.topics if topic in topics)
    if kept == edge.topics:
        return edge
    return Edge(
        edge.source,
        edge.target,
        edge.kind,
        declared=edge.declared,
        observed=edge.observed and bool(kept),
        events=edge.events if kept else 0,
        last_seen_ms=edge.last_seen_ms if kept else None,
        topics=kept,
        groups=edge.groups if kept else (),
    )


def split_impact(rows: Sequence[ImpactRow]) -> tuple[list[ImpactRow], list[ImpactRow]]:
    """(who would break, who is downstream of them), each in the rows' order."""
    return [row for row in rows if row.breaks], [row for row in rows if not row.breaks]


def affected_services(rows: Sequence[ImpactRow]) -> list[tuple[str, str | None]]:
    """(consumer, owner team) once each, in the order the rows first name them."""
    seen: dict[str, str | None] = {}
    for row in rows:
        seen.setdefault(row.service, row.owner_team)
    return list(seen.items())
