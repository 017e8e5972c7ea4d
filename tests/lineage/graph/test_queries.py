"""Queries on known shapes: neighbourhoods (with domain and team filters and the node limit),
upstream and downstream to a depth, every path between two services, cycles, search."""

from tests.lineage.graph.facts import Shape, chain, diamond, loop


def shown(hood):
    return [(node.id, depth) for node, depth in hood.nodes]


def edge_ids(hood):
    return [edge.id for edge in hood.edges]


def test_the_neighbourhood_of_an_event_type_holds_its_producer_consumer_topic_and_group():
    hood = chain().build().neighbourhood("event_type:B", 1)
    assert shown(hood) == [
        ("event_type:B", 0),
        ("group:c-group", None),
        ("service:b", 1),
        ("service:c", 1),
        ("topic:b", None),
    ]
    assert edge_ids(hood) == [
        "event_type:B->service:c",
        "event_type:B->topic:b",
        "group:c-group->service:c",
        "service:b->event_type:B",
        "topic:b->group:c-group",
    ]
    assert (hood.truncated, hood.message, hood.estate_nodes) == (False, "", 7)


def test_depth_counts_service_and_event_type_hops_both_ways():
    graph = chain().build()
    assert shown(graph.neighbourhood("service:b", 2, broker=False)) == [
        ("event_type:A", 1),
        ("event_type:B", 1),
        ("service:a", 2),
        ("service:b", 0),
        ("service:c", 2),
    ]
    assert shown(graph.neighbourhood("service:b", 0, broker=False)) == [("service:b", 0)]


def test_without_the_broker_layer_only_produces_and_consumes_edges_are_sent():
    hood = chain().build().neighbourhood("event_type:B", 1, broker=False)
    assert edge_ids(hood) == ["event_type:B->service:c", "service:b->event_type:B"]


def test_domain_and_team_filters_keep_the_walk_inside_them():
    shape = diamond()
    shape.service("c", domain="Other", team="Team c")
    graph = shape.build()
    everything = {key for key, _ in shown(graph.neighbourhood("event_type:A", 2, broker=False))}
    assert everything == {"event_type:A", "service:a", "service:b", "service:c", "event_type:B", "event_type:C"}
    in_core = {key for key, _ in shown(graph.neighbourhood("event_type:A", 2, domain="Core", broker=False))}
    assert in_core == {"event_type:A", "service:a", "service:b", "event_type:B"}
    team_c = {key for key, _ in shown(graph.neighbourhood("event_type:A", 2, team="Team c", broker=False))}
    assert team_c == {"event_type:A", "service:c"}


def test_the_node_limit_keeps_the_nearest_and_says_so():
    hood = chain().build().neighbourhood("service:a", 6, limit=3, broker=False)
    assert shown(hood) == [("event_type:A", 1), ("event_type:B", 3), ("service:a", 0), ("service:b", 2)]
    assert hood.truncated
    assert hood.message == "More than 3 nodes are within 6 hops; showing the 3 nearest."


def test_without_a_focus_a_small_estate_is_sent_whole_and_a_large_one_is_capped():
    graph = chain().build()
    whole = graph.neighbourhood(None, 2, broker=False)
    assert [key for key, _ in shown(whole)] == [
        "event_type:A",
        "event_type:B",
        "event_type:C",
        "service:a",
        "service:b",
        "service:c",
        "service:d",
    ]
    assert not whole.truncated and len(whole.edges) == 6
    capped = graph.neighbourhood(None, 2, limit=4, broker=False)
    # The most connected first (degree 2: A, B, C, b, c), ties by id.
    assert [key for key, _ in shown(capped)] == ["event_type:A", "event_type:B", "event_type:C", "service:b"]
    assert capped.truncated
    assert capped.message.startswith("The estate has 7 services and event types; showing the 4 most connected.")


def test_a_topic_focus_starts_from_its_event_types_and_its_readers():
    hood = chain().build().neighbourhood("topic:b", 1)
    assert shown(hood) == [("event_type:B", 1), ("group:c-group", None), ("service:c", 1), ("topic:b", 0)]


def test_a_group_focus_starts_from_its_services_and_what_it_reads():
    hood = chain().build().neighbourhood("group:c-group", 1)
    assert shown(hood) == [("event_type:B", 1), ("group:c-group", 0), ("service:c", 1), ("topic:b", None)]


def test_downstream_and_upstream_to_a_depth():
    graph = chain().build()
    assert [(r.node.id, r.depth) for r in graph.downstream("service:a", 6)] == [
        ("event_type:A", 1),
        ("service:b", 2),
        ("event_type:B", 3),
        ("service:c", 4),
        ("event_type:C", 5),
        ("service:d", 6),
    ]
    assert [(r.node.id, r.depth) for r in graph.upstream("service:d", 2)] == [("event_type:C", 1), ("service:c", 2)]
    assert graph.upstream("service:a", 5) == []
    assert [(r.node.id, r.depth) for r in diamond().build().downstream("event_type:A", 2)] == [
        ("service:b", 1),
        ("service:c", 1),
        ("event_type:B", 2),
        ("event_type:C", 2),
    ]


def test_every_path_between_two_services_shortest_first():
    paths, truncated = diamond().build().paths("service:a", "service:d")
    assert [p.nodes for p in paths] == [
        ["service:a", "event_type:A", "service:b", "event_type:B", "service:d"],
        ["service:a", "event_type:A", "service:c", "event_type:C", "service:d"],
    ]
    assert [p.services for p in paths] == [["a", "b", "d"], ["a", "c", "d"]]
    assert [[e.flow.value for e in p.edges] for p in paths] == [["both"] * 4, ["both"] * 4]
    assert not truncated
    only_one, truncated = diamond().build().paths("service:a", "service:d", limit=1)
    assert len(only_one) == 1 and truncated


def test_paths_respect_direction_and_length():
    graph = chain().build()
    assert [p.hops for p in graph.paths("service:a", "service:d")[0]] == [6]
    assert graph.paths("service:a", "service:d", max_hops=4) == ([], False)
    assert graph.paths("service:d", "service:a") == ([], False)


def test_cycles_start_at_their_first_service():
    assert loop().build().cycles() == ([["service:a", "event_type:A", "service:b", "event_type:B"]], False)
    assert chain().build().cycles() == ([], False)
    assert diamond().build().cycles() == ([], False)
    two = loop().produces("b", "C").consumes("c", "C").produces("c", "D").consumes("b", "D").build()
    assert two.cycles()[0] == [
        ["service:a", "event_type:A", "service:b", "event_type:B"],
        ["service:b", "event_type:C", "service:c", "event_type:D"],
    ]
    capped, truncated = two.cycles(limit=1)
    assert len(capped) == 1 and capped[0] in two.cycles()[0] and truncated


def test_resolve_and_search_names():
    graph = chain().build()
    assert graph.resolve("b") == "service:b"
    assert graph.resolve("B") == "event_type:B"
    assert graph.resolve("topic:b") == "topic:b"
    assert graph.resolve("b-group") == "group:b-group"
    assert graph.resolve("nope") is None and graph.resolve("service:nope") is None
    assert [n.id for n in graph.search("b")] == ["event_type:B", "service:b", "topic:b", "group:b-group"]
    assert graph.search("") == []


def test_an_empty_estate_answers_with_nothing():
    graph = Shape().build()
    assert shown(graph.neighbourhood(None, 2)) == []
    assert graph.cycles() == ([], False)
