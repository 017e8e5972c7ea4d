"""Impact analysis on the demo's estate (issue 14): a breaking change to OrderPlaced would break
only the consumers that read OrderPlaced on its subject's topic; services further along the saga
are a separate downstream list, and a service reading OrderPlaced on another topic is neither.
The API, the registry's verbose answer and 409, and the impact page give the same answer."""

from __future__ import annotations

import json

import pytest

from catalog.demo import schema_versions, seed_demo
from core.services import api_key_create
from lineage.impact import impact_for_event_type, impact_for_subject
from tests.lineage.conftest import Estate
from tests.schemas.conftest import Registry

pytestmark = pytest.mark.django_db

SUBJECT = "orders-OrderPlaced"
WOULD_BREAK = {("inventory", "both"), ("analytics", "observed")}
DOWNSTREAM = {"payments", "orders", "shipping", "notifications"}


def breaking_order_placed() -> dict:
    schema = schema_versions("OrderPlaced")[1]
    return {**schema, "properties": {**schema["properties"], "total": {"type": "string"}}}


@pytest.fixture
def demo(make_topic) -> Estate:
    """The seeded demo with the traffic the simulator makes on `orders`: inventory (declared)
    and analytics (undeclared) read it; and a replay of OrderPlaced onto `orders-replay`, read
    only by fraud, whose schema lives under another subject."""
    seed_demo()
    estate = Estate(make_topic)
    return (
        estate.produced("orders", "OrderPlaced", "orders", events=90)
        .produced("orders", "OrderCancelled", "orders", events=10)
        .produced("inventory", "StockReserved", "inventory", events=80)
        .consumed("inventory", "orders", "inventory", events=100)
        .consumed("analytics", "orders", "analytics", events=100)
        .produced("replayer", "OrderPlaced", "orders-replay", events=30)
        .consumed("fraud", "orders-replay", "fraud", events=30)
    )


def test_a_breaking_order_placed_change_would_break_only_its_readers_on_the_orders_topic(demo):
    report = impact_for_subject(subject=SUBJECT)
    assert report.topics == ["orders"]
    assert {(row.service, row.flow) for row in report.breaking} == WOULD_BREAK
    assert all(row.event_type == "OrderPlaced" and row.topics in ([], ["orders"]) for row in report.breaking)
    assert sorted(name for name, _ in report.services) == ["analytics", "inventory"]
    assert {name for name, _ in report.downstream_services} == DOWNSTREAM
    assert "fraud" not in {row.service for row in report.rows}, "it reads OrderPlaced under another subject"
    assert impact_for_event_type(name="OrderPlaced").as_dict() == {**report.as_dict(), "subject": SUBJECT}


def test_the_api_counts_would_break_apart_from_downstream(demo, api):
    body = api.get("/api/v1/lineage/impact", event_type="OrderPlaced").json()
    assert (body["affected_services"], body["downstream_services"]) == (2, 4)
    assert {(row["service"], row["flow"]) for row in body["consumers"]} == WOULD_BREAK
    assert all(row["breaks"] for row in body["consumers"])
    assert {row["service"] for row in body["downstream"]} == DOWNSTREAM
    assert not any(row["breaks"] for row in body["downstream"])


def test_the_registry_names_the_same_consumers_who_would_break(demo):
    registry = Registry(api_key_create(service_name="registry-user", scopes=["registry:write"])[1])
    candidate = {"schemaType": "JSON", "schema": json.dumps(breaking_order_placed())}
    verbose = registry.post(f"/compatibility/subjects/{SUBJECT}/versions/latest?verbose=true", candidate).json()
    assert verbose["is_compatible"] is False
    assert {(row["service"], row["flow"]) for row in verbose["affected_consumers"]} == WOULD_BREAK
    assert {row["service"] for row in verbose["downstream_consumers"]} == DOWNSTREAM
    refused = registry.register(SUBJECT, breaking_order_placed())
    assert refused.status_code == 409
    would_break = refused.json()["message"].split("Would break: ")[1].split(". ")[0]
    assert sorted(would_break.split(", ")) == ["analytics (Data Team)", "inventory (Warehouse Team)"]
    assert "fraud" not in refused.json()["message"]


def test_the_impact_page_lists_who_would_break_apart_from_downstream(demo, client, django_user_model):
    client.force_login(django_user_model.objects.create_user("reader", password="pw-reader-123"))
    response = client.post(
        "/lineage/impact/", {"event_type": "OrderPlaced", "schema": json.dumps(breaking_order_placed())}
    )
    html = response.content.decode()
    assert "2 consumers would break" in html
    assert html.count('data-impact="breaks"') == 2 and 'data-impact="downstream"' in html
    assert 'data-service="fraud"' not in html
