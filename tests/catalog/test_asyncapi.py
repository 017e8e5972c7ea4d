"""AsyncAPI 3.0 export: valid against the official AsyncAPI 3.0 JSON Schema, every $ref resolves,
channels are topics, operations say send or receive, the correlation id location is declared."""

import json
from pathlib import Path

import jsonschema
import pytest

from catalog import services
from tests.catalog.conftest import EDITOR

pytestmark = pytest.mark.django_db
SPECS = Path(__file__).resolve().parents[2] / "catalog" / "asyncapi" / "specs"


def resolve(document: dict, ref: str):
    assert ref.startswith("#/"), ref
    node = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def all_refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from all_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from all_refs(value)


@pytest.fixture
def orders_service(make_event_type, make_topic):
    make_topic("payments")
    make_event_type("OrderPlaced", topics=["orders"], producers=None)
    make_event_type("PaymentFailed", topics=["payments"])
    services.service_document(
        principal=EDITOR, name="orders", create=True, owner_team="Checkout Team", summary="Takes orders"
    )
    from catalog.models import EventType

    services.declared_flow_add(
        principal=EDITOR, event_type=EventType.objects.get(name="OrderPlaced"), service_name="orders", role="producer"
    )
    services.declared_flow_add(
        principal=EDITOR, event_type=EventType.objects.get(name="PaymentFailed"), service_name="orders", role="consumer"
    )
    return "orders"


def test_exported_document_is_valid_asyncapi_3_and_every_ref_resolves(api, orders_service):
    response = api.get("/api/v1/catalog/services/orders/asyncapi")
    assert response.status_code == 200
    document = response.json()
    schema = json.loads((SPECS / "asyncapi-3.0.0.json").read_text())
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(document), key=lambda e: list(e.path))
    assert errors == [], [f"{list(e.path)}: {e.message}" for e in errors[:5]]
    refs = list(all_refs(document))
    assert refs, "the document should reference its components"
    for ref in refs:
        resolve(document, ref)
    assert document["asyncapi"] == "3.0.0"
    assert set(document["channels"]) == {"orders", "payments"}
    actions = {(op["action"], op["channel"]["$ref"]) for op in document["operations"].values()}
    assert actions == {("send", "#/channels/orders"), ("receive", "#/channels/payments")}
    assert document["components"]["correlationIds"]["correlationId"]["location"] == "$message.header#/correlationid"
    assert document["components"]["messages"]["OrderPlaced"]["correlationId"] == {
        "$ref": "#/components/correlationIds/correlationId"
    }


def test_the_page_downloads_the_same_document(client, admin_user, orders_service):
    client.force_login(admin_user)
    response = client.get("/catalog/services/orders/asyncapi.json")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="orders.asyncapi.json"'
    assert json.loads(response.content)["info"]["title"] == "orders"


def test_exported_server_is_the_address_the_request_came_to_when_no_public_url_is_set(api, orders_service, settings):
    settings.EVENTLINE = {**settings.EVENTLINE, "PUBLIC_URL": ""}
    settings.ALLOWED_HOSTS = ["eventline.internal"]
    api.client.defaults["HTTP_HOST"] = "eventline.internal:9100"
    server = api.get("/api/v1/catalog/services/orders/asyncapi").json()["servers"]["eventline"]
    assert (server["protocol"], server["host"], server["pathname"]) == ("http", "eventline.internal:9100", "/api/v1")


def test_exported_server_is_the_public_url_when_it_is_set(api, orders_service, settings):
    settings.EVENTLINE = {**settings.EVENTLINE, "PUBLIC_URL": "https://events.example.com"}
    api.client.defaults["HTTP_HOST"] = "localhost:9100"
    server = api.get("/api/v1/catalog/services/orders/asyncapi").json()["servers"]["eventline"]
    assert (server["protocol"], server["host"]) == ("https", "events.example.com")


def test_the_page_download_names_the_same_server_as_the_api(client, django_user_model, orders_service, settings):
    settings.EVENTLINE = {**settings.EVENTLINE, "PUBLIC_URL": ""}
    client.force_login(django_user_model.objects.create_user("reader", password="pw-reader-123"))
    document = json.loads(client.get("/catalog/services/orders/asyncapi.json", HTTP_HOST="localhost:9100").content)
    assert document["servers"]["eventline"]["host"] == "localhost:9100"
