"""The catalog in the browser's HTML: login required, search, event type page, edits by editors
only, the inbox, topic browsing, and list pages whose query counts do not grow with rows."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog import services
from catalog.models import EventType
from tests.catalog.conftest import EDITOR

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer(client, django_user_model):
    user = django_user_model.objects.create_user("vera", password="pw")
    user.groups.add(Group.objects.get_or_create(name="viewer")[0])
    client.force_login(user)
    return client


@pytest.fixture
def editor(client, django_user_model):
    user = django_user_model.objects.create_user("eddie", password="pw")
    user.groups.add(Group.objects.get_or_create(name="editor")[0])
    client.force_login(user)
    return client


def test_pages_need_a_login(client, make_event_type):
    make_event_type()
    for path in ("/", "/catalog/", "/catalog/event-types/OrderPlaced/", "/topics/", "/catalog/inbox/"):
        response = client.get(path)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_catalog_search_finds_by_meaning_and_the_htmx_partial_has_only_rows(viewer, make_event_type):
    make_event_type("OrderPlaced", business_meaning="The customer committed to buy")
    make_event_type("StockReserved")
    page = viewer.get("/catalog/", {"q": "committed"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "OrderPlaced" in html and "StockReserved" not in html and "<html" in html
    partial = viewer.get("/catalog/", {"q": "committed"}, HTTP_HX_REQUEST="true").content.decode()
    assert "OrderPlaced" in partial and "<html" not in partial


def test_event_type_page_shows_meaning_rendered_and_sanitised(viewer, make_event_type):
    make_event_type("OrderPlaced", business_meaning="**Bold** <script>alert(1)</script> [x](javascript:alert(2))")
    html = viewer.get("/catalog/event-types/OrderPlaced/").content.decode()
    assert "<strong>Bold</strong>" in html
    assert "<script>alert(1)" not in html and "javascript:alert" not in html


def test_an_editor_can_edit_and_a_viewer_cannot(viewer, make_event_type, django_user_model, client):
    make_event_type("OrderPlaced")
    assert viewer.get("/catalog/event-types/OrderPlaced/edit/").status_code == 403
    assert viewer.post("/catalog/event-types/OrderPlaced/edit/", {"summary": "x"}).status_code == 403
    page = viewer.get("/catalog/event-types/OrderPlaced/").content.decode()
    assert 'id="edit-event-type"' not in page

    user = django_user_model.objects.create_user("eddie", password="pw")
    user.groups.add(Group.objects.get_or_create(name="editor")[0])
    client.force_login(user)
    form = client.get("/catalog/event-types/OrderPlaced/edit/")
    assert form.status_code == 200
    data = {
        "name": "OrderPlaced",
        "summary": "A customer placed an order",
        "domain": "Ordering",
        "owner_team": "Checkout Team",
        "lifecycle": "active",
        "business_meaning": "New meaning",
        "tags": "orders, core",
        "topics": ["orders"],
        "subject": "",
        "personal_data_fields": "/customer/email",
        "deprecation_note": "",
        "sunset_date": "",
    }
    response = client.post("/catalog/event-types/OrderPlaced/edit/", data)
    assert response.status_code == 302
    saved = EventType.objects.get(name="OrderPlaced")
    assert saved.business_meaning == "New meaning" and saved.personal_data_fields == ["/customer/email"]
    assert sorted(t.name for t in saved.tags.all()) == ["core", "orders"]


def test_a_bad_edit_shows_the_services_reason_on_the_field(editor, make_event_type):
    make_event_type("OrderPlaced", lifecycle="active")
    data = {
        "name": "OrderPlaced",
        "summary": "s",
        "domain": "Ordering",
        "owner_team": "Checkout Team",
        "lifecycle": "deprecated",
        "topics": [],
        "tags": "",
        "personal_data_fields": "",
        "deprecation_note": "",
        "sunset_date": "",
        "business_meaning": "",
        "subject": "",
    }
    response = editor.post("/catalog/event-types/OrderPlaced/edit/", data)
    assert response.status_code == 200
    assert "say why it is deprecated" in response.content.decode()
    assert EventType.objects.get().lifecycle == "active"


def test_the_inbox_lists_undocumented_topics_and_an_editor_dismisses_one(editor, make_topic, catalog_base):
    make_topic("legacy.audit")
    html = editor.get("/catalog/inbox/").content.decode()
    assert "legacy.audit" in html and "orders" in html
    editor.post("/catalog/inbox/dismiss/", {"kind": "topic", "name": "legacy.audit", "reason": "internal"})
    assert "legacy.audit" not in editor.get("/catalog/inbox/").content.decode()


def test_topic_page_browses_by_offset_and_finds_by_key_and_correlation_id(viewer, api, make_topic):
    make_topic("payments", partitions=2)
    api.post(
        "/api/v1/topics/payments/events",
        [
            {"partitionkey": "order-1", "correlationid": "corr-A", "type": "PaymentCompleted", "data": {"n": 1}},
            {"partitionkey": "order-2", "correlationid": "corr-B", "type": "PaymentFailed", "data": {"n": 2}},
        ],
    )
    by_key = viewer.get("/topics/payments/", {"key": "order-2"}).content.decode()
    assert "PaymentFailed" in by_key and "PaymentCompleted" not in by_key
    by_corr = viewer.get("/topics/payments/", {"correlation": "corr-A"}).content.decode()
    assert "PaymentCompleted" in by_corr and "PaymentFailed" not in by_corr
    assert viewer.get("/topics/").status_code == 200


def test_home_summarises_the_estate(viewer, make_event_type):
    make_event_type()
    html = viewer.get("/").content.decode()
    assert "Event types" in html and "Undocumented" in html


@pytest.mark.parametrize(
    "path", ["/catalog/", "/catalog/services/", "/catalog/domains/", "/catalog/teams/", "/topics/"]
)
def test_list_pages_take_the_same_number_of_queries_for_few_or_many_rows(viewer, make_event_type, make_topic, path):
    def count() -> int:
        with CaptureQueriesContext(connection) as context:
            assert viewer.get(path).status_code == 200
        return len(context.captured_queries)

    make_event_type("Type0", tags=["a"], topics=["orders"], producers=None)
    services.service_document(principal=EDITOR, name="svc0", create=True, owner_team="Checkout Team", domain="Ordering")
    few = count()
    for n in range(1, 25):
        services.domain_create(principal=EDITOR, name=f"D{n}")
        services.team_create(principal=EDITOR, name=f"T{n}")
        make_topic(f"topic{n}")
        services.service_document(principal=EDITOR, name=f"svc{n}", create=True, owner_team=f"T{n}", domain=f"D{n}")
        make_event_type(f"Type{n}", tags=["a", "b"], topics=["orders", f"topic{n}"])
    assert count() == few


@pytest.fixture
def classified_event(api, make_event_type):
    make_event_type("CustomerRegistered", topics=["orders"], personal_data_fields=["/email", "/phones/*/number"])
    data = {"email": "someone@example.com", "phones": [{"number": "+33 1 23"}], "plan": "gold"}
    response = api.post(
        "/api/v1/topics/orders/events",
        {"type": "CustomerRegistered", "partitionkey": "cus-1", "correlationid": "corr-pii", "data": data},
    )
    assert response.status_code == 200, response.content
    return response.json()["events"][0]


def test_a_viewer_sees_personal_data_masked_on_the_topic_browser_in_every_mode(viewer, classified_event):
    partition = classified_event["partition"]
    for params in ({"partition": partition, "offset": 0}, {"key": "cus-1"}, {"correlation": "corr-pii"}):
        page = viewer.get("/topics/orders/", params).content.decode()
        assert "gold" in page, params
        assert "someone@example.com" not in page and "+33 1 23" not in page, params
        assert "&quot;***&quot;" in page, params


@pytest.mark.parametrize("groups", [("admin",), ("viewer", "pii")])
def test_an_admin_or_a_pii_member_sees_personal_data_on_the_topic_browser(
    client, django_user_model, classified_event, groups
):
    user = django_user_model.objects.create_user(username="reader", password="x")
    for name in groups:
        user.groups.add(Group.objects.get_or_create(name=name)[0])
    client.force_login(user)
    page = client.get("/topics/orders/", {"correlation": "corr-pii"}).content.decode()
    assert "someone@example.com" in page and "+33 1 23" in page


def test_the_event_type_page_masks_the_real_example_for_a_viewer_only(viewer, classified_event, admin_user, client):
    page = viewer.get("/catalog/event-types/CustomerRegistered/").content.decode()
    assert "someone@example.com" not in page and "personal data masked" in page
    client.force_login(admin_user)
    page = client.get("/catalog/event-types/CustomerRegistered/").content.decode()
    assert "someone@example.com" in page and "personal data masked" not in page
