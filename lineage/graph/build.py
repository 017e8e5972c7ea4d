"""Build the lineage graph in two layers.

`ObservedIndex` is what the broker saw over a window, indexed the way the build reads it: who
produced which type to which topic, who read which topic (per consuming service, or per group when
its service is unknown), and the topics, groups and broker-layer edges (`read_by`, `runs_in`) that
only observations make. It is made once per window's observations and shared, read-only, by every
graph built on them.

`lineage_on(index, estate)` lays the catalog's declarations over an index: nodes with their owners
and domains, `published_to`, `produces` and `consumes` edges marked declared, observed or both.
A catalog edit builds again on the same index, so only this part is redone."""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from lineage.graph.lineage import LineageGraph
from lineage.graph.model import (
    ConsumedFacts,
    DeclaredFlowFacts,
    Edge,
    EdgeKind,
    Estate,
    GroupFacts,
    Node,
    NodeKind,
    ProducedFacts,
    node_id,
)

PRODUCER = "producer"
CONSUMER = "consumer"

# Node ids are built tens of thousands of times per build: plain string prefixes, not enum formatting.
_SERVICE = node_id(NodeKind.SERVICE, "")
_EVENT_TYPE = node_id(NodeKind.EVENT_TYPE, "")
_TOPIC = node_id(NodeKind.TOPIC, "")
_GROUP = node_id(NodeKind.GROUP, "")

Pair = tuple[str, str]


@dataclass(slots=True)
class _Seen:
    """Events seen on one flow over the window, summed, with the latest time."""

    events: int = 0
    last_seen_ms: int = 0
    topics: set[str] = field(default_factory=set)
    groups: set[str] = field(default_factory=set)

    def add(self, events: int, last_seen_ms: int) -> None:
        self.events += events
        if last_seen_ms > self.last_seen_ms:
            self.last_seen_ms = last_seen_ms


def _sorted_tuple(values: set[str]) -> tuple[str, ...]:
    return tuple(sorted(values)) if len(values) > 1 else tuple(values)


def _observed_edge(source: str, target: str, kind: EdgeKind, seen: _Seen) -> Edge:
    return Edge(source, target, kind, observed=True, events=seen.events, last_seen_ms=seen.last_seen_ms)


class ObservedIndex:
    """The broker's observations over one window, ready for `lineage_on`. Read it, never change it:
    graphs share its topic and group nodes and its `read_by` and `runs_in` edges."""

    def __init__(
        self,
        *,
        window_ms: int,
        now_ms: int,
        produced: Iterable[ProducedFacts],
        consumed: Iterable[ConsumedFacts],
        groups: Iterable[GroupFacts],
    ) -> None:
        self.window_ms = window_ms
        self.now_ms = now_ms
        # (event type, topic) and (service, event type): what was produced, with its topics.
        self.published: dict[Pair, _Seen] = defaultdict(_Seen)
        self.produces: dict[Pair, _Seen] = defaultdict(_Seen)
        # topic -> event type -> events produced there, and the sum per topic.
        self.produced_on: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.produced_total: dict[str, int] = {}
        # consumer node id (a service, or a group whose service is unknown) -> topic -> reads.
        self.reads: dict[str, dict[str, _Seen]] = defaultdict(lambda: defaultdict(_Seen))
        self.services: set[str] = set()  # every service the observations name
        self.nodes: dict[str, Node] = {}  # topics and groups
        self.edges: dict[Pair, Edge] = {}  # read_by and runs_in
        for row in produced:
            self._produced(row)
        self.produced_total = {topic: sum(types.values()) for topic, types in self.produced_on.items()}
        self._consumed(tuple(consumed), tuple(groups))
        # Plain dicts from here: a lookup must not add what it does not find.
        self.published, self.produces = dict(self.published), dict(self.produces)
        self.produced_on = {topic: dict(types) for topic, types in self.produced_on.items()}
        self.reads = {consumer: dict(by_topic) for consumer, by_topic in self.reads.items()}
        self.published_by_type: dict[str, list[tuple[str, _Seen]]] = defaultdict(list)
        for (type_name, topic), seen in self.published.items():
            self.published_by_type[type_name].append((topic, seen))
        self.published_by_type = dict(self.published_by_type)
        self.readers_of: dict[str, set[str]] = defaultdict(set)  # topic -> consumers
        for consumer, by_topic in self.reads.items():
            for topic in by_topic:
                self.readers_of[topic].add(consumer)
        self.readers_of = dict(self.readers_of)

    def _produced(self, row: ProducedFacts) -> None:
        if row.events <= 0 or not row.event_type:
            return
        self._topic(row.topic)
        self.published[(row.event_type, row.topic)].add(row.events, row.last_seen_ms)
        if row.service:
            self.services.add(row.service)
            producing = self.produces[(row.service, row.event_type)]
            producing.add(row.events, row.last_seen_ms)
            producing.topics.add(row.topic)
        self.produced_on[row.topic][row.event_type] += row.events

    def _topic(self, name: str) -> str:
        key = _TOPIC + name
        if key not in self.nodes:
            self.nodes[key] = Node(key, NodeKind.TOPIC, name)
        return key

    def _group(self, name: str) -> str:
        key = _GROUP + name
        if key not in self.nodes:
            self.nodes[key] = Node(key, NodeKind.GROUP, name)
        return key

    def _consumed(self, consumed: tuple[ConsumedFacts, ...], groups: tuple[GroupFacts, ...]) -> None:
        """Who read which topic, through which groups; a group's services are its members now and
        those seen reading for it in the window, else those seen reading for it before."""
        seen_services: dict[str, set[str]] = defaultdict(set)
        for row in consumed:
            if row.service:
                seen_services[row.group].add(row.service)
        facts = {group.name: group for group in groups}

        def services_of(group: str) -> tuple[str, ...]:
            known = facts.get(group)
            now = set(known.member_services if known else ()) | seen_services.get(group, set())
            if not now and known is not None:
                now = set(known.past_services)
            return tuple(sorted(now))

        read_by: dict[Pair, _Seen] = defaultdict(_Seen)
        runs_in: dict[Pair, _Seen] = defaultdict(_Seen)
        for row in consumed:
            if row.events <= 0:
                continue
            group_key = self._group(row.group)
            read_by[(self._topic(row.topic), group_key)].add(row.events, row.last_seen_ms)
            readers = [row.service] if row.service else list(services_of(row.group))
            self.services.update(readers)
            for consumer in [_SERVICE + name for name in readers] or [group_key]:
                if consumer != group_key:
                    runs_in[(group_key, consumer)].add(row.events, row.last_seen_ms)
                read = self.reads[consumer][row.topic]
                read.add(row.events, row.last_seen_ms)
                read.groups.add(row.group)
        edges = self.edges
        for pair, seen in read_by.items():
            edges[pair] = _observed_edge(*pair, EdgeKind.READ_BY, seen)
        for pair, seen in runs_in.items():
            edges[pair] = _observed_edge(*pair, EdgeKind.RUNS_IN, seen)
        for group in groups:
            if not group.subscribed_topics and group.name not in seen_services:
                continue
            group_key = self._group(group.name)
            for topic in group.subscribed_topics:
                pair = (self._topic(topic), group_key)
                if pair not in edges:
                    edges[pair] = Edge(*pair, EdgeKind.READ_BY, observed=True)
                edges[pair].subscribed = True
            for service in services_of(group.name):
                self.services.add(service)
                pair = (group_key, _SERVICE + service)
                if pair not in edges:
                    edges[pair] = Edge(*pair, EdgeKind.RUNS_IN, observed=True)
        for node in self.nodes.values():
            if node.kind is NodeKind.GROUP:
                node.services = services_of(node.name)


def observed_index(estate: Estate) -> ObservedIndex:
    return ObservedIndex(
        window_ms=estate.window_ms,
        now_ms=estate.now_ms,
        produced=estate.produced,
        consumed=estate.consumed,
        groups=estate.groups,
    )


class _Overlay:
    """The catalog's declarations over an ObservedIndex: one graph, built whole, or from `base`
    (a graph on the same index) by redoing only what a catalog edit touched."""

    def __init__(self, index: ObservedIndex, estate: Estate, base: LineageGraph | None = None) -> None:
        self.index = index
        self.base = base
        self.nodes: dict[str, Node] = dict(base.nodes if base is not None else index.nodes)
        self.edges: dict[Pair, Edge] = dict(base.edges if base is not None else index.edges)
        self.services = {facts.name: facts for facts in estate.services}
        self.event_types = {facts.name: facts for facts in estate.event_types}
        self.declared_produced: set[Pair] = set()  # (service, event type)
        self.declared_consumed: dict[str, set[str]] = defaultdict(set)  # service -> event types
        self.flow_services: set[str] = set()
        self.flow_types: set[str] = set()
        for flow in estate.declared:
            if flow.role == PRODUCER:
                self.declared_produced.add((flow.service, flow.event_type))
            elif flow.role == CONSUMER:
                self.declared_consumed[flow.service].add(flow.event_type)
            else:
                continue
            self.flow_services.add(flow.service)
            self.flow_types.add(flow.event_type)
        self.catalog_topics: set[str] = set()
        self.types_on_topic: dict[str, set[str]] = defaultdict(set)
        for event_type in estate.event_types:
            for topic in event_type.topics:
                self.types_on_topic[topic].add(event_type.name)
        self.catalog_topics.update(self.types_on_topic)
        for type_name, topic in index.published:
            self.types_on_topic[topic].add(type_name)

    # -- nodes: one rule for whether each exists, for the whole build and the patch alike ------

    def _service_node(self, key: str, name: str) -> Node:
        facts = self.services.get(name)
        if facts is None:
            return Node(key, NodeKind.SERVICE, name, documented=False)
        return Node(
            key, NodeKind.SERVICE, name, owner_team=facts.owner_team, domain=facts.domain, documented=facts.documented
        )

    def _event_type_node(self, key: str, name: str) -> Node:
        facts = self.event_types.get(name)
        if facts is None:
            return Node(key, NodeKind.EVENT_TYPE, name, documented=False)
        return Node(
            key,
            NodeKind.EVENT_TYPE,
            name,
            owner_team=facts.owner_team,
            domain=facts.domain,
            lifecycle=facts.lifecycle,
            subject=facts.subject,
        )

    def _refresh_service(self, name: str) -> None:
        key = _SERVICE + name
        facts = self.services.get(name)
        if (facts is not None and facts.documented) or name in self.index.services or name in self.flow_services:
            self.nodes[key] = self._service_node(key, name)
        else:
            self.nodes.pop(key, None)

    def _refresh_event_type(self, name: str) -> None:
        key = _EVENT_TYPE + name
        if name in self.event_types or name in self.index.published_by_type or name in self.flow_types:
            self.nodes[key] = self._event_type_node(key, name)
        else:
            self.nodes.pop(key, None)

    def _refresh_topic(self, name: str) -> None:
        key = _TOPIC + name
        if key in self.index.nodes:
            self.nodes[key] = self.index.nodes[key]
        elif name in self.catalog_topics:
            self.nodes[key] = Node(key, NodeKind.TOPIC, name)
        else:
            self.nodes.pop(key, None)

    # -- edges, per what owns them: an event type its topics, a pair its production, a consumer
    # -- what it consumes ----------------------------------------------------------------------

    def _drop(self, keys: Iterable[Pair], kind: EdgeKind) -> None:
        for pair in keys:
            edge = self.edges.get(pair)
            if edge is not None and edge.kind is kind:
                del self.edges[pair]

    def _published(self, name: str) -> None:
        """`published_to` edges of one event type: declared by its topics, observed where it was
        produced."""
        key, edges = _EVENT_TYPE + name, self.edges
        facts = self.event_types.get(name)
        for topic in facts.topics if facts is not None else ():
            edges[(key, _TOPIC + topic)] = Edge(key, _TOPIC + topic, EdgeKind.PUBLISHED_TO, declared=True)
        for topic, seen in self.index.published_by_type.get(name, ()):
            pair = (key, _TOPIC + topic)
            edge = edges[pair] = _observed_edge(*pair, EdgeKind.PUBLISHED_TO, seen)
            edge.declared = facts is not None and topic in facts.topics

    def _produces(self, service: str, type_name: str) -> None:
        """The `produces` edge of one service and event type, or none."""
        pair = (_SERVICE + service, _EVENT_TYPE + type_name)
        declared = (service, type_name) in self.declared_produced
        seen = self.index.produces.get((service, type_name))
        if seen is not None:
            edge = self.edges[pair] = _observed_edge(*pair, EdgeKind.PRODUCES, seen)
            edge.declared, edge.topics = declared, _sorted_tuple(seen.topics)
        elif declared:
            self.edges[pair] = Edge(*pair, EdgeKind.PRODUCES, declared=True)
        else:
            self.edges.pop(pair, None)

    def _consumer(self, consumer: str) -> None:
        """The `consumes` edges into one consumer (a service, or a group standing in for its
        unknown service). Declared: the catalog says so. Observed: the consumer read a topic on
        which the type was produced in the window, unless it declares other types on that topic
        and not this one (a service that names what it reads there is taken at its word). Its
        reads of a topic are shared out among the types by each type's part of what was produced
        there."""
        edges, produced_on, produced_total = self.edges, self.index.produced_on, self.index.produced_total
        is_service = consumer.startswith(_SERVICE)
        declared_here = self.declared_consumed.get(consumer[len(_SERVICE) :], _NOTHING) if is_service else _NOTHING
        seen: dict[str, _Seen] = {}
        for topic, read in self.index.reads.get(consumer, _NO_READS).items():
            produced = produced_on.get(topic)
            if not produced:
                continue
            total = produced_total[topic]
            read_types: Iterable[str] = produced
            if declared_here and not declared_here.isdisjoint(self.types_on_topic[topic]):
                read_types = [name for name in declared_here if name in produced]
            # The hot loop of a large build: _Seen.add inlined.
            for type_name in read_types:
                consuming = seen.get(type_name)
                if consuming is None:
                    consuming = seen[type_name] = _Seen()
                consuming.events += round(read.events * produced[type_name] / total)
                if read.last_seen_ms > consuming.last_seen_ms:
                    consuming.last_seen_ms = read.last_seen_ms
                consuming.topics.add(topic)
                consuming.groups.update(read.groups)
        for type_name, consuming in seen.items():
            pair = (_EVENT_TYPE + type_name, consumer)
            edge = edges[pair] = _observed_edge(*pair, EdgeKind.CONSUMES, consuming)
            edge.topics, edge.groups = _sorted_tuple(consuming.topics), _sorted_tuple(consuming.groups)
            edge.declared = type_name in declared_here
        for type_name in declared_here:
            if type_name not in seen:
                pair = (_EVENT_TYPE + type_name, consumer)
                edges[pair] = Edge(*pair, EdgeKind.CONSUMES, declared=True)

    # -- whole and patched ---------------------------------------------------------------------

    def build(self) -> LineageGraph:
        index = self.index
        for name in dict.fromkeys([*self.services, *index.services, *self.flow_services]):
            self._refresh_service(name)
        type_names = dict.fromkeys([*self.event_types, *index.published_by_type, *self.flow_types])
        for name in type_names:
            self._refresh_event_type(name)
        for topic in self.catalog_topics:
            self._refresh_topic(topic)
        for name in type_names:
            self._published(name)
        for service, type_name in self.declared_produced | index.produces.keys():
            self._produces(service, type_name)
        for consumer in dict.fromkeys([*index.reads, *(_SERVICE + name for name in self.declared_consumed)]):
            self._consumer(consumer)
        return LineageGraph(self.nodes, self.edges, window_ms=index.window_ms, now_ms=index.now_ms)

    def patch(self, diff: _CatalogDiff) -> LineageGraph:
        """`base` with what `diff` changed redone: the changed services' and event types' nodes,
        the changed types' topics, the changed producing flows, and every consumer that declares
        a changed flow or reads a topic whose event types changed."""
        base = self.base
        assert base is not None
        flows = diff.flows
        services = diff.services | {flow.service for flow in flows}
        event_types = diff.event_types
        topics = diff.topics
        for name in services:
            self._refresh_service(name)
        for name in event_types | {flow.event_type for flow in flows}:
            self._refresh_event_type(name)
        for topic in topics:
            self._refresh_topic(topic)
        for name in event_types:
            key = _EVENT_TYPE + name
            self._drop(((key, target) for target in base.successors(key)), EdgeKind.PUBLISHED_TO)
            self._published(name)
        for flow in flows:
            if flow.role == PRODUCER:
                self._produces(flow.service, flow.event_type)
        consumers = {_SERVICE + flow.service for flow in flows if flow.role == CONSUMER}
        for topic in topics:
            consumers.update(self.index.readers_of.get(topic, ()))
        for consumer in consumers:
            self._drop(((source, consumer) for source in base.predecessors(consumer)), EdgeKind.CONSUMES)
            self._consumer(consumer)
        return LineageGraph(self.nodes, self.edges, window_ms=self.index.window_ms, now_ms=self.index.now_ms)


_NOTHING: frozenset[str] = frozenset()
_NO_READS: dict[str, _Seen] = {}

# Past this many changed services, event types and flows, a whole build is quicker than a patch.
PATCH_LIMIT = 2_000


def lineage_on(
    index: ObservedIndex, estate: Estate, *, base: LineageGraph | None = None, base_estate: Estate | None = None
) -> LineageGraph:
    """The lineage graph of the catalog in `estate` over the observations of `index` (the
    estate's own observed facts are not read). Given `base`, a graph on the same index built
    from `base_estate`'s catalog, only what the catalog changed since is redone."""
    # A large estate allocates tens of thousands of small objects and no reference cycles; the
    # cyclic collector would rescan the whole heap several times meanwhile, so it waits.
    collecting = gc.isenabled()
    gc.disable()
    try:
        if base is not None and base_estate is not None:
            diff = _CatalogDiff.of(base_estate, estate)
            if diff.size <= PATCH_LIMIT:
                return _Overlay(index, estate, base).patch(diff)
        return _Overlay(index, estate).build()
    finally:
        if collecting:
            gc.enable()


@dataclass(frozen=True)
class _CatalogDiff:
    """What differs between two catalogs: names of services and event types whose facts changed
    (added, removed or edited), the topics those event types are or were on, and declared flows
    added or removed."""

    services: set[str]
    event_types: set[str]
    topics: set[str]
    flows: set[DeclaredFlowFacts]

    @property
    def size(self) -> int:
        return len(self.services) + len(self.event_types) + len(self.flows)

    @classmethod
    def of(cls, before: Estate, after: Estate) -> _CatalogDiff:
        changed_types = set(before.event_types).symmetric_difference(after.event_types)
        return cls(
            services={facts.name for facts in set(before.services).symmetric_difference(after.services)},
            event_types={facts.name for facts in changed_types},
            topics={topic for facts in changed_types for topic in facts.topics},
            flows=set(before.declared).symmetric_difference(after.declared),
        )


def build_lineage(estate: Estate) -> LineageGraph:
    """The lineage graph of `estate`."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _Overlay(observed_index(estate), estate).build()
    finally:
        if collecting:
            gc.enable()
