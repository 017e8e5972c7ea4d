"""The catalog REST API: CRUD with filters for domains, teams, services and event types; clear
4xx for bad input; writes need the editor role or an admin key; history of every change."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog import services
from catalog.models import CatalogChange, EventType
from tests.catalog.conftest import EDITOR

pytestmark = pytest.mark.django_db

BASE = "/api/v1/catalog"


def test_create_event_type_with_topics_tags_and_declared_flows(api, catalog_base):
    body = {
        "name": "OrderPlaced",
        "domain": "Ordering",
        "owner_team": "Checkout Team",
        "summary": "A customer placed an order",
        "business_meaning": "The **promise** to deliver.",
        "lifecycle": "active",
        "tags": ["Orders", "core"],
        "topics": ["orders"],
        "personal_data_fields": ["/customer/email"],
        "producers": [{"service": "orders", "note": "on checkout"}],
        "consumers": [{"service": "inventory"}, {"service": "payments"}],
    }
    response = api.post(f"{BASE}/event-types/", body)
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["domain"] == "Ordering" and created["owner_team"] == "Checkout Team"
    assert created["tags"] == ["core", "orders"]
    assert created["topics"] == ["orders"]
    assert created["producers"] == [{"service": "orders", "note": "on checkout"}]
    assert [c["service"] for c in created["consumers"]] == ["inventory", "payments"]
    assert api.get(f"{BASE}/event-types/OrderPlaced").json()["business_meaning"] == "The **promise** to deliver."


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"name": "X", "domain": "Nope", "owner_team": "Checkout Team", "summary": "s"}, 422, "domain"),
        ({"name": "X", "domain": "Ordering", "owner_team": "Ghosts", "summary": "s"}, 422, "owner_team"),
        ({"name": "X", "domain": "Ordering", "owner_team": "Checkout Team"}, 422, "summary"),
        (
            {"name": "X", "domain": "Ordering", "owner_team": "Checkout Team", "summary": "s", "lifecycle": "zombie"},
            422,
            "lifecycle",
        ),
        (
            {"name": "X", "domain": "Ordering", "owner_team": "Checkout Team", "summary": "s", "topics": ["missing"]},
            422,
            "topics",
        ),
        (
            {
                "name": "X",
                "domain": "Ordering",
                "owner_team": "Checkout Team",
                "summary": "s",
                "personal_data_fields": ["email"],
            },
            422,
            "personal_data_fields",
        ),
        ({"name": "bad/name", "domain": "Ordering", "owner_team": "Checkout Team", "summary": "s"}, 422, "name"),
    ],
)
def test_bad_event_types_get_a_clear_4xx_naming_the_field(api, catalog_base, body, status, field):
    response = api.post(f"{BASE}/event-types/", body)
    assert response.status_code == status
    assert field in [error["field"] for error in response.json()["error"]["details"]["errors"]]
    assert not EventType.objects.exists()


def test_duplicate_names_are_409(api, make_event_type):
    make_event_type("OrderPlaced")
    body = {"name": "OrderPlaced", "domain": "Ordering", "owner_team": "Checkout Team", "summary": "again"}
    assert api.post(f"{BASE}/event-types/", body).status_code == 409
    assert api.post(f"{BASE}/domains/", {"name": "Ordering"}).status_code == 409
    assert api.post(f"{BASE}/teams/", {"name": "Checkout Team"}).status_code == 409


def test_lifecycle_moves_follow_the_rules(api, make_event_type):
    make_event_type("OrderPlaced", lifecycle="active")
    path = f"{BASE}/event-types/OrderPlaced"
    no_note = api.patch(path, {"lifecycle": "deprecated"})
    assert no_note.status_code == 422 and no_note.json()["error"]["details"]["errors"][0]["field"] == "deprecation_note"
    assert (
        api.patch(
            path, {"lifecycle": "deprecated", "deprecation_note": "use OrderSubmitted", "sunset_date": "2027-01-31"}
        ).status_code
        == 200
    )
    assert api.patch(path, {"lifecycle": "retired"}).status_code == 200
    back = api.patch(path, {"lifecycle": "active"})
    assert back.status_code == 422
    assert "cannot move from retired to active" in back.json()["error"]["message"]


def test_filters_search_and_sort(api, make_event_type):
    services.domain_create(principal=EDITOR, name="Payments")
    make_event_type("OrderPlaced", tags=["orders"], business_meaning="A basket became an order", lifecycle="active")
    make_event_type("OrderCancelled", tags=["orders"], lifecycle="draft")
    make_event_type("PaymentFailed", domain="Payments", summary="Card declined", consumers=None)
    names = lambda **params: [row["name"] for row in api.get(f"{BASE}/event-types/", **params).json()["results"]]  # noqa: E731
    assert names() == ["OrderCancelled", "OrderPlaced", "PaymentFailed"]
    assert names(q="basket") == ["OrderPlaced"]
    assert names(q="card declined") == ["PaymentFailed"]
    assert names(domain="Payments") == ["PaymentFailed"]
    assert names(tag="orders") == ["OrderCancelled", "OrderPlaced"]
    assert names(lifecycle="active") == ["OrderPlaced"]
    assert names(sort="-name") == ["PaymentFailed", "OrderPlaced", "OrderCancelled"]
    assert names(no_consumers="true") == ["OrderCancelled", "OrderPlaced", "PaymentFailed"]
    assert api.get(f"{BASE}/event-types/", lifecycle="zombie").status_code == 422


def test_event_type_list_takes_the_same_number_of_queries_for_5_or_50_rows(api, make_event_type):
    def count_queries() -> int:
        with CaptureQueriesContext(connection) as context:
            assert api.get(f"{BASE}/event-types/", limit=100).status_code == 200
        return len(context.captured_queries)

    for n in range(5):
        make_event_type(f"Type{n}", tags=["a", "b"], topics=["orders"], producers=None)
    few = count_queries()
    for n in range(5, 50):
        make_event_type(f"Type{n}", tags=["a", "b"], topics=["orders"])
    assert count_queries() == few


@pytest.mark.parametrize("path", ["domains/", "teams/", "services/"])
def test_other_lists_do_not_grow_queries_with_rows(api, catalog_base, path):
    def count_queries() -> int:
        with CaptureQueriesContext(connection) as context:
            assert api.get(f"{BASE}/{path}").status_code == 200
        return len(context.captured_queries)

    few = count_queries()
    for n in range(20):
        services.domain_create(principal=EDITOR, name=f"Domain {n}")
        services.team_create(principal=EDITOR, name=f"Team {n}")
        services.service_document(
            principal=EDITOR, name=f"svc-{n}", create=True, owner_team=f"Team {n}", domain=f"Domain {n}"
        )
    assert count_queries() == few


def test_services_crud_and_bad_input(api, catalog_base):
    created = api.post(
        f"{BASE}/services/",
        {
            "name": "orders",
            "owner_team": "Checkout Team",
            "domain": "Ordering",
            "repository_url": "https://git.example.com/orders",
        },
    )
    assert created.status_code == 201
    assert created.json()["owner_team"] == "Checkout Team" and created.json()["documented"] is True
    bad = api.patch(f"{BASE}/services/orders", {"repository_url": "not a url", "owner_team": "Nobody"})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["error"]["details"]["errors"]} == {"repository_url", "owner_team"}
    assert api.get(f"{BASE}/services/orders").json()["repository_url"] == "https://git.example.com/orders"
    assert api.get(f"{BASE}/services/ghost").status_code == 404


def test_teams_have_members(api, django_user_model, catalog_base):
    django_user_model.objects.create_user("ana")
    created = api.post(f"{BASE}/teams/", {"name": "Payments Team", "members": ["ana"]})
    assert created.json()["members"] == ["ana"]
    assert api.post(f"{BASE}/teams/", {"name": "Other", "members": ["nobody"]}).status_code == 422


def test_domain_in_use_cannot_be_deleted(api, make_event_type):
    make_event_type()
    assert api.delete(f"{BASE}/domains/Ordering").status_code == 409


def test_every_change_is_kept_with_who_and_what(api, make_event_type):
    make_event_type("OrderPlaced")
    api.patch(f"{BASE}/event-types/OrderPlaced", {"summary": "An order was placed"})
    history = api.get(f"{BASE}/changes/", object="OrderPlaced").json()["results"]
    assert [h["action"] for h in history] == ["updated", "created"]
    assert history[0]["changes"]["summary"] == ["OrderPlaced happened", "An order was placed"]
    assert history[0]["actor"] == "admin-tool"


def test_writes_need_the_editor_role_or_an_admin_key(make_api, catalog_base, django_user_model):
    from django.contrib.auth.models import Group
    from rest_framework.test import APIClient

    producer = make_api("produce:*")
    refused = producer.post(f"{BASE}/domains/", {"name": "Nope"})
    assert refused.status_code == 403 and refused.json()["error"]["details"]["required_role"] == "editor"
    assert producer.get(f"{BASE}/domains/").status_code == 200

    viewer = django_user_model.objects.create_user("vic")
    viewer.groups.add(Group.objects.get_or_create(name="viewer")[0])
    client = APIClient()
    client.force_login(viewer)
    assert client.post(f"{BASE}/domains/", {"name": "Nope"}, format="json").status_code == 403
    editor = django_user_model.objects.create_user("eda")
    editor.groups.add(Group.objects.get_or_create(name="editor")[0])
    client.force_login(editor)
    assert client.post(f"{BASE}/domains/", {"name": "Yes"}, format="json").status_code == 201
    assert CatalogChange.objects.filter(object_name="Yes", actor="eda").exists()
