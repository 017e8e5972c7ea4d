"""Reading the estate from the real tables: declared flows from the catalog, observed flows from
the broker's per-minute counts over the chosen window, consumer groups mapped to services, in a
fixed number of queries; the per-process cache."""

import pytest

from catalog import services as catalog
from catalog.models import EventType
from lineage.graph import EdgeKind
from lineage.selectors import estate_read, lineage_graph
from tests.lineage.conftest import EDITOR, MINUTE

pytestmark = pytest.mark.django_db


def logical(graph):
    return {
        (e.source, e.target): (e.flow.value, e.events)
        for e in graph.edges.values()
        if e.kind in (EdgeKind.PRODUCES, EdgeKind.CONSUMES)
    }


def test_declared_and_observed_flows_merge_from_catalog_and_broker(order_flow):
    assert logical(lineage_graph(window="1h")) == {
        ("service:orders", "event_type:OrderPlaced"): ("both", 90),
        ("service:orders", "event_type:OrderCancelled"): ("both", 10),
        ("service:inventory", "event_type:StockReserved"): ("both", 80),
        ("event_type:OrderPlaced", "service:inventory"): ("both", 90),
        ("event_type:OrderPlaced", "service:analytics"): ("observed", 90),
        ("event_type:OrderCancelled", "service:analytics"): ("observed", 10),
        ("event_type:OrderPlaced", "service:shipping"): ("declared", 0),
        ("event_type:StockReserved", "service:payments"): ("both", 80),
    }
    graph = lineage_graph(window="1h")
    orders = graph.nodes["service:orders"]
    assert (orders.owner_team, orders.domain, orders.documented) == ("Checkout Team", "Ordering", True)
    placed = graph.nodes["event_type:OrderPlaced"]
    assert (placed.owner_team, placed.domain, placed.lifecycle, placed.subject) == (
        "Checkout Team",
        "Ordering",
        "draft",
        "orders-OrderPlaced",
    )


def test_the_window_decides_what_counts_as_observed(estate):
    estate.service("a").event_type("A", topic="t").declares("a", "producer", "A")
    estate.produced("a", "A", "t", events=5, ago_ms=30 * MINUTE)
    estate.produced("a", "A", "t", events=7, ago_ms=2 * 24 * 60 * MINUTE)
    estate.produced("a", "A", "t", events=1000, ago_ms=8 * 24 * 60 * MINUTE)  # older than 7 days

    def producing(window):
        edge = lineage_graph(window=window).edge("service:a", "event_type:A")
        return edge.flow.value, edge.events

    assert producing("10m") == ("declared", 0)
    assert producing("1h") == ("both", 5)
    assert producing("1d") == ("both", 5)
    assert producing("7d") == ("both", 12)


def test_a_group_maps_to_its_members_services(estate):
    estate.event_type("A", topic="t").produced("a", "A", "t")
    estate.consumed("billing", "t", None).member("billing", "invoicing", "t")
    graph = lineage_graph(window="1h")
    assert graph.nodes["group:billing"].services == ("invoicing",)
    assert graph.edge("event_type:A", "service:invoicing").flow.value == "observed"


def test_a_group_with_no_members_maps_to_services_seen_reading_for_it_before(estate):
    estate.event_type("A", topic="t").produced("a", "A", "t")
    estate.consumed("billing", "t", None, ago_ms=MINUTE)
    estate.consumed("billing", "t", "invoicing", ago_ms=3 * 24 * 60 * MINUTE)  # outside the hour
    graph = lineage_graph(window="1h")
    assert graph.nodes["group:billing"].services == ("invoicing",)
    assert [e.target for e in graph.out_edges("event_type:A", EdgeKind.CONSUMES)] == ["service:invoicing"]


def test_subscriptions_come_from_members_topics_and_committed_offsets(estate):
    estate.topic("refunds")
    estate.topic("returns")
    estate.member("ledger", "accounting", "refunds")
    estate.offsets("archive", "returns")
    graph = lineage_graph(window="1h")
    assert graph.edge("topic:refunds", "group:ledger").subscribed
    assert graph.edge("group:ledger", "service:accounting").kind is EdgeKind.RUNS_IN
    assert graph.edge("topic:returns", "group:archive").subscribed


def test_reading_the_estate_takes_a_fixed_number_of_queries(estate, django_assert_max_num_queries):
    def grow(prefix, n):
        for i in range(n):
            name = f"{prefix}{i}"
            estate.service(name).event_type(f"{name.title()}Happened", topic=f"t{prefix}{i}")
            estate.declares(name, "producer", f"{name.title()}Happened")
            estate.produced(name, f"{name.title()}Happened", f"t{prefix}{i}")
            estate.consumed(f"{name}-readers", f"t{prefix}{i}", None).member(f"{name}-readers", name)

    grow("s", 3)
    # 12: one of them maps native clients' groups to the services that list them (group_services).
    with django_assert_max_num_queries(12) as small:
        estate_read(window_ms=3_600_000)
    grow("m", 12)
    with django_assert_max_num_queries(len(small.captured_queries)):
        estate_read(window_ms=3_600_000)


def test_the_graph_is_reused_for_a_few_seconds_but_a_catalog_edit_shows_at_once(order_flow):
    first = lineage_graph(window="1h")
    assert lineage_graph(window="1h") is first
    assert lineage_graph(window="1d") is not first
    catalog.declared_flow_add(
        principal=EDITOR,
        event_type=EventType.objects.get(name="OrderCancelled"),
        service_name="shipping",
        role="consumer",
    )
    again = lineage_graph(window="1h")
    assert again is not first
    assert again.edge("event_type:OrderCancelled", "service:shipping").flow.value == "declared"


def _refresh_threads():
    import threading

    return [t for t in threading.enumerate() if t.name.startswith("lineage-refresh-")]


@pytest.mark.django_db(transaction=True)
def test_an_expired_graph_is_served_while_a_thread_rebuilds_it(order_flow, monkeypatch):
    from lineage import constants

    first = lineage_graph(window="1h")
    monkeypatch.setattr(constants, "CACHE_SECONDS", 0.0)
    order_flow.produced("payments", "PaymentTaken", "payments", events=3)  # new traffic, same catalog
    assert lineage_graph(window="1h") is first, "answered at once from the previous graph"
    for thread in _refresh_threads():
        thread.join(10)
    monkeypatch.setattr(constants, "CACHE_SECONDS", 60.0)
    fresh = lineage_graph(window="1h")
    assert fresh is not first
    assert fresh.edge("service:payments", "event_type:PaymentTaken").events == 3


@pytest.mark.django_db(transaction=True)
def test_a_graph_older_than_the_stale_limit_is_rebuilt_before_answering(order_flow, monkeypatch):
    from lineage import constants

    first = lineage_graph(window="1h")
    monkeypatch.setattr(constants, "CACHE_SECONDS", 0.0)
    monkeypatch.setattr(constants, "STALE_SECONDS", 0.0)
    assert lineage_graph(window="1h") is not first
    assert _refresh_threads() == []


def test_inside_a_transaction_an_expired_graph_is_rebuilt_inline(order_flow, monkeypatch):
    from lineage import constants

    first = lineage_graph(window="1h")
    monkeypatch.setattr(constants, "CACHE_SECONDS", 0.0)
    order_flow.produced("payments", "PaymentTaken", "payments", events=3)
    again = lineage_graph(window="1h")
    assert again is not first and again.edge("service:payments", "event_type:PaymentTaken").events == 3
    assert _refresh_threads() == []


@pytest.mark.django_db(transaction=True)
def test_a_catalog_edit_rebuilds_at_once_on_the_observations_already_read(order_flow):
    first = lineage_graph(window="1h")
    order_flow.produced("payments", "PaymentTaken", "payments", events=3)  # new traffic, read when the cache expires
    catalog.declared_flow_add(
        principal=EDITOR,
        event_type=EventType.objects.get(name="OrderCancelled"),
        service_name="shipping",
        role="consumer",
    )
    again = lineage_graph(window="1h")
    assert again is not first
    assert again.edge("event_type:OrderCancelled", "service:shipping").flow.value == "declared"
    assert again.edge("service:payments", "event_type:PaymentTaken") is None
    assert again.edge("event_type:OrderPlaced", "service:inventory").events == 90, "observations kept"
    assert _refresh_threads() == []


@pytest.mark.django_db(transaction=True)
def test_a_server_process_builds_the_default_graph_before_its_first_request(order_flow, settings):
    import importlib
    import sys

    from lineage import selectors

    selectors.lineage_cache_clear()
    settings.EVENTLINE = {**settings.EVENTLINE, "WARM_CACHES": True}
    sys.modules.pop("config.wsgi", None)
    importlib.import_module("config.wsgi")
    for thread in _refresh_threads():
        thread.join(10)
    warmed = selectors._cache["1h"].graph
    assert warmed.edge("event_type:OrderPlaced", "service:inventory").events == 90
    assert lineage_graph(window="1h") is warmed, "the first request is answered from the warm graph"


@pytest.mark.django_db(transaction=True)
def test_a_server_process_keeps_the_default_graph_built_without_requests(order_flow):
    import threading
    import time

    from lineage import selectors

    selectors.lineage_cache_clear()
    selectors.lineage_warm_in_background("1h", every=0.2)
    for thread in _refresh_threads():
        thread.join(10)
    warmed = selectors._cache["1h"].graph
    order_flow.produced("payments", "PaymentTaken", "payments", events=3)  # new traffic, no request
    deadline = time.monotonic() + 10
    while selectors._cache["1h"].graph is warmed and time.monotonic() < deadline:
        time.sleep(0.05)
    for thread in _refresh_threads():
        thread.join(10)
    kept = selectors._cache["1h"].graph
    assert kept.edge("service:payments", "event_type:PaymentTaken").events == 3
    assert "1d" not in selectors._cache, "a window nobody asked for is not built"
    asked = lineage_graph(window="1d")
    order_flow.produced("payments", "PaymentTaken", "payments", events=4, ago_ms=2 * MINUTE)
    deadline = time.monotonic() + 10
    while selectors._cache["1d"].graph is asked and time.monotonic() < deadline:
        time.sleep(0.05)
    for thread in _refresh_threads():
        thread.join(10)
    assert selectors._cache["1d"].graph.edge("service:payments", "event_type:PaymentTaken").events == 7, (
        "a window asked for is kept built too"
    )
    selectors.lineage_cache_clear()
    assert not [t for t in threading.enumerate() if t.name.startswith("lineage-keeper-")], "stopped"
