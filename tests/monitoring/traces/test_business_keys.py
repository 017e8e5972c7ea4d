"""Business keys end to end: an order produced through the HTTP API is found by its order_id in the
trace search (page and API), the topic browser and the global search, once the periodic index
has run; an event type that names no business key is not indexed, and the index never rereads
the log."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from broker.business_keys import _shares, business_key_find, business_keys_forget, business_keys_index, key_values
from broker.models import BusinessKey, BusinessKeyCursor, Event, Topic
from broker.services.retention import retention_apply
from catalog import services
from catalog.models import EventType
from core.auth import Principal

pytestmark = pytest.mark.django_db
EDITOR = Principal(scopes=frozenset({"admin"}), username="seed")


@pytest.fixture(autouse=True)
def _fresh_business_key_fields():
    """Catalog edits forget the broker's copy only on commit, which a test's never does."""
    business_keys_forget()
    yield
    business_keys_forget()


@pytest.fixture
def viewer(client, django_user_model):
    user = django_user_model.objects.create_user("vera", password="pw")
    user.groups.add(Group.objects.get_or_create(name="viewer")[0])
    client.force_login(user)
    return client


@pytest.fixture
def keyed(order_saga):
    """OrderPlaced and OrderShipped name /order_id; OrderCancelled names no business key."""
    for name in ("OrderPlaced", "OrderShipped"):
        services.event_type_update(
            principal=EDITOR, event_type=EventType.objects.get(name=name), data={"business_key_fields": ["/order_id"]}
        )
    return order_saga


@pytest.fixture
def order(shop, keyed):
    placed = shop.produce("orders", "orders", "OrderPlaced", correlation="corr-42", data={"order_id": 42})
    shop.produce("shipping", "shipping", "OrderShipped", correlation="corr-42", cause=placed, data={"order_id": 42})
    shop.produce("orders", "orders", "OrderPlaced", correlation="corr-7", data={"order_id": 7})
    shop.produce("orders", "orders", "OrderCancelled", correlation="corr-9", data={"order_id": 9})
    business_keys_index()
    return placed


def test_the_index_records_only_types_that_name_keys_and_reads_each_event_once(order, shop):
    assert sorted(BusinessKey.objects.values_list("event_type", "name", "value")) == [
        ("OrderPlaced", "order_id", "42"),
        ("OrderPlaced", "order_id", "7"),
        ("OrderShipped", "order_id", "42"),
    ], "OrderCancelled names no business key"
    assert business_key_find("order_id=9") == [] and business_key_find("9") == []
    assert business_keys_index() == 0, "nothing new: the cursors are at the log end"
    shop.produce("orders", "orders", "OrderPlaced", correlation="corr-8", data={"order_id": 8})
    with CaptureQueriesContext(connection) as queries:
        assert business_keys_index() == 1
    reads = [q["sql"] for q in queries.captured_queries if "broker_event" in q["sql"] and "SELECT" in q["sql"]]
    assert len(reads) == 1 and ">=" in reads[0], "only the new positions of the one partition that grew"
    cursors = dict(BusinessKeyCursor.objects.values_list("topic__name", "next_offset"))
    assert cursors == {"orders": 4, "shipping": 1, "payments": 0, "secrets": 0}, "next to read: the log end"


def test_trace_search_opens_the_orders_trace_by_order_id_or_bare_value(viewer, order):
    for query in ("order_id=42", " 42 "):
        found = viewer.get("/traces/", {"q": query})
        assert found.status_code == 302 and found["Location"] == "/traces/corr-42/", query
    page = viewer.get("/traces/order_id=42/").content.decode()
    assert "business key" in page and "OrderShipped" in page
    assert 'id="trace-flow"' in page and "Order saga" in page, "the trace page links the flow that judged it"
    assert viewer.get("/traces/", {"q": "order_id=9"}).status_code == 404


def test_a_value_under_two_key_names_is_ambiguous_and_names_both(viewer, shop, keyed):
    services.event_type_update(
        principal=EDITOR,
        event_type=EventType.objects.get(name="OrderShipped"),
        data={"business_key_fields": ["/parcel"]},
    )
    business_keys_forget()
    shop.produce("orders", "orders", "OrderPlaced", correlation="a", data={"order_id": 5})
    shop.produce("shipping", "shipping", "OrderShipped", correlation="b", data={"parcel": "5"})
    business_keys_index()
    response = viewer.get("/traces/", {"q": "5"})
    assert response.status_code == 404
    assert "order_id=5" in response.content.decode() and "parcel=5" in response.content.decode()
    assert viewer.get("/traces/", {"q": "parcel=5"})["Location"] == "/traces/b/"


def test_one_business_key_in_two_transactions_lists_both(viewer, shop, keyed):
    shop.produce("orders", "orders", "OrderPlaced", correlation="first", data={"order_id": 1})
    shop.produce("orders", "orders", "OrderPlaced", correlation="retry", data={"order_id": 1})
    business_keys_index()
    html = viewer.get("/traces/", {"q": "order_id=1"}).content.decode()
    assert 'id="business-key-traces"' in html and "/traces/first/" in html and "/traces/retry/" in html


def test_the_trace_api_resolves_a_business_key(make_api, order):
    api = make_api("consume:*", "group:*")
    body = api.get("/api/v1/traces/order_id=42").json()
    assert body["outcome"] == "completed"
    assert {event["type"] for event in body["events"]} == {"OrderPlaced", "OrderShipped"}


def test_the_topic_browser_filters_by_business_key(viewer, order):
    html = viewer.get("/topics/orders/", {"business_key": "order_id=42"}).content.decode()
    assert "Events with business key" in html and "corr-42" in html and "corr-7" not in html
    none = viewer.get("/topics/orders/", {"business_key": "order_id=9"}).content.decode()
    assert "corr-9" not in none


def test_retention_drops_the_keys_of_the_events_it_deleted_behind_the_cursor(shop, keyed):
    """The log start moves past events whose keys are indexed while the cursor is further on:
    their keys go, the others stay, and the cursor does not move back."""
    for n in range(3):
        shop.produce("orders", "orders", "OrderPlaced", correlation=f"c{n}", data={"order_id": n})
        time.sleep(0.005)  # one append time each
    assert business_keys_index() == 3
    kept = Event.objects.get(topic__name="orders", correlation_id="c1")
    Topic.objects.filter(name="orders").update(retention_ms=60_000)
    retention_apply(at_ms=kept.append_time_ms + 60_000)  # expires what was appended before c1
    business_keys_index()
    assert sorted(BusinessKey.objects.values_list("value", flat=True)) == ["1", "2"]
    assert business_key_find("order_id=0") == []
    assert BusinessKeyCursor.objects.get(topic__name="orders", partition=kept.partition).next_offset == 3


def test_a_backlog_on_one_partition_does_not_hold_back_the_keys_of_the_others(shop, keyed, monkeypatch):
    """Each partition with something new reads a fair part of a pass's budget: the one shipment
    is found in the first pass, beside a part of the orders' backlog, not after all of it."""
    monkeypatch.setattr("broker.business_keys._MIN_SHARE", 1)
    for n in range(12):
        shop.produce("orders", "orders", "OrderPlaced", correlation=f"c{n}", data={"order_id": n})
    shop.produce("shipping", "shipping", "OrderShipped", correlation="c0", data={"order_id": 0})
    assert business_keys_index(max_events=6) == 6
    assert BusinessKey.objects.filter(event_type="OrderShipped").count() == 1
    while business_keys_index(max_events=6):
        pass
    assert BusinessKey.objects.filter(event_type="OrderPlaced").count() == 12


def test_shares_are_max_min_fair_and_turn_when_the_budget_is_too_small(monkeypatch):
    monkeypatch.setattr("broker.business_keys._MIN_SHARE", 1)
    assert _shares([1, 100, 0, 3], 20) == [1, 16, 0, 3], "the small ones have all they need, the rest goes to the big one"
    assert _shares([100, 100, 100], 30) == [10, 10, 10]
    assert _shares([], 30) == []
    monkeypatch.setattr("broker.business_keys._MIN_SHARE", 10)
    monkeypatch.setattr("broker.business_keys.time.time", lambda: 2.0)
    assert _shares([50] * 4, 20) == [0, 0, 10, 10], "from the third, by the clock"
    monkeypatch.setattr("broker.business_keys.time.time", lambda: 3.0)
    assert _shares([50] * 4, 20) == [10, 0, 0, 10]


def test_the_global_search_finds_the_order_and_links_its_trace(viewer, order):
    html = viewer.get("/catalog/", {"q": "order_id=42"}).content.decode()
    assert 'id="business-key-hits"' in html and "/traces/corr-42/" in html
    plain = viewer.get("/catalog/", {"q": "OrderPlaced"}).content.decode()
    assert 'id="business-key-hits"' not in plain


def test_key_values_reads_scalars_under_pointers_and_wildcards():
    data = {"order_id": 42, "items": [{"sku": "a"}, {"sku": "b"}, {"sku": {"x": 1}}], "ok": True, "none": None}
    assert list(key_values(data, "/order_id")) == ["42"]
    assert list(key_values(data, "/items/*/sku")) == ["a", "b"]
    assert list(key_values(data, "/ok")) == ["true"]
    assert list(key_values(data, "/none")) == [] and list(key_values(data, "/missing")) == []
