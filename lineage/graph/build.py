"""Build the lineage graph from an Estate: declared flows from the catalog, observed flows from
the broker's per-minute counts, merged edge by edge."""

from __future__ import annotations

import gc
from collections import defaultdict
from dataclasses import dataclass, field

from lineage.graph.lineage import LineageGraph
from lineage.graph.model import (
    ConsumedFacts,
    Edge,
    EdgeKind,
    Estate,
    GroupFacts,
    Node,
    NodeKind,
    node_id,
)

PRODUCER = "producer"
CONSUMER = "consumer"

# Node ids are built tens of thousands of times per build: plain string prefixes, not enum formatting.
_SERVICE = node_id(NodeKind.SERVICE, "")
_EVENT_TYPE = node_id(NodeKind.EVENT_TYPE, "")
_TOPIC = node_id(NodeKind.TOPIC, "")
_GROUP = node_id(NodeKind.GROUP, "")


@dataclass(slots=True)
class _Reads:
    """What one consumer (a service, or a group whose service is unknown) read from one topic."""

    events: int = 0
    last_seen_ms: int = 0
    groups: set[str] = field(default_factory=set)


class _Builder:
    def __init__(self, estate: Estate) -> None:
        self.estate = estate
        self.nodes: dict[str, Node] = {}
        self.edges: dict[tuple[str, str], Edge] = {}
        self.edge_topics: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.edge_groups: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.services = {facts.name: facts for facts in estate.services}
        self.event_types = {facts.name: facts for facts in estate.event_types}

    # -- nodes ---------------------------------------------------------------------------------

    def service(self, name: str) -> str:
        key = _SERVICE + name
        if key not in self.nodes:
            facts = self.services.get(name)
            self.nodes[key] = Node(
                key,
                NodeKind.SERVICE,
                name,
                owner_team=facts.owner_team if facts else None,
                domain=facts.domain if facts else None,
                documented=facts.documented if facts else False,
            )
        return key

    def event_type(self, name: str) -> str:
        key = _EVENT_TYPE + name
        if key not in self.nodes:
            facts = self.event_types.get(name)
            if facts is None:
                self.nodes[key] = Node(key, NodeKind.EVENT_TYPE, name, documented=False)
            else:
                self.nodes[key] = Node(
                    key,
                    NodeKind.EVENT_TYPE,
                    name,
                    owner_team=facts.owner_team,
                    domain=facts.domain,
                    lifecycle=facts.lifecycle,
                    subject=facts.subject,
                )
        return key

    def topic(self, name: str) -> str:
        key = _TOPIC + name
        if key not in self.nodes:
            self.nodes[key] = Node(key, NodeKind.TOPIC, name)
        return key

    def group(self, name: str) -> str:
        key = _GROUP + name
        if key not in self.nodes:
            self.nodes[key] = Node(key, NodeKind.GROUP, name)
        return key

    def edge(self, source: str, target: str, kind: EdgeKind) -> Edge:
        found = self.edges.get((source, target))
        if found is None:
            found = self.edges[(source, target)] = Edge(source, target, kind)
        return found

    def observe(self, edge: Edge, events: int, last_seen_ms: int) -> None:
        edge.observed = True
        edge.events += events
        if edge.last_seen_ms is None or last_seen_ms > edge.last_seen_ms:
            edge.last_seen_ms = last_seen_ms

    # -- the build -----------------------------------------------------------------------------

    def build(self) -> LineageGraph:
        estate = self.estate
        for service in estate.services:
            if service.documented:
                self.service(service.name)
        types_on_topic: dict[str, set[str]] = defaultdict(set)
        for event_type in estate.event_types:
            key = self.event_type(event_type.name)
            for topic in event_type.topics:
                self.edge(key, self.topic(topic), EdgeKind.PUBLISHED_TO).declared = True
                types_on_topic[topic].add(event_type.name)

        declared_consumed: dict[str, set[str]] = defaultdict(set)
        for flow in estate.declared:
            if flow.role == PRODUCER:
                self.edge(
                    self.service(flow.service), self.event_type(flow.event_type), EdgeKind.PRODUCES
                ).declared = True
            elif flow.role == CONSUMER:
                declared_consumed[flow.service].add(flow.event_type)

        produced_on: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        edges, edge_topics = self.edges, self.edge_topics
        for produced in estate.produced:
            events, type_name, topic = produced.events, produced.event_type, produced.topic
            if events <= 0 or not type_name:
                continue
            type_key = self.event_type(type_name)
            self.observe(self.edge(type_key, self.topic(topic), EdgeKind.PUBLISHED_TO), events, produced.last_seen_ms)
            if produced.service:
                pair = (self.service(produced.service), type_key)
                producing = edges.get(pair)
                if producing is None:
                    producing = edges[pair] = Edge(pair[0], type_key, EdgeKind.PRODUCES)
                self.observe(producing, events, produced.last_seen_ms)
                edge_topics[pair].add(topic)
            produced_on[topic][type_name] += events
            types_on_topic[topic].add(type_name)

        reads = self._reads(estate.consumed, estate.groups)
        self._consumes(reads, declared_consumed, produced_on, types_on_topic)

        for pair, topics in self.edge_topics.items():
            edges[pair].topics = tuple(sorted(topics)) if len(topics) > 1 else tuple(topics)
        for pair, groups in self.edge_groups.items():
            edges[pair].groups = tuple(sorted(groups)) if len(groups) > 1 else tuple(groups)
        return LineageGraph(self.nodes, self.edges, window_ms=estate.window_ms, now_ms=estate.now_ms)

    def _reads(
        self, consumed: tuple[ConsumedFacts, ...], groups: tuple[GroupFacts, ...]
    ) -> dict[str, dict[str, _Reads]]:
        """Who read which topic: per consumer (service, or group when its service is unknown)."""
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

        reads: dict[str, dict[str, _Reads]] = defaultdict(lambda: defaultdict(_Reads))
        for row in consumed:
            if row.events <= 0:
                continue
            group_key = self.group(row.group)
            self.observe(self.edge(self.topic(row.topic), group_key, EdgeKind.READ_BY), row.events, row.last_seen_ms)
            readers = [row.service] if row.service else list(services_of(row.group))
            consumer_keys = [self.service(name) for name in readers] or [group_key]
            for consumer in consumer_keys:
                if consumer != group_key:
                    self.observe(self.edge(group_key, consumer, EdgeKind.RUNS_IN), row.events, row.last_seen_ms)
                read = reads[consumer][row.topic]
                read.events += row.events
                read.last_seen_ms = max(read.last_seen_ms, row.last_seen_ms)
                read.groups.add(row.group)
        for group in groups:
            if not group.subscribed_topics and group.name not in seen_services:
                continue
            group_key = self.group(group.name)
            for topic in group.subscribed_topics:
                subscription = self.edge(self.topic(topic), group_key, EdgeKind.READ_BY)
                subscription.observed = subscription.subscribed = True
            for service in services_of(group.name):
                self.edge(group_key, self.service(service), EdgeKind.RUNS_IN).observed = True
        for node in self.nodes.values():
            if node.kind is NodeKind.GROUP:
                node.services = services_of(node.name)
        return reads

    def _consumes(
        self,
        reads: dict[str, dict[str, _Reads]],
        declared_consumed: dict[str, set[str]],
        produced_on: dict[str, dict[str, int]],
        types_on_topic: dict[str, set[str]],
    ) -> None:
        """Consumption edges. Declared: the catalog says so. Observed: the consumer read a topic
        on which the type was produced in the window, unless it declares other types on that
        topic and not this one (a service that names what it reads there is taken at its word)."""
        edges, edge_topics, edge_groups = self.edges, self.edge_topics, self.edge_groups
        for consumer, by_topic in reads.items():
            node = self.nodes[consumer]
            declared_here = declared_consumed.get(node.name, set()) if node.kind is NodeKind.SERVICE else set()
            for topic, read in by_topic.items():
                produced = produced_on.get(topic)
                if not produced:
                    continue
                total = sum(produced.values())
                if declared_here & types_on_topic[topic]:
                    read_types = [name for name in declared_here if name in produced]
                else:
                    read_types = list(produced)
                # The hot loop of a large build: inlined edge() and observe(); every produced type
                # already has its node.
                for type_name in read_types:
                    pair = (_EVENT_TYPE + type_name, consumer)
                    consuming = edges.get(pair)
                    if consuming is None:
                        consuming = edges[pair] = Edge(pair[0], consumer, EdgeKind.CONSUMES)
                    consuming.observed = True
                    consuming.events += round(read.events * produced[type_name] / total)
                    if consuming.last_seen_ms is None or read.last_seen_ms > consuming.last_seen_ms:
                        consuming.last_seen_ms = read.last_seen_ms
                    edge_topics[pair].add(topic)
                    edge_groups[pair].update(read.groups)
        for service, type_names in declared_consumed.items():
            service_key = self.service(service)
            for type_name in type_names:
                self.edge(self.event_type(type_name), service_key, EdgeKind.CONSUMES).declared = True


def build_lineage(estate: Estate) -> LineageGraph:
    """The lineage graph of `estate`."""
    # A large estate allocates hundreds of thousands of small objects and no reference cycles;
    # the cyclic collector would rescan the whole heap several times meanwhile (a third of the
    # build time at 1,000 services), so it waits until the build is done.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _Builder(estate).build()
    finally:
        if collecting:
            gc.enable()
