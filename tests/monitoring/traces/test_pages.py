"""The trace pages in HTML: login required, the search box, the trace page's summary, waterfall,
hop chips, inspector and graph data, and the refreshed lists."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.auth.models import Group

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer(client, django_user_model):
    user = django_user_model.objects.create_user("vera", password="pw")
    user.groups.add(Group.objects.get_or_create(name="viewer")[0])
    client.force_login(user)
    return client


@pytest.fixture
def order(shop):
    """OrderPlaced read by payments (which then charged) and by a lagging analytics group."""
    shop.produce("orders", "orders", "Earlier", correlation="earlier")
    shop.consume("analytics", "analytics-service", ("orders",))
    placed = shop.produce(
        "orders", "orders", "OrderPlaced", correlation="order-1", headers=[{"key": "tenant", "value": "t1"}]
    )
    shop.consume("payments", "payments-service", ("orders",))
    paid = shop.produce("payments", "payments", "PaymentCompleted", correlation="order-1", cause=placed)
    return {"placed": placed, "paid": paid}


def test_trace_pages_need_a_login(client, order):
    for path in ("/traces/", "/traces/order-1/", "/traces/?q=order-1"):
        response = client.get(path)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], path


def test_the_search_box_opens_the_trace_and_says_when_nothing_matches(viewer, order):
    found = viewer.get("/traces/", {"q": f"  {order['paid']['id']} "})
    assert found.status_code == 302 and found["Location"] == f"/traces/{order['paid']['id']}/"
    missing = viewer.get("/traces/", {"q": "no-such-id"})
    assert missing.status_code == 404
    assert "No event has the correlation id, event id, trace id, position or business key" in missing.content.decode()


def test_the_trace_page_shows_summary_waterfall_hop_status_and_inspector(viewer, order):
    response = viewer.get("/traces/order-1/")

    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="trace-outcome"' in html and "no outcome defined" in html, "no business flow is defined"
    assert "delivery: 1 pending" in html, "analytics has not read the order yet"
    rows = re.findall(r'class="tw-row tw-row-(event|hop)[^"]*"[^>]*data-position="([^"]+)"', html)
    assert rows == [
        ("event", "orders/0/1"),
        ("hop", "orders/0/1"),
        ("hop", "orders/0/1"),
        ("event", "payments/0/0"),
    ]
    assert "pending · next to read" in html and "consumed" in html
    assert html.count('class="trace-panel') == 2
    assert "tenant" in html and "t1" in html, "headers are in the inspector"
    graph = json.loads(re.search(r'id="trace-graph-data" type="application/json">(.*?)</script>', html).group(1))
    kinds = sorted(node["data"]["kind"] for node in graph["nodes"])
    assert kinds == ["event", "event", "group", "group", "service"]
    edges = {(edge["data"]["source"], edge["data"]["target"]) for edge in graph["edges"]}
    hop = next(node["data"]["id"] for node in graph["nodes"] if node["data"]["label"] == "payments-service")
    payment = next(
        node["data"]["id"] for node in graph["nodes"] if node["data"]["label"].startswith("PaymentCompleted")
    )
    assert (hop, payment) in edges, "the payment hangs under the group whose service produced it"


def test_a_missing_trace_page_is_404_with_the_search_box(viewer, order):
    response = viewer.get("/traces/never-seen/")
    assert response.status_code == 404
    assert 'id="trace-q"' in response.content.decode()


def test_the_lists_refresh_as_an_htmx_partial(viewer, order):
    page = viewer.get("/traces/").content.decode()
    assert "<html" in page and 'id="recent-traces"' in page and "order-1" in page
    partial = viewer.get("/traces/", HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial and 'id="recent-traces"' in partial and "order-1" in partial
