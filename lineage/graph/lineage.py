"""The lineage graph and its traversals: neighbourhoods, upstream and downstream, paths, cycles.

Two networkx digraphs share the same node ids: `graph` holds every edge (the broker layer too),
`logical` only `produces` and `consumes`, so that depth counts service and event-type hops and
paths and cycles run between services, not through topics."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import networkx as nx

from lineage.graph.model import Edge, EdgeKind, Node, NodeKind, node_id, split_node_id

Direction = Literal["downstream", "upstream"]

DEFAULT_NODE_LIMIT = 300


@dataclass(frozen=True)
class Neighbourhood:
    """A part of the graph to draw: nodes with their distance from the focus (None for topics and
    groups shown only to say how events travel), the edges between them, and whether the node
    limit cut it short."""

    focus: str | None
    depth: int
    nodes: list[tuple[Node, int | None]]
    edges: list[Edge]
    truncated: bool
    estate_nodes: int
    message: str = ""


@dataclass(frozen=True)
class Reached:
    node: Node
    depth: int


@dataclass(frozen=True)
class Path:
    nodes: list[str]
    edges: list[Edge]

    @property
    def hops(self) -> int:
        return len(self.nodes) - 1

    @property
    def services(self) -> list[str]:
        prefix = NodeKind.SERVICE.value + ":"
        return [key[len(prefix) :] for key in self.nodes if key.startswith(prefix)]


class LineageGraph:
    """Services, event types, topics and consumer groups with declared and observed flows over
    one window. Build it with `lineage.graph.build_lineage`; read it, never change it.

    Walks (neighbourhoods, upstream, downstream, findings, impact) read plain adjacency lists
    made in one pass over the edges; the networkx digraphs (`graph`, `logical`) that paths and
    cycles run on are made the first time they are asked for, so a request that only draws a
    neighbourhood never pays for them."""

    def __init__(
        self, nodes: dict[str, Node], edges: dict[tuple[str, str], Edge], *, window_ms: int, now_ms: int
    ) -> None:
        self.nodes = nodes
        self.edges = edges
        self.window_ms = window_ms
        self.now_ms = now_ms
        succ: dict[str, list[str]] = {key: [] for key in nodes}
        pred: dict[str, list[str]] = {key: [] for key in nodes}
        logical_kinds = (NodeKind.SERVICE, NodeKind.EVENT_TYPE)
        logical_succ: dict[str, list[str]] = {key: [] for key, node in nodes.items() if node.kind in logical_kinds}
        logical_pred: dict[str, list[str]] = {key: [] for key in logical_succ}
        produces, consumes = EdgeKind.PRODUCES, EdgeKind.CONSUMES
        for (source, target), edge in edges.items():
            succ[source].append(target)
            pred[target].append(source)
            # Identity, not set membership: an enum member's hash is computed in Python.
            if edge.kind is produces or edge.kind is consumes:
                if target not in logical_succ:  # a group whose service is unknown stands in as a consumer
                    logical_succ[target], logical_pred[target] = [], []
                logical_succ[source].append(target)
                logical_pred[target].append(source)
        self._succ, self._pred = succ, pred
        self._logical_succ, self._logical_pred = logical_succ, logical_pred
        self._graph: Any = None
        self._logical: Any = None

    @property
    def graph(self) -> Any:
        """Every node and edge as a networkx DiGraph (node ids; data in `nodes` and `edges`)."""
        if self._graph is None:
            graph = nx.DiGraph()
            graph.add_nodes_from(self.nodes)
            graph.add_edges_from(self.edges)
            self._graph = graph
        return self._graph

    @property
    def logical(self) -> Any:
        """Services, event types and stand-in groups with produces/consumes edges only, as a
        networkx DiGraph."""
        if self._logical is None:
            logical = nx.DiGraph()
            logical.add_nodes_from(self._logical_succ)
            logical.add_edges_from(
                (source, target) for source, targets in self._logical_succ.items() for target in targets
            )
            self._logical = logical
        return self._logical

    def is_logical(self, key: str) -> bool:
        return key in self._logical_succ

    # -- lookups -------------------------------------------------------------------------------

    def node(self, key: str) -> Node | None:
        return self.nodes.get(key)

    def edge(self, source: str, target: str) -> Edge | None:
        return self.edges.get((source, target))

    def resolve(self, text: str) -> str | None:
        """The node id for "kind:name", or for a bare name the first of service, event type,
        topic, group that has it."""
        text = text.strip()
        if split_node_id(text) is not None and text in self.nodes:
            return text
        for kind in NodeKind:
            key = node_id(kind, text)
            if key in self.nodes:
                return key
        return None

    def search(self, query: str, *, limit: int = 20) -> list[Node]:
        """Nodes whose name contains `query` (case-insensitive): exact matches, then prefixes,
        then the rest, shorter names first."""
        needle = query.strip().lower()
        if not needle:
            return []
        found = [node for node in self.nodes.values() if needle in node.name.lower()]
        found.sort(
            key=lambda n: (
                n.name.lower() != needle,
                not n.name.lower().startswith(needle),
                len(n.name),
                n.name.lower(),
                n.kind.value,
            )
        )
        return found[:limit]

    def successors(self, key: str) -> list[str]:
        return self._succ.get(key, [])

    def predecessors(self, key: str) -> list[str]:
        return self._pred.get(key, [])

    def out_edges(self, key: str, kind: EdgeKind | None = None) -> list[Edge]:
        found = [self.edges[(key, target)] for target in self._succ.get(key, ())]
        return sorted((e for e in found if kind is None or e.kind is kind), key=lambda e: e.target)

    def in_edges(self, key: str, kind: EdgeKind | None = None) -> list[Edge]:
        found = [self.edges[(source, key)] for source in self._pred.get(key, ())]
        return sorted((e for e in found if kind is None or e.kind is kind), key=lambda e: e.source)

    def logical_nodes(self) -> list[str]:
        return list(self._logical_succ)

    def _logical_step(self, key: str, direction: Direction) -> list[str]:
        adjacency = self._logical_succ if direction == "downstream" else self._logical_pred
        return adjacency.get(key, [])

    # -- traversals ----------------------------------------------------------------------------

    def seeds(self, focus: str, direction: Direction) -> dict[str, int]:
        """Where a walk from `focus` starts in the logical layer, with the distance of each start.

        A service or event type starts from itself. A topic starts downstream from the consumers
        of the groups reading it and upstream from the event types published to it; a group
        downstream from its services and upstream from the event types on the topics it reads.
        A group whose services are unknown stands in for them and starts from itself."""
        node = self.nodes[focus]
        if self.is_logical(focus):
            return {focus: 0}
        if node.kind is NodeKind.TOPIC:
            topics = [focus]
        else:
            topics = [edge.source for edge in self.in_edges(focus, EdgeKind.READ_BY)]
        starts: dict[str, int] = {}
        if direction == "upstream":
            for topic in topics:
                for edge in self.in_edges(topic, EdgeKind.PUBLISHED_TO):
                    starts[edge.source] = 1
        elif node.kind is NodeKind.TOPIC:
            for reading in self.out_edges(focus, EdgeKind.READ_BY):
                for consumer in self._group_consumers(reading.target):
                    starts[consumer] = 1
        else:
            for consumer in self._group_consumers(focus):
                starts[consumer] = 1
        return starts

    def _group_consumers(self, group: str) -> list[str]:
        if self.is_logical(group):
            return [group]
        return [edge.target for edge in self.out_edges(group, EdgeKind.RUNS_IN)]

    def reach(
        self, focus: str, depth: int, direction: Direction, *, keep: Callable[[Node], bool] | None = None
    ) -> dict[str, int]:
        """Nodes reached from `focus` following `direction` within `depth` logical hops, with
        their distance (the focus itself excluded). `keep(node) -> bool` limits where the walk
        may go."""
        distance = dict(self.seeds(focus, direction))
        frontier = [key for key, d in distance.items() if d < depth]
        level = min(distance.values(), default=0)
        while frontier and level < depth:
            level += 1
            next_frontier = []
            for key in frontier:
                for neighbour in self._logical_step(key, direction):
                    if neighbour in distance or (keep is not None and not keep(self.nodes[neighbour])):
                        continue
                    distance[neighbour] = level
                    next_frontier.append(neighbour)
            frontier = next_frontier
        distance.pop(focus, None)
        return distance

    def downstream(self, focus: str, depth: int) -> list[Reached]:
        return self._reached(self.reach(focus, depth, "downstream"))

    def upstream(self, focus: str, depth: int) -> list[Reached]:
        return self._reached(self.reach(focus, depth, "upstream"))

    def _reached(self, distance: dict[str, int]) -> list[Reached]:
        return [Reached(self.nodes[key], d) for key, d in sorted(distance.items(), key=lambda item: (item[1], item[0]))]

    def induced_edges(self, keys: set[str], *, logical_only: bool = False) -> list[Edge]:
        """Every edge between two of `keys`, sorted by id."""
        found: list[Edge] = []
        adjacency = self._logical_succ if logical_only else self._succ
        for key in keys:
            found.extend(self.edges[(key, target)] for target in adjacency.get(key, ()) if target in keys)
        return sorted(found, key=lambda e: (e.source, e.target))

    def neighbourhood(
        self,
        focus: str | None,
        depth: int,
        *,
        domain: str | None = None,
        team: str | None = None,
        limit: int = DEFAULT_NODE_LIMIT,
        broker: bool = True,
    ) -> Neighbourhood:
        """What the graph page draws: the focus, what is upstream and downstream of it within
        `depth` hops (services and event types of `domain` / `team` only, when given), the topics
        and groups between them (`broker`), and every edge among those nodes. At most `limit`
        services and event types, nearest first. Without a focus: the whole estate when it fits in
        `limit`, else its `limit` most connected nodes, and a message saying so."""

        def keep(node: Node) -> bool:
            if node.kind not in (NodeKind.SERVICE, NodeKind.EVENT_TYPE):
                return True
            return (domain is None or node.domain == domain) and (team is None or node.owner_team == team)

        logical = self.logical_nodes()
        message = ""
        distance: dict[str, int | None] = {}
        truncated = False
        if focus is None:
            candidates = [key for key in logical if keep(self.nodes[key])]
            if len(candidates) > limit:
                candidates.sort(key=lambda key: (-len(self._logical_succ[key]) - len(self._logical_pred[key]), key))
                candidates = candidates[:limit]
                truncated = True
                message = (
                    f"The estate has {len(logical):,} services and event types; showing the {limit} most connected. "
                    "Pick a focus to see a neighbourhood."
                )
            distance = dict.fromkeys(candidates)
        else:
            merged = self.reach(focus, depth, "downstream", keep=keep)
            for key, d in self.reach(focus, depth, "upstream", keep=keep).items():
                merged[key] = min(d, merged.get(key, d))
            ordered = sorted(merged.items(), key=lambda item: (item[1], item[0]))
            if len(ordered) > limit:
                ordered, truncated = ordered[:limit], True
                message = f"More than {limit} nodes are within {depth} hops; showing the {limit} nearest."
            distance = {focus: 0, **dict(ordered)}
        if broker:
            self._add_broker_layer(distance, focus)
        keys = set(distance)
        nodes = [(self.nodes[key], distance[key]) for key in sorted(keys)]
        return Neighbourhood(
            focus=focus,
            depth=depth,
            nodes=nodes,
            edges=self.induced_edges(keys, logical_only=not broker),
            truncated=truncated,
            estate_nodes=len(logical),
            message=message,
        )

    def _add_broker_layer(self, distance: dict[str, int | None], focus: str | None) -> None:
        """Topics the shown event types travel on, and the groups through which shown consumers
        read them."""
        shown = list(distance)
        for key in shown:
            node = self.nodes[key]
            if node.kind is not NodeKind.EVENT_TYPE:
                continue
            for edge in self.out_edges(key):
                if edge.kind is EdgeKind.PUBLISHED_TO:
                    distance.setdefault(edge.target, None)
                elif edge.target in distance:
                    for group in edge.groups:
                        distance.setdefault(node_id(NodeKind.GROUP, group), None)
        if focus is not None and self.nodes[focus].kind in (NodeKind.TOPIC, NodeKind.GROUP):
            neighbours = self.out_edges(focus) + self.in_edges(focus)
            for edge in neighbours:
                other = edge.target if edge.source == focus else edge.source
                if self.nodes[other].kind in (NodeKind.TOPIC, NodeKind.GROUP):
                    distance.setdefault(other, None)

    def paths(self, source: str, target: str, *, max_hops: int = 12, limit: int = 50) -> tuple[list[Path], bool]:
        """Simple paths from `source` to `target` along produces/consumes, at most `max_hops`
        edges long, shortest first (then by node ids); True when `limit` cut the list short."""
        if source == target or not self.is_logical(source) or not self.is_logical(target):
            return [], False
        found: list[Path] = []
        truncated = False
        generator: Iterator[list[str]] = nx.shortest_simple_paths(self.logical, source, target)
        try:
            for nodes in generator:
                if len(nodes) - 1 > max_hops:
                    break
                if len(found) == limit:
                    truncated = True
                    break
                edges = [self.edges[(a, b)] for a, b in zip(nodes, nodes[1:], strict=False)]
                found.append(Path(nodes=list(nodes), edges=edges))
        except nx.NetworkXNoPath:
            pass
        found.sort(key=lambda path: (path.hops, path.nodes))
        return found, truncated

    def cycles(self, *, max_length: int = 12, limit: int = 100) -> tuple[list[list[str]], bool]:
        """Flows that come back to where they started (service -> event -> service -> ...), each
        starting at its alphabetically first service; True when `limit` cut the list short."""
        found: list[list[str]] = []
        truncated = False
        generator: Iterator[list[str]] = nx.simple_cycles(self.logical, length_bound=max_length)
        for cycle in generator:
            if len(found) == limit:
                truncated = True
                break
            services = [key for key in cycle if self.nodes[key].kind is NodeKind.SERVICE] or list(cycle)
            start = cycle.index(min(services))
            found.append(list(cycle[start:]) + list(cycle[:start]))
        found.sort(key=lambda c: (len(c), c))
        return found, truncated
