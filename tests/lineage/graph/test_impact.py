"""Impact analysis: the transitive consumers of a change, with owners, depth, flow, and what each
produces in turn."""

from lineage.graph import affected_services, impact, split_impact
from tests.lineage.graph.facts import Shape, chain, diamond, loop


def summary(rows):
    return [(r.depth, r.service, r.event_type, r.flow, r.via, r.produces) for r in rows]


def test_impact_follows_a_chain_to_its_end():
    rows = impact(chain().build(), ["A"])
    assert summary(rows) == [
        (1, "b", "A", "both", [], ["B"]),
        (2, "c", "B", "both", ["b"], ["C"]),
        (3, "d", "C", "both", ["c"], []),
    ]
    assert [(r.owner_team, r.domain, r.consumer_kind, r.groups, r.topics, r.events) for r in rows][0] == (
        "Team b",
        "Core",
        "service",
        ["b-group"],
        ["a"],
        60,
    )


def test_impact_of_a_diamond_names_the_join_once_per_path_at_its_depth():
    assert summary(impact(diamond().build(), ["A"])) == [
        (1, "b", "A", "both", [], ["B"]),
        (1, "c", "A", "both", [], ["C"]),
        (2, "d", "B", "both", ["b"], []),
        (2, "d", "C", "both", ["c"], []),
    ]


def test_impact_stops_at_a_cycle_and_names_the_original_producer_once():
    assert summary(impact(loop().build(), ["A"])) == [
        (1, "b", "A", "both", [], ["B"]),
        (2, "a", "B", "both", ["b"], ["A"]),
    ]


def test_impact_marks_declared_observed_and_unmapped_consumers():
    graph = (
        Shape()
        .event_type("OrderPlaced", topic="orders")
        .produces("orders", "OrderPlaced")
        .consumes("inventory", "OrderPlaced")
        .declares_consuming("notifications", "OrderPlaced")
        .is_seen_reading("analytics-service", "orders", "analytics")
        .is_seen_reading("mystery", "orders", None)
        .build()
    )
    rows = impact(graph, ["OrderPlaced"])
    assert [(r.service, r.consumer_kind, r.flow) for r in rows] == [
        ("mystery", "group", "observed"),
        ("analytics", "service", "observed"),
        ("inventory", "service", "both"),
        ("notifications", "service", "declared"),
    ]
    assert affected_services(rows) == [
        ("mystery", None),
        ("analytics", None),
        ("inventory", "Team inventory"),
        ("notifications", "Team notifications"),
    ]


def test_impact_depth_is_bounded_and_unknown_types_affect_no_one():
    assert [r.depth for r in impact(chain().build(), ["A"], max_depth=2)] == [1, 2]
    assert impact(chain().build(), ["Nope"]) == []
    assert impact(chain().build(), ["C"])[0].service == "d"


def replayed_orders() -> Shape:
    """OrderPlaced on `orders` (read by inventory, which produces StockReserved, read by
    payments) and also replayed onto `orders-replay`, where only audit reads it; audit produces
    AuditLogged, read by archive."""
    return (
        Shape()
        .event_type("OrderPlaced", topic="orders")
        .produces("orders", "OrderPlaced")
        .is_seen_producing("replayer", "OrderPlaced", topic="orders-replay")
        .consumes("inventory", "OrderPlaced")
        .produces("inventory", "StockReserved")
        .consumes("payments", "StockReserved")
        .is_seen_reading("audit-group", "orders-replay", "audit")
        .produces("audit", "AuditLogged")
        .consumes("archive", "AuditLogged")
    )


def test_only_readers_of_the_changed_type_would_break_and_what_they_feed_is_downstream():
    rows = impact(replayed_orders().build(), ["OrderPlaced"], on_topics=["orders"])
    breaking, downstream = split_impact(rows)
    assert [(r.service, r.breaks, r.topics) for r in breaking] == [("inventory", True, ["orders"])]
    assert [(r.service, r.breaks, r.depth, r.via) for r in downstream] == [("payments", False, 2, ["inventory"])]
    assert [row.as_dict()["breaks"] for row in rows] == [True, False]


def test_a_reader_of_the_type_on_another_topic_would_not_break_nor_would_what_it_feeds():
    rows = impact(replayed_orders().build(), ["OrderPlaced"], on_topics=["orders"])
    assert {"audit", "archive"}.isdisjoint(r.service for r in rows)
    unbounded = impact(replayed_orders().build(), ["OrderPlaced"])
    assert [(r.service, r.depth) for r in unbounded if r.service in ("audit", "archive")] == [
        ("audit", 1),
        ("archive", 2),
    ], "without the subject's topics every reader of the type counts"


def test_a_declared_consumer_would_break_even_when_seen_reading_only_on_another_topic():
    graph = replayed_orders().declares_consuming("audit", "OrderPlaced").build()
    audit = [r for r in impact(graph, ["OrderPlaced"], on_topics=["orders"]) if r.service == "audit"]
    assert [(r.depth, r.flow, r.topics, r.events) for r in audit] == [(1, "declared", [], 0)]
