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
    produce(
        api,
        "payments",
        [{"type": f"T{n}", "data": {"customer": {"country": "FR" if n % 2 else "DE"}}} for n in range(6)],
    )
    response = viewer.get("/topics/payments/", {"field": "/customer/country", "value": "FR"})
    html = response.content.decode()
    assert [t for t in ("T0", "T1", "T2", "T3", "T4", "T5") if f"<td>{t}</td>" in html] == ["T1", "T3", "T5"]
    assert response.context["scanned"] == {"first": 0, "last": 5, "count": 6}
    assert "3 matches in offsets 0–5" in html
    assert f"up to {FILTER_SCAN_LIMIT} events" in html


def test_paging_links_keep_the_time_and_the_field_filter(viewer, api, make_topic):
    make_topic("payments")
    produce(api, "payments", [{"type": f"T{n}", "data": {"n": n}} for n in range(3)])
    response = viewer.get("/topics/payments/", {"offset": "1", "at": "2026-01-01T00:00", "field": "/n", "value": "2"})
    older = response.content.decode().split('id="page-older" href="?')[1].split('"')[0].replace("&amp;", "&")
    assert set(older.split("&")) >= {"offset=0", "at=2026-01-01T00%3A00", "field=%2Fn", "value=2", "partition=0"}


def test_an_offset_in_the_link_wins_over_the_time_it_carries(viewer, api, make_topic):
    make_topic("payments")
    produce(api, "payments", [{"type": f"T{n}", "time": f"2026-01-01T1{n}:00:00Z", "data": {}} for n in range(3)])
    response = viewer.get("/topics/payments/", {"offset": "0", "at": "2026-01-01T12:00"})
    assert response.context["offset"] == "0" and "<td>T0</td>" in response.content.decode()


def test_a_field_filter_on_personal_data_matches_nothing_for_a_viewer_and_says_why(
    as_role, api, make_event_type, admin_user, client
):
    make_event_type("CustomerRegistered", topics=["orders"], personal_data_fields=["/email"])
    produce(api, "orders", [{"type": "CustomerRegistered", "partition": 0, "data": {"email": "a@b.c", "plan": "gold"}}])
    query = {"partition": 0, "field": "/email", "value": "a@b.c"}
    page = as_role("viewer").get("/topics/orders/", query)
    html = page.content.decode()
    assert "<td>CustomerRegistered</td>" not in html and "a@b.c" not in html.replace('value="a@b.c"', "")
    assert 'id="filter-refused"' in html and page.context["refused_types"] == ["CustomerRegistered"]
    # filtering on the mask itself or on a parent of the field confirms nothing either
    for field, value in (("/email", "***"), ("/", "a@b.c")):
        assert (
            "<td>CustomerRegistered</td>"
            not in client.get("/topics/orders/", {**query, "field": field, "value": value}).content.decode()
        )
    client.force_login(admin_user)
    assert "<td>CustomerRegistered</td>" in client.get("/topics/orders/", query).content.decode()


def test_a_field_filter_on_other_fields_of_a_classified_type_still_matches(viewer, api, make_event_type):
    make_event_type("CustomerRegistered", topics=["orders"], personal_data_fields=["/email"])
    produce(api, "orders", [{"type": "CustomerRegistered", "partition": 0, "data": {"email": "a@b.c", "plan": "gold"}}])
    html = viewer.get("/topics/orders/", {"partition": 0, "field": "/plan", "value": "gold"}).content.decode()
    assert "<td>CustomerRegistered</td>" in html and 'id="filter-refused"' not in html


def test_the_live_tail_answers_what_was_produced_since_the_cursor_newest_first(viewer, api, make_topic):
    make_topic("payments", partitions=2)
    produce(api, "payments", [{"type": "Old", "partition": 0, "data": {}}])
    cursor = viewer.get("/topics/payments/").context["tail_cursor"]
    assert cursor == "0:1,1:0"
    assert viewer.get("/topics/payments/tail/", {"cursor": cursor}).content.decode().strip() == ""
    produce(api, "payments", [{"type": "First", "partition": 1, "data": {}}])
    produce(api, "payments", [{"type": "Second", "partition": 0, "data": {}}])
    response = viewer.get("/topics/payments/tail/", {"cursor": cursor})
    html = response.content.decode()
    assert "<td>Old</td>" not in html and html.index("<td>Second</td>") < html.index("<td>First</td>")
    assert response["X-Tail-Cursor"] == "0:2,1:1"
    assert viewer.get("/topics/payments/tail/", {"cursor": response["X-Tail-Cursor"]}).content.decode().strip() == ""


def test_the_live_tail_reads_at_most_the_kept_number_per_partition(viewer, api, make_topic):
    from catalog.topic_views import TAIL_KEEP

    make_topic("payments")
    produce(api, "payments", [{"type": f"T{n}", "data": {}} for n in range(TAIL_KEEP + 5)])
    response = viewer.get("/topics/payments/tail/", {"cursor": "0:0"})
    assert response.content.decode().count("<tr") == TAIL_KEEP
    assert response["X-Tail-Cursor"] == f"0:{TAIL_KEEP + 5}"
    assert "<td>T4</td>" not in response.content.decode() and f"<td>T{TAIL_KEEP + 4}</td>" in response.content.decode()


def test_the_live_tail_without_a_cursor_starts_at_the_log_end(viewer, api, make_topic):
    make_topic("payments")
    produce(api, "payments", [{"type": "Old", "data": {}}])
    response = viewer.get("/topics/payments/tail/")
    assert response.content.decode().strip() == "" and response["X-Tail-Cursor"] == "0:1"


def test_the_live_tail_masks_personal_data_for_a_viewer(viewer, api, make_event_type):
    make_event_type("CustomerRegistered", topics=["orders"], personal_data_fields=["/email"])
    produce(api, "orders", [{"type": "CustomerRegistered", "partition": 0, "data": {"email": "a@b.c", "plan": "gold"}}])
    html = viewer.get("/topics/orders/tail/", {"cursor": "0:0,1:0,2:0"}).content.decode()
    assert "gold" in html and "a@b.c" not in html and "***" in html.replace("&quot;", '"')
