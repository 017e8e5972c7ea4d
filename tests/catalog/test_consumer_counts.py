"""The catalog counts consumers both ways (declared in the catalog, seen reading on the broker)
and the inbox decides what travels on a topic by the same facts drift does (issue 14)."""

from __future__ import annotations

import pytest

from catalog.selectors import event_type_list, governance_inbox
from lineage.graph import EdgeKind, NodeKind, node_id
from lineage.selectors import lineage_graph
from tests.lineage.conftest import Estate

pytestmark = pytest.mark.django_db


@pytest.fixture
def orders(make_topic) -> Estate:
    """OrderPlaced on `orders` with one declared consumer (inventory) and three seen reading it:
    inventory, analytics (undeclared) and a group whose service is unknown."""
    estate = Estate(make_topic)
    return (
        estate.service("orders")
        .service("inventory")
        .event_type("OrderPlaced", topic="orders")
        .declares("orders", "producer", "OrderPlaced")
        .declares("inventory", "consumer", "OrderPlaced")
        .produced("orders", "OrderPlaced", "orders")
        .consumed("inventory-service", "orders", "inventory")
        .consumed("analytics-service", "orders", "analytics")
        .consumed("mystery", "orders", None)
    )


def test_the_consumers_column_counts_declared_and_observed_consumers_apart(orders, client, django_user_model):
    row = event_type_list().get(name="OrderPlaced")
    assert (row.consumer_count, row.observed_consumer_count) == (1, 3)
    client.force_login(django_user_model.objects.create_user("reader", password="pw-reader-123"))
    html = client.get("/catalog/").content.decode()
    assert 'data-consumers="1/3"' in html and "1 declared" in html and "3 observed" in html


def test_a_consumer_seen_on_a_topic_the_type_was_only_produced_to_is_counted(orders):
    orders.produced("orders", "OrderPlaced", "orders.v1").consumed("billing", "orders.v1", "billing")
    assert event_type_list().get(name="OrderPlaced").observed_consumer_count == 4


def test_an_event_type_seen_on_a_topic_is_not_called_absent_from_it_by_the_inbox(orders):
    orders.produced("orders", "OrderPlaced", "orders.v1")
    orders.topic("empty.v1")
    inbox = {item.name: item.detail for item in governance_inbox() if item.kind == "topic"}
    assert inbox == {
        "orders.v1": "OrderPlaced seen on it; the catalog lists no event type",
        "empty.v1": "no event type travels on it",
    }
    graph = lineage_graph(window="7d")
    drift_edge = graph.edge(node_id(NodeKind.EVENT_TYPE, "OrderPlaced"), node_id(NodeKind.TOPIC, "orders.v1"))
    assert drift_edge is not None and drift_edge.kind is EdgeKind.PUBLISHED_TO and not drift_edge.declared
