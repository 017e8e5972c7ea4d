"""A catalog edit patches the graph built on the same observations: the patched graph must equal
the graph built whole from the edited catalog, node for node and edge for edge, whatever the edit."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from lineage.graph import (
    ConsumedFacts,
    DeclaredFlowFacts,
    Estate,
    EventTypeFacts,
    GroupFacts,
    LineageGraph,
    ProducedFacts,
    ServiceFacts,
    lineage_on,
    observed_index,
)
from tests.lineage.graph.facts import HOUR, NOW

SERVICES = [f"s{i}" for i in range(8)]
TYPES = [f"T{i}" for i in range(10)]
TOPICS = [f"t{i}" for i in range(5)]
GROUPS = [f"g{i}" for i in range(6)]


def snapshot(graph: LineageGraph) -> tuple[dict[str, object], dict[tuple[str, str], object]]:
    nodes = {key: (node.as_dict(), node.subject) for key, node in graph.nodes.items()}
    edges = {key: (edge.as_dict(graph.window_ms), edge.subscribed) for key, edge in graph.edges.items()}
    return nodes, edges


def random_service(rng: random.Random, name: str) -> ServiceFacts:
    return ServiceFacts(name, owner_team=rng.choice(["A", "B", None]), domain=rng.choice(["X", "Y"]))


def random_type(rng: random.Random, name: str) -> EventTypeFacts:
    topics = tuple(sorted(rng.sample(TOPICS, rng.choice([0, 1, 1, 1, 2]))))
    return EventTypeFacts(name, owner_team=rng.choice(["A", "B"]), lifecycle="active", topics=topics)


def random_flows(rng: random.Random, services: list[str], types: list[str]) -> list[DeclaredFlowFacts]:
    flows = {
        DeclaredFlowFacts(rng.choice(services), rng.choice(types), rng.choice(["producer", "consumer"]))
        for _ in range(rng.randint(0, 14))
    }
    return sorted(flows, key=lambda f: (f.service, f.event_type, f.role))


def random_estate(rng: random.Random) -> Estate:
    services = rng.sample(SERVICES, rng.randint(2, len(SERVICES)))
    types = rng.sample(TYPES, rng.randint(2, len(TYPES)))
    maybe_service = [*SERVICES, None]
    return Estate(
        window_ms=HOUR,
        now_ms=NOW,
        services=tuple(random_service(rng, name) for name in services),
        event_types=tuple(random_type(rng, name) for name in types),
        declared=tuple(random_flows(rng, services, types)),
        produced=tuple(
            ProducedFacts(
                rng.choice(TOPICS),
                rng.choice(maybe_service),
                rng.choice(TYPES),
                rng.randint(0, 90),
                NOW - rng.randint(0, 9),
            )
            for _ in range(rng.randint(0, 16))
        ),
        consumed=tuple(
            ConsumedFacts(
                rng.choice(TOPICS),
                rng.choice(GROUPS),
                rng.choice(maybe_service),
                rng.randint(0, 90),
                NOW - rng.randint(0, 9),
            )
            for _ in range(rng.randint(0, 16))
        ),
        groups=tuple(
            GroupFacts(
                name,
                member_services=tuple(sorted(rng.sample(SERVICES, rng.randint(0, 2)))),
                subscribed_topics=tuple(sorted(rng.sample(TOPICS, rng.randint(0, 2)))),
                past_services=tuple(sorted(rng.sample(SERVICES, rng.randint(0, 1)))),
            )
            for name in rng.sample(GROUPS, rng.randint(0, len(GROUPS)))
        ),
    )


def edited(rng: random.Random, estate: Estate) -> Estate:
    """One to three of the edits a catalog sees: a service or event type added, edited or
    removed (with its flows), a type moved to other topics, a declared flow added or removed."""
    services = {facts.name: facts for facts in estate.services}
    types = {facts.name: facts for facts in estate.event_types}
    flows = list(estate.declared)
    for _ in range(rng.randint(1, 3)):
        edit = rng.choice(["service", "drop service", "type", "move type", "drop type", "flow", "drop flow"])
        if edit == "service":
            name = rng.choice(SERVICES)
            services[name] = random_service(rng, name)
        elif edit == "drop service" and services:
            name = rng.choice(sorted(services))
            del services[name]
            flows = [flow for flow in flows if flow.service != name]
        elif edit == "type":
            name = rng.choice(TYPES)
            types[name] = random_type(rng, name)
        elif edit == "move type" and types:
            name = rng.choice(sorted(types))
            types[name] = types[name]._replace(topics=random_type(rng, name).topics)
        elif edit == "drop type" and types:
            name = rng.choice(sorted(types))
            del types[name]
            flows = [flow for flow in flows if flow.event_type != name]
        elif edit == "flow" and services and types:
            role = rng.choice(["producer", "consumer"])
            flows.append(DeclaredFlowFacts(rng.choice(sorted(services)), rng.choice(sorted(types)), role))
        elif edit == "drop flow" and flows:
            flows.remove(rng.choice(flows))
    return replace(
        estate,
        services=tuple(services.values()),
        event_types=tuple(types.values()),
        declared=tuple(dict.fromkeys(flows)),
    )


@pytest.mark.parametrize("seed", range(400))
def test_a_patched_graph_equals_the_graph_built_whole(seed):
    rng = random.Random(seed)
    before = random_estate(rng)
    after = edited(rng, before)
    index = observed_index(before)
    base = lineage_on(index, before)
    patched = lineage_on(index, after, base=base, base_estate=before)
    assert snapshot(patched) == snapshot(lineage_on(index, after))
    assert snapshot(base) == snapshot(lineage_on(index, before)), "the patch must leave the base graph as it was"


def test_a_patch_keeps_what_the_edit_did_not_touch():
    before = Estate(
        window_ms=HOUR,
        now_ms=NOW,
        services=(ServiceFacts("a", "A"), ServiceFacts("b", "B"), ServiceFacts("c", "C")),
        event_types=(EventTypeFacts("X", topics=("x",)), EventTypeFacts("Y", topics=("y",))),
        declared=(DeclaredFlowFacts("a", "X", "producer"), DeclaredFlowFacts("b", "X", "consumer")),
        produced=(ProducedFacts("x", "a", "X", 10, NOW), ProducedFacts("y", "c", "Y", 5, NOW)),
        consumed=(ConsumedFacts("x", "b-group", "b", 10, NOW),),
    )
    after = replace(before, services=(ServiceFacts("a", "A"), ServiceFacts("b", "B"), ServiceFacts("c", "New team")))
    index = observed_index(before)
    base = lineage_on(index, before)
    patched = lineage_on(index, after, base=base, base_estate=before)
    assert patched.nodes["service:c"].owner_team == "New team"
    assert base.nodes["service:c"].owner_team == "C"
    assert patched.edge("event_type:X", "service:b") is base.edge("event_type:X", "service:b")
    assert patched.nodes["service:a"] is base.nodes["service:a"]
