"""Orphan events, ghost consumers and drift on known shapes."""

from lineage.graph import drift, ghost_consumers, orphan_events
from tests.lineage.graph.facts import NOW, Shape, chain


def test_orphans_are_produced_types_no_one_consumes():
    graph = (
        chain()
        .declares_producing("b", "X")  # declared, never seen
        .is_seen_producing("a", "Mystery", events=5, topic="a")  # seen, not in the catalog
        .event_type("Z")  # neither produced nor consumed: not an orphan, just unused
        .build()
    )
    found = orphan_events(graph)
    assert [(o.event_type, o.documented, o.producers, o.topics, o.events) for o in found] == [
        ("Mystery", False, [("a", "observed")], ["a"], 5),
        ("X", True, [("b", "declared")], ["x"], 0),
    ]
    assert found[0].last_seen_ms == NOW - 1000 and found[1].last_seen_ms is None


def test_ghosts_subscribe_to_topics_nobody_writes_or_declare_types_nobody_produces():
    graph = (
        Shape()
        .service("accounting", team="Finance")
        .event_type("Refunded", topic="refunds")
        .declares_producing("payments", "Refunded")  # declared, but nothing was produced
        .subscribes("ledger", ("refunds",), members=("accounting",))
        .produces("orders", "OrderPlaced")
        .consumes("inventory", "OrderPlaced")  # reads a topic that is written: not a ghost
        .declares_consuming("audit", "Legacy")  # no one produces Legacy
        .build()
    )
    found = ghost_consumers(graph)
    assert [
        (g.basis, g.group, g.services, g.owner_teams, g.topic, g.event_type, g.declared_producers) for g in found
    ] == [
        ("subscription", "ledger", ["accounting"], ["Finance"], "refunds", None, ["payments"]),
        ("declaration", None, ["audit"], ["Team audit"], None, "Legacy", []),
    ]


def test_a_group_that_read_a_backlog_but_saw_no_new_writes_is_a_ghost():
    graph = Shape().event_type("A", topic="a").is_seen_reading("late", "a", "reader").build()
    assert [(g.group, g.topic) for g in ghost_consumers(graph)] == [("late", "a")]


def test_drift_lists_undeclared_and_unobserved_flows():
    graph = (
        Shape()
        .event_type("OrderPlaced", topic="orders")
        .produces("orders", "OrderPlaced")
        .is_seen_producing("rogue", "OrderPlaced")  # observed, undeclared producer
        .declares_producing("legacy", "OrderPlaced")  # declared, never seen
        .declares_consuming("inventory", "OrderPlaced")  # declared, never seen reading
        .is_seen_reading("analytics-service", "orders", "analytics", events=40)  # observed, undeclared
        .is_seen_reading("mystery-group", "orders", None, events=10)  # a group no one can name
        .consumes("shipping", "OrderPlaced")  # declared and observed: no drift
        .build()
    )
    found = drift(graph)
    assert [(d.kind, d.service, d.groups, d.event_type, d.events) for d in found.undeclared] == [
        ("produces", "rogue", [], "OrderPlaced", 60),
        ("consumes", "analytics", ["analytics-service"], "OrderPlaced", 40),
        ("consumes", None, ["mystery-group"], "OrderPlaced", 10),
    ]
    assert [d.sentence for d in found.undeclared] == [
        "rogue produces OrderPlaced",
        "analytics consumes OrderPlaced",
        "group mystery-group consumes OrderPlaced",
    ]
    assert [(d.kind, d.service, d.event_type, d.events, d.last_seen_ms) for d in found.unobserved] == [
        ("produces", "legacy", "OrderPlaced", 0, None),
        ("consumes", "inventory", "OrderPlaced", 0, None),
    ]
    assert found.undeclared[1].topics == ["orders"] and found.undeclared[1].owner_team is None


def test_a_catalog_that_matches_what_runs_has_no_drift():
    found = drift(chain().build())
    assert (found.undeclared, found.unobserved) == ([], [])
