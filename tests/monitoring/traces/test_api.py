"""The trace API: one transaction's facts as JSON, 404 for an id never seen, recent and slowest
traces, OTLP/JSON export for Jaeger, who may read what, and query budgets."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.demo import seed_demo
from tests.monitoring.traces.conftest import Shop

pytestmark = pytest.mark.django_db


def saga(shop: Shop, correlation: str, *, trace_id: str | None = None) -> dict[str, dict]:
    """OrderPlaced read by payments and analytics; the payment read by shipping."""
    placed = shop.produce("orders", "orders", "OrderPlaced", correlation=correlation, trace_id=trace_id)
    shop.consume("payments", "payments-service", ("orders",))
    shop.consume("analytics", "analytics-service", ("orders",))
    paid = shop.produce(
        "payments", "payments", "PaymentCompleted", correlation=correlation, cause=placed, trace_id=trace_id
    )
    shop.consume("shipping", "shipping-service", ("payments",))
    return {"placed": placed, "paid": paid}


def test_get_a_trace_by_correlation_id_returns_summary_events_and_hops(shop, api):
    events = saga(shop, "order-1")

    response = api.get("/api/v1/traces/order-1")

    assert response.status_code == 200
    body = response.json()
    assert body["matched_by"] == "correlation_id" and body["correlation_ids"] == ["order-1"]
    assert body["outcome"] == "no outcome defined" and body["flow"]["flow"] is None, "no business flow is defined"
    assert body["delivery"]["pending"] == 0 and body["delivery"]["hops"] == 3 and body["incomplete"] is False
    assert body["event_count"] == 2 and body["hop_count"] == 3 and body["pending_hops"] == 0
    assert body["topics"] == ["orders", "payments"]
    assert body["services"] == ["analytics", "orders", "payments", "shipping"]
    assert body["end_to_end_ms"] > 0 and body["first_seen_ms"] == events["placed"]["timestamp"]
    placed, paid = body["events"]
    assert placed["event_id"] == events["placed"]["id"] and placed["position"] == "orders/0/0"
    assert [hop["group"] for hop in placed["hops"]] == ["analytics-service", "payments-service"]
    assert all(hop["state"] == "consumed" and hop["committed_offset"] == 1 for hop in placed["hops"])
    assert all(hop["time_in_broker_ms"] >= 0 and hop["processing_ms"] >= 0 for hop in placed["hops"])
    assert paid["parent"] == "orders/0/0" and paid["via_group"] == "payments-service"
    assert paid["causation_id"] == events["placed"]["id"]
    assert paid["attributes"]["type"] == "PaymentCompleted" and paid["headers"] == []
    assert {segment["span_id"] for segment in body["critical_path"]} <= {
        hop["span_id"] for event in body["events"] for hop in event["hops"]
    } | {event["span_id"] for event in body["events"]}


def test_an_id_never_seen_is_404_in_the_error_envelope(shop, api):
    saga(shop, "order-2")
    response = api.get("/api/v1/traces/never-seen")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "trace_not_found"
    assert api.get("/api/v1/traces/never-seen/otlp").status_code == 404


def test_positions_and_ids_with_slashes_work_in_the_path(shop, api):
    saga(shop, "tenant/42/order-3")
    assert api.get("/api/v1/traces/tenant/42/order-3").json()["correlation_ids"] == ["tenant/42/order-3"]
    by_position = api.get("/api/v1/traces/payments/0/0").json()
    assert by_position["matched_by"] == "position" and by_position["event_count"] == 2


def test_the_api_needs_a_key_or_a_login_and_shows_only_readable_topics(shop, make_api, client, django_user_model):
    placed = shop.produce("orders", "orders", "OrderPlaced", correlation="order-4")
    shop.produce("secrets", "secrets", "CardStored", correlation="order-4", cause=placed)

    assert client.get("/api/v1/traces/order-4").status_code in (401, 403)
    reader = make_api("consume:orders", service="reader")
    body = reader.get("/api/v1/traces/order-4").json()
    assert [event["type"] for event in body["events"]] == ["OrderPlaced"] and body["hidden_events"] == 1
    assert make_api("consume:shipping", service="outsider").get("/api/v1/traces/order-4").status_code == 404
    user = django_user_model.objects.create_superuser("root", password="pw")
    client.force_login(user)
    assert client.get("/api/v1/traces/order-4").json()["event_count"] == 2


def test_a_trace_shows_a_key_only_the_consuming_groups_it_may_describe(shop, make_api):
    saga(shop, "order-5")
    payments = make_api("consume:orders", "consume:payments", service="payments")
    body = payments.get("/api/v1/traces/order-5").json()
    assert body["groups"] == ["payments-service"]
    placed, paid = body["events"]
    assert [hop["group"] for hop in placed["hops"]] == ["payments-service"]
    assert paid["hops"] == [] and body["hop_count"] == 1
    assert "analytics" not in body["services"] and "shipping" not in body["services"]
    recent = payments.get("/api/v1/traces").json()["recent"]
    assert [trace["correlation_id"] for trace in recent] == ["order-5"]


def test_recent_traces_are_the_newest_correlation_ids_and_slowest_are_ordered_by_end_to_end(shop, api):
    for number in range(3):
        saga(shop, f"order-{number}")
    shop.produce("orders", "orders", "OrderPlaced", correlation="order-unread")

    body = api.get("/api/v1/traces").json()

    assert [trace["correlation_id"] for trace in body["recent"]] == ["order-unread", "order-2", "order-1", "order-0"]
    unread = body["recent"][0]
    assert unread["end_to_end_ms"] is None and unread["event_count"] == 1
    assert unread["delivery"]["pending_groups"] == ["analytics-service", "payments-service"]
    assert unread["root_type"] == "OrderPlaced"
    slowest = [trace["end_to_end_ms"] for trace in body["slowest"]]
    assert len(slowest) == 3 and slowest == sorted(slowest, reverse=True)
    assert len(api.get("/api/v1/traces", limit=2).json()["recent"]) == 2
    assert api.get("/api/v1/traces", limit=0).status_code == 422


def test_the_recent_list_filters_by_outcome(shop, api, order_saga):
    shipped = saga(shop, "order-shipped")
    shop.produce("shipping", "shipping", "OrderShipped", correlation="order-shipped", cause=shipped["paid"])
    shop.produce("orders", "orders", "OrderPlaced", correlation="order-cancelled")
    shop.produce("orders", "orders", "OrderCancelled", correlation="order-cancelled")
    shop.produce("orders", "orders", "OrderPlaced", correlation="order-open")
    shop.produce("payments", "payments", "PaymentCompleted", correlation="order-orphan")

    def listed(outcome: str) -> list[str]:
        response = api.get("/api/v1/traces", outcome=outcome)
        assert response.status_code == 200, response.content
        recent = response.json()["recent"]
        assert all(trace["outcome"] == outcome for trace in recent)
        return [trace["correlation_id"] for trace in recent]

    assert listed("completed") == ["order-shipped"]
    assert listed("compensated") == ["order-cancelled"]
    assert listed("in flight") == ["order-open"]
    assert listed("no outcome defined") == ["order-orphan"]
    assert listed("failed") == [] and listed("stuck") == []
    everything = api.get("/api/v1/traces").json()["recent"]
    assert len(everything) == 4
    bad = api.get("/api/v1/traces", outcome="done")
    assert bad.status_code == 422 and "outcome" in bad.content.decode()


def test_the_recent_list_takes_the_same_number_of_queries_however_many_traces(shop, api):
    saga(shop, "order-a")
    api.get("/api/v1/traces")  # warm up: the first request authenticates the key from the database

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api.get("/api/v1/traces").status_code == 200
        return len(captured)

    one = queries()
    for number in range(6):
        saga(shop, f"order-b{number}")
    assert queries() == one <= 20


def test_otlp_export_follows_the_opentelemetry_messaging_conventions(shop, api):
    trace_id = uuid.uuid4().hex
    saga(shop, "order-5", trace_id=trace_id)

    response = api.get("/api/v1/traces/order-5/otlp", download="1")

    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    spans = response.json()["resourceSpans"][0]["scopeSpans"][0]["spans"]
    assert {span["traceId"] for span in spans} == {trace_id}, "the events' W3C trace id is the trace's id"

    def attributes(span):
        return {a["key"]: next(iter(a["value"].values())) for a in span["attributes"]}

    sends = [span for span in spans if span["kind"] == 4]
    processes = [span for span in spans if span["kind"] == 5]
    assert sorted(span["name"] for span in sends) == ["send orders", "send payments"]
    assert len(processes) == 3
    for span in sends:
        assert attributes(span)["messaging.operation.type"] == "send"
        assert attributes(span)["messaging.destination.name"] in ("orders", "payments")
    groups = sorted(attributes(span)["messaging.consumer.group.name"] for span in processes)
    assert groups == ["analytics-service", "payments-service", "shipping-service"]
    assert all(attributes(span)["messaging.operation.type"] == "process" for span in processes)
    assert all(attributes(span)["messaging.message.conversation_id"] == "order-5" for span in spans)


def test_personal_data_is_masked_and_the_schema_version_is_named(make_api):
    seed_demo()
    producer = make_api("produce:orders", service="orders")
    placed = {
        "order_id": "ord-0123456789",
        "customer": {"id": "cus-1", "email": "someone@example.com"},
        "items": [{"sku": "SKU-1", "quantity": 1}],
        "total": 10.0,
        "currency": "EUR",
    }
    response = producer.post(
        "/api/v1/topics/orders/events",
        {"type": "OrderPlaced", "correlationid": "order-6", "data": placed, "headers": [{"key": "h", "value": "1"}]},
    )
    assert response.status_code == 200, response.content

    event = make_api("consume:*", service="reader").get("/api/v1/traces/order-6").json()["events"][0]

    assert event["data"]["customer"]["email"] == "***"  # the key has no pii:read
    assert event["data"]["customer"]["id"] == "cus-1" and event["data"]["order_id"] == "ord-0123456789"
    assert event["schema"]["subject"] == "orders-OrderPlaced" and event["schema"]["version"] in (1, 2)
    assert event["headers"] == [{"key": "h", "value": "1"}]


def test_trace_endpoints_are_in_the_openapi_document(api):
    import yaml

    paths = yaml.safe_load(api.get("/api/schema/").content)["paths"]
    assert "get" in paths["/api/v1/traces"]
    assert any(path.startswith("/api/v1/traces/") and path.endswith("/otlp") for path in paths)
