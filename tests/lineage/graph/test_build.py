"""Building the graph: declared and observed flows merge edge by edge; consumer groups map to
their services; a service that names what it reads on a topic is taken at its word."""

from lineage.graph import EdgeKind, Flow, NodeKind
from tests.lineage.graph.facts import NOW, Shape, chain


def flows(graph, kind):
    return {(e.source, e.target): e.flow for e in graph.edges.values() if e.kind is kind}


def test_a_chain_has_every_layer_with_flows_marked_both():
    graph = chain().build()
    assert flows(graph, EdgeKind.PRODUCES) == {
        ("service:a", "event_type:A"): Flow.BOTH,
        ("service:b", "event_type:B"): Flow.BOTH,
        ("service:c", "event_type:C"): Flow.BOTH,
    }
    assert flows(graph, EdgeKind.CONSUMES) == {
        ("event_type:A", "service:b"): Flow.BOTH,
        ("event_type:B", "service:c"): Flow.BOTH,
        ("event_type:C", "service:d"): Flow.BOTH,
    }
    assert set(flows(graph, EdgeKind.PUBLISHED_TO)) == {
        ("event_type:A", "topic:a"),
        ("event_type:B", "topic:b"),
        ("event_type:C", "topic:c"),
    }
    assert set(flows(graph, EdgeKind.READ_BY)) == {
        ("topic:a", "group:b-group"),
        ("topic:b", "group:c-group"),
        ("topic:c", "group:d-group"),
    }
    assert set(flows(graph, EdgeKind.RUNS_IN)) == {
        ("group:b-group", "service:b"),
        ("group:c-group", "service:c"),
        ("group:d-group", "service:d"),
    }
    consuming = graph.edge("event_type:A", "service:b")
    assert (consuming.events, consuming.last_seen_ms, consuming.topics, consuming.groups) == (
        60,
        NOW - 500,
        ("a",),
        ("b-group",),
    )
    producing = graph.edge("service:a", "event_type:A")
    assert (producing.events, producing.last_seen_ms, producing.topics) == (60, NOW - 1000, ("a",))


def test_declared_only_flows_have_no_throughput():
    graph = Shape().declares_producing("a", "A").declares_consuming("b", "A").build()
    producing, consuming = graph.edge("service:a", "event_type:A"), graph.edge("event_type:A", "service:b")
    assert (producing.flow, producing.events, producing.last_seen_ms) == (Flow.DECLARED, 0, None)
    assert (consuming.flow, consuming.events, consuming.last_seen_ms) == (Flow.DECLARED, 0, None)
    assert graph.edge("event_type:A", "topic:a").flow is Flow.DECLARED


def test_a_consumer_reading_a_topic_consumes_each_type_produced_there_in_proportion():
    graph = (
        Shape()
        .event_type("OrderPlaced", topic="orders")
        .event_type("OrderCancelled", topic="orders")
        .produces("orders", "OrderPlaced", events=75)
        .produces("orders", "OrderCancelled", events=25)
        .is_seen_reading("analytics-service", "orders", "analytics", events=100)
        .build()
    )
    placed, cancelled = (
        graph.edge("event_type:OrderPlaced", "service:analytics"),
        graph.edge("event_type:OrderCancelled", "service:analytics"),
    )
    assert (placed.flow, placed.events) == (Flow.OBSERVED, 75)
    assert (cancelled.flow, cancelled.events) == (Flow.OBSERVED, 25)


def test_a_service_that_declares_what_it_reads_on_a_topic_is_not_taken_to_consume_the_rest():
    graph = (
        Shape()
        .event_type("OrderPlaced", topic="orders")
        .event_type("OrderCancelled", topic="orders")
        .produces("orders", "OrderPlaced", events=75)
        .produces("orders", "OrderCancelled", events=25)
        .declares_consuming("inventory", "OrderPlaced")
        .is_seen_reading("inventory-service", "orders", "inventory", events=100)
        .build()
    )
    assert graph.edge("event_type:OrderPlaced", "service:inventory").flow is Flow.BOTH
    assert graph.edge("event_type:OrderPlaced", "service:inventory").events == 75
    assert graph.edge("event_type:OrderCancelled", "service:inventory") is None


def test_a_declared_consumer_reading_only_other_topics_is_not_observed_consuming():
    graph = (
        Shape()
        .event_type("A", topic="t1")
        .event_type("B", topic="t2")
        .produces("p", "A")
        .produces("p", "B")
        .declares_consuming("c", "A")
        .is_seen_reading("c-group", "t2", "c")
        .build()
    )
    assert graph.edge("event_type:A", "service:c").flow is Flow.DECLARED
    assert graph.edge("event_type:B", "service:c").flow is Flow.OBSERVED


def test_nothing_is_observed_consumed_from_a_topic_nothing_was_produced_to_in_the_window():
    graph = (
        Shape().declares_producing("a", "A").declares_consuming("b", "A").is_seen_reading("b-group", "a", "b").build()
    )
    assert graph.edge("event_type:A", "service:b").flow is Flow.DECLARED
    assert graph.edge("topic:a", "group:b-group").observed


def test_a_group_maps_to_its_members_services_when_reads_do_not_name_the_service():
    graph = (
        Shape()
        .produces("a", "A")
        .is_seen_reading("billing", "a", service=None, members=("invoicing", "ledger"))
        .build()
    )
    assert graph.nodes["group:billing"].services == ("invoicing", "ledger")
    assert {e.target for e in graph.out_edges("event_type:A", EdgeKind.CONSUMES)} == {
        "service:invoicing",
        "service:ledger",
    }
    assert graph.edge("group:billing", "service:ledger").kind is EdgeKind.RUNS_IN


def test_a_group_with_no_members_now_maps_to_services_seen_reading_for_it_earlier():
    shape = Shape().produces("a", "A").is_seen_reading("billing", "a", service=None)
    shape.subscribes("billing", ("a",), past=("invoicing",))
    graph = shape.build()
    assert [e.target for e in graph.out_edges("event_type:A", EdgeKind.CONSUMES)] == ["service:invoicing"]


def test_a_group_whose_service_is_unknown_stands_in_as_the_consumer():
    graph = Shape().produces("a", "A").is_seen_reading("mystery", "a", service=None).build()
    consuming = graph.edge("event_type:A", "group:mystery")
    assert (consuming.kind, consuming.flow) == (EdgeKind.CONSUMES, Flow.OBSERVED)
    assert "group:mystery" in graph.logical


def test_an_observed_type_missing_from_the_catalog_is_an_undocumented_node():
    graph = Shape().produces("a", "A").is_seen_producing("a", "Mystery", topic="a").build()
    node = graph.nodes["event_type:Mystery"]
    assert (node.kind, node.documented, node.owner_team) == (NodeKind.EVENT_TYPE, False, None)
    assert graph.edge("service:a", "event_type:Mystery").flow is Flow.OBSERVED
    assert graph.nodes["event_type:A"].documented


def test_services_carry_owner_and_domain_and_undocumented_ones_are_marked():
    graph = (
        Shape()
        .service("orders", team="Checkout", domain="Ordering")
        .produces("orders", "A")
        .is_seen_reading("x-group", "a", "stranger")  # a service identity with no catalog entry
        .build()
    )
    orders, stranger = graph.nodes["service:orders"], graph.nodes["service:stranger"]
    assert (orders.owner_team, orders.domain, orders.documented) == ("Checkout", "Ordering", True)
    assert (stranger.owner_team, stranger.documented) == (None, False)


def test_rates_are_events_per_second_over_the_window():
    graph = Shape().produces("a", "A", events=7200).build(window_ms=3_600_000)
    assert graph.edge("service:a", "event_type:A").as_dict(graph.window_ms)["rate_per_s"] == 2.0
