"""Business flows in the catalog: the service's rules as the API answers them (a taken name or
start type is a conflict naming the field; unknown types and bad thresholds are 422 naming the
field), the pages (viewers read, editors edit), and the links from event type and trace pages."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog import services
from catalog.models import BusinessFlow
from tests.catalog.conftest import EDITOR

pytestmark = pytest.mark.django_db
BASE = "/api/v1/catalog/flows/"


@pytest.fixture
def order_types(make_event_type):
    for name in ("OrderPlaced", "OrderShipped", "OrderCancelled", "PaymentFailed", "ReturnRequested"):
        make_event_type(name)


def _saga(**data):
    body = {
        "name": "Order saga",
        "start_event_type": "OrderPlaced",
        "terminals": {"OrderShipped": "completed", "OrderCancelled": "compensated"},
        "stuck_after_seconds": 30,
        **data,
    }
    return services.business_flow_create(principal=EDITOR, data=body)


def _fields(response):
    return [error["field"] for error in response.json()["error"]["details"]["errors"]]


# -- API ---------------------------------------------------------------------------------------


def test_an_admin_key_creates_lists_changes_and_deletes_a_flow(api, order_types):
    created = api.post(
        BASE,
        {
            "name": "Order saga",
            "start_event_type": "OrderPlaced",
            "terminals": {"OrderShipped": "completed", "OrderCancelled": "compensated"},
            "stuck_after_seconds": 30,
        },
    )
    assert created.status_code == 201, created.content
    assert created.json()["terminals"] == {"OrderCancelled": "compensated", "OrderShipped": "completed"}
    assert [flow["name"] for flow in api.get(BASE).json()["results"]] == ["Order saga"]

    changed = api.patch(f"{BASE}Order saga", {"terminals": {"PaymentFailed": "failed"}, "stuck_after_seconds": 90})
    assert changed.status_code == 200, changed.content
    assert changed.json()["terminals"] == {"PaymentFailed": "failed"}
    assert changed.json()["stuck_after_seconds"] == 90

    assert api.delete(f"{BASE}Order saga").status_code == 204
    assert api.get(f"{BASE}Order saga").status_code == 404
    assert not BusinessFlow.objects.exists()


def test_a_key_without_admin_reads_flows_but_cannot_write_them(make_api, order_types):
    _saga()
    reader = make_api("consume:*")
    assert reader.get(BASE).status_code == 200
    assert reader.post(BASE, {"name": "x", "start_event_type": "OrderShipped", "terminals": {}}).status_code == 403
    assert reader.patch(f"{BASE}Order saga", {"stuck_after_seconds": 5}).status_code == 403
    assert reader.delete(f"{BASE}Order saga").status_code == 403


def test_a_taken_name_or_start_type_is_a_conflict_naming_the_field(api, order_types):
    _saga()
    same_name = api.post(
        BASE, {"name": "Order saga", "start_event_type": "ReturnRequested", "terminals": {"OrderShipped": "completed"}}
    )
    assert same_name.status_code == 409 and _fields(same_name) == ["name"]
    same_start = api.post(
        BASE, {"name": "Another", "start_event_type": "OrderPlaced", "terminals": {"OrderShipped": "completed"}}
    )
    assert same_start.status_code == 409 and _fields(same_start) == ["start_event_type"]
    assert same_start.json()["error"]["code"] == "duplicate_start"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"start_event_type": "NoSuchType"}, "start_event_type"),
        ({"terminals": {"NoSuchType": "completed"}}, "terminals"),
        ({"terminals": {"OrderShipped": "vanished"}}, "terminals"),
        ({"terminals": {}}, "terminals"),
        ({"terminals": {"OrderPlaced": "completed"}}, "terminals"),
        ({"stuck_after_seconds": 0}, "stuck_after_seconds"),
        ({"stuck_after_seconds": "60"}, "stuck_after_seconds"),
        ({"stuck_after_seconds": 10**9}, "stuck_after_seconds"),
        ({"name": "  bad/name"}, "name"),
    ],
)
def test_invalid_flows_are_422_naming_the_field(api, order_types, change, field):
    body = {"name": "Order saga", "start_event_type": "OrderPlaced", "terminals": {"OrderShipped": "completed"}}
    response = api.post(BASE, {**body, **change})
    assert response.status_code == 422, response.content
    assert _fields(response) == [field]
    assert not BusinessFlow.objects.exists()


def test_the_flow_list_api_costs_the_same_queries_for_one_flow_or_many(api, order_types, make_event_type):
    _saga()
    with CaptureQueriesContext(connection) as one:
        assert api.get(BASE).status_code == 200
    for index in range(4):
        make_event_type(f"Start{index}")
        _saga(name=f"Flow {index}", start_event_type=f"Start{index}")
    with CaptureQueriesContext(connection) as five:
        assert len(api.get(BASE).json()["results"]) == 5
    assert len(five) == len(one)


# -- pages -------------------------------------------------------------------------------------


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


def test_a_viewer_reads_flows_but_cannot_create_edit_or_delete(viewer, order_types):
    _saga()
    html = viewer.get("/catalog/flows/").content.decode()
    assert "Order saga" in html and "OrderShipped" in html and "compensated" in html
    assert "New business flow" not in html
    assert viewer.get("/catalog/flows/new/").status_code == 403
    assert viewer.get("/catalog/flows/Order saga/edit/").status_code == 403
    assert viewer.post("/catalog/flows/Order saga/delete/").status_code == 403
    assert BusinessFlow.objects.filter(name="Order saga").exists()


def test_an_editor_creates_edits_and_deletes_a_flow_through_the_form(editor, order_types):
    created = editor.post(
        "/catalog/flows/new/",
        {
            "name": "Order saga",
            "start_event_type": "OrderPlaced",
            "stuck_after_seconds": "45",
            "completed": ["OrderShipped"],
            "compensated": ["OrderCancelled"],
        },
    )
    assert created.status_code == 302, created.content.decode()
    flow = BusinessFlow.objects.get(name="Order saga")
    assert {t.event_type.name: t.ending for t in flow.terminals.all()} == {
        "OrderShipped": "completed",
        "OrderCancelled": "compensated",
    }
    form = editor.get("/catalog/flows/Order saga/edit/").content.decode()
    assert 'value="45"' in form
    edited = editor.post(
        "/catalog/flows/Order saga/edit/",
        {
            "name": "Order saga",
            "start_event_type": "OrderPlaced",
            "stuck_after_seconds": "60",
            "failed": ["PaymentFailed"],
        },
    )
    assert edited.status_code == 302
    flow.refresh_from_db()
    assert flow.stuck_after_seconds == 60
    assert [(t.event_type.name, t.ending) for t in flow.terminals.all()] == [("PaymentFailed", "failed")]
    assert editor.post("/catalog/flows/Order saga/delete/").status_code == 302
    assert not BusinessFlow.objects.exists()


def test_the_form_shows_the_services_errors_on_their_fields(editor, order_types):
    _saga()
    page = editor.post(
        "/catalog/flows/new/",
        {"name": "Second", "start_event_type": "OrderPlaced", "stuck_after_seconds": "30"},
    )
    assert page.status_code == 200
    form = page.context["form"]
    assert "start_event_type" in form.errors
    no_terminal = editor.post(
        "/catalog/flows/new/", {"name": "Third", "start_event_type": "ReturnRequested", "stuck_after_seconds": "30"}
    )
    assert "completed" in no_terminal.context["form"].errors
    assert BusinessFlow.objects.count() == 1


def test_the_event_type_page_names_the_flows_it_starts_and_ends(viewer, order_types):
    _saga()
    start = viewer.get("/catalog/event-types/OrderPlaced/").content.decode()
    assert 'id="business-flows"' in start and "Starts" in start and "Order saga" in start
    end = viewer.get("/catalog/event-types/OrderCancelled/").content.decode()
    assert "Ends" in end and "Order saga" in end and "compensated" in end
    neither = viewer.get("/catalog/event-types/ReturnRequested/").content.decode()
    assert "Starts or ends no business flow." in neither


# -- business-key fields on event types ----------------------------------------------------------


def test_business_key_fields_are_json_pointers_set_through_the_api(api, make_event_type):
    make_event_type("OrderPlaced")
    changed = api.patch("/api/v1/catalog/event-types/OrderPlaced", {"business_key_fields": ["/order_id"]})
    assert changed.status_code == 200 and changed.json()["business_key_fields"] == ["/order_id"]
    bad = api.patch("/api/v1/catalog/event-types/OrderPlaced", {"business_key_fields": ["order_id"]})
    assert bad.status_code == 422 and _fields(bad) == ["business_key_fields"]


def test_the_event_type_form_edits_business_keys(editor, make_event_type):
    make_event_type("OrderPlaced")
    form = editor.get("/catalog/event-types/OrderPlaced/edit/")
    data = {k: v for k, v in form.context["form"].initial.items() if v not in (None, [])}
    data["business_key_fields"] = "/order_id\n/customer/id"
    assert editor.post("/catalog/event-types/OrderPlaced/edit/", data).status_code == 302
    from catalog.models import EventType

    assert EventType.objects.get(name="OrderPlaced").business_key_fields == ["/customer/id", "/order_id"]
