"""The topic browser: retention and sizes in human units, a payload column, seek by time and a
field filter bounded to the events it reads."""

import pytest

from catalog.topic_views import FILTER_SCAN_LIMIT

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer(as_role):
    return as_role("viewer")


def produce(api, topic, events):
    response = api.post(f"/api/v1/topics/{topic}/events", events)
    assert response.status_code in (200, 201, 207), response.content


def test_topic_list_shows_retention_and_sizes_in_human_units(viewer, make_topic):
    make_topic("orders", retention_ms=7 * 86_400_000)
    make_topic("audit", retention_ms=-1)
    html = viewer.get("/topics/").content.decode()
    assert "7 days" in html and "forever" in html
    assert "604800000 ms" not in html


def test_event_browser_has_a_payload_column(viewer, api, make_topic):
    make_topic("payments")
    produce(api, "payments", [{"type": "PaymentCompleted", "data": {"amount": 1234, "currency": "EUR"}}])
    html = viewer.get("/topics/payments/").content.decode()
    assert "<th>Payload</th>" in html
    assert '{"amount": 1234, "currency": "EUR"}' in html.replace("&quot;", '"')


def test_seek_by_time_starts_at_the_first_event_at_or_after_it(viewer, api, make_topic):
    make_topic("payments")
    produce(
        api,
        "payments",
        [
            {"type": "Early", "time": "2026-01-01T10:00:00Z", "data": {}},
            {"type": "Late", "time": "2026-01-01T12:00:00Z", "data": {}},
        ],
    )
    html = viewer.get("/topics/payments/", {"at": "2026-01-01T11:00"}).content.decode()
    assert "Late" in html and "Early" not in html
    assert "from offset 1" in html


def test_field_filter_shows_matching_events_and_says_what_it_read(viewer, api, make_topic):
    make_topic("payments")
    produce(api, "payments", [{"type": f"T{n}", "data": {"customer": {"country": "FR" if n % 2 else "DE"}}} for n in range(6)])
    response = viewer.get("/topics/payments/", {"field": "/customer/country", "value": "FR"})
    html = response.content.decode()
    assert [t for t in ("T0", "T1", "T2", "T3", "T4", "T5") if f"<td>{t}</td>" in html] == ["T1", "T3", "T5"]
    assert response.context["scanned"] == {"first": 0, "last": 5, "count": 6}
    assert "3 matches in offsets 0–5" in html
    assert f"up to {FILTER_SCAN_LIMIT} events" in html
