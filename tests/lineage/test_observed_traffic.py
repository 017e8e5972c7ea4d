"""End to end through the broker: events produced and fetched over the real HTTP API become
observed flows in the lineage graph, with no FlowStat rows written by hand."""

import pytest

pytestmark = pytest.mark.django_db


def test_real_produce_and_fetch_show_as_observed_flows(make_api, estate):
    estate.service("orders", team="Checkout Team").service("inventory", team="Warehouse Team")
    estate.event_type("OrderPlaced", topic="orders").declares("orders", "producer", "OrderPlaced")
    estate.declares("inventory", "consumer", "OrderPlaced")
    producer = make_api("produce:orders", service="orders")
    response = producer.post(
        "/api/v1/topics/orders/events", [{"type": "OrderPlaced", "data": {"n": i}} for i in range(5)]
    )
    assert response.status_code in (200, 201), response.content
    for service, group in (("inventory", "inventory-service"), ("analytics", "analytics-service")):
        consumer = make_api("consume:orders", service=service)
        member = consumer.post(
            f"/api/v1/groups/{group}/members", {"topics": ["orders"], "auto_offset_reset": "earliest"}
        ).json()
        fetched = consumer.get(f"/api/v1/groups/{group}/members/{member['member_id']}/events", max_wait_ms=0)
        assert fetched.status_code == 200 and len(fetched.json()["events"]) == 5

    viewer = make_api("describe:*", service="viewer")  # lineage shows the whole estate
    body = viewer.get("/api/v1/lineage/graph", focus="OrderPlaced", depth=1, window="10m").json()
    edges = {e["id"]: (e["flow"], e["events"]) for e in body["edges"]}
    assert edges["service:orders->event_type:OrderPlaced"] == ("both", 5)
    assert edges["event_type:OrderPlaced->service:inventory"] == ("both", 5)
    assert edges["event_type:OrderPlaced->service:analytics"] == ("observed", 5)
    assert edges["topic:orders->group:analytics-service"] == ("observed", 5)
    assert edges["group:analytics-service->service:analytics"] == ("observed", 5)
